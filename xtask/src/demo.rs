//! `cargo xtask demo`: devbuild's main job on this machine with nothing set up — brings up
//! the private Engine 26.1 (and its registry) if needed, compiles devbuild with cargo's
//! progress in view (minutes on a fresh clone), then builds `examples/hello` with the live
//! progress view, on the engine's local base image.

use std::process::Command;

use crate::engine::{self, ENGINES};
use crate::workspace;

/// What the demo says before it compiles: on a fresh clone the compile takes minutes, and a
/// silent wait that long looks like a hang.
const COMPILING: &str =
    "==> demo: compiling devbuild (cargo build --package devbuild; minutes on a fresh clone)";

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
    eprintln!("{COMPILING}");
    let status = Command::new("cargo")
        .args(compile_args())
        .current_dir(workspace::root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("compiling devbuild failed ({status})"));
    }
    eprintln!(
        "==> demo: devbuild build examples/hello on Engine {} ({})",
        entry.engine_version,
        entry.host()
    );
    let status = Command::new("cargo")
        .args(build_args(&env.base_image, args))
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

/// The compile step: `cargo build` without `--quiet`, so that cargo shows what it compiles
/// and its progress bar.
fn compile_args() -> Vec<String> {
    ["build", "--package", "devbuild", "--bin", "devbuild"]
        .map(String::from)
        .to_vec()
}

/// The build itself: `cargo run --quiet` (devbuild is compiled by then, so cargo has nothing
/// to say) with the user's extra options before the context.
fn build_args(base_image: &str, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--quiet",
        "--package",
        "devbuild",
        "--bin",
        "devbuild",
        "--",
        "build",
        "--build-arg",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("BASE={base_image}"));
    args.extend(["-t".to_string(), "devbuild-demo/hello:latest".to_string()]);
    args.extend(extra.iter().filter(|a| *a != "--").cloned());
    args.push("examples/hello".to_string());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_that_it_compiles_and_lets_cargo_show_its_progress() {
        assert!(COMPILING.contains("compiling devbuild"), "{COMPILING}");
        let compile = compile_args();
        assert_eq!(compile[0], "build");
        assert!(
            !compile.iter().any(|a| a == "--quiet" || a == "-q"),
            "cargo's progress is hidden: {compile:?}"
        );
        // The build step compiles the same target, so it has nothing left to compile.
        let build = build_args("devbuild-test/busybox:1", &[]);
        assert_eq!(build[1], "--quiet");
        assert_eq!(build[2..6], compile[1..]);
    }

    #[test]
    fn passes_extra_options_before_the_context() {
        let extra = ["--".to_string(), "--progress=plain".to_string()];
        let build = build_args("devbuild-test/busybox:1", &extra);
        assert_eq!(
            build[7..],
            [
                "build",
                "--build-arg",
                "BASE=devbuild-test/busybox:1",
                "-t",
                "devbuild-demo/hello:latest",
                "--progress=plain",
                "examples/hello"
            ]
        );
    }
}
