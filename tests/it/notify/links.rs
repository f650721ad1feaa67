//! Approval links: each reviewer who may decide gets an e-mail with links of their own; opening one shows
//! a page to confirm on (nothing decided), and its POST is that reviewer's decision, `via: "link"`.
//! Every way a link must not work is tried: used, expired, changed, for another approval or decision,
//! for a revoked token or a role that may not review, for a decided approval, the requester's own (never
//! sent, refused if forged), and a POST from another site.

use super::{told, Told, PUBLIC};
use crate::console::browser::Browser;
use crate::console::visitor::{client, sign_in};
use atlas_actors::domain::command::Decision;
use atlas_actors::domain::token_hash;
use atlas_actors::notify::links::{Claim, LinkKey};
use serde_json::Value;
use std::time::Duration;

/// A link signed with this Atlas's own key (what only someone holding `data/link.key` could make).
fn forged(told: &Told, approval: &str, reviewer: &str, token: &str, decision: Decision, expires: i64) -> String {
    let key = LinkKey::of_data_dir(&told.team.app.dir.path().join("data")).unwrap();
    format!("/console/link/{}", Claim::new(approval, reviewer, &token_hash(token), decision, expires).sign(&key))
}

fn in_a_day() -> i64 {
    chrono::Utc::now().timestamp() + 86_400
}

/// A plain POST of the link's form, with extra headers; the status and the page.
async fn post(told: &Told, path: &str, notes: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = client().post(format!("{}{path}", told.team.app.url)).form(&[("notes", notes)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(told: &Told, path: &str) -> (u16, String) {
    let response = client().get(format!("{}{path}", told.team.app.url)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn events(told: &Told, approval: &str) -> Vec<Value> {
    let path = format!("/api/v1/audit?aggregate_type=approval&aggregate_id={approval}");
    told.team.call("GET", &path, &told.team.admin, None).await.1["items"].as_array().unwrap().clone()
}

#[actix_rt::test]
async fn a_reviewer_decides_from_the_link_in_their_mail_in_chromium() {
    let told = told(|_| {}).await;
    let id = told.request_run(&["echo", "deployed"]).await;
    let mail = told.mail("alice@example.com", &id).await;
    assert!(mail.starts_with(&format!("[Atlas] Approval {id} waits for your decision")), "{mail}");
    assert!(mail.contains("requested by agent-bot") && mail.contains("These links are for alice only"), "{mail}");
    told.mail("bob@example.com", &id).await;
    told.mail("admin@example.com", &id).await;
    assert!(told.mails_to("viewer@example.com").is_empty(), "a viewer may not decide: no links");
    let approve = told.path_of(&mail, "Approve");
    assert!(approve.starts_with("/console/link/"), "{approve}");
    assert_eq!(told.path_of(&mail, "Open in Atlas"), format!("/console/approvals/{id}"));

    let browser = Browser::start().await;
    browser.goto(&format!("{}{approve}", told.team.app.url)).await;
    let heading = browser.text("h1").await;
    assert!(heading.starts_with("Approve: run task"), "{heading}");
    assert!(browser.text("#as-reviewer").await.contains("as alice"));
    assert!(browser.text("#payload").await.contains("deployed"), "the change itself is shown");
    assert_eq!(told.approval(&id).await["status"], "pending", "opening the link decided nothing");
    browser.fill("#notes", "ship it").await;
    browser.click("#decide").await;
    let outcome = browser.wait_text("#outcome", "approved", Duration::from_secs(10)).await;
    assert_eq!(outcome, format!("Approval {id} is approved, by alice."));
    browser.close().await;

    let approval = told.approval(&id).await;
    assert_eq!((approval["status"].as_str(), approval["reviewed_by"].as_str()), (Some("approved"), Some("alice")));
    assert_eq!(approval["notes"][0]["body"], "ship it");
    let approved = events(&told, &id).await.into_iter().find(|e| e["type"] == "approval.approved").expect("an event");
    assert_eq!(
        (approved["actor"].as_str(), approved["payload"]["command"]["via"].as_str()),
        (Some("alice"), Some("link"))
    );
    // The link itself is in no event: it would let anyone who reads the audit decide.
    let (_, audit) = told.team.call("GET", "/api/v1/audit?limit=200", &told.team.admin, None).await;
    let secret = approve.trim_start_matches("/console/link/");
    assert!(!audit.to_string().contains(secret), "the link is in the audit trail");
}

#[actix_rt::test]
async fn a_link_works_once_for_its_reviewer_decision_and_approval_only() {
    let told = told(|_| {}).await;
    let first = told.request_run(&["true"]).await;
    let second = told.request_run(&["true"]).await;
    let alice_first = told.mail("alice@example.com", &first).await;
    let alice_second = told.mail("alice@example.com", &second).await;
    let approve = told.path_of(&alice_first, "Approve");
    let reject = told.path_of(&alice_first, "Reject");

    // Opening never decides, however often (a mail scanner follows every link).
    for _ in 0..3 {
        let (status, page) = get(&told, &approve).await;
        assert_eq!(status, 200, "{page}");
        let (status, page) = get(&told, &reject).await;
        assert_eq!(status, 200, "{reject} {alice_first} {page}");
    }
    assert_eq!(told.approval(&first).await["status"], "pending");

    // A POST another site made is refused before anything is looked at.
    let (status, page) = post(&told, &approve, "", &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, 403, "{page}");
    let (status, _) = post(&told, &approve, "", &[("origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
    assert_eq!(told.approval(&first).await["status"], "pending");

    // Changed links: another decision's claim under this signature, another approval's, one character.
    let claim = |path: &str| path.trim_start_matches("/console/link/").split_once('.').unwrap().0.to_owned();
    let signature = |path: &str| path.trim_start_matches("/console/link/").split_once('.').unwrap().1.to_owned();
    let other_approval = told.path_of(&alice_second, "Approve");
    for tampered in [
        format!("/console/link/{}.{}", claim(&approve), signature(&reject)),
        format!("/console/link/{}.{}", claim(&other_approval), signature(&approve)),
        format!("{}x", &approve[..approve.len() - 1]),
    ] {
        let (status, page) = get(&told, &tampered).await;
        assert_eq!(status, 403, "{tampered}: {page}");
        assert!(page.contains("this link is not valid"), "{page}");
        assert_eq!(post(&told, &tampered, "", &[]).await.0, 403);
    }
    let foreign_key = LinkKey::from_bytes([9; 32]);
    let foreign =
        Claim::new(&first, "alice", &token_hash(&told.team.approver), Decision::Approve, in_a_day()).sign(&foreign_key);
    assert_eq!(post(&told, &format!("/console/link/{foreign}"), "", &[]).await.0, 403, "another Atlas's key");
    assert_eq!(told.approval(&first).await["status"], "pending");

    // Expired: signed right, but its time is over.
    let expired =
        forged(&told, &first, "bob", &told.team.approver2, Decision::Approve, chrono::Utc::now().timestamp() - 1);
    let (status, page) = post(&told, &expired, "", &[]).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("this link expired"), "{page}");

    // A role that may not review, even with a well-signed link: refused and audited like over HTTP.
    let viewer = forged(&told, &first, "viewer", &told.team.viewer, Decision::Approve, in_a_day());
    let (status, page) = post(&told, &viewer, "", &[]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("has role viewer, which may not approve or reject"), "{page}");
    let (_, denied) = told.team.call("GET", "/api/v1/audit?type=access.denied", &told.team.admin, None).await;
    assert!(denied.to_string().contains(&format!("/console/link (approval {first})")), "{denied}");

    // Used: alice approves; the same link again, and her reject link, are dead.
    let (status, page) = post(&told, &approve, "fine", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(told.approval(&first).await["status"], "approved");
    for used in [&approve, &reject] {
        let (status, page) = post(&told, used, "", &[]).await;
        assert_eq!(status, 410, "{page}");
        assert!(page.contains("is already approved; this link no longer works"), "{page}");
    }
    // bob's links for the decided approval are dead too.
    let bob_first = told.mail("bob@example.com", &first).await;
    let (status, _) = get(&told, &told.path_of(&bob_first, "Reject")).await;
    assert_eq!(status, 410);
    let approved: Vec<Value> =
        events(&told, &first).await.into_iter().filter(|e| e["type"] == "approval.approved").collect();
    assert_eq!(approved.len(), 1, "decided once");

    // A revoked reviewer's link dies with the token.
    let bob_second = told.mail("bob@example.com", &second).await;
    let (status, _) = told.team.call("DELETE", "/api/v1/admin/tokens/bob", &told.team.admin, None).await;
    assert_eq!(status, 200);
    let (status, page) = post(&told, &told.path_of(&bob_second, "Approve"), "", &[]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("the token of bob was revoked"), "{page}");
    assert_eq!(told.approval(&second).await["status"], "pending");
}

#[actix_rt::test]
async fn the_requester_never_gets_a_link_and_a_forged_one_is_refused_by_the_writer() {
    let told = told(|_| {}).await;
    let team = &told.team;
    // The admin asks for a change that needs approval: the admin is a reviewer, but not of this one.
    let project = team.project("ops").await;
    let task = team.task(&project, "Deploy", Some(vec!["true"])).await;
    let (status, approval) = team.call("POST", &format!("/api/v1/tasks/{task}/run"), &team.admin, None).await;
    assert_eq!(status, 202, "{approval}");
    let id = approval["id"].as_str().unwrap().to_owned();
    told.mail("alice@example.com", &id).await;
    told.mail("bob@example.com", &id).await;
    assert!(told.mails_to("admin@example.com").iter().all(|m| !m.contains(&id)), "the requester got links");

    let own = forged(&told, &id, "admin", &team.admin, Decision::Approve, in_a_day());
    let (status, page) = post(&told, &own, "", &[]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("requested approval") && page.contains("cannot approve it"), "{page}");
    assert_eq!(told.approval(&id).await["status"], "pending");
}

#[actix_rt::test]
async fn with_require_sign_in_the_page_asks_for_the_reviewer_s_own_sign_in() {
    let told = told(|settings| settings.links.require_sign_in = true).await;
    let id = told.request_run(&["true"]).await;
    let mail = told.mail("alice@example.com", &id).await;
    let reject = told.path_of(&mail, "Reject");

    let response = client().get(format!("{}{reject}", told.team.app.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/console/login?next=%2Fconsole%2Flink%2F"), "{location}");
    assert_eq!(post(&told, &reject, "", &[]).await.0, 303, "no decision without a sign-in");

    let bob = sign_in(&told.team.app.url, &told.team.approver2).await;
    let (status, page) = bob.get(&reject).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("this link is for alice, and you are signed in as bob"), "{page}");

    let alice = sign_in(&told.team.app.url, &told.team.approver).await;
    let (status, page) = alice.get(&reject).await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = alice.post(&reject, &[("notes", "not now")], &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("Approval {id} is rejected, by alice.")), "{page}");
    assert_eq!(told.approval(&id).await["reviewed_by"], "alice");
    assert!(!PUBLIC.is_empty());
}

/// Under a quorum a reviewer's approval leaves the approval pending: their links are used up all the
/// same (both of them), while the next reviewer's still work.
#[actix_rt::test]
async fn under_a_quorum_a_reviewer_s_links_are_spent_by_their_first_decision() {
    let told = told(|settings| settings.approvals.quorum = [("task:execute".to_owned(), 2)].into()).await;
    let id = told.request_run(&["true"]).await;
    let alice = told.mail("alice@example.com", &id).await;
    let (status, page) = post(&told, &told.path_of(&alice, "Approve"), "", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("Your approval of {id} is recorded (1 of 2)")), "{page}");
    let partial = events(&told, &id).await.into_iter().find(|e| e["type"] == "approval.review_recorded").unwrap();
    assert_eq!(partial["payload"]["command"]["via"], "link", "the same shape as a closing review's: {partial}");
    for label in ["Approve", "Reject"] {
        let (status, page) = post(&told, &told.path_of(&alice, label), "", &[]).await;
        assert_eq!(status, 410, "{label}: {page}");
        assert!(page.contains("alice already approved") && page.contains("this link was used"), "{page}");
    }
    assert_eq!(told.approval(&id).await["status"], "pending");
    let bob = told.mail("bob@example.com", &id).await;
    let (status, page) = post(&told, &told.path_of(&bob, "Approve"), "", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(told.approval(&id).await["status"], "approved");
}
