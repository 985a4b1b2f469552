//! The context-used vectors through the real walker: for each vector's tree, `.dockerignore`
//! and the paths BuildKit's frontend asked for, what `list` sends with
//! [`Include::Paths`] must be what BuildKit's file sync transferred (in walk order), plus
//! the Dockerfile, which a tar body always carries. A vector that reads the context at all
//! (`used: all`) is checked with [`Include::All`]; one that reads none of it with no paths.

use ctx_tar::{ContextSpec, EntryKind, Include};
use devbuild_tests::context_vectors::{context_vectors, sent_line};

#[test]
fn every_context_used_vector_sends_what_buildkit_sent() {
    let vectors = context_vectors();
    let mut failures = Vec::new();
    for v in &vectors {
        let dir = tempfile::tempdir().expect("tempdir");
        v.make_tree(dir.path());
        let mut spec = ContextSpec::new(dir.path());
        spec.include = match v.used.as_str() {
            "all" => Include::All,
            _ => Include::Paths(v.followpaths.clone()),
        };
        let listing = match ctx_tar::list(&spec) {
            Ok(listing) => listing,
            Err(e) => {
                failures.push(format!("{}: {e}", v.id));
                continue;
            }
        };
        let got: Vec<String> = listing
            .entries
            .iter()
            .filter(|e| {
                e.path != "Dockerfile" || v.sent.iter().any(|s| s.ends_with("\tDockerfile"))
            })
            .map(|e| {
                let kind = match e.kind {
                    EntryKind::Dir => "dir",
                    EntryKind::File => "file",
                    EntryKind::Link => "symlink",
                    other => other.as_str(),
                };
                sent_line(kind, e.mode, &e.path, e.target.as_deref())
            })
            .collect();
        if got != v.sent {
            failures.push(format!("{}:\n  got  {got:?}\n  want {:?}", v.id, v.sent));
        }
        if !listing.entries.iter().any(|e| e.path == "Dockerfile") {
            failures.push(format!("{}: the Dockerfile is not in the tar", v.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
