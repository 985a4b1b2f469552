//! The Dockerfile and the ignore file: always sending the Dockerfile, choosing
//! `<Dockerfile>.dockerignore`, appending a Dockerfile from outside the context, and
//! errors that stop before any output.

mod common;

use common::*;
use ctx_tar::{ContextSpec, Dockerfile, EntryKind, Error, IgnoreSource};

fn names(spec: &ContextSpec) -> Vec<String> {
    let listing = ctx_tar::list(spec).expect("list");
    listing.entries.into_iter().map(|e| e.path).collect()
}

#[test]
fn excluded_dockerfile_is_sent_but_excluded_ignore_file_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        ".dockerignore",
        b"Dockerfile\n.dockerignore\nnotes.md\n",
    );
    write(dir.path(), "Dockerfile", b"FROM scratch\n");
    write(dir.path(), "notes.md", b"n");
    write(dir.path(), "src/main.rs", b"fn main() {}");
    let spec = ContextSpec::new(dir.path());
    assert_eq!(names(&spec), ["Dockerfile", "src/", "src/main.rs"]);
    let why = ctx_tar::explain(&spec, "Dockerfile").expect("explain");
    assert!(why.dockerfile && !why.excluded);
    let why = ctx_tar::explain(&spec, "./notes.md").expect("explain");
    assert!(why.excluded);
    assert_eq!(why.rule.expect("rule").line, 3);
}

#[test]
fn dockerfile_in_an_excluded_directory_is_sent_with_its_parents() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".dockerignore", b"build\n");
    write(dir.path(), "build/docker/Dockerfile", b"FROM scratch\n");
    write(dir.path(), "build/docker/other", b"o");
    write(dir.path(), "build/out.bin", b"o");
    write(dir.path(), "main.c", b"int main;");
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = Dockerfile::Path(dir.path().join("build/docker/Dockerfile"));
    let listing = ctx_tar::list(&spec).expect("list");
    let paths: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            ".dockerignore",
            "build/",
            "build/docker/",
            "build/docker/Dockerfile",
            "main.c"
        ]
    );
    assert_eq!(
        listing.summary.dockerfile.as_deref(),
        Some("build/docker/Dockerfile")
    );
    assert_eq!(
        listing.entries[1].mode, 0o755,
        "real metadata of the parent"
    );
}

#[test]
fn dockerfile_specific_ignore_file_replaces_dockerignore() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".dockerignore", b"a.txt\n");
    write(dir.path(), "ci/app.Dockerfile", b"FROM scratch\n");
    write(
        dir.path(),
        "ci/app.Dockerfile.dockerignore",
        b"b.txt\nci/*.dockerignore\n",
    );
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "b.txt", b"b");
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = Dockerfile::Path(dir.path().join("ci/app.Dockerfile"));
    let listing = ctx_tar::list(&spec).expect("list");
    let paths: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [".dockerignore", "a.txt", "ci/", "ci/app.Dockerfile"]
    );
    assert_eq!(
        listing.summary.ignore_file,
        Some(dir.path().join("ci/app.Dockerfile.dockerignore"))
    );
    spec.ignore = IgnoreSource::None;
    assert_eq!(names(&spec).len(), 6);
    spec.ignore = IgnoreSource::Text("*\n!b.txt\n".into());
    assert_eq!(names(&spec), ["b.txt", "ci/", "ci/app.Dockerfile"]);
}

#[test]
fn dockerfile_outside_the_context_is_appended_under_a_stable_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = mkdir(dir.path(), "ctx");
    write(&ctx, "a.txt", b"a");
    write(&ctx, "Dockerfile", b"FROM busybox\n");
    let outside = write(
        dir.path(),
        "elsewhere/Dockerfile",
        b"FROM scratch\nCOPY . /\n",
    );
    write(dir.path(), "elsewhere/Dockerfile.dockerignore", b"a.txt\n");
    let mut spec = ContextSpec::new(&ctx);
    spec.dockerfile = Dockerfile::Path(outside);
    let mut tar = Vec::new();
    let summary = ctx_tar::write_tar(&spec, &mut tar).expect("write_tar");
    let name = summary.dockerfile.clone().expect("dockerfile name");
    assert!(name.starts_with(".dockerfile."), "{name}");
    assert_eq!(name.len(), ".dockerfile.".len() + 20);
    assert!(name[12..]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let members = members(&tar);
    let last = members.last().expect("entries");
    assert_eq!(last.name, name.as_bytes());
    assert_eq!((last.typeflag, last.mode, last.uid), (b'0', 0o600, 0));
    assert_eq!(last.data, b"FROM scratch\nCOPY . /\n");
    let listed: Vec<Vec<u8>> = members.iter().map(|m| m.name.clone()).collect();
    assert_eq!(listed, [b"Dockerfile".to_vec(), name.clone().into_bytes()]);
    check_raw_headers(&tar);
    gnu_tar_list(&tar);
    python_members(&tar, None);
    let mut again = Vec::new();
    ctx_tar::write_tar(&spec, &mut again).expect("write_tar");
    assert!(again == tar, "same name and bytes each run");
    let listing = ctx_tar::list(&spec).expect("list");
    assert_eq!(
        listing.entries.last().map(|e| (e.kind, e.mode)),
        Some((EntryKind::File, 0o600))
    );
}

#[test]
fn missing_context_or_dockerfile_and_bad_rules_fail_before_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.txt", b"a");
    let mut spec = ContextSpec::new(dir.path());
    // No Dockerfile at the default place: the context alone.
    assert_eq!(ctx_tar::list(&spec).expect("list").summary.dockerfile, None);
    spec.dockerfile = Dockerfile::Path(dir.path().join("nope/Dockerfile"));
    let mut out = Vec::new();
    let err = ctx_tar::write_tar(&spec, &mut out).expect_err("missing Dockerfile");
    assert!(matches!(err, Error::Dockerfile { .. }), "{err}");
    assert!(out.is_empty());

    let spec = ContextSpec::new(dir.path().join("missing"));
    assert!(matches!(ctx_tar::list(&spec), Err(Error::Context { .. })));
    let spec = ContextSpec::new(dir.path().join("a.txt"));
    assert!(matches!(ctx_tar::list(&spec), Err(Error::Context { .. })));

    let ignore = write(dir.path(), ".dockerignore", b"ok\n\n[\n");
    let spec = ContextSpec::new(dir.path());
    let err = ctx_tar::write_tar(&spec, &mut out).expect_err("bad rules");
    match &err {
        Error::Ignore {
            file,
            line,
            message,
        } => {
            assert_eq!(file.as_deref(), Some(ignore.as_path()));
            assert_eq!(*line, 3);
            assert!(message.contains("syntax error in pattern"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains(".dockerignore: line 3"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn a_dockerfile_with_glob_characters_in_its_name_is_sent_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".dockerignore", b"build*\n");
    write(dir.path(), "build[1]/Docker*file", b"FROM scratch\n");
    write(dir.path(), "build[1]/DockerXfile", b"other");
    write(dir.path(), "build2/x", b"x");
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = Dockerfile::Path(dir.path().join("build[1]/Docker*file"));
    assert_eq!(
        names(&spec),
        [".dockerignore", "build[1]/", "build[1]/Docker*file"]
    );
}

#[test]
fn a_dockerfile_given_as_text_is_appended_under_a_generated_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "Dockerfile", b"FROM not-this-one\n");
    write(dir.path(), "a.txt", b"a");
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = Dockerfile::Text("FROM scratch\nCOPY a.txt /\n".into());
    let listing = ctx_tar::list(&spec).expect("list");
    let last = listing.entries.last().expect("entries");
    assert!(last.path.starts_with(".dockerfile."), "{}", last.path);
    assert_eq!((last.mode, last.size, last.mtime()), (0o600, 26, 0));
    assert_eq!(
        listing.summary.dockerfile.as_deref(),
        Some(last.path.as_str())
    );
    // The context's own Dockerfile is an ordinary file now.
    assert!(listing.entries.iter().any(|e| e.path == "Dockerfile"));
}
