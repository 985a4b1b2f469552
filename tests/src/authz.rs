//! The engine behind the harness's authorization plugin (`cargo xtask engine up` starts it as
//! the `authz` engine): its [`TestEngine`] handle, the plugin's request log, and rules that make
//! the plugin deny what a test names.
//!
//! The plugin appends one `METHOD URI` line to the log for every request the engine asks it
//! about, and reads its rules file again for every request. A test denies a request by
//! appending `deny METHOD PATTERN MESSAGE` ([`AuthzEngine::deny`]) with a PATTERN only it
//! uses (a unique image name), so its rule never touches another test. Rules stay until
//! `engine down`; unique patterns make that harmless.
//!
//! The log is shared by every test on the engine, so a test that counts its requests takes
//! the engine for itself ([`Access::Exclusive`]); tests that only need the plugin to deny
//! something take it shared ([`Access::Shared`]). [`run_on_authz`] takes that `flock(2)` lock
//! on `tests.lock` next to the log before its first request to the engine and holds it until
//! the test (and its image guards) are done: across processes (nextest), and released by the
//! kernel when a test process dies.

use crate::env::{must_not_skip, AuthzEntry, TestEnv};
use crate::TestEngine;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The authz engine and its plugin.
#[derive(Clone, Debug)]
pub struct AuthzEngine {
    /// The engine (its `version` is `authz`), with the registry and images the harness seeded.
    pub engine: TestEngine,
    /// The plugin's name: the engine's denials say `authorization denied by plugin <name>: …`.
    pub plugin: String,
    /// The request log.
    pub log: PathBuf,
    /// The rules file.
    pub rules: PathBuf,
}

/// How a test uses the authz engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Alone: no other authz test runs meanwhile, so the log's new lines are this test's.
    Exclusive,
    /// Beside other tests that do not count requests.
    Shared,
}

/// A lock on the authz engine, held until dropped.
struct AuthzLock {
    /// The open lock file; closing it releases the lock.
    _file: File,
}

/// One line of the request log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The HTTP method.
    pub method: String,
    /// The request URI as the client sent it (API version prefix and query included).
    pub uri: String,
}

impl LoggedRequest {
    /// The URI's path, without the query.
    pub fn path(&self) -> &str {
        self.uri.split_once('?').map_or(&self.uri, |(path, _)| path)
    }

    /// `METHOD path`, for comparing request sets.
    pub fn method_and_path(&self) -> String {
        format!("{} {}", self.method, self.path())
    }
}

impl AuthzEngine {
    /// The authz engine from the env file, if it answers `GET /_ping`, after taking it as
    /// `access` says (the ping is logged too: it must not land in another test's window).
    fn connect(access: Access) -> Result<(AuthzEngine, AuthzLock), String> {
        let env = TestEnv::load()?;
        let entry: &AuthzEntry = env
            .authz
            .as_ref()
            .ok_or("the env file lists no authz engine (`cargo xtask engine up --engine authz`)")?;
        let lock = lock(&entry.log, access)?;
        let engine = AuthzEngine {
            engine: TestEngine::connect_entry(env, &entry.engine)?,
            plugin: entry.plugin.clone(),
            log: entry.log.clone(),
            rules: entry.rules.clone(),
        };
        Ok((engine, lock))
    }

    /// Makes the plugin deny `method` (or `*`) requests whose URI contains `pattern` (as sent
    /// or percent-decoded; no spaces), answering `message`. Takes effect with the next request.
    pub fn deny(&self, method: &str, pattern: &str, message: &str) {
        assert!(
            !pattern.is_empty() && !pattern.contains(char::is_whitespace),
            "a rule's pattern is one word: {pattern:?}"
        );
        assert!(!message.contains('\n'), "a rule's message is one line");
        let line = format!("deny {method} {pattern} {message}\n");
        // One write with O_APPEND: lines appended by concurrent tests stay whole.
        OpenOptions::new()
            .append(true)
            .open(&self.rules)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .unwrap_or_else(|e| panic!("cannot append to {}: {e}", self.rules.display()));
    }

    /// The log's length now: pass it to [`AuthzEngine::requests_since`] after the requests.
    pub fn log_position(&self) -> u64 {
        fs::metadata(&self.log)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.log.display()))
            .len()
    }

    /// The requests logged after `position` (a [`AuthzEngine::log_position`]), in order.
    pub fn requests_since(&self, position: u64) -> Vec<LoggedRequest> {
        let text = fs::read(&self.log)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.log.display()));
        let start = usize::try_from(position).expect("a log position fits usize");
        parse_log(&String::from_utf8_lossy(&text[start.min(text.len())..]))
    }
}

/// Takes the authz tests' lock next to `log` as `access` says, waiting for it.
fn lock(log: &Path, access: Access) -> Result<AuthzLock, String> {
    let path = lock_path(log);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let operation = match access {
        Access::Exclusive => libc::LOCK_EX,
        Access::Shared => libc::LOCK_SH,
    };
    loop {
        // SAFETY: `flock` only reads its arguments; the descriptor lives as long as `file`.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(AuthzLock { _file: file });
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("cannot lock {}: {error}", path.display()));
        }
    }
}

/// The lock file the authz tests share: `tests.lock` next to the log.
fn lock_path(log: &Path) -> PathBuf {
    log.with_file_name("tests.lock")
}

/// Reads log lines `METHOD URI`.
pub fn parse_log(text: &str) -> Vec<LoggedRequest> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (method, uri) = l.split_once(' ').unwrap_or((l, ""));
            LoggedRequest {
                method: method.to_string(),
                uri: uri.to_string(),
            }
        })
        .collect()
}

/// Runs `test` against the authz engine, taken as `access` says for the whole test, or skips
/// loudly (fails under CI) when it cannot be had — the authz engine's [`crate::run_on`].
pub fn run_on_authz(access: Access, test: impl FnOnce(&AuthzEngine)) {
    match AuthzEngine::connect(access) {
        Ok((engine, _lock)) => test(&engine),
        Err(why) => {
            let message =
                format!("no authz test engine: {why}; run `cargo xtask engine up` to get one");
            if must_not_skip() {
                panic!("{message} (docker-backed tests never skip in CI)");
            }
            // Straight to the process's stderr, past the test harness's output capture.
            let _ = writeln!(std::io::stderr(), "SKIPPED ({message})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_log_lines() {
        let requests = parse_log("GET /version\nPOST /v1.45/build?version=2&t=x%3A1\n\n");
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].method_and_path(), "GET /version");
        assert_eq!(requests[1].path(), "/v1.45/build");
        assert_eq!(requests[1].uri, "/v1.45/build?version=2&t=x%3A1");
        assert_eq!(
            lock_path(Path::new("/t/authz-plugin/requests.log")),
            Path::new("/t/authz-plugin/tests.lock")
        );
    }
}
