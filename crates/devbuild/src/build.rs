//! The whole pipeline behind [`crate::run()`]: read the Dockerfile, analyse it, pre-pull the
//! images it needs, decide which context paths the build reads, stream those to the engine
//! and follow BuildKit until the result, reporting every stage as an [`Event`];
//! [`crate::prepull()`] stops after the pre-pull, [`select_context`] says what would be sent.
//!
//! Only the paths the Dockerfile reads are sent, as BuildKit's file sync would send them to
//! `docker buildx build`. What the Dockerfile's text cannot decide (a base image's `ENV`
//! used in a `COPY` source, its `ONBUILD` triggers) is decided after the pre-pull from the
//! images' configs in the engine's store; if anything is still unknown then, the whole
//! context is sent: a path missing from the upload would break the build, one too many
//! only costs time.
//!
//! ```no_run
//! use devbuild::build::BuildSpec;
//! use devbuild::engine_client::engine::Engine;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::connect_from_env().await?;
//! let mut spec = BuildSpec::new("examples/hello");
//! spec.tags.push("hello:dev".into());
//! // The callback form of `prepare` and `run`.
//! let outcome = devbuild::build(&engine, &spec, |event| {
//!     println!("{}", serde_json::to_string(event).unwrap());
//! })
//! .await?;
//! println!("{:?} in {:?}", outcome.image_id, outcome.duration);
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ctx_tar::{ContextSpec, Dockerfile, Include, MtimePolicy, StreamStats};
use dockerfile_froms::{AnalyzeOptions, ContextPaths, ContextUse, ImageConfig, ImageRef, Platform};
use engine_client::credentials::DockerConfig;
use engine_client::engine::{
    BuildFailure, BuildOptions, Engine, EngineError, ImageNeed, PrepullOptions,
};
use engine_client::events::{BuildEvent, PullEvent, PullOutcome};
use engine_client::run_settings::{ExtraHost, Network, Ulimit};
use engine_client::{BuildSecrets, SshAgents};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::events::{ContextUsed, Event, StepEvent};
use crate::output::Output;
use crate::push::PushedImage;
use crate::remote::RemoteContext;
use crate::run::BuildHost;
use crate::trace::Trace;

/// How often, at most, the upload reports its progress while it runs.
pub const UPLOAD_PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What to build: the options of `docker buildx build`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildSpec {
    /// The context directory.
    pub context: PathBuf,
    /// The Dockerfile (`-f`; relative to the current directory); default
    /// `<context>/Dockerfile`.
    pub dockerfile: Option<PathBuf>,
    /// Names to tag the image with (`-t`).
    pub tags: Vec<String>,
    /// Build arguments (`--build-arg`).
    pub build_args: BTreeMap<String, String>,
    /// The stage to build (`--target`); default the last one.
    pub target: Option<String>,
    /// The target platform (`--platform`, `os/arch[/variant]`); default the engine's.
    pub platform: Option<String>,
    /// Labels to add to the image (`--label`).
    pub labels: BTreeMap<String, String>,
    /// Do not use the build cache (`--no-cache`).
    pub no_cache: bool,
    /// Pull every needed image even when present (`--pull`).
    pub pull: bool,
    /// Clamp the context's mtimes to this Unix time (`SOURCE_DATE_EPOCH`), and pass it to
    /// the build as the `SOURCE_DATE_EPOCH` build argument unless one is given.
    pub source_date_epoch: Option<i64>,
    /// Send every path `.dockerignore` allows (`--whole-context`), not only those the
    /// Dockerfile reads: for builds whose own tooling needs the whole context.
    pub whole_context: bool,
    /// The Dockerfile's text when it comes from no file (`-f -`): it is sent under a
    /// generated name, and `dockerfile` is ignored.
    pub dockerfile_text: Option<String>,
    /// A tar (plain or gzip-compressed) to send as the context instead of the directory
    /// `context` (`devbuild build -`): sent as it is, the Dockerfile read from it
    /// (`dockerfile`, relative inside it, default `Dockerfile`).
    pub context_archive: Option<PathBuf>,
    /// Extra `/etc/hosts` entries of the `RUN`s (`--add-host`).
    pub extra_hosts: Vec<ExtraHost>,
    /// The network of the `RUN`s (`--network`).
    pub network: Network,
    /// The size of the `RUN`s' `/dev/shm` in bytes (`--shm-size`): Engine 23.0 and later
    /// (older engines would ignore it, so the build is refused there).
    pub shm_size: Option<u64>,
    /// Resource limits of the `RUN`s (`--ulimit`): Engine 23.0 and later, as `shm_size`.
    pub ulimits: Vec<Ulimit>,
    /// Images whose inline build cache the build may use (`--cache-from`). Each is pulled
    /// first with the user's credentials, even when present (the registry's may be newer);
    /// one that cannot be pulled is a warning, as a cache miss is no error.
    pub cache_from: Vec<String>,
    /// Put the build cache's metadata in the image (`--cache-to type=inline`), for later
    /// builds' `cache_from` once it is pushed.
    pub inline_cache: bool,
    /// Send the context gzip-compressed (`--compress`), which the engine unpacks; `None`
    /// decides by the engine's address: compressed for a `tcp://` or `ssh://` engine, where
    /// the link is the bottleneck, plain for a local socket, where compressing would only
    /// cost time. A tar given as the context (`context_archive`) is sent as it is.
    pub compress: Option<bool>,
    /// Report each of BuildKit's status updates as it came
    /// (`Event::Engine(BuildEvent::Status(…))`), for `--progress=rawjson`.
    pub raw_status: bool,

    // What is made after the build (`crate::results`): outputs, pushes, the metadata file.
    /// Push every tag to its registry after the build (`--push`); needs a tag.
    pub push: bool,
    /// Where the result goes besides the engine's image store (`--output`), written from
    /// the engine after the build, in this order.
    pub outputs: Vec<Output>,
    /// Write buildx's build result metadata here after the build (`--metadata-file`).
    pub metadata_file: Option<PathBuf>,
    /// The build's secrets (`--secret`), for `RUN --mount=type=secret`: read when the build
    /// is prepared, before anything is sent. With any, the build opens a BuildKit session
    /// that serves them; without, none.
    pub secrets: Vec<crate::secrets::SecretSource>,
    /// The SSH agents the build forwards (`--ssh`), for `RUN --mount=type=ssh`: opened when
    /// the build is prepared (each socket reached, each key checked), before anything is
    /// sent. With any, the build opens a BuildKit session that forwards them.
    pub ssh: Vec<crate::ssh_agents::SshSource>,
    /// A context the engine fetches itself, instead of the directory `context`: a git
    /// repository (`https://…/repo.git#ref:dir`, `git://…`, `git@host:repo`) or an http(s)
    /// URL of a tar or of a Dockerfile ([`RemoteContext::parse`]). `dockerfile` is then a
    /// path inside it; nothing is archived here and `.dockerignore` does not apply.
    pub remote: Option<RemoteContext>,
}

impl BuildSpec {
    /// A spec for the context directory `context`, every option at its default.
    pub fn new(context: impl Into<PathBuf>) -> BuildSpec {
        BuildSpec {
            context: context.into(),
            ..BuildSpec::default()
        }
    }

    /// Reads and analyses the Dockerfile without any engine: the [`BuildError::Input`]
    /// that [`crate::build()`] would fail with, if any.
    pub fn check(&self) -> Result<(), BuildError> {
        prepare_to_run(self, &Platform::host()).map(|_| ())
    }

    /// The Dockerfile's path on disk: `dockerfile`, else `<context>/Dockerfile`, else
    /// `<context>/dockerfile` when only that exists (as buildx and ctx-tar choose).
    pub fn dockerfile_path(&self) -> PathBuf {
        if let Some(path) = &self.dockerfile {
            return path.clone();
        }
        // As ctx-tar finds it; a missing one is named as `Dockerfile` in the error.
        Dockerfile::default_in(&self.context).unwrap_or_else(|| self.context.join("Dockerfile"))
    }

    /// How errors name the Dockerfile.
    fn dockerfile_display(&self) -> String {
        if let Some(remote) = &self.remote {
            return crate::remote::dockerfile_display(self, remote);
        }
        match (&self.dockerfile_text, &self.context_archive) {
            (Some(_), _) => "<stdin>".to_owned(),
            (None, Some(_)) => self.archive_dockerfile(),
            (None, None) => self.dockerfile_path().display().to_string(),
        }
    }

    /// Whether the build pushes its tags: [`BuildSpec::push`], or an output
    /// `type=image,push=true` / `type=registry`.
    pub fn pushes(&self) -> bool {
        self.push || self.outputs.iter().any(Output::pushes)
    }

    /// The Dockerfile's name inside [`BuildSpec::context_archive`].
    fn archive_dockerfile(&self) -> String {
        self.dockerfile
            .as_ref()
            .map_or_else(|| "Dockerfile".to_owned(), |p| p.display().to_string())
    }
}

/// The longest request target the HTTP library sends (`http::Uri`'s limit): build args and
/// labels travel in the query string of `POST /build`.
pub const MAX_REQUEST_TARGET: usize = u16::MAX as usize - 1;

/// What a successful build produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOutcome {
    /// The image's id (`sha256:…`), when the engine sent it.
    pub image_id: Option<String>,
    /// The tags the image was given.
    pub tags: Vec<String>,
    /// How long the whole build took.
    pub duration: Duration,
    /// Every BuildKit step, in the order they started.
    pub steps: Vec<StepTiming>,
    /// What the pre-pull did with each needed image.
    pub images: Vec<ImageOutcome>,
    /// Warnings: the analyser's, BuildKit's, failed pre-pulls'.
    pub warnings: Vec<String>,
    /// The context that was sent.
    pub context: Option<ctx_tar::Summary>,
    /// Each tag that was pushed (`--push`), with its manifest's digest, in order.
    pub pushed: Vec<PushedImage>,
}

impl BuildOutcome {
    /// Whether every Dockerfile instruction came from the cache (a rebuild with nothing
    /// changed). `FROM` steps, BuildKit's `[internal]` steps and the export are not
    /// cached by nature, so they do not count.
    pub fn all_cached(&self) -> bool {
        self.steps
            .iter()
            .filter(|step| step.is_instruction())
            .all(|step| step.cached)
    }
}

/// One BuildKit step of a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTiming {
    /// Its number (`#N`).
    pub step: u32,
    /// Its name (`[2/4] RUN make`).
    pub name: String,
    /// It came from the cache.
    pub cached: bool,
    /// How long it ran, when BuildKit said.
    pub duration: Option<Duration>,
}

impl StepTiming {
    /// Whether the step is a Dockerfile instruction other than `FROM`
    /// (`[build 2/4] RUN make`), not one of BuildKit's own.
    pub fn is_instruction(&self) -> bool {
        let Some(rest) = self.name.strip_prefix('[') else {
            return false;
        };
        match rest.split_once("] ") {
            Some((position, instruction)) => {
                position.contains('/') && !instruction.starts_with("FROM ")
            }
            None => false,
        }
    }
}

/// What the pre-pull did with one needed image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageOutcome {
    /// The image.
    pub image: String,
    /// The platform it was needed for.
    pub platform: Option<String>,
    /// Present, pulled or failed.
    pub outcome: PullOutcome,
}

/// Why a build did not produce an image.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// Bad input: an unreadable Dockerfile, a bad option or tag, a context that is not one.
    /// The message names the file (and line), path or option.
    Input(String),
    /// The Dockerfile cannot be analysed: shown as `<file>:<line>: <BuildKit's words>`.
    Dockerfile {
        /// The Dockerfile as errors name it (its path, `<stdin>`, a remote's URL).
        file: String,
        /// The analyser's error, with the line.
        error: dockerfile_froms::Error,
    },
    /// The build context cannot be read or sent (bad ignore rules, an unreadable file).
    Context(ctx_tar::Error),
    /// The build ran and failed: the step, BuildKit's error, the step's last log lines.
    Failed(BuildFailure),
    /// The engine could not be reached or talked to.
    Engine(EngineError),
    /// A secret's value cannot be read (`--secret`): names the secret and its file or
    /// variable, never the value.
    Secret(crate::secrets::SecretError),
    /// An SSH agent or key cannot be forwarded (`--ssh`): names the id and the path.
    Ssh(engine_client::ssh_agents::SshAgentError),
    /// A needed image could not be pulled, and the build then failed for want of it
    /// (without a session BuildKit can only say "no active sessions"): the real cause
    /// comes first.
    Pull {
        /// The image, as the pre-pull asked for it.
        image: String,
        /// Why its pull failed, in the engine's or the credential helper's words.
        reason: String,
        /// What to do about it, when that can be told.
        hint: Option<String>,
        /// The build's own error.
        build: Box<BuildError>,
    },
    /// The build succeeded, and pushing one of its tags failed.
    Push {
        /// The tag.
        image: String,
        /// Why, in the registry's or the engine's words.
        reason: String,
        /// What to do about it, when that can be told.
        hint: Option<String>,
    },
    /// The build succeeded, and writing one of its outputs failed (nothing of it is left).
    Output {
        /// The output (`type=tar,dest=rootfs.tar`).
        output: String,
        /// Why.
        reason: String,
    },
    /// The build succeeded, and the metadata file could not be written.
    Metadata {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl BuildError {
    /// Whether it is the input's fault (a usage error: exit status 2 in the CLI): the spec,
    /// the Dockerfile, the context.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            BuildError::Input(_)
                | BuildError::Dockerfile { .. }
                | BuildError::Context(_)
                | BuildError::Secret(_)
                | BuildError::Ssh(_)
        )
    }

    /// Whether the engine could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, BuildError::Engine(e) if e.is_unreachable())
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Input(message) => f.write_str(message),
            BuildError::Dockerfile { file, error } => match error.line() {
                // The location leads; BuildKit's own "on line N" prefix would repeat it.
                Some(line) => write!(f, "{file}:{line}: {}", error.reason()),
                None => write!(f, "{file}: {error}"),
            },
            BuildError::Context(error) => write!(f, "{error}"),
            BuildError::Failed(failure) => write!(f, "{failure}"),
            BuildError::Engine(e) => write!(f, "{e}"),
            BuildError::Secret(e) => write!(f, "{e}"),
            BuildError::Ssh(e) => write!(f, "{e}"),
            BuildError::Pull {
                image,
                reason,
                hint,
                build,
            } => {
                write!(f, "{image} could not be pulled: {reason}")?;
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                write!(f, "; the build then failed: {build}")
            }
            BuildError::Push {
                image,
                reason,
                hint,
            } => {
                write!(f, "push {image}: {reason}")?;
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            BuildError::Output { output, reason } => write!(f, "--output {output}: {reason}"),
            BuildError::Metadata { path, reason } => {
                write!(f, "--metadata-file {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for BuildError {}

impl From<EngineError> for BuildError {
    fn from(e: EngineError) -> Self {
        match e.build_failure() {
            Some(failure) => BuildError::Failed(failure.clone()),
            None => BuildError::Engine(e),
        }
    }
}

/// The analysis of a spec's Dockerfile, and what the engine needs for it.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The Dockerfile's path as shown in errors.
    display: String,
    text: String,
    options: AnalyzeOptions,
    pub(crate) analysis: dockerfile_froms::Analysis,
    needs: Vec<ImageNeed>,
    mtime: MtimePolicy,
}

/// What [`execute`] starts from: `spec`'s preparation, or, for a remote context, whose
/// Dockerfile is not at hand before it is fetched, `None` once every other option checks.
pub(crate) fn prepare_to_run(
    spec: &BuildSpec,
    platform: &Platform,
) -> Result<Option<Prepared>, BuildError> {
    match &spec.remote {
        Some(remote) => {
            crate::remote::check(spec, remote)?;
            prepare(&remote_view(spec, None), platform)?;
            Ok(None)
        }
        None => prepare(spec, platform).map(Some),
    }
}

pub(crate) fn prepare(spec: &BuildSpec, platform: &Platform) -> Result<Prepared, BuildError> {
    if spec.context_archive.is_none() && spec.remote.is_none() {
        check_context(spec)?;
    }
    check_tags(&spec.tags)?;
    check_cache_from(&spec.cache_from)?;
    crate::results::check_results(spec)?;
    let target_platform = match &spec.platform {
        Some(text) => Some(parse_platform(text)?),
        None => None,
    };
    check_request_length(spec)?;
    let display = spec.dockerfile_display();
    let text = match (&spec.dockerfile_text, &spec.context_archive) {
        (Some(text), _) => std::borrow::Cow::Borrowed(text.as_str()),
        (None, Some(archive)) => std::borrow::Cow::Owned(read_archive_dockerfile(
            archive,
            &spec.archive_dockerfile(),
        )?),
        (None, None) => {
            let bytes = std::fs::read(spec.dockerfile_path()).map_err(|e| {
                BuildError::Input(format!("{display}: cannot read the Dockerfile: {e}"))
            })?;
            std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let options = AnalyzeOptions {
        build_args: spec.build_args.clone(),
        target: spec.target.clone().filter(|t| !t.is_empty()),
        target_platform,
        build_platform: platform.clone(),
        ..AnalyzeOptions::default()
    };
    let analysis = analyze(&display, &text, &options)?;
    let mut needs = Vec::new();
    if let Some(syntax) = &analysis.syntax {
        needs.push(ImageNeed {
            image: syntax.clone(),
            platform: Some(platform.clone()),
        });
    }
    needs.extend(analysis.images.iter().map(|image| ImageNeed {
        image: image.reference.clone(),
        platform: Some(image.platform.clone()),
    }));
    let mtime = match spec.source_date_epoch {
        Some(epoch) => MtimePolicy::Clamp(epoch),
        None => MtimePolicy::Keep,
    };
    Ok(Prepared {
        display,
        text: text.into_owned(),
        options,
        analysis,
        needs,
        mtime,
    })
}

/// The Dockerfile `name` inside the tar `archive` (plain or gzip-compressed).
fn read_archive_dockerfile(archive: &std::path::Path, name: &str) -> Result<String, BuildError> {
    use std::io::Read;
    let shown = archive.display();
    let input = |e: std::io::Error| BuildError::Input(format!("the context tar {shown}: {e}"));
    let mut file = std::fs::File::open(archive).map_err(input)?;
    let mut magic = [0u8; 6];
    let n = file.read(&mut magic).map_err(input)?;
    let reader: Box<dyn Read> = {
        let head = std::io::Cursor::new(magic[..n].to_vec()).chain(file);
        match &magic[..n.min(6)] {
            [0x1f, 0x8b, ..] => Box::new(flate2::read::GzDecoder::new(head)),
            [b'B', b'Z', b'h', ..] | [0xfd, b'7', b'z', b'X', b'Z', 0] | [0x28, 0xb5, 0x2f, 0xfd, ..] => {
                return Err(BuildError::Input(format!(
                    "the context tar {shown} is bzip2, xz or zstd-compressed: give it uncompressed or gzip-compressed, so that its Dockerfile can be read"
                )))
            }
            _ => Box::new(head),
        }
    };
    let wanted = name.trim_start_matches("./");
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(input)? {
        let mut entry = entry.map_err(input)?;
        let path = entry.path().map_err(input)?.to_string_lossy().into_owned();
        if path.trim_start_matches("./") == wanted {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(input)?;
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Err(BuildError::Input(format!(
        "the context tar {shown} holds no {wanted} (give its Dockerfile's path inside the tar with -f)"
    )))
}

/// The context must be a directory: a missing one, or a file, is said as such before the
/// Dockerfile is looked for.
fn check_context(spec: &BuildSpec) -> Result<(), BuildError> {
    let context = spec.context.display();
    match std::fs::metadata(&spec.context) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(BuildError::Input(format!(
            "context {context}: not a directory (the build context is a directory; `-` reads a tar from standard input)"
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BuildError::Input(format!(
            "context {context}: no such directory"
        ))),
        Err(e) => Err(BuildError::Input(format!("context {context}: {e}"))),
    }
}

/// Tags are image references, checked as the docker CLI checks `-t`.
fn check_tags(tags: &[String]) -> Result<(), BuildError> {
    for tag in tags {
        if let Err(e) = dockerfile_froms::ImageRef::parse(tag) {
            return Err(BuildError::Input(format!("invalid tag {tag:?}: {e}")));
        }
    }
    Ok(())
}

/// `--cache-from` names images, checked as tags are.
fn check_cache_from(images: &[String]) -> Result<(), BuildError> {
    for image in images {
        if let Err(e) = dockerfile_froms::ImageRef::parse(image) {
            return Err(BuildError::Input(format!("--cache-from {image:?}: {e}")));
        }
    }
    Ok(())
}

/// The cache images, normalised (`app` → `docker.io/library/app:latest`): the engine finds
/// an image's inline cache in its store only by a name with a tag.
fn cache_images(spec: &BuildSpec) -> Vec<String> {
    spec.cache_from
        .iter()
        .map(|image| match dockerfile_froms::ImageRef::parse(image) {
            Ok(reference) => reference.to_string(),
            Err(_) => image.clone(),
        })
        .collect()
}

/// Options that `engine` would silently ignore are refused, naming the engine.
fn check_engine_supports(engine: &Engine, options: &BuildOptions) -> Result<(), BuildError> {
    let ignored = options.unsupported_by(engine.api_version());
    if ignored.is_empty() {
        return Ok(());
    }
    Err(BuildError::Input(format!(
        "{} {} Engine 23.0 (API {}) or later: the engine at {} is Engine {} (API {}), whose BuildKit would ignore {}",
        ignored.join(" and "),
        if ignored.len() == 1 { "needs" } else { "need" },
        BuildOptions::MIN_API_RUN_LIMITS,
        engine.endpoint().host,
        engine.server_version(),
        engine.api_version(),
        if ignored.len() == 1 { "it" } else { "them" },
    )))
}

/// `--platform`: one `os/arch[/variant]` Go knows.
fn parse_platform(text: &str) -> Result<Platform, BuildError> {
    const FORMS: &str = "give os/arch[/variant], such as linux/amd64, linux/arm64 or linux/arm/v7";
    if text.contains(',') {
        return Err(BuildError::Input(format!(
            "--platform {text:?}: one platform at a time ({FORMS})"
        )));
    }
    let platform = Platform::parse(text)
        .map_err(|e| BuildError::Input(format!("--platform {text:?}: {e}; {FORMS}")))?;
    if !platform.is_known() {
        return Err(BuildError::Input(format!(
            "--platform {text:?}: unknown operating system or architecture \"{}/{}\"; {FORMS}",
            platform.os, platform.architecture
        )));
    }
    Ok(platform)
}

/// What `POST /build` is asked for `spec`, the Dockerfile sent under the name `dockerfile`.
fn build_options(spec: &BuildSpec, dockerfile: Option<String>) -> BuildOptions {
    let mut build_args = spec.build_args.clone();
    if let Some(epoch) = spec.source_date_epoch {
        build_args
            .entry("SOURCE_DATE_EPOCH".into())
            .or_insert_with(|| epoch.to_string());
    }
    if spec.inline_cache {
        build_args
            .entry("BUILDKIT_INLINE_CACHE".into())
            .or_insert_with(|| "1".to_owned());
    }
    BuildOptions {
        dockerfile,
        tags: spec.tags.clone(),
        build_args,
        target: spec.target.clone().filter(|t| !t.is_empty()),
        platform: spec.platform.clone(),
        labels: spec.labels.clone(),
        no_cache: spec.no_cache,
        extra_hosts: spec.extra_hosts.clone(),
        network: spec.network,
        shm_size: spec.shm_size,
        ulimits: spec.ulimits.clone(),
        cache_from: cache_images(spec),
        raw_status: spec.raw_status,
        remote: spec.remote.as_ref().map(|r| r.url().to_owned()),
        // Read with the preparation, and set by `execute`.
        secrets: BuildSecrets::new(),
        ssh: SshAgents::new(),
        session_credentials: None,
    }
}

/// Build args and labels travel in the URL of `POST /build`: one the HTTP library cannot
/// send is refused before anything is, saying why.
fn check_request_length(spec: &BuildSpec) -> Result<(), BuildError> {
    let options = build_options(spec, Some(".dockerfile.00000000000000000000".to_owned()));
    // `/v1.45/build?` and room for the SOURCE_DATE_EPOCH argument the build may add.
    let length = "/v1.45/build?".len() + options.query().len() + 64;
    if length > MAX_REQUEST_TARGET {
        return Err(BuildError::Input(format!(
            "the build args, labels and other options make the build request's URL {} KiB long; the HTTP library sends at most {} KiB (pass large values as files in the context instead)",
            length.div_ceil(1024),
            MAX_REQUEST_TARGET.div_ceil(1024)
        )));
    }
    Ok(())
}

/// Analyses the Dockerfile `text`; an error names the file and line.
fn analyze(
    display: &str,
    text: &str,
    options: &AnalyzeOptions,
) -> Result<dockerfile_froms::Analysis, BuildError> {
    dockerfile_froms::analyze(text, options).map_err(|error| BuildError::Dockerfile {
        file: display.to_owned(),
        error,
    })
}

/// How many times the images' configs are looked up and the Dockerfile analysed again:
/// an image's `ONBUILD` triggers may name images whose own configs matter in turn.
const CONTEXT_ROUNDS: usize = 3;

/// The context paths the build reads, decided with the configs of the images the text
/// leaves open, as the engine's store has them. With `pull` (after the pre-pull), images
/// that the images' `ONBUILD` triggers need are pre-pulled too, their outcomes added to
/// `images`.
async fn decide_context<F: FnMut(&Event)>(
    engine: &Engine,
    host: &BuildHost,
    spec: &BuildSpec,
    prepared: &Prepared,
    pull: bool,
    images: &mut Vec<ImageOutcome>,
    on_event: &mut F,
) -> Result<ContextUse, BuildError> {
    let mut context = prepared.analysis.context.clone();
    let mut options = prepared.options.clone();
    let mut needed: HashSet<(ImageRef, Option<Platform>)> = prepared
        .needs
        .iter()
        .map(|n| (n.image.clone(), n.platform.clone()))
        .collect();
    for _ in 0..CONTEXT_ROUNDS {
        let mut unknown: Vec<_> = context
            .undecided
            .iter()
            .map(|u| u.image.clone())
            .filter(|image| !options.images.contains_key(image))
            .collect();
        unknown.dedup();
        if unknown.is_empty() {
            break;
        }
        let lookups = unknown.iter().map(|image| {
            let name = image.to_string();
            async move { engine.inspect_image(&name).await }
        });
        let infos = futures_util::future::join_all(lookups).await;
        let mut learned = false;
        for (image, info) in unknown.into_iter().zip(infos) {
            if let Ok(Some(info)) = info {
                let config = ImageConfig {
                    env: info.config.env,
                    onbuild: info.config.onbuild,
                };
                options.images.insert(image, config);
                learned = true;
            }
        }
        if !learned {
            break;
        }
        let analysis = analyze(&prepared.display, &prepared.text, &options)?;
        let new_needs: Vec<ImageNeed> = analysis
            .images
            .iter()
            .map(|image| ImageNeed {
                image: image.reference.clone(),
                platform: Some(image.platform.clone()),
            })
            .filter(|need| needed.insert((need.image.clone(), need.platform.clone())))
            .collect();
        if pull && !new_needs.is_empty() {
            images.extend(
                run_prepull(engine, &host.credentials, spec.pull, new_needs, on_event).await?,
            );
        }
        context = analysis.context;
    }
    Ok(context)
}

/// What of the context a build sends, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextSelection {
    /// How much of the context is sent.
    pub used: ContextUsed,
    /// The paths sent (with [`ContextUsed::Some`]), as BuildKit's file sync follows them.
    pub paths: Vec<String>,
    /// Why the whole context is sent when the Dockerfile may not read all of it.
    pub reason: Option<String>,
    /// False when what the build reads could not be decided (so all of it is sent).
    pub decided: bool,
}

impl ContextSelection {
    /// The selection for what an analysis says, or the whole context (`whole_context`).
    fn new(context: &ContextUse, whole_context: bool) -> ContextSelection {
        let all = |reason: Option<String>, decided| ContextSelection {
            used: ContextUsed::All,
            paths: Vec::new(),
            reason,
            decided,
        };
        if whole_context {
            return all(Some("--whole-context".to_owned()), true);
        }
        if let Some(undecided) = context.undecided.first() {
            return all(Some(format!("not decided: {undecided}")), false);
        }
        match &context.paths {
            ContextPaths::None => ContextSelection {
                used: ContextUsed::None,
                paths: Vec::new(),
                reason: None,
                decided: true,
            },
            ContextPaths::All => all(None, true),
            ContextPaths::Some(paths) => ContextSelection {
                used: ContextUsed::Some,
                paths: paths.clone(),
                reason: None,
                decided: true,
            },
        }
    }

    /// What ctx-tar sends for it.
    pub fn include(&self) -> Include {
        match self.used {
            ContextUsed::All => Include::All,
            ContextUsed::None => Include::Paths(Vec::new()),
            ContextUsed::Some => Include::Paths(self.paths.clone()),
        }
    }

    /// The [`Event::ContextSelected`] that reports it.
    pub fn event(&self) -> Event {
        Event::ContextSelected {
            used: self.used,
            paths: self.paths.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// What [`crate::build()`] would send of the context of `spec`, without building: the paths the
/// Dockerfile reads, decided with the configs of the images already in `engine`'s store
/// (nothing is pulled; without an engine, from the text alone). When an image it needs is
/// not there, the selection is the whole context and not [`ContextSelection::decided`]:
/// `build` pulls it first and may send less.
pub async fn select_context(
    engine: Option<&Engine>,
    spec: &BuildSpec,
    host: &BuildHost,
) -> Result<ContextSelection, BuildError> {
    // A remote context is fetched by the engine: nothing is sent from here.
    if let Some(remote) = &spec.remote {
        crate::remote::check(spec, remote)?;
        return Ok(crate::remote::selection(
            crate::remote::FETCHED_BY_THE_ENGINE,
        ));
    }
    let prepared = prepare(spec, &host.platform)?;
    if spec.whole_context {
        return Ok(ContextSelection::new(&prepared.analysis.context, true));
    }
    let used = match engine {
        Some(engine) => {
            let mut no_images = Vec::new();
            decide_context(
                engine,
                host,
                spec,
                &prepared,
                false,
                &mut no_images,
                &mut |_| {},
            )
            .await?
        }
        None => prepared.analysis.context.clone(),
    };
    Ok(ContextSelection::new(&used, false))
}

fn analyzed_event(prepared: &Prepared, platform: &Platform) -> Event {
    let mut event = Event::analyzed(&prepared.analysis);
    if let (Event::Analyzed { images }, Some(syntax)) = (&mut event, &prepared.analysis.syntax) {
        images.insert(
            0,
            crate::events::NeededImage {
                image: syntax.to_string(),
                platform: platform.to_string(),
            },
        );
    }
    event
}

/// Pulls the `--cache-from` images, always (the registry's may be newer than the engine's
/// copy), for the build's platform.
async fn prepull_cache<F: FnMut(&Event)>(
    engine: &Engine,
    host: &BuildHost,
    spec: &BuildSpec,
    on_event: &mut F,
) -> Result<Vec<ImageOutcome>, BuildError> {
    // Both were checked by `prepare` (`check_cache_from`, `parse_platform`), so nothing is
    // dropped here; the platform is the build's, normalised as BuildKit reads `--platform`.
    let platform = spec
        .platform
        .as_deref()
        .and_then(|p| Platform::parse(p).ok());
    let needs = spec
        .cache_from
        .iter()
        .filter_map(|image| ImageRef::parse(image).ok())
        .map(|image| ImageNeed {
            image,
            platform: platform.clone(),
        })
        .collect();
    run_prepull(engine, &host.credentials, true, needs, on_event).await
}

async fn run_prepull<F: FnMut(&Event)>(
    engine: &Engine,
    credentials: &Arc<DockerConfig>,
    always_pull: bool,
    needs: Vec<ImageNeed>,
    on_event: &mut F,
) -> Result<Vec<ImageOutcome>, BuildError> {
    let mut images = Vec::new();
    if needs.is_empty() {
        return Ok(images);
    }
    let options = PrepullOptions {
        always_pull,
        ..PrepullOptions::default()
    };
    let mut pulls = std::pin::pin!(engine.prepull(needs, credentials.clone(), &options));
    while let Some(event) = pulls.next().await {
        if let PullEvent::ImageReady {
            image,
            platform,
            outcome,
        } = &event
        {
            images.push(ImageOutcome {
                image: image.clone(),
                platform: platform.clone(),
                outcome: outcome.clone(),
            });
        }
        on_event(&Event::Pull(event));
    }
    Ok(images)
}

/// The pre-pull behind [`crate::prepull()`]: `prepared` is `spec`'s preparation, or `None`
/// for a remote context, whose Dockerfile is fetched first (without it nothing is
/// pre-pulled).
pub(crate) async fn prepull_prepared<F: FnMut(&Event)>(
    engine: &Engine,
    spec: &BuildSpec,
    host: &BuildHost,
    prepared: Option<&Prepared>,
    mut on_event: F,
) -> Result<Vec<ImageOutcome>, BuildError> {
    let fetched_prepared;
    let prepared = match (&spec.remote, prepared) {
        (Some(remote), _) => {
            let fetched = crate::remote::fetch(spec, remote, engine.api_version(), false).await?;
            fetched_prepared = match (&fetched.dockerfile, fetched.problem) {
                (Some(text), _) => prepare(&remote_view(spec, Some(text)), &host.platform)?,
                (None, problem) => return Err(BuildError::Input(problem.unwrap_or_default())),
            };
            &fetched_prepared
        }
        (None, Some(prepared)) => prepared,
        (None, None) => {
            fetched_prepared = prepare(spec, &host.platform)?;
            &fetched_prepared
        }
    };
    on_event(&analyzed_event(prepared, &host.platform));
    run_prepull(
        engine,
        &host.credentials,
        spec.pull,
        prepared.needs.clone(),
        &mut on_event,
    )
    .await
}

/// What the build's session serves, read and opened when the build is prepared: the
/// secrets' values and the SSH agents. Both empty: no session.
#[derive(Debug)]
pub(crate) struct SessionInputs {
    pub(crate) secrets: BuildSecrets,
    pub(crate) ssh: SshAgents,
}

/// The build of `spec` on `engine` that [`run`](crate::run::run) streams: `prepared` is
/// `spec`'s preparation, or `None` for a remote context, whose Dockerfile is fetched first.
/// Every stage is reported to `on_event`: the analysis, the pre-pull, the context upload,
/// BuildKit's steps, and last [`Event::Finished`] or [`Event::Failed`].
pub(crate) async fn execute<F: FnMut(&Event)>(
    engine: &Engine,
    spec: &BuildSpec,
    host: &BuildHost,
    prepared: Option<Prepared>,
    session: SessionInputs,
    on_event: F,
) -> Result<BuildOutcome, BuildError> {
    let started = Instant::now();
    // Every event passes through the trace, which numbers the build's work in one sequence
    // and turns the engine's vertex events into numbered steps.
    let trace = std::sync::Mutex::new(Trace::new());
    let mut report = on_event;
    let mut on_event = |event: &Event| {
        trace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(event);
        report(event);
    };
    // A remote context's Dockerfile is fetched first (see `crate::remote`).
    let fetched = match &spec.remote {
        Some(remote) => Some(crate::remote::fetch(spec, remote, engine.api_version(), true).await?),
        None => None,
    };
    let prepared = match (&fetched, prepared) {
        (Some(fetched), _) => prepare(
            &remote_view(spec, fetched.dockerfile.as_deref()),
            &host.platform,
        )?,
        (None, Some(prepared)) => prepared,
        (None, None) => prepare(spec, &host.platform)?,
    };
    if fetched.as_ref().is_none_or(|f| f.dockerfile.is_some()) {
        on_event(&analyzed_event(&prepared, &host.platform));
    }
    let mut warnings: Vec<String> = prepared
        .analysis
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect();
    // A Dockerfile that could not be fetched is a warning.
    if let Some(problem) = fetched.as_ref().and_then(|f| f.problem.as_ref()) {
        let message = format!(
            "{problem}; building without a pre-pull (the engine fetches the context itself)"
        );
        on_event(&warning_event(message.clone(), &prepared.display, None));
        warnings.push(message);
    }

    let mut context = ContextSpec::new(&spec.context);
    context.mtime = prepared.mtime;
    if let Some(text) = &spec.dockerfile_text {
        context.dockerfile = Dockerfile::Text(text.clone());
    } else if let Some(dockerfile) = &spec.dockerfile {
        context.dockerfile = Dockerfile::Path(dockerfile.clone());
    }
    if spec.context_archive.is_none() && spec.remote.is_none() {
        ctx_tar::check(&context).map_err(BuildError::Context)?;
    }
    for warning in &prepared.analysis.warnings {
        on_event(&warning_event(
            warning.to_string(),
            &prepared.display,
            warning.line,
        ));
    }

    check_engine_supports(engine, &build_options(spec, None))?;

    let mut images = run_prepull(
        engine,
        &host.credentials,
        spec.pull,
        prepared.needs.clone(),
        &mut on_event,
    )
    .await?;
    let cache = prepull_cache(engine, host, spec, &mut on_event).await?;
    let used = if spec.whole_context || spec.context_archive.is_some() || spec.remote.is_some() {
        prepared.analysis.context.clone()
    } else {
        decide_context(
            engine,
            host,
            spec,
            &prepared,
            true,
            &mut images,
            &mut on_event,
        )
        .await?
    };
    let (body, dockerfile, stats) = match (&spec.context_archive, &fetched) {
        // An empty body (or, for an old engine, a git subdirectory's tar).
        (_, Some(fetched)) => {
            on_event(&fetched.selection().event());
            remote_body(spec, fetched)?
        }
        (Some(archive), None) => {
            let selection = ContextSelection {
                used: ContextUsed::All,
                paths: Vec::new(),
                reason: Some("a tar context is sent as it is".to_owned()),
                decided: true,
            };
            on_event(&selection.event());
            let file = std::fs::File::open(archive).map_err(|e| {
                BuildError::Input(format!("the context tar {}: {e}", archive.display()))
            })?;
            (
                file_stream(file),
                spec.dockerfile.as_ref().map(|p| p.display().to_string()),
                None,
            )
        }
        (None, None) => {
            let selection = ContextSelection::new(&used, spec.whole_context);
            on_event(&selection.event());
            context.include = selection.include();
            if spec
                .compress
                .unwrap_or_else(|| engine.endpoint().is_remote())
            {
                context.compression = ctx_tar::Compression::Gzip;
            }
            let tar = ctx_tar::stream(context).map_err(BuildError::Context)?;
            let dockerfile = tar.dockerfile().map(str::to_owned);
            let stats = tar.stats();
            let body: BodyStream = Box::pin(tar);
            (body, dockerfile, Some(stats))
        }
    };
    for image in &images {
        if let PullOutcome::Failed { reason } = &image.outcome {
            warnings.push(format!("pull {}: {reason}", image.image));
        }
    }
    for image in &cache {
        if let PullOutcome::Failed { reason } = &image.outcome {
            warnings.push(format!(
                "--cache-from {}: {reason} (the build goes on without its cache, or with the engine's copy)",
                image.image
            ));
        }
    }

    let mut options = build_options(spec, dockerfile);
    options.secrets = session.secrets;
    options.ssh = session.ssh;
    // A session also answers BuildKit's own pulls, with the pre-pull's credentials.
    options.session_credentials = Some(host.credentials.clone());
    // The engine fetches a remote context, except where devbuild sends it (see `crate::remote`).
    options.remote = fetched
        .as_ref()
        .and_then(crate::remote::Fetched::engine_remote);
    let (upload_tx, mut upload_rx) = mpsc::unbounded_channel();
    // No upload to report when the engine fetches the context.
    let upload_tx = match options.remote {
        Some(_) => mpsc::unbounded_channel().0,
        None => upload_tx,
    };
    let body = Upload::new(body, stats.clone(), upload_tx);
    let mut events = std::pin::pin!(engine.build(&options, body));

    let mut steps: Vec<StepTiming> = Vec::new();
    let mut image_id = None;
    let mut upload_open = true;
    let result = loop {
        tokio::select! {
            biased;
            upload = upload_rx.recv(), if upload_open => match upload {
                Some(event) => on_event(&event),
                None => upload_open = false,
            },
            item = events.next() => match item {
                Some(Ok(event)) => {
                    // Upload events sent before this one come first.
                    while let Ok(upload) = upload_rx.try_recv() {
                        on_event(&upload);
                    }
                    let events = trace.lock().unwrap_or_else(|e| e.into_inner()).engine(event);
                    for event in events {
                        record(&event, &mut steps, &mut image_id, &mut warnings);
                        on_event(&event);
                    }
                }
                Some(Err(e)) => break Err(BuildError::from(e)),
                None => break Ok(()),
            },
        }
    };
    while let Ok(upload) = upload_rx.try_recv() {
        on_event(&upload);
    }
    // What the context left out that the user should hear of (a socket), as `context` says.
    let summary = stats.as_ref().and_then(StreamStats::summary);
    for warning in summary
        .as_ref()
        .map(|s| s.warnings.clone())
        .unwrap_or_default()
    {
        let message = format!("context: {warning}");
        on_event(&warning_event(message.clone(), &prepared.display, None));
        warnings.push(message);
    }
    // Outputs, pushes and the metadata file, before the build is said to be finished.
    let result = match result {
        Ok(()) => {
            crate::results::make_results(
                engine,
                spec,
                &host.credentials,
                image_id.as_deref(),
                &mut on_event,
            )
            .await
        }
        Err(err) => Err(err),
    };
    let duration = started.elapsed();
    match result {
        Ok(pushed) => {
            on_event(&Event::finished(
                image_id.clone(),
                spec.tags.clone(),
                duration,
            ));
            Ok(BuildOutcome {
                image_id,
                tags: spec.tags.clone(),
                duration,
                steps,
                images,
                warnings,
                context: summary,
                pushed,
            })
        }
        Err(err) => {
            let source = failure_source(&err, &prepared);
            let err = with_pull_cause(err, &images);
            // An error that does not say what was fetched names it.
            let err = match &spec.remote {
                Some(remote) => crate::remote::naming_the_context(err, remote),
                None => err,
            };
            let step = match &err {
                BuildError::Failed(failure) => failure.step.as_ref().and_then(|s| {
                    trace
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .vertex_number(&s.digest)
                }),
                _ => None,
            };

            let message = match &err {
                BuildError::Failed(failure) => match &failure.step {
                    Some(s) => s.error.clone(),
                    None => failure.message.clone(),
                },
                other => other.to_string(),
            };
            on_event(&Event::failed_at(message, step, source, duration));
            Err(err)
        }
    }
}

/// The failing instruction of a build that failed at a step, in its Dockerfile.
fn failure_source(err: &BuildError, prepared: &Prepared) -> Option<crate::source::SourceExcerpt> {
    let BuildError::Failed(failure) = err else {
        return None;
    };
    let lines = crate::source::locate(&failure.step.as_ref()?.name, &prepared.analysis)?;
    // BuildKit names the file as the frontend was given it: its name, not its path.
    let file = Path::new(&prepared.display).file_name().map_or_else(
        || prepared.display.clone(),
        |f| f.to_string_lossy().into_owned(),
    );
    crate::source::SourceExcerpt::new(&file, &prepared.text, lines)
}

/// When a pre-pull failed and the build then failed on that image (its error names it, or
/// is BuildKit's "no active sessions"), the error leads with the pull's own reason.
fn with_pull_cause(err: BuildError, images: &[ImageOutcome]) -> BuildError {
    if !matches!(err, BuildError::Failed(_)) {
        return err;
    }
    let text = err.to_string();
    let failed = images.iter().find_map(|outcome| match &outcome.outcome {
        PullOutcome::Failed { reason }
            if text.contains("no active sessions") || mentions(&text, &outcome.image) =>
        {
            Some((outcome.image.clone(), reason.clone()))
        }
        _ => None,
    });
    match failed {
        Some((image, reason)) => BuildError::Pull {
            hint: registry_hint(&image, &reason, Transfer::Pull),
            image,
            reason,
            build: Box::new(err),
        },
        None => err,
    }
}

/// Whether `text` names `image`, normalised (`docker.io/library/alpine:3`) or as people
/// write it (`alpine:3`).
fn mentions(text: &str, image: &str) -> bool {
    let familiar = image
        .strip_prefix("docker.io/library/")
        .or_else(|| image.strip_prefix("docker.io/"))
        .unwrap_or(image);
    text.contains(image) || text.contains(familiar)
}

/// Which way an image went to or from its registry, for [`registry_hint`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    Pull,
    Push,
}

/// What to do about a failed pull or push of `image`, from its reason.
pub(crate) fn registry_hint(image: &str, reason: &str, transfer: Transfer) -> Option<String> {
    let registry = engine_client::credentials::registry_of(image);
    let lower = reason.to_lowercase();
    if lower.contains("credential helper") {
        return Some(format!(
            "fix the credential helper the docker config names for {registry}"
        ));
    }
    if [
        "unauthorized",
        "authentication required",
        "denied",
        "no basic auth credentials",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        let may = match transfer {
            Transfer::Pull => "pull it",
            Transfer::Push => "push to it",
        };
        return Some(format!(
            "run `docker login {registry}` with an account that may {may}, then build again"
        ));
    }
    if [
        "connection refused",
        "no such host",
        "i/o timeout",
        "timeout",
        "dial tcp",
        "eof",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return Some(format!(
            "the registry {registry} did not answer: is it up, and is its name right?"
        ));
    }
    // A push names what it pushes from the engine's own store: nothing to check there.
    if transfer == Transfer::Pull
        && (lower.contains("not found") || lower.contains("manifest unknown"))
    {
        return Some("check the image's name and tag".to_owned());
    }
    None
}

/// A warning of devbuild's own (the analyser's, the context's), as the renderers show
/// BuildKit's.
fn warning_event(message: String, file: &str, line: Option<usize>) -> Event {
    Event::Step(StepEvent::Warning {
        step: None,
        message,
        detail: Vec::new(),
        url: None,
        location: line.map(|line| engine_client::events::SourceLocation {
            file: file.to_owned(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
        }),
    })
}

fn record(
    event: &Event,
    steps: &mut Vec<StepTiming>,
    image_id: &mut Option<String>,
    warnings: &mut Vec<String>,
) {
    let mut step_of = |step: u32, name: &str| -> usize {
        match steps.iter().position(|s| s.step == step) {
            Some(index) => index,
            None => {
                steps.push(StepTiming {
                    step,
                    name: name.to_owned(),
                    cached: false,
                    duration: None,
                });
                steps.len() - 1
            }
        }
    };
    match event {
        Event::Step(StepEvent::StepStarted { step, name, .. }) => {
            step_of(*step, name);
        }
        Event::Step(StepEvent::StepCached { step, name, .. }) => {
            let index = step_of(*step, name);
            steps[index].cached = true;
        }
        Event::Step(StepEvent::StepCompleted {
            step,
            name,
            duration_ms,
            ..
        }) => {
            let index = step_of(*step, name);
            steps[index].duration = duration_ms.map(Duration::from_millis);
        }
        Event::Engine(BuildEvent::ImageId { id }) => *image_id = Some(id.clone()),
        Event::Step(StepEvent::Warning { message, .. }) => warnings.push(message.clone()),
        _ => {}
    }
}

// Remote contexts (see `crate::remote`).

/// A remote spec as [`prepare`] takes it: the fetched Dockerfile's text as
/// `dockerfile_text`, or, when there is none, a Dockerfile that needs nothing (the target
/// dropped with it), so that every other option is still checked.
fn remote_view(spec: &BuildSpec, text: Option<&str>) -> BuildSpec {
    let mut view = spec.clone();
    match text {
        Some(text) => view.dockerfile_text = Some(text.to_owned()),
        None => {
            view.dockerfile_text = Some("FROM scratch\n".to_owned());
            view.target = None;
        }
    }
    view
}

/// The body, `-f` and stats of a remote build: nothing (the engine fetches the context),
/// or the git subdirectory devbuild fetched for an engine that cannot.
fn remote_body(
    spec: &BuildSpec,
    fetched: &crate::remote::Fetched,
) -> Result<(BodyStream, Option<String>, Option<StreamStats>), BuildError> {
    let dockerfile = spec.dockerfile.as_ref().map(|p| p.display().to_string());
    let body: BodyStream = match &fetched.archive {
        Some(archive) => file_stream(std::fs::File::open(archive).map_err(|e| {
            BuildError::Input(format!(
                "the context fetched from {}: {e}",
                fetched.remote.url()
            ))
        })?),
        None => Box::pin(futures_util::stream::empty()),
    };
    Ok((body, dockerfile, None))
}

/// A build's body: the context's tar, as it is produced or read.
type BodyStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A file's bytes as a stream of chunks, read on a thread of its own a bounded number of
/// chunks ahead.
fn file_stream(mut file: std::fs::File) -> BodyStream {
    use std::io::Read;
    const CHUNK: usize = 64 * 1024;
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    std::thread::spawn(move || loop {
        let mut chunk = vec![0u8; CHUNK];
        let sent = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunk.truncate(n);
                tx.blocking_send(Ok(Bytes::from(chunk)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// The context's tar as the build's body, reporting its progress on a channel: at most
/// every [`UPLOAD_PROGRESS_EVERY`], and once when it has all been sent.
struct Upload {
    tar: BodyStream,
    /// The archiver's counters, when devbuild archives the context.
    stats: Option<StreamStats>,
    events: mpsc::UnboundedSender<Event>,
    started: Option<Instant>,
    last: Option<Instant>,
    bytes: u64,
    done: bool,
}

impl Upload {
    fn new(
        tar: BodyStream,
        stats: Option<StreamStats>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Upload {
        Upload {
            stats,
            tar,
            events,
            started: None,
            last: None,
            bytes: 0,
            done: false,
        }
    }
}

impl Stream for Upload {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let polled = this.tar.as_mut().poll_next(cx);
        let now = Instant::now();
        let started = *this.started.get_or_insert(now);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                this.bytes += chunk.len() as u64;
                if this
                    .last
                    .is_none_or(|last| now.duration_since(last) >= UPLOAD_PROGRESS_EVERY)
                {
                    this.last = Some(now);
                    let _ = this.events.send(Event::upload_progress(
                        0,
                        this.bytes,
                        None,
                        now.duration_since(started),
                        false,
                    ));
                }
            }
            Poll::Ready(None) => {
                this.done = true;
                let summary = this.stats.as_ref().and_then(StreamStats::summary);
                let mut event = Event::upload_progress(
                    summary.as_ref().map_or(0, |s| s.entries),
                    this.bytes,
                    Some(this.bytes),
                    now.duration_since(started),
                    true,
                );
                if let (
                    Event::UploadProgress {
                        excluded, unused, ..
                    },
                    Some(summary),
                ) = (&mut event, &summary)
                {
                    *excluded = Some(summary.excluded);
                    *unused = Some(summary.unused);
                }
                let _ = this.events.send(event);
            }
            Poll::Ready(Some(Err(_))) => this.done = true,
            Poll::Pending => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, cached: bool) -> StepTiming {
        StepTiming {
            step: 1,
            name: name.into(),
            cached,
            duration: None,
        }
    }

    #[test]
    fn only_instructions_other_than_from_count_for_all_cached() {
        assert!(step("[build 2/4] RUN make", false).is_instruction());
        assert!(step("[2/3] COPY a.txt /a.txt", false).is_instruction());
        assert!(!step("[1/3] FROM docker.io/library/alpine:3.20", false).is_instruction());
        assert!(!step("[internal] load metadata for x", false).is_instruction());
        assert!(!step("exporting to image", false).is_instruction());
        let outcome = |steps| BuildOutcome {
            image_id: None,
            tags: vec![],
            duration: Duration::ZERO,
            steps,
            images: vec![],
            warnings: vec![],
            context: None,
            pushed: vec![],
        };
        assert!(outcome(vec![step("[1/2] FROM a", false), step("[2/2] RUN b", true)]).all_cached());
        assert!(!outcome(vec![step("[2/2] RUN b", false)]).all_cached());
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = BuildSpec::new(dir.path()).check().unwrap_err();
        assert!(
            missing.to_string().contains("cannot read the Dockerfile"),
            "{missing}"
        );
        std::fs::write(dir.path().join("Dockerfile"), "FROM alpine\nFROM\n").unwrap();
        let invalid = BuildSpec::new(dir.path()).check().unwrap_err();
        let expected = format!("{}:2: ", dir.path().join("Dockerfile").display());
        assert!(invalid.to_string().starts_with(&expected), "{invalid}");
        let mut spec = BuildSpec::new(dir.path());
        std::fs::write(dir.path().join("Dockerfile"), "FROM alpine\n").unwrap();
        spec.platform = Some("not a platform".into());
        assert!(matches!(spec.check(), Err(BuildError::Input(_))));
        spec.platform = None;
        spec.check().unwrap();
    }
}
