//! Pushing an image to its registry (`POST /images/{name}/push`), and what the registry
//! then holds under a reference (`GET /distribution/{name}/json`).
//!
//! A push always sends `X-Registry-Auth`, URL-safe base64 as the engine decodes it; without
//! credentials it is the empty `{}` (the engine refuses a push that has no header at all:
//! "bad parameters and missing X-Registry-Auth"). The engine's answer is a stream of JSON
//! messages, as `docker push` prints them:
//!
//! ```text
//! {"status":"The push refers to repository [127.0.0.1:5000/team/app]"}
//! {"status":"Preparing","progressDetail":{},"id":"89993f8e8d10"}
//! {"status":"Pushing","progressDetail":{"current":512,"total":2048},"progress":"[===> ]","id":"89993f8e8d10"}
//! {"status":"Pushed","progressDetail":{},"id":"89993f8e8d10"}
//! {"status":"1: digest: sha256:c6be… size: 527"}
//! {"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:c6be…","Size":527}}
//! ```
//!
//! Each status becomes a [`PushEvent::PushProgress`]; the last `aux` gives the digest of
//! the manifest the registry now holds ([`PushEvent::Pushed`]), and an `errorDetail` (or a
//! refused request, or a lost connection) ends the push with [`PushEvent::PushFailed`] and
//! the registry's or the engine's own words (`no basic auth credentials`, `tag does not
//! exist: …`).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http::header::{HeaderName, HeaderValue};
use http::Method;
use serde::{Deserialize, Serialize};

use image_ref::ImageRef;

use crate::credentials::{registry_of_image, DockerConfig, RegistryAuth};
use crate::engine::{escape_path, image_target, Engine, EngineError, Kind};
use crate::events::PushEvent;
use crate::json_messages::{self, JsonMessage, Transfer};

/// `X-Registry-Auth` without credentials: `{}` in URL-safe base64, as the docker CLI sends it.
const NO_AUTH: &str = "e30=";

/// What a registry holds under a reference: the descriptor of its manifest (or index), as
/// `GET /distribution/{name}/json` answers it (an OCI descriptor's first fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The manifest's media type (`application/vnd.docker.distribution.manifest.v2+json`).
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// The manifest's digest (`sha256:…`).
    pub digest: String,
    /// The manifest's size in bytes.
    pub size: u64,
}

#[derive(Deserialize)]
struct DistributionAnswer {
    #[serde(rename = "Descriptor")]
    descriptor: Descriptor,
}

/// The `X-Registry-Auth` header for `auth`, or the empty one.
fn auth_header(auth: Option<&RegistryAuth>) -> (HeaderName, HeaderValue) {
    let value = auth
        .and_then(|auth| HeaderValue::from_str(auth.header_value().expose()).ok())
        .unwrap_or_else(|| HeaderValue::from_static(NO_AUTH));
    let mut value = value;
    value.set_sensitive(true);
    (HeaderName::from_static("x-registry-auth"), value)
}

impl Engine {
    /// Pushes `reference` (`host/team/app:1`; `latest` when it has no tag) to its registry
    /// with `auth`. Yields [`PushEvent::PushStarted`] at once, the engine's progress as
    /// [`PushEvent::PushProgress`] (per layer: `Preparing`, `Pushing` with bytes, `Pushed`,
    /// `Layer already exists`, `Mounted from …`), then exactly one [`PushEvent::Pushed`]
    /// with the manifest's digest or one [`PushEvent::PushFailed`] with the reason.
    pub fn push(
        &self,
        image: &ImageRef,
        auth: Option<&RegistryAuth>,
    ) -> impl Stream<Item = PushEvent> + Send + 'static {
        let (name, tag) = image_target(image);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("tag", tag);
        let path = format!("/images/{}/push?{}", escape_path(&name), query.finish());
        let reference = image.familiar();
        let body = self.send(
            true,
            Method::POST,
            &path,
            true,
            vec![auth_header(auth)],
            bollard::body_full(Bytes::new()),
        );
        let started = PushEvent::PushStarted {
            image: reference.clone(),
        };
        let pushing = Pushing {
            image: reference,
            pushed: None,
        };
        json_messages::events(self.endpoint().clone(), body, started, pushing)
    }

    /// [`Engine::push`] with the credentials `credentials` holds for the reference's
    /// registry, looked up as the pre-pull looks them up (a credential helper runs on a
    /// blocking thread). A lookup that fails ends the push with [`PushEvent::PushFailed`]
    /// and the helper's reason; no credentials push anonymously.
    pub fn push_with_credentials(
        &self,
        image: &ImageRef,
        credentials: Arc<DockerConfig>,
    ) -> impl Stream<Item = PushEvent> + Send + 'static {
        let engine = self.clone();
        let image = image.clone();
        stream::once(async move {
            let registry = registry_of_image(&image);
            let lookup =
                tokio::task::spawn_blocking(move || credentials.credentials_for(&registry)).await;
            let reason = match lookup {
                Ok(Ok(auth)) => return engine.push(&image, auth.as_ref()).left_stream(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => format!("credential lookup failed: {e}"),
            };
            let reference = image.familiar();
            stream::iter([
                PushEvent::PushStarted {
                    image: reference.clone(),
                },
                PushEvent::PushFailed {
                    image: reference,
                    reason,
                },
            ])
            .right_stream()
        })
        .flatten()
    }

    /// What the registry holds under `reference` (a tag, or `name@digest`), asked of the
    /// engine with `auth` (`GET /distribution/{name}/json`): the descriptor of the manifest.
    pub async fn distribution_descriptor(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<Descriptor, EngineError> {
        let path = format!("/distribution/{}/json", escape_path(reference));
        let what = format!("GET {path}");
        let mut body = self.send(
            false,
            Method::GET,
            &path,
            true,
            vec![auth_header(auth)],
            bollard::body_full(Bytes::new()),
        );
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| self.call_error(&what, e))?);
        }
        let answer: DistributionAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            EngineError::from(Kind::BadAnswer {
                what,
                reason: e.to_string(),
            })
        })?;
        Ok(answer.descriptor)
    }
}

/// What a push makes of the engine's messages.
struct Pushing {
    image: String,
    /// The digest and size of the last `aux` that gave a digest.
    pushed: Option<(String, Option<u64>)>,
}

impl Transfer for Pushing {
    const REQUEST: (&'static str, &'static str) = ("POST /images/push", "push");
    type Event = PushEvent;

    fn message(&mut self, message: JsonMessage, events: &mut VecDeque<PushEvent>) {
        if let Some(aux) = &message.aux {
            if let Some(digest) = aux.digest.clone().filter(|d| !d.is_empty()) {
                self.pushed = Some((digest, aux.size));
            }
        }
        let (current, total) = message.progress();
        let layer = message.layer();
        if let Some(status) = message.status.filter(|s| !s.is_empty()) {
            events.push_back(PushEvent::PushProgress {
                image: self.image.clone(),
                layer,
                status,
                current,
                total,
            });
        }
    }

    fn finish(&mut self, failure: Option<String>) -> PushEvent {
        let image = self.image.clone();
        match (failure, self.pushed.take()) {
            (Some(reason), _) => PushEvent::PushFailed { image, reason },
            (None, Some((digest, size))) => PushEvent::Pushed {
                image,
                digest,
                size,
            },
            (None, None) => PushEvent::PushFailed {
                image,
                reason: "the engine ended the push without the pushed manifest's digest".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;
    use crate::engine::ByteStream;

    fn decode(answer: &str) -> Vec<PushEvent> {
        let endpoint = Endpoint::unix("/run/docker.sock");
        let body: ByteStream = Box::pin(stream::iter([Ok(Bytes::from(answer.to_owned()))]));
        let pushing = Pushing {
            image: "127.0.0.1:5000/team/app:1".to_owned(),
            pushed: None,
        };
        let started = PushEvent::PushStarted {
            image: pushing.image.clone(),
        };
        let events = json_messages::events(endpoint, body, started, pushing).collect::<Vec<_>>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut events = runtime.block_on(events);
        assert!(matches!(events.remove(0), PushEvent::PushStarted { .. }));
        events
    }

    /// Engine 26.1's answer to a push of a new layer and one the registry had.
    #[test]
    fn a_push_gives_each_status_then_the_digest() {
        let events = decode(concat!(
            r#"{"status":"The push refers to repository [127.0.0.1:5000/team/app]"}"#,
            "\n",
            r#"{"status":"Preparing","progressDetail":{},"id":"5f70bf18a086"}"#,
            "\n",
            r#"{"status":"Pushing","progressDetail":{"current":512,"total":2048},"progress":"[==>  ]","id":"5f70bf18a086"}"#,
            "\n",
            r#"{"status":"Pushed","progressDetail":{},"id":"5f70bf18a086"}"#,
            "\n",
            r#"{"status":"Layer already exists","progressDetail":{},"id":"89993f8e8d10"}"#,
            "\n",
            r#"{"status":"1: digest: sha256:c6be size: 527"}"#,
            "\n",
            r#"{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:c6be","Size":527}}"#,
        ));
        let image = "127.0.0.1:5000/team/app:1".to_owned();
        let progress =
            |layer: Option<&str>, status: &str, current, total| PushEvent::PushProgress {
                image: image.clone(),
                layer: layer.map(str::to_owned),
                status: status.to_owned(),
                current,
                total,
            };
        assert_eq!(
            events,
            [
                progress(
                    None,
                    "The push refers to repository [127.0.0.1:5000/team/app]",
                    None,
                    None
                ),
                progress(Some("5f70bf18a086"), "Preparing", None, None),
                progress(Some("5f70bf18a086"), "Pushing", Some(512), Some(2048)),
                progress(Some("5f70bf18a086"), "Pushed", None, None),
                progress(Some("89993f8e8d10"), "Layer already exists", None, None),
                progress(None, "1: digest: sha256:c6be size: 527", None, None),
                PushEvent::Pushed {
                    image: image.clone(),
                    digest: "sha256:c6be".to_owned(),
                    size: Some(527),
                },
            ]
        );
    }

    /// The registry's refusal, as both engines stream it, is the reason.
    #[test]
    fn a_refused_push_fails_with_the_registry_reason() {
        let events = decode(concat!(
            r#"{"status":"The push refers to repository [127.0.0.1:5000/team/app]"}"#,
            "\n",
            r#"{"status":"Preparing","progressDetail":{},"id":"89993f8e8d10"}"#,
            "\n",
            r#"{"errorDetail":{"message":"no basic auth credentials"},"error":"no basic auth credentials"}"#,
            "\n",
        ));
        assert_eq!(
            events.last(),
            Some(&PushEvent::PushFailed {
                image: "127.0.0.1:5000/team/app:1".to_owned(),
                reason: "no basic auth credentials".to_owned(),
            })
        );
        let silent = decode("");
        assert!(
            matches!(&silent[..], [PushEvent::PushFailed { reason, .. }] if reason.contains("without")),
            "{silent:?}"
        );
    }

    #[test]
    fn the_header_without_credentials_is_the_empty_object() {
        use base64::Engine as _;
        let (_, value) = auth_header(None);
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(value.to_str().unwrap())
            .unwrap();
        assert_eq!(decoded, b"{}");
        assert!(value.is_sensitive());
    }

    #[test]
    fn descriptors_read_as_the_engine_sends_them() {
        let answer: DistributionAnswer = serde_json::from_str(
            r#"{"Descriptor":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:c6be","size":527},"Platforms":[{"architecture":"amd64","os":"linux"}]}"#,
        )
        .unwrap();
        assert_eq!(answer.descriptor.digest, "sha256:c6be");
        assert_eq!(
            serde_json::to_string(&answer.descriptor).unwrap(),
            r#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:c6be","size":527}"#
        );
    }
}
