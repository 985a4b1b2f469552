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

/// `devbuild context` with `Dockerfile` replaced by `dockerfile`, run without any engine.
fn devbuild_with(dir: &Path, dockerfile: &str, args: &[&str]) -> Output {
    fs::write(dir.join("Dockerfile"), dockerfile).expect("write");
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("devbuild runs")
}

#[test]
fn context_shows_only_what_the_dockerfile_reads() {
    let temp = tempfile::tempdir().expect("tempdir");
    fixture_tree(temp.path());
    let dir = temp.path();
    let dockerfile = "FROM scratch AS tools\nCOPY run.sh /bin/\nFROM scratch\nARG SRC=src/util\nCOPY ${SRC} /src\nCOPY main-link node_modules/keep/*.json /\n";
    insta::assert_snapshot!(
        "used_summary",
        transcript(&devbuild_with(dir, dockerfile, &["context"]))
    );
    insta::assert_snapshot!(
        "used_list",
        transcript(&devbuild_with(dir, dockerfile, &["context", "--list"]))
    );
    insta::assert_snapshot!(
        "used_explain",
        transcript(&devbuild_with(
            dir,
            dockerfile,
            &[
                "context",
                "--explain",
                "src/util/strings.go",
                "src/main.go",
                "run.sh",
                "node_modules/keep/package.json",
                "node_modules/left-pad/index.js",
            ],
        ))
    );
    // Build args and the target change what is read, as they change the build.
    let listed = |args: &[&str]| {
        let output = devbuild_with(dir, dockerfile, args);
        assert!(output.status.success(), "{}", transcript(&output));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| l.split_whitespace().nth(3).unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(&["context", "--list", "--build-arg", "SRC=run.sh"]),
        [
            "Dockerfile",
            "main-link",
            "node_modules/",
            "node_modules/keep/",
            "node_modules/keep/package.json",
            "run.sh",
            "src/",
            "src/main.go"
        ]
    );
    assert_eq!(
        listed(&["context", "--list", "--target", "tools"]),
        ["Dockerfile", "run.sh"]
    );
    let whole = listed(&["context", "--list", "--whole-context"]);
    assert!(whole.contains(&"src/util/strings.go".to_owned()));
    assert!(
        !whole.contains(&"debug.log".to_owned()),
        "the ignore file still applies"
    );
    assert_eq!(whole.len(), 14, "{whole:?}");
    // A Dockerfile that reads nothing sends only itself.
    assert_eq!(
        listed_with(dir, "FROM scratch\nADD https://example.com/x /x\n"),
        ["Dockerfile"]
    );
}

fn listed_with(dir: &Path, dockerfile: &str) -> Vec<String> {
    let output = devbuild_with(dir, dockerfile, &["context", "--list"]);
    assert!(output.status.success(), "{}", transcript(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split_whitespace().nth(3).unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn context_says_what_it_cannot_decide_without_the_images() {
    let temp = tempfile::tempdir().expect("tempdir");
    fixture_tree(temp.path());
    let output = devbuild_with(
        temp.path(),
        "FROM example.com/app/base:1\nCOPY $APP_DIR /app\n",
        &["context", "--list"],
    );
    assert!(output.status.success(), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("note: sending the whole context: not decided: line 1: the config of example.com/app/base:1 is not known"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 14);
    // An invalid Dockerfile is bad input, named with its line.
    let output = devbuild_with(temp.path(), "FROM scratch\nCOPY\n", &["context"]);
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Dockerfile:2: "),
        "{}",
        transcript(&output)
    );
}

#[test]
fn context_names_stay_one_line_and_json_keeps_their_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path();
    fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY . /\n").expect("write");
    fs::write(dir.join("two\nlines"), "x").expect("write");
    fs::write(dir.join(std::ffi::OsStr::from_bytes(b"bad-\xff-name")), "x").expect("write");
    fs::write(dir.join("back\\slash"), "x").expect("write");
    let listed = devbuild(dir, &["context", "--list"]);
    assert!(listed.status.success(), "{}", transcript(&listed));
    let stdout = String::from_utf8_lossy(&listed.stdout).into_owned();
    let names: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().nth(3).unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "Dockerfile",
            "back\\\\slash",
            "bad-\\xff-name",
            "two\\nlines"
        ]
    );
    assert!(!stdout.contains('\u{fffd}'));

    let json = devbuild(dir, &["context", "--json"]);
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(
        entries[2]["path_bytes"],
        serde_json::json!(b"bad-\xff-name".to_vec())
    );
    assert!(entries[2].get("path").is_none());
    assert_eq!(entries[3]["path"], "two\nlines");
}

#[test]
fn context_explain_says_what_is_missing_and_takes_absolute_paths_inside() {
    let temp = tempfile::tempdir().expect("tempdir");
    fixture_tree(temp.path());
    let dir = temp.path();
    let inside = dir.join("src/main.go");
    let output = devbuild(
        dir,
        &[
            "context",
            "--explain",
            "nothere.txt",
            inside.to_str().expect("utf-8"),
        ],
    );
    assert!(output.status.success(), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("missing") && lines[0].ends_with("no such path in the context"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("sent") && lines[1].contains(" src/main.go "),
        "{stdout}"
    );
    let outside = devbuild(dir, &["context", "--explain", "/etc/passwd"]);
    assert_eq!(outside.status.code(), Some(2), "{}", transcript(&outside));
    assert!(
        String::from_utf8_lossy(&outside.stderr).contains("/etc/passwd is not inside the context"),
        "{}",
        transcript(&outside)
    );
}
