//! A lean BuildKit session, opened only for a build that needs one (build secrets, SSH
//! agents).
//!
//! The contract (BuildKit `session/manager.go`, `session/grpc.go`; moby's `/session` route,
//! verified on Docker Engine 20.10 and 26.1): `POST /session` with `Upgrade: h2c`,
//! `Connection: Upgrade` and the headers `X-Docker-Expose-Session-Uuid`, `-Name`,
//! `-Sharedkey` and one `X-Docker-Expose-Session-Grpc-Method` per method served; the engine
//! answers `101 Switching Protocols`, and from then on the connection is HTTP/2 with the
//! engine as the gRPC *client* and us as the server. The build names the session with
//! `session=<uuid>` in its query. BuildKit checks the session's health every 5 s
//! (`grpc.health.v1.Health/Check`) and asks for each secret a `RUN --mount=type=secret`
//! uses (`moby.buildkit.secrets.v1.Secrets/GetSecret`); a secret it does not know is
//! answered `NotFound`, which BuildKit reports as the secret missing (or ignores for a
//! `required=false` mount). For `RUN --mount=type=ssh` it checks the agent's id
//! (`moby.sshforward.v1.SSH/CheckAgent`) and opens one `ForwardAgent` stream per connection
//! to the socket it mounts, bridged here to the agent ([`crate::ssh_agents`]). When it pulls
//! for itself it asks `moby.filesync.v1.Auth/Credentials` for the registry's login, answered
//! for that registry only; its token methods are "unimplemented", so it fetches tokens
//! itself with that login.
//!
//! HTTP/2 is the `h2` crate's server over the upgraded connection; the gRPC framing is
//! [`crate::grpc`]; the messages are declared here with `prost`. A session lives as long
//! as the build's stream: it is closed when the build ends, fails or is dropped, and an
//! engine that closes it first ends the build with an error ([`Engine::build`]).
//!
//! The upgrade is made on a connection of its own, not through bollard (whose client keeps
//! no upgraded connections for requests like this): a unix socket, plain TCP, TCP with TLS
//! (the endpoint's files, checked and used as for the rest of the API, so a handshake that
//! fails says why in the same words), or an `ssh` process as for the rest of the API.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::credentials::{DockerConfig, Login};
use crate::engine::{os_wording, refusal, Engine, EngineError, Kind};
use crate::grpc::{self, Code, Deframer, Status};
use crate::ssh_agents::{read_message, AgentMessages, SshAgents, AGENT_FAILURE, DEFAULT_ID};

/// The largest secret BuildKit accepts (`secretsprovider.MaxSecretSize`, 500 KiB).
pub const MAX_SECRET_SIZE: usize = 500 * 1024;

/// The build's secrets, by id: what `RUN --mount=type=secret,id=…` reads. Their values
/// never show: `Debug` lists the ids only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BuildSecrets {
    values: BTreeMap<String, Arc<[u8]>>,
}

impl BuildSecrets {
    /// No secrets: the build opens no session.
    pub fn new() -> BuildSecrets {
        BuildSecrets::default()
    }

    /// Adds (or replaces) the secret `id`.
    pub fn insert(&mut self, id: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.values.insert(id.into(), Arc::from(value.into()));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The value of the secret `id`. Call only where it is sent, never where it is shown.
    pub fn get(&self, id: &str) -> Option<&[u8]> {
        self.values.get(id).map(|value| &value[..])
    }
}

impl fmt::Debug for BuildSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}

/// The methods the session serves, as BuildKit names them (`/package.Service/Method`).
const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
const GET_SECRET: &str = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
const CHECK_AGENT: &str = "/moby.sshforward.v1.SSH/CheckAgent";
const FORWARD_AGENT: &str = "/moby.sshforward.v1.SSH/ForwardAgent";
const CREDENTIALS: &str = "/moby.filesync.v1.Auth/Credentials";
/// Answered "unimplemented": BuildKit then asks [`CREDENTIALS`] and fetches tokens itself.
const FETCH_TOKEN: &str = "/moby.filesync.v1.Auth/FetchToken";
const GET_TOKEN_AUTHORITY: &str = "/moby.filesync.v1.Auth/GetTokenAuthority";

/// The gRPC metadata naming the agent a `ForwardAgent` stream is for (`sshforward.KeySSHID`).
const SSH_ID_HEADER: &str = "buildkit.ssh.id";

/// What a session serves: the build's secrets, its SSH agents, and registry credentials for
/// the pulls BuildKit makes itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct Services {
    pub(crate) secrets: BuildSecrets,
    pub(crate) ssh: SshAgents,
    /// `None`: BuildKit is told "unimplemented" and pulls anonymously.
    pub(crate) credentials: Option<Arc<DockerConfig>>,
}

impl Services {
    /// The methods to announce: the health check and secrets always, the agents and
    /// credentials when there are any.
    fn methods(&self) -> Vec<&'static str> {
        let mut methods = vec![HEALTH_CHECK, GET_SECRET];
        if !self.ssh.is_empty() {
            methods.extend([CHECK_AGENT, FORWARD_AGENT]);
        }
        if self.credentials.is_some() {
            methods.extend([CREDENTIALS, FETCH_TOKEN, GET_TOKEN_AUTHORITY]);
        }
        methods
    }
}

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse`; `status` 1 is `SERVING`.
#[derive(Clone, PartialEq, Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

/// `moby.buildkit.secrets.v1.GetSecretRequest`.
#[derive(Clone, PartialEq, Message)]
struct GetSecretRequest {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(btree_map = "string, string", tag = "2")]
    annotations: BTreeMap<String, String>,
}

/// `moby.buildkit.secrets.v1.GetSecretResponse`.
#[derive(Clone, PartialEq, Message)]
struct GetSecretResponse {
    #[prost(bytes = "vec", tag = "1")]
    data: Vec<u8>,
}

/// `moby.sshforward.v1.CheckAgentRequest` (its response has no fields).
#[derive(Clone, PartialEq, Message)]
struct CheckAgentRequest {
    #[prost(string, tag = "1")]
    id: String,
}

/// `moby.sshforward.v1.BytesMessage`: a piece of the agent protocol's stream.
#[derive(Clone, PartialEq, Message)]
struct BytesMessage {
    #[prost(bytes = "vec", tag = "1")]
    data: Vec<u8>,
}

/// `moby.filesync.v1.CredentialsRequest`.
#[derive(Clone, PartialEq, Message)]
struct CredentialsRequest {
    #[prost(string, tag = "1")]
    host: String,
}

/// `moby.filesync.v1.CredentialsResponse`: empty for a registry without credentials.
#[derive(Clone, PartialEq, Message)]
struct CredentialsResponse {
    #[prost(string, tag = "1")]
    username: String,
    #[prost(string, tag = "2")]
    secret: String,
}

/// An open session: its id, and the task that serves it. Dropping it closes the
/// connection, and the engine forgets the session.
#[derive(Debug)]
pub(crate) struct Session {
    id: String,
    /// Ends when the connection does: how, in words (`None` when the engine closed it
    /// cleanly).
    pub(crate) served: JoinHandle<Option<String>>,
}

impl Session {
    /// Its id, the build's `session=`.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// A session served by `served`, for tests of what uses one.
    #[cfg(test)]
    pub(crate) fn from_task(served: JoinHandle<Option<String>>) -> Session {
        Session {
            id: "test".to_owned(),
            served,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.served.abort();
    }
}

/// A connection to the engine, before and after the upgrade.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Opens a session on `engine` that serves `services`: connects, upgrades, and serves
/// BuildKit's calls on a task of its own until the [`Session`] is dropped or the engine
/// closes it. The upgrade has the engine's short-call timeout.
pub(crate) async fn open(engine: &Engine, services: Services) -> Result<Session, EngineError> {
    let id = new_id();
    let timeout = engine.short_timeout();
    let methods = services.methods();
    let io = match tokio::time::timeout(timeout, upgrade(engine, &id, &methods)).await {
        Ok(io) => io?,
        Err(_) => {
            return Err(unavailable(
                engine,
                format!("no answer within {} s", timeout.as_secs()),
            ))
        }
    };
    let served = tokio::spawn(serve(io, Arc::new(services)));
    Ok(Session { id, served })
}

/// A session could not be opened: why, naming the engine.
fn unavailable(engine: &Engine, reason: String) -> EngineError {
    Kind::Session {
        host: engine.endpoint().host.clone(),
        chosen: engine.endpoint().source.to_string(),
        reason,
    }
    .into()
}

/// A random session id from the OS's generator: whoever knows it can ask the session for
/// the build's secrets, so it must not be guessed.
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS's random number generator");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Connects to the engine and upgrades the connection: the request, and the engine's
/// `101` read byte by byte so that nothing of the HTTP/2 that follows is read with it.
async fn upgrade(engine: &Engine, id: &str, methods: &[&str]) -> Result<Box<dyn Io>, EngineError> {
    let mut io = dial(engine).await?;
    let mut request = format!(
        "POST /v{}/session HTTP/1.1\r\nHost: docker\r\nUser-Agent: devbuild\r\n\
         Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\
         X-Docker-Expose-Session-Uuid: {id}\r\nX-Docker-Expose-Session-Name: devbuild\r\n\
         X-Docker-Expose-Session-Sharedkey: devbuild-{id}\r\n",
        engine.api_version()
    );
    for method in methods {
        request.push_str(&format!(
            "X-Docker-Expose-Session-Grpc-Method: {method}\r\n"
        ));
    }
    request.push_str("\r\n");
    let lost = |e: std::io::Error| unavailable(engine, os_wording(&e));
    io.write_all(request.as_bytes()).await.map_err(lost)?;
    io.flush().await.map_err(lost)?;

    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return Err(unavailable(engine, "the engine's answer has no end".into()));
        }
        let mut byte = [0u8];
        match io.read(&mut byte).await.map_err(lost)? {
            0 => {
                return Err(unavailable(
                    engine,
                    "the engine closed the connection without an answer".into(),
                ))
            }
            _ => head.push(byte[0]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| {
            unavailable(
                engine,
                format!("not an HTTP answer: {:?}", first_line(&head)),
            )
        })?;
    if status == 101 {
        return Ok(io);
    }
    // A refusal: its JSON message, as for any other call.
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    let mut body = vec![0u8; length];
    let _ = io.read_exact(&mut body).await;
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
    Err(refusal("POST /session", "session", status, message).into())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A connection of its own to the engine.
async fn dial(engine: &Engine) -> Result<Box<dyn Io>, EngineError> {
    let endpoint = engine.endpoint();
    let host = endpoint.host.as_str();
    let failed = |e: std::io::Error| unavailable(engine, os_wording(&e));
    if let Some(path) = host.strip_prefix("unix://") {
        #[cfg(unix)]
        return Ok(Box::new(
            tokio::net::UnixStream::connect(path)
                .await
                .map_err(failed)?,
        ));
        #[cfg(not(unix))]
        return Err(unavailable(
            engine,
            format!("no unix sockets here ({path})"),
        ));
    }
    if let Some(address) = host.strip_prefix("tcp://") {
        let address = address.trim_end_matches('/');
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(failed)?;
        return match &endpoint.tls {
            None => Ok(Box::new(tcp)),
            Some(files) => dial_tls(engine, tcp, address, files).await,
        };
    }
    #[cfg(feature = "ssh")]
    if host.starts_with("ssh://") {
        let target = crate::ssh::SshTarget::parse(host).map_err(|e| unavailable(engine, e))?;
        return Ok(Box::new(crate::ssh::dial(&target).map_err(failed)?));
    }
    Err(unavailable(
        engine,
        format!("sessions are not supported for {host}"),
    ))
}

/// TLS over `tcp` with the endpoint's `files`; its errors are those of the rest of the
/// client: a file named, a failed handshake in [`crate::tls::handshake_failure`]'s words.
#[cfg(feature = "tls")]
async fn dial_tls(
    engine: &Engine,
    tcp: tokio::net::TcpStream,
    address: &str,
    files: &crate::endpoint::TlsFiles,
) -> Result<Box<dyn Io>, EngineError> {
    use crate::tls::TlsConnectError;
    let endpoint = engine.endpoint();
    // Engine::connect refuses this already; a session never weakens it.
    if !files.verify {
        return Err(unavailable(
            engine,
            "TLS without verification is not supported".to_owned(),
        ));
    }
    match crate::tls::connect(tcp, address, files).await {
        Ok(stream) => Ok(Box::new(stream)),
        Err(TlsConnectError::File(error)) => Err(Kind::TlsFile {
            host: endpoint.host.clone(),
            chosen: endpoint.source.to_string(),
            error: Box::new(error),
            hint: crate::engine::tls_hint(&endpoint.source),
        }
        .into()),
        Err(TlsConnectError::Handshake { reason, tls: true }) => Err(Kind::TlsHandshake {
            host: endpoint.host.clone(),
            chosen: endpoint.source.to_string(),
            reason,
            hint: crate::engine::tls_hint(&endpoint.source),
        }
        .into()),
        Err(TlsConnectError::Handshake { reason, tls: false })
        | Err(TlsConnectError::Setup(reason)) => Err(unavailable(engine, reason)),
    }
}

/// Without the `tls` feature no engine has TLS settings that work (Engine::connect refuses
/// them), so neither does a session.
#[cfg(not(feature = "tls"))]
async fn dial_tls(
    engine: &Engine,
    _tcp: tokio::net::TcpStream,
    _address: &str,
    _files: &crate::endpoint::TlsFiles,
) -> Result<Box<dyn Io>, EngineError> {
    Err(unavailable(
        engine,
        "TLS endpoints need engine-client's `tls` feature".to_owned(),
    ))
}

/// Serves the engine's calls until the connection ends: `None` when the engine closed it
/// cleanly, else why it broke.
async fn serve(io: Box<dyn Io>, services: Arc<Services>) -> Option<String> {
    let mut connection = match h2::server::handshake(io).await {
        Ok(connection) => connection,
        Err(e) => return Some(format!("the HTTP/2 handshake failed: {e}")),
    };
    while let Some(accepted) = connection.accept().await {
        match accepted {
            // The connection must go on being polled while a call runs.
            Ok((request, respond)) => {
                drop(tokio::spawn(serve_call(request, respond, services.clone())))
            }
            Err(e) if e.is_go_away() && e.is_remote() => return None,
            Err(e) => return Some(e.to_string()),
        }
    }
    None
}

/// One call: `ForwardAgent` is a stream both ways; every other call is unary, its request's
/// message read whole and answered.
async fn serve_call(
    request: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
    services: Arc<Services>,
) {
    let path = request.uri().path().to_owned();
    if path == FORWARD_AGENT {
        let id = request
            .headers()
            .get(SSH_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| !id.is_empty())
            .unwrap_or(DEFAULT_ID)
            .to_owned();
        forward_agent(&id, request.into_body(), respond, &services.ssh).await;
        return;
    }
    let mut body = request.into_body();
    let mut deframer = Deframer::default();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = body.flow_control().release_capacity(chunk.len());
        if let Err(e) = deframer.push(&chunk) {
            reply(respond, Err(invalid(e)));
            return;
        }
    }
    let outcome = match deframer.finish_unary() {
        Ok(message) if path == CREDENTIALS => credentials(message, &services).await,
        Ok(message) => answer(&path, &message, &services),
        Err(e) => Err(invalid(e)),
    };
    reply(respond, outcome);
}

fn invalid(error: impl fmt::Display) -> Status {
    Status::new(Code::InvalidArgument, error.to_string())
}

/// The answer to a unary call of `path` with `message`: the response's message, or its
/// status. A secret's value is only ever in the `Ok` side.
fn answer(path: &str, message: &[u8], services: &Services) -> Result<Vec<u8>, Status> {
    match path {
        HEALTH_CHECK => {
            HealthCheckRequest::decode(message).map_err(invalid)?;
            Ok(HealthCheckResponse { status: 1 }.encode_to_vec())
        }
        GET_SECRET => {
            let request = GetSecretRequest::decode(message).map_err(invalid)?;
            match services.secrets.get(&request.id) {
                Some(value) => Ok(GetSecretResponse {
                    data: value.to_vec(),
                }
                .encode_to_vec()),
                None => Err(Status::new(
                    Code::NotFound,
                    format!("secret {} not found", request.id),
                )),
            }
        }
        CHECK_AGENT => {
            let request = CheckAgentRequest::decode(message).map_err(invalid)?;
            let id = if request.id.is_empty() {
                DEFAULT_ID
            } else {
                &request.id
            };
            match services.ssh.socket(id) {
                Some(_) => Ok(Vec::new()),
                None => Err(unset_agent(id)),
            }
        }
        other => Err(Status::new(
            Code::Unimplemented,
            format!("unknown method {other}"),
        )),
    }
}

/// An agent id the build was not given: buildx's words, and ours.
fn unset_agent(id: &str) -> Status {
    Status::new(
        Code::NotFound,
        format!("unset ssh forward key {id} (the build forwards no SSH agent with id {id:?})"),
    )
}

/// `Auth/Credentials`: the login for the one registry asked about, from the same
/// configuration (and helpers) as the pre-pull; an empty answer for a registry without
/// one. Docker Hub is asked for as `registry-1.docker.io`.
async fn credentials(message: Bytes, services: &Services) -> Result<Vec<u8>, Status> {
    let request = CredentialsRequest::decode(message).map_err(invalid)?;
    let Some(config) = services.credentials.clone() else {
        return Err(Status::new(Code::Unimplemented, "no registry credentials"));
    };
    let registry = match request.host.as_str() {
        "registry-1.docker.io" => "docker.io".to_owned(),
        host => host.to_owned(),
    };
    // A credential helper is a process: not on the runtime's threads.
    let found = tokio::task::spawn_blocking(move || config.credentials_for(&registry))
        .await
        .map_err(|e| Status::new(Code::Unknown, e.to_string()))?
        .map_err(|e| Status::new(Code::Unknown, e.to_string()))?;
    let response = match found.map(|auth| auth.login) {
        Some(Login::Password { username, password }) => CredentialsResponse {
            username,
            secret: password.expose().to_owned(),
        },
        Some(Login::IdentityToken(token)) => CredentialsResponse {
            username: String::new(),
            secret: token.expose().to_owned(),
        },
        None => CredentialsResponse::default(),
    };
    Ok(response.encode_to_vec())
}

/// `SSH/ForwardAgent`: the agent protocol's bytes, in `BytesMessage`s both ways, between
/// BuildKit and the agent of `id`. Each request is checked ([`Request::allowed`](crate::ssh_agents::Request::allowed)) and
/// answered by the agent, or refused with `SSH_AGENT_FAILURE`; the stream ends when
/// BuildKit's side does.
async fn forward_agent(
    id: &str,
    mut body: RecvStream,
    mut respond: SendResponse<Bytes>,
    ssh: &SshAgents,
) {
    let Some(socket) = ssh.socket(id) else {
        reply(respond, Err(unset_agent(id)));
        return;
    };
    let mut agent = match connect_agent(socket).await {
        Ok(agent) => agent,
        Err(e) => {
            let message = format!(
                "ssh {id}: cannot connect to the agent at {}: {}",
                socket.display(),
                os_wording(&e)
            );
            reply(respond, Err(Status::new(Code::Unavailable, message)));
            return;
        }
    };
    let Ok(mut send) = respond.send_response(grpc_response(), false) else {
        return;
    };
    let mut frames = Deframer::default();
    let mut requests = AgentMessages::default();
    let outcome: Result<(), Status> = async {
        while let Some(chunk) = body.data().await {
            // BuildKit reset the stream: nothing is left to answer.
            let Ok(chunk) = chunk else { return Ok(()) };
            let _ = body.flow_control().release_capacity(chunk.len());
            frames.push(&chunk).map_err(invalid)?;
            while let Some(message) = frames.next_message().map_err(invalid)? {
                requests.push(&BytesMessage::decode(message).map_err(invalid)?.data);
                while let Some(request) = requests.next().map_err(invalid)? {
                    let answer = if request.allowed() {
                        agent_round_trip(&mut agent, &request.0)
                            .await
                            .map_err(|e| {
                                Status::new(
                                    Code::Unavailable,
                                    format!("ssh {id}: the agent: {}", os_wording(&e)),
                                )
                            })?
                    } else {
                        AGENT_FAILURE.to_vec()
                    };
                    let framed = grpc::frame(&BytesMessage { data: answer }.encode_to_vec());
                    if send.send_data(framed, false).is_err() {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    let status = outcome.err().unwrap_or_else(Status::ok);
    let _ = send.send_trailers(status.headers());
}

#[cfg(unix)]
async fn connect_agent(socket: &std::path::Path) -> std::io::Result<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(socket).await
}

#[cfg(not(unix))]
async fn connect_agent(_: &std::path::Path) -> std::io::Result<tokio::io::DuplexStream> {
    Err(std::io::Error::other("SSH agents need unix sockets"))
}

/// One request to the agent, and its answer.
async fn agent_round_trip<A: AsyncRead + AsyncWrite + Unpin>(
    agent: &mut A,
    request: &[u8],
) -> std::io::Result<Vec<u8>> {
    agent.write_all(request).await?;
    agent.flush().await?;
    read_message(agent).await
}

/// The head of a gRPC response: 200, `content-type: application/grpc`.
fn grpc_response() -> http::Response<()> {
    let mut response = http::Response::new(());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(grpc::CONTENT_TYPE),
    );
    response
}

/// Sends a call's outcome: the message and an `OK` status in the trailers, or a failure in
/// the headers alone ("trailers-only").
fn reply(mut respond: SendResponse<Bytes>, outcome: Result<Vec<u8>, Status>) {
    let mut response = grpc_response();
    match outcome {
        Ok(message) => {
            let Ok(mut send) = respond.send_response(response, false) else {
                return;
            };
            if send.send_data(grpc::frame(&message), false).is_ok() {
                let _ = send.send_trailers(Status::ok().headers());
            }
        }
        Err(status) => {
            response.headers_mut().extend(status.headers());
            let _ = respond.send_response(response, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh_agents::tests::agents_with_key;

    fn with_secrets(secrets: BuildSecrets) -> Services {
        Services {
            secrets,
            ..Services::default()
        }
    }

    /// A request as BuildKit's Go client encodes it (protoc-gen-go field order).
    fn secret_request(id: &str) -> Vec<u8> {
        GetSecretRequest {
            id: id.to_owned(),
            annotations: BTreeMap::new(),
        }
        .encode_to_vec()
    }

    #[test]
    fn a_known_secret_is_answered_with_its_value() {
        let mut secrets = BuildSecrets::new();
        secrets.insert("token", b"s3cr3t".to_vec());
        // `ID: "token"`, as BuildKit sends it: field 1, length 5.
        let recorded = b"\x0a\x05token";
        assert_eq!(secret_request("token"), recorded);
        let answer = answer(GET_SECRET, recorded, &with_secrets(secrets)).unwrap();
        assert_eq!(answer, b"\x0a\x06s3cr3t");
        assert_eq!(
            GetSecretResponse::decode(&answer[..]).unwrap().data,
            b"s3cr3t"
        );
    }

    #[test]
    fn an_unknown_secret_is_not_found_naming_it() {
        let status =
            answer(GET_SECRET, &secret_request("other"), &Services::default()).unwrap_err();
        assert_eq!(status.code, Code::NotFound);
        assert_eq!(status.message, "secret other not found");
    }

    #[test]
    fn annotations_are_read_and_ignored() {
        let mut secrets = BuildSecrets::new();
        secrets.insert("x", b"v".to_vec());
        let mut annotations = BTreeMap::new();
        annotations.insert("k".to_owned(), "v".to_owned());
        let request = GetSecretRequest {
            id: "x".to_owned(),
            annotations,
        }
        .encode_to_vec();
        assert!(answer(GET_SECRET, &request, &with_secrets(secrets)).is_ok());
    }

    #[test]
    fn the_health_check_says_serving() {
        // An empty `HealthCheckRequest`, as BuildKit's `monitorHealth` sends it.
        let answer = answer(HEALTH_CHECK, b"", &Services::default()).unwrap();
        assert_eq!(answer, b"\x08\x01");
    }

    #[test]
    fn other_methods_are_unimplemented_and_garbage_is_invalid() {
        // BuildKit falls back to `Credentials` and its own token fetch on these.
        for method in [
            FETCH_TOKEN,
            GET_TOKEN_AUTHORITY,
            "/moby.filesync.v1.FileSync/DiffCopy",
        ] {
            let status = answer(method, b"", &Services::default()).unwrap_err();
            assert_eq!(status.code, Code::Unimplemented, "{method}");
        }
        let status = answer(GET_SECRET, b"\xff\xff", &Services::default()).unwrap_err();
        assert_eq!(status.code, Code::InvalidArgument);
    }

    #[test]
    fn secrets_debug_shows_only_their_ids() {
        let mut secrets = BuildSecrets::new();
        secrets.insert("b", b"value-b".to_vec());
        secrets.insert("a", b"value-a".to_vec());
        assert_eq!(format!("{secrets:?}"), r#"{"a", "b"}"#);
        assert_eq!(secrets.ids().collect::<Vec<_>>(), ["a", "b"]);
    }

    /// Reads a response body to its end, returning its bytes and its trailers.
    async fn read_body(mut body: RecvStream) -> (Vec<u8>, Option<http::HeaderMap>) {
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            data.extend_from_slice(&chunk);
        }
        (data, body.trailers().await.unwrap())
    }

    /// The whole server over HTTP/2, with h2's client playing the engine: a secret is
    /// answered with its message and an OK status in the trailers, an unknown one with
    /// NotFound in the headers alone, as grpc-go expects; the task ends with the connection.
    #[tokio::test]
    async fn the_server_answers_grpc_calls_over_http2() {
        let (engine_side, our_side) = tokio::io::duplex(64 * 1024);
        let mut secrets = BuildSecrets::new();
        secrets.insert("token", b"s3cr3t".to_vec());
        let served = tokio::spawn(serve(Box::new(our_side), Arc::new(with_secrets(secrets))));
        let (client, connection) = h2::client::handshake(engine_side).await.unwrap();
        let connection = tokio::spawn(connection);
        let call = |id: &str| {
            let mut client = client.clone();
            let message = grpc::frame(&secret_request(id));
            async move {
                client = client.ready().await.unwrap();
                let request = http::Request::post(format!("http://localhost{GET_SECRET}"))
                    .header("content-type", "application/grpc")
                    .header("te", "trailers")
                    .body(())
                    .unwrap();
                let (response, mut send) = client.send_request(request, false).unwrap();
                send.send_data(message, true).unwrap();
                response.await.unwrap()
            }
        };

        let response = call("token").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/grpc");
        assert!(response.headers().get("grpc-status").is_none());
        let (data, trailers) = read_body(response.into_body()).await;
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
        let mut deframer = Deframer::default();
        deframer.push(&data).unwrap();
        let message = deframer.finish_unary().unwrap();
        assert_eq!(GetSecretResponse::decode(message).unwrap().data, b"s3cr3t");

        let response = call("nope").await;
        assert_eq!(response.headers()["grpc-status"], "5");
        assert_eq!(response.headers()["grpc-message"], "secret nope not found");
        let (data, _) = read_body(response.into_body()).await;
        assert!(data.is_empty());

        drop(client);
        connection.await.unwrap().unwrap();
        served.await.unwrap();
    }

    #[test]
    fn check_agent_knows_the_ids_given() {
        let dir = tempfile::tempdir().unwrap();
        let services = Services {
            ssh: agents_with_key(dir.path(), "default"),
            ..Services::default()
        };
        // `ID: "default"` as BuildKit's `CheckSSHID` sends it; an empty id means the same.
        assert_eq!(
            answer(CHECK_AGENT, b"\x0a\x07default", &services),
            Ok(Vec::new())
        );
        assert_eq!(answer(CHECK_AGENT, b"", &services), Ok(Vec::new()));
        let status = answer(CHECK_AGENT, b"\x0a\x03git", &services).unwrap_err();
        assert_eq!(
            status,
            Status::new(
                Code::NotFound,
                "unset ssh forward key git (the build forwards no SSH agent with id \"git\")"
            )
        );
    }

    /// `Auth/Credentials` as BuildKit's resolver asks (`Host: "127.0.0.1:5000"`): the login
    /// of that registry alone; another registry gets an empty answer, and Docker Hub is asked
    /// for as `registry-1.docker.io`.
    #[tokio::test]
    async fn credentials_answer_only_for_the_registry_asked_about() {
        let config = DockerConfig::from_json(
            r#"{"auths": {
                "127.0.0.1:5000": {"auth": "YWxpY2U6cHc1MDAw"},
                "https://index.docker.io/v1/": {"identitytoken": "hub-token"}
            }}"#,
        )
        .unwrap();
        let services = Services {
            credentials: Some(Arc::new(config)),
            ..Services::default()
        };
        let ask = |host: &str| {
            let message = Bytes::from(
                CredentialsRequest {
                    host: host.to_owned(),
                }
                .encode_to_vec(),
            );
            let services = services.clone();
            async move {
                let answer = credentials(message, &services).await.unwrap();
                CredentialsResponse::decode(&answer[..]).unwrap()
            }
        };
        assert_eq!(
            CredentialsRequest {
                host: "127.0.0.1:5000".into()
            }
            .encode_to_vec(),
            b"\x0a\x0e127.0.0.1:5000"
        );
        let local = ask("127.0.0.1:5000").await;
        assert_eq!(
            (local.username.as_str(), local.secret.as_str()),
            ("alice", "pw5000")
        );
        assert_eq!(ask("127.0.0.1:5001").await, CredentialsResponse::default());
        assert_eq!(ask("other.example").await, CredentialsResponse::default());
        let hub = ask("registry-1.docker.io").await;
        assert_eq!(
            (hub.username.as_str(), hub.secret.as_str()),
            ("", "hub-token")
        );

        let none = credentials(Bytes::new(), &Services::default())
            .await
            .unwrap_err();
        assert_eq!(none.code, Code::Unimplemented);
    }

    /// `ForwardAgent` over HTTP/2 with h2's client playing the engine, to a real
    /// `ssh-agent` holding a key: listing the keys is answered by the agent (the key's
    /// comment is in the answer), removing them all is refused with `SSH_AGENT_FAILURE`
    /// without reaching the agent, and the stream ends with an OK status; an unknown id is
    /// NotFound.
    #[tokio::test]
    async fn forward_agent_bridges_listing_and_refuses_removal() {
        let dir = tempfile::tempdir().unwrap();
        let services = Services {
            ssh: agents_with_key(dir.path(), "deploy"),
            ..Services::default()
        };
        let (engine_side, our_side) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve(Box::new(our_side), Arc::new(services)));
        let (client, connection) = h2::client::handshake(engine_side).await.unwrap();
        let connection = tokio::spawn(connection);
        let open = |id: &str| {
            let client = client.clone();
            let id = id.to_owned();
            async move {
                let mut client = client.ready().await.unwrap();
                let request = http::Request::post(format!("http://localhost{FORWARD_AGENT}"))
                    .header("content-type", "application/grpc")
                    .header(SSH_ID_HEADER, id)
                    .body(())
                    .unwrap();
                client.send_request(request, false).unwrap()
            }
        };
        let agent_message = |kind: u8| BytesMessage {
            data: vec![0, 0, 0, 1, kind],
        };
        // Reads the body until one whole gRPC message is in, and decodes it.
        async fn next_answer(body: &mut RecvStream, frames: &mut Deframer) -> Vec<u8> {
            loop {
                if let Some(message) = frames.next_message().unwrap() {
                    return BytesMessage::decode(message).unwrap().data;
                }
                let chunk = body.data().await.unwrap().unwrap();
                body.flow_control().release_capacity(chunk.len()).unwrap();
                frames.push(&chunk).unwrap();
            }
        }

        let (response, mut send) = open("deploy").await;
        // SSH_AGENTC_REQUEST_IDENTITIES (11), split over two gRPC messages.
        let list = agent_message(11).data;
        for piece in [&list[..2], &list[2..]] {
            let message = BytesMessage {
                data: piece.to_vec(),
            };
            send.send_data(grpc::frame(&message.encode_to_vec()), false)
                .unwrap();
        }
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut frames = Deframer::default();
        let identities = next_answer(&mut body, &mut frames).await;
        assert_eq!(identities[4], 12, "SSH_AGENT_IDENTITIES_ANSWER");
        assert_eq!(&identities[5..9], &[0, 0, 0, 1], "one key");
        assert!(
            identities.windows(17).any(|w| w == b"devbuild-unit-key"),
            "the key's comment"
        );
        // SSH_AGENTC_REMOVE_ALL_IDENTITIES (19): refused.
        send.send_data(grpc::frame(&agent_message(19).encode_to_vec()), true)
            .unwrap();
        assert_eq!(next_answer(&mut body, &mut frames).await, AGENT_FAILURE);
        assert!(body.data().await.is_none());
        assert_eq!(body.trailers().await.unwrap().unwrap()["grpc-status"], "0");

        drop((send, body));

        // The key is still there: the agent was never asked to remove it.
        let (response, mut send) = open("deploy").await;
        send.send_data(grpc::frame(&agent_message(11).encode_to_vec()), true)
            .unwrap();
        let mut body = response.await.unwrap().into_body();
        let again = next_answer(&mut body, &mut Deframer::default()).await;
        assert_eq!(again, identities);
        drop((send, body));

        let (response, send) = open("other").await;
        let response = response.await.unwrap();
        assert_eq!(response.headers()["grpc-status"], "5");
        assert_eq!(
            response.headers()["grpc-message"],
            r#"unset ssh forward key other (the build forwards no SSH agent with id "other")"#
        );

        // Every handle gone: the connection, and the session's task, end.
        drop((send, response, client));
        connection.await.unwrap().unwrap();
        served.await.unwrap();
    }

    #[test]
    fn session_ids_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
