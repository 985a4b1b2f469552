//! Totals of one context: entries, bytes, what was left out, where the bytes are.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::entry::Entry;
use crate::header;

/// How many top-level directories [`Summary::top_dirs`] keeps.
pub const TOP_DIRS: usize = 10;

/// The totals of one context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Entries in the archive.
    pub entries: u64,
    /// Data bytes of the files in the archive (hardlinks counted once).
    pub bytes: u64,
    /// Length of the uncompressed tar: headers, padded data and the end-of-archive blocks.
    pub archive_bytes: u64,
    /// Paths the ignore rules left out; an excluded directory that was not walked counts once.
    pub excluded: u64,
    /// Paths left out because the build does not read them (with [`crate::Include::Paths`]);
    /// a directory that was not walked counts once.
    pub unused: u64,
    /// The largest top-level directories by data bytes (at most [`TOP_DIRS`]), largest first.
    pub top_dirs: Vec<DirBytes>,
    /// Things skipped that the caller should report (sockets).
    pub warnings: Vec<crate::Warning>,
    /// The Dockerfile's name in the archive (the build's `dockerfile` parameter), if any.
    pub dockerfile: Option<String>,
    /// The ignore file the rules came from, if any.
    pub ignore_file: Option<PathBuf>,
}

/// The data bytes below one top-level directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirBytes {
    /// The directory's archive name (ends in `/`).
    pub path: String,
    /// Data bytes of the files below it.
    pub bytes: u64,
    /// Entries below it, itself included.
    pub entries: u64,
}

/// Adds entries up while they are listed or written.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    entries: u64,
    bytes: u64,
    archive_bytes: u64,
    dirs: BTreeMap<String, (u64, u64)>,
}

impl Totals {
    pub fn add(&mut self, entry: &Entry) {
        self.entries += 1;
        self.bytes += entry.size;
        self.archive_bytes += header::encoded_len(entry) + header::padded(entry.size);
        // Directories end in '/', so anything with a '/' is (below) a top-level directory.
        let Some((top, _)) = entry.path.split_once('/') else {
            return;
        };
        // Looked up by the name alone: most entries are below a directory seen before.
        let slot = match self.dirs.get_mut(top) {
            Some(slot) => slot,
            None => self.dirs.entry(top.to_owned()).or_default(),
        };
        slot.0 += entry.size;
        slot.1 += 1;
    }

    pub fn finish(self, outcome: crate::walk::Outcome, plan: &crate::plan::Plan) -> Summary {
        let mut top_dirs: Vec<DirBytes> = self
            .dirs
            .into_iter()
            .map(|(top, (bytes, entries))| DirBytes {
                path: format!("{top}/"),
                bytes,
                entries,
            })
            .collect();
        top_dirs.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
        top_dirs.truncate(TOP_DIRS);
        Summary {
            entries: self.entries,
            bytes: self.bytes,
            archive_bytes: self.archive_bytes + header::TRAILER_LEN,
            excluded: outcome.excluded,
            unused: outcome.unused,
            top_dirs,
            warnings: outcome.warnings,
            dockerfile: plan.dockerfile_name.clone(),
            ignore_file: plan.ignore_file.clone(),
        }
    }
}
