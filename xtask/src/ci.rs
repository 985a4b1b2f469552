//! `cargo xtask ci`: what CI runs — formatting, lints, the private test engines
//! (`engine up`), the whole test suite (the docker-backed tests against both engines), the
//! fuzz targets for 60 s each (`fuzz --seconds 60`), the bench's smoke run (`bench --quick`),
//! and `engine down`, which always runs: after a failure and after Ctrl-C too. The engines
//! directory's lock is held from `engine up` to `engine down`, so a second `ci` (or
//! `engine up`/`down`) waits for this one instead of taking its engines down under its
//! tests.

use crate::bench;
use crate::engine::{self, Layout};
use crate::interrupt;
use crate::workspace::{cargo_has, run_step, run_step_with_env};

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
    if cargo_has("nextest") {
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
