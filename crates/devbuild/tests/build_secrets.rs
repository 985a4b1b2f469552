//! Docker-backed: `devbuild build --secret` on the private engines of `cargo xtask engine up`
//! (Docker Engine 20.10 and 26.1): the value reaches `RUN --mount=type=secret` through the
//! build's session and nothing else (no layer, config or history, no progress output, not
//! the engine's log or its build cache's records); a
//! missing secret fails naming it; `required=false` builds; a private base image and a
//! secret together.

use std::path::Path;
use std::process::{Command, Output};

use devbuild_tests::{engine_test, TestEngine, TestEnv};
use sha2::{Digest, Sha256};

/// `devbuild build ARGS… DIR` against `engine`, with the harness's credentials and the
/// extra environment `env`.
fn devbuild(engine: &TestEngine, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let test_env = TestEnv::load().unwrap();
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .arg("build")
        .args(args)
        .arg(dir)
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_HOST", format!("unix://{}", engine.socket.display()))
        .env("DOCKER_CONFIG", &test_env.docker_config)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn transcript(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

engine_test! {
    /// The secret's hash is written by the `RUN` into the image and shows in the step's log;
    /// the value is in no progress output (plain or json), and not in the image: neither
    /// its files (the export) nor its config and history (`docker save`'s tar).
    fn secret_reaches_run_and_nothing_else(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("devbuild-secret"));
        let value = format!("s3cr3t-{}", test.unique_name("value"));
        let hash = hex(&Sha256::digest(value.as_bytes()));
        let dir = context(&format!(
            "FROM {}\nRUN --mount=type=secret,id=x sha256sum /run/secrets/x | tee /secret.sha256\n",
            test.base_image
        ));
        let file = dir.path().join("x.txt");
        std::fs::write(&file, &value).unwrap();
        let secret = format!("id=x,src={}", file.display());
        let output = devbuild(test, dir.path(), &["--progress=plain", "--no-cache", "--secret", &secret, "-t", &tag], &[]);
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(text.contains(&hash), "the hash in the step's log: {text}");
        assert!(!text.contains(&value), "the value shows: {text}");

        // From the environment, with only an id (buildx's default), in JSON progress.
        let output = devbuild(
            test,
            dir.path(),
            &["--progress=json", "--no-cache", "--secret", "id=x", "-t", &tag],
            &[("x", &value)],
        );
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(text.contains(&hash), "{text}");
        assert!(!text.contains(&value), "the value shows: {text}");

        let files = test.export_image(&tag);
        assert!(contains(&files, hash.as_bytes()), "the RUN's file is in the image");
        assert!(!contains(&files, value.as_bytes()), "the value is in the image's files");
        let saved = test.get(&format!("/images/{tag}/get"));
        assert_eq!(saved.status, 200);
        assert!(contains(&saved.body, hash.as_bytes()), "the layer is in the save");
        assert!(!contains(&saved.body, value.as_bytes()), "the value is in a layer, the config or the history");

        // The engine writes what it logs as it happens; both builds have ended.
        let log = std::fs::read(&test.log)
            .unwrap_or_else(|e| panic!("the engine's log {}: {e}", test.log.display()));
        assert!(!log.is_empty(), "{} is empty", test.log.display());
        assert!(!contains(&log, value.as_bytes()), "the value is in {}", test.log.display());
        // The build cache's records (what `docker buildx du --verbose` lists), descriptions
        // and all; 20.10 ignores `type` and answers everything, which holds them too.
        let df = test.get("/system/df?type=build-cache");
        assert_eq!(df.status, 200, "{}", String::from_utf8_lossy(&df.body));
        let records: serde_json::Value = serde_json::from_slice(&df.body).unwrap();
        let records = records["BuildCache"].as_array().expect("build cache records");
        assert!(!records.is_empty(), "no build cache records to look at");
        assert!(!contains(&df.body, value.as_bytes()), "the value is in a build cache record");
    }

    /// A secret the Dockerfile needs and the command line does not give fails the build
    /// naming its id; `required=false` builds without it.
    fn missing_secret_fails_naming_it(test) {
        let dir = context(&format!(
            "FROM {}\nRUN --mount=type=secret,id=needed,required=true cat /run/secrets/needed\n",
            test.base_image
        ));
        let output = devbuild(test, dir.path(), &["--progress=plain", "--no-cache", "--secret", "id=other,env=OTHER"], &[("OTHER", "v")]);
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        let error = String::from_utf8_lossy(&output.stderr);
        let last = error.lines().rfind(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("{text}"));
        assert!(last.contains("needed"), "{last}");

        let dir = context(&format!(
            "FROM {}\nRUN --mount=type=secret,id=needed,required=false test ! -e /run/secrets/needed\n",
            test.base_image
        ));
        let output = devbuild(test, dir.path(), &["--progress=plain", "--no-cache", "--secret", "id=other,env=OTHER"], &[("OTHER", "v")]);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    }

    /// A private base image (pre-pulled with the harness's credentials) and a secret in one
    /// build: the pre-pull and the session together.
    fn secret_with_a_private_base(test) {
        let mut guard = test.guard();
        let base = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
        let tag = guard.remove_later(&test.unique_name("devbuild-secret-private"));
        let dir = context(&format!(
            "FROM {base}\nRUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = expected\n"
        ));
        let output = devbuild(test, dir.path(), &["--progress=plain", "--no-cache", "--secret", "id=tok,env=TOK", "-t", &tag], &[("TOK", "expected")]);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
        assert!(test.has_image(&tag));
    }
}

/// An unreadable secret file is refused before anything runs (exit 2), naming the secret
/// and the file; no engine is needed.
#[test]
fn an_unreadable_secret_file_is_refused_naming_it() {
    let dir = context("FROM scratch\n");
    let missing = dir.path().join("nope.txt");
    let output = Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(["build", "--secret"])
        .arg(format!("id=tok,src={}", missing.display()))
        .arg(dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: secret tok: cannot read {}: no such file or directory\n",
            missing.display()
        )
    );
}
