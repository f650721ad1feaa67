// The browser's tests build scratch databases of their own, outside `store::open`.
#![allow(clippy::disallowed_methods)]

use super::sql::{run, SqlLimits, SqlRefusal};
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use std::time::Duration;

const HASH: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

/// A database with a token and 10 tasks, and a connection to it opened as the read pool opens them.
fn reader() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch(&format!(
            "CREATE TABLE api_tokens (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE);
             INSERT INTO api_tokens VALUES ('admin', '{HASH}');
             CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
             INSERT INTO tasks (title) SELECT 'task ' || i FROM n;
             ANALYZE;"
        ))
        .unwrap();
    drop(writer);
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.execute_batch("PRAGMA query_only = ON").unwrap();
    (dir, conn)
}

const LIMITS: SqlLimits = SqlLimits { time_limit: Duration::from_millis(1_000), max_rows: 1_000, hide_payloads: false };

#[test]
fn a_select_answers_with_columns_and_rows() {
    let (_dir, conn) = reader();
    let answer = run(&conn, "SELECT id, title FROM tasks ORDER BY id LIMIT 2", LIMITS).unwrap();
    assert_eq!(answer.columns, ["id", "title"]);
    assert_eq!(answer.rows, vec![vec![json!(1), json!("task 1")], vec![json!(2), json!("task 2")]]);
    assert!(!answer.truncated);
}

#[test]
fn anything_but_one_read_statement_is_refused_by_kind() {
    let (_dir, conn) = reader();
    for (sql, kind) in [
        ("DELETE FROM tasks", "DELETE"),
        ("  /* hidden */ -- and this\n delete from tasks", "DELETE"),
        ("ATTACH 'x.db' AS x", "ATTACH"),
        ("PRAGMA query_only = OFF", "PRAGMA"),
        ("VACUUM INTO '/tmp/copy.db'", "VACUUM"),
    ] {
        assert_eq!(run(&conn, sql, LIMITS), Err(SqlRefusal::NotARead(kind.into())), "{sql}");
    }
    assert_eq!(run(&conn, "  -- nothing\n", LIMITS), Err(SqlRefusal::Empty));
    for sql in [
        "SELECT 1; DELETE FROM tasks",
        "SELECT 1; SELECT 2",
        "WITH x AS (SELECT 1) DELETE FROM tasks",
        "EXPLAIN DELETE FROM tasks",
        "SELECT * FROM sqlite_stat1",
    ] {
        let refused = run(&conn, sql, LIMITS).unwrap_err();
        assert!(
            matches!(refused, SqlRefusal::SeveralStatements | SqlRefusal::NotAuthorized(_) | SqlRefusal::NotARead(_)),
            "{sql}: {refused:?}"
        );
    }
    assert_eq!(run(&conn, "SELECT count(*) FROM tasks", LIMITS).unwrap().rows, vec![vec![json!(10)]]);
    assert!(run(&conn, "SELECT name FROM pragma_table_info('tasks')", LIMITS).is_ok());
}

#[test]
fn a_runaway_query_is_stopped_at_its_time_limit() {
    let (_dir, conn) = reader();
    let limits = SqlLimits { time_limit: Duration::from_millis(200), ..LIMITS };
    // Refused by the deadline itself (`TimeLimit`), not by any other guard; how close to it is measured by
    // `atlas-bench`, not asserted here.
    let refused =
        run(&conn, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c", limits);
    assert_eq!(refused, Err(SqlRefusal::TimeLimit(200)));
    assert!(run(&conn, "SELECT 1", LIMITS).is_ok(), "the connection is usable after an interrupted query");
}

#[test]
fn rows_are_capped_with_a_truncated_flag() {
    let (_dir, conn) = reader();
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i FROM n";
    let answer = run(&conn, sql, LIMITS).unwrap();
    assert_eq!(answer.rows.len(), 1_000);
    assert!(answer.truncated);
    let exact = run(&conn, "SELECT id FROM tasks", SqlLimits { max_rows: 10, ..LIMITS }).unwrap();
    assert_eq!((exact.rows.len(), exact.truncated), (10, false));
}

#[test]
fn the_sql_box_refuses_the_token_table_in_every_form() {
    let (_dir, conn) = reader();
    for sql in [
        "SELECT token_hash FROM api_tokens",
        "SELECT rowid FROM api_tokens",
        "SELECT name FROM api_tokens INDEXED BY sqlite_autoindex_api_tokens_2",
        "SELECT name, substr(token_hash, 1, 3) FROM api_tokens",
        "WITH t AS (SELECT token_hash AS h FROM api_tokens) SELECT h FROM t",
        "SELECT (SELECT name FROM api_tokens LIMIT 1)",
        "SELECT * FROM main.API_TOKENS",
    ] {
        assert!(matches!(run(&conn, sql, LIMITS), Err(SqlRefusal::NotAuthorized(_))), "{sql}");
    }
    // The guards came off: the API's own reads on this pooled connection see the column.
    let hash: String = conn.query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0)).unwrap();
    assert_eq!(hash, HASH);
}

#[test]
fn internal_tables_are_invisible_in_every_form() {
    let (_dir, conn) = reader();
    assert_eq!(super::tables::names(&conn).unwrap(), ["tasks"], "the listing shows browsable tables only");
    let page = super::rows::page(
        &conn,
        "api_tokens",
        &super::RowsRequest { limit: 10, ..Default::default() },
        LIMITS.time_limit,
    );
    assert!(page.unwrap_err().to_string().starts_with("table:"), "no page for an internal table");
    for sql in [
        "SELECT name FROM api_tokens",
        "SELECT count(*) FROM api_tokens",
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM api_tokens WHERE name = 'admin')",
        "SELECT * FROM sqlite_stat1",
    ] {
        assert!(matches!(run(&conn, sql, LIMITS), Err(SqlRefusal::NotAuthorized(_))), "{sql}");
    }
    let schema = run(&conn, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", LIMITS).unwrap();
    assert!(
        schema.rows.contains(&vec![json!("api_tokens")]),
        "the schema (definitions, never rows) may be read: {:?}",
        schema.rows
    );
}

#[test]
fn every_table_of_the_schema_is_either_browsable_or_internal() {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::migrate::apply_pending(&mut conn, "2026-12-01T00:00:00.000Z").unwrap();
    let internal: Vec<&str> = super::guard::INTERNAL.iter().map(|(t, _)| *t).collect();
    for table in super::tables::all_names(&conn).unwrap() {
        let listed = [super::guard::BROWSABLE.contains(&table.as_str()), internal.contains(&table.as_str())];
        assert!(
            listed == [true, false] || listed == [false, true],
            "table {table} must be in exactly one of guard::BROWSABLE and guard::INTERNAL (a new table is \
             neither shown nor hidden until someone decides): {listed:?}"
        );
    }
    for table in super::guard::BROWSABLE.iter().chain(&internal) {
        assert!(super::tables::all_names(&conn).unwrap().contains(&table.to_string()), "{table} is in the schema");
    }
}

/// A table with NULLs and repeats in an indexed column, to page through.
fn paged_table() -> (tempfile::TempDir, Connection) {
    let (dir, _) = reader();
    let path = dir.path().join("db");
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, kind TEXT, note TEXT); CREATE INDEX notes_kind ON notes(kind);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
             INSERT INTO notes (kind, note) SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 'k' || (i % 3) END, 'n' || (i % 2) FROM n;",
        )
        .unwrap();
    drop(writer);
    (dir, Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap())
}

fn all_pages(conn: &Connection, mut request: super::RowsRequest) -> Vec<i64> {
    let mut ids = Vec::new();
    loop {
        let page = super::rows::page(conn, "notes", &request, LIMITS.time_limit).unwrap();
        assert!(page.rows.len() <= request.limit);
        ids.extend(page.rows.iter().map(|r| r[0].as_i64().unwrap()));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => return ids,
        }
    }
}

#[test]
fn table_pages_follow_the_sort_through_nulls_and_repeats_without_gaps() {
    let (_dir, conn) = paged_table();
    let expected = |order: &str, filter: &str| -> Vec<i64> {
        let sql = format!("SELECT rowid FROM notes {filter} ORDER BY {order}");
        conn.prepare(&sql).unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let request = |sort: Option<(&str, bool)>, filters: &[(&str, &str)]| super::RowsRequest {
        sort: sort.map(|(c, d)| (c.to_owned(), d)),
        filters: filters.iter().map(|(c, v)| (c.to_string(), v.to_string())).collect(),
        limit: 4,
        ..Default::default()
    };
    assert_eq!(all_pages(&conn, request(None, &[])), expected("rowid DESC", ""));
    assert_eq!(all_pages(&conn, request(Some(("kind", false)), &[])), expected("kind ASC, rowid ASC", ""));
    assert_eq!(all_pages(&conn, request(Some(("kind", true)), &[])), expected("kind DESC, rowid DESC", ""));
    assert_eq!(
        all_pages(&conn, request(Some(("kind", true)), &[("note", "n1")])),
        expected("kind DESC, rowid DESC", "WHERE note = 'n1'")
    );
    assert_eq!(all_pages(&conn, request(Some(("id", false)), &[])), expected("rowid ASC", ""));
}

#[test]
fn table_pages_refuse_what_they_cannot_serve_naming_the_parameter() {
    let (_dir, conn) = paged_table();
    let page = |table: &str, sort: Option<&str>, filter: Option<(&str, &str)>, cursor: Option<&str>| {
        let request = super::RowsRequest {
            sort: sort.map(|c| (c.to_owned(), false)),
            filters: filter.into_iter().map(|(c, v)| (c.to_owned(), v.to_owned())).collect(),
            limit: 10,
            cursor: cursor.map(str::to_owned),
            ..Default::default()
        };
        super::rows::page(&conn, table, &request, LIMITS.time_limit).map(|_| ()).map_err(|e| e.to_string())
    };
    assert!(page("nope", None, None, None).unwrap_err().starts_with("table:"));
    assert!(page("notes\" OR 1=1 --", None, None, None).unwrap_err().starts_with("table:"));
    assert!(page("notes", Some("missing"), None, None).unwrap_err().starts_with("sort:"));
    assert!(page("notes", None, Some(("missing", "x")), None).unwrap_err().starts_with("missing:"));
    assert!(page("notes", None, None, Some("zz")).unwrap_err().starts_with("cursor:"));
    assert!(page("api_tokens", None, Some(("token_hash", HASH)), None).unwrap_err().starts_with("table:"));
}

#[test]
fn one_huge_value_is_refused_by_the_length_limit_not_allocated() {
    let (_dir, conn) = reader();
    for sql in [
        "SELECT length(randomblob(200000000))",
        "SELECT length(printf('%.*c', 200000000, 'x'))",
        "SELECT zeroblob(200000000)",
    ] {
        let refused = run(&conn, sql, LIMITS).unwrap_err();
        assert!(matches!(&refused, SqlRefusal::Failed(why) if why.contains("too big")), "{sql}: {refused:?}");
    }
    assert_eq!(run(&conn, "SELECT length(randomblob(1000))", LIMITS).unwrap().rows, vec![vec![json!(1000)]]);
    let restored = conn.limit(rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH).unwrap();
    assert!(restored > super::guard::MAX_VALUE_BYTES, "the pool's own limit is back: {restored}");
}

#[test]
fn an_answer_stops_at_its_byte_cap_whatever_the_row_count() {
    let (_dir, conn) = reader();
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT printf('%.*c', 100000, 'x') FROM n";
    let answer = run(&conn, sql, LIMITS).unwrap();
    assert!(answer.truncated);
    let bytes: usize = answer.rows.iter().flatten().map(|v| v.as_str().unwrap().len()).sum();
    assert!(bytes <= super::MAX_ANSWER_BYTES && answer.rows.len() > 10, "{} rows, {bytes} bytes", answer.rows.len());
}

use super::complexity::doubling as doubling_ctes;

#[test]
fn a_query_whose_ctes_expand_exponentially_is_refused_before_sqlite_prepares_it() {
    let (_dir, conn) = reader();
    // Depth 14: past the limit, yet small enough to end (at the time limit) if the guard were gone.
    let refused = run(&conn, &doubling_ctes(14), LIMITS);
    assert!(matches!(refused, Err(SqlRefusal::TooManyCopies(_))), "{refused:?}");
    assert!(refused.unwrap_err().to_string().starts_with("complexity:"), "the refusal names its guard");
    assert!(run(&conn, &doubling_ctes(6), LIMITS).is_ok(), "a modest chain of CTEs still runs");
}

#[test]
fn a_viewer_reads_payloads_as_null_in_every_form_others_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT, payload TEXT);
             INSERT INTO events (type, payload) VALUES ('run.queued', '{\"command\": \"PGPASSWORD=hunter2 pg_dump\"}');
             CREATE VIEW shown AS SELECT payload AS p FROM events;",
        )
        .unwrap();
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let viewer = SqlLimits { hide_payloads: true, ..LIMITS };
    for sql in [
        "SELECT payload, hex(payload), length(payload), substr(payload, 14, 7) FROM events",
        "SELECT p FROM shown",
        "SELECT (SELECT group_concat(payload) FROM events)",
        "SELECT count(*) FROM events WHERE payload LIKE '%hunter2%'",
        "SELECT id FROM events ORDER BY instr(payload, 'hunter2') DESC LIMIT 1",
    ] {
        let shown = serde_json::to_string(&run(&conn, sql, viewer).unwrap().rows).unwrap();
        assert!(!shown.contains("hunter2") && !shown.contains("68756E74657232"), "{sql}: {shown}");
    }
    assert_eq!(
        run(&conn, "SELECT count(*) FROM events WHERE payload LIKE '%hunter2%'", viewer).unwrap().rows,
        vec![vec![json!(0)]]
    );
    let approver = run(&conn, "SELECT payload FROM events", LIMITS).unwrap();
    assert!(approver.rows[0][0].as_str().unwrap().contains("hunter2"), "others see the payload");
    let request = super::RowsRequest { limit: 10, hide_payloads: true, ..Default::default() };
    let page = super::rows::page(&conn, "events", &request, LIMITS.time_limit).unwrap();
    assert!(!serde_json::to_string(&page).unwrap().contains("hunter2"), "the table page hides it too");
    let filtered = super::RowsRequest { filters: vec![("payload".into(), "x".into())], ..request };
    let refused = super::rows::page(&conn, "events", &filtered, LIMITS.time_limit).unwrap_err();
    assert!(refused.to_string().contains("payload"), "{refused}");
}
