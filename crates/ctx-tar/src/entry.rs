//! One entry of the archive, as listed and as written.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// The type of an archive entry (the tar typeflag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A directory (`'5'`).
    Dir,
    /// A regular file with its data (`'0'`).
    File,
    /// A symbolic link, stored with its target and never followed (`'2'`).
    Link,
    /// A later name of an already archived file (`'1'`); the target is that entry's path.
    Hardlink,
    /// A named pipe (`'6'`); never opened.
    Fifo,
    /// A character device (`'3'`).
    Char,
    /// A block device (`'4'`).
    Block,
}

impl EntryKind {
    /// The word used in listings: `dir file link hardlink fifo char block`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Dir => "dir",
            EntryKind::File => "file",
            EntryKind::Link => "link",
            EntryKind::Hardlink => "hardlink",
            EntryKind::Fifo => "fifo",
            EntryKind::Char => "char",
            EntryKind::Block => "block",
        }
    }

    /// The tar typeflag byte.
    pub fn typeflag(self) -> u8 {
        match self {
            EntryKind::File => b'0',
            EntryKind::Hardlink => b'1',
            EntryKind::Link => b'2',
            EntryKind::Char => b'3',
            EntryKind::Block => b'4',
            EntryKind::Dir => b'5',
            EntryKind::Fifo => b'6',
        }
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry, in tar order: what `--list` prints and what the tar header holds.
///
/// Serialises (serde) to `{"type", "path", "mode", "size", "target"?}`, with the exact
/// bytes of a name or link target that is not UTF-8 as `path_bytes` / `target_bytes` (an
/// array of numbers) in place of `path` / `target`: a listing never holds U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry type.
    pub kind: EntryKind,
    /// The archive name: relative, `/`-separated, directories end in `/`. Bytes that are
    /// not UTF-8 are shown as U+FFFD here; [`Entry::path_bytes`] has the exact name.
    pub path: String,
    /// Permission bits plus setuid, setgid and sticky (`0o7777` at most).
    pub mode: u32,
    /// Data bytes in the archive: the file size for files, 0 for everything else.
    pub size: u64,
    /// The link target for links and hardlinks (lossy UTF-8, like `path`).
    pub target: Option<String>,
    pub(crate) raw: Raw,
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &self.kind)?;
        match std::str::from_utf8(&self.raw.name) {
            Ok(path) => map.serialize_entry("path", path)?,
            Err(_) => map.serialize_entry("path_bytes", &self.raw.name)?,
        }
        map.serialize_entry("mode", &self.mode)?;
        map.serialize_entry("size", &self.size)?;
        if self.target.is_some() {
            match std::str::from_utf8(&self.raw.target) {
                Ok(target) => map.serialize_entry("target", target)?,
                Err(_) => map.serialize_entry("target_bytes", &self.raw.target)?,
            }
        }
        map.end()
    }
}

/// What the writer needs beyond the listed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raw {
    pub name: Vec<u8>,
    pub target: Vec<u8>,
    pub mtime: i64,
    pub device: (u32, u32),
    pub capability: Option<Vec<u8>>,
    pub source: Source,
}

/// Where a file's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// No data (everything but regular files).
    None,
    /// A file on disk, identified by the device and inode the walk saw.
    Disk { path: PathBuf, dev: u64, ino: u64 },
    /// Bytes read up front (a Dockerfile from outside the context).
    Memory(Arc<[u8]>),
}

impl Entry {
    /// The exact archive name, as bytes.
    pub fn path_bytes(&self) -> &[u8] {
        &self.raw.name
    }

    /// The exact link target, as bytes (empty when the entry is not a link).
    pub fn target_bytes(&self) -> &[u8] {
        &self.raw.target
    }

    /// The modification time written, in whole seconds since the Unix epoch.
    pub fn mtime(&self) -> i64 {
        self.raw.mtime
    }

    /// Major and minor numbers of a device entry.
    pub fn device(&self) -> Option<(u32, u32)> {
        matches!(self.kind, EntryKind::Char | EntryKind::Block).then_some(self.raw.device)
    }

    /// The `security.capability` extended attribute recorded for this entry, if any.
    pub fn capability(&self) -> Option<&[u8]> {
        self.raw.capability.as_deref()
    }

    /// The path on disk the data is read from, when it is a file in the context.
    pub fn source_path(&self) -> Option<&std::path::Path> {
        match &self.raw.source {
            Source::Disk { path, .. } => Some(path),
            _ => None,
        }
    }

    pub(crate) fn new(
        kind: EntryKind,
        name: Vec<u8>,
        mode: u32,
        size: u64,
        raw: RawParts,
    ) -> Entry {
        let path = String::from_utf8_lossy(&name).into_owned();
        let target = matches!(kind, EntryKind::Link | EntryKind::Hardlink)
            .then(|| String::from_utf8_lossy(&raw.target).into_owned());
        Entry {
            kind,
            path,
            mode,
            size,
            target,
            raw: Raw {
                name,
                target: raw.target,
                mtime: raw.mtime,
                device: raw.device,
                capability: raw.capability,
                source: raw.source,
            },
        }
    }
}

/// The writer-only parts of a new entry.
pub(crate) struct RawParts {
    pub target: Vec<u8>,
    pub mtime: i64,
    pub device: (u32, u32),
    pub capability: Option<Vec<u8>>,
    pub source: Source,
}
