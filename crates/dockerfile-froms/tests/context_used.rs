//! Data-driven tests of the context paths a build reads ([`Analysis::context`]).
//!
//! - `tests/data/context-used.json` (in the workspace root): trees and Dockerfiles with what BuildKit's frontend
//!   asked its file sync for (`followpaths`) and whether it read the context at all (`used`:
//!   `none`, `all`, `some`). The images these Dockerfiles name are the test harness's
//!   busybox, which sets only `PATH` and has no `ONBUILD` trigger: given that config, the
//!   analysis must decide, and agree.
//! - `tests/data/context-rules.json`: one case per rule (sources of each instruction, URLs,
//!   git sources, mounts, reachability, expansion, image configs, what stays undecided).
//!
//! All failures are reported together.

use std::collections::BTreeMap;

use dockerfile_froms::{
    analyze, AnalyzeOptions, ContextPaths, ContextUse, ImageConfig, ImageRef, Platform,
    UndecidedReason,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct UsedFile {
    vectors: Vec<UsedVector>,
}

/// One vector of `context-used.json` (the tree and the expected transfer are ctx-tar's
/// business).
#[derive(Debug, Deserialize)]
struct UsedVector {
    id: String,
    dockerfile: String,
    build_args: BTreeMap<String, String>,
    target: String,
    followpaths: Vec<String>,
    used: String,
}

/// One case of `context-rules.json`.
#[derive(Debug, Deserialize)]
struct RuleCase {
    id: String,
    dockerfile: String,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    #[serde(default)]
    target: String,
    /// Known image configs, by reference as a Dockerfile would write it.
    #[serde(default)]
    images: BTreeMap<String, ConfigJson>,
    /// `none`, `all` or `some`.
    used: String,
    #[serde(default)]
    paths: Vec<String>,
    /// The kinds of undecided reasons, in order: `image-env:VAR,VAR`, `image-onbuild`,
    /// `frontend`, each with `@line`.
    #[serde(default)]
    undecided: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ConfigJson {
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    onbuild: Vec<String>,
}

/// The harness's busybox, as `docker image inspect` shows its config.
fn busybox() -> (ImageRef, ImageConfig) {
    (
        ImageRef::parse("devbuild-test/busybox:1").expect("reference parses"),
        ImageConfig {
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            onbuild: Vec::new(),
        },
    )
}

fn options(
    build_args: &BTreeMap<String, String>,
    target: &str,
    images: BTreeMap<ImageRef, ImageConfig>,
) -> AnalyzeOptions {
    AnalyzeOptions {
        build_args: build_args.clone(),
        target: (!target.is_empty()).then(|| target.to_owned()),
        target_platform: None,
        build_platform: Platform::parse("linux/amd64").expect("platform parses"),
        images,
    }
}

/// `none`, `all` or `some`, and the paths.
fn shape(context: &ContextUse) -> (&'static str, Vec<String>) {
    match &context.paths {
        ContextPaths::None => ("none", Vec::new()),
        ContextPaths::All => ("all", Vec::new()),
        ContextPaths::Some(paths) => ("some", paths.clone()),
    }
}

fn undecided_kinds(context: &ContextUse) -> Vec<String> {
    context
        .undecided
        .iter()
        .map(|u| {
            let kind = match &u.reason {
                UndecidedReason::ImageEnv { variables } => {
                    format!("image-env:{}", variables.join(","))
                }
                UndecidedReason::ImageOnbuild => "image-onbuild".to_owned(),
                UndecidedReason::Frontend => "frontend".to_owned(),
                other => format!("{other:?}"),
            };
            format!("{kind}@{}", u.line)
        })
        .collect()
}

#[test]
fn buildkit_asks_for_the_same_paths() {
    let file: UsedFile =
        serde_json::from_str(include_str!("../../../tests/data/context-used.json"))
            .expect("context-used.json parses");
    let images = BTreeMap::from([busybox()]);
    let mut failures = Vec::new();
    for v in &file.vectors {
        let analysis = match analyze(
            &v.dockerfile,
            &options(&v.build_args, &v.target, images.clone()),
        ) {
            Ok(analysis) => analysis,
            Err(e) => {
                failures.push(format!("{}: error {e}", v.id));
                continue;
            }
        };
        let (used, paths) = shape(&analysis.context);
        if used != v.used || paths != v.followpaths {
            failures.push(format!(
                "{}: got {used} {paths:?}, want {} {:?}",
                v.id, v.used, v.followpaths
            ));
        }
        if !analysis.context.is_decided() {
            failures.push(format!(
                "{}: undecided {:?}",
                v.id, analysis.context.undecided
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ:\n{}",
        failures.len(),
        file.vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn each_rule_of_context_paths() {
    let cases: Vec<RuleCase> = serde_json::from_str(include_str!("data/context-rules.json"))
        .expect("context-rules.json parses");
    let mut failures = Vec::new();
    for case in &cases {
        let images = case
            .images
            .iter()
            .map(|(reference, config)| {
                (
                    ImageRef::parse(reference).expect("case image parses"),
                    ImageConfig {
                        env: config.env.clone(),
                        onbuild: config.onbuild.clone(),
                    },
                )
            })
            .collect();
        let analysis = match analyze(
            &case.dockerfile,
            &options(&case.build_args, &case.target, images),
        ) {
            Ok(analysis) => analysis,
            Err(e) => {
                failures.push(format!("{}: error {e}", case.id));
                continue;
            }
        };
        let (used, paths) = shape(&analysis.context);
        let undecided = undecided_kinds(&analysis.context);
        if used != case.used || paths != case.paths || undecided != case.undecided {
            failures.push(format!(
                "{}: got {used} {paths:?} {undecided:?}, want {} {:?} {:?}",
                case.id, case.used, case.paths, case.undecided
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn undecided_reasons_say_what_is_unknown() {
    let analysis = analyze(
        "FROM node:20\nCOPY $APP_SRC /app\n",
        &options(&BTreeMap::new(), "", BTreeMap::new()),
    )
    .expect("analyses");
    let reasons: Vec<String> = analysis
        .context
        .undecided
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        reasons,
        [
            "line 1: the config of docker.io/library/node:20 is not known (its ONBUILD triggers may read the context)",
            "line 2: a context path uses $APP_SRC, which only the ENV of docker.io/library/node:20 could set",
        ]
    );
}

#[test]
fn image_onbuild_triggers_add_the_images_they_need() {
    let onb = ImageRef::parse("app/onb:1").expect("parses");
    let config = ImageConfig {
        env: Vec::new(),
        onbuild: vec!["COPY --from=nginx:1.25 /etc/nginx /nginx".into()],
    };
    let analysis = analyze(
        "FROM scratch\nRUN true\nFROM app/onb:1\nRUN true\n",
        &options(&BTreeMap::new(), "", BTreeMap::from([(onb, config)])),
    )
    .expect("analyses");
    let needed: Vec<String> = analysis
        .images
        .iter()
        .map(|i| format!("{} {:?} line {}", i.reference, i.origin, i.line))
        .collect();
    assert_eq!(
        needed,
        [
            "docker.io/app/onb:1 From line 3",
            "docker.io/library/nginx:1.25 Onbuild line 3",
        ]
    );
    assert_eq!(analysis.context.paths, ContextPaths::None);
    assert!(analysis.context.is_decided());
}
