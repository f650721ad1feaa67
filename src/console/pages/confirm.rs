//! A confirmation step for what cannot be undone (revoking a token, expiring approvals, cancelling a
//! run): the first post answers a page saying what will happen, whose one button posts the same form
//! again with `confirmed=yes`. No script needed.

use super::super::guard::{Chrome, Signed};
use super::super::render::page;
use super::super::ConsoleError;
use crate::http::auth::Need;
use actix_web::HttpResponse;
use askama::Template;

/// A form's confirmation field (`confirmed=yes` once the person confirmed).
#[derive(serde::Deserialize)]
pub struct Confirmed {
    #[serde(default)]
    pub confirmed: String,
}

impl Confirmed {
    pub fn yes(&self) -> bool {
        self.confirmed == "yes"
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct Confirmation {
    chrome: Chrome,
    title: String,
    sentence: String,
    action: String,
    fields: Vec<(String, String)>,
    button: String,
    back: String,
}

/// The question, before anything happens.
pub struct Ask<'a> {
    pub title: String,
    pub sentence: String,
    /// Where the confirmed form posts (the same action), with the fields it carries again.
    pub action: String,
    pub fields: Vec<(&'a str, String)>,
    pub button: &'a str,
    /// Where "No" leads.
    pub back: &'a str,
}

pub fn ask<N: Need>(signed: &Signed<N>, question: Ask<'_>) -> Result<HttpResponse, ConsoleError> {
    let fields = question.fields.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
    page(&Confirmation {
        chrome: signed.chrome(),
        title: question.title,
        sentence: question.sentence,
        action: question.action,
        fields,
        button: question.button.to_owned(),
        back: question.back.to_owned(),
    })
}
