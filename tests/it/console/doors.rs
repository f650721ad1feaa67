//! The console's doors over plain HTTP: CSRF on every action, same-origin checks, cookie attributes,
//! security headers, roles, revocation ending a session, the typed restore confirmation, exports.

use super::visitor::{client, cookie_value, sign_in};
use crate::api::Team;
use reqwest::header::{COOKIE, SET_COOKIE};

async fn event_count(team: &Team) -> usize {
    let conn = crate::support::open_read_only(&team.app.db_path());
    crate::support::count(&conn, "SELECT count(*) FROM events") as usize
}

/// Every action the console has.
const ACTIONS: &[&str] = &[
    "/console/logout",
    "/console/approvals/apr-x/approve",
    "/console/approvals/apr-x/reject",
    "/console/runs/run-x/cancel",
    "/console/runs/run-x/requeue",
    "/console/errors/err-x/resolve",
    "/console/errors/resolve",
    "/console/tasks/task-x",
    "/console/tasks/task-x/run",
    "/console/projects",
    "/console/projects/prj-x",
    "/console/projects/prj-x/tasks",
    "/console/browse/sql",
    "/console/admin/tokens",
    "/console/admin/tokens/alice/revoke",
    "/console/admin/backups",
    "/console/admin/backups/b-x/verify",
    "/console/admin/backups/b-x/restore",
    "/console/admin/sync",
    "/console/admin/schedules/backup/run",
    "/console/admin/db/vacuum",
    "/console/admin/approvals/expire",
    "/console/admin/sinks/chat/enable",
];

#[actix_rt::test]
async fn every_action_refuses_a_post_without_this_sessions_csrf_token() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let before = event_count(&team).await;
    let other = sign_in(&team.app.url, &team.approver).await;
    let before_other = event_count(&team).await;
    assert_eq!(before_other, before + 1, "a sign-in is audited");
    for action in ACTIONS {
        for csrf in ["", "0000", other.csrf.as_str()] {
            let (status, body) = admin.post(action, &[("csrf", csrf), ("sql", "SELECT 1"), ("name", "x")], &[]).await;
            assert_eq!(status, 403, "{action} with csrf {csrf:?}: {body}");
            assert!(body.contains("CSRF token"), "{action}: the refusal says why: {body}");
        }
    }
    assert_eq!(event_count(&team).await, before_other, "no refused form reached the writer");
    let (status, _) = admin.post("/console/admin/db/checkpoint", &[("csrf", &admin.csrf)], &[]).await;
    assert_eq!(status, 303, "with the right token the same door opens");
}

#[actix_rt::test]
async fn posts_from_another_origin_or_site_are_refused_even_with_the_token() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let body = serde_json::json!({ "project_id": project, "title": "wanted" });
    let (status, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    assert_eq!(status, 202, "{approval}");
    let id = approval["id"].as_str().unwrap().to_owned();
    let approver = sign_in(&team.app.url, &team.approver).await;
    let path = format!("/console/approvals/{id}/approve");
    let form = [("csrf", approver.csrf.as_str())];
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", &*format!("{}.evil.example", team.app.url))],
    ] {
        let (status, body) = approver.post(&path, &form, &headers).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        assert!(body.contains("cross-site"), "{body}");
    }
    let (_, still) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(still["status"], "pending");
    let same = [("origin", team.app.url.as_str()), ("sec-fetch-site", "same-origin")];
    let (status, location) = approver.post(&path, &form, &same).await;
    assert_eq!((status, location.starts_with(&format!("/console/approvals/{id}"))), (303, true), "{location}");
    let (_, decided) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(decided["status"], "approved");
}

#[actix_rt::test]
async fn the_sign_in_form_refuses_a_post_without_its_own_cookie() {
    let team = Team::new().await;
    let answer = client()
        .post(format!("{}/console/login", team.app.url))
        .form(&[("csrf", "forged"), ("token", team.admin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403, "login CSRF: a form posted from elsewhere signs nobody in");
    assert!(cookie_value(answer.headers(), "atlas_session").is_none());
}

#[actix_rt::test]
async fn cookies_are_http_only_strict_and_every_page_carries_the_policy() {
    let team = Team::new().await;
    let http = client();
    let form = http.get(format!("{}/console/login", team.app.url)).send().await.unwrap();
    let set = form.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(attribute), "{set}");
    }
    let visitor = sign_in(&team.app.url, &team.viewer).await;
    for path in
        ["/console/login", "/console/approvals", "/console/nope", "/console/admin", "/console/assets/console.css"]
    {
        let answer =
            visitor.http.get(format!("{}{path}", team.app.url)).header(COOKIE, &visitor.cookie).send().await.unwrap();
        let policy = answer.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_owned());
        assert!(
            policy.as_deref().is_some_and(|p| p.contains("default-src 'none'") && p.contains("frame-ancestors 'none'")),
            "{path} ({}) carries the policy: {policy:?}",
            answer.status()
        );
    }
}

#[actix_rt::test]
async fn a_viewer_is_refused_admin_pages_and_actions_and_the_refusal_is_audited() {
    let team = Team::new().await;
    let viewer = sign_in(&team.app.url, &team.viewer).await;
    let (status, body) = viewer.get("/console/admin").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("may not administer"), "{body}");
    let (status, _) = viewer.post("/console/admin/backups", &[("csrf", &viewer.csrf)], &[]).await;
    assert_eq!(status, 403);
    let (_, audit) = team.call("GET", "/api/v1/audit?type=access.denied&actor=viewer", &team.admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "both refusals audited: {audit}");
    let (_, backups) = team.call("GET", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(backups["items"].as_array().unwrap().len(), 0, "no backup was made");
}

#[actix_rt::test]
async fn revoking_the_token_ends_its_console_sessions_at_once() {
    let team = Team::new().await;
    let alice = sign_in(&team.app.url, &team.approver).await;
    assert_eq!(alice.get("/console/approvals").await.0, 200);
    let (status, _) = team.call("DELETE", "/api/v1/admin/tokens/alice", &team.admin, None).await;
    assert_eq!(status, 200);
    let answer = alice.fetch("/console/approvals").await;
    assert_eq!(answer.status(), 303, "the next request is sent to sign in");
    assert_eq!(answer.headers().get("location").unwrap(), "/console/login?next=%2Fconsole%2Fapprovals");
}

#[actix_rt::test]
async fn a_restore_needs_the_backup_id_typed_and_tokens_show_once() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let (status, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{backup}");
    let id = backup["id"].as_str().unwrap().to_owned();
    let restore = format!("/console/admin/backups/{id}/restore");
    admin.post(&restore, &[("csrf", &admin.csrf), ("confirm", "yes")], &[]).await;
    let (_, page) = admin.get("/console/admin").await;
    assert!(page.contains("type the backup"), "a wrong confirmation is refused and said so");
    let (_, events) = team.call("GET", "/api/v1/audit?type=backup.restored", &team.admin, None).await;
    assert_eq!(events["items"].as_array().unwrap().len(), 0, "nothing was restored");

    admin.post("/console/admin/tokens", &[("csrf", &admin.csrf), ("name", "ci-bot"), ("role", "agent")], &[]).await;
    let (_, page) = admin.get("/console/admin").await;
    let at = page.find("id=\"new-secret\">").expect("the new token is shown") + 16;
    let secret = &page[at..page[at..].find('<').unwrap() + at];
    let (status, _) = team.app.call("GET", "/api/v1/tasks", Some(secret), None).await;
    assert_eq!(status, 200, "the token shown works");
    let (_, again) = admin.get("/console/admin").await;
    assert!(!again.contains(secret), "and it is never shown again");
}

#[actix_rt::test]
async fn exports_are_files_with_formulas_defused_and_token_hashes_never_shown() {
    let team = Team::new().await;
    let project = team.project("=HYPERLINK(\"http://evil\")").await;
    let viewer = sign_in(&team.app.url, &team.viewer).await;
    let answer = viewer.fetch("/console/browse/tables/projects?format=csv").await;
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("content-disposition").unwrap().to_str().unwrap().contains("projects.csv"));
    let csv = answer.text().await.unwrap();
    assert!(csv.contains(&project) && csv.contains("\"'=HYPERLINK("), "{csv}");
    let exported = viewer.fetch("/console/browse/tables/api_tokens?format=json").await;
    assert_eq!(exported.status(), 404, "Atlas's own tables are not exported");
    let (_, page) = viewer.get("/console/browse/tables/api_tokens").await;
    let conn = crate::support::open_read_only(&team.app.db_path());
    let hash: String = conn.query_row("SELECT token_hash FROM api_tokens LIMIT 1", [], |r| r.get(0)).unwrap();
    assert!(!page.contains(&hash), "the table page never shows a hash");
    let (status, body) = viewer.get("/console/browse/tables/projects?format=xml").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("format"), "the refusal names the parameter: {body}");
}

#[actix_rt::test]
async fn an_agents_console_edit_is_gated_and_its_approval_shows_the_diff() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let body = serde_json::json!({ "project_id": project, "title": "old title", "priority": 1 });
    let (_, task) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    let task = task["id"].as_str().unwrap().to_owned();
    let agent = sign_in(&team.app.url, &team.agent).await;
    let (_, page) = agent.get(&format!("/console/tasks/{task}")).await;
    assert!(page.contains("name=\"expected_version\" value=\"1\""), "the form pins the version it shows");
    let form = [
        ("csrf", agent.csrf.as_str()),
        ("expected_version", "1"),
        ("title", "new <title>"),
        ("description", ""),
        ("status", "todo"),
        ("assignee", "User"),
        ("priority", "1"),
    ];
    let (status, _) = agent.post(&format!("/console/tasks/{task}"), &form, &[]).await;
    assert_eq!(status, 303);
    let (_, page) = agent.get(&format!("/console/tasks/{task}")).await;
    assert!(page.contains("now waits for approval"), "the agent's edit is gated as over the API");
    let (_, pending) = team.call("GET", "/api/v1/approvals?status=pending", &team.viewer, None).await;
    let approval = &pending["items"][0];
    assert_eq!(approval["requested_by"], "agent-bot");
    let patch = &approval["payload"]["patch"];
    assert_eq!(patch["title"], "new <title>");
    assert!(patch["priority"].is_null() && patch["status"].is_null(), "only what changed is sent: {patch}");
    let approver = sign_in(&team.app.url, &team.approver).await;
    let (_, page) = approver.get(&format!("/console/approvals/{}", approval["id"].as_str().unwrap())).await;
    let diff = &page[page.find("id=\"diff\"").expect("an update shows a diff")..];
    assert!(diff.contains("<del>old title</del>") && diff.contains("<ins>new &#60;title&#62;</ins>"), "{diff}");
    let (_, task_now) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(task_now["title"], "old title", "nothing applied before review");
}

/// Whether a concrete path fits a route pattern (`{name}` fits any one segment).
fn fits(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, s)| p.starts_with('{') || p == s)
}

#[actix_rt::test]
async fn every_console_action_is_in_the_csrf_test() {
    // A POST route added to the console without a line in ACTIONS would escape the CSRF test above.
    let mut posts = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/console/pages")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (at, _) in source.match_indices("at(\"") {
            let rest = &source[at + 4..];
            let path = &rest[..rest.find('"').unwrap()];
            let allowed = &rest[path.len() + 4..];
            if allowed[..allowed.find('"').unwrap()].contains("POST") {
                posts.push(format!("/console{path}"));
            }
        }
    }
    assert!(posts.len() >= 15, "the route scan found the console's actions: {posts:?}");
    // Signing in and an approval link's page are doors for someone without a session: no session, no
    // CSRF token. The link is its own secret; `notify::links` refuses its cross-site POSTs.
    for route in posts.iter().filter(|r| *r != "/console/login" && *r != "/console/link/{link}") {
        assert!(ACTIONS.iter().any(|a| fits(route, a)), "{route} is a console action missing from ACTIONS");
    }
}

#[actix_rt::test]
async fn canned_queries_are_links_that_run_under_the_same_guards() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::support::test_settings(&dir);
    settings
        .browser
        .queries
        .insert("open approvals".into(), "SELECT id, status FROM approvals WHERE status = 'pending'".into());
    settings.browser.queries.insert("sneaky".into(), "DELETE FROM approvals".into());
    let team = Team::with_app(crate::support::TestApp::spawn_with(dir, settings).await).await;
    let viewer = sign_in(&team.app.url, &team.viewer).await;
    let (_, index) = viewer.get("/console/browse").await;
    assert!(index.contains("href=\"/console/browse/sql?query=open+approvals\""), "{index}");
    let (status, page) = viewer.get("/console/browse/sql?query=open+approvals").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"result\"") && page.contains("0 rows"), "{page}");
    let (status, page) = viewer.get("/console/browse/sql?query=sneaky").await;
    assert_eq!(status, 400, "a canned query is guarded like any other");
    assert!(page.contains("SELECT, WITH or EXPLAIN"), "{page}");
    let (status, page) = viewer.get("/console/browse/sql?query=nope").await;
    assert_eq!(status, 404);
    assert!(page.contains("no canned query named"), "{page}");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=browser.queried", &team.admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "both canned runs are on record");

    // Any query is a link, and the link exports: CSV (formulas defused) and JSON, each run audited.
    let csv = "/console/browse/sql?sql=SELECT%201%20AS%20n%2C%20%27%3D2%2B3%27%20AS%20f&format=csv";
    let answer = viewer.send("GET", csv, None, None, &[]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "n,f\r\n1,'=2+3\r\n"), "{}", answer.body);
    let answer = viewer.send("GET", "/console/browse/sql?query=open+approvals&format=json", None, None, &[]).await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["columns"], serde_json::json!(["id", "status"]), "{json}");
    for (path, status, says) in [
        ("/console/browse/sql?sql=SELECT%201&format=xml", 400, "format"),
        ("/console/browse/sql?sql=SELECT%201&query=open+approvals", 400, "not both"),
        ("/console/browse/sql?sql=DROP%20TABLE%20tasks&format=csv", 400, "SELECT, WITH or EXPLAIN"),
    ] {
        let (got, page) = viewer.get(path).await;
        assert_eq!(got, status, "{path}: {page}");
        assert!(page.contains(says), "{path}: {page}");
    }
    let same_site = [("sec-fetch-site", "same-site")];
    let answer = viewer.send("GET", "/console/browse/sql?sql=SELECT%201", None, None, &same_site).await;
    assert_eq!(answer.status, 403, "a link on a sibling site runs no query: {}", answer.body);
    let (status, _) = viewer.get("/console/browse/sql?sql=&format=xml").await;
    assert_eq!(status, 400, "a bad format is refused even with no query");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=browser.queried", &team.admin, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 5, "the exports and the refused query are on record");
}
