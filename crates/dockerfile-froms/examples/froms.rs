//! Prints what a Dockerfile needs: `cargo run --example froms -- path/to/Dockerfile
//! [--target STAGE] [--platform os/arch] [--build-arg K=V]…`.
//! `examples/froms.Dockerfile` is the README's sample; `tests/readme.rs` holds the README's
//! output to what [`froms`] prints for it.

use std::fmt::Write as _;
use std::process::ExitCode;

use dockerfile_froms::{analyze, AnalyzeOptions, Origin, Platform};

fn main() -> ExitCode {
    let mut out = String::new();
    let code = froms(std::env::args().skip(1), &mut out);
    print!("{out}");
    code
}

/// Reads the Dockerfile the arguments name and writes what it needs to `out`; errors go to
/// stderr, and the exit status says how it went.
pub(crate) fn froms(args: impl IntoIterator<Item = String>, out: &mut String) -> ExitCode {
    let mut args = args.into_iter();
    let mut path = None;
    let mut options = AnalyzeOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => options.target = args.next(),
            "--platform" => match args.next().map(|p| Platform::parse(&p)) {
                Some(Ok(p)) => options.target_platform = Some(p),
                Some(Err(e)) => {
                    eprintln!("invalid --platform: {e}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("--platform needs a value");
                    return ExitCode::from(2);
                }
            },
            "--build-arg" => {
                let Some((k, v)) = args.next().and_then(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                }) else {
                    eprintln!("--build-arg needs KEY=VALUE");
                    return ExitCode::from(2);
                };
                options.build_args.insert(k, v);
            }
            _ => path = Some(arg),
        }
    }
    let Some(path) = path else {
        eprintln!("usage: froms <Dockerfile> [--target STAGE] [--platform P] [--build-arg K=V]…");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    match analyze(&text, &options) {
        Ok(analysis) => {
            if let Some(syntax) = &analysis.syntax {
                let _ = writeln!(out, "{:<11}{syntax}", "syntax");
            }
            for image in &analysis.images {
                let origin = match image.origin {
                    Origin::From => "from",
                    Origin::CopyFrom => "copy-from",
                    Origin::MountFrom => "mount-from",
                    Origin::Onbuild => "onbuild",
                };
                let _ = writeln!(
                    out,
                    "{origin:<11}{} [{}] (line {})",
                    image.reference, image.platform, image.line
                );
            }
            for warning in &analysis.warnings {
                let _ = writeln!(out, "{:<11}{warning}", "warning");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e.line() {
                Some(line) => eprintln!("{path}:{line}: {e}"),
                None => eprintln!("{path}: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}
