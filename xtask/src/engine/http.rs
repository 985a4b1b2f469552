//! Just enough HTTP/1.0 to ask a daemon whether it is up: one request per connection, the
//! response read to the end. HTTP/1.0 keeps the servers from chunking their answers.
//! (The authorization plugin's server side is in `crate::authz_plugin`.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A response's status code, header lines (name lower-cased) and body (as text, lossy).
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, read to the end of the connection.
    pub body: String,
}

impl Response {
    /// The first header named `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// `GET path` on the Engine API socket at `socket`.
pub fn get_unix(socket: &Path, path: &str) -> Result<Response, String> {
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    exchange(&mut stream, "GET", "docker", path, &[])
}

/// `POST path` with an empty JSON body on the unix socket at `socket` (a plugin's RPC).
pub fn post_unix(socket: &Path, path: &str) -> Result<Response, String> {
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    exchange(
        &mut stream,
        "POST",
        "plugin",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", "0"),
        ],
    )
}

/// `GET path` on the HTTP server at `addr` (`host:port`), with extra header lines.
pub fn get_tcp(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    let mut stream =
        TcpStream::connect(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    exchange(&mut stream, "GET", addr, path, headers)
}

fn exchange(
    stream: &mut (impl Read + Write),
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, String> {
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    parse(&String::from_utf8_lossy(&raw))
        .ok_or_else(|| format!("{method} {path}: malformed response"))
}

fn parse(raw: &str) -> Option<Response> {
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Response {
        status,
        headers,
        body: body.to_string(),
    })
}

/// Standard base64 (RFC 4648 §4, with padding).
pub fn base64_standard(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("~~~?", "fn5+Pw=="),
        ];
        for (input, expected) in cases {
            assert_eq!(base64_standard(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn parses_a_ping_response() {
        let r = parse(
            "HTTP/1.0 200 OK\r\nApi-Version: 1.45\r\nServer: Docker/26.1.5+dfsg1 (linux)\r\n\r\nOK",
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("API-VERSION"), Some("1.45"));
    }
}
