//! The service's local admin socket (`atlas.sock` beside the database, mode 0600): how a CLI command
//! that writes reaches a running service instead of opening a second writer. Whoever can open the socket
//! can already read the database file, so the file mode is the authentication. One JSON line in, one out.

use atlas_actors::domain::{Actor, Applied, Command, Role};
use atlas_actors::Handles;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The socket in the database's real directory (where the data lock is: a database reached through a
/// symlink from another Atlas's directory never takes over that Atlas's socket).
pub fn socket_path(database: &Path) -> PathBuf {
    atlas_actors::store::lock::data_dir(database).join("atlas.sock")
}

/// What a CLI command asks of the running service.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    TokenCreate { name: String, role: String },
    TokenRevoke { name: String },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub text: String,
}

/// Runs `request` for `by` (`cli:` and the socket peer's Unix user).
async fn handle(handles: &Handles, request: Request, by: Actor) -> Reply {
    let outcome = match request {
        Request::TokenCreate { name, role } => match role.parse::<Role>() {
            Err(err) => Err(format!("invalid role: {err}")),
            Ok(role) => {
                let (token, command) = crate::tokens::new_token_command(&name, role);
                match handles.writer.submit(command, by).await {
                    Ok(outcome) if matches!(outcome.applied, Applied::Token(_)) => Ok(format!("{token}\n")),
                    Ok(_) => Err("the writer answered with something other than a token".into()),
                    Err(err) => Err(err.to_string()),
                }
            }
        },
        Request::TokenRevoke { name } => handles
            .writer
            .submit(Command::RevokeToken { name: name.clone() }, by)
            .await
            .map(|_| format!("revoked token {name}\n"))
            .map_err(|err| err.to_string()),
    };
    match outcome {
        Ok(text) => Reply { ok: true, text },
        Err(text) => Reply { ok: false, text },
    }
}

/// Listens on the socket (replacing a stale one: the caller holds the data lock) until the task is aborted.
pub fn serve(database: &Path, handles: Handles) -> Result<tokio::task::JoinHandle<()>, String> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(database);
    let _ = std::fs::remove_file(&path);
    let listener =
        tokio::net::UnixListener::bind(&path).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    Ok(actix_web::rt::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of descriptors, say: keep listening once some are free again.
                    tracing::warn!(error = %err, "The admin socket could not accept a connection.");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let handles = handles.clone();
            actix_web::rt::spawn(async move {
                // The kernel's word for who connected; without it the request is not taken.
                let by = stream.peer_cred().map(|peer| crate::cli_actor::of_uid(peer.uid()));
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, 64 * 1024));
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                let reply = match (serde_json::from_str::<Request>(&line), by) {
                    (Ok(request), Ok(by)) => handle(&handles, request, by).await,
                    (Ok(_), Err(err)) => Reply { ok: false, text: format!("cannot tell who is asking: {err}") },
                    (Err(err), _) => Reply { ok: false, text: format!("not a request the service knows: {err}") },
                };
                let mut text = serde_json::to_string(&reply).unwrap_or_default();
                text.push('\n');
                let _ = write.write_all(text.as_bytes()).await;
            });
        }
    }))
}

/// Sends one request to the running service and waits for its reply (blocking; for the CLI).
pub fn ask(database: &Path, request: &Request) -> Result<String, String> {
    use std::io::{BufRead, Write};
    let path = socket_path(database);
    let mut stream = std::os::unix::net::UnixStream::connect(&path)
        .map_err(|e| format!("Atlas is running but its admin socket {} does not answer: {e}", path.display()))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).ok();
    let mut line = serde_json::to_string(request).map_err(|e| e.to_string())?;
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(|e| format!("cannot reach the service: {e}"))?;
    let mut answer = String::new();
    std::io::BufReader::new(stream).read_line(&mut answer).map_err(|e| format!("no answer from the service: {e}"))?;
    let reply: Reply = serde_json::from_str(&answer).map_err(|e| format!("an answer the CLI cannot read: {e}"))?;
    if reply.ok {
        Ok(reply.text)
    } else {
        Err(reply.text)
    }
}
