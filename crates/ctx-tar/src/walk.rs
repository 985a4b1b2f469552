//! The walk: which paths are sent, in tar order, with the metadata their headers need.
//!
//! A depth-first walk over open directories: each directory is read once (its entries
//! sorted by the bytes of their names), and everything below it is looked at relative to
//! its file descriptor (`fstatat`, `openat`, `readlinkat`), so no call resolves a long path
//! again, and a regular file is opened once and described by `fstat` on that descriptor:
//! the metadata in its header is the file the data comes from. Links are never followed.
//!
//! What is sent is decided by [`WalkFilter`], the `.dockerignore` module's model of
//! BuildKit's filtered walk: every path is matched with its parent directory's match
//! state; when only the paths a build reads are sent, a directory no include pattern can
//! reach is not read at all; an excluded directory is skipped only when no exception could
//! match below it; otherwise its header is held back and written, with its real metadata,
//! just before the first path below it that is sent. A Dockerfile from outside the context
//! comes last.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::dockerignore::{Left, Visit, WalkFilter};
use crate::entry::{Entry, EntryKind, RawParts, Source};
use crate::plan::Plan;
use crate::{Error, Warning};

/// What a finished walk reports besides its entries.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Paths the rules left out and not sent (an excluded directory not walked counts
    /// once; one sent as a parent does not count).
    pub excluded: u64,
    /// Paths no include pattern covers (the build does not read them), counted the same way.
    pub unused: u64,
    pub warnings: Vec<Warning>,
}

/// Receives each entry in tar order, with the open file a regular file's data is read
/// from.
pub(crate) type Emit<'a> = dyn FnMut(Entry, Option<File>) -> Result<(), Error> + 'a;

/// Walks the context of `plan` and hands every entry to `emit`, in tar order.
pub(crate) fn run(plan: &Plan, emit: &mut Emit<'_>) -> Result<Outcome, Error> {
    let filter = match &plan.includes {
        Some(includes) => WalkFilter::with_includes(&plan.rules, includes),
        None => WalkFilter::new(&plan.rules),
    };
    let mut walk = Walk {
        plan,
        filter,
        stack: Vec::new(),
        links: HashMap::new(),
        outcome: Outcome::default(),
        emit,
    };
    let root = rustix::fs::open(
        &plan.root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| unreadable(plan.root.clone(), e))?;
    let (dir, names) = read_dir(root).map_err(|e| unreadable(plan.root.clone(), e))?;
    walk.stack.push(Level {
        dir,
        path: plan.root.clone(),
        name: Vec::new(),
        names,
        next: 0,
        header: None,
        left: None,
    });
    walk.walk()?;
    if let Some(outside) = &plan.outside {
        (walk.emit)(
            Entry::new(
                EntryKind::File,
                outside.name.clone().into_bytes(),
                0o600,
                outside.data.len() as u64,
                RawParts {
                    target: Vec::new(),
                    mtime: outside.mtime,
                    device: (0, 0),
                    capability: None,
                    source: Source::Memory(Arc::clone(&outside.data)),
                },
            ),
            None,
        )?;
    }
    Ok(walk.outcome)
}

/// The state of one walk.
struct Walk<'a, 'e> {
    plan: &'a Plan,
    filter: WalkFilter<'a>,
    /// The directories from the root down to the one being read.
    stack: Vec<Level>,
    /// The archive name of the first included name of each multiply linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    outcome: Outcome,
    emit: &'e mut Emit<'e>,
}

/// A directory being read.
struct Level {
    dir: Dir,
    /// Its path on disk, for errors.
    path: PathBuf,
    /// Its archive name without the trailing `/` (empty for the root).
    name: Vec<u8>,
    /// Its entries, sorted by name.
    names: Names,
    next: usize,
    /// Its header while it is not sent yet (the root has none).
    header: Option<Entry>,
    /// Why it is not sent (yet), if it is not.
    left: Option<Left>,
}

impl Walk<'_, '_> {
    fn walk(&mut self) -> Result<(), Error> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(());
            };
            let Some((name, mut file_type)) = top.names.get(top.next).cloned() else {
                self.stack.pop();
                continue;
            };
            top.next += 1;
            let mut rel = top.name.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(&name);
            let mut stat = None;
            if file_type == FileType::Unknown {
                let st = self.stat_at(&name)?;
                file_type = FileType::from_raw_mode(st.st_mode);
                stat = Some(st);
            }
            let is_dir = file_type == FileType::Directory;
            let left = match self.filter.visit(&String::from_utf8_lossy(&rel), is_dir) {
                Visit::SkipDir(left) => {
                    self.count(left, 1);
                    continue;
                }
                Visit::Skip(left) => {
                    self.count(left, 1);
                    Some(left)
                }
                Visit::Send { .. } => None,
            };
            if is_dir {
                self.enter(&name, rel, left)?;
            } else if left.is_none() {
                self.send(&name, rel, file_type, stat)?;
            }
        }
    }

    /// Opens and reads directory `name` of the current one. One that is not sent (yet)
    /// and cannot be read is no error (BuildKit's walker skips it).
    fn enter(&mut self, name: &[u8], rel: Vec<u8>, left: Option<Left>) -> Result<(), Error> {
        let top = self.stack.last().expect("a directory is being read");
        let path = top.path.join(OsStr::from_bytes(name));
        let opened = rustix::fs::openat(
            top.dir.fd().map_err(|e| unreadable(top.path.clone(), e))?,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .and_then(|fd| {
            let st = rustix::fs::fstat(&fd)?;
            let capability = read_capability(&fd);
            let (dir, names) = read_dir(fd)?;
            Ok((dir, names, st, capability))
        });
        let (dir, names, st, capability) = match opened {
            Ok(opened) => opened,
            Err(_) if left.is_some() => return Ok(()),
            Err(e) => return Err(unreadable(path, e)),
        };
        let mut header_name = rel.clone();
        header_name.push(b'/');
        let raw = RawParts {
            target: Vec::new(),
            mtime: self.plan.mtime.apply(st.st_mtime),
            device: (0, 0),
            capability,
            source: Source::None,
        };
        let header = Entry::new(EntryKind::Dir, header_name, mode_bits(&st), 0, raw);
        self.stack.push(Level {
            dir,
            path,
            name: rel,
            names,
            next: 0,
            header: Some(header),
            left,
        });
        if left.is_none() {
            self.emit_parents()?;
        }
        Ok(())
    }

    /// Sends entry `name` (not a directory) of the current directory, after the parents
    /// not sent yet.
    fn send(
        &mut self,
        name: &[u8],
        rel: Vec<u8>,
        file_type: FileType,
        stat: Option<Stat>,
    ) -> Result<(), Error> {
        if file_type == FileType::Socket {
            self.outcome.warnings.push(Warning::SocketSkipped {
                path: String::from_utf8_lossy(&rel).into_owned(),
            });
            return Ok(());
        }
        let (entry, file) = if file_type == FileType::RegularFile {
            self.file(name, rel)?
        } else {
            let st = match stat {
                Some(st) => st,
                None => self.stat_at(name)?,
            };
            (self.special(name, rel, &st)?, None)
        };
        self.emit_parents()?;
        (self.emit)(entry, file)
    }

    /// A regular file, opened (never through a link) before its header is written; what
    /// `fstat` says of the open file is what the header holds.
    fn file(&mut self, name: &[u8], rel: Vec<u8>) -> Result<(Entry, Option<File>), Error> {
        let top = self.stack.last().expect("a directory is being read");
        let path = top.path.join(OsStr::from_bytes(name));
        let fd = rustix::fs::openat(
            top.dir.fd().map_err(|e| unreadable(top.path.clone(), e))?,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        );
        let fd = match fd {
            Ok(fd) => fd,
            // A link now where the walk saw a file.
            Err(Errno::LOOP) => return Err(Error::Replaced { path }),
            Err(e) => return Err(unreadable(path, e)),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| unreadable(path.clone(), e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Error::Replaced { path });
        }
        let capability = read_capability(&fd);
        let raw = RawParts {
            target: Vec::new(),
            mtime: self.plan.mtime.apply(st.st_mtime),
            device: (0, 0),
            capability,
            source: Source::Disk {
                path,
                dev: st.st_dev,
                ino: st.st_ino,
            },
        };
        if let Some(first) = self.hardlink_of(&rel, &st) {
            let mut raw = raw;
            raw.target = first;
            raw.source = Source::None;
            return Ok((
                Entry::new(EntryKind::Hardlink, rel, mode_bits(&st), 0, raw),
                None,
            ));
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let entry = Entry::new(EntryKind::File, rel, mode_bits(&st), size, raw);
        Ok((entry, Some(File::from(fd))))
    }

    /// A symlink, FIFO or device: never opened.
    fn special(&mut self, name: &[u8], rel: Vec<u8>, st: &Stat) -> Result<Entry, Error> {
        let top = self.stack.last().expect("a directory is being read");
        let path = top.path.join(OsStr::from_bytes(name));
        let mut raw = RawParts {
            target: Vec::new(),
            mtime: self.plan.mtime.apply(st.st_mtime),
            device: (0, 0),
            capability: read_link_capability(&path),
            source: Source::None,
        };
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => {
                let dirfd = top.dir.fd().map_err(|e| unreadable(top.path.clone(), e))?;
                let target = rustix::fs::readlinkat(dirfd, name, Vec::new())
                    .map_err(|e| unreadable(path.clone(), e))?;
                raw.target = target.into_bytes();
                EntryKind::Link
            }
            FileType::Fifo => EntryKind::Fifo,
            FileType::CharacterDevice | FileType::BlockDevice => {
                let rdev = st.st_rdev;
                raw.device = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
                if FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice {
                    EntryKind::Char
                } else {
                    EntryKind::Block
                }
            }
            // A file or directory now where the walk saw something else.
            _ => return Err(Error::Replaced { path }),
        };
        if let Some(first) = self.hardlink_of(&rel, st) {
            raw.target = first;
            return Ok(Entry::new(EntryKind::Hardlink, rel, mode_bits(st), 0, raw));
        }
        Ok(Entry::new(kind, rel, mode_bits(st), 0, raw))
    }

    /// For a multiply linked inode seen before, the archive name it was first sent as.
    fn hardlink_of(&mut self, rel: &[u8], st: &Stat) -> Option<Vec<u8>> {
        if st.st_nlink <= 1 {
            return None;
        }
        let key = (st.st_dev, st.st_ino);
        if let Some(first) = self.links.get(&key) {
            return Some(first.clone());
        }
        self.links.insert(key, rel.to_vec());
        None
    }

    /// `fstatat` of entry `name` of the current directory, links not followed.
    fn stat_at(&self, name: &[u8]) -> Result<Stat, Error> {
        let top = self.stack.last().expect("a directory is being read");
        let dirfd = top.dir.fd().map_err(|e| unreadable(top.path.clone(), e))?;
        rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| unreadable(top.path.join(OsStr::from_bytes(name)), e))
    }

    /// Adds `n` (which may be -1) to the count of paths left out for `left`.
    fn count(&mut self, left: Left, n: i64) {
        let counter = match left {
            Left::Excluded => &mut self.outcome.excluded,
            Left::NotUsed => &mut self.outcome.unused,
        };
        *counter = counter.saturating_add_signed(n);
    }

    /// Sends every directory on the stack not sent yet, outermost first.
    fn emit_parents(&mut self) -> Result<(), Error> {
        for i in 0..self.stack.len() {
            let Some(header) = self.stack[i].header.take() else {
                continue;
            };
            if let Some(left) = self.stack[i].left.take() {
                // Sent after all, as a parent: not counted as left out.
                self.count(left, -1);
            }
            (self.emit)(header, None)?;
        }
        Ok(())
    }
}

/// A directory's entries: each name with the type the directory gives (`Unknown` where it
/// gives none).
type Names = Vec<(Vec<u8>, FileType)>;

/// Reads a whole directory: its entries but `.` and `..`, sorted by the bytes of their
/// names.
fn read_dir(fd: OwnedFd) -> Result<(Dir, Names), Errno> {
    let mut dir = Dir::new(fd)?;
    let mut names = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        names.push((name.to_vec(), entry.file_type()));
    }
    names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok((dir, names))
}

fn unreadable(path: PathBuf, errno: Errno) -> Error {
    Error::Unreadable {
        path,
        source: io::Error::from(errno),
    }
}

/// Permission bits plus setuid, setgid and sticky: no file-type bits.
fn mode_bits(st: &Stat) -> u32 {
    st.st_mode & 0o7777
}

/// The `security.capability` attribute of an open file or directory, as the docker CLI
/// records it (see [`normalize_capability`]). Other attributes are dropped.
fn read_capability(fd: impl AsFd) -> Option<Vec<u8>> {
    let mut value = vec![0u8; 64];
    let len = rustix::fs::fgetxattr(fd, "security.capability", &mut value[..]).ok()?;
    (len > 0).then(|| {
        value.truncate(len);
        normalize_capability(value)
    })
}

/// The same for a symlink, FIFO or device, which is never opened.
fn read_link_capability(path: &std::path::Path) -> Option<Vec<u8>> {
    let mut value = vec![0u8; 64];
    let len = rustix::fs::lgetxattr(path, "security.capability", &mut value[..]).ok()?;
    (len > 0).then(|| {
        value.truncate(len);
        normalize_capability(value)
    })
}

/// A `VFS_CAP_REVISION_3` value (with a namespace root uid) becomes revision 2, cut to
/// revision 2's 20 bytes: the root uid means nothing outside the namespace it came from.
fn normalize_capability(mut value: Vec<u8>) -> Vec<u8> {
    const REVISION_OFFSET: usize = 3;
    const REVISION_2_LEN: usize = 20;
    if value.len() > REVISION_OFFSET && value[REVISION_OFFSET] == 3 {
        value[REVISION_OFFSET] = 2;
        value.truncate(REVISION_2_LEN);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::normalize_capability;

    #[test]
    fn capability_revision_3_becomes_revision_2() {
        let mut v3 = vec![1, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        v3.extend_from_slice(&1000u32.to_le_bytes());
        let v2 = normalize_capability(v3);
        assert_eq!(
            v2,
            [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(normalize_capability(v2.clone()), v2);
        assert_eq!(normalize_capability(vec![3]), [3]);
    }
}
