//! Builds a context tar on the engine the docker CLI would use, after pre-pulling the
//! images given with `--need`, and prints every event as a JSON line.
//!
//! ```text
//! tar -C my-context -cf /tmp/ctx.tar .
//! cargo run -p engine-client --example build_tar -- /tmp/ctx.tar my-image:dev --need alpine:3.20
//! ```

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use engine_client::credentials::DockerConfig;
use engine_client::engine::{BuildOptions, Engine, ImageNeed, PrepullOptions};
use engine_client::ImageRef;
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tar = args
        .next()
        .ok_or("usage: build <context.tar> [tag] [--need image]…")?;
    let mut tags = Vec::new();
    let mut needs = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--need" {
            let image = args.next().ok_or("--need takes an image")?;
            needs.push(ImageNeed {
                image: ImageRef::parse(&image)?,
                platform: None,
            });
        } else {
            tags.push(arg);
        }
    }

    let engine = Engine::connect_from_env().await?;
    eprintln!(
        "engine {} (API {}) at {}, {}",
        engine.server_version(),
        engine.api_version(),
        engine.endpoint().host,
        engine.endpoint().source
    );
    let credentials = Arc::new(DockerConfig::load_from_env()?);
    let mut pulls = engine.prepull(needs, credentials, &PrepullOptions::default());
    while let Some(event) = pulls.next().await {
        println!("{}", serde_json::to_string(&event)?);
    }

    // The tar is read in 64 KiB pieces as the upload goes, never whole.
    let mut file = std::fs::File::open(tar)?;
    let context = futures_util::stream::poll_fn(move |_| {
        let mut buffer = vec![0; 64 * 1024];
        std::task::Poll::Ready(match file.read(&mut buffer) {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some(Ok(Bytes::from(buffer)))
            }
            Err(e) => Some(Err(e)),
        })
    });
    let options = BuildOptions {
        tags,
        ..BuildOptions::default()
    };
    let mut build = std::pin::pin!(engine.build(&options, context));
    while let Some(item) = build.next().await {
        match item {
            Ok(event) => println!("{}", serde_json::to_string(&event)?),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
