//! `atlas token create|list|revoke`: the same commands and writer code as the API. With no service
//! running they run in this process (holding the data lock); beside a running service the service applies
//! them, over its admin socket, so there is never a second writer on the database.

use crate::settings::Settings;
use atlas_actors::domain::{Applied, Command, Role, SystemClock};
use atlas_actors::registry::ActorRegistry;
use atlas_actors::store::queries::tokens;
use atlas_actors::store::{ReaderPool, WriterHandle};
use std::sync::Arc;

/// What the token subcommand should do.
pub enum TokenAction {
    Create { name: String, role: String },
    List,
    Revoke { name: String },
}

/// Runs the action; returns the text for stdout, or a sentence for stderr.
pub fn run(settings: &Settings, action: TokenAction) -> Result<String, String> {
    if let TokenAction::List = action {
        return list(settings); // reads only
    }
    let _lock = match crate::service_lock::DataLock::acquire(&settings.database.path) {
        Ok(lock) => lock,
        Err(crate::service_lock::LockError::Held { .. }) => return through_the_service(settings, action),
        Err(other) => return Err(other.to_string()),
    };
    actix::System::new().block_on(async move {
        let writer = WriterHandle::start(settings.store_config(), Arc::new(SystemClock), ActorRegistry::new())?;
        let result = match action {
            TokenAction::Create { name, role } => create(&writer, &name, &role).await,
            TokenAction::Revoke { name } => {
                let command = Command::RevokeToken { name: name.clone() };
                writer
                    .submit(command, crate::cli_actor::this_user())
                    .await
                    .map(|_| format!("revoked token {name}\n"))
                    .map_err(|e| e.to_string())
            }
            TokenAction::List => list(settings),
        };
        writer.shutdown().await?;
        result
    })
}

/// The running service applies the command (it holds the database).
fn through_the_service(settings: &Settings, action: TokenAction) -> Result<String, String> {
    use crate::admin_socket::{ask, Request};
    let request = match action {
        TokenAction::Create { name, role } => Request::TokenCreate { name, role },
        TokenAction::Revoke { name } => Request::TokenRevoke { name },
        TokenAction::List => unreachable!("listing reads the database directly"),
    };
    let created = matches!(request, Request::TokenCreate { .. });
    let text = ask(&settings.database.path, &request)?;
    if created {
        eprintln!("atlas: the running service created the token; it is shown only this once");
    }
    Ok(text)
}

async fn create(writer: &WriterHandle, name: &str, role: &str) -> Result<String, String> {
    let role: Role = role.parse().map_err(|err| format!("invalid role: {err}"))?;
    let (token, command) = crate::tokens::new_token_command(name, role);
    let outcome = writer.submit(command, crate::cli_actor::this_user()).await.map_err(|err| err.to_string())?;
    match outcome.applied {
        Applied::Token(record) => {
            eprintln!("atlas: created {} token {}; it is shown only this once", record.role, record.name);
            Ok(format!("{token}\n"))
        }
        _ => Err("the writer answered with something other than a token".into()),
    }
}

fn list(settings: &Settings) -> Result<String, String> {
    let readers = ReaderPool::open(&settings.store_config())?;
    let all = readers.read_blocking(tokens::list).map_err(|err| err.to_string())?;
    let mut out = format!("{:<24} {:<9} {:<26} {:<26} {}\n", "NAME", "ROLE", "CREATED", "REVOKED", "CREATED BY");
    for token in all {
        out.push_str(&format!(
            "{:<24} {:<9} {:<26} {:<26} {}\n",
            token.name,
            token.role.as_str(),
            token.created_at,
            token.revoked_at.as_deref().unwrap_or("-"),
            token.created_by
        ));
    }
    Ok(out)
}
