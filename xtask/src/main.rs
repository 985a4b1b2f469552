//! `cargo xtask`: the project's own automation (CI, test engines, benchmarks, demo).
mod authz_plugin;
mod bench;
mod ci;
mod demo;
mod engine;
mod fuzz;
mod http_serve;
mod tidy;

use std::process::ExitCode;

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&args[1..]),
        Some("engine") => engine::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        // Hidden: the authz engine's plugin, run in the background by `engine up`.
        Some("authz-plugin") => authz_plugin::run(&args[1..]),
        // Hidden: the static HTTP server of the remote contexts, run in the background by
        // `engine up`.
        Some("http-serve") => http_serve::run(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
