//! A lean BuildKit session, opened only for a build that needs one (build secrets).
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
//! `required=false` mount).
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
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::engine::{os_wording, refusal, Engine, EngineError, Kind};
use crate::grpc::{self, Code, Deframer, Status};

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
const METHODS: [&str; 2] = [HEALTH_CHECK, GET_SECRET];

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

/// Opens a session on `engine` that serves `secrets`: connects, upgrades, and serves
/// BuildKit's calls on a task of its own until the [`Session`] is dropped or the engine
/// closes it. The upgrade has the engine's short-call timeout.
pub(crate) async fn open(engine: &Engine, secrets: BuildSecrets) -> Result<Session, EngineError> {
    let id = new_id();
    let timeout = engine.short_timeout();
    let io = match tokio::time::timeout(timeout, upgrade(engine, &id)).await {
        Ok(io) => io?,
        Err(_) => {
            return Err(unavailable(
                engine,
                format!("no answer within {} s", timeout.as_secs()),
            ))
        }
    };
    let served = tokio::spawn(serve(io, Arc::new(secrets)));
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

/// A random session id, as unguessable as the standard library's hasher keys make it.
fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    let mut id = String::with_capacity(32);
    for round in 0u8..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        hasher.write_u8(round);
        id.push_str(&format!("{:016x}", hasher.finish()));
    }
    id
}

/// Connects to the engine and upgrades the connection: the request, and the engine's
/// `101` read byte by byte so that nothing of the HTTP/2 that follows is read with it.
async fn upgrade(engine: &Engine, id: &str) -> Result<Box<dyn Io>, EngineError> {
    let mut io = dial(engine).await?;
    let mut request = format!(
        "POST /v{}/session HTTP/1.1\r\nHost: docker\r\nUser-Agent: devbuild\r\n\
         Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\
         X-Docker-Expose-Session-Uuid: {id}\r\nX-Docker-Expose-Session-Name: devbuild\r\n\
         X-Docker-Expose-Session-Sharedkey: devbuild-{id}\r\n",
        engine.api_version()
    );
    for method in METHODS {
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
async fn serve(io: Box<dyn Io>, secrets: Arc<BuildSecrets>) -> Option<String> {
    let mut connection = match h2::server::handshake(io).await {
        Ok(connection) => connection,
        Err(e) => return Some(format!("the HTTP/2 handshake failed: {e}")),
    };
    while let Some(accepted) = connection.accept().await {
        match accepted {
            Ok((request, respond)) => {
                let path = request.uri().path().to_owned();
                // The connection must go on being polled while a call reads its body.
                tokio::spawn(serve_call(
                    path,
                    request.into_body(),
                    respond,
                    secrets.clone(),
                ));
            }
            Err(e) if e.is_go_away() && e.is_remote() => return None,
            Err(e) => return Some(e.to_string()),
        }
    }
    None
}

/// One unary call: its request's message read, answered.
async fn serve_call(
    path: String,
    mut body: RecvStream,
    respond: SendResponse<Bytes>,
    secrets: Arc<BuildSecrets>,
) {
    let mut deframer = Deframer::default();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = body.flow_control().release_capacity(chunk.len());
        if let Err(e) = deframer.push(&chunk) {
            reply(
                respond,
                Err(Status::new(Code::InvalidArgument, e.to_string())),
            );
            return;
        }
    }
    let outcome = match deframer.finish_unary() {
        Ok(message) => answer(&path, &message, &secrets),
        Err(e) => Err(Status::new(Code::InvalidArgument, e.to_string())),
    };
    reply(respond, outcome);
}

/// The answer to a call of `path` with `message`: the response's message, or its status.
/// A secret's value is only ever in the `Ok` side.
fn answer(path: &str, message: &[u8], secrets: &BuildSecrets) -> Result<Vec<u8>, Status> {
    let bad = |e: prost::DecodeError| Status::new(Code::InvalidArgument, e.to_string());
    match path {
        HEALTH_CHECK => {
            HealthCheckRequest::decode(message).map_err(bad)?;
            Ok(HealthCheckResponse { status: 1 }.encode_to_vec())
        }
        GET_SECRET => {
            let request = GetSecretRequest::decode(message).map_err(bad)?;
            match secrets.get(&request.id) {
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
        other => Err(Status::new(
            Code::Unimplemented,
            format!("unknown method {other}"),
        )),
    }
}

/// Sends a call's outcome: the message and an `OK` status in the trailers, or a failure in
/// the headers alone ("trailers-only").
fn reply(mut respond: SendResponse<Bytes>, outcome: Result<Vec<u8>, Status>) {
    let mut response = http::Response::new(());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(grpc::CONTENT_TYPE),
    );
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
        let answer = answer(GET_SECRET, recorded, &secrets).unwrap();
        assert_eq!(answer, b"\x0a\x06s3cr3t");
        assert_eq!(
            GetSecretResponse::decode(&answer[..]).unwrap().data,
            b"s3cr3t"
        );
    }

    #[test]
    fn an_unknown_secret_is_not_found_naming_it() {
        let status =
            answer(GET_SECRET, &secret_request("other"), &BuildSecrets::new()).unwrap_err();
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
        assert!(answer(GET_SECRET, &request, &secrets).is_ok());
    }

    #[test]
    fn the_health_check_says_serving() {
        // An empty `HealthCheckRequest`, as BuildKit's `monitorHealth` sends it.
        let answer = answer(HEALTH_CHECK, b"", &BuildSecrets::new()).unwrap();
        assert_eq!(answer, b"\x08\x01");
    }

    #[test]
    fn other_methods_are_unimplemented_and_garbage_is_invalid() {
        let status = answer(
            "/moby.filesync.v1.Auth/Credentials",
            b"",
            &BuildSecrets::new(),
        )
        .unwrap_err();
        assert_eq!(status.code, Code::Unimplemented);
        let status = answer(GET_SECRET, b"\xff\xff", &BuildSecrets::new()).unwrap_err();
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
        let served = tokio::spawn(serve(Box::new(our_side), Arc::new(secrets)));
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
    fn session_ids_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
