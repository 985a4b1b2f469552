//! Property tests on random trees (files, directories, symlinks including dangling and
//! absolute ones, hardlinks, odd names) and random ignore rules: the walk never panics,
//! the listing and the tar agree, and GNU tar and Python's tarfile (`errorlevel=2`) read
//! the tar back to the same names, types, modes, link targets and contents.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use ctx_tar::{ContextSpec, Dockerfile, EntryKind, IgnoreSource, Listing};
use proptest::prelude::*;

/// Name parts: plain, upper case, spaces, UTF-8, not UTF-8, glob characters, long.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"a".to_vec()),
        Just(b"B".to_vec()),
        Just(b"b.txt".to_vec()),
        Just(b".hidden".to_vec()),
        Just(b"with space".to_vec()),
        Just("caf\u{e9}".as_bytes().to_vec()),
        Just(b"x\xff\xfe".to_vec()),
        Just(b"star*[q]?".to_vec()),
        Just(b"-dash".to_vec()),
        Just(vec![b'd'; 60]),
        Just(vec![b'n'; 120]),
    ]
}

fn path() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(name(), 1..4)
}

#[derive(Debug, Clone)]
enum Node {
    Dir(Vec<Vec<u8>>, u32),
    File(Vec<Vec<u8>>, Vec<u8>, u32),
    Link(Vec<Vec<u8>>, Vec<u8>),
    Hardlink(Vec<Vec<u8>>, usize),
}

fn node() -> impl Strategy<Value = Node> {
    let mode = prop_oneof![
        Just(0o644u32),
        Just(0o600),
        Just(0o755),
        Just(0o4755),
        Just(0o2750)
    ];
    let target = prop_oneof![
        Just(b"a".to_vec()),
        Just(b"../outside/secret".to_vec()),
        Just(b"/etc/passwd".to_vec()),
        Just(b"does-not-exist".to_vec()),
        Just(b"x\xff".to_vec()),
        Just(vec![b't'; 150]),
        Just(b"..".to_vec()),
    ];
    prop_oneof![
        (
            path(),
            prop_oneof![Just(0o755u32), Just(0o700), Just(0o1777)]
        )
            .prop_map(|(p, m)| Node::Dir(p, m)),
        (path(), prop::collection::vec(any::<u8>(), 0..1500), mode)
            .prop_map(|(p, c, m)| Node::File(p, c, m)),
        (path(), target).prop_map(|(p, t)| Node::Link(p, t)),
        (path(), 0usize..8).prop_map(|(p, i)| Node::Hardlink(p, i)),
    ]
}

fn rules() -> impl Strategy<Value = Vec<String>> {
    let rule = prop_oneof![
        Just("a".to_owned()),
        Just("*".to_owned()),
        Just("**/b.txt".to_owned()),
        Just("!a".to_owned()),
        Just("!**/a".to_owned()),
        Just("B/**".to_owned()),
        Just("!B/a".to_owned()),
        Just("*/with space".to_owned()),
        Just("star\\*\\[q]\\?".to_owned()),
        Just(".*".to_owned()),
        Just("[".to_owned()),
        Just("!".to_owned()),
        Just("d*".to_owned()),
    ];
    prop::collection::vec(rule, 0..4)
}

/// Creates the nodes below `root`; a node whose parent is not a directory is left out.
fn build(root: &Path, nodes: &[Node]) {
    let mut files = Vec::new();
    for node in nodes {
        let parts = match node {
            Node::Dir(p, _) | Node::File(p, _, _) | Node::Link(p, _) | Node::Hardlink(p, _) => p,
        };
        let rel = parts.join(&b'/');
        let path = root.join(OsStr::from_bytes(&rel));
        let parent = path.parent().expect("parent");
        if std::fs::create_dir_all(parent).is_err() || path.symlink_metadata().is_ok() {
            continue;
        }
        match node {
            Node::Dir(_, mode) => {
                std::fs::create_dir(&path).expect("mkdir");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                    .expect("chmod");
            }
            Node::File(_, content, mode) => {
                std::fs::write(&path, content).expect("write");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                    .expect("chmod");
                files.push(path);
            }
            Node::Link(_, target) => {
                std::os::unix::fs::symlink(OsStr::from_bytes(target), &path).expect("symlink");
            }
            Node::Hardlink(_, index) => {
                if let Some(first) = files.get(*index % files.len().max(1)) {
                    std::fs::hard_link(first, &path).expect("hard link");
                }
            }
        }
    }
}

/// What a reader saw for one entry: type, mode, link target, content.
type Seen = (u8, u32, Vec<u8>, Vec<u8>);

fn expected(root: &Path, listing: &Listing) -> BTreeMap<Vec<u8>, Seen> {
    listing
        .entries
        .iter()
        .map(|e| {
            let name = e
                .path_bytes()
                .strip_suffix(b"/")
                .unwrap_or(e.path_bytes())
                .to_vec();
            let data = if e.kind == EntryKind::File {
                std::fs::read(root.join(OsStr::from_bytes(&name))).expect("read")
            } else {
                Vec::new()
            };
            (
                name,
                (e.kind.typeflag(), e.mode, e.target_bytes().to_vec(), data),
            )
        })
        .collect()
}

fn check_tree(root: &Path, spec: &ContextSpec) -> Result<(), TestCaseError> {
    let listing = match ctx_tar::list(spec) {
        Ok(listing) => listing,
        Err(ctx_tar::Error::Ignore { .. }) => return Ok(()),
        Err(err) => return Err(TestCaseError::fail(format!("list: {err}"))),
    };
    let mut tar = Vec::new();
    let summary =
        ctx_tar::write_tar(spec, &mut tar).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&summary, &listing.summary);
    prop_assert_eq!(summary.archive_bytes, tar.len() as u64);
    check_raw_headers(&tar);

    // The tar crate: same entries, in the listed order.
    let members = members(&tar);
    prop_assert_eq!(members.len(), listing.entries.len());
    for (m, e) in members.iter().zip(&listing.entries) {
        prop_assert_eq!(&m.name, &e.path_bytes().to_vec());
        prop_assert_eq!(m.typeflag, e.kind.typeflag());
        prop_assert_eq!(m.mode, e.mode);
        prop_assert_eq!(m.size, e.size);
        prop_assert_eq!(&m.link, &e.target_bytes().to_vec());
        if e.kind == EntryKind::Link {
            prop_assert!(!m.link.is_empty());
        }
    }
    let want = expected(root, &listing);

    // Python's tarfile, errorlevel=2.
    let py_out = tempfile::tempdir().expect("tempdir");
    let py: BTreeMap<Vec<u8>, Seen> = python_members(&tar, Some(py_out.path()))
        .into_iter()
        .map(|p| {
            let data = if p.typeflag == "0" {
                std::fs::read(py_out.path().join(OsStr::from_bytes(&p.name_bytes())))
                    .expect("extracted")
            } else {
                Vec::new()
            };
            (
                p.name_bytes(),
                (p.typeflag.as_bytes()[0], p.mode, p.link_bytes(), data),
            )
        })
        .collect();
    prop_assert_eq!(&py, &want);

    // GNU tar: extract, then look at what it made.
    let gnu_out = tempfile::tempdir().expect("tempdir");
    gnu_tar_extract(&tar, gnu_out.path());
    for (name, (typeflag, mode, target, data)) in &want {
        let path = gnu_out.path().join(OsStr::from_bytes(name));
        let meta = path
            .symlink_metadata()
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", path.display())))?;
        use std::os::unix::fs::MetadataExt;
        match typeflag {
            b'5' => prop_assert!(meta.is_dir()),
            b'2' => {
                prop_assert!(meta.file_type().is_symlink());
                let on_disk = std::fs::read_link(&path).expect("readlink");
                prop_assert_eq!(on_disk.as_os_str().as_bytes(), &target[..]);
            }
            b'0' | b'1' => {
                prop_assert!(meta.is_file());
                prop_assert_eq!(meta.mode() & 0o7777, *mode);
                let expected_data = if *typeflag == b'1' {
                    &want[target].3
                } else {
                    data
                };
                prop_assert_eq!(&std::fs::read(&path).expect("read"), expected_data);
            }
            _ => {}
        }
        if *typeflag == b'5' {
            prop_assert_eq!(meta.mode() & 0o7777, *mode);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_read_back_the_same(nodes in prop::collection::vec(node(), 1..14), rules in rules()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ctx");
        std::fs::create_dir(&root).expect("mkdir");
        build(&root, &nodes);
        let mut spec = ContextSpec::new(&root);
        spec.dockerfile = Dockerfile::None;
        check_tree(&root, &spec)?;
        spec.ignore = IgnoreSource::Text(rules.join("\n"));
        check_tree(&root, &spec)?;
    }
}
