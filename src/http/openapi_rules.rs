//! What the OpenAPI document says beyond the route table: the answers every route may give (401 without
//! a token, 400 for a bad parameter or body, 404 for a missing record, 503 while busy or restoring, …),
//! and the rules the server checks, as schemas (id patterns, enums, lengths, `confirm: true`), so a
//! request valid by the document is one the server takes and a tool that trusts it (a client generator,
//! schemathesis) is never surprised. The rules are stated once here, next to the constants they come from.

use atlas_actors::domain::command::{
    MAX_ARGV_ITEMS, MAX_ARG_CHARS, MAX_NAME_CHARS, MAX_PRIORITY, MAX_QUERY_CHARS, MAX_TEXT_CHARS,
};
use atlas_actors::domain::{
    access::RESERVED_ACTOR_NAMES, ApprovalStatus, ItemType, ProjectStatus, Role, RunStatus, Severity, TaskStatus,
};
use atlas_actors::store::queries::MAX_PAGE;
use serde_json::{json, Value};

/// A record's id (`task-01j…`): what `typed_id!`'s `parse` accepts.
const ID: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A cursor as `Cursor::encode` makes it: hex of `at \n id`, printable ASCII around the newline.
const CURSOR: &str = "^(?:[2-7][0-9a-f])*0a(?:[2-7][0-9a-f])*$";
/// Text that is not only blanks: one character outside Unicode's White_Space (what `str::trim` removes),
/// spelled out because a schema's `\S` is ECMA-262's, which differs (U+0085 is space to Rust, not to it).
const NOT_BLANK: &str =
    "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const NO_NUL: &str = "^[^\\u0000]*$";
/// The largest whole number a body takes (`3.0` included, so within what a float holds exactly).
const WHOLE: i64 = 9_000_000_000_000;

/// Adds the answers and the rules to the document the route table made.
pub fn refine(doc: &mut Value) {
    // A body whose schema requires no field may be left out (`ApiJson` reads nothing as `{}`).
    let optional: Vec<String> = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, schema)| schema.get("required").and_then(Value::as_array).is_none_or(Vec::is_empty))
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect();
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            answers(path, method, operation, &optional);
            // `get_mut`, not indexing: indexing a missing key would add it (as null).
            let parameters = operation.get_mut("parameters").and_then(Value::as_array_mut);
            for parameter in parameters.into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                if let Some(schema) = parameter_schema(path, &name) {
                    parameter["schema"] = schema;
                }
            }
        }
    }
    let schemas = &mut doc["components"]["schemas"];
    for (body, field, rule) in body_rules() {
        if let Some(properties) = schemas[body]["properties"].as_object_mut() {
            if let Some(Value::Object(schema)) = properties.get_mut(field) {
                let nullable = schema.get("type").and_then(Value::as_array).is_some_and(|t| t.contains(&json!("null")));
                for (key, value) in rule.as_object().into_iter().flatten() {
                    let mut value = value.clone();
                    // An optional field may be null (as absent): an enum of it says so too.
                    if let (true, "enum", Some(values)) = (nullable, key.as_str(), value.as_array_mut()) {
                        values.push(Value::Null);
                    }
                    schema.insert(key.clone(), value);
                }
            }
        }
    }
    // Either a confirmed restore or a drill: `verify_only` needs no confirmation.
    schemas["PointRestoreBody"]["anyOf"] = json!([
        { "required": ["confirm"], "properties": { "confirm": { "enum": [true] } } },
        { "required": ["verify_only"], "properties": { "verify_only": { "enum": [true] } } }
    ]);
}

/// The statuses a route may answer besides its own, each with the error body.
fn answers(path: &str, method: &str, operation: &mut Value, optional_bodies: &[String]) {
    let error = |why: &str| {
        json!({ "description": why, "content": { "application/json": {
        "schema": { "$ref": "#/components/schemas/ErrorBody" } } } })
    };
    let api = path.starts_with("/api/v1");
    let has_input = operation.get("parameters").is_some_and(|p| p.as_array().is_some_and(|p| !p.is_empty()))
        || operation.get("requestBody").is_some();
    let writes = method != "get";
    let mut add = Vec::new();
    if api || path == "/metrics" {
        add.push(("401", "no token, or one that is not valid"));
    }
    if api {
        add.push(("403", "the token's role may not do this"));
        add.push(("503", "busy (retry after Retry-After), restoring, or the database cannot be read"));
    }
    if has_input || writes {
        add.push(("400", "a parameter or the body is malformed; the message names it"));
    }
    // A record the path names, or one the body refers to (a new task's project).
    if path.contains('{') || (method == "post" && path == "/api/v1/tasks") {
        add.push(("404", "no such record"));
    }
    if api && writes {
        add.push(("409", "the record changed, or the change cannot apply as things stand"));
        add.push(("507", "the disk is full; nothing was written"));
    }
    if operation.get("requestBody").is_some() {
        add.push(("408", "the body did not arrive in time"));
        add.push(("413", "the body is larger than http.max_body_bytes"));
        add.push(("415", "the body is not application/json"));
    }
    if let Some(body) = operation.get_mut("requestBody") {
        let schema = body["content"]["application/json"]["schema"]["$ref"].as_str().unwrap_or_default();
        body["required"] = json!(!optional_bodies.iter().any(|optional| optional == schema));
    }
    let Some(responses) = operation["responses"].as_object_mut() else { return };
    for (status, why) in add {
        responses.entry(status).or_insert_with(|| error(why));
    }
}

/// Atlas's own actor names, in any case (`is_reserved_actor`): `^(?:[Aa][Tt][Ll][Aa][Ss]|…)$`.
fn reserved_names() -> String {
    any_case(RESERVED_ACTOR_NAMES)
}

/// A pattern matching exactly these names, in any case (the server compares them so).
fn any_case(names: &[&str]) -> String {
    let letters = |name: &str| -> String {
        name.chars()
            .map(|c| match c.is_ascii_alphabetic() {
                true => format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()),
                false if c.is_ascii_alphanumeric() || c == '_' => c.to_string(),
                false => format!("\\{c}"),
            })
            .collect()
    };
    format!("^(?:{})$", names.iter().map(|name| letters(name)).collect::<Vec<_>>().join("|"))
}

fn one_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

/// A path or query parameter's schema, by its name (and, for `status`, the resource it filters).
fn parameter_schema(path: &str, name: &str) -> Option<Value> {
    let schema = match name {
        // What `backup::file::load` takes: no path, no control character, at most 200 bytes.
        "id" if path.starts_with("/api/v1/admin/backups") => {
            json!({ "type": "string", "pattern": "^[A-Za-z0-9_.-]{1,200}$", "not": { "pattern": "\\.\\." } })
        }
        "id" | "project_id" | "task_id" => json!({ "type": "string", "pattern": ID }),
        "limit" => json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE }),
        // The trail's cursor holds an event number only.
        "cursor" if path == "/api/v1/audit" => json!({ "type": "string", "pattern": "^0a(?:3[0-9]){1,18}$" }),
        "cursor" => json!({ "type": "string", "pattern": CURSOR }),
        // A sink's name, as `[[sinks]] name` allows it.
        "name" if path.starts_with("/api/v1/admin/sinks") => {
            json!({ "type": "string", "pattern": "^[a-z0-9_-]{1,64}$" })
        }
        "name" => json!({ "type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$" }),
        "sort" if path == "/api/v1/errors" => one_of(&["newest", "severity"]),
        "job" | "table" => json!({ "type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$" }),
        "delivery_id" => json!({ "type": "string", "pattern": "^[0-9A-Fa-f]{1,64}$" }),
        "resolved" => json!({ "type": "boolean" }),
        "severity" => one_of(Severity::ALL),
        "type" if path == "/api/v1/approvals" => one_of(ItemType::ALL),
        "status" if path == "/api/v1/approvals" => one_of(&[ApprovalStatus::ALL, &["all"]].concat()),
        "status" if path == "/api/v1/runs" => one_of(&[RunStatus::ALL, &["all"]].concat()),
        "status" if path == "/api/v1/projects" => one_of(ProjectStatus::ALL),
        "status" if path == "/api/v1/tasks" => one_of(TaskStatus::ALL),
        // Free text, compared as given (empty included).
        "assignee" | "actor" | "aggregate_type" | "aggregate_id" | "type" => json!({ "type": "string" }),
        _ => return None,
    };
    Some(schema)
}

/// The rules `Command::validate` (and the handlers) hold a body's fields to.
fn body_rules() -> Vec<(&'static str, &'static str, Value)> {
    let name = json!({ "minLength": 1, "maxLength": MAX_NAME_CHARS, "pattern": NOT_BLANK });
    let text = json!({ "maxLength": MAX_TEXT_CHARS });
    let required_text = json!({ "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": NOT_BLANK });
    let argv = json!({
        "minItems": 1, "maxItems": MAX_ARGV_ITEMS,
        "prefixItems": [{ "type": "string", "pattern": NOT_BLANK }],
        "items": { "type": "string", "maxLength": MAX_ARG_CHARS, "pattern": NO_NUL },
    });
    let cwd = json!({ "minLength": 1, "maxLength": MAX_ARG_CHARS, "pattern": NO_NUL });
    let timeout = json!({ "minimum": 1, "maximum": atlas_actors::domain::command::MAX_TIMEOUT_S });
    let env = json!({
        "maxProperties": atlas_actors::domain::env::MAX_ENV_VARS,
        "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,127}$",
                           "not": { "pattern": any_case(atlas_actors::domain::env::FORBIDDEN) } },
        "additionalProperties": { "anyOf": [
            { "type": "string", "maxLength": 4096, "pattern": NO_NUL },
            { "type": "object", "required": ["secret"], "additionalProperties": false, "properties": {
                "secret": { "type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$" } } }
        ] },
    });
    let version = json!({ "minimum": 1, "maximum": WHOLE });
    let mut rules = vec![
        ("AlertmanagerBody", "version", json!({ "enum": ["4"] })),
        ("AlertmanagerAlert", "status", json!({ "enum": ["firing", "resolved"] })),
        // What `ReceiveAlert` takes: at most 128 characters, none a control character (Rust's `is_control`).
        (
            "AlertmanagerAlert",
            "fingerprint",
            json!({ "maxLength": 128, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$" }),
        ),
        ("CreateProjectBody", "name", name.clone()),
        ("CreateProjectBody", "description", text.clone()),
        ("PatchProjectBody", "name", name.clone()),
        ("PatchProjectBody", "description", text.clone()),
        ("PatchProjectBody", "status", json!({ "enum": ProjectStatus::ALL })),
        ("PatchProjectBody", "expected_version", version.clone()),
        ("CreateTaskBody", "project_id", json!({ "pattern": ID })),
        ("PatchTaskBody", "expected_version", version),
        ("ReviewBody", "notes", text.clone()),
        ("ResolveBody", "resolution", required_text),
        ("ResolveBody", "notes", text.clone()),
        ("BrowseSqlBody", "sql", json!({ "minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": NOT_BLANK })),
        ("CreateTokenBody", "role", json!({ "enum": Role::ALL })),
        ("RestoreBody", "confirm", json!({ "enum": [true] })),
        ("PointRestoreBody", "to", json!({ "anyOf": [{ "enum": ["latest"] }, { "format": "date-time" }] })),
    ];
    let token_name = json!({ "pattern": "^[A-Za-z0-9._@-]{1,64}$", "not": { "pattern": reserved_names() } });
    rules.push(("CreateTokenBody", "name", token_name));
    for body in ["CreateTaskBody", "PatchTaskBody"] {
        rules.push((body, "title", name.clone()));
        rules.push((body, "description", text.clone()));
        rules.push((body, "status", json!({ "enum": TaskStatus::ALL })));
        rules.push((body, "assignee", name.clone()));
        rules.push((body, "command", argv.clone()));
        rules.push((body, "cwd", cwd.clone()));
        rules.push((body, "timeout_s", timeout.clone()));
        rules.push((body, "priority", json!({ "minimum": -MAX_PRIORITY, "maximum": MAX_PRIORITY })));
        rules.push((body, "env", env.clone()));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_blank_is_what_trim_leaves_something_of() {
        let pattern = regex::Regex::new(NOT_BLANK).unwrap();
        for c in (0..=0x3100u32).chain([0xfeff, 0x180e, 0x200b]).filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(pattern.is_match(&text), !text.trim().is_empty(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn names_the_server_compares_in_any_case_are_refused_in_any_case() {
        let forbidden = regex::Regex::new(&any_case(atlas_actors::domain::env::FORBIDDEN)).unwrap();
        for name in ["LD_PRELOAD", "ld_preload", "Ld_Audit", "atlas_run"] {
            assert!(forbidden.is_match(name), "{name}");
        }
        assert!(!forbidden.is_match("LD_PRELOADED") && !forbidden.is_match("PGHOST"));
        let reserved = regex::Regex::new(&reserved_names()).unwrap();
        assert!(reserved.is_match("ATLAS") && reserved.is_match("Sheets") && !reserved.is_match("alice"));
    }
}
