//! What to archive: the context directory, its Dockerfile, the ignore rules, and how to
//! write the result.

use std::path::PathBuf;

use crate::Error;

/// Everything that decides the bytes of one build context.
///
/// Build one with [`ContextSpec::new`] and change the public fields as needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSpec {
    /// The context directory. Symlinks in this path are resolved once, like `docker build`.
    pub root: PathBuf,
    /// Which Dockerfile the build uses; it is always sent.
    pub dockerfile: Dockerfile,
    /// Where the `.dockerignore` rules come from.
    pub ignore: IgnoreSource,
    /// Which paths are sent before the ignore rules apply: all of them, or only those a
    /// build reads.
    pub include: Include,
    /// How modification times are written.
    pub mtime: MtimePolicy,
    /// Whether the tar is compressed (listings are not affected).
    pub compression: Compression,
}

impl ContextSpec {
    /// A spec for `root` with the defaults of `docker build <root>`: the context's
    /// `Dockerfile`, rules found automatically, every path, mtimes kept, no compression.
    pub fn new(root: impl Into<PathBuf>) -> ContextSpec {
        ContextSpec {
            root: root.into(),
            dockerfile: Dockerfile::Default,
            ignore: IgnoreSource::Auto,
            include: Include::All,
            mtime: MtimePolicy::Keep,
            compression: Compression::None,
        }
    }
}

/// Which Dockerfile the build reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Dockerfile {
    /// `<root>/Dockerfile` (or `<root>/dockerfile` when only that exists), if there is one.
    #[default]
    Default,
    /// This file, like `docker build -f`: a relative path is taken from the current
    /// directory. It must exist. Outside the context it is appended to the tar under a
    /// generated `.dockerfile.<hex>` name.
    Path(PathBuf),
    /// This text, from no file (`docker build -f -`): appended to the tar under a generated
    /// `.dockerfile.<hex>` name, like a Dockerfile outside the context (mtime 0, or the
    /// clamp).
    Text(String),
    /// No Dockerfile: archive the context only.
    None,
}

impl Dockerfile {
    /// The file [`Dockerfile::Default`] names in the context `root`: `<root>/Dockerfile`, or
    /// `<root>/dockerfile` when only that exists (as buildx picks it); `None` when neither
    /// does.
    pub fn default_in(root: &std::path::Path) -> Option<PathBuf> {
        let upper = root.join("Dockerfile");
        let lower = root.join("dockerfile");
        if upper.symlink_metadata().is_ok() {
            Some(upper)
        } else if lower.symlink_metadata().is_ok() {
            Some(lower)
        } else {
            None
        }
    }
}

/// Where the ignore rules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IgnoreSource {
    /// `<Dockerfile>.dockerignore` next to the Dockerfile if it exists, else
    /// `<root>/.dockerignore` if it exists, else no rules.
    #[default]
    Auto,
    /// These rules, as the text of a `.dockerignore` file.
    Text(String),
    /// No rules: everything is sent.
    None,
}

/// Which paths of the context are sent (the ignore rules then apply to them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Include {
    /// Every path (what `docker build` sends).
    #[default]
    All,
    /// Only these paths and what is below them, as BuildKit's file sync sends the
    /// `FollowPaths` its Dockerfile frontend asks for: relative to the context,
    /// `/`-separated; `*`, `?` and `[…]` are patterns; a symlink on the way is sent and its
    /// target (inside the context) followed; the parent directories of what is sent are
    /// sent too. An empty list sends nothing but the Dockerfile.
    Paths(Vec<String>),
}

/// How entry modification times are written. They are always whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MtimePolicy {
    /// The file's mtime, truncated to the second (what the docker CLI sends).
    #[default]
    Keep,
    /// The file's mtime, truncated to the second, but never later than this Unix time
    /// (the reproducible-builds `SOURCE_DATE_EPOCH` rule).
    Clamp(i64),
}

impl MtimePolicy {
    /// The policy for a `SOURCE_DATE_EPOCH` value: [`MtimePolicy::Keep`] when unset or
    /// empty, [`MtimePolicy::Clamp`] for a decimal integer, an error otherwise.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<MtimePolicy, Error> {
        match value.map(str::trim) {
            None | Some("") => Ok(MtimePolicy::Keep),
            Some(text) => {
                text.parse::<i64>()
                    .map(MtimePolicy::Clamp)
                    .map_err(|_| Error::SourceDateEpoch {
                        value: text.to_owned(),
                    })
            }
        }
    }

    /// The policy from the `SOURCE_DATE_EPOCH` environment variable.
    pub fn from_env() -> Result<MtimePolicy, Error> {
        let value = std::env::var_os("SOURCE_DATE_EPOCH");
        let text = value.as_ref().map(|v| v.to_string_lossy());
        MtimePolicy::from_source_date_epoch(text.as_deref())
    }

    /// The mtime written for a file whose mtime is `secs` (whole seconds).
    pub fn apply(self, secs: i64) -> i64 {
        match self {
            MtimePolicy::Keep => secs,
            MtimePolicy::Clamp(limit) => secs.min(limit),
        }
    }
}

/// Compression of the whole tar stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar (what `docker build` sends by default).
    #[default]
    None,
    /// gzip with the header Go writes (`1f 8b 08 00 00000000 00 ff`), like
    /// `docker build --compress`. The daemon detects it by its magic.
    Gzip,
}
