//! A browser view as a file: CSV (RFC 4180, formula-looking cells defused) or JSON, of a table's view or
//! an SQL answer. At most `browser.max_rows` rows; when more match, `X-Atlas-Truncated: true` (and, for a
//! table, a `Link` to the next page).

use super::ConsoleError;
use actix_web::HttpResponse;
use atlas_actors::store::browse::{RowsPage, SqlAnswer};

/// One CSV field: quoted when it holds a separator, a quote or a line break. A cell a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`, so opening an export never
/// executes what someone typed into a task title.
fn csv_field(value: &serde_json::Value) -> String {
    let mut text = match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if matches!(value, serde_json::Value::String(_)) && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub fn csv(columns: &[String], rows: &[Vec<serde_json::Value>]) -> String {
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|c| csv_field(&serde_json::Value::String(c.clone()))).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.iter().map(csv_field).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The export of one view; `view` is its query (filters and sort), kept in the next page's link.
pub fn respond(
    table: &str,
    format: &str,
    rows: &RowsPage,
    view: &[(String, String)],
    max_rows: usize,
) -> Result<HttpResponse, ConsoleError> {
    let json = serde_json::json!({ "columns": rows.columns, "rows": rows.rows, "next_cursor": rows.next_cursor });
    let (mut response, safe_name) = file(table, format)?;
    if let Some(cursor) = &rows.next_cursor {
        let mut pairs: Vec<(&str, &str)> =
            view.iter().filter(|(k, _)| k != "cursor").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.extend([("format", format), ("cursor", cursor.as_str())]);
        let next = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        response.insert_header(("x-atlas-truncated", "true"));
        response.insert_header(("link", format!("</console/browse/tables/{safe_name}?{next}>; rel=\"next\"")));
        tracing::debug!(table = %safe_name, max_rows, "Export cut at the row cap.");
    }
    Ok(response.body(body(format, &rows.columns, &rows.rows, &json)))
}

/// An SQL answer as a file named `query`.
pub fn respond_answer(format: &str, answer: &SqlAnswer) -> Result<HttpResponse, ConsoleError> {
    let json = serde_json::to_value(answer).unwrap_or_default();
    let (mut response, _) = file("query", format)?;
    if answer.truncated {
        response.insert_header(("x-atlas-truncated", "true"));
    }
    Ok(response.body(body(format, &answer.columns, &answer.rows, &json)))
}

/// The file itself: CSV of the rows, or the JSON given.
fn body(format: &str, columns: &[String], rows: &[Vec<serde_json::Value>], json: &serde_json::Value) -> String {
    match format {
        "csv" => csv(columns, rows),
        _ => json.to_string(),
    }
}

/// The response's head for a file of `format` (refused unless csv or json), and the name it was given.
fn file(name: &str, format: &str) -> Result<(actix_web::HttpResponseBuilder, String), ConsoleError> {
    let (kind, extension) = match format {
        "csv" => ("text/csv; charset=utf-8", "csv"),
        "json" => ("application/json", "json"),
        other => return Err(ConsoleError::Bad(format!("format: {other:?} is neither csv nor json"))),
    };
    let safe_name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let mut response = HttpResponse::Ok();
    response
        .content_type(kind)
        .insert_header(("content-disposition", format!("attachment; filename=\"{safe_name}.{extension}\"")));
    Ok((response, safe_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quotes_separators_and_defuses_formulas() {
        let rows = RowsPage {
            columns: vec!["rowid".into(), "title".into()],
            rows: vec![
                vec![json!(1), json!("plain")],
                vec![json!(2), json!("a, \"quoted\"\nline")],
                vec![json!(3), json!("=HYPERLINK(\"http://evil\")")],
                vec![json!(-4), json!(null)],
            ],
            next_cursor: None,
            prev_cursor: None,
        };
        assert_eq!(
            csv(&rows.columns, &rows.rows),
            "rowid,title\r\n1,plain\r\n2,\"a, \"\"quoted\"\"\nline\"\r\n3,\"'=HYPERLINK(\"\"http://evil\"\")\"\r\n-4,\r\n"
        );
    }
}
