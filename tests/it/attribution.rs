//! Every admin action is on record under who asked, in the database that results (issue 25): the API's
//! and the console's callers by token name, scheduled work as `scheduler`, the CLI as `cli:<Unix user>`.

use crate::api::Team;
use atlas_actors::domain::Role;
use serde_json::Value;

/// The actors of the audit events of `kind`, newest first.
async fn actors(team: &Team, kind: &str) -> Vec<String> {
    let (status, audit) = team.call("GET", &format!("/api/v1/audit?type={kind}"), &team.admin, None).await;
    assert_eq!(status, 200, "{audit}");
    let items = audit["items"].as_array().cloned().unwrap_or_default();
    items.iter().map(|e| e["actor"].as_str().unwrap_or_default().to_owned()).collect()
}

#[actix_rt::test]
async fn backups_and_jobs_asked_for_are_recorded_under_the_caller() {
    let team = Team::new().await;
    let operator = team.app.token("ops-bob", Role::Admin).await;
    let (status, backup) = team.call("POST", "/api/v1/admin/backups", &operator, None).await;
    assert_eq!(status, 201, "{backup}");
    let id = backup["id"].as_str().unwrap();
    let (status, verified) = team.call("POST", &format!("/api/v1/admin/backups/{id}/verify"), &operator, None).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(actors(&team, "backup.created").await, ["ops-bob"]);
    assert_eq!(actors(&team, "backup.verified").await, ["ops-bob"]);

    // A job run now: its record and what the job itself records are the caller's.
    let (status, job) = team.call("POST", "/api/v1/admin/schedules/backup/run", &operator, None).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(actors(&team, "backup.created").await, ["ops-bob", "ops-bob"]);
    let (_, ran) = team.call("GET", "/api/v1/audit?type=schedule.job_ran", &team.admin, None).await;
    let ran: Vec<(Value, Value)> = ran["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].clone(), e["payload"]["command"]["job"].clone()))
        .collect();
    assert_eq!(ran, [(Value::from("ops-bob"), Value::from("backup"))]);
    // The same job on its schedule is Atlas's own.
    let report = team.app.handles.scheduler.run_now("backup", atlas_actors::domain::Actor::new("scheduler")).await;
    assert!(report.is_ok_and(|r| r.ok));
    assert_eq!(actors(&team, "backup.created").await, ["scheduler", "ops-bob", "ops-bob"]);
}

#[test]
fn the_cli_acts_as_cli_and_its_unix_user() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atlas"))
        .current_dir(dir.path())
        .args(["backup", "create"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let conn = crate::support::open_read_only(&dir.path().join("data/atlas.db"));
    let actor: String =
        conn.query_row("SELECT actor FROM events WHERE type = 'backup.created'", [], |r| r.get(0)).unwrap();
    let user = std::process::Command::new("id").arg("-un").output().unwrap();
    assert_eq!(actor, format!("cli:{}", String::from_utf8_lossy(&user.stdout).trim()));
}
