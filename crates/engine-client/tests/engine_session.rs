//! Docker-backed: build secrets through the lean BuildKit session (`engine_client::session`)
//! on the private engines of `cargo xtask engine up` (Docker Engine 20.10 and 26.1), and the
//! session's lifecycle seen through a [`UnixProxy`]: dropping the build closes it, an engine
//! that drops it ends the build with an error, and either way the `RUN` stops.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use devbuild_tests::process::{process_with, ProcessExit};
use devbuild_tests::{engine_test, tar::tar_of, TestEngine, UnixProxy};
use engine_client::endpoint::Endpoint;
use engine_client::engine::{BuildOptions, ConnectOptions, Engine, EngineError};
use engine_client::events::BuildEvent;
use engine_client::BuildSecrets;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

async fn connect(engine: &TestEngine) -> Engine {
    connect_to(&engine.socket).await
}

async fn connect_to(socket: &Path) -> Engine {
    Engine::connect(Endpoint::unix(socket), &ConnectOptions::default())
        .await
        .unwrap()
}

/// How long the engine may take to notice a closed connection and stop a `RUN`: a bound
/// for a failing test, never a wait a passing one sits through.
const LIMIT: Duration = Duration::from_secs(60);

/// A build through `proxy` of a `RUN` that reads a secret, prints `marker` and sleeps for a
/// day, polled until the `RUN` has printed: the stream (with its session open) and a watch
/// on the `RUN`'s process on the engine.
async fn build_until_run_sleeps(
    engine: &Engine,
    test: &TestEngine,
    marker: &str,
) -> (
    impl Stream<Item = Result<BuildEvent, EngineError>> + Unpin,
    ProcessExit,
) {
    let options = BuildOptions {
        no_cache: true,
        secrets: secrets(&[("x", b"value")]),
        ..BuildOptions::default()
    };
    // busybox sh execs the last command of `-c`; `echo not-reached` keeps the shell (whose
    // command line has the marker) as the process that sleeps' parent.
    let dockerfile = format!(
        "FROM {}\nRUN --mount=type=secret,id=x cat /run/secrets/x >/dev/null && echo {marker} \
         && sleep 86400 && echo not-reached\n",
        test.base_image
    );
    let mut stream = engine.build(&options, context(&dockerfile));
    let mut seen = Vec::new();
    loop {
        match stream.next().await {
            Some(Ok(BuildEvent::VertexLog { line, .. })) if line.contains(marker) => break,
            Some(Ok(event)) => seen.push(event),
            other => panic!("the build ended before its RUN printed: {other:?}\n{seen:#?}"),
        }
    }
    let pid = process_with(marker).expect("the RUN process runs");
    (stream, ProcessExit::watch(pid))
}

fn context(dockerfile: &str) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let tar = tar_of(&[("Dockerfile", dockerfile.as_bytes())]);
    futures_util::stream::iter([Ok(Bytes::from(tar))])
}

fn secrets(pairs: &[(&str, &[u8])]) -> BuildSecrets {
    let mut secrets = BuildSecrets::new();
    for (id, value) in pairs {
        secrets.insert(*id, value.to_vec());
    }
    secrets
}

async fn build(
    engine: &Engine,
    options: &BuildOptions,
    dockerfile: &str,
) -> (Vec<BuildEvent>, Option<EngineError>) {
    let items: Vec<_> = engine.build(options, context(dockerfile)).collect().await;
    let mut events = Vec::new();
    let mut error = None;
    for item in items {
        match item {
            Ok(event) => events.push(event),
            Err(e) => error = Some(e),
        }
    }
    (events, error)
}

fn logs(events: &[BuildEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::VertexLog { line, .. } => Some(format!("{line}\n")),
            _ => None,
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

engine_test! {
    /// A `RUN --mount=type=secret` reads the value served by the session: its hash shows
    /// in the step's log (never the value itself).
    fn session_serves_a_secret_to_run(test) {
        let value = format!("the-secret-{}", test.unique_name("v"));
        let hash = hex(&Sha256::digest(value.as_bytes()));
        run(async {
            let engine = connect(test).await;
            let options = BuildOptions {
                no_cache: true,
                secrets: secrets(&[("x", value.as_bytes())]),
                ..BuildOptions::default()
            };
            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=secret,id=x sha256sum /run/secrets/x\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            assert!(error.is_none(), "{error:?}\n{events:#?}");
            let logs = logs(&events);
            assert!(logs.contains(&hash), "{hash} in {logs}");
            let all = format!("{events:?}");
            assert!(!all.contains(&value), "the value shows in {all}");
        });
    }

    /// A secret the build asks for and the session does not have fails the build, naming
    /// its id; a `required=false` mount of it builds.
    fn session_missing_secret_fails_naming_it(test) {
        run(async {
            let engine = connect(test).await;
            let options = BuildOptions {
                no_cache: true,
                secrets: secrets(&[("present", b"v")]),
                ..BuildOptions::default()
            };
            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=secret,id=absent,required=true cat /run/secrets/absent\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            let error = error.unwrap_or_else(|| panic!("built: {events:#?}")).to_string();
            assert!(error.contains("absent"), "{error}");

            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=secret,id=absent,required=false test ! -e /run/secrets/absent\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            assert!(error.is_none(), "{error:?}\n{events:#?}");
        });
    }
}

engine_test! {
    /// Dropping the build's stream mid-`RUN` (how a library caller cancels) closes the
    /// session's connection, not only the build's, and the `RUN` stops on the engine.
    fn dropping_the_build_closes_its_session_and_stops_the_run(test) {
        let marker = format!("devbuild-session-drop-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        let proxy = UnixProxy::start(&test.socket, &dir.path().join("engine.sock")).unwrap();
        run(async {
            let engine = connect_to(proxy.socket()).await;
            let (stream, exited) = build_until_run_sleeps(&engine, test, &marker).await;
            assert!(proxy.wait_session(Duration::ZERO), "no session connection is open");
            drop(stream);
            // The runtime goes on (and so would a leaked session task) while this waits.
            tokio::task::block_in_place(|| {
                assert!(proxy.wait_sessions_closed(LIMIT), "the session stays open");
                assert!(exited.wait(LIMIT), "the RUN process still runs");
            });
        });
    }

    /// The engine's end of the session goes away mid-`RUN` (the proxy cuts that connection
    /// only): the build ends with the lost-session error naming the engine, not a hang,
    /// and the `RUN` stops on the engine.
    fn a_session_the_engine_drops_ends_the_build_and_stops_the_run(test) {
        let marker = format!("devbuild-session-cut-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        let proxy = UnixProxy::start(&test.socket, &dir.path().join("engine.sock")).unwrap();
        run(async {
            let engine = connect_to(proxy.socket()).await;
            let (mut stream, exited) = build_until_run_sleeps(&engine, test, &marker).await;
            assert_eq!(proxy.cut_sessions(), 1);
            let rest = tokio::time::timeout(LIMIT, async {
                let mut rest = Vec::new();
                while let Some(item) = stream.next().await {
                    rest.push(item);
                }
                rest
            })
            .await
            .expect("the build ends once its session is gone");
            let error = match rest.last() {
                Some(Err(e)) => e.to_string(),
                other => panic!("the build did not fail: {other:?}"),
            };
            assert!(error.contains("closed the build's BuildKit session"), "{error}");
            assert!(error.contains(&proxy.host()), "{error}");
            tokio::task::block_in_place(|| {
                assert!(exited.wait(LIMIT), "the RUN process still runs");
            });
        });
    }
}
