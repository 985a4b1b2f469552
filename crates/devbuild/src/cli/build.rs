//! `devbuild build`: build an image, like `docker buildx build`, showing the progress of
//! every stage (analysis, pre-pull, context upload, BuildKit steps).

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use devbuild::build::{build, BuildError, BuildSpec};
use devbuild::engine_client::engine::Engine;
use devbuild::render::{Progress, ProgressMode};

use super::{fail, BuildInputs, EXIT_FAILED, EXIT_USAGE};

/// Exit status when the engine cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit status after Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Arguments of `devbuild build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build context directory.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    context: PathBuf,
    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// A name for the image, `name:tag` (repeatable).
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    tags: Vec<String>,
    #[command(flatten)]
    inputs: BuildInputs,
    /// A label for the image, `K=V` (repeatable).
    #[arg(long = "label", value_name = "K=V")]
    labels: Vec<String>,
    /// Do not use the build cache.
    #[arg(long)]
    no_cache: bool,
    /// Pull every needed image, even those present.
    #[arg(long)]
    pull: bool,
    /// Send every path `.dockerignore` allows, not only those the Dockerfile reads.
    #[arg(long)]
    whole_context: bool,
    /// Write the image id to this file.
    #[arg(long, value_name = "FILE")]
    iidfile: Option<PathBuf>,
    /// Print only the image id on standard output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// How to show progress: auto, tty, plain, json or quiet.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    progress: ProgressMode,
}

/// Runs `devbuild build`.
pub fn run(args: &Args) -> ExitCode {
    let mut spec = BuildSpec::new(&args.context);
    spec.dockerfile = args.file.clone();
    spec.tags = args.tags.clone();
    args.inputs.apply(&mut spec);
    for label in &args.labels {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        spec.labels.insert(key.to_owned(), value.to_owned());
    }
    spec.no_cache = args.no_cache;
    spec.pull = args.pull;
    spec.whole_context = args.whole_context;
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.trim().is_empty() => match value.trim().parse::<i64>() {
            Ok(epoch) => spec.source_date_epoch = Some(epoch),
            Err(_) => {
                return fail(
                    EXIT_USAGE,
                    format!("SOURCE_DATE_EPOCH {value:?}: not a Unix time in seconds"),
                )
            }
        },
        _ => {}
    }
    let mode = if args.quiet {
        ProgressMode::Quiet
    } else {
        args.progress
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(run_build(&spec, mode, args.iidfile.as_deref()))
}

async fn run_build(
    spec: &BuildSpec,
    mode: ProgressMode,
    iidfile: Option<&std::path::Path>,
) -> ExitCode {
    // Bad input is reported before the engine is looked for.
    if let Err(err) = spec.check() {
        return fail(EXIT_USAGE, err);
    }
    let engine = match Engine::connect_from_env().await {
        Ok(engine) => engine,
        Err(e) => return fail(EXIT_UNREACHABLE, e),
    };
    // JSON events go to standard output (one per line); human progress to standard error.
    let out: Box<dyn Write> = match mode {
        ProgressMode::Json => Box::new(std::io::stdout()),
        _ => Box::new(std::io::stderr()),
    };
    let is_tty = std::io::stderr().is_terminal() && mode != ProgressMode::Json;
    let progress = RefCell::new(Progress::new(mode, out, is_tty));
    let live = progress.borrow().mode() == ProgressMode::Tty;
    let building = build(&engine, spec, |event| {
        let _ = progress.borrow_mut().event(event, Instant::now());
    });
    let ticking = async {
        let mut interval = tokio::time::interval(Duration::from_millis(100));
        loop {
            interval.tick().await;
            if live {
                let _ = progress.borrow_mut().tick(Instant::now());
            }
        }
    };
    let result = tokio::select! {
        result = building => Some(result),
        _ = ticking => None,
        _ = tokio::signal::ctrl_c() => None,
    };
    let _ = progress.borrow_mut().finish(Instant::now());
    drop(progress);
    let Some(result) = result else {
        // The build's future is dropped: its connection closes and the engine stops it.
        eprintln!("error: interrupted: the build was canceled");
        return ExitCode::from(EXIT_INTERRUPTED);
    };
    match result {
        Ok(outcome) => {
            let id = outcome.image_id.unwrap_or_default();
            if let Some(path) = iidfile {
                if let Err(e) = std::fs::write(path, &id) {
                    return fail(EXIT_FAILED, format!("--iidfile {}: {e}", path.display()));
                }
            }
            if mode == ProgressMode::Quiet {
                println!("{id}");
            }
            ExitCode::SUCCESS
        }
        Err(err @ BuildError::Input(_)) => fail(EXIT_USAGE, err),
        Err(err) if err.is_unreachable() => fail(EXIT_UNREACHABLE, err),
        Err(err) => fail(EXIT_FAILED, err),
    }
}
