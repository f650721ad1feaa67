//! Promotion: this database becomes the bucket's owner (`owner.rs`), whoever owned it before, and a
//! backup of it goes up at once so that `latest` has a snapshot of its chain to start from.

use super::error::BackupError;
use super::owner::{self, Claim};
use super::{BackupAnswer, Work};
use serde::Serialize;

/// What a promotion did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Promotion {
    pub owner: Claim,
    /// The owner it took over from (`None`: nobody owned the bucket, or this database already did).
    pub previous_owner: Option<Claim>,
    /// The backup uploaded to start its chain, or why none could be.
    pub snapshot: Result<String, String>,
}

impl Work {
    pub(super) async fn promote(&self) -> Result<BackupAnswer, BackupError> {
        let offsite = self.offsite()?.clone();
        let standing = owner::live_standing(&self.readers).await?;
        let (claim, before) = offsite.promote(&standing, "atlas promote").await?;
        let previous_owner = before.filter(|before| before.timeline != claim.timeline);
        let detail = match &previous_owner {
            Some(previous) => format!("timeline {} took the bucket over from {}", claim.timeline, previous.describe()),
            None => format!("timeline {} owns the bucket", claim.timeline),
        };
        self.audit("bucket", "promoted", true, &detail).await;
        let snapshot = match self.chain_snapshot(&standing.timeline).await {
            Ok(made) => match made.upload_error {
                None => Ok(made.id),
                Some(why) => Err(format!("backup {} was made but not uploaded: {why}", made.id)),
            },
            Err(why) => Err(why.into()),
        };
        Ok(BackupAnswer::Promoted(Box::new(Promotion { owner: claim, previous_owner, snapshot })))
    }
}

impl Work {
    /// Uploads the newest local backup of `timeline` at the current schema that is not off-site yet (the
    /// one a restore just made to start its chain), or makes a new one.
    async fn chain_snapshot(&self, timeline: &str) -> Result<super::file::Manifest, BackupError> {
        let timeline = timeline.to_owned();
        let waiting = self
            .blocking(move |config| {
                let current = crate::store::migrate::latest_version();
                Ok(super::file::list(&config.dir)?.into_iter().find(|m| {
                    m.uploaded_at.is_none()
                        && m.verified_ok != Some(false)
                        && m.pitr.as_ref().is_some_and(|b| b.timeline == timeline && b.schema_version == current)
                }))
            })
            .await?;
        match waiting {
            Some(manifest) => self.upload(&manifest.id).await,
            None => self.create().await,
        }
    }
}
