//! A real, small disk for full-disk tests: a tmpfs mounted on a fresh directory (CI runs as root).

use std::path::{Path, PathBuf};

/// Unmounted when dropped.
pub struct SmallDisk {
    pub mount: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    /// A real tmpfs of `megabytes`; mounting needs root (CI and this machine kind run as root), and a
    /// machine that cannot mount fails the test instead of skipping it.
    pub fn mount(megabytes: u32) -> Self {
        let parent = tempfile::tempdir().unwrap();
        let mount = parent.path().join("disk");
        std::fs::create_dir(&mount).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&mount)
            .status();
        match status {
            Ok(status) if status.success() => Self { mount, _parent: parent },
            other => panic!("the full-disk tests need a real tmpfs, which only root can mount: {other:?}"),
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
