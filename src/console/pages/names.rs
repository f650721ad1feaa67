//! The names shown beside ids on a page (task titles, project names), read for all its rows at once and
//! shown to a viewer redacted, as every title is (`http::dto::shown`).

use crate::http::gate::read;
use crate::http::{ApiError, AppState};
use atlas_actors::domain::Role;
use atlas_actors::sheets::sanitize::redact;
use atlas_actors::store::queries::names;
use std::collections::HashMap;

/// Names by id; an id with no name reads as empty (the page then shows the id alone).
pub struct Names(HashMap<String, String>);

impl Names {
    pub fn of(&self, id: &str) -> &str {
        self.0.get(id).map(String::as_str).unwrap_or("")
    }

    fn shown_to(mut self, role: Role) -> Self {
        if role == Role::Viewer {
            self.0.values_mut().for_each(|name| *name = redact(name));
        }
        self
    }
}

pub async fn task_titles(state: &AppState, ids: Vec<String>, role: Role) -> Result<Names, ApiError> {
    Ok(Names(read(state, move |conn| names::task_titles(conn, &ids)).await?).shown_to(role))
}

pub async fn project_names(state: &AppState, ids: Vec<String>, role: Role) -> Result<Names, ApiError> {
    Ok(Names(read(state, move |conn| names::project_names(conn, &ids)).await?).shown_to(role))
}
