//! `cargo xtask nextest-list <test binary> --list --format terse [--ignored]` (hidden): the
//! list wrapper `.config/nextest.toml` gives the docker-backed test binaries, so that where no
//! engine can be had nextest reports their tests as skipped, not as passed.
//!
//! It runs the binary's own listing; then, unless the tests may not skip (CI,
//! `DEVBUILD_TEST_REQUIRE_ENGINE=1`) or the call is not a listing, it moves the tests whose
//! engine cannot be had from the tests to run into the ignored ones
//! (`devbuild_tests::nextest`), and says once per engine on stderr how many and why. A test
//! nextest then runs anyway (`--run-ignored all`) still skips loudly, or fails under CI, as
//! under `cargo test`.

use std::io::Write;
use std::process::Command;

use devbuild_tests::must_not_skip;
use devbuild_tests::nextest::{move_unavailable, unavailable};

/// `cargo xtask nextest-list BINARY ARGS...`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (binary, args) = args
        .split_first()
        .ok_or("usage: cargo xtask nextest-list <test binary> [args...]")?;
    let listing = list(binary, args)?;
    if must_not_skip() || !args.iter().any(|a| a == "--list") {
        return print(&listing);
    }
    let ignored = args.iter().any(|a| a == "--ignored");
    let all = if ignored {
        // The tests to move are among those the binary runs by default.
        let default: Vec<String> = args.iter().filter(|a| *a != "--ignored").cloned().collect();
        list(binary, &default)?
    } else {
        listing.clone()
    };
    let moved = move_unavailable(&all, unavailable);
    if ignored {
        return print(&format!("{listing}{}", moved.moved));
    }
    let name = std::path::Path::new(binary)
        .file_name()
        .map_or(binary.clone(), |n| n.to_string_lossy().into_owned());
    for (needs, why, count) in &moved.reasons {
        eprintln!(
            "SKIPPED ({count} tests of {name}: no {needs}: {why}; run `cargo xtask engine up` to get one)"
        );
    }
    print(&moved.kept)
}

/// The standard output of `binary args…`, which must succeed.
fn list(binary: &str, args: &[String]) -> Result<String, String> {
    let output = Command::new(binary)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {binary}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{binary} {}: {}", args.join(" "), output.status));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{binary}: listing is not UTF-8: {e}"))
}

fn print(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the listing: {e}"))
}
