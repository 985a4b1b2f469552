//! The engines: one private `dockerd` per engine (20.10, 26.1, and 26.1 again behind the
//! authorization plugin), each with its own data root, exec root, pid file, unix socket,
//! bridge, daemon config and containerd (dockerd starts its own managed containerd in the
//! exec root) with its own namespace.
//!
//! The authz engine gets `--authorization-plugin=<name>`: dockerd activates the plugin when
//! it starts (and does not start without it), then asks it about every API request.
//!
//! The engine with `EngineSpec::remote` (26.1) also listens on tcp+TLS (`--tlsverify`,
//! certificates generated for each start, see `tls`); an engine that is up without it (started
//! by an older harness) is restarted.
//!
//! Flags worth knowing: `--config-file` points at an empty file so `/etc/docker/daemon.json`
//! is never read; `--iptables=false --ip-masq=false --ip-forward=false` leave the host's
//! firewall and sysctls alone (containers get a bridge but no route out, which BuildKit's
//! `RUN` is happy with; pulls are made by the daemon in the host's network namespace).
//! The registry on 127.0.0.1 needs no `--insecure-registry`: 127.0.0.0/8 is insecure by
//! default in both versions.

use super::http::get_unix;
use super::process::{self, our_pid, pids_mentioning, spawn_detached, terminate, wait_until};
use super::{tls, EngineSpec, Layout};
use devbuild_tests::DOCKER_CLI;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// An engine that answers on its socket.
pub struct Running {
    /// Which engine.
    pub spec: &'static EngineSpec,
    /// Its unix socket.
    pub socket: PathBuf,
    /// Its version without Debian's suffix, e.g. `26.1.5`.
    pub engine_version: String,
    /// The API version it reports.
    pub api_version: String,
    /// dockerd's output (its log, at the default level: `info`).
    pub log: PathBuf,
}

/// The longest path a unix socket may have (`sun_path` is 108 bytes, NUL included).
const MAX_SOCKET_PATH: usize = 107;

fn socket(layout: &Layout, spec: &EngineSpec) -> PathBuf {
    layout.engine_dir(spec).join("docker.sock")
}

/// Where dockerd's stdout and stderr go.
fn log_file(layout: &Layout, spec: &EngineSpec) -> PathBuf {
    layout.engine_dir(spec).join("dockerd.log")
}

fn pid_file(layout: &Layout, spec: &EngineSpec) -> PathBuf {
    layout.engine_dir(spec).join("dockerd.pid")
}

/// Asks `GET /_ping`: the engine's version (from `Server: Docker/<version> (linux)`) and
/// its API version (from `Api-Version`).
fn ping(socket: &Path) -> Result<(String, String), String> {
    let response = get_unix(socket, "/_ping")?;
    if response.status != 200 {
        return Err(format!("GET /_ping answered {}", response.status));
    }
    let api = response
        .header("api-version")
        .ok_or("no Api-Version header")?;
    let server = response.header("server").unwrap_or_default();
    let version = server
        .strip_prefix("Docker/")
        .and_then(|v| v.split([' ', '+']).next())
        .ok_or_else(|| format!("unexpected Server header `{server}`"))?;
    Ok((version.to_string(), api.to_string()))
}

/// The engine `up` started, if its dockerd is alive and answers.
pub fn probe(layout: &Layout, spec: &'static EngineSpec) -> Option<Running> {
    let socket = socket(layout, spec);
    our_pid(&pid_file(layout, spec), &socket.to_string_lossy())?;
    let (engine_version, api_version) = ping(&socket).ok()?;
    Some(Running {
        spec,
        socket,
        engine_version,
        api_version,
        log: log_file(layout, spec),
    })
}

fn check_api(running: Running) -> Result<Running, String> {
    if running.api_version == running.spec.api_version
        && running
            .engine_version
            .starts_with(&format!("{}.", running.spec.version))
    {
        Ok(running)
    } else {
        Err(format!(
            "engine {} answers as Docker {} (API {}), expected API {}",
            running.spec.name,
            running.engine_version,
            running.api_version,
            running.spec.api_version
        ))
    }
}

/// Reuses the engine if it is up; otherwise cleans up after a killed run and starts it,
/// behind the authorization plugin `authz_plugin` when one is given (it must be listening).
pub fn ensure_running(
    layout: &Layout,
    spec: &'static EngineSpec,
    engine26: Option<&Path>,
    authz_plugin: Option<&str>,
) -> Result<Running, String> {
    // Up and serving everything it should (for the remote engine, its TLS listener too).
    let serving = || {
        probe(layout, spec).filter(|_| {
            !spec.remote
                || tls::existing(layout).is_some_and(|t| t.answers(layout, spec.api_version))
        })
    };
    let dir = layout.engine_dir(spec);
    let socket = socket(layout, spec);
    if probe(layout, spec).is_some() {
        if let Some(running) = serving() {
            eprintln!(
                "    engine {}: already up on {}",
                spec.name,
                running.socket.display()
            );
            return check_api(running);
        }
        eprintln!(
            "    engine {}: up, but not on its TLS listener (started by an older harness?); \
             restarting it",
            spec.name
        );
    } else if our_pid(&pid_file(layout, spec), &socket.to_string_lossy()).is_some()
        // A dockerd of ours that is alive but does not answer may still be starting.
        && wait_until(Duration::from_secs(20), || serving().is_some())
    {
        return check_api(serving().ok_or("engine went away")?);
    }
    clean_stale(layout, spec)?;
    let longest = dir.join("exec/containerd/containerd.sock.ttrpc");
    if longest.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(format!(
            "{} is too long for a unix socket; set DEVBUILD_ENGINES_DIR to a shorter directory",
            longest.display()
        ));
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let bridge = ensure_bridge(layout, spec)?;
    let config = dir.join("daemon.json");
    fs::write(&config, "{}\n").map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let system_path = "/usr/sbin:/usr/bin:/sbin:/bin";
    let (dockerd, path) = match (spec.version, engine26) {
        ("26.1", Some(root)) => (
            root.join("usr/sbin/dockerd"),
            // Engine 26.1's containerd and shims come first; runc is Debian 12's.
            format!(
                "{}:{}:{system_path}",
                root.join("usr/bin").display(),
                root.join("usr/sbin").display()
            ),
        ),
        ("26.1", None) => return Err("Engine 26.1 is not unpacked".to_string()),
        _ => (PathBuf::from("/usr/sbin/dockerd"), system_path.to_string()),
    };
    let namespace = format!("devbuild-{}", spec.key.replace('_', "-"));
    let mut command = Command::new(&dockerd);
    command
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(pid_file(layout, spec))
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .arg("--config-file")
        .arg(&config)
        .args(["--bridge", &bridge])
        .args(["--iptables=false", "--ip-masq=false", "--ip-forward=false"])
        .args(["--userland-proxy=false"])
        .args(["--containerd-namespace", &namespace])
        .args([
            "--containerd-plugins-namespace",
            &format!("{namespace}-plugins"),
        ])
        .env_clear()
        .env("PATH", path);
    if let Some(plugin) = authz_plugin {
        command.arg(format!("--authorization-plugin={plugin}"));
    }
    let tls = if spec.remote {
        let tls = tls::generate(layout)?;
        command.args(tls.dockerd_args());
        Some(tls)
    } else {
        None
    };
    let log = log_file(layout, spec);
    let pid = spawn_detached(&mut command, &log)?;
    let answered = wait_until(Duration::from_secs(90), || {
        !process::is_alive(pid) || ping(&socket).is_ok()
    });
    // The TLS listener opens with the socket; the docker CLI proves it verifies.
    let tls_answered = answered
        && tls.as_ref().is_none_or(|tls| {
            wait_until(Duration::from_secs(30), || {
                !process::is_alive(pid) || tls.answers(layout, spec.api_version)
            })
        });
    if !tls_answered || !process::is_alive(pid) {
        let what = match (answered, &tls) {
            (false, _) | (true, None) => "did not come up".to_string(),
            (true, Some(tls)) => format!("does not answer on {}", tls.host()),
        };
        return Err(format!(
            "engine {} (pid {pid}) {what}; its log ({}):\n{}",
            spec.name,
            log.display(),
            process::log_tail(&log, 25)
        ));
    }
    let running = probe(layout, spec).ok_or_else(|| {
        format!(
            "engine {} answers, but its pid file does not name pid {pid}",
            spec.name
        )
    })?;
    eprintln!(
        "    engine {}: Docker {} (API {}) up on {}{} (pid {pid}, bridge {bridge}{})",
        spec.name,
        running.engine_version,
        running.api_version,
        socket.display(),
        tls.as_ref()
            .map(|t| format!(" and {} (TLS)", t.host()))
            .unwrap_or_default(),
        authz_plugin
            .map(|p| format!(", authorization plugin {p}"))
            .unwrap_or_default()
    );
    check_api(running)
}

/// Stops our dockerd and whatever it left (containerd, shims: every process whose command
/// line names this engine's directory), unmounts what is mounted below the directory and
/// removes the pid file, socket and exec root. The data root stays (images are kept).
fn clean_stale(layout: &Layout, spec: &EngineSpec) -> Result<(), String> {
    let dir = layout.engine_dir(spec);
    stop_processes(layout, spec)?;
    unmount_below(&dir)?;
    for stale in [pid_file(layout, spec), socket(layout, spec)] {
        if stale.exists() {
            eprintln!("    removing stale {}", stale.display());
            let _ = fs::remove_file(&stale);
        }
    }
    let exec = dir.join("exec");
    if exec.exists() {
        fs::remove_dir_all(&exec).map_err(|e| format!("cannot remove {}: {e}", exec.display()))?;
    }
    Ok(())
}

fn stop_processes(layout: &Layout, spec: &EngineSpec) -> Result<(), String> {
    let dir = layout.engine_dir(spec);
    let socket = socket(layout, spec);
    let what = format!("dockerd {}", spec.name);
    if let Some(pid) = our_pid(&pid_file(layout, spec), &socket.to_string_lossy()) {
        terminate(pid, &what, Duration::from_secs(30))?;
    }
    // dockerd stops its containerd; after a SIGKILL, containerd and shims stay behind.
    let marker = format!("{}/", dir.display());
    for pid in pids_mentioning(&marker) {
        let name = process::cmdline(pid).unwrap_or_default();
        let name = name.split(' ').next().unwrap_or("process").to_string();
        terminate(pid, &format!("leftover {name}"), Duration::from_secs(10))?;
    }
    Ok(())
}

/// Lazily unmounts every mount point below `dir`, deepest first.
fn unmount_below(dir: &Path) -> Result<(), String> {
    let prefix = format!("{}/", dir.display());
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| p.replace("\\040", " "))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        process::run(Command::new("umount").arg("-l").arg(&point), "umount")?;
    }
    Ok(())
}

/// The server's API version as the docker CLI the harness installs reads it
/// (`docker <args> version`), `bin` first in its `PATH` when given (the ssh wrapper), within
/// 30 s (`timeout`), with the harness's `DOCKER_CONFIG` and nothing of the caller's
/// environment.
pub fn cli_api_version(
    layout: &Layout,
    args: &[OsString],
    bin: Option<&Path>,
) -> Result<String, String> {
    let system_path = "/usr/sbin:/usr/bin:/sbin:/bin";
    let path = match bin {
        Some(bin) => format!("{}:{system_path}", bin.display()),
        None => system_path.to_string(),
    };
    process::output(
        Command::new("timeout")
            .arg("30")
            .arg(DOCKER_CLI)
            .args(args)
            .args(["version", "--format", "{{.Server.APIVersion}}"])
            .env_clear()
            .env("PATH", path)
            .env("HOME", layout.root())
            .env("DOCKER_CONFIG", layout.docker_config()),
        "docker version",
    )
    .map(|v| v.trim().to_string())
}

/// `engine down` for one engine: stop its processes, delete its bridge, remove its state
/// (for the remote engine, its TLS material too).
pub fn stop(layout: &Layout, spec: &EngineSpec) -> Result<(), String> {
    let dir = layout.engine_dir(spec);
    stop_processes(layout, spec)?;
    unmount_below(&dir)?;
    let bridge = bridge_name(layout, spec);
    if Command::new("ip")
        .args(["link", "show", "dev", &bridge])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("    deleting bridge {bridge}");
        process::run(
            Command::new("ip").args(["link", "del", "dev", &bridge]),
            "ip link del",
        )?;
    }
    if spec.remote {
        tls::remove(layout)?;
    }
    crate::engine::remove_state_dir(&dir)
}

/// `dvb<hash of the state dir>-<key without _>` (`dvb1a2b-261`, `dvb1a2b-authz`): unique
/// per checkout, at most 15 bytes.
fn bridge_name(layout: &Layout, spec: &EngineSpec) -> String {
    format!(
        "dvb{:04x}-{}",
        layout.checkout_hash(),
        spec.key.replace('_', "")
    )
}

/// The engine's bridge, created with an address from a private /24 no route uses yet.
fn ensure_bridge(layout: &Layout, spec: &EngineSpec) -> Result<String, String> {
    let name = bridge_name(layout, spec);
    let ip = |args: &[&str]| Command::new("ip").args(args).output();
    let addresses = ip(&["-4", "-o", "addr", "show", "dev", &name]);
    if let Ok(out) = &addresses {
        if out.status.success() {
            if String::from_utf8_lossy(&out.stdout).contains(" inet ") {
                process::run(
                    Command::new("ip").args(["link", "set", "dev", &name, "up"]),
                    "ip link set up",
                )?;
                return Ok(name);
            }
            process::run(
                Command::new("ip").args(["link", "del", "dev", &name]),
                "ip link del",
            )?;
        }
    }
    let used = used_ipv4_prefixes()?;
    let third = (1..=254u8)
        .find(|n| {
            let candidate = (u32::from_be_bytes([10, 213, *n, 0]), 24);
            !used.iter().any(|u| overlaps(*u, candidate))
        })
        .ok_or("no free 10.213.x.0/24 for a bridge")?;
    let address = format!("10.213.{third}.1/24");
    process::run(
        Command::new("ip").args(["link", "add", &name, "type", "bridge"]),
        "ip link add",
    )?;
    process::run(
        Command::new("ip").args(["addr", "add", &address, "dev", &name]),
        "ip addr add",
    )?;
    process::run(
        Command::new("ip").args(["link", "set", "dev", &name, "up"]),
        "ip link set up",
    )?;
    eprintln!("    bridge {name}: {address}");
    Ok(name)
}

/// Every IPv4 prefix in the routing tables and on the interfaces.
fn used_ipv4_prefixes() -> Result<Vec<(u32, u8)>, String> {
    let routes = process::output(
        Command::new("ip").args(["-4", "route", "show", "table", "all"]),
        "ip route",
    )?;
    let addresses = process::output(
        Command::new("ip").args(["-4", "-o", "addr", "show"]),
        "ip addr",
    )?;
    let mut used: Vec<(u32, u8)> = routes
        .lines()
        .filter_map(|l| {
            let first = l.split_whitespace().next()?;
            // Lines may start with a route type (`local`, `broadcast`, …).
            let token = if first.chars().next()?.is_ascii_digit() {
                first
            } else {
                l.split_whitespace().nth(1)?
            };
            parse_prefix(token)
        })
        .collect();
    used.extend(addresses.lines().filter_map(|l| {
        let mut words = l.split_whitespace();
        words.find(|w| *w == "inet")?;
        parse_prefix(words.next()?)
    }));
    Ok(used)
}

fn parse_prefix(text: &str) -> Option<(u32, u8)> {
    let (address, length) = text.split_once('/').unwrap_or((text, "32"));
    let octets: Vec<u8> = address
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d] = octets[..] else {
        return None;
    };
    Some((
        u32::from_be_bytes([a, b, c, d]),
        length.parse().ok().filter(|l| *l <= 32)?,
    ))
}

fn overlaps(a: (u32, u8), b: (u32, u8)) -> bool {
    let length = a.1.min(b.1);
    let mask = if length == 0 {
        0
    } else {
        u32::MAX << (32 - length)
    };
    a.0 & mask == b.0 & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_overlap_when_they_share_the_shorter_prefix() {
        let p = |t| parse_prefix(t).unwrap();
        assert!(overlaps(p("10.213.1.0/24"), p("10.0.0.0/8")));
        assert!(overlaps(p("10.213.1.0/24"), p("10.213.1.7")));
        assert!(!overlaps(p("10.213.1.0/24"), p("10.213.2.0/24")));
        assert!(!overlaps(p("10.213.1.0/24"), p("192.0.2.0/24")));
        assert_eq!(parse_prefix("default"), None);
    }

    #[test]
    fn bridge_names_fit_the_kernel_limit() {
        let layout = Layout {
            root: PathBuf::from("/a/very/long/checkout/path/target/devbuild-engines"),
        };
        for spec in super::super::all_engines() {
            let name = bridge_name(&layout, spec);
            assert!(name.len() <= 15, "{name}");
            assert!(name.starts_with("dvb"), "{name}");
        }
    }
}
