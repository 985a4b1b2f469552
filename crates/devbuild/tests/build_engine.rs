//! Docker-backed: `devbuild build` and [`devbuild::build()`] against the private engines of
//! `cargo xtask engine up` (Docker Engine 20.10 and 26.1). Without them each engine test
//! prints `SKIPPED` and passes, except under CI, where it fails. The tests of bad input and
//! of an unreachable engine need no engine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use devbuild::engine_client::endpoint::Endpoint;
use devbuild::engine_client::engine::{ConnectOptions, Engine};
use devbuild::Event;
use devbuild::{build, BuildError, BuildSpec};
use devbuild_tests::{engine_test, TestEngine, TestEnv};

fn hello() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello")
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

async fn connect(engine: &TestEngine) -> Engine {
    let endpoint = Endpoint::unix(&engine.socket);
    Engine::connect(endpoint, &ConnectOptions::default())
        .await
        .unwrap()
}

/// `devbuild` with the environment pointing at `engine` (or at no engine).
fn devbuild(engine: Option<&TestEngine>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devbuild"));
    command.args(args).env_remove("DOCKER_CONTEXT");
    match engine {
        Some(engine) => {
            let env = TestEnv::load().unwrap();
            command
                .env("DOCKER_HOST", format!("unix://{}", engine.socket.display()))
                .env("DOCKER_CONFIG", &env.docker_config);
        }
        None => {
            let config = tempfile::tempdir().unwrap();
            command
                .env("DOCKER_HOST", "unix:///nonexistent.sock")
                .env("DOCKER_CONFIG", config.path());
            return command.output().unwrap();
        }
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn hello_spec(base: &str, tag: &str) -> BuildSpec {
    let mut spec = BuildSpec::new(hello());
    spec.tags.push(tag.to_owned());
    spec.build_args.insert("BASE".into(), base.to_owned());
    spec
}

engine_test! {
    /// The library builds examples/hello, reporting every stage; the rebuild is all cached.
    fn library_builds_hello_and_rebuilds_from_cache(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("devbuild-hello"));
        let base = guard.own_base();
        std::env::set_var("DOCKER_CONFIG", &TestEnv::load().unwrap().docker_config);
        run(async {
            let engine = connect(test).await;
            let spec = hello_spec(&base, &tag);
            let mut events = Vec::new();
            let outcome = build(&engine, &spec, |event| events.push(event.clone()))
                .await
                .unwrap();
            let id = outcome.image_id.clone().expect("an image id");
            assert!(id.starts_with("sha256:"), "{id}");
            assert!(matches!(events.first(), Some(Event::Analyzed { images }) if images.len() == 1));
            assert!(events.iter().any(|e| matches!(e, Event::UploadProgress { done: true, entries, .. } if *entries >= 2)));
            assert!(matches!(events.last(), Some(Event::Finished { image_id: Some(i), .. }) if *i == id));
            assert_eq!(outcome.images.len(), 1);
            assert!(outcome.steps.iter().any(|s| s.name.contains("RUN tr")));
            assert!(test.has_image(&tag));
            assert!(outcome.context.as_ref().is_some_and(|c| c.entries >= 2));

            let again = build(&engine, &spec, |_| {}).await.unwrap();
            assert_eq!(again.image_id, Some(id));
            assert!(again.all_cached(), "{:#?}", again.steps);
            assert!(again.steps.iter().any(|s| s.name.contains("RUN tr") && s.cached));
        });
    }

    /// The CLI builds examples/hello; `-q` prints only the image id, `--iidfile` writes it.
    fn cli_builds_hello_quietly(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("devbuild-hello-cli"));
        let dir = tempfile::tempdir().unwrap();
        let iidfile = dir.path().join("iid");
        let base = format!("BASE={}", test.base_image);
        let output = devbuild(Some(test), &[
            "build", "-q", "--build-arg", &base, "-t", &tag,
            "--iidfile", iidfile.to_str().unwrap(), hello().to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        let id = stdout.trim_end();
        assert!(id.starts_with("sha256:") && !id.contains('\n'), "{stdout:?}");
        assert_eq!(stdout, format!("{id}\n"));
        assert_eq!(std::fs::read_to_string(&iidfile).unwrap(), id);
        assert!(test.has_image(&tag));

        let output = devbuild(Some(test), &[
            "build", "--progress=plain", "--build-arg", &base, "-t", &tag, hello().to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("RUN tr 'a-z' 'A-Z'"), "{stderr}");
        assert!(stderr.contains("CACHED"), "{stderr}");
        assert!(output.stdout.is_empty());

        let output = devbuild(Some(test), &["pull", "--build-arg", &base, hello().to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains("devbuild-test/busybox:1 linux/amd64 present"), "{}", text(&output.stdout));
    }

    /// A failing RUN exits 1 with the step's error and its log.
    fn cli_failing_run_exits_1_with_the_step_and_its_log(test) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {}\nRUN echo devbuild-broken-step && exit 3\n", test.base_image),
        ).unwrap();
        let output = devbuild(Some(test), &["build", "--progress=plain", dir.path().to_str().unwrap()]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("devbuild-broken-step"), "{stderr}");
        assert!(stderr.contains("exit code: 3"), "{stderr}");
        assert!(stderr.contains("error: build failed at step"), "{stderr}");
    }
}

/// An invalid Dockerfile exits 2 with its file and line, before any engine is looked for.
#[test]
fn an_invalid_dockerfile_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM alpine\nFROM\n").unwrap();
    let output = devbuild(None, &["build", dir.path().to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let expected = format!("error: {}:2: ", dir.path().join("Dockerfile").display());
    assert!(stderr.starts_with(&expected), "{stderr}");

    let err = BuildSpec::new(dir.path()).check().unwrap_err();
    assert!(matches!(err, BuildError::Dockerfile { .. }), "{err}");
    assert!(err.is_input());

    let output = devbuild(None, &["pull", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

/// An engine that is not there exits 3 with engine-client's message.
#[test]
fn an_unreachable_engine_exits_3() {
    let output = devbuild(None, &["build", hello().to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot reach the Docker Engine at unix:///nonexistent.sock"),
        "{stderr}"
    );
}
