//! `devbuild context`: what build context `devbuild build` would send, why a path is or is
//! not sent, and the tar.
//!
//! By default only the paths the Dockerfile reads are sent (for the build args, target and
//! platform given), as `devbuild build` sends them. What the text cannot decide (a base
//! image's `ENV` or `ONBUILD`) is decided from the images in the engine's store when one
//! can be reached; nothing is pulled. Still undecided, the whole context is shown, with a
//! note: `devbuild build` pulls the images first and may send less.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use ctx_tar::{ContextSpec, Dockerfile, Explanation, Listing, MtimePolicy, Summary};
use devbuild::build::{select_context, BuildSpec, ContextSelection};
use devbuild::engine_client::engine::{ConnectOptions, Engine};
use devbuild::events::ContextUsed;
use devbuild::render::describe_context;

use super::{fail, BuildInputs, EXIT_FAILED, EXIT_USAGE};

/// How long `context` waits for an engine it asks about image configs.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `devbuild context`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The context directory.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    context: PathBuf,
    /// The Dockerfile (default: `CONTEXT/Dockerfile`); one outside the context is added to it
    /// under a generated name.
    #[arg(short = 'f', long = "file", value_name = "DOCKERFILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    inputs: BuildInputs,
    /// Every path `.dockerignore` allows, not only those the Dockerfile reads.
    #[arg(long)]
    whole_context: bool,
    /// One line per entry, in tar order: `TYPE MODE SIZE PATH [-> TARGET]`.
    #[arg(long, conflicts_with_all = ["json", "output", "explain"])]
    list: bool,
    /// One JSON object per entry, in tar order.
    #[arg(long, conflicts_with_all = ["output", "explain"])]
    json: bool,
    /// Write the tar to FILE (`-`: standard output). Mtimes are clamped to SOURCE_DATE_EPOCH
    /// when it is set.
    #[arg(long, value_name = "FILE", conflicts_with = "explain")]
    output: Option<PathBuf>,
    /// For each path: sent or excluded, and the rule that decided.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    explain: Vec<String>,
}

/// Runs `devbuild context`.
pub fn run(args: &Args) -> ExitCode {
    // Nothing of them is sent from here, so there is nothing to show.
    if let Some(remote) = super::remote_context(&args.context) {
        return fail(
            EXIT_USAGE,
            format!(
                "context {}: a remote context is fetched by the engine (nothing is sent from here, and .dockerignore does not apply); `devbuild context` shows local contexts only",
                remote.url()
            ),
        );
    }
    let mut spec = ContextSpec::new(&args.context);
    if let Some(file) = &args.file {
        spec.dockerfile = Dockerfile::Path(file.clone());
    }
    // Bad input (a missing context or Dockerfile, invalid rules) before the Dockerfile.
    if let Err(err) = ctx_tar::check(&spec) {
        let (code, message) = context_error(&err);
        return fail(code, message);
    }
    let selection = match selection(args) {
        Ok(selection) => selection,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    if let Some(selection) = &selection {
        spec.include = selection.include();
        if !selection.decided {
            eprintln!(
                "note: {}; `devbuild build` pulls the images first and may send less",
                describe_context(
                    selection.used,
                    &selection.paths,
                    selection.reason.as_deref()
                )
            );
        }
    }
    let result = if !args.explain.is_empty() {
        explain(&spec, &args.explain)
    } else if let Some(output) = &args.output {
        match MtimePolicy::from_env() {
            Ok(policy) => {
                spec.mtime = policy;
                write_output(&spec, output)
            }
            Err(err) => Err(context_error(&err)),
        }
    } else {
        match ctx_tar::list(&spec) {
            Ok(listing) => {
                print_listing(args, &listing, selection.as_ref());
                Ok(())
            }
            Err(err) => Err(context_error(&err)),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => fail(code, message),
    }
}

/// What of the context `devbuild build` would send: `None` when there is no Dockerfile
/// (then everything is listed). The images' configs come from the engine when the text
/// leaves something open and an engine answers.
fn selection(args: &Args) -> Result<Option<ContextSelection>, String> {
    let dockerfile = match &args.file {
        Some(file) => file.clone(),
        None => match ctx_tar::Dockerfile::default_in(&args.context) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let mut spec = BuildSpec::new(&args.context);
    spec.dockerfile = Some(dockerfile);
    args.inputs.apply(&mut spec);
    spec.whole_context = args.whole_context;
    let runtime = super::runtime().map_err(|_| "cannot start the async runtime".to_owned())?;
    let host = devbuild::BuildHost::from_env().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let selection = select_context(None, &spec, &host)
            .await
            .map_err(|e| e.to_string())?;
        if selection.decided {
            return Ok(Some(selection));
        }
        let options = ConnectOptions {
            timeout: ENGINE_TIMEOUT,
        };
        let endpoint = devbuild::engine_client::endpoint::resolve(
            &devbuild::engine_client::endpoint::EndpointEnv::from_process(),
        );
        let Ok(endpoint) = endpoint else {
            return Ok(Some(selection));
        };
        match Engine::connect(endpoint, &options).await {
            Ok(engine) => select_context(Some(&engine), &spec, &host)
                .await
                .map(Some)
                .map_err(|e| e.to_string()),
            Err(_) => Ok(Some(selection)),
        }
    })
}

/// Bad input (the context, the Dockerfile, the ignore rules) is a usage error; anything that
/// goes wrong while the tar is produced is a failure.
fn context_error(err: &ctx_tar::Error) -> (u8, String) {
    let code = match err {
        ctx_tar::Error::Context { .. }
        | ctx_tar::Error::Dockerfile { .. }
        | ctx_tar::Error::Ignore { .. }
        | ctx_tar::Error::Include { .. }
        | ctx_tar::Error::NotInContext { .. }
        | ctx_tar::Error::SourceDateEpoch { .. } => EXIT_USAGE,
        _ => EXIT_FAILED,
    };
    (code, err.to_string())
}

fn print_listing(args: &Args, listing: &Listing, selection: Option<&ContextSelection>) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.list {
        for entry in &listing.entries {
            let target = entry
                .target
                .as_ref()
                .map(|_| format!(" -> {}", escape_name(entry.target_bytes())))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<8} {:04o} {:>12} {}{target}",
                entry.kind.as_str(),
                entry.mode,
                entry.size,
                escape_name(entry.path_bytes())
            );
        }
    } else if args.json {
        for entry in &listing.entries {
            let line = serde_json::to_string(entry).expect("entries serialise");
            let _ = writeln!(out, "{line}");
        }
    } else {
        let text = summary_text(&listing.summary, &args.context, selection);
        let _ = out.write_all(text.as_bytes());
    }
    for warning in &listing.summary.warnings {
        eprintln!("warning: {warning}");
    }
}

/// A name as one line of `--list`: a backslash, a control character or a byte that is
/// not UTF-8 becomes an escape (`\\`, `\n`, `\t`, `\xNN`), as GNU tar lists them.
fn escape_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    out.push_str(&devbuild::render::escape_controls(&c.to_string()))
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// A path relative to the context directory when it lies inside it (as given otherwise).
fn relative_to_context(path: &Path, context: &Path) -> String {
    let root = std::fs::canonicalize(context).unwrap_or_else(|_| context.to_path_buf());
    path.strip_prefix(&root)
        .or_else(|_| path.strip_prefix(context))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The default output: what would be sent, in a few lines.
fn summary_text(summary: &Summary, context: &Path, selection: Option<&ContextSelection>) -> String {
    let mut text = format!("context:     {}\n", context.display());
    if let Some(dockerfile) = &summary.dockerfile {
        text.push_str(&format!("dockerfile:  {dockerfile}\n"));
    }
    let ignore = summary.ignore_file.as_ref().map_or_else(
        || "none".to_string(),
        |file| relative_to_context(file, context),
    );
    text.push_str(&format!("ignore file: {ignore}\n"));
    let used = match selection {
        Some(s) => describe_context(s.used, &s.paths, s.reason.as_deref()),
        None => "sending the whole context: no Dockerfile".to_owned(),
    };
    text.push_str(&format!("used:        {used}\n"));
    text.push_str(&format!(
        "sent:        {}, {} in files ({} as tar)\n",
        count(summary.entries, "entry", "entries"),
        devbuild::render::format_bytes(summary.bytes),
        devbuild::render::format_bytes(summary.archive_bytes)
    ));
    text.push_str(&format!(
        "excluded:    {} (by the ignore file)\n",
        count(summary.excluded, "path", "paths")
    ));
    if selection.is_some_and(|s| s.used != ContextUsed::All) {
        text.push_str(&format!(
            "not used:    {} (the Dockerfile does not read them)\n",
            count(summary.unused, "path", "paths")
        ));
    }
    if !summary.top_dirs.is_empty() {
        text.push_str("largest directories:\n");
        for dir in &summary.top_dirs {
            text.push_str(&format!(
                "  {:>10}  {}\n",
                devbuild::render::format_bytes(dir.bytes),
                dir.path
            ));
        }
    }
    text
}

/// `1 entry`, `2 entries`.
fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn explain(spec: &ContextSpec, paths: &[String]) -> Result<(), (u8, String)> {
    let explanations = paths
        .iter()
        .map(|path| ctx_tar::explain(spec, path))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| context_error(&err))?;
    let width = explanations
        .iter()
        .map(|e| e.path.chars().count())
        .max()
        .unwrap_or(0);
    for explanation in &explanations {
        let verdict = if !explanation.exists {
            "missing"
        } else if !explanation.used {
            "not used"
        } else if explanation.excluded {
            "excluded"
        } else {
            "sent"
        };
        println!(
            "{verdict:<8}  {:<width$}  {}",
            explanation.path,
            reason(explanation, &spec.root)
        );
    }
    Ok(())
}

/// The rule that decided, as `<ignore file>:<line>: <rule>`, or why no rule did.
fn reason(explanation: &Explanation, context: &Path) -> String {
    let rule = explanation.rule.as_ref().map(|rule| {
        let file = explanation.ignore_file.as_ref().map_or_else(
            || "ignore rules".to_string(),
            |file| relative_to_context(file, context),
        );
        format!("{file}:{}: {}", rule.line, rule.text)
    });
    if !explanation.exists {
        return "no such path in the context".to_string();
    }
    match (explanation.dockerfile, rule) {
        (true, Some(rule)) => format!("the Dockerfile is always sent (despite {rule})"),
        (true, None) => "the Dockerfile is always sent".to_string(),
        (false, _) if !explanation.used => "not used by the Dockerfile".to_string(),
        (false, Some(rule)) => rule,
        (false, None) => "no rule matches".to_string(),
    }
}

/// Writes the tar to a file (through a temporary file renamed into place, so a failure leaves
/// no half-written archive) or to standard output.
fn write_output(spec: &ContextSpec, output: &Path) -> Result<(), (u8, String)> {
    let summary = if output.as_os_str() == "-" {
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            return Err((
                EXIT_USAGE,
                "refusing to write a tar to a terminal: redirect standard output or give --output FILE"
                    .to_string(),
            ));
        }
        ctx_tar::write_tar(spec, stdout.lock()).map_err(|err| context_error(&err))?
    } else {
        let dir = match output.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|err| (EXIT_FAILED, format!("{}: {err}", output.display())))?;
        let summary =
            ctx_tar::write_tar(spec, temp.as_file()).map_err(|err| context_error(&err))?;
        temp.persist(output)
            .map_err(|err| (EXIT_FAILED, format!("{}: {}", output.display(), err.error)))?;
        summary
    };
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    eprintln!(
        "wrote {} entries, {} as tar, to {}",
        summary.entries,
        devbuild::render::format_bytes(summary.archive_bytes),
        if output.as_os_str() == "-" {
            "standard output".to_string()
        } else {
            output.display().to_string()
        }
    );
    Ok(())
}
