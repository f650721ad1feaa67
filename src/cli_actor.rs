//! Who the CLI acts as in the audit trail: `cli:<Unix user>`. In this process the user is the one
//! running it; through the admin socket it is the peer the kernel names (`SO_PEERCRED`), never a name
//! the client sends.

use atlas_actors::domain::Actor;

/// The actor for a CLI command run by this process's user.
pub fn this_user() -> Actor {
    of_uid(nix::unistd::getuid().as_raw())
}

/// The actor for a CLI command run by the user with this uid (the password database's name, else `uid N`).
pub fn of_uid(uid: u32) -> Actor {
    let name = match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    };
    Actor::new(format!("cli:{name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_user_from_the_password_database() {
        assert_eq!(super::of_uid(0).as_str(), "cli:root");
        assert_eq!(super::of_uid(4_000_000_000).as_str(), "cli:uid 4000000000", "an unknown uid is shown as a number");
    }
}
