//! Properties of the `.dockerignore` matcher: it never panics, it agrees with itself
//! (explaining a path gives the walk's answer), and it stays fast on hostile patterns.

use std::time::{Duration, Instant};

use ctx_tar::dockerignore::{IgnoreRules, ParentMatch};
use proptest::prelude::*;

/// Text made mostly of the characters that mean something to the parser.
fn tricky(max: usize) -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "*",
        "**",
        "?",
        "[",
        "]",
        "^",
        "!",
        "\\",
        "/",
        ".",
        "..",
        "-",
        "a",
        "b",
        "é",
        "☺",
        " ",
        "#",
        "{",
        "}",
        "(",
        ")",
        "$",
        "+",
        "|",
        ":",
        "[:alpha:]",
        "\\Q",
        "\\E",
        "\\d",
        "\\x4",
        "\\p",
        "\n",
        "\r",
        "\u{feff}",
        "\t",
    ]);
    prop::collection::vec(pieces, 0..max).prop_map(|p| p.concat())
}

/// Relative paths over a small alphabet, so that patterns and paths meet.
fn path() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec!["a", "b", "ab", ".a", "a.go", "é", "[", "a b", "x*"]);
    prop::collection::vec(names, 1..5).prop_map(|p| p.join("/"))
}

proptest! {
    #[test]
    fn never_panics(text in tricky(24), paths in prop::collection::vec(path(), 0..6)) {
        if let Ok(rules) = IgnoreRules::parse(&text) {
            for p in &paths {
                let _ = rules.decide(p, &ParentMatch::default());
                let _ = rules.explain(p);
                let _ = rules.can_prune(p);
            }
            let tree: Vec<(&str, bool)> = paths.iter().map(|p| (p.as_str(), false)).collect();
            let _ = rules.select(&tree);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,64}", p in ".{0,32}") {
        if let Ok(rules) = IgnoreRules::parse(&text) {
            let _ = rules.explain(&p);
        }
    }

    /// The walk sends a file exactly when `explain` says it is not excluded.
    #[test]
    fn explain_agrees_with_the_walk(
        lines in prop::collection::vec(
            prop::sample::select(vec![
                "a", "a/b", "!a/b", "*", "!*", "**", "!**/*.go", "*.go", "!a/*.go", "a/**",
                "!a/b/c", "b*", "!b*/x", "**/x", "!**/x", "a/*/x", "!a", "?",
            ]),
            0..5,
        ),
        files in prop::collection::vec(
            prop::sample::select(vec![
                "a", "x", "a.go", "a/b", "a/x", "a/a.go", "a/b/c", "a/b/x", "a/b/c/d.go",
                "b/x", "bb/x", "b/a.go", "c/d/x",
            ]),
            1..6,
        ),
    ) {
        let rules = IgnoreRules::parse(&lines.join("\n")).unwrap();
        // A name can't be both a file and a directory: keep leaves only.
        let leaves: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| !files.iter().any(|g| g.starts_with(&format!("{f}/"))))
            .collect();
        let tree: Vec<(&str, bool)> = leaves.iter().map(|&f| (f, false)).collect();
        let sent = rules.select(&tree);
        for file in leaves {
            let walked = sent.iter().any(|s| s.path == file);
            prop_assert_eq!(walked, !rules.explain(file).excluded, "{}", file);
        }
    }
}

fn assert_fast(what: &str, run: impl FnOnce()) {
    let start = Instant::now();
    run();
    let took = start.elapsed();
    // Generous: linear matching takes milliseconds; backtracking would take ages.
    assert!(took < Duration::from_secs(5), "{what} took {took:?}");
}

#[test]
fn nested_double_stars_stay_linear() {
    // A backtracking matcher tries every way of spreading 30 directories over 150 `**/`.
    let pattern = format!("{}*a", "**/".repeat(150));
    let rules = IgnoreRules::parse(&pattern).unwrap();
    let path = format!("{}{}b", "ax/y/".repeat(15), "a".repeat(2000));
    assert_fast("**/…/*a", || {
        assert!(!rules.explain(&path).excluded);
        assert!(rules.explain(&format!("{path}/a")).excluded);
    });
}

#[test]
fn many_stars_stay_linear() {
    let pattern = "*a".repeat(100) + "c";
    let rules = IgnoreRules::parse(&pattern).unwrap();
    let path = "a".repeat(3000) + "b";
    assert_fast("*a*a…c", || {
        assert!(!rules.decide(&path, &ParentMatch::default()).0.excluded);
    });
}

#[test]
fn long_classes_and_long_files_are_fine() {
    let text = format!("[{}]x\n", "a-z0-9".repeat(1000)) + &"docs/**\n!docs/keep\n".repeat(2000);
    let rules = IgnoreRules::parse(&text).unwrap();
    assert_eq!(rules.rules().len(), 4001);
    assert_fast("4001 rules", || {
        assert!(!rules.explain("docs/keep").excluded);
        assert!(rules.explain("docs/other").excluded);
    });
}
