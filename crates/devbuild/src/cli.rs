//! Command-line parsing and dispatch to one module per subcommand.

mod build;
mod buildx_flags;
mod context;
mod froms;
mod pull;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for a failed operation (invalid Dockerfile, failed build).
pub const EXIT_FAILED: u8 = 1;
/// Exit status for bad usage or unreadable input.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "devbuild",
    version,
    about = "Build container images through the Docker Engine API with BuildKit",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the stages of a Dockerfile and every external image its build needs.
    Froms(froms::Args),
    /// Show what build context would be sent (and why a path is or is not), or write its tar.
    Context(context::Args),
    /// Pre-pull every image a build needs, and print each one's outcome.
    Pull(pull::Args),
    /// Build an image: analysis, pre-pull, context upload, BuildKit.
    Build(Box<build::Args>),
}

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout with success, usage errors to stderr.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Froms(args) => froms::run(&args),
        Command::Context(args) => context::run(&args),
        Command::Pull(args) => pull::run(&args),
        Command::Build(args) => build::run(&args),
    }
}

/// Prints `error: <message>` to stderr (control characters escaped: the message may quote
/// a Dockerfile, a file name or the engine) and gives the exit status.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    let message = message.to_string();
    eprintln!("error: {}", devbuild::render::escape_controls(&message));
    ExitCode::from(code)
}

/// What decides a Dockerfile's build, as `docker buildx build` takes it: `--build-arg`,
/// `--target`, `--platform`.
#[derive(Debug, clap::Args)]
pub struct BuildInputs {
    /// A build argument, `K=V`; a bare `K` takes its value from the environment.
    #[arg(long = "build-arg", value_name = "K[=V]")]
    pub build_args: Vec<String>,
    /// The stage to build (default: the last one).
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// The target platform, `os/arch[/variant]`.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
}

impl BuildInputs {
    /// Sets them on a build spec.
    pub fn apply(&self, spec: &mut devbuild::build::BuildSpec) {
        spec.build_args = parse_build_args(&self.build_args);
        spec.target = self.target.clone();
        spec.platform = self.platform.clone();
    }
}

/// `--build-arg K=V` or `--build-arg K`: a value-less argument takes K from the environment, and
/// is left out when the environment has no K, as the docker CLI does.
pub fn parse_build_args(raw: &[String]) -> std::collections::BTreeMap<String, String> {
    let mut args = std::collections::BTreeMap::new();
    for item in raw {
        match item.split_once('=') {
            Some((key, value)) => {
                args.insert(key.to_string(), value.to_string());
            }
            None => {
                if let Ok(value) = std::env::var(item) {
                    args.insert(item.clone(), value);
                }
            }
        }
    }
    args
}

/// The remote context (git repository or http(s) URL) a `CONTEXT` argument names, if it
/// names one rather than a directory (see `devbuild::remote::classify`).
pub fn remote_context(context: &std::path::Path) -> Option<devbuild::remote::RemoteContext> {
    match devbuild::remote::classify(context.to_str()?) {
        devbuild::remote::ContextArg::Remote(remote) => Some(remote),
        _ => None,
    }
}

/// The runtime the engine commands run on (one thread: the CLI waits on one build).
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(EXIT_FAILED, format!("cannot start the async runtime: {e}")))
}
