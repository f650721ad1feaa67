//! What a viewer is shown of free text, where a pasted credential would be: every text in payloads,
//! summaries, commands, environments, output, error texts, notes, titles and descriptions that the
//! redaction catalogue matches (`atlas_actors::sheets::sanitize`, the Sheet's) is hidden, and a JSON
//! value whose key makes it a secret (`{"DB_PASSWORD": "…"}`) too. Agents, approvers and admins see it
//! whole: they act on it. The data browser hides such columns from viewers
//! (`store::browse::guard::PAYLOAD_COLUMNS`).

use super::{
    ApprovalDto, ApprovalPage, ErrorDto, ErrorPage, EventDto, EventPage, NoteDto, ProjectDto, ProjectPage, RunDto,
    RunPage, TaskDto, TaskPage,
};
use atlas_actors::domain::Role;
use atlas_actors::sheets::sanitize::{redact, REDACTED};
use serde_json::Value;

/// A record whose payload text a viewer sees redacted.
pub trait Payload {
    fn redact_payload(&mut self);

    /// `self` as `role` may see it.
    fn shown_to(mut self, role: Role) -> Self
    where
        Self: Sized,
    {
        if role == Role::Viewer {
            self.redact_payload();
        }
        self
    }
}

/// Every string in `value`, keys included, redacted; a string whose key names a secret
/// (`"DB_PASSWORD": "hunter2"` reads as `DB_PASSWORD=hunter2` to the catalogue) hidden whole.
fn redact_json(value: &mut Value) {
    match value {
        Value::String(text) => *text = redact(text),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                match &item {
                    // A secret by name (`{"secret": "pg"}`) is a reference, no value: shown as it is.
                    Value::String(_) if key == "secret" => {}
                    Value::String(text) if redact(&format!("{key}={text}")) != format!("{key}={text}") => {
                        item = Value::String(REDACTED.to_owned());
                    }
                    _ => redact_json(&mut item),
                }
                map.insert(redact(&key), item);
            }
        }
        _ => {}
    }
}

fn redact_all(texts: &mut [String]) {
    texts.iter_mut().for_each(|text| *text = redact(text));
}

fn redact_some(text: &mut Option<String>) {
    if let Some(text) = text {
        *text = redact(text);
    }
}

fn redact_notes(notes: &mut [NoteDto]) {
    notes.iter_mut().for_each(|note| note.body = redact(&note.body));
}

impl Payload for ApprovalDto {
    fn redact_payload(&mut self) {
        redact_json(&mut self.payload);
        self.summary = redact(&self.summary);
        // A hash of the payload lets whoever can guess a secret in it check the guess offline.
        self.payload_hash = REDACTED.to_owned();
        redact_notes(&mut self.notes);
    }
}

impl Payload for EventDto {
    fn redact_payload(&mut self) {
        redact_json(&mut self.payload);
    }
}

impl Payload for RunDto {
    fn redact_payload(&mut self) {
        redact_all(&mut self.command);
        redact_json(&mut self.env);
        redact_some(&mut self.output);
        redact_some(&mut self.error_log);
        redact_notes(&mut self.notes);
    }
}

impl Payload for TaskDto {
    fn redact_payload(&mut self) {
        self.title = redact(&self.title);
        redact_some(&mut self.description);
        self.command.as_deref_mut().map(redact_all);
        redact_json(&mut self.env);
    }
}

impl Payload for ErrorDto {
    fn redact_payload(&mut self) {
        self.error = redact(&self.error);
        redact_some(&mut self.resolution);
        redact_notes(&mut self.notes);
    }
}

impl Payload for ProjectDto {
    fn redact_payload(&mut self) {
        self.name = redact(&self.name);
        redact_some(&mut self.description);
    }
}

/// A live output stream as a viewer sees it: complete lines only, redacted together; a private key's
/// block (the catalogue's one pattern spanning lines) is held from its `-----BEGIN` until its `-----END`
/// or the stream's end, so no line of it goes out alone.
#[derive(Default)]
pub struct LiveRedactor {
    pending: String,
}

impl LiveRedactor {
    /// What of `text` (after what was held) may go out now.
    pub fn push(&mut self, text: &str) -> String {
        self.pending.push_str(text);
        let Some(last_line_end) = self.pending.rfind('\n') else { return String::new() };
        let complete = &self.pending[..=last_line_end];
        let open_block = complete.rfind("-----BEGIN").filter(|at| !complete[*at..].contains("-----END"));
        let upto = open_block.unwrap_or(last_line_end + 1);
        let out = redact(&self.pending[..upto]);
        self.pending.drain(..upto);
        out
    }

    /// The rest, at the stream's end.
    pub fn finish(&mut self) -> String {
        redact(&std::mem::take(&mut self.pending))
    }
}

macro_rules! page_payload {
    ($($page:ty),*) => {$(
        impl Payload for $page {
            fn redact_payload(&mut self) {
                self.items.iter_mut().for_each(Payload::redact_payload);
            }
        }
    )*};
}
page_payload!(ApprovalPage, EventPage, RunPage, TaskPage, ErrorPage, ProjectPage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_s_live_stream_goes_out_in_whole_lines_and_whole_key_blocks() {
        let mut live = LiveRedactor::default();
        assert_eq!(live.push("export PGPASS"), "", "half a line waits");
        let line = live.push("WORD=hunter2 done\nnext ");
        assert!(line.ends_with("done\n") && !line.contains("hunter2"), "{line}");
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n";
        assert_eq!(live.push(key), "next ", "the line before goes, the key's block waits");
        let rest = live.push("zzzz\n-----END RSA PRIVATE KEY-----\nafter\n");
        assert!(!rest.contains("MIIEowIBAAKCAQEA") && rest.ends_with("after\n"), "{rest}");
        assert_eq!(live.push("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r\n"), "");
        assert!(!live.finish().contains("b3BlbnNzaC1r"), "a block never closed is redacted to the end");
    }

    #[test]
    fn a_viewer_sees_payload_text_the_catalogue_matches_hidden_others_see_it_whole() {
        let mut payload = serde_json::json!({ "command": ["sh", "-c", "export PGPASSWORD=hunter2; pg_dump"],
            "nested": { "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": 1 },
            "env": { "DB_PASSWORD": "hunter2", "PGHOST": "db1", "PGPASSWORD": { "secret": "pg" } } });
        let original = payload.clone();
        redact_json(&mut payload);
        let shown = payload.to_string();
        assert!(!shown.contains("hunter2") && !shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(shown.contains("pg_dump") && shown.contains("db1"), "the rest stays: {shown}");
        assert!(shown.contains(r#"{"secret":"pg"}"#), "a secret's name is no secret: {shown}");
        assert_ne!(payload, original);
    }
}
