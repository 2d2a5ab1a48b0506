//! Crash-safe writes. A file is written beside its target under a temporary name, synced and
//! renamed; a set of files is written into a private directory ([`AtomicDir`]) and renamed into
//! place one by one. A crash leaves either the old file or the new one, never half of one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The directory a file path lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The temporary name used for `path` while it is being written.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Create `path` atomically with what `write` puts into the file.
pub(crate) fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> std::io::Result<()>) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        write(&mut f)?;
        f.flush()?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// `write_atomic` for a byte buffer.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |f| f.write_all(bytes))
}

/// A private directory `.{tag}.saving-{pid}` inside `dir` where a set of files is written
/// before [`AtomicDir::publish`] renames them into `dir`. Dropped, it removes itself with
/// whatever was not published. Leftovers of processes that died while saving are removed
/// when the next one begins.
pub struct AtomicDir {
    dir: PathBuf,
    tmp: PathBuf,
}

impl AtomicDir {
    /// Start writing into `dir` (created if missing), first removing dead processes' leftovers.
    pub fn begin(dir: &Path, tag: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        remove_dead_leftovers(dir, tag);
        let tmp = dir.join(format!(".{tag}.saving-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(AtomicDir { dir: dir.to_path_buf(), tmp })
    }

    /// Where the files are written.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The destination directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rename `name` from the private directory into the destination; returns its new path.
    pub fn publish(&self, name: &str) -> Result<PathBuf> {
        let dest = self.dir.join(name);
        std::fs::rename(self.tmp.join(name), &dest).map_err(|e| Error::io(&dest, e))?;
        Ok(dest)
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Private directories of `tag` whose process is gone.
fn remove_dead_leftovers(dir: &Path, tag: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let own = std::process::id().to_string();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(&format!(".{tag}.saving-")) {
            if pid != own && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_what_it_is_told_and_forgets_the_rest() {
        let root = std::env::temp_dir().join(format!("tfreuse-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // A dead process's leftover (pid far beyond pid_max) is cleaned up on begin.
        let stale = root.join(".m.saving-999999999");
        std::fs::create_dir_all(&stale).unwrap();
        {
            let a = AtomicDir::begin(&root, "m").unwrap();
            assert!(!stale.exists(), "a dead save's directory is removed");
            std::fs::write(a.path().join("kept"), b"1").unwrap();
            std::fs::write(a.path().join("dropped"), b"2").unwrap();
            assert!(!root.join("kept").exists(), "nothing is visible before publish");
            assert_eq!(a.publish("kept").unwrap(), root.join("kept"));
            assert!(a.publish("missing").is_err());
        }
        let left: Vec<String> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["kept"], "the private directory is gone with what was not published");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
