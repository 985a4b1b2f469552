//! Docker-backed: what changes when the engine is not on this machine. The context can be
//! sent gzip-compressed (`BuildSpec::compress`, `--compress`), which the engine unpacks as
//! it unpacks a plain tar; the choice is automatic by the engine's address.

use std::process::Command;

use devbuild::engine_client::endpoint::Endpoint;
use devbuild::engine_client::engine::{ConnectOptions, Engine};
use devbuild::{build, BuildSpec, Event};
use devbuild_tests::{engine_test, TestEnv};

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
