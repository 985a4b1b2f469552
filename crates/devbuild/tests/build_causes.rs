//! Docker-backed: `devbuild build` against the private engines, where a failure must tell
//! its real cause, and the run must leave nothing stale:
//!
//! - a pre-pull that failed (wrong password, a credential helper that is missing, a
//!   registry that is down) and the build that then failed on that image: the final error,
//!   and the JSON `failed` event, lead with the image, the pull's reason and what to do,
//!   not with BuildKit's "no active sessions";
//! - `-f -` and `-` read the Dockerfile, or a tar context, from standard input;
//! - `--iidfile` is written (whole) only on success;
//! - warnings (the Dockerfile's lint, a socket left out of the context) are summarised at
//!   the end, as buildx does;
//! - when the reader of `--progress=json` goes away, the build is canceled (exit 141).

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use devbuild_tests::{base64_standard, engine_test, TestEngine};

mod common;
use common::devbuild_on;

/// `devbuild build ARGS` in `dir` against `engine`, with `docker_config` as DOCKER_CONFIG
/// (the harness's when `None`) and `stdin` on standard input.
fn build(
    engine: &TestEngine,
    dir: &Path,
    docker_config: Option<&Path>,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Output {
    let mut command = devbuild_on(engine);
    if let Some(config) = docker_config {
        command.env("DOCKER_CONFIG", config);
    }
    let mut child = command
        .arg("build")
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last `error:` line.
fn error_line(output: &Output) -> String {
    text(&output.stderr)
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {}", text(&output.stderr)))
        .to_owned()
}

/// A docker config dir whose `config.json` is `json`.
fn docker_config(json: serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), json.to_string()).unwrap();
    dir
}

/// A context whose Dockerfile builds on `image`.
fn context_on(image: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {image}\nRUN true\n"),
    )
    .unwrap();
    dir
}

/// The failure of a build whose base image's pull fails under `config`: the error line,
/// and the JSON run's `failed` message.
fn failure_with(engine: &TestEngine, image: &str, config: &tempfile::TempDir) -> (String, String) {
    let dir = context_on(image);
    let output = build(engine, dir.path(), Some(config.path()), &["."], None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let error = error_line(&output);
    let json = build(
        engine,
        dir.path(),
        Some(config.path()),
        &["--progress=json", "."],
        None,
    );
    let failed = text(&json.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "failed")
        .expect("a failed event");
    (error, failed["message"].as_str().unwrap().to_owned())
}

engine_test! {
    /// A wrong password: the image, the registry's "unauthorized", and `docker login`.
    fn a_wrong_password_is_the_cause_not_no_active_sessions(test) {
        let image = test.registry.copy_private_image(&test.private_image);
        let auth = base64_standard(format!("{}:wrong", test.registry.username).as_bytes());
        let config = docker_config(serde_json::json!({
            "auths": { test.registry.address.clone(): { "auth": auth } }
        }));
        let (error, failed) = failure_with(test, &image, &config);
        for message in [&error, &failed] {
            assert!(message.contains(&format!("{image} could not be pulled: ")), "{message}");
            assert!(message.to_lowercase().contains("unauthorized"), "{message}");
            assert!(message.contains(&format!("docker login {}", test.registry.address)), "{message}");
            // The engine's own error follows the cause.
            let cause = message.find("could not be pulled").unwrap();
            let symptom = message.find("the build then failed").expect("the build's error");
            assert!(cause < symptom, "{message}");
        }
    }

    /// A credential helper that is not installed: its error, and what to fix.
    fn a_missing_credential_helper_is_the_cause(test) {
        let image = test.registry.copy_private_image(&test.private_image);
        let config = docker_config(serde_json::json!({ "credsStore": "devbuild-missing-helper" }));
        let (error, failed) = failure_with(test, &image, &config);
        for message in [&error, &failed] {
            assert!(message.contains(&format!("{image} could not be pulled: ")), "{message}");
            assert!(message.contains("docker-credential-devbuild-missing-helper"), "{message}");
            assert!(message.contains("fix the credential helper"), "{message}");
        }
    }

    /// A registry that is down: it did not answer.
    fn a_registry_that_is_down_is_the_cause(test) {
        let image = "127.0.0.1:9/devbuild-test/absent:1";
        let config = docker_config(serde_json::json!({}));
        let (error, failed) = failure_with(test, image, &config);
        for message in [&error, &failed] {
            assert!(message.contains(&format!("{image} could not be pulled: ")), "{message}");
            assert!(message.contains("the registry 127.0.0.1:9 did not answer"), "{message}");
        }
    }

    /// A registry slow to answer: the pull shows up at once (`pull_started`, seconds
    /// before the engine's first progress line), and its time is the real one.
    fn a_slow_pull_shows_at_once_with_its_real_duration(test) {
        let mut guard = test.guard();
        let delay = std::time::Duration::from_secs(2);
        let proxy = devbuild_tests::SlowTcpProxy::start(&test.registry.address, delay).unwrap();
        let auth = base64_standard(
            format!("{}:{}", test.registry.username, test.registry.password).as_bytes(),
        );
        let config = docker_config(serde_json::json!({
            "auths": { proxy.address(): { "auth": auth } }
        }));
        let slow_copy = |guard: &mut devbuild_tests::ImageGuard| {
            let copy = test.registry.copy_private_image(&test.private_image);
            let image = copy.replacen(&test.registry.address, proxy.address(), 1);
            guard.remove_later(&image)
        };

        // JSON, each line timed as it arrives.
        let image = slow_copy(&mut guard);
        let dir = context_on(&image);
        let mut child = devbuild_on(test)
            .args(["build", "--progress=json", "."])
            .current_dir(dir.path())
            .env("DOCKER_CONFIG", config.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        let timed: Vec<(std::time::Instant, serde_json::Value)> = lines
            .map(|l| (std::time::Instant::now(), serde_json::from_str(&l.unwrap()).unwrap()))
            .collect();
        assert!(child.wait().unwrap().success());
        let at = |event: &str| {
            timed
                .iter()
                .find(|(_, e)| e["event"] == event && e["image"].as_str().is_some_and(|i| i.contains(&image)))
                .map(|(t, _)| *t)
                .unwrap_or_else(|| panic!("no {event} for {image}: {timed:?}"))
        };
        let (started, first_progress, ready) = (at("pull_started"), at("pull_progress"), at("image_ready"));
        assert!(first_progress.duration_since(started) >= delay.mul_f64(0.9), "the pull was silent only {:?}", first_progress.duration_since(started));
        let real = ready.duration_since(started);

        // Plain: the pull's DONE is its whole time, silence included.
        let image = slow_copy(&mut guard);
        let dir = context_on(&image);
        let output = build(test, dir.path(), Some(config.path()), &["--progress=plain", "."], None);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stderr = text(&output.stderr);
        // devbuild's own groups are numbered in the same sequence as BuildKit's steps.
        let header = stderr.lines().find(|l| l.starts_with('#') && l.contains(" [pull] ")).expect("the pull's group");
        let number = header.split(' ').next().unwrap_or_default();
        let group = &stderr[stderr.find(header).unwrap_or_default()..];
        let done = group.lines().find_map(|l| l.strip_prefix(&format!("{number} DONE "))).expect("the pull's DONE line");
        let secs: f64 = done.trim_end_matches('s').parse().expect("seconds");
        // The second pull runs alike; what matters is that the silence is counted.
        assert!(secs >= delay.as_secs_f64(), "DONE {secs} s, the registry alone was silent {delay:?} (first pull took {real:?}):\n{stderr}");
    }

    /// `-f -`: the Dockerfile from standard input (analysed, so its base is pre-pulled
    /// and present); `-`: a tar context, or a lone Dockerfile.
    fn dockerfile_and_context_from_standard_input(test) {
        let mut guard = test.guard();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "from the context\n").unwrap();
        let dockerfile = format!("FROM {}\nCOPY a.txt /a.txt\n", test.base_image);
        let tag = guard.remove_later(&test.unique_name("devbuild-stdin"));
        let output = build(test, dir.path(), None, &["-q", "-t", &tag, "-f", "-", "."], Some(dockerfile.as_bytes()));
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(text(&output.stdout).starts_with("sha256:"));

        let tar = devbuild_tests::tar::tar_of(&[
            ("Dockerfile", dockerfile.as_bytes()),
            ("a.txt", b"from the tar\n"),
        ]);
        let tag = guard.remove_later(&test.unique_name("devbuild-stdin-tar"));
        let output = build(test, dir.path(), None, &["-q", "-t", &tag, "-"], Some(&tar));
        assert!(output.status.success(), "{}", text(&output.stderr));
        let export = test.export_image(&tag);
        let mut archive = tar::Archive::new(&export[..]);
        let found = archive.entries().unwrap().filter_map(Result::ok).any(|mut e| {
            let mut data = String::new();
            e.path().unwrap().ends_with("a.txt")
                && std::io::Read::read_to_string(&mut e, &mut data).is_ok()
                && data == "from the tar\n"
        });
        assert!(found, "a.txt of the tar is not in the image");

        let lone = format!("FROM {}\nRUN echo alone > /alone\n", test.base_image);
        let tag = guard.remove_later(&test.unique_name("devbuild-stdin-alone"));
        let output = build(test, dir.path(), None, &["-q", "-t", &tag, "-"], Some(lone.as_bytes()));
        assert!(output.status.success(), "{}", text(&output.stderr));
    }

    /// `--iidfile` holds the new image's id, and only that, after a successful build.
    fn the_iidfile_holds_the_id_of_a_successful_build(test) {
        let mut guard = test.guard();
        let dir = context_on(&test.base_image);
        let tag = guard.remove_later(&test.unique_name("devbuild-iid"));
        std::fs::write(dir.path().join("iid"), "sha256:earlier").unwrap();
        let output = build(test, dir.path(), None, &["-q", "-t", &tag, "--iidfile", "iid", "."], None);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let id = std::fs::read_to_string(dir.path().join("iid")).unwrap();
        assert_eq!(id, text(&output.stdout).trim());
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    }

    /// The Dockerfile's lint warnings and a socket left out of the context are summarised
    /// at the end.
    fn warnings_are_summarised_at_the_end(test) {
        let mut guard = test.guard();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {} as Build\nCOPY . /ctx\n", test.base_image),
        )
        .unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("app.sock")).unwrap();
        let tag = guard.remove_later(&test.unique_name("devbuild-warn"));
        let output = build(test, dir.path(), None, &["--progress=plain", "-t", &tag, "."], None);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stderr = text(&output.stderr);
        let summary = &stderr[stderr.rfind("warnings found:").expect("a warning summary")..];
        assert!(summary.contains("StageNameCasing: Stage name 'Build' should be lowercase (line 1)"), "{summary}");
        assert!(summary.contains("FromAsCasing"), "{summary}");
        assert!(summary.contains("context: app.sock: sockets cannot be archived; skipped"), "{summary}");
    }

    /// `--progress=json | head -1`: the build is canceled when its reader goes away.
    fn a_closed_json_reader_cancels_the_build(test) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {}\nRUN sleep 120\n", test.base_image),
        )
        .unwrap();
        let mut child = devbuild_on(test)
            .args(["build", "--no-cache", "--progress=json", "."])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read up to the step that sleeps, then go away.
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let started = std::time::Instant::now();
        loop {
            let line = lines.next().expect("events until the RUN step starts").unwrap();
            if line.contains("\"step_started\"") && line.contains("RUN sleep 120") {
                break;
            }
        }
        drop(lines);
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(141), "{}", text(&output.stderr));
        assert!(text(&output.stderr).contains("standard output was closed: the build was canceled"));
        // Canceled, not run to its end.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }
}
