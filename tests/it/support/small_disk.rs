//! A real, small disk for full-disk tests: a tmpfs mounted on a fresh directory (CI runs as root).

use std::path::{Path, PathBuf};

/// Unmounted when dropped.
pub struct SmallDisk {
    pub mount: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this machine cannot mount (not root) outside CI; on CI a failure to mount fails the test.
    pub fn mount(megabytes: u32) -> Option<Self> {
        let parent = tempfile::tempdir().unwrap();
        let mount = parent.path().join("disk");
        std::fs::create_dir(&mount).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&mount)
            .status();
        match status {
            Ok(status) if status.success() => Some(Self { mount, _parent: parent }),
            other => {
                assert!(std::env::var_os("CI").is_none(), "CI runs as root and must mount a tmpfs: {other:?}");
                eprintln!("SKIPPED: cannot mount a tmpfs here ({other:?}); CI runs this test as root");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// Fills the disk holding `dir` to the last byte; returns the filler file.
pub fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
    path
}
