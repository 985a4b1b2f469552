//! Cases taken from BuildKit's own tests (`dockerfile2llb/convert_test.go`, the parser's
//! `testfiles-negative`, `instructions/parse_test.go`) and from its source, with the results
//! BuildKit gives.

use dockerfile_froms::{analyze, Analysis, AnalyzeOptions, Error, Origin, Platform};

fn options() -> AnalyzeOptions {
    AnalyzeOptions {
        build_platform: Platform::parse("linux/amd64").unwrap(),
        ..AnalyzeOptions::default()
    }
}

fn ok(text: &str) -> Analysis {
    analyze(text, &options()).unwrap_or_else(|e| panic!("{text:?} failed: {e}"))
}

fn fails(text: &str) -> Error {
    match analyze(text, &options()) {
        Ok(a) => panic!("{text:?} succeeded: {a:?}"),
        Err(e) => e,
    }
}

fn pulls(a: &Analysis) -> Vec<String> {
    a.images
        .iter()
        .map(|i| format!("{} [{}]", i.reference, i.platform))
        .collect()
}

#[test]
fn convert_test_dockerfile_parsing() {
    ok("FROM scratch\nENV FOO bar\nCOPY f1 f2 /sub/\nRUN ls -l\n");
    let df =
        "FROM scratch AS foo\nENV FOO bar\nFROM foo\nCOPY --from=foo f1 /\nCOPY --from=0 f2 /\n\t";
    assert!(pulls(&ok(df)).is_empty());
    let mut opts = options();
    opts.target = Some("Foo".into());
    analyze(df, &opts).expect("--target is matched case-insensitively");
    opts.target = Some("nosuch".into());
    assert_eq!(
        analyze(df, &opts).unwrap_err().to_string(),
        "target stage \"nosuch\" could not be found"
    );
    ok("FROM scratch\n\tADD http://github.com/moby/buildkit/blob/master/README.md /\n\t\t");
    assert_eq!(
        fails("FROM scratch\n\tCOPY http://github.com/moby/buildkit/blob/master/README.md /\n\t\t")
            .to_string(),
        "source can't be a URL for COPY"
    );
    fails("FROM \"\" AS foo");
    fails("FROM ${BLANK} AS foo");
}

#[test]
fn convert_test_circular_dependencies() {
    assert_eq!(
        fails("FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\n").to_string(),
        "circular dependency detected on stage: stage0"
    );
    assert_eq!(
        fails(
            "FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\nFROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\nFROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\n"
        )
        .to_string(),
        "circular dependency detected on stage: stage0"
    );
}

#[test]
fn convert_test_source_date_epoch() {
    let mut opts = options();
    opts.build_args
        .insert("SOURCE_DATE_EPOCH".into(), "not-a-timestamp".into());
    assert!(analyze("FROM scratch\n", &opts)
        .unwrap_err()
        .to_string()
        .contains("invalid SOURCE_DATE_EPOCH"));
    let e = fails("ARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nCOPY Dockerfile /Dockerfile\nFROM scratch\n");
    assert!(e
        .to_string()
        .contains("SOURCE_DATE_EPOCH stage does not meet source-only requirements"));
    let e = fails("ARG SOURCE_DATE_EPOCH=mysource\nFROM busybox AS mysource\nADD https://example.com/src.tar /\nFROM scratch\n");
    assert!(e
        .to_string()
        .contains("SOURCE_DATE_EPOCH stage must use FROM scratch"));
    ok("ARG SOURCE_DATE_EPOCH=1700000501\nFROM alpine:$SOURCE_DATE_EPOCH\n");
}

/// Errors of BuildKit's line parser (ENV/LABEL pairs, JSON arrays) come without the
/// `dockerfile parse error on line N: ` prefix of the instruction checks.
#[test]
fn parser_negative_files() {
    assert_eq!(fails("").to_string(), "the Dockerfile cannot be empty");
    assert_eq!(
        fails("FROM busybox\n\nENV PATH\n").to_string(),
        "ENV must have two arguments"
    );
    assert_eq!(
        fails("# Hello\n# These are just comments\n\n").to_string(),
        "file with no instructions"
    );
    assert_eq!(
        fails("CMD [ \"echo\", [ \"nested json\" ] ]\n").to_string(),
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
}

#[test]
fn errors_carry_lines() {
    let e = fails("FROM alpine\n\nRUN --mount=type=bogus true\n");
    assert_eq!(e.line(), Some(3));
    assert_eq!(e.to_string(), "unsupported mount type \"bogus\"");
    let e = fails("FROM alpine\nFROM Alpine AS x\n");
    assert_eq!(e.line(), Some(2));
}

#[test]
fn instruction_parse_errors() {
    for (df, want) in [
        ("FROM alpine\nCOPY a\n", "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("FROM alpine\nONBUILD ONBUILD RUN x\n", "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM alpine\nONBUILD MAINTAINER x\n", "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("FROM alpine\nSHELL sh -c\n", "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"),
        ("FROM alpine\nRUN --network=bogus true\n", "dockerfile parse error on line 2: invalid network mode \"bogus\""),
        ("FROM alpine\nRUN --mount=from=$X,target=/x true\n", "dockerfile parse error on line 2: 'from' doesn't support variable expansion, define alias stage instead"),
        ("FROM alpine\nCOPY --chown=1 --chown=2 a b\n", "dockerfile parse error on line 2: duplicate flag specified: --chown"),
        ("FROM alpine\nCOPY --lnk a b\n", "dockerfile parse error on line 2: unknown flag: --lnk (did you mean link?)"),
        ("FROM alpine\nHEALTHCHECK --interval=1ns CMD true\n", "dockerfile parse error on line 2: Interval \"interval\" cannot be less than 1ms"),
        ("FROM alpine\nCOPY a <<EOF\nx\nEOF\n", "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination"),
        ("FROM alpine\nLABEL a\n", "LABEL must have two arguments"),
        ("FROM alpine\nENV a=1 b\n", "Syntax error - can't find = in \"b\". Must be of the form: name=value"),
    ] {
        assert_eq!(fails(df).to_string(), want, "{df:?}");
    }
}

#[test]
fn dispatch_errors_only_in_reachable_stages() {
    let df = "FROM alpine AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n";
    let mut opts = options();
    opts.target = Some("a".into());
    assert_eq!(
        analyze(df, &opts).unwrap_err().to_string(),
        "cannot copy from stage \"b\", it needs to be defined before current stage \"a\""
    );
    opts.target = Some("b".into());
    assert_eq!(
        pulls(&analyze(df, &opts).unwrap()),
        ["docker.io/library/busybox:latest [linux/amd64]"]
    );
    // An expansion error in an unreachable stage is not reached.
    ok("FROM alpine AS a\nENV X=${Y:?}\nFROM busybox\n");
    assert_eq!(
        fails("FROM alpine\nENV X=${Y:?}\n").to_string(),
        "failed to process \"${Y:?}\": Y: is not allowed to be unset"
    );
}

#[test]
fn onbuild_triggers_and_origins() {
    let a = ok(
        "FROM alpine AS base\nONBUILD RUN --mount=from=golang:1.22,target=/go true\nFROM base\n",
    );
    let golang = a
        .images
        .iter()
        .find(|i| i.reference.to_string() == "docker.io/library/golang:1.22")
        .expect("the trigger's image is needed");
    assert_eq!(golang.origin, Origin::Onbuild);
    assert_eq!(golang.line, 2);
    // The grandchild does not run the grandparent's triggers.
    let a = ok("FROM alpine AS base\nONBUILD COPY --from=nginx / /\nFROM base AS mid\nFROM mid\n");
    assert!(pulls(&a).contains(&"docker.io/library/nginx:latest [linux/amd64]".to_string()));
    let a = ok("FROM alpine AS base\nONBUILD COPY --from=nginx / /\nFROM base AS mid\nFROM mid\n");
    assert_eq!(a.images.len(), 2);
}

#[test]
fn mount_from_defaults_to_a_stage_named_scratch() {
    // `RUN --mount` without `from` reads "scratch", which a stage of that name shadows.
    let a = ok("FROM golang AS scratch\nFROM alpine\nRUN --mount=type=cache,target=/c true\n");
    assert_eq!(
        pulls(&a),
        [
            "docker.io/library/golang:latest [linux/amd64]",
            "docker.io/library/alpine:latest [linux/amd64]"
        ]
    );
}

#[test]
fn warnings_are_lint_rules() {
    let a = ok("FROM alpine AS Build\nfrom build\n");
    let rendered: Vec<String> = a.warnings.iter().map(ToString::to_string).collect();
    assert!(
        rendered.contains(
            &"StageNameCasing: Stage name 'Build' should be lowercase (line 1)".to_string()
        ),
        "{rendered:?}"
    );
    assert!(
        rendered
            .iter()
            .any(|w| w.starts_with("ConsistentInstructionCasing")),
        "{rendered:?}"
    );
    let a = ok("# check=skip=all\nFROM alpine AS Build\n");
    assert!(a.warnings.is_empty());
}

#[test]
fn json_schema_of_the_cli() {
    let a = ok("# syntax=docker/dockerfile:1\nFROM --platform=linux/arm64 golang AS build\nFROM build\nCOPY --from=nginx / /\n");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "syntax": "docker.io/docker/dockerfile:1",
            "stages": [
                {"name": "build", "base": "docker.io/library/golang:latest", "platform": "linux/arm64"},
                {"name": null, "base": "build", "platform": null},
            ],
            "images": [
                {"ref": "docker.io/library/golang:latest", "platform": "linux/arm64", "origin": "from", "line": 2},
                {"ref": "docker.io/library/nginx:latest", "platform": "linux/amd64", "origin": "copy-from", "line": 4},
            ],
            "warnings": ["FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant value \"linux/arm64\" (line 2)"],
        })
    );
}

#[test]
fn errors_come_in_buildkits_order() {
    // Every FROM is expanded before any reference is parsed.
    assert_eq!(
        fails("FROM Alpine\nFROM ${X:?}\n").to_string(),
        "failed to process \"${X:?}\": X: is not allowed to be unset"
    );
    // The target is looked up before references are parsed.
    let mut opts = options();
    opts.target = Some("nope".into());
    assert_eq!(
        analyze("FROM Alpine AS a\n", &opts)
            .unwrap_err()
            .to_string(),
        "target stage \"nope\" could not be found"
    );
    // Circular dependencies are found before references are parsed.
    assert_eq!(
        fails("FROM Alpine AS a\nCOPY --from=a / /\n").to_string(),
        "circular dependency detected on stage: a"
    );
}
