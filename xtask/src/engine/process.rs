//! Processes: spawning daemons detached from the terminal, finding them again by pid, and
//! stopping exactly them. Only `/proc` and the `kill` program are used (std only).

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `pid` names a live process (zombies count as dead: they have exited and only
/// wait to be reaped by their parent).
pub fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The command line of `pid`, arguments joined by spaces, if the process exists.
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text = String::from_utf8_lossy(&raw).replace('\0', " ");
    Some(text.trim_end().to_string())
}

/// Reads a pid file; `None` when it is missing or does not hold a number.
pub fn read_pid_file(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The live pid recorded in `pid_file` whose command line mentions `marker` (a path only
/// our process has on its command line), so that a recycled pid is never taken for ours.
pub fn our_pid(pid_file: &Path, marker: &str) -> Option<u32> {
    let pid = read_pid_file(pid_file)?;
    (is_alive(pid) && cmdline(pid).is_some_and(|c| c.contains(marker))).then_some(pid)
}

/// Live processes (other than this one) whose command line contains `needle`.
pub fn pids_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&pid| pid != me && is_alive(pid))
        .filter(|&pid| cmdline(pid).is_some_and(|c| c.contains(needle)))
        .collect();
    pids.sort_unstable();
    pids
}

fn send_signal(pid: u32, signal: &str) {
    // The process may exit between our check and the signal; a failed `kill` is fine.
    let _ = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Stops `pid`: SIGTERM, then SIGKILL if it has not exited within `grace`.
pub fn terminate(pid: u32, what: &str, grace: Duration) -> Result<(), String> {
    if !is_alive(pid) {
        return Ok(());
    }
    eprintln!("    stopping {what} (pid {pid})");
    send_signal(pid, "TERM");
    if wait_until(grace, || !is_alive(pid)) {
        return Ok(());
    }
    eprintln!("    {what} (pid {pid}) ignored SIGTERM for {grace:?}; sending SIGKILL");
    send_signal(pid, "KILL");
    if wait_until(Duration::from_secs(10), || !is_alive(pid)) {
        Ok(())
    } else {
        Err(format!("{what} (pid {pid}) survived SIGKILL"))
    }
}

/// Polls `condition` every 50 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `command` in its own process group (so a Ctrl-C in the terminal does not reach
/// it), stdin from /dev/null, stdout and stderr appended to `log`. Returns its pid.
pub fn spawn_detached(command: &mut Command, log: &Path) -> Result<u32, String> {
    use std::os::unix::process::CommandExt;
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    // The child is deliberately not waited for: it outlives this process.
    Ok(child.id())
}

/// Runs `command` to completion; its output goes to our stderr (our stdout is kept for
/// what the command prints, like the env file). Fails with `what` when it fails.
pub fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Runs `command` and returns its stdout; fails with its stderr when it fails.
pub fn output(command: &mut Command, what: &str) -> Result<String, String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
