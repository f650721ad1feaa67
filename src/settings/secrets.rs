//! `[secrets]`: where the values a task's environment names are kept (`atlas secret set NAME`), outside
//! the database. systemd's credentials (`LoadCredential=` in the unit, `$CREDENTIALS_DIRECTORY`) are read
//! first.

use super::Settings;
use atlas_actors::secrets::SecretStore;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsSettings {
    /// One file per secret, 0600 in a 0700 directory; "" = `secrets/` beside the database.
    pub dir: PathBuf,
}

impl Settings {
    /// The directory `atlas secret set` writes and runs read (after systemd's credentials).
    pub fn secrets_dir(&self) -> PathBuf {
        match self.secrets.dir.as_os_str().is_empty() {
            false => self.secrets.dir.clone(),
            true => atlas_actors::store::lock::data_dir(&self.database.path).join("secrets"),
        }
    }

    pub fn secret_store(&self) -> SecretStore {
        SecretStore::with_credentials_from_env(self.secrets_dir())
    }
}
