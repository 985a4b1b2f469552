//! Find every external image a Dockerfile needs, exactly as BuildKit's Dockerfile frontend would.
//!
//! Give [`analyze`] the text of a Dockerfile and the build's options (build args, target
//! stage, target and build platforms) and get back an [`Analysis`]: the `# syntax=`
//! frontend image, the stages, every image the build of the target pulls — from `FROM`,
//! `COPY --from=<image>`, `RUN --mount=…,from=<image>` and the `ONBUILD` triggers of local
//! stages — each with the platform it is resolved for, and BuildKit's lint warnings. When
//! BuildKit would refuse the Dockerfile, [`analyze`] returns an [`Error`] with BuildKit's
//! wording and the line.
//!
//! The crate does no I/O: it never reads files, talks to a registry or an engine.
//!
//! ```
//! use dockerfile_froms::{analyze, AnalyzeOptions, Platform};
//!
//! let dockerfile = "\
//! ARG GO_VERSION=1.22
//! FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
//! RUN --mount=type=cache,target=/root/.cache go build -o /app .
//!
//! FROM gcr.io/distroless/static
//! COPY --from=build /app /app
//! ";
//! let options = AnalyzeOptions {
//!     target_platform: Some(Platform::parse("linux/arm64")?),
//!     build_platform: Platform::parse("linux/amd64")?,
//!     ..AnalyzeOptions::default()
//! };
//! let analysis = analyze(dockerfile, &options)?;
//! let needed: Vec<String> = analysis
//!     .images
//!     .iter()
//!     .map(|image| format!("{} [{}]", image.reference, image.platform))
//!     .collect();
//! assert_eq!(
//!     needed,
//!     [
//!         "docker.io/library/golang:1.22 [linux/amd64]",
//!         "gcr.io/distroless/static:latest [linux/arm64]",
//!     ]
//! );
//!
//! // Errors carry BuildKit's message and the line.
//! let error = analyze("FROM alpine\nCOPY --from=$X /a /b\n", &options).unwrap_err();
//! assert_eq!(error.line(), Some(2));
//! assert!(error.to_string().starts_with("variable expansion is not supported for --from"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What is and is not knowable from the text: a base image's own `ONBUILD` triggers, its
//! `ENV` (seen by expansions in later instructions) and its `WORKDIR` live in the image, so
//! the analysis assumes none (BuildKit's default `PATH`, working directory `/`). Named build
//! contexts (`--build-context`) are not modelled: every stage name and image reference is
//! what it says.
#![deny(missing_docs)]

mod analysis;
mod context;
mod instructions;
mod json;
mod lint;
mod parser;
pub(crate) mod shell;
mod text;

use std::collections::BTreeMap;

pub use context::{ContextPaths, ContextUse, ImageConfig, Undecided, UndecidedReason};
// Image references and platforms live in `image-ref`, shared with the engine client; the
// re-exports keep this crate's API (`dockerfile_froms::ImageRef`, `dockerfile_froms::platform`).
pub use image_ref::{platform, reference};
pub use image_ref::{ImageRef, Platform, PlatformError, ReferenceError};

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
    /// What is known of external images' configs, by normalised reference: their `ENV`
    /// (seen by the expansions of the stages built on them) and their `ONBUILD` triggers
    /// (run in those stages). An image not listed is unknown, and what depends on it is
    /// reported in [`ContextUse::undecided`].
    pub images: BTreeMap<ImageRef, ImageConfig>,
}

impl Default for AnalyzeOptions {
    /// No build args, the last stage, and this machine's platform as both build and target platform.
    fn default() -> Self {
        AnalyzeOptions {
            build_args: BTreeMap::new(),
            target: None,
            target_platform: None,
            build_platform: Platform::host(),
            images: BTreeMap::new(),
        }
    }
}

/// Everything the analysis found.
///
/// Serialises (with serde) to the JSON schema of `devbuild froms`:
/// `{"syntax": ref|null, "stages": [{"name": n|null, "base": ref|stage name|"scratch",
/// "platform": p|null}], "images": [{"ref", "platform", "origin", "line"}], "warnings": [..]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The `# syntax=` frontend image, normalised, if the Dockerfile names one.
    pub syntax: Option<ImageRef>,
    /// Every stage in file order (reachable or not).
    pub stages: Vec<Stage>,
    /// Every external image the build of the target needs, deduplicated by (reference, platform):
    /// stage bases in file order, then images named by `COPY --from`/`RUN --mount` in file
    /// order, then those that `ONBUILD` triggers add. Each keeps the origin and line of its
    /// first appearance in that order.
    pub images: Vec<NeededImage>,
    /// Things BuildKit warns about (or lints) that do not stop the build.
    pub warnings: Vec<Warning>,
    /// The build context paths the build of the target reads (BuildKit's `ctxPaths`), and
    /// what the text alone cannot decide about them.
    pub context: ContextUse,
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
    /// The lines the `FROM` instruction spans.
    #[serde(skip)]
    pub lines: Lines,
    /// The stage's instructions after its `FROM`, in order, with the lines each spans
    /// (what an error about a build step points at, as BuildKit's source ranges do).
    #[serde(skip)]
    pub instructions: Vec<InstructionLines>,
}

/// The 1-based lines an instruction spans, first and last (the same for one line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lines {
    /// The first line.
    pub start: usize,
    /// The last line (continuations and heredocs included).
    pub end: usize,
}

/// An instruction of a stage and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionLines {
    /// Its keyword, upper-cased (`RUN`, `COPY`, `ONBUILD`).
    pub keyword: String,
    /// The lines it spans.
    pub lines: Lines,
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
    #[serde(rename = "ref")]
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
    /// An `ONBUILD` trigger of a local stage that a reachable stage derives from
    /// (the line is the `ONBUILD` instruction's).
    Onbuild,
}

/// A warning: something BuildKit reports without failing the build (its lint rules).
///
/// `Display` (and serde) give BuildKit's one-line form: `Rule: message (line N)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line, where the warning is about one.
    pub line: Option<usize>,
    /// The lint rule (`StageNameCasing`, …), when the warning comes from one.
    pub rule: Option<String>,
    /// The message, in BuildKit's words.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(rule) = &self.rule {
            write!(f, "{rule}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl serde::Serialize for Analysis {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;

        #[derive(serde::Serialize)]
        struct StageJson<'a> {
            name: Option<&'a str>,
            base: String,
            platform: Option<&'a Platform>,
        }
        let stages: Vec<StageJson<'_>> = self
            .stages
            .iter()
            .map(|stage| StageJson {
                name: stage.name.as_deref(),
                base: match &stage.base {
                    StageBase::Image(reference) => reference.to_string(),
                    StageBase::Scratch => "scratch".to_string(),
                    StageBase::Stage(index) => self
                        .stages
                        .get(*index)
                        .and_then(|s| s.name.clone())
                        .unwrap_or_default(),
                },
                platform: stage.platform.as_ref(),
            })
            .collect();
        let mut s = serializer.serialize_struct("Analysis", 4)?;
        s.serialize_field("syntax", &self.syntax)?;
        s.serialize_field("stages", &stages)?;
        s.serialize_field("images", &self.images)?;
        s.serialize_field("warnings", &self.warnings)?;
        s.end()
    }
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

    /// BuildKit's message without its own `dockerfile parse error on line N: ` prefix, for
    /// callers that lead with the file and line themselves (`Dockerfile:3: …`).
    pub fn reason(&self) -> &str {
        match self.line {
            Some(line) => {
                let prefix = format!("dockerfile parse error on line {line}: ");
                self.message.strip_prefix(&prefix).unwrap_or(&self.message)
            }
            None => &self.message,
        }
    }
}

/// Analyse Dockerfile text for the given options.
pub fn analyze(dockerfile: &str, options: &AnalyzeOptions) -> Result<Analysis, Error> {
    analysis::analyze(dockerfile, options)
}
