//! An engine handle: the Engine API of one private engine over its unix socket, with the
//! API version prefix its version expects, plus helpers the tests share.

use crate::env::{EngineEntry, TestEnv};
use crate::http::{query_value, send, Request, Response};
use crate::Registry;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// One of the private engines, with the registry and images the harness seeded.
#[derive(Clone, Debug)]
pub struct TestEngine {
    /// `20.10` or `26.1` (`authz` for the engine behind the authorization plugin).
    pub version: String,
    /// The engine's full version, e.g. `26.1.5`.
    pub engine_version: String,
    /// The API version requests are sent with (`/v<api_version>/…`).
    pub api_version: String,
    /// The engine's unix socket.
    pub socket: PathBuf,
    /// dockerd's log file (see [`EngineEntry::log`]).
    pub log: PathBuf,
    /// The registry.
    pub registry: Registry,
    /// The base image, present locally: `devbuild-test/busybox:1`.
    pub base_image: String,
    /// The private image, only in the registry.
    pub private_image: String,
}

/// What a streaming endpoint (build, pull) answered.
#[derive(Debug)]
pub struct StreamOutcome {
    /// The HTTP status.
    pub status: u16,
    /// The JSON messages, in order (for a non-200 status: the error document).
    pub messages: Vec<serde_json::Value>,
}

impl StreamOutcome {
    fn from_response(response: &Response) -> StreamOutcome {
        let messages = if response.status == 200 {
            response.json_lines()
        } else {
            vec![serde_json::from_slice(&response.body)
                .unwrap_or_else(|_| serde_json::json!({ "message": response.text() }))]
        };
        StreamOutcome {
            status: response.status,
            messages,
        }
    }

    /// The error the stream ended with (`errorDetail.message`, `error`, or a non-200
    /// status's `message`), if any.
    pub fn error(&self) -> Option<String> {
        self.messages.iter().find_map(|m| {
            let text = m["errorDetail"]["message"]
                .as_str()
                .or_else(|| m["error"].as_str())
                .or_else(|| {
                    (self.status != 200)
                        .then(|| m["message"].as_str())
                        .flatten()
                })?;
            Some(text.to_string())
        })
    }

    /// The built image's id (`{"id":"moby.image.id","aux":{"ID":…}}`), if the build made one.
    pub fn image_id(&self) -> Option<String> {
        self.messages
            .iter()
            .find(|m| m["id"] == "moby.image.id")
            .and_then(|m| m["aux"]["ID"].as_str())
            .map(str::to_string)
    }

    /// Every message, one per line, for assertion messages.
    pub fn transcript(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl TestEngine {
    /// The engine `version` from the env file, if it answers `GET /_ping`.
    pub fn connect(version: &str) -> Result<TestEngine, String> {
        let env = TestEnv::load()?;
        let entry: &EngineEntry = env
            .engines
            .iter()
            .find(|e| e.version == version)
            .ok_or_else(|| format!("the env file lists no engine {version}"))?;
        TestEngine::connect_entry(env, entry)
    }

    /// The engine `entry` of `env`, if it answers `GET /_ping`.
    pub(crate) fn connect_entry(env: &TestEnv, entry: &EngineEntry) -> Result<TestEngine, String> {
        let engine = TestEngine {
            version: entry.version.clone(),
            engine_version: entry.engine_version.clone(),
            api_version: entry.api_version.clone(),
            socket: entry.socket.clone(),
            log: entry.log.clone(),
            registry: env.registry.clone(),
            base_image: env.base_image.clone(),
            private_image: env.private_image.clone(),
        };
        let ping = engine
            .try_request(&Request {
                method: "GET",
                path: "/_ping",
                ..Request::default()
            })
            .map_err(|e| format!("{} does not answer: {e}", engine.socket.display()))?;
        if ping.status != 200 {
            return Err(format!("GET /_ping answered {}", ping.status));
        }
        Ok(engine)
    }

    fn try_request(&self, request: &Request<'_>) -> std::io::Result<Response> {
        let mut stream = UnixStream::connect(&self.socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(300)))?;
        send(&mut stream, "docker", request)
    }

    /// Sends `request` as is (its path unversioned); panics when the engine cannot be reached.
    pub fn send(&self, request: &Request<'_>) -> Response {
        self.try_request(request).unwrap_or_else(|e| {
            panic!(
                "engine {}: {} {}: {e}",
                self.version, request.method, request.path
            )
        })
    }

    /// `method /v<api>/<path>` with `headers` and `body`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(&str, String)>,
        body: Option<&[u8]>,
    ) -> Response {
        let path = format!("/v{}{path}", self.api_version);
        self.send(&Request {
            method,
            path: &path,
            headers,
            body,
        })
    }

    /// `GET /v<api>/<path>`.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, Vec::new(), None)
    }

    /// `POST /build?version=2&<query>` with `context` (a tar) as the body and no session.
    pub fn build(&self, context: &[u8], query: &str) -> StreamOutcome {
        let path = format!("/build?version=2&{query}");
        let response = self.request(
            "POST",
            &path,
            vec![("Content-Type", "application/x-tar".to_string())],
            Some(context),
        );
        StreamOutcome::from_response(&response)
    }

    /// `POST /images/create?fromImage=<image>` with `x_registry_auth` as `X-Registry-Auth`.
    pub fn pull(&self, image: &str, x_registry_auth: Option<String>) -> StreamOutcome {
        let (name, tag) = match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (image, "latest"),
        };
        let path = format!(
            "/images/create?fromImage={}&tag={}",
            query_value(name),
            query_value(tag)
        );
        let headers = x_registry_auth
            .map(|auth| vec![("X-Registry-Auth", auth)])
            .unwrap_or_default();
        StreamOutcome::from_response(&self.request("POST", &path, headers, None))
    }

    /// Whether the local image store has `image`.
    pub fn has_image(&self, image: &str) -> bool {
        match self.get(&format!("/images/{image}/json")).status {
            200 => true,
            404 => false,
            other => panic!("engine {}: inspect {image}: status {other}", self.version),
        }
    }

    /// Removes `image` from the local store (forced; a missing image is fine).
    pub fn remove_image(&self, image: &str) {
        let response = self.request(
            "DELETE",
            &format!("/images/{image}?force=1"),
            Vec::new(),
            None,
        );
        assert!(
            matches!(response.status, 200 | 404),
            "engine {}: remove {image}: {} {}",
            self.version,
            response.status,
            response.text()
        );
    }

    /// A name no other test (in any process) uses: `devbuild-test/<what>-<pid>-<n>:1`.
    pub fn unique_name(&self, what: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        format!(
            "devbuild-test/{what}-{}-{}:1",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A guard that removes the images it is given when it is dropped.
    pub fn guard(&self) -> ImageGuard {
        ImageGuard {
            engine: self.clone(),
            images: Vec::new(),
        }
    }
}

/// Removes images from the engine when dropped, also when the test fails.
pub struct ImageGuard {
    engine: TestEngine,
    images: Vec<String>,
}

impl ImageGuard {
    /// Removes `image` at the end of the test; returns it for convenience.
    pub fn remove_later(&mut self, image: &str) -> String {
        self.images.push(image.to_string());
        image.to_string()
    }

    /// The base image under a name of the test's own (`devbuild-test/base-<pid>-<n>:1`, the
    /// same image), untagged at the end. For tests that assert cache hits: BuildKit merges a
    /// build's `FROM` with the same step of concurrent builds of the same image, and in CI
    /// the tests built on the shared name then ran later steps again (which concurrent build
    /// did it is not known); on names of their own they have kept their cache since.
    pub fn own_base(&mut self) -> String {
        let name = self.engine.unique_name("base");
        let (repo, tag) = name.rsplit_once(':').expect("unique names have a tag");
        let response = self.engine.request(
            "POST",
            &format!(
                "/images/{}/tag?repo={}&tag={tag}",
                self.engine.base_image,
                crate::http::query_value(repo)
            ),
            Vec::new(),
            None,
        );
        assert_eq!(
            response.status,
            201,
            "engine {}: tag {} as {name}: {}",
            self.engine.version,
            self.engine.base_image,
            response.text()
        );
        self.remove_later(&name)
    }
}

impl Drop for ImageGuard {
    fn drop(&mut self) {
        for image in self.images.drain(..).rev() {
            // Never panic while unwinding; report instead.
            let result = self.engine.try_request(&Request {
                method: "DELETE",
                path: &format!("/v{}/images/{image}?force=1", self.engine.api_version),
                ..Request::default()
            });
            match result {
                Ok(r) if matches!(r.status, 200 | 404) => {}
                Ok(r) => eprintln!("cleanup: cannot remove {image}: {} {}", r.status, r.text()),
                Err(e) => eprintln!("cleanup: cannot remove {image}: {e}"),
            }
        }
    }
}
