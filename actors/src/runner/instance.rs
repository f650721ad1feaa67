//! Which Atlas this is, so that run recovery kills only its own processes. A database can be copied (a
//! restore drill, a staging copy served on the same host): the runs it records as `running` then belong to
//! another Atlas, still alive. So each data directory has an instance id, kept in a file beside the
//! database and never in it, and every run records it and carries it in its processes' mark.
//!
//! The file holds the id and the data directory's device and inode: a directory copied whole (`cp -a`)
//! brings the file along but not the inode, and gets an id of its own.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The file, in the data directory.
pub const FILE: &str = "instance";

/// The data directory's identity on this host.
fn identity(dir: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(dir)?;
    Ok(format!("{}:{}", meta.dev(), meta.ino()))
}

/// This data directory's instance id: the one recorded for it, or a new one (written atomically) when
/// there is none or the file was copied from another directory.
pub fn of_data_dir(dir: &Path) -> std::io::Result<String> {
    let here = identity(dir)?;
    let path = dir.join(FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some((id, recorded)) = text.trim().split_once(' ') {
            if recorded == here && !id.is_empty() {
                return Ok(id.to_owned());
            }
        }
    }
    let id = ulid::Ulid::new().to_string().to_lowercase();
    let staged = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&staged, format!("{id} {here}\n"))?;
    std::fs::rename(&staged, &path)?;
    Ok(id)
}

/// The mark a run's processes carry (`ATLAS_RUN=<mark>`): the instance and the run.
pub fn mark(instance: &str, run_id: &str) -> String {
    format!("{instance}/{run_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_kept_for_its_directory_and_a_copied_directory_gets_its_own() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let first = of_data_dir(&data).unwrap();
        assert_eq!(of_data_dir(&data).unwrap(), first, "kept across starts");
        let copy = root.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        std::fs::copy(data.join(FILE), copy.join(FILE)).unwrap();
        let second = of_data_dir(&copy).unwrap();
        assert_ne!(second, first, "a copied file does not make a copy the same instance");
        assert_eq!(of_data_dir(&copy).unwrap(), second);
    }
}
