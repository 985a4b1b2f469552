//! `--push`: every tag of the built image pushed to its registry through the engine
//! (`POST /images/{name}/push`, as buildx pushes with the docker driver), one after the
//! other, with the docker CLI's credentials; each push's progress is reported as it comes
//! (`push_started`, `push_progress`, then `pushed` with the manifest's digest or
//! `push_failed`). The first failure ends the build with the registry's reason.

use std::sync::Arc;

use engine_client::credentials::{registry_of, DockerConfig};
use engine_client::engine::{pull_target, Engine};
use engine_client::events::PushEvent;
use engine_client::push::Descriptor;
use engine_client::ImageRef;
use futures_util::StreamExt;

use crate::build::{registry_hint, BuildError, Transfer};
use crate::events::Event;

/// One tag that was pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedImage {
    /// The tag, as given (`127.0.0.1:5000/team/app:1`).
    pub image: String,
    /// The digest of the manifest the registry holds under it (`sha256:…`).
    pub digest: String,
    /// The manifest's size in bytes, when the engine said.
    pub size: Option<u64>,
}

/// Pushes each of `tags`, in order, reporting the engine's events; the tags and their
/// digests, or the first failure.
pub(crate) async fn push_tags<F: FnMut(&Event)>(
    engine: &Engine,
    tags: &[String],
    credentials: &Arc<DockerConfig>,
    on_event: &mut F,
) -> Result<Vec<PushedImage>, BuildError> {
    let mut pushed = Vec::new();
    for tag in tags {
        // Tags were checked when the build was prepared.
        let image = match ImageRef::parse(tag) {
            Ok(image) => image,
            Err(e) => {
                return Err(BuildError::Push {
                    image: tag.clone(),
                    reason: e.to_string(),
                    hint: None,
                })
            }
        };
        let mut events = std::pin::pin!(engine.push_with_credentials(&image, credentials.clone()));
        let mut outcome = None;
        while let Some(event) = events.next().await {
            match &event {
                PushEvent::Pushed {
                    image,
                    digest,
                    size,
                } => {
                    outcome = Some(Ok(PushedImage {
                        image: image.clone(),
                        digest: digest.clone(),
                        size: *size,
                    }))
                }
                PushEvent::PushFailed { image, reason } => {
                    outcome = Some(Err(BuildError::Push {
                        image: image.clone(),
                        reason: reason.clone(),
                        hint: registry_hint(image, reason, Transfer::Push),
                    }))
                }
                _ => {}
            }
            on_event(&Event::Push(event));
        }
        match outcome {
            Some(Ok(image)) => pushed.push(image),
            Some(Err(e)) => return Err(e),
            None => {
                return Err(BuildError::Push {
                    image: tag.clone(),
                    reason: "the push ended without an outcome".to_owned(),
                    hint: None,
                })
            }
        }
    }
    Ok(pushed)
}

/// The registry's descriptor of what `pushed` put there, asked by digest (so it is that
/// manifest, whatever the tag points at by now); `None` when it cannot be had.
pub(crate) async fn descriptor_of(
    engine: &Engine,
    pushed: &PushedImage,
    credentials: &Arc<DockerConfig>,
) -> Option<Descriptor> {
    let (name, _) = pull_target(&pushed.image);
    let reference = format!("{name}@{}", pushed.digest);
    let registry = registry_of(&pushed.image);
    let config = credentials.clone();
    let auth = tokio::task::spawn_blocking(move || config.credentials_for(&registry))
        .await
        .ok()?
        .ok()?;
    engine
        .distribution_descriptor(&reference, auth.as_ref())
        .await
        .ok()
        .filter(|descriptor| descriptor.digest == pushed.digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_push_says_to_log_in() {
        assert_eq!(
            registry_hint("127.0.0.1:5000/a:1", "no basic auth credentials", Transfer::Push).as_deref(),
            Some("run `docker login 127.0.0.1:5000` with an account that may push to it, then build again")
        );
        assert_eq!(
            registry_hint("a:1", "tag does not exist: a:1", Transfer::Push),
            None
        );
    }
}
