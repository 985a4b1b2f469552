//! Talking to the engine: connect and negotiate the API version, inspect, pull with
//! credentials, pre-pull concurrently, and build with BuildKit without a session.
//!
//! bollard provides the transports (unix socket, TCP, TLS, SSH) and connection
//! handling. Requests are written here and responses decoded here, because bollard
//! 0.21's typed calls fall into these pitfalls (each has a test):
//!
//! - Its build stream decodes each line into a type whose `aux` must be an image id;
//!   the first `moby.buildkit.trace` line (base64 text) fails and ends the stream.
//!   Here the raw lines go to [`BuildDecoder`].
//! - It encodes `X-Registry-Auth` with standard base64; the engine decodes URL-safe
//!   base64 and silently drops what it cannot read. Here the header is
//!   [`RegistryAuth::header_value`].
//! - It joins the request path onto `/v1.xx` as an absolute path, which drops the
//!   API version prefix, so the engine answers with whatever its newest API does.
//!   Here every request carries the negotiated `/v1.xx` prefix.
//! - Its line decoder reports "bytes remaining on stream" when the last message has
//!   no line ending, ending a successful stream with an error. Here a last line
//!   without an ending is decoded like any other.
//! - One timeout (120 s by default) covers a request until the response starts,
//!   including the whole upload of a build context. Here short calls keep
//!   [`ConnectOptions::timeout`], and builds and pulls have none (a lost connection
//!   still ends them with an error).
//! - The `buildkit` feature forces a BuildKit session (and ~60 crates); it is not used.
//!
//! Errors ([`EngineError`]) name the endpoint and how it was chosen, and give a transport
//! failure's real cause in the OS's words (`connection refused`), found by walking the
//! sources of bollard's error down to the `std::io::Error`; the TLS files are checked
//! before connecting (`crate::tls`), and an authorization plugin's refusal says so, with
//! the plugin's name and message.
//!
//! The one place bollard is bent to this: a request is sent through a public call with
//! a fixed, bodiless request (`export_image`, whose response body bollard hands back
//! raw), which a one-shot request modifier rewrites into the real method, path,
//! headers and body before it leaves.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::Method;
use image_ref::{ImageRef, Platform};
use serde::Deserialize;

use crate::credentials::{registry_of_image, DockerConfig, RegistryAuth};
use crate::endpoint::{Endpoint, EndpointEnv, EndpointError};
use crate::events::{BuildEvent, PullEvent, PullOutcome};
use crate::json_messages::{self, JsonMessage, Transfer};
use crate::line_stream::{read_lines, LineReader};
use crate::progress::{BuildDecoder, StepFailure};
use crate::run_settings::{ExtraHost, Network, Ulimit};
use crate::session::{BuildSecrets, Services, Session};
use crate::ssh_agents::SshAgents;

/// The body type bollard's requests carry.
pub(crate) trait BodyOf {
    type Body;
}
impl<B> BodyOf for http::Request<B> {
    type Body = B;
}
pub(crate) type Body = <bollard::BollardRequest as BodyOf>::Body;

pub(crate) type ByteStream =
    Pin<Box<dyn Stream<Item = Result<Bytes, bollard::errors::Error>> + Send>>;

/// An Engine API version, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// The major version (1).
    pub major: u32,
    /// The minor version.
    pub minor: u32,
}

impl ApiVersion {
    /// The oldest API that builds with BuildKit (`version=2`): Docker Engine 18.09.
    pub const MIN_BUILDKIT: ApiVersion = ApiVersion {
        major: 1,
        minor: 39,
    };
    /// The newest API this crate speaks; newer engines are spoken to in this version.
    pub const MAX: ApiVersion = ApiVersion {
        major: 1,
        minor: 47,
    };

    /// Parses `1.41`.
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The timeout of short calls (version, inspect). Builds and pulls have none.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
        }
    }
}

/// A build failed: the engine's message, and the step that failed when BuildKit said
/// which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildFailure {
    /// The engine's error message.
    pub message: String,
    /// The failing step and its error.
    pub step: Option<StepFailure>,
}

impl fmt::Display for BuildFailure {
    /// `build failed at step [3/3] RUN make: <error>`: the step, as BuildKit names it, and the
    /// fuller of its error and the engine's message (the engine's usually wraps the
    /// step's), both when neither holds the other. The step's log is not repeated here: it
    /// came as events. Nor is the step's number, which is how a renderer shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => {
                write!(f, "build failed at step {}: ", step.name)?;
                if self.message.is_empty() || step.error.contains(&self.message) {
                    f.write_str(&step.error)
                } else if self.message.contains(&step.error) {
                    f.write_str(&self.message)
                } else {
                    write!(f, "{}\n{}", step.error, self.message)
                }
            }
            None => write!(f, "build failed: {}", self.message),
        }
    }
}

/// An error talking to the engine.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct EngineError(#[from] Kind);

#[derive(Debug, thiserror::Error)]
pub(crate) enum Kind {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("cannot reach the Docker Engine at {host} ({chosen}): {reason}; {hint}")]
    Unreachable {
        host: String,
        chosen: String,
        reason: String,
        hint: &'static str,
    },
    #[error("cannot use the Docker Engine at {host} ({chosen}): {reason}")]
    Unsupported {
        host: String,
        chosen: String,
        reason: String,
    },
    #[cfg(feature = "tls")]
    #[error("cannot use the Docker Engine at {host} ({chosen}): {error}; {hint}")]
    TlsFile {
        host: String,
        chosen: String,
        error: Box<crate::tls::TlsFileError>,
        hint: &'static str,
    },
    #[error(
        "the Docker Engine at {host} speaks API {version}, older than {min} which BuildKit builds \
         need (Docker Engine 18.09 or newer); upgrade the engine"
    )]
    ApiTooOld {
        host: String,
        version: ApiVersion,
        min: ApiVersion,
    },
    #[error("cannot use the Docker Engine at {host} ({chosen}): {reason}; {hint}")]
    TlsHandshake {
        host: String,
        chosen: String,
        reason: String,
        hint: &'static str,
    },
    #[error("{what}: the engine answered {status}: {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    #[error("an authorization plugin ({plugin}) refused {request}: {message}")]
    AuthorizationDenied {
        request: String,
        plugin: String,
        message: String,
    },
    #[error("the authorization plugin {plugin} failed on {request}: {message}")]
    AuthorizationFailed {
        request: String,
        plugin: String,
        message: String,
    },
    #[error("build: the build context could not be sent: {reason}")]
    Context { reason: String },
    #[error("{what}: {lost}")]
    Disconnected { what: String, lost: Lost },
    #[error("{what}: no answer from the Docker Engine at {host} ({chosen}) within {seconds} s")]
    Timeout {
        what: String,
        host: String,
        chosen: String,
        seconds: u64,
    },
    #[error("{what}: the engine's answer cannot be read: {reason}")]
    BadAnswer { what: String, reason: String },
    #[error("{what}: the engine ended its answer without a result")]
    Incomplete { what: String },
    #[error("{0}")]
    BuildFailed(BuildFailure),
    #[error(
        "build: cannot open a BuildKit session (for the build's secrets and SSH agents) with the Docker Engine \
         at {host} ({chosen}): {reason}"
    )]
    Session {
        host: String,
        chosen: String,
        reason: String,
    },
    #[error(
        "build: the Docker Engine at {host} ({chosen}) closed the build's BuildKit session before \
         the build ended{}; the build was stopped",
        reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
    )]
    SessionLost {
        host: String,
        chosen: String,
        reason: Option<String>,
    },
}

impl EngineError {
    /// The build's failure, when this error is one.
    pub fn build_failure(&self) -> Option<&BuildFailure> {
        match &self.0 {
            Kind::BuildFailed(failure) => Some(failure),
            _ => None,
        }
    }

    /// Whether the engine could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self.0, Kind::Unreachable { .. })
    }

    /// When an authorization plugin of the engine refused the request: the plugin's name
    /// and its message, verbatim.
    pub fn authorization_denial(&self) -> Option<(&str, &str)> {
        match &self.0 {
            Kind::AuthorizationDenied {
                plugin, message, ..
            } => Some((plugin, message)),
            _ => None,
        }
    }
}

/// The connection to the engine went away: where the engine is, how that was chosen, and
/// the transport's own cause.
#[derive(Debug)]
pub(crate) struct Lost {
    host: String,
    chosen: String,
    reason: String,
    /// The TLS handshake failed: `reason` says why, in terms of the TLS files.
    tls: bool,
}

impl Lost {
    pub(crate) fn new(endpoint: &Endpoint, error: &bollard::errors::Error) -> Self {
        let tls = tls_failure(endpoint, error);
        Lost {
            host: endpoint.host.clone(),
            chosen: endpoint.source.to_string(),
            tls: tls.is_some(),
            reason: tls.unwrap_or_else(|| cause(error)),
        }
    }
}

#[cfg(feature = "tls")]
fn tls_failure(endpoint: &Endpoint, error: &bollard::errors::Error) -> Option<String> {
    crate::tls::handshake_failure(error, endpoint.tls.as_ref()?)
}

#[cfg(not(feature = "tls"))]
fn tls_failure(_endpoint: &Endpoint, _error: &bollard::errors::Error) -> Option<String> {
    None
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the connection to the Docker Engine at {} ({}) was lost: {}",
            self.host, self.chosen, self.reason
        )
    }
}

impl From<EndpointError> for EngineError {
    fn from(e: EndpointError) -> Self {
        Kind::Endpoint(e).into()
    }
}

/// What an error answer of the engine becomes. `request` is the method and path
/// (`POST /build`), `what` what the caller was doing. An authorization plugin's refusal
/// (moby `pkg/authorization`: "authorization denied by plugin <name>: <msg>", 403, or
/// "plugin <name> failed with error: <msg>" when the plugin itself failed) says so, names
/// the plugin and keeps its message; any other answer keeps the engine's words.
pub(crate) fn refusal(request: &str, what: &str, status: u16, message: String) -> Kind {
    let request = request.split('?').next().unwrap_or(request).to_owned();
    if let Some(rest) = message.strip_prefix("authorization denied by plugin ") {
        let (plugin, said) = rest
            .split_once(": ")
            .unwrap_or((rest.trim_end_matches(':'), ""));
        return Kind::AuthorizationDenied {
            request,
            plugin: plugin.to_owned(),
            message: said.to_owned(),
        };
    }
    if let Some((plugin, said)) = message
        .strip_prefix("plugin ")
        .and_then(|rest| rest.split_once(" failed with error: "))
        .filter(|(plugin, _)| status == 500 && !plugin.contains(' '))
    {
        return Kind::AuthorizationFailed {
            request,
            plugin: plugin.to_owned(),
            message: said.to_owned(),
        };
    }
    Kind::Refused {
        what: what.to_owned(),
        status,
        message,
    }
}

/// The real cause of a transport failure, in the OS's words where there are some
/// (`connection refused`, `connection reset by peer`): bollard wraps hyper's errors,
/// which wrap the `std::io::Error`, so the chain of sources is walked to it. Without
/// one, the innermost error's message (`connection closed before message completed`).
fn cause(error: &bollard::errors::Error) -> String {
    let mut current: &(dyn std::error::Error + 'static) = error;
    loop {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return os_wording(io);
        }
        match current.source() {
            Some(source) => current = source,
            None => return current.to_string(),
        }
    }
}

/// An I/O error in the OS's words, as the docker CLI shows them: `connection refused`,
/// `no such file or directory`, `connection reset by peer`, `connection timed out`.
pub(crate) fn os_wording(error: &std::io::Error) -> String {
    if let Some(code) = error.raw_os_error() {
        let text = std::io::Error::from_raw_os_error(code).to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        let mut chars = text.chars();
        return match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => format!("os error {code}"),
        };
    }
    if let Some(inner) = error.get_ref() {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return os_wording(io);
        }
    }
    match error.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("it was closed mid-answer ({error})"),
        _ => error.to_string(),
    }
}

/// A connected engine whose API version has been negotiated.
#[derive(Clone)]
pub struct Engine {
    short: Docker,
    long: Docker,
    timeout: Duration,
    api: ApiVersion,
    server_version: String,
    endpoint: Endpoint,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("endpoint", &self.endpoint)
            .field("api", &self.api)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct VersionAnswer {
    #[serde(rename = "ApiVersion")]
    api_version: String,
    #[serde(rename = "Version", default)]
    version: String,
}

/// What an image in the engine's store is.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ImageInfo {
    /// Its id (`sha256:…`).
    #[serde(rename = "Id")]
    pub id: String,
    /// Its operating system (`linux`).
    #[serde(rename = "Os", default)]
    pub os: String,
    /// Its architecture (`amd64`).
    #[serde(rename = "Architecture", default)]
    pub architecture: String,
    /// Its architecture variant (`v8`), if any.
    #[serde(rename = "Variant", default)]
    pub variant: Option<String>,
    /// What a build on it starts from (its `Config`).
    #[serde(rename = "Config", default, deserialize_with = "null_as_default")]
    pub config: ImageConfig,
}

/// The parts of an image's config (`Config` in `GET /images/{name}/json`) that a Dockerfile
/// built on it sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ImageConfig {
    /// Its environment, `KEY=value` entries in order (`Env`).
    #[serde(rename = "Env", default, deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    /// Its `ONBUILD` triggers, each an instruction's text (`OnBuild`).
    #[serde(rename = "OnBuild", default, deserialize_with = "null_as_default")]
    pub onbuild: Vec<String>,
}

/// The engine sends `null` for an empty list or config: read it as the default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl ImageInfo {
    /// Whether the image is for `platform` (`os/arch[/variant]`); `None` matches any.
    ///
    /// `platform` is read as containerd reads it ([`Platform::parse`]) and compared with
    /// [`ImageInfo::matches_platform`].
    pub fn matches(&self, platform: Option<&str>) -> bool {
        let Some(platform) = platform else {
            return true;
        };
        match Platform::parse(platform) {
            Ok(want) => self.matches_platform(&want),
            // Not a platform containerd accepts (the pull will say so): compare its words
            // as they are written, as before platforms were parsed here.
            Err(_) => self.matches_words(platform),
        }
    }

    /// Whether the image is for `want`. Both sides are compared normalised, as containerd
    /// compares platforms (`aarch64` is `arm64`, `arm64/v8` is `arm64`, `arm` is `arm/v7`);
    /// a variant decides only when both sides name one, since engines report none for
    /// many images.
    pub fn matches_platform(&self, want: &Platform) -> bool {
        // An image without an OS (some `docker import`s) fits no platform: normalising
        // would give it the host's.
        if self.os.is_empty() {
            return false;
        }
        let reported = self.variant.clone().filter(|v| !v.is_empty());
        let mut have = Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: reported.clone(),
        }
        .normalize();
        // Normalising gives a bare `arm` the variant `v7`; an image that reports no variant
        // fits any, as the engine's own answer says nothing more.
        if reported.is_none() {
            have.variant = None;
        }
        let want = want.normalize();
        want.os == have.os
            && want.architecture == have.architecture
            && match (&want.variant, &have.variant) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    }

    /// The comparison for a platform string that does not parse: word by word.
    fn matches_words(&self, platform: &str) -> bool {
        let mut parts = platform.split('/');
        let os = parts.next().unwrap_or_default();
        let arch = parts.next();
        let variant = parts.next();
        os == self.os
            && arch.is_none_or(|a| a == self.architecture)
            && match (variant, self.variant.as_deref()) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    }
}

/// An image a build needs, for a platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageNeed {
    /// The reference (`docker.io/library/alpine:3.20`, `host/x@sha256:…`).
    pub image: ImageRef,
    /// The platform (`linux/amd64`), if not the engine's own.
    pub platform: Option<Platform>,
}

impl ImageNeed {
    /// The image as events name it: the normalised reference.
    fn image_text(&self) -> String {
        self.image.to_string()
    }

    /// The platform as events and the pull's query spell it.
    fn platform_text(&self) -> Option<String> {
        self.platform.as_ref().map(Platform::to_string)
    }
}

/// How to pre-pull.
#[derive(Clone, Debug)]
pub struct PrepullOptions {
    /// How many pulls run at once.
    pub concurrency: usize,
    /// Pull even images that are present (`--pull`: BuildKit cannot pull with
    /// credentials without a session, so a fresh pull happens before the build).
    pub always_pull: bool,
}

impl Default for PrepullOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            always_pull: false,
        }
    }
}

/// What to build. The context itself is the body given to [`Engine::build`].
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// The Dockerfile's path inside the context (default `Dockerfile`).
    pub dockerfile: Option<String>,
    /// Names to tag the image with.
    pub tags: Vec<String>,
    /// `--build-arg`s.
    pub build_args: BTreeMap<String, String>,
    /// The stage to build.
    pub target: Option<String>,
    /// The platform to build for.
    pub platform: Option<String>,
    /// Labels to add to the image.
    pub labels: BTreeMap<String, String>,
    /// Do not use the build cache.
    pub no_cache: bool,
    /// Extra `/etc/hosts` entries of the `RUN`s (`extrahosts`).
    pub extra_hosts: Vec<ExtraHost>,
    /// The network of the `RUN`s (`networkmode`).
    pub network: Network,
    /// The size of the `RUN`s' `/dev/shm` in bytes (`shmsize`; engines from API 1.42).
    pub shm_size: Option<u64>,
    /// Resource limits of the `RUN`s (`ulimits`; engines from API 1.42).
    pub ulimits: Vec<Ulimit>,
    /// Images in the engine's store whose inline cache the build may use (`cachefrom`).
    pub cache_from: Vec<String>,
    /// Also report each of BuildKit's status updates as it came
    /// ([`BuildEvent::Status`](crate::events::BuildEvent::Status)), for a renderer of its own.
    pub raw_status: bool,
    /// The build's secrets, for `RUN --mount=type=secret`: when there are any, the build
    /// opens a BuildKit session that serves them ([`crate::session`]).
    pub secrets: BuildSecrets,
    /// The SSH agents the build forwards, for `RUN --mount=type=ssh`: when there are any,
    /// the build opens a session that forwards them ([`crate::ssh_agents`]). Without
    /// secrets or agents no session is opened.
    pub ssh: SshAgents,
    /// The registry credentials a session gives BuildKit when it pulls for itself (a base
    /// image not pre-pulled, `--cache-from` of a registry), each only for the registry it
    /// asks about. Opens no session by itself; without, BuildKit pulls anonymously.
    pub session_credentials: Option<Arc<DockerConfig>>,
    /// A context the engine fetches itself (`remote=`): a git URL (`…/repo.git#ref:dir`,
    /// `git://…`, `git@host:repo`) or an http(s) URL of a tar or of a Dockerfile. The body
    /// given to [`Engine::build`] is then ignored by the engine: send an empty one, and give
    /// `dockerfile` as a path inside that context.
    pub remote: Option<String>,
}

impl BuildOptions {
    /// The oldest API whose BuildKit applies `shmsize` and `ulimits` (Engine 23.0): older
    /// engines accept them and silently ignore them.
    pub const MIN_API_RUN_LIMITS: ApiVersion = ApiVersion {
        major: 1,
        minor: 42,
    };

    /// The options that an engine speaking `api` would ignore: their names, as
    /// `docker buildx build` spells them.
    pub fn unsupported_by(&self, api: ApiVersion) -> Vec<&'static str> {
        let mut ignored = Vec::new();
        if api < Self::MIN_API_RUN_LIMITS {
            if self.shm_size.is_some() {
                ignored.push("--shm-size");
            }
            if !self.ulimits.is_empty() {
                ignored.push("--ulimit");
            }
        }
        ignored
    }

    /// The query string of `POST /build`.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("version", "2");
        if let Some(dockerfile) = &self.dockerfile {
            query.append_pair("dockerfile", dockerfile);
        }
        for tag in &self.tags {
            query.append_pair("t", tag);
        }
        if !self.build_args.is_empty() {
            let json = serde_json::to_string(&self.build_args).expect("a map of strings");
            query.append_pair("buildargs", &json);
        }
        if !self.labels.is_empty() {
            let json = serde_json::to_string(&self.labels).expect("a map of strings");
            query.append_pair("labels", &json);
        }
        if let Some(target) = &self.target {
            query.append_pair("target", target);
        }
        if let Some(platform) = &self.platform {
            query.append_pair("platform", platform);
        }
        if self.no_cache {
            query.append_pair("nocache", "1");
        }
        for host in &self.extra_hosts {
            query.append_pair("extrahosts", &host.to_string());
        }
        if self.network != Network::Default {
            query.append_pair("networkmode", self.network.as_str());
        }
        if let Some(size) = self.shm_size.filter(|&size| size > 0) {
            query.append_pair("shmsize", &size.to_string());
        }
        if !self.ulimits.is_empty() {
            let json = serde_json::to_string(&self.ulimits).expect("ulimits serialise");
            query.append_pair("ulimits", &json);
        }
        if !self.cache_from.is_empty() {
            let json = serde_json::to_string(&self.cache_from).expect("a list of strings");
            query.append_pair("cachefrom", &json);
        }
        if let Some(remote) = &self.remote {
            query.append_pair("remote", remote);
        }
        query.finish()
    }
}

/// Splits a reference into what `POST /images/create` takes: the name, and always an
/// explicit tag or digest (`latest` when there is neither), so that a pull never
/// fetches every tag of a repository.
///
/// Where the name ends is decided by the reference grammar ([`ImageRef::parse`]); the name
/// is returned as written (`alpine`, not `docker.io/library/alpine`): the engine normalises
/// it the same way, and its messages then name the image as the caller did.
///
/// ```
/// use engine_client::engine::pull_target;
/// assert_eq!(pull_target("alpine"), ("alpine", "latest"));
/// assert_eq!(pull_target("localhost:5000/app:1"), ("localhost:5000/app", "1"));
/// assert_eq!(pull_target("localhost:5000/app"), ("localhost:5000/app", "latest"));
/// // Not a valid digest: the grammar refuses it, the text is still split (see below).
/// assert_eq!(pull_target("a/b:1@sha256:00"), ("a/b", "sha256:00"));
/// ```
pub fn pull_target(reference: &str) -> (&str, &str) {
    match ImageRef::parse(reference) {
        Ok(image) => written_target(reference, &image),
        Err(_) => None,
    }
    // A string the grammar refuses is still split at its last `@` and `:`, as before
    // references were parsed here: the engine then refuses it with its own message,
    // which names the image as written.
    .unwrap_or_else(|| split_target(reference))
}

/// [`pull_target`] for a parsed reference: its normalised name and its digest, else its
/// tag (an [`ImageRef`] always has one or the other).
pub fn image_target(image: &ImageRef) -> (String, &str) {
    (
        image.name(),
        image.digest().or(image.tag()).unwrap_or("latest"),
    )
}

/// The name, as written in `reference`, and the digest or tag of `image` (its parse).
/// `None` if the text does not end with them as the parse saw them.
fn written_target<'a>(reference: &'a str, image: &ImageRef) -> Option<(&'a str, &'a str)> {
    let mut name = reference;
    let mut digest = None;
    if let Some(wanted) = image.digest() {
        let rest = name.strip_suffix(wanted)?.strip_suffix('@')?;
        digest = Some(&name[rest.len() + 1..]);
        name = rest;
    }
    let mut tag = None;
    // A reference written without a tag has `latest` in its parse but not in its text.
    if let Some(wanted) = image.tag() {
        if let Some(rest) = name.strip_suffix(wanted).and_then(|r| r.strip_suffix(':')) {
            tag = Some(&name[rest.len() + 1..]);
            name = rest;
        }
    }
    Some((name, digest.or(tag).unwrap_or("latest")))
}

/// The split of a reference the grammar refuses: at its `@`, then at a `:` after the
/// last `/`.
fn split_target(reference: &str) -> (&str, &str) {
    if let Some((name, digest)) = reference.split_once('@') {
        let name = strip_tag(name).0;
        return (name, digest);
    }
    match strip_tag(reference) {
        (name, Some(tag)) => (name, tag),
        (name, None) => (name, "latest"),
    }
}

fn strip_tag(reference: &str) -> (&str, Option<&str>) {
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => (
            &reference[..last_slash + i],
            Some(&reference[last_slash + i + 1..]),
        ),
        None => (reference, None),
    }
}

fn open_transport(endpoint: &Endpoint, timeout: Duration) -> Result<Docker, EngineError> {
    let secs = timeout.as_secs().max(1);
    let version = bollard::API_DEFAULT_VERSION;
    let host = endpoint.host.as_str();
    let unsupported = |reason: String| -> EngineError {
        Kind::Unsupported {
            host: host.to_owned(),
            chosen: endpoint.source.to_string(),
            reason,
        }
        .into()
    };
    let unreachable = |reason: String| -> EngineError {
        Kind::Unreachable {
            host: host.to_owned(),
            chosen: endpoint.source.to_string(),
            reason,
            hint: endpoint.source.hint(),
        }
        .into()
    };
    let scheme = host.split_once("://").map_or("", |(s, _)| s);
    let result = match (scheme, &endpoint.tls) {
        ("unix", _) => Docker::connect_with_unix(host, secs, version),
        ("tcp", None) => Docker::connect_with_http(host, secs, version),
        ("tcp", Some(tls)) => return connect_tls(endpoint, tls, secs, &unsupported),
        ("ssh", _) => return connect_ssh(host, secs, &unsupported),
        _ => {
            return Err(unsupported(format!(
                "{scheme}:// endpoints are not supported"
            )))
        }
    };
    result.map_err(|e| match e {
        bollard::errors::Error::SocketNotFoundError(path) => {
            unreachable(format!("there is no socket at {path}"))
        }
        other => unreachable(cause(&other)),
    })
}

/// bollard's TLS transport, after the files are checked (see [`crate::tls`]): one that is
/// missing, unreadable or invalid is an error naming it.
#[cfg(feature = "tls")]
fn connect_tls(
    endpoint: &Endpoint,
    tls: &crate::endpoint::TlsFiles,
    secs: u64,
    unsupported: &dyn Fn(String) -> EngineError,
) -> Result<Docker, EngineError> {
    if !tls.verify {
        return Err(unsupported(
            "TLS without verification (DOCKER_TLS without DOCKER_TLS_VERIFY, or a context's \
             SkipTLSVerify) is not supported; set DOCKER_TLS_VERIFY=1 and give the engine's CA \
             as ca.pem"
                .to_owned(),
        ));
    }
    let files = crate::tls::check(tls).map_err(|error| Kind::TlsFile {
        host: endpoint.host.clone(),
        chosen: endpoint.source.to_string(),
        error: Box::new(error),
        hint: tls_hint(&endpoint.source),
    })?;
    // bollard's transport always reads a CA file (an empty one adds nothing to the system's
    // roots) and reads the client's files during each handshake, sending no certificate when
    // they are absent.
    let no_file = std::path::Path::new("/dev/null");
    let ca = files.ca.as_deref().unwrap_or(no_file);
    let absent = (tls.dir.join("cert.pem"), tls.dir.join("key.pem"));
    let (cert, key) = files.client.as_ref().unwrap_or(&absent);
    Docker::connect_with_ssl(
        &endpoint.host,
        key,
        cert,
        ca,
        secs,
        bollard::API_DEFAULT_VERSION,
    )
    .map_err(|e| match e {
        // The system's own CA store could not be read (bollard loads it too).
        bollard::errors::Error::LoadNativeCertsErrors { errors } => {
            let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
            unsupported(format!(
                "the system's CA certificates cannot be loaded: {}",
                reasons.join("; ")
            ))
        }
        other => unsupported(format!("TLS setup failed: {}", cause(&other))),
    })
}

/// Where the TLS files of an endpoint chosen this way come from, and how to change them.
pub(crate) fn tls_hint(source: &crate::endpoint::EndpointSource) -> &'static str {
    match source {
        crate::endpoint::EndpointSource::Context { .. } => {
            "give the context its files with `docker context update --docker host=…,ca=…,cert=…,key=…`"
        }
        _ => {
            "DOCKER_CERT_PATH (else the docker configuration directory) must hold the engine's CA \
             as ca.pem and the client's cert.pem and key.pem"
        }
    }
}

#[cfg(not(feature = "tls"))]
fn connect_tls(
    _endpoint: &Endpoint,
    _tls: &crate::endpoint::TlsFiles,
    _secs: u64,
    unsupported: &dyn Fn(String) -> EngineError,
) -> Result<Docker, EngineError> {
    Err(unsupported(
        "TLS endpoints need engine-client's `tls` feature".to_owned(),
    ))
}

#[cfg(feature = "ssh")]
fn connect_ssh(
    host: &str,
    secs: u64,
    unsupported: &dyn Fn(String) -> EngineError,
) -> Result<Docker, EngineError> {
    let target = crate::ssh::SshTarget::parse(host).map_err(unsupported)?;
    crate::ssh::connect(target, secs).map_err(|e| unsupported(format!("SSH setup failed: {e}")))
}

#[cfg(not(feature = "ssh"))]
fn connect_ssh(
    _host: &str,
    _secs: u64,
    unsupported: &dyn Fn(String) -> EngineError,
) -> Result<Docker, EngineError> {
    Err(unsupported(
        "ssh:// endpoints need engine-client's `ssh` feature".to_owned(),
    ))
}

/// The transports for short calls (with the configured timeout) and for builds and
/// pulls (without one: tokio treats a deadline past the end of time as none).
fn transports(
    endpoint: &Endpoint,
    options: &ConnectOptions,
) -> Result<(Docker, Docker), EngineError> {
    let short = open_transport(endpoint, options.timeout)?;
    let long = short.clone().with_timeout(LONG_CALL_TIMEOUT);
    Ok((short, long))
}

/// The timeout of builds and pulls: none, in effect.
const LONG_CALL_TIMEOUT: Duration = Duration::from_secs(u64::MAX);

impl Engine {
    /// Connects to the engine the docker CLI would use (see [`crate::endpoint`]).
    pub async fn connect_from_env() -> Result<Engine, EngineError> {
        let endpoint = crate::endpoint::resolve(&EndpointEnv::from_process())?;
        Self::connect(endpoint, &ConnectOptions::default()).await
    }

    /// Connects to an endpoint and negotiates the API version: the engine's, at most
    /// [`ApiVersion::MAX`]. An engine that does not answer, or whose API is older than
    /// [`ApiVersion::MIN_BUILDKIT`], is an error that says where it was and how it
    /// was chosen.
    pub async fn connect(
        endpoint: Endpoint,
        options: &ConnectOptions,
    ) -> Result<Engine, EngineError> {
        let (short, long) = transports(&endpoint, options)?;
        let mut engine = Engine {
            short,
            long,
            timeout: options.timeout,
            api: ApiVersion::MIN_BUILDKIT,
            server_version: String::new(),
            endpoint,
        };
        let body = engine
            .call(Method::GET, "/version", false)
            .await
            .map_err(|e| match e.0 {
                Kind::Disconnected { lost, .. } if lost.tls => Kind::TlsHandshake {
                    host: lost.host,
                    chosen: lost.chosen,
                    reason: lost.reason,
                    hint: tls_hint(&engine.endpoint.source),
                }
                .into(),
                Kind::Disconnected { lost, .. } => Kind::Unreachable {
                    host: lost.host,
                    chosen: lost.chosen,
                    reason: lost.reason,
                    hint: engine.endpoint.source.hint(),
                }
                .into(),
                Kind::Timeout { seconds, .. } => {
                    let reason = format!("no answer within {seconds} s");
                    Kind::Unreachable {
                        host: engine.endpoint.host.clone(),
                        chosen: engine.endpoint.source.to_string(),
                        reason,
                        hint: engine.endpoint.source.hint(),
                    }
                    .into()
                }
                // Plain HTTP to an engine that speaks TLS there (`tcp://…:2376` without
                // DOCKER_TLS_VERIFY): Go's TLS server answers with this text.
                Kind::Refused {
                    status: 400,
                    message,
                    ..
                } if message.contains("HTTP request to an HTTPS server") => Kind::Unsupported {
                    host: engine.endpoint.host.clone(),
                    chosen: engine.endpoint.source.to_string(),
                    reason: "the engine expects TLS there; set DOCKER_TLS_VERIFY=1 and \
                                 DOCKER_CERT_PATH to a directory with the engine's ca.pem and \
                                 the client's cert.pem and key.pem"
                        .to_owned(),
                }
                .into(),
                other => EngineError(other),
            })?;
        let answer: VersionAnswer = serde_json::from_slice(&body).map_err(|e| Kind::BadAnswer {
            what: "GET /version".to_owned(),
            reason: e.to_string(),
        })?;
        let version = ApiVersion::parse(&answer.api_version).ok_or_else(|| Kind::BadAnswer {
            what: "GET /version".to_owned(),
            reason: format!("API version \"{}\"", answer.api_version),
        })?;
        if version < ApiVersion::MIN_BUILDKIT {
            return Err(Kind::ApiTooOld {
                host: engine.endpoint.host.clone(),
                version,
                min: ApiVersion::MIN_BUILDKIT,
            }
            .into());
        }
        engine.api = version.min(ApiVersion::MAX);
        engine.server_version = answer.version;
        Ok(engine)
    }

    /// The timeout of short calls.
    pub(crate) fn short_timeout(&self) -> Duration {
        self.timeout
    }

    /// The API version requests are made in.
    pub fn api_version(&self) -> ApiVersion {
        self.api
    }

    /// The engine's own version (`26.1.5`).
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// Where the engine is, and how that was chosen.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends a request and returns the raw response body. `path` includes any query;
    /// `versioned` puts the negotiated `/v1.xx` before it.
    pub(crate) fn send(
        &self,
        long: bool,
        method: Method,
        path: &str,
        versioned: bool,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Body,
    ) -> ByteStream {
        let path_and_query = if versioned {
            format!("/v{}{path}", self.api)
        } else {
            path.to_owned()
        };
        let path_and_query: http::uri::PathAndQuery = match path_and_query.parse() {
            Ok(p) => p,
            Err(e) => {
                let error = bollard::errors::Error::DockerResponseServerError {
                    status_code: 400,
                    message: format!("not a valid request path: {e}"),
                };
                return Box::pin(stream::once(async move { Err(error) }));
            }
        };
        let slot = Mutex::new(Some((method, path_and_query, headers, body)));
        let docker = if long { &self.long } else { &self.short };
        let docker = docker.clone().with_request_modifier(move |mut request| {
            // bollard calls the modifier once per request, and this client sends one.
            let Some((method, path_and_query, headers, body)) =
                slot.lock().unwrap_or_else(|e| e.into_inner()).take()
            else {
                return request;
            };
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
            *request.method_mut() = method;
            for (name, value) in headers {
                request.headers_mut().insert(name, value);
            }
            *request.body_mut() = body;
            request
        });
        Box::pin(docker.export_image("engine-client-request"))
    }

    /// A short call: the whole body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        versioned: bool,
    ) -> Result<Vec<u8>, EngineError> {
        let what = format!("{method} {path}");
        let mut body = self.send(
            false,
            method,
            path,
            versioned,
            Vec::new(),
            bollard::body_full(Bytes::new()),
        );
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| self.call_error(&what, e))?);
        }
        Ok(bytes)
    }

    /// What a short call's failure becomes: the engine's refusal, a timeout, or the lost
    /// connection with its cause, each naming the call (`what`) and the endpoint.
    pub(crate) fn call_error(&self, what: &str, error: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as E;
        match error {
            E::DockerResponseServerError {
                status_code,
                message,
            } => refusal(what, what, status_code, message),
            E::RequestTimeoutError => Kind::Timeout {
                what: what.to_owned(),
                host: self.endpoint.host.clone(),
                chosen: self.endpoint.source.to_string(),
                seconds: self.timeout.as_secs(),
            },
            other => Kind::Disconnected {
                what: what.to_owned(),
                lost: Lost::new(&self.endpoint, &other),
            },
        }
        .into()
    }

    /// Inspects an image in the engine's store; `None` when it is not there.
    pub async fn inspect_image(&self, reference: &str) -> Result<Option<ImageInfo>, EngineError> {
        let path = format!("/images/{}/json", escape_path(reference));
        match self.call(Method::GET, &path, true).await {
            Ok(body) => serde_json::from_slice(&body).map(Some).map_err(|e| {
                Kind::BadAnswer {
                    what: format!("GET {path}"),
                    reason: e.to_string(),
                }
                .into()
            }),
            Err(EngineError(Kind::Refused { status: 404, .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pulls one image, by explicit tag or digest, with `auth` for its registry.
    /// Yields [`PullEvent::PullStarted`] at once, the engine's progress as
    /// [`PullEvent::PullProgress`], then one [`PullEvent::ImageReady`] that says whether
    /// it was pulled or why not.
    pub fn pull(
        &self,
        need: ImageNeed,
        auth: Option<&RegistryAuth>,
    ) -> impl Stream<Item = PullEvent> + Send + 'static {
        let (name, tag) = image_target(&need.image);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("fromImage", &name)
            .append_pair("tag", tag);
        if let Some(platform) = need.platform_text() {
            query.append_pair("platform", &platform);
        }
        let path = format!("/images/create?{}", query.finish());
        let mut headers = Vec::new();
        if let Some(auth) = auth {
            if let Ok(value) = HeaderValue::from_str(auth.header_value().expose()) {
                let mut value = value;
                value.set_sensitive(true);
                headers.push((HeaderName::from_static("x-registry-auth"), value));
            }
        }
        let body = self.send(
            true,
            Method::POST,
            &path,
            true,
            headers,
            bollard::body_full(Bytes::new()),
        );
        // Said at once: a slow registry may keep the engine silent for long before its
        // first progress line, and the pull's time runs from here.
        let started = PullEvent::PullStarted {
            image: need.image_text(),
            platform: need.platform_text(),
        };
        let pulling = Pulling {
            image: need.image_text(),
            platform: need.platform_text(),
        };
        json_messages::events(self.endpoint.clone(), body, started, pulling)
    }

    /// Makes sure every needed image is in the engine's store for its platform:
    /// inspects it, and pulls what is absent (or everything, with
    /// [`PrepullOptions::always_pull`]) with the credentials for its registry, at most
    /// [`PrepullOptions::concurrency`] at a time. Each image ends with one
    /// [`PullEvent::ImageReady`]: present, pulled, or failed with the reason. A failure
    /// is not an error: the build goes on, and its own error tells the story.
    pub fn prepull(
        &self,
        needs: Vec<ImageNeed>,
        credentials: Arc<DockerConfig>,
        options: &PrepullOptions,
    ) -> impl Stream<Item = PullEvent> + Send + 'static {
        let engine = self.clone();
        let always_pull = options.always_pull;
        stream::iter(needs)
            .map(move |need| {
                engine
                    .clone()
                    .prepare(need, credentials.clone(), always_pull)
            })
            .flatten_unordered(options.concurrency.max(1))
    }

    fn prepare(
        self,
        need: ImageNeed,
        credentials: Arc<DockerConfig>,
        always_pull: bool,
    ) -> stream::BoxStream<'static, PullEvent> {
        stream::once(async move {
            if !always_pull {
                if let Ok(Some(info)) = self.inspect_image(&need.image_text()).await {
                    if need
                        .platform
                        .as_ref()
                        .is_none_or(|want| info.matches_platform(want))
                    {
                        let ready = PullEvent::ImageReady {
                            image: need.image_text(),
                            platform: need.platform_text(),
                            outcome: PullOutcome::Present,
                        };
                        return stream::iter([ready]).left_stream();
                    }
                }
            }
            let registry = registry_of_image(&need.image);
            let lookup =
                tokio::task::spawn_blocking(move || credentials.credentials_for(&registry)).await;
            let auth = match lookup {
                Ok(Ok(auth)) => auth,
                Ok(Err(e)) => return failed(need, e.to_string()).left_stream(),
                Err(e) => {
                    return failed(need, format!("credential lookup failed: {e}")).left_stream()
                }
            };
            self.pull(need, auth.as_ref()).right_stream()
        })
        .flatten()
        .boxed()
    }

    /// Builds with BuildKit (`POST /build?version=2`): `context` is the build context as a
    /// tar, streamed as the request body and never held whole.
    ///
    /// Every message of the response becomes a [`BuildEvent`]. A successful build
    /// yields [`BuildEvent::ImageId`] and no error; otherwise the last item is an
    /// error: the failing step with BuildKit's message and its last log lines, the
    /// engine's refusal, or the lost connection. Dropping the stream closes the connection, and the engine
    /// stops the build.
    ///
    /// Without [`BuildOptions::secrets`] there is no session. With them, a BuildKit session
    /// is opened first ([`crate::session`]) and named in the request; it is closed when the
    /// stream ends or is dropped, and if the engine closes it first the stream ends with an
    /// error (and the build connection is closed, which stops the build).
    pub fn build<S>(
        &self,
        options: &BuildOptions,
        context: S,
    ) -> impl Stream<Item = Result<BuildEvent, EngineError>> + Send + 'static
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        if options.secrets.is_empty() && options.ssh.is_empty() {
            return self.build_request(options, None, context).boxed();
        }
        let engine = self.clone();
        let options = options.clone();
        let services = Services {
            secrets: options.secrets.clone(),
            ssh: options.ssh.clone(),
            credentials: options.session_credentials.clone(),
        };
        stream::once(async move {
            match crate::session::open(&engine, services).await {
                Ok(session) => {
                    let build = engine.build_request(&options, Some(session.id()), context);
                    WithSession {
                        build: build.boxed(),
                        session: Some(session),
                        endpoint: engine.endpoint.clone(),
                    }
                    .boxed()
                }
                Err(e) => stream::iter([Err(e)]).boxed(),
            }
        })
        .flatten()
        .boxed()
    }

    /// `POST /build`, naming `session` when there is one.
    fn build_request<S>(
        &self,
        options: &BuildOptions,
        session: Option<&str>,
        context: S,
    ) -> impl Stream<Item = Result<BuildEvent, EngineError>> + Send + 'static
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let mut query = options.query();
        if let Some(session) = session {
            query.push_str("&session=");
            query.extend(form_urlencoded::byte_serialize(session.as_bytes()));
        }
        let path = format!("/build?{query}");
        let headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"))];
        // The transport reports a failing body as a failed request; keep the reason.
        let context_error = Arc::new(Mutex::new(None));
        let recorder = context_error.clone();
        let context = context.inspect(move |item| {
            if let Err(e) = item {
                let mut slot = recorder.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert_with(|| e.to_string());
            }
        });
        let body = self.send(
            true,
            Method::POST,
            &path,
            true,
            headers,
            bollard::body_try_stream(context),
        );
        let reader = BuildReader {
            endpoint: self.endpoint.clone(),
            context_error,
            decoder: if options.raw_status {
                BuildDecoder::with_raw_status()
            } else {
                BuildDecoder::new()
            },
        };
        read_lines(body, Vec::new(), reader)
    }
}

/// A build's stream with its session: the session is closed when the build's stream ends
/// (or this is dropped), and a session the engine closes first ends the build with
/// [`Kind::SessionLost`], dropping the build's connection, which stops the build.
struct WithSession {
    build: stream::BoxStream<'static, Result<BuildEvent, EngineError>>,
    session: Option<Session>,
    endpoint: Endpoint,
}

impl Stream for WithSession {
    type Item = Result<BuildEvent, EngineError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;
        let Some(session) = self.session.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(ended) = Pin::new(&mut session.served).poll(cx) {
            let reason = match ended {
                Ok(reason) => reason,
                Err(e) => Some(format!("the session's task failed: {e}")),
            };
            self.session = None;
            // Closes the build's connection now.
            self.build = stream::empty().boxed();
            return Poll::Ready(Some(Err(Kind::SessionLost {
                host: self.endpoint.host.clone(),
                chosen: self.endpoint.source.to_string(),
                reason,
            }
            .into())));
        }
        match self.build.poll_next_unpin(cx) {
            Poll::Ready(None) => {
                self.session = None;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

/// Percent-encodes what may not stand in a URI path; a valid image reference is left
/// as it is.
pub(crate) fn escape_path(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:@".contains(&byte) {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

fn failed(need: ImageNeed, reason: String) -> stream::Iter<std::array::IntoIter<PullEvent, 1>> {
    stream::iter([PullEvent::ImageReady {
        image: need.image_text(),
        platform: need.platform_text(),
        outcome: PullOutcome::Failed { reason },
    }])
}

/// What a pull makes of the engine's messages.
struct Pulling {
    /// The image, as the events name it.
    image: String,
    /// The platform, as the events spell it.
    platform: Option<String>,
}

impl Transfer for Pulling {
    const REQUEST: (&'static str, &'static str) = ("POST /images/create", "pull");
    type Event = PullEvent;

    fn message(&mut self, message: JsonMessage, events: &mut VecDeque<PullEvent>) {
        let (current, total) = message.progress();
        let layer = message.layer();
        if let Some(status) = message.status {
            events.push_back(PullEvent::PullProgress {
                image: self.image.clone(),
                layer,
                status,
                current,
                total,
            });
        }
    }

    fn finish(&mut self, failure: Option<String>) -> PullEvent {
        let outcome = match failure {
            Some(reason) => PullOutcome::Failed { reason },
            None => PullOutcome::Pulled,
        };
        PullEvent::ImageReady {
            image: self.image.clone(),
            platform: self.platform.clone(),
            outcome,
        }
    }
}

/// What a build makes of the engine's answer: BuildKit's progress decoded, and the build's
/// failure, or its loss, as the last item.
struct BuildReader {
    endpoint: Endpoint,
    context_error: Arc<Mutex<Option<String>>>,
    decoder: BuildDecoder,
}

impl LineReader for BuildReader {
    type Item = Result<BuildEvent, EngineError>;

    fn line(&mut self, line: &[u8], items: &mut VecDeque<Self::Item>) {
        match self.decoder.decode_line(line) {
            Ok(events) => items.extend(events.into_iter().map(Ok)),
            // One unreadable message does not end a build that may still succeed.
            Err(e) => items.push_back(Ok(BuildEvent::Warning {
                vertex: None,
                message: e.to_string(),
                detail: Vec::new(),
                url: None,
                location: None,
            })),
        }
    }

    fn end(&mut self, error: Option<bollard::errors::Error>, items: &mut VecDeque<Self::Item>) {
        items.extend(self.decoder.finish().into_iter().map(Ok));
        if let Some(error) = error {
            let context_error = self
                .context_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            let error = match (context_error, error) {
                (Some(reason), _) => Kind::Context { reason },
                (None, error) => match error {
                    bollard::errors::Error::DockerResponseServerError {
                        status_code,
                        message,
                    } => refusal("POST /build", "build", status_code, message),
                    other => Kind::Disconnected {
                        what: "build".to_owned(),
                        lost: Lost::new(&self.endpoint, &other),
                    },
                },
            };
            items.push_back(Err(error.into()));
            return;
        }
        let failure = self.decoder.failure().cloned();
        if let Some(message) = self.decoder.error() {
            let failure = BuildFailure {
                message: message.to_owned(),
                step: failure,
            };
            items.push_back(Err(Kind::BuildFailed(failure).into()));
        } else if let Some(step) = failure {
            let failure = BuildFailure {
                message: step.error.clone(),
                step: Some(step),
            };
            items.push_back(Err(Kind::BuildFailed(failure).into()));
        } else if self.decoder.image_id().is_none() {
            items.push_back(Err(Kind::Incomplete {
                what: "build".to_owned(),
            }
            .into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::EndpointSource;

    fn with_session(
        build: stream::BoxStream<'static, Result<BuildEvent, EngineError>>,
        served: tokio::task::JoinHandle<Option<String>>,
    ) -> WithSession {
        WithSession {
            build,
            session: Some(Session::from_task(served)),
            endpoint: Endpoint::unix("/run/docker.sock"),
        }
    }

    /// An engine that closes the session mid-build ends the build with an error that says
    /// so, instead of a build that waits for ever.
    #[tokio::test]
    async fn a_session_closed_by_the_engine_ends_the_build_with_an_error() {
        let served = tokio::spawn(async { Some("connection reset by peer".to_owned()) });
        let mut build = with_session(stream::pending().boxed(), served);
        let error = build.next().await.unwrap().unwrap_err().to_string();
        assert_eq!(
            error,
            "build: the Docker Engine at unix:///run/docker.sock (set by DOCKER_HOST) closed the build's \
             BuildKit session before the build ended: connection \
             reset by peer; the build was stopped"
        );
        assert!(build.next().await.is_none());
    }

    /// The session is closed when the build's stream ends, and when it is dropped.
    #[tokio::test]
    async fn the_session_closes_with_the_build() {
        for drop_early in [false, true] {
            let (alive, closed) = tokio::sync::oneshot::channel::<()>();
            let served = tokio::spawn(async move {
                let _alive = alive;
                std::future::pending::<Option<String>>().await
            });
            let events = stream::iter([Ok(BuildEvent::ImageId {
                id: "sha256:1".to_owned(),
            })]);
            let mut build = with_session(events.boxed(), served);
            if drop_early {
                drop(build);
            } else {
                assert!(build.next().await.unwrap().is_ok());
                assert!(build.next().await.is_none());
            }
            // The sender is dropped when the session's task is aborted.
            assert!(closed.await.is_err(), "dropped early: {drop_early}");
        }
    }

    #[test]
    fn a_remote_context_travels_as_the_remote_parameter() {
        let options = BuildOptions {
            dockerfile: Some("sub/Dockerfile".into()),
            remote: Some("git://127.0.0.1:9418/repo.git#v1:sub".into()),
            ..BuildOptions::default()
        };
        assert_eq!(
            options.query(),
            "version=2&dockerfile=sub%2FDockerfile&remote=git%3A%2F%2F127.0.0.1%3A9418%2Frepo.git%23v1%3Asub"
        );
        assert!(!BuildOptions::default().query().contains("remote"));
    }

    #[test]
    fn image_info_reads_the_config_a_build_sees() {
        let info: ImageInfo = serde_json::from_str(
            r#"{"Id":"sha256:1","Os":"linux","Architecture":"amd64",
                "Config":{"Env":["PATH=/bin","SRC=lib"],"OnBuild":["COPY . /app"],"Cmd":null}}"#,
        )
        .unwrap();
        assert_eq!(info.config.env, ["PATH=/bin", "SRC=lib"]);
        assert_eq!(info.config.onbuild, ["COPY . /app"]);
        // `docker import` images have no config; older engines send nulls.
        for json in [
            r#"{"Id":"sha256:1","Config":null}"#,
            r#"{"Id":"sha256:1","Config":{"Env":null,"OnBuild":null}}"#,
            r#"{"Id":"sha256:1"}"#,
        ] {
            let info: ImageInfo = serde_json::from_str(json).unwrap();
            assert_eq!(info.config, ImageConfig::default(), "{json}");
        }
    }

    #[test]
    fn image_info_matches_platforms_as_containerd_compares_them() {
        let info = |os: &str, arch: &str, variant: Option<&str>| ImageInfo {
            id: "sha256:1".into(),
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(str::to_owned),
            config: ImageConfig::default(),
        };
        let amd64 = info("linux", "amd64", None);
        assert!(amd64.matches(None));
        assert!(amd64.matches(Some("linux/amd64")));
        assert!(amd64.matches(Some("linux")));
        assert!(!amd64.matches(Some("linux/arm64")));
        assert!(!amd64.matches(Some("windows/amd64")));
        let arm64 = info("linux", "arm64", Some("v8"));
        assert!(arm64.matches(Some("linux/arm64")));
        assert!(arm64.matches(Some("linux/arm64/v8")));
        assert!(arm64.matches(Some("linux/aarch64")));
        let armv7 = info("linux", "arm", Some("v7"));
        assert!(armv7.matches(Some("linux/arm/v7")));
        assert!(armv7.matches(Some("linux/arm")));
        assert!(!armv7.matches(Some("linux/arm/v6")));
        // No variant reported: any variant fits, as before.
        assert!(info("linux", "arm", None).matches(Some("linux/arm/v6")));
        // No OS: fits nothing, rather than the host's OS that normalising would give it.
        assert!(!info("", "amd64", None).matches(Some("linux/amd64")));
        // Not a platform containerd accepts: compared word by word.
        assert!(info("li nux", "amd64", None).matches(Some("li nux/amd64")));
    }

    #[test]
    fn pull_targets_follow_the_reference_grammar() {
        for (reference, target) in [
            ("alpine", ("alpine", "latest")),
            ("alpine:3.20", ("alpine", "3.20")),
            (
                "docker.io/library/alpine:3.20",
                ("docker.io/library/alpine", "3.20"),
            ),
            ("localhost:5000", ("localhost", "5000")),
            (
                "localhost:5000/team/app",
                ("localhost:5000/team/app", "latest"),
            ),
            ("127.0.0.1:5000/a/b:1", ("127.0.0.1:5000/a/b", "1")),
            (
                "host/x:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                (
                    "host/x",
                    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ),
            ),
            // Refused by the grammar, split as written.
            ("a/b:1@sha256:00", ("a/b", "sha256:00")),
            ("Team/App:1", ("Team/App", "1")),
        ] {
            assert_eq!(pull_target(reference), target, "{reference}");
        }
        let image = ImageRef::parse("alpine").unwrap();
        assert_eq!(
            image_target(&image),
            ("docker.io/library/alpine".to_owned(), "latest")
        );
    }

    /// moby `pkg/authorization` writes "authorization denied by plugin <name>: <msg>" (403)
    /// and "plugin <name> failed with error: <msg>" (500); the message may be empty and
    /// may itself hold ": ". Look-alikes keep the engine's words.
    #[test]
    fn authorization_refusals_are_read_as_moby_writes_them() {
        let read = |status, message: &str| match refusal(
            "POST /build?version=2&t=x",
            "build",
            status,
            message.to_owned(),
        ) {
            Kind::AuthorizationDenied {
                request,
                plugin,
                message,
            } => format!("denied|{request}|{plugin}|{message}"),
            Kind::AuthorizationFailed {
                request,
                plugin,
                message,
            } => format!("failed|{request}|{plugin}|{message}"),
            other => format!("other|{other}"),
        };
        for (status, message, expected) in [
            (
                403,
                "authorization denied by plugin authz: a: b",
                "denied|POST /build|authz|a: b",
            ),
            (
                403,
                "authorization denied by plugin me/authz:1.0: ",
                "denied|POST /build|me/authz:1.0|",
            ),
            (
                500,
                "plugin authz failed with error: EOF",
                "failed|POST /build|authz|EOF",
            ),
            (
                404,
                "plugin authz failed with error: EOF",
                "other|build: the engine answered 404: plugin authz failed with error: EOF",
            ),
            (
                403,
                "authorization denied",
                "other|build: the engine answered 403: authorization denied",
            ),
        ] {
            assert_eq!(read(status, message), expected, "{message}");
        }
    }

    /// I/O errors read as the OS (and the docker CLI) says them.
    #[cfg(target_os = "linux")]
    #[test]
    fn io_errors_read_in_the_os_words() {
        use std::io;
        for (code, expected) in [
            (111, "connection refused"),
            (104, "connection reset by peer"),
            (2, "no such file or directory"),
            (110, "connection timed out"),
            (113, "no route to host"),
        ] {
            assert_eq!(os_wording(&io::Error::from_raw_os_error(code)), expected);
        }
        let wrapped = io::Error::other(io::Error::from_raw_os_error(111));
        assert_eq!(os_wording(&wrapped), "connection refused");
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "unexpected EOF during chunk");
        assert_eq!(
            os_wording(&eof),
            "it was closed mid-answer (unexpected EOF during chunk)"
        );
    }

    /// Pitfall: bollard's one timeout (120 s by default) covers a request until its
    /// answer starts, which for a build includes the whole upload of the context. Short
    /// calls keep the configured timeout; builds and pulls get none.
    #[test]
    fn builds_and_pulls_have_no_request_timeout() {
        let endpoint = Endpoint {
            host: "tcp://127.0.0.1:9".to_owned(),
            tls: None,
            source: EndpointSource::DockerHost,
        };
        let options = ConnectOptions {
            timeout: Duration::from_secs(7),
        };
        let (short, long) = transports(&endpoint, &options).unwrap();
        assert_eq!(short.timeout(), Duration::from_secs(7));
        assert_eq!(long.timeout(), Duration::from_secs(u64::MAX));
    }
}
