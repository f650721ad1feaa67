//! Keyset paging, newest first: a cursor is the (time, id) of the last row a page returned, so pages stay
//! stable while rows are added. The cursor is opaque to clients; the audit log pages by its id alone
//! (`page_by_rowid`), which is its commit order.

use rusqlite::types::Value;
use rusqlite::{Connection, Row};
use serde::Serialize;

/// The most rows one page returns.
pub const MAX_PAGE: u32 = 500;

/// Where the previous page ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: String,
    pub id: String,
}

impl Cursor {
    /// Opaque to clients: hex of `at` and `id`.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}\n{}", self.at, self.id))
    }

    pub fn decode(raw: &str) -> Result<Self, String> {
        let bytes = hex::decode(raw).map_err(|_| "is not a cursor returned by this API".to_owned())?;
        let text = String::from_utf8(bytes).map_err(|_| "is not a cursor returned by this API".to_owned())?;
        let (at, id) = text.split_once('\n').ok_or_else(|| "is not a cursor returned by this API".to_owned())?;
        Ok(Self { at: at.to_owned(), id: id.to_owned() })
    }
}

/// Which end of a list comes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    NewestFirst,
    /// What has waited longest first (a queue).
    OldestFirst,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: 50, after: None }
    }
}

/// One page of rows and where the next one starts.
#[derive(Clone, Debug, Serialize)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A SELECT with optional `AND` filters, ordered newest first and paged by `(time_column, id)`.
pub(crate) struct Select {
    sql: String,
    params: Vec<Value>,
}

impl Select {
    /// `base` must end in a WHERE clause (`... WHERE 1 = 1` when nothing is fixed).
    pub fn new(base: impl Into<String>) -> Self {
        Self { sql: base.into(), params: Vec::new() }
    }

    /// Adds `AND column = ?` when `value` is given.
    pub fn eq(mut self, column: &str, value: Option<impl Into<Value>>) -> Self {
        if let Some(value) = value {
            self.sql.push_str(&format!(" AND {column} = ?"));
            self.params.push(value.into());
        }
        self
    }

    /// Runs the page query, newest first by `(time_column, id_column)`; `key` turns a row into its cursor.
    /// `numeric_id` when the id column is an integer.
    #[allow(clippy::too_many_arguments)]
    pub fn page<T>(
        self,
        conn: &Connection,
        time_column: &str,
        id_column: &str,
        numeric_id: bool,
        page: &PageRequest,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        key: impl Fn(&T) -> Cursor,
    ) -> rusqlite::Result<Listed<T>> {
        self.page_in(conn, (time_column, id_column, numeric_id), Order::NewestFirst, page, map, key)
    }

    /// Runs the page query in `order` by (time, id): the same index read either way.
    pub fn page_in<T>(
        mut self,
        conn: &Connection,
        (time_column, id_column, numeric_id): (&str, &str, bool),
        order: Order,
        page: &PageRequest,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        key: impl Fn(&T) -> Cursor,
    ) -> rusqlite::Result<Listed<T>> {
        let (after, direction) = match order {
            Order::NewestFirst => ("<", "DESC"),
            Order::OldestFirst => (">", "ASC"),
        };
        if let Some(cursor) = &page.after {
            self.sql.push_str(&format!(" AND ({time_column}, {id_column}) {after} (?, ?)"));
            self.params.push(Value::Text(cursor.at.clone()));
            self.params.push(cursor_id(&cursor.id, numeric_id));
        }
        self.run(conn, &format!("{time_column} {direction}, {id_column} {direction}"), page, map, key)
    }

    /// Runs the page query highest `rank` first (an expression an index holds), then newest first by
    /// (time, id). A cursor's `at` is `"<rank> <time>"`; a forged one matches nothing odd (rank 0).
    pub fn page_ranked<T>(
        mut self,
        conn: &Connection,
        rank: &str,
        (time_column, id_column): (&str, &str),
        page: &PageRequest,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        key: impl Fn(&T) -> Cursor,
    ) -> rusqlite::Result<Listed<T>> {
        if let Some(cursor) = &page.after {
            let (level, at) = cursor.at.split_once(' ').unwrap_or(("0", ""));
            // The first condition is the index's range; the row value orders within it.
            self.sql.push_str(&format!(" AND {rank} <= ? AND ({rank}, {time_column}, {id_column}) < (?, ?, ?)"));
            let level = Value::Integer(level.parse().unwrap_or(0));
            self.params.extend([level.clone(), level, Value::Text(at.to_owned()), cursor_id(&cursor.id, false)]);
        }
        self.run(conn, &format!("{rank} DESC, {time_column} DESC, {id_column} DESC"), page, map, key)
    }

    /// Runs the page query, newest first by an integer primary key alone (the commit order of an
    /// append-only table): every index a filter binds fully is already in that order.
    pub fn page_by_rowid<T>(
        mut self,
        conn: &Connection,
        id_column: &str,
        page: &PageRequest,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        key: impl Fn(&T) -> Cursor,
    ) -> rusqlite::Result<Listed<T>> {
        if let Some(after) = &page.after {
            self.sql.push_str(&format!(" AND {id_column} < ?"));
            self.params.push(cursor_id(&after.id, true));
        }
        self.run(conn, &format!("{id_column} DESC"), page, map, key)
    }

    fn run<T>(
        mut self,
        conn: &Connection,
        order: &str,
        page: &PageRequest,
        map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        key: impl Fn(&T) -> Cursor,
    ) -> rusqlite::Result<Listed<T>> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        self.sql.push_str(&format!(" ORDER BY {order} LIMIT {}", limit + 1));
        #[cfg(test)]
        plans::record(conn, &self.sql, &self.params)?;
        let mut stmt = conn.prepare_cached(&self.sql)?;
        let mut items = stmt
            .query_map(rusqlite::params_from_iter(self.params.iter()), map)?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| key(last).encode())
        } else {
            None
        };
        Ok(Listed { items, next_cursor })
    }
}

/// A cursor's id as the column compares it (a forged non-number stays text and matches nothing odd).
fn cursor_id(id: &str, numeric: bool) -> Value {
    match id.parse::<i64>() {
        Ok(number) if numeric => Value::Integer(number),
        _ => Value::Text(id.to_owned()),
    }
}

/// Tests only: the query plan of every page query run on this thread, so a test can check them all.
#[cfg(test)]
pub(crate) mod plans {
    use rusqlite::types::Value;
    use rusqlite::Connection;
    use std::cell::RefCell;

    thread_local! {
        static SEEN: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    }

    pub fn record(conn: &Connection, sql: &str, params: &[Value]) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |row| row.get::<_, String>(3))?
            .collect::<rusqlite::Result<_>>()?;
        SEEN.with(|seen| seen.borrow_mut().push((sql.to_owned(), plan.join("; "))));
        Ok(())
    }

    /// Every (query, plan) recorded so far on this thread; the record is emptied.
    pub fn take() -> Vec<(String, String)> {
        SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = Cursor { at: "2026-01-01T00:00:00.000Z".into(), id: "task-01".into() };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("zz").is_err());
        assert!(Cursor::decode(&hex::encode("no separator")).is_err());
    }
}
