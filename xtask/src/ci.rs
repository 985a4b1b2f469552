//! `cargo xtask ci`: what CI runs — formatting, lints, and the whole test suite.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// Runs a command in the workspace root, failing with its description when it fails.
pub fn run_step(description: &str, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("==> {description}: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{description}: cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed ({status})"))
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `cargo xtask ci`.
pub fn run(_args: &[String]) -> Result<(), String> {
    run_step("format check", "cargo", &["fmt", "--all", "--", "--check"])?;
    run_step(
        "clippy",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    if has_nextest() {
        run_step(
            "tests",
            "cargo",
            &["nextest", "run", "--workspace", "--no-fail-fast"],
        )?;
        run_step("doc tests", "cargo", &["test", "--workspace", "--doc"])?;
    } else {
        run_step("tests", "cargo", &["test", "--workspace", "--no-fail-fast"])?;
    }
    Ok(())
}
