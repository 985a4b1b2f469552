//! Docker-backed: `devbuild build --ssh` on the private engines of `cargo xtask engine up`
//! (Docker Engine 20.10 and 26.1). The host's `ssh-add`, packed into the context
//! (`devbuild_tests::ssh_agent`), lists the forwarded key inside `RUN --mount=type=ssh`:
//! a key file of its own, and `default` from `$SSH_AUTH_SOCK`. A build without `--secret`
//! or `--ssh` opens no session (seen at a proxy in front of the engine); one with `--ssh`
//! opens one. Unusable agents and keys are refused before anything is sent.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use devbuild_tests::ssh_agent::{ssh_add_in_context, OwnAgent, TestKey};
use devbuild_tests::{engine_test, TestEngine, UnixProxy};

mod common;
use common::{devbuild_on, devbuild_without_engine, transcript};

/// A context whose Dockerfile lists the forwarded agent's keys (the mount's `id`, if one is
/// given) with the host's `ssh-add`.
fn listing_context(test: &TestEngine, id: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (files, ssh_add) = ssh_add_in_context();
    for (path, contents, mode) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let mount = match id {
        Some(id) => format!("--mount=type=ssh,id={id},required=true"),
        None => "--mount=type=ssh".to_owned(),
    };
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {}\nCOPY t /t\nRUN {mount} {ssh_add} -l\n",
            test.base_image
        ),
    )
    .unwrap();
    dir
}

/// `devbuild build --no-cache --progress=plain ARGS DIR` on `test`'s engine, or through
/// `proxy` in front of it; `$SSH_AUTH_SOCK` only as `env` gives it.
fn build(
    test: &TestEngine,
    proxy: Option<&UnixProxy>,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
) -> Output {
    let mut command = devbuild_on(test);
    if let Some(proxy) = proxy {
        command.env("DOCKER_HOST", proxy.host());
    }
    command
        .args(["build", "--no-cache", "--progress=plain"])
        .args(args)
        .arg(dir)
        .env_remove("SSH_AUTH_SOCK");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

engine_test! {
    /// `--ssh deploy=KEY`: the key, served by an agent of its own, is listed inside the
    /// `RUN` that mounts `id=deploy`.
    fn a_key_file_is_listed_inside_the_run(test) {
        let key = TestKey::new(test);
        let dir = listing_context(test, Some("deploy"));
        let flag = format!("deploy={}", key.private().display());
        let output = build(test, None, dir.path(), &["--ssh", &flag], &[]);
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(text.contains(&key.fingerprint), "{} in {text}", key.fingerprint);
        assert!(text.contains(&key.comment), "{text}");
    }

    /// `--ssh default`: the agent of `$SSH_AUTH_SOCK`, through one session (seen at a proxy
    /// in front of the engine); and the same build without `--ssh` fails its `RUN` (no
    /// agent), having opened no session at all.
    fn default_is_the_agent_of_ssh_auth_sock_and_no_flag_opens_no_session(test) {
        let key = TestKey::new(test);
        let agent_dir = tempfile::tempdir().unwrap();
        let agent = OwnAgent::holding(agent_dir.path(), &key.private());
        let proxy_dir = tempfile::tempdir().unwrap();
        let proxy = UnixProxy::start(&test.socket, &proxy_dir.path().join("engine.sock")).unwrap();
        let dir = listing_context(test, None);

        let without = build(test, Some(&proxy), dir.path(), &[], &[]);
        assert_ne!(without.status.code(), Some(0), "{}", transcript(&without));
        assert_eq!(proxy.sessions_seen(), 0, "a build without --secret or --ssh opened a session");

        let output = build(
            test,
            Some(&proxy),
            dir.path(),
            &["--ssh", "default"],
            &[("SSH_AUTH_SOCK", &agent.socket)],
        );
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(text.contains(&key.fingerprint), "{} in {text}", key.fingerprint);
        assert_eq!(proxy.sessions_seen(), 1);
    }

    /// A mount of an id the command line does not forward fails the build naming the id.
    fn an_id_not_forwarded_fails_naming_it(test) {
        let key = TestKey::new(test);
        let dir = listing_context(test, Some("missing"));
        let flag = format!("default={}", key.private().display());
        let output = build(test, None, dir.path(), &["--ssh", &flag], &[]);
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(
            text.contains(r#"the build forwards no SSH agent with id "missing""#),
            "{text}"
        );
    }
}

/// What cannot be forwarded is refused before anything is sent, naming the id and path:
/// `default` without `$SSH_AUTH_SOCK`, a key protected by a passphrase, a stale socket.
#[test]
fn unusable_agents_and_keys_are_refused_before_the_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let stderr = |output: &Output| {
        assert_eq!(output.status.code(), Some(2), "{}", transcript(output));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    assert_eq!(
        stderr(&devbuild_without_engine(dir.path(), &["--ssh", "default", "."])),
        "error: ssh default: no agent socket given and SSH_AUTH_SOCK is not set (start ssh-agent, or give --ssh default=SOCKET|KEY)\n"
    );

    let key = dir.path().join("id_locked");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let flag = format!("git={}", key.display());
    assert_eq!(
        stderr(&devbuild_without_engine(dir.path(), &["--ssh", &flag, "."])),
        format!(
            "error: ssh git: {}: the key is protected by a passphrase; add it to your agent (ssh-add) and forward the agent instead\n",
            key.display()
        )
    );

    let socket = dir.path().join("gone.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let flag = format!("default={}", socket.display());
    assert_eq!(
        stderr(&devbuild_without_engine(dir.path(), &["--ssh", &flag, "."])),
        format!(
            "error: ssh default: {}: cannot connect to the agent: connection refused\n",
            socket.display()
        )
    );
}
