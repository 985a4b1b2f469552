//! Docker-backed: Ctrl-C (SIGINT) during a long `RUN` cancels the build on the engine
//! (the `RUN` process exits) and `devbuild build` exits 130.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use devbuild_tests::{engine_test, TestEnv};

/// The pid of a process whose command line contains `marker`.
fn process_with(marker: &str) -> Option<i32> {
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

/// Waits for a process (not our child) to exit, through a pidfd.
struct ProcessExit {
    fd: i32,
}

impl ProcessExit {
    fn watch(pid: i32) -> Self {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
        Self { fd }
    }

    /// Whether the process exited within `limit`.
    fn wait(&self, limit: Duration) -> bool {
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

engine_test! {
    /// SIGINT while a `RUN` sleeps for a day: the process on the engine exits, and so does
    /// devbuild, with 130.
    fn ctrl_c_cancels_the_build_and_exits_130(test) {
        let marker = format!("devbuild-interrupt-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {}\nRUN echo {marker} && sleep 86400 && echo not-reached\n", test.base_image),
        )
        .unwrap();
        let env = TestEnv::load().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_devbuild"))
            .args(["build", "--no-cache", "--progress=json", dir.path().to_str().unwrap()])
            .env_remove("DOCKER_CONTEXT")
            .env("DOCKER_HOST", format!("unix://{}", test.socket.display()))
            .env("DOCKER_CONFIG", &env.docker_config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read events until the RUN has printed its marker (or the build ended).
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut started = false;
        let mut lines = stdout.lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.contains("\"step_log\"") && line.contains(&marker) {
                started = true;
                break;
            }
        }
        assert!(started, "the build ended before its RUN printed");
        let pid = process_with(&marker).expect("the RUN process runs");
        let exited = ProcessExit::watch(pid);

        // SAFETY: kill with a valid pid of our child and a signal number.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in lines {}
            let _ = tx.send(child.wait_with_output());
        });
        let output = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("devbuild exits after SIGINT")
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(exited.wait(Duration::from_secs(60)), "the RUN process still runs");
    }
}
