//! Decodes a saved `/build?version=2` response (one JSON message per line) and prints
//! each event as JSON, one per line, as `--progress=json` would.
//!
//! ```text
//! cargo run -p engine-client --example decode -- crates/engine-client/tests/data/build/ok-26.1.jsonl
//! ```
//!
//! A relative path that does not exist is also looked for in the crate's directory, so
//! `tests/data/build/ok-26.1.jsonl` works from there and from the workspace root.

use engine_client::progress::BuildDecoder;

fn main() -> std::process::ExitCode {
    match decode() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn decode() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: decode <response.jsonl>")?;
    let path = std::path::PathBuf::from(path);
    let in_crate = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&path);
    let path = if path.is_relative() && !path.exists() && in_crate.exists() {
        in_crate
    } else {
        path
    };
    let text = std::fs::read(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut decoder = BuildDecoder::new();
    for line in text.split(|b| *b == b'\n') {
        for event in decoder.decode_line(line)? {
            println!("{}", serde_json::to_string(&event)?);
        }
    }
    for event in decoder.finish() {
        println!("{}", serde_json::to_string(&event)?);
    }
    if let Some(failure) = decoder.failure() {
        eprintln!("{failure}");
    }
    Ok(())
}
