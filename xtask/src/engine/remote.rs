//! Remote build contexts for the tests: a git repository served by `git daemon` and a
//! tarball (plain and gzip-compressed) and a lone Dockerfile served by `cargo xtask
//! http-serve` (see `crate::http_serve`), both on 127.0.0.1. The engines' BuildKit runs git
//! and its HTTP client in dockerd's own network namespace, the host's, so it reaches them
//! there (verified on Engine 20.10 and 26.1).
//!
//! The repository `context.git` (default branch `master`, which Engine 20.10's BuildKit
//! fetches when a URL names no ref):
//!
//! ```text
//! master   Dockerfile      FROM devbuild-test/busybox:1 / COPY message.txt ignored.txt /
//!          message.txt     "master"
//!          ignored.txt     listed in .dockerignore, which a remote context ignores
//!          .dockerignore   ignored.txt
//!          sub/Dockerfile  FROM devbuild-test/busybox:1 / COPY sub.txt /sub.txt
//!          sub/sub.txt     "from sub"
//! v1       (an annotated tag on the commit before): message.txt "v1", the rest the same
//! ```
//!
//! Served over HTTP (`www/`): `context.tar.gz` and `context.tar` (a `Dockerfile` that copies
//! `tarball.txt`, that file, and a `.dockerignore` listing it), `Dockerfile` (alone: it
//! writes `/lone.txt` with a `RUN`), and `/redirect/<path>`, a `302` to `/<path>`.
//!
//! State, under `remote/` in the engines directory: `git/context.git`, `www/`,
//! `git-daemon.pid`, `git-daemon.log`, `git-port`, `http.pid`, `http.log`, `http-port`. Each
//! server keeps its port across restarts while the port is free (as the registry does), so
//! the env file keeps its URLs; `down` stops both by pid and removes the state.

use super::http::get_tcp;
use super::process::{self, our_pid, spawn_detached, terminate, wait_until};
use super::Layout;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The repository's name under the daemon's base path.
const REPOSITORY: &str = "context.git";
/// The base image every Dockerfile here builds on (in every engine).
const BASE: &str = super::BASE_IMAGE;
/// The system PATH the servers and git run with (Debian's git, not one of the user's).
const SYSTEM_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// The URLs of the running servers.
#[derive(Debug, PartialEq)]
pub struct RemoteContexts {
    /// `git://127.0.0.1:<port>/context.git`.
    pub git_url: String,
    /// `http://127.0.0.1:<port>`, serving `context.tar.gz`, `context.tar`, `Dockerfile`.
    pub http_url: String,
}

impl RemoteContexts {
    /// The gzip-compressed tarball's URL.
    pub fn tarball_url(&self) -> String {
        format!("{}/context.tar.gz", self.http_url)
    }
}

fn git_dir(layout: &Layout) -> PathBuf {
    layout.remote_dir().join("git")
}

fn www_dir(layout: &Layout) -> PathBuf {
    layout.remote_dir().join("www")
}

/// `git daemon`'s pid and port files.
fn git_files(layout: &Layout) -> (PathBuf, PathBuf) {
    let dir = layout.remote_dir();
    (dir.join("git-daemon.pid"), dir.join("git-port"))
}

/// The HTTP server's pid and port files.
fn http_files(layout: &Layout) -> (PathBuf, PathBuf) {
    let dir = layout.remote_dir();
    (dir.join("http.pid"), dir.join("http-port"))
}

fn saved_port(path: &Path) -> Option<u16> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether the repository can be listed at `url`.
fn git_answers(url: &str) -> bool {
    Command::new("git")
        .args(["ls-remote", "--heads", url])
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn http_answers(address: &str) -> bool {
    get_tcp(address, "/context.tar.gz", &[]).is_ok_and(|r| r.status == 200)
}

/// The git server `up` started, if it is alive and serves the repository.
fn running_git(layout: &Layout) -> Option<String> {
    let (pid, port) = git_files(layout);
    our_pid(&pid, &git_dir(layout).to_string_lossy())?;
    let url = format!("git://127.0.0.1:{}/{REPOSITORY}", saved_port(&port)?);
    git_answers(&url).then_some(url)
}

/// The HTTP server `up` started, if it is alive and serves the tarball.
fn running_http(layout: &Layout) -> Option<String> {
    let (pid, port) = http_files(layout);
    our_pid(&pid, &www_dir(layout).to_string_lossy())?;
    let address = format!("127.0.0.1:{}", saved_port(&port)?);
    http_answers(&address).then(|| format!("http://{address}"))
}

/// Both servers, if both run and answer.
pub fn running(layout: &Layout) -> Option<RemoteContexts> {
    Some(RemoteContexts {
        git_url: running_git(layout)?,
        http_url: running_http(layout)?,
    })
}

/// Reuses the servers that run, (re)starts the others with fresh contents.
pub fn ensure_running(layout: &Layout) -> Result<RemoteContexts, String> {
    let dir = layout.remote_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let git_url = match running_git(layout) {
        Some(url) => {
            eprintln!("    git daemon: already up, {url}");
            url
        }
        None => start_git(layout)?,
    };
    let http_url = match running_http(layout) {
        Some(url) => {
            eprintln!("    http server: already up, {url}");
            url
        }
        None => start_http(layout)?,
    };
    Ok(RemoteContexts { git_url, http_url })
}

/// A port for a server whose last port is in `port_file`: that one while it is free, else
/// one the kernel says is free now.
fn choose_port(port_file: &Path, what: &str) -> Result<u16, String> {
    match super::registry::choose_port(saved_port(port_file), super::registry::port_is_free) {
        super::registry::PortChoice::Reuse(port) => Ok(port),
        super::registry::PortChoice::Taken(port) => {
            let new = super::registry::free_port()?;
            eprintln!(
                "    {what}: its previous port {port} is taken by another process; moving to port {new}"
            );
            Ok(new)
        }
        super::registry::PortChoice::Fresh => super::registry::free_port(),
    }
}

/// Starts a server with `spawn(port)` (which returns its pid) until `ready(port)`, retrying
/// on a new port when a port is taken between choosing and binding it.
pub(super) fn start_on_a_port(
    port_file: &Path,
    pid_file: &Path,
    what: &str,
    log: &Path,
    mut spawn: impl FnMut(u16) -> Result<u32, String>,
    ready: impl Fn(u16) -> bool,
) -> Result<u16, String> {
    let mut port = choose_port(port_file, what)?;
    let mut last_error = String::new();
    for _ in 0..3 {
        fs::write(port_file, format!("{port}\n"))
            .map_err(|e| format!("cannot write {}: {e}", port_file.display()))?;
        let pid = spawn(port)?;
        fs::write(pid_file, format!("{pid}\n"))
            .map_err(|e| format!("cannot write {}: {e}", pid_file.display()))?;
        let up = wait_until(Duration::from_secs(15), || {
            !process::is_alive(pid) || ready(port)
        });
        if up && process::is_alive(pid) {
            eprintln!("    {what}: up on 127.0.0.1:{port} (pid {pid})");
            return Ok(port);
        }
        last_error = format!(
            "{what} did not come up on 127.0.0.1:{port}; its log ({}):\n{}",
            log.display(),
            process::log_tail(log, 20)
        );
        terminate(pid, what, Duration::from_secs(5))?;
        port = super::registry::free_port()?;
    }
    Err(last_error)
}

fn start_git(layout: &Layout) -> Result<String, String> {
    let (pid_file, port_file) = git_files(layout);
    stop_one(&pid_file, &git_dir(layout), "git daemon")?;
    write_repository(layout)?;
    let exec_path = process::output(
        Command::new("git")
            .arg("--exec-path")
            .env_clear()
            .env("PATH", SYSTEM_PATH),
        "git --exec-path",
    )
    .map_err(|e| format!("{e} (the harness needs Debian's `git` package)"))?;
    let daemon = PathBuf::from(exec_path.trim()).join("git-daemon");
    let base = git_dir(layout);
    let log = layout.remote_dir().join("git-daemon.log");
    let home = layout.remote_dir();
    let port = start_on_a_port(
        &port_file,
        &pid_file,
        "git daemon",
        &log,
        |port| {
            spawn_detached(
                Command::new(&daemon)
                    .arg(format!("--base-path={}", base.display()))
                    .args(["--export-all", "--reuseaddr", "--informative-errors"])
                    .args(["--listen=127.0.0.1", &format!("--port={port}")])
                    .env_clear()
                    .env("PATH", SYSTEM_PATH)
                    .env("HOME", &home)
                    .env("GIT_CONFIG_NOSYSTEM", "1"),
                &log,
            )
        },
        |port| {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
                && git_answers(&format!("git://127.0.0.1:{port}/{REPOSITORY}"))
        },
    )?;
    Ok(format!("git://127.0.0.1:{port}/{REPOSITORY}"))
}

fn start_http(layout: &Layout) -> Result<String, String> {
    let (pid_file, port_file) = http_files(layout);
    let www = www_dir(layout);
    stop_one(&pid_file, &www, "http server")?;
    write_www(layout)?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find xtask's own executable: {e}"))?;
    let log = layout.remote_dir().join("http.log");
    let port = start_on_a_port(
        &port_file,
        &pid_file,
        "http server",
        &log,
        |port| {
            spawn_detached(
                Command::new(&exe)
                    .arg("http-serve")
                    .arg("--root")
                    .arg(&www)
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}")),
                &log,
            )
        },
        |port| http_answers(&format!("127.0.0.1:{port}")),
    )?;
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Runs git (Debian's, with a fixed identity and dates, no user configuration) in `dir`.
fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let date = "2026-01-01T00:00:00Z";
    process::output(
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "devbuild tests")
            .env("GIT_AUTHOR_EMAIL", "tests@devbuild.invalid")
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_NAME", "devbuild tests")
            .env("GIT_COMMITTER_EMAIL", "tests@devbuild.invalid")
            .env("GIT_COMMITTER_DATE", date),
        &format!("git {}", args.join(" ")),
    )
    .map(|_| ())
}

fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<(), String> {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Writes the repository afresh: a work tree with the two commits and the tag, cloned bare
/// under the daemon's base path.
fn write_repository(layout: &Layout) -> Result<(), String> {
    let work = layout.remote_dir().join("work");
    let served = git_dir(layout).join(REPOSITORY);
    super::remove_state_dir(&work)?;
    super::remove_state_dir(&git_dir(layout))?;
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    fs::create_dir_all(git_dir(layout))
        .map_err(|e| format!("cannot create {}: {e}", git_dir(layout).display()))?;
    git(&work, &["init", "--quiet", "--initial-branch=master"])?;
    write_files(
        &work,
        &[
            (
                "Dockerfile",
                format!("FROM {BASE}\nCOPY message.txt ignored.txt /\n"),
            ),
            ("message.txt", "v1\n".into()),
            (
                "ignored.txt",
                "sent: .dockerignore does not apply to a remote context\n".into(),
            ),
            (".dockerignore", "ignored.txt\n".into()),
            (
                "sub/Dockerfile",
                format!("FROM {BASE}\nCOPY sub.txt /sub.txt\n"),
            ),
            ("sub/sub.txt", "from sub\n".into()),
        ],
    )?;
    git(&work, &["add", "--all"])?;
    git(&work, &["commit", "--quiet", "-m", "v1"])?;
    git(&work, &["tag", "--annotate", "v1", "-m", "v1"])?;
    write_files(&work, &[("message.txt", "master\n".into())])?;
    git(&work, &["commit", "--quiet", "--all", "-m", "master"])?;
    git(
        layout.remote_dir().as_path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            &work.to_string_lossy(),
            &served.to_string_lossy(),
        ],
    )?;
    super::remove_state_dir(&work)
}

/// Writes what the HTTP server serves afresh: the tarballs (GNU tar, sorted, owner 0, mtime
/// 0; `gzip -n`) and the lone Dockerfile.
fn write_www(layout: &Layout) -> Result<(), String> {
    let www = www_dir(layout);
    let source = layout.remote_dir().join("tarball");
    super::remove_state_dir(&www)?;
    super::remove_state_dir(&source)?;
    write_files(
        &source,
        &[
            (
                "Dockerfile",
                format!("FROM {BASE}\nCOPY tarball.txt /tarball.txt\n"),
            ),
            ("tarball.txt", "from the tarball\n".into()),
            (".dockerignore", "tarball.txt\n".into()),
        ],
    )?;
    write_files(
        &www,
        &[(
            "Dockerfile",
            format!("FROM {BASE}\nRUN echo from a lone Dockerfile > /lone.txt\n"),
        )],
    )?;
    let tar = www.join("context.tar");
    process::output(
        Command::new("tar")
            .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
            .args(["--mtime=@0", "-C"])
            .arg(&source)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
        "tar",
    )?;
    // The compressed bytes come from stdout (`process::output` would make them text).
    let compressed = Command::new("gzip")
        .args(["-n", "-c"])
        .arg(&tar)
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !compressed.status.success() {
        return Err(format!("gzip failed ({})", compressed.status));
    }
    let gz = www.join("context.tar.gz");
    fs::write(&gz, compressed.stdout).map_err(|e| format!("cannot write {}: {e}", gz.display()))?;
    super::remove_state_dir(&source)
}

/// Stops the server whose pid is in `pid_file` if it is ours (its command line names
/// `marker`).
fn stop_one(pid_file: &Path, marker: &Path, what: &str) -> Result<(), String> {
    if let Some(pid) = our_pid(pid_file, &marker.to_string_lossy()) {
        terminate(pid, what, Duration::from_secs(10))?;
    }
    Ok(())
}

/// `engine down`: stops both servers `up` started, by pid, and removes their state.
pub fn stop(layout: &Layout) -> Result<(), String> {
    let (git_pid, _) = git_files(layout);
    let (http_pid, _) = http_files(layout);
    let git = stop_one(&git_pid, &git_dir(layout), "git daemon");
    let http = stop_one(&http_pid, &www_dir(layout), "http server");
    git.and(http)?;
    super::remove_state_dir(&layout.remote_dir())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_tarball_url_is_under_the_http_url() {
        let remote = RemoteContexts {
            git_url: "git://127.0.0.1:1/context.git".into(),
            http_url: "http://127.0.0.1:2".into(),
        };
        assert_eq!(remote.tarball_url(), "http://127.0.0.1:2/context.tar.gz");
    }

    #[test]
    fn a_saved_port_is_kept_while_free() {
        let dir = std::env::temp_dir().join(format!("xtask-remote-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("port");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        fs::write(&file, format!("{port}\n")).unwrap();
        assert_ne!(choose_port(&file, "test").unwrap(), port);
        drop(listener);
        if super::super::registry::port_is_free(port) {
            assert_eq!(choose_port(&file, "test").unwrap(), port);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
