//! The `devbuild` command: build container images through the Docker Engine API with BuildKit,
//! and show each stage of the pipeline on its own (`froms`, …).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
