//! Helpers shared by the CLI tests (each test file uses some of them).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use devbuild_tests::process::{process_with, ProcessExit};

/// stdout, stderr and the exit status as one text, for snapshots.
pub fn transcript(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `devbuild` pointed at a test engine: its socket as `DOCKER_HOST`, the harness's docker
/// config (registry credentials) as `DOCKER_CONFIG`, no `DOCKER_CONTEXT`.
pub fn devbuild_on(engine: &devbuild_tests::TestEngine) -> Command {
    let env = devbuild_tests::TestEnv::load().expect("the engines' env file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_devbuild"));
    command
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_HOST", format!("unix://{}", engine.socket.display()))
        .env("DOCKER_CONFIG", &env.docker_config);
    command
}

/// `devbuild build ARGS` in `dir` with no engine to be had (and no `$SSH_AUTH_SOCK`): what
/// fails before any connection is an input error (exit 2), not an unreachable engine (3).
pub fn devbuild_without_engine(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .arg("build")
        .args(args)
        .current_dir(dir)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("SSH_AUTH_SOCK")
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `command` (a `devbuild build --progress=json` of a Dockerfile whose `RUN` echoes
/// `marker` and then sleeps), sends it SIGINT once the `RUN` has printed `marker`, and
/// checks that the `RUN` process on the engine exits. Returns the JSON lines after the
/// marker and devbuild's output.
pub fn ctrl_c_during_run(mut command: Command, marker: &str) -> (Vec<String>, Output) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read events until the RUN has printed its marker (or the build ended).
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("\"step_log\"") && line.contains(marker));
    assert!(started, "the build ended before its RUN printed");
    let pid = process_with(marker).expect("the RUN process runs");
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
    assert!(
        exited.wait(Duration::from_secs(60)),
        "the RUN process still runs"
    );
    (rest, output.unwrap())
}
