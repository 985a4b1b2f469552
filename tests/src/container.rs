//! Containers: an image's filesystem exported as a tar (`docker create` + `docker export`),
//! with the container removed afterwards, also when the test fails.

use crate::http::{send, Request};
use crate::TestEngine;
use std::os::unix::net::UnixStream;
use std::time::Duration;

impl TestEngine {
    /// The filesystem of `image` as the tar `GET /containers/{id}/export` answers, through a
    /// container created for it (with `Cmd: ["x"]`, so that an image without a command, such
    /// as one built `FROM scratch`, can be created) and removed before this returns.
    pub fn export_image(&self, image: &str) -> Vec<u8> {
        let body = serde_json::json!({ "Image": image, "Cmd": ["x"] }).to_string();
        let created = self.request(
            "POST",
            "/containers/create",
            vec![("Content-Type", "application/json".to_string())],
            Some(body.as_bytes()),
        );
        assert_eq!(
            created.status,
            201,
            "engine {}: create a container of {image}: {}",
            self.version,
            created.text()
        );
        let id = created.json()["Id"]
            .as_str()
            .unwrap_or_else(|| panic!("no container Id: {}", created.text()))
            .to_string();
        let _remove = ContainerGuard {
            engine: self.clone(),
            id: id.clone(),
        };
        let export = self.get(&format!("/containers/{id}/export"));
        assert_eq!(
            export.status,
            200,
            "engine {}: export container {id} of {image}: {}",
            self.version,
            export.text()
        );
        export.body
    }
}

/// Removes a container (forced) when dropped; reports instead of panicking.
struct ContainerGuard {
    engine: TestEngine,
    id: String,
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let path = format!(
            "/v{}/containers/{}?force=1&v=1",
            self.engine.api_version, self.id
        );
        let result = UnixStream::connect(&self.engine.socket).and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            send(
                &mut stream,
                "docker",
                &Request {
                    method: "DELETE",
                    path: &path,
                    ..Request::default()
                },
            )
        });
        match result {
            Ok(r) if matches!(r.status, 204 | 404) => {}
            Ok(r) => eprintln!(
                "cleanup: cannot remove container {}: {} {}",
                self.id,
                r.status,
                r.text()
            ),
            Err(e) => eprintln!("cleanup: cannot remove container {}: {e}", self.id),
        }
    }
}
