//! What goes over the wire, checked against a scripted engine on a unix socket: the API
//! version prefix, `X-Registry-Auth`, a streamed body, a last line without an ending,
//! an engine that goes away mid-build, an unreachable or too old engine, and what the
//! errors say (the OS's reason, the endpoint and how it was chosen, an authorization
//! plugin's refusal).
//!
//! The real engines (`cargo xtask engine up`) are exercised in `tests/engine.rs`; this
//! file covers what a real engine cannot be made to do on demand.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use engine_client::credentials::{AuthSource, DockerConfig, Login, RegistryAuth, Secret};
use engine_client::endpoint::{context_id, resolve, Endpoint, EndpointEnv, EndpointSource};
use engine_client::engine::{
    ApiVersion, BuildOptions, ConnectOptions, Engine, ImageNeed, PrepullOptions,
};
use engine_client::events::{BuildEvent, PullEvent, PullOutcome};
use engine_client::{ImageRef, Platform};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

/// One request the scripted engine received.
#[derive(Clone, Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the scripted engine answers one request.
enum Answer {
    /// A complete JSON document.
    Json(u16, String),
    /// A chunked stream of these pieces, then the end.
    Stream(Vec<String>),
    /// A chunked stream of these pieces, then the connection closes mid-answer.
    Cut(Vec<String>),
    /// No answer at all; the connection stays open.
    Never,
    /// No answer: the connection closes.
    Close,
}

struct FakeEngine {
    socket: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
    _dir: tempfile::TempDir,
}

fn version_json(api: &str) -> String {
    format!(r#"{{"Version":"99.0.0","ApiVersion":"{api}","MinAPIVersion":"1.12"}}"#)
}

/// Starts an engine that answers each request with `script(request line)`.
fn fake_engine(script: impl Fn(&str) -> Answer + Send + Sync + 'static) -> FakeEngine {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let script = script.clone();
            let log = log.clone();
            tokio::spawn(async move {
                loop {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match conn.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let mut lines = text.split("\r\n");
                    let request_line = lines.next().unwrap_or_default().to_owned();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(": "))
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect();
                    let seen = Seen {
                        request_line: request_line.clone(),
                        headers,
                    };
                    // Read the body: chunked or by length.
                    if seen.header("transfer-encoding") == Some("chunked") {
                        let mut tail = Vec::new();
                        while !tail.ends_with(b"0\r\n\r\n") {
                            match conn.read(&mut byte).await {
                                Ok(1) => tail.push(byte[0]),
                                _ => return,
                            }
                        }
                    } else if let Some(n) = seen.header("content-length") {
                        let mut body = vec![0u8; n.parse().unwrap()];
                        if conn.read_exact(&mut body).await.is_err() {
                            return;
                        }
                    }
                    log.lock().unwrap().push(seen);
                    let answer = script(&request_line);
                    let (status, pieces, cut) = match answer {
                        Answer::Json(status, body) => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if conn.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        Answer::Never => {
                            std::future::pending::<()>().await;
                            return;
                        }
                        Answer::Close => {
                            let _ = conn.shutdown().await;
                            return;
                        }
                        Answer::Stream(pieces) => (200, pieces, false),
                        Answer::Cut(pieces) => (200, pieces, true),
                    };
                    let mut out = format!(
                        "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    );
                    for piece in pieces {
                        out.push_str(&format!("{:x}\r\n{piece}\r\n", piece.len()));
                    }
                    if cut {
                        let _ = conn.write_all(out.as_bytes()).await;
                        let _ = conn.shutdown().await;
                        return;
                    }
                    out.push_str("0\r\n\r\n");
                    if conn.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    FakeEngine {
        socket,
        seen,
        _dir: dir,
    }
}

fn endpoint(socket: &Path) -> Endpoint {
    Endpoint::unix(socket)
}

async fn connect(fake: &FakeEngine) -> Engine {
    Engine::connect(endpoint(&fake.socket), &ConnectOptions::default())
        .await
        .unwrap()
}

fn tar_chunks() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::iter(
        [b"first chunk".as_slice(), b"second chunk".as_slice()].map(|c| Ok(Bytes::from_static(c))),
    )
}

/// Pitfall: bollard 0.21 drops the `/v1.xx` prefix. Every call after the version check
/// carries the negotiated version: the engine's when older than ours, else ours.
#[tokio::test]
async fn requests_carry_the_negotiated_api_version() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.41"))
        } else {
            Answer::Json(404, r#"{"message":"No such image: x:1"}"#.into())
        }
    });
    let engine = connect(&fake).await;
    assert_eq!(
        engine.api_version(),
        ApiVersion {
            major: 1,
            minor: 41
        }
    );
    assert_eq!(engine.server_version(), "99.0.0");
    assert_eq!(engine.inspect_image("x:1").await.unwrap(), None);
    // Not a reference, but still a well-formed request: the engine judges it.
    assert_eq!(engine.inspect_image("bad name\n").await.unwrap(), None);
    let seen = fake.seen.lock().unwrap().clone();
    let lines: Vec<_> = seen.iter().map(|s| s.request_line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "GET /version HTTP/1.1",
            "GET /v1.41/images/x:1/json HTTP/1.1",
            "GET /v1.41/images/bad%20name%0A/json HTTP/1.1",
        ]
    );

    let fake = fake_engine(|_| Answer::Json(200, version_json("1.99")));
    let engine = connect(&fake).await;
    assert_eq!(engine.api_version(), ApiVersion::MAX);
}

/// Short calls keep their timeout (here 1 s, on tokio's paused clock).
#[tokio::test]
async fn short_calls_time_out() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Never
        }
    });
    let options = ConnectOptions {
        timeout: std::time::Duration::from_secs(1),
    };
    let engine = Engine::connect(endpoint(&fake.socket), &options)
        .await
        .unwrap();
    tokio::time::pause();
    let err = engine.inspect_image("x:1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET /images/x:1/json: no answer from the Docker Engine at unix://{} (set by DOCKER_HOST) within 1 s",
            fake.socket.display()
        )
    );
}

#[tokio::test]
async fn an_engine_older_than_buildkit_is_a_clear_error() {
    let fake = fake_engine(|_| Answer::Json(200, version_json("1.38")));
    let err = Engine::connect(endpoint(&fake.socket), &ConnectOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("speaks API 1.38, older than 1.39"),
        "{message}"
    );
    assert!(
        message.contains(&fake.socket.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_engine_says_where_how_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nothing.sock");
    let err = Engine::connect(endpoint(&socket), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_unreachable());
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach the Docker Engine at unix://{} (set by DOCKER_HOST): there is no socket at {}; \
             check that the engine runs there, or change DOCKER_HOST",
            socket.display(),
            socket.display()
        )
    );

    // A socket file that nobody listens on.
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(listener);
    let err = Engine::connect(
        Endpoint {
            source: EndpointSource::Default,
            ..endpoint(&socket)
        },
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach the Docker Engine at unix://{} (the default, as neither DOCKER_HOST nor a docker \
             context is set): connection refused; start the Docker Engine, or set DOCKER_HOST or \
             DOCKER_CONTEXT to reach another one",
            socket.display()
        )
    );
}

/// Issue 10: `DOCKER_HOST=tcp://127.0.0.1:1` said "Error in the hyper legacy client:
/// client error (Connect)". It says the OS's reason, the endpoint and how it was chosen:
/// by `DOCKER_HOST`, or by a docker context. (Port 1 is privileged and nothing listens on
/// it here.)
#[tokio::test]
async fn an_unreachable_tcp_engine_says_connection_refused_where_and_how_it_was_chosen() {
    let env = EndpointEnv {
        docker_host: Some("tcp://127.0.0.1:1".into()),
        config_dir: Some("/nonexistent/docker-config".into()),
        ..EndpointEnv::default()
    };
    let err = Engine::connect(resolve(&env).unwrap(), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert_eq!(
        err.to_string(),
        "cannot reach the Docker Engine at tcp://127.0.0.1:1 (set by DOCKER_HOST): connection refused; \
         check that the engine runs there, or change DOCKER_HOST"
    );

    let config = tempfile::tempdir().unwrap();
    let meta = config
        .path()
        .join("contexts/meta")
        .join(context_id("refusing"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"refusing","Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1"}}}"#,
    )
    .unwrap();
    let env = EndpointEnv {
        docker_context: Some("refusing".into()),
        config_dir: Some(config.path().to_owned()),
        ..EndpointEnv::default()
    };
    let err = Engine::connect(resolve(&env).unwrap(), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot reach the Docker Engine at tcp://127.0.0.1:1 (from docker context \"refusing\", named by \
         DOCKER_CONTEXT): connection refused; check that the engine runs there, or pick another context \
         (DOCKER_CONTEXT, `docker context use`)"
    );
}

/// An engine that closes the connection instead of answering a call: the error names the
/// call, the endpoint and how it was chosen, and the transport's own reason.
#[tokio::test]
async fn a_connection_closed_mid_call_names_the_endpoint() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Close
        }
    });
    let engine = connect(&fake).await;
    let err = engine.inspect_image("x:1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET /images/x:1/json: the connection to the Docker Engine at unix://{} (set by DOCKER_HOST) \
             was lost: connection closed before message completed",
            fake.socket.display()
        )
    );
    assert!(!err.is_unreachable());
}

/// The build request: `version=2`, the options, a tar body streamed (chunked), and a
/// last message without a line ending (pitfall: bollard's "bytes remaining on stream").
#[tokio::test]
async fn build_streams_the_context_and_reads_a_last_line_without_an_ending() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Stream(vec![
                "{\"stream\":\"one\\n\"}\r\n{\"str".into(),
                "eam\":\"two\\n\"}\r\n".into(),
                r#"{"aux":{"ID":"sha256:abc"},"id":"moby.image.id"}"#.into(),
            ])
        }
    });
    let engine = connect(&fake).await;
    let options = BuildOptions {
        dockerfile: Some("sub/Dockerfile".into()),
        tags: vec!["a:1".into(), "b:2".into()],
        build_args: [("HTTP_PROXY".to_owned(), "x y".to_owned())].into(),
        target: Some("final".into()),
        platform: Some("linux/amd64".into()),
        labels: [("org.x".to_owned(), "1".to_owned())].into(),
        no_cache: true,
        extra_hosts: vec!["db:10.0.0.2".parse().unwrap(), "v6=[::1]".parse().unwrap()],
        network: "none".parse().unwrap(),
        shm_size: Some(64 << 20),
        ulimits: vec!["nofile=1024:2048".parse().unwrap()],
        cache_from: vec!["host:5000/app:cache".into()],
        raw_status: false,
        ..BuildOptions::default()
    };
    let items: Vec<_> = engine.build(&options, tar_chunks()).collect().await;
    let events: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        [
            BuildEvent::Stream {
                text: "one\n".into()
            },
            BuildEvent::Stream {
                text: "two\n".into()
            },
            BuildEvent::ImageId {
                id: "sha256:abc".into()
            },
        ]
    );
    let seen = fake.seen.lock().unwrap().clone();
    let build = &seen[1];
    assert_eq!(
        build.request_line,
        "POST /v1.45/build?version=2&dockerfile=sub%2FDockerfile&t=a%3A1&t=b%3A2\
         &buildargs=%7B%22HTTP_PROXY%22%3A%22x+y%22%7D&labels=%7B%22org.x%22%3A%221%22%7D\
         &target=final&platform=linux%2Famd64&nocache=1\
         &extrahosts=db%3A10.0.0.2&extrahosts=v6%3A%3A%3A1&networkmode=none&shmsize=67108864\
         &ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Soft%22%3A1024%2C%22Hard%22%3A2048%7D%5D\
         &cachefrom=%5B%22host%3A5000%2Fapp%3Acache%22%5D HTTP/1.1"
    );
    assert_eq!(build.header("content-type"), Some("application/x-tar"));
    assert_eq!(build.header("transfer-encoding"), Some("chunked"));
}

/// The engine going away mid-build ends the stream with an error, never a hang.
#[tokio::test]
async fn an_engine_that_goes_away_mid_build_is_an_error() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Cut(vec!["{\"stream\":\"started\\n\"}\r\n".into()])
        }
    });
    let engine = connect(&fake).await;
    let items: Vec<_> = engine
        .build(&BuildOptions::default(), tar_chunks())
        .collect()
        .await;
    assert_eq!(
        items[0].as_ref().unwrap(),
        &BuildEvent::Stream {
            text: "started\n".into()
        }
    );
    let err = items.last().unwrap().as_ref().unwrap_err();
    let prefix = format!(
        "build: the connection to the Docker Engine at unix://{} (set by DOCKER_HOST) was lost: ",
        fake.socket.display()
    );
    let message = err.to_string();
    assert!(message.starts_with(&prefix), "{message}");
    let cause = &message[prefix.len()..];
    assert!(
        cause.starts_with("it was closed mid-answer (unexpected EOF"),
        "{message}"
    );

    // A pull cut the same way fails with the same reason, as a warning.
    let events: Vec<_> = engine
        .pull(
            ImageNeed {
                image: ImageRef::parse("app:1").unwrap(),
                platform: None,
            },
            None,
        )
        .collect()
        .await;
    match events.last() {
        Some(PullEvent::ImageReady {
            outcome: PullOutcome::Failed { reason },
            ..
        }) => {
            let prefix = format!(
                "the connection to the Docker Engine at unix://{} (set by DOCKER_HOST) was lost: ",
                fake.socket.display()
            );
            assert!(reason.starts_with(&prefix), "{reason}");
            assert!(
                reason[prefix.len()..].starts_with("it was closed mid-answer (unexpected EOF"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// An authorization plugin's refusal (moby `pkg/authorization`: 403 with "authorization
/// denied by plugin <name>: <msg>", or "plugin <name> failed with error: <msg>" when the
/// plugin itself fails) says so, names the plugin and the request, and keeps the plugin's
/// message verbatim, for every call: the version check, an inspect, a pull and a build.
#[tokio::test]
async fn authorization_plugin_refusals_name_the_plugin_and_keep_its_message() {
    const DENIED: &str = r#"{"message":"authorization denied by plugin devbuild-authz:latest: no: not today (ticket ABC-1)"}"#;
    let fake = fake_engine(|_| Answer::Json(403, DENIED.into()));
    let err = Engine::connect(endpoint(&fake.socket), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "an authorization plugin (devbuild-authz:latest) refused GET /version: no: not today (ticket ABC-1)"
    );
    assert_eq!(
        err.authorization_denial(),
        Some(("devbuild-authz:latest", "no: not today (ticket ABC-1)"))
    );
    assert!(!err.is_unreachable());

    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else if line.starts_with("GET /v1.45/images/failing") {
            Answer::Json(
                500,
                r#"{"message":"plugin devbuild-authz failed with error: Post \"http://%2Frun%2Fdocker%2Fplugins%2Fauthz.sock/AuthZPlugin.AuthZReq\": EOF"}"#.into(),
            )
        } else {
            Answer::Json(403, DENIED.into())
        }
    });
    let engine = connect(&fake).await;
    let err = engine.inspect_image("app:1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "an authorization plugin (devbuild-authz:latest) refused GET /images/app:1/json: no: not today (ticket ABC-1)"
    );
    let err = engine.inspect_image("failing:1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the authorization plugin devbuild-authz failed on GET /images/failing:1/json: \
         Post \"http://%2Frun%2Fdocker%2Fplugins%2Fauthz.sock/AuthZPlugin.AuthZReq\": EOF"
    );
    assert_eq!(err.authorization_denial(), None);

    let items: Vec<_> = engine
        .build(&BuildOptions::default(), tar_chunks())
        .collect()
        .await;
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "an authorization plugin (devbuild-authz:latest) refused POST /build: no: not today (ticket ABC-1)"
    );

    let need = ImageNeed {
        image: ImageRef::parse("registry.example/app:1").unwrap(),
        platform: None,
    };
    let events: Vec<_> = engine
        .prepull(
            vec![need.clone()],
            Arc::new(DockerConfig::empty()),
            &PrepullOptions::default(),
        )
        .collect()
        .await;
    assert_eq!(
        events,
        [
        PullEvent::PullStarted {
            image: need.image.to_string(),
            platform: None,
        },
        PullEvent::ImageReady {
            image: need.image.to_string(),
            platform: None,
            outcome: PullOutcome::Failed {
                reason:
                    "an authorization plugin (devbuild-authz:latest) refused POST /images/create: \
                         no: not today (ticket ABC-1)"
                        .into()
            },
        }]
    );

    // Other refusals keep the engine's own words.
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Json(403, r#"{"message":"authorization denied"}"#.into())
        }
    });
    let engine = connect(&fake).await;
    let err = engine.inspect_image("app:1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /images/app:1/json: the engine answered 403: authorization denied"
    );
}

/// A context that fails while it is sent (a file that changed, say) is the error, not
/// a vague transport failure.
#[tokio::test]
async fn a_failing_context_is_the_error() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Stream(vec![
                r#"{"aux":{"ID":"sha256:abc"},"id":"moby.image.id"}"#.into()
            ])
        }
    });
    let engine = connect(&fake).await;
    let context = futures_util::stream::iter([
        Ok(Bytes::from_static(b"first chunk")),
        Err(std::io::Error::other(
            "src/main.rs changed size while it was read",
        )),
    ]);
    let items: Vec<_> = engine
        .build(&BuildOptions::default(), context)
        .collect()
        .await;
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "build: the build context could not be sent: src/main.rs changed size while it was read"
    );
}

/// A response that ends cleanly without an image id or an error is not a success.
#[tokio::test]
async fn a_build_answer_without_a_result_is_an_error() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else {
            Answer::Stream(vec!["{\"stream\":\"x\\n\"}\n".into()])
        }
    });
    let engine = connect(&fake).await;
    let items: Vec<_> = engine
        .build(&BuildOptions::default(), tar_chunks())
        .collect()
        .await;
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "build: the engine ended its answer without a result"
    );
}

/// Pitfall: bollard 0.21 sends `X-Registry-Auth` in standard base64. Here it is URL-safe,
/// and a pull is always by explicit tag.
/// A pull the fake registry refuses, by digest.
const DENIED: &str =
    "registry.example:5000/denied@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn pulls_send_url_safe_credentials_and_an_explicit_tag() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else if line.starts_with("GET ") {
            Answer::Json(404, r#"{"message":"No such image"}"#.into())
        } else if line.contains("fromImage=registry.example%3A5000%2Fdenied") {
            Answer::Stream(vec![
                "{\"status\":\"Pulling from denied\",\"id\":\"1\"}\r\n".into(),
                "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},\"error\":\"unauthorized: authentication required\"}\r\n".into(),
            ])
        } else {
            Answer::Stream(vec![
                "{\"status\":\"Pulling from app\",\"id\":\"latest\"}\r\n".into(),
                "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":5,\"total\":10},\"id\":\"f00\"}\r\n".into(),
                "{\"status\":\"Status: Downloaded newer image for registry.example:5000/app:latest\"}".into(),
            ])
        }
    });
    let engine = connect(&fake).await;
    let password = "a?>?~~~??";
    let config = DockerConfig::empty()
        .with_auth_config_env(&format!(
            r#"{{"auths":{{"registry.example:5000":{{"auth":"{}"}}}}}}"#,
            base64_standard(&format!("user:{password}"))
        ))
        .unwrap();
    let needs = vec![
        ImageNeed {
            image: ImageRef::parse("registry.example:5000/app").unwrap(),
            platform: Some(Platform::parse("linux/amd64").unwrap()),
        },
        ImageNeed {
            image: ImageRef::parse(DENIED).unwrap(),
            platform: None,
        },
    ];
    let events: Vec<_> = engine
        .prepull(needs, Arc::new(config), &PrepullOptions::default())
        .collect()
        .await;
    let ready: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, PullEvent::ImageReady { .. }))
        .cloned()
        .collect();
    assert_eq!(ready.len(), 2, "{events:#?}");
    // Events name images normalised: a tag where none was written.
    assert!(ready.contains(&PullEvent::ImageReady {
        image: "registry.example:5000/app:latest".into(),
        platform: Some("linux/amd64".into()),
        outcome: PullOutcome::Pulled,
    }));
    assert!(ready.contains(&PullEvent::ImageReady {
        image: DENIED.into(),
        platform: None,
        outcome: PullOutcome::Failed {
            reason: "unauthorized: authentication required".into()
        },
    }));
    assert!(events.contains(&PullEvent::PullProgress {
        image: "registry.example:5000/app:latest".into(),
        layer: Some("f00".into()),
        status: "Downloading".into(),
        current: Some(5),
        total: Some(10),
    }));

    let seen = fake.seen.lock().unwrap().clone();
    let pulls: Vec<_> = seen
        .iter()
        .filter(|s| s.request_line.starts_with("POST /v1.45/images/create?"))
        .collect();
    assert_eq!(pulls.len(), 2);
    let app = pulls
        .iter()
        .find(|s| s.request_line.contains("%2Fapp"))
        .unwrap();
    assert_eq!(
        app.request_line,
        "POST /v1.45/images/create?fromImage=registry.example%3A5000%2Fapp&tag=latest&platform=linux%2Famd64 HTTP/1.1"
    );
    let header = app.header("x-registry-auth").unwrap();
    let expected = RegistryAuth {
        server_address: "registry.example:5000".into(),
        login: Login::Password {
            username: "user".into(),
            password: Secret::new(password),
        },
        source: AuthSource::Environment {
            key: "registry.example:5000".into(),
        },
    }
    .header_value();
    assert_eq!(header, expected.expose());
    assert!(!header.contains('+') && !header.contains('/'), "{header}");
    let denied = pulls
        .iter()
        .find(|s| s.request_line.contains("denied"))
        .unwrap();
    assert!(
        denied
            .request_line
            .contains("fromImage=registry.example%3A5000%2Fdenied&tag=sha256%3A0123"),
        "{}",
        denied.request_line
    );
}

fn base64_standard(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Pitfall: bollard's `buildkit` feature forces a BuildKit session (and ~60 crates).
/// It must not be enabled anywhere in the workspace: its protocol crate is absent from
/// the lock file. (The build request itself never names a session: see the exact
/// request line in `build_streams_the_context_and_reads_a_last_line_without_an_ending`.)
#[test]
fn bollard_buildkit_feature_is_not_used() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let lock = std::fs::read_to_string(lock).unwrap();
    assert!(lock.contains("name = \"bollard\""));
    for crate_name in ["bollard-buildkit-proto", "tonic"] {
        assert!(
            !lock.contains(&format!("name = \"{crate_name}\"")),
            "{crate_name} is in Cargo.lock: is bollard's `buildkit` feature on?"
        );
    }
}

/// An image present for another platform is pulled for the one needed; one present for
/// it is not pulled; a credential helper that cannot run makes that pull fail with the
/// reason, as a warning.
#[tokio::test]
async fn prepull_checks_the_platform_and_reports_credential_failures() {
    let fake = fake_engine(|line| {
        if line.starts_with("GET /version ") {
            Answer::Json(200, version_json("1.45"))
        } else if line.starts_with("GET /v1.45/images/docker.io/library/arm:1/json ") {
            Answer::Json(
                200,
                r#"{"Id":"sha256:a","Os":"linux","Architecture":"arm64","Variant":"v8"}"#.into(),
            )
        } else if line.starts_with("GET ") {
            Answer::Json(404, r#"{"message":"No such image"}"#.into())
        } else {
            Answer::Stream(vec!["{\"status\":\"Pull complete\",\"id\":\"l1\"}\n".into()])
        }
    });
    let engine = connect(&fake).await;
    let config = DockerConfig::from_json(r#"{"credHelpers":{"helper.example":"absent"}}"#)
        .unwrap()
        .with_helper_path("/nonexistent");
    // As the analysis gives them: `FROM --platform` values are not normalised.
    let need = |image: &str, platform: &str| ImageNeed {
        image: ImageRef::parse(image).unwrap(),
        platform: Some(Platform::parse_unnormalized(platform).unwrap()),
    };
    let needs = vec![
        need("arm:1", "linux/amd64"),
        need("arm:1", "linux/arm64/v8"),
        need("helper.example/app:1", "linux/amd64"),
    ];
    let options = PrepullOptions {
        concurrency: 1,
        always_pull: false,
    };
    let events: Vec<_> = engine
        .prepull(needs, Arc::new(config), &options)
        .collect()
        .await;
    let ready: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            PullEvent::ImageReady {
                image,
                platform,
                outcome,
            } => Some((
                image.as_str(),
                platform.as_deref().unwrap(),
                outcome.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        ready,
        [
            ("docker.io/library/arm:1", "linux/amd64", PullOutcome::Pulled),
            ("docker.io/library/arm:1", "linux/arm64/v8", PullOutcome::Present),
            (
                "helper.example/app:1",
                "linux/amd64",
                PullOutcome::Failed {
                    reason: "credential helper docker-credential-absent for helper.example could not be run: \
                             No such file or directory (os error 2) (is docker-credential-absent installed and on PATH?)"
                        .into()
                }
            ),
        ]
    );
}
