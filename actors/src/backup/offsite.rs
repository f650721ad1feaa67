//! Off-site copies: each backup file and its manifest go to S3-compatible object storage under a prefix,
//! with their own retention; listing reads the remote manifests; a remote restore downloads a backup into
//! the local backup directory, where the ordinary (verifying) restore takes it from there.
//!
//! Built on `object_store` (S3 with ring-only rustls through reqwest). Large files go up as multipart
//! uploads without being read into memory. Credentials come from the config or the usual `AWS_*`
//! variables; the secret is kept in a type whose `Debug` hides it, and error texts never carry it.
//!
//! The writing calls are private to `backup/` (`pub(super)`); elsewhere they are reached only through
//! `owner::Owned` (`owner.rs` itself writes the owner claims).

use super::error::BackupError;
use super::file::{self, Manifest};
use crate::domain::Secret;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Where off-site copies go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsiteConfig {
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`, …; empty = AWS for the region.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Object names start with this (`atlas/` → `atlas/atlas_20261123_010000.db.gz`).
    pub prefix: String,
    /// Empty = taken from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Plain HTTP endpoints (a local MinIO or emulator).
    pub allow_http: bool,
    /// Remote copies kept (newest first).
    pub keep: usize,
    pub request_timeout: Duration,
    /// Retries per request for 5xx, 429 and connection errors.
    pub max_retries: usize,
}

/// An open off-site store.
#[derive(Clone)]
pub struct Offsite {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    pub keep: usize,
    /// The bucket's owner as last seen (`owner.rs`).
    pub(super) seen: Arc<super::owner::Seen>,
}

/// By hand: the store's own `Debug` would print its credentials.
impl std::fmt::Debug for Offsite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offsite").field("prefix", &self.prefix).field("keep", &self.keep).finish_non_exhaustive()
    }
}

fn remote_err(context: &str, e: impl std::fmt::Display) -> BackupError {
    BackupError::Offsite(format!("off-site {context}: {e}"))
}

impl Offsite {
    pub fn open(config: &OffsiteConfig) -> Result<Self, BackupError> {
        if config.bucket.trim().is_empty() {
            return Err("off-site storage needs a bucket (offsite.bucket)".into());
        }
        let retry = RetryConfig {
            max_retries: config.max_retries,
            retry_timeout: config.request_timeout * 4,
            ..Default::default()
        };
        let options = ClientOptions::new().with_timeout(config.request_timeout).with_allow_http(config.allow_http);
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_client_options(options)
            .with_retry(retry);
        if !config.endpoint.is_empty() {
            builder = builder.with_endpoint(&config.endpoint).with_virtual_hosted_style_request(false);
        }
        if !config.access_key_id.is_empty() {
            builder = builder.with_access_key_id(&config.access_key_id);
        }
        if !config.secret_access_key.0.is_empty() {
            builder = builder.with_secret_access_key(&config.secret_access_key.0);
        }
        let store = builder.build().map_err(|e| remote_err("storage is misconfigured", e))?;
        let prefix = config.prefix.trim_start_matches('/').to_owned();
        Ok(Self { store: Arc::new(store), prefix, keep: config.keep, seen: Arc::default() })
    }

    fn object(&self, name: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{name}", self.prefix))
    }

    fn manifest_name(id: &str) -> String {
        format!("{id}.manifest.json")
    }

    /// Uploads the backup file, then its manifest (a manifest is only ever beside a complete file).
    pub(super) async fn upload(&self, dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
        let local = dir.join(&manifest.file);
        let mut input = tokio::fs::File::open(&local)
            .await
            .map_err(|e| format!("cannot read {} for the upload: {e}", local.display()))?;
        let mut writer = BufWriter::new(self.store.clone(), self.object(&manifest.file));
        let copied = tokio::io::copy(&mut input, &mut writer).await;
        if let Err(e) = copied {
            let _ = writer.abort().await;
            return Err(remote_err(&format!("upload of {} failed", manifest.file), e));
        }
        writer.shutdown().await.map_err(|e| remote_err(&format!("upload of {} failed", manifest.file), e))?;
        // The bucket's copy says nothing of an earlier failed attempt: it is stored.
        let stored = Manifest { upload_error: None, ..manifest.clone() };
        let body = serde_json::to_vec_pretty(&stored).map_err(|e| remote_err("manifest", e))?;
        self.store
            .put(&self.object(&Self::manifest_name(&manifest.id)), body.into())
            .await
            .map_err(|e| remote_err(&format!("upload of {}'s manifest failed", manifest.id), e))?;
        Ok(())
    }

    /// Remote backups, newest first, as their manifests say.
    pub async fn list(&self) -> Result<Vec<Manifest>, BackupError> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.trim_end_matches('/')));
        let mut listing = self.store.list(prefix.as_ref());
        let mut manifests = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| remote_err("listing failed", e))?;
            if meta.location.as_ref().ends_with(".manifest.json") {
                manifests.push(meta.location);
            }
        }
        let mut all = Vec::new();
        for location in manifests {
            let bytes = self.get_bytes(&location).await?;
            match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(manifest) => all.push(manifest),
                Err(e) => tracing::warn!(object = %location, error = %e, "Skipping an unreadable remote manifest."),
            }
        }
        all.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(all)
    }

    async fn get_bytes(&self, location: &ObjectPath) -> Result<bytes::Bytes, BackupError> {
        let result = self.store.get(location).await.map_err(|e| not_found_or(location, e))?;
        result.bytes().await.map_err(|e| remote_err(&format!("download of {location} failed"), e))
    }

    /// Downloads backup `id` into `dir` (replacing a local copy of the same id) and returns its manifest.
    /// The file is written under a temporary name and renamed once complete.
    pub async fn download(&self, id: &str, dir: &Path) -> Result<Manifest, BackupError> {
        super::file::check_id(id)?;
        let bytes = self.get_bytes(&self.object(&Self::manifest_name(id))).await.map_err(|e| match e {
            BackupError::NotFound(_) => BackupError::NotFound(format!("remote backup {id} not found")),
            other => other,
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| remote_err(&format!("{id}'s manifest is unreadable"), e))?;
        if manifest.file.contains(['/', '\\']) || manifest.file.contains("..") {
            return Err(BackupError::Offsite(format!("remote manifest {id} names an unsafe file {:?}", manifest.file)));
        }
        tokio::fs::create_dir_all(dir).await.map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let target = dir.join(&manifest.file);
        let partial = dir.join(format!(".{}.download", manifest.file));
        let location = self.object(&manifest.file);
        let result = async {
            let mut stream = self.store.get(&location).await.map_err(|e| not_found_or(&location, e))?.into_stream();
            let mut output = tokio::fs::File::create(&partial)
                .await
                .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| remote_err(&format!("download of {location} failed"), e))?;
                output.write_all(&chunk).await.map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
            }
            output.sync_all().await.map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
            tokio::fs::rename(&partial, &target).await.map_err(|e| format!("cannot move the download in place: {e}"))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result?;
        // The remote manifest's verification fields describe some other copy; this one is not verified yet.
        // It came from the bucket, so it is off-site (the remote manifest was written before that was
        // recorded): a local record of the upload is kept, else the backup's own finish time stands in.
        let uploaded_at = file::load(dir, id).ok().and_then(|m| m.uploaded_at).or(Some(manifest.finished_at.clone()));
        let local = Manifest {
            verified_at: None,
            verified_ok: None,
            verify_detail: None,
            uploaded_at,
            upload_error: None,
            ..manifest
        };
        file::write_manifest(dir, &local)?;
        Ok(local)
    }

    /// Keeps the newest `keep` remote backups, and any `also_keep` asks for; returns the ids deleted.
    pub(super) async fn prune(&self, also_keep: impl Fn(&Manifest) -> bool) -> Result<Vec<String>, BackupError> {
        let all = self.list().await?;
        let mut deleted = Vec::new();
        for manifest in all.iter().skip(self.keep.max(1)).filter(|m| !also_keep(m)) {
            // The manifest goes first: a listing never shows a backup whose file is gone.
            self.store
                .delete(&self.object(&Self::manifest_name(&manifest.id)))
                .await
                .map_err(|e| remote_err(&format!("cannot delete {}", manifest.id), e))?;
            if let Err(e) = self.store.delete(&self.object(&manifest.file)).await {
                tracing::warn!(backup = %manifest.id, error = %e, "Could not delete a pruned remote backup file.");
            }
            deleted.push(manifest.id.clone());
        }
        Ok(deleted)
    }
}

/// Objects by name under the prefix: what point-in-time recovery ships (`pitr/`) and the owner's claims
/// (`owner/`). Writing takes an [`Owned`](super::owner::Owned).
impl Offsite {
    pub(super) async fn put_object(&self, name: &str, body: Vec<u8>) -> Result<(), BackupError> {
        self.store
            .put(&self.object(name), body.into())
            .await
            .map(drop)
            .map_err(|e| remote_err(&format!("upload of {name} failed"), e))
    }

    pub async fn get_object(&self, name: &str) -> Result<bytes::Bytes, BackupError> {
        self.get_bytes(&self.object(name)).await
    }

    pub(super) async fn delete_object(&self, name: &str) -> Result<(), BackupError> {
        self.store.delete(&self.object(name)).await.map_err(|e| remote_err(&format!("cannot delete {name}"), e))
    }

    /// The names (relative to the prefix) and last-modified times of the objects in `folder`.
    pub async fn list_folder(&self, folder: &str) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, BackupError> {
        let under = ObjectPath::from(format!("{}{}", self.prefix, folder.trim_end_matches('/')));
        let mut listing = self.store.list(Some(&under));
        let mut names = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| remote_err("listing failed", e))?;
            let full = meta.location.as_ref();
            names.push((full.strip_prefix(self.prefix.as_str()).unwrap_or(full).to_owned(), meta.last_modified));
        }
        names.sort();
        Ok(names)
    }
}

fn not_found_or(location: &ObjectPath, e: object_store::Error) -> BackupError {
    match e {
        object_store::Error::NotFound { .. } => BackupError::NotFound(format!("{location} not found")),
        other => remote_err(&format!("download of {location} failed"), other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_prints() {
        let config = OffsiteConfig {
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            bucket: "b".into(),
            prefix: "atlas/".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: Secret("very-secret-value".into()),
            allow_http: true,
            keep: 3,
            request_timeout: Duration::from_secs(1),
            max_retries: 0,
        };
        assert!(!format!("{config:?}").contains("very-secret-value"));
        let offsite = Offsite::open(&config).unwrap();
        assert!(!format!("{offsite:?}").contains("very-secret-value"), "{offsite:?}");
    }

    #[test]
    fn a_missing_bucket_is_refused_with_the_key_named() {
        let config = OffsiteConfig {
            endpoint: String::new(),
            region: "us-east-1".into(),
            bucket: " ".into(),
            prefix: String::new(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            allow_http: false,
            keep: 3,
            request_timeout: Duration::from_secs(1),
            max_retries: 0,
        };
        assert!(Offsite::open(&config).unwrap_err().message().contains("offsite.bucket"));
    }
}
