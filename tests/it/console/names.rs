//! Names with ids: every list and page names what it shows (a task's title, a project's name, an
//! approval's target) with the id as a secondary detail; a viewer sees those names redacted like every
//! other title.

use super::visitor::sign_in;
use crate::api::Team;

#[actix_rt::test]
async fn lists_and_pages_name_tasks_and_projects_beside_their_ids() {
    let team = Team::new().await;
    let project = team.project("Platform").await;
    let deploy = team.task(&project, "Deploy the thing", Some(vec!["true"])).await;
    let broken = team.task(&project, "Broken job", Some(vec!["false"])).await;
    for task in [&deploy, &broken] {
        team.run_to_end(task).await;
    }
    let (status, _) = team.call("DELETE", &format!("/api/v1/tasks/{deploy}"), &team.agent, None).await;
    assert_eq!(status, 202, "an agent's delete waits for approval");
    let admin = sign_in(&team.app.url, &team.admin).await;

    let (_, queue) = admin.get("/console/approvals").await;
    assert!(queue.contains("delete task &#34;Deploy the thing&#34;"), "the queue names the target: {queue}");
    let (_, runs) = admin.get("/console/runs").await;
    assert!(runs.contains("Deploy the thing") && runs.contains("Broken job"), "{runs}");
    let (_, errors) = admin.get("/console/errors").await;
    assert!(errors.contains("<bdi>Broken job</bdi>"), "an error names its task: {errors}");
    let (_, task_page) = admin.get(&format!("/console/tasks/{deploy}")).await;
    assert!(task_page.contains("<bdi>Platform</bdi>"), "a task names its project: {task_page}");
    let run = team.finished_run(&deploy).await;
    let (_, run_page) = admin.get(&format!("/console/runs/{}", run["id"].as_str().unwrap())).await;
    assert!(run_page.contains("<h1>Run of <bdi>Deploy the thing</bdi></h1>"), "{run_page}");
    assert!(run_page.contains(run["id"].as_str().unwrap()), "the id is still there to copy");
}

#[actix_rt::test]
async fn a_viewer_sees_names_redacted_like_every_title() {
    let team = Team::new().await;
    let project = team.project("ops").await;
    let task = team.task(&project, "rotate password=hunter2", Some(vec!["false"])).await;
    team.run_to_end(&task).await;
    let viewer = sign_in(&team.app.url, &team.viewer).await;
    for page in ["/console/runs", "/console/errors"] {
        let (_, body) = viewer.get(page).await;
        assert!(body.contains("rotate password="), "{page} names the task: {body}");
        assert!(!body.contains("hunter2"), "{page} shows a viewer the secret in a name: {body}");
    }
}

/// Times read as "3 min ago" with the exact local time on hover and in print; the stored ISO form stays
/// only in the markup (`datetime`), never as the text people read.
#[actix_rt::test]
async fn times_read_relative_with_the_exact_time_on_hover() {
    let team = Team::new().await;
    let project = team.project("Platform").await;
    let task = team.task(&project, "Deploy", Some(vec!["true"])).await;
    let run = team.run_to_end(&task).await;
    let admin = sign_in(&team.app.url, &team.admin).await;
    let stored = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").unwrap();
    // Markup attributes, and the audit's JSON payloads (data as stored, shown exactly), are not prose.
    let attributes = regex::Regex::new(r#"(datetime|href|value)="[^"]*"|<td class="mono payload">[^<]*"#).unwrap();
    for page in [
        "/console/runs".to_owned(),
        format!("/console/runs/{}", run["id"].as_str().unwrap()),
        format!("/console/tasks/{task}"),
        "/console/audit".into(),
    ] {
        let (_, body) = admin.get(&page).await;
        let created = run["created_at"].as_str().unwrap();
        if page.starts_with("/console/runs") {
            let at = body
                .find(&format!("<time datetime=\"{created}\" title=\""))
                .unwrap_or_else(|| panic!("{page}: {body}"));
            assert!(
                body[at..].contains("just now</time><span class=\"print-only\">"),
                "{page}: {}",
                &body[at..at + 200]
            );
        }
        let text = attributes.replace_all(&body, "");
        assert!(
            !stored.is_match(&text),
            "{page} shows a stored timestamp as text: {:?}",
            stored.find(&text).map(|m| &text[m.start().saturating_sub(80)..m.end()])
        );
    }
}
