//! Decoding the build response: JSON messages and BuildKit `StatusResponse` traces
//! encoded here, in the shape the engine sends them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use engine_client::events::{
    BuildEvent, LogStream, ProgressGroup, PullEvent, PullOutcome, SourceLocation,
};
use engine_client::progress::proto::{
    Position, Range, SourceInfo, StatusResponse, Timestamp, Vertex, VertexLog, VertexStatus,
    VertexWarning,
};
use engine_client::progress::BuildDecoder;
use prost::Message as _;

fn at(seconds: i64, millis: i32) -> Option<Timestamp> {
    Some(Timestamp {
        seconds,
        nanos: millis * 1_000_000,
    })
}

fn vertex(digest: &str, name: &str) -> Vertex {
    Vertex {
        digest: digest.into(),
        name: name.into(),
        ..Vertex::default()
    }
}

fn started(digest: &str, name: &str, s: i64) -> Vertex {
    Vertex {
        started: at(s, 0),
        ..vertex(digest, name)
    }
}

fn completed(digest: &str, name: &str, s: i64, c: i64, ms: i32) -> Vertex {
    Vertex {
        started: at(s, 0),
        completed: at(c, ms),
        ..vertex(digest, name)
    }
}

fn log(digest: &str, stream: i64, msg: &str) -> VertexLog {
    VertexLog {
        vertex: digest.into(),
        stream,
        msg: msg.as_bytes().to_vec(),
        ..VertexLog::default()
    }
}

/// The JSON line the engine sends for a `StatusResponse`.
fn trace_line(status: &StatusResponse) -> Vec<u8> {
    let aux = STANDARD.encode(status.encode_to_vec());
    format!("{{\"id\":\"moby.buildkit.trace\",\"aux\":\"{aux}\"}}\r\n").into_bytes()
}

fn decode_all(decoder: &mut BuildDecoder, statuses: &[StatusResponse]) -> Vec<BuildEvent> {
    let mut events = Vec::new();
    for status in statuses {
        events.extend(decoder.decode_line(&trace_line(status)).unwrap());
    }
    events.extend(decoder.finish());
    events
}

const LOAD: &str = "sha256:aaaa";
const BASE: &str = "sha256:bbbb";
const RUN: &str = "sha256:cccc";
const COPY: &str = "sha256:dddd";

#[test]
fn vertexes_are_followed_by_digest_to_their_end() {
    let mut decoder = BuildDecoder::new();
    let statuses = [
        StatusResponse {
            vertexes: vec![
                started(
                    LOAD,
                    "[internal] load build definition from Dockerfile",
                    100,
                ),
                // Known, but not started: no event yet.
                vertex(RUN, "[2/3] RUN echo hi"),
            ],
            ..StatusResponse::default()
        },
        StatusResponse {
            vertexes: vec![completed(
                LOAD,
                "[internal] load build definition from Dockerfile",
                100,
                100,
                250,
            )],
            statuses: vec![VertexStatus {
                id: "transferring dockerfile".into(),
                vertex: LOAD.into(),
                current: 32,
                total: 0,
                ..VertexStatus::default()
            }],
            ..StatusResponse::default()
        },
        StatusResponse {
            vertexes: vec![Vertex {
                cached: true,
                started: at(101, 0),
                completed: at(101, 0),
                ..vertex(BASE, "[1/3] FROM docker.io/library/busybox:1")
            }],
            ..StatusResponse::default()
        },
        StatusResponse {
            vertexes: vec![started(RUN, "[2/3] RUN echo hi", 102)],
            logs: vec![log(RUN, 1, "hel"), log(RUN, 2, "warn: x\r\n")],
            ..StatusResponse::default()
        },
        StatusResponse {
            logs: vec![log(RUN, 1, "lo\nsecond line\nthird")],
            statuses: vec![VertexStatus {
                id: "sha256:layer".into(),
                vertex: RUN.into(),
                current: 10,
                total: 20,
                completed: at(103, 0),
                ..VertexStatus::default()
            }],
            ..StatusResponse::default()
        },
        StatusResponse {
            vertexes: vec![completed(RUN, "[2/3] RUN echo hi", 102, 104, 500)],
            ..StatusResponse::default()
        },
        // A repeat of a finished vertex changes nothing.
        StatusResponse {
            vertexes: vec![completed(RUN, "[2/3] RUN echo hi", 102, 104, 500)],
            ..StatusResponse::default()
        },
    ];
    let events = decode_all(&mut decoder, &statuses);
    let load = "[internal] load build definition from Dockerfile".to_string();
    let run = "[2/3] RUN echo hi".to_string();
    assert_eq!(
        events,
        vec![
            BuildEvent::VertexStarted {
                digest: LOAD.into(),
                name: load.clone(),
                group: None
            },
            BuildEvent::VertexCompleted {
                digest: LOAD.into(),
                name: load,
                group: None,
                duration_ms: Some(250)
            },
            BuildEvent::VertexProgress {
                vertex: LOAD.into(),
                id: "transferring dockerfile".into(),
                current: 32,
                total: None,
                completed: false
            },
            BuildEvent::VertexCached {
                digest: BASE.into(),
                name: "[1/3] FROM docker.io/library/busybox:1".into(),
                group: None
            },
            BuildEvent::VertexStarted {
                digest: RUN.into(),
                name: run.clone(),
                group: None
            },
            BuildEvent::VertexLog {
                vertex: RUN.into(),
                stream: LogStream::Stderr,
                line: "warn: x".into()
            },
            BuildEvent::VertexProgress {
                vertex: RUN.into(),
                id: "sha256:layer".into(),
                current: 10,
                total: Some(20),
                completed: true
            },
            BuildEvent::VertexLog {
                vertex: RUN.into(),
                stream: LogStream::Stdout,
                line: "hello".into()
            },
            BuildEvent::VertexLog {
                vertex: RUN.into(),
                stream: LogStream::Stdout,
                line: "second line".into()
            },
            BuildEvent::VertexLog {
                vertex: RUN.into(),
                stream: LogStream::Stdout,
                line: "third".into()
            },
            BuildEvent::VertexCompleted {
                digest: RUN.into(),
                name: run,
                group: None,
                duration_ms: Some(2500)
            },
        ]
    );
    assert_eq!(decoder.failure(), None);
}

#[test]
fn a_failed_step_carries_its_error_and_its_log_comes_as_events() {
    let mut decoder = BuildDecoder::new();
    let mut statuses = vec![StatusResponse {
        vertexes: vec![
            started(RUN, "[2/3] RUN ./test.sh", 10),
            started(COPY, "[internal] load build context", 10),
        ],
        ..StatusResponse::default()
    }];
    let lines: Vec<String> = (1..=25).map(|i| format!("line {i}")).collect();
    statuses.push(StatusResponse {
        logs: vec![log(RUN, 1, &(lines.join("\n") + "\nno newline at the end"))],
        ..StatusResponse::default()
    });
    let error = "process \"/bin/sh -c ./test.sh\" did not complete successfully: exit code: 3";
    statuses.push(StatusResponse {
        vertexes: vec![
            Vertex {
                error: "context canceled".into(),
                completed: at(11, 0),
                ..started(COPY, "[internal] load build context", 10)
            },
            Vertex {
                error: error.into(),
                completed: at(12, 0),
                ..started(RUN, "[2/3] RUN ./test.sh", 10)
            },
        ],
        ..StatusResponse::default()
    });
    let events = decode_all(&mut decoder, &statuses);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, BuildEvent::VertexFailed { .. }))
        .collect();
    assert_eq!(
        failed,
        [
            &BuildEvent::VertexFailed {
                digest: COPY.into(),
                name: "[internal] load build context".into(),
                group: None,
                error: "context canceled".into()
            },
            &BuildEvent::VertexFailed {
                digest: RUN.into(),
                name: "[2/3] RUN ./test.sh".into(),
                group: None,
                error: error.into()
            },
        ]
    );
    // The partial last line is flushed before the step's end.
    let position = |wanted: &BuildEvent| events.iter().position(|e| e == wanted).unwrap();
    assert!(
        position(&BuildEvent::VertexLog {
            vertex: RUN.into(),
            stream: LogStream::Stdout,
            line: "no newline at the end".into()
        }) < position(failed[1])
    );

    let failure = decoder.failure().unwrap();
    assert_eq!(failure.digest, RUN);
    assert_eq!(failure.name, "[2/3] RUN ./test.sh");
    assert_eq!(failure.error, error);
    // Every line came as an event; the decoder keeps none for the failure.
    let logs = events
        .iter()
        .filter(|e| matches!(e, BuildEvent::VertexLog { vertex, .. } if vertex == RUN))
        .count();
    assert_eq!(logs, 26);
    assert_eq!(
        failure.to_string(),
        format!("step [2/3] RUN ./test.sh failed: {error}")
    );
}

#[test]
fn warnings_carry_their_step_and_location() {
    let mut decoder = BuildDecoder::new();
    let status = StatusResponse {
        vertexes: vec![started(
            LOAD,
            "[internal] load build definition from Dockerfile",
            1,
        )],
        warnings: vec![
            VertexWarning {
                vertex: LOAD.into(),
                level: 1,
                short: b"FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)"
                    .to_vec(),
                detail: vec![b"The 'as' keyword should match the case of 'from'".to_vec()],
                url: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/".into(),
                info: Some(SourceInfo {
                    filename: "Dockerfile".into(),
                    language: "Dockerfile".into(),
                    ..SourceInfo::default()
                }),
                ranges: vec![Range {
                    start: Some(Position {
                        line: 1,
                        character: 0,
                    }),
                    end: None,
                }],
            },
            VertexWarning {
                vertex: "sha256:unknown".into(),
                short: b"bare".to_vec(),
                ..VertexWarning::default()
            },
        ],
        ..StatusResponse::default()
    };
    let events = decoder.decode_status(status);
    assert_eq!(
        &events[1..],
        [
            BuildEvent::Warning {
                vertex: Some(LOAD.into()),
                message: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)"
                    .into(),
                detail: vec!["The 'as' keyword should match the case of 'from'".into()],
                url: Some("https://docs.docker.com/go/dockerfile/rule/from-as-casing/".into()),
                location: Some(SourceLocation {
                    file: "Dockerfile".into(),
                    line: 1
                }),
            },
            BuildEvent::Warning {
                vertex: None,
                message: "bare".into(),
                detail: vec![],
                url: None,
                location: None
            },
        ]
    );
}

#[test]
fn json_messages_become_events() {
    let mut decoder = BuildDecoder::new();
    let mut decode = |line: &str| decoder.decode_line(line.as_bytes()).unwrap();
    assert_eq!(
        decode("{\"stream\":\"Step 1/2 : FROM busybox\\n\"}\r\n"),
        [BuildEvent::Stream {
            text: "Step 1/2 : FROM busybox\n".into()
        }]
    );
    assert_eq!(decode("   \r\n"), []);
    assert_eq!(
        decode(r#"{"aux":{"ID":"sha256:1234"},"id":"moby.image.id"}"#),
        [BuildEvent::ImageId {
            id: "sha256:1234".into()
        }]
    );
    assert_eq!(
        decode(
            r#"{"errorDetail":{"code":1,"message":"failed to solve: boom"},"error":"failed to solve: boom"}"#
        ),
        [BuildEvent::Error {
            message: "failed to solve: boom".into(),
            code: Some(1)
        }]
    );
    assert_eq!(
        decode(r#"{"error":"no details"}"#),
        [BuildEvent::Error {
            message: "no details".into(),
            code: None
        }]
    );
    assert_eq!(
        decode(r#"{"status":"Downloading","id":"abc"}"#),
        [BuildEvent::Stream {
            text: "abc: Downloading\n".into()
        }]
    );
    assert_eq!(decoder.image_id(), Some("sha256:1234"));
    assert_eq!(decoder.error(), Some("failed to solve: boom"));
}

/// Pitfall: bollard 0.21 with default features fails on the first trace line, whose
/// `aux` is a base64 string rather than an image id, and the stream ends there. Here
/// the first line is a trace, and every following line is still decoded.
#[test]
fn a_trace_line_first_does_not_end_the_stream() {
    let mut decoder = BuildDecoder::new();
    let first = trace_line(&StatusResponse {
        vertexes: vec![started(LOAD, "[internal] load .dockerignore", 1)],
        ..StatusResponse::default()
    });
    assert_eq!(decoder.decode_line(&first).unwrap().len(), 1);
    let next = decoder
        .decode_line(br#"{"aux":{"ID":"sha256:99"},"id":"moby.image.id"}"#)
        .unwrap();
    assert_eq!(
        next,
        [BuildEvent::ImageId {
            id: "sha256:99".into()
        }]
    );
}

#[test]
fn undecodable_lines_are_errors_that_quote_the_line() {
    let mut decoder = BuildDecoder::new();
    let err = decoder.decode_line(b"{not json").unwrap_err().to_string();
    assert!(err.contains("{not json"), "{err}");
    let err = decoder
        .decode_line(br#"{"id":"moby.buildkit.trace","aux":"***"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not base64"), "{err}");
    let garbage = STANDARD.encode([0xff, 0xff, 0xff]);
    let err = decoder
        .decode_line(format!(r#"{{"id":"moby.buildkit.trace","aux":"{garbage}"}}"#).as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a StatusResponse"), "{err}");
    let long = format!("{{{}", "x".repeat(500));
    let err = decoder
        .decode_line(long.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.len() < 300, "{err}");
}

#[test]
fn events_serialise_to_the_documented_json() {
    let cases = [
        (
            BuildEvent::VertexStarted {
                digest: "sha256:1".into(),
                name: "[1/2] FROM x".into(),
                group: None,
            },
            r#"{"event":"vertex_started","digest":"sha256:1","name":"[1/2] FROM x"}"#,
        ),
        (
            BuildEvent::VertexCompleted {
                digest: "d".into(),
                name: "n".into(),
                group: Some(ProgressGroup {
                    id: "g".into(),
                    name: "copy".into(),
                    weak: false,
                }),
                duration_ms: None,
            },
            r#"{"event":"vertex_completed","digest":"d","name":"n","group":{"id":"g","name":"copy","weak":false}}"#,
        ),
        (
            BuildEvent::VertexFailed {
                digest: "d".into(),
                name: "n".into(),
                group: None,
                error: "e".into(),
            },
            r#"{"event":"vertex_failed","digest":"d","name":"n","error":"e"}"#,
        ),
        (
            BuildEvent::VertexProgress {
                vertex: "d".into(),
                id: "sha256:l".into(),
                current: 5,
                total: Some(9),
                completed: false,
            },
            r#"{"event":"vertex_progress","vertex":"d","id":"sha256:l","current":5,"total":9,"completed":false}"#,
        ),
        (
            BuildEvent::Error {
                message: "m".into(),
                code: None,
            },
            r#"{"event":"error","message":"m"}"#,
        ),
    ];
    for (event, json) in cases {
        assert_eq!(serde_json::to_string(&event).unwrap(), json);
        assert_eq!(serde_json::from_str::<BuildEvent>(json).unwrap(), event);
    }
    let pulls = [
        (
            PullEvent::ImageReady {
                image: "docker.io/library/busybox:1".into(),
                platform: Some("linux/amd64".into()),
                outcome: PullOutcome::Failed {
                    reason: "denied".into(),
                },
            },
            r#"{"event":"image_ready","image":"docker.io/library/busybox:1","platform":"linux/amd64","outcome":{"status":"failed","reason":"denied"}}"#,
        ),
        (
            PullEvent::PullProgress {
                image: "i".into(),
                layer: Some("abc".into()),
                status: "Downloading".into(),
                current: Some(1),
                total: Some(2),
            },
            r#"{"event":"pull_progress","image":"i","layer":"abc","status":"Downloading","current":1,"total":2}"#,
        ),
    ];
    for (event, json) in pulls {
        assert_eq!(serde_json::to_string(&event).unwrap(), json);
        assert_eq!(serde_json::from_str::<PullEvent>(json).unwrap(), event);
    }
}

fn decode_fixture(name: &str) -> (BuildDecoder, Vec<BuildEvent>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/build")
        .join(name);
    let text = std::fs::read(&path).unwrap();
    let mut decoder = BuildDecoder::new();
    let mut events = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        events.extend(decoder.decode_line(line).unwrap());
    }
    events.extend(decoder.finish());
    (decoder, events)
}

/// Responses captured from the test engines (`tests/data/build/*.jsonl`): a build that
/// passes and one whose `RUN` exits 3, on Docker Engine 20.10 and 26.1.
#[test]
fn captured_responses_decode_on_both_engines() {
    for engine in ["20.10", "26.1"] {
        let (decoder, events) = decode_fixture(&format!("ok-{engine}.jsonl"));
        let run = events
            .iter()
            .find_map(|e| match e {
                BuildEvent::VertexStarted { digest, name, .. }
                    if name.contains("RUN echo hello") =>
                {
                    Some(digest.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{engine}: no RUN step in {events:#?}"));
        for (stream, line) in [
            (LogStream::Stdout, "hello"),
            (LogStream::Stderr, "to-stderr"),
        ] {
            let wanted = BuildEvent::VertexLog {
                vertex: run.clone(),
                stream,
                line: line.into(),
            };
            assert!(events.contains(&wanted), "{engine}: {wanted:?} missing");
        }
        assert!(
            events
                .iter()
                .any(|e| matches!(e, BuildEvent::VertexCompleted { digest, .. } if *digest == run)),
            "{engine}"
        );
        assert!(
            decoder.image_id().unwrap().starts_with("sha256:"),
            "{engine}"
        );
        assert_eq!(decoder.failure(), None, "{engine}");
        assert_eq!(decoder.error(), None, "{engine}");
        // Each vertex starts (or is cached) once.
        let mut seen = Vec::new();
        for event in &events {
            if let BuildEvent::VertexStarted { digest, .. }
            | BuildEvent::VertexCached { digest, .. } = event
            {
                assert!(!seen.contains(digest), "{engine}: {digest} twice");
                seen.push(digest.clone());
            }
        }

        let (decoder, events) = decode_fixture(&format!("fail-{engine}.jsonl"));
        let failure = decoder
            .failure()
            .unwrap_or_else(|| panic!("{engine}: {events:#?}"));
        assert!(
            failure.name.contains("RUN for i in 1 2 3"),
            "{engine}: {failure}"
        );
        assert!(
            failure.error.contains("exit code: 3"),
            "{engine}: {failure}"
        );
        for line in ["line 1", "line 3", "oops"] {
            assert!(
                events.iter().any(|e| matches!(e, BuildEvent::VertexLog { vertex, line: l, .. } if *vertex == failure.digest && l == line)),
                "{engine}: {failure}"
            );
        }
        assert!(
            decoder.error().unwrap().contains("exit code: 3"),
            "{engine}"
        );
        assert_eq!(decoder.image_id(), None, "{engine}");
    }
}

#[test]
fn a_vertex_comes_with_its_progress_group_unmerged() {
    let mut decoder = BuildDecoder::new();
    let group = engine_client::progress::proto::ProgressGroup {
        id: "copy-group".into(),
        name: "[2/2] COPY --link a b /".into(),
        weak: false,
    };
    let events = decoder.decode_status(StatusResponse {
        vertexes: vec![
            Vertex {
                progress_group: Some(group.clone()),
                ..started(COPY, "copy a", 1)
            },
            Vertex {
                progress_group: Some(group),
                ..started(RUN, "copy b", 1)
            },
        ],
        ..StatusResponse::default()
    });
    let wanted = Some(ProgressGroup {
        id: "copy-group".into(),
        name: "[2/2] COPY --link a b /".into(),
        weak: false,
    });
    assert_eq!(
        events,
        [
            BuildEvent::VertexStarted {
                digest: COPY.into(),
                name: "copy a".into(),
                group: wanted.clone(),
            },
            BuildEvent::VertexStarted {
                digest: RUN.into(),
                name: "copy b".into(),
                group: wanted,
            },
        ]
    );
}
