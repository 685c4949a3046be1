//! Replacing a directory so that a failure at any moment leaves a whole one: the new content
//! is written beside it (same parent, so the same filesystem) as `.<name>.new-<pid>`, then
//! exchanged with the old directory in one `renameat2(RENAME_EXCHANGE)`, and the old one
//! (now under the staging name) removed. Where the filesystem cannot exchange, the old one is
//! first renamed to `.<name>.old-<pid>`. A crashed attempt leaves only such siblings, which
//! [`sweep`] removes (and an `.old-` one is put back if the directory itself is missing).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fn sibling(dir: &Path, kind: &str) -> io::Result<PathBuf> {
    let name = dir.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no directory name", dir.display()),
        )
    })?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = name.to_string_lossy();
    Ok(parent.join(format!(".{name}.{kind}-{}", std::process::id())))
}

fn leftovers(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Vec::new();
    };
    let prefix = format!(".{}.{kind}-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Removes what crashed attempts to replace `dir` left beside it; if `dir` itself is missing
/// and an old copy was set aside, that copy becomes `dir` again.
pub fn sweep(dir: &Path) -> io::Result<()> {
    for old in leftovers(dir, "old") {
        if std::fs::symlink_metadata(dir).is_err() {
            std::fs::rename(&old, dir)?;
        } else {
            std::fs::remove_dir_all(&old)?;
        }
    }
    for staged in leftovers(dir, "new") {
        std::fs::remove_dir_all(&staged)?;
    }
    Ok(())
}

/// A fresh, empty directory beside `dir` to build its replacement in.
pub fn staging(dir: &Path) -> io::Result<PathBuf> {
    let staged = sibling(dir, "new")?;
    if let Some(parent) = staged.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir(&staged)?;
    Ok(staged)
}

/// Puts `staged` in the place of `dir` (which may not exist yet) and removes the old one.
pub fn replace(dir: &Path, staged: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(dir).is_err() {
        return std::fs::rename(staged, dir);
    }
    match exchange(staged, dir) {
        Ok(()) => std::fs::remove_dir_all(staged),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            let old = sibling(dir, "old")?;
            std::fs::rename(dir, &old)?;
            std::fs::rename(staged, dir)?;
            std::fs::remove_dir_all(&old)
        }
        Err(e) => Err(e),
    }
}

/// Swaps two paths in one step (Linux `renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("ccci-swap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn replace_swaps_in_the_new_content_and_leaves_nothing_beside_it() {
        let root = scratch("replace");
        let dir = root.join("snap");
        for content in ["first", "second"] {
            let staged = staging(&dir).unwrap();
            std::fs::write(staged.join("f"), content).unwrap();
            replace(&dir, &staged).unwrap();
            assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), content);
        }
        let names: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the directory itself remains");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn sweep_removes_a_crashed_staging_and_puts_a_set_aside_copy_back() {
        let root = scratch("sweep");
        let dir = root.join("snap");
        std::fs::create_dir_all(root.join(".snap.new-1")).unwrap();
        std::fs::create_dir_all(root.join(".snap.old-1")).unwrap();
        std::fs::write(root.join(".snap.old-1/f"), "good").unwrap();
        std::fs::create_dir_all(root.join(".other.new-1")).unwrap();
        sweep(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "good");
        assert!(!root.join(".snap.new-1").exists());
        assert!(
            root.join(".other.new-1").exists(),
            "another directory's is kept"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
