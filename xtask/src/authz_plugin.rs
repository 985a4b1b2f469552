//! `cargo xtask authz-plugin --socket S --log L --rules R` (hidden): the test harness's
//! Docker Engine authorization plugin, which `engine up` runs in the background for the
//! `authz` engine.
//!
//! It speaks the Engine's plugin protocol (moby `pkg/plugins`, `pkg/authorization`): HTTP/1.1
//! on the unix socket S (`/run/docker/plugins/<name>.sock`, where dockerd finds a plugin by
//! its name), every call a `POST` with a JSON body and a JSON answer:
//!
//! - `/Plugin.Activate` → `{"Implements":["authz"]}` (dockerd asks once, when it starts);
//! - `/AuthZPlugin.AuthZReq`, before the engine handles a request: the body holds
//!   `RequestMethod`, `RequestUri` (with the API version prefix, as the client sent it),
//!   `RequestHeaders` and, for JSON bodies, `RequestBody`. The plugin appends one line
//!   `METHOD URI` to the log L, then answers `{"Allow":true}`, or `{"Allow":false,"Msg":…}`
//!   when a rule of R denies it; the engine then answers the client with 403 and
//!   `authorization denied by plugin <name>: <Msg>`;
//! - `/AuthZPlugin.AuthZRes`, after the engine has answered: always `{"Allow":true}`.
//!
//! R is read again for every request, so a test denies something by appending a line:
//!
//! ```text
//! # comments and blank lines are ignored
//! deny POST /images/create?fromImage=127.0.0.1:5000/devbuild-test/private&tag=t-1-0 no pulls here
//! deny * devbuild-test/authz-denied-build-12-0 builds of this tag are denied
//! ```
//!
//! `deny METHOD PATTERN MESSAGE`: METHOD is an HTTP method or `*`; PATTERN (no spaces)
//! matches when it is a substring of the request URI, either as sent or percent-decoded
//! (clients encode `:` and `/` in query values); MESSAGE, the rest of the line, is the `Msg`.
//! The first matching rule wins. A line that is not a rule denies every request with a
//! message naming the file and line, so a broken rules file is never silently ignored.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The content type of plugin answers (moby `pkg/plugins/transport`).
const CONTENT_TYPE: &str = "application/vnd.docker.plugins.v1.2+json";

/// The largest request body accepted: the engine sends JSON request bodies of up to 4 MiB,
/// base64-encoded, plus the response body for `AuthZRes`.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The plugin's command line.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// The unix socket to listen on.
    pub socket: PathBuf,
    /// The request log: one `METHOD URI` line per `AuthZReq`.
    pub log: PathBuf,
    /// The rules file, read again for every request.
    pub rules: PathBuf,
}

const USAGE: &str = "usage: cargo xtask authz-plugin --socket SOCKET --log FILE --rules FILE";

impl Options {
    /// Parses `--socket S --log L --rules R` (also `--name=value`).
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut values: HashMap<&str, PathBuf> = HashMap::new();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            let (key, value) = match arg.split_once('=') {
                Some((key, value)) => (key, value.to_string()),
                None => {
                    i += 1;
                    let value = args
                        .get(i)
                        .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
                    (arg, value.clone())
                }
            };
            let key = match key {
                "--socket" => "socket",
                "--log" => "log",
                "--rules" => "rules",
                _ => return Err(format!("unexpected argument `{arg}`\n{USAGE}")),
            };
            values.insert(key, PathBuf::from(value));
            i += 1;
        }
        let mut take = |key: &str| {
            values
                .remove(key)
                .ok_or_else(|| format!("--{key} is missing\n{USAGE}"))
        };
        Ok(Options {
            socket: take("socket")?,
            log: take("log")?,
            rules: take("rules")?,
        })
    }
}

/// `cargo xtask authz-plugin …`: serves until killed.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    if let Some(parent) = options.socket.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    if options.socket.exists() {
        if UnixStream::connect(&options.socket).is_ok() {
            return Err(format!(
                "{} is already served by another process",
                options.socket.display()
            ));
        }
        fs::remove_file(&options.socket)
            .map_err(|e| format!("cannot remove stale {}: {e}", options.socket.display()))?;
    }
    let listener = UnixListener::bind(&options.socket)
        .map_err(|e| format!("cannot listen on {}: {e}", options.socket.display()))?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.log)
        .map_err(|e| format!("cannot open {}: {e}", options.log.display()))?;
    let plugin = Arc::new(Plugin {
        log: Mutex::new(log),
        log_path: options.log.clone(),
        rules: options.rules.clone(),
    });
    eprintln!(
        "authz-plugin (pid {}): listening on {}; log {}; rules {}",
        std::process::id(),
        options.socket.display(),
        options.log.display(),
        options.rules.display()
    );
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let plugin = Arc::clone(&plugin);
                std::thread::spawn(move || {
                    if let Err(e) = serve(&plugin, stream) {
                        eprintln!("authz-plugin: connection: {e}");
                    }
                });
            }
            Err(e) => eprintln!("authz-plugin: accept on {}: {e}", options.socket.display()),
        }
    }
    Ok(())
}

/// The plugin's state, shared by the connections.
struct Plugin {
    /// The request log, opened for appending; the lock keeps lines whole.
    log: Mutex<File>,
    /// Its path, for error messages.
    log_path: PathBuf,
    /// The rules file.
    rules: PathBuf,
}

/// Serves the requests of one connection (dockerd keeps connections alive) until it closes.
fn serve(plugin: &Plugin, stream: UnixStream) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader)? {
        let (status, body) = plugin.answer(&request.path, &request.body);
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if request.keep_alive {
                ""
            } else {
                "Connection: close\r\n"
            }
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(body.as_bytes())?;
        writer.flush()?;
        if !request.keep_alive {
            break;
        }
    }
    Ok(())
}

impl Plugin {
    /// The status and JSON body answering `POST path` with `body`.
    fn answer(&self, path: &str, body: &[u8]) -> (u16, String) {
        match path {
            "/Plugin.Activate" => (200, r#"{"Implements":["authz"]}"#.to_string()),
            "/AuthZPlugin.AuthZReq" => match AuthzRequest::parse(body) {
                Ok(request) => {
                    if let Err(e) = self.log_request(&request) {
                        // Deny rather than let a request pass unlogged: a test counts them.
                        return (200, decision_json(&Decision::Deny(e)));
                    }
                    let rules = fs::read_to_string(&self.rules).unwrap_or_default();
                    (200, decision_json(&decide(&rules, &self.rules, &request)))
                }
                Err(e) => (400, error_json(&format!("AuthZReq: {e}"))),
            },
            "/AuthZPlugin.AuthZRes" => (200, decision_json(&Decision::Allow)),
            other => (404, error_json(&format!("unknown plugin method {other}"))),
        }
    }

    /// Appends `METHOD URI` to the log, in one write.
    fn log_request(&self, request: &AuthzRequest) -> Result<(), String> {
        let line = format!("{} {}\n", request.method, request.uri);
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.write_all(line.as_bytes()).map_err(|e| {
            format!(
                "devbuild authz plugin: cannot write {}: {e}",
                self.log_path.display()
            )
        })
    }
}

/// One parsed HTTP request: only what the plugin protocol needs.
#[derive(Debug, PartialEq)]
struct HttpRequest {
    /// The request target, e.g. `/Plugin.Activate`.
    path: String,
    /// The body (`Content-Length` or chunked).
    body: Vec<u8>,
    /// Whether the connection stays open after the answer (HTTP/1.1 without `Connection:
    /// close`).
    keep_alive: bool,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one HTTP/1.x request; `None` when the connection is closed before one starts.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    // Tolerate blank lines between requests (RFC 9112 §2.2).
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(_method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!(
            "malformed request line {:?}",
            line.trim_end()
        )));
    };
    let path = path.to_string();
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("connection closed inside the headers".into()));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(invalid(format!("malformed header {header:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length: usize = value
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                keep_alive = false;
            } else if value.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let length = content_length.unwrap_or(0);
        if length > MAX_BODY {
            return Err(invalid(format!("body of {length} bytes is too large")));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(HttpRequest {
        path,
        body,
        keep_alive,
    }))
}

/// Reads a chunked body and its trailer.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| invalid(format!("bad chunk size {:?}", line.trim_end())))?;
        if size == 0 {
            // The trailer: header lines up to an empty one.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("chunked body too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

/// What the plugin needs of an `AuthZReq` body (moby `authorization.Request`).
#[derive(Debug, PartialEq)]
pub struct AuthzRequest {
    /// `RequestMethod`, e.g. `POST`.
    pub method: String,
    /// `RequestUri`, e.g. `/v1.45/build?version=2&t=…`.
    pub uri: String,
}

impl AuthzRequest {
    /// Reads `RequestMethod` and `RequestUri` out of the JSON body (both are omitted by the
    /// engine when empty, so a missing one reads as empty).
    pub fn parse(body: &[u8]) -> Result<AuthzRequest, String> {
        let mut fields = json::top_level_strings(body, &["RequestMethod", "RequestUri"])?;
        Ok(AuthzRequest {
            method: fields.remove("RequestMethod").unwrap_or_default(),
            uri: fields.remove("RequestUri").unwrap_or_default(),
        })
    }
}

/// One line of the rules file.
#[derive(Debug, PartialEq)]
pub struct Rule {
    /// An HTTP method, or `*` for any.
    pub method: String,
    /// A substring of the URI (as sent or percent-decoded).
    pub pattern: String,
    /// The `Msg` of the denial.
    pub message: String,
}

impl Rule {
    /// Parses `deny METHOD PATTERN MESSAGE`; `None` for a comment or a blank line.
    pub fn parse(line: &str) -> Option<Result<Rule, String>> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut words = line.splitn(4, char::is_whitespace);
        let rule = match (words.next(), words.next(), words.next(), words.next()) {
            (Some("deny"), Some(method), Some(pattern), Some(message))
                if !message.trim().is_empty() =>
            {
                Ok(Rule {
                    method: method.to_string(),
                    pattern: pattern.to_string(),
                    message: message.trim().to_string(),
                })
            }
            _ => Err(format!(
                "not a rule (expected `deny METHOD PATTERN MESSAGE`): {line}"
            )),
        };
        Some(rule)
    }

    /// Whether the rule applies to `request`.
    pub fn matches(&self, request: &AuthzRequest) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(&request.method))
            && (request.uri.contains(&self.pattern)
                || percent_decode(&request.uri).contains(&self.pattern))
    }
}

/// The plugin's answer to one `AuthZReq`.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// `{"Allow":true}`.
    Allow,
    /// `{"Allow":false,"Msg":…}`.
    Deny(String),
}

/// Applies the rules file's text (`path` names it in messages) to `request`.
pub fn decide(rules: &str, path: &Path, request: &AuthzRequest) -> Decision {
    for (number, line) in rules.lines().enumerate() {
        match Rule::parse(line) {
            None => {}
            Some(Ok(rule)) if rule.matches(request) => return Decision::Deny(rule.message),
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Decision::Deny(format!(
                    "devbuild authz plugin: {}:{}: {e}",
                    path.display(),
                    number + 1
                ))
            }
        }
    }
    Decision::Allow
}

fn decision_json(decision: &Decision) -> String {
    match decision {
        Decision::Allow => r#"{"Allow":true}"#.to_string(),
        Decision::Deny(message) => {
            format!(r#"{{"Allow":false,"Msg":{}}}"#, json::quote(message))
        }
    }
}

/// The body of a failed call: the engine shows `Err`.
fn error_json(message: &str) -> String {
    format!(r#"{{"Err":{}}}"#, json::quote(message))
}

/// `%XX` sequences decoded (invalid ones kept as they are), the result read as UTF-8 (lossy).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Just enough JSON: string fields of a top-level object read, everything else skipped; and
/// strings quoted for an answer.
pub mod json {
    use std::collections::HashMap;

    /// The string values of the top-level object's keys in `wanted` (keys whose values are
    /// not strings are left out).
    pub fn top_level_strings(
        text: &[u8],
        wanted: &[&str],
    ) -> Result<HashMap<String, String>, String> {
        let mut scanner = Scanner { text, at: 0 };
        let mut found = HashMap::new();
        scanner.space();
        scanner.expect(b'{')?;
        scanner.space();
        if scanner.peek() == Some(b'}') {
            return Ok(found);
        }
        loop {
            scanner.space();
            let key = scanner.string()?;
            scanner.space();
            scanner.expect(b':')?;
            scanner.space();
            if wanted.contains(&key.as_str()) && scanner.peek() == Some(b'"') {
                let value = scanner.string()?;
                found.insert(key, value);
            } else {
                scanner.skip_value(0)?;
            }
            scanner.space();
            match scanner.next() {
                Some(b',') => continue,
                Some(b'}') => return Ok(found),
                _ => return Err(scanner.error("expected `,` or `}`")),
            }
        }
    }

    /// `value` as a JSON string, quotes included.
    pub fn quote(value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('"');
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// Nesting deeper than this is refused (the engine's requests nest two levels).
    const MAX_DEPTH: usize = 64;

    struct Scanner<'a> {
        text: &'a [u8],
        at: usize,
    }

    impl Scanner<'_> {
        fn error(&self, what: &str) -> String {
            format!("invalid JSON at byte {}: {what}", self.at)
        }

        fn peek(&self) -> Option<u8> {
            self.text.get(self.at).copied()
        }

        fn next(&mut self) -> Option<u8> {
            let byte = self.peek()?;
            self.at += 1;
            Some(byte)
        }

        fn space(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.at += 1;
            }
        }

        fn expect(&mut self, byte: u8) -> Result<(), String> {
            if self.next() == Some(byte) {
                Ok(())
            } else {
                Err(self.error(&format!("expected `{}`", byte as char)))
            }
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .text
                .get(self.at..self.at + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u32::from_str_radix(d, 16).ok())
                .ok_or_else(|| self.error("bad \\u escape"))?;
            self.at += 4;
            Ok(digits)
        }

        fn string(&mut self) -> Result<String, String> {
            self.expect(b'"')?;
            let mut out = Vec::new();
            loop {
                match self.next() {
                    None => return Err(self.error("unterminated string")),
                    Some(b'"') => break,
                    Some(b'\\') => {
                        let escaped = match self.next() {
                            Some(b'"') => '"',
                            Some(b'\\') => '\\',
                            Some(b'/') => '/',
                            Some(b'b') => '\u{8}',
                            Some(b'f') => '\u{c}',
                            Some(b'n') => '\n',
                            Some(b'r') => '\r',
                            Some(b't') => '\t',
                            Some(b'u') => {
                                let first = self.hex4()?;
                                let code = if (0xd800..0xdc00).contains(&first)
                                    && self.text.get(self.at..self.at + 2) == Some(b"\\u")
                                {
                                    self.at += 2;
                                    let second = self.hex4()?;
                                    0x10000
                                        + ((first - 0xd800) << 10)
                                        + (second.wrapping_sub(0xdc00) & 0x3ff)
                                } else {
                                    first
                                };
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            }
                            _ => return Err(self.error("bad escape")),
                        };
                        let mut buffer = [0; 4];
                        out.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                    }
                    Some(byte) => out.push(byte),
                }
            }
            String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
        }

        fn skip_value(&mut self, depth: usize) -> Result<(), String> {
            if depth > MAX_DEPTH {
                return Err(self.error("nested too deeply"));
            }
            match self.peek() {
                Some(b'"') => self.string().map(drop),
                Some(open @ (b'{' | b'[')) => {
                    let close = if open == b'{' { b'}' } else { b']' };
                    self.at += 1;
                    self.space();
                    if self.peek() == Some(close) {
                        self.at += 1;
                        return Ok(());
                    }
                    loop {
                        self.space();
                        if open == b'{' {
                            self.string()?;
                            self.space();
                            self.expect(b':')?;
                            self.space();
                        }
                        self.skip_value(depth + 1)?;
                        self.space();
                        match self.next() {
                            Some(b',') => continue,
                            Some(c) if c == close => return Ok(()),
                            _ => return Err(self.error("expected `,` or the end")),
                        }
                    }
                }
                Some(_) => {
                    // A number, true, false or null.
                    let start = self.at;
                    while matches!(self.peek(), Some(b) if !b",}] \t\r\n".contains(&b)) {
                        self.at += 1;
                    }
                    let word = &self.text[start..self.at];
                    let number = word
                        .iter()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(b));
                    if word.is_empty() || !(number || matches!(word, b"true" | b"false" | b"null"))
                    {
                        return Err(self.error("expected a value"));
                    }
                    Ok(())
                }
                None => Err(self.error("unexpected end")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn request(method: &str, uri: &str) -> AuthzRequest {
        AuthzRequest {
            method: method.into(),
            uri: uri.into(),
        }
    }

    #[test]
    fn reads_the_fields_of_an_authz_request_as_the_engine_sends_it() {
        // Go's encoder escapes `&`, `<` and `>`; bodies are base64; headers an object.
        let body = br#"{"RequestMethod":"POST","RequestUri":"/v1.45/images/create?fromImage=127.0.0.1%3A5000%2Fdevbuild-test%2Fprivate\u0026tag=t-1-0","RequestBody":"eyJhIjoxfQ==","RequestHeaders":{"Content-Type":"application/json","User-Agent":"x"},"RequestPeerCertificates":[],"ResponseStatusCode":200,"Extra":[1,-2.5e3,true,null,{"a":[]}]}
"#;
        assert_eq!(
            AuthzRequest::parse(body).unwrap(),
            request(
                "POST",
                "/v1.45/images/create?fromImage=127.0.0.1%3A5000%2Fdevbuild-test%2Fprivate&tag=t-1-0"
            )
        );
        assert_eq!(
            AuthzRequest::parse(br#"{"RequestUri":"/_ping"}"#).unwrap(),
            request("", "/_ping")
        );
        assert_eq!(AuthzRequest::parse(b"{}").unwrap(), request("", ""));
        assert_eq!(
            json::top_level_strings(br#"{"k":"\u00e9\ud83d\ude00\n\"\\\/"}"#, &["k"]).unwrap()["k"],
            "é😀\n\"\\/"
        );
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            &b""[..],
            b"[]",
            b"{\"RequestUri\":",
            b"{\"RequestUri\":\"/x\"",
            b"{\"a\":tru}",
            b"{\"a\":\"\\q\"}",
            b"{a:1}",
        ] {
            assert!(
                AuthzRequest::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(AuthzRequest::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn rules_parse_and_skip_comments() {
        assert_eq!(Rule::parse("  # a comment"), None);
        assert_eq!(Rule::parse(""), None);
        assert_eq!(
            Rule::parse("deny POST /build?  builds are  denied here ").unwrap(),
            Ok(Rule {
                method: "POST".into(),
                pattern: "/build?".into(),
                message: "builds are  denied here".into(),
            })
        );
        assert!(Rule::parse("deny POST /build").unwrap().is_err());
        assert!(Rule::parse("allow POST /build ok").unwrap().is_err());
    }

    #[test]
    fn rules_match_by_method_and_uri_substring_raw_or_decoded() {
        let rules = "# tests append their rules\n\
                     deny POST /images/create?fromImage=127.0.0.1:5000/devbuild-test/private&tag=t-1-0 no pulls\n\
                     deny * devbuild-test/denied-build-1-0:1 no builds\n";
        let path = Path::new("/t/rules");
        let pull =
            "/v1.45/images/create?fromImage=127.0.0.1%3A5000%2Fdevbuild-test%2Fprivate&tag=t-1-0";
        assert_eq!(
            decide(rules, path, &request("POST", pull)),
            Decision::Deny("no pulls".into())
        );
        assert_eq!(decide(rules, path, &request("GET", pull)), Decision::Allow);
        assert_eq!(
            decide(
                rules,
                path,
                &request("POST", &pull.replace("t-1-0", "t-1-1"))
            ),
            Decision::Allow
        );
        let build = "/v1.45/build?t=devbuild-test%2Fdenied-build-1-0%3A1&version=2";
        assert_eq!(
            decide(rules, path, &request("post", build)),
            Decision::Deny("no builds".into())
        );
        assert_eq!(
            decide(rules, path, &request("GET", "/_ping")),
            Decision::Allow
        );
        assert_eq!(decide("", path, &request("GET", "/_ping")), Decision::Allow);
        assert_eq!(
            decide("deny GET\n", path, &request("GET", "/_ping")),
            Decision::Deny(
                "devbuild authz plugin: /t/rules:1: not a rule (expected `deny METHOD PATTERN MESSAGE`): deny GET"
                    .into()
            )
        );
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%3Ab%2fc"), "a:b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn answers_are_the_plugin_protocol_s_json() {
        assert_eq!(decision_json(&Decision::Allow), r#"{"Allow":true}"#);
        assert_eq!(
            decision_json(&Decision::Deny("no \"pulls\"\n".into())),
            r#"{"Allow":false,"Msg":"no \"pulls\"\n"}"#
        );
        assert_eq!(error_json("bad"), r#"{"Err":"bad"}"#);
    }

    #[test]
    fn reads_keep_alive_and_chunked_requests() {
        let raw = "POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 2\r\nAccept: x\r\n\r\n{}\
                   POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n\
                   POST /AuthZPlugin.AuthZRes HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
        let mut reader = BufReader::new(raw.as_bytes());
        let first = read_request(&mut reader).unwrap().unwrap();
        assert_eq!(
            first,
            HttpRequest {
                path: "/Plugin.Activate".into(),
                body: b"{}".to_vec(),
                keep_alive: true,
            }
        );
        let second = read_request(&mut reader).unwrap().unwrap();
        assert_eq!(second.path, "/AuthZPlugin.AuthZReq");
        assert_eq!(second.body, b"{\"a\":1}");
        let third = read_request(&mut reader).unwrap().unwrap();
        assert!(!third.keep_alive);
        assert!(read_request(&mut reader).unwrap().is_none());
        assert!(read_request(&mut BufReader::new(&b"nonsense\r\n\r\n"[..])).is_err());
    }

    #[test]
    fn options_name_every_file() {
        let args: Vec<String> = [
            "--socket",
            "/run/p.sock",
            "--log=/t/log",
            "--rules",
            "/t/rules",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            Options::parse(&args).unwrap(),
            Options {
                socket: "/run/p.sock".into(),
                log: "/t/log".into(),
                rules: "/t/rules".into(),
            }
        );
        assert!(Options::parse(&args[..2])
            .unwrap_err()
            .starts_with("--log is missing"));
    }

    /// The whole exchange over a real unix socket, as dockerd makes it: activation, then a
    /// request logged and judged, on one kept-alive connection.
    #[test]
    fn serves_the_plugin_protocol_on_a_unix_socket() {
        let dir = std::env::temp_dir().join(format!("xtask-authz-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let rules = dir.join("rules");
        fs::write(&rules, "deny GET /denied-thing go away\n").unwrap();
        let log = dir.join("requests.log");
        let plugin = Plugin {
            log: Mutex::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            ),
            log_path: log.clone(),
            rules,
        };
        let (client, server) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || serve(&plugin, server));
        let mut client_reader = BufReader::new(client.try_clone().unwrap());
        let mut client = client;
        let mut call = |path: &str, body: &str| {
            write!(
                client,
                "POST {path} HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut status = String::new();
            client_reader.read_line(&mut status).unwrap();
            let mut length = 0;
            loop {
                let mut header = String::new();
                client_reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.strip_prefix("Content-Length: ") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            client_reader.read_exact(&mut body).unwrap();
            (status.trim().to_string(), String::from_utf8(body).unwrap())
        };
        assert_eq!(
            call("/Plugin.Activate", ""),
            (
                "HTTP/1.1 200 OK".into(),
                r#"{"Implements":["authz"]}"#.into()
            )
        );
        let allowed = call(
            "/AuthZPlugin.AuthZReq",
            r#"{"RequestMethod":"GET","RequestUri":"/v1.45/_ping"}"#,
        );
        assert_eq!(allowed.1, r#"{"Allow":true}"#);
        let denied = call(
            "/AuthZPlugin.AuthZReq",
            r#"{"RequestMethod":"GET","RequestUri":"/v1.45/denied-thing"}"#,
        );
        assert_eq!(denied.1, r#"{"Allow":false,"Msg":"go away"}"#);
        assert_eq!(
            call("/AuthZPlugin.AuthZRes", r#"{"RequestMethod":"GET"}"#).1,
            r#"{"Allow":true}"#
        );
        assert_eq!(call("/Nope", "").0, "HTTP/1.1 404 Not Found");
        client.shutdown(std::net::Shutdown::Both).unwrap();
        server.join().unwrap().unwrap();
        assert_eq!(
            fs::read_to_string(&log).unwrap(),
            "GET /v1.45/_ping\nGET /v1.45/denied-thing\n"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
