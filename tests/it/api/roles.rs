//! Each role against each endpoint family; 401 without a valid token; refusals are audited.

use super::Team;
use serde_json::json;

#[actix_rt::test]
async fn the_role_matrix_holds_for_every_endpoint_family() {
    let team = Team::new().await;
    let missing_approval = "approval-does-not-exist";
    let missing_error = "err-does-not-exist";
    // (family, method, path, body, roles allowed among viewer, agent, approver, admin)
    let families = [
        ("read", "GET", "/api/v1/projects".to_owned(), None, [true, true, true, true]),
        ("read", "GET", "/api/v1/audit".to_owned(), None, [true, true, true, true]),
        ("change", "POST", "/api/v1/projects".to_owned(), Some(json!({ "name": "p" })), [false, true, false, true]),
        ("review", "POST", format!("/api/v1/approvals/{missing_approval}/approve"), None, [false, false, true, true]),
        ("review", "POST", format!("/api/v1/approvals/{missing_approval}/reject"), None, [false, false, true, true]),
        (
            "resolve",
            "POST",
            format!("/api/v1/errors/{missing_error}/resolve"),
            Some(json!({ "resolution": "x" })),
            [false, false, true, true],
        ),
        ("admin", "GET", "/api/v1/admin/tokens".to_owned(), None, [false, false, false, true]),
        (
            "admin",
            "POST",
            "/api/v1/admin/tokens".to_owned(),
            Some(json!({ "name": "n", "role": "viewer" })),
            [false, false, false, true],
        ),
    ];
    let tokens =
        [("viewer", &team.viewer), ("agent", &team.agent), ("approver", &team.approver), ("admin", &team.admin)];
    for (family, method, path, body, allowed) in &families {
        for ((role, token), allowed) in tokens.iter().zip(allowed) {
            let (status, response) = team.call(method, path, token, body.clone()).await;
            if *allowed {
                assert!(status != 401 && status != 403, "{role} may {family} {method} {path}: got {status} {response}");
            } else {
                assert_eq!(status, 403, "{role} may not {family} {method} {path}: {response}");
                assert_eq!(response["error"]["code"], "forbidden");
                assert!(response["error"]["message"].as_str().unwrap().contains(role), "{response}");
            }
        }
    }
    let (_, denied) = team.call("GET", "/api/v1/audit?type=access.denied&actor=viewer", &team.admin, None).await;
    let denied = denied["items"].as_array().unwrap();
    assert_eq!(denied.len(), 6, "every refusal of the viewer is audited: {denied:?}");
    assert_eq!(denied[0]["payload"]["command"]["role"], "viewer");
    let (_, admin) = team.call("GET", "/api/v1/audit?type=access.admin&actor=admin", &team.admin, None).await;
    let mut requests: Vec<String> = admin["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["payload"]["command"]["method"], e["payload"]["command"]["path"]))
        .collect();
    requests.sort();
    assert_eq!(
        requests,
        ["\"GET\" \"/api/v1/admin/tokens\"", "\"POST\" \"/api/v1/admin/tokens\""],
        "each of the admin's requests is audited under its name: {admin}"
    );
}

/// Admin actions that are no writer command (a backup, a sync, a job run now) are recorded under the
/// caller's name, with the path that names what they acted on.
#[actix_rt::test]
async fn an_admin_action_is_recorded_under_the_callers_name() {
    let team = Team::new().await;
    let (status, backup) = team.call("POST", "/api/v1/admin/backups", &team.admin, None).await;
    assert!(status == 200 || status == 201, "{backup}");
    let (status, _) = team.call("POST", "/api/v1/admin/schedules/health_check/run", &team.admin, None).await;
    assert!(status < 500, "{status}");
    let (_, audit) = team.call("GET", "/api/v1/audit?type=access.admin&actor=admin", &team.admin, None).await;
    let text = audit.to_string();
    assert!(
        text.contains("/api/v1/admin/backups") && text.contains("POST"),
        "the backup's requester is named: {audit}"
    );
    assert!(text.contains("/api/v1/admin/schedules/health_check/run"), "the job's requester is named: {audit}");
}

#[actix_rt::test]
async fn requests_without_a_valid_token_get_401_and_probes_need_none() {
    let team = Team::new().await;
    for token in [None, Some("atlas_not-a-real-token"), Some("")] {
        let (status, body) = team.app.call("GET", "/api/v1/projects", token, None).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, _) = team.app.raw("GET", "/api/v1/projects", None, None, None).await;
    assert_eq!(status, 401);
    assert_eq!(team.app.get("/healthz").await.0, 200);
    assert_eq!(team.app.get("/readyz").await.0, 200);

    let (status, _) = team.call("DELETE", "/api/v1/admin/tokens/viewer", &team.admin, None).await;
    assert_eq!(status, 200);
    let (status, body) = team.call("GET", "/api/v1/projects", &team.viewer, None).await;
    assert_eq!(status, 401, "a revoked token stops working at once: {body}");
}
