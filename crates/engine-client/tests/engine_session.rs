//! Docker-backed: build secrets through the lean BuildKit session (`engine_client::session`)
//! on the private engines of `cargo xtask engine up` (Docker Engine 20.10 and 26.1).

use std::path::Path;

use bytes::Bytes;
use devbuild_tests::{engine_test, tar::tar_of, TestEngine};
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
    Engine::connect(
        Endpoint::unix(Path::new(&engine.socket)),
        &ConnectOptions::default(),
    )
    .await
    .unwrap()
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
