//! Docker-backed: pushes (`Engine::push`, `Engine::push_with_credentials`), the registry's
//! descriptor (`Engine::distribution_descriptor`) and saved images (`Engine::save_image`)
//! against the private engines and the authenticated registry of `cargo xtask engine up`.
//! Without them each test prints `SKIPPED` and passes, except under CI, where it fails.

use std::path::Path;
use std::sync::Arc;

use devbuild_tests::http::query_value;
use devbuild_tests::{engine_test, TestEngine, TestEnv};
use engine_client::credentials::DockerConfig;
use engine_client::endpoint::Endpoint;
use engine_client::engine::{ConnectOptions, Engine};
use engine_client::events::PushEvent;
use engine_client::ImageRef;
use futures_util::StreamExt;

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

async fn connect(engine: &TestEngine) -> Engine {
    let endpoint = Endpoint::unix(&engine.socket);
    Engine::connect(endpoint, &ConnectOptions::default())
        .await
        .unwrap()
}

fn harness_credentials() -> Arc<DockerConfig> {
    let env = TestEnv::load().unwrap();
    Arc::new(DockerConfig::load(Path::new(&env.docker_config)).unwrap())
}

/// Tags the base image as `<registry>/devbuild-test/pushed-<unique>:1` in `engine`.
fn tag_base_for_the_registry(engine: &TestEngine) -> (String, String) {
    let name = engine.unique_name("pushed");
    let (repository, tag) = name.split_once(':').unwrap();
    let repo = format!("{}/{repository}", engine.registry.address);
    let tagged = engine.request(
        "POST",
        &format!(
            "/images/{}/tag?repo={}&tag={tag}",
            engine.base_image,
            query_value(&repo)
        ),
        Vec::new(),
        None,
    );
    assert_eq!(tagged.status, 201, "{}", tagged.text());
    (format!("{repo}:{tag}"), repository.to_owned())
}

async fn events_of(stream: impl futures_util::Stream<Item = PushEvent>) -> Vec<PushEvent> {
    stream.collect().await
}

engine_test! {
    /// With the harness's credentials the push succeeds: progress per layer, then the
    /// digest the registry serves the tag under, which the registry's descriptor (asked by
    /// digest) confirms.
    fn pushes_with_credentials_and_reports_the_digest(test) {
        let (image, repository) = tag_base_for_the_registry(test);
        let mut guard = test.guard();
        guard.remove_later(&image);
        run(async {
            let engine = connect(test).await;
            let events = events_of(engine.push_with_credentials(&ImageRef::parse(&image).unwrap(), harness_credentials())).await;
            assert_eq!(events.first(), Some(&PushEvent::PushStarted { image: image.clone() }));
            assert!(
                events.iter().any(|e| matches!(e, PushEvent::PushProgress { layer: Some(_), .. })),
                "{events:?}"
            );
            let Some(PushEvent::Pushed { image: pushed, digest, size }) = events.last() else {
                panic!("not pushed: {events:?}");
            };
            assert_eq!(pushed, &image);
            let manifest = test.registry.request(
                "GET",
                &format!("/v2/{repository}/manifests/1"),
                vec![(
                    "Accept",
                    "application/vnd.docker.distribution.manifest.v2+json".to_owned(),
                )],
                None,
            );
            assert_eq!(manifest.header("docker-content-digest"), Some(digest.as_str()));
            assert_eq!(*size, Some(manifest.body.len() as u64));
            let auth = harness_credentials()
                .credentials_for(&test.registry.address)
                .unwrap();
            let (name, _) = image.rsplit_once(':').unwrap();
            let descriptor = engine
                .distribution_descriptor(&format!("{name}@{digest}"), auth.as_ref())
                .await
                .unwrap();
            assert_eq!(&descriptor.digest, digest);
            assert_eq!(descriptor.size, manifest.body.len() as u64);
            assert_eq!(Some(descriptor.media_type.as_str()), manifest.header("content-type"));
        });
    }

    /// Without credentials the registry's own refusal is the reason, which shows that the
    /// header went (the engine refuses a push without any `X-Registry-Auth` with "missing
    /// X-Registry-Auth"). A tag the engine does not have is its words too.
    fn a_refused_push_fails_with_the_reason(test) {
        let (image, _) = tag_base_for_the_registry(test);
        let mut guard = test.guard();
        guard.remove_later(&image);
        run(async {
            let engine = connect(test).await;
            let events = events_of(engine.push(&ImageRef::parse(&image).unwrap(), None)).await;
            assert_eq!(
                events.last(),
                Some(&PushEvent::PushFailed {
                    image: image.clone(),
                    reason: "no basic auth credentials".to_owned(),
                }),
                "{events:?}"
            );
            let missing = format!("{}-missing:1", image.rsplit_once(':').unwrap().0);
            let events = events_of(engine.push_with_credentials(&ImageRef::parse(&missing).unwrap(), harness_credentials())).await;
            let Some(PushEvent::PushFailed { reason, .. }) = events.last() else {
                panic!("{events:?}");
            };
            assert!(reason.contains("does not exist"), "{reason}");
        });
    }

    /// `save_image` streams `docker save`'s tar, whose `manifest.json` names the tag; an
    /// unknown image is an error.
    fn saves_an_image_as_docker_save(test) {
        run(async {
            let engine = connect(test).await;
            let mut bytes = Vec::new();
            let mut chunks = 0;
            let mut stream = std::pin::pin!(engine.save_image(std::slice::from_ref(&test.base_image)));
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.unwrap());
                chunks += 1;
            }
            assert!(chunks > 1, "streamed in chunks");
            let mut archive = tar::Archive::new(&bytes[..]);
            let manifest: serde_json::Value = archive
                .entries()
                .unwrap()
                .map(Result::unwrap)
                .find(|e| e.path().unwrap() == Path::new("manifest.json"))
                .map(|e| serde_json::from_reader(e).unwrap())
                .expect("a manifest.json");
            assert_eq!(manifest[0]["RepoTags"], serde_json::json!([test.base_image]));

            let missing = test.unique_name("never-built");
            let mut stream = std::pin::pin!(engine.save_image(&[missing]));
            let mut failure = None;
            while let Some(chunk) = stream.next().await {
                if let Err(e) = chunk {
                    failure = Some(e.to_string());
                }
            }
            let failure = failure.expect("an unknown image is an error");
            assert!(failure.starts_with("GET /images/get: the engine answered"), "{failure}");
        });
    }
}
