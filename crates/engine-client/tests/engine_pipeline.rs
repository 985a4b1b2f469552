//! Docker-backed, the whole pipeline: the images a Dockerfile needs from
//! `dockerfile_froms::analyze`, the pre-pull with credentials, and the build of a context
//! streamed by `ctx_tar::stream`, against the private engines of `cargo xtask engine up`
//! (Docker Engine 20.10 and 26.1) and its registry with authentication. Without them
//! each test prints `SKIPPED` and passes, except under CI, where it fails.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use devbuild_tests::{engine_test, http::query_value, TestEngine, TestEnv};
use dockerfile_froms::{analyze, AnalyzeOptions, Origin};
use engine_client::credentials::{AuthSource, DockerConfig};
use engine_client::endpoint::Endpoint;
use engine_client::engine::{BuildOptions, ConnectOptions, Engine, ImageNeed, PrepullOptions};
use engine_client::events::{BuildEvent, PullEvent, PullOutcome};
use engine_client::EngineError;
use engine_client::ImageRef;
use futures_util::StreamExt;

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

async fn connect_to(socket: &Path) -> Engine {
    let endpoint = Endpoint::unix(socket);
    Engine::connect(endpoint, &ConnectOptions::default())
        .await
        .unwrap()
}

async fn connect(test: &TestEngine) -> Engine {
    connect_to(&test.socket).await
}

/// The harness's docker configuration: `auths` with the registry's credentials.
fn harness_config() -> DockerConfig {
    let env = TestEnv::load().unwrap();
    DockerConfig::load(Path::new(&env.docker_config)).unwrap()
}

/// A context directory holding `Dockerfile` and `files`.
fn context_dir(dockerfile: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

/// What the build needs, as the real pipeline computes it: `dockerfile_froms::analyze`'s
/// images, each with its reference and platform.
fn needs_of(dockerfile: &str) -> Vec<ImageNeed> {
    let analysis = analyze(dockerfile, &AnalyzeOptions::default())
        .unwrap_or_else(|e| panic!("analyze: {e} (line {:?})", e.line()));
    analysis
        .images
        .iter()
        .map(|image| ImageNeed {
            image: image.reference.clone(),
            platform: Some(image.platform.clone()),
        })
        .collect()
}

/// The normalised reference the analysis gives for `image`.
fn normalised(image: &str) -> String {
    needs_of(&format!("FROM {image}\n"))
        .remove(0)
        .image
        .to_string()
}

async fn prepull(engine: &Engine, needs: Vec<ImageNeed>, config: DockerConfig) -> Vec<PullEvent> {
    engine
        .prepull(needs, Arc::new(config), &PrepullOptions::default())
        .collect()
        .await
}

/// The outcome of each image, by reference (the last `image_ready` of each).
fn outcomes(events: &[PullEvent]) -> Vec<(String, PullOutcome)> {
    let mut outcomes: Vec<(String, PullOutcome)> = events
        .iter()
        .filter_map(|e| match e {
            PullEvent::ImageReady { image, outcome, .. } => Some((image.clone(), outcome.clone())),
            _ => None,
        })
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    outcomes
}

fn outcome_of<'a>(events: &'a [PullEvent], image: &str) -> &'a PullOutcome {
    let found: Vec<&PullOutcome> = events
        .iter()
        .filter_map(|e| match e {
            PullEvent::ImageReady {
                image: i, outcome, ..
            } if i == image => Some(outcome),
            _ => None,
        })
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!("expected one image_ready for {image}: {events:#?}"),
    }
}

/// Builds the context in `dir` as the real pipeline does: streamed by `ctx_tar::stream`.
async fn build_dir(
    engine: &Engine,
    dir: &Path,
    tag: &str,
) -> (Vec<BuildEvent>, Result<(), EngineError>) {
    let stream = ctx_tar::stream(ctx_tar::ContextSpec::new(dir)).unwrap();
    let options = BuildOptions {
        dockerfile: stream.dockerfile().map(str::to_owned),
        tags: vec![tag.to_owned()],
        ..BuildOptions::default()
    };
    let mut events = Vec::new();
    let mut build = std::pin::pin!(engine.build(&options, stream));
    while let Some(item) = build.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(e) => {
                assert!(build.next().await.is_none(), "an error is the last item");
                return (events, Err(e));
            }
        }
    }
    (events, Ok(()))
}

/// Something unique to this run of this test on this engine, so that no earlier build
/// (of any test) has it in its cache.
fn unique_marker(test: &TestEngine, what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{what}-{}-{}-{nanos}", test.version, std::process::id())
}

/// The pre-pull makes a build that needs a private image through an instruction
/// other than FROM buildable: without it the build fails with "no active sessions";
/// with the needs that `dockerfile_froms::analyze` finds and the harness credentials,
/// the base is `present`, the private image `pulled`, and the same build passes.
fn private_image_needed_by(
    test: &TestEngine,
    instruction: impl Fn(&str) -> String,
    origin: Origin,
) {
    let mut guard = test.guard();
    let private = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
    let tag = guard.remove_later(&test.unique_name("engine-client-needs"));
    let dockerfile = format!("FROM {}\n{}\n", test.base_image, instruction(&private));
    let analysis = analyze(&dockerfile, &AnalyzeOptions::default()).unwrap();
    assert!(
        analysis
            .images
            .iter()
            .any(|i| i.origin == origin && i.reference.to_string() == private),
        "{analysis:#?}"
    );
    let dir = context_dir(&dockerfile, &[]);
    run(async {
        let engine = connect(test).await;

        let (events, before) = build_dir(&engine, dir.path(), &tag).await;
        let err = before
            .expect_err("the build without a pre-pull fails")
            .to_string();
        assert!(err.contains("no active sessions"), "{err}\n{events:#?}");

        let needs = needs_of(&dockerfile);
        assert_eq!(needs.len(), 2, "{needs:#?}");
        let pulled = prepull(&engine, needs, harness_config()).await;
        assert_eq!(
            outcomes(&pulled),
            [
                (private.clone(), PullOutcome::Pulled),
                (normalised(&test.base_image), PullOutcome::Present),
            ],
            "{pulled:#?}"
        );

        let (events, after) = build_dir(&engine, dir.path(), &tag).await;
        after.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, BuildEvent::ImageId { .. })),
            "{events:#?}"
        );
    });
    assert!(test.has_image(&tag));
}

/// Records every byte clients send to an engine, on a unix socket of its own that
/// forwards to the engine's.
struct RecordingProxy {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    /// Starts the proxy on the current tokio runtime.
    fn start(engine_socket: &Path) -> RecordingProxy {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("proxy.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let recorder = sent.clone();
        let target = engine_socket.to_owned();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let recorder = recorder.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let engine = tokio::net::UnixStream::connect(&target).await.unwrap();
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut engine_read, mut engine_write) = engine.into_split();
                    let upstream = async move {
                        let mut buffer = vec![0; 64 * 1024];
                        loop {
                            let n = client_read.read(&mut buffer).await.unwrap_or(0);
                            if n == 0 {
                                let _ = engine_write.shutdown().await;
                                return;
                            }
                            recorder.lock().unwrap().extend_from_slice(&buffer[..n]);
                            if engine_write.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let downstream = async move {
                        let _ = tokio::io::copy(&mut engine_read, &mut client_write).await;
                        let _ = client_write.shutdown().await;
                    };
                    tokio::join!(upstream, downstream);
                });
            }
        });
        RecordingProxy {
            _dir: dir,
            socket,
            sent,
        }
    }

    /// The request lines sent so far (`GET /v1.41/version HTTP/1.1`, …).
    fn request_lines(&self) -> Vec<String> {
        let sent = self.sent.lock().unwrap();
        String::from_utf8_lossy(&sent)
            .lines()
            .filter(|l| l.ends_with(" HTTP/1.1") || l.ends_with(" HTTP/1.0"))
            .map(str::to_owned)
            .collect()
    }
}

fn unix_seconds(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", since.as_secs(), since.subsec_nanos())
}

/// A writable copy of the harness credentials' `auths`, with the password replaced.
fn config_with_password(test: &TestEngine, password: &str) -> DockerConfig {
    let auth = devbuild_tests::base64_standard(
        format!("{}:{password}", test.registry.username).as_bytes(),
    );
    let json = serde_json::json!({ "auths": { test.registry.address.clone(): { "auth": auth } } });
    DockerConfig::from_json(&json.to_string()).unwrap()
}

/// A credential helper `docker-credential-devbuild-test` in a directory of its own (to
/// put on a private `PATH`) that answers the harness credentials for the registry and
/// "not found" for anything else; it records the server it was asked for in
/// `last-input`. The answer is a file written here, so no shell quoting touches the
/// password.
fn credential_helper(test: &TestEngine) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let answer = serde_json::json!({
        "ServerURL": test.registry.address,
        "Username": test.registry.username,
        "Secret": test.registry.password,
    });
    std::fs::write(dir.path().join("answer.json"), answer.to_string()).unwrap();
    std::fs::write(dir.path().join("server"), &test.registry.address).unwrap();
    let script = r#"#!/bin/sh
dir=$(dirname "$0")
[ "$1" = get ] || { echo "unexpected action $1"; exit 1; }
cat > "$dir/last-input"
if [ "$(cat "$dir/last-input")" = "$(cat "$dir/server")" ]; then
    cat "$dir/answer.json"
else
    echo "credentials not found in native keychain"; exit 1
fi
"#;
    let path = dir.path().join("docker-credential-devbuild-test");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Pre-pulls a private copy with `config`, whose credentials for the registry come from
/// `source` and encode to exactly the header the engine decodes (URL-safe base64; the
/// harness password makes it differ from standard base64), then builds on it.
fn private_image_pulls_with(test: &TestEngine, config: DockerConfig, source: AuthSource) {
    let auth = config
        .credentials_for(&test.registry.address)
        .unwrap()
        .expect("credentials for the registry");
    assert_eq!(auth.source, source);
    assert_eq!(
        auth.header_value().expose(),
        test.registry.x_registry_auth()
    );
    assert_ne!(
        test.registry.x_registry_auth(),
        test.registry.x_registry_auth_standard(),
        "the harness password must make the two encodings differ"
    );

    let mut guard = test.guard();
    let private = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
    let tag = guard.remove_later(&test.unique_name("engine-client-creds"));
    let dockerfile = format!("FROM {private}\nRUN echo built\n");
    let dir = context_dir(&dockerfile, &[]);
    run(async {
        let engine = connect(test).await;
        let pulled = prepull(&engine, needs_of(&dockerfile), config).await;
        assert_eq!(
            outcomes(&pulled),
            [(private.clone(), PullOutcome::Pulled)],
            "{pulled:#?}"
        );
        let (events, result) = build_dir(&engine, dir.path(), &tag).await;
        result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));
    });
    assert!(test.has_image(&private));
    assert!(test.has_image(&tag));
}

/// The four steps of [`build_events_show_each_step_and_then_the_cache`], by the names
/// BuildKit gives them: `[n/4] …`.
fn step_names(events: &[BuildEvent]) -> Vec<(String, String)> {
    let mut steps: Vec<(String, String)> = Vec::new();
    for event in events {
        if let BuildEvent::VertexStarted { digest, name, .. }
        | BuildEvent::VertexCached { digest, name, .. } = event
        {
            // BuildKit shares the base image's step with a concurrent build from the same
            // image, under that build's name (`[1/2] FROM <its name for the image>`): it is
            // this build's first, and it may come besides this build's own.
            let name = match name.split_once("] FROM ") {
                Some(_) => "[1/4] FROM".to_owned(),
                None => name.clone(),
            };
            if name.contains("/4] ") && !steps.iter().any(|(s, n)| s == digest || *n == name) {
                steps.push((digest.clone(), name));
            }
        }
    }
    steps.sort_by(|a, b| a.1.cmp(&b.1));
    steps
}

/// What became of one step in a build's events.
#[derive(Debug, PartialEq, Eq)]
struct Fate {
    started: bool,
    cached: bool,
    completed: bool,
    failed: bool,
}

impl Fate {
    /// Started and completed, not from the cache.
    const RAN: Fate = Fate {
        started: true,
        cached: false,
        completed: true,
        failed: false,
    };
    /// From the cache, never started.
    const CACHED: Fate = Fate {
        started: false,
        cached: true,
        completed: false,
        failed: false,
    };

    fn of(events: &[BuildEvent], step: &str) -> Fate {
        let mut fate = Fate {
            started: false,
            cached: false,
            completed: false,
            failed: false,
        };
        for event in events {
            match event {
                BuildEvent::VertexStarted { digest, .. } if digest == step => fate.started = true,
                BuildEvent::VertexCached { digest, .. } if digest == step => fate.cached = true,
                BuildEvent::VertexCompleted { digest, .. } if digest == step => {
                    fate.completed = true
                }
                BuildEvent::VertexFailed { digest, .. } if digest == step => fate.failed = true,
                _ => {}
            }
        }
        fate
    }

    /// Run to completion or taken from the cache, and not failed.
    fn ended_well(&self) -> bool {
        (self.cached || (self.started && self.completed)) && !self.failed
    }
}

engine_test! {
    /// `COPY --from=<private image>`: fails without a pre-pull ("no active sessions"),
    /// passes after the pre-pull of what the analysis finds.
    fn copy_from_a_private_image_needs_the_prepull(test) {
        private_image_needed_by(
            test,
            |private| format!("COPY --from={private} /bin/busybox /copied-busybox"),
            Origin::CopyFrom,
        );
    }

    /// `RUN --mount=type=bind,from=<private image>`: likewise.
    fn run_mount_from_a_private_image_needs_the_prepull(test) {
        private_image_needed_by(
            test,
            |private| format!("RUN --mount=type=bind,from={private},target=/x test -x /x/bin/busybox"),
            Origin::MountFrom,
        );
    }

    /// A base image only in the engine's store is inspected, reported `present`, and
    /// never pulled: no `POST /images/create` leaves the client (recorded by a proxy
    /// on the way to the engine), and the engine logs no pull of it. The build passes.
    fn a_local_base_is_never_pulled(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("engine-client-local"));
        let marker = unique_marker(test, "local");
        let dockerfile = format!("FROM {}\nRUN echo {marker}\n", test.base_image);
        let dir = context_dir(&dockerfile, &[]);
        let start = SystemTime::now();
        run(async {
            let proxy = RecordingProxy::start(&test.socket);
            let engine = connect_to(&proxy.socket).await;
            let needs = needs_of(&dockerfile);
            let base = normalised(&test.base_image);
            assert_eq!(needs, [ImageNeed { image: ImageRef::parse(&base).unwrap(), platform: Some(dockerfile_froms::Platform::host()) }]);
            // Always-pull off, whatever the credentials: a present image needs none.
            let pulled = prepull(&engine, needs, harness_config()).await;
            assert_eq!(
                pulled,
                [PullEvent::ImageReady {
                    image: base.clone(),
                    platform: Some(dockerfile_froms::Platform::host().to_string()),
                    outcome: PullOutcome::Present,
                }]
            );
            let (events, result) = build_dir(&engine, dir.path(), &tag).await;
            result.unwrap_or_else(|e| panic!("{e}\n{events:#?}"));

            let requests = proxy.request_lines();
            assert!(
                requests.iter().any(|r| r.starts_with("GET ") && r.contains(&format!("/images/{base}/json"))),
                "{requests:#?}"
            );
            assert!(requests.iter().any(|r| r.starts_with("POST ") && r.contains("/build?")), "{requests:#?}");
            assert!(!requests.iter().any(|r| r.contains("/images/create")), "{requests:#?}");
        });
        let end = SystemTime::now();
        let filters = r#"{"type":["image"],"event":["pull"]}"#;
        let response = test.get(&format!(
            "/events?since={}&until={}&filters={}",
            start.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            unix_seconds(end),
            query_value(filters)
        ));
        assert_eq!(response.status, 200, "{}", response.text());
        let base_name = test.base_image.split(':').next().unwrap();
        let pulls: Vec<_> = response
            .json_lines()
            .into_iter()
            .filter(|e| e.to_string().contains(base_name))
            .collect();
        assert!(pulls.is_empty(), "{pulls:#?}");
        assert!(test.has_image(&tag));
    }

    /// An image the registry does not have: the pre-pull reports it `failed` with the
    /// registry's reason (a warning, not an error), and the build fails with an error
    /// that names the image.
    fn a_missing_image_is_a_failed_pull_and_a_build_error_naming_it(test) {
        let marker = unique_marker(test, "missing");
        let missing = format!("{}/devbuild-test/does-not-exist-{marker}:1", test.registry.address);
        let tag = test.unique_name("engine-client-missing");
        let dockerfile = format!("FROM {missing}\nRUN echo never\n");
        let dir = context_dir(&dockerfile, &[]);
        run(async {
            let engine = connect(test).await;
            let pulled = prepull(&engine, needs_of(&dockerfile), harness_config()).await;
            match outcome_of(&pulled, &missing) {
                PullOutcome::Failed { reason } => {
                    assert!(
                        reason.contains("not found") || reason.contains("manifest unknown"),
                        "{reason}"
                    );
                }
                other => panic!("{other:?}: {pulled:#?}"),
            }
            let (events, result) = build_dir(&engine, dir.path(), &tag).await;
            let err = result.expect_err("the build fails").to_string();
            assert!(err.contains(&missing), "{err}\n{events:#?}");
        });
        assert!(!test.has_image(&missing));
        assert!(!test.has_image(&tag));
    }

    /// A wrong password: the pull `failed` with the registry's refusal (and never the
    /// password), and the build fails with an error that names the image.
    fn wrong_credentials_fail_the_pull_and_the_build(test) {
        let mut guard = test.guard();
        let private = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
        let tag = guard.remove_later(&test.unique_name("engine-client-wrong"));
        let wrong_password = format!("not-{}-the-password", std::process::id());
        let config = config_with_password(test, &wrong_password);
        let dockerfile = format!("FROM {private}\nRUN echo never\n");
        let dir = context_dir(&dockerfile, &[]);
        run(async {
            let engine = connect(test).await;
            let pulled = prepull(&engine, needs_of(&dockerfile), config).await;
            match outcome_of(&pulled, &private) {
                PullOutcome::Failed { reason } => {
                    let lower = reason.to_lowercase();
                    assert!(lower.contains("unauthorized") || lower.contains("authentication required"), "{reason}");
                    assert!(!reason.contains(&wrong_password), "{reason}");
                }
                other => panic!("{other:?}: {pulled:#?}"),
            }
            let (events, result) = build_dir(&engine, dir.path(), &tag).await;
            let err = result.expect_err("the build fails").to_string();
            assert!(err.contains(&private), "{err}\n{events:#?}");
            assert!(err.contains("no active sessions"), "{err}");
        });
        assert!(!test.has_image(&private));
        assert!(!test.has_image(&tag));
    }

    /// A four-step build (FROM, COPY, RUN writing stdout, RUN): each step starts and
    /// completes on the first run, its RUN's output is a log line of its step; the
    /// second run of the same context under the same tag has each step cached, runs
    /// nothing, and makes the same image.
    fn build_events_show_each_step_and_then_the_cache(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("engine-client-steps"));
        let marker = unique_marker(test, "steps");
        let base = guard.own_base();
        let dockerfile = format!(
            "FROM {base}\nCOPY unique.txt /unique.txt\nRUN echo {marker}-stdout && cat /unique.txt\nRUN cp /unique.txt /second.txt\n",
        );
        let dir = context_dir(&dockerfile, &[("unique.txt", format!("{marker}-file\n").as_bytes())]);
        run(async {
            let engine = connect(test).await;

            let (first, result) = build_dir(&engine, dir.path(), &tag).await;
            result.unwrap_or_else(|e| panic!("{e}\n{first:#?}"));
            let steps = step_names(&first);
            let prefixes = ["[1/4] FROM", "[2/4] COPY", "[3/4] RUN", "[4/4] RUN"];
            assert_eq!(steps.len(), 4, "{first:#?}");
            for ((step, name), prefix) in steps.iter().zip(prefixes) {
                assert!(name.starts_with(prefix), "{name} is not {prefix}…");
                let fate = Fate::of(&first, step);
                if prefix.ends_with("FROM") {
                    assert!(fate.ended_well(), "{name}: {first:#?}");
                } else {
                    assert_eq!(fate, Fate::RAN, "{name}: {first:#?}");
                }
            }
            let run_step = steps[2].0.clone();
            for line in [format!("{marker}-stdout"), format!("{marker}-file")] {
                let wanted = BuildEvent::VertexLog { vertex: run_step.clone(), stream: engine_client::events::LogStream::Stdout, line };
                assert!(first.contains(&wanted), "{wanted:?} in {first:#?}");
            }
            let first_id = first.iter().find_map(|e| match e {
                BuildEvent::ImageId { id } => Some(id.clone()),
                _ => None,
            });
            assert!(first_id.is_some(), "{first:#?}");

            let (second, result) = build_dir(&engine, dir.path(), &tag).await;
            result.unwrap_or_else(|e| panic!("{e}\n{second:#?}"));
            let steps = step_names(&second);
            assert_eq!(steps.len(), 4, "{second:#?}");
            for ((step, name), prefix) in steps.iter().zip(prefixes) {
                assert!(name.starts_with(prefix), "{name} is not {prefix}…");
                let fate = Fate::of(&second, step);
                if prefix.ends_with("FROM") {
                    // Both engines report the FROM of a local image as run again (0 s),
                    // as `docker build --progress=plain` shows it: `#4 DONE 0.0s`.
                    assert!(fate.ended_well(), "{name}: {second:#?}");
                } else {
                    assert_eq!(fate, Fate::CACHED, "{name}: {second:#?}");
                }
            }
            assert!(!second.iter().any(|e| matches!(e, BuildEvent::VertexLog { line, .. } if line.contains(&marker))), "{second:#?}");
            let second_id = second.iter().find_map(|e| match e {
                BuildEvent::ImageId { id } => Some(id.clone()),
                _ => None,
            });
            assert_eq!(first_id, second_id);
        });
        assert!(test.has_image(&tag));
    }

    /// Credentials from a credential helper (`credHelpers` → a program on a private
    /// `PATH`): asked for the registry's address, they pull the private image from the
    /// real registry, with the URL-safe header.
    fn credentials_from_a_helper_pull_the_private_image(test) {
        let helper = credential_helper(test);
        let config_dir = tempfile::tempdir().unwrap();
        let json = serde_json::json!({ "credHelpers": { test.registry.address.clone(): "devbuild-test" } });
        std::fs::write(config_dir.path().join("config.json"), json.to_string()).unwrap();
        let config = DockerConfig::load(config_dir.path())
            .unwrap()
            .with_helper_path(format!("{}:/usr/bin:/bin", helper.path().display()));
        private_image_pulls_with(
            test,
            config,
            AuthSource::Helper { program: "docker-credential-devbuild-test".into() },
        );
        let asked = std::fs::read_to_string(helper.path().join("last-input")).unwrap();
        assert_eq!(asked, test.registry.address);
    }

    /// Credentials from `auths` in `config.json` (the harness's): likewise.
    fn credentials_from_auths_pull_the_private_image(test) {
        private_image_pulls_with(
            test,
            harness_config(),
            AuthSource::ConfigFile { key: test.registry.address.clone() },
        );
    }
}
