//! Property tests: the analyser never panics, on arbitrary text or on generated
//! Dockerfile-like text, and its running time grows linearly with the input.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dockerfile_froms::{analyze, AnalyzeOptions, ContextPaths, ImageConfig, ImageRef, Platform};
use proptest::prelude::*;

fn amd64() -> Platform {
    Platform::parse("linux/amd64").expect("linux/amd64 parses")
}

fn options() -> AnalyzeOptions {
    AnalyzeOptions {
        build_args: BTreeMap::new(),
        target: None,
        target_platform: None,
        build_platform: amd64(),
        ..AnalyzeOptions::default()
    }
}

/// Fragments Dockerfiles are made of, including the awkward ones.
fn fragment() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("alpine".to_string()),
        Just("golang:1.22".to_string()),
        Just("scratch".to_string()),
        Just("build".to_string()),
        Just("Base".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("$IMG".to_string()),
        Just("${TAG:-3.19}".to_string()),
        Just("${V:?err}".to_string()),
        Just("${V/a/b}".to_string()),
        Just("${".to_string()),
        Just("\"quoted word\"".to_string()),
        Just("'single'".to_string()),
        Just("$TARGETPLATFORM".to_string()),
        Just("./src/".to_string()),
        Just("../../x".to_string()),
        Just("*.json".to_string()),
        Just(".".to_string()),
        Just("git@github.com:a/b.git".to_string()),
        Just("https://example.com/b.git".to_string()),
        Just("$SRC/x".to_string()),
        Just("localhost:5000/x@sha256:0000000000000000000000000000000000000000000000000000000000000000".to_string()),
        "[a-zA-Z0-9_./:@${}\"'\\\\-]{0,12}",
    ];
    let keyword = prop_oneof![
        Just("FROM"),
        Just("from"),
        Just("ARG"),
        Just("COPY"),
        Just("ADD"),
        Just("RUN"),
        Just("ONBUILD"),
        Just("ONBUILD COPY"),
        Just("ONBUILD RUN"),
        Just("ENV"),
        Just("LABEL"),
        Just("WORKDIR"),
        Just("CMD"),
        Just("ENTRYPOINT"),
        Just("SHELL"),
        Just("HEALTHCHECK"),
        Just("EXPOSE"),
        Just("USER"),
        Just("VOLUME"),
        Just("STOPSIGNAL"),
        Just("MAINTAINER"),
        Just("BOGUS"),
    ];
    let flag = prop_oneof![
        Just("--platform=$BUILDPLATFORM"),
        Just("--platform=linux/arm64"),
        Just("--platform="),
        Just("--from=build"),
        Just("--from=nginx"),
        Just("--from=0"),
        Just("--from=$X"),
        Just("--mount=type=cache,target=/c"),
        Just("--mount=from=busybox,target=/x"),
        Just("--mount=type=secret,id=a"),
        Just("--mount=\"from=a,b\""),
        Just("--mount=type=bind,source=$SRC,target=/t"),
        Just("--mount=type=tmpfs,target=/t"),
        Just("--mount=source=tools,target=/t"),
        Just("--link"),
        Just("--network=none"),
        Just("--chown=1:1"),
        Just("--bogus"),
    ];
    let line = (
        keyword,
        proptest::collection::vec(flag, 0..3),
        proptest::collection::vec(word, 0..4),
    )
        .prop_map(|(k, flags, words)| format!("{k} {} {}", flags.join(" "), words.join(" ")));
    prop_oneof![
        6 => line,
        1 => Just("# syntax=docker/dockerfile:1".to_string()),
        1 => Just("# escape=`".to_string()),
        1 => Just("# check=error=true".to_string()),
        1 => Just("# a comment \\".to_string()),
        1 => Just(String::new()),
        1 => Just("  \\".to_string()),
        1 => Just("RUN <<EOF".to_string()),
        1 => Just("COPY <<-\"A\" <<B /dst/".to_string()),
        1 => Just("EOF".to_string()),
        1 => Just("\tA".to_string()),
        1 => Just("B".to_string()),
        1 => Just("RUN [\"sh\", \"-c\", \"<<EOF\"]".to_string()),
        1 => Just("ARG A=1 B=$A IMG=alpine".to_string()),
        1 => Just("FROM alpine AS base".to_string()),
        1 => Just("FROM base".to_string()),
        1 => Just("FROM alpine AS build".to_string()),
    ]
}

/// A generated Dockerfile: fragments joined by newlines, continuations, CRLF or BOM.
fn dockerfile() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        proptest::collection::vec(
            (
                fragment(),
                prop_oneof![Just("\n"), Just(" \\\n"), Just("\r\n"), Just("`\n")],
            ),
            0..25,
        ),
    )
        .prop_map(|(bom, parts)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            for (fragment, end) in parts {
                text.push_str(&fragment);
                text.push_str(end);
            }
            text
        })
}

fn arbitrary_options() -> impl Strategy<Value = AnalyzeOptions> {
    (
        proptest::collection::btree_map(
            prop_oneof![
                Just("IMG".to_string()),
                Just("TAG".to_string()),
                Just("TARGETARCH".to_string()),
                Just("BUILDKIT_SYNTAX".to_string()),
                Just("BUILDKIT_DOCKERFILE_CHECK".to_string()),
            ],
            "[a-z0-9:=;/$]{0,8}",
            0..3,
        ),
        proptest::option::of(prop_oneof![
            Just("build".to_string()),
            Just("base".to_string()),
            Just("nope".to_string()),
        ]),
        proptest::option::of(prop_oneof![
            Just("linux/arm64"),
            Just("linux/arm/v7"),
            Just("windows/amd64"),
        ]),
        proptest::collection::vec(
            prop_oneof![
                Just("COPY . /app".to_string()),
                Just("COPY --from=nginx /a /b".to_string()),
                Just("RUN --mount=source=$SRC,target=/t true".to_string()),
                Just("ONBUILD COPY x /y".to_string()),
                Just("FROM x".to_string()),
                Just("COPY".to_string()),
                "[A-Za-z $=/.-]{0,16}",
            ],
            0..3,
        ),
        proptest::collection::vec(
            prop_oneof![
                Just("SRC=lib"),
                Just("PATH=/bin"),
                Just("NOEQUALS"),
                Just("=x")
            ],
            0..3,
        ),
    )
        .prop_map(|(build_args, target, platform, onbuild, env)| {
            // Known configs for two of the images the fragments name.
            let config = ImageConfig {
                env: env.into_iter().map(str::to_owned).collect(),
                onbuild,
            };
            let images = ["alpine", "golang:1.22"]
                .into_iter()
                .map(|r| {
                    (
                        ImageRef::parse(r).expect("reference parses"),
                        config.clone(),
                    )
                })
                .collect();
            AnalyzeOptions {
                build_args,
                target,
                target_platform: platform.map(|p| Platform::parse(p).expect("platform parses")),
                build_platform: amd64(),
                images,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = analyze(&text, &options());
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = analyze(&String::from_utf8_lossy(&bytes), &options());
    }

    #[test]
    fn never_panics_on_dockerfile_like_text(text in dockerfile(), options in arbitrary_options()) {
        match analyze(&text, &options) {
            Ok(analysis) => {
                // Every image is resolved for some platform and points at a real line.
                let lines = text.lines().count().max(1);
                for image in &analysis.images {
                    prop_assert!(image.line <= lines + 1, "{image:?} beyond {lines} lines");
                }
                for undecided in &analysis.context.undecided {
                    prop_assert!(undecided.line <= lines + 1, "{undecided:?} beyond {lines} lines");
                }
                // Context paths are BuildKit's FollowPaths: relative, clean, sorted, each once.
                if let ContextPaths::Some(paths) = &analysis.context.paths {
                    prop_assert!(!paths.is_empty());
                    prop_assert!(paths.windows(2).all(|w| w[0] < w[1]), "{paths:?}");
                    for path in paths {
                        prop_assert!(!path.is_empty() && !path.starts_with('/'), "{path:?}");
                        prop_assert!(
                            path.split('/').all(|c| !c.is_empty() && c != "." && c != ".."),
                            "{path:?}"
                        );
                    }
                }
            }
            Err(error) => {
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }
}

/// The fastest of a few runs, to keep other load on the machine out of the measurement.
fn fastest(text: &str) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let _ = analyze(text, &options());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Growing the input four times must not grow the time much more than four times
/// (a quadratic algorithm would take sixteen times as long).
fn assert_linear(name: &str, make: impl Fn(usize) -> String, n: usize) {
    let small = make(n);
    let large = make(4 * n);
    // Warm up allocations and caches.
    let _ = analyze(&small, &options());
    let t_small = fastest(&small).max(Duration::from_micros(200));
    let t_large = fastest(&large);
    eprintln!("{name}: {t_small:?} -> {t_large:?}");
    assert!(
        t_large < t_small * 10,
        "{name}: {} bytes took {t_small:?}, {} bytes took {t_large:?}",
        small.len(),
        large.len()
    );
}

#[test]
fn time_is_linear_in_input_size() {
    assert_linear(
        "continuation lines",
        |n| {
            let mut s = String::from("FROM alpine\nRUN echo \\\n");
            for _ in 0..n {
                s.push_str("  word \\\n");
            }
            s.push_str("  end\n");
            s
        },
        12_000,
    );
    assert_linear(
        "stages",
        |n| {
            let mut s = String::from("FROM alpine AS s0\n");
            for i in 1..n {
                s.push_str(&format!(
                    "FROM s{} AS s{i}\nENV V{i}=$V{}\nCOPY --from=s{} /a /b\n",
                    i - 1,
                    i - 1,
                    i - 1
                ));
            }
            s
        },
        1_000,
    );
    assert_linear(
        "copy --from images",
        |n| {
            let mut s = String::from("FROM alpine\n");
            for i in 0..n {
                s.push_str(&format!("COPY --from=img{i} /a /b\n"));
            }
            s
        },
        2_500,
    );
    assert_linear(
        "meta args",
        |n| {
            let mut s = String::new();
            for i in 0..n {
                s.push_str(&format!("ARG A{i}=${{A{}:-x}}\n", i.saturating_sub(1)));
            }
            s.push_str("FROM alpine:$A0\n");
            s
        },
        2_500,
    );
    assert_linear(
        "onbuild chain",
        |n| {
            let mut s = String::from("FROM alpine AS s0\n");
            for i in 1..n {
                s.push_str(&format!(
                    "ONBUILD COPY --from=img{i} /a /b\nFROM s{} AS s{i}\n",
                    i - 1
                ));
            }
            s
        },
        1_000,
    );
    assert_linear(
        "heredoc body",
        |n| {
            let mut s = String::from("FROM alpine\nRUN <<EOF\n");
            for _ in 0..n {
                s.push_str("echo FROM nginx\n");
            }
            s.push_str("EOF\n");
            s
        },
        12_000,
    );
    assert_linear(
        "nested ONBUILD",
        |n| {
            let mut s = String::from("FROM alpine\nONBUILD \\\n");
            for _ in 0..n {
                s.push_str("ONBUILD \\\n");
            }
            s.push_str("RUN true\n");
            s
        },
        12_000,
    );
}

#[test]
fn a_megabyte_line_is_rejected_quickly_like_buildkit() {
    let text = format!("FROM alpine\nRUN echo {}\n", "a".repeat(1 << 20));
    let start = Instant::now();
    let error = analyze(&text, &options()).expect_err("BuildKit rejects lines over 64 KiB");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(
        error.to_string(),
        "dockerfile line greater than max allowed size of 65535"
    );
}
