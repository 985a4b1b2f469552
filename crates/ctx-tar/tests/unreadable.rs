//! Paths that cannot be read: a file is an error naming it (before any byte of its entry),
//! an included directory too, and an excluded directory is no error.
//!
//! Root reads everything, so as root the test runs itself again as `nobody` (setpriv).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use ctx_tar::{ContextSpec, Error, IgnoreSource};

const CHILD: &str = "CTX_TAR_UNREADABLE_CHILD";

#[test]
fn unreadable_paths_fail_unless_excluded() {
    if is_root() && std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(exe)
            .args([
                "--exact",
                "unreadable_paths_fail_unless_excluded",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("TMPDIR", "/tmp")
            .output()
            .expect("setpriv");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "as nobody:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    assert!(
        !is_root(),
        "these checks need a user that permissions apply to"
    );
    checks();
}

fn spec(root: &Path, rules: &str) -> ContextSpec {
    let mut spec = ContextSpec::new(root);
    spec.ignore = IgnoreSource::Text(rules.to_owned());
    spec
}

fn checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "Dockerfile", b"FROM scratch\n");
    let locked = write(root, "locked.txt", b"no");
    set_mode(&locked, 0o000);
    write(root, "secret/key", b"k");
    write(root, "z.txt", b"z");
    set_mode(&root.join("secret"), 0o000);

    // An unreadable file fails, naming it, in the listing and in the tar, where nothing
    // of its entry is written.
    let err = ctx_tar::list(&spec(root, "secret\n")).expect_err("locked.txt");
    assert!(
        matches!(&err, Error::Unreadable { path, .. } if path.ends_with("locked.txt")),
        "{err}"
    );
    let mut out = Vec::new();
    let err = ctx_tar::write_tar(&spec(root, "secret\n"), &mut out).expect_err("locked.txt");
    assert!(
        matches!(&err, Error::Unreadable { path, .. } if path.ends_with("locked.txt")),
        "{err}"
    );
    assert_eq!(out.len() % 512, 0);
    assert!(!out.windows(10).any(|w| w == b"locked.txt"));
    assert_eq!(members_before_error(&out), ["Dockerfile"]);

    // Excluded: no error, whether or not the walker could skip the directory.
    for rules in [
        "secret\nlocked.txt\n",
        "*\n!**/*.txt\n!Dockerfile\nlocked.txt\n",
        "secret\n!secret/key\nlocked.txt\n",
    ] {
        let listing =
            ctx_tar::list(&spec(root, rules)).unwrap_or_else(|e| panic!("{rules:?}: {e}"));
        let paths: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["Dockerfile", "z.txt"], "{rules:?}");
    }

    // Included: an error naming the directory, before its header.
    let err = ctx_tar::list(&spec(root, "locked.txt\n")).expect_err("secret");
    assert!(
        matches!(&err, Error::Unreadable { path, .. } if path.ends_with("secret")),
        "{err}"
    );
    let mut out = Vec::new();
    ctx_tar::write_tar(&spec(root, "locked.txt\n"), &mut out).expect_err("secret");
    assert!(!out.windows(6).any(|w| w == b"secret"));
    set_mode(&root.join("secret"), 0o755);
}

/// The names of the complete entries in a partial tar.
fn members_before_error(partial: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut offset = 0;
    while offset + 512 <= partial.len() {
        let block = &partial[offset..offset + 512];
        let name = block[..100].split(|&b| b == 0).next().unwrap_or_default();
        names.push(String::from_utf8_lossy(name).into_owned());
        let size = u64::from_str_radix(std::str::from_utf8(&block[124..135]).expect("size"), 8)
            .expect("octal");
        offset += 512 + size.div_ceil(512) as usize * 512;
    }
    names
}
