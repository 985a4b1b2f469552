//! Docker-backed: the client against the private engines of `cargo xtask engine up`
//! (Docker Engine 20.10 and 26.1) and its registry with authentication. Without them
//! each test prints `SKIPPED` and passes, except under CI, where it fails.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use devbuild_tests::process::{process_with, ProcessExit};
use devbuild_tests::{engine_test, tar::tar_of, TestEngine, TestEnv, UnixProxy};
use engine_client::credentials::DockerConfig;
use engine_client::endpoint::Endpoint;
use engine_client::engine::{BuildOptions, ConnectOptions, Engine, ImageNeed, PrepullOptions};
use engine_client::events::{BuildEvent, LogStream, PullEvent, PullOutcome};
use engine_client::ImageRef;
use futures_util::{Stream, StreamExt};

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
    let endpoint = Endpoint::unix(socket);
    Engine::connect(endpoint, &ConnectOptions::default())
        .await
        .unwrap()
}

/// The context as a stream of small chunks, as a streaming archiver would send it.
fn context(files: &[(&str, &[u8])]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let tar = tar_of(files);
    let chunks: Vec<_> = tar
        .chunks(1000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(chunks)
}

fn dockerfile(text: String) -> Vec<u8> {
    text.into_bytes()
}

fn docker_config() -> DockerConfig {
    let env = TestEnv::load().unwrap();
    DockerConfig::load(Path::new(&env.docker_config)).unwrap()
}

fn tagged(tag: &str) -> BuildOptions {
    BuildOptions {
        tags: vec![tag.to_owned()],
        ..BuildOptions::default()
    }
}

engine_test! {
    /// The version is negotiated down to the engine's.
    fn connects_and_negotiates(test) {
        run(async {
            let engine = connect(test).await;
            assert_eq!(engine.api_version().to_string(), test.api_version);
            assert!(engine.server_version().starts_with(&test.engine_version));
        });
    }

    /// A BuildKit build without a session: steps, their logs on both streams, the image.
    fn builds_with_typed_progress(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("engine-client-build"));
        run(async {
            let engine = connect(test).await;
            let file = dockerfile(format!(
                "FROM {}\nRUN echo hello && echo to-stderr >&2\nCOPY a.txt /a.txt\n",
                test.base_image
            ));
            let items: Vec<_> = engine
                .build(
                    &BuildOptions { no_cache: true, ..tagged(&tag) },
                    context(&[("Dockerfile", &file), ("a.txt", b"a\n")]),
                )
                .collect()
                .await;
            let events: Vec<BuildEvent> = items
                .into_iter()
                .map(|i| i.unwrap_or_else(|e| panic!("{e}")))
                .collect();
            let run_step = events
                .iter()
                .find_map(|e| match e {
                    BuildEvent::VertexStarted { digest, name, .. } if name.contains("RUN echo hello") => Some(digest.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{events:#?}"));
            for (stream, line) in [(LogStream::Stdout, "hello"), (LogStream::Stderr, "to-stderr")] {
                let wanted = BuildEvent::VertexLog { vertex: run_step.clone(), stream, line: line.into() };
                assert!(events.contains(&wanted), "{wanted:?} in {events:#?}");
            }
            // 20.10 says "Successfully tagged" after the id.
            assert!(events.iter().any(|e| matches!(e, BuildEvent::ImageId { .. })), "{events:#?}");
        });
        assert!(test.has_image(&tag));
    }

    /// A failed build is an error naming the step, with BuildKit's message and the
    /// step's last log lines.
    fn a_failed_build_names_the_step(test) {
        run(async {
            let engine = connect(test).await;
            let file = dockerfile(format!(
                "FROM {}\nRUN for i in 1 2 3; do echo line $i; done; exit 3\n",
                test.base_image
            ));
            let items: Vec<_> = engine
                .build(&BuildOptions::default(), context(&[("Dockerfile", &file)]))
                .collect()
                .await;
            let err = items.last().unwrap().as_ref().unwrap_err();
            let failure = err.build_failure().unwrap_or_else(|| panic!("{err}"));
            let step = failure.step.as_ref().unwrap_or_else(|| panic!("{err}"));
            assert!(step.name.contains("RUN for i in 1 2 3"), "{err}");
            assert!(step.error.contains("exit code: 3"), "{err}");
            // The log came as events, and is not repeated in the error.
            let logs: Vec<&str> = items
                .iter()
                .filter_map(|item| match item {
                    Ok(engine_client::events::BuildEvent::VertexLog { vertex, line, .. }) if *vertex == step.digest => Some(line.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(logs, ["line 1", "line 2", "line 3"], "{err}");
            let shown = err.to_string();
            assert!(shown.starts_with("build failed at step [2/2] RUN"), "{shown}");
            assert!(!shown.contains("line 3"), "{shown}");
            assert_eq!(shown.matches("exit code: 3").count(), 1, "{shown}");
        });
    }

    /// A FROM image on a registry that needs credentials fails without a session; after
    /// a pre-pull with the credentials of the harness's `config.json` (a password whose
    /// standard base64 holds `+` and `/`), the same build passes.
    fn prepull_makes_a_private_base_buildable(test) {
        let mut guard = test.guard();
        let private = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
        let tag = guard.remove_later(&test.unique_name("engine-client-private"));
        run(async {
            let engine = connect(test).await;
            let file = dockerfile(format!("FROM {private}\nRUN echo built\n"));

            let before: Vec<_> = engine
                .build(&tagged(&tag), context(&[("Dockerfile", &file)]))
                .collect()
                .await;
            let err = before.last().unwrap().as_ref().unwrap_err().to_string();
            assert!(err.contains("no active sessions"), "{err}");

            let needs = vec![ImageNeed { image: ImageRef::parse(&private).unwrap(), platform: None }];
            let config = Arc::new(docker_config());
            let events: Vec<_> = engine
                .prepull(needs.clone(), config.clone(), &PrepullOptions::default())
                .collect()
                .await;
            assert_eq!(
                events.last(),
                Some(&PullEvent::ImageReady { image: private.clone(), platform: None, outcome: PullOutcome::Pulled }),
                "{events:#?}"
            );
            assert!(events.iter().any(|e| matches!(e, PullEvent::PullProgress { .. })));

            // Now present: not pulled again.
            let again: Vec<_> = engine
                .prepull(needs, config, &PrepullOptions::default())
                .collect()
                .await;
            assert_eq!(
                again,
                [PullEvent::ImageReady { image: private.clone(), platform: None, outcome: PullOutcome::Present }]
            );

            let after: Vec<_> = engine
                .build(&tagged(&tag), context(&[("Dockerfile", &file)]))
                .collect()
                .await;
            if let Some(Err(e)) = after.last() {
                panic!("{e}");
            }
        });
        assert!(test.has_image(&tag));
    }

    /// Without credentials the pull fails, as a warning with the registry's reason.
    fn a_pull_without_credentials_fails_with_the_reason(test) {
        let mut guard = test.guard();
        let private = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
        run(async {
            let engine = connect(test).await;
            let needs = vec![ImageNeed { image: ImageRef::parse(&private).unwrap(), platform: None }];
            let events: Vec<_> = engine
                .prepull(needs, Arc::new(DockerConfig::empty()), &PrepullOptions::default())
                .collect()
                .await;
            match events.last() {
                Some(PullEvent::ImageReady { outcome: PullOutcome::Failed { reason }, .. }) => {
                    assert!(reason.contains("no basic auth credentials") || reason.contains("unauthorized"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        });
        assert!(!test.has_image(&private));
    }

    /// Dropping the build stream closes the connection, and the engine stops the build:
    /// the `RUN` process (found by a marker in its command line) exits although it
    /// would sleep for a day.
    fn dropping_the_build_stops_it(test) {
        let marker = format!("engine-client-cancel-{}-{}", std::process::id(), test.version);
        let tag = test.unique_name("engine-client-cancel");
        run(async {
            let engine = connect(test).await;
            let file = dockerfile(format!(
                "FROM {}\nRUN echo {marker} && sleep 86400 && echo not-reached\n",
                test.base_image
            ));
            let mut build = Box::pin(engine.build(&tagged(&tag), context(&[("Dockerfile", &file)])));
            loop {
                match build.next().await {
                    Some(Ok(BuildEvent::VertexLog { line, .. })) if line == marker => break,
                    Some(Ok(_)) => {}
                    other => panic!("the build ended before its RUN printed: {other:?}"),
                }
            }
            let pid = process_with(&marker).expect("the RUN process runs");
            let exited = ProcessExit::watch(pid);
            drop(build);
            assert!(exited.wait(Duration::from_secs(60)), "the RUN process still runs");
        });
        assert!(!test.has_image(&tag));
    }

    /// The engine going away mid-build (a proxy in front of the real engine, cut once the
    /// build's `RUN` has printed) ends the build at once with an error that names the
    /// endpoint, how it was chosen, and the connection's own cause.
    fn an_engine_lost_mid_build_names_the_endpoint(test) {
        let marker = format!("engine-client-lost-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        let proxy = UnixProxy::start(&test.socket, &dir.path().join("engine.sock")).unwrap();
        run(async {
            let engine = connect_to(proxy.socket()).await;
            let file = dockerfile(format!(
                "FROM {}\nRUN echo {marker} && sleep 30 && echo not-reached\n",
                test.base_image
            ));
            let mut build = Box::pin(engine.build(&BuildOptions::default(), context(&[("Dockerfile", &file)])));
            loop {
                match build.next().await {
                    Some(Ok(BuildEvent::VertexLog { line, .. })) if line == marker => break,
                    Some(Ok(_)) => {}
                    other => panic!("the build ended before its RUN printed: {other:?}"),
                }
            }
            let cut = std::time::Instant::now();
            proxy.cut();
            let rest = tokio::time::timeout(Duration::from_secs(60), build.collect::<Vec<_>>())
                .await
                .expect("the build stream still runs 60 s after the engine went away");
            assert!(cut.elapsed() < Duration::from_secs(10), "the error took {:?}", cut.elapsed());
            let err = match rest.last() {
                Some(Err(e)) => e.to_string(),
                other => panic!("the build did not end with an error: {other:?}"),
            };
            let prefix = format!(
                "build: the connection to the Docker Engine at {} (set by DOCKER_HOST) was lost: ",
                proxy.host()
            );
            assert!(err.starts_with(&prefix), "{err}");
            // The transport's own cause: the proxy closed the connection mid-answer.
            let cause = &err[prefix.len()..];
            assert!(cause.starts_with("it was closed mid-answer (unexpected EOF"), "{err}");
        });
    }
}
