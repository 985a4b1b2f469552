//! The registry: Debian's `docker-registry` on a free 127.0.0.1 port, plain HTTP, with
//! htpasswd (bcrypt) authentication and storage under the state directory.
//!
//! The port is kept in `registry/port`. A registry that has died is restarted on that same
//! port when it is free, with its data, so the env file (and the tests reading it) keep its
//! address; only when another process has taken the port does it move, saying so. `down`
//! removes the state, port included.
//!
//! The password is chosen so that the standard base64 of the `X-Registry-Auth` JSON
//! contains both `+` and `/`: standard and URL-safe base64 then differ, and a client that
//! sends the wrong one has its credentials dropped by the engine. The JSON the harness
//! assumes is the compact form the docker CLI, bollard and our tests send:
//! `{"username":"…","password":"…","serveraddress":"127.0.0.1:<port>"}` (and the same
//! without `serveraddress`); both are checked.

use super::http::get_tcp;
use super::process::{self, our_pid, spawn_detached, terminate, wait_until};
use super::Layout;
use devbuild_tests::base64_standard;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The registry's username.
const USERNAME: &str = "devbuild";

/// A running registry and its credentials.
pub struct Registry {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

impl Registry {
    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The `Authorization` header value for the registry's own API.
    pub fn basic_auth(&self) -> String {
        format!(
            "Basic {}",
            base64_standard(format!("{}:{}", self.username, self.password).as_bytes())
        )
    }
}

/// The `X-Registry-Auth` JSON (before base64) the harness assumes clients send.
pub fn auth_json(username: &str, password: &str, server: Option<&str>) -> String {
    match server {
        Some(server) => format!(
            r#"{{"username":"{username}","password":"{password}","serveraddress":"{server}"}}"#
        ),
        None => format!(r#"{{"username":"{username}","password":"{password}"}}"#),
    }
}

/// The first password `devbuild-<suffix>` (suffix over `~?>` and digits, shortest first)
/// whose auth JSON, with and without the server address, encodes with both `+` and `/`.
pub fn choose_password(username: &str, server: &str) -> String {
    const ALPHABET: [char; 5] = ['~', '?', '>', '1', '7'];
    let good = |password: &str| {
        [Some(server), None].iter().all(|s| {
            let encoded = base64_standard(auth_json(username, password, *s).as_bytes());
            encoded.contains('+') && encoded.contains('/')
        })
    };
    let mut n = 0usize;
    loop {
        // The n-th string over ALPHABET in shortlex order.
        let mut suffix = String::new();
        let mut i = n;
        loop {
            suffix.insert(0, ALPHABET[i % ALPHABET.len()]);
            if i < ALPHABET.len() {
                break;
            }
            i = i / ALPHABET.len() - 1;
        }
        let candidate = format!("devbuild-{suffix}");
        if good(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

fn config_path(layout: &Layout) -> std::path::PathBuf {
    layout.registry_dir().join("config.yml")
}

/// `GET /v2/` status, with or without credentials.
fn v2_status(address: &str, authorization: Option<&str>) -> Option<u16> {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("Authorization", a))
        .into_iter()
        .collect();
    get_tcp(address, "/v2/", &headers).ok().map(|r| r.status)
}

/// The registry `up` started, if it is running and accepts its credentials.
pub fn running(layout: &Layout) -> Option<Registry> {
    let dir = layout.registry_dir();
    let config = config_path(layout);
    our_pid(&dir.join("registry.pid"), &config.to_string_lossy())?;
    let port = saved_port(layout)?;
    let address = format!("127.0.0.1:{port}");
    let registry = Registry {
        port,
        username: USERNAME.to_string(),
        password: choose_password(USERNAME, &address),
    };
    (v2_status(&address, None) == Some(401)
        && v2_status(&address, Some(&registry.basic_auth())) == Some(200))
    .then_some(registry)
}

/// Where the next registry listens, given the port the previous one used.
#[derive(Debug, PartialEq, Eq)]
pub enum PortChoice {
    /// The previous port, free again: the env file keeps its address.
    Reuse(u16),
    /// The previous port is taken by another process: a new one must be found.
    Taken(u16),
    /// No previous port (a first `up`, or one after `down`).
    Fresh,
}

/// Decides whether the registry can keep `saved` (the port in `registry/port`), asking
/// `is_free` about it.
pub fn choose_port(saved: Option<u16>, is_free: impl Fn(u16) -> bool) -> PortChoice {
    match saved {
        Some(port) if is_free(port) => PortChoice::Reuse(port),
        Some(port) => PortChoice::Taken(port),
        None => PortChoice::Fresh,
    }
}

/// Whether nothing listens on `127.0.0.1:port` (we can bind it ourselves).
pub(super) fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port the kernel says is free now.
pub(super) fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

/// The port the registry last used, from `registry/port`.
fn saved_port(layout: &Layout) -> Option<u16> {
    fs::read_to_string(layout.registry_dir().join("port"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reuses the running registry, or (re)starts it: on the port it had before when that port
/// is free (so the env file, and the tests reading it, keep its address), else on a new one.
pub fn ensure_running(layout: &Layout) -> Result<Registry, String> {
    if let Some(registry) = running(layout) {
        eprintln!("    registry: already up on {}", registry.address());
        return Ok(registry);
    }
    let port_file = layout.registry_dir().join("port");
    let saved = saved_port(layout);
    // A registry of ours that is alive but does not answer is stopped; its state stays.
    stop_process(layout)?;
    let dir = layout.registry_dir();
    fs::create_dir_all(dir.join("data"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut port = match choose_port(saved, port_is_free) {
        PortChoice::Reuse(port) => {
            eprintln!(
                "    registry: restarting on its previous port {port} (from {})",
                port_file.display()
            );
            port
        }
        PortChoice::Taken(port) => {
            let new = free_port()?;
            eprintln!(
                "    registry: its previous port {port} (from {}) is taken by another process; \
                 moving to port {new}: the env file changes, tests that read the old one \
                 lose the registry",
                port_file.display()
            );
            new
        }
        PortChoice::Fresh => free_port()?,
    };
    let mut last_error = String::new();
    // A free port can be taken by someone else before the registry binds it: retry.
    for _ in 0..3 {
        match start(layout, &dir, port) {
            Ok(registry) => return Ok(registry),
            Err(e) => {
                last_error = e;
                stop_process(layout)?;
                let new = free_port()?;
                eprintln!("    registry: port {port} failed; trying port {new}");
                port = new;
            }
        }
    }
    Err(last_error)
}

fn start(layout: &Layout, dir: &Path, port: u16) -> Result<Registry, String> {
    let address = format!("127.0.0.1:{port}");
    let registry = Registry {
        port,
        username: USERNAME.to_string(),
        password: choose_password(USERNAME, &address),
    };
    let htpasswd_path = dir.join("htpasswd");
    let htpasswd = process::output(
        Command::new("htpasswd").args(["-Bbn", &registry.username, &registry.password]),
        "htpasswd",
    )?;
    fs::write(&htpasswd_path, htpasswd.trim_end().to_string() + "\n")
        .map_err(|e| format!("cannot write {}: {e}", htpasswd_path.display()))?;
    let config = config_path(layout);
    let yaml = format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
         http:\n  addr: {address}\n\
         auth:\n  htpasswd:\n    realm: devbuild-test\n    path: {htpasswd}\n",
        data = dir.join("data").display(),
        htpasswd = htpasswd_path.display(),
    );
    fs::write(&config, yaml).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    fs::write(dir.join("port"), format!("{port}\n"))
        .map_err(|e| format!("cannot write port: {e}"))?;
    let log = dir.join("registry.log");
    let pid = spawn_detached(
        Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        &log,
    )?;
    fs::write(dir.join("registry.pid"), format!("{pid}\n"))
        .map_err(|e| format!("cannot write pid file: {e}"))?;
    let ready = wait_until(Duration::from_secs(30), || {
        !process::is_alive(pid) || v2_status(&address, None) == Some(401)
    });
    if !ready || !process::is_alive(pid) {
        return Err(format!(
            "the registry did not come up on {address}; its log ({}):\n{}",
            log.display(),
            process::log_tail(&log, 20)
        ));
    }
    if v2_status(&address, Some(&registry.basic_auth())) != Some(200) {
        return Err(format!(
            "the registry on {address} refuses its own credentials"
        ));
    }
    eprintln!("    registry: up on {address} (pid {pid})");
    Ok(registry)
}

/// Stops the registry process `up` started, if it runs; its state (data, port) stays.
fn stop_process(layout: &Layout) -> Result<(), String> {
    let dir = layout.registry_dir();
    let config = config_path(layout);
    if let Some(pid) = our_pid(&dir.join("registry.pid"), &config.to_string_lossy()) {
        terminate(pid, "registry", Duration::from_secs(10))?;
    }
    Ok(())
}

/// `engine down`: stops the registry `up` started, if it runs, and removes its state (the
/// next `up` picks a new port).
pub fn stop(layout: &Layout) -> Result<(), String> {
    stop_process(layout)?;
    let dir = layout.registry_dir();
    crate::engine::remove_state_dir(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_makes_standard_and_url_safe_base64_differ() {
        for port in [1, 5000, 32768, 40000, 65535] {
            let server = format!("127.0.0.1:{port}");
            let password = choose_password(USERNAME, &server);
            for s in [Some(server.as_str()), None] {
                let encoded = base64_standard(auth_json(USERNAME, &password, s).as_bytes());
                assert!(
                    encoded.contains('+') && encoded.contains('/'),
                    "{password}: {encoded}"
                );
            }
        }
    }

    #[test]
    fn the_previous_port_is_kept_when_free_and_replaced_when_taken() {
        assert_eq!(choose_port(Some(40000), |_| true), PortChoice::Reuse(40000));
        assert_eq!(
            choose_port(Some(40000), |_| false),
            PortChoice::Taken(40000)
        );
        assert_eq!(choose_port(None, |_| true), PortChoice::Fresh);

        // Against the real kernel: a port someone listens on is taken, and free once closed.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            choose_port(Some(port), port_is_free),
            PortChoice::Taken(port)
        );
        drop(listener);
        assert_eq!(
            choose_port(Some(port), port_is_free),
            PortChoice::Reuse(port)
        );
    }

    #[test]
    fn password_is_stable() {
        assert_eq!(
            choose_password(USERNAME, "127.0.0.1:40000"),
            "devbuild-~~~?"
        );
    }
}
