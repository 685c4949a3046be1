//! Files opened relative to a directory cc-ci holds, never through a link that leaves it.
//!
//! A recipe's checkout, a volume's data and a sandbox's output directory are written by
//! someone else (a pull request, the app, a suite's test), who can plant a link to a host
//! file (the forge token) or directory where cc-ci will read or write. Every such open goes
//! through a [`Root`]: Linux `openat2` with `RESOLVE_BENEATH`, so no path (`..`, an absolute
//! name, a link in any position) resolves outside the root; with [`Links::None`] also
//! `RESOLVE_NO_SYMLINKS`, so no link is followed at all. A kernel without `openat2`
//! (Linux < 5.6) is refused, never worked around by following links.
//!
//! Errors name the path relative to the root and why, never a byte of the file.

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// Which links a root lets a path follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Links that stay inside the root (a recipe's own in-tree link): a checkout.
    Inside,
    /// No link at all, in any position: a volume's data, a sandbox's output.
    None,
}

/// A directory held open; every path below is resolved inside it.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    links: Links,
    /// What the root is, for messages: "the checkout", "the volume", "the output directory".
    what: &'static str,
}

/// What a path below a root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
    Other,
}

/// Why a path below a root was not opened. Names the path (relative to the root), never
/// the file's content.
#[derive(Debug, thiserror::Error)]
pub enum BeneathError {
    #[error("{path} escapes {what} through a link (or `..` or an absolute path); cc-ci reads nothing outside {what}: make it a file, or a link to a file inside {what}")]
    Escapes { path: String, what: &'static str },
    #[error("{path} in {what} is a link or passes through one; cc-ci follows no link there")]
    Link { path: String, what: &'static str },
    #[error("{path}: no such file in {what}")]
    NotFound { path: String, what: &'static str },
    #[error("{path} in {what} is not a regular file")]
    NotAFile { path: String, what: &'static str },
    #[error("{path} in {what} is not a directory")]
    NotADir { path: String, what: &'static str },
    #[error("{path} in {what} is not UTF-8 text")]
    NotText { path: String, what: &'static str },
    #[error("this kernel has no openat2 (Linux 5.6 or newer), so cc-ci cannot open {path} in {what} without following links, and refuses to")]
    Unsupported { path: String, what: &'static str },
    #[error("{path} in {what}: {cause}")]
    Io {
        path: String,
        what: &'static str,
        cause: std::io::Error,
    },
}

impl BeneathError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, BeneathError::NotFound { .. })
    }

    /// The path the error names (relative to its root).
    pub fn path(&self) -> &str {
        match self {
            BeneathError::Escapes { path, .. }
            | BeneathError::Link { path, .. }
            | BeneathError::NotFound { path, .. }
            | BeneathError::NotAFile { path, .. }
            | BeneathError::NotADir { path, .. }
            | BeneathError::NotText { path, .. }
            | BeneathError::Unsupported { path, .. }
            | BeneathError::Io { path, .. } => path,
        }
    }
}

/// `path` as messages show it: relative to the root.
fn shown(path: &Path) -> String {
    let s = path.display().to_string();
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

impl Root {
    /// Holds `dir` (cc-ci's own path: a clone, a volume's mountpoint, a work dir) open.
    pub fn open(dir: &Path, links: Links, what: &'static str) -> Result<Root, BeneathError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rfs::open(dir, flags, Mode::empty()).map_err(|e| BeneathError::Io {
            path: dir.display().to_string(),
            what,
            cause: e.into(),
        })?;
        Ok(Root { fd, links, what })
    }

    pub fn links(&self) -> Links {
        self.links
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn err(&self, path: &Path, errno: Errno) -> BeneathError {
        let (path, what) = (shown(path), self.what);
        match errno {
            Errno::XDEV => BeneathError::Escapes { path, what },
            Errno::LOOP if self.links == Links::None => BeneathError::Link { path, what },
            Errno::NOENT => BeneathError::NotFound { path, what },
            Errno::NOTDIR => BeneathError::NotADir { path, what },
            Errno::NOSYS => BeneathError::Unsupported { path, what },
            e => BeneathError::Io {
                path,
                what,
                cause: e.into(),
            },
        }
    }

    /// `openat2` below the root; retried when a concurrent rename made the kernel unsure
    /// (`EAGAIN`), as `openat2(2)` asks.
    fn open_raw(&self, path: &Path, flags: OFlags, mode: Mode) -> Result<OwnedFd, BeneathError> {
        let mut resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        if self.links == Links::None {
            resolve |= ResolveFlags::NO_SYMLINKS;
        }
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let flags = match flags.contains(OFlags::PATH) {
            true => flags | OFlags::CLOEXEC,
            false => flags | OFlags::CLOEXEC | OFlags::NOCTTY,
        };
        let mut tries = 0;
        loop {
            match rfs::openat2(&self.fd, path, flags, mode, resolve) {
                Err(Errno::AGAIN) if tries < 16 => tries += 1,
                Err(e) => return Err(self.err(path, e)),
                Ok(fd) => return Ok(fd),
            }
        }
    }

    /// What `path` is (a final link is followed only as far as the root's [`Links`] allow:
    /// under [`Links::None`] it is told as [`Kind::Link`]).
    pub fn kind(&self, path: &Path) -> Result<Kind, BeneathError> {
        let mut flags = OFlags::PATH;
        if self.links == Links::None {
            flags |= OFlags::NOFOLLOW;
        }
        let fd = self.open_raw(path, flags, Mode::empty())?;
        let stat = rfs::fstat(&fd).map_err(|e| self.err(path, e))?;
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Link,
            _ => Kind::Other,
        })
    }

    /// The metadata of `path` itself (a final link told as a link, under [`Links::None`]).
    pub fn metadata(&self, path: &Path) -> Result<std::fs::Metadata, BeneathError> {
        let mut flags = OFlags::PATH;
        if self.links == Links::None {
            flags |= OFlags::NOFOLLOW;
        }
        let fd = self.open_raw(path, flags, Mode::empty())?;
        std::fs::File::from(fd)
            .metadata()
            .map_err(|cause| self.io(path, cause))
    }

    /// Where the link `path` points (read, never followed).
    pub fn read_link(&self, path: &Path) -> Result<PathBuf, BeneathError> {
        use std::os::unix::ffi::OsStringExt as _;
        let fd = self.open_raw(path, OFlags::PATH | OFlags::NOFOLLOW, Mode::empty())?;
        let target = rfs::readlinkat(&fd, "", Vec::new()).map_err(|e| self.err(path, e))?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(
            target.into_bytes(),
        )))
    }

    /// [`Root::kind`], `None` when nothing is there.
    pub fn kind_if_any(&self, path: &Path) -> Result<Option<Kind>, BeneathError> {
        match self.kind(path) {
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    /// A regular file, opened for reading (a FIFO or device is refused, unread).
    pub fn open_file(&self, path: &Path) -> Result<std::fs::File, BeneathError> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK;
        let flags = match self.links {
            Links::None => flags | OFlags::NOFOLLOW,
            Links::Inside => flags,
        };
        let fd = self.open_raw(path, flags, Mode::empty())?;
        let stat = rfs::fstat(&fd).map_err(|e| self.err(path, e))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(BeneathError::NotAFile {
                path: shown(path),
                what: self.what,
            });
        }
        Ok(std::fs::File::from(fd))
    }

    pub fn read(&self, path: &Path) -> Result<Vec<u8>, BeneathError> {
        let mut bytes = Vec::new();
        self.open_file(path)?
            .read_to_end(&mut bytes)
            .map_err(|cause| self.io(path, cause))?;
        Ok(bytes)
    }

    pub fn read_to_string(&self, path: &Path) -> Result<String, BeneathError> {
        String::from_utf8(self.read(path)?).map_err(|_| BeneathError::NotText {
            path: shown(path),
            what: self.what,
        })
    }

    /// [`Root::read_to_string`], `None` when the file does not exist.
    pub fn read_optional(&self, path: &Path) -> Result<Option<String>, BeneathError> {
        match self.read_to_string(path) {
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    fn io(&self, path: &Path, cause: std::io::Error) -> BeneathError {
        BeneathError::Io {
            path: shown(path),
            what: self.what,
            cause,
        }
    }

    /// The directory `path`, held as a root of its own with the same rules (and what).
    pub fn dir(&self, path: &Path) -> Result<Root, BeneathError> {
        // Under `Links::None` a final link is refused by `RESOLVE_NO_SYMLINKS` (`ELOOP`).
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        Ok(Root {
            fd: self.open_raw(path, flags, Mode::empty())?,
            links: self.links,
            what: self.what,
        })
    }

    /// The directory `path`, made (with its parents) where missing, never through a link.
    pub fn make_dirs(&self, path: &Path) -> Result<Root, BeneathError> {
        let mut dir = self.dir(Path::new("."))?;
        for part in normal_parts(path).ok_or_else(|| self.escapes(path))? {
            match rfs::mkdirat(&dir.fd, part.as_path(), Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(self.err(path, e)),
            }
            dir = dir.dir(&part).map_err(|e| match e {
                BeneathError::Link { .. } | BeneathError::Escapes { .. } => {
                    self.err(path, Errno::LOOP)
                }
                other => other,
            })?;
        }
        Ok(dir)
    }

    fn escapes(&self, path: &Path) -> BeneathError {
        BeneathError::Escapes {
            path: shown(path),
            what: self.what,
        }
    }

    /// The names in this directory with what each is (links not followed), sorted.
    pub fn entries(&self) -> Result<Vec<(String, Kind)>, BeneathError> {
        let here = Path::new(".");
        let listing = self.dir(here)?;
        let mut dir = rfs::Dir::new(listing.fd).map_err(|e| self.err(here, e))?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| self.err(here, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::RegularFile => Kind::File,
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Link,
                FileType::Unknown => self.lstat_kind(&name)?,
                _ => Kind::Other,
            };
            out.push((name, kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn lstat_kind(&self, name: &str) -> Result<Kind, BeneathError> {
        let stat = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.err(Path::new(name), e))?;
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Link,
            _ => Kind::Other,
        })
    }

    /// Writes a new file at `path` (its directory must exist): whatever is there (a file, a
    /// link, a device node someone planted) is unlinked first, then the file is created
    /// with `O_CREAT | O_EXCL | O_NOFOLLOW`, so the write never lands anywhere else.
    pub fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<(), BeneathError> {
        let (parent, name) = self.split(path)?;
        match rfs::unlinkat(&parent.fd, name.as_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(self.err(path, e)),
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let fd = rfs::openat(
            &parent.fd,
            name.as_str(),
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| self.err(path, e))?;
        std::fs::File::from(fd)
            .write_all(bytes)
            .map_err(|cause| self.io(path, cause))
    }

    /// Moves `from` (below this root; a link is moved as the link) to `to` below `into`,
    /// replacing a file or empty directory there. `Ok(false)` when `from` does not exist.
    pub fn move_to(&self, from: &Path, into: &Root, to: &Path) -> Result<bool, BeneathError> {
        let (src, src_name) = match self.split(from) {
            Err(e) if e.is_not_found() => return Ok(false),
            other => other?,
        };
        let (dst, dst_name) = into.split(to)?;
        match rfs::renameat(&src.fd, src_name.as_str(), &dst.fd, dst_name.as_str()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(self.err(from, e)),
        }
    }

    /// Removes the file (or link) `path`, never what a link points at.
    pub fn remove_file(&self, path: &Path) -> Result<(), BeneathError> {
        let (parent, name) = self.split(path)?;
        rfs::unlinkat(&parent.fd, name.as_str(), AtFlags::empty()).map_err(|e| self.err(path, e))
    }

    /// The directory holding `path` and its last name.
    fn split(&self, path: &Path) -> Result<(Root, String), BeneathError> {
        let mut parts = normal_parts(path).ok_or_else(|| self.escapes(path))?;
        let name = parts.pop().ok_or_else(|| self.escapes(path))?;
        let parent: PathBuf = parts.iter().collect();
        let parent = self.dir(&parent).map_err(|e| match e {
            BeneathError::NotFound { .. } => self.err(path, Errno::NOENT),
            other => other,
        })?;
        Ok((parent, name.to_string_lossy().into_owned()))
    }
}

/// Reads the text file `path` of the checkout at `root` (`path` relative to it, or a path
/// under it as cc-ci joined it), resolved inside the checkout (its own in-tree links are
/// followed, none leaving it).
pub fn read_in_checkout(root: &Path, path: &Path) -> Result<String, BeneathError> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    Root::open(root, Links::Inside, CHECKOUT)?.read_to_string(rel)
}

/// What a recipe's checkout is called in messages.
pub const CHECKOUT: &str = "the checkout";

/// The names of a relative path with no `..`, `/` or empty parts (`.` dropped); `None`
/// for any other path.
fn normal_parts(path: &Path) -> Option<Vec<PathBuf>> {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(n) => Some(PathBuf::from(n)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A scratch tree: `root/` (the root) holding `file`, `sub/inner`, and beside it
    /// `outside/secret` (the host file a link would reach).
    fn tree(name: &str) -> (PathBuf, PathBuf) {
        let base = std::env::temp_dir().join(format!("ccci-beneath-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(root.join("file"), "in the tree").unwrap();
        std::fs::write(root.join("sub/inner"), "inner").unwrap();
        std::fs::write(base.join("outside/secret"), "TOKEN-do-not-read").unwrap();
        (base, root)
    }

    #[test]
    fn links_leaving_the_root_are_refused_in_every_position() {
        let (base, root) = tree("escape");
        let secret = base.join("outside/secret");
        symlink(&secret, root.join("abs-final")).unwrap();
        symlink("../outside/secret", root.join("rel-final")).unwrap();
        symlink(base.join("outside"), root.join("abs-dir")).unwrap();
        symlink("../outside", root.join("rel-dir")).unwrap();
        symlink("../../outside/secret", root.join("sub/deep")).unwrap();
        let r = Root::open(&root, Links::Inside, "the checkout").unwrap();
        for path in [
            "abs-final",
            "rel-final",
            "abs-dir/secret",
            "rel-dir/secret",
            "sub/deep",
            "../outside/secret",
            "sub/../../outside/secret",
            secret.to_str().unwrap(),
        ] {
            let err = r.read_to_string(Path::new(path)).unwrap_err();
            assert!(matches!(err, BeneathError::Escapes { .. }), "{path}: {err}");
            let shown = err.to_string();
            assert!(shown.starts_with(path), "{shown}");
            assert!(
                shown.contains("escapes the checkout through a link"),
                "{shown}"
            );
            assert!(!shown.contains("TOKEN"), "{shown}");
        }
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_checkout_may_link_inside_itself() {
        let (base, root) = tree("inside");
        symlink("file", root.join("same-dir")).unwrap();
        symlink("../file", root.join("sub/up-one")).unwrap();
        symlink("sub", root.join("sub-link")).unwrap();
        let r = Root::open(&root, Links::Inside, "the checkout").unwrap();
        for (path, content) in [
            ("file", "in the tree"),
            ("same-dir", "in the tree"),
            ("sub/up-one", "in the tree"),
            ("sub-link/inner", "inner"),
            ("sub/../file", "in the tree"),
        ] {
            assert_eq!(
                r.read_to_string(Path::new(path)).unwrap(),
                content,
                "{path}"
            );
        }
        assert_eq!(r.kind(Path::new("sub-link")).unwrap(), Kind::Dir);
        assert_eq!(r.kind(Path::new("same-dir")).unwrap(), Kind::File);
        assert!(r.read_optional(Path::new("absent")).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn with_no_links_even_an_inner_link_is_refused() {
        let (base, root) = tree("nolinks");
        symlink("file", root.join("same-dir")).unwrap();
        symlink("sub", root.join("sub-link")).unwrap();
        symlink(base.join("outside"), root.join("abs-dir")).unwrap();
        let r = Root::open(&root, Links::None, "the volume").unwrap();
        for path in ["same-dir", "sub-link/inner", "abs-dir/secret"] {
            let err = r.read(Path::new(path)).unwrap_err();
            assert!(matches!(err, BeneathError::Link { .. }), "{path}: {err}");
            assert!(err.to_string().contains("is a link or passes through one"));
        }
        assert_eq!(r.kind(Path::new("same-dir")).unwrap(), Kind::Link);
        assert!(r.dir(Path::new("sub-link")).is_err());
        assert!(matches!(
            r.read(Path::new("../outside/secret")).unwrap_err(),
            BeneathError::Escapes { .. }
        ));
        let names: Vec<(String, Kind)> = r.entries().unwrap();
        assert!(
            names.contains(&("sub-link".into(), Kind::Link)),
            "{names:?}"
        );
        assert!(names.contains(&("sub".into(), Kind::Dir)), "{names:?}");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn writes_replace_a_planted_link_and_never_write_through_it() {
        let (base, root) = tree("write");
        let secret = base.join("outside/secret");
        symlink(&secret, root.join("marker")).unwrap();
        symlink(base.join("outside"), root.join("linked-dir")).unwrap();
        let r = Root::open(&root, Links::None, "the volume").unwrap();
        r.write_new(Path::new("marker"), b"value").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("marker")).unwrap(),
            "value"
        );
        assert!(!root.join("marker").is_symlink());
        let err = r
            .write_new(Path::new("linked-dir/marker"), b"value")
            .unwrap_err();
        assert!(matches!(err, BeneathError::Link { .. }), "{err}");
        assert!(r.make_dirs(Path::new("linked-dir/x")).is_err());
        assert!(r.make_dirs(Path::new("sub/new/deeper")).is_ok());
        assert!(root.join("sub/new/deeper").is_dir());
        r.remove_file(Path::new("marker")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&secret).unwrap(),
            "TOKEN-do-not-read"
        );
        assert_eq!(
            std::fs::read_dir(base.join("outside")).unwrap().count(),
            1,
            "nothing was written outside"
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_fifo_is_refused_unread() {
        let (base, root) = tree("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("pipe"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let r = Root::open(&root, Links::Inside, "the checkout").unwrap();
        let err = r.read(Path::new("pipe")).unwrap_err();
        assert!(matches!(err, BeneathError::NotAFile { .. }), "{err}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
