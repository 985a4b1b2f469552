//! Docker-backed: Ctrl-C (SIGINT) during a long `RUN` cancels the build on the engine
//! (the `RUN` process exits), `devbuild build` exits 130, and its JSON events end with one
//! `failed` event.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use devbuild_tests::engine_test;
use devbuild_tests::process::{process_with, ProcessExit};

mod common;
use common::devbuild_on;

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
        let mut child = devbuild_on(test)
            .args(["build", "--no-cache", "--progress=json", dir.path().to_str().unwrap()])
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
            let rest: Vec<String> = lines.map_while(Result::ok).collect();
            let _ = tx.send((rest, child.wait_with_output()));
        });
        let (rest, output) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("devbuild exits after SIGINT");
        let output = output.unwrap();
        let last: serde_json::Value =
            serde_json::from_str(rest.last().expect("events after the marker")).unwrap();
        assert_eq!(last["event"], "failed", "{rest:#?}");
        assert!(last["message"].as_str().unwrap().contains("interrupted"), "{last}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(exited.wait(Duration::from_secs(60)), "the RUN process still runs");
    }
}
