//! Docker-backed: `devbuild build` against the engine behind the harness's authorization
//! plugin (the `authz` engine of `cargo xtask engine up`: Docker Engine 26.1 started with
//! `--authorization-plugin`, the plugin logging every request and denying what a test tells
//! it to). Engine-API clients move to BuildKit because the classic builder is slow behind such
//! a plugin; these tests hold devbuild to a build that costs a handful of authorized requests,
//! and to denials that say who refused. Without the authz engine each test prints `SKIPPED`
//! and passes, except under CI, where it fails.

use std::process::{Command, Output};

use devbuild_tests::{AuthzEngine, TestEnv};

/// `devbuild` with `DOCKER_HOST` the authz engine and `DOCKER_CONFIG` the harness's (which
/// holds the registry's credentials).
fn devbuild(authz: &AuthzEngine, args: &[&str]) -> Output {
    let env = TestEnv::load().unwrap();
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .env_remove("DOCKER_CONTEXT")
        .env(
            "DOCKER_HOST",
            format!("unix://{}", authz.engine.socket.display()),
        )
        .env("DOCKER_CONFIG", &env.docker_config)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A context whose Dockerfile starts `FROM base` and has three steps of its own.
fn context(base: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nRUN echo one > /one\nRUN echo two > /two\nCOPY file /file\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("file"), "authz\n").unwrap();
    dir
}

/// `<registry>/<repository>:<tag>` → (`<registry>/<repository>`, `<tag>`).
fn split_tag(image: &str) -> (&str, &str) {
    image.rsplit_once(':').expect("a tagged image")
}

/// The end of devbuild's stderr from its last `error:` line on: what the user is left with.
fn final_error(stderr: &str) -> &str {
    stderr.rfind("error: ").map_or("", |start| &stderr[start..])
}

/// Asserts that a refused `devbuild build` ended with the plugin's message and says that an
/// authorization plugin refused it.
fn assert_refused_by_the_plugin(authz: &AuthzEngine, output: &Output, message: &str) {
    let stderr = text(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    let error = final_error(&stderr);
    assert!(
        error.contains(message),
        "the final error does not carry the plugin's message {message:?}:\n{stderr}"
    );
    // The engine's 403 says `authorization denied by plugin <name>: <message>`; devbuild
    // must say in so many words that an authorization plugin refused the request.
    assert!(
        error.to_lowercase().contains("authorization plugin"),
        "the final error does not say that an authorization plugin refused it \
         (plugin {}):\n{stderr}",
        authz.plugin
    );
}

devbuild_tests::authz_test! {
    /// A whole build whose base image must be pulled first goes through the plugin in a handful
    /// of requests: none per BuildKit step.
    fn a_whole_build_costs_a_handful_of_authorized_requests(authz, Exclusive) {
        // No other authz test runs meanwhile: the log's new lines are this build's.
        let engine = &authz.engine;
        let mut guard = engine.guard();
        let base = guard.remove_later(&engine.registry.copy_private_image(&engine.private_image));
        let tag = guard.remove_later(&engine.unique_name("authz-build"));
        let dir = context(&base);
        let context_path = dir.path().to_str().unwrap();

        let before = authz.log_position();
        let output = devbuild(
            authz,
            &["build", "--progress=plain", "-t", &tag, context_path],
        );
        let requests = authz.requests_since(before);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(engine.has_image(&tag));
        assert!(stderr.contains("RUN echo two"), "{stderr}");

        // What the engine asked the plugin about, in order (observed on Engine 26.1.5):
        // 1. `GET /version`: the connection's version negotiation (unversioned path);
        // 2. `GET /images/<base>/json`: the pre-pull's inspect, 404;
        // 3. `POST /images/create?fromImage=<repo>&tag=<tag>&platform=…`: the pull, with the
        //    registry's credentials in `X-Registry-Auth`;
        // 4. `GET /images/<base>/json` again: the pulled image's config (`ENV`, `ONBUILD`
        //    triggers), which decides which context paths to send;
        // 5. `POST /build?version=2&…`: the build itself, the context tar as its body.
        // BuildKit runs FROM, both RUNs and the COPY inside the engine: no request per step,
        // and no session (`POST /session`) either.
        let api = format!("/v{}", engine.api_version);
        let expected = [
            "GET /version".to_string(),
            format!("GET {api}/images/{base}/json"),
            format!("POST {api}/images/create"),
            format!("GET {api}/images/{base}/json"),
            format!("POST {api}/build"),
        ];
        let observed: Vec<String> = requests.iter().map(|r| r.method_and_path()).collect();
        assert_eq!(
            observed,
            expected,
            "the requests of one build through the authorization plugin ({}):\n{requests:#?}",
            authz.log.display()
        );
        let (repository, base_tag) = split_tag(&base);
        let pull = &requests[2].uri;
        let decoded = pull.replace("%3A", ":").replace("%2F", "/");
        assert!(
            decoded.contains(&format!("fromImage={repository}&tag={base_tag}")),
            "{pull}"
        );
        let build = &requests[4].uri;
        assert!(build.contains("version=2"), "{build}");
        assert!(
            build
                .replace("%3A", ":")
                .replace("%2F", "/")
                .contains(&format!("t={tag}")),
            "{build}"
        );
    }

    /// A pull the plugin denies: the build fails, and its error carries the plugin's message and
    /// says that an authorization plugin refused it.
    fn a_denied_pull_ends_with_the_plugin_s_message(authz, Shared) {
        let engine = &authz.engine;
        let mut guard = engine.guard();
        let base = guard.remove_later(&engine.registry.copy_private_image(&engine.private_image));
        let tag = guard.remove_later(&engine.unique_name("authz-denied-pull"));
        let (repository, base_tag) = split_tag(&base);
        let message = format!("devbuild-test: pulls of {base} are not allowed here");
        authz.deny(
            "POST",
            &format!("/images/create?fromImage={repository}&tag={base_tag}"),
            &message,
        );
        let dir = context(&base);
        let output = devbuild(
            authz,
            &[
                "build",
                "--progress=plain",
                "-t",
                &tag,
                dir.path().to_str().unwrap(),
            ],
        );
        assert!(!engine.has_image(&base), "the denied pull happened anyway");
        assert!(!engine.has_image(&tag));
        assert_refused_by_the_plugin(authz, &output, &message);
    }

    /// A build the plugin denies (`POST /build`): the same.
    fn a_denied_build_ends_with_the_plugin_s_message(authz, Shared) {
        let engine = &authz.engine;
        let mut guard = engine.guard();
        let tag = guard.remove_later(&engine.unique_name("authz-denied-build"));
        let message = format!("devbuild-test: builds of {tag} are not allowed here");
        // The tag as it appears in the build's query, percent-decoded: `t=<tag>`.
        authz.deny("POST", &format!("t={tag}"), &message);
        let dir = context(&engine.base_image);
        let output = devbuild(
            authz,
            &[
                "build",
                "--progress=plain",
                "-t",
                &tag,
                dir.path().to_str().unwrap(),
            ],
        );
        assert!(!engine.has_image(&tag));
        assert_refused_by_the_plugin(authz, &output, &message);
    }
}
