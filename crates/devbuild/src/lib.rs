//! devbuild: build container images through the Docker Engine API with BuildKit, without a
//! BuildKit session.
//!
//! [`prepare()`] checks a [`BuildSpec`] and analyses its Dockerfile without an engine; [`run()`]
//! then runs the whole pipeline as a [`BuildStream`] of [`Event`]s, one per stage ([`build()`] is
//! the same with a callback):
//!
//! 1. **analysis**: the Dockerfile is read and [`dockerfile_froms`] finds every external
//!    image its build needs, as BuildKit would (build args, target, platform)
//!    ([`Event::Analyzed`]);
//! 2. **pre-pull**: [`engine_client`] inspects each needed image (and the `# syntax=`
//!    frontend) and pulls what is missing, with the docker CLI's credentials
//!    (`pull_progress`, then `image_ready` per image);
//! 3. **upload**: [`ctx_tar`] streams the paths of the context the Dockerfile reads (as
//!    BuildKit's file sync would send them to buildx; [`Event::ContextSelected`]),
//!    `.dockerignore` applied, as the body of `POST /build?version=2`
//!    ([`Event::UploadProgress`]: entries, bytes, rate, what was left out);
//! 4. **BuildKit**: its steps, logs, cache hits and warnings (`step_started`,
//!    `step_cached`, `step_log`, …);
//! 5. **result**: [`Event::Finished`] and a [`BuildOutcome`] (image id, tags, duration,
//!    per-step timings and cache hits, what was pulled, warnings), or
//!    [`Event::Failed`] and a [`BuildError`].
//!
//! ```no_run
//! use devbuild::{prepare, run, BuildHost, BuildSpec};
//! use devbuild::engine_client::engine::Engine;
//! use devbuild::render::{Progress, ProgressMode};
//! use futures_util::StreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::connect_from_env().await?;
//! let mut spec = BuildSpec::new("examples/hello");
//! spec.tags.push("hello:dev".into());
//! spec.build_args.insert("BASE".into(), "busybox".into());
//!
//! let mut progress = Progress::new(ProgressMode::Plain, std::io::stderr(), false);
//! let mut build = run(&engine, prepare(&spec, &BuildHost::from_env()?)?);
//! while let Some(event) = build.next().await {
//!     let _ = progress.event(&event, std::time::Instant::now());
//! }
//! let outcome = build.finish().await?;
//! println!("{}", outcome.image_id.unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! The stages can also be used alone: [`prepull()`] (what `devbuild pull` does),
//! [`select_context()`] (what `devbuild context` shows), and the
//! re-exported crates:
//!
//! - [`dockerfile_froms`]: every external image a Dockerfile needs, as BuildKit sees it.
//!
//! ```
//! let analysis = devbuild::dockerfile_froms::analyze(
//!     "FROM alpine:3.19 AS base\nFROM base\n",
//!     &Default::default(),
//! );
//! # let _ = analysis;
//! ```
//!
//! - [`ctx_tar`]: the build context as BuildKit would have received it;
//! - [`engine_client`]: the Engine API, pre-pull and typed BuildKit progress.
//!
//! A build's context may also be a git repository or an http(s) URL that the engine fetches
//! itself ([`BuildSpec::remote`], see [`remote`]: how a `CONTEXT` argument is classified as
//! the docker CLI does, and how the Dockerfile is fetched for the pre-pull).
//!
//! It adds what a build shows while it runs:
//!
//! - [`events`]: [`Event`], everything a build reports, from the analysis to the result
//!   (what `--progress=json` prints, one per line);
//! - [`trace`]: the numbering of a build's work and the merging of BuildKit's progress
//!   groups, one for every renderer, as progressui's `trace` is buildx's;
//! - [`render`]: the progress renderers (`plain` like buildx's, `json`, the live `tty` view);
//! - [`source`]: the failing instruction in its Dockerfile, as buildx shows it after a failure.
//!
//! And what a build makes after BuildKit, as `docker buildx build` does:
//!
//! - [`output`]: `--output` (`type=docker`, `type=tar`, `type=local`, `type=image`), parsed
//!   as buildx parses it and written atomically from the engine's image;
//! - [`push`]: `--push`, each tag pushed through the engine with the docker CLI's
//!   credentials ([`BuildOutcome::pushed`] has the digests);
//! - [`metadata`]: `--metadata-file`, buildx's result keys.
#![deny(missing_docs)]

pub use ctx_tar;
pub use dockerfile_froms;
pub use engine_client;

pub mod build;
pub mod events;
pub mod metadata;
pub mod output;
pub mod push;
pub mod remote;
pub mod render;
mod results;
pub mod run;
pub mod secrets;
pub mod source;
pub mod ssh_agents;
pub mod trace;

pub use build::{
    select_context, BuildError, BuildOutcome, BuildSpec, ContextSelection, ImageOutcome, StepTiming,
};
pub use events::Event;
pub use output::{Destination, Output};
pub use push::PushedImage;
pub use run::{build, prepare, prepull, run, BuildHost, BuildStream, PreparedBuild};
