//! Helpers shared by the CLI tests (each test file uses some of them).
#![allow(dead_code)]

use std::process::{Command, Output};

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
