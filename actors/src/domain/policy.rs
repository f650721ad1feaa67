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

    /// Each rule as (type, action, role), `*` for any: what the writer's own gate holds (`store/gate.rs`).
    pub fn patterns(&self) -> impl Iterator<Item = (String, String, String)> + '_ {
        let any = |text: Option<String>| text.unwrap_or_else(|| "*".into());
        self.rules.iter().map(move |rule| {
            (
                any(rule.item_type.map(|t| t.to_string())),
                any(rule.action.map(|a| a.to_string())),
                any(rule.role.map(|r| r.to_string())),
            )
        })
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

/// `[approvals] quorum`: the rules (the policy's `type:action` patterns) whose changes need more than one
/// distinct reviewer; unlisted ones need one. When several match, the largest number holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quorum {
    rules: Vec<(Option<ItemType>, Option<ItemAction>, u32)>,
}

/// A quorum larger than this is refused (one approval per reviewer column a sheet can hold, and sense).
pub const MAX_QUORUM: u32 = 10;

impl Quorum {
    /// Parses `"deployment:execute" = 2`-style entries, naming the first bad one.
    pub fn parse<'a>(entries: impl IntoIterator<Item = (&'a String, &'a u32)>) -> Result<Self, String> {
        let mut rules = Vec::new();
        for (pattern, &required) in entries {
            let (item_type, action) = pattern
                .trim()
                .split_once(':')
                .filter(|_| !pattern.contains('@'))
                .ok_or_else(|| format!("{pattern:?} must look like type:action (no role)"))?;
            if !(1..=MAX_QUORUM).contains(&required) {
                return Err(format!("{pattern:?}: between 1 and {MAX_QUORUM} reviewers, got {required}"));
            }
            let item_type = part(item_type).map_err(|e| format!("{pattern:?}: type {e}"))?;
            let action = part(action).map_err(|e| format!("{pattern:?}: action {e}"))?;
            rules.push((item_type, action, required));
        }
        Ok(Self { rules })
    }

    /// The rules as (type, action, reviewers), `*` for any.
    pub fn rules(&self) -> impl Iterator<Item = (String, String, u32)> + '_ {
        let any = |text: Option<String>| text.unwrap_or_else(|| "*".into());
        self.rules.iter().map(move |(t, a, n)| (any(t.map(|t| t.to_string())), any(a.map(|a| a.to_string())), *n))
    }

    /// Distinct approving reviewers a change of `item_type` by `action` needs.
    pub fn required(&self, item_type: ItemType, action: ItemAction) -> u32 {
        self.rules
            .iter()
            .filter(|(t, a, _)| t.is_none_or(|t| t == item_type) && a.is_none_or(|a| a == action))
            .map(|(_, _, n)| *n)
            .max()
            .unwrap_or(1)
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
    fn a_quorum_takes_the_largest_matching_rule_and_unlisted_ones_need_one() {
        let entries: std::collections::BTreeMap<String, u32> =
            [("deployment:execute".to_owned(), 2), ("*:delete".to_owned(), 3), ("*:*".to_owned(), 1)].into();
        let quorum = Quorum::parse(&entries).unwrap();
        assert_eq!(quorum.required(Deployment, Execute), 2);
        assert_eq!(quorum.required(Deployment, Delete), 3);
        assert_eq!(quorum.required(Task, Execute), 1);
        let bad: std::collections::BTreeMap<String, u32> = [("task:execute@agent".to_owned(), 2)].into();
        assert!(Quorum::parse(&bad).unwrap_err().contains("no role"));
        let bad: std::collections::BTreeMap<String, u32> = [("task:execute".to_owned(), 0)].into();
        assert!(Quorum::parse(&bad).unwrap_err().contains("between 1 and 10"));
    }

    #[test]
    fn an_empty_policy_gates_nothing() {
        let policy = ApprovalPolicy::parse::<&str>(&[]).unwrap();
        assert!(!policy.requires_approval(Task, Execute, Role::Agent));
    }
}
