//! `devbuild froms`: the stages of a Dockerfile and every external image its build needs.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use dockerfile_froms::{analyze, Analysis, AnalyzeOptions, Platform, StageBase};

use super::{fail, parse_build_args, BuildInputs, EXIT_FAILED, EXIT_USAGE};

/// Arguments of `devbuild froms`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Dockerfile to read (`-` reads standard input).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "Dockerfile"
    )]
    file: PathBuf,
    #[command(flatten)]
    inputs: BuildInputs,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs `devbuild froms`.
pub fn run(args: &Args) -> ExitCode {
    let (display_name, text) = match read_dockerfile(&args.file) {
        Ok(read) => read,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    let target_platform = match args
        .inputs
        .platform
        .as_deref()
        .map(parse_platform)
        .transpose()
    {
        Ok(platform) => platform,
        Err(message) => return fail(EXIT_USAGE, message),
    };
    let options = AnalyzeOptions {
        build_args: parse_build_args(&args.inputs.build_args),
        target: args.inputs.target.clone().filter(|t| !t.is_empty()),
        target_platform,
        build_platform: Platform::host(),
        ..AnalyzeOptions::default()
    };
    let analysis = match analyze(&text, &options) {
        Ok(analysis) => analysis,
        Err(err) => {
            let error = devbuild::BuildError::Dockerfile {
                file: display_name.to_string(),
                error: err,
            };
            return fail(EXIT_FAILED, error);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&analysis).expect("the analysis serialises")
        );
    } else {
        print!("{}", to_table(&analysis));
        for warning in &analysis.warnings {
            eprintln!("warning: {display_name}: {warning}");
        }
    }
    ExitCode::SUCCESS
}

fn read_dockerfile(path: &std::path::Path) -> Result<(String, String), String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("<stdin>: cannot read the Dockerfile: {e}"))?;
        return Ok(("<stdin>".to_string(), text));
    }
    let display = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| format!("{display}: cannot read the Dockerfile: {e}"))?;
    // BuildKit reads the Dockerfile as bytes; invalid UTF-8 only matters inside words, so keep it
    // lossy rather than refusing the file.
    Ok((display, String::from_utf8_lossy(&bytes).into_owned()))
}

fn parse_platform(text: &str) -> Result<Platform, String> {
    if text.contains(',') {
        return Err(format!(
            "--platform {text:?}: give one platform; run once per platform of a multi-platform build"
        ));
    }
    Platform::parse(text).map_err(|e| format!("--platform {text:?}: {e}"))
}

fn stage_base(analysis: &Analysis, base: &StageBase) -> String {
    match base {
        StageBase::Image(reference) => reference.to_string(),
        StageBase::Stage(index) => analysis
            .stages
            .get(*index)
            .and_then(|stage| stage.name.clone())
            .unwrap_or_else(|| index.to_string()),
        StageBase::Scratch => "scratch".to_string(),
    }
}

fn origin_label(origin: dockerfile_froms::Origin) -> &'static str {
    match origin {
        dockerfile_froms::Origin::From => "FROM",
        dockerfile_froms::Origin::CopyFrom => "COPY --from",
        dockerfile_froms::Origin::MountFrom => "RUN --mount from",
        dockerfile_froms::Origin::Onbuild => "ONBUILD",
    }
}

/// The human output: the syntax frontend, then the stages and the needed images as tables.
fn to_table(analysis: &Analysis) -> String {
    let mut out = String::new();
    if let Some(syntax) = &analysis.syntax {
        out.push_str(&format!("syntax: {syntax}\n\n"));
    }
    let stage_rows: Vec<Vec<String>> = analysis
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            vec![
                index.to_string(),
                stage.name.clone().unwrap_or_else(|| "-".to_string()),
                stage_base(analysis, &stage.base),
                stage
                    .platform
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |p| p.to_string()),
                stage.line.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["#", "STAGE", "BASE", "PLATFORM", "LINE"],
        &stage_rows,
    ));
    out.push('\n');
    if analysis.images.is_empty() {
        out.push_str("no external images needed\n");
    } else {
        let image_rows: Vec<Vec<String>> = analysis
            .images
            .iter()
            .map(|image| {
                vec![
                    image.reference.to_string(),
                    image.platform.to_string(),
                    origin_label(image.origin).to_string(),
                    image.line.to_string(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["IMAGE", "PLATFORM", "NEEDED BY", "LINE"],
            &image_rows,
        ));
    }
    out
}

/// Left-aligned columns separated by two spaces, no trailing whitespace.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
