//! Find every external image a Dockerfile needs, exactly as BuildKit's Dockerfile frontend would.
//!
//! (Crate docs with a runnable example: to be written by the owner of this crate.)
#![deny(missing_docs)]

pub mod platform;
pub mod reference;
pub(crate) mod shell;

use std::collections::BTreeMap;

pub use platform::{Platform, PlatformError};
pub use reference::{ImageRef, ReferenceError};

/// What to analyse a Dockerfile for: the equivalent of `docker buildx build`'s flags.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// `--build-arg K=V` values, taken verbatim (never expanded).
    pub build_args: BTreeMap<String, String>,
    /// `--target`: the stage to build; `None` builds the last stage.
    pub target: Option<String>,
    /// `--platform`: the target platform; `None` means the build platform.
    pub target_platform: Option<Platform>,
    /// The platform the build runs on (BuildKit's worker): `BUILDPLATFORM`.
    pub build_platform: Platform,
}

impl Default for AnalyzeOptions {
    /// No build args, the last stage, and this machine's platform as both build and target platform.
    fn default() -> Self {
        AnalyzeOptions {
            build_args: BTreeMap::new(),
            target: None,
            target_platform: None,
            build_platform: Platform::host(),
        }
    }
}

/// Everything the analysis found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Analysis {
    /// The `# syntax=` frontend image, normalised, if the Dockerfile names one.
    pub syntax: Option<ImageRef>,
    /// Every stage in file order (reachable or not).
    pub stages: Vec<Stage>,
    /// Every external image the build of the target needs, deduplicated by (reference, platform),
    /// in order of first appearance.
    pub images: Vec<NeededImage>,
    /// Things BuildKit warns about (or lints) that do not stop the build.
    pub warnings: Vec<Warning>,
}

/// One build stage (`FROM … [AS name]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    /// The stage name as BuildKit keeps it (lower-cased), if it has one.
    pub name: Option<String>,
    /// What the stage is built on.
    pub base: StageBase,
    /// The stage's `--platform`, expanded, if it has one.
    pub platform: Option<Platform>,
    /// 1-based line of the `FROM` instruction.
    pub line: usize,
}

/// What a stage is built on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum StageBase {
    /// An external image.
    Image(ImageRef),
    /// An earlier stage, by its index in [`Analysis::stages`].
    Stage(usize),
    /// `scratch`: no base at all.
    Scratch,
}

/// An external image the build needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NeededImage {
    /// The normalised reference (`docker.io/library/alpine:latest`).
    pub reference: ImageRef,
    /// The platform the image is resolved for.
    pub platform: Platform,
    /// The instruction that needs it.
    pub origin: Origin,
    /// 1-based line of that instruction.
    pub line: usize,
}

/// The kind of instruction that needs an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `FROM <image>`.
    From,
    /// `COPY --from=<image>`.
    CopyFrom,
    /// `RUN --mount=…,from=<image>`.
    MountFrom,
    /// An `ONBUILD` trigger of a local stage that a reachable stage derives from.
    Onbuild,
}

/// A warning: something BuildKit reports without failing the build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// 1-based line, where the warning is about one.
    pub line: Option<usize>,
    /// The message, in BuildKit's words.
    pub message: String,
}

/// Why a Dockerfile cannot be analysed. `Display` gives BuildKit's wording without the line;
/// [`Error::line`] gives the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    line: Option<usize>,
    message: String,
}

impl Error {
    /// The 1-based line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
}

/// Analyse Dockerfile text for the given options.
pub fn analyze(dockerfile: &str, options: &AnalyzeOptions) -> Result<Analysis, Error> {
    let _ = (dockerfile, options);
    Err(Error {
        line: None,
        message: "not yet implemented".into(),
    })
}
