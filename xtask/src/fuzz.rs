//! `cargo xtask fuzz [--seconds N]`: runs every fuzz target of the workspace for N seconds
//! (default 60) with cargo-fuzz, and fails, naming the target and the input that made it
//! fail, when a target finds a crash (or a hang, a leak, an out-of-memory). `cargo xtask ci`
//! runs it after the test suite, so that a crash found later is a failing CI run.
//!
//! cargo-fuzz is installed first (`cargo install cargo-fuzz@0.13.2 --locked`) when
//! `cargo fuzz --version` fails. Each target is built once (release, with debug assertions
//! and AddressSanitizer; `RUSTC_BOOTSTRAP=1` lets the stable toolchain use cargo-fuzz's
//! unstable flags) and run as
//!
//! ```text
//! cargo fuzz run --debug-assertions TARGET SCRATCH SEEDS -- -max_total_time=N -timeout=20
//! ```
//!
//! in its crate's directory. libFuzzer reads every corpus directory it is given but writes
//! new inputs only to the first: `SEEDS` (`crates/<crate>/fuzz/corpus/<target>/`, tracked
//! in git, the seed inputs only) is never written, and what a run finds goes to `SCRATCH`
//! (`target/fuzz/corpus/<target>/`), which later local runs start from too. A failing
//! input is written to `crates/<crate>/fuzz/artifacts/<target>/` (cargo-fuzz's place).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::interrupt;
use crate::workspace::{self, cargo_has, run_step};

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N]";

/// The cargo-fuzz this project is tested with, installed when none is.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// How long each target runs when `--seconds` is not given (and in CI).
pub const DEFAULT_SECONDS: u64 = 60;

/// libFuzzer's limit for one input (its own default is 20 minutes): the code under test is
/// linear in its input, so an input of a few KiB that takes this long is a hang.
const INPUT_TIMEOUT_SECONDS: u64 = 20;

/// One fuzz target: the crate whose `fuzz/` directory holds it, and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuzzTarget {
    /// The crate's directory, relative to the workspace root.
    pub crate_dir: &'static str,
    /// The target's name (`fuzz/fuzz_targets/<name>.rs`).
    pub name: &'static str,
}

/// Every fuzz target of the workspace, in the order they run.
pub const TARGETS: [FuzzTarget; 2] = [
    FuzzTarget {
        crate_dir: "crates/dockerfile-froms",
        name: "analyze",
    },
    FuzzTarget {
        crate_dir: "crates/ctx-tar",
        name: "dockerignore",
    },
];

impl FuzzTarget {
    /// `crates/<crate>/fuzz`, where cargo-fuzz finds the target.
    fn fuzz_dir(&self, root: &Path) -> PathBuf {
        root.join(self.crate_dir).join("fuzz")
    }

    /// The seed corpus, tracked in git, never written by a run.
    fn seed_corpus(&self, root: &Path) -> PathBuf {
        self.fuzz_dir(root).join("corpus").join(self.name)
    }

    /// Where a run writes the inputs it finds.
    fn scratch_corpus(&self, root: &Path) -> PathBuf {
        root.join("target/fuzz/corpus").join(self.name)
    }
}

/// `cargo xtask fuzz [--seconds N]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let seconds = parse_seconds(args)?;
    fuzz_all(seconds)
}

/// The run time per target from the command line: `--seconds N` or `--seconds=N`, N > 0.
fn parse_seconds(args: &[String]) -> Result<u64, String> {
    let value = match args {
        [] => return Ok(DEFAULT_SECONDS),
        [flag, value] if flag == "--seconds" => value.as_str(),
        [flag] => match flag.strip_prefix("--seconds=") {
            Some(value) => value,
            None => return Err(USAGE.to_string()),
        },
        _ => return Err(USAGE.to_string()),
    };
    match value.parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(seconds),
        _ => Err(format!(
            "--seconds takes a whole number of seconds above 0, not {value:?}\n{USAGE}"
        )),
    }
}

/// Installs cargo-fuzz if needed, then runs every target for `seconds` each; fails when a
/// target does, after running the others.
pub fn fuzz_all(seconds: u64) -> Result<(), String> {
    ensure_cargo_fuzz()?;
    let root = workspace::root();
    let mut failures = Vec::new();
    for target in &TARGETS {
        interrupt::check()?;
        if let Err(failure) = fuzz_target(&root, target, seconds) {
            failures.push(failure);
        }
    }
    interrupt::check()?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Installs the pinned cargo-fuzz when `cargo fuzz --version` fails.
fn ensure_cargo_fuzz() -> Result<(), String> {
    if cargo_has("fuzz") {
        return Ok(());
    }
    let args = install_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_step("install cargo-fuzz", "cargo", &args)?;
    if cargo_has("fuzz") {
        Ok(())
    } else {
        Err(
            "cargo-fuzz was installed, but `cargo fuzz --version` still fails \
             (is cargo's bin directory on PATH?)"
                .to_string(),
        )
    }
}

/// `cargo install` of the pinned cargo-fuzz, with its own lock file.
fn install_args() -> Vec<String> {
    vec![
        "install".to_string(),
        format!("cargo-fuzz@{CARGO_FUZZ_VERSION}"),
        "--locked".to_string(),
    ]
}

/// The arguments of `cargo fuzz run` for one target: `scratch` first, as libFuzzer writes
/// new inputs only to its first corpus directory.
fn run_args(target: &FuzzTarget, scratch: &Path, seeds: &Path, seconds: u64) -> Vec<String> {
    vec![
        "fuzz".to_string(),
        "run".to_string(),
        "--debug-assertions".to_string(),
        target.name.to_string(),
        scratch.display().to_string(),
        seeds.display().to_string(),
        "--".to_string(),
        format!("-max_total_time={seconds}"),
        format!("-timeout={INPUT_TIMEOUT_SECONDS}"),
    ]
}

/// Builds and runs one target for `seconds`, showing its output as it comes; fails naming
/// the failing input when the run fails.
fn fuzz_target(root: &Path, target: &FuzzTarget, seconds: u64) -> Result<(), String> {
    let name = target.name;
    let seeds = target.seed_corpus(root);
    if !seeds.is_dir() {
        return Err(format!(
            "fuzz target {name}: no seed corpus at {}",
            seeds.display()
        ));
    }
    let scratch = target.scratch_corpus(root);
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let args = run_args(target, &scratch, &seeds, seconds);
    eprintln!(
        "==> fuzz {name} for {seconds} s (in {}): RUSTC_BOOTSTRAP=1 cargo {}",
        target.crate_dir,
        args.join(" ")
    );
    let mut child = Command::new("cargo")
        .args(&args)
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(root.join(target.crate_dir))
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("fuzz target {name}: cannot run cargo fuzz: {e}"))?;
    let mut scanner = ArtifactScanner::default();
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        let mut shown = std::io::stderr();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            // The output is only shown; a closed stderr must not stop the run.
            let _ = shown.write_all(&line);
            scanner.line(&String::from_utf8_lossy(&line));
            line.clear();
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("fuzz target {name}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    match scanner.artifact() {
        Some(artifact) => Err(failing_input_message(root, target, artifact)),
        None => Err(format!(
            "fuzz target {name} ({}) failed ({status}) without writing a failing input: \
             see its output above",
            target.crate_dir
        )),
    }
}

/// What a failing run reports: the target, its failing input (from the workspace root), and
/// how to reproduce and minimise it (from the crate's directory, where cargo-fuzz runs).
fn failing_input_message(root: &Path, target: &FuzzTarget, artifact: &str) -> String {
    let (name, crate_dir) = (target.name, target.crate_dir);
    let in_crate = shown_path(&root.join(crate_dir), artifact);
    format!(
        "fuzz target {name} ({crate_dir}) found a failing input: {}\n  \
         reproduce: cd {crate_dir} && RUSTC_BOOTSTRAP=1 cargo fuzz run -a {name} {in_crate}\n  \
         minimise:  cd {crate_dir} && RUSTC_BOOTSTRAP=1 cargo fuzz tmin -a {name} {in_crate}",
        shown_path(root, artifact)
    )
}

/// `path` relative to `base` when it lies below it, else as it is.
fn shown_path(base: &Path, path: &str) -> String {
    Path::new(path)
        .strip_prefix(base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

/// Finds the failing input in the output of `cargo fuzz run`, line by line: libFuzzer's
/// `Test unit written to PATH` (the last one that is not a mere slow unit), else
/// cargo-fuzz's `Failing input:` followed by the path on a line of its own.
#[derive(Debug, Default)]
struct ArtifactScanner {
    /// The last input libFuzzer wrote as a crash, leak, timeout or out-of-memory.
    written: Option<String>,
    /// The first input cargo-fuzz named after the run.
    failing_input: Option<String>,
    /// True right after cargo-fuzz's `Failing input:` line, until the path.
    expecting_failing_input: bool,
}

impl ArtifactScanner {
    /// Reads one line of output.
    fn line(&mut self, line: &str) {
        let line = line.trim();
        if let Some((_, path)) = line.split_once("Test unit written to ") {
            let path = path.trim();
            let file_name = Path::new(path)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("");
            if !path.is_empty() && !file_name.starts_with("slow-unit-") {
                self.written = Some(path.to_string());
            }
        } else if line == "Failing input:" {
            self.expecting_failing_input = true;
        } else if self.expecting_failing_input && !line.is_empty() {
            self.expecting_failing_input = false;
            self.failing_input.get_or_insert_with(|| line.to_string());
        }
    }

    /// The failing input's path, as the output gave it.
    fn artifact(&self) -> Option<&str> {
        self.written.as_deref().or(self.failing_input.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn seconds_default_to_60_and_must_be_positive_whole_numbers() {
        assert_eq!(parse_seconds(&[]), Ok(60));
        assert_eq!(parse_seconds(&args(&["--seconds", "30"])), Ok(30));
        assert_eq!(parse_seconds(&args(&["--seconds=5"])), Ok(5));
        for bad in [
            &["--seconds"][..],
            &["--seconds", "0"],
            &["--seconds", "1.5"],
            &["--seconds=-1"],
            &["--minutes", "1"],
            &["--seconds", "1", "extra"],
        ] {
            assert!(parse_seconds(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn install_pins_the_tested_cargo_fuzz() {
        assert_eq!(install_args(), ["install", "cargo-fuzz@0.13.2", "--locked"]);
    }

    #[test]
    fn run_writes_to_the_scratch_corpus_and_reads_the_seeds() {
        let root = Path::new("/ws");
        let target = TARGETS[1];
        let line = run_args(
            &target,
            &target.scratch_corpus(root),
            &target.seed_corpus(root),
            30,
        );
        assert_eq!(
            line,
            [
                "fuzz",
                "run",
                "--debug-assertions",
                "dockerignore",
                "/ws/target/fuzz/corpus/dockerignore",
                "/ws/crates/ctx-tar/fuzz/corpus/dockerignore",
                "--",
                "-max_total_time=30",
                "-timeout=20",
            ]
        );
    }

    /// What `cargo fuzz run` prints when a target panics (libFuzzer, then cargo-fuzz).
    const CRASH_OUTPUT: &str = "\
#1024\tpulse  cov: 1791 ft: 6154 corp: 116/8059b exec/s: 512 rss: 60Mb
artifact_prefix='/ws/crates/ctx-tar/fuzz/artifacts/dockerignore/'; Test unit written to /ws/crates/ctx-tar/fuzz/artifacts/dockerignore/slow-unit-1a2b
thread '<unnamed>' panicked at fuzz_targets/dockerignore.rs:40:9:
magic
==4242== ERROR: libFuzzer: deadly signal
MS: 1 ChangeByte-; base unit: 0000000000000000000000000000000000000000
artifact_prefix='/ws/crates/ctx-tar/fuzz/artifacts/dockerignore/'; Test unit written to /ws/crates/ctx-tar/fuzz/artifacts/dockerignore/crash-da39a3ee5e6b4b0d3255bfef95601890afd80709
Base64: bWFnaWM=

────────────────────────────────────────────────────────────────────────────────

Failing input:

\tfuzz/artifacts/dockerignore/crash-da39a3ee5e6b4b0d3255bfef95601890afd80709

Output of `std::fmt::Debug`:
";

    fn scan(output: &str) -> Option<String> {
        let mut scanner = ArtifactScanner::default();
        for line in output.split_inclusive('\n') {
            scanner.line(line);
        }
        scanner.artifact().map(str::to_string)
    }

    #[test]
    fn finds_the_crash_artifact_and_not_a_slow_unit() {
        assert_eq!(
            scan(CRASH_OUTPUT).as_deref(),
            Some("/ws/crates/ctx-tar/fuzz/artifacts/dockerignore/crash-da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        let slow_only = CRASH_OUTPUT.lines().take(2).collect::<Vec<_>>().join("\n");
        assert_eq!(scan(&slow_only), None);
    }

    #[test]
    fn falls_back_to_cargo_fuzz_failing_input() {
        let cargo_fuzz_only: String = CRASH_OUTPUT
            .lines()
            .filter(|l| !l.contains("Test unit written to"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            scan(&cargo_fuzz_only).as_deref(),
            Some("fuzz/artifacts/dockerignore/crash-da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
    }

    #[test]
    fn no_artifact_in_a_clean_run() {
        let clean = "INFO: seed corpus: files: 31\n#2048\tDONE   cov: 1791 ft: 6154\nDone 2048 runs in 30 second(s)\n";
        assert_eq!(scan(clean), None);
    }

    #[test]
    fn a_failing_input_is_named_with_how_to_reproduce_it() {
        let root = Path::new("/ws");
        let artifact = "/ws/crates/ctx-tar/fuzz/artifacts/dockerignore/crash-1";
        assert_eq!(
            failing_input_message(root, &TARGETS[1], artifact),
            "fuzz target dockerignore (crates/ctx-tar) found a failing input: \
             crates/ctx-tar/fuzz/artifacts/dockerignore/crash-1\n  \
             reproduce: cd crates/ctx-tar && RUSTC_BOOTSTRAP=1 cargo fuzz run -a dockerignore \
             fuzz/artifacts/dockerignore/crash-1\n  \
             minimise:  cd crates/ctx-tar && RUSTC_BOOTSTRAP=1 cargo fuzz tmin -a dockerignore \
             fuzz/artifacts/dockerignore/crash-1"
        );
    }

    #[test]
    fn artifact_paths_are_shown_from_the_workspace_root() {
        let root = Path::new("/ws");
        assert_eq!(
            shown_path(root, "/ws/crates/ctx-tar/fuzz/artifacts/x/crash-1"),
            "crates/ctx-tar/fuzz/artifacts/x/crash-1"
        );
        assert_eq!(
            shown_path(root, "fuzz/artifacts/x/crash-1"),
            "fuzz/artifacts/x/crash-1"
        );
    }

    /// Every target under `crates/*/fuzz/fuzz_targets/` runs, and each has a seed corpus.
    #[test]
    fn every_fuzz_target_runs_and_has_seeds() {
        let root = workspace::root();
        let mut found = Vec::new();
        for krate in fs::read_dir(root.join("crates")).expect("crates/") {
            let krate = krate.expect("directory entry").path();
            let Ok(targets) = fs::read_dir(krate.join("fuzz/fuzz_targets")) else {
                continue;
            };
            for file in targets {
                let file = file.expect("directory entry").path();
                let name = file.file_stem().and_then(|n| n.to_str()).expect("name");
                let crate_dir = krate.strip_prefix(&root).expect("below root");
                found.push((crate_dir.display().to_string(), name.to_string()));
            }
        }
        found.sort();
        let mut listed: Vec<(String, String)> = TARGETS
            .iter()
            .map(|t| (t.crate_dir.to_string(), t.name.to_string()))
            .collect();
        listed.sort();
        assert_eq!(found, listed);
        for target in &TARGETS {
            let seeds = fs::read_dir(target.seed_corpus(&root))
                .expect("a seed corpus")
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
                .count();
            assert!(seeds > 0, "{}: no seed-* inputs", target.name);
        }
    }
}
