//! Shows what would be sent for a build context, or writes its tar.
//!
//! ```text
//! cargo run -p ctx-tar --example context -- [CONTEXT] [--list] [--output FILE]
//!     [--follow PATH]... [--follow-none] [--no-dockerfile] [--ignore-text FILE]
//! ```
//!
//! `--follow` sends only those paths (as a build that reads them would), `--follow-none`
//! none of them; `--no-dockerfile` leaves the context's Dockerfile to the rules like any
//! other file; `--ignore-text` takes the ignore rules from FILE.

use std::process::ExitCode;

use ctx_tar::{ContextSpec, Dockerfile, IgnoreSource, Include, MtimePolicy};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut root = ".".to_owned();
    let mut list = false;
    let mut output = None;
    let mut follow: Option<Vec<String>> = None;
    let mut no_dockerfile = false;
    let mut ignore_text = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--output" => output = args.next(),
            "--follow" => follow.get_or_insert_with(Vec::new).extend(args.next()),
            "--follow-none" => {
                follow.get_or_insert_with(Vec::new);
            }
            "--no-dockerfile" => no_dockerfile = true,
            "--ignore-text" => ignore_text = args.next(),
            _ => root = arg,
        }
    }
    let mut spec = ContextSpec::new(&root);
    if let Some(paths) = follow {
        spec.include = Include::Paths(paths);
    }
    if no_dockerfile {
        spec.dockerfile = Dockerfile::None;
    }
    if let Some(file) = ignore_text {
        match std::fs::read_to_string(&file) {
            Ok(text) => spec.ignore = IgnoreSource::Text(text),
            Err(err) => {
                eprintln!("error: {file}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    spec.mtime = match MtimePolicy::from_env() {
        Ok(policy) => policy,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match output {
        Some(path) => std::fs::File::create(&path)
            .map_err(|source| ctx_tar::Error::Write { source })
            .and_then(|file| ctx_tar::write_tar(&spec, file)),
        None => ctx_tar::list(&spec).map(|listing| {
            if list {
                for e in &listing.entries {
                    let target = e.target.as_deref().map(|t| format!(" -> {t}"));
                    println!(
                        "{} {:04o} {} {}{}",
                        e.kind,
                        e.mode,
                        e.size,
                        e.path,
                        target.unwrap_or_default()
                    );
                }
            }
            listing.summary
        }),
    };
    match result {
        Ok(summary) => {
            for warning in &summary.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "{} entries, {} bytes ({} in the tar), {} excluded, {} not used",
                summary.entries,
                summary.bytes,
                summary.archive_bytes,
                summary.excluded,
                summary.unused
            );
            for dir in &summary.top_dirs {
                println!("  {:>12}  {}", dir.bytes, dir.path);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
