//! `cargo xtask ci`: what CI runs — formatting, lints, the private test engines
//! (`engine up`), the whole test suite (the docker-backed tests against both engines), the
//! fuzz targets for 60 s each (`fuzz --seconds 60`), the bench's smoke run (`bench --quick`),
//! and `engine down`, which always runs: after a failure and after Ctrl-C too. The engines
//! directory's lock is held from `engine up` to `engine down`, so a second `ci` (or
//! `engine up`/`down`) waits for this one instead of taking its engines down under its
//! tests.

use crate::bench;
use crate::engine::{self, Layout};
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

/// `cargo xtask ci [--no-wait|--wait SECONDS]`. Every step uses `--all-features`, so
/// feature-gated code (ctx-tar's streaming body) is linted and tested too.
pub fn run(args: &[String]) -> Result<(), String> {
    interrupt::install();
    let (wait, _) = engine::lock::Wait::from_args(args)?;
    run_step("format check", "cargo", &["fmt", "--all", "--", "--check"])?;
    run_step(
        "clippy",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    interrupt::check()?;
    // Held from `engine up` to `engine down`; released however this process ends.
    let _lock = engine::lock("cargo xtask ci", wait)?;
    let all = engine::all_engines();
    let result = engine::up(&all)
        .map_err(|e| format!("engine up failed: {e}"))
        .and_then(|env| {
            interrupt::check()?;
            tests()?;
            interrupt::check()?;
            // Every fuzz target for a bounded time: a crash found is a failing run.
            crate::fuzz::fuzz_all(crate::fuzz::DEFAULT_SECONDS)
                .map_err(|e| format!("fuzz failed: {e}"))?;
            interrupt::check()?;
            // The bench's smoke run, while the engines are still up.
            bench::quick(&env).map_err(|e| format!("bench --quick failed: {e}"))
        });
    let result = result.map_err(|e| match interrupt::check() {
        Ok(()) => e,
        Err(_) => format!("interrupted ({e})"),
    });
    // Always, whatever happened above.
    let down = engine::down(&all).map_err(|e| format!("engine down failed: {e}"));
    match (result, down) {
        (Ok(()), down) => down,
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(d)) => Err(format!("{e}\n{d}")),
    }
}

/// The whole test suite; the docker-backed tests get the env file and may not skip.
fn tests() -> Result<(), String> {
    let envs = [
        (
            "DEVBUILD_TEST_ENV_FILE",
            Layout::new().env_file().display().to_string(),
        ),
        ("DEVBUILD_TEST_REQUIRE_ENGINE", "1".to_string()),
    ];
    if has_nextest() {
        run_step_with_env(
            "tests",
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ],
            &envs,
        )?;
        interrupt::check()?;
        run_step_with_env(
            "doc tests",
            "cargo",
            &["test", "--workspace", "--all-features", "--doc"],
            &envs,
        )
    } else {
        run_step_with_env(
            "tests",
            "cargo",
            &["test", "--workspace", "--all-features", "--no-fail-fast"],
            &envs,
        )
    }
}

/// Ctrl-C (SIGINT) and SIGTERM: remembered instead of ending xtask, so that `engine down`
/// still runs. Children get the default disposition back when they exec, so the running
/// step (cargo, apt-get) still stops at once. The bench uses it too, to remove its images.
pub mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);

    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;

    extern "C" fn on_signal(_signal: i32) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }

    extern "C" {
        /// libc's `signal(2)`; the previous handler is returned and ignored.
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }

    /// Installs the handler for SIGINT and SIGTERM.
    pub fn install() {
        for signum in [SIGINT, SIGTERM] {
            // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe, and
            // glibc's `signal` installs it with BSD semantics (SA_RESTART, not reset).
            unsafe {
                signal(signum, on_signal);
            }
        }
    }

    /// Fails when a signal arrived.
    pub fn check() -> Result<(), String> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            Err("interrupted".to_string())
        } else {
            Ok(())
        }
    }
}
