//! Approvals: a requested change waiting for a human. The status is a small state machine whose
//! transitions check their source state, so "approve twice" or "approve a rejected one" cannot happen.

use super::ids::ApprovalId;
use serde::Serialize;
use std::fmt;

string_enum!(
    /// What kind of thing a change is about.
    ItemType { Task => "task", Project => "project", Config => "config", Deployment => "deployment" }
);

string_enum!(
    /// What a change does to it.
    ItemAction { Create => "create", Update => "update", Delete => "delete", Execute => "execute" }
);

string_enum!(
    /// Where an approval stands. Only `pending` can move, and only once. `superseded`: its payload or
    /// target changed since the request, so it can never apply.
    ApprovalStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Expired => "expired",
        Superseded => "superseded",
    }
);

/// A refused status change, naming the current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionError {
    pub from: ApprovalStatus,
    pub to: ApprovalStatus,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the approval is already {}; only a pending approval can become {}", self.from, self.to)
    }
}

impl ApprovalStatus {
    fn leave_pending(self, to: Self) -> Result<Self, TransitionError> {
        match self {
            Self::Pending => Ok(to),
            from => Err(TransitionError { from, to }),
        }
    }

    pub fn approve(self) -> Result<Self, TransitionError> {
        self.leave_pending(Self::Approved)
    }

    pub fn reject(self) -> Result<Self, TransitionError> {
        self.leave_pending(Self::Rejected)
    }

    pub fn expire(self) -> Result<Self, TransitionError> {
        self.leave_pending(Self::Expired)
    }

    pub fn supersede(self) -> Result<Self, TransitionError> {
        self.leave_pending(Self::Superseded)
    }

    pub fn is_decided(self) -> bool {
        self != Self::Pending
    }
}

/// One note added by a human or by Atlas; notes are only ever appended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Note {
    pub author: String,
    pub body: String,
    pub created_at: String,
}

/// A requested change and its review.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    pub id: ApprovalId,
    pub item_type: ItemType,
    pub item_id: String,
    pub action: ItemAction,
    /// A one-line description of the change (the sheet's Item column).
    pub summary: String,
    /// The command that approving applies, exactly as requested.
    pub payload: serde_json::Value,
    /// SHA-256 of the stored payload text: approving refuses a payload that no longer matches.
    pub payload_hash: String,
    /// The target's version when the change was requested (none for creations).
    pub target_version: Option<i64>,
    pub status: ApprovalStatus,
    pub requested_at: String,
    pub requested_by: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    /// Why a superseded approval can never apply.
    pub closed_reason: Option<String>,
    pub notes: Vec<Note>,
    /// Distinct approving reviews the change needs (`[approvals] quorum`; 1 unless a rule says more).
    pub required_reviews: u32,
    /// Who approved so far, in order (the last of a quorum is also `reviewed_by`).
    pub approved_by: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fsm_pending_moves_once() {
        assert_eq!(ApprovalStatus::Pending.approve(), Ok(ApprovalStatus::Approved));
        assert_eq!(ApprovalStatus::Pending.reject(), Ok(ApprovalStatus::Rejected));
        assert_eq!(ApprovalStatus::Pending.expire(), Ok(ApprovalStatus::Expired));
    }

    #[test]
    fn test_fsm_decided_approvals_never_move() {
        for decided in [ApprovalStatus::Approved, ApprovalStatus::Rejected, ApprovalStatus::Expired] {
            assert!(decided.approve().is_err());
            assert!(decided.reject().is_err());
            assert!(decided.expire().is_err());
            assert!(decided.is_decided());
        }
        let err = ApprovalStatus::Rejected.approve().unwrap_err();
        assert_eq!(err.to_string(), "the approval is already rejected; only a pending approval can become approved");
    }
}
