//! Go's own answers: each line of `data/go-vectors.jsonl` is an expression with what Go's
//! `regexp.Compile` said (the error text) or, for six texts, what `MatchString`,
//! `FindStringIndex` and `ReplaceAllString` returned. The lines come from random
//! expressions built of pieces that reach every corner of the syntax (classes, flags,
//! groups, escapes, repetition limits), run through Go 1.27's regexp package.
//!
//! `GO_REGEXP_VECTORS=<file>` checks another file of the same form instead (the
//! out-of-tree differential run uses it with some 190,000 lines).

use go_regexp::Regex;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    expr: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    texts: Vec<String>,
    #[serde(default)]
    r#match: Vec<bool>,
    #[serde(default)]
    find: Vec<Vec<usize>>,
    #[serde(default)]
    replace: Vec<String>,
}

#[test]
fn agrees_with_go() {
    let path = std::env::var("GO_REGEXP_VECTORS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/go-vectors.jsonl").to_owned()
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let mut failures = Vec::new();
    let mut cases = 0;
    for (number, line) in text.lines().enumerate() {
        let case: Case =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{path}:{}: {err}", number + 1));
        cases += 1;
        let re = match Regex::new(&case.expr) {
            Err(err) => {
                if err.to_string() != case.error {
                    failures.push(format!(
                        "{:?}: error {err} but Go: {:?}",
                        case.expr, case.error
                    ));
                }
                continue;
            }
            Ok(_) if !case.error.is_empty() => {
                failures.push(format!("{:?}: compiles but Go: {}", case.expr, case.error));
                continue;
            }
            Ok(re) => re,
        };
        for (i, text) in case.texts.iter().enumerate() {
            let found = re
                .find(text)
                .map(|m| vec![m.start, m.end])
                .unwrap_or_default();
            let replaced = re.replace_all(text, &case.template);
            if re.is_match(text) != case.r#match[i]
                || found != case.find[i]
                || replaced != case.replace[i]
            {
                failures.push(format!(
                    "{:?} on {text:?} (template {:?}): match {} find {found:?} replace {replaced:?}, \
                     but Go: {} {:?} {:?}",
                    case.expr,
                    case.template,
                    re.is_match(text),
                    case.r#match[i],
                    case.find[i],
                    case.replace[i]
                ));
            }
        }
    }
    assert!(cases > 0, "{path} holds no cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ from Go:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
