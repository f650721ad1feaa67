//! Making things from the console: an empty install says what to do next, an admin creates a project
//! and a task with a command and runs it, and an agent's creation waits for approval exactly as over
//! the API; a refused creation comes back to its form as typed.

use super::visitor::sign_in;
use crate::api::Team;

#[actix_rt::test]
async fn an_empty_console_leads_to_a_project_a_task_and_a_run() {
    let team = Team::new().await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    for (page, says) in [
        ("/console/projects", "No projects yet. Create the first one below"),
        ("/console/approvals", "wait in this queue for a reviewer"),
        ("/console/runs", "Open a task with a command"),
        ("/console/errors", "land in this hotlist"),
    ] {
        let (_, body) = admin.get(page).await;
        assert!(body.contains(says), "{page} says what to do next: {body}");
    }
    let made = admin.submit("/console/projects", &[("csrf", &admin.csrf), ("name", "Platform")]).await;
    assert_eq!(made.status, 303);
    let project = made.location.strip_prefix("/console/projects/").expect("to the new project").to_owned();
    let (_, page) = admin.get(&made.location).await;
    assert!(page.contains("Project &#34;Platform&#34; created.") && page.contains("No tasks yet."), "{page}");

    let form = [
        ("csrf", admin.csrf.as_str()),
        ("title", "Say hello"),
        ("priority", "2"),
        ("command", "echo\r\nhello world\r\n"),
    ];
    let made = admin.submit(&format!("/console/projects/{project}/tasks"), &form).await;
    let task = made.location.strip_prefix("/console/tasks/").expect("to the new task").to_owned();
    let (_, api_task) = team.call("GET", &format!("/api/v1/tasks/{task}"), &team.viewer, None).await;
    assert_eq!(api_task["command"], serde_json::json!(["echo", "hello world"]), "one argument per line");
    assert_eq!((api_task["project_id"].as_str(), api_task["priority"].as_i64()), (Some(project.as_str()), Some(2)));
    let run = team.run_to_end(&task).await;
    assert_eq!(run["output"], "hello world\n");
}

#[actix_rt::test]
async fn an_agents_creation_waits_for_approval_and_a_refused_one_keeps_what_was_typed() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let agent = sign_in(&team.app.url, &team.agent).await;
    let form = [("csrf", agent.csrf.as_str()), ("title", "agent's task"), ("command", "true")];
    let made = agent.submit(&format!("/console/projects/{project}/tasks"), &form).await;
    let approval = made.location.strip_prefix("/console/approvals/").expect("to the approval it waits in");
    let (_, waiting) = team.call("GET", &format!("/api/v1/approvals/{approval}"), &team.viewer, None).await;
    assert_eq!((waiting["status"].as_str(), waiting["requested_by"].as_str()), (Some("pending"), Some("agent-bot")));
    let (_, tasks) = team.call("GET", "/api/v1/tasks", &team.viewer, None).await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 0, "nothing made before approval");

    let here = format!("/console/projects/{project}");
    let form = [("csrf", agent.csrf.as_str()), ("title", "   "), ("description", "kept <text>"), ("priority", "1")];
    let refused = agent.submit(&format!("{here}/tasks"), &form).await;
    assert_eq!((refused.status, refused.location.as_str()), (303, here.as_str()));
    let (_, page) = agent.get(&here).await;
    assert!(page.contains("The task was not created: invalid title: must not be empty"), "names the field: {page}");
    assert!(page.contains(">kept &#60;text&#62;</textarea>"), "what was typed is back: {page}");
    let form = [("csrf", agent.csrf.as_str()), ("title", "t"), ("priority", "soon")];
    let refused = agent.submit(&format!("{here}/tasks"), &form).await;
    assert_eq!(refused.location, here);
    let (_, page) = agent.get(&here).await;
    assert!(page.contains("priority: &#34;soon&#34; is not a whole number"), "{page}");
}

/// Triage: the checked errors are resolved together with one resolution, each as its own command; a
/// refusal among them says which and why, and what was typed stays.
#[actix_rt::test]
async fn checked_errors_are_resolved_together() {
    let team = Team::new().await;
    let project = team.project("p").await;
    let task = team.task(&project, "breaks", Some(vec!["false"])).await;
    for _ in 0..3 {
        team.run_to_end(&task).await;
    }
    let conn = crate::support::open_read_only(&team.app.db_path());
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM errors WHERE resolved = 0 ORDER BY occurred_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids.len(), 3);
    let admin = sign_in(&team.app.url, &team.admin).await;
    let (_, page) = admin.get("/console/errors").await;
    assert!(page.contains(&format!("name=\"ids\" value=\"{}\" form=\"resolve-checked\"", ids[0])), "{page}");
    let form = [
        ("csrf", admin.csrf.as_str()),
        ("ids", ids[0].as_str()),
        ("ids", ids[1].as_str()),
        ("resolution", "disk cleaned"),
    ];
    let done = admin.submit("/console/errors/resolve", &form).await;
    assert_eq!(done.location, "/console/errors");
    let open = crate::support::count(&conn, "SELECT count(*) FROM errors WHERE resolved = 0");
    assert_eq!(open, 1, "the two checked, not the third");
    let resolutions = crate::support::count(&conn, "SELECT count(*) FROM errors WHERE resolution = 'disk cleaned'");
    assert_eq!(resolutions, 2);
    // Already resolved and a made-up id: each refused by name, the text kept for another try.
    let form = [
        ("csrf", admin.csrf.as_str()),
        ("ids", ids[0].as_str()),
        ("ids", "err-made-up"),
        ("resolution", "second pass"),
    ];
    admin.submit("/console/errors/resolve", &form).await;
    let (_, page) = admin.get("/console/errors").await;
    assert!(page.contains("0 of 2 errors resolved; not:") && page.contains(ids[0].as_str()), "{page}");
    assert!(page.contains("value=\"second pass\""), "what was typed stays");
    assert_eq!(crate::support::count(&conn, "SELECT count(*) FROM errors WHERE resolved = 0"), 1);
}
