//! `GET /api/v1/openapi.json`: the document generated from the route table.

use super::auth::{Auth, Read};
use super::dto::ErrorBody;
use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("an Atlas API token")).build(),
            ),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Atlas", description = "Projects, tasks, approvals, runs and the errors hotlist, with a human approval gate."),
    modifiers(&BearerToken)
)]
struct ApiDoc;

/// The document's fixed part; paths are added from the route table.
pub fn base() -> OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// Gives every operation an id of its own, from its method and path (`get_projects_by_id`): handler names
/// repeat across modules (`list`, `restore`), and tools need ids to be unique.
pub fn name_operations(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let words: Vec<String> = path
            .trim_start_matches("/api/v1")
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(parameter) => format!("by_{parameter}"),
                None => segment.replace(['-', '.'], "_"),
            })
            .collect();
        let operations = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                operation.operation_id = Some(format!("{method}_{}", words.join("_")));
            }
        }
    }
}

/// This document.
#[utoipa::path(tag = "meta", responses((status = 200, description = "OpenAPI 3 document"), (status = 401, body = ErrorBody)))]
#[get("/openapi.json")]
pub async fn document(doc: web::Data<serde_json::Value>, _auth: Auth<Read>) -> HttpResponse {
    HttpResponse::Ok().json(doc.get_ref())
}
