//! The workspace xtask works on: where its root is, and how a step (cargo, a tool) is run
//! there. Shared by every command, so that none of them has to import another's module.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// Whether the cargo subcommand `name` is installed (`cargo <name> --version` runs).
pub fn cargo_has(name: &str) -> bool {
    Command::new("cargo")
        .args([name, "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command in the workspace root, failing with its description when it fails.
pub fn run_step(description: &str, program: &str, args: &[&str]) -> Result<(), String> {
    run_step_with_env(description, program, args, &[])
}

/// Like [`run_step`], with extra environment variables for the command.
pub fn run_step_with_env(
    description: &str,
    program: &str,
    args: &[&str],
    envs: &[(&str, String)],
) -> Result<(), String> {
    let shown: Vec<String> = envs.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    eprintln!(
        "==> {description}: {}{program} {}",
        shown.concat(),
        args.join(" ")
    );
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .current_dir(root())
        .status()
        .map_err(|e| format!("{description}: cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed ({status})"))
    }
}
