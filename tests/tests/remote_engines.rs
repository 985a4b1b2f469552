//! Docker-backed: the harness serves Engine 26.1 as a remote engine is reached, over tcp+TLS
//! and over ssh, and the real docker CLI (the one the harness installs) gets through with the
//! good certificates and configuration and is refused with each bad one. Without those
//! endpoints the tests print `SKIPPED` and pass, except under CI, where they fail.

use devbuild_tests::{TestEnv, DOCKER_CLI};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// What a `docker … version --format {{.Server.APIVersion}}` run gave.
struct CliRun {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs the docker CLI's `version` with `args` before it, `PATH` prefixed with `bin` when
/// given, the harness's `DOCKER_CONFIG` and nothing else of this process's environment (no
/// `DOCKER_HOST` or `DOCKER_*` of the caller's); `env` is added.
fn docker_version(args: &[&str], bin: Option<&Path>, env: &[(&str, &OsStr)]) -> CliRun {
    let system_path = "/usr/sbin:/usr/bin:/sbin:/bin";
    let path = match bin {
        Some(bin) => format!("{}:{system_path}", bin.display()),
        None => system_path.to_string(),
    };
    let config = TestEnv::load().expect("the env file").docker_config.clone();
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("timeout");
    command
        .arg("60")
        .arg(DOCKER_CLI)
        .args(args)
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", config);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {DOCKER_CLI}: {e}"));
    CliRun {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `--tlsverify` with the certificates of `dir` (a `DOCKER_CERT_PATH` directory), on `host`.
fn tls_args(dir: &Path, host: &str) -> Vec<String> {
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    vec![
        "--tlsverify".into(),
        "--tlscacert".into(),
        file("ca.pem"),
        "--tlscert".into(),
        file("cert.pem"),
        "--tlskey".into(),
        file("key.pem"),
        "-H".into(),
        host.into(),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The good client's certificates, given as flags and as `DOCKER_CERT_PATH` with
/// `DOCKER_TLS_VERIFY=1`, reach Engine 26.1 (API 1.45).
#[test]
fn tls_endpoint_serves_engine_26_1_to_the_docker_cli() {
    let Some(tls) = TestEnv::tls_or_skip() else {
        return;
    };
    let flags = docker_version(&strs(&tls_args(&tls.cert_path, &tls.host)), None, &[]);
    assert!(flags.success, "{}", flags.stderr);
    assert_eq!(flags.stdout, "1.45");

    let env = docker_version(
        &["-H", &tls.host],
        None,
        &[
            ("DOCKER_CERT_PATH", tls.cert_path.as_os_str()),
            ("DOCKER_TLS_VERIFY", OsStr::new("1")),
        ],
    );
    assert!(env.success, "{}", env.stderr);
    assert_eq!(env.stdout, "1.45");
}

/// The server's certificate names `IP:127.0.0.1` only: the same port as `localhost` fails
/// the host name check.
#[test]
fn tls_endpoint_fails_the_host_name_check_as_localhost() {
    let Some(tls) = TestEnv::tls_or_skip() else {
        return;
    };
    let localhost = tls.host.replace("tcp://127.0.0.1:", "tcp://localhost:");
    assert_ne!(localhost, tls.host);
    let run = docker_version(&strs(&tls_args(&tls.cert_path, &localhost)), None, &[]);
    assert!(!run.success, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "x509: certificate is not valid for any names, but wanted to match localhost"
        ),
        "{}",
        run.stderr
    );
}

/// With an unrelated CA's `ca.pem` the client cannot verify the server; with an expired
/// client certificate the engine refuses the handshake.
#[test]
fn tls_endpoint_refuses_a_wrong_ca_and_an_expired_client_certificate() {
    let Some(tls) = TestEnv::tls_or_skip() else {
        return;
    };
    let wrong_ca = docker_version(&strs(&tls_args(&tls.wrong_ca_path, &tls.host)), None, &[]);
    assert!(!wrong_ca.success, "{}", wrong_ca.stdout);
    assert!(
        wrong_ca
            .stderr
            .contains("x509: certificate signed by unknown authority"),
        "{}",
        wrong_ca.stderr
    );

    // With TLS 1.3 the server checks the client's certificate after the client has finished
    // its handshake: its alert can lose the race to the connection's reset, so the alert is
    // looked for over a few attempts, each of which must fail.
    let mut said = Vec::new();
    for _ in 0..5 {
        let expired = docker_version(
            &strs(&tls_args(&tls.expired_cert_path, &tls.host)),
            None,
            &[],
        );
        assert!(!expired.success, "{}", expired.stdout);
        if expired.stderr.contains("tls: expired certificate") {
            return;
        }
        said.push(expired.stderr);
    }
    panic!("no attempt said `tls: expired certificate`: {said:#?}");
}

/// With the harness's `ssh` wrapper first in `PATH`, `docker -H ssh://…` reaches Engine 26.1
/// (API 1.45); the forced command logged what the CLI asked to run.
#[test]
fn ssh_endpoint_serves_engine_26_1_to_the_docker_cli() {
    let Some(ssh) = TestEnv::ssh_or_skip() else {
        return;
    };
    let run = docker_version(&["-H", &ssh.host], Some(&ssh.bin), &[]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout, "1.45");
    let log = std::fs::read_to_string(&ssh.command_log).unwrap();
    assert!(
        log.lines().any(|l| l == "docker system dial-stdio"),
        "{} has no `docker system dial-stdio` line:\n{log}",
        ssh.command_log.display()
    );
}

/// With the wrapper whose known hosts file holds another host key, ssh refuses the server.
#[test]
fn ssh_endpoint_is_refused_with_a_wrong_known_host_key() {
    let Some(ssh) = TestEnv::ssh_or_skip() else {
        return;
    };
    let run = docker_version(&["-H", &ssh.host], Some(&ssh.bad_bin), &[]);
    assert!(!run.success, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            && run.stderr.contains("Host key verification failed."),
        "{}",
        run.stderr
    );
}

/// The wrapper is plain `ssh -F <config>`: ssh itself, given the command the docker CLI
/// sends, speaks the Engine API over its stdio (the forced command runs whatever was asked).
#[test]
fn ssh_wrapper_runs_dial_stdio_with_the_harness_config() {
    let Some(ssh) = TestEnv::ssh_or_skip() else {
        return;
    };
    use std::io::{Read, Write};
    let mut child = Command::new(ssh.bin.join("ssh"))
        .args(["127.0.0.1", "docker", "system", "dial-stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // stdin stays open until the engine has answered and closed (`Connection: close`).
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut response)
        .unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("Api-Version: 1.45\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nOK"), "{response}");
    assert!(status.success(), "{status}");
}
