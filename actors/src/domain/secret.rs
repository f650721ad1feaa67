//! A credential held in memory (an S3 secret key, a bot token, an SMTP password): its `Debug` never shows
//! it, so a config or error that derives `Debug` cannot leak it into a log.

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "<empty>" } else { "<redacted>" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "<redacted>");
        assert_eq!(format!("{:?}", Secret::default()), "<empty>");
    }
}
