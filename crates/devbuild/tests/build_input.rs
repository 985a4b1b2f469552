//! `devbuild build` refuses bad input at once, with exit status 2 and a message naming what
//! is wrong, before any engine is looked for (the engine here is a socket that does not
//! exist, so reaching it would be exit status 3); and a `--progress=json` run that fails
//! this way still ends with one `failed` event. No engine is needed.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::transcript;

/// `devbuild build` in `dir`, with no engine to be had.
fn build(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .arg("build")
        .args(args)
        .current_dir(dir)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("DOCKER_CONFIG", dir.join(".no-docker-config"))
        .output()
        .expect("devbuild runs")
}

fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("write");
    std::fs::write(dir.path().join("a.txt"), "a").expect("write");
    dir
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit status 2 and this text in the error line.
fn refused(output: &Output, text: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", transcript(output));
    let error = stderr(output);
    assert!(
        error
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains(text)),
        "want {text:?} in {error}"
    );
}

#[test]
fn bad_tags_are_refused_in_the_docker_cli_s_words() {
    let dir = context("FROM scratch\nCOPY a.txt /\n");
    refused(
        &build(dir.path(), &["-t", "UPPER:1", "."]),
        r#"invalid tag "UPPER:1": invalid reference format: repository name (library/UPPER) must be lowercase"#,
    );
    refused(
        &build(dir.path(), &["-t", "ok:1", "-t", "a:b:c", "."]),
        r#"invalid tag "a:b:c": invalid reference format"#,
    );
}

#[test]
fn a_context_that_is_missing_or_a_file_is_said_to_be_wrong() {
    let dir = context("FROM scratch\n");
    refused(
        &build(dir.path(), &["no-such-dir"]),
        "context no-such-dir: no such directory",
    );
    refused(
        &build(dir.path(), &["a.txt"]),
        "context a.txt: not a directory",
    );
}

#[test]
fn a_lower_case_dockerfile_is_used_when_there_is_no_dockerfile() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dockerfile"), "FROM scratch\n").expect("write");
    // Read and analysed: the run gets as far as the engine (exit status 3).
    let output = build(dir.path(), &["."]);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
}

#[test]
fn build_args_too_long_for_a_url_are_refused_saying_why() {
    let dir = context("FROM scratch\n");
    let arg = format!("BIG={}", "x".repeat(70_000));
    refused(
        &build(dir.path(), &["--build-arg", &arg, "."]),
        "the build args, labels and other options make the build request's URL 69 KiB long",
    );
}

#[test]
fn an_unknown_platform_is_refused_with_the_accepted_forms() {
    let dir = context("FROM scratch\n");
    let output = build(dir.path(), &["--platform", "bogus/arch", "."]);
    refused(
        &output,
        r#"--platform "bogus/arch": unknown operating system or architecture"#,
    );
    assert!(
        stderr(&output).contains("linux/amd64"),
        "{}",
        stderr(&output)
    );
    refused(
        &build(dir.path(), &["--platform", "linux/amd64,linux/arm64", "."]),
        "one platform at a time",
    );
}

#[test]
fn control_characters_in_errors_are_escaped() {
    let dir = context("FROM scratch\nCOPY --from=\x1b[2J\x1b[31mred /a /b\n");
    let output = build(dir.path(), &["."]);
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    let error = stderr(&output);
    assert!(!error.contains('\x1b'), "raw escape in {error:?}");
    assert!(error.contains("\\x1b[2J"), "{error:?}");
}

#[test]
fn a_json_run_that_fails_early_ends_with_one_failed_event() {
    let dir = context("FROM scratch\n");
    for args in [
        &["--progress=json", "-t", "UPPER", "."][..],
        &["--progress=json", "no-such-dir"][..],
        // The engine cannot be reached.
        &["--progress=json", "."][..],
    ] {
        let output = build(dir.path(), args);
        let events: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
            .collect();
        let ends: Vec<&serde_json::Value> = events
            .iter()
            .filter(|e| e["event"] == "failed" || e["event"] == "finished")
            .collect();
        assert_eq!(ends.len(), 1, "{args:?}: {events:?}");
        assert_eq!(ends[0]["event"], "failed");
        assert_eq!(events.last(), Some(ends[0]));
        let message = ends[0]["message"].as_str().expect("a message");
        assert!(
            stderr(&output).contains(message),
            "{message} / {}",
            stderr(&output)
        );
    }
}

#[test]
fn the_iidfile_of_an_earlier_build_is_removed_when_a_build_fails() {
    let dir = context("FROM scratch\n");
    let iid = dir.path().join("iid");
    std::fs::write(&iid, "sha256:earlier").expect("write");
    let output = build(dir.path(), &["--iidfile", "iid", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    assert!(!iid.exists(), "the earlier build's id is still there");
}

#[test]
fn standard_input_cannot_be_both_the_dockerfile_and_the_context() {
    let dir = context("FROM scratch\n");
    refused(
        &build(dir.path(), &["-f", "-", "-"]),
        "`-f -` and the context `-` cannot both read standard input",
    );
}

/// Every buildx option devbuild cannot serve is refused with exit status 2 and one line
/// saying why and what works instead (never clap's tips), and bad values of the options it
/// serves name the option and the value; the table is `tests/data/buildx-refusals.txt`, one
/// command line per line.
#[test]
fn buildx_options_it_cannot_serve_are_refused_in_one_line() {
    let dir = context("FROM scratch\nCOPY a.txt /\n");
    let table = include_str!("data/buildx-refusals.txt");
    let mut report = String::new();
    for line in table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let args: Vec<&str> = line.split_whitespace().chain(["."]).collect();
        let output = build(dir.path(), &args);
        let error = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{line}: {}",
            transcript(&output)
        );
        assert_eq!(
            error.lines().count(),
            1,
            "{line}: more than one line: {error}"
        );
        assert!(error.starts_with("error: "), "{line}: {error}");
        for tip in ["tip:", "For more information", "Usage:"] {
            assert!(!error.contains(tip), "{line}: clap's {tip:?} in {error}");
        }
        report.push_str(&format!("$ {line}\n{error}"));
    }
    insta::assert_snapshot!(report);
}

/// The legacy options of `docker build` that buildx ignores are accepted, each with a
/// warning that it has no effect; `--rm` and `--force-rm` say nothing.
#[test]
fn legacy_docker_build_options_are_accepted_with_a_warning() {
    let dir = context("FROM scratch\nCOPY a.txt /\n");
    let output = build(
        dir.path(),
        &[
            "--squash",
            "--memory",
            "1g",
            "--rm=false",
            "--force-rm",
            "--isolation",
            "default",
            ".",
        ],
    );
    // Accepted: the run goes on to the engine, which is not there (exit status 3).
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    let error = stderr(&output);
    let warnings: Vec<&str> = error
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 3, "{error}");
    for flag in ["--squash", "--memory", "--isolation"] {
        assert!(warnings.iter().any(|w| w.contains(flag)), "{flag}: {error}");
    }
}

/// `BUILDKIT_PROGRESS` chooses the mode when `--progress` is auto, as in buildx; a bad value
/// names the variable.
#[test]
fn buildkit_progress_picks_the_default_mode() {
    let dir = context("FROM scratch\nCOPY a.txt /\n");
    let run = |value: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_devbuild"))
            .arg("build")
            .args(args)
            .arg(".")
            .current_dir(dir.path())
            .env_remove("DOCKER_CONTEXT")
            .env("BUILDKIT_PROGRESS", value)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("DOCKER_CONFIG", dir.path().join(".no-docker-config"))
            .output()
            .unwrap()
    };
    // json: the failure is a `failed` event on standard output.
    let output = run("json", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(r#""event":"failed""#),
        "{}",
        transcript(&output)
    );
    // An explicit mode wins.
    let output = run("json", &["--progress=plain"]);
    assert!(output.stdout.is_empty(), "{}", transcript(&output));
    let output = run("fancy", &[]);
    refused(
        &output,
        "BUILDKIT_PROGRESS: unknown progress mode \"fancy\"",
    );
}
