//! Snapshot tests of `devbuild context` on a fixture tree, run through the real binary.

mod common;

use common::transcript;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

/// A small project: sources, an ignored `node_modules` with one re-included file, links.
fn fixture_tree(root: &Path) {
    let write = |path: &str, content: &str, mode: u32| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(&path, content).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
    };
    write("Dockerfile", "FROM scratch\nCOPY . /ctx\n", 0o644);
    write(
        ".dockerignore",
        "# dependencies\nnode_modules\n!node_modules/keep/package.json\n*.log\nDockerfile\n",
        0o644,
    );
    write("src/main.go", "package main\n\nfunc main() {}\n", 0o644);
    write("src/util/strings.go", "package util\n", 0o644);
    write("run.sh", "#!/bin/sh\necho hi\n", 0o755);
    write("debug.log", "noise\n", 0o600);
    write("node_modules/left-pad/index.js", &"x".repeat(4096), 0o644);
    write("node_modules/keep/package.json", "{}\n", 0o644);
    symlink("src/main.go", root.join("main-link")).expect("symlink");
    symlink("/etc/passwd", root.join("abs-link")).expect("symlink");
    symlink("does-not-exist", root.join("dangling")).expect("symlink");
    fs::hard_link(root.join("run.sh"), root.join("src/run-again.sh")).expect("hardlink");
    for dir in ["src", "src/util", "node_modules", "node_modules/keep"] {
        fs::set_permissions(root.join(dir), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

fn devbuild(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("devbuild runs")
}

#[test]
fn context_summary_list_json_and_explain() {
    let temp = tempfile::tempdir().expect("tempdir");
    fixture_tree(temp.path());
    let dir = temp.path();

    insta::assert_snapshot!("summary", transcript(&devbuild(dir, &["context"])));
    insta::assert_snapshot!(
        "list",
        transcript(&devbuild(dir, &["context", ".", "--list"]))
    );
    insta::assert_snapshot!("json", transcript(&devbuild(dir, &["context", "--json"])));
    insta::assert_snapshot!(
        "explain",
        transcript(&devbuild(
            dir,
            &[
                "context",
                "--explain",
                "node_modules/left-pad/index.js",
                "node_modules/keep/package.json",
                "src/main.go",
                "debug.log",
                "Dockerfile",
            ],
        ))
    );
}

#[test]
fn context_output_writes_a_tar_that_lists_like_the_listing() {
    let temp = tempfile::tempdir().expect("tempdir");
    fixture_tree(temp.path());
    let out = tempfile::tempdir().expect("tempdir");
    let tar_path = out.path().join("ctx.tar");
    let written = devbuild(
        temp.path(),
        &[
            "context",
            "--output",
            tar_path.to_str().expect("utf-8 path"),
        ],
    );
    assert!(written.status.success(), "{}", transcript(&written));

    // GNU tar reads it back, with the same names in the same order as `--list`.
    let gnu = Command::new("tar")
        .args(["-tf", tar_path.to_str().expect("utf-8 path")])
        .output()
        .expect("GNU tar runs");
    assert!(
        gnu.status.success(),
        "{}",
        String::from_utf8_lossy(&gnu.stderr)
    );
    let listed = devbuild(temp.path(), &["context", "--json"]);
    let from_listing: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            entry["path"].as_str().expect("path").to_string()
        })
        .collect();
    let from_tar: Vec<String> = String::from_utf8_lossy(&gnu.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(from_tar, from_listing);
}

#[test]
fn context_errors_name_the_path_and_leave_nothing_behind() {
    let temp = tempfile::tempdir().expect("tempdir");
    fixture_tree(temp.path());
    fs::write(temp.path().join(".dockerignore"), "ok\n[\n").expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let tar_path = out.path().join("ctx.tar");
    let failed = devbuild(
        temp.path(),
        &[
            "context",
            "--output",
            tar_path.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(failed.status.code(), Some(2), "{}", transcript(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains(".dockerignore") && stderr.contains("line 2"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_dir(out.path()).expect("read_dir").count(),
        0,
        "no half-written archive is left"
    );

    let missing = devbuild(temp.path(), &["context", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-dir"));
}
