//! Hostile tests of the console, from the attack on it: bad input everywhere, XSS payloads, the live log
//! after sign-out, sessions, secrets, methods and exports. Each test records what broke and asserts at the end.

use super::visitor::{client, cookie_value, sign_in, sign_in_with};
use crate::api::Team;
use crate::support::{test_settings, TestApp};
use atlas_actors::domain::Role;
use reqwest::header::COOKIE;
use serde_json::json;
use std::time::Duration;

fn snippet(body: &str) -> String {
    let text = match (body.find("<main>"), body.find("</main>")) {
        (Some(a), Some(b)) if a < b => &body[a + 6..b],
        _ => body,
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(220).collect()
}

/// Malformed input everywhere: record status, content type and message; 5xx, a dropped connection or a
/// non-console (non-HTML) error body is a finding.
#[actix_rt::test]
async fn attack_bad_inputs_get_console_error_pages() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let task = team.task(&project, "t", Some(vec!["true"])).await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let c = admin.csrf.clone();
    let form = "application/x-www-form-urlencoded";
    let big_title = "x".repeat(70_000);
    let uni_sql = format!("SELECT '{}'", "é".repeat(19_000));
    let gets = [
        "/console/approvals?status=a&status=b",
        "/console/approvals?status=",
        "/console/approvals?cursor=garbage",
        "/console/approvals?cursor=%ZZ",
        "/console/approvals/%ZZ",
        "/console/approvals/..%2F..%2Fadmin",
        "/console/approvals/apr-%00",
        "/console/runs?status=bogus",
        "/console/runs?cursor=AAAA",
        "/console/runs/%E2%80%AE",
        "/console/runs/nope/live",
        "/console/errors?resolved=maybe",
        "/console/errors?severity=<b>",
        "/console/audit?cursor=%FF%FE",
        "/console/audit?actor=%ZZ",
        "/console/tasks/%F0%9F%92%A9",
        "/console/projects/x?x=%",
        "/console/browse/tables/tasks?limit=99999999999999999999",
        "/console/browse/tables/tasks?limit=0",
        "/console/browse/tables/tasks?sort=-",
        "/console/browse/tables/tasks?sort=nocolumn",
        "/console/browse/tables/tasks?cursor=xyz",
        "/console/browse/tables/tasks?nocolumn=1",
        "/console/browse/tables/tasks?format=",
        "/console/browse/tables/tasks?format=csv&cursor=%ZZ",
        "/console/browse/tables/api_tokens?token_hash=abc",
        "/console/browse/tables/nope?format=csv",
        "/console/browse/tables/sqlite_master",
        "/console/browse/tables/%22%3Cscript%3E",
        "/console/browse/tables/x%0d%0aSet-Cookie:%20a=b?_column=a",
        "/console/browse/tables/x%3Fy%23z?_column=a",
        "/console/browse/tables/tasks?title__contains=%ZZ",
        "/console/browse/sql?sql=&format=xml",
        "/console/browse/sql?query=nope",
        "/console/browse/sql?query=a&query=b",
        "/console/assets/..%2F..%2Fmain.rs",
        "/console//approvals",
        "/console/approvals/",
    ];
    let mut rows = Vec::new();
    for path in gets {
        let a = admin.send("GET", path, None, None, &[]).await;
        rows.push((format!("GET {path}"), a));
    }
    let posts: Vec<(String, Vec<u8>, &str)> = vec![
        (format!("/console/tasks/{task}"), format!("csrf={c}").into_bytes(), form),
        (format!("/console/tasks/{task}"), format!("csrf={c}&expected_version=abc").into_bytes(), form),
        (
            format!("/console/tasks/{task}"),
            format!("csrf={c}&expected_version=1&priority=99999999999999999999").into_bytes(),
            form,
        ),
        (
            format!("/console/tasks/{task}"),
            format!("csrf={c}&expected_version=1&title=t&status=zombie").into_bytes(),
            form,
        ),
        (format!("/console/tasks/{task}"), format!("csrf={c}&expected_version=1&title={big_title}").into_bytes(), form),
        (format!("/console/tasks/{task}"), format!("csrf={c}&expected_version=1&title=%FF%FE").into_bytes(), form),
        (format!("/console/tasks/{task}"), format!("csrf={c}&csrf={c}&expected_version=1").into_bytes(), form),
        (format!("/console/tasks/{task}"), format!("csrf={c}&expected_version=1").into_bytes(), "text/plain"),
        (
            format!("/console/tasks/{task}"),
            format!("csrf={c}&expected_version=1&title=\u{0}\u{202e}").into_bytes(),
            form,
        ),
        (format!("/console/projects/{project}"), format!("csrf={c}&expected_version=-1&name=").into_bytes(), form),
        ("/console/approvals/apr-x/maybe".into(), format!("csrf={c}").into_bytes(), form),
        ("/console/approvals/%ZZ/approve".into(), format!("csrf={c}").into_bytes(), form),
        ("/console/runs/../cancel".into(), format!("csrf={c}").into_bytes(), form),
        ("/console/admin/db/drop".into(), format!("csrf={c}").into_bytes(), form),
        ("/console/admin/schedules/%00/run".into(), format!("csrf={c}").into_bytes(), form),
        ("/console/admin/tokens".into(), format!("csrf={c}&name=&role=god").into_bytes(), form),
        ("/console/admin/tokens/%3Cb%3Ex/revoke".into(), format!("csrf={c}").into_bytes(), form),
        ("/console/admin/backups/..%2F..%2Fetc/verify".into(), format!("csrf={c}").into_bytes(), form),
        (
            "/console/admin/backups/..%2F..%2Fdata/restore".into(),
            format!("csrf={c}&confirm=../../data").into_bytes(),
            form,
        ),
        ("/console/admin/approvals/expire".into(), format!("csrf={c}&older_than_hours=-5").into_bytes(), form),
        ("/console/browse/sql".into(), format!("csrf={c}&sql={}", urlencode(&uni_sql)).into_bytes(), form),
        ("/console/browse/sql".into(), format!("csrf={c}&sql=SELECT%201;SELECT%202").into_bytes(), form),
        ("/console/browse/sql".into(), format!("csrf={c}&sql=PRAGMA%20writable_schema").into_bytes(), form),
        ("/console/login".into(), b"csrf=x&token=y".to_vec(), "text/plain"),
        ("/console/login".into(), format!("csrf=x&token={}", "a".repeat(20_000)).into_bytes(), form),
        ("/console/login".into(), b"\xff\xfe=\xff".to_vec(), form),
        ("/console/logout".into(), vec![b'a'; 300_000], form),
    ];
    for (path, body, kind) in posts {
        let a = admin.send("POST", &path, Some(body), Some(kind), &[]).await;
        rows.push((format!("POST {path} ({kind})"), a));
    }
    let mut findings = Vec::new();
    for (what, a) in &rows {
        let flash = if a.status == 303 {
            let (_, page) = admin.get(&a.location).await;
            page.find("id=\"flash\"").map(|at| snippet(&page[at..at + 400.min(page.len() - at)])).unwrap_or_default()
        } else {
            String::new()
        };
        eprintln!(
            "{what}\n    -> {} [{}] csp={} loc={} | {} {}",
            a.status,
            a.kind,
            a.csp,
            a.location,
            snippet(&a.body),
            flash
        );
        if a.status == 0 || a.status >= 500 || !a.csp || (a.status >= 400 && !a.kind.starts_with("text/html")) {
            findings.push(format!("{what}: {} [{}] {}", a.status, a.kind, snippet(&a.body)));
        }
    }
    assert!(findings.is_empty(), "findings:\n{}", findings.join("\n"));
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap()[2..].to_owned()
}

/// `older_than_hours` beyond ten years (up to u32::MAX, past chrono's range) is refused back to the form
/// with a sentence naming the field; the console and the API go on answering.
#[actix_rt::test]
async fn attack_expire_with_huge_hours() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let a = admin
        .submit("/console/admin/approvals/expire", &[("csrf", &admin.csrf), ("older_than_hours", "4294967295")])
        .await;
    assert_eq!((a.status, a.location.as_str()), (303, "/console/admin"), "back to the form: {}", snippet(&a.body));
    let (_, page) = admin.get("/console/admin").await;
    let flash = &page[page.find("id=\"flash\"").expect("a sentence saying why")..];
    assert!(flash[..200].contains("older_than_hours"), "the refusal names the field: {}", snippet(flash));
    assert!(page.contains("value=\"4294967295\""), "what was typed is back in the form");
    assert_eq!(admin.get("/console/approvals").await.0, 200);
    assert_eq!(team.call("GET", "/api/v1/tasks", &team.viewer, None).await.0, 200);
}

const P: &str = "\"'><img src=x onerror=alert(1)><script>alert(2)</script>";

fn raw_markup(page: &str) -> bool {
    page.contains("<img src=x") || page.contains("<script>alert")
}

async fn team_with_policy(policy: &[&str]) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.approvals.policy = policy.iter().map(|r| (*r).to_owned()).collect();
    Team::with_app(TestApp::spawn_with(dir, settings).await).await
}

#[actix_rt::test]
async fn attack_xss_payloads_reach_no_page_unescaped() {
    let team = team_with_policy(&["task:create@agent"]).await;
    let (_, project) =
        team.call("POST", "/api/v1/projects", &team.admin, Some(json!({ "name": P, "description": P }))).await;
    let project = project["id"].as_str().unwrap().to_owned();
    let script = format!("echo '{}'; echo '{}' >&2; exit 3", P.replace('\'', ""), P.replace('\'', ""));
    let body =
        json!({ "project_id": project, "title": P, "description": P, "assignee": P, "command": ["sh", "-c", script] });
    let (status, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    assert_eq!(status, 201, "{task}");
    let task = task["id"].as_str().unwrap().to_owned();
    let (status, run) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    assert_eq!(status, 201, "{run}");
    let run = run["id"].as_str().unwrap().to_owned();
    team.finished_run(&task).await;
    let (status, approval) =
        team.call("POST", "/api/v1/tasks", &team.agent, Some(json!({ "project_id": project, "title": P }))).await;
    assert_eq!(status, 202, "{approval}");
    let approval = approval["id"].as_str().unwrap().to_owned();
    let alice = sign_in(&team.app.url, &team.approver).await;
    alice.submit(&format!("/console/approvals/{approval}/reject"), &[("csrf", &alice.csrf), ("notes", P)]).await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let mut findings = Vec::new();
    // Flash messages built from what the caller typed.
    let enc = urlencode(P).replace('+', "%20");
    for path in [format!("/console/admin/tokens/{enc}/revoke"), format!("/console/admin/schedules/{enc}/run")] {
        let a = admin.submit(&path, &[("csrf", &admin.csrf)]).await;
        let (_, page) = admin.get("/console/admin").await;
        let flash = page.find("id=\"flash\"").map(|at| snippet(&page[at..])).unwrap_or_default();
        eprintln!("{path} -> {} flash: {flash}", a.status);
        if raw_markup(&page) {
            findings.push(format!("flash after {path}"));
        }
    }
    let a = admin.submit("/console/admin/tokens", &[("csrf", &admin.csrf), ("name", P), ("role", "viewer")]).await;
    let (_, page) = admin.get("/console/admin").await;
    eprintln!(
        "token named P -> {} flash: {}",
        a.status,
        page.find("id=\"flash\"").map(|at| snippet(&page[at..])).unwrap_or_default()
    );
    if raw_markup(&page) {
        findings.push("flash after token create".into());
    }
    let sql = format!("SELECT '{}' AS \"{}\"", P.replace('\'', "''"), P.replace('"', "\"\""));
    let a = admin.submit_and_follow("/console/browse/sql", &[("csrf", &admin.csrf), ("sql", &sql)]).await;
    eprintln!("sql -> {}", a.status);
    if raw_markup(&a.body) {
        findings.push("SQL result".into());
    }
    let a = admin
        .submit_and_follow("/console/browse/sql", &[("csrf", &admin.csrf), ("sql", &format!("{P} nonsense"))])
        .await;
    eprintln!("bad sql -> {} {}", a.status, snippet(&a.body));
    if raw_markup(&a.body) {
        findings.push("SQL refusal".into());
    }
    let pages = [
        "/console/approvals?status=all".to_owned(),
        format!("/console/approvals/{approval}"),
        "/console/runs".into(),
        format!("/console/runs/{run}"),
        format!("/console/runs/{run}/live"),
        "/console/errors?resolved=all".into(),
        "/console/audit".into(),
        format!("/console/audit?actor={enc}"),
        format!("/console/tasks/{task}"),
        format!("/console/projects/{project}"),
        "/console/browse".into(),
        "/console/browse/tables/tasks".into(),
        "/console/browse/tables/projects".into(),
        "/console/browse/tables/runs".into(),
        "/console/browse/tables/approvals".into(),
        "/console/browse/tables/notes".into(),
        format!("/console/browse/tables/tasks?title={enc}"),
        format!("/console/browse/tables/tasks?assignee={enc}&sort=-status"),
        "/console/admin".into(),
        "/console/health".into(),
    ];
    for path in pages {
        let a = admin.send("GET", &path, None, None, &[]).await;
        eprintln!("{path} -> {} [{}] csp={}", a.status, a.kind, a.csp);
        // The live log is text/event-stream under nosniff and the CSP: a browser never renders it as HTML.
        if raw_markup(&a.body) && !(path.ends_with("/live") && a.kind == "text/event-stream") {
            let at = a.body.find("<img src=x").or(a.body.find("<script>alert")).unwrap();
            findings.push(format!("{path}: …{}…", &a.body[at.saturating_sub(120)..(at + 60).min(a.body.len())]));
        }
        if !a.csp {
            findings.push(format!("{path}: no CSP"));
        }
    }
    for table in ["tasks", "events", "runs"] {
        for format in ["csv", "json"] {
            let a =
                admin.send("GET", &format!("/console/browse/tables/{table}?format={format}"), None, None, &[]).await;
            let kind_ok = a.kind.starts_with("text/csv") || a.kind.starts_with("application/json");
            if !kind_ok || !a.csp {
                findings.push(format!("export {table} {format}: {} csp={}", a.kind, a.csp));
            }
        }
    }
    assert!(findings.is_empty(), "findings:\n{}", findings.join("\n"));
}

#[actix_rt::test]
async fn attack_live_log_outlives_sign_out_and_revocation() {
    let team = team_with_policy(&[]).await;
    let project = team.project("live").await;
    let script = "for i in $(seq 1 40); do echo tick-$i; sleep 0.1; done";
    let task = team.task(&project, "slow", Some(vec!["sh", "-c", script])).await;
    let watcher = team.app.token("watcher", Role::Viewer).await;
    let visitor = sign_in(&team.app.url, &watcher).await;
    let (status, run) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    assert_eq!(status, 201);
    let run = run["id"].as_str().unwrap().to_owned();
    team.until_running(&run).await;
    let mut stream = visitor.fetch(&format!("/console/runs/{run}/live")).await;
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().unwrap();
    eprintln!("first: {:?}", String::from_utf8_lossy(&first));
    let out = visitor.submit("/console/logout", &[("csrf", &visitor.csrf)]).await;
    assert_eq!(out.status, 303);
    let (status, _) = team.call("DELETE", "/api/v1/admin/tokens/watcher", &team.admin, None).await;
    assert_eq!(status, 200);
    let (status, _) = visitor.get(&format!("/console/runs/{run}")).await;
    assert_eq!(status, 303, "the session is gone for new requests");
    // Chunks already on their way when the session ended may still arrive; the stream must then end
    // (the run goes on printing for seconds more) and say why, instead of following the run to its end.
    let mut after = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(Some(bytes)) = stream.chunk().await {
            after.push_str(&String::from_utf8_lossy(&bytes));
        }
    })
    .await;
    eprintln!("after sign-out and revocation the stream sent: {after:?}");
    assert!(ended.is_ok(), "a signed-out, revoked session kept receiving the live log: {after:?}");
    assert!(after.contains("not shown: signed out"), "the stream says why it ended: {after:?}");
    assert!(after.matches("tick-").count() <= 2, "no more than what was in flight: {after:?}");
    let (_, finished) = team.call("GET", &format!("/api/v1/runs/{run}"), &team.viewer, None).await;
    assert_eq!(finished["status"], "running", "the stream ended before the run did");
}

#[actix_rt::test]
async fn attack_signing_in_again_leaves_the_old_session_alive() {
    let team = Team::new().await;
    let first = sign_in(&team.app.url, &team.viewer).await;
    let second = sign_in_with(&team.app.url, &team.admin, Some(&first.cookie)).await;
    assert_ne!(first.cookie, second.cookie, "a new id on sign-in (no fixation)");
    let (status, _) = first.get("/console/approvals").await;
    eprintln!("old session after a new sign-in in the same browser: {status}");
    assert_eq!(status, 303, "the session the browser replaced should end");
}

#[actix_rt::test]
async fn attack_self_approval_and_superseded_targets_through_the_console() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let task = team.task(&project, "orig", Some(vec!["true"])).await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let a = admin.submit(&format!("/console/tasks/{task}/run"), &[("csrf", &admin.csrf)]).await;
    assert_eq!(a.status, 303);
    let (_, pending) = team.call("GET", "/api/v1/approvals?status=pending", &team.viewer, None).await;
    let own = pending["items"][0]["id"].as_str().expect("the admin's run waits for approval").to_owned();
    admin.submit(&format!("/console/approvals/{own}/approve"), &[("csrf", &admin.csrf)]).await;
    let (_, now) = team.call("GET", &format!("/api/v1/approvals/{own}"), &team.viewer, None).await;
    assert_eq!(now["status"], "pending", "self-approval refused: {now}");
    // An agent's edit, then the admin's direct edit, then an approver approves the stale one.
    let agent = sign_in(&team.app.url, &team.agent).await;
    let form = |title: &'static str, csrf: String| {
        vec![
            ("csrf", csrf),
            ("expected_version", "1".to_owned()),
            ("title", title.to_owned()),
            ("description", String::new()),
            ("status", "todo".to_owned()),
            ("assignee", "User".to_owned()),
            ("priority", "0".to_owned()),
        ]
    };
    let (_, t) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    eprintln!("task now: {t}");
    let fill = |title: &'static str, csrf: &str| {
        let mut f = form(title, csrf.to_owned());
        f[5].1 = t["assignee"].as_str().unwrap_or("").to_owned();
        f[6].1 = t["priority"].to_string();
        f[4].1 = t["status"].as_str().unwrap().to_owned();
        f
    };
    let f = fill("agent's", &agent.csrf);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = agent.submit(&format!("/console/tasks/{task}"), &f).await;
    let (_, page) = agent.get(&format!("/console/tasks/{task}")).await;
    eprintln!(
        "agent edit: {} {} flash: {}",
        a.status,
        snippet(&a.body),
        page.find("id=\"flash\"").map(|at| snippet(&page[at..])).unwrap_or_default()
    );
    let f = fill("admin's", &admin.csrf);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = admin.submit(&format!("/console/tasks/{task}"), &f).await;
    assert_eq!(a.status, 303);
    let (_, t) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(t["title"], "admin's", "{t}");
    let (_, pending) = team.call("GET", "/api/v1/approvals?status=pending", &team.viewer, None).await;
    eprintln!("pending: {pending}");
    let stale =
        pending["items"].as_array().unwrap().iter().find(|a| a["action"] == "update").expect("agent's edit pending")
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let alice = sign_in(&team.app.url, &team.approver).await;
    alice.submit(&format!("/console/approvals/{stale}/approve"), &[("csrf", &alice.csrf)]).await;
    let (_, page) = alice.get(&format!("/console/approvals/{stale}")).await;
    eprintln!("flash: {}", page.find("id=\"flash\"").map(|at| snippet(&page[at..])).unwrap_or_default());
    let (_, t) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(t["title"], "admin's", "a stale approval never applies: {t}");
}

/// Token secrets and hashes appear in no table but api_tokens (so nowhere the SQL box or a table view reads).
#[actix_rt::test]
async fn attack_token_secrets_and_hashes_stay_in_their_table() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    admin.submit("/console/admin/tokens", &[("csrf", &admin.csrf), ("name", "made-here"), ("role", "agent")]).await;
    let (_, page) = admin.get("/console/admin").await;
    let at = page.find("id=\"new-secret\">").expect("shown once") + 16;
    let secret = page[at..at + page[at..].find('<').unwrap()].to_owned();
    let _viewer = sign_in(&team.app.url, &secret).await;
    admin.submit_and_follow("/console/browse/sql", &[("csrf", &admin.csrf), ("sql", "SELECT * FROM events")]).await;
    let conn = crate::support::open_read_only(&team.app.db_path());
    let hashes: Vec<String> = conn
        .prepare("SELECT token_hash FROM api_tokens")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name <> 'api_tokens'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut findings = Vec::new();
    for table in tables {
        let mut stmt = match conn.prepare(&format!("SELECT * FROM \"{table}\"")) {
            Ok(s) => s,
            Err(_) => continue,
        };
        let width = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..width {
                if let Ok(rusqlite::types::ValueRef::Text(text)) = row.get_ref(i) {
                    let text = String::from_utf8_lossy(text);
                    if hashes.iter().any(|h| text.contains(h.as_str())) {
                        findings.push(format!("hash in {table}: {}", &text.chars().take(200).collect::<String>()));
                    }
                    if text.contains(&secret) {
                        findings.push(format!("secret in {table}: {}", &text.chars().take(200).collect::<String>()));
                    }
                }
            }
        }
    }
    assert!(findings.is_empty(), "findings:\n{}", findings.join("\n"));
}

/// A token signing in again and again (one login cookie serves any number of sign-ins) keeps at most
/// `MAX_SESSIONS_PER_TOKEN` sessions, dropping its own oldest: nobody else is ever signed out by it.
#[actix_rt::test]
async fn attack_a_viewer_signing_in_in_a_loop_pushes_out_only_its_own_sessions() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let first = sign_in(&team.app.url, &team.viewer).await;
    let http = client();
    let base = &team.app.url;
    let form = http.get(format!("{base}/console/login")).send().await.unwrap();
    let login = cookie_value(form.headers(), "atlas_login").unwrap();
    for _ in 0..atlas::console::session::MAX_SESSIONS_PER_TOKEN * 2 {
        let answer = http
            .post(format!("{base}/console/login"))
            .header(COOKIE, format!("atlas_login={login}"))
            .header(reqwest::header::ORIGIN, base.as_str())
            .form(&[("csrf", login.as_str()), ("token", team.viewer.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303);
    }
    assert_eq!(admin.get("/console/approvals").await.0, 200, "the admin stays signed in");
    assert_eq!(first.get("/console/approvals").await.0, 303, "the viewer's own oldest session went");
}

#[actix_rt::test]
async fn attack_other_methods_and_paths() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let mut findings = Vec::new();
    for (method, path) in [
        ("GET", "/console/logout"),
        ("PUT", "/console/tasks/task-x"),
        ("DELETE", "/console/admin/tokens/alice/revoke"),
        ("HEAD", "/console/approvals"),
        ("OPTIONS", "/console/approvals"),
        ("GET", "/console/admin/approvals/expire"),
        ("GET", "/console/browse/sql?query="),
    ] {
        let a = admin.send(method, path, None, None, &[]).await;
        eprintln!("{method} {path} -> {} [{}] csp={} {}", a.status, a.kind, a.csp, snippet(&a.body));
        if a.status >= 500 || !a.csp || (a.status >= 400 && method != "HEAD" && !a.kind.starts_with("text/html")) {
            findings.push(format!("{method} {path}: {} [{}] {}", a.status, a.kind, snippet(&a.body)));
        }
    }
    assert!(findings.is_empty(), "findings:\n{}", findings.join("\n"));
}

/// An export cut at the row cap links to its next page; that link should keep the view's filter and sort.
#[actix_rt::test]
async fn attack_export_next_link_keeps_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir);
    settings.browser.max_rows = 2;
    let team = Team::with_app(TestApp::spawn_with(dir, settings).await).await;
    let other = team.project("other").await;
    let keep = team.project("keep").await;
    for title in ["other-1", "other-2", "other-3"] {
        team.task(&other, title, None).await;
    }
    for title in ["keep-1", "keep-2", "keep-3"] {
        team.task(&keep, title, None).await;
    }
    let viewer = sign_in(&team.app.url, &team.viewer).await;
    let answer = viewer.fetch(&format!("/console/browse/tables/tasks?project_id={keep}&format=csv")).await;
    let link = answer.headers().get("link").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    eprintln!("first ({}): {:?}", answer.status(), answer.text().await.unwrap());
    eprintln!("link: {link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap_or("").to_owned();
    let (status, body) = viewer.get(&next).await;
    eprintln!("next page ({status}): {body:?}");
    assert!(!body.contains("other-"), "the next page of a filtered export holds rows outside the filter");
    assert_eq!(status, 200, "the export's own next link works");
}
