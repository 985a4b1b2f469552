//! A Docker Engine API client for BuildKit builds without a BuildKit session.
//!
//! The engine builds with BuildKit when `POST /build` carries `version=2`, and needs no
//! session for it as long as every image the build needs is already in its store
//! (BuildKit cannot ask the client for registry credentials without a session). So a
//! build is: resolve the engine like the docker CLI, pre-pull what is missing with the
//! user's credentials, then stream the context to `/build?version=2` and turn the
//! response, BuildKit's protobuf progress included, into typed events.
//!
//! - [`endpoint`]: which engine, from `DOCKER_HOST`, the TLS variables and docker
//!   contexts, and how it was chosen (for error messages).
//! - [`credentials`]: registry credentials from `config.json` (`auths`, `credsStore`,
//!   `credHelpers`) and the `X-Registry-Auth` header; secrets never show.
//! - [`engine`]: connect and negotiate, inspect, pull, pre-pull, build.
//! - [`events`]: [`BuildEvent`], [`PullEvent`](events::PullEvent) and
//!   [`PushEvent`](events::PushEvent), the public, serialisable vocabulary of progress.
//! - [`push`]: push an image to its registry with credentials ([`Engine::push`]), and the
//!   registry's descriptor of what it holds; `Engine::save_image` streams an image as
//!   `docker save` writes it.
//! - [`progress`]: decoding the build response (and `moby.buildkit.trace`) into events.
//! - [`run_settings`]: what the build's `RUN`s get (hosts, network, `/dev/shm`, ulimits),
//!   parsed as buildx parses its flags.
//! - [`solve_status`]: BuildKit's status updates as its Go client writes them in JSON.
//! - [`session`]: build secrets ([`session::BuildSecrets`]), SSH agents and registry
//!   credentials, served by a lean BuildKit session that a build opens only when it has
//!   secrets or SSH agents (HTTP/2 from `h2`, gRPC framing and messages of its own).
//! - [`ssh_agents`]: the SSH agents a build forwards ([`SshAgents`]), as buildx takes them: an
//!   agent socket, or key files served by an `ssh-agent` of their own.
//!
//! Errors say what failed and why in plain words: the endpoint and how it was chosen, the
//! OS's reason for a failed connection (`connection refused`), the TLS file that is
//! missing or invalid, an authorization plugin's refusal with the plugin's own message.
//!
//! ```no_run
//! use std::sync::Arc;
//! use engine_client::credentials::DockerConfig;
//! use engine_client::engine::{BuildOptions, Engine, ImageNeed, PrepullOptions};
//! use engine_client::ImageRef;
//! use futures_util::StreamExt;
//!
//! # async fn example(context: impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::connect_from_env().await?;
//! let credentials = Arc::new(DockerConfig::load_from_env()?);
//! let needs = vec![ImageNeed { image: ImageRef::parse("alpine:3.20")?, platform: None }];
//! let mut pulls = engine.prepull(needs, credentials, &PrepullOptions::default());
//! while let Some(event) = pulls.next().await {
//!     println!("{}", serde_json::to_string(&event)?);
//! }
//! let options = BuildOptions { tags: vec!["app:dev".into()], ..BuildOptions::default() };
//! let mut build = std::pin::pin!(engine.build(&options, context));
//! while let Some(item) = build.next().await {
//!     println!("{}", serde_json::to_string(&item?)?);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod credentials;
pub mod endpoint;
pub mod engine;
pub mod events;
mod grpc;
mod json_messages;
mod line_stream;
pub mod progress;
pub mod push;
pub mod run_settings;
mod save;
pub mod session;
pub mod solve_status;
#[cfg(feature = "ssh")]
mod ssh;
pub mod ssh_agents;
#[cfg(feature = "tls")]
mod tls;

pub use engine::{BuildFailure, BuildOptions, Engine, EngineError, ImageNeed, PrepullOptions};
pub use session::BuildSecrets;
pub use ssh_agents::SshAgents;
// The vocabulary of `ImageNeed`, so that callers need not name the crate it comes from.
pub use events::BuildEvent;
pub use image_ref::{ImageRef, Platform};
