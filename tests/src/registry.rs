//! The test registry: its credentials, the `X-Registry-Auth` header in both encodings, and
//! per-test copies of the private image.

use crate::http::{send, Request, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The registry `cargo xtask engine up` started (plain HTTP on 127.0.0.1, htpasswd auth).
#[derive(Clone, Debug, PartialEq)]
pub struct Registry {
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// The username.
    pub username: String,
    /// The password; chosen so that [`Registry::x_registry_auth_standard`] holds `+` and `/`.
    pub password: String,
}

/// Standard base64 (RFC 4648 §4), padded: what `Authorization: Basic` and a docker config's
/// `auth` hold, and what bollard 0.21 wrongly sends as `X-Registry-Auth`.
pub fn base64_standard(input: &[u8]) -> String {
    STANDARD.encode(input)
}

/// URL-safe base64 (RFC 4648 §5), padded, as Go's `base64.URLEncoding`: the engine decodes
/// `X-Registry-Auth` so, which is why tests must be able to send both encodings.
pub fn base64_url_safe(input: &[u8]) -> String {
    URL_SAFE.encode(input)
}

/// The manifest types the private image may have been pushed as.
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
                              application/vnd.oci.image.manifest.v1+json";

impl Registry {
    /// The auth JSON the docker CLI sends: `{"username":…,"password":…,"serveraddress":…}`.
    /// Keys in this order, compact (`json!` would sort the keys).
    pub fn auth_json(&self) -> String {
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        format!(
            r#"{{"username":{},"password":{},"serveraddress":{}}}"#,
            quote(&self.username),
            quote(&self.password),
            quote(&self.address)
        )
    }

    /// `X-Registry-Auth` as the engine decodes it: URL-safe base64 of [`Self::auth_json`].
    pub fn x_registry_auth(&self) -> String {
        base64_url_safe(self.auth_json().as_bytes())
    }

    /// `X-Registry-Auth` encoded wrongly, with standard base64 (what bollard 0.21 sends).
    pub fn x_registry_auth_standard(&self) -> String {
        base64_standard(self.auth_json().as_bytes())
    }

    /// One request to the registry's own API, with basic authentication.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(&str, String)>,
        body: Option<&[u8]>,
    ) -> Response {
        let mut stream = TcpStream::connect(&self.address)
            .unwrap_or_else(|e| panic!("cannot connect to the registry {}: {e}", self.address));
        stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
        let mut headers = headers;
        let credentials = format!("{}:{}", self.username, self.password);
        headers.push((
            "Authorization",
            format!("Basic {}", base64_standard(credentials.as_bytes())),
        ));
        let request = Request {
            method,
            path,
            headers,
            body,
        };
        send(&mut stream, &self.address, &request)
            .unwrap_or_else(|e| panic!("{method} {path} on the registry: {e}"))
    }

    /// Copies `image` (`<address>/<repository>:<tag>`, in this registry) into a repository
    /// of its own (`<repository>-t-<pid>-<n>:<tag>`): its blobs mounted from the original's
    /// repository, then its manifest put there. Tests that pull the private image pull such
    /// a copy, so the shared one never becomes local to an engine. A repository of its own:
    /// the registry's filesystem storage rewrites a repository's link files in place, so a
    /// copy put into the shared repository while another test pulls from it makes that pull
    /// fail with a 500.
    pub fn copy_private_image(&self, image: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let (repository, tag) = self.split(image);
        let manifest = self.request(
            "GET",
            &format!("/v2/{repository}/manifests/{tag}"),
            vec![("Accept", MANIFEST_TYPES.to_string())],
            None,
        );
        assert_eq!(
            manifest.status,
            200,
            "GET manifest of {image}: {}",
            manifest.text()
        );
        let content_type = manifest
            .header("content-type")
            .expect("the manifest has a Content-Type")
            .to_string();
        let copy = format!(
            "{repository}-t-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let parsed: serde_json::Value = serde_json::from_slice(&manifest.body)
            .unwrap_or_else(|e| panic!("the manifest of {image}: {e}"));
        let blobs = std::iter::once(&parsed["config"])
            .chain(parsed["layers"].as_array().into_iter().flatten())
            .filter_map(|descriptor| descriptor["digest"].as_str());
        for digest in blobs {
            let mount = self.request(
                "POST",
                &format!("/v2/{copy}/blobs/uploads/?mount={digest}&from={repository}"),
                Vec::new(),
                Some(&[]),
            );
            assert_eq!(
                mount.status,
                201,
                "mount {digest} from {repository} into {copy}: {}",
                mount.text()
            );
        }
        let put = self.request(
            "PUT",
            &format!("/v2/{copy}/manifests/{tag}"),
            vec![("Content-Type", content_type)],
            Some(&manifest.body),
        );
        assert_eq!(put.status, 201, "PUT manifest {copy}:{tag}: {}", put.text());
        format!("{}/{copy}:{tag}", self.address)
    }

    fn split<'a>(&self, image: &'a str) -> (&'a str, &'a str) {
        image
            .strip_prefix(&format!("{}/", self.address))
            .and_then(|rest| rest.rsplit_once(':'))
            .unwrap_or_else(|| panic!("{image} is not a tagged image in {}", self.address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_json_is_what_the_docker_cli_sends() {
        let registry = Registry {
            address: "127.0.0.1:40000".into(),
            username: "devbuild".into(),
            password: "devbuild-~~~?".into(),
        };
        assert_eq!(
            registry.auth_json(),
            r#"{"username":"devbuild","password":"devbuild-~~~?","serveraddress":"127.0.0.1:40000"}"#
        );
        let standard = registry.x_registry_auth_standard();
        assert!(
            standard.contains('+') && standard.contains('/'),
            "{standard}"
        );
        assert_eq!(
            registry.x_registry_auth(),
            standard.replace('+', "-").replace('/', "_")
        );
    }

    #[test]
    fn encodes_rfc4648_vectors_padded_in_both_alphabets() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_standard(input.as_bytes()), expected);
            assert_eq!(base64_url_safe(input.as_bytes()), expected);
        }
        assert_eq!(base64_standard(b"~~~?"), "fn5+Pw==");
        assert_eq!(base64_url_safe(b"~~~?"), "fn5-Pw==");
    }
}
