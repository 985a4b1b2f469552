//! `devbuild build`: build an image, like `docker buildx build`, showing the progress of
//! every stage (analysis, pre-pull, context upload, BuildKit steps).

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use devbuild::build::{BuildError, BuildSpec};
use devbuild::engine_client::engine::Engine;
use devbuild::output::Output;
use devbuild::render::{Progress, ProgressMode};
use devbuild::Event;
use futures_util::StreamExt;

use super::buildx_flags::{EngineFlags, LegacyFlags, RefusedFlags};
use super::{fail, BuildInputs, EXIT_FAILED, EXIT_USAGE};

/// Exit status when the engine cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit status after Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit status when standard output closed under `--progress=json` (128 + SIGPIPE): the
/// build was canceled, as on Ctrl-C.
pub const EXIT_OUTPUT_CLOSED: u8 = 141;

/// Arguments of `devbuild build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The build context: a directory, `-` (a tar or a Dockerfile on standard input), a git
    /// URL (`https://…/repo.git#ref:dir`, `git://…`, `git@host:repo`) or an http(s) URL of
    /// a tar or a Dockerfile.
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
    /// A secret for `RUN --mount=type=secret`, `id=ID[,src=PATH|,env=VAR]`; with only
    /// `id`, the variable ID if set, else the file ID (repeatable).
    #[arg(long = "secret", value_name = "id=ID[,src=PATH|,env=VAR]")]
    secrets: Vec<String>,
    /// An SSH agent or keys for `RUN --mount=type=ssh`, `default|ID[=SOCKET|KEY[,KEY…]]`;
    /// `default` alone is $SSH_AUTH_SOCK (repeatable).
    #[arg(long = "ssh", value_name = "default|ID[=SOCKET|KEY,…]")]
    ssh: Vec<String>,
    /// Do not use the build cache.
    #[arg(long)]
    no_cache: bool,
    /// Pull every needed image, even those present.
    #[arg(long)]
    pull: bool,
    /// Send every path `.dockerignore` allows, not only those the Dockerfile reads.
    #[arg(long)]
    whole_context: bool,
    /// Send the context gzip-compressed; `--compress=false` sends it plain. Default: on for
    /// a tcp:// or ssh:// engine, off for a local socket.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    compress: Option<bool>,
    /// Write the image id to this file.
    #[arg(long, value_name = "FILE")]
    iidfile: Option<PathBuf>,
    /// Print only the image id on standard output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// How to show progress: auto, tty, plain, json, rawjson or quiet (default:
    /// BUILDKIT_PROGRESS, else auto).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    progress: ProgressMode,
    #[command(flatten)]
    engine_flags: EngineFlags,
    #[command(flatten)]
    legacy: LegacyFlags,
    #[command(flatten)]
    refused: RefusedFlags,

    // What is made after the build: pushes, outputs, the metadata file.
    /// Push every tag to its registry after the build (shorthand for `--output=type=registry`).
    #[arg(long)]
    push: bool,
    /// Accepted: the image always lands in the engine's image store (shorthand for
    /// `--output=type=docker`).
    #[arg(long)]
    load: bool,
    /// Also write the result: `type=docker,dest=FILE`, `type=tar[,dest=FILE]`,
    /// `type=local,dest=DIR`, `type=image[,push=true]`, `type=registry`; `DIR` alone is
    /// `type=local`, `-` a tar on standard output (repeatable).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PATH|type=TYPE[,KEY=VALUE]"
    )]
    outputs: Vec<String>,
    /// Write the build result metadata (buildx's keys) to this file.
    #[arg(long, value_name = "FILE")]
    metadata_file: Option<PathBuf>,
}

/// Runs `devbuild build`.
pub fn run(args: &Args) -> ExitCode {
    let mode = match progress_mode(args) {
        Ok(mode) => mode,
        Err(message) => return refuse(args.progress, message),
    };
    let mut spec = match spec_of(args, mode) {
        Ok(spec) => spec,
        Err(message) => return refuse(mode, message),
    };
    // Kept until the build ends: what `-` read from standard input.
    let _stdin = match read_stdin(args, &mut spec) {
        Ok(stdin) => stdin,
        Err(message) => return refuse(mode, message),
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(run_build(&spec, mode, args.iidfile.as_deref()))
}

/// Bad usage: exit status 2, and a JSON run's one `failed` event.
fn refuse(mode: ProgressMode, message: String) -> ExitCode {
    if mode == ProgressMode::Json {
        let event = Event::failed(message.clone(), None, Duration::ZERO);
        println!(
            "{}",
            serde_json::to_string(&event).expect("events serialise")
        );
    }
    fail(EXIT_USAGE, message)
}

/// The spec the command line asks for (standard input not read yet).
fn spec_of(args: &Args, mode: ProgressMode) -> Result<BuildSpec, String> {
    if let Some(refusal) = args.refused.refusal() {
        return Err(refusal);
    }
    let mut spec = BuildSpec::new(&args.context);
    args.engine_flags.apply(&mut spec)?;
    for warning in args.legacy.warnings() {
        eprintln!("warning: {warning}");
    }
    spec.dockerfile = args.file.clone();
    // A git or URL CONTEXT is fetched by the engine.
    spec.remote = super::remote_context(&args.context);
    spec.tags = args.tags.clone();
    args.inputs.apply(&mut spec);
    for label in &args.labels {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        spec.labels.insert(key.to_owned(), value.to_owned());
    }
    for secret in &args.secrets {
        spec.secrets
            .push(devbuild::secrets::SecretSource::parse(secret)?);
    }
    spec.ssh = args
        .ssh
        .iter()
        .map(|value| devbuild::ssh_agents::SshSource::parse(value))
        .collect();
    spec.no_cache = args.no_cache;
    spec.pull = args.pull;
    spec.whole_context = args.whole_context;
    spec.compress = args.compress;
    spec.raw_status = mode == ProgressMode::RawJson;
    apply_results(args, mode, &mut spec)?;
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.trim().is_empty() => match value.trim().parse::<i64>() {
            Ok(epoch) => spec.source_date_epoch = Some(epoch),
            Err(_) => {
                return Err(format!(
                    "SOURCE_DATE_EPOCH {value:?}: not a Unix time in seconds"
                ))
            }
        },
        _ => {}
    }
    Ok(spec)
}

/// The progress mode: `-q`, else `--progress`, where `auto` gives way to
/// `BUILDKIT_PROGRESS` as in buildx.
fn progress_mode(args: &Args) -> Result<ProgressMode, String> {
    if args.quiet {
        return Ok(ProgressMode::Quiet);
    }
    match std::env::var("BUILDKIT_PROGRESS") {
        Ok(value) if !value.is_empty() && args.progress == ProgressMode::Auto => {
            value.parse().map_err(|e| format!("BUILDKIT_PROGRESS: {e}"))
        }
        _ => Ok(args.progress),
    }
}

/// `--push`, `--output`, `--metadata-file` (and `--load`, which changes nothing) onto the
/// spec; a bad `--output`, or one on standard output next to something else there, is
/// refused.
fn apply_results(args: &Args, mode: ProgressMode, spec: &mut BuildSpec) -> Result<(), String> {
    spec.push = args.push;
    spec.metadata_file = args.metadata_file.clone();
    for value in args.outputs.iter().filter(|v| !v.is_empty()) {
        let output = value.parse::<Output>().map_err(|e| e.to_string())?;
        spec.outputs.push(output);
    }
    if let Some(output) = spec.outputs.iter().find(|o| o.writes_to_stdout()) {
        if mode == ProgressMode::Json {
            return Err(format!(
                "--output {output} and --progress=json both write to standard output"
            ));
        }
        if args.quiet {
            return Err(format!(
                "--output {output} and -q (the image id) both write to standard output"
            ));
        }
    }
    Ok(())
}

/// What standard input gave, kept on disk while the build runs (removed when dropped).
#[derive(Default)]
struct Stdin {
    /// A context tar, copied to a temporary file.
    _archive: Option<tempfile::NamedTempFile>,
    /// For a Dockerfile alone: the empty directory that is its context.
    _empty_context: Option<tempfile::TempDir>,
}

/// `-f -` reads the Dockerfile from standard input; a context of `-` reads a tar context
/// from it, or a Dockerfile, which then builds with an empty context (as `docker build -`).
fn read_stdin(args: &Args, spec: &mut BuildSpec) -> Result<Stdin, String> {
    use std::io::Read;
    let file_is_stdin = args.file.as_deref() == Some(std::path::Path::new("-"));
    let context_is_stdin = args.context.as_os_str() == "-";
    if file_is_stdin && context_is_stdin {
        return Err("`-f -` and the context `-` cannot both read standard input".to_owned());
    }
    if file_is_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("-f -: cannot read the Dockerfile from standard input: {e}"))?;
        spec.dockerfile = None;
        spec.dockerfile_text = Some(text);
        return Ok(Stdin::default());
    }
    if !context_is_stdin {
        return Ok(Stdin::default());
    }
    let read_error =
        |e: std::io::Error| format!("-: cannot read the context from standard input: {e}");
    let mut temp = tempfile::NamedTempFile::new().map_err(read_error)?;
    std::io::copy(&mut std::io::stdin().lock(), &mut temp).map_err(read_error)?;
    let mut head = [0u8; 512];
    let mut file = temp.reopen().map_err(read_error)?;
    let n = file.read(&mut head).map_err(read_error)?;
    if is_archive(&head[..n]) {
        spec.context_archive = Some(temp.path().to_path_buf());
        return Ok(Stdin {
            _archive: Some(temp),
            ..Stdin::default()
        });
    }
    let text = std::fs::read(temp.path()).map_err(read_error)?;
    let empty = tempfile::tempdir().map_err(read_error)?;
    spec.context = empty.path().to_path_buf();
    spec.dockerfile = None;
    spec.dockerfile_text = Some(String::from_utf8_lossy(&text).into_owned());
    Ok(Stdin {
        _empty_context: Some(empty),
        ..Stdin::default()
    })
}

/// Whether `head` starts a tar, plain (`ustar` at offset 257) or compressed (gzip, bzip2,
/// xz, zstd), as the engine tells them apart.
fn is_archive(head: &[u8]) -> bool {
    const COMPRESSED: [&[u8]; 4] = [
        &[0x1f, 0x8b],
        b"BZh",
        &[0xfd, b'7', b'z', b'X', b'Z', 0],
        &[0x28, 0xb5, 0x2f, 0xfd],
    ];
    head.get(257..262) == Some(b"ustar") || COMPRESSED.iter().any(|m| head.starts_with(m))
}

async fn run_build(
    spec: &BuildSpec,
    mode: ProgressMode,
    iidfile: Option<&std::path::Path>,
) -> ExitCode {
    let started = Instant::now();
    // A script must never read the previous build's id (or its metadata): the files go
    // now, and come back only when this build succeeds.
    for (flag, path) in [
        ("--iidfile", iidfile),
        ("--metadata-file", spec.metadata_file.as_deref()),
    ] {
        let Some(path) = path else {
            continue;
        };
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return fail(EXIT_USAGE, format!("{flag} {}: {e}", path.display())),
        }
    }
    let ended = Ended::default();
    let result = build_with_progress(spec, mode, &ended).await;
    let (code, message) = match result {
        Ok(outcome) => {
            let id = outcome.image_id.unwrap_or_default();
            if let Some(path) = iidfile {
                if let Err(e) = write_atomically(path, id.as_bytes()) {
                    return fail(EXIT_FAILED, format!("--iidfile {}: {e}", path.display()));
                }
            }
            if mode == ProgressMode::Quiet {
                println!("{id}");
            }
            return ExitCode::SUCCESS;
        }
        Err(Stopped::Output) => (
            EXIT_OUTPUT_CLOSED,
            "standard output was closed: the build was canceled".to_owned(),
        ),
        Err(Stopped::Interrupted) => (
            EXIT_INTERRUPTED,
            "interrupted: the build was canceled".to_owned(),
        ),
        Err(Stopped::Failed(code, message)) => (code, message),
    };
    // Every JSON run ends with exactly one `finished` or `failed` event.
    if mode == ProgressMode::Json && !ended.terminal.get() && code != EXIT_OUTPUT_CLOSED {
        let event = Event::failed(message.clone(), None, started.elapsed());
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&event).expect("events serialise")
        );
        let _ = out.flush();
    }
    fail(code, message)
}

/// Why a build ended without an image.
enum Stopped {
    /// Ctrl-C.
    Interrupted,
    /// The reader of standard output went away (`--progress=json | head -1`).
    Output,
    /// Bad input, an unreachable engine, a failed build: the exit status and the message.
    Failed(u8, String),
}

/// What the run saw of its own end.
#[derive(Default)]
struct Ended {
    /// A `finished` or `failed` event was shown.
    terminal: Cell<bool>,
}

/// Checks the input, connects, and builds with the progress shown; dropping the build (on
/// Ctrl-C, or when standard output closes) cancels it on the engine.
async fn build_with_progress(
    spec: &BuildSpec,
    mode: ProgressMode,
    ended: &Ended,
) -> Result<devbuild::build::BuildOutcome, Stopped> {
    let failed = |err: BuildError| {
        let code = match &err {
            err if err.is_input() => EXIT_USAGE,
            err if err.is_unreachable() => EXIT_UNREACHABLE,
            _ => EXIT_FAILED,
        };
        Stopped::Failed(code, err.to_string())
    };
    // Bad input is reported before the engine is looked for; the Dockerfile is read once.
    let host = devbuild::BuildHost::from_env().map_err(failed)?;
    let prepared = devbuild::prepare(spec, &host).map_err(failed)?;
    let engine = Engine::connect_from_env()
        .await
        .map_err(|e| Stopped::Failed(EXIT_UNREACHABLE, e.to_string()))?;
    // JSON events go to standard output (one per line); human progress to standard error.
    let out: Box<dyn Write> = match mode {
        ProgressMode::Json => Box::new(std::io::stdout()),
        _ => Box::new(std::io::stderr()),
    };
    let is_tty = std::io::stderr().is_terminal() && mode != ProgressMode::Json;
    let mut progress = Progress::new(mode, out, is_tty);
    let live = progress.mode() == ProgressMode::Tty;
    let mut build = devbuild::run(&engine, prepared);
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let stopped = loop {
        tokio::select! {
            event = build.next() => {
                let Some(event) = event else { break None };
                if matches!(event, Event::Finished { .. } | Event::Failed { .. }) {
                    ended.terminal.set(true);
                }
                if let Err(e) = progress.event(&event, Instant::now()) {
                    if mode == ProgressMode::Json && e.kind() == std::io::ErrorKind::BrokenPipe {
                        break Some(Stopped::Output);
                    }
                }
            }
            _ = ticks.tick() => {
                if live {
                    let _ = progress.tick(Instant::now());
                }
                // A step may be silent for long: notice a reader that went away without
                // waiting for the next event to fail to be written.
                if mode == ProgressMode::Json && stdout_reader_gone() {
                    break Some(Stopped::Output);
                }
            }
            _ = &mut interrupt => break Some(Stopped::Interrupted),
        }
    };
    let _ = progress.finish(Instant::now());
    if let Some(stopped) = stopped {
        // Dropping the stream closes the build's connection, and the engine stops it.
        drop(build);
        return Err(stopped);
    }
    build.finish().await.map_err(failed)
}

/// Whether standard output is a pipe whose reader has closed it (`poll` reports an error
/// on the write end then).
fn stdout_reader_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout; poll only writes `revents`.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// Writes `data` to `path` through a temporary file in the same directory renamed over it,
/// so a reader sees the old file, no file, or the whole new one.
fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(data)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
