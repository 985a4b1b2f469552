//! SSH agents and keys for tests of `RUN --mount=type=ssh`: a key of the test's own, an
//! `ssh-agent` of its own, and the host's `ssh-add` packed for a `RUN` on the busybox base
//! (which has no ssh tools), so that the build itself lists and signs with the forwarded key.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::TestEngine;

/// The host's `ssh-add` for a `RUN` on busybox: the binary, the shared libraries `ldd`
/// lists for it and the dynamic loader, as `t/<name>` (mode 0755), and the command that
/// starts it through the loader (`/t/ld-linux-x86-64.so.2 --library-path /t /t/ssh-add`).
pub fn ssh_add_in_context() -> (Vec<(String, Vec<u8>, u32)>, String) {
    const SSH_ADD: &str = "/usr/bin/ssh-add";
    let ldd = Command::new("ldd").arg(SSH_ADD).output().expect("ldd runs");
    assert!(ldd.status.success(), "ldd {SSH_ADD}: {ldd:?}");
    let listing = String::from_utf8(ldd.stdout).unwrap();
    let mut paths = vec![PathBuf::from(SSH_ADD)];
    let mut loader = None;
    for line in listing.lines() {
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`, or the loader's
        // `/lib64/ld-linux-x86-64.so.2 (0x…)`; `linux-vdso.so.1 (0x…)` has no file.
        let line = line.trim();
        let path = match line.split_once(" => ") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None if line.starts_with('/') => {
                let path = line.split_whitespace().next();
                loader = path.map(|p| Path::new(p).file_name().unwrap().to_owned());
                path
            }
            None => None,
        };
        if let Some(path) = path.filter(|p| p.starts_with('/')) {
            paths.push(PathBuf::from(path));
        }
    }
    let loader = loader.unwrap_or_else(|| panic!("no dynamic loader in {listing}"));
    let files = paths
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            let contents =
                std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (format!("t/{name}"), contents, 0o755)
        })
        .collect();
    let command = format!(
        "/t/{} --library-path /t /t/ssh-add",
        loader.to_str().unwrap()
    );
    (files, command)
}

/// A key of the test's own (ed25519, no passphrase), with a comment no other test uses.
pub struct TestKey {
    dir: tempfile::TempDir,
    /// `SHA256:…`, as `ssh-keygen -lf key.pub` shows it.
    pub fingerprint: String,
    /// Unique to the test and engine.
    pub comment: String,
}

impl TestKey {
    /// Makes one with `ssh-keygen`, named after the test and engine.
    pub fn new(test: &TestEngine) -> TestKey {
        let dir = tempfile::tempdir().unwrap();
        let comment = test.unique_name("ssh-key").replace(['/', ':'], "-");
        let generated = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", &comment, "-f"])
            .arg(dir.path().join("key"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(generated.status.success(), "ssh-keygen: {generated:?}");
        let listed = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(dir.path().join("key.pub"))
            .output()
            .unwrap();
        assert!(listed.status.success(), "ssh-keygen -lf: {listed:?}");
        // `256 SHA256:… <comment> (ED25519)`
        let text = String::from_utf8(listed.stdout).unwrap();
        let fingerprint = text.split_whitespace().nth(1).unwrap().to_string();
        assert!(fingerprint.starts_with("SHA256:"), "{text}");
        TestKey {
            dir,
            fingerprint,
            comment,
        }
    }

    /// The private key's file.
    pub fn private(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    /// The public key, as `key.pub` holds it.
    pub fn public(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("key.pub")).unwrap()
    }
}

/// An `ssh-agent -D` of the test's own, on a socket in `dir`; killed when dropped.
pub struct OwnAgent {
    child: Child,
    /// Where it listens.
    pub socket: PathBuf,
}

impl OwnAgent {
    /// Starts it, returning once it listens.
    pub fn start(dir: &Path) -> OwnAgent {
        let socket = dir.join("agent.sock");
        let mut child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        // Its first line (`SSH_AUTH_SOCK=…; export SSH_AUTH_SOCK;`) comes once it listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let agent = OwnAgent { child, socket };
        assert!(
            line.starts_with("SSH_AUTH_SOCK="),
            "ssh-agent printed {line:?}"
        );
        agent
    }

    /// Starts one in `dir` holding the private key `key`.
    pub fn holding(dir: &Path, key: &Path) -> OwnAgent {
        let agent = OwnAgent::start(dir);
        let added = agent.ssh_add(&[key.as_os_str()]);
        assert!(
            added.status.success(),
            "ssh-add {}: {added:?}",
            key.display()
        );
        agent
    }

    /// `ssh-add ARGS` on the host, against this agent.
    pub fn ssh_add(&self, args: &[&std::ffi::OsStr]) -> std::process::Output {
        Command::new("ssh-add")
            .args(args)
            .env("SSH_AUTH_SOCK", &self.socket)
            .env("SSH_ASKPASS_REQUIRE", "never")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for OwnAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
