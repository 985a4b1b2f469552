//! Builds a directory with devbuild as a library: prepare, run, read the events as a
//! `Stream`, then the outcome.
//!
//! ```text
//! cargo run -p devbuild --example build -- examples/hello [TAG] [--build-arg K=V]...
//! ```
//!
//! The engine is the one `DOCKER_HOST` / `DOCKER_CONTEXT` names, as for the docker CLI; with
//! the test engines: `eval "$(cargo xtask engine env)"` and
//! `--build-arg BASE=devbuild-test/busybox:1` for examples/hello.

use devbuild::engine_client::engine::Engine;
use devbuild::{prepare, run, BuildHost, BuildSpec, Event};
use futures_util::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match build_it().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn build_it() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let context = args
        .next()
        .ok_or("usage: build CONTEXT [TAG] [--build-arg K=V]...")?;
    let mut spec = BuildSpec::new(&context);
    while let Some(arg) = args.next() {
        if arg == "--build-arg" {
            let pair = args.next().ok_or("--build-arg needs K=V")?;
            let (key, value) = pair.split_once('=').ok_or("--build-arg needs K=V")?;
            spec.build_args.insert(key.to_owned(), value.to_owned());
        } else {
            spec.tags.push(arg);
        }
    }

    // Bad input fails here, before any engine is asked.
    let prepared = prepare(&spec, &BuildHost::from_env()?)?;
    let engine = Engine::connect_from_env().await?;
    let mut build = run(&engine, prepared);
    while let Some(event) = build.next().await {
        match event {
            Event::Engine(engine_event) => println!("engine: {engine_event:?}"),
            other => println!("{other:?}"),
        }
    }
    let outcome = build.finish().await?;
    println!(
        "built {} in {:.1}s, {} of {} steps cached",
        outcome.image_id.as_deref().unwrap_or("(no image id)"),
        outcome.duration.as_secs_f64(),
        outcome.steps.iter().filter(|s| s.cached).count(),
        outcome.steps.len()
    );
    Ok(())
}
