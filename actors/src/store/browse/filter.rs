//! The data browser's column filters, in Datasette's spelling so its users need no new words:
//! `column=value` (equal), `column__contains=text` (anywhere, ignoring ASCII case; `instr`, not `LIKE`,
//! whose backtracking over a long value is one step SQLite cannot interrupt), `column__lt=` and
//! `column__gt=` (SQLite's comparison: numbers as numbers on a numeric column), `column__isnull=1`
//! (empty) and `column__isnull=0` (not empty). Only names read from the schema reach the SQL; every value
//! is a bound parameter, at most [`MAX_VALUE_CHARS`] long. A viewer's filters read text as shown to them
//! (`ColumnInfo::expr`), so none finds what redaction hides.

use super::rows::{failed, RowsRefusal};
use super::tables::{columns, names, ColumnInfo};
use crate::domain::text::cut as clip;
use rusqlite::types::Value;
use rusqlite::Connection;

/// The longest value a filter takes (a `contains` costs its length times each value's).
pub const MAX_VALUE_CHARS: usize = 200;

/// How a filter compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Exact,
    Contains,
    Less,
    Greater,
    IsNull,
}

impl Op {
    /// The suffixes, as keys spell them (`column__contains`).
    pub const ALL: [(Op, &'static str); 5] = [
        (Op::Exact, "exact"),
        (Op::Contains, "contains"),
        (Op::Less, "lt"),
        (Op::Greater, "gt"),
        (Op::IsNull, "isnull"),
    ];

    /// The words a page shows for it.
    pub fn words(self) -> &'static str {
        match self {
            Op::Exact => "is",
            Op::Contains => "contains",
            Op::Less => "<",
            Op::Greater => ">",
            Op::IsNull => "is empty",
        }
    }
}

/// One filter of a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub column: String,
    pub op: Op,
    pub value: String,
}

impl Filter {
    /// Reads `key=value` against the table's columns: a key that names a column is an exact filter (so a
    /// column called `a__lt` still works); otherwise `column__op`. Each refusal names the key.
    pub fn parse(key: &str, value: &str, columns: &[ColumnInfo]) -> Result<Filter, RowsRefusal> {
        let exists = |name: &str| columns.iter().any(|c| c.name == name);
        if value.chars().count() > MAX_VALUE_CHARS {
            let why = format!("a filter's value is at most {MAX_VALUE_CHARS} characters");
            return Err(RowsRefusal::BadFilter(clip(key), why));
        }
        if exists(key) {
            return Ok(Filter { column: key.to_owned(), op: Op::Exact, value: value.to_owned() });
        }
        let (column, suffix) = key.rsplit_once("__").ok_or_else(|| RowsRefusal::NoColumn(clip(key)))?;
        if !exists(column) {
            return Err(RowsRefusal::NoColumn(clip(key)));
        }
        let op = Op::ALL.iter().find(|(_, s)| *s == suffix).map(|(op, _)| *op).ok_or_else(|| {
            let known: Vec<String> = Op::ALL.iter().map(|(_, s)| format!("{column}__{s}")).collect();
            RowsRefusal::BadFilter(clip(key), format!("no such filter; use {column}= or {}", known.join(", ")))
        })?;
        if op == Op::IsNull && !matches!(value, "0" | "1" | "true" | "false") {
            let why = format!("must be 1 (empty) or 0 (not empty), got {:?}", clip(value));
            return Err(RowsRefusal::BadFilter(clip(key), why));
        }
        Ok(Filter { column: column.to_owned(), op, value: value.to_owned() })
    }

    /// The query-string key that makes this filter.
    pub fn key(&self) -> String {
        match self.op {
            Op::Exact => self.column.clone(),
            op => format!("{}__{}", self.column, Op::ALL.iter().find(|(o, _)| *o == op).map_or("", |(_, s)| s)),
        }
    }

    /// What a page says of it ("status is done", "title contains deploy", "finished_at is empty").
    pub fn describe(&self) -> String {
        match (self.op, self.value.as_str()) {
            (Op::IsNull, "0" | "false") => format!("{} is not empty", self.column),
            (Op::IsNull, _) => format!("{} is empty", self.column),
            (op, value) => format!("{} {} {value:?}", self.column, op.words()),
        }
    }

    /// Its SQL condition on `column` (the column as the reader reads it, `ColumnInfo::expr`) and the
    /// parameter it binds, if any.
    pub fn condition(&self, column: &str) -> (String, Option<Value>) {
        let value = || Some(Value::Text(self.value.clone()));
        match self.op {
            Op::Exact => (format!("{column} = ?"), value()),
            Op::Less => (format!("{column} < ?"), value()),
            Op::Greater => (format!("{column} > ?"), value()),
            // `lower` folds ASCII only, as `LIKE` does; `instr` compares bytes, without backtracking.
            Op::Contains => (format!("instr(lower({column}), lower(?)) > 0"), value()),
            Op::IsNull if matches!(self.value.as_str(), "0" | "false") => (format!("{column} IS NOT NULL"), None),
            Op::IsNull => (format!("{column} IS NULL"), None),
        }
    }
}

/// A table as a view's filters make it (what a page and a summary both start from): the table's columns,
/// and the conditions with their parameters.
pub struct View {
    pub columns: Vec<ColumnInfo>,
    pub conditions: Vec<String>,
    pub params: Vec<Value>,
}

impl View {
    /// `NoTable` unless the browser shows `table`.
    pub fn open(
        conn: &Connection,
        table: &str,
        filters: &[(String, String)],
        hide_payloads: bool,
    ) -> Result<Self, RowsRefusal> {
        if !names(conn).map_err(failed)?.iter().any(|n| n == table) {
            return Err(RowsRefusal::NoTable(clip(table)));
        }
        let columns = columns(conn, table).map_err(failed)?;
        let (conditions, params) = conditions(table, filters, &columns, hide_payloads)?;
        Ok(Self { columns, conditions, params })
    }

    /// ` WHERE a AND b`, or nothing without conditions.
    pub fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// The `WHERE` conditions and parameters of a view's filters, each checked against the columns: a hidden
/// column (a secret, or a payload for a viewer) cannot be filtered on, so no filter probes its value.
pub fn conditions(
    table: &str,
    pairs: &[(String, String)],
    columns: &[ColumnInfo],
    hide_payloads: bool,
) -> Result<(Vec<String>, Vec<Value>), RowsRefusal> {
    let (mut conditions, mut params) = (Vec::new(), Vec::new());
    for (key, value) in pairs {
        let filter = Filter::parse(key, value, columns)?;
        let Some(info) = columns.iter().find(|c| c.name == filter.column && c.readable(table, hide_payloads)) else {
            return Err(RowsRefusal::Hidden(filter.column));
        };
        let (condition, param) = filter.condition(&info.expr(hide_payloads));
        conditions.push(condition);
        params.extend(param);
    }
    Ok((conditions, params))
}
