//! Inputs the `dockerignore` fuzz target (`fuzz/`) found, kept as tests of the matcher.
//!
//! `IgnoreRules::may_match_below` reads an include pattern component by component, but two
//! pieces of Go regexp syntax that patternmatcher leaves unescaped reach across components:
//! an alternation (`|`) splits the whole expression, and a counted repeat (`{0}`) right
//! after a `/` repeats the separator. An include pattern with a wildcard makes fsutil walk
//! every directory (its `onlyPrefixIncludes` is false), so BuildKit sends whatever the
//! expression matches, and so does the walk with includes (`may_match_below` takes any
//! pattern with such syntax to match anywhere). With only literal prefixes fsutil skips
//! what is not on their way, whatever a regexp character could match, and so does the walk.

use ctx_tar::dockerignore::{IgnoreRules, WalkFilter};

/// The paths a walk with `includes` sends from `tree` (in walk order), without ignore rules.
fn sent_with_includes(includes: &[&str], tree: &[(&str, bool)]) -> Vec<String> {
    let rules = IgnoreRules::default();
    let includes = IgnoreRules::from_patterns(includes).expect("valid include patterns");
    let mut walk = WalkFilter::with_includes(&rules, &includes);
    let mut skipped: Option<String> = None;
    let mut sent = Vec::new();
    for &(path, is_dir) in tree {
        if skipped.as_deref().is_some_and(|dir| path.starts_with(dir)) {
            continue;
        }
        skipped = None;
        match walk.visit(path, is_dir) {
            ctx_tar::dockerignore::Visit::Send { parents } => {
                sent.extend(parents);
                sent.push(path.to_owned());
            }
            ctx_tar::dockerignore::Visit::Skip(_) => {}
            ctx_tar::dockerignore::Visit::SkipDir(_) => skipped = Some(format!("{path}/")),
        }
    }
    sent
}

/// patternmatcher's expression for `b*/c|h/a` is `^b[^/]*/c|h/a$`, whose second branch
/// matches `h/a`; `may_match_below("h")` stops at `b*`, which does not match `h`.
#[test]
fn an_alternation_in_a_later_component_still_matches_below() {
    let includes = IgnoreRules::from_patterns(["b*/c|h/a"]).unwrap();
    // For include patterns, "excluded" means "matched".
    assert!(includes.explain("h/a").excluded && !includes.explain("h").excluded);
    assert!(includes.may_match_below("h"));
    assert_eq!(
        sent_with_includes(&["b*/c|h/a"], &[("h", true), ("h/a", false)]),
        ["h", "h/a"]
    );
}

/// `c*/a/{0}b/d` is `^c[^/]*/a/{0}b/d$`: the `/` before `{0}` is repeated zero times, so
/// it matches `c/ab/d`; `may_match_below("c/ab")` compares `a` with `ab`.
#[test]
fn a_counted_repeat_of_a_separator_still_matches_below() {
    let includes = IgnoreRules::from_patterns(["c*/a/{0}b/d"]).unwrap();
    assert!(includes.explain("c/ab/d").excluded && !includes.explain("c/ab").excluded);
    assert!(includes.may_match_below("c/ab"));
    assert_eq!(
        sent_with_includes(
            &["c*/a/{0}b/d"],
            &[("c", true), ("c/ab", true), ("c/ab/d", false)]
        ),
        ["c", "c/ab", "c/ab/d"]
    );
}

/// `a|x/b/*` has only a literal prefix (`a|x/b`, its trailing `/*` aside): fsutil skips `x`,
/// which is not on its way, although the expression `^a|x/b/[^/]*(/.*)?$` matches `x/b/c`.
#[test]
fn with_only_literal_prefixes_unreached_directories_are_skipped_like_fsutil() {
    let includes = IgnoreRules::from_patterns(["a|x/b/*"]).unwrap();
    assert!(includes.only_prefix_patterns());
    assert!(includes.explain("x/b/c").excluded && includes.may_match_below("x"));
    assert!(includes.skips_unmatched_dir("x"));
    assert_eq!(
        sent_with_includes(
            &["a|x/b/*"],
            &[("x", true), ("x/b", true), ("x/b/c", false)]
        ),
        Vec::<String>::new()
    );
}
