//! Downloading a URL context, for the Dockerfile inside it: an http(s) `GET` streamed into an
//! unnamed temporary file (memory stays bounded whatever the size), redirects followed (at
//! most [`MAX_REDIRECTS`], as Go's client, which BuildKit's HTTP source uses), the whole
//! download bounded by a deadline.
//!
//! It uses the HTTP client the engine connection already compiles: hyper 1 through
//! hyper-util's client, and for `https://` rustls (ring, with the system's root
//! certificates from `rustls-native-certs`) through hyper-rustls. Proxies
//! (`HTTPS_PROXY`, …) are not used: a download that fails is a warning, and the engine, which
//! fetches the context itself, uses its own proxy settings.

use std::io::{Seek, Write};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The most redirects followed (Go's `net/http` default).
pub const MAX_REDIRECTS: usize = 10;

/// Downloads `url` into a temporary file (rewound, removed when closed), before `deadline`.
/// A status other than 2xx (after redirects) is an error; errors name the URL.
pub async fn download(url: &str, deadline: Instant) -> Result<std::fs::File, String> {
    let given = url;
    // Messages show the URL with its credentials masked.
    let shown = super::redact(url);
    let url = shown.as_str();
    let deadline = tokio::time::Instant::from_std(deadline);
    let late = || {
        format!(
            "{url}: no complete answer in time (devbuild waits at most {} s for a remote context)",
            super::FETCH_TIMEOUT.as_secs()
        )
    };
    let client = client().map_err(|e| format!("{url}: {e}"))?;
    let mut current: http::Uri = given
        .parse()
        .map_err(|e| format!("{url}: not a valid URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        let request = http::Request::get(current.clone())
            .header(
                http::header::USER_AGENT,
                concat!("devbuild/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("{url}: {e}"))?;
        let response = tokio::time::timeout_at(deadline, client.request(request))
            .await
            .map_err(|_| late())?
            .map_err(|e| format!("{}: {}", shown_uri(&current), error_chain(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            if let Some(location) = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
            {
                current = resolve(&current, location).map_err(|e| {
                    format!("{}: a redirect to {location:?}: {e}", shown_uri(&current))
                })?;
                continue;
            }
        }
        if !status.is_success() {
            return Err(format!("{}: HTTP {status}", shown_uri(&current)));
        }
        let mut file = tempfile::tempfile()
            .map_err(|e| format!("{url}: cannot create a temporary file: {e}"))?;
        let mut body = response.into_body();
        while let Some(frame) = tokio::time::timeout_at(deadline, body.frame())
            .await
            .map_err(|_| late())?
        {
            let frame =
                frame.map_err(|e| format!("{}: {}", shown_uri(&current), error_chain(&e)))?;
            if let Ok(data) = frame.into_data() {
                file.write_all(&data)
                    .map_err(|e| format!("{url}: cannot write the download: {e}"))?;
            }
        }
        file.rewind()
            .map_err(|e| format!("{url}: cannot read the download: {e}"))?;
        return Ok(file);
    }
    Err(format!("{url}: more than {MAX_REDIRECTS} redirects"))
}

/// A URI as messages show it: credentials masked.
fn shown_uri(uri: &http::Uri) -> String {
    super::redact(&uri.to_string())
}

/// An error and its sources, `: `-separated (hyper's own message alone says little:
/// "client error (Connect)").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The http(s) client: HTTP/1.1, TLS with the system's roots.
fn client() -> Result<Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A certificate rustls cannot use is skipped, as the other roots still serve.
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// Where a redirect's `Location` points from `base`: an absolute URL, `//host/path`,
/// `/path`, or a path relative to `base`'s directory (query kept, fragment dropped).
pub fn resolve(base: &http::Uri, location: &str) -> Result<http::Uri, String> {
    let location = location.split('#').next().unwrap_or_default();
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    let text = if super::is_url(location) {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{location}")
    };
    text.parse().map_err(|e| format!("not a valid URL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;

    #[test]
    fn redirects_resolve_against_the_url_they_came_from() {
        let base: http::Uri = "http://h:1/a/b/c.tar?x=1".parse().unwrap();
        for (location, expected) in [
            ("https://o/x.tar", "https://o/x.tar"),
            ("//o:2/x.tar", "http://o:2/x.tar"),
            ("/x.tar?y=2", "http://h:1/x.tar?y=2"),
            ("x.tar", "http://h:1/a/b/x.tar"),
            ("../x.tar#frag", "http://h:1/a/b/../x.tar"),
        ] {
            assert_eq!(resolve(&base, location).unwrap().to_string(), expected);
        }
    }

    /// A one-shot HTTP/1.1 server on 127.0.0.1 answering each connection from `answers`,
    /// in order.
    fn serve(answers: Vec<Vec<u8>>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for answer in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                let _ = stream.write_all(&answer);
            }
        });
        port
    }

    fn answer(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(20)
    }

    #[tokio::test]
    async fn follows_redirects_and_streams_the_body_to_a_file() {
        let body = vec![7u8; 300_000];
        let port = serve(vec![
            answer("302 Found", "Location: /real/context.tar\r\n", b""),
            answer("200 OK", "", &body),
        ]);
        let mut file = download(&format!("http://127.0.0.1:{port}/context.tar"), soon())
            .await
            .unwrap();
        let mut read = Vec::new();
        file.read_to_end(&mut read).unwrap();
        assert_eq!(read, body);
    }

    #[tokio::test]
    async fn a_failed_status_or_a_closed_port_is_an_error_naming_the_url() {
        let port = serve(vec![answer("404 Not Found", "", b"no")]);
        let url = format!("http://127.0.0.1:{port}/nope.tar.gz");
        let err = download(&url, soon()).await.unwrap_err();
        assert_eq!(err, format!("{url}: HTTP 404 Not Found"));
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/c.tar",
            closed.local_addr().unwrap().port()
        );
        drop(closed);
        let err = download(&url, soon()).await.unwrap_err();
        assert!(err.starts_with(&format!("{url}: ")), "{err}");
        assert!(err.to_lowercase().contains("connection refused"), "{err}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_given_up_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/c.tar",
            listener.local_addr().unwrap().port()
        );
        let started = Instant::now();
        let err = download(&url, started + std::time::Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.contains("no complete answer in time"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        drop(listener);
    }

    #[tokio::test]
    async fn too_many_redirects_are_an_error() {
        let loops = (0..=MAX_REDIRECTS)
            .map(|_| answer("301 Moved", "Location: /again\r\n", b""))
            .collect();
        let port = serve(loops);
        let err = download(&format!("http://127.0.0.1:{port}/start"), soon())
            .await
            .unwrap_err();
        assert!(err.ends_with("more than 10 redirects"), "{err}");
    }
}
