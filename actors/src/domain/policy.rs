//! Which changes wait for a human. Rules read `type:action` or `type:action@role`, with `*` for any type
//! or action: `*:delete`, `config:*`, `task:create@agent`.

use super::access::Role;
use super::approval::{ItemAction, ItemType};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    item_type: Option<ItemType>,
    action: Option<ItemAction>,
    role: Option<Role>,
}

/// The approval gate's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalPolicy {
    rules: Vec<Rule>,
}

/// The default rules: every execute, every delete, everything on config and deployment, and task
/// creation and updates requested by an agent.
pub const DEFAULT_RULES: &[&str] =
    &["*:execute", "*:delete", "config:*", "deployment:*", "task:create@agent", "task:update@agent"];

fn part<T: std::str::FromStr<Err = String>>(raw: &str) -> Result<Option<T>, String> {
    if raw == "*" {
        Ok(None)
    } else {
        raw.parse().map(Some)
    }
}

impl ApprovalPolicy {
    /// Parses rules, naming the first bad one.
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<Self, String> {
        let parsed = rules
            .iter()
            .map(|raw| {
                let raw = raw.as_ref().trim();
                let (pair, role) = match raw.split_once('@') {
                    Some((pair, role)) => {
                        (pair, Some(role.parse::<Role>().map_err(|e| format!("rule {raw:?}: role {e}"))?))
                    }
                    None => (raw, None),
                };
                let (item_type, action) = pair
                    .split_once(':')
                    .ok_or_else(|| format!("rule {raw:?} must look like type:action or type:action@role"))?;
                Ok(Rule {
                    item_type: part(item_type).map_err(|e| format!("rule {raw:?}: type {e}"))?,
                    action: part(action).map_err(|e| format!("rule {raw:?}: action {e}"))?,
                    role,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { rules: parsed })
    }

    pub fn default_policy() -> Self {
        Self::parse(DEFAULT_RULES).expect("the default rules parse")
    }

    /// Whether `role` asking to `action` an `item_type` must wait for a human.
    pub fn requires_approval(&self, item_type: ItemType, action: ItemAction, role: Role) -> bool {
        self.rules.iter().any(|rule| {
            rule.item_type.is_none_or(|t| t == item_type)
                && rule.action.is_none_or(|a| a == action)
                && rule.role.is_none_or(|r| r == role)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemAction::*;
    use ItemType::*;

    #[test]
    fn the_default_policy_gates_what_the_brief_lists() {
        let policy = ApprovalPolicy::default_policy();
        assert!(policy.requires_approval(Task, Execute, Role::Admin));
        assert!(policy.requires_approval(Project, Delete, Role::Admin));
        assert!(policy.requires_approval(Config, Update, Role::Admin));
        assert!(policy.requires_approval(Deployment, Create, Role::Admin));
        assert!(policy.requires_approval(Task, Create, Role::Agent));
        assert!(policy.requires_approval(Task, Update, Role::Agent));
        assert!(!policy.requires_approval(Task, Create, Role::Admin), "an admin creates tasks directly");
        assert!(!policy.requires_approval(Project, Create, Role::Agent));
        assert!(!policy.requires_approval(Project, Update, Role::Agent));
    }

    #[test]
    fn bad_rules_are_named() {
        let err = ApprovalPolicy::parse(&["task:create", "tusk:*"]).unwrap_err();
        assert!(err.contains("tusk:*") && err.contains("type"), "{err}");
        let err = ApprovalPolicy::parse(&["task-create"]).unwrap_err();
        assert!(err.contains("type:action"), "{err}");
        let err = ApprovalPolicy::parse(&["task:create@robot"]).unwrap_err();
        assert!(err.contains("role"), "{err}");
    }

    #[test]
    fn an_empty_policy_gates_nothing() {
        let policy = ApprovalPolicy::parse::<&str>(&[]).unwrap();
        assert!(!policy.requires_approval(Task, Execute, Role::Agent));
    }
}
