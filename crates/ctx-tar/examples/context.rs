//! Shows what would be sent for a build context, or writes its tar.
//!
//! ```text
//! cargo run -p ctx-tar --example context -- [CONTEXT] [--list] [--output FILE]
//! ```

use std::process::ExitCode;

use ctx_tar::{ContextSpec, MtimePolicy};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut root = ".".to_owned();
    let mut list = false;
    let mut output = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--output" => output = args.next(),
            _ => root = arg,
        }
    }
    let mut spec = ContextSpec::new(&root);
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
                "{} entries, {} bytes ({} in the tar), {} excluded",
                summary.entries, summary.bytes, summary.archive_bytes, summary.excluded
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
