//! One bucket, one history: a restore drill or a scratch machine pointed at production's bucket writes
//! nothing there, `latest` on a new machine follows production's chain (never a newer drill), two
//! restores in one second never overwrite each other, and a promotion moves `latest` on purpose.

use super::*;
use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::path::Path;

/// Every object name in the bucket.
async fn objects(moto: &Moto) -> BTreeSet<String> {
    let store = moto.store(BUCKET);
    let mut listing = store.list(None);
    let mut names = BTreeSet::new();
    while let Some(meta) = listing.next().await {
        names.insert(meta.unwrap().location.to_string());
    }
    names
}

/// Runs the binary in `dir` with the bucket flags; answers (success, stdout + stderr).
fn atlas_in(dir: &Path, flags: &[String], args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(crate::support::daemon::ATLAS)
        .current_dir(dir)
        .args(flags)
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

fn admin_token(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("data/admin.token")).unwrap().trim().to_owned()
}

async fn get(url: &str, token: &str, path: &str) -> Value {
    let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let mut answer = client.get(format!("{url}{path}")).bearer_auth(token).send().await.unwrap();
    answer.json().await.unwrap()
}

/// Waits until a snapshot starts the daemon's chain and every change up to `through` is off-site (the
/// outbox never empties while polled: each admin call is itself an audited change).
async fn until_shipped_through(url: &str, token: &str, through: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = get(url, token, "/api/v1/admin/pitr").await;
        let shipped = now["shipper"]["shipped_through_at"].as_str().is_some_and(|at| at >= through);
        if now["shipper"]["base"].is_string() && shipped {
            return;
        }
        assert!(Instant::now() < deadline, "not shipped through {through} within 30 s: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Makes `n` projects; answers their names and the last one's commit time.
async fn make_projects(url: &str, token: &str, prefix: &str, n: usize) -> (Vec<String>, String) {
    let (mut names, mut last) = (Vec::new(), String::new());
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let (code, made) = post(url, token, "/api/v1/projects", json!({ "name": name })).await;
        assert_eq!(code, 201, "{made}");
        names.push(name);
        last = made["created_at"].as_str().unwrap().to_owned();
    }
    (names, last)
}

/// Production on moto: a fresh directory serving with the bucket flags, `n` projects named `prefix-i`
/// written and shipped. Answers the directory, the daemon and the admin token.
async fn shipping_production(flags: &[String], prefix: &str, n: usize) -> (tempfile::TempDir, Daemon, String) {
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let production = tempfile::tempdir().unwrap();
    let prod = Daemon::start(crate::support::daemon::ATLAS, production.path(), &args, &[]);
    let token = admin_token(production.path());
    let (_, last) = make_projects(&prod.url, &token, prefix, n).await;
    until_shipped_through(&prod.url, &token, &last).await;
    (production, prod, token)
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    let db = open_read_only(&dir.join("data/atlas.db"));
    let mut query = db.prepare("SELECT name FROM projects").unwrap();
    query.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[actix_rt::test]
async fn a_drill_on_another_machine_never_becomes_what_latest_rebuilds() {
    let moto = Moto::start(BUCKET).await;
    let flags = daemon_flags(&moto.endpoint);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let production = tempfile::tempdir().unwrap();
    let mut prod = Daemon::start(crate::support::daemon::ATLAS, production.path(), &args, &[]);
    let prod_token = admin_token(production.path());
    let (mut shipped, last) = make_projects(&prod.url, &prod_token, "before", 20).await;
    until_shipped_through(&prod.url, &prod_token, &last).await;

    // The README's recovery command, run as a drill on a scratch machine pointed at production's bucket.
    let before_drill = objects(&moto).await;
    let scratch = tempfile::tempdir().unwrap();
    let (ok, said) = atlas_in(scratch.path(), &flags, &["restore", "--to", "latest", "--from-remote", "--yes"]);
    assert!(ok, "{said}");
    assert!(said.contains("the bucket's owner"), "the restore says which chain it followed: {said}");
    // The drill's copy then serves for a while and takes writes, shipping every second.
    let mut drill = Daemon::start(crate::support::daemon::ATLAS, scratch.path(), &args, &[]);
    let drill_token = prod_token.clone(); // the copy holds production's tokens
    make_projects(&drill.url, &drill_token, "drill", 5).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let now = get(&drill.url, &drill_token, "/api/v1/admin/pitr").await;
        if let Some(error) = now["shipper"]["last_upload_error"].as_str() {
            break error.to_owned();
        }
        assert!(Instant::now() < deadline, "the drill's shipper never said why it ships nothing: {now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(refused.contains("belongs to another database") && refused.contains("atlas promote"), "{refused}");
    drill.signal("TERM");
    drill.wait_exit(Duration::from_secs(20));
    // Production went on shipping meanwhile; everything new in the bucket is its own.
    let prod_timeline =
        get(&prod.url, &prod_token, "/api/v1/admin/pitr").await["shipper"]["timeline"].as_str().unwrap().to_owned();
    let new: Vec<String> = objects(&moto).await.difference(&before_drill).cloned().collect();
    assert!(
        new.iter().all(|name| name.contains(&format!("pitr/{prod_timeline}/"))),
        "the drill and its copy wrote nothing to the bucket: {new:?}"
    );

    // Production goes on, ships, and is lost.
    let (after, last) = make_projects(&prod.url, &prod_token, "after", 20).await;
    shipped.extend(after);
    until_shipped_through(&prod.url, &prod_token, &last).await;
    prod.signal("KILL");
    prod.wait_exit(Duration::from_secs(10));

    let recovery = tempfile::tempdir().unwrap();
    let (ok, said) =
        atlas_in(recovery.path(), &flags, &["restore", "--to", "latest", "--from-remote", "--promote", "--yes"]);
    assert!(ok, "{said}");
    let restored = names_in(recovery.path());
    let lost: Vec<&String> = shipped.iter().filter(|name| !restored.contains(*name)).collect();
    assert!(lost.is_empty(), "{} of {} shipped writes missing: {lost:?}\n{said}", lost.len(), shipped.len());
    assert!(!restored.iter().any(|name| name.starts_with("drill-")), "the drill's writes are not production's");
    assert!(said.contains("promoted: this database"), "{said}");
    let promotions: i64 = open_read_only(&recovery.path().join("data/atlas.db"))
        .query_row("SELECT count(*) FROM events WHERE type = 'backup.promoted'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(promotions, 1, "the promotion is in the audit trail");

    // Promoted: `latest` on yet another machine follows the recovered database, which took over.
    let check = tempfile::tempdir().unwrap();
    let (ok, said) = atlas_in(check.path(), &flags, &["restore", "--to", "latest", "--from-remote", "--verify-only"]);
    assert!(ok && said.contains("checked (not swapped in)"), "{said}");
    let recovered = open_read_only(&recovery.path().join("data/atlas.db"));
    let timeline: String = recovered.query_row("SELECT timeline FROM pitr_timeline", [], |r| r.get(0)).unwrap();
    assert!(said.contains(&format!("followed timeline {timeline}, the bucket's owner")), "{said}");
}

/// Two machines restoring in the same second: unpromoted, they write nothing; both promoted, the later
/// claim owns the bucket, the other is told it is not the owner, and no object is overwritten (each
/// backup is named by its own database's timeline).
#[actix_rt::test]
async fn two_restores_in_one_second_never_overwrite_each_other() {
    let moto = Moto::start(BUCKET).await;
    let flags = daemon_flags(&moto.endpoint);
    let (_production, mut prod, _) = shipping_production(&flags, "p", 3).await;
    prod.signal("TERM");
    prod.wait_exit(Duration::from_secs(20));
    let before = objects(&moto).await;
    let both = |restore: &[&str]| {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let said = std::thread::scope(|scope| {
            let first = scope.spawn(|| atlas_in(a.path(), &flags, restore));
            let second = scope.spawn(|| atlas_in(b.path(), &flags, restore));
            [first.join().unwrap(), second.join().unwrap()]
        });
        let timelines = [&a, &b].map(|dir| {
            let db = open_read_only(&dir.path().join("data/atlas.db"));
            db.query_row("SELECT timeline FROM pitr_timeline", [], |r| r.get::<_, String>(0)).unwrap()
        });
        (said, timelines)
    };
    let (said, _) = both(&["restore", "--to", "latest", "--from-remote", "--yes"]);
    assert!(said.iter().all(|(ok, _)| *ok), "{said:?}");
    assert_eq!(objects(&moto).await, before, "restored copies write nothing to the bucket until promoted");

    let (said, timelines) = both(&["restore", "--to", "latest", "--from-remote", "--promote", "--yes"]);
    let added: Vec<String> = objects(&moto).await.difference(&before).cloned().collect();
    let claims: Vec<&String> = added.iter().filter(|name| name.contains("/owner/")).collect();
    assert_eq!(claims.len(), 2, "both promotions are recorded: {added:?}");
    let owner = timelines.iter().find(|t| claims.iter().max().unwrap().ends_with(&format!("-{t}.json"))).unwrap();
    for name in added.iter().filter(|name| name.ends_with(".manifest.json")) {
        assert!(timelines.iter().any(|t| name.contains(&format!("_{}", &t[..8]))), "{name} is one database's own");
    }
    assert!(
        added.iter().any(|name| name.ends_with(".manifest.json") && name.contains(&format!("_{}", &owner[..8]))),
        "the owner's backup starts its chain in the bucket: {added:?}"
    );
    for (ok, text) in &said {
        assert!(*ok || text.contains("NOT promoted") || text.contains("not uploaded"), "{text}");
    }
}

/// Waits until the daemon's shipper says why it ships nothing, and answers that.
async fn refusal(url: &str, token: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = get(url, token, "/api/v1/admin/pitr").await;
        if let Some(error) = now["shipper"]["last_upload_error"].as_str() {
            return error.to_owned();
        }
        assert!(Instant::now() < deadline, "the shipper never said why it ships nothing: {now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A data directory copied whole (a VM snapshot, an rsync to staging) holds the same timeline: it is
/// another Atlas (another instance) and writes nothing to the bucket, where it would overwrite
/// production's segments of the same names.
#[actix_rt::test]
async fn a_copied_data_directory_never_writes_as_production() {
    let moto = Moto::start(BUCKET).await;
    let flags = daemon_flags(&moto.endpoint);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (production, mut prod, token) = shipping_production(&flags, "before", 3).await;
    prod.signal("TERM");
    prod.wait_exit(Duration::from_secs(20));
    let copy = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .args(["-a", production.path().join("data").to_str().unwrap(), copy.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(copied.success());
    let prod = Daemon::start(crate::support::daemon::ATLAS, production.path(), &args, &[]);
    let clone = Daemon::start(crate::support::daemon::ATLAS, copy.path(), &args, &[]);
    make_projects(&clone.url, &token, "clone", 3).await;
    let why = refusal(&clone.url, &token).await;
    assert!(why.contains("copied data directory"), "{why}");
    let shipped = get(&clone.url, &token, "/api/v1/admin/pitr").await;
    assert_eq!(shipped["shipper"]["segments_uploaded"], 0, "the copy shipped nothing: {shipped}");
    let (_, last) = make_projects(&prod.url, &token, "after", 3).await;
    until_shipped_through(&prod.url, &token, &last).await;
    let recovery = tempfile::tempdir().unwrap();
    let (ok, said) = atlas_in(recovery.path(), &flags, &["restore", "--to", "latest", "--from-remote", "--yes"]);
    assert!(ok, "{said}");
    let restored = names_in(recovery.path());
    assert!(restored.contains("after-2") && !restored.iter().any(|n| n.starts_with("clone-")), "{restored:?}");
}

/// A bucket whose claims were lost (deleted) is not taken by a new database on a scratch machine while
/// it holds another database's history; production claims it again.
#[actix_rt::test]
async fn lost_claims_never_let_a_scratch_machine_take_the_bucket() {
    let moto = Moto::start(BUCKET).await;
    let flags = daemon_flags(&moto.endpoint);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (_production, _prod, _) = shipping_production(&flags, "p", 3).await;
    let store = moto.store(BUCKET);
    for name in objects(&moto).await.into_iter().filter(|n| n.contains("/owner/")) {
        store.delete(&ObjectPath::from(name)).await.unwrap();
    }
    let scratch = tempfile::tempdir().unwrap();
    let fresh = Daemon::start(crate::support::daemon::ATLAS, scratch.path(), &args, &[]);
    let scratch_token = admin_token(scratch.path());
    make_projects(&fresh.url, &scratch_token, "scratch", 2).await;
    let why = refusal(&fresh.url, &scratch_token).await;
    assert!(why.contains("holds another database's history"), "{why}");
    let recovery = tempfile::tempdir().unwrap();
    let (ok, said) = atlas_in(recovery.path(), &flags, &["restore", "--to", "latest", "--from-remote", "--yes"]);
    assert!(ok, "{said}");
    let restored = names_in(recovery.path());
    assert!(restored.contains("p-2") && !restored.iter().any(|n| n.starts_with("scratch-")), "{restored:?}\n{said}");
}
