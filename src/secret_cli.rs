//! `atlas secret set|list|rm`: the values a task's environment names, kept in `secrets.dir` (0600 files
//! in a 0700 directory), outside the database. Works whether or not the service runs: a run reads its
//! secrets when it starts, so a rotated value is used from the next run on, and approvals naming the
//! secret stay valid. A value is read from stdin only (never an argument, which `ps` and shell history
//! would keep).

use crate::settings::Settings;
use std::io::{IsTerminal, Read};

pub enum SecretAction {
    Set { name: String },
    List,
    Remove { name: String },
}

pub fn run(settings: &Settings, action: SecretAction) -> Result<String, String> {
    let store = settings.secret_store();
    match action {
        SecretAction::Set { name } => {
            atlas_actors::domain::env::validate_secret_name(&name)?;
            if std::io::stdin().is_terminal() {
                eprintln!("atlas: type the value of {name}, then Enter and Ctrl-D (it is not echoed to any log)");
            }
            let mut value = String::new();
            std::io::stdin()
                .take(64 * 1024 + 1)
                .read_to_string(&mut value)
                .map_err(|err| format!("cannot read the value from stdin: {err}"))?;
            if value.len() > 64 * 1024 {
                return Err("a secret's value is at most 64 KiB".into());
            }
            store.set(&name, &value)?;
            Ok(format!(
                "secret {name} stored in {}; runs started from now on get the new value\n",
                store.dir().display()
            ))
        }
        SecretAction::List => {
            let names = store.names()?;
            Ok(names.iter().map(|name| format!("{name}\n")).collect())
        }
        SecretAction::Remove { name } => match store.remove(&name)? {
            true => Ok(format!("secret {name} removed; a run naming it fails to start until it is set again\n")),
            false => Err(format!("there is no secret {name} in {}", store.dir().display())),
        },
    }
}
