//! The tar of the reference fixture (tar-expectations.md, appendix), checked field by field
//! (raw headers), and read back by the `tar` crate, GNU tar and Python's tarfile.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::*;
use ctx_tar::{Compression, ContextSpec, EntryKind, MtimePolicy, Warning};

const SPARSE_LEN: u64 = 8 * 1024 * 1024 + 4;

/// The appendix fixture, minus the 1 GiB sparse file (8 MiB here).
fn fixture(root: &Path) {
    write(
        root,
        ".dockerignore",
        b"ignored.txt\nnode_modules\n!node_modules/keep/package.json\nignored-first-hard\n",
    );
    write(root, "Dockerfile", b"FROM scratch\nCOPY . /ctx\n");
    let a = write(root, "a.txt", b"abc");
    set_mode(&a, 0o640);
    if is_root() {
        std::os::unix::fs::chown(&a, Some(3_000_000), Some(3_000_001)).expect("chown");
    }
    setxattr(&a, "user.foo", b"bar");
    symlink(root, "abs-link", "/etc/passwd");
    let bad = root.join(std::ffi::OsStr::from_bytes(b"bad-\xff-name"));
    std::fs::write(&bad, b"bad").expect("write");
    write(root, "café.txt", b"cafe");
    let cap = write(root, "cap.bin", b"cap");
    // VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE permitted and effective.
    let cap_value = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let cap_set = is_root() && setxattr(&cap, "security.capability", &cap_value);
    assert_eq!(cap_set, is_root(), "root can set security.capability");
    if is_root() {
        mknod_char(&root.join("chardev"), 1, 3);
    }
    symlink(root, "dangling", "does-not-exist");
    let d60 = "d".repeat(60);
    write(root, &format!("{d60}/{d60}/{}", "f".repeat(90)), b"deep");
    symlink(root, "dir-link", "sub");
    mkdir(root, "emptydir");
    mkfifo(&root.join("fifo"));
    let future = write(root, "future.txt", b"future");
    set_mtime(&future, 10_413_792_000, 0);
    let h1 = write(root, "h1", b"hard");
    mkdir(root, "sub/deeper");
    std::fs::hard_link(&h1, root.join("sub/h2")).expect("link");
    std::fs::hard_link(&h1, root.join("zz-h3")).expect("link");
    let first = write(root, "ignored-first-hard", b"twin");
    std::fs::hard_link(&first, root.join("kept-second-hard")).expect("link");
    symlink(root, "long-target-link", &"t".repeat(150));
    let nanos = write(root, "nanos.txt", b"nanos");
    set_mtime(&nanos, 1_620_216_000, 987_654_321);
    write(root, "node_modules/keep/package.json", b"{}");
    write(root, "node_modules/other.js", b"x");
    let old = write(root, "old.txt", b"old");
    set_mtime(&old, -315_619_200, 0);
    symlink(root, "out-link", "../outside/secret");
    symlink(root, "rel-link", "a.txt");
    let run = write(root, "run.sh", b"#!/bin/sh\n");
    set_mode(&run, 0o4755);
    let sparse = std::fs::File::create(root.join("sparse.bin")).expect("sparse");
    sparse.set_len(SPARSE_LEN - 4).expect("set_len");
    drop(sparse);
    let mut sparse = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join("sparse.bin"))
        .expect("open");
    std::io::Write::write_all(&mut sparse, b"tail").expect("tail");
    write(root, &format!("sub/{}", "n".repeat(120)), b"long");
    let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).expect("socket");
    write(root, "ignored.txt", b"ignored");
}

fn expected_names() -> Vec<Vec<u8>> {
    let d60 = "d".repeat(60);
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut push = |n: &str| names.push(n.as_bytes().to_vec());
    push(".dockerignore");
    push("Dockerfile");
    push("a.txt");
    push("abs-link");
    names.push(b"bad-\xff-name".to_vec());
    let mut push = |n: &str| names.push(n.as_bytes().to_vec());
    push("café.txt");
    push("cap.bin");
    if is_root() {
        push("chardev");
    }
    push("dangling");
    push(&format!("{d60}/"));
    push(&format!("{d60}/{d60}/"));
    push(&format!("{d60}/{d60}/{}", "f".repeat(90)));
    for n in [
        "dir-link",
        "emptydir/",
        "fifo",
        "future.txt",
        "h1",
        "kept-second-hard",
        "long-target-link",
        "nanos.txt",
        "node_modules/",
        "node_modules/keep/",
        "node_modules/keep/package.json",
        "old.txt",
        "out-link",
        "rel-link",
        "run.sh",
        "sparse.bin",
        "sub/",
        "sub/deeper/",
        "sub/h2",
    ] {
        push(n);
    }
    push(&format!("sub/{}", "n".repeat(120)));
    push("zz-h3");
    names
}

fn tar_of(spec: &ContextSpec) -> (Vec<u8>, ctx_tar::Summary) {
    let mut out = Vec::new();
    let summary = ctx_tar::write_tar(spec, &mut out).expect("write_tar");
    (out, summary)
}

#[test]
fn reference_fixture_matches_the_expectations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ctx");
    std::fs::create_dir(&root).expect("mkdir");
    write(dir.path(), "outside/secret", b"TOP-SECRET-OUTSIDE");
    fixture(&root);
    let spec = ContextSpec::new(&root);
    let (tar, summary) = tar_of(&spec);

    check_raw_headers(&tar);
    let members = members(&tar);
    let names: Vec<Vec<u8>> = members.iter().map(|m| m.name.clone()).collect();
    assert_eq!(
        names
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect::<Vec<_>>(),
        expected_names()
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(names, expected_names());
    let get = |name: &str| {
        members
            .iter()
            .find(|m| m.name == name.as_bytes())
            .unwrap_or_else(|| panic!("{name} in the tar"))
    };
    let pax = |name: &str, key: &str| {
        get(name)
            .pax
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };

    // D13/D14: mode bits only, uid/gid 0.
    assert_eq!(get("a.txt").mode, 0o640);
    assert!(members.iter().all(|m| m.uid == 0 && m.gid == 0));
    assert_eq!(get("run.sh").mode, 0o4755);
    assert_eq!(get("abs-link").mode, 0o777);
    // D15: only security.capability, as a PAX record.
    assert!(!tar.windows(8).any(|w| w == b"user.foo"));
    if is_root() {
        assert_eq!(
            pax("cap.bin", "SCHILY.xattr.security.capability").as_deref(),
            Some(&[1u8, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..])
        );
        let dev = get("chardev");
        assert_eq!(dev.typeflag, b'3');
    }
    // D16: mtimes truncated; odd ones in PAX with 0 in the USTAR field.
    assert_eq!(get("nanos.txt").mtime, 1_620_216_000);
    assert_eq!(
        pax("future.txt", "mtime").as_deref(),
        Some(&b"10413792000"[..])
    );
    assert_eq!(pax("old.txt", "mtime").as_deref(), Some(&b"-315619200"[..]));
    // B5: PAX for non-ASCII and long names and link targets.
    assert_eq!(
        pax("café.txt", "path").as_deref(),
        Some("café.txt".as_bytes())
    );
    assert_eq!(get("long-target-link").link, "t".repeat(150).into_bytes());
    assert!(pax("long-target-link", "linkpath").is_some());
    assert!(pax(&format!("sub/{}", "n".repeat(120)), "path").is_some());
    // B6: the 212-byte path uses the prefix field, no PAX.
    let d60 = "d".repeat(60);
    assert!(pax(&format!("{d60}/{d60}/{}", "f".repeat(90)), "path").is_none());
    // D17: sparse files expanded.
    let sparse = get("sparse.bin");
    assert_eq!(sparse.size, SPARSE_LEN);
    assert!(sparse.data.ends_with(b"\0tail"));
    // D18: symlinks stored with their target, never followed.
    assert_eq!(get("abs-link").link, b"/etc/passwd");
    assert_eq!(get("out-link").link, b"../outside/secret");
    assert_eq!(get("dangling").link, b"does-not-exist");
    assert_eq!(get("dir-link").typeflag, b'2');
    assert!(!tar.windows(18).any(|w| w == b"TOP-SECRET-OUTSIDE"));
    // D20: hardlinks after the first included copy.
    assert_eq!(
        (get("h1").typeflag, get("h1").data.as_slice()),
        (b'0', &b"hard"[..])
    );
    for twin in ["sub/h2", "zz-h3"] {
        assert_eq!(
            (get(twin).typeflag, get(twin).link.as_slice()),
            (b'1', &b"h1"[..])
        );
        assert_eq!(get(twin).size, 0);
    }
    assert_eq!(get("kept-second-hard").typeflag, b'0');
    assert_eq!(get("kept-second-hard").data, b"twin");
    // C12: FIFOs archived, sockets skipped with a warning.
    assert_eq!(get("fifo").typeflag, b'6');
    assert_eq!(
        summary.warnings,
        vec![Warning::SocketSkipped {
            path: "sock".into()
        }]
    );
    // Summary numbers.
    assert_eq!(summary.entries as usize, members.len());
    assert_eq!(summary.archive_bytes, tar.len() as u64);
    assert_eq!(
        summary.excluded, 3,
        "ignored.txt, ignored-first-hard, node_modules/other.js"
    );
    assert_eq!(summary.dockerfile.as_deref(), Some("Dockerfile"));
    assert_eq!(
        summary.ignore_file,
        Some(root.canonicalize().expect("root").join(".dockerignore"))
    );
    assert_eq!(summary.top_dirs[0].path, format!("{d60}/"));

    // T1: GNU tar lists and extracts without a warning.
    let listing = gnu_tar_list(&tar);
    assert!(listing.contains("0/0"), "{listing}");
    let out = tempfile::tempdir().expect("tempdir");
    gnu_tar_extract(&tar, out.path());
    assert_eq!(
        std::fs::read_link(out.path().join("abs-link")).expect("link"),
        Path::new("/etc/passwd")
    );
    assert_eq!(
        std::fs::read(out.path().join("zz-h3")).expect("h3"),
        b"hard"
    );

    // T2: Python's tarfile with errorlevel=2, members and extraction.
    let out = tempfile::tempdir().expect("tempdir");
    let py = python_members(&tar, Some(out.path()));
    assert_eq!(py.len(), members.len());
    for (p, m) in py.iter().zip(&members) {
        let name = p.name_bytes();
        assert_eq!(name, m.name.strip_suffix(b"/").unwrap_or(&m.name));
        assert_eq!(
            (p.uid, p.gid, p.uname.as_str(), p.gname.as_str()),
            (0, 0, "", "")
        );
        assert_eq!(p.mode, m.mode);
        assert_eq!(p.link_bytes(), m.link);
        assert_eq!(p.size, m.size);
        assert!(!p.pax.keys().any(|k| k == "atime" || k == "ctime"));
    }
    let chardev = py.iter().find(|p| p.name_bytes() == b"chardev");
    if let Some(dev) = chardev {
        assert_eq!((dev.devmajor, dev.devminor), (1, 3));
    }
    assert_eq!(
        std::fs::read(out.path().join("node_modules/keep/package.json")).expect("kept"),
        b"{}"
    );
}

#[test]
fn listing_agrees_with_the_tar_and_output_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path());
    let spec = ContextSpec::new(dir.path());
    let listing = ctx_tar::list(&spec).expect("list");
    let (first, summary) = tar_of(&spec);
    let (second, _) = tar_of(&spec);
    assert!(first == second, "same tree, same bytes");
    assert_eq!(listing.summary, summary);
    let members = members(&first);
    assert_eq!(listing.entries.len(), members.len());
    for (entry, member) in listing.entries.iter().zip(&members) {
        assert_eq!(entry.path_bytes(), member.name.as_slice());
        assert_eq!(entry.kind.typeflag(), member.typeflag, "{}", entry.path);
        assert_eq!(entry.mode, member.mode, "{}", entry.path);
        assert_eq!(entry.size, member.size, "{}", entry.path);
        assert_eq!(
            entry.target_bytes(),
            member.link.as_slice(),
            "{}",
            entry.path
        );
        let ustar_mtime = if (0..=0o77777777777).contains(&entry.mtime()) {
            entry.mtime()
        } else {
            0
        };
        assert_eq!(member.mtime as i64, ustar_mtime, "{}", entry.path);
    }
    let kinds: Vec<EntryKind> = listing.entries.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EntryKind::Hardlink) && kinds.contains(&EntryKind::Fifo));
    let json = serde_json::to_value(&listing.entries[2]).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"type": "file", "path": "a.txt", "mode": 0o640, "size": 3})
    );
    let link = listing
        .entries
        .iter()
        .find(|e| e.path == "abs-link")
        .expect("abs-link");
    assert_eq!(
        serde_json::to_value(link).expect("json"),
        serde_json::json!({"type": "link", "path": "abs-link", "mode": 0o777, "size": 0, "target": "/etc/passwd"})
    );
}

#[test]
fn gzip_has_go_header_and_holds_the_same_tar() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "Dockerfile", b"FROM scratch\n");
    write(dir.path(), "a/b.txt", &[7u8; 5000]);
    let mut spec = ContextSpec::new(dir.path());
    let (plain, _) = tar_of(&spec);
    spec.compression = Compression::Gzip;
    let (gz, summary) = tar_of(&spec);
    assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
        .expect("gunzip");
    assert!(decoded == plain);
    assert_eq!(summary.archive_bytes, plain.len() as u64);
}

#[test]
fn source_date_epoch_clamps_mtimes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = write(dir.path(), "old", b"o");
    set_mtime(&old, 1_000, 0);
    let new = write(dir.path(), "new", b"n");
    set_mtime(&new, 2_000_000_000, 5);
    let mut spec = ContextSpec::new(dir.path());
    spec.mtime = MtimePolicy::from_source_date_epoch(Some("1500000000")).expect("epoch");
    assert_eq!(spec.mtime, MtimePolicy::Clamp(1_500_000_000));
    let (tar, _) = tar_of(&spec);
    let members = members(&tar);
    assert_eq!(
        (members[0].name.as_slice(), members[0].mtime),
        (&b"new"[..], 1_500_000_000)
    );
    assert_eq!(
        (members[1].name.as_slice(), members[1].mtime),
        (&b"old"[..], 1_000)
    );
    assert!(matches!(
        MtimePolicy::from_source_date_epoch(Some("soon")),
        Err(ctx_tar::Error::SourceDateEpoch { .. })
    ));
    assert_eq!(
        MtimePolicy::from_source_date_epoch(None).expect("unset"),
        MtimePolicy::Keep
    );
}
