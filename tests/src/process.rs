//! Processes on the engine's side, seen from the host: find one by a marker in its command
//! line, and wait for it to exit. The cancel tests use them to prove that dropping a build (or
//! Ctrl-C) stops its `RUN` on the engine.

use std::time::Duration;

/// The pid of a shell (`/bin/sh …`) whose command line contains `marker`.
pub fn process_with(marker: &str) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline);
            (text.starts_with("/bin/sh") && text.contains(marker)).then_some(pid)
        })
}

/// Waits for a process that is not our child to exit, through a pidfd.
pub struct ProcessExit {
    fd: i32,
}

impl ProcessExit {
    /// Starts watching `pid`.
    pub fn watch(pid: i32) -> Self {
        Self::try_watch(pid)
            .unwrap_or_else(|| panic!("pidfd_open: {}", std::io::Error::last_os_error()))
    }

    /// Starts watching `pid`, or `None` when there is no such process (any more).
    pub fn try_watch(pid: i32) -> Option<Self> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        (fd >= 0).then_some(Self { fd })
    }

    /// Whether the process exited within `limit`.
    pub fn wait(&self, limit: Duration) -> bool {
        let mut poll = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, limit.as_millis() as i32) };
        ready == 1
    }
}

impl Drop for ProcessExit {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}
