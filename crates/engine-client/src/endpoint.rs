//! Which Docker Engine to talk to, resolved the way the docker CLI resolves it.
//!
//! 1. `DOCKER_HOST`, when set, wins (the CLI then uses its "default" context), with TLS
//!    from `DOCKER_TLS_VERIFY` / `DOCKER_TLS` and the files in `DOCKER_CERT_PATH`
//!    (default: the docker configuration directory).
//! 2. Else the context named by `DOCKER_CONTEXT`, else `currentContext` in
//!    `config.json`: its endpoint is in `contexts/meta/<sha256 of name>/meta.json`
//!    under the configuration directory, its TLS files in
//!    `contexts/tls/<sha256 of name>/docker/`. The context `default` means step 3.
//! 3. Else the default socket, `unix:///var/run/docker.sock`.
//!
//! [`resolve`] works over an [`EndpointEnv`] (the variables, read once) and the files
//! under the configuration directory, and says in [`EndpointSource`] how the endpoint
//! was chosen, so an error can tell the user what to change.
//!
//! ```
//! use engine_client::endpoint::{resolve, EndpointEnv, EndpointSource};
//!
//! let env = EndpointEnv {
//!     docker_host: Some("tcp://engine.example".into()),
//!     ..EndpointEnv::default()
//! };
//! let endpoint = resolve(&env).unwrap();
//! assert_eq!(endpoint.host, "tcp://engine.example:2375");
//! assert_eq!(endpoint.source, EndpointSource::DockerHost);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::credentials::DockerConfig;

/// The endpoint the docker CLI uses when nothing else is configured.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The environment the endpoint is resolved from. [`EndpointEnv::from_process`] reads
/// it from this process; tests build it by hand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointEnv {
    /// `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `DOCKER_CONTEXT`.
    pub docker_context: Option<String>,
    /// `DOCKER_TLS_VERIFY`: any non-empty value turns on TLS with verification.
    pub docker_tls_verify: Option<String>,
    /// `DOCKER_TLS`: any non-empty value turns on TLS.
    pub docker_tls: Option<String>,
    /// `DOCKER_CERT_PATH`: where `ca.pem`, `cert.pem` and `key.pem` are.
    pub docker_cert_path: Option<PathBuf>,
    /// The docker configuration directory (`DOCKER_CONFIG`, else `~/.docker`).
    pub config_dir: Option<PathBuf>,
}

impl EndpointEnv {
    /// Reads the variables of this process.
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok();
        Self {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_tls_verify: var("DOCKER_TLS_VERIFY"),
            docker_tls: var("DOCKER_TLS"),
            docker_cert_path: std::env::var_os("DOCKER_CERT_PATH").map(PathBuf::from),
            config_dir: crate::credentials::config_dir_from_env(),
        }
    }
}

/// Where an engine is and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The address: `unix:///path`, `tcp://host:port`, `ssh://user@host`, `npipe://…`,
    /// `fd://…`.
    pub host: String,
    /// TLS settings, for `tcp://` with TLS.
    pub tls: Option<TlsFiles>,
    /// How this endpoint was chosen.
    pub source: EndpointSource,
}

impl Endpoint {
    /// Whether the engine is reached over a network (`tcp://`, `ssh://`) rather than a
    /// local socket or pipe.
    pub fn is_remote(&self) -> bool {
        self.host.starts_with("tcp://") || self.host.starts_with("ssh://")
    }

    /// The engine at a unix socket, as `DOCKER_HOST=unix://<socket>` names it.
    pub fn unix(socket: impl AsRef<Path>) -> Endpoint {
        Endpoint {
            host: format!("unix://{}", socket.as_ref().display()),
            tls: None,
            source: EndpointSource::DockerHost,
        }
    }
}

/// TLS material for a `tcp://` endpoint. The files are read, and checked, when the engine
/// is connected to: one that is missing or invalid is an error naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Where `ca.pem`, `cert.pem` and `key.pem` are looked for: `DOCKER_CERT_PATH`, else
    /// the docker configuration directory, or a context's `contexts/tls/<id>/docker/`.
    pub dir: PathBuf,
    /// The CA to verify the engine with (`ca.pem`), if present.
    pub ca: Option<PathBuf>,
    /// The client certificate (`cert.pem`), if present.
    pub cert: Option<PathBuf>,
    /// The client key (`key.pem`), if present.
    pub key: Option<PathBuf>,
    /// Whether the engine's certificate is verified.
    pub verify: bool,
}

/// How the endpoint was chosen, for messages that tell the user what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointSource {
    /// The `DOCKER_HOST` variable.
    DockerHost,
    /// A docker context.
    Context {
        /// The context's name.
        name: String,
        /// What named it.
        chosen_by: ContextChoice,
    },
    /// Nothing was configured: the default socket.
    Default,
}

/// What named the docker context in use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextChoice {
    /// The `DOCKER_CONTEXT` variable.
    DockerContextVariable,
    /// `currentContext` in this `config.json`.
    ConfigFile(PathBuf),
}

impl fmt::Display for EndpointSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointSource::DockerHost => f.write_str("set by DOCKER_HOST"),
            EndpointSource::Context { name, chosen_by } => {
                write!(f, "from docker context \"{name}\", ")?;
                match chosen_by {
                    ContextChoice::DockerContextVariable => f.write_str("named by DOCKER_CONTEXT"),
                    ContextChoice::ConfigFile(path) => {
                        write!(f, "named by currentContext in {}", path.display())
                    }
                }
            }
            EndpointSource::Default => {
                f.write_str("the default, as neither DOCKER_HOST nor a docker context is set")
            }
        }
    }
}

impl EndpointSource {
    /// What the user can do to point at another engine.
    pub fn hint(&self) -> &'static str {
        match self {
            EndpointSource::DockerHost => "check that the engine runs there, or change DOCKER_HOST",
            EndpointSource::Context { .. } => {
                "check that the engine runs there, or pick another context (DOCKER_CONTEXT, `docker context use`)"
            }
            EndpointSource::Default => {
                "start the Docker Engine, or set DOCKER_HOST or DOCKER_CONTEXT to reach another one"
            }
        }
    }
}

/// The endpoint could not be resolved.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct EndpointError(#[from] ErrorKind);

#[derive(Debug, thiserror::Error)]
enum ErrorKind {
    #[error("invalid engine address \"{host}\" ({chosen}): {reason}")]
    InvalidHost {
        host: String,
        chosen: EndpointSource,
        reason: &'static str,
    },
    #[error(
        "docker context \"{name}\" ({chosen_by}) does not exist: {} not found; \
         see `docker context ls`",
        path.display()
    )]
    NoContext {
        name: String,
        chosen_by: String,
        path: PathBuf,
    },
    #[error("docker context \"{name}\" cannot be read from {}: {message}", path.display())]
    BadContext {
        name: String,
        path: PathBuf,
        message: String,
    },
    #[error("docker context \"{name}\" needs the docker configuration directory, but neither DOCKER_CONFIG nor HOME is set")]
    NoConfigDir { name: String },
    #[error(transparent)]
    Config(#[from] crate::credentials::CredentialsError),
}

#[derive(Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::BTreeMap<String, DockerEndpointMeta>,
}

#[derive(Deserialize)]
struct DockerEndpointMeta {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

/// Resolves the engine endpoint as the docker CLI does (see the module documentation).
/// Reads `config.json` and the context's files under the configuration directory.
pub fn resolve(env: &EndpointEnv) -> Result<Endpoint, EndpointError> {
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(host) = set(&env.docker_host) {
        return default_endpoint(env, Some(host));
    }
    let (name, chosen_by) = match set(&env.docker_context) {
        Some(name) => (name, ContextChoice::DockerContextVariable),
        None => {
            let Some(dir) = env.config_dir.as_deref() else {
                return default_endpoint(env, None);
            };
            let config = DockerConfig::load(dir).map_err(ErrorKind::Config)?;
            match config.current_context() {
                Some(name) => (
                    name.to_owned(),
                    ContextChoice::ConfigFile(dir.join("config.json")),
                ),
                None => return default_endpoint(env, None),
            }
        }
    };
    if name == "default" {
        return default_endpoint(env, None);
    }
    context_endpoint(env, name, chosen_by)
}

fn default_endpoint(env: &EndpointEnv, host: Option<String>) -> Result<Endpoint, EndpointError> {
    let source = if host.is_some() {
        EndpointSource::DockerHost
    } else {
        EndpointSource::Default
    };
    let non_empty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    let verify = non_empty(&env.docker_tls_verify);
    let tls = (verify || non_empty(&env.docker_tls)).then(|| {
        let dir = env
            .docker_cert_path
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| env.config_dir.clone())
            .unwrap_or_default();
        tls_files(&dir, verify)
    });
    let host = match host {
        Some(host) => normalise_host(&host, tls.is_some(), &source)?,
        None if tls.is_some() => "tcp://localhost:2376".to_owned(),
        None => DEFAULT_HOST.to_owned(),
    };
    let tls = tls.filter(|_| host.starts_with("tcp://"));
    Ok(Endpoint { host, tls, source })
}

fn context_endpoint(
    env: &EndpointEnv,
    name: String,
    chosen_by: ContextChoice,
) -> Result<Endpoint, EndpointError> {
    let Some(dir) = env.config_dir.as_deref() else {
        return Err(ErrorKind::NoConfigDir { name }.into());
    };
    let id = context_id(&name);
    let path = dir
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let source = EndpointSource::Context {
        name: name.clone(),
        chosen_by: chosen_by.clone(),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let chosen_by = match chosen_by {
                ContextChoice::DockerContextVariable => "named by DOCKER_CONTEXT".to_owned(),
                ContextChoice::ConfigFile(file) => {
                    format!("currentContext in {}", file.display())
                }
            };
            return Err(ErrorKind::NoContext {
                name,
                chosen_by,
                path,
            }
            .into());
        }
        Err(e) => {
            return Err(ErrorKind::BadContext {
                name,
                path,
                message: e.to_string(),
            }
            .into())
        }
    };
    let meta: ContextMeta = serde_json::from_str(&text).map_err(|e| ErrorKind::BadContext {
        name: name.clone(),
        path: path.clone(),
        message: e.to_string(),
    })?;
    let docker = meta
        .endpoints
        .get("docker")
        .ok_or_else(|| ErrorKind::BadContext {
            name: name.clone(),
            path: path.clone(),
            message: "it has no docker endpoint".to_owned(),
        })?;
    let tls_dir = dir.join("contexts").join("tls").join(&id).join("docker");
    let files = tls_files(&tls_dir, !docker.skip_tls_verify);
    let has_tls_data = files.ca.is_some() || files.cert.is_some();
    let tls = (has_tls_data || docker.skip_tls_verify).then_some(files);
    let host = match docker.host.as_deref().filter(|h| !h.is_empty()) {
        Some(host) => normalise_host(host, tls.is_some(), &source)?,
        None => DEFAULT_HOST.to_owned(),
    };
    let tls = tls.filter(|_| host.starts_with("tcp://"));
    Ok(Endpoint { host, tls, source })
}

/// The directory name the docker CLI stores a context under: the hex SHA-256 of its
/// name.
pub fn context_id(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn tls_files(dir: &Path, verify: bool) -> TlsFiles {
    let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    TlsFiles {
        dir: dir.to_owned(),
        ca: existing("ca.pem"),
        cert: existing("cert.pem"),
        key: existing("key.pem"),
        verify,
    }
}

/// Completes an address as the docker CLI does: a bare `host:port` is TCP, a TCP
/// address without a port gets 2375 (2376 with TLS), `unix://` alone is the default
/// socket.
fn normalise_host(host: &str, tls: bool, source: &EndpointSource) -> Result<String, EndpointError> {
    let invalid = |reason| ErrorKind::InvalidHost {
        host: host.to_owned(),
        chosen: source.clone(),
        reason,
    };
    let trimmed = host.trim();
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("tcp".to_owned(), trimmed),
    };
    match scheme.as_str() {
        "unix" => {
            let path = if rest.is_empty() {
                "/var/run/docker.sock"
            } else {
                rest
            };
            Ok(format!("unix://{path}"))
        }
        "tcp" | "http" | "https" => {
            let authority = rest.split('/').next().unwrap_or_default();
            if rest.len() > authority.len() && rest[authority.len()..] != *"/" {
                return Err(invalid("a TCP address has no path").into());
            }
            let (name, port) = split_port(authority);
            let name = if name.is_empty() { "localhost" } else { name };
            let port = match port {
                Some(p) if p.parse::<u16>().is_ok() => p.to_owned(),
                Some(_) => return Err(invalid("the port is not a number").into()),
                None if tls || scheme == "https" => "2376".to_owned(),
                None => "2375".to_owned(),
            };
            Ok(format!("tcp://{name}:{port}"))
        }
        "ssh" | "npipe" | "fd" => {
            if rest.is_empty() {
                return Err(invalid("the address is empty").into());
            }
            Ok(format!("{scheme}://{rest}"))
        }
        _ => Err(invalid("use unix://, tcp://, ssh://, npipe:// or fd://").into()),
    }
}

fn split_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        // [ipv6]:port
        return match rest.split_once(']') {
            Some((_, tail)) => {
                let end = authority.len() - tail.len();
                (&authority[..end], tail.strip_prefix(':'))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    }
}
