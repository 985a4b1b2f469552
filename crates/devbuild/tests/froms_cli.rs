//! Snapshot tests of `devbuild froms` on real-world Dockerfiles, run through the real binary.

mod common;

use common::transcript;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/froms")
}

/// Runs `devbuild` in the data directory with `stdin` as its standard input.
fn devbuild(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(data_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("devbuild runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin is written");
    child.wait_with_output().expect("devbuild finishes")
}

#[test]
fn froms_real_world_dockerfiles() {
    for name in ["go.Dockerfile", "node.Dockerfile", "rust.Dockerfile"] {
        for platform in ["linux/amd64", "linux/arm64"] {
            let snapshot = format!("{name}-{}", platform.replace('/', "-"));
            let human = devbuild(&["froms", "-f", name, "--platform", platform], &[], "");
            assert!(human.status.success(), "{name}: {}", transcript(&human));
            insta::assert_snapshot!(format!("{snapshot}-human"), transcript(&human));

            let json = devbuild(
                &["froms", "-f", name, "--platform", platform, "--json"],
                &[],
                "",
            );
            assert!(json.status.success(), "{name}: {}", transcript(&json));
            let value: serde_json::Value =
                serde_json::from_slice(&json.stdout).expect("valid JSON");
            insta::assert_json_snapshot!(format!("{snapshot}-json"), value);
        }
    }
}

#[test]
fn froms_target_and_build_args() {
    let output = devbuild(
        &[
            "froms",
            "-f",
            "node.Dockerfile",
            "--platform",
            "linux/amd64",
            "--target",
            "deps",
            "--build-arg",
            "NODE_VERSION=18",
        ],
        &[],
        "",
    );
    insta::assert_snapshot!(transcript(&output));
}

#[test]
fn froms_build_arg_from_environment() {
    let dockerfile = "ARG TAG=3.18\nFROM alpine:$TAG\n";
    let args = [
        "froms",
        "-f",
        "-",
        "--platform",
        "linux/amd64",
        "--build-arg",
        "TAG",
        "--json",
    ];
    let from_env = devbuild(&args, &[("TAG", "3.20")], dockerfile);
    let value: serde_json::Value = serde_json::from_slice(&from_env.stdout).expect("valid JSON");
    assert_eq!(
        value["images"][0]["ref"],
        "docker.io/library/alpine:3.20",
        "{}",
        transcript(&from_env)
    );

    // Without TAG in the environment the argument is left out, so the default applies.
    let unset = Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .env_remove("TAG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(dockerfile.as_bytes())?;
            child.wait_with_output()
        })
        .expect("devbuild runs");
    let value: serde_json::Value = serde_json::from_slice(&unset.stdout).expect("valid JSON");
    assert_eq!(value["images"][0]["ref"], "docker.io/library/alpine:3.18");
}

#[test]
fn froms_reports_errors_with_file_and_line() {
    let from_stdin = devbuild(
        &["froms", "-f", "-", "--platform", "linux/amd64"],
        &[],
        "FROM alpine\nFROM\n",
    );
    assert_eq!(from_stdin.status.code(), Some(1));
    insta::assert_snapshot!(transcript(&from_stdin));

    let from_file = devbuild(
        &["froms", "-f", "bad.Dockerfile", "--platform", "linux/amd64"],
        &[],
        "",
    );
    assert_eq!(from_file.status.code(), Some(1));
    insta::assert_snapshot!(transcript(&from_file));
}

#[test]
fn froms_bad_usage_exits_2() {
    let missing = devbuild(&["froms", "-f", "no-such.Dockerfile"], &[], "");
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("error: no-such.Dockerfile: cannot read the Dockerfile:"),
        "{stderr}"
    );

    let two_platforms = devbuild(
        &[
            "froms",
            "-f",
            "go.Dockerfile",
            "--platform",
            "linux/amd64,linux/arm64",
        ],
        &[],
        "",
    );
    assert_eq!(two_platforms.status.code(), Some(2));

    let bad_platform = devbuild(
        &[
            "froms",
            "-f",
            "go.Dockerfile",
            "--platform",
            "linux/amd64/v1/extra",
        ],
        &[],
        "",
    );
    assert_eq!(
        bad_platform.status.code(),
        Some(2),
        "{}",
        transcript(&bad_platform)
    );

    let unknown_flag = devbuild(&["froms", "--no-such-flag"], &[], "");
    assert_eq!(unknown_flag.status.code(), Some(2));
}
