//! Docker-backed: build secrets through the lean BuildKit session (`engine_client::session`)
//! on the private engines of `cargo xtask engine up` (Docker Engine 20.10 and 26.1), and the
//! session's lifecycle seen through a [`UnixProxy`]: dropping the build closes it, an engine
//! that drops it ends the build with an error, and either way the `RUN` stops.
//!
//! SSH forwarding (`RUN --mount=type=ssh`) is proven with the host's own `ssh-add`, its
//! shared libraries and dynamic loader put into the context (the base image is
//! busybox-static, without ssh tools), against a key of the test's own: listed and signed
//! with through the session, never removed. Registry credentials given to the session
//! (`Auth/Credentials`) let BuildKit pull a private base the engine does not have.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use devbuild_tests::process::{process_with, ProcessExit};
use devbuild_tests::ssh_agent::{ssh_add_in_context, OwnAgent, TestKey};
use devbuild_tests::tar::{tar_of, tar_of_modes};
use devbuild_tests::{engine_test, ImageGuard, TestEngine, UnixProxy};
use engine_client::credentials::DockerConfig;
use engine_client::endpoint::Endpoint;
use engine_client::engine::{BuildOptions, ConnectOptions, Engine, EngineError};
use engine_client::events::BuildEvent;
use engine_client::{BuildSecrets, SshAgents};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

async fn connect(engine: &TestEngine) -> Engine {
    connect_to(&engine.socket).await
}

async fn connect_to(socket: &Path) -> Engine {
    Engine::connect(Endpoint::unix(socket), &ConnectOptions::default())
        .await
        .unwrap()
}

/// How long the engine may take to notice a closed connection and stop a `RUN`: a bound
/// for a failing test, never a wait a passing one sits through.
const LIMIT: Duration = Duration::from_secs(60);

/// A build through `proxy` of a `RUN` that reads a secret, prints `marker` and sleeps for a
/// day, polled until the `RUN` has printed: the stream (with its session open) and a watch
/// on the `RUN`'s process on the engine.
async fn build_until_run_sleeps(
    engine: &Engine,
    test: &TestEngine,
    marker: &str,
) -> (
    impl Stream<Item = Result<BuildEvent, EngineError>> + Unpin,
    ProcessExit,
) {
    let options = BuildOptions {
        no_cache: true,
        secrets: secrets(&[("x", b"value")]),
        ..BuildOptions::default()
    };
    // busybox sh execs the last command of `-c`; `echo not-reached` keeps the shell (whose
    // command line has the marker) as the process that sleeps' parent.
    let dockerfile = format!(
        "FROM {}\nRUN --mount=type=secret,id=x cat /run/secrets/x >/dev/null && echo {marker} \
         && sleep 86400 && echo not-reached\n",
        test.base_image
    );
    let mut stream = engine.build(&options, context(&dockerfile));
    let mut seen = Vec::new();
    loop {
        match stream.next().await {
            Some(Ok(BuildEvent::VertexLog { line, .. })) if line.contains(marker) => break,
            Some(Ok(event)) => seen.push(event),
            other => panic!("the build ended before its RUN printed: {other:?}\n{seen:#?}"),
        }
    }
    let pid = process_with(marker).expect("the RUN process runs");
    (stream, ProcessExit::watch(pid))
}

fn context(dockerfile: &str) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let tar = tar_of(&[("Dockerfile", dockerfile.as_bytes())]);
    futures_util::stream::iter([Ok(Bytes::from(tar))])
}

fn secrets(pairs: &[(&str, &[u8])]) -> BuildSecrets {
    let mut secrets = BuildSecrets::new();
    for (id, value) in pairs {
        secrets.insert(*id, value.to_vec());
    }
    secrets
}

async fn build(
    engine: &Engine,
    options: &BuildOptions,
    dockerfile: &str,
) -> (Vec<BuildEvent>, Option<EngineError>) {
    let files = [(
        "Dockerfile".to_string(),
        dockerfile.as_bytes().to_vec(),
        0o644,
    )];
    build_files(engine, options, &files).await
}

fn logs(events: &[BuildEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::VertexLog { line, .. } => Some(format!("{line}\n")),
            _ => None,
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long a build here may take: a bound for a failing (hanging) test, never a wait a
/// passing one sits through.
const BUILD_LIMIT: Duration = Duration::from_secs(300);

/// A build of the context `files` (path, contents, mode), collected as [`build`] does, that
/// fails the test if it has not ended within [`BUILD_LIMIT`].
async fn build_files(
    engine: &Engine,
    options: &BuildOptions,
    files: &[(String, Vec<u8>, u32)],
) -> (Vec<BuildEvent>, Option<EngineError>) {
    let entries: Vec<_> = files
        .iter()
        .map(|(path, contents, mode)| (path.as_str(), contents.as_slice(), *mode))
        .collect();
    let tar = Bytes::from(tar_of_modes(&entries));
    let stream = engine.build(options, futures_util::stream::iter([Ok(tar)]));
    let items: Vec<_> = tokio::time::timeout(BUILD_LIMIT, stream.collect())
        .await
        .unwrap_or_else(|_| panic!("the build has not ended within {BUILD_LIMIT:?}"));
    let mut events = Vec::new();
    let mut error = None;
    for item in items {
        match item {
            Ok(event) => events.push(event),
            Err(e) => error = Some(e),
        }
    }
    (events, error)
}

/// The logs of each vertex, by digest.
fn logs_by_vertex(events: &[BuildEvent]) -> BTreeMap<&str, String> {
    let mut logs = BTreeMap::<&str, String>::new();
    for event in events {
        if let BuildEvent::VertexLog { vertex, line, .. } = event {
            let log = logs.entry(vertex.as_str()).or_default();
            log.push_str(line);
            log.push('\n');
        }
    }
    logs
}

/// The log of the one step whose output has the line `marker` (what its `echo` printed).
fn step_log<'a>(logs: &'a BTreeMap<&str, String>, marker: &str) -> &'a str {
    let mut found = logs
        .values()
        .filter(|log| log.lines().any(|line| line.trim() == marker));
    let log = found
        .next()
        .unwrap_or_else(|| panic!("no step printed {marker}: {logs:#?}"));
    assert!(
        found.next().is_none(),
        "two steps printed {marker}: {logs:#?}"
    );
    log
}

/// The markers the forwarding Dockerfile's steps print, one per `RUN`.
const LISTED: &str = "step-list";
const SIGNED: &str = "step-signed";
const REMOVING: &str = "step-remove";
const AFTER: &str = "step-after-remove";

/// A context whose Dockerfile, through the agent `id` (`None`: the default), lists the
/// agent's keys and signs with `key` (its `.pub` is `t/key.pub`), then tries to remove
/// every key (printing `remove-status=<ssh-add's exit status>`), then lists again.
fn forwarding_context(
    test: &TestEngine,
    key: &TestKey,
    id: Option<&str>,
) -> Vec<(String, Vec<u8>, u32)> {
    let (mut files, ssh_add) = ssh_add_in_context();
    files.push(("t/key.pub".into(), key.public(), 0o644));
    let mount = match id {
        Some(id) => format!("--mount=type=ssh,id={id},required=true"),
        None => "--mount=type=ssh".into(),
    };
    let dockerfile = format!(
        "FROM {base}\n\
         COPY t /t\n\
         RUN {mount} echo {LISTED} && {ssh_add} -l && {ssh_add} -T /t/key.pub && echo {SIGNED}\n\
         RUN {mount} echo {REMOVING}; {ssh_add} -D; echo remove-status=$?\n\
         RUN {mount} echo {AFTER} && {ssh_add} -l\n",
        base = test.base_image
    );
    files.push(("Dockerfile".into(), dockerfile.into_bytes(), 0o644));
    files
}

/// Asserts what the forwarding Dockerfile's steps printed: the key listed and signed with,
/// its removal refused, the key still listed after; gives the removal step's log.
fn assert_forwarded(events: &[BuildEvent], error: Option<EngineError>, key: &TestKey) -> String {
    assert!(error.is_none(), "{error:?}\n{events:#?}");
    let logs = logs_by_vertex(events);
    let listed = step_log(&logs, LISTED);
    assert!(
        listed.contains(&key.fingerprint),
        "{} in {listed}",
        key.fingerprint
    );
    assert!(listed.contains(&key.comment), "{} in {listed}", key.comment);
    assert!(
        listed.lines().any(|l| l.trim() == SIGNED),
        "not signed: {listed}"
    );
    let removing = step_log(&logs, REMOVING);
    let status = removing
        .lines()
        .find_map(|l| l.trim().strip_prefix("remove-status="))
        .unwrap_or_else(|| panic!("no status in {removing}"));
    assert!(
        status != "0" || removing.contains("agent refused"),
        "the forwarded agent let its keys be removed: {removing}"
    );
    let after = step_log(&logs, AFTER);
    assert!(
        after.contains(&key.fingerprint),
        "{} in {after}",
        key.fingerprint
    );
    removing.to_string()
}

/// Builds the forwarding context (through the agent `id`) with `ssh`, and asserts what its
/// steps printed ([`assert_forwarded`]); gives the removal step's log.
fn build_forwarding(test: &TestEngine, ssh: SshAgents, key: &TestKey, id: Option<&str>) -> String {
    let options = BuildOptions {
        no_cache: true,
        ssh,
        ..BuildOptions::default()
    };
    run(async {
        let engine = connect(test).await;
        let context = forwarding_context(test, key, id);
        let (events, error) = build_files(&engine, &options, &context).await;
        assert_forwarded(&events, error, key)
    })
}

/// A credentials config with the harness registry's login under `host`.
fn credentials_under(test: &TestEngine, host: &str) -> Arc<DockerConfig> {
    let auth = devbuild_tests::base64_standard(
        format!("{}:{}", test.registry.username, test.registry.password).as_bytes(),
    );
    let json = serde_json::json!({ "auths": { host: { "auth": auth } } });
    Arc::new(DockerConfig::from_json(&json.to_string()).unwrap())
}

engine_test! {
    /// A `RUN --mount=type=secret` reads the value served by the session: its hash shows
    /// in the step's log (never the value itself).
    fn session_serves_a_secret_to_run(test) {
        let value = format!("the-secret-{}", test.unique_name("v"));
        let hash = hex(&Sha256::digest(value.as_bytes()));
        run(async {
            let engine = connect(test).await;
            let options = BuildOptions {
                no_cache: true,
                secrets: secrets(&[("x", value.as_bytes())]),
                ..BuildOptions::default()
            };
            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=secret,id=x sha256sum /run/secrets/x\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            assert!(error.is_none(), "{error:?}\n{events:#?}");
            let logs = logs(&events);
            assert!(logs.contains(&hash), "{hash} in {logs}");
            let all = format!("{events:?}");
            assert!(!all.contains(&value), "the value shows in {all}");
        });
    }

    /// A secret the build asks for and the session does not have fails the build, naming
    /// its id; a `required=false` mount of it builds.
    fn session_missing_secret_fails_naming_it(test) {
        run(async {
            let engine = connect(test).await;
            let options = BuildOptions {
                no_cache: true,
                secrets: secrets(&[("present", b"v")]),
                ..BuildOptions::default()
            };
            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=secret,id=absent,required=true cat /run/secrets/absent\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            let error = error.unwrap_or_else(|| panic!("built: {events:#?}")).to_string();
            assert!(error.contains("absent"), "{error}");

            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=secret,id=absent,required=false test ! -e /run/secrets/absent\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            assert!(error.is_none(), "{error:?}\n{events:#?}");
        });
    }
}

engine_test! {
    /// Dropping the build's stream mid-`RUN` (how a library caller cancels) closes the
    /// session's connection, not only the build's, and the `RUN` stops on the engine.
    fn dropping_the_build_closes_its_session_and_stops_the_run(test) {
        let marker = format!("devbuild-session-drop-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        let proxy = UnixProxy::start(&test.socket, &dir.path().join("engine.sock")).unwrap();
        run(async {
            let engine = connect_to(proxy.socket()).await;
            let (stream, exited) = build_until_run_sleeps(&engine, test, &marker).await;
            assert!(proxy.wait_session(Duration::ZERO), "no session connection is open");
            drop(stream);
            // The runtime goes on (and so would a leaked session task) while this waits.
            tokio::task::block_in_place(|| {
                assert!(proxy.wait_sessions_closed(LIMIT), "the session stays open");
                assert!(exited.wait(LIMIT), "the RUN process still runs");
            });
        });
    }

    /// The engine's end of the session goes away mid-`RUN` (the proxy cuts that connection
    /// only): the build ends with the lost-session error naming the engine, not a hang,
    /// and the `RUN` stops on the engine.
    fn a_session_the_engine_drops_ends_the_build_and_stops_the_run(test) {
        let marker = format!("devbuild-session-cut-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        let proxy = UnixProxy::start(&test.socket, &dir.path().join("engine.sock")).unwrap();
        run(async {
            let engine = connect_to(proxy.socket()).await;
            let (mut stream, exited) = build_until_run_sleeps(&engine, test, &marker).await;
            assert_eq!(proxy.cut_sessions(), 1);
            let rest = tokio::time::timeout(LIMIT, async {
                let mut rest = Vec::new();
                while let Some(item) = stream.next().await {
                    rest.push(item);
                }
                rest
            })
            .await
            .expect("the build ends once its session is gone");
            let error = match rest.last() {
                Some(Err(e)) => e.to_string(),
                other => panic!("the build did not fail: {other:?}"),
            };
            assert!(error.contains("closed the build's BuildKit session"), "{error}");
            assert!(error.contains(&proxy.host()), "{error}");
            tokio::task::block_in_place(|| {
                assert!(exited.wait(LIMIT), "the RUN process still runs");
            });
        });
    }
}

engine_test! {
    /// `RUN --mount=type=ssh` with a key file (`--ssh default=KEY`, served by an agent of
    /// the key's own): `ssh-add -l` in the `RUN` lists it, `ssh-add -T` signs with it, and
    /// `ssh-add -D` is refused (the agent is read-only), so a later `RUN` still lists it.
    fn session_forwards_a_key_file_to_run(test) {
        let key = TestKey::new(test);
        let mut ssh = SshAgents::new();
        ssh.add("default", &[key.private()]).unwrap();
        let removing = build_forwarding(test, ssh, &key, None);
        eprintln!("engine {}: ssh-add -D in the RUN:\n{removing}", test.version);
    }

    /// The same through an agent socket of the host's (`--ssh default=SOCKET`): an
    /// `ssh-agent` of the test's own holding the key. After the build the host's agent
    /// still lists the key: the `RUN`'s `ssh-add -D` never reached it.
    fn session_forwards_an_agent_socket_read_only(test) {
        let key = TestKey::new(test);
        let dir = tempfile::tempdir().unwrap();
        let agent = OwnAgent::holding(dir.path(), &key.private());
        let mut ssh = SshAgents::new();
        ssh.add("default", std::slice::from_ref(&agent.socket)).unwrap();
        build_forwarding(test, ssh, &key, None);
        let listed = agent.ssh_add(&["-l".as_ref()]);
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(listed.contains(&key.fingerprint), "the host's agent lost the key: {listed}");
    }

    /// `RUN --mount=type=ssh,id=deploy` reaches the agent added as `deploy`.
    fn session_forwards_a_named_agent(test) {
        let key = TestKey::new(test);
        let mut ssh = SshAgents::new();
        ssh.add("deploy", &[key.private()]).unwrap();
        build_forwarding(test, ssh, &key, Some("deploy"));
    }

    /// A `RUN` that requires an agent id the session does not forward fails the build,
    /// naming the id; without `required=true` the mount is left out and the `RUN` builds
    /// (the frontend still sets `SSH_AUTH_SOCK`, to a socket that is not there).
    fn session_missing_ssh_id_fails_naming_it(test) {
        let key = TestKey::new(test);
        let mut ssh = SshAgents::new();
        ssh.add("default", &[key.private()]).unwrap();
        let options = BuildOptions { no_cache: true, ssh, ..BuildOptions::default() };
        run(async {
            let engine = connect(test).await;
            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=ssh,id=missing,required=true echo reached\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            let error = error.unwrap_or_else(|| panic!("built: {events:#?}")).to_string();
            eprintln!("engine {}: a missing ssh id: {error}", test.version);
            // BuildKit passes on the session's own NotFound (buildx's wording), behind its
            // gRPC code: `rpc error: code = NotFound desc = …` (20.10), `NotFound: …` (26.1).
            assert!(
                error.contains(r#"unset ssh forward key missing (the build forwards no SSH agent with id "missing")"#),
                "{error}"
            );
            assert!(error.contains("NotFound"), "{error}");
            assert!(!logs(&events).contains("reached"), "{events:#?}");

            let dockerfile = format!(
                "FROM {}\nRUN --mount=type=ssh,id=missing echo \"sock=$SSH_AUTH_SOCK\" \
                 && test ! -e \"$SSH_AUTH_SOCK\"\n",
                test.base_image
            );
            let (events, error) = build(&engine, &options, &dockerfile).await;
            assert!(error.is_none(), "{error:?}\n{events:#?}");
            let logs = logs(&events);
            assert!(logs.contains("sock=/run/buildkit/ssh_agent.0"), "{logs}");
        });
    }

    /// A private base the engine does not have, with a session (one secret) and
    /// `session_credentials` holding the registry's login: BuildKit pulls it for itself
    /// through the session's `Auth/Credentials` and the build passes.
    fn session_credentials_let_buildkit_pull_a_private_base(test) {
        let mut guard = test.guard();
        let (private, events, error) =
            build_on_absent_private_base(test, &mut guard, &test.registry.address);
        assert!(error.is_none(), "{error:?}\n{events:#?}");
        assert!(logs(&events).contains("built-on-private"), "{events:#?}");
        // BuildKit pulled it into its own store, not the engine's images.
        assert!(!test.has_image(&private), "{private}");
    }

    /// The same with credentials for another host only: the session answers BuildKit's
    /// question about the registry with none, and the pull fails with the registry's
    /// refusal.
    fn session_credentials_of_another_host_leave_the_pull_unauthorized(test) {
        let mut guard = test.guard();
        let (private, events, error) = build_on_absent_private_base(test, &mut guard, "127.0.0.1:1");
        let error = error.unwrap_or_else(|| panic!("built: {events:#?}")).to_string();
        // The registry's refusal of the manifest, as each engine's BuildKit words it.
        assert!(error.contains("401 Unauthorized"), "{error}");
        assert!(error.contains(&private), "{error}");
        assert!(!logs(&events).contains("built-on-private"), "{events:#?}");
        assert!(!test.has_image(&private));
    }
}

/// Builds `FROM` a fresh private image the engine does not have, with a session (one
/// secret) whose `session_credentials` hold the registry's login under `host`: the image,
/// and the build's events and error. `guard` removes the image.
fn build_on_absent_private_base(
    test: &TestEngine,
    guard: &mut ImageGuard,
    host: &str,
) -> (String, Vec<BuildEvent>, Option<EngineError>) {
    let private = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
    test.remove_image(&private);
    assert!(
        !test.has_image(&private),
        "{private} is in the engine's store"
    );
    let options = BuildOptions {
        no_cache: true,
        secrets: secrets(&[("x", b"v")]),
        session_credentials: Some(credentials_under(test, host)),
        ..BuildOptions::default()
    };
    let dockerfile =
        format!("FROM {private}\nRUN --mount=type=secret,id=x echo built-on-private\n");
    let (events, error) = run(async {
        let engine = connect(test).await;
        build(&engine, &options, &dockerfile).await
    });
    (private, events, error)
}
