//! A build in two steps: [`prepare`] checks and analyses a [`BuildSpec`] without an engine
//! (reading the Dockerfile once), and [`run`] builds it on an engine as a [`BuildStream`] of
//! [`Event`]s whose end gives the [`BuildOutcome`]. What the build takes from the machine it
//! runs on (the docker CLI's credentials, the platform) is a [`BuildHost`] the caller gives;
//! [`BuildHost::from_env`] reads it as the docker CLI would.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use devbuild::engine_client::engine::Engine;
//! use devbuild::{prepare, run, BuildHost, BuildSpec};
//! use futures_util::StreamExt;
//!
//! let engine = Engine::connect_from_env().await?;
//! let mut spec = BuildSpec::new("examples/hello");
//! spec.tags.push("hello:dev".into());
//! let prepared = prepare(&spec, &BuildHost::from_env()?)?;
//! let mut build = run(&engine, prepared);
//! while let Some(event) = build.next().await {
//!     println!("{event:?}");
//! }
//! let outcome = build.finish().await?;
//! println!("built {:?}", outcome.image_id);
//! # Ok(())
//! # }
//! ```
//!
//! Dropping the stream before its end cancels the build on the engine.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use dockerfile_froms::Platform;
use engine_client::credentials::DockerConfig;
use engine_client::engine::Engine;
use futures_util::{Stream, StreamExt};

use crate::build::{
    execute, prepare_to_run, prepull_prepared, BuildError, BuildOutcome, BuildSpec, ImageOutcome,
    Prepared, SessionInputs,
};
use crate::events::Event;

/// What a build takes from the machine it runs on.
#[derive(Clone)]
pub struct BuildHost {
    /// The docker CLI's configuration: credentials for the pre-pull and `--push`.
    pub credentials: Arc<DockerConfig>,
    /// The platform the Dockerfile's `BUILDPLATFORM` is, and the `# syntax=` frontend is
    /// pulled for.
    pub platform: Platform,
}

impl BuildHost {
    /// The docker CLI's configuration (`$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`; none is no credentials) and this machine's platform.
    pub fn from_env() -> Result<BuildHost, BuildError> {
        let credentials = DockerConfig::load_from_env()
            .map_err(|e| BuildError::Input(format!("docker configuration: {e}")))?;
        Ok(BuildHost {
            credentials: Arc::new(credentials),
            platform: Platform::host(),
        })
    }
}

impl std::fmt::Debug for BuildHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds credentials: never printed.
        f.debug_struct("BuildHost")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// A build checked and analysed, ready to [`run`].
#[derive(Debug)]
pub struct PreparedBuild {
    spec: BuildSpec,
    host: BuildHost,
    /// `None` for a remote context: its Dockerfile is fetched when the build runs.
    prepared: Option<Prepared>,
    /// The values of `spec.secrets` and the agents of `spec.ssh`.
    session: SessionInputs,
}

impl PreparedBuild {
    /// The spec it was prepared from.
    pub fn spec(&self) -> &BuildSpec {
        &self.spec
    }

    /// The Dockerfile's analysis (`None` for a remote context, read when the build runs).
    pub fn analysis(&self) -> Option<&dockerfile_froms::Analysis> {
        self.prepared.as_ref().map(|p| &p.analysis)
    }
}

/// Checks `spec` and reads and analyses its Dockerfile, without an engine: every
/// [`BuildError::Input`] a build of it would fail with comes from here.
pub fn prepare(spec: &BuildSpec, host: &BuildHost) -> Result<PreparedBuild, BuildError> {
    let prepared = prepare_to_run(spec, &host.platform)?;
    let session = SessionInputs {
        secrets: crate::secrets::read(&spec.secrets).map_err(BuildError::Secret)?,
        ssh: crate::ssh_agents::open(&spec.ssh).map_err(BuildError::Ssh)?,
    };
    Ok(PreparedBuild {
        spec: spec.clone(),
        host: host.clone(),
        prepared,
        session,
    })
}

/// Builds `prepared` on `engine`: the analysis, the pre-pull, the context upload, BuildKit's
/// steps, and last [`Event::Finished`] or [`Event::Failed`], as a stream; its end gives the
/// outcome ([`BuildStream::finish`]). Dropping the stream cancels the build on the engine.
pub fn run(engine: &Engine, prepared: PreparedBuild) -> BuildStream {
    let engine = engine.clone();
    let events = Arc::new(Mutex::new(VecDeque::new()));
    let sink = events.clone();
    let build = async move {
        let PreparedBuild {
            spec,
            host,
            prepared,
            session,
        } = prepared;
        execute(&engine, &spec, &host, prepared, session, |event| {
            lock(&sink).push_back(event.clone());
        })
        .await
    };
    BuildStream {
        build: Some(Box::pin(build)),
        events,
        outcome: None,
    }
}

/// Pre-pulls every image the build of `prepared` needs (and its `# syntax=` frontend) on
/// `engine`, reporting [`Event::Analyzed`], then each image's progress and outcome, and
/// builds nothing. A failed pull is an outcome, not an error.
pub async fn prepull<F: FnMut(&Event)>(
    engine: &Engine,
    prepared: &PreparedBuild,
    on_event: F,
) -> Result<Vec<ImageOutcome>, BuildError> {
    prepull_prepared(
        engine,
        &prepared.spec,
        &prepared.host,
        prepared.prepared.as_ref(),
        on_event,
    )
    .await
}

/// [`prepare`] and [`run`] in one call, with the events given to `on_event` as they come,
/// and the [`BuildHost`] read from the environment ([`BuildHost::from_env`]). Dropping the
/// returned future cancels the build on the engine.
pub async fn build<F: FnMut(&Event)>(
    engine: &Engine,
    spec: &BuildSpec,
    mut on_event: F,
) -> Result<BuildOutcome, BuildError> {
    let prepared = prepare(spec, &BuildHost::from_env()?)?;
    let mut stream = run(engine, prepared);
    while let Some(event) = stream.next().await {
        on_event(&event);
    }
    stream.finish().await
}

type BuildFuture = Pin<Box<dyn Future<Output = Result<BuildOutcome, BuildError>> + Send>>;

/// The events of a running build ([`run`]). `Unpin` and `Send`; dropping it cancels the
/// build on the engine.
pub struct BuildStream {
    /// The build, until it has ended.
    build: Option<BuildFuture>,
    /// Events the build reported that the stream has not yielded yet.
    events: Arc<Mutex<VecDeque<Event>>>,
    outcome: Option<Result<BuildOutcome, BuildError>>,
}

fn lock(events: &Mutex<VecDeque<Event>>) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
    events.lock().unwrap_or_else(|e| e.into_inner())
}

impl BuildStream {
    /// The build's outcome: its image, steps, pulls and pushes, or why it failed. Runs the
    /// build to its end first if the stream was not read to the end (its remaining events
    /// are dropped).
    pub async fn finish(mut self) -> Result<BuildOutcome, BuildError> {
        while self.next().await.is_some() {}
        self.outcome
            .take()
            .expect("a build stream ends with its outcome")
    }
}

impl Stream for BuildStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        loop {
            if let Some(event) = lock(&self.events).pop_front() {
                return Poll::Ready(Some(event));
            }
            let Some(build) = self.build.as_mut() else {
                return Poll::Ready(None);
            };
            match build.as_mut().poll(cx) {
                Poll::Ready(outcome) => {
                    self.build = None;
                    self.outcome = Some(outcome);
                }
                Poll::Pending => {
                    // Events reported before the build had to wait come first.
                    if let Some(event) = lock(&self.events).pop_front() {
                        return Poll::Ready(Some(event));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_unpin_send<T: Unpin + Send + 'static>() {}

    #[test]
    fn a_build_stream_is_unpin_send_and_static() {
        assert_unpin_send::<BuildStream>();
    }

    /// Bad input fails the preparation, before any engine is needed.
    #[test]
    fn preparing_reads_and_checks_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM alpine:3\nRUN true\n").unwrap();
        let host = BuildHost {
            credentials: Arc::new(DockerConfig::empty()),
            platform: "linux/arm64".parse().unwrap(),
        };
        let prepared = prepare(&BuildSpec::new(dir.path()), &host).unwrap();
        let analysis = prepared.analysis().unwrap();
        assert_eq!(
            analysis.images[0].reference.to_string(),
            "docker.io/library/alpine:3"
        );
        assert_eq!(analysis.images[0].platform.to_string(), "linux/arm64");

        std::fs::write(dir.path().join("Dockerfile"), "FROM\n").unwrap();
        let err = prepare(&BuildSpec::new(dir.path()), &host).unwrap_err();
        assert!(matches!(err, BuildError::Dockerfile { .. }), "{err}");
        assert_eq!(
            err.to_string().split_once(": ").map(|(_, m)| m),
            Some("FROM requires either one or three arguments"),
            "{err}"
        );
    }
}
