//! Errors (each names the path or file it is about) and warnings.

use std::io;
use std::path::PathBuf;

use serde::Serialize;

/// Why a context could not be listed or archived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The context directory cannot be resolved or is not a directory.
    #[error("context directory {}: {source}", path.display())]
    Context {
        /// The directory as given.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The Dockerfile cannot be found or read.
    #[error("cannot locate Dockerfile {}: {source}", path.display())]
    Dockerfile {
        /// The Dockerfile as given.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The ignore rules are invalid; nothing was written.
    #[error("{}: line {line}: {message}", file.as_ref().map_or_else(|| "ignore rules".to_owned(), |f| f.display().to_string()))]
    Ignore {
        /// The ignore file, or `None` for rules given as text.
        file: Option<PathBuf>,
        /// 1-based line of the bad pattern.
        line: usize,
        /// What is wrong, in patternmatcher's words.
        message: String,
    },
    /// A path the build reads is not a valid pattern for BuildKit's file sync (a `COPY`
    /// source such as `a[`); nothing was written.
    #[error("invalid context path {path:?} (a path the build reads): {message}")]
    Include {
        /// The path, as resolved for the file sync.
        path: String,
        /// What is wrong, in patternmatcher's words.
        message: String,
    },
    /// A path in the context (or the ignore file) cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The path on disk.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A file's size changed between the walk and the end of its data.
    #[error("{} changed size while being archived: expected {expected} bytes, found {actual}", path.display())]
    SizeChanged {
        /// The path on disk.
        path: PathBuf,
        /// The size seen by the walk (and written in the header).
        expected: u64,
        /// The size found while reading (at least this many bytes when it grew).
        actual: u64,
    },
    /// A path was replaced by something else between the walk and reading it.
    #[error("{} was replaced while being archived", path.display())]
    Replaced {
        /// The path on disk.
        path: PathBuf,
    },
    /// An absolute path asked about is not inside the context.
    #[error("{} is not inside the context {}", path.display(), context.display())]
    NotInContext {
        /// The path as given.
        path: PathBuf,
        /// The context directory.
        context: PathBuf,
    },
    /// `SOURCE_DATE_EPOCH` is not a whole number of seconds.
    #[error("invalid SOURCE_DATE_EPOCH {value:?}: expected an integer number of seconds")]
    SourceDateEpoch {
        /// The value as found.
        value: String,
    },
    /// The output could not be written.
    #[error("cannot write the archive: {source}")]
    Write {
        /// What went wrong.
        source: io::Error,
    },
}

/// Something skipped that the caller should hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// A Unix socket cannot be archived; it was left out (as the docker CLI does).
    SocketSkipped {
        /// The socket's path in the context.
        path: String,
    },
}

impl Warning {
    /// The context path the warning is about.
    pub fn path(&self) -> &str {
        match self {
            Warning::SocketSkipped { path } => path,
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::SocketSkipped { path } => {
                write!(f, "{path}: sockets cannot be archived; skipped")
            }
        }
    }
}
