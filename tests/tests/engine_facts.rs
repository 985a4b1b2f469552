//! The facts devbuild's design rests on, pinned against both private engines (Docker
//! Engine 20.10 and 26.1). They are the yardstick engine-client is held to:
//!
//! 1. the engine answers and reports the expected API version;
//! 2. `POST /build?version=2` with a tar body and no session builds `FROM` a local image;
//! 3. the same build `FROM` an image in a registry that needs credentials fails with
//!    "no active sessions";
//! 4. after `POST /images/create` with `X-Registry-Auth` (URL-safe base64), it succeeds;
//! 5. `X-Registry-Auth` in standard base64 is not understood: the pull fails (HTTP 500,
//!    "no basic auth credentials"), as if no credentials were sent.

use devbuild_tests::engine_test;
use devbuild_tests::tar::tar_of;

/// The API version each engine must report.
fn expected_api_version(version: &str) -> &'static str {
    match version {
        "20.10" => "1.41",
        "26.1" => "1.45",
        other => panic!("no expected API version for engine {other}"),
    }
}

/// A two-step Dockerfile on `from`; `marker` makes its `RUN` steps unique (never cached),
/// so they really run (which needs the engine's bridge).
fn two_step_dockerfile(from: &str, marker: &str) -> String {
    format!("FROM {from}\nRUN echo {marker} > /marker\nRUN test \"$(cat /marker)\" = {marker}\n")
}

engine_test! {
    /// `GET /_ping` and `GET /version` report the engine's version and API version.
    fn engine_reports_expected_api_version(engine) {
        let expected = expected_api_version(&engine.version);
        let ping = engine.send(&devbuild_tests::http::Request {
            method: "GET",
            path: "/_ping",
            ..Default::default()
        });
        assert_eq!(ping.status, 200);
        assert_eq!(ping.text(), "OK");
        assert_eq!(ping.header("api-version"), Some(expected));

        let version = engine.get("/version").json();
        assert_eq!(version["ApiVersion"], expected, "{version}");
        let full = version["Version"].as_str().unwrap_or_default();
        assert!(full.starts_with(&format!("{}.", engine.version)), "{version}");
        assert!(full.starts_with(&engine.engine_version), "{full} vs {}", engine.engine_version);
    }

    /// A BuildKit build of a two-step Dockerfile on the local base image, sent as a tar
    /// body with no session, succeeds and tags its image.
    fn buildkit_build_from_a_local_image_needs_no_session(engine) {
        let mut guard = engine.guard();
        let tag = guard.remove_later(&engine.unique_name("local-build"));
        let dockerfile = two_step_dockerfile(&engine.base_image, &tag.replace([':', '/'], "-"));
        let context = tar_of(&[("Dockerfile", dockerfile.as_bytes())]);

        let outcome = engine.build(&context, &format!("t={}", devbuild_tests::http::query_value(&tag)));

        assert_eq!(outcome.status, 200);
        assert_eq!(outcome.error(), None, "{}", outcome.transcript());
        assert!(outcome.image_id().is_some(), "no moby.image.id:\n{}", outcome.transcript());
        assert!(
            outcome.messages.iter().any(|m| m["id"] == "moby.buildkit.trace"),
            "not a BuildKit build:\n{}",
            outcome.transcript()
        );
        assert!(engine.has_image(&tag));
    }

    /// The same build `FROM` an image only in the authenticated registry fails: without a
    /// session BuildKit has no way to ask for credentials.
    fn buildkit_build_from_a_private_image_fails_without_a_session(engine) {
        let mut guard = engine.guard();
        let private = guard.remove_later(&engine.registry.copy_private_image(&engine.private_image));
        assert!(!engine.has_image(&private), "{private} must not be local yet");
        let dockerfile = two_step_dockerfile(&private, "private");
        let context = tar_of(&[("Dockerfile", dockerfile.as_bytes())]);

        let outcome = engine.build(&context, "");

        let error = outcome.error().unwrap_or_else(|| {
            panic!("the build should fail:\n{}", outcome.transcript())
        });
        assert!(error.contains("no active sessions"), "{error}");
    }

    /// After pulling the private image with credentials, the same build succeeds.
    fn buildkit_build_from_a_private_image_succeeds_after_a_pull(engine) {
        let mut guard = engine.guard();
        let private = guard.remove_later(&engine.registry.copy_private_image(&engine.private_image));
        let tag = guard.remove_later(&engine.unique_name("private-build"));

        let pull = engine.pull(&private, Some(engine.registry.x_registry_auth()));
        assert_eq!(pull.error(), None, "{}", pull.transcript());
        assert!(engine.has_image(&private));

        let dockerfile = two_step_dockerfile(&private, &tag.replace([':', '/'], "-"));
        let context = tar_of(&[("Dockerfile", dockerfile.as_bytes())]);
        let outcome = engine.build(&context, &format!("t={}", devbuild_tests::http::query_value(&tag)));
        assert_eq!(outcome.error(), None, "{}", outcome.transcript());
        assert!(engine.has_image(&tag));
    }

    /// The engine decodes `X-Registry-Auth` as URL-safe base64: the test password makes the
    /// standard encoding differ, and credentials sent that way are dropped.
    fn x_registry_auth_in_standard_base64_is_not_understood(engine) {
        let standard = engine.registry.x_registry_auth_standard();
        assert!(standard.contains('+') && standard.contains('/'), "{standard}");
        let mut guard = engine.guard();
        let private = guard.remove_later(&engine.registry.copy_private_image(&engine.private_image));

        let pull = engine.pull(&private, Some(standard));

        // The credentials are dropped silently: the pull fails as if none were sent, with
        // an HTTP error status (not an error inside a 200 stream).
        assert_eq!(pull.status, 500, "{}", pull.transcript());

        let error = pull.error().unwrap_or_else(|| {
            panic!("the pull should fail:\n{}", pull.transcript())
        });
        assert!(error.contains("no basic auth credentials"), "{error}");
        assert!(!engine.has_image(&private));
    }
}
