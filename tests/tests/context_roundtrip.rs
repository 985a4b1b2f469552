//! The build context ctx-tar streams is the directory, as far as the engine can tell
//! (reference: `tar-expectations.md`, section F and test T4).
//!
//! A fixture tree holding the kinds of entry a context can hold (block devices aside) is
//! archived with `ctx_tar::write_tar`, built as `FROM scratch` + `COPY . /ctx` by
//! BuildKit (`POST /build?version=2`, no session) on both engines, and the image's
//! filesystem is exported (`docker create` + `docker export`). Under `ctx/` the export holds exactly the
//! paths the fixture says are sent (also what `ctx_tar::list` says), each with the same
//! type, permission bits, symlink target (raw bytes), file contents, device numbers and
//! modification time. The `.dockerignore` excludes files and a directory with an exception
//! below it: the excluded paths are absent, the re-included file is present with its
//! parents.
//!
//! What the engines do to a context, found here and pinned by the test (storage driver
//! overlay2 on both):
//!
//! * Modes are kept as sent, setuid, setgid and sticky bits included, on files and on
//!   directories (`0700`, `0711`, `0750`, `01777`, `02775`).
//! * Owners are `0:0`, as sent (COPY without `--chown`).
//! * Symlinks are kept with their raw targets (absolute, dangling, escaping the context,
//!   over 100 bytes, non-ASCII), never resolved.
//! * A hardlink pair stays one inode: the export stores the second name as a hardlink to
//!   the first. A second name of an excluded file arrives as a plain file.
//! * File and symlink mtimes are kept to the second. Directory mtimes are not compared
//!   (COPY writes into the directories). BuildKit's cache key ignores mtimes, so the
//!   build runs with `nocache=1`: a cached COPY would bring an earlier run's mtimes.
//! * FIFOs and character devices: Engine 26.1 recreates them (with their device numbers).
//!   Engine 20.10 (BuildKit 0.8) drops FIFOs in COPY and copies a character device as an
//!   empty regular file with the device's mode and mtime; the context it received holds
//!   both as sent, which a `RUN --mount=type=bind` step shows on both engines.
//! * Sockets are never sent (ctx-tar skips them with a warning).

use devbuild_tests::engine_test;
use devbuild_tests::http::query_value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The mtime given to `old.txt`: 2001-09-09T01:46:40Z.
const OLD_MTIME: i64 = 1_000_000_000;

/// The `.dockerignore` of the fixture.
const DOCKERIGNORE: &str = "\
# secrets and logs stay home
secret.txt
**/*.log
build
!build/keep/wanted.txt
";

/// The type of a path, as the fixture makes it and as a tar stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink,
    /// A second name of a file (tar typeflag `'1'`).
    Hardlink,
    Fifo,
    Char,
}

/// How the fixture makes one path.
enum Make {
    Dir(u32),
    File(u32, Vec<u8>),
    /// A file with a hole: `data` at `offset`, the rest zeros up to `len`.
    Sparse {
        mode: u32,
        offset: u64,
        data: Vec<u8>,
        len: u64,
    },
    Symlink(String),
    /// A hardlink to this earlier path of the fixture.
    Hardlink(&'static str),
    Fifo(u32),
    /// A character device (major, minor) with these permission bits; `mknod` needs root,
    /// as the private engines do.
    Char(u32, u32, u32),
    /// A unix socket, bound while the test runs.
    Socket,
}

/// One path of the fixture, and whether the build context must hold it.
struct Item {
    path: String,
    make: Make,
    sent: bool,
}

/// What a path is, in the directory or in a tar: its type, permission bits (with setuid,
/// setgid, sticky), link target (symlink target, or the path a hardlink names), contents,
/// device numbers and mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    kind: Kind,
    mode: u32,
    target: Vec<u8>,
    content: Vec<u8>,
    device: Option<(u32, u32)>,
    mtime: i64,
}

/// One fixture path.
fn item(path: impl Into<String>, make: Make, sent: bool) -> Item {
    Item {
        path: path.into(),
        make,
        sent,
    }
}

/// The fixture, parents before children, hardlink sources before their links.
fn fixture() -> Vec<Item> {
    let splittable = format!("long/{}/{}/file.txt", "a".repeat(60), "b".repeat(50));
    assert!(splittable.len() > 100, "{splittable}");
    let pax_name = format!("long/{}.txt", "n".repeat(140));
    let long_target = format!("../{}/target", "t".repeat(120));
    vec![
        item(
            "Dockerfile",
            Make::File(0o644, b"FROM scratch\nCOPY . /ctx\n".to_vec()),
            true,
        ),
        item(
            ".dockerignore",
            Make::File(0o644, DOCKERIGNORE.as_bytes().to_vec()),
            true,
        ),
        item("empty", Make::File(0o644, Vec::new()), true),
        item("old.txt", Make::File(0o644, b"from 2001\n".to_vec()), true),
        item(
            "café.txt",
            Make::File(0o644, "non-ASCII name\n".as_bytes().to_vec()),
            true,
        ),
        item(
            "big.bin",
            Make::File(0o644, devbuild_tests::incompressible_bytes(300_000)),
            true,
        ),
        item(
            "sparse.bin",
            Make::Sparse {
                mode: 0o640,
                offset: 1 << 20,
                data: b"after the hole".to_vec(),
                len: 3 << 20,
            },
            true,
        ),
        item(
            "secret.txt",
            Make::File(0o600, b"never sent\n".to_vec()),
            false,
        ),
        item(
            "debug.log",
            Make::File(0o644, b"excluded by **/*.log\n".to_vec()),
            false,
        ),
        item("escaping", Make::Symlink("../outside/secret".into()), true),
        // Modes.
        item("modes", Make::Dir(0o755), true),
        item(
            "modes/0644.txt",
            Make::File(0o644, b"rw-r--r--\n".to_vec()),
            true,
        ),
        item(
            "modes/exec.sh",
            Make::File(0o755, b"#!/bin/sh\necho hi\n".to_vec()),
            true,
        ),
        item(
            "modes/private",
            Make::File(0o600, b"rw-------\n".to_vec()),
            true,
        ),
        item(
            "modes/setuid",
            Make::File(0o4755, b"setuid\n".to_vec()),
            true,
        ),
        item(
            "modes/setgid",
            Make::File(0o2755, b"setgid\n".to_vec()),
            true,
        ),
        item(
            "modes/readonly",
            Make::File(0o444, b"r--r--r--\n".to_vec()),
            true,
        ),
        item(
            "modes/trace.log",
            Make::File(0o644, b"excluded too\n".to_vec()),
            false,
        ),
        // Directories.
        item("dirs", Make::Dir(0o755), true),
        item("dirs/empty", Make::Dir(0o755), true),
        item("dirs/private", Make::Dir(0o700), true),
        item(
            "dirs/private/inside.txt",
            Make::File(0o644, b"inside a 0700 dir\n".to_vec()),
            true,
        ),
        item("dirs/sticky", Make::Dir(0o1777), true),
        item("dirs/group", Make::Dir(0o2775), true),
        // Long paths: split into USTAR prefix + name, and one that needs a PAX `path`.
        item("long", Make::Dir(0o755), true),
        item(format!("long/{}", "a".repeat(60)), Make::Dir(0o755), true),
        item(
            format!("long/{}/{}", "a".repeat(60), "b".repeat(50)),
            Make::Dir(0o755),
            true,
        ),
        item(
            splittable,
            Make::File(0o644, b"prefix + name\n".to_vec()),
            true,
        ),
        item(pax_name, Make::File(0o644, b"PAX path\n".to_vec()), true),
        // Symlinks: stored with their raw targets, never followed.
        item("links", Make::Dir(0o755), true),
        item(
            "links/relative",
            Make::Symlink("../modes/0644.txt".into()),
            true,
        ),
        item("links/absolute", Make::Symlink("/etc/passwd".into()), true),
        item(
            "links/dangling",
            Make::Symlink("does-not-exist".into()),
            true,
        ),
        item(
            "links/to-dir",
            Make::Symlink("../dirs/private".into()),
            true,
        ),
        item(
            "links/to-excluded",
            Make::Symlink("../secret.txt".into()),
            true,
        ),
        item("links/long-target", Make::Symlink(long_target), true),
        item("links/non-ascii", Make::Symlink("../café.txt".into()), true),
        // An excluded directory with one file re-included below it.
        item("build", Make::Dir(0o750), true),
        item(
            "build/other.txt",
            Make::File(0o644, b"excluded with build\n".to_vec()),
            false,
        ),
        item("build/keep", Make::Dir(0o711), true),
        item(
            "build/keep/wanted.txt",
            Make::File(0o644, b"re-included\n".to_vec()),
            true,
        ),
        item(
            "build/keep/unwanted.txt",
            Make::File(0o644, b"still excluded\n".to_vec()),
            false,
        ),
        item("build/drop", Make::Dir(0o755), false),
        item(
            "build/drop/x.txt",
            Make::File(0o644, b"excluded\n".to_vec()),
            false,
        ),
        // Hardlinks: a pair, and a second name of an excluded file (sent as a file).
        item("hard", Make::Dir(0o755), true),
        item(
            "hard/a",
            Make::File(0o644, b"one inode, two names\n".to_vec()),
            true,
        ),
        item("hard/b", Make::Hardlink("hard/a"), true),
        item("hard/of-excluded", Make::Hardlink("build/other.txt"), true),
        // Special files.
        item("special", Make::Dir(0o755), true),
        item("special/fifo", Make::Fifo(0o640), true),
        item("special/null", Make::Char(1, 3, 0o666), true),
        item("special/sock", Make::Socket, false),
    ]
}

/// Runs `command`; panics with its stderr when it fails.
fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sets the permission bits (with setuid, setgid, sticky) of `path`.
fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Makes the fixture under `root`; directory modes are set last, so that a directory that
/// is not writable can still be filled.
fn make_fixture(root: &Path, items: &[Item]) -> Vec<std::os::unix::net::UnixListener> {
    let mut dir_modes = Vec::new();
    let mut sockets = Vec::new();
    for item in items {
        let path = root.join(&item.path);
        match &item.make {
            Make::Dir(mode) => {
                fs::create_dir(&path).unwrap();
                dir_modes.push((path, *mode));
            }
            Make::File(mode, content) => {
                fs::write(&path, content).unwrap();
                chmod(&path, *mode);
            }
            Make::Sparse {
                mode,
                offset,
                data,
                len,
            } => {
                let mut file = fs::File::create(&path).unwrap();
                file.seek(SeekFrom::Start(*offset)).unwrap();
                file.write_all(data).unwrap();
                file.set_len(*len).unwrap();
                chmod(&path, *mode);
            }
            Make::Symlink(target) => symlink(target, &path).unwrap(),
            Make::Hardlink(source) => fs::hard_link(root.join(source), &path).unwrap(),
            Make::Fifo(mode) => {
                run(Command::new("mkfifo").arg(&path));
                chmod(&path, *mode);
            }
            Make::Char(major, minor, mode) => {
                run(Command::new("mknod")
                    .arg(&path)
                    .arg("c")
                    .arg(major.to_string())
                    .arg(minor.to_string()));
                chmod(&path, *mode);
            }
            Make::Socket => sockets.push(std::os::unix::net::UnixListener::bind(&path).unwrap()),
        }
    }
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(OLD_MTIME as u64);
    fs::File::options()
        .write(true)
        .open(root.join("old.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    for (path, mode) in dir_modes.into_iter().rev() {
        chmod(&path, mode);
    }
    sockets
}

/// What the fixture says the context holds: every sent path, as it is on disk. A hardlink
/// whose first name is sent is a hardlink to that name; otherwise it is a file.
fn expected_from_fixture(root: &Path, items: &[Item]) -> BTreeMap<String, Node> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let sent: BTreeMap<&str, &Item> = items
        .iter()
        .filter(|i| i.sent)
        .map(|i| (i.path.as_str(), i))
        .collect();
    sent.values()
        .map(|item| {
            let path = root.join(&item.path);
            let meta = fs::symlink_metadata(&path).unwrap();
            let (kind, target) = match &item.make {
                Make::Dir(_) => (Kind::Dir, Vec::new()),
                Make::File(..) | Make::Sparse { .. } => (Kind::File, Vec::new()),
                Make::Symlink(target) => (Kind::Symlink, target.clone().into_bytes()),
                Make::Hardlink(source) if sent.contains_key(source) => {
                    (Kind::Hardlink, source.as_bytes().to_vec())
                }
                Make::Hardlink(_) => (Kind::File, Vec::new()),
                Make::Fifo(_) => (Kind::Fifo, Vec::new()),
                Make::Char(..) => (Kind::Char, Vec::new()),
                Make::Socket => unreachable!("sockets are never sent"),
            };
            let content = if meta.file_type().is_file() {
                fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            let device = meta.file_type().is_char_device().then(|| {
                // glibc's major() and minor().
                let rdev = meta.rdev();
                (
                    (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)) as u32,
                    ((rdev & 0xff) | ((rdev >> 12) & !0xff)) as u32,
                )
            });
            let node = Node {
                kind,
                mode: meta.mode() & 0o7777,
                target,
                content,
                device,
                mtime: meta.mtime(),
            };
            (item.path.clone(), node)
        })
        .collect()
}

/// What `ctx_tar::list` says is sent, with the contents read from disk.
fn expected_from_listing(listing: &ctx_tar::Listing) -> BTreeMap<String, Node> {
    let mut nodes: BTreeMap<String, Node> = listing
        .entries
        .iter()
        .map(|entry| {
            let kind = match entry.kind {
                ctx_tar::EntryKind::Dir => Kind::Dir,
                ctx_tar::EntryKind::File => Kind::File,
                ctx_tar::EntryKind::Link => Kind::Symlink,
                ctx_tar::EntryKind::Hardlink => Kind::Hardlink,
                ctx_tar::EntryKind::Fifo => Kind::Fifo,
                ctx_tar::EntryKind::Char => Kind::Char,
                other => panic!("the fixture has no {other}: {}", entry.path),
            };
            let content = match (kind, entry.source_path()) {
                (Kind::File, Some(path)) => fs::read(path).unwrap(),
                _ => Vec::new(),
            };
            let path = std::str::from_utf8(entry.path_bytes()).expect("UTF-8 names");
            let node = Node {
                kind,
                mode: entry.mode,
                target: entry.target_bytes().to_vec(),
                content,
                device: entry.device(),
                mtime: entry.mtime(),
            };
            (path.trim_end_matches('/').to_string(), node)
        })
        .collect();
    resolve_hardlinks(&mut nodes);
    nodes
}

/// Every entry of the exported filesystem below `ctx/`, by path relative to `ctx/` (the
/// empty path is `ctx/` itself). Hardlink targets are made relative to `ctx/` too.
fn exported_context(export: &[u8]) -> BTreeMap<String, Node> {
    let mut archive = tar::Archive::new(export);
    let mut nodes = BTreeMap::new();
    for entry in archive.entries().expect("the export is a tar") {
        let mut entry = entry.expect("a tar entry");
        let path = String::from_utf8(entry.path_bytes().into_owned()).expect("UTF-8 names");
        let Some(rel) = path.trim_end_matches('/').strip_prefix("ctx") else {
            continue;
        };
        let rel = match rel.strip_prefix('/') {
            Some(rel) => rel.to_string(),
            None if rel.is_empty() => String::new(),
            None => continue,
        };
        let header = entry.header().clone();
        assert_eq!(
            (header.uid().unwrap(), header.gid().unwrap()),
            (0, 0),
            "owner of {path}"
        );
        let kind = match header.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Regular => Kind::File,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::Hardlink,
            tar::EntryType::Fifo => Kind::Fifo,
            tar::EntryType::Char => Kind::Char,
            other => panic!("unexpected entry type {other:?} for {path}"),
        };
        let mut target = entry
            .link_name_bytes()
            .map(|t| t.into_owned())
            .unwrap_or_default();
        if kind == Kind::Hardlink {
            target = target
                .strip_prefix(b"ctx/")
                .unwrap_or_else(|| panic!("{path} links outside ctx/"))
                .to_vec();
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        let device = (kind == Kind::Char).then(|| {
            (
                header.device_major().unwrap().unwrap(),
                header.device_minor().unwrap().unwrap(),
            )
        });
        let node = Node {
            kind,
            mode: header.mode().unwrap() & 0o7777,
            target,
            content,
            device,
            mtime: header.mtime().unwrap() as i64,
        };
        assert!(
            nodes.insert(rel, node).is_none(),
            "{path} twice in the export"
        );
    }
    resolve_hardlinks(&mut nodes);
    nodes
}

/// Gives each hardlink the contents of the file it names (a tar stores none for it).
fn resolve_hardlinks(nodes: &mut BTreeMap<String, Node>) {
    let links: Vec<(String, String)> = nodes
        .iter()
        .filter(|(_, n)| n.kind == Kind::Hardlink)
        .map(|(p, n)| (p.clone(), String::from_utf8_lossy(&n.target).into_owned()))
        .collect();
    for (path, target) in links {
        let named = nodes
            .get(&target)
            .unwrap_or_else(|| panic!("{path} is a hardlink to {target}, which is not there"));
        assert_eq!(
            named.kind,
            Kind::File,
            "{path} is a hardlink to a {:?}",
            named.kind
        );
        let content = named.content.clone();
        nodes.get_mut(&path).unwrap().content = content;
    }
}

/// Differences between two sets of nodes, one line each, compared on everything but the
/// mtimes of directories.
fn differences(
    expected: &BTreeMap<String, Node>,
    actual: &BTreeMap<String, Node>,
    what: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for path in expected.keys().filter(|p| !actual.contains_key(*p)) {
        out.push(format!("{what}: missing {path:?}"));
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        out.push(format!("{what}: unexpected {path:?}"));
    }
    for (path, want) in expected {
        let Some(got) = actual.get(path) else {
            continue;
        };
        let mut want = want.clone();
        let mut got = got.clone();
        if want.kind == Kind::Dir {
            (want.mtime, got.mtime) = (0, 0);
        }
        if want != got {
            let brief = |n: &Node| {
                format!(
                    "{:?} {:04o} target={:?} {} bytes device={:?} mtime={}",
                    n.kind,
                    n.mode,
                    String::from_utf8_lossy(&n.target),
                    n.content.len(),
                    n.device,
                    n.mtime
                )
            };
            out.push(format!(
                "{what}: {path:?}: expected {}, got {}{}",
                brief(&want),
                brief(&got),
                if want.content != got.content {
                    " (contents differ)"
                } else {
                    ""
                }
            ));
        }
    }
    out
}

fn assert_no_differences(found: Vec<String>) {
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// What `COPY . /ctx` makes of the context on engine `version`. Engine 20.10 (BuildKit
/// 0.8) drops FIFOs and copies a character device as an empty regular file with the
/// device's mode and mtime; the context it received still holds both (see
/// [`special_files_as_received`]). Engine 26.1 keeps them.
fn after_copy(version: &str, sent: &BTreeMap<String, Node>) -> BTreeMap<String, Node> {
    match version {
        "20.10" => sent
            .iter()
            .filter(|(_, n)| n.kind != Kind::Fifo)
            .map(|(path, node)| {
                let mut node = node.clone();
                if node.kind == Kind::Char {
                    (node.kind, node.device) = (Kind::File, None);
                }
                (path.clone(), node)
            })
            .collect(),
        _ => sent.clone(),
    }
}

/// The contents of the regular file `path` in the tar `export`.
fn file_in_tar(export: &[u8], path: &str) -> Vec<u8> {
    let mut archive = tar::Archive::new(export);
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("a tar entry");
        if entry.path_bytes().as_ref() == path.as_bytes() {
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            return content;
        }
    }
    panic!("no {path} in the tar");
}

/// How the special files and the hardlinks of the fixture look in the build context the
/// engine received (a bind mount of it in a `RUN` step, seen by busybox `stat`), as
/// `path|type|mode|major|minor|links` lines. The Dockerfile lies outside the context, so
/// the context is the same tree.
fn special_files_as_received(
    engine: &devbuild_tests::TestEngine,
    dir: &Path,
    root: &Path,
) -> String {
    let dockerfile = dir.join("Dockerfile.probe");
    fs::write(
        &dockerfile,
        format!(
            "FROM {}\nRUN --mount=type=bind,target=/c cd /c && stat -c '%n|%F|%a|%t|%T|%h' \
             special/fifo special/null hard/a hard/b hard/of-excluded > /received\n",
            engine.base_image
        ),
    )
    .unwrap();
    let mut spec = ctx_tar::ContextSpec::new(root);
    spec.dockerfile = ctx_tar::Dockerfile::Path(dockerfile);
    let mut context = Vec::new();
    let summary = ctx_tar::write_tar(&spec, &mut context).unwrap();
    let name = summary.dockerfile.expect("the Dockerfile is sent");

    let mut guard = engine.guard();
    let tag = guard.remove_later(&engine.unique_name("ctx-received"));
    let query = format!(
        "t={}&dockerfile={}&nocache=1",
        query_value(&tag),
        query_value(&name)
    );
    let outcome = engine.build(&context, &query);
    assert_eq!(outcome.error(), None, "{}", outcome.transcript());
    let received = file_in_tar(&engine.export_image(&tag), "received");
    String::from_utf8(received).unwrap()
}

engine_test! {
    /// `FROM scratch` + `COPY . /ctx` from ctx-tar's tar gives an image whose `ctx/` has the
    /// directory's files, types, modes, link targets, contents and mtimes (as far as the
    /// engine's COPY keeps them), without what `.dockerignore` excludes.
    fn copy_of_the_context_is_the_directory(engine) {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("context");
        fs::create_dir(&root).unwrap();
        let items = fixture();
        let _sockets = make_fixture(&root, &items);
        let spec = ctx_tar::ContextSpec::new(&root);

        // What is sent: the fixture's own account, and ctx-tar's listing, agree.
        let from_fixture = expected_from_fixture(&root, &items);
        let listing = ctx_tar::list(&spec).unwrap();
        assert_no_differences(differences(
            &from_fixture,
            &expected_from_listing(&listing),
            "ctx_tar::list vs fixture",
        ));
        assert_eq!(
            listing.summary.warnings.len(),
            1,
            "one warning, for the socket: {:?}",
            listing.summary.warnings
        );

        let mut context = Vec::new();
        ctx_tar::write_tar(&spec, &mut context).unwrap();

        let mut guard = engine.guard();
        let tag = guard.remove_later(&engine.unique_name("ctx-roundtrip"));
        // Without `nocache` a COPY of the same contents and modes from an earlier run is
        // reused, with that run's mtimes: BuildKit's cache key ignores mtimes.
        let outcome = engine.build(&context, &format!("t={}&nocache=1", query_value(&tag)));
        assert_eq!(outcome.status, 200, "{}", outcome.transcript());
        assert_eq!(outcome.error(), None, "{}", outcome.transcript());

        let mut exported = exported_context(&engine.export_image(&tag));
        let top = exported.remove("").expect("the export has ctx/");
        assert_eq!(top.kind, Kind::Dir, "ctx/ is a directory");
        assert_no_differences(differences(
            &after_copy(&engine.version, &from_fixture),
            &exported,
            "export vs fixture",
        ));
        assert_no_differences(differences(
            &after_copy(&engine.version, &expected_from_listing(&listing)),
            &exported,
            "export vs ctx_tar::list",
        ));

        // Independently of both accounts: what .dockerignore excludes is absent, the
        // re-included file is present with its parents.
        for absent in [
            "secret.txt",
            "debug.log",
            "modes/trace.log",
            "build/other.txt",
            "build/keep/unwanted.txt",
            "build/drop",
            "build/drop/x.txt",
            "special/sock",
        ] {
            assert!(!exported.contains_key(absent), "{absent} must not be sent");
        }
        for (present, kind) in [
            ("build", Kind::Dir),
            ("build/keep", Kind::Dir),
            ("build/keep/wanted.txt", Kind::File),
            ("Dockerfile", Kind::File),
            (".dockerignore", Kind::File),
            ("hard/b", Kind::Hardlink),
            ("hard/of-excluded", Kind::File),
        ] {
            assert_eq!(exported.get(present).map(|n| n.kind), Some(kind), "{present}");
        }
        assert_eq!(exported["build/keep/wanted.txt"].content, b"re-included\n");
        assert_eq!(exported["hard/b"].target, b"hard/a");
        assert_eq!(exported["old.txt"].mtime, OLD_MTIME);
        assert_eq!(exported["modes/setuid"].mode, 0o4755);
        assert_eq!(exported["dirs/private"].mode, 0o700);
        assert_eq!(exported["links/absolute"].target, b"/etc/passwd");
        assert_eq!(exported["escaping"].target, b"../outside/secret");
        match engine.version.as_str() {
            "20.10" => {
                assert!(!exported.contains_key("special/fifo"));
                assert_eq!(exported["special/null"].kind, Kind::File);
            }
            _ => {
                assert_eq!(exported["special/fifo"].kind, Kind::Fifo);
                assert_eq!(exported["special/null"].device, Some((1, 3)));
            }
        }

        // Whatever COPY makes of them, the context the engine received holds the FIFO, the
        // device and the hardlink pair as they are on disk.
        assert_eq!(
            special_files_as_received(engine, temp.path(), &root),
            "special/fifo|fifo|640|0|0|1\n\
             special/null|character special file|666|1|3|1\n\
             hard/a|regular file|644|0|0|2\n\
             hard/b|regular file|644|0|0|2\n\
             hard/of-excluded|regular file|644|0|0|1\n"
        );
    }
}
