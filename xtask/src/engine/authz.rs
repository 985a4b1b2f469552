//! The `authz` engine's authorization plugin: `cargo xtask authz-plugin` (see
//! `crate::authz_plugin`) run in the background, its pid tracked like the other processes.
//!
//! dockerd finds a plugin by name in `/run/docker/plugins/<name>.sock`, a directory shared by
//! every engine on the machine, so the name carries the checkout's hash
//! (`devbuild-authz-<hash>`, as the bridges do) and two checkouts never share a plugin. The
//! plugin must listen before its dockerd starts (dockerd activates it at startup and refuses
//! to start without it), so `up` waits until it answers `Plugin.Activate`.
//!
//! State, under `authz-plugin/` in the engines directory: `plugin.pid`, `plugin.log` (its
//! stderr), `requests.log` (one `METHOD URI` line per request the engine authorized or
//! refused) and `rules` (what to deny; tests append to it).

use super::http::post_unix;
use super::process::{self, our_pid, spawn_detached, terminate, wait_until};
use super::Layout;
use std::fs;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where dockerd looks for plugin sockets (moby `pkg/plugins`, `defaultSocketsPath`).
const PLUGIN_SOCKETS: &str = "/run/docker/plugins";

/// The rules file as `up` creates it.
const RULES_HEADER: &str = "\
# devbuild test authorization plugin: read again for every request.
# deny METHOD PATTERN MESSAGE   (METHOD or *; PATTERN a substring of the URI, as sent or
#                                percent-decoded; MESSAGE the rest of the line)
";

/// The plugin's name, paths and pid.
#[derive(Debug)]
pub struct Plugin {
    /// The name dockerd is given (`--authorization-plugin`).
    pub name: String,
    /// Its socket under `/run/docker/plugins`.
    pub socket: PathBuf,
    /// The request log.
    pub log: PathBuf,
    /// The rules file.
    pub rules: PathBuf,
}

/// The plugin of this checkout (whether it runs or not).
pub fn plugin(layout: &Layout) -> Plugin {
    let name = format!("devbuild-authz-{:04x}", layout.checkout_hash());
    let dir = layout.authz_dir();
    Plugin {
        socket: Path::new(PLUGIN_SOCKETS).join(format!("{name}.sock")),
        name,
        log: dir.join("requests.log"),
        rules: dir.join("rules"),
    }
}

fn pid_file(layout: &Layout) -> PathBuf {
    layout.authz_dir().join("plugin.pid")
}

/// Whether the plugin at `socket` answers `Plugin.Activate` as an authz plugin.
fn activates(socket: &Path) -> bool {
    post_unix(socket, "/Plugin.Activate")
        .is_ok_and(|r| r.status == 200 && r.text().contains("\"authz\""))
}

/// The plugin `up` started, if it is alive and answers.
pub fn running(layout: &Layout) -> Option<Plugin> {
    let plugin = plugin(layout);
    our_pid(&pid_file(layout), &plugin.socket.to_string_lossy())?;
    activates(&plugin.socket).then_some(plugin)
}

/// Reuses the running plugin, or starts it (after stopping one of ours that does not
/// answer, and removing a stale socket) and waits until it answers.
pub fn ensure_running(layout: &Layout) -> Result<Plugin, String> {
    if let Some(plugin) = running(layout) {
        eprintln!(
            "    authz plugin {}: already up on {}",
            plugin.name,
            plugin.socket.display()
        );
        return Ok(plugin);
    }
    stop_process(layout)?;
    let plugin = plugin(layout);
    remove_stale_socket(&plugin)?;
    let dir = layout.authz_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if !plugin.rules.exists() {
        fs::write(&plugin.rules, RULES_HEADER)
            .map_err(|e| format!("cannot write {}: {e}", plugin.rules.display()))?;
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find xtask's own executable: {e}"))?;
    let log = dir.join("plugin.log");
    let pid = spawn_detached(
        Command::new(&exe)
            .arg("authz-plugin")
            .arg("--socket")
            .arg(&plugin.socket)
            .arg("--log")
            .arg(&plugin.log)
            .arg("--rules")
            .arg(&plugin.rules),
        &log,
    )?;
    let pid_path = pid_file(layout);
    fs::write(&pid_path, format!("{pid}\n"))
        .map_err(|e| format!("cannot write {}: {e}", pid_path.display()))?;
    // dockerd refuses to start until the plugin answers: wait for it, bounded.
    let ready = wait_until(Duration::from_secs(10), || {
        !process::is_alive(pid) || activates(&plugin.socket)
    });
    if !ready || !process::is_alive(pid) {
        return Err(format!(
            "the authz plugin (pid {pid}) did not answer on {}; its log ({}):\n{}",
            plugin.socket.display(),
            log.display(),
            process::log_tail(&log, 20)
        ));
    }
    eprintln!(
        "    authz plugin {}: up on {} (pid {pid}; log {}, rules {})",
        plugin.name,
        plugin.socket.display(),
        plugin.log.display(),
        plugin.rules.display()
    );
    Ok(plugin)
}

/// Removes the plugin's socket when nothing serves it; refuses when something else does.
fn remove_stale_socket(plugin: &Plugin) -> Result<(), String> {
    if !plugin.socket.exists() {
        return Ok(());
    }
    if UnixStream::connect(&plugin.socket).is_ok() {
        return Err(format!(
            "{} is served by a process this checkout did not start; stop it, or set \
             DEVBUILD_ENGINES_DIR to give this checkout another plugin name",
            plugin.socket.display()
        ));
    }
    eprintln!("    removing stale {}", plugin.socket.display());
    fs::remove_file(&plugin.socket)
        .map_err(|e| format!("cannot remove {}: {e}", plugin.socket.display()))
}

/// Stops the plugin process `up` started, if it runs.
fn stop_process(layout: &Layout) -> Result<(), String> {
    let plugin = plugin(layout);
    if let Some(pid) = our_pid(&pid_file(layout), &plugin.socket.to_string_lossy()) {
        terminate(pid, "authz plugin", Duration::from_secs(10))?;
    }
    Ok(())
}

/// `engine down`: stops the plugin, removes its socket (unless another process serves it)
/// and its state (log and rules included).
pub fn stop(layout: &Layout) -> Result<(), String> {
    stop_process(layout)?;
    let plugin = plugin(layout);
    if plugin.socket.exists() && UnixStream::connect(&plugin.socket).is_err() {
        fs::remove_file(&plugin.socket)
            .map_err(|e| format!("cannot remove {}: {e}", plugin.socket.display()))?;
    }
    let dir = layout.authz_dir();
    crate::engine::remove_state_dir(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_per_checkout_and_live_where_dockerd_looks() {
        let a = plugin(&Layout {
            root: PathBuf::from("/w/a/target/devbuild-engines"),
        });
        let b = plugin(&Layout {
            root: PathBuf::from("/w/b/target/devbuild-engines"),
        });
        assert_ne!(a.name, b.name);
        assert!(a.name.starts_with("devbuild-authz-"), "{}", a.name);
        assert_eq!(
            a.socket,
            Path::new("/run/docker/plugins").join(format!("{}.sock", a.name))
        );
        assert_eq!(
            a.log,
            Path::new("/w/a/target/devbuild-engines/authz-plugin/requests.log")
        );
    }
}
