//! Projects, tasks, errors and the audit over HTTP: CRUD, filters, paging and field-naming errors.

use super::Team;
use atlas_actors::domain::command::NewHotlistError;
use atlas_actors::domain::{Actor, Command, ErrorId, Severity};
use serde_json::json;
use std::collections::HashSet;

#[actix_rt::test]
async fn projects_and_tasks_have_crud_filters_and_stable_paging() {
    let team = Team::new().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(team.project(&format!("p{i}")).await);
    }
    let mut seen = HashSet::new();
    let mut path = "/api/v1/projects?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = team.call("GET", &path, &team.viewer, None).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            assert!(seen.insert(item["id"].as_str().unwrap().to_owned()), "no project appears twice");
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/projects?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 7));
    let (_, newest) = team.call("GET", "/api/v1/projects?limit=1", &team.viewer, None).await;
    assert_eq!(newest["items"][0]["id"], ids[6], "newest first");

    let (status, patched) = team
        .call("PATCH", &format!("/api/v1/projects/{}", ids[0]), &team.agent, Some(json!({ "status": "archived" })))
        .await;
    assert_eq!((status, patched["status"].as_str(), patched["version"].as_i64()), (200, Some("archived"), Some(2)));
    let (_, archived) = team.call("GET", "/api/v1/projects?status=archived", &team.viewer, None).await;
    assert_eq!(archived["items"].as_array().unwrap().len(), 1);
    let (status, body) = team
        .call(
            "PATCH",
            &format!("/api/v1/projects/{}", ids[0]),
            &team.admin,
            Some(json!({ "name": "x", "expected_version": 1 })),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let task = team.task(&ids[1], "Backup check", Some(vec!["true"])).await;
    team.call(
        "PATCH",
        &format!("/api/v1/tasks/{task}"),
        &team.admin,
        Some(json!({ "status": "blocked", "assignee": "ops" })),
    )
    .await;
    for (query, expected) in
        [("status=blocked", 1), ("status=todo", 0), ("assignee=ops", 1), (&format!("project_id={}", ids[1])[..], 1)]
    {
        let (_, page) = team.call("GET", &format!("/api/v1/tasks?{query}"), &team.viewer, None).await;
        assert_eq!(page["items"].as_array().unwrap().len(), expected, "{query}: {page}");
    }
    let (status, body) = team.call("DELETE", &format!("/api/v1/projects/{}", ids[1]), &team.admin, None).await;
    assert_eq!(status, 409, "a project with tasks cannot even be requested for deletion: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("still has 1 task"), "{body}");
}

#[actix_rt::test]
async fn bad_input_is_a_400_naming_the_field() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let cases = [
        (json!({ "project_id": project, "title": "" }), "title"),
        (json!({ "project_id": project, "title": "x", "priority": "high" }), "priority"),
        (json!({ "project_id": project, "title": "x", "status": "finished" }), "status"),
        (json!({ "project_id": project, "title": "x", "colour": "red" }), "colour"),
        (json!({ "project_id": "../etc", "title": "x" }), "project_id"),
        (json!({ "title": "x" }), "project_id"),
        (json!({ "project_id": project, "title": "x".repeat(201) }), "title"),
        (json!({ "project_id": project, "title": "x", "command": "rm -rf /" }), "command"),
        (json!({ "project_id": project, "title": "x", "command": [] }), "command"),
        (json!({ "project_id": project, "title": "x", "timeout_s": -1 }), "timeout_s"),
    ];
    for (body, field) in cases {
        let (status, response) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {response}");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "the message for {body} names {field}: {message}");
    }
    // A well-formed reference to a project that is not there: not found, naming the field.
    let body = json!({ "project_id": "project-nope", "title": "x" });
    let (status, response) = team.call("POST", "/api/v1/tasks", &team.admin, Some(body)).await;
    assert_eq!(status, 404, "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("project_id"), "{response}");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("status=done-ish", "status"),
        ("cursor=zz", "cursor"),
        ("sort=asc", "sort"),
    ] {
        let (status, response) = team.call("GET", &format!("/api/v1/tasks?{query}"), &team.viewer, None).await;
        assert_eq!(status, 400, "{query}: {response}");
        assert!(response["error"]["message"].as_str().unwrap().contains(field), "{query}: {response}");
    }
    let (status, response) = team.call("GET", "/api/v1/tasks/not%20an%20id", &team.viewer, None).await;
    assert_eq!(status, 400, "{response}");
    let (status, response) = team.call("GET", "/api/v1/tasks/task-unknown", &team.viewer, None).await;
    assert_eq!((status, response["error"]["code"].as_str()), (404, Some("not_found")));
}

#[actix_rt::test]
async fn errors_are_resolved_once_and_filtered() {
    let team = Team::new().await;
    for severity in [Severity::High, Severity::Critical] {
        let new = NewHotlistError {
            id: ErrorId::generate(),
            task_id: None,
            error: "disk full".into(),
            severity,
            source: "health".into(),
        };
        team.app.handles.writer.submit(Command::RecordError(new), Actor::system()).await.unwrap();
    }
    let (_, critical) = team.call("GET", "/api/v1/errors?severity=critical&resolved=false", &team.viewer, None).await;
    let id = critical["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(critical["items"].as_array().unwrap().len(), 1);

    let path = format!("/api/v1/errors/{id}/resolve");
    let (status, body) = team.call("POST", &path, &team.approver, Some(json!({ "resolution": "  " }))).await;
    assert_eq!(status, 400, "{body}");
    let (status, resolved) = team
        .call("POST", &path, &team.approver, Some(json!({ "resolution": "freed space", "notes": "rotated logs" })))
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!((resolved["resolved"].as_bool(), resolved["resolved_by"].as_str()), (Some(true), Some("alice")));
    assert_eq!(resolved["notes"][0]["body"], "rotated logs");
    let (status, body) = team.call("POST", &path, &team.approver2, Some(json!({ "resolution": "again" }))).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"].as_str().unwrap().contains("already resolved (by alice"), "{body}");
    let (_, open) = team.call("GET", "/api/v1/errors?resolved=false", &team.viewer, None).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    let (_, audit) = team.call("GET", "/api/v1/audit?actor=alice&type=error.resolved", &team.viewer, None).await;
    assert_eq!(audit["items"][0]["aggregate_id"], id);
}

/// `sort=severity`: critical first, newest first within a severity, and the pages (a cursor through
/// the ranks) neither skip nor repeat an entry.
#[actix_rt::test]
async fn errors_sorted_by_severity_page_through_every_entry_in_rank_order() {
    let team = Team::new().await;
    let severities = [Severity::Low, Severity::Critical, Severity::Medium, Severity::High, Severity::Critical];
    for (i, severity) in severities.into_iter().cycle().take(13).enumerate() {
        let new = NewHotlistError {
            id: ErrorId::generate(),
            task_id: None,
            error: format!("problem {i}"),
            severity,
            source: "health".into(),
        };
        team.app.handles.writer.submit(Command::RecordError(new), Actor::system()).await.unwrap();
    }
    let (mut seen, mut cursor) = (Vec::new(), String::new());
    loop {
        let path = format!("/api/v1/errors?sort=severity&limit=2&resolved=false{cursor}");
        let (status, page) = team.call("GET", &path, &team.viewer, None).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            let text = |k: &str| item[k].as_str().unwrap().to_owned();
            seen.push((text("severity"), text("occurred_at"), text("id")));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let rank = |s: &str| ["low", "medium", "high", "critical"].iter().position(|r| *r == s).unwrap();
    let mut expected = seen.clone();
    expected.sort_by(|a, b| rank(&b.0).cmp(&rank(&a.0)).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
    expected.dedup();
    assert_eq!(expected.len(), 13, "every entry once: {seen:?}");
    assert_eq!(seen, expected);
    let (status, body) = team.call("GET", "/api/v1/errors?sort=worst", &team.viewer, None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("sort:"), "{body}");
}

/// A backup whose manifest does not parse is refused for good (409), not "unavailable" (503, which says
/// retry); an audit cursor that holds no event number is refused (400), not read as the first page.
#[actix_rt::test]
async fn an_unusable_manifest_and_a_foreign_audit_cursor_are_refused_not_retried_or_ignored() {
    let team = Team::new().await;
    let (status, made) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    std::fs::write(team.app.dir.path().join(format!("backups/{id}.manifest.json")), "{not json").unwrap();
    let (status, body) = team.call("POST", &format!("/api/v1/admin/backups/{id}/verify"), &team.admin, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");

    for cursor in ["0a3078", "0a", "0a3939393939393939393939393939393939393939", "410a31"] {
        let (status, body) = team.call("GET", &format!("/api/v1/audit?cursor={cursor}"), &team.viewer, None).await;
        assert_eq!(status, 400, "{cursor}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("cursor"), "{body}");
    }
    let (_, first) = team.call("GET", "/api/v1/audit?limit=1", &team.viewer, None).await;
    let next = first["next_cursor"].as_str().expect("more than one event");
    let (status, _) = team.call("GET", &format!("/api/v1/audit?limit=1&cursor={next}"), &team.viewer, None).await;
    assert_eq!(status, 200, "a cursor the trail gave is taken");
}
