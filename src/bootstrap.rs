//! First start: with no usable token, nobody could call the API. Atlas then creates one admin token and
//! writes it to a file only this user can read, printing the file's path, never the token.

use atlas_actors::domain::{Actor, Role};
use atlas_actors::store::queries::tokens;
use atlas_actors::Handles;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file the first admin token goes to, beside the database.
pub fn token_file(database: &Path) -> PathBuf {
    database.parent().unwrap_or_else(|| Path::new(".")).join("admin.token")
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An existing file keeps its old mode on open; tighten it either way.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        options.open(path)?.write_all(text.as_bytes())
    }
}

/// Creates the first admin token when no live token exists. Returns the file it was written to.
pub async fn ensure_admin_token(handles: &Handles, database: &Path) -> Result<Option<PathBuf>, String> {
    if handles.writer.storage().refusal().is_some() {
        // A damaged database takes no token; the tokens it has (readable or not) are what there is.
        tracing::error!("The database is damaged: no first admin token is created.");
        return Ok(None);
    }
    let readers = handles.readers.clone();
    let (live, admin_taken) = readers
        .read(|conn| Ok((tokens::live_count(conn)?, tokens::get(conn, "admin")?.is_some())))
        .await
        .map_err(|err| format!("cannot count API tokens: {err}"))?;
    if live > 0 {
        return Ok(None);
    }
    let name =
        if admin_taken { format!("admin-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")) } else { "admin".to_owned() };
    let (token, command) = crate::tokens::new_token_command(&name, Role::Admin);
    let path = token_file(database);
    write_private(&path, &format!("{token}\n")).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    if let Err(err) = handles.writer.submit(command, Actor::system()).await {
        let _ = std::fs::remove_file(&path);
        return Err(format!("cannot create the first admin token: {err}"));
    }
    tracing::warn!(file = %path.display(), token = %name, "No API token existed: created an admin token; read it from the file.");
    Ok(Some(path))
}
