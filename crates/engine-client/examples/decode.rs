//! Decodes a saved `/build?version=2` response (one JSON message per line) and prints
//! each event as JSON, one per line, as `--progress=json` would.
//!
//! ```text
//! cargo run -p engine-client --example decode -- tests/data/build/ok-26.1.jsonl
//! ```

use engine_client::progress::BuildDecoder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: decode <response.jsonl>")?;
    let text = std::fs::read(path)?;
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
