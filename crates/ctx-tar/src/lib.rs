//! Stream a Docker build context as the tar BuildKit would have received.
//!
//! `ctx-tar` walks a context directory, applies `.dockerignore` rules the way BuildKit's
//! file walker does, and writes the tar the Docker Engine reads for `POST /build`:
//! USTAR headers (PAX only where needed), uid/gid 0, mtimes in whole seconds, symlinks
//! stored as links and never followed, hardlinks as links, devices and FIFOs archived but
//! never opened, sockets skipped with a warning, the end-of-archive blocks always written.
//! The same tree gives the same bytes, run after run.
//!
//! An archive is never held in memory: [`write_tar`] writes to any [`std::io::Write`], and
//! with the `tokio` feature `stream` produces it while it is consumed, holding at most a
//! fixed number of bytes whatever the size of the context.
//!
//! ```no_run
//! use ctx_tar::{ContextSpec, EntryKind};
//!
//! # fn main() -> Result<(), ctx_tar::Error> {
//! let spec = ContextSpec::new("path/to/context");
//! // What would be sent, in tar order.
//! let listing = ctx_tar::list(&spec)?;
//! for entry in &listing.entries {
//!     let target = entry.target.as_deref().map(|t| format!(" -> {t}")).unwrap_or_default();
//!     println!("{} {:04o} {} {}{target}", entry.kind, entry.mode, entry.size, entry.path);
//! }
//! println!("{} entries, {} bytes", listing.summary.entries, listing.summary.bytes);
//!
//! // The tar itself.
//! let file = std::fs::File::create("context.tar").expect("create");
//! let summary = ctx_tar::write_tar(&spec, file)?;
//! assert_eq!(summary.entries, listing.summary.entries);
//! # let _ = EntryKind::File;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod dockerignore;

mod archive;
mod entry;
mod error;
mod follow;
mod header;
mod plan;
mod spec;
#[cfg(feature = "tokio")]
mod stream;
mod summary;
mod walk;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

pub use dockerignore::{Decision, IgnoreRules, Rule};
pub use entry::{Entry, EntryKind};
pub use error::{Error, Warning};
pub use spec::{Compression, ContextSpec, Dockerfile, IgnoreSource, Include, MtimePolicy};
#[cfg(feature = "tokio")]
pub use stream::{stream, StreamStats, TarStream, BUFFER_BOUND, CHANNEL_CHUNKS, CHUNK_SIZE};
pub use summary::{DirBytes, Summary, TOP_DIRS};

/// What would be sent: every entry in tar order, and the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The entries, in the order the tar holds them.
    pub entries: Vec<Entry>,
    /// The totals (for the uncompressed tar).
    pub summary: Summary,
}

/// Lists what [`write_tar`] would send, without reading file data.
///
/// Each regular file is opened (and closed) so that a file the tar could not read fails
/// here too, naming the path.
pub fn list(spec: &ContextSpec) -> Result<Listing, Error> {
    let plan = plan::resolve(spec)?;
    let mut totals = summary::Totals::default();
    let mut entries = Vec::new();
    let outcome = walk::run(&plan, &mut |entry, file| {
        // The walk opened the file, which is all a listing needs of it.
        drop(file);
        totals.add(&entry);
        entries.push(entry);
        Ok(())
    })?;
    let summary = totals.finish(outcome, &plan);
    Ok(Listing { entries, summary })
}

/// Checks a spec without reading the context: the context directory, the Dockerfile, the
/// ignore rules and the paths to follow resolve, as [`write_tar`] would resolve them first.
pub fn check(spec: &ContextSpec) -> Result<(), Error> {
    plan::resolve(spec).map(drop)
}

/// Writes the tar of the context to `out` (gzip-compressed if the spec says so).
///
/// Nothing is written when the spec cannot be resolved (missing context or Dockerfile,
/// invalid ignore rules). A file that cannot be read or changes size while read fails
/// with an error naming it; the output is then incomplete and must be discarded.
pub fn write_tar<W: Write>(spec: &ContextSpec, out: W) -> Result<Summary, Error> {
    let plan = Arc::new(plan::resolve(spec)?);
    let mut out = BufWriter::with_capacity(archive::READ_BUFFER, out);
    let summary = match spec.compression {
        Compression::None => archive::write(plan, &mut out)?,
        Compression::Gzip => {
            let mut gz = gzip(&mut out);
            let summary = archive::write(plan, &mut gz)?;
            gz.finish().map_err(archive::write_error)?;
            summary
        }
    };
    out.flush().map_err(archive::write_error)?;
    Ok(summary)
}

/// A gzip writer with Go's header: no name, mtime 0, XFL 0, OS 255.
fn gzip<W: Write>(out: W) -> flate2::write::GzEncoder<W> {
    flate2::GzBuilder::new()
        .operating_system(255)
        .write(out, flate2::Compression::default())
}

/// Why a path is or is not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The path asked about, relative to the context.
    pub path: String,
    /// True when the rules exclude the path. An excluded directory is still sent as the
    /// parent of a path below it that an exception re-includes.
    pub excluded: bool,
    /// The rule that decided, if any.
    pub rule: Option<ExplainedRule>,
    /// True when the path is the Dockerfile, which is sent whatever the rules say.
    pub dockerfile: bool,
    /// False when only the paths a build reads are sent ([`Include::Paths`]) and none of
    /// them covers this one. A directory that is not used is still sent as the parent of
    /// a used path below it.
    pub used: bool,
    /// Whether the path exists in the context (the decision is what would happen if it did).
    pub exists: bool,
    /// The ignore file the rules came from, if any.
    pub ignore_file: Option<PathBuf>,
}

/// A rule, as shown by [`explain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedRule {
    /// 1-based line in the ignore file.
    pub line: usize,
    /// The rule as written.
    pub text: String,
    /// True for `!` exceptions.
    pub exception: bool,
}

/// Explains the decision for one path: relative to the context, `/`-separated, or an
/// absolute path inside the context (one outside it is [`Error::NotInContext`]).
pub fn explain(spec: &ContextSpec, path: &str) -> Result<Explanation, Error> {
    let plan = plan::resolve(spec)?;
    let relative = context_relative(&plan.root, &spec.root, path)?;
    let mut clean = relative.trim_start_matches("./").trim_end_matches('/');
    if clean.is_empty() {
        clean = ".";
    }
    let exists = plan.root.join(clean).symlink_metadata().is_ok();
    let dockerfile = plan.forced.as_deref() == Some(clean.as_bytes());
    // The Dockerfile is sent whatever the rules say: show the user's rule that would have
    // excluded it, not the exception added for it. BuildKit never matches the root itself.
    let rules = if dockerfile {
        &plan.user_rules
    } else {
        &plan.rules
    };
    let decision = if clean == "." {
        Decision {
            excluded: false,
            rule: None,
        }
    } else {
        rules.explain(clean)
    };
    let rule = decision
        .rule
        .filter(|&i| i < plan.user_rules.rules().len())
        .and_then(|i| rules.rules().get(i))
        .map(|r| ExplainedRule {
            line: r.line,
            text: r.text.clone(),
            exception: r.exception,
        });
    // For include patterns, "excluded" means "matched".
    let used = dockerfile
        || clean == "."
        || plan
            .includes
            .as_ref()
            .is_none_or(|includes| includes.explain(clean).excluded);
    Ok(Explanation {
        path: clean.to_owned(),
        excluded: decision.excluded && !dockerfile,
        rule,
        dockerfile,
        used,
        exists,
        ignore_file: plan.ignore_file,
    })
}

/// `path` relative to the context: as given when relative; an absolute one with the context
/// directory (as given, or with its links resolved) taken off.
fn context_relative(
    root: &std::path::Path,
    given: &std::path::Path,
    path: &str,
) -> Result<String, Error> {
    let candidate = std::path::Path::new(path);
    if !candidate.is_absolute() {
        return Ok(path.to_owned());
    }
    let absolute_given = std::path::absolute(given).unwrap_or_else(|_| given.to_path_buf());
    for base in [root, absolute_given.as_path()] {
        if let Ok(rest) = candidate.strip_prefix(base) {
            return Ok(rest.to_string_lossy().into_owned());
        }
    }
    Err(Error::NotInContext {
        path: candidate.to_path_buf(),
        context: root.to_path_buf(),
    })
}
