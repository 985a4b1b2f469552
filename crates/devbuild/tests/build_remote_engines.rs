//! Docker-backed: what changes when the engine is not on this machine.
//!
//! - The context can be sent gzip-compressed (`BuildSpec::compress`, `--compress`), which
//!   the engine unpacks as it unpacks a plain tar; the choice is automatic by the engine's
//!   address.
//! - The whole pipeline (pre-pull of a private image with the user's credentials, the
//!   build, its progress, Ctrl-C) works over tcp+TLS and over ssh, the harness's Engine 26.1
//!   endpoints (`cargo xtask engine up`), and through a context `docker context create`
//!   made; so does a `--secret` build, whose BuildKit session takes the same way; a wrong CA, another host name, an expired or missing client certificate, an
//!   unknown host key are each one clear error and exit status 3.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use devbuild::engine_client::endpoint::Endpoint;
use devbuild::engine_client::engine::{ConnectOptions, Engine};
use devbuild::{build, BuildSpec, Event};
mod common;
use common::ctrl_c_during_run;
use devbuild_tests::process::ProcessExit;
use devbuild_tests::{engine_test, run_on, TestEngine, TestEnv, DOCKER_CLI};
use sha2::{Digest, Sha256};

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A context whose 1 MiB file compresses to almost nothing, and a Dockerfile that checks
/// the file arrived whole.
fn compressible_context(base: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zeros"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {base}\nCOPY zeros /zeros\nRUN test \"$(wc -c < /zeros)\" = 1048576 && \
             test \"$(tr -d '\\000' < /zeros | wc -c)\" = 0\n"
        ),
    )
    .unwrap();
    dir
}

/// The bytes of the context that went to the engine (the last upload event's count).
fn bytes_sent(events: &[Event]) -> u64 {
    events
        .iter()
        .rev()
        .find_map(|event| match event {
            Event::UploadProgress {
                bytes, done: true, ..
            } => Some(*bytes),
            _ => None,
        })
        .expect("a final upload event")
}

engine_test! {
    /// `compress: Some(true)` sends the context gzip-compressed (a fraction of the tar's
    /// size goes over the socket) and the build sees the files as they are; over a unix
    /// socket the default is to send it plain.
    fn a_compressed_context_builds_the_same_files(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("devbuild-compress"));
        let dir = compressible_context(&test.base_image);
        std::env::set_var("DOCKER_CONFIG", &TestEnv::load().unwrap().docker_config);
        run(async {
            let engine = Engine::connect(Endpoint::unix(&test.socket), &ConnectOptions::default())
                .await
                .unwrap();
            let mut spec = BuildSpec::new(dir.path());
            spec.tags.push(tag.clone());
            spec.no_cache = true;
            spec.compress = Some(true);
            let mut events = Vec::new();
            let outcome = build(&engine, &spec, |e| events.push(e.clone())).await.unwrap();
            let tar = outcome.context.as_ref().unwrap().archive_bytes;
            let sent = bytes_sent(&events);
            assert!(tar > 1 << 20 && sent < 64 << 10, "tar {tar} bytes, sent {sent}");
            assert!(test.has_image(&tag));

            spec.compress = None;
            let mut events = Vec::new();
            build(&engine, &spec, |e| events.push(e.clone())).await.unwrap();
            assert!(bytes_sent(&events) > 1 << 20, "a unix socket gets the plain tar");
        });
    }

    /// The CLI's `--compress` and `--compress=false`.
    fn the_cli_compresses_on_request(test) {
        let dir = compressible_context(&test.base_image);
        let env = TestEnv::load().unwrap();
        for (flag, compressed) in [("--compress", true), ("--compress=false", false)] {
            let output = Command::new(env!("CARGO_BIN_EXE_devbuild"))
                .args(["build", "--progress=json", "--no-cache", flag])
                .arg(dir.path())
                .env_remove("DOCKER_CONTEXT")
                .env("DOCKER_HOST", format!("unix://{}", test.socket.display()))
                .env("DOCKER_CONFIG", &env.docker_config)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{flag}: {}", String::from_utf8_lossy(&output.stderr));
            let sent = stdout
                .lines()
                .rev()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|event| event["event"] == "upload_progress" && event["done"] == true)
                .find_map(|event| event["bytes"].as_u64())
                .unwrap_or_else(|| panic!("{flag}: no final upload event in {stdout}"));
            assert_eq!(sent < 64 << 10, compressed, "{flag}: {sent} bytes sent");
        }
    }
}

/// How `devbuild` reaches the remote endpoint under test.
enum Remote<'a> {
    /// `DOCKER_HOST=tcp://…`, `DOCKER_TLS_VERIFY=1`, `DOCKER_CERT_PATH=<dir>`.
    Tls { host: &'a str, cert_path: &'a Path },
    /// `DOCKER_HOST=ssh://…` with the harness's `ssh` wrapper (its config, key and known
    /// hosts) first in `PATH`.
    Ssh { host: &'a str, bin: &'a Path },
}

/// `devbuild` pointed at `remote`, with the harness's credentials.
fn devbuild_at(remote: &Remote<'_>) -> Command {
    let env = TestEnv::load().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_devbuild"));
    command
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env("DOCKER_CONFIG", &env.docker_config);
    match remote {
        Remote::Tls { host, cert_path } => {
            command
                .env("DOCKER_HOST", host)
                .env("DOCKER_TLS_VERIFY", "1")
                .env("DOCKER_CERT_PATH", cert_path);
        }
        Remote::Ssh { host, bin } => {
            let path = std::env::var("PATH").unwrap_or_default();
            command
                .env("DOCKER_HOST", host)
                .env("PATH", format!("{}:{path}", bin.display()));
        }
    }
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A private base image (a copy of the harness's, so the pre-pull has to fetch it with
/// the harness's credentials), and a build from it that shows in its log what it ran.
fn build_private_base(test: &TestEngine, remote: &Remote<'_>, what: &str) {
    let mut guard = test.guard();
    let base = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
    let tag = guard.remove_later(&test.unique_name(what));
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("built-over-{what}");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nRUN echo {marker}\n"),
    )
    .unwrap();
    let output = devbuild_at(remote)
        .args(["build", "--progress=plain", "--no-cache", "-t", &tag])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = stderr(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("Pulling from"), "no pull: {said}");
    assert!(said.contains(&marker), "no step log: {said}");
    assert!(test.has_image(&tag), "{tag} is not on the engine");
    assert!(test.has_image(&base), "the pre-pull did not leave {base}");
}

/// Ctrl-C during a `RUN` that sleeps: the process on the engine ends and devbuild exits
/// 130.
fn interrupt(test: &TestEngine, remote: &Remote<'_>, what: &str) {
    let marker = format!("devbuild-interrupt-{what}-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN echo {marker} && sleep 86400 && echo not-reached\n",
            test.base_image
        ),
    )
    .unwrap();
    let mut command = devbuild_at(remote);
    command
        .args(["build", "--no-cache", "--progress=json"])
        .arg(dir.path());
    let (_, output) = ctrl_c_during_run(command, &marker);
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
}

/// A `--secret` build: its session reaches the engine the way the rest of the API does,
/// and the `RUN` reads the value (its hash shows in the step's log, the value nowhere).
fn build_with_secret(test: &TestEngine, remote: &Remote<'_>, what: &str) {
    let value = format!("s3cr3t-{what}-{}", test.unique_name("value"));
    let hash: String = Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN --mount=type=secret,id=x sha256sum /run/secrets/x\n",
            test.base_image
        ),
    )
    .unwrap();
    let output = devbuild_at(remote)
        .args([
            "build",
            "--progress=plain",
            "--no-cache",
            "--secret",
            "id=x",
        ])
        .arg(dir.path())
        .env("x", &value)
        .output()
        .unwrap();
    let said = stderr(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains(&hash), "the hash in the step's log: {said}");
    assert!(!said.contains(&value), "the value shows: {said}");
}

/// The `ssh` processes started through `bin` (its wrapper marks their command line) that
/// are still running 10 s on: an `ssh` whose devbuild has gone sees its input end and
/// exits by itself (each is waited for through a pidfd), but none may stay.
fn ssh_left_from(bin: &Path) -> Vec<String> {
    let marker = mark_of(bin);
    let mut left = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("dial-stdio") && cmdline.contains(&marker) {
            left.push((pid, cmdline));
        }
    }
    left.into_iter()
        .filter(|(pid, _)| {
            ProcessExit::try_watch(*pid).is_some_and(|exit| !exit.wait(Duration::from_secs(10)))
        })
        .map(|(_, cmdline)| cmdline)
        .collect()
}

/// The variable name a wrapper directory's `ssh` passes to `SendEnv` (no variable of
/// that name exists, so nothing is sent).
fn mark_of(dir: &Path) -> String {
    format!(
        "DEVBUILD_TEST_MARK{}",
        dir.display().to_string().replace(['/', '.'], "_")
    )
}

/// A wrapper directory whose `ssh` runs the harness's (its config, key and known hosts)
/// with a harmless option naming the directory, so the processes it starts can be found.
fn marked_ssh_bin(ssh_bin: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("ssh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {} -o SendEnv={} \"$@\"\n",
            ssh_bin.join("ssh").display(),
            mark_of(dir.path())
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A failed connection: exit status 3 and each of `words` in the error.
fn refused(remote: &Remote<'_>, words: &[&str]) {
    refused_within(remote, words, 1);
}

/// [`refused`] where the words may need a few `attempts`: with TLS 1.3 the engine checks
/// the client's certificate after the client has finished its handshake, so the engine's
/// alert can lose the race to the connection's reset. Every attempt must fail with exit
/// status 3 and one error line.
fn refused_within(remote: &Remote<'_>, words: &[&str], attempts: usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let mut said_all = Vec::new();
    for _ in 0..attempts {
        let output = devbuild_at(remote)
            .args(["build"])
            .arg(dir.path())
            .output()
            .unwrap();
        let said = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{said}");
        let errors = said.lines().filter(|l| l.starts_with("error: ")).count();
        assert_eq!(errors, 1, "{said}");
        if words.iter().all(|word| said.contains(word)) {
            return;
        }
        said_all.push(said);
    }
    panic!("{words:?} not in: {said_all:#?}");
}

#[test]
fn builds_over_tls() {
    let Some(tls) = TestEnv::tls_or_skip() else {
        return;
    };
    run_on("26.1", |test| {
        let remote = Remote::Tls {
            host: &tls.host,
            cert_path: &tls.cert_path,
        };
        build_private_base(test, &remote, "tls");
        // A build with a secret: its session over TLS too.
        build_with_secret(test, &remote, "tls");
        interrupt(test, &remote, "tls");
    });
}

#[test]
fn builds_over_ssh_and_leaves_no_ssh_behind() {
    let Some(ssh) = TestEnv::ssh_or_skip() else {
        return;
    };
    run_on("26.1", |test| {
        let bin = marked_ssh_bin(&ssh.bin);
        let remote = Remote::Ssh {
            host: &ssh.host,
            bin: bin.path(),
        };
        build_private_base(test, &remote, "ssh");
        // A build with a secret: its session over its own `ssh` process.
        build_with_secret(test, &remote, "ssh");
        assert_eq!(
            ssh_left_from(bin.path()),
            Vec::<String>::new(),
            "after the builds"
        );
        interrupt(test, &remote, "ssh");
        assert_eq!(
            ssh_left_from(bin.path()),
            Vec::<String>::new(),
            "after Ctrl-C"
        );
        // The far side was asked for what the docker CLI asks for.
        let log = std::fs::read_to_string(&ssh.command_log).unwrap();
        assert!(
            log.lines()
                .any(|line| line.trim() == "docker system dial-stdio"),
            "{log}"
        );
    });
}

#[test]
fn tls_problems_are_named() {
    let Some(tls) = TestEnv::tls_or_skip() else {
        return;
    };
    let wrong_ca = tls.wrong_ca_path.join("ca.pem").display().to_string();
    refused(
        &Remote::Tls {
            host: &tls.host,
            cert_path: &tls.wrong_ca_path,
        },
        &[
            "the engine's certificate is not signed by the CA in",
            &wrong_ca,
        ],
    );
    let localhost = tls.host.replace("127.0.0.1", "localhost");
    refused(
        &Remote::Tls {
            host: &localhost,
            cert_path: &tls.cert_path,
        },
        &[
            "the engine's certificate is not for this address",
            "\"localhost\"",
        ],
    );
    let expired = tls.expired_cert_path.join("cert.pem").display().to_string();
    refused_within(
        &Remote::Tls {
            host: &tls.host,
            cert_path: &tls.expired_cert_path,
        },
        &[
            "the engine refused the client certificate",
            &expired,
            "it has expired",
        ],
        5,
    );
    // A certificate without its key; then neither (the engine requires one).
    let dir = tempfile::tempdir().unwrap();
    for name in ["ca.pem", "cert.pem"] {
        std::fs::copy(tls.cert_path.join(name), dir.path().join(name)).unwrap();
    }
    let key = dir.path().join("key.pem").display().to_string();
    refused(
        &Remote::Tls {
            host: &tls.host,
            cert_path: dir.path(),
        },
        &["the TLS client key", &key, "no such file or directory"],
    );
    std::fs::remove_file(dir.path().join("cert.pem")).unwrap();
    refused_within(
        &Remote::Tls {
            host: &tls.host,
            cert_path: dir.path(),
        },
        &["the engine requires a client certificate, and there is none"],
        5,
    );
    // Plain HTTP to the TLS port.
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .arg("build")
        .arg(context.path())
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env("DOCKER_HOST", &tls.host)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("the engine expects TLS there"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_host_key_is_ssh_s_own_error() {
    let Some(ssh) = TestEnv::ssh_or_skip() else {
        return;
    };
    refused(
        &Remote::Ssh {
            host: &ssh.host,
            bin: &ssh.bad_bin,
        },
        &["ssh exited with code 255", "Host key verification failed."],
    );
}

/// A context made by `docker context create` with the TLS files (which the docker CLI
/// copies into the context's `tls/` folder) builds, chosen by `--context`-free
/// `DOCKER_CONTEXT` and by the config's `currentContext`.
#[test]
fn a_docker_context_with_tls_files_builds() {
    let Some(tls) = TestEnv::tls_or_skip() else {
        return;
    };
    let env = TestEnv::load().unwrap();
    let config = tempfile::tempdir().unwrap();
    std::fs::copy(
        env.docker_config.join("config.json"),
        config.path().join("config.json"),
    )
    .unwrap();
    let file = |name: &str| tls.cert_path.join(name).display().to_string();
    let docker = format!(
        "host={},ca={},cert={},key={}",
        tls.host,
        file("ca.pem"),
        file("cert.pem"),
        file("key.pem")
    );
    let created = Command::new(DOCKER_CLI)
        .args(["context", "create", "remote-tls", "--docker", &docker])
        .env("DOCKER_CONFIG", config.path())
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    run_on("26.1", |test| {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("context-tls"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {}\nRUN true\n", test.base_image),
        )
        .unwrap();
        for how in ["DOCKER_CONTEXT", "docker context use"] {
            let mut command = Command::new(env!("CARGO_BIN_EXE_devbuild"));
            command
                .args(["build", "-q", "-t", &tag])
                .arg(dir.path())
                .env_remove("DOCKER_HOST")
                .env_remove("DOCKER_CONTEXT")
                .env_remove("DOCKER_TLS_VERIFY")
                .env_remove("DOCKER_CERT_PATH")
                .env("DOCKER_CONFIG", config.path());
            if how == "DOCKER_CONTEXT" {
                command.env("DOCKER_CONTEXT", "remote-tls");
            } else {
                let used = Command::new(DOCKER_CLI)
                    .args(["context", "use", "remote-tls"])
                    .env("DOCKER_CONFIG", config.path())
                    .output()
                    .unwrap();
                assert!(used.status.success(), "{}", stderr(&used));
            }
            let output = command.output().unwrap();
            assert!(output.status.success(), "{how}: {}", stderr(&output));
            assert!(test.has_image(&tag), "{how}");
        }
    });
}
