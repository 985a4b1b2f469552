//! Docker-backed: Ctrl-C (SIGINT) during a long `RUN` cancels the build on the engine
//! (the `RUN` process exits), `devbuild build` exits 130, and its JSON events end with one
//! `failed` event; the same with a `--secret`, whose build has a BuildKit session too.

use devbuild_tests::engine_test;

mod common;
use common::{ctrl_c_during_run, devbuild_on};

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
        let mut command = devbuild_on(test);
        command.args(["build", "--no-cache", "--progress=json", dir.path().to_str().unwrap()]);
        let (rest, output) = ctrl_c_during_run(command, &marker);
        let last: serde_json::Value =
            serde_json::from_str(rest.last().expect("events after the marker")).unwrap();
        assert_eq!(last["event"], "failed", "{rest:#?}");
        assert!(last["message"].as_str().unwrap().contains("interrupted"), "{last}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
    }

    /// SIGINT while the `RUN` of a `--secret` build sleeps (its session open, the secret
    /// read): the process on the engine exits, and devbuild exits 130.
    fn ctrl_c_during_a_secret_build_exits_130(test) {
        let marker = format!("devbuild-interrupt-secret-{}-{}", std::process::id(), test.version);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!(
                "FROM {}\nRUN --mount=type=secret,id=x cat /run/secrets/x >/dev/null && echo {marker} \
                 && sleep 86400 && echo not-reached\n",
                test.base_image
            ),
        )
        .unwrap();
        let mut command = devbuild_on(test);
        command
            .args(["build", "--no-cache", "--progress=json", "--secret", "id=x"])
            .arg(dir.path())
            .env("x", "the-value");
        let (rest, output) = ctrl_c_during_run(command, &marker);
        let last: serde_json::Value =
            serde_json::from_str(rest.last().expect("events after the marker")).unwrap();
        assert_eq!(last["event"], "failed", "{rest:#?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
    }
}
