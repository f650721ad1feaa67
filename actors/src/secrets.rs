//! Secrets by name: values kept outside the database, read when a run starts. Two places, in this order:
//! systemd's credentials (`$CREDENTIALS_DIRECTORY`, filled by `LoadCredential=` or
//! `LoadCredentialEncrypted=` in the unit), then `secrets.dir` (one file per name, written by
//! `atlas secret set NAME` with mode 0600 in a 0700 directory; a file others may read is refused). The
//! database, the events, the Sheet and the console only ever hold names; the runner hands values to a
//! process's environment and masks every exact occurrence of any secret in what it captures
//! (`runner/mask.rs`).

use crate::domain::env::validate_secret_name;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A value shorter than this would mask ordinary words in every run's output.
pub const MIN_VALUE_CHARS: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretStore {
    dir: PathBuf,
    credentials: Option<PathBuf>,
}

impl SecretStore {
    /// `dir` for `atlas secret set`; `credentials` is systemd's `$CREDENTIALS_DIRECTORY`, when set.
    pub fn new(dir: PathBuf, credentials: Option<PathBuf>) -> Self {
        Self { dir, credentials }
    }

    /// With systemd's credentials directory from the environment.
    pub fn with_credentials_from_env(dir: PathBuf) -> Self {
        Self::new(dir, std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The value of secret `name`, or a sentence saying why there is none.
    pub fn get(&self, name: &str) -> Result<String, String> {
        validate_secret_name(name)?;
        if let Some(credentials) = &self.credentials {
            match std::fs::read(credentials.join(name)) {
                Ok(bytes) => return value_of(name, bytes),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(format!("cannot read credential {name}: {err}")),
            }
        }
        let path = self.dir.join(name);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("secret {name} is not set (atlas secret set {name}, value on stdin)"))
            }
            Err(err) => return Err(format!("cannot read secret {name}: {err}")),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "secret {name} is not used: {} may be read by others (mode {:o}); chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            ));
        }
        value_of(name, std::fs::read(&path).map_err(|err| format!("cannot read secret {name}: {err}"))?)
    }

    /// What to mask in every run's output: the bytes of every file in both places (a symlink's target
    /// too), usable or not: a file refused for its mode or its content is still readable by a run, so it
    /// is masked all the same. An error when a place cannot be listed or a file cannot be read: a run
    /// does not start without knowing what to mask.
    pub fn mask_values(&self) -> Result<Vec<Vec<u8>>, String> {
        let mut values = Vec::new();
        for path in self.files()? {
            let bytes = std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            values.push(without_final_newline(bytes));
        }
        Ok(values)
    }

    /// Every file in the credentials directory and `dir` (following symlinks), by path.
    fn files(&self) -> Result<Vec<PathBuf>, String> {
        let mut files = Vec::new();
        for dir in self.credentials.iter().chain(std::iter::once(&self.dir)) {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(format!("cannot list {}: {err}", dir.display())),
            };
            for entry in entries {
                let path = entry.map_err(|err| format!("cannot list {}: {err}", dir.display()))?.path();
                if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                    files.push(path);
                }
            }
        }
        Ok(files)
    }

    /// The names of the secrets set, in order (credentials and the directory together).
    pub fn names(&self) -> Result<Vec<String>, String> {
        let mut names: Vec<String> = self
            .files()?
            .iter()
            .filter_map(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|name| validate_secret_name(name).is_ok())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Stores `value` as secret `name` (replacing it whole: a run reads the old or the new value, never
    /// a mix); the directory is made 0700, the file 0600 before a byte is written.
    pub fn set(&self, name: &str, value: &str) -> Result<(), String> {
        validate_secret_name(name)?;
        value_of(name, value.as_bytes().to_vec())?;
        std::fs::create_dir_all(&self.dir).map_err(|err| format!("cannot create {}: {err}", self.dir.display()))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|err| format!("cannot restrict {}: {err}", self.dir.display()))?;
        let staged = self.dir.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&staged);
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&staged)?;
            std::io::Write::write_all(&mut file, value.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&staged, self.dir.join(name))?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|err| {
            let _ = std::fs::remove_file(&staged);
            format!("cannot store secret {name}: {err}")
        })
    }

    /// Removes secret `name` from the directory; false when it was not there.
    pub fn remove(&self, name: &str) -> Result<bool, String> {
        validate_secret_name(name)?;
        match std::fs::remove_file(self.dir.join(name)) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(format!("cannot remove secret {name}: {err}")),
        }
    }
}

/// A file's bytes without the one line ending `echo` (or an editor) adds.
fn without_final_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    bytes
}

/// A stored value as the process gets it: UTF-8, one trailing newline dropped, no NUL.
fn value_of(name: &str, bytes: Vec<u8>) -> Result<String, String> {
    let value =
        String::from_utf8(without_final_newline(bytes)).map_err(|_| format!("secret {name} is not UTF-8 text"))?;
    if value.contains('\0') {
        return Err(format!("secret {name} holds a NUL byte, which no environment variable can"));
    }
    if value.chars().count() < MIN_VALUE_CHARS {
        return Err(format!(
            "secret {name} is shorter than {MIN_VALUE_CHARS} characters: masking it would hide ordinary text"
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_list_remove_and_credentials_first() {
        let dir = tempfile::tempdir().unwrap();
        let creds = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("secrets"), Some(creds.path().to_owned()));
        assert!(store.get("pg").unwrap_err().contains("atlas secret set pg"));
        store.set("pg", "hunter22\n").unwrap();
        assert_eq!(store.get("pg").unwrap(), "hunter22");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir.path().join("secrets")), mode(&dir.path().join("secrets/pg"))), (0o700, 0o600));
        std::fs::write(creds.path().join("pg"), "from-systemd").unwrap();
        std::fs::write(creds.path().join("api"), "token-from-systemd").unwrap();
        assert_eq!(store.get("pg").unwrap(), "from-systemd", "systemd's credential wins");
        assert_eq!(store.names().unwrap(), ["api", "pg"]);
        assert_eq!(store.mask_values().unwrap().len(), 3, "both values of pg are masked, the one shadowed too");
        assert!(store.remove("pg").unwrap());
        assert!(!store.remove("pg").unwrap());
    }

    #[test]
    fn refuses_what_it_cannot_keep_or_mask_safely() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().to_owned(), None);
        assert!(store.set("../x", "value").unwrap_err().contains("secret's name"));
        assert!(store.set("short", "abc").unwrap_err().contains("shorter than 4"));
        assert!(store.set("nul", "ab\0cd").unwrap_err().contains("NUL"));
        store.set("open", "wide-open").unwrap();
        std::fs::set_permissions(dir.path().join("open"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(store.get("open").unwrap_err().contains("chmod 600"));
        // Refused for a run, yet masked in every run's output: any run may read the file.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("real"), "linked-value\n").unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("real"), dir.path().join("linked")).unwrap();
        let masked = store.mask_values().unwrap();
        assert!(masked.contains(&b"wide-open".to_vec()) && masked.contains(&b"linked-value".to_vec()), "{masked:?}");
        assert_eq!(store.names().unwrap(), ["linked", "open"], "a symlinked secret is listed too");
    }
}
