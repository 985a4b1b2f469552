//! `cargo xtask`: the project's own automation (CI, test engines, benchmarks, demo).
mod ci;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <command>\n\ncommands:\n  ci    fmt check, clippy, and the whole test suite");
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
