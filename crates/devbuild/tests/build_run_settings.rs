//! Docker-backed: the `docker buildx build` options the Engine API serves without a session
//! reach the build, on both engines. Each test asserts the option's effect inside a `RUN`
//! (what it prints, in `--progress=plain`): the hosts `--add-host` adds to `/etc/hosts`,
//! the interfaces under `--network none`, the host's loopback under `--network host`,
//! `/dev/shm`'s size, `ulimit -n`; on Engine 20.10, which would ignore `--shm-size` and
//! `--ulimit`, their refusal. `--cache-to type=inline` and `--cache-from` go through the test
//! registry: a pushed image's steps are cached where the engine's own cache is gone.
//! `--progress=rawjson` is compared with buildx's own.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use common::devbuild_on;
use devbuild::engine_client::solve_status::SolveStatus;
use devbuild_tests::{engine_test, TestEngine, TestEnv};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A context whose Dockerfile is `FROM <base>` and then `rest`.
fn context_with(engine: &TestEngine, rest: &str) -> tempfile::TempDir {
    context_on(&engine.base_image, rest)
}

/// A context whose Dockerfile is `FROM <base>` and then `rest`.
fn context_on(base: &str, rest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\n{rest}"),
    )
    .unwrap();
    dir
}

/// `devbuild build --progress=plain --no-cache ARGS… CONTEXT` on `engine`.
fn build_plain(engine: &TestEngine, context: &Path, args: &[&str]) -> Output {
    devbuild_on(engine)
        .args(["build", "--progress=plain", "--no-cache"])
        .args(args)
        .arg(context)
        .output()
        .unwrap()
}

/// The log lines of the build's steps (`#N 0.123 <line>`), without the prefix.
fn step_logs(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('#')?;
            let (_, rest) = rest.split_once(' ')?;
            let (offset, log) = rest.split_once(' ')?;
            offset.parse::<f64>().ok()?;
            Some(log.to_owned())
        })
        .collect()
}

/// Removes the engine's build cache records whose description holds `marker` (a step's
/// unique command), leaving every other test's cache alone: the prune runs while no other
/// test runs on the engine ([`Engine::alone`]), as BuildKit drops the cache links of the
/// builds running during a prune.
fn prune_cache_of(engine: &TestEngine, marker: &str) {
    // `type=build-cache` (API 1.42) spares Engine 26.1 the sizes of every image and volume;
    // Engine 20.10 ignores it.
    let df = engine.get("/system/df?type=build-cache");
    assert_eq!(df.status, 200, "{}", df.text());
    let df: serde_json::Value = serde_json::from_slice(&df.body).unwrap();
    let ids: Vec<String> = df["BuildCache"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|record| {
            record["Description"]
                .as_str()
                .is_some_and(|d| d.contains(marker))
        })
        .filter_map(|record| record["ID"].as_str().map(str::to_owned))
        .collect();
    assert!(!ids.is_empty(), "no build cache record of {marker}");
    engine.alone(|| {
        for id in ids {
            let filters = serde_json::json!({ "id": [id] }).to_string();
            let path = format!(
                "/build/prune?filters={}",
                devbuild_tests::http::query_value(&filters)
            );
            let pruned = engine.request("POST", &path, Vec::new(), None);
            assert_eq!(pruned.status, 200, "prune {id}: {}", pruned.text());
        }
    });
}

engine_test! {
    /// `--add-host` entries, in both spellings, IPv6 in brackets and `host-gateway`, are in
    /// the RUN's `/etc/hosts`.
    fn add_host_entries_are_in_etc_hosts(engine) {
        let context = context_with(engine, "RUN cat /etc/hosts\n");
        let output = build_plain(engine, context.path(), &[
            "--add-host", "devbuild-db:10.1.2.3",
            "--add-host", "devbuild-v6=[2001:db8::7],devbuild-eq=10.9.8.7",
            "--add-host", "devbuild-gw:host-gateway",
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let logs = step_logs(&stderr);
        let entry = |name: &str| {
            logs.iter()
                .map(|line| line.split_whitespace().collect::<Vec<_>>())
                .find(|fields| fields.len() == 2 && fields[1] == name)
                .map(|fields| fields[0].to_owned())
                .unwrap_or_else(|| panic!("no {name} in /etc/hosts:\n{stderr}"))
        };
        assert_eq!(entry("devbuild-db"), "10.1.2.3");
        assert_eq!(entry("devbuild-v6"), "2001:db8::7");
        assert_eq!(entry("devbuild-eq"), "10.9.8.7");
        let gateway = entry("devbuild-gw");
        assert!(gateway.parse::<std::net::IpAddr>().is_ok(), "host-gateway gave {gateway:?}");
    }

    /// `--network none` leaves the RUN only the loopback interface (the default network
    /// gives it one more).
    fn network_none_leaves_only_loopback(engine) {
        let context = context_with(engine, "RUN echo interfaces: $(ls /sys/class/net)\n");
        let interfaces = |network: &str| {
            let output = build_plain(engine, context.path(), &["--network", network]);
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "{stderr}");
            step_logs(&stderr)
                .iter()
                .find_map(|line| line.strip_prefix("interfaces: ").map(str::to_owned))
                .unwrap_or_else(|| panic!("no interfaces printed:\n{stderr}"))
        };
        assert_eq!(interfaces("none"), "lo");
        assert_ne!(interfaces("default"), "lo");
    }

    /// `--network host` puts the RUN in the host's network: it reaches a server listening on
    /// the host's 127.0.0.1.
    fn network_host_reaches_the_hosts_loopback(engine) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Answers connections until the test ends; a build that never connects leaves it
        // waiting, and the assertion below fails.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(
                    b"HTTP/1.0 200 OK\r\nContent-Length: 21\r\n\r\ndevbuild-host-network",
                );
            }
        });
        let context = context_with(
            engine,
            &format!("RUN echo got: $(wget -q -O- http://127.0.0.1:{port}/)\n"),
        );
        let output = build_plain(engine, context.path(), &["--network", "host"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            step_logs(&stderr).iter().any(|l| l == "got: devbuild-host-network"),
            "the RUN did not reach 127.0.0.1:{port} of the host:\n{stderr}"
        );
    }

    /// `--shm-size` sizes the RUN's `/dev/shm` and `--ulimit` sets its limits; Engine 20.10,
    /// whose BuildKit would ignore both, refuses them before building.
    fn shm_size_and_ulimit_reach_the_run_or_are_refused(engine) {
        let context = context_with(
            engine,
            "RUN echo shm: $(df -k /dev/shm | tail -n 1) && echo nofile: $(ulimit -n) $(ulimit -Hn)\n",
        );
        let output = build_plain(engine, context.path(), &[
            "--shm-size", "96m", "--ulimit", "nofile=1234:2345",
        ]);
        let stderr = text(&output.stderr);
        if engine.version == "20.10" {
            assert_eq!(output.status.code(), Some(2), "{stderr}");
            assert!(
                stderr.contains("--shm-size and --ulimit need Engine 23.0 (API 1.42) or later")
                    && stderr.contains(&format!("is Engine {}", engine.engine_version)),
                "{stderr}"
            );
            // No BuildKit step ran (devbuild's own analysis did).
            assert!(!stderr.contains("[internal]"), "a build ran:\n{stderr}");
            return;
        }
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let logs = step_logs(&stderr);
        let shm = logs.iter().find_map(|l| l.strip_prefix("shm: ")).unwrap_or_else(|| panic!("{stderr}"));
        assert_eq!(shm.split_whitespace().nth(1), Some("98304"), "/dev/shm: {shm}");
        assert!(logs.iter().any(|l| l == "nofile: 1234 2345"), "{stderr}");
    }

    /// An image built with `--cache-to type=inline` and pushed gives its steps as cached to
    /// a build with `--cache-from` on an engine without their cache (the engine's own
    /// records of them pruned), and only with it: the cache image is pulled with the user's
    /// credentials first. (Engines 20.10 and 26.1 do not share cache keys, so each engine
    /// consumes its own push: buildx gets no hit across them either.)
    fn inline_cache_pushed_gives_cached_steps_to_cache_from(engine) {
        let env = TestEnv::load().unwrap();
        let name = engine.unique_name("devbuild-inline-cache");
        let cache_image = format!("{}/{name}", env.registry.address);
        let nonce = format!("nonce-{}", name.replace(['/', ':'], "-"));
        let mut guard = engine.guard();
        let context = context_on(&guard.own_base(), &format!("RUN echo {nonce} > /nonce\n"));
        guard.remove_later(&cache_image);
        let built = guard.remove_later(&engine.unique_name("devbuild-inline-cache-user"));
        let build = |args: &[&str]| {
            let output = devbuild_on(engine)
                .args(["build", "--progress=json"])
                .args(args)
                .arg(context.path())
                .output()
                .unwrap();
            let stdout = text(&output.stdout);
            assert_eq!(output.status.code(), Some(0), "{}\n{stdout}", text(&output.stderr));
            stdout
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .collect::<Vec<_>>()
        };
        let run_cached = |events: &[serde_json::Value]| {
            events.iter().any(|e| {
                e["event"] == "step_cached" && e["name"].as_str().is_some_and(|n| n.contains(&nonce))
            })
        };

        let events = build(&["--cache-to", "type=inline", "-t", &cache_image, "--push"]);
        engine.remove_image(&cache_image);
        assert!(
            events.iter().any(|e| e["event"] == "pushed" && e["image"] == cache_image.as_str()),
            "not pushed: {events:#?}"
        );
        prune_cache_of(engine, &nonce);

        // Without --cache-from the step runs: its cache is gone from the engine.
        let events = build(&["-t", &built]);
        assert!(!run_cached(&events), "cached without --cache-from: {events:?}");
        engine.remove_image(&built);
        prune_cache_of(engine, &nonce);

        let events = build(&["-t", &built, "--cache-from", &cache_image]);
        let pulled = events.iter().any(|e| {
            e["event"] == "image_ready" && e["image"] == cache_image.as_str() && e["outcome"]["status"] == "pulled"
        });
        assert!(pulled, "the cache image was not pulled: {events:#?}");
        assert!(run_cached(&events), "the RUN was not cached from {cache_image}: {events:#?}");
    }

    /// `--progress=rawjson` prints BuildKit's status updates, one JSON object per line on
    /// standard error, as buildx does: the same steps, the RUN's output in base64, no key
    /// buildx's own stream does not use.
    fn rawjson_is_buildkits_status_as_buildx_prints_it(engine) {
        let context = context_with(engine, "ARG NONCE\nRUN echo \"rawjson $NONCE\"\n");
        let nonce = format!("NONCE={}", engine.unique_name("rawjson").replace(['/', ':'], "-"));
        let output = devbuild_on(engine)
            .args(["build", "--progress=rawjson", "--no-cache", "--build-arg", &nonce])
            .arg(context.path())
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(output.stdout.is_empty());
        let ours: Vec<serde_json::Value> = stderr
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();

        let dir = tempfile::tempdir().unwrap();
        let buildx = buildx_rawjson(engine, dir.path(), context.path(), &nonce);
        let steps = |stream: &[serde_json::Value]| {
            let mut names: Vec<String> = stream
                .iter()
                .flat_map(|s| s["vertexes"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v["name"].as_str().map(str::to_owned))
                .filter(|n| n.starts_with('['))
                .filter(|n| !n.starts_with("[internal]"))
                // BuildKit shares the base image's step with concurrent builds of the same
                // image, under their names (`[first 1/2] FROM …`) in either stream.
                .filter(|n| !n.contains("] FROM "))
                .collect();
            names.sort();
            names.dedup();
            names
        };
        assert_eq!(steps(&ours), steps(&buildx));
        // Read back as BuildKit's client type, which also decodes the logs' base64.
        let logs = |stream: &[serde_json::Value]| -> String {
            stream
                .iter()
                .map(|s| serde_json::from_value::<SolveStatus>(s.clone()).unwrap_or_else(|e| panic!("{e}: {s}")))
                .flat_map(|s| s.logs)
                .map(|log| String::from_utf8_lossy(&log.data).into_owned())
                .collect()
        };
        let expected = format!("rawjson {}\n", nonce.trim_start_matches("NONCE="));
        assert!(logs(&ours).contains(&expected), "{stderr}");
        assert!(logs(&buildx).contains(&expected));
        let mut buildx_keys = std::collections::BTreeSet::new();
        for status in &buildx {
            key_paths(status, "", &mut buildx_keys);
        }
        let mut our_keys = std::collections::BTreeSet::new();
        for status in &ours {
            key_paths(status, "", &mut our_keys);
        }
        let extra: Vec<_> = our_keys.difference(&buildx_keys).collect();
        assert!(extra.is_empty(), "keys buildx never writes: {extra:?}");
    }
}

/// Every key path of a JSON value (`vertexes[].name`), into `out`.
fn key_paths(
    value: &serde_json::Value,
    prefix: &str,
    out: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let path = format!("{prefix}.{key}");
                out.insert(path.clone());
                key_paths(value, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// `docker buildx build --progress=rawjson` of `context` on `engine` (with a `DOCKER_CONFIG`
/// of its own under `dir`, holding only the harness's buildx plugin): its status updates.
/// buildx before 0.14 indents each one over several lines; they are read as a JSON stream.
fn buildx_rawjson(
    engine: &TestEngine,
    dir: &Path,
    context: &Path,
    build_arg: &str,
) -> Vec<serde_json::Value> {
    let plugin = TestEnv::load()
        .unwrap()
        .docker_config
        .join("cli-plugins/docker-buildx");
    let config = dir.join("docker-config");
    std::fs::create_dir_all(config.join("cli-plugins")).unwrap();
    std::os::unix::fs::symlink(&plugin, config.join("cli-plugins/docker-buildx")).unwrap();
    let output = std::process::Command::new("docker")
        .args([
            "buildx",
            "build",
            "--progress=rawjson",
            "--no-cache",
            "--build-arg",
            build_arg,
        ])
        .arg(context)
        .env("DOCKER_HOST", format!("unix://{}", engine.socket.display()))
        .env("DOCKER_CONFIG", &config)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("BUILDX_BUILDER")
        .env_remove("BUILDKIT_PROGRESS")
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker (the harness installs it): {e}"));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "buildx: {stderr}");
    serde_json::Deserializer::from_str(&stderr)
        .into_iter::<serde_json::Value>()
        .map_while(Result::ok)
        .collect()
}
