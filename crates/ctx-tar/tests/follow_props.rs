//! Properties of sending only the paths a build reads ([`Include::Paths`]), on random real
//! trees (directories, files, symlinks of every kind: relative, absolute, to the root, up,
//! dangling, looping), random paths to follow (literal, missing, through links, with
//! wildcards) and random ignore rules:
//!
//! - it never fails where the whole context does not, and never panics;
//! - every entry sent is sent, identical, when the whole context is (a subset: the used
//!   set never invents or alters anything);
//! - the parents of every entry sent are sent before it;
//! - following every top-level name of a tree without top-level links sends exactly what
//!   the whole context sends.

mod common;

use std::collections::BTreeSet;

use ctx_tar::{ContextSpec, Entry, IgnoreSource, Include};
use proptest::prelude::*;

/// One item of a random tree.
#[derive(Debug, Clone)]
enum Item {
    Dir(String),
    File(String),
    Link(String, String),
}

const NAMES: [&str; 8] = ["a", "b", "src", ".env", "x.json", "l", "q?", "d"];

fn rel_path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(NAMES.to_vec()), 1..4).prop_map(|p| p.join("/"))
}

fn item() -> impl Strategy<Value = Item> {
    let target = prop_oneof![
        rel_path(),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("../..".to_owned()),
        Just("/src".to_owned()),
        Just("/".to_owned()),
        Just("missing".to_owned()),
        rel_path().prop_map(|p| format!("../{p}")),
    ];
    prop_oneof![
        2 => rel_path().prop_map(Item::Dir),
        3 => rel_path().prop_map(Item::File),
        2 => (rel_path(), target).prop_map(|(p, t)| Item::Link(p, t)),
    ]
}

fn follow_path() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        4 => prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
        1 => Just("*".to_owned()),
        1 => Just("?".to_owned()),
        1 => Just("s*".to_owned()),
        1 => Just("*.json".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(".".to_owned()),
    ];
    prop::collection::vec(part, 1..4).prop_map(|p| p.join("/"))
}

fn rules() -> impl Strategy<Value = String> {
    let rule = prop_oneof![
        rel_path(),
        rel_path().prop_map(|p| format!("!{p}")),
        Just("**/b".to_owned()),
        Just("*".to_owned()),
        Just("!src/**".to_owned()),
    ];
    prop::collection::vec(rule, 0..3).prop_map(|r| r.join("\n"))
}

/// Makes the tree; items that clash with earlier ones (a file where a directory is) are
/// left out.
fn make(root: &std::path::Path, items: &[Item]) {
    for item in items {
        let rel = match item {
            Item::Dir(p) | Item::File(p) | Item::Link(p, _) => p,
        };
        let path = root.join(rel);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        let parent_made = path
            .parent()
            .is_some_and(|p| std::fs::create_dir_all(p).is_ok());
        if !parent_made {
            continue;
        }
        let _ = match item {
            Item::Dir(_) => std::fs::create_dir_all(&path),
            Item::File(_) => std::fs::write(&path, b"data"),
            Item::Link(_, target) => std::os::unix::fs::symlink(target, &path),
        };
    }
}

/// What identifies an entry in the tar: everything but the data.
fn key(e: &Entry) -> (String, String, u32, u64, Option<String>) {
    (
        e.path.clone(),
        e.kind.to_string(),
        e.mode,
        e.size,
        e.target.clone(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_used_set_is_a_subset_of_the_whole_context(
        items in prop::collection::vec(item(), 0..16),
        follow in prop::collection::vec(follow_path(), 0..4),
        ignore in rules(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        make(dir.path(), &items);
        let mut spec = ContextSpec::new(dir.path());
        spec.ignore = IgnoreSource::Text(ignore);
        let whole = match ctx_tar::list(&spec) {
            Ok(listing) => listing,
            // Invalid rules fail both ways; nothing more to see.
            Err(_) => return Ok(()),
        };
        spec.include = Include::Paths(follow.clone());
        let used = ctx_tar::list(&spec);
        let used = match used {
            Ok(listing) => listing,
            Err(e) => return Err(TestCaseError::fail(format!("{follow:?}: {e}"))),
        };
        let all: BTreeSet<_> = whole.entries.iter().map(key).collect();
        let mut sent = BTreeSet::new();
        for entry in &used.entries {
            prop_assert!(all.contains(&key(entry)), "{follow:?}: {entry:?} not in the whole context");
            // Parents come first.
            let path = entry.path.trim_end_matches('/');
            if let Some((parent, _)) = path.rsplit_once('/') {
                prop_assert!(sent.contains(&format!("{parent}/")), "{follow:?}: {} before its parent", entry.path);
            }
            sent.insert(entry.path.clone());
        }
        prop_assert!(used.summary.entries <= whole.summary.entries);
    }

    #[test]
    fn following_every_top_level_name_sends_the_whole_context(
        items in prop::collection::vec(item(), 0..16),
        ignore in rules(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        make(dir.path(), &items);
        let mut spec = ContextSpec::new(dir.path());
        spec.ignore = IgnoreSource::Text(ignore);
        let Ok(whole) = ctx_tar::list(&spec) else {
            return Ok(());
        };
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let has_links = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .any(|e| e.expect("entry").path().is_symlink());
        prop_assume!(!has_links);
        spec.include = Include::Paths(names);
        let used = ctx_tar::list(&spec).expect("lists");
        let whole: Vec<_> = whole.entries.iter().map(key).collect();
        let used: Vec<_> = used.entries.iter().map(key).collect();
        prop_assert_eq!(used, whole);
    }
}

#[test]
fn nothing_to_follow_sends_only_the_dockerfile() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::write(dir.path(), "ci/Dockerfile", b"FROM scratch\n");
    common::write(dir.path(), "big/file", b"unused");
    common::write(dir.path(), ".dockerignore", b"big\n");
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = ctx_tar::Dockerfile::Path(dir.path().join("ci/Dockerfile"));
    spec.include = Include::Paths(Vec::new());
    let listing = ctx_tar::list(&spec).expect("lists");
    let paths: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["ci/", "ci/Dockerfile"]);
    // `.dockerignore` and `big` are not read by the build; `big` is also excluded, but
    // the build's not reading it comes first.
    assert_eq!((listing.summary.unused, listing.summary.excluded), (2, 0));
}

#[test]
fn an_invalid_path_to_follow_names_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = ctx_tar::Dockerfile::None;
    spec.include = Include::Paths(vec!["ok".into(), "a[".into()]);
    let err = ctx_tar::list(&spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid context path \"a[\" (a path the build reads): syntax error in pattern"
    );
}
