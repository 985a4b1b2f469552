//! Docker-backed: `devbuild build` of remote contexts, which the engine fetches itself
//! (`POST /build?version=2&remote=<url>`, no body), on both engines, from the git repository
//! and the HTTP server the harness serves on 127.0.0.1 (`DEVBUILD_TEST_GIT_URL`,
//! `DEVBUILD_TEST_HTTP_URL`; see `xtask/src/engine/remote.rs`):
//!
//! - a git URL builds its default branch (`master`), `#v1` the tag, `#master:sub` the
//!   Dockerfile of a subdirectory (Engine 20.10 cannot fetch one: devbuild sends it);
//! - a tarball URL builds, plain or gzip-compressed, through a redirect too, and so does the
//!   URL of a lone Dockerfile;
//! - `.dockerignore` does not apply to either;
//! - the Dockerfile was read before the build: the `analyzed` event lists the base image and
//!   the pre-pull found it;
//! - an unreachable git URL, or a tarball URL that is not there, fails soon, naming the URL;
//! - `devbuild pull` reads a remote Dockerfile; `devbuild context` refuses a remote context.

use std::process::Output;

use devbuild_tests::{engine_test, RemoteEntry, TestEngine, TestEnv};

mod common;
use common::devbuild_on;

/// The base image every Dockerfile of the harness's remote contexts builds on, as the
/// analysis names it.
const BASE: &str = "docker.io/devbuild-test/busybox:1";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `devbuild build --progress=json -t TAG ARGS…` against `engine`: the output and its events.
fn build_json(engine: &TestEngine, tag: &str, args: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let output = devbuild_on(engine)
        .args(["build", "--progress=json", "-t", tag])
        .args(args)
        .output()
        .unwrap();
    let events = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (output, events)
}

/// The events named `name`.
fn events_named<'a>(events: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

/// Every event, one per line, for assertion messages.
fn transcript(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

/// Builds `context` (with `args` before it) as a new tag, asserts that it succeeded, that
/// the Dockerfile was analysed (the base image listed and found present by the pre-pull),
/// that nothing was uploaded and what `context_selected` said; returns the tag, which
/// `guard` removes.
fn builds(
    engine: &TestEngine,
    guard: &mut devbuild_tests::ImageGuard,
    args: &[&str],
    reason: &str,
) -> String {
    let tag = guard.remove_later(&engine.unique_name("devbuild-remote"));
    let (output, events) = build_json(engine, &tag, args);
    assert!(output.status.success(), "{}", transcript(&output));
    let analyzed = events_named(&events, "analyzed");
    assert_eq!(analyzed.len(), 1, "{}", transcript(&output));
    assert_eq!(
        analyzed[0]["images"][0]["image"],
        BASE,
        "{}",
        transcript(&output)
    );
    let ready = events_named(&events, "image_ready");
    assert!(
        ready
            .iter()
            .any(|e| e["image"] == BASE && e["outcome"]["status"] == "present"),
        "the pre-pull found the base image: {}",
        transcript(&output)
    );
    let selected = events_named(&events, "context_selected");
    assert_eq!(selected.len(), 1, "{}", transcript(&output));
    assert_eq!(selected[0]["used"], "all");
    let said = selected[0]["reason"].as_str().unwrap_or_default();
    assert!(said.contains(reason), "{said}");
    assert!(
        events_named(&events, "warning").is_empty(),
        "{}",
        transcript(&output)
    );
    assert_eq!(events.last().unwrap()["event"], "finished");
    tag
}

/// The text of the file `path` (absolute, without the leading `/`) in `image`, if it has one.
fn file_in_image(engine: &TestEngine, image: &str, path: &str) -> Option<String> {
    let export = engine.export_image(image);
    let mut archive = tar::Archive::new(&export[..]);
    let entries = archive.entries().unwrap();
    for entry in entries {
        let mut entry = entry.unwrap();
        if entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("./")
            == path
        {
            let mut data = String::new();
            std::io::Read::read_to_string(&mut entry, &mut data).unwrap();
            return Some(data);
        }
    }
    None
}

/// What `context_selected` says when the engine fetches the context.
const BY_THE_ENGINE: &str = "a remote context is fetched by the engine";

/// An address on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn remote() -> Option<&'static RemoteEntry> {
    TestEnv::remote_or_skip()
}

engine_test! {
    /// A git URL without a fragment builds the default branch, `master`: its file, and the
    /// file `.dockerignore` lists (a remote context is not filtered).
    fn a_git_url_builds_the_default_branch(test) {
        let Some(remote) = remote() else { return };
        let mut guard = test.guard();
        let tag = builds(test, &mut guard, &[&remote.git_url], BY_THE_ENGINE);
        assert_eq!(file_in_image(test, &tag, "message.txt").as_deref(), Some("master\n"));
        assert!(file_in_image(test, &tag, "ignored.txt").is_some(), ".dockerignore was applied");
    }

    /// `#v1` builds the tag, whose message differs.
    fn a_tag_fragment_picks_the_ref(test) {
        let Some(remote) = remote() else { return };
        let mut guard = test.guard();
        let url = format!("{}#v1", remote.git_url);
        let tag = builds(test, &mut guard, &[&url], BY_THE_ENGINE);
        assert_eq!(file_in_image(test, &tag, "message.txt").as_deref(), Some("v1\n"));
    }

    /// `#master:sub` builds `sub/Dockerfile` with `sub` as the context. Engine 20.10's
    /// BuildKit refuses subdirectories, so devbuild fetches and sends that one itself.
    fn a_subdirectory_fragment_builds_its_dockerfile(test) {
        let Some(remote) = remote() else { return };
        let mut guard = test.guard();
        let url = format!("{}#master:sub", remote.git_url);
        let reason = if test.version == "20.10" {
            "devbuild fetched"
        } else {
            BY_THE_ENGINE
        };
        let tag = builds(test, &mut guard, &[&url], reason);
        assert_eq!(file_in_image(test, &tag, "sub.txt").as_deref(), Some("from sub\n"));
        assert_eq!(file_in_image(test, &tag, "message.txt"), None);
        // `-f` is a path inside the subdirectory, with a ref of its own.
        let url = format!("{}#v1:sub", remote.git_url);
        let tag = builds(test, &mut guard, &["-f", "Dockerfile", &url], reason);
        assert_eq!(file_in_image(test, &tag, "sub.txt").as_deref(), Some("from sub\n"));
    }

    /// A tarball URL builds, gzip-compressed or plain, also behind a redirect;
    /// `.dockerignore` does not apply to it either.
    fn a_tarball_url_builds(test) {
        let Some(remote) = remote() else { return };
        let mut guard = test.guard();
        for url in [
            remote.tarball_url.clone(),
            format!("{}/context.tar", remote.http_url),
            format!("{}/redirect/context.tar.gz", remote.http_url),
        ] {
            let tag = builds(test, &mut guard, &[&url], BY_THE_ENGINE);
            assert_eq!(
                file_in_image(test, &tag, "tarball.txt").as_deref(),
                Some("from the tarball\n"),
                "{url}"
            );
        }
    }

    /// The URL of a lone Dockerfile builds it with an empty context.
    fn a_dockerfile_url_builds(test) {
        let Some(remote) = remote() else { return };
        let mut guard = test.guard();
        let url = format!("{}/Dockerfile", remote.http_url);
        let tag = builds(test, &mut guard, &[&url], BY_THE_ENGINE);
        assert_eq!(
            file_in_image(test, &tag, "lone.txt").as_deref(),
            Some("from a lone Dockerfile\n")
        );
    }

    /// A git URL nothing answers: devbuild's own fetch says so (a warning naming the URL), and
    /// the build fails at once with an error naming it too.
    fn an_unreachable_git_url_fails_naming_it(test) {
        let url = format!("git://127.0.0.1:{}/nope.git", closed_port());
        let started = std::time::Instant::now();
        let output = devbuild_on(test).args(["build", "--progress=plain", &url]).output().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
        assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
        let stderr = text(&output.stderr);
        let error = stderr.lines().rev().find(|l| l.starts_with("error: ")).expect("an error line");
        assert!(error.contains(&url), "{stderr}");
        assert!(
            stderr.lines().any(|l| l.contains("building without a pre-pull") && l.contains(&url)),
            "{stderr}"
        );
    }

    /// A tarball URL that is not there: BuildKit says only "invalid response status 404";
    /// devbuild's error names the URL.
    fn a_missing_tarball_fails_naming_it(test) {
        let Some(remote) = remote() else { return };
        let url = format!("{}/nope.tar.gz", remote.http_url);
        let tag = test.unique_name("devbuild-remote-missing");
        let (output, events) = build_json(test, &tag, &[&url]);
        assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
        let failed = events_named(&events, "failed");
        let message = failed[0]["message"].as_str().unwrap();
        assert!(message.contains(&format!("remote context {url}: ")), "{message}");
        assert!(message.contains("404"), "{message}");
        let warning = events_named(&events, "warning");
        let said = warning[0]["message"].as_str().unwrap();
        assert!(said.starts_with(&format!("{url}: HTTP 404 Not Found; building without a pre-pull")), "{said}");
    }

    /// `devbuild pull` of a git URL reads its Dockerfile and finds the base image present.
    fn pull_reads_a_remote_dockerfile(test) {
        let Some(remote) = remote() else { return };
        let url = format!("{}#v1:sub", remote.git_url);
        let output = devbuild_on(test).args(["pull", &url]).output().unwrap();
        assert!(output.status.success(), "{}", transcript(&output));
        let stdout = text(&output.stdout);
        assert!(stdout.starts_with(&format!("{BASE} linux/")), "{stdout}");
        assert!(stdout.ends_with(" present\n") && stdout.lines().count() == 1, "{stdout}");
    }
}

/// `devbuild context` shows local contexts only; a URL is refused, naming it.
#[test]
fn context_refuses_a_remote_context() {
    for url in [
        "https://example.com/acme/app.git#v1",
        "https://example.com/context.tar.gz",
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_devbuild"))
            .args(["context", url])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with(&format!(
                "error: context {url}: a remote context is fetched by the engine"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("local contexts only"), "{stderr}");
    }
}
