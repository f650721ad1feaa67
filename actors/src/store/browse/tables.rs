//! The data browser's table list: every table, its columns (which of them an index serves) and a row count that stops at [`COUNT_CAP`], so a big table never costs a full scan.

use super::guard::{Guarded, Secrets};
use rusqlite::Connection;
use std::time::Duration;

/// Counts stop here ("10,000+").
pub const COUNT_CAP: i64 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ColumnInfo {
    pub name: String,
    pub declared_type: String,
    pub primary_key: bool,
    /// Whether a page may be sorted on it: every column but a hidden one.
    pub sortable: bool,
    /// The first column of an index (or the rowid alias): sorting on it reads the index in order; on
    /// any other column a page costs a scan of the table (SQLite's top-N sort), under the time limit.
    pub indexed: bool,
    /// Read as NULL by the browser (a secret, see `guard::SECRET_COLUMNS`).
    pub hidden: bool,
}

impl ColumnInfo {
    /// Whether a reader may filter, sort or facet on it: not a secret, nor a payload when the reader is a
    /// viewer (so no filter or order probes a value it reads as NULL).
    pub fn readable(&self, table: &str, hide_payloads: bool) -> bool {
        !(self.hidden || (hide_payloads && super::guard::is_payload(table, &self.name)))
    }

    /// The column as a view's filters, sort and counts read it: for a viewer, a text column through the
    /// redaction function (what the viewer is shown), so none of them finds what redaction hides.
    pub fn expr(&self, hide_payloads: bool) -> String {
        let kind = self.declared_type.to_ascii_uppercase();
        let textual = kind.is_empty() || ["TEXT", "CHAR", "CLOB"].iter().any(|t| kind.contains(t));
        if hide_payloads && textual {
            format!("{}({})", super::guard::REDACT_FUNCTION, quoted(&self.name))
        } else {
            quoted(&self.name)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableInfo {
    pub name: String,
    /// Rows, at most `COUNT_CAP`.
    pub rows: i64,
    /// True when the table has more than `COUNT_CAP` rows.
    pub rows_capped: bool,
    pub columns: Vec<ColumnInfo>,
}

/// An identifier quoted for SQL (only ever names read from the schema).
pub(super) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The tables the browser shows, by name (`guard::BROWSABLE` that the schema has).
pub fn names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
    let names: Vec<String> = statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    Ok(names.into_iter().filter(|name| super::guard::browsable(name)).collect())
}

/// Every table of the schema, shown or not (for the test that keeps the two lists complete).
pub fn all_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
    let names = statement.query_map([], |row| row.get(0))?.collect();
    names
}

pub fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ColumnInfo>> {
    let mut first_of_an_index = conn.prepare(
        "SELECT ii.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii WHERE ii.seqno = 0 AND ii.name IS NOT NULL",
    )?;
    let indexed: Vec<String> = first_of_an_index.query_map([table], |row| row.get(0))?.collect::<Result<_, _>>()?;
    let mut info = conn.prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = info
        .query_map([table], |row| {
            let (name, declared_type, pk): (String, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let rowid_alias = pk == 1 && declared_type.eq_ignore_ascii_case("INTEGER");
            let hidden = super::guard::SECRET_COLUMNS.iter().any(|(t, c)| *t == table && *c == name);
            Ok(ColumnInfo {
                sortable: !hidden,
                indexed: rowid_alias || indexed.iter().any(|i| i == &name),
                hidden,
                primary_key: pk > 0,
                declared_type,
                name,
            })
        })?
        .collect();
    columns
}

/// Every table with its capped count, each count under the browser's deadline.
pub fn list(conn: &Connection, time_limit: Duration) -> rusqlite::Result<Vec<TableInfo>> {
    let mut tables = Vec::new();
    for name in names(conn)? {
        let columns = columns(conn, &name)?;
        let guarded = Guarded::new(conn, time_limit, Secrets::Hide, false)?;
        let counted: i64 = guarded.conn().query_row(
            &format!("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {})", quoted(&name), COUNT_CAP + 1),
            [],
            |row| row.get(0),
        )?;
        drop(guarded);
        tables.push(TableInfo { rows: counted.min(COUNT_CAP), rows_capped: counted > COUNT_CAP, columns, name });
    }
    Ok(tables)
}
