//! A backup file's checksum, recorded in its manifest and checked by every verification and restore.
//!
//! New backups are hashed with BLAKE3 over both cores (`blake3:<hex>`): about 0.2 s a GB here, where
//! SHA-256 took 0.9 s, the largest part of a backup's time beyond the copy itself (BENCHMARKS.md).
//! Manifests written before that hold a bare SHA-256 hex digest and are still checked with SHA-256.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

const BLAKE3: &str = "blake3:";

fn reading(path: &Path, e: impl std::fmt::Display) -> String {
    format!("cannot read {}: {e}", path.display())
}

/// Bytes read per step: large enough that BLAKE3 spreads each step over both cores.
const STEP: usize = 8 << 20;

/// The checksum a new manifest records for `path`, and the file's size. The file is read, never mapped
/// (a mapped file that shrinks or hits a bad sector kills the process with SIGBUS, where a read is an
/// error), by a thread of its own into a few recycled buffers, while BLAKE3 hashes the previous one on
/// both cores.
pub fn of_file(path: &Path) -> Result<(String, u64), String> {
    let mut file = std::fs::File::open(path).map_err(|e| reading(path, e))?;
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    for _ in 0..3 {
        let _ = empty_tx.send(vec![0u8; STEP]);
    }
    let reader = std::thread::spawn(move || {
        while let Ok(mut buffer) = empty_rx.recv() {
            let filled = fill(&mut file, &mut buffer);
            let last = !matches!(filled, Ok(n) if n == STEP);
            if full_tx.send(filled.map(|n| (buffer, n))).is_err() || last {
                return;
            }
        }
    });
    let mut hasher = blake3::Hasher::new();
    let mut failure = None;
    for chunk in full_rx.iter() {
        match chunk {
            Ok((buffer, filled)) => {
                hasher.update_rayon(&buffer[..filled]);
                if filled < STEP {
                    break;
                }
                // The reader may have read the end already and gone: the buffer is simply not needed.
                let _ = empty_tx.send(buffer);
            }
            Err(e) => {
                failure = Some(reading(path, e));
                break;
            }
        }
    }
    drop(empty_tx);
    let _ = reader.join();
    match failure {
        Some(why) => Err(why),
        None => Ok((format!("{BLAKE3}{}", hasher.finalize().to_hex()), hasher.count())),
    }
}

/// Reads into `buffer` until it is full or the file ends; returns how much was read.
fn fill(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Recomputes `path`'s checksum with the algorithm `recorded` was made with, and the file's size.
pub fn recompute_like(recorded: &str, path: &Path) -> Result<(String, u64), String> {
    if recorded.starts_with(BLAKE3) {
        return of_file(path);
    }
    let mut file = std::fs::File::open(path).map_err(|e| reading(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(|e| reading(path, e))?;
        if read == 0 {
            break;
        }
        size += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checksums_are_blake3_and_old_sha256_ones_still_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, b"abc").unwrap();
        let (checksum, size) = of_file(&path).unwrap();
        assert_eq!(size, 3);
        assert_eq!(checksum, "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
        assert_eq!(recompute_like(&checksum, &path).unwrap().0, checksum);
        let legacy = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(recompute_like(legacy, &path).unwrap(), (legacy.to_owned(), 3));
        std::fs::write(&path, b"abd").unwrap();
        assert_ne!(recompute_like(&checksum, &path).unwrap().0, checksum);
        assert_ne!(recompute_like(legacy, &path).unwrap().0, legacy);
    }

    #[test]
    fn a_manifest_written_before_blake3_still_loads_its_sha256() {
        let old = r#"{"id":"atlas_20261101_000000","file":"atlas_20261101_000000.db.gz","compressed":true,
            "size_bytes":3,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "page_count":1,"schema_version":5,"row_counts":{},"started_at":"s","finished_at":"f",
            "verified_at":null,"verified_ok":null,"verify_detail":null}"#;
        let manifest: crate::backup::file::Manifest = serde_json::from_str(old).unwrap();
        assert!(manifest.checksum.starts_with("ba7816bf"));
    }

    /// A file that shrinks while it is hashed is an error or a checksum, never SIGBUS (which a mapped
    /// file would raise, killing the whole service).
    #[test]
    fn a_file_shrinking_under_the_hash_never_kills_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shrinking");
        for delay_ms in [0, 2, 5, 10] {
            std::fs::write(&path, vec![7u8; 48 << 20]).unwrap();
            let truncating = {
                let path = path.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(1 << 20).unwrap();
                })
            };
            let _ = of_file(&path);
            truncating.join().unwrap();
        }
    }

    #[test]
    fn the_pipelined_read_hashes_every_byte_once_at_every_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sized");
        for size in [0, 1, STEP - 1, STEP, STEP + 1, 2 * STEP, 3 * STEP + 17] {
            let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            let expected = format!("{BLAKE3}{}", blake3::hash(&bytes).to_hex());
            assert_eq!(of_file(&path).unwrap(), (expected, size as u64), "size {size}");
        }
    }

    #[test]
    fn an_empty_file_has_a_checksum_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(of_file(&path).unwrap().1, 0);
    }
}
