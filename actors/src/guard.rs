//! The handler boundary: a panic inside an actor must answer its caller and restart the actor, never leave
//! a dead address behind (actix's Supervisor restarts only after `ctx.stop()`, not after a panic).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; a panic comes back as `Err(message)` instead of unwinding through actix.
pub fn catch_panic<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload, when it has one.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(catch_panic(|| 7), Ok(7));
        let err = catch_panic(|| -> i32 { panic!("disk on fire {}", 1) }).unwrap_err();
        assert_eq!(err, "disk on fire 1");
    }
}
