//! The walk: which paths are sent, in tar order, with the metadata their headers need.
//!
//! `ignore::WalkBuilder` serves as a plain walker (no filters, hidden files included, links
//! not followed, each directory's entries in byte order). What is sent is decided by
//! [`WalkFilter`], the `.dockerignore` module's model of BuildKit's filtered walk: every
//! path is matched with its parent directory's match state; when only the paths a build
//! reads are sent, a directory no include pattern can reach is not read at all; an
//! excluded directory is skipped only when no exception could match below it; otherwise
//! its header is held back and written, with its real metadata, just before the first path
//! below it that is sent. A Dockerfile from outside the context comes last.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::dockerignore::{Left, Visit, WalkFilter};
use crate::entry::{Entry, EntryKind, RawParts, Source};
use crate::plan::{relative, Plan};
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

/// Walks the context of `plan` and hands every entry to `emit`, in tar order.
pub(crate) fn run(
    plan: &Plan,
    emit: &mut dyn FnMut(Entry) -> Result<(), Error>,
) -> Result<Outcome, Error> {
    let pruned = Pruned::default();
    let filter = match &plan.includes {
        Some(includes) => WalkFilter::with_includes(&plan.rules, includes),
        None => WalkFilter::new(&plan.rules),
    };
    let mut walk = Walk {
        plan,
        filter,
        stack: Vec::new(),
        links: HashMap::new(),
        skip_below: None,
        outcome: Outcome::default(),
        emit,
    };
    for item in walker(plan, pruned.clone()) {
        match item {
            Err(err) => walk.error(err)?,
            Ok(entry) if entry.depth() == 0 => {}
            Ok(entry) => {
                walk.flush()?;
                walk.visit(entry)?;
            }
        }
    }
    walk.flush()?;
    if let Some(outside) = &plan.outside {
        (walk.emit)(Entry::new(
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
        ))?;
    }
    let mut outcome = walk.outcome;
    outcome.excluded += pruned.excluded.load(Ordering::Relaxed);
    outcome.unused += pruned.unused.load(Ordering::Relaxed);
    Ok(outcome)
}

/// Directories the walker did not read, by why.
#[derive(Clone, Default)]
struct Pruned {
    excluded: Arc<AtomicU64>,
    unused: Arc<AtomicU64>,
}

/// The plain walker. It skips (without reading) a directory that no include pattern can
/// reach, and an excluded directory when no exception could re-include anything below it,
/// and counts them in `pruned`.
fn walker(plan: &Plan, pruned: Pruned) -> ignore::Walk {
    let mut builder = ignore::WalkBuilder::new(&plan.root);
    builder
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let (rules, root) = (Arc::clone(&plan.rules), plan.root.clone());
    let includes = plan.includes.clone();
    builder.filter_entry(move |entry| {
        if !entry.file_type().is_some_and(|t| t.is_dir()) || entry.depth() == 0 {
            return true;
        }
        let rel = String::from_utf8_lossy(relative(&root, entry.path()));
        if let Some(includes) = &includes {
            if !includes.may_match_below(&rel) && !includes.explain(&rel).excluded {
                pruned.unused.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        let prune = rules.can_prune(&rel) && rules.explain(&rel).excluded;
        if prune {
            pruned.excluded.fetch_add(1, Ordering::Relaxed);
        }
        !prune
    });
    builder.build()
}

/// The state of one walk.
struct Walk<'a> {
    plan: &'a Plan,
    filter: WalkFilter<'a>,
    /// The directories above the current path (the root excluded), outermost first.
    stack: Vec<Frame>,
    /// The archive name of the first included name of each multiply linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    /// Skip entries deeper than this (below a directory the filter skipped).
    skip_below: Option<usize>,
    outcome: Outcome,
    emit: &'a mut dyn FnMut(Entry) -> Result<(), Error>,
}

/// A directory on the way down.
struct Frame {
    path: PathBuf,
    name: Vec<u8>,
    depth: usize,
    /// Why it is not sent (yet), if it is not.
    left: Option<Left>,
    emitted: bool,
}

impl Walk<'_> {
    /// A walker error: an excluded directory that cannot be read is no error (BuildKit),
    /// anything else is.
    fn error(&mut self, err: ignore::Error) -> Result<(), Error> {
        let path = error_path(&err).map(Path::to_path_buf);
        if let (Some(path), Some(top)) = (&path, self.stack.last()) {
            if *path == top.path && top.left.is_some() && !top.emitted {
                return Ok(());
            }
        }
        let message = err.to_string();
        let source = err
            .into_io_error()
            .unwrap_or_else(|| io::Error::other(message));
        Err(Error::Unreadable {
            path: path.unwrap_or_else(|| self.plan.root.clone()),
            source,
        })
    }

    /// Sends the directory just entered if it is included (held until now so that a
    /// directory that cannot be read fails before its header).
    fn flush(&mut self) -> Result<(), Error> {
        match self.stack.last() {
            Some(top) if top.left.is_none() && !top.emitted => self.emit_parents(),
            _ => Ok(()),
        }
    }

    fn visit(&mut self, entry: ignore::DirEntry) -> Result<(), Error> {
        let depth = entry.depth();
        while self.stack.last().is_some_and(|f| f.depth >= depth) {
            self.stack.pop();
        }
        match self.skip_below {
            Some(limit) if depth > limit => return Ok(()),
            _ => self.skip_below = None,
        }
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let path = entry.into_path();
        let name = relative(&self.plan.root, &path).to_vec();
        let visit = self.filter.visit(&String::from_utf8_lossy(&name), is_dir);
        let left = match visit {
            Visit::SkipDir(left) => {
                self.count(left, 1);
                self.skip_below = Some(depth);
                return Ok(());
            }
            Visit::Skip(left) => Some(left),
            Visit::Send { .. } => None,
        };
        if let Some(left) = left {
            self.count(left, 1);
        }
        if is_dir {
            self.stack.push(Frame {
                path,
                name,
                depth,
                left,
                emitted: false,
            });
            return Ok(());
        }
        if left.is_some() {
            return Ok(());
        }
        let meta = lstat(&path)?;
        if meta.file_type().is_socket() {
            self.outcome.warnings.push(Warning::SocketSkipped {
                path: String::from_utf8_lossy(&name).into_owned(),
            });
            return Ok(());
        }
        self.emit_parents()?;
        let entry = self.entry(path, name, &meta)?;
        (self.emit)(entry)
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
            if self.stack[i].emitted {
                continue;
            }
            self.stack[i].emitted = true;
            if let Some(left) = self.stack[i].left {
                // Sent after all, as a parent: not counted as left out.
                self.count(left, -1);
            }
            let frame = &self.stack[i];
            let meta = lstat(&frame.path)?;
            let (path, mut name) = (frame.path.clone(), frame.name.clone());
            name.push(b'/');
            let entry = self.entry(path, name, &meta)?;
            (self.emit)(entry)?;
        }
        Ok(())
    }

    /// The entry for `path`, archived as `name`.
    fn entry(&mut self, path: PathBuf, name: Vec<u8>, meta: &Metadata) -> Result<Entry, Error> {
        let file_type = meta.file_type();
        let mut raw = RawParts {
            target: Vec::new(),
            mtime: self.plan.mtime.apply(meta.mtime()),
            device: (0, 0),
            capability: read_capability(&path),
            source: Source::None,
        };
        let mode = meta.mode() & 0o7777;
        if !file_type.is_dir() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key) {
                raw.target = first.clone();
                return Ok(Entry::new(EntryKind::Hardlink, name, mode, 0, raw));
            }
            self.links.insert(key, name.clone());
        }
        let (kind, size) = if file_type.is_dir() {
            (EntryKind::Dir, 0)
        } else if file_type.is_file() {
            raw.source = Source::Disk {
                path,
                dev: meta.dev(),
                ino: meta.ino(),
            };
            (EntryKind::File, meta.len())
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|source| Error::Unreadable {
                path: path.clone(),
                source,
            })?;
            raw.target = target.into_os_string().into_vec();
            (EntryKind::Link, 0)
        } else if file_type.is_fifo() {
            (EntryKind::Fifo, 0)
        } else {
            let rdev = meta.rdev();
            raw.device = (libc::major(rdev), libc::minor(rdev));
            let kind = if file_type.is_char_device() {
                EntryKind::Char
            } else {
                EntryKind::Block
            };
            (kind, 0)
        };
        Ok(Entry::new(kind, name, mode, size, raw))
    }
}

fn lstat(path: &Path) -> Result<Metadata, Error> {
    std::fs::symlink_metadata(path).map_err(|source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// The path an `ignore` error is about.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

/// The `security.capability` attribute, as the docker CLI records it: a revision 3 value
/// (with a namespace root uid) is rewritten to revision 2. Other attributes are dropped.
fn read_capability(path: &Path) -> Option<Vec<u8>> {
    let path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut value = vec![0u8; 64];
    // SAFETY: both names are NUL-terminated C strings and `value` is writable for
    // `value.len()` bytes; lgetxattr writes at most that many.
    let len = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    let len = usize::try_from(len).ok().filter(|&len| len > 0)?;
    value.truncate(len);
    Some(normalize_capability(value))
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
