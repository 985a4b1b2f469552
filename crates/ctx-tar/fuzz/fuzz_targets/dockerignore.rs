//! Fuzz target: the `.dockerignore` reader and matcher never panic, whatever the ignore file,
//! the context's paths and the paths to follow, and agree with themselves:
//!
//! - a parse error names a line of the input, a decision names the rule that made it;
//! - `explain` gives the walk's answer (`select`) for every entry of the tree;
//! - `select` and a walk with `WalkFilter::new` send the same entries, in walk order
//!   (depth first, names sorted), each after its parents;
//! - a walk with include patterns (`WalkFilter::with_includes`) sends exactly the entries
//!   an include pattern matches (or a parent of which it matches) and the rules keep, and
//!   `may_match_below` never skips a directory that holds such an entry.
//!
//! The input is `IGNORE FILE \0 PATHS \0 INCLUDES`, read as lossy UTF-8: the ignore file,
//! compiled both as a file (`IgnoreRules::parse`) and as one pattern a line
//! (`IgnoreRules::from_patterns`); the context's paths, one a line, a trailing `/` making a
//! directory; the paths to follow, one include pattern a line (no third section: no walk
//! with includes). The seed corpus in `corpus/dockerignore/` is made of the crate's
//! `.dockerignore` vectors and the workspace's context-used vectors in this format.
#![no_main]

use std::collections::{BTreeMap, HashSet};

use ctx_tar::dockerignore::{Decision, IgnoreRules, ParentMatch, Selected, Visit, WalkFilter};
use libfuzzer_sys::fuzz_target;

/// At most this many lines of paths, and of include patterns, are read.
const MAX_LINES: usize = 64;

/// The tree keeps at most this many components of a path, so that checking every entry
/// (each walked from the root) stays cheap.
const MAX_DEPTH: usize = 8;

/// The tree stops growing at this many entries, implied parents included.
const MAX_ENTRIES: usize = 128;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let mut sections = input.splitn(3, '\0');
    let text = sections.next().unwrap_or_default();
    let raw_paths: Vec<&str> = sections
        .next()
        .map(|paths| paths.split('\n').take(MAX_LINES).collect())
        .unwrap_or_default();
    let includes: Option<Vec<&str>> = sections
        .next()
        .map(|includes| includes.split('\n').take(MAX_LINES).collect());
    let tree = Tree::new(&raw_paths);
    let include_rules = includes.and_then(|patterns| {
        let compiled = IgnoreRules::from_patterns(&patterns);
        check_compiled(&compiled, patterns.len());
        compiled.ok()
    });

    let lines: Vec<&str> = text.split('\n').collect();
    let parsed = IgnoreRules::parse(text);
    check_compiled(&parsed, lines.len());
    let listed = IgnoreRules::from_patterns(&lines);
    check_compiled(&listed, lines.len());
    for rules in [parsed, listed].into_iter().flatten() {
        check_any_path(&rules, &raw_paths);
        let sent = check_select(&rules, &tree);
        if let Some(includes) = &include_rules {
            check_walk_with_includes(&rules, includes, &tree, &sent);
        }
    }
});

/// The context's tree as a walker sees it: clean relative paths, implied parents added, in
/// walk order (depth first, each directory's names sorted by their bytes, a directory
/// before its contents).
struct Tree {
    /// `(path, is_dir)` in walk order.
    entries: Vec<(String, bool)>,
}

impl Tree {
    /// The tree of `paths` (a trailing `/` marks a directory), as `select` builds it: empty,
    /// `.` and `..` components (which no walker yields) are dropped, a name that is also a
    /// parent is a directory.
    fn new(paths: &[&str]) -> Tree {
        let mut entries: BTreeMap<Vec<&str>, bool> = BTreeMap::new();
        for path in paths {
            let mut parts: Vec<&str> = path
                .split('/')
                .filter(|part| !matches!(*part, "" | "." | ".."))
                .collect();
            let truncated = parts.len() > MAX_DEPTH;
            parts.truncate(MAX_DEPTH);
            if parts.is_empty() || entries.len() + parts.len() > MAX_ENTRIES {
                continue;
            }
            for depth in 1..parts.len() {
                entries.insert(parts[..depth].to_vec(), true);
            }
            let is_dir = truncated || path.ends_with('/');
            *entries.entry(parts).or_insert(false) |= is_dir;
        }
        Tree {
            entries: entries
                .into_iter()
                .map(|(parts, is_dir)| (parts.join("/"), is_dir))
                .collect(),
        }
    }

    /// The entries as `IgnoreRules::select` takes them.
    fn as_select_input(&self) -> Vec<(&str, bool)> {
        self.entries
            .iter()
            .map(|(path, is_dir)| (path.as_str(), *is_dir))
            .collect()
    }

    /// Whether `path` is one of the entries, and its `is_dir`.
    fn is_dir(&self, path: &str) -> Option<bool> {
        self.entries
            .binary_search_by(|(entry, _)| walk_order(entry, path))
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// The order of a walk: by components, each compared by its bytes.
fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Whether `path` lies strictly below directory `dir`.
fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A parse error names a line of the input (1-based); rules come in line order.
fn check_compiled(
    compiled: &Result<IgnoreRules, ctx_tar::dockerignore::IgnoreError>,
    lines: usize,
) {
    match compiled {
        Ok(rules) => {
            assert!(rules
                .rules()
                .windows(2)
                .all(|pair| pair[0].line < pair[1].line));
            for rule in rules.rules() {
                assert!((1..=lines).contains(&rule.line), "{rule}");
                assert!(!rule.pattern.is_empty(), "{rule}");
            }
        }
        Err(err) => assert!((1..=lines).contains(&err.line), "{err} of {lines} lines"),
    }
}

/// The deciding rule agrees with the decision: the last matching rule wins, so a path is
/// excluded exactly when that rule is not an exception.
fn check_decision(rules: &IgnoreRules, decision: Decision) {
    let by_rule = decision.rule.is_some_and(|i| !rules.rules()[i].exception);
    assert_eq!(decision.excluded, by_rule, "{decision:?}");
}

/// Any text as a path (not clean, absolute, empty, with `..`): no panic, consistent
/// decisions.
fn check_any_path(rules: &IgnoreRules, raw_paths: &[&str]) {
    for &path in raw_paths {
        check_decision(rules, rules.decide(path, &ParentMatch::default()).0);
        check_decision(rules, rules.explain(path));
        let _ = rules.can_prune(path);
        let _ = rules.may_match_below(path);
    }
    let raw_tree: Vec<(&str, bool)> = raw_paths
        .iter()
        .map(|&path| (path, path.ends_with('/')))
        .collect();
    let _ = rules.select(&raw_tree);
}

/// `select` on the tree: in walk order with parents first, the same as a walk with
/// `WalkFilter::new`, and sending an entry exactly when `explain` does not exclude it (an
/// excluded directory only as the parent of something sent). Returns what it sends.
fn check_select(rules: &IgnoreRules, tree: &Tree) -> Vec<Selected> {
    let sent = rules.select(&tree.as_select_input());
    check_walk_order(&sent, tree);
    let walked = walk(WalkFilter::new(rules), tree);
    assert_eq!(sent, walked, "select and WalkFilter::new differ");
    let mut sent_entries = sent.iter().peekable();
    for (path, _) in &tree.entries {
        let decision = rules.explain(path);
        check_decision(rules, decision);
        let entry = sent_entries.next_if(|entry| &entry.path == path);
        match entry {
            Some(entry) if entry.only_as_parent => {
                assert!(
                    decision.excluded,
                    "{path:?}: sent as a parent, not excluded"
                );
            }
            Some(_) => assert!(!decision.excluded, "{path:?}: sent, but excluded"),
            None => assert!(decision.excluded, "{path:?}: not sent, not excluded"),
        }
    }
    sent
}

/// The walk with include patterns sends exactly the entries that an include pattern
/// matches (itself or through a parent) and the rules keep (the entries the plain walk
/// sends); `may_match_below` is false only for directories with no matched entry below,
/// as the walk skips an unmatched directory for which it is false.
fn check_walk_with_includes(
    rules: &IgnoreRules,
    includes: &IgnoreRules,
    tree: &Tree,
    sent_without_includes: &[Selected],
) {
    let used = walk(WalkFilter::with_includes(rules, includes), tree);
    check_walk_order(&used, tree);
    // For includes, "excluded" means "matched".
    let matched: Vec<bool> = tree
        .entries
        .iter()
        .map(|(path, _)| decide_from_root(includes, path).excluded)
        .collect();
    let dirs = tree.entries.iter().zip(&matched);
    for ((dir, _), _) in dirs.filter(|((_, is_dir), matched)| *is_dir && !**matched) {
        let _ = includes.can_prune(dir);
        if includes.may_match_below(dir) {
            continue;
        }
        for ((path, _), matched) in tree.entries.iter().zip(&matched) {
            assert!(
                !(*matched && is_below(path, dir)),
                "may_match_below({dir:?}) is false, but an include pattern matches {path:?}"
            );
        }
    }
    let sent_whole: HashSet<&str> = sent_without_includes
        .iter()
        .filter(|entry| !entry.only_as_parent)
        .map(|entry| entry.path.as_str())
        .collect();
    // With only literal prefixes, fsutil skips an unmatched directory off their way even
    // where a Go regexp character (`a|x/b/*`) would match below it: so does the walk.
    let skipped_like_fsutil = |path: &str| {
        includes.only_prefix_patterns()
            && path.match_indices('/').any(|(slash, _)| {
                let dir = &path[..slash];
                !decide_from_root(includes, dir).excluded && includes.skips_unmatched_dir(dir)
            })
    };
    let mut used_entries = used.iter().peekable();
    for ((path, _), matched) in tree.entries.iter().zip(matched) {
        let expected =
            matched && sent_whole.contains(path.as_str()) && !skipped_like_fsutil(path);
        let entry = used_entries.next_if(|entry| &entry.path == path);
        let sent = entry.is_some_and(|entry| !entry.only_as_parent);
        assert_eq!(
            sent,
            expected,
            "{path:?}: include pattern matches: {matched}, sent without includes: {}",
            sent_whole.contains(path.as_str())
        );
    }
}

/// Decides `path` with its parents' results, each decided from the root, without pruning.
fn decide_from_root(rules: &IgnoreRules, path: &str) -> Decision {
    let mut parent = ParentMatch::default();
    for (slash, _) in path.match_indices('/') {
        parent = rules.decide(&path[..slash], &parent).1;
    }
    rules.decide(path, &parent).0
}

/// A walker over the tree: every entry in walk order, each skipped directory's contents
/// left out, and what each visit says to send.
fn walk(mut filter: WalkFilter<'_>, tree: &Tree) -> Vec<Selected> {
    let mut skipped_dir: Option<&str> = None;
    let mut sent = Vec::new();
    for (path, is_dir) in &tree.entries {
        if skipped_dir.is_some_and(|dir| is_below(path, dir)) {
            continue;
        }
        skipped_dir = None;
        match filter.visit(path, *is_dir) {
            Visit::SkipDir(_) => {
                assert!(*is_dir, "{path:?}: SkipDir for a file");
                skipped_dir = Some(path);
            }
            Visit::Skip(_) => {}
            Visit::Send { parents } => {
                for parent in parents {
                    assert!(
                        is_below(path, &parent),
                        "{parent:?} is no parent of {path:?}"
                    );
                    sent.push(Selected {
                        path: parent,
                        is_dir: true,
                        only_as_parent: true,
                    });
                }
                sent.push(Selected {
                    path: path.clone(),
                    is_dir: *is_dir,
                    only_as_parent: false,
                });
            }
        }
    }
    sent
}

/// What a walk sends is entries of the tree (with their kind), once each, in walk order,
/// every entry after all its parents; only directories are sent as parents.
fn check_walk_order(sent: &[Selected], tree: &Tree) {
    for pair in sent.windows(2) {
        assert!(
            walk_order(&pair[0].path, &pair[1].path).is_lt(),
            "{:?} sent before {:?}",
            pair[0].path,
            pair[1].path
        );
    }
    let mut seen: HashSet<&str> = HashSet::new();
    for entry in sent {
        assert_eq!(tree.is_dir(&entry.path), Some(entry.is_dir), "{entry:?}");
        assert!(entry.is_dir || !entry.only_as_parent, "{entry:?}");
        for (slash, _) in entry.path.match_indices('/') {
            let parent = &entry.path[..slash];
            assert!(
                seen.contains(parent),
                "{:?} sent before {parent:?}",
                entry.path
            );
        }
        seen.insert(&entry.path);
    }
}
