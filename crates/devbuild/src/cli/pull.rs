//! `devbuild pull`: pre-pull every image a build needs, and print each one's outcome.

use std::path::PathBuf;
use std::process::ExitCode;

use devbuild::build::BuildSpec;
use devbuild::engine_client::engine::Engine;
use devbuild::engine_client::events::PullOutcome;
use devbuild::{prepare, prepull};

use super::build::EXIT_UNREACHABLE;
use super::{fail, BuildInputs, EXIT_FAILED, EXIT_USAGE};

/// Arguments of `devbuild pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build context: a directory, a git URL or an http(s) URL (whose Dockerfile is
    /// fetched first).
    #[arg(value_name = "CONTEXT", default_value = ".")]
    context: PathBuf,
    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    inputs: BuildInputs,
    /// Pull every needed image, even those present.
    #[arg(long)]
    pull: bool,
}

/// Runs `devbuild pull`: one line per image, `<image> <platform> present|pulled|failed:
/// <reason>`; exit status 1 when a pull failed.
pub fn run(args: &Args) -> ExitCode {
    let mut spec = BuildSpec::new(&args.context);
    spec.dockerfile = args.file.clone();
    // The Dockerfile is fetched from the git repository or URL.
    spec.remote = super::remote_context(&args.context);
    args.inputs.apply(&mut spec);
    spec.pull = args.pull;
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    // Bad input is reported before the engine is looked for; the Dockerfile is read once.
    let prepared = match devbuild::BuildHost::from_env().and_then(|host| prepare(&spec, &host)) {
        Ok(prepared) => prepared,
        Err(err) => return fail(EXIT_USAGE, err),
    };
    runtime.block_on(async {
        let engine = match Engine::connect_from_env().await {
            Ok(engine) => engine,
            Err(e) => return fail(EXIT_UNREACHABLE, e),
        };
        let outcomes = match prepull(&engine, &prepared, |_| {}).await {
            Ok(outcomes) => outcomes,
            Err(err) if err.is_input() => return fail(EXIT_USAGE, err),
            Err(err) if err.is_unreachable() => return fail(EXIT_UNREACHABLE, err),
            Err(err) => return fail(EXIT_FAILED, err),
        };
        let mut failed = false;
        for image in &outcomes {
            let platform = image.platform.as_deref().unwrap_or("-");
            let status = match &image.outcome {
                PullOutcome::Present => "present".to_string(),
                PullOutcome::Pulled => "pulled".to_string(),
                PullOutcome::Failed { reason } => {
                    failed = true;
                    format!("failed: {reason}")
                }
            };
            println!("{} {platform} {status}", image.image);
        }
        if outcomes.is_empty() {
            println!("no external images needed");
        }
        if failed {
            ExitCode::from(EXIT_FAILED)
        } else {
            ExitCode::SUCCESS
        }
    })
}
