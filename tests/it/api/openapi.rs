//! The OpenAPI document lists every route, and every route it lists is served.

use super::Team;
use std::collections::BTreeSet;

/// Every (method, path) Atlas serves.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/projects"),
    ("post", "/api/v1/projects"),
    ("get", "/api/v1/projects/{id}"),
    ("patch", "/api/v1/projects/{id}"),
    ("delete", "/api/v1/projects/{id}"),
    ("get", "/api/v1/tasks"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("patch", "/api/v1/tasks/{id}"),
    ("delete", "/api/v1/tasks/{id}"),
    ("post", "/api/v1/tasks/{id}/run"),
    ("get", "/api/v1/approvals"),
    ("get", "/api/v1/approvals/{id}"),
    ("post", "/api/v1/approvals/{id}/approve"),
    ("post", "/api/v1/approvals/{id}/reject"),
    ("get", "/api/v1/runs"),
    ("get", "/api/v1/runs/{id}"),
    ("post", "/api/v1/runs/{id}/cancel"),
    ("get", "/api/v1/runs/{id}/log"),
    ("get", "/api/v1/errors"),
    ("get", "/api/v1/errors/{id}"),
    ("post", "/api/v1/errors/{id}/resolve"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/admin/tokens"),
    ("post", "/api/v1/admin/tokens"),
    ("delete", "/api/v1/admin/tokens/{name}"),
    ("get", "/api/v1/admin/schedules"),
    ("post", "/api/v1/admin/schedules/{job}/run"),
    ("get", "/api/v1/admin/sync"),
    ("post", "/api/v1/admin/sync"),
    ("get", "/api/v1/admin/backups"),
    ("post", "/api/v1/admin/backups"),
    ("post", "/api/v1/admin/backups/{id}/verify"),
    ("post", "/api/v1/admin/backups/{id}/restore"),
    ("get", "/api/v1/admin/backups/remote"),
    ("get", "/api/v1/admin/health"),
    ("post", "/api/v1/browse/sql"),
    ("get", "/api/v1/browse/tables"),
    ("get", "/api/v1/browse/tables/{table}"),
    ("get", "/api/v1/browse/tables/{table}/summary"),
    ("get", "/metrics"),
    ("post", "/api/v1/admin/backups/{id}/upload"),
    ("post", "/api/v1/admin/backups/remote/{id}/restore"),
    ("get", "/api/v1/admin/db/health"),
    ("get", "/api/v1/admin/db/stats"),
    ("post", "/api/v1/admin/db/vacuum"),
    ("post", "/api/v1/admin/db/checkpoint"),
    ("get", "/api/v1/admin/pitr"),
    ("post", "/api/v1/admin/restore"),
    ("get", "/api/v1/admin/sinks"),
    ("post", "/api/v1/admin/sinks/deliveries/{delivery_id}/retry"),
    ("post", "/api/v1/admin/sinks/{name}/enable"),
    ("post", "/api/v1/hooks/alertmanager"),
];

/// (method, path) pairs in a document.
pub fn operations(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in
            item.as_object().unwrap().keys().filter(|k| ["get", "post", "patch", "delete", "put"].contains(&k.as_str()))
        {
            found.insert((method.clone(), path.clone()));
        }
    }
    found
}

/// Tools (client generators, `openapi-spec-validator`) need every operation's id to be its own.
#[test]
fn every_operation_has_an_id_of_its_own() {
    let doc = serde_json::to_value(atlas::http::openapi_document()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            let Some(id) = operation["operationId"].as_str() else { continue };
            if let Some(first) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id:?} is used by {first} and by {method} {path}");
            }
        }
    }
    assert!(seen.len() >= ROUTES.len() - 3, "operations carry ids: {seen:?}");
}

#[actix_rt::test]
async fn the_document_lists_every_route_and_only_served_ones() {
    let team = Team::new().await;
    let (status, _) = team.app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 401, "the document needs a token too");
    let (status, doc) = team.call("GET", "/api/v1/openapi.json", &team.viewer, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "an OpenAPI 3 document");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(operations(&doc), expected);
    assert_eq!(
        doc,
        serde_json::to_value(atlas::http::openapi_document()).unwrap(),
        "served = built from the route table"
    );

    for (method, path) in operations(&doc) {
        let concrete = path.replace("{id}", "x-1").replace("{name}", "nobody").replace("{job}", "nothing");
        let (_, body) = team.call(&method.to_uppercase(), &concrete, &team.admin, None).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.starts_with("no route for"), "{method} {path} is documented but not served");
    }
}
