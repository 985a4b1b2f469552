//! Checks every `.dockerignore` vector (`tests/data/dockerignore-vectors.json`): parse
//! errors, BuildKit's exclusion decision, and what BuildKit's walker sends for the tree.

mod vector_data;

use std::collections::BTreeSet;

use ctx_tar::dockerignore::IgnoreRules;
use vector_data::Vector;

/// Returns a description of what differs, or `None` when the vector passes.
fn check(v: &Vector) -> Option<String> {
    let parsed = IgnoreRules::parse(&v.patterns.join("\n"));
    if let Some(expected) = &v.error {
        // fsutil: `invalid excludepatterns: [<patterns>]: <patternmatcher's message>`.
        let message = expected
            .rsplit_once("]: ")
            .map_or(expected.as_str(), |(_, m)| m);
        return match parsed {
            Err(err) if err.message.contains(message) => None,
            Err(err) => Some(format!("error {:?}, want {message:?}", err.to_string())),
            Ok(_) => Some(format!("parsed, want error {message:?}")),
        };
    }
    let rules = match parsed {
        Ok(rules) => rules,
        Err(err) => return Some(format!("unexpected error {err}")),
    };
    let Some(excluded) = v.excluded else {
        return Some("vector has neither `error` nor `excluded`".to_owned());
    };
    let mut tree = vec![(v.path.as_str(), v.is_dir)];
    tree.extend(v.extra_paths.iter().map(|p| (p.as_str(), false)));
    let selected = rules.select(&tree);
    let name = |path: &str, is_dir: bool| {
        if is_dir {
            format!("{path}/")
        } else {
            path.to_owned()
        }
    };
    let sent: BTreeSet<String> = selected.iter().map(|s| name(&s.path, s.is_dir)).collect();
    let only_parent: BTreeSet<String> = selected
        .iter()
        .filter(|s| s.only_as_parent)
        .map(|s| name(&s.path, s.is_dir))
        .collect();
    let want_sent: BTreeSet<String> = v.sent.iter().flatten().cloned().collect();
    let want_only_parent: BTreeSet<String> =
        v.sent_only_as_parent.iter().flatten().cloned().collect();

    let mut problems = Vec::new();
    let absent = !sent.contains(&name(&v.path, v.is_dir));
    if absent != excluded {
        problems.push(format!("excluded: got {absent}, want {excluded}"));
    }
    if !v.is_dir {
        let explained = rules.explain(&v.path);
        if explained.excluded != excluded {
            problems.push(format!(
                "explain: got {explained:?}, want excluded={excluded}"
            ));
        }
    }
    if sent != want_sent {
        problems.push(format!("sent: got {sent:?}, want {want_sent:?}"));
    }
    if only_parent != want_only_parent {
        problems.push(format!(
            "only as parent: got {only_parent:?}, want {want_only_parent:?}"
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[test]
fn every_vector_passes() {
    let vectors = vector_data::load();
    assert!(vectors.len() >= 100, "only {} vectors", vectors.len());
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| check(v).map(|why| format!("{}: {why}", v.id)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
