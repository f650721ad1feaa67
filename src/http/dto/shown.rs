//! What a viewer is shown of what was asked to run or change: every text in an approval's or an event's
//! payload, a run's or a task's command and environment that the redaction catalogue matches
//! (`atlas_actors::sheets::sanitize`, the Sheet's) is hidden. Approvers and admins see it whole: they decide
//! on it. The data browser hides the same columns from viewers (`store::browse::guard::PAYLOAD_COLUMNS`).

use super::{ApprovalDto, ApprovalPage, EventDto, EventPage, RunDto, RunPage, TaskDto, TaskPage};
use atlas_actors::domain::Role;
use atlas_actors::sheets::sanitize::redact;
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

/// Every string in `value`, keys included, redacted.
fn redact_json(value: &mut Value) {
    match value {
        Value::String(text) => *text = redact(text),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                redact_json(&mut item);
                map.insert(redact(&key), item);
            }
        }
        _ => {}
    }
}

fn redact_argv(argv: &mut [String]) {
    argv.iter_mut().for_each(|arg| *arg = redact(arg));
}

impl Payload for ApprovalDto {
    fn redact_payload(&mut self) {
        redact_json(&mut self.payload);
    }
}

impl Payload for EventDto {
    fn redact_payload(&mut self) {
        redact_json(&mut self.payload);
    }
}

impl Payload for RunDto {
    fn redact_payload(&mut self) {
        redact_argv(&mut self.command);
        redact_json(&mut self.env);
    }
}

impl Payload for TaskDto {
    fn redact_payload(&mut self) {
        self.command.as_deref_mut().map(redact_argv);
        redact_json(&mut self.env);
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
page_payload!(ApprovalPage, EventPage, RunPage, TaskPage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_sees_payload_text_the_catalogue_matches_hidden_others_see_it_whole() {
        let mut payload = serde_json::json!({ "command": ["sh", "-c", "export PGPASSWORD=hunter2; pg_dump"],
            "nested": { "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": 1 } });
        let original = payload.clone();
        redact_json(&mut payload);
        let shown = payload.to_string();
        assert!(!shown.contains("hunter2") && !shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(shown.contains("pg_dump"), "the rest stays: {shown}");
        assert_ne!(payload, original);
    }
}
