//! `cargo xtask`: the project's own automation (CI, test engines, benchmarks, demo).
//!
//! One module per command. What several commands share (the workspace root, running a step
//! there, the caught Ctrl-C) is in `workspace` and `interrupt`, so that imports point one
//! way: `ci` drives `engine`, `fuzz` and `bench`; no command imports `ci`.

mod authz_plugin;
mod bench;
mod ci;
mod demo;
mod engine;
mod fuzz;
mod http_serve;
mod interrupt;
mod nextest_list;
mod readme;
mod tidy;
mod workspace;

use std::process::ExitCode;

/// What `cargo xtask --help` prints, and what a wrong command gets on stderr (exit 2).
const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci [--no-wait|--wait SECONDS]         fmt check, clippy, engine up, the whole test suite, fuzz, bench --quick,
                                        engine down
  engine up   [--engine 20.10|26.1|authz|all]
                                        private Docker Engines (one behind an authorization plugin),
                                        an authenticated registry, base images
  engine down [--engine 20.10|26.1|authz|all]
                                        stop exactly what `engine up` started and remove its state
  engine env  [--engine 20.10|26.1|authz]
                                        print `export …` lines pointing a shell at one engine
  demo [-- BUILD OPTIONS]               bring up Engine 26.1 if needed and build examples/hello with devbuild
  bench [--quick]                       devbuild vs GNU tar and docker buildx, side by side; the full run writes
                                        target/bench/report.md (--quick: CI's smoke run, small sizes, one pair)
  fuzz [--seconds N]                    every fuzz target for N seconds each (default 60), from its seed corpus;
                                        installs cargo-fuzz if missing; fails naming the input of a crash";

/// What a command runs, given the arguments after its name.
type Run = fn(&[String]) -> Result<(), String>;

/// The commands [`USAGE`] lists, by name.
const COMMANDS: [(&str, Run); 5] = [
    ("ci", ci::run),
    ("engine", engine::run),
    ("demo", demo::run),
    ("bench", bench::run),
    ("fuzz", fuzz::run),
];

/// Commands `engine up` runs in the background, not people: left out of [`USAGE`].
const HIDDEN_COMMANDS: [(&str, Run); 3] = [
    // The authz engine's plugin.
    ("authz-plugin", authz_plugin::run),
    // The static HTTP server of the remote contexts.
    ("http-serve", http_serve::run),
    // nextest's list wrapper of the docker-backed test binaries (`.config/nextest.toml`).
    ("nextest-list", nextest_list::run),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map(String::as_str);
    if matches!(name, Some("--help" | "-h" | "help")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let Some((_, command)) = COMMANDS
        .iter()
        .chain(&HIDDEN_COMMANDS)
        .find(|(known, _)| Some(*known) == name)
    else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match command(&args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first word of each command line of [`USAGE`] (lines indented by two spaces under
    /// `commands:`), once each.
    fn listed_commands() -> Vec<&'static str> {
        let (_, listing) = USAGE
            .split_once("commands:\n")
            .expect("USAGE lists commands");
        let mut names: Vec<&str> = listing
            .lines()
            .filter_map(|line| line.strip_prefix("  "))
            .filter(|line| !line.starts_with(' '))
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        names.dedup();
        names
    }

    #[test]
    fn usage_lists_every_command_and_no_hidden_one() {
        let dispatched: Vec<&str> = COMMANDS.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed_commands(), dispatched);
        for (hidden, _) in HIDDEN_COMMANDS {
            assert!(!USAGE.contains(hidden), "{hidden} is listed");
        }
    }

    #[test]
    fn nextest_lists_docker_backed_tests_through_a_hidden_command() {
        let config = std::fs::read_to_string(workspace::root().join(".config/nextest.toml"))
            .expect(".config/nextest.toml");
        let line = config
            .lines()
            .find(|line| line.starts_with("command = ") && line.contains("xtask"))
            .expect("the list wrapper runs xtask");
        let name = line
            .rsplit('"')
            .nth(1)
            .expect("the wrapper's last argument is a command name");
        assert!(
            HIDDEN_COMMANDS.iter().any(|(hidden, _)| *hidden == name),
            "{name} is not a hidden xtask command"
        );
    }
}
