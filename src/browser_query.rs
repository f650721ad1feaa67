//! The SQL box runs each query in a child process of its own (this binary, `atlas __browser-query`), with
//! an address-space limit, a CPU limit and a wall-clock deadline. SQLite does much of a hostile query's
//! work while *preparing* it, where its progress handler barely runs: subqueries that copy their
//! expressions into every reference, CTEs named many times over. In-process, one such query took 37 s,
//! or grew Atlas to 24 GB until the kernel killed it. In a child, it costs at most `browser.sql_memory_mb`
//! (its `RLIMIT_AS`; an `RLIMIT_CPU` bounds its CPU time) and `sql_time_limit_ms` plus `GRACE` (3 s), when
//! the parent kills it; only the child dies. The child opens the database read-only and `query_only`, under
//! the same guards as before (`atlas_actors::store::browse::sql`).

use atlas_actors::store::browse::sql::{run_on_file, SqlAnswer, SqlLimits};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The first argument that makes `atlas` a browser-query child.
pub const CHILD_ARG: &str = "__browser-query";

/// Time the child gets beyond the query's own limit (start-up, open, writing up to the 8 MB answer)
/// before it is killed; its CPU limit bounds what a query can burn meanwhile.
const GRACE: Duration = Duration::from_millis(3000);
/// The most the parent reads from the child: the answer cap (8 MB) as JSON, with room for escaping.
const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;

/// What the child prints.
#[derive(Serialize, Deserialize)]
enum Reply {
    Answer(SqlAnswer),
    Refused(String),
}

/// How the child ended, as the SQL box reports it.
#[derive(Debug)]
pub enum Outcome {
    Answer(SqlAnswer),
    /// A guard refused it (its message names the guard).
    Refused(String),
    /// The child could not be run at all (not the query's fault).
    Unavailable(String),
}

/// The child's side: `atlas __browser-query <db> <time limit ms> <max rows> <memory MB>`, the SQL on stdin,
/// one JSON reply on stdout.
pub fn child_main(args: &[String]) -> std::process::ExitCode {
    let parsed = (|| -> Option<(&str, u64, usize, u64, bool)> {
        Some((
            args.first()?.as_str(),
            args.get(1)?.parse().ok()?,
            args.get(2)?.parse().ok()?,
            args.get(3)?.parse().ok()?,
            match args.get(4)?.as_str() {
                PAYLOADS_HIDDEN => true,
                PAYLOADS_SHOWN => false,
                _ => return None,
            },
        ))
    })();
    let Some((db, time_limit_ms, max_rows, memory_mb, hide_payloads)) = parsed else {
        eprintln!(
            "atlas {CHILD_ARG}: expects <database> <time limit ms> <max rows> <memory MB> <{PAYLOADS_HIDDEN}|{PAYLOADS_SHOWN}>, \
             the SQL on stdin"
        );
        return std::process::ExitCode::from(2);
    };
    use nix::sys::resource::{setrlimit, Resource};
    let bytes = memory_mb * 1024 * 1024;
    let cpu_seconds = time_limit_ms.div_ceil(1000) + 2;
    if let Err(err) =
        setrlimit(Resource::RLIMIT_AS, bytes, bytes).and(setrlimit(Resource::RLIMIT_CPU, cpu_seconds, cpu_seconds))
    {
        eprintln!("atlas {CHILD_ARG}: could not limit itself: {err}");
        return std::process::ExitCode::from(3);
    }
    let mut sql = String::new();
    if std::io::stdin().take(1024 * 1024).read_to_string(&mut sql).is_err() {
        eprintln!("atlas {CHILD_ARG}: the SQL on stdin is not UTF-8");
        return std::process::ExitCode::from(2);
    }
    let limits = SqlLimits { time_limit: Duration::from_millis(time_limit_ms), max_rows, hide_payloads };
    let reply = match run_on_file(Path::new(db), &sql, limits) {
        Ok(answer) => Reply::Answer(answer),
        Err(refusal) => Reply::Refused(refusal.to_string()),
    };
    let mut out = std::io::stdout().lock();
    match serde_json::to_writer(&mut out, &reply).and_then(|_| out.flush().map_err(serde_json::Error::io)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::from(4),
    }
}

/// The child's last argument: whether payload columns read as NULL (the asker is a viewer).
const PAYLOADS_HIDDEN: &str = "payloads-hidden";
const PAYLOADS_SHOWN: &str = "payloads-shown";

/// Where the child comes from and what it may use.
#[derive(Clone, Debug)]
pub struct Isolation {
    /// The `atlas` binary (this process's own executable unless configured).
    pub program: std::path::PathBuf,
    pub memory_mb: u64,
}

/// Runs one browser query in a child and says how it ended.
pub async fn run(isolation: &Isolation, db: &Path, sql: &str, limits: SqlLimits) -> Outcome {
    let mut command = tokio::process::Command::new(&isolation.program);
    command
        .arg(CHILD_ARG)
        .arg(db)
        .arg(limits.time_limit.as_millis().to_string())
        .arg(limits.max_rows.to_string())
        .arg(isolation.memory_mb.to_string())
        .arg(if limits.hide_payloads { PAYLOADS_HIDDEN } else { PAYLOADS_SHOWN })
        // It needs nothing of Atlas's environment (which may hold secrets), nor its working directory.
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    // Held: Atlas reaps orphans, never the child it waits for here.
    let (mut child, _held) = match atlas_actors::runner::reap::spawn_held(|| command.spawn(), tokio::process::Child::id)
    {
        Ok(spawned) => spawned,
        Err(err) => return Outcome::Unavailable(format!("the query process could not start: {err}")),
    };
    let (mut stdin, stdout) = (child.stdin.take(), child.stdout.take());
    let talk = async {
        if let Some(stdin) = stdin.as_mut() {
            stdin.write_all(sql.as_bytes()).await?;
            stdin.shutdown().await?;
        }
        drop(stdin);
        let mut reply = Vec::new();
        if let Some(stdout) = stdout {
            stdout.take(MAX_REPLY_BYTES).read_to_end(&mut reply).await?;
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, reply))
    };
    let deadline = limits.time_limit + GRACE;
    let ended = tokio::time::timeout(deadline, talk).await;
    match ended {
        Err(_) => {
            // The child is killed on drop (kill_on_drop); the query spent its time where SQLite's own
            // limit could not stop it (most often while being prepared).
            Outcome::Refused(format!(
                "time limit: the query ran longer than {} ms (counting its preparation) and was stopped",
                limits.time_limit.as_millis()
            ))
        }
        Ok(Err(err)) => Outcome::Unavailable(format!("the query process failed: {err}")),
        // Up to tens of MB of JSON: parsed off the async workers, which serve every other request.
        Ok(Ok((status, reply))) => {
            let empty = reply.is_empty();
            let parsed = tokio::task::spawn_blocking(move || serde_json::from_slice::<Reply>(&reply)).await;
            match parsed {
                Err(err) => Outcome::Unavailable(format!("the query's answer could not be read: {err}")),
                Ok(Ok(Reply::Answer(answer))) => Outcome::Answer(answer),
                Ok(Ok(Reply::Refused(why))) => Outcome::Refused(why),
                Ok(Err(_)) if status.code().is_none() || !empty || !status.success() => {
                    Outcome::Refused(died(isolation, status))
                }
                Ok(Err(err)) => Outcome::Unavailable(format!("the query process answered nonsense: {err}")),
            }
        }
    }
}

/// A child that ended without an answer ran out of what it was given.
fn died(isolation: &Isolation, status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(9) | Some(24) => "time limit: the query used more than its CPU time and was stopped".into(),
        _ => format!("memory limit: the query needed more than {} MB and was stopped ({status})", isolation.memory_mb),
    }
}
