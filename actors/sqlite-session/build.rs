//! The session extension is compiled into rusqlite's bundled SQLite only when `LIBSQLITE3_FLAGS` asks for
//! it (set in `.cargo/config.toml`); without it the link fails with undefined `sqlite3session_*` symbols, so
//! say why here, at the start of the build, in a sentence.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBSQLITE3_FLAGS");
    let flags = std::env::var("LIBSQLITE3_FLAGS").unwrap_or_default();
    for needed in ["-DSQLITE_ENABLE_SESSION", "-DSQLITE_ENABLE_PREUPDATE_HOOK"] {
        if !flags.split_whitespace().any(|f| f == needed) {
            panic!(
                "LIBSQLITE3_FLAGS lacks {needed}: build Atlas from its checkout (its .cargo/config.toml sets \
                 LIBSQLITE3_FLAGS=\"-DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_PREUPDATE_HOOK\"), or set it yourself"
            );
        }
    }
}
