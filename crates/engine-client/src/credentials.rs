//! Registry credentials, found the way the docker CLI finds them.
//!
//! The docker configuration directory is `$DOCKER_CONFIG`, else `$HOME/.docker`. Its
//! `config.json` may hold credentials inline (`auths`: `auth` = base64 of
//! `user:password`, or `username`/`password`, or `identitytoken`), name a credential
//! store for every registry (`credsStore`), or name a helper per registry
//! (`credHelpers`). A store or helper `NAME` is the program `docker-credential-NAME`,
//! run with the argument `get` and the server address on standard input (the
//! credential-helpers protocol). `DOCKER_AUTH_CONFIG`, when set, holds `auths` that
//! take precedence over everything in the file.
//!
//! Registries are looked up under the docker CLI's key: Docker Hub (`docker.io`,
//! `index.docker.io`) under `https://index.docker.io/v1/`, every other registry under
//! its `host[:port]`; an `auths` key written as a URL (`https://host/v1/`) matches its
//! host.
//!
//! Secrets are held in [`Secret`], whose `Debug` and `Display` print `***`, so they never
//! reach logs, errors or events. [`RegistryAuth::header_value`] gives the
//! `X-Registry-Auth` value, URL-safe base64 as the engine decodes it.
//!
//! ```
//! use engine_client::credentials::{auth_config_key, DockerConfig};
//!
//! let config = DockerConfig::from_json(
//!     r#"{"auths": {"registry.example:5000": {"auth": "dXNlcjpzM2NyZXQ="}}}"#,
//! )
//! .unwrap();
//! let auth = config.credentials_for("registry.example:5000").unwrap().unwrap();
//! assert!(!format!("{auth:?}").contains("s3cret"));
//! assert!(auth.header_value().expose().len() > 0);
//! assert_eq!(auth_config_key("docker.io"), "https://index.docker.io/v1/");
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use image_ref::ImageRef;
use serde::Deserialize;

/// The key under which the docker CLI stores Docker Hub's credentials.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The message a credential helper prints when it has nothing for a server.
const NOT_FOUND_MESSAGE: &str = "credentials not found in native keychain";

/// The username a credential helper returns to say its secret is an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// A secret string (password or token). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where it is sent, never where it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What proves who we are to one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Login {
    /// A username and password.
    Password {
        /// The username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An identity (refresh) token, as `docker login` stores for some registries.
    IdentityToken(Secret),
}

/// Where a registry's credentials were found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthSource {
    /// The `DOCKER_AUTH_CONFIG` environment variable, under this key.
    Environment {
        /// The key in its `auths`.
        key: String,
    },
    /// `auths` in `config.json`, under this key.
    ConfigFile {
        /// The key in `auths`.
        key: String,
    },
    /// A credential helper program (`docker-credential-NAME`).
    Helper {
        /// The program's name.
        program: String,
    },
}

impl fmt::Display for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthSource::Environment { key } => write!(f, "DOCKER_AUTH_CONFIG (\"{key}\")"),
            AuthSource::ConfigFile { key } => write!(f, "config.json auths (\"{key}\")"),
            AuthSource::Helper { program } => write!(f, "credential helper {program}"),
        }
    }
}

/// Credentials for one registry, ready to be sent as `X-Registry-Auth`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryAuth {
    /// The server address the credentials are for (the lookup key).
    pub server_address: String,
    /// The username and password, or the identity token.
    pub login: Login,
    /// Where they were found.
    pub source: AuthSource,
}

/// The JSON the engine decodes from `X-Registry-Auth` (its `AuthConfig`).
#[derive(serde::Serialize)]
struct HeaderJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identitytoken: Option<&'a str>,
    serveraddress: &'a str,
}

impl RegistryAuth {
    /// The value of the `X-Registry-Auth` header: the engine's `AuthConfig` JSON in
    /// URL-safe base64 with padding, which is what the engine decodes. (Standard base64
    /// would turn `+` and `/` into garbage the engine silently ignores.)
    pub fn header_value(&self) -> Secret {
        let json = match &self.login {
            Login::Password { username, password } => HeaderJson {
                username: Some(username),
                password: Some(password.expose()),
                identitytoken: None,
                serveraddress: &self.server_address,
            },
            Login::IdentityToken(token) => HeaderJson {
                username: None,
                password: None,
                identitytoken: Some(token.expose()),
                serveraddress: &self.server_address,
            },
        };
        let bytes = serde_json::to_vec(&json).expect("plain strings always serialise");
        Secret(URL_SAFE.encode(bytes))
    }
}

/// An error while reading the docker configuration or asking a credential helper.
/// It never contains a secret.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CredentialsError(#[from] ErrorKind);

#[derive(Debug, thiserror::Error)]
enum ErrorKind {
    #[error("cannot read docker config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid docker config{}: {message}", at(path.as_deref()))]
    Parse {
        path: Option<PathBuf>,
        message: String,
    },
    #[error("invalid DOCKER_AUTH_CONFIG: {message}")]
    Environment { message: String },
    #[error("invalid \"auth\" for \"{key}\" in docker config{}: {reason}", at(path.as_deref()))]
    BadAuth {
        path: Option<PathBuf>,
        key: String,
        reason: &'static str,
    },
    #[error(
        "credential helper {program} for {server} could not be run: {source} \
         (is {program} installed and on PATH?)"
    )]
    HelperSpawn {
        program: String,
        server: String,
        source: std::io::Error,
    },
    #[error("credential helper {program} failed for {server}: {message}")]
    HelperFailed {
        program: String,
        server: String,
        message: String,
    },
    #[error("credential helper {program} gave an unreadable answer for {server}: {message}")]
    HelperOutput {
        program: String,
        server: String,
        message: String,
    },
}

fn at(path: Option<&Path>) -> String {
    path.map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

/// One `auths` entry as written in `config.json`.
#[derive(Deserialize, Default, Clone)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The parts of `config.json` this crate reads.
#[derive(Deserialize, Default, Clone)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "currentContext")]
    current_context: Option<String>,
}

/// A loaded docker configuration (`config.json`), able to find any registry's
/// credentials.
#[derive(Clone)]
pub struct DockerConfig {
    path: Option<PathBuf>,
    file: ConfigFile,
    environment: BTreeMap<String, AuthEntry>,
    helper_path: Option<OsString>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("path", &self.path)
            .field("auths", &self.file.auths.keys().collect::<Vec<_>>())
            .field("creds_store", &self.file.creds_store)
            .field("cred_helpers", &self.file.cred_helpers)
            .field("current_context", &self.file.current_context)
            .field("environment", &self.environment.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The docker configuration directory: `DOCKER_CONFIG` when set and not empty, else
/// `HOME/.docker`. `None` when neither is known.
pub fn config_dir(docker_config: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    match docker_config {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => home.map(|h| h.join(".docker")),
    }
}

/// The docker configuration directory of this process (see [`config_dir`]).
pub fn config_dir_from_env() -> Option<PathBuf> {
    let docker_config = std::env::var("DOCKER_CONFIG").ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    config_dir(docker_config.as_deref(), home.as_deref())
}

impl DockerConfig {
    /// An empty configuration: no credentials anywhere.
    pub fn empty() -> Self {
        Self {
            path: None,
            file: ConfigFile::default(),
            environment: BTreeMap::new(),
            helper_path: None,
        }
    }

    /// Parses `config.json` text.
    pub fn from_json(text: &str) -> Result<Self, CredentialsError> {
        Self::parse(text, None)
    }

    fn parse(text: &str, path: Option<PathBuf>) -> Result<Self, CredentialsError> {
        // The docker CLI accepts an empty file.
        let file = if text.trim().is_empty() {
            ConfigFile::default()
        } else {
            serde_json::from_str(text).map_err(|e| ErrorKind::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?
        };
        let config = Self {
            path,
            file,
            environment: BTreeMap::new(),
            helper_path: None,
        };
        // Reject a malformed `auth` now, as the docker CLI does when it loads the file.
        for (key, entry) in &config.file.auths {
            decode_entry(entry).map_err(|reason| ErrorKind::BadAuth {
                path: config.path.clone(),
                key: key.clone(),
                reason,
            })?;
        }
        Ok(config)
    }

    /// Loads `config.json` from a docker configuration directory. A missing file is an
    /// empty configuration, as for the docker CLI.
    pub fn load(dir: &Path) -> Result<Self, CredentialsError> {
        let path = dir.join("config.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, Some(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: Some(path),
                ..Self::empty()
            }),
            Err(source) => Err(ErrorKind::Read { path, source }.into()),
        }
    }

    /// Loads the configuration the docker CLI would use in this process:
    /// [`config_dir_from_env`], then `DOCKER_AUTH_CONFIG` if set.
    pub fn load_from_env() -> Result<Self, CredentialsError> {
        let mut config = match config_dir_from_env() {
            Some(dir) => Self::load(&dir)?,
            None => Self::empty(),
        };
        if let Ok(value) = std::env::var("DOCKER_AUTH_CONFIG") {
            if !value.is_empty() {
                config = config.with_auth_config_env(&value)?;
            }
        }
        Ok(config)
    }

    /// Adds the `auths` of a `DOCKER_AUTH_CONFIG` value; they take precedence over the
    /// file, its store and its helpers. Each entry must have `auth`.
    pub fn with_auth_config_env(mut self, value: &str) -> Result<Self, CredentialsError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct EnvConfig {
            #[serde(default)]
            auths: BTreeMap<String, EnvEntry>,
        }
        #[derive(Deserialize)]
        struct EnvEntry {
            #[serde(default)]
            auth: Option<String>,
        }
        let parsed: EnvConfig =
            serde_json::from_str(value).map_err(|e| ErrorKind::Environment {
                message: e.to_string(),
            })?;
        for (key, entry) in parsed.auths {
            let Some(auth) = entry.auth.filter(|a| !a.is_empty()) else {
                return Err(ErrorKind::Environment {
                    message: format!("missing key `auth` for {key}"),
                }
                .into());
            };
            let entry = AuthEntry {
                auth: Some(auth),
                ..AuthEntry::default()
            };
            decode_entry(&entry).map_err(|reason| ErrorKind::Environment {
                message: format!("{key}: {reason}"),
            })?;
            self.environment.insert(key, entry);
        }
        Ok(self)
    }

    /// Sets the `PATH` used to find `docker-credential-*` programs (default: this
    /// process's `PATH`).
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> Self {
        self.helper_path = Some(path.into());
        self
    }

    /// The file this configuration was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// `currentContext`, if set and not empty.
    pub fn current_context(&self) -> Option<&str> {
        self.file
            .current_context
            .as_deref()
            .filter(|c| !c.is_empty())
    }

    /// The credential helper program that serves `registry`, if any: its
    /// `credHelpers` entry, else `credsStore`.
    pub fn helper_for(&self, registry: &str) -> Option<String> {
        let key = auth_config_key(registry);
        self.file
            .cred_helpers
            .get(&key)
            .or(self.file.creds_store.as_ref())
            .filter(|name| !name.is_empty())
            .map(|name| format!("docker-credential-{name}"))
    }

    /// The credentials for a registry (`docker.io`, `ghcr.io`, `localhost:5000`, …), or
    /// `None` to pull anonymously. As the docker CLI: `DOCKER_AUTH_CONFIG` first; then a
    /// helper (`credHelpers`, else `credsStore`) if one is configured, and then only the
    /// helper; else `auths`.
    pub fn credentials_for(
        &self,
        registry: &str,
    ) -> Result<Option<RegistryAuth>, CredentialsError> {
        let key = auth_config_key(registry);
        if let Some((found, entry)) = find_entry(&self.environment, &key) {
            return Ok(entry_login(entry).map(|login| RegistryAuth {
                server_address: key.clone(),
                login,
                source: AuthSource::Environment { key: found },
            }));
        }
        if let Some(program) = self.helper_for(&key) {
            return self.ask_helper(&program, &key);
        }
        Ok(
            find_entry(&self.file.auths, &key).and_then(|(found, entry)| {
                entry_login(entry).map(|login| RegistryAuth {
                    server_address: key.clone(),
                    login,
                    source: AuthSource::ConfigFile { key: found },
                })
            }),
        )
    }

    fn ask_helper(
        &self,
        program: &str,
        server: &str,
    ) -> Result<Option<RegistryAuth>, CredentialsError> {
        let answer = run_helper_get(program, server, self.helper_path.as_deref())?;
        Ok(answer.map(|login| RegistryAuth {
            server_address: server.to_owned(),
            login,
            source: AuthSource::Helper {
                program: program.to_owned(),
            },
        }))
    }
}

/// Runs `program get` with `server` on standard input, per the credential-helpers
/// protocol. `Ok(None)` when the helper has no credentials for the server.
fn run_helper_get(
    program: &str,
    server: &str,
    path: Option<&std::ffi::OsStr>,
) -> Result<Option<Login>, CredentialsError> {
    let spawn_error = |source| ErrorKind::HelperSpawn {
        program: program.to_owned(),
        server: server.to_owned(),
        source,
    };
    let mut command = Command::new(program);
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut child = command.spawn().map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is not our error: its exit
        // status and output tell what happened.
        let _ = stdin.write_all(server.as_bytes());
    }
    let output = child.wait_with_output().map_err(spawn_error)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stdout = stdout.trim();
        if stdout == NOT_FOUND_MESSAGE {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut message = if stdout.is_empty() {
            stderr.trim().to_owned()
        } else {
            stdout.to_owned()
        };
        if message.is_empty() {
            message = output.status.to_string();
        }
        return Err(ErrorKind::HelperFailed {
            program: program.to_owned(),
            server: server.to_owned(),
            message: truncate(&message, 300),
        }
        .into());
    }

    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    // serde_json's message names the position, never the content, so no secret leaks.
    let answer: Answer = serde_json::from_str(&stdout).map_err(|e| ErrorKind::HelperOutput {
        program: program.to_owned(),
        server: server.to_owned(),
        message: e.to_string(),
    })?;
    if answer.username == TOKEN_USERNAME {
        return Ok(Some(Login::IdentityToken(Secret(answer.secret))));
    }
    if answer.username.is_empty() && answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Login::Password {
        username: answer.username,
        password: Secret(answer.secret),
    }))
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Looks `key` up in `auths`: exactly, else any key whose host is `key` (an entry
/// written as a URL, such as `https://registry.example/v1/`).
fn find_entry<'a>(
    auths: &'a BTreeMap<String, AuthEntry>,
    key: &str,
) -> Option<(String, &'a AuthEntry)> {
    if let Some(entry) = auths.get(key) {
        return Some((key.to_owned(), entry));
    }
    auths
        .iter()
        .find(|(candidate, _)| convert_to_hostname(candidate) == key)
        .map(|(candidate, entry)| (candidate.clone(), entry))
}

/// The login an entry holds, if any. The entry was validated when loaded.
fn entry_login(entry: &AuthEntry) -> Option<Login> {
    let (username, password) = decode_entry(entry).ok()?;
    if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Some(Login::IdentityToken(Secret(token.clone())));
    }
    if username.is_empty() && password.is_empty() {
        return None;
    }
    Some(Login::Password {
        username,
        password: Secret(password),
    })
}

/// The username and password of an entry: from `auth` when present, else from
/// `username` and `password`.
fn decode_entry(entry: &AuthEntry) -> Result<(String, String), &'static str> {
    match entry.auth.as_deref().filter(|a| !a.is_empty()) {
        Some(auth) => decode_auth(auth),
        None => Ok((
            entry.username.clone().unwrap_or_default(),
            entry.password.clone().unwrap_or_default(),
        )),
    }
}

/// Decodes `auth`: standard base64 of `user:password`. The reason never contains the
/// secret.
fn decode_auth(auth: &str) -> Result<(String, String), &'static str> {
    let bytes = STANDARD
        .decode(auth.trim())
        .map_err(|_| "not valid base64")?;
    let text = String::from_utf8(bytes).map_err(|_| "not valid UTF-8")?;
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() => {
            Ok((user.to_owned(), password.trim_matches('\0').to_owned()))
        }
        _ => Err("not of the form user:password"),
    }
}

/// The key the docker CLI stores a registry's credentials under: Docker Hub
/// (`docker.io`, `index.docker.io`, or its key itself) is `https://index.docker.io/v1/`;
/// any other registry is its `host[:port]` (a URL is reduced to its host).
pub fn auth_config_key(registry: &str) -> String {
    if registry == DOCKER_HUB_KEY {
        return DOCKER_HUB_KEY.to_owned();
    }
    let host = convert_to_hostname(registry);
    if host == "docker.io" || host == "index.docker.io" {
        DOCKER_HUB_KEY.to_owned()
    } else {
        host
    }
}

/// The `host[:port]` of a registry address that may be a URL (`https://host:5000/v1/`)
/// or a bare `host/path`, as the docker CLI's `ConvertToHostname`.
pub fn convert_to_hostname(address: &str) -> String {
    let rest = match address.split_once("://") {
        Some((_, rest)) => rest,
        None => address,
    };
    let host = rest.split('/').next().unwrap_or_default();
    // Drop any user-info part of a URL.
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    host.to_owned()
}

/// The registry of an image reference (`host[:port]`), whose credentials a pull or push
/// sends: the domain of its parse ([`ImageRef::parse`]), so `docker.io` for Docker Hub
/// (also when written `index.docker.io`; [`auth_config_key`] maps both to
/// [`DOCKER_HUB_KEY`]).
///
/// ```
/// use engine_client::credentials::registry_of;
/// assert_eq!(registry_of("alpine:3"), "docker.io");
/// assert_eq!(registry_of("localhost:5000/team/app@sha256:abc"), "localhost:5000");
/// assert_eq!(registry_of("ghcr.io/owner/image"), "ghcr.io");
/// ```
pub fn registry_of(reference: &str) -> String {
    match ImageRef::parse(reference) {
        Ok(image) => registry_of_image(&image),
        // A string the grammar refuses (a short digest, say) still names a registry the
        // way the grammar would read its first component; the pull or push then fails
        // with the engine's message rather than for want of credentials.
        Err(_) => registry_by_first_component(reference).to_owned(),
    }
}

/// [`registry_of`] for a parsed reference: its domain.
pub fn registry_of_image(image: &ImageRef) -> String {
    match image.domain() {
        // The grammar's one corner without a domain (`foo_bar.com/x`: a first component
        // that looks like a host but is not one): the engine reads that component as
        // the registry.
        "" => registry_by_first_component(image.path()).to_owned(),
        domain => domain.to_owned(),
    }
}

/// docker's `splitDockerDomain` on the text: the first path component when it contains
/// `.` or `:`, is `localhost`, or has an upper case letter; else `docker.io`.
fn registry_by_first_component(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, _))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            first
        }
        _ => "docker.io",
    }
}
