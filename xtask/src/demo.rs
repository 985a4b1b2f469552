//! `cargo xtask demo`: devbuild's main job on this machine with nothing set up — brings up
//! the private Engine 26.1 (and its registry) if needed, then builds `examples/hello` with
//! the live progress view, on the engine's local base image.

use std::process::Command;

use crate::engine::{self, ENGINES};
use crate::workspace;

/// `cargo xtask demo [-- extra devbuild build options]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let engine_26 = ENGINES
        .iter()
        .find(|spec| spec.version == "26.1")
        .expect("the harness knows Engine 26.1");
    let env = engine::up_locked(&[engine_26], "cargo xtask demo")?;
    let entry = env
        .engines
        .iter()
        .find(|entry| entry.version == engine_26.version)
        .ok_or("engine up did not bring up Engine 26.1")?;
    let mut build_args = vec![
        "run".to_string(),
        "--quiet".to_string(),
        "--package".to_string(),
        "devbuild".to_string(),
        "--".to_string(),
        "build".to_string(),
        "--build-arg".to_string(),
        format!("BASE={}", env.base_image),
        "-t".to_string(),
        "devbuild-demo/hello:latest".to_string(),
    ];
    build_args.extend(args.iter().filter(|a| *a != "--").cloned());
    build_args.push("examples/hello".to_string());
    eprintln!(
        "==> demo: devbuild build examples/hello on Engine {} ({})",
        entry.engine_version,
        entry.host()
    );
    let status = Command::new("cargo")
        .args(&build_args)
        .env("DOCKER_HOST", entry.host())
        .env("DOCKER_CONFIG", &env.docker_config)
        .current_dir(workspace::root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("devbuild build failed ({status})"));
    }
    eprintln!(
        "==> demo: built devbuild-demo/hello:latest; try it:\n    DOCKER_HOST={} docker run --rm devbuild-demo/hello:latest",
        entry.host()
    );
    Ok(())
}
