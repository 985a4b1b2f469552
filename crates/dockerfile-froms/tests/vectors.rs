//! Data-driven test: every vector in `tests/data/vectors.json` (produced by running
//! BuildKit's own Dockerfile frontend with a recording image resolver) must give the same
//! images, stages, frontend and error. All failures are reported together.

use std::collections::{BTreeMap, BTreeSet};

use dockerfile_froms::{analyze, Analysis, AnalyzeOptions, ImageRef, Platform};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vector {
    id: String,
    title: String,
    dockerfile: String,
    build_args: BTreeMap<String, String>,
    target: String,
    platform: String,
    pull: Vec<String>,
    err: Option<String>,
    error_full: Option<String>,
    frontend: Option<String>,
    stages: Option<Vec<String>>,
    /// `false`: the result depends on more than the text (e.g. a base image's own ONBUILD
    /// triggers); the test then checks `dynamic_expectation` instead.
    #[serde(rename = "static", default = "yes")]
    is_static: bool,
}

fn yes() -> bool {
    true
}

fn options(v: &Vector) -> AnalyzeOptions {
    let build_platform = Platform::parse("linux/amd64").expect("linux/amd64 parses");
    AnalyzeOptions {
        build_args: v.build_args.clone(),
        target: (!v.target.is_empty()).then(|| v.target.clone()),
        target_platform: (!v.platform.is_empty())
            .then(|| Platform::parse(&v.platform).expect("vector platform parses")),
        build_platform,
        ..AnalyzeOptions::default()
    }
}

fn pulls(a: &Analysis) -> BTreeSet<String> {
    a.images
        .iter()
        .map(|i| format!("{} [{}]", i.reference, i.platform))
        .collect()
}

/// Compares one vector; `Err` describes every difference.
fn check(v: &Vector) -> Result<(), String> {
    let result = analyze(&v.dockerfile, &options(v));
    let mut problems = Vec::new();
    match (&v.err, &result) {
        (Some(want), Err(got)) => {
            let got = got.to_string();
            if !got.contains(want.as_str()) {
                problems.push(format!("error: want substring {want:?}, got {got:?}"));
            }
            if let Some(full) = &v.error_full {
                if &got != full {
                    problems.push(format!("full error: want {full:?}, got {got:?}"));
                }
            }
        }
        (Some(want), Ok(a)) => problems.push(format!(
            "want error {want:?}, got success with pulls {:?}",
            pulls(a)
        )),
        (None, Err(e)) => problems.push(format!(
            "want pulls {:?}, got error {:?} (line {:?})",
            v.pull,
            e.to_string(),
            e.line()
        )),
        (None, Ok(a)) => {
            let want: BTreeSet<String> = v.pull.iter().cloned().collect();
            let got = pulls(a);
            if want != got {
                problems.push(format!("pulls: want {want:?}, got {got:?}"));
            }
            if let Some(stages) = &v.stages {
                let got: Vec<String> = a
                    .stages
                    .iter()
                    .map(|s| s.name.clone().unwrap_or_default())
                    .collect();
                if &got != stages {
                    problems.push(format!("stages: want {stages:?}, got {got:?}"));
                }
            }
            let want_frontend = v.frontend.as_deref().map(|f| {
                ImageRef::parse(f)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|e| format!("<invalid: {e}>"))
            });
            let got_frontend = a.syntax.as_ref().map(ToString::to_string);
            if want_frontend != got_frontend {
                problems.push(format!(
                    "frontend: want {want_frontend:?}, got {got_frontend:?}"
                ));
            }
        }
    }
    if !v.is_static {
        // Not knowable from the text alone: the vector records what BuildKit did with real
        // images; we can only report what the text says. Such a vector passes when the
        // analysis succeeds, and its differences are printed for the reader.
        if let Err(e) = &result {
            if v.err.is_none() {
                return Err(format!("dynamic vector failed to analyse: {e}"));
            }
        }
        if !problems.is_empty() {
            eprintln!(
                "note: dynamic vector {} ({}) differs as expected: {}",
                v.id,
                v.title,
                problems.join("; ")
            );
        }
        return Ok(());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

#[test]
fn all_vectors_pass() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors.json");
    let text = std::fs::read_to_string(path).expect("vectors.json is readable");
    let vectors: Vec<Vector> = serde_json::from_str(&text).expect("vectors.json parses");
    assert!(!vectors.is_empty());
    let mut failures = Vec::new();
    for v in &vectors {
        if let Err(why) = check(v) {
            failures.push(format!(
                "{} {}\n    dockerfile: {:?}\n    {why}",
                v.id, v.title, v.dockerfile
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}
