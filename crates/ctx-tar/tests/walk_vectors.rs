//! The `.dockerignore` vectors run through the real walker on real trees: for each vector,
//! `path` and `extra_paths` are created in a temp dir, and what `list` sends must be the
//! vector's `sent` (BuildKit's walker), including the parents of re-included paths.

mod common;
mod vector_data;

use std::collections::BTreeSet;

use ctx_tar::{ContextSpec, Dockerfile, IgnoreSource};
use vector_data::Vector;

/// What differs for one vector, or `None`.
fn check(v: &Vector) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    if v.is_dir {
        common::mkdir(dir.path(), &v.path);
    } else {
        common::write(dir.path(), &v.path, b"x");
    }
    for extra in &v.extra_paths {
        common::write(dir.path(), extra, b"x");
    }
    let mut spec = ContextSpec::new(dir.path());
    spec.dockerfile = Dockerfile::None;
    spec.ignore = IgnoreSource::Text(v.patterns.join("\n"));
    let result = ctx_tar::list(&spec);
    if let Some(expected) = &v.error {
        let message = expected
            .rsplit_once("]: ")
            .map_or(expected.as_str(), |(_, m)| m);
        return match result {
            Err(ctx_tar::Error::Ignore {
                message: got,
                file: None,
                ..
            }) if got.contains(message) => None,
            Err(err) => Some(format!("error {err}, want {message:?}")),
            Ok(_) => Some(format!("listed, want error {message:?}")),
        };
    }
    let listing = match result {
        Ok(listing) => listing,
        Err(err) => return Some(format!("error {err}")),
    };
    let sent: BTreeSet<String> = listing.entries.iter().map(|e| e.path.clone()).collect();
    let want: BTreeSet<String> = v.sent.clone().unwrap_or_default().into_iter().collect();
    if sent != want {
        return Some(format!("sent {sent:?}, want {want:?}"));
    }
    for parent in v.sent_only_as_parent.iter().flatten() {
        let explained = ctx_tar::explain(&spec, parent).expect("explain");
        if !explained.excluded {
            return Some(format!(
                "{parent} should be excluded (sent only as a parent)"
            ));
        }
    }
    // Tar order: each directory before its contents.
    for (i, entry) in listing.entries.iter().enumerate() {
        if let Some((parent, _)) = entry.path.trim_end_matches('/').rsplit_once('/') {
            let parent = format!("{parent}/");
            let position = listing.entries.iter().position(|e| e.path == parent);
            if position.is_none_or(|p| p >= i) {
                return Some(format!("{} sent before (or without) {parent}", entry.path));
            }
        }
    }
    None
}

#[test]
fn every_vector_sends_what_buildkit_sends() {
    let failures: Vec<String> = vector_data::load()
        .iter()
        .filter_map(|v| check(v).map(|why| format!("{} {:?}: {why}", v.id, v.patterns)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
