//! Asking a daemon whether it is up (the engines' `/_ping`, the plugin's `Plugin.Activate`,
//! the registry's `/v2/`, the HTTP server's tarball) and whether the registry holds the
//! private image: one request per connection, through
//! the tests' HTTP/1.1 client (`devbuild_tests::http`), with timeouts so that a daemon that
//! accepts but never answers does not hang `engine up`. (The authorization plugin's server
//! side is in `crate::authz_plugin`.)

use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use devbuild_tests::http::Response;
use devbuild_tests::http::{send, Request};

const TIMEOUT: Duration = Duration::from_secs(10);

/// `GET path` on the Engine API socket at `socket`.
pub fn get_unix(socket: &Path, path: &str) -> Result<Response, String> {
    let mut stream = connect_unix(socket)?;
    exchange(&mut stream, "docker", get(path, &[]))
}

/// `POST path` with an empty JSON body on the unix socket at `socket` (a plugin's RPC).
pub fn post_unix(socket: &Path, path: &str) -> Result<Response, String> {
    let mut stream = connect_unix(socket)?;
    let request = Request {
        method: "POST",
        path,
        headers: vec![("Content-Type", "application/json".to_string())],
        body: Some(b""),
    };
    exchange(&mut stream, "plugin", request)
}

/// `GET path` on the HTTP server at `addr` (`host:port`), with extra header lines.
pub fn get_tcp(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    let mut stream =
        TcpStream::connect(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    exchange(&mut stream, addr, get(path, headers))
}

fn connect_unix(socket: &Path) -> Result<UnixStream, String> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    Ok(stream)
}

fn get<'a>(path: &'a str, headers: &[(&'a str, &str)]) -> Request<'a> {
    Request {
        method: "GET",
        path,
        headers: headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
        body: None,
    }
}

fn exchange(
    stream: &mut (impl std::io::Read + std::io::Write),
    host: &str,
    request: Request<'_>,
) -> Result<Response, String> {
    send(stream, host, &request).map_err(|e| format!("{} {}: {e}", request.method, request.path))
}
