//! Input survives: a refused form comes back with what was typed and a sentence saying why; a form sent
//! after its sign-in ended leads through signing in again back to its page, draft and all; signing in
//! returns to the page asked for, never to another site.

use super::visitor::{client, cookie_value, sign_in};
use crate::api::Team;
use reqwest::header::{COOKIE, ORIGIN};
use serde_json::json;

/// The value attribute of the input named `name` in `page`.
fn value_of(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no input {name} in {page}"));
    let rest = &page[at..];
    let start = rest.find("value=\"").unwrap() + 7;
    rest[start..start + rest[start..].find('"').unwrap()].to_owned()
}

#[actix_rt::test]
async fn a_refused_edit_comes_back_with_what_was_typed_and_why() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let task = team.task(&project, "old title", None).await;
    let agent = sign_in(&team.app.url, &team.agent).await;
    let here = format!("/console/tasks/{task}");
    let form = [
        ("csrf", agent.csrf.as_str()),
        ("expected_version", "1"),
        ("title", "my long careful <title>"),
        ("description", "typed with care"),
        ("status", "todo"),
        ("assignee", "User"),
        ("priority", "high"),
    ];
    let origin = [("origin", team.app.url.as_str()), ("referer", &format!("{}{here}", team.app.url))];
    let answer = agent.submit_with(&here, &form, &origin).await;
    assert_eq!((answer.status, answer.location.as_str()), (303, here.as_str()), "back to the form, not a bare 400");
    let (_, page) = agent.get(&here).await;
    assert!(page.contains("priority: &#34;high&#34; is not a whole number"), "why, in a sentence: {page}");
    assert_eq!(value_of(&page, "title"), "my long careful &#60;title&#62;");
    assert_eq!(value_of(&page, "priority"), "high");
    assert!(page.contains(">typed with care</textarea>"), "{page}");
    let (_, again) = agent.get(&here).await;
    assert_eq!(value_of(&again, "title"), "old title", "the draft is shown once, then the task as it is");

    // A form from a page older than this sign-in (its CSRF token stale) is given back, not dropped...
    let zeros = "0".repeat(64);
    let stale = [("csrf", zeros.as_str()), ("expected_version", "1"), ("title", "kept anyway")];
    let answer = agent.submit_with(&here, &stale, &origin).await;
    assert_eq!((answer.status, answer.location.as_str()), (303, here.as_str()));
    let (_, page) = agent.get(&here).await;
    assert!(page.contains("security token did not match") && value_of(&page, "title") == "kept anyway");
    // ...but only when the browser vouches it came from this console: unvouched, it is refused outright.
    let answer = agent.submit_with(&here, &stale, &[]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let (_, task_now) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(task_now["title"], "old title", "nothing was applied along the way");
}

#[actix_rt::test]
async fn a_form_sent_after_the_sign_in_ended_returns_with_its_draft_after_signing_in_again() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let body = json!({ "project_id": project, "title": "needs review" });
    let (_, approval) = team.call("POST", "/api/v1/tasks", &team.agent, Some(body)).await;
    let id = approval["id"].as_str().unwrap();
    let page = format!("/console/approvals/{id}");
    let alice = sign_in(&team.app.url, &team.approver).await;
    let (_, shown) = alice.get(&page).await;
    assert!(shown.contains("id=\"approve\""));
    // The session ends (idle, lifetime, a restart, another tab signing out) while the note is typed.
    assert_eq!(alice.submit("/console/logout", &[("csrf", &alice.csrf)]).await.status, 303);

    let note = "checked the runbook; the window is tonight";
    let form = [("csrf", alice.csrf.as_str()), ("notes", note)];
    let referer = format!("{}{page}", team.app.url);
    let vouched = [("origin", team.app.url.as_str()), ("referer", referer.as_str())];
    let answer = alice.submit_with(&format!("{page}/approve"), &form, &vouched).await;
    assert_eq!(answer.status, 401, "the sign-in page, not a bare redirect: {}", answer.body);
    assert!(answer.body.contains("before the form was sent"), "{}", answer.body);
    assert_eq!(value_of(&answer.body, "next"), page);
    assert_eq!(value_of(&answer.body, "draft.notes"), note);
    assert!(!answer.body.contains(&alice.csrf), "the old CSRF token is not carried");

    // Signing in again (the form as the sign-in page holds it) leads back to the approval with the note.
    let http = client();
    let form_page = http.get(format!("{}/console/login", team.app.url)).send().await.unwrap();
    let login = cookie_value(form_page.headers(), "atlas_login").unwrap();
    let action = value_of(&answer.body, "draft_action");
    let fields = [
        ("csrf", login.as_str()),
        ("token", team.approver.as_str()),
        ("next", page.as_str()),
        ("draft_action", action.as_str()),
        ("draft.notes", note),
    ];
    let signed = http
        .post(format!("{}/console/login", team.app.url))
        .header(COOKIE, format!("atlas_login={login}"))
        .header(ORIGIN, &team.app.url)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], page.as_str(), "back where the person was");
    let session = cookie_value(signed.headers(), "atlas_session").unwrap();
    let back = http.get(format!("{}{page}", team.app.url)).header(COOKIE, format!("atlas_session={session}"));
    let back = back.send().await.unwrap().text().await.unwrap();
    assert_eq!(value_of(&back, "notes"), note, "the draft is in its form");
    assert!(back.contains("Signed in again"), "{back}");
    let (_, now) = team.call("GET", &format!("/api/v1/approvals/{id}"), &team.viewer, None).await;
    assert_eq!(now["status"], "pending", "nothing is decided until the person sends it again");

    // Unvouched (no Origin, no Sec-Fetch-Site), an expired session just leads to the sign-in page.
    let answer = alice.submit(&format!("{page}/approve"), &form).await;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/console/login"));
}

#[actix_rt::test]
async fn signing_in_returns_to_the_page_asked_for_and_never_to_another_site() {
    let team = Team::new().await;
    let http = client();
    let asked = http.get(format!("{}/console/runs?status=failed", team.app.url)).send().await.unwrap();
    assert_eq!(asked.status(), 303);
    let location = asked.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/console/login?next=%2Fconsole%2Fruns%3Fstatus%3Dfailed");
    for (next, lands) in [
        ("/console/runs?status=failed", "/console/runs?status=failed"),
        ("https://evil.example/", "/console/approvals"),
        ("//evil.example/console/", "/console/approvals"),
        ("/console/..//evil.example", "/console/approvals"),
        ("/console/login", "/console/approvals"),
    ] {
        let form_page = http.get(format!("{}/console/login", team.app.url)).query(&[("next", next)]).send().await;
        let form_page = form_page.unwrap();
        let login = cookie_value(form_page.headers(), "atlas_login").unwrap();
        let signed = http
            .post(format!("{}/console/login", team.app.url))
            .header(COOKIE, format!("atlas_login={login}"))
            .header(ORIGIN, &team.app.url)
            .form(&[("csrf", login.as_str()), ("token", team.viewer.as_str()), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(signed.headers()["location"], lands, "next={next}");
    }
}

/// A draft refused for a version conflict keeps the version it was typed against: sending it again is
/// refused again, never silently written over the change made meanwhile.
#[actix_rt::test]
async fn a_draft_from_a_version_conflict_never_overwrites_the_change_made_meanwhile() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let theirs = json!({ "description": "their important change" });
    assert_eq!(team.call("PATCH", &format!("/api/v1/projects/{project}"), &team.admin, Some(theirs)).await.0, 200);
    let admin = sign_in(&team.app.url, &team.admin).await;
    let here = format!("/console/projects/{project}");
    let mine = [("csrf", admin.csrf.as_str()), ("expected_version", "1"), ("name", "p"), ("description", "mine")];
    let answer = admin.submit(&here, &mine).await;
    assert_eq!(answer.location, here, "refused back to the form");
    let (_, page) = admin.get(&here).await;
    assert!(page.contains("id=\"stale-draft\""), "the page says it changed meanwhile: {page}");
    assert_eq!(value_of(&page, "expected_version"), "1", "the draft keeps the version it was typed against");
    // The person sends the form as the page now holds it.
    let again = [("csrf", admin.csrf.as_str()), ("expected_version", "1"), ("name", "p"), ("description", "mine")];
    admin.submit(&here, &again).await;
    let (_, now) = team.call("GET", &format!("/api/v1/projects/{project}"), &team.viewer, None).await;
    assert_eq!(now["description"], "their important change", "no one's change is lost");
}

/// A refused form goes back to the page its action belongs to, whatever the Referer says (or if there is
/// none), confirmation steps included.
#[actix_rt::test]
async fn a_refused_form_goes_back_to_its_own_page_without_a_referer() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let zeros = "0".repeat(64);
    let vouched = [("origin", team.app.url.as_str())];
    let form = [("csrf", zeros.as_str()), ("title", "typed here")];
    let answer = admin.submit_with(&format!("/console/projects/{project}/tasks"), &form, &vouched).await;
    assert_eq!(answer.location, format!("/console/projects/{project}"));
    let (_, page) = admin.get(&answer.location).await;
    assert_eq!(value_of(&page, "title"), "typed here");
    let confirm = [("csrf", zeros.as_str()), ("confirmed", "yes"), ("older_than_hours", "5")];
    let elsewhere = [("origin", team.app.url.as_str()), ("referer", "http://127.0.0.1/console/admin/approvals/expire")];
    let answer = admin.submit_with("/console/admin/approvals/expire", &confirm, &elsewhere).await;
    assert_eq!(answer.location, "/console/admin", "the page that offered the action, not the POST-only step");
    let (_, page) = admin.get("/console/admin").await;
    assert_eq!(value_of(&page, "older_than_hours"), "5");

    // A finished run is not offered a cancel confirmation; the search refuses a NUL in a sentence.
    let task = team.task(&project, "quick", Some(vec!["true"])).await;
    let run = team.run_to_end(&task).await;
    let run = run["id"].as_str().unwrap();
    let answer = admin.submit(&format!("/console/runs/{run}/cancel"), &[("csrf", &admin.csrf)]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let (_, page) = admin.get(&format!("/console/runs/{run}")).await;
    assert!(page.contains("already ended: it is success"), "{page}");
    let (status, page) = admin.get("/console/search?q=abc%00def").await;
    assert_eq!(status, 200);
    assert!(page.contains("cannot hold control characters") && !page.contains("unterminated"), "{page}");
}
