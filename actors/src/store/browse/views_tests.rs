//! A table view's filters, its pages in both directions and its summary, each against the plain SQL
//! that says the same.
#![allow(clippy::disallowed_methods)]

use super::rows::{page, RowsRequest};
use super::summary::summarize;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use std::time::Duration;

const LIMIT: Duration = Duration::from_millis(1_000);

/// 25 notes: `kind` repeats and has NULLs (indexed), `note` repeats (not indexed).
fn notes(rows: usize) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, kind TEXT, note TEXT, body TEXT);
             CREATE INDEX notes_kind ON notes(kind);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO notes (kind, note, body)
             SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 'k' || (i % 3) END, 'n' || (i % 2), 'body 50% ' || i FROM n;"
        ))
        .unwrap();
    (dir, Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap())
}

fn expected(conn: &Connection, filter: &str, order: &str) -> Vec<i64> {
    let sql = format!("SELECT rowid FROM notes {filter} ORDER BY {order}");
    conn.prepare(&sql).unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn request(sort: Option<(&str, bool)>, filters: &[(&str, &str)]) -> RowsRequest {
    RowsRequest {
        sort: sort.map(|(c, d)| (c.to_owned(), d)),
        filters: filters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        limit: 4,
        ..RowsRequest::default()
    }
}

fn ids(rows: &[Vec<serde_json::Value>]) -> Vec<i64> {
    rows.iter().map(|r| r[0].as_i64().unwrap()).collect()
}

/// Every page forward, then back from the last by `prev_cursor`: the same pages, none on either side.
fn both_ways(conn: &Connection, first: RowsRequest) -> Vec<i64> {
    let mut forward = vec![page(conn, "notes", &first, LIMIT).unwrap()];
    assert_eq!(forward[0].prev_cursor, None, "the first page has nothing before it");
    while let Some(next) = forward.last().unwrap().next_cursor.clone() {
        forward.push(page(conn, "notes", &RowsRequest { cursor: Some(next), ..first.clone() }, LIMIT).unwrap());
    }
    let mut back = forward.last().unwrap().prev_cursor.clone();
    for earlier in forward.iter().rev().skip(1) {
        let before = back.expect("a page before every page but the first");
        let got = page(conn, "notes", &RowsRequest { before: Some(before), ..first.clone() }, LIMIT).unwrap();
        assert_eq!(ids(&got.rows), ids(&earlier.rows), "going back repeats the page seen going forward");
        back = got.prev_cursor;
    }
    assert_eq!(back, None, "going back stops at the first page");
    forward.iter().flat_map(|p| ids(&p.rows)).collect()
}

#[test]
fn pages_go_back_the_way_they_came_in_every_sort() {
    let (_dir, conn) = notes(25);
    for (sort, order) in [
        (None, "rowid DESC"),
        (Some(("kind", false)), "kind ASC, rowid ASC"),
        (Some(("kind", true)), "kind DESC, rowid DESC"),
        (Some(("note", false)), "note ASC, rowid ASC"),
        (Some(("body", true)), "body DESC, rowid DESC"),
    ] {
        assert_eq!(both_ways(&conn, request(sort, &[])), expected(&conn, "", order), "{sort:?}");
    }
    let both = RowsRequest { cursor: Some("00".into()), before: Some("00".into()), ..request(None, &[]) };
    assert!(page(&conn, "notes", &both, LIMIT).unwrap_err().to_string().starts_with("before:"));
}

#[test]
fn filters_select_what_their_sql_selects() {
    let (_dir, conn) = notes(25);
    for (filters, sql) in [
        (vec![("note", "n1")], "WHERE note = 'n1'"),
        (vec![("note__exact", "n1")], "WHERE note = 'n1'"),
        (vec![("body__contains", "BODY 50% 1")], "WHERE body LIKE '%body 50\\% 1%' ESCAPE '\\'"),
        (vec![("body__contains", "%")], "WHERE body LIKE '%\\%%' ESCAPE '\\'"),
        (vec![("body__contains", "_")], "WHERE 0"),
        (vec![("kind__isnull", "1")], "WHERE kind IS NULL"),
        (vec![("kind__isnull", "0"), ("note", "n0")], "WHERE kind IS NOT NULL AND note = 'n0'"),
        (vec![("id__lt", "7")], "WHERE id < 7"),
        (vec![("id__gt", "20"), ("kind__lt", "k2")], "WHERE id > 20 AND kind < 'k2'"),
    ] {
        let got = both_ways(&conn, request(Some(("kind", false)), &filters));
        assert_eq!(got, expected(&conn, sql, "kind ASC, rowid ASC"), "{filters:?}");
        assert!(!got.is_empty() || sql == "WHERE 0", "{filters:?} selects something");
    }
    for (key, value, named) in
        [("kind__like", "k", "kind__like:"), ("kind__isnull", "maybe", "kind__isnull:"), ("nope__lt", "1", "nope__lt:")]
    {
        let refused = page(&conn, "notes", &request(None, &[(key, value)]), LIMIT).unwrap_err().to_string();
        assert!(refused.starts_with(named), "{key}: {refused}");
    }
}

#[test]
fn a_summary_counts_the_filtered_rows_and_the_values_of_few_valued_columns() {
    let (_dir, conn) = notes(25);
    let summary = summarize(&conn, "notes", &[("note".into(), "n1".into())], false, LIMIT).unwrap().unwrap();
    let count: i64 = conn.query_row("SELECT count(*) FROM notes WHERE note = 'n1'", [], |r| r.get(0)).unwrap();
    assert_eq!((summary.rows, summary.rows_capped), (count, false));
    let facets: Vec<&str> = summary.facets.iter().map(|f| f.column.as_str()).collect();
    assert_eq!(facets, ["kind"], "one value (note) and all-distinct values (body, id) are no facets");
    let mut by_sql: Vec<(serde_json::Value, u64)> = conn
        .prepare("SELECT kind, count(*) FROM notes WHERE note = 'n1' GROUP BY kind ORDER BY count(*) DESC, kind")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get::<_, Option<String>>(0)?.map_or(json!(null), |k| json!(k)), r.get::<_, i64>(1)? as u64))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut got = summary.facets[0].values.clone();
    by_sql.sort_by_key(|v| v.0.to_string());
    got.sort_by_key(|v| v.0.to_string());
    assert_eq!(got, by_sql);

    let (_dir, big) = notes(super::COUNT_CAP as usize + 5);
    let summary = summarize(&big, "notes", &[], false, LIMIT).unwrap().unwrap();
    assert_eq!((summary.rows, summary.rows_capped), (super::COUNT_CAP, true));
    let counted: u64 = summary.facets.iter().find(|f| f.column == "note").unwrap().values.iter().map(|v| v.1).sum();
    assert_eq!(counted, super::COUNT_CAP as u64, "facet counts are of the rows read");
}

/// A viewer's filters, sort, cursors and counts read text as the viewer is shown it: none of them finds,
/// orders by or carries what redaction hides (found by the attack on this browser: a `contains` count
/// and a cursor holding the raw title gave a password away).
#[test]
fn a_viewer_finds_counts_and_pages_nothing_by_what_redaction_hides() {
    let (dir, _) = notes(0);
    let writer = Connection::open(dir.path().join("db")).unwrap();
    writer
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
             INSERT INTO notes (kind, note) SELECT 'k', 'deploy PGPASSWORD=hunter2secret #' || i FROM n;",
        )
        .unwrap();
    let conn = Connection::open_with_flags(dir.path().join("db"), OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let viewer =
        |filters: &[(&str, &str)]| RowsRequest { hide_payloads: true, ..request(Some(("note", false)), filters) };
    let admin = page(&conn, "notes", &request(None, &[("note__contains", "hunter2")]), LIMIT).unwrap();
    assert_eq!(admin.rows.len(), 4, "others find it (a page of 4)");
    let found = page(&conn, "notes", &viewer(&[("note__contains", "hunter2")]), LIMIT).unwrap();
    assert!(found.rows.is_empty(), "a viewer's contains does not see the secret");
    let exact = page(&conn, "notes", &viewer(&[("note", "deploy PGPASSWORD=hunter2secret #1")]), LIMIT).unwrap();
    assert!(exact.rows.is_empty(), "nor does a guess of the whole value");
    let counted = summarize(&conn, "notes", &[("note__contains".into(), "hunter2".into())], true, LIMIT).unwrap();
    assert_eq!(counted.unwrap().rows, 0, "nor a count");
    let mut request = viewer(&[]);
    loop {
        let shown = page(&conn, "notes", &request, LIMIT).unwrap();
        for cursor in [&shown.next_cursor, &shown.prev_cursor].into_iter().flatten() {
            let decoded = String::from_utf8(hex::decode(cursor).unwrap()).unwrap();
            assert!(!decoded.contains("hunter2"), "a cursor carries no text: {decoded}");
        }
        match shown.next_cursor {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    let facets = summarize(&conn, "notes", &[], true, LIMIT).unwrap().unwrap();
    assert!(!serde_json::to_string(&facets).unwrap().contains("hunter2"), "{facets:?}");
}

#[test]
fn a_cursor_whose_row_is_gone_says_so_and_names_its_parameter() {
    let (dir, conn) = notes(25);
    let first = page(&conn, "notes", &request(Some(("note", false)), &[]), LIMIT).unwrap();
    let next = first.next_cursor.unwrap();
    let rowid = first.rows.last().unwrap()[0].as_i64().unwrap();
    Connection::open(dir.path().join("db")).unwrap().execute("DELETE FROM notes WHERE rowid = ?1", [rowid]).unwrap();
    let gone = RowsRequest { cursor: Some(next.clone()), ..request(Some(("note", false)), &[]) };
    assert!(page(&conn, "notes", &gone, LIMIT).unwrap_err().to_string().starts_with("cursor: the row"));
    let gone = RowsRequest { before: Some(next), ..request(Some(("note", false)), &[]) };
    assert!(page(&conn, "notes", &gone, LIMIT).unwrap_err().to_string().starts_with("before:"));
    let forged = RowsRequest { before: Some("zz".into()), ..request(None, &[]) };
    assert!(page(&conn, "notes", &forged, LIMIT).unwrap_err().to_string().starts_with("before:"));
}
