//! The SQLite session extension, as much of it as point-in-time recovery uses: record what a connection
//! changes ([`Session`]), read a changeset's operations ([`operations`]) and apply one all-or-nothing
//! ([`apply_or_abort`]).
//!
//! Why by hand: rusqlite's `session` feature generates SQLite's bindings with bindgen while building, which
//! needs libclang, and the README promises a build with only the Rust toolchain and a C compiler. The eleven
//! declarations below are copied from SQLite's `sqlite3session.h`; the extension itself is compiled into
//! rusqlite's bundled SQLite by `LIBSQLITE3_FLAGS` (see `.cargo/config.toml` and this crate's build.rs).
//!
//! This is the one crate of the workspace with `unsafe`; every block says why it holds.

use rusqlite::ffi;
use rusqlite::Connection;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::marker::PhantomData;

/// `sqlite3_session`, opaque.
#[repr(C)]
struct RawSession {
    _private: [u8; 0],
}

/// `sqlite3_changeset_iter`, opaque.
#[repr(C)]
struct RawIter {
    _private: [u8; 0],
}

type TableFilter = unsafe extern "C" fn(ctx: *mut c_void, table: *const c_char) -> c_int;
type ConflictHandler = unsafe extern "C" fn(ctx: *mut c_void, kind: c_int, iter: *mut RawIter) -> c_int;

extern "C" {
    fn sqlite3session_create(db: *mut ffi::sqlite3, db_name: *const c_char, out: *mut *mut RawSession) -> c_int;
    fn sqlite3session_delete(session: *mut RawSession);
    fn sqlite3session_table_filter(session: *mut RawSession, filter: Option<TableFilter>, ctx: *mut c_void);
    fn sqlite3session_attach(session: *mut RawSession, table: *const c_char) -> c_int;
    fn sqlite3session_isempty(session: *mut RawSession) -> c_int;
    fn sqlite3session_changeset(session: *mut RawSession, size: *mut c_int, out: *mut *mut c_void) -> c_int;
    fn sqlite3changeset_start(out: *mut *mut RawIter, size: c_int, changeset: *mut c_void) -> c_int;
    fn sqlite3changeset_next(iter: *mut RawIter) -> c_int;
    fn sqlite3changeset_op(
        iter: *mut RawIter,
        table: *mut *const c_char,
        columns: *mut c_int,
        op: *mut c_int,
        indirect: *mut c_int,
    ) -> c_int;
    fn sqlite3changeset_finalize(iter: *mut RawIter) -> c_int;
    fn sqlite3changeset_apply(
        db: *mut ffi::sqlite3,
        size: c_int,
        changeset: *mut c_void,
        filter: Option<TableFilter>,
        conflict: Option<ConflictHandler>,
        ctx: *mut c_void,
    ) -> c_int;
}

/// `SQLITE_CHANGESET_ABORT`: the answer to every conflict.
const CHANGESET_ABORT: c_int = 2;

fn failure(code: c_int, message: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message.to_owned()))
}

/// A changeset larger than SQLite's `int` sizes cannot be handed to it.
fn size_of(changeset: &[u8]) -> rusqlite::Result<c_int> {
    c_int::try_from(changeset.len()).map_err(|_| failure(ffi::SQLITE_TOOBIG, "the changeset is larger than 2 GiB"))
}

/// Which tables a session records (a plain function, so the callback needs no captured state).
pub type Filter = fn(&str) -> bool;

/// An SQLite session on one connection: records every change to the tables `filter` accepts, from its
/// creation until it is dropped. Borrowing the connection keeps it open for as long.
pub struct Session<'conn> {
    raw: *mut RawSession,
    /// Boxed so its address, handed to SQLite as the filter's context, never moves.
    filter: Box<Filter>,
    _conn: PhantomData<&'conn Connection>,
}

unsafe extern "C" fn call_filter(ctx: *mut c_void, table: *const c_char) -> c_int {
    // SAFETY: `ctx` is the `Box<Filter>` of the session that registered this callback, which outlives it;
    // `table` is a NUL-terminated name SQLite owns for the duration of the call.
    let (filter, table) = unsafe { (&*(ctx as *const Filter), CStr::from_ptr(table)) };
    c_int::from(table.to_str().is_ok_and(filter))
}

impl<'conn> Session<'conn> {
    /// Starts recording the main database's tables that `filter` accepts (tables made later included).
    pub fn new(conn: &'conn Connection, filter: Filter) -> rusqlite::Result<Self> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: the handle is the live connection's, borrowed for 'conn; "main" is NUL-terminated.
        let rc = unsafe { sqlite3session_create(conn.handle(), c"main".as_ptr(), &mut raw) };
        if rc != ffi::SQLITE_OK {
            return Err(failure(rc, "cannot start an SQLite session"));
        }
        let session = Session { raw, filter: Box::new(filter), _conn: PhantomData };
        let ctx = &*session.filter as *const Filter as *mut c_void;
        // SAFETY: `raw` is the session just made; `ctx` points into its box, which lives as long as it.
        unsafe { sqlite3session_table_filter(session.raw, Some(call_filter), ctx) };
        // SAFETY: a NULL table name attaches every table (the filter then decides).
        let rc = unsafe { sqlite3session_attach(session.raw, std::ptr::null()) };
        if rc != ffi::SQLITE_OK {
            return Err(failure(rc, "cannot attach the SQLite session to the database"));
        }
        Ok(session)
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `raw` is live until drop.
        unsafe { sqlite3session_isempty(self.raw) != 0 }
    }

    /// What was recorded, as one changeset (empty when a change was undone within the session).
    pub fn changeset(&mut self) -> rusqlite::Result<Vec<u8>> {
        let (mut size, mut buffer) = (0, std::ptr::null_mut());
        // SAFETY: `raw` is live; SQLite fills `size` and `buffer` (allocated with sqlite3_malloc).
        let rc = unsafe { sqlite3session_changeset(self.raw, &mut size, &mut buffer) };
        if rc != ffi::SQLITE_OK {
            return Err(failure(rc, "cannot read the SQLite session's changeset"));
        }
        if buffer.is_null() {
            return Ok(Vec::new());
        }
        let len = usize::try_from(size).unwrap_or(0);
        // SAFETY: SQLite wrote `size` bytes at `buffer`; they are copied out before the buffer is freed.
        let bytes = unsafe { std::slice::from_raw_parts(buffer as *const u8, len) }.to_vec();
        // SAFETY: `buffer` came from sqlite3_malloc and is freed once.
        unsafe { ffi::sqlite3_free(buffer) };
        Ok(bytes)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` was made by sqlite3session_create and is deleted once, before the connection closes
        // (the session borrows it).
        unsafe { sqlite3session_delete(self.raw) };
    }
}

/// What one changeset entry does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

/// Each entry of `changeset`, in order, as (table, operation).
pub fn operations(changeset: &[u8]) -> rusqlite::Result<Vec<(String, Op)>> {
    let size = size_of(changeset)?;
    let mut iter = std::ptr::null_mut();
    // SAFETY: the iterator reads `size` bytes of `changeset` (never writes), which outlives it: it is
    // finalized below on every path.
    let rc = unsafe { sqlite3changeset_start(&mut iter, size, changeset.as_ptr() as *mut c_void) };
    if rc != ffi::SQLITE_OK {
        return Err(failure(rc, "the changeset cannot be read"));
    }
    let mut out = Vec::new();
    let outcome = loop {
        // SAFETY: `iter` is live until finalized.
        match unsafe { sqlite3changeset_next(iter) } {
            ffi::SQLITE_ROW => {}
            ffi::SQLITE_DONE => break Ok(()),
            rc => break Err(failure(rc, "the changeset is damaged")),
        }
        let (mut table, mut columns, mut op, mut indirect) = (std::ptr::null(), 0, 0, 0);
        // SAFETY: `iter` points at a row; SQLite fills the four outputs, `table` valid until the next step.
        let rc = unsafe { sqlite3changeset_op(iter, &mut table, &mut columns, &mut op, &mut indirect) };
        if rc != ffi::SQLITE_OK || table.is_null() {
            break Err(failure(rc, "a changeset entry cannot be read"));
        }
        // SAFETY: checked non-null; NUL-terminated per the API, copied before the next step.
        let name = unsafe { CStr::from_ptr(table) }.to_string_lossy().into_owned();
        let op = match op {
            ffi::SQLITE_INSERT => Op::Insert,
            ffi::SQLITE_DELETE => Op::Delete,
            _ => Op::Update,
        };
        out.push((name, op));
    };
    // SAFETY: finalized once; its answer repeats an error already seen by `next`.
    unsafe { sqlite3changeset_finalize(iter) };
    outcome.map(|()| out)
}

unsafe extern "C" fn abort_on_conflict(_ctx: *mut c_void, _kind: c_int, _iter: *mut RawIter) -> c_int {
    CHANGESET_ABORT
}

/// Applies `changeset` to `conn`'s main database; the first conflict (a row missing, changed, or a
/// constraint broken) aborts it, and SQLite then undoes whatever of it had applied.
pub fn apply_or_abort(conn: &Connection, changeset: &[u8]) -> rusqlite::Result<()> {
    let size = size_of(changeset)?;
    // SAFETY: the handle is the live connection's; SQLite only reads the changeset during the call; the
    // conflict handler touches nothing.
    let rc = unsafe {
        sqlite3changeset_apply(
            conn.handle(),
            size,
            changeset.as_ptr() as *mut c_void,
            None,
            Some(abort_on_conflict),
            std::ptr::null_mut(),
        )
    };
    match rc {
        ffi::SQLITE_OK => Ok(()),
        ffi::SQLITE_ABORT => Err(failure(rc, "a change conflicts with the database as it stands")),
        rc => Err(failure(rc, "the changeset could not be applied")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep_all(_: &str) -> bool {
        true
    }

    fn not_skipped(table: &str) -> bool {
        table != "skipped"
    }

    #[test]
    fn records_reads_and_applies_a_changeset() {
        let live = Connection::open_in_memory().unwrap();
        let copy = Connection::open_in_memory().unwrap();
        for conn in [&live, &copy] {
            conn.execute_batch(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE skipped (id INTEGER PRIMARY KEY);",
            )
            .unwrap();
        }
        let mut session = Session::new(&live, not_skipped).unwrap();
        assert!(session.is_empty());
        live.execute_batch("INSERT INTO t VALUES (1, 'a'), (2, 'b'); UPDATE t SET v = 'c' WHERE id = 2; INSERT INTO skipped VALUES (1);")
            .unwrap();
        assert!(!session.is_empty());
        let changeset = session.changeset().unwrap();
        drop(session);
        let ops = operations(&changeset).unwrap();
        assert_eq!(
            ops,
            vec![("t".to_owned(), Op::Insert), ("t".to_owned(), Op::Insert)],
            "the filtered table is left out"
        );
        apply_or_abort(&copy, &changeset).unwrap();
        let rows: Vec<(i64, String)> = copy
            .prepare("SELECT id, v FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows, vec![(1, "a".into()), (2, "c".into())]);
        let err = apply_or_abort(&copy, &changeset).unwrap_err();
        assert!(err.to_string().contains("conflicts"), "{err}");
        let count: i64 = copy.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2, "an aborted apply leaves nothing of itself");
    }

    #[test]
    fn an_update_and_a_delete_are_read_as_such_and_garbage_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
            .unwrap();
        let mut session = Session::new(&conn, keep_all).unwrap();
        conn.execute_batch("UPDATE t SET v = 'z' WHERE id = 1; DELETE FROM t WHERE id = 2;").unwrap();
        let ops = operations(&session.changeset().unwrap()).unwrap();
        assert_eq!(ops, vec![("t".to_owned(), Op::Update), ("t".to_owned(), Op::Delete)]);
        assert!(operations(&[0x54, 0xff, 0xff, 0xff]).is_err());
    }
}
