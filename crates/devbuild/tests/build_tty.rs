//! Docker-backed: the live `--progress=tty` view in a real terminal. tmux runs `devbuild build`
//! in a pane of a known size; the test reads the screen with `capture-pane` and checks what a
//! person would see: the buildx-style header, one line per step, the final summary, and no
//! line wider than the terminal (a wrapped line would break the redraw).

use std::path::{Path, PathBuf};
use std::process::Command;

use devbuild_tests::{engine_test, TestEnv};

fn hello() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello")
}

/// examples/hello in `dir`, its greeting made unique: this build runs with `--no-cache`, and
/// a concurrent build of the very same steps (the library's rebuild test) would then find two
/// results of them in the cache and could take the other one.
fn hello_with_own_greeting(dir: &Path, tag: &str) -> PathBuf {
    let context = dir.join("hello");
    std::fs::create_dir(&context).expect("the context directory");
    std::fs::copy(hello().join("Dockerfile"), context.join("Dockerfile")).expect("the Dockerfile");
    let greeting = std::fs::read_to_string(hello().join("greeting.txt")).expect("the greeting");
    std::fs::write(context.join("greeting.txt"), format!("{greeting}{tag}\n"))
        .expect("the greeting");
    context
}

fn tmux(socket: &Path, args: &[&str]) -> String {
    let output = Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux runs (it is installed by `cargo xtask engine up`)");
    assert!(
        output.status.success(),
        "tmux {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a build in a `width`×`height` tmux pane and returns the final screen and the exit
/// status, which the pane's command writes to a file when it ends.
fn build_in_terminal(
    test: &devbuild_tests::TestEngine,
    tag: &str,
    width: u16,
    height: u16,
) -> (String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let context = hello_with_own_greeting(dir.path(), tag);
    let socket = dir.path().join("tmux.sock");
    let status_file = dir.path().join("status");
    let env = TestEnv::load().expect("the harness env file");
    let command = format!(
        "DOCKER_HOST='unix://{socket}' DOCKER_CONFIG='{config}' '{bin}' build --no-cache --progress=tty \
         --build-arg BASE='{base}' -t '{tag}' '{context}'; echo $? > '{status}'; \
         tmux -S '{tmux}' wait-for -S devbuild-done; while :; do read -r _ || break; done",
        socket = test.socket.display(),
        config = env.docker_config.display(),
        bin = env!("CARGO_BIN_EXE_devbuild"),
        base = test.base_image,
        context = context.display(),
        status = status_file.display(),
        tmux = socket.display(),
    );
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "devbuild",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "sh",
            "-c",
            &command,
        ],
    );
    // Wait for the command to finish: it signals a tmux channel (a signal sent before the
    // wait is remembered by tmux); `timeout` bounds the wait.
    let waited = Command::new("timeout")
        .arg("180")
        .arg("tmux")
        .arg("-S")
        .arg(&socket)
        .args(["wait-for", "devbuild-done"])
        .status()
        .expect("timeout and tmux run");
    let status = std::fs::read_to_string(&status_file)
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(
        waited.success(),
        "the build did not finish in the terminal:\n{}",
        tmux(&socket, &["capture-pane", "-p", "-t", "devbuild"])
    );
    // The screen and what scrolled off it (the final summary may be taller than the pane).
    let screen = tmux(
        &socket,
        &["capture-pane", "-p", "-S", "-500", "-t", "devbuild"],
    );
    let _ = Command::new("tmux")
        .arg("-S")
        .arg(&socket)
        .args(["kill-server"])
        .status();
    (screen, status)
}

engine_test! {
    /// The live view ends with buildx's summary: header, one line per step, timings.
    fn tty_view_in_a_real_terminal(test) {
        let mut guard = test.guard();
        for (width, height) in [(100u16, 40u16), (40, 12)] {
            let tag = guard.remove_later(&test.unique_name("devbuild-tty"));
            let (screen, status) = build_in_terminal(test, &tag, width, height);
            assert_eq!(status, "0", "exit status; screen:\n{screen}");
            assert!(screen.contains("[+] Building"), "header; screen:\n{screen}");
            assert!(screen.contains("FINISHED"), "summary; screen:\n{screen}");
            assert!(screen.contains("=> "), "step lines; screen:\n{screen}");
            if width >= 100 {
                assert!(screen.contains("RUN tr 'a-z' 'A-Z'"), "the RUN step; screen:\n{screen}");
                assert!(screen.contains("exporting to image"), "the export; screen:\n{screen}");
            }
            for line in screen.lines() {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "a line wider than the terminal ({width}): {line:?}"
                );
                assert!(!line.contains('\u{1b}'), "a raw escape on screen: {line:?}");
            }
        }
    }
}
