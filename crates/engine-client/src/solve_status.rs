//! BuildKit's status updates in the JSON form of its Go client (`client.SolveStatus`),
//! which `docker buildx build --progress=rawjson` prints one per line: the same field
//! names, byte fields in base64, times in RFC 3339 with trailing zeros trimmed, empty
//! fields left out where Go leaves them out.
//!
//! ```
//! use engine_client::progress::proto;
//! use engine_client::solve_status::SolveStatus;
//!
//! let update = proto::StatusResponse {
//!     logs: vec![proto::VertexLog {
//!         vertex: "sha256:01".into(),
//!         timestamp: Some(proto::Timestamp { seconds: 1_700_000_000, nanos: 120_000_000 }),
//!         stream: 1,
//!         msg: b"hi\n".to_vec(),
//!     }],
//!     ..Default::default()
//! };
//! assert_eq!(
//!     serde_json::to_string(&SolveStatus::from(&update)).unwrap(),
//!     r#"{"logs":[{"vertex":"sha256:01","stream":1,"data":"aGkK","timestamp":"2023-11-14T22:13:20.12Z"}]}"#,
//! );
//! ```
//!
//! Left out: a warning's source `definition` keeps only its `def` (the LLB of the file),
//! not its `metadata` or `Source`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::progress::proto;

/// One status update: what changed in the build graph, task progress, output, warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolveStatus {
    /// Vertexes whose state changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vertexes: Vec<Vertex>,
    /// Progress of tasks inside vertexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<VertexStatus>,
    /// Output of vertexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<VertexLog>,
    /// Warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<VertexWarning>,
}

/// A vertex of the build graph.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vertex {
    /// Its digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// The digests of its inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Its name (`[2/4] RUN make`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Its result came from the cache.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The group it is shown in.
    #[serde(
        default,
        rename = "progressGroup",
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_group: Option<ProgressGroup>,
}

/// A group of vertexes shown as one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressGroup {
    /// Its id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Whether it is weak.
    #[serde(default, skip_serializing_if = "is_false")]
    pub weak: bool,
}

/// Progress of a task inside a vertex.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexStatus {
    /// The task.
    pub id: String,
    /// The vertex's digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vertex: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Units in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: i64,
    /// Units done.
    pub current: i64,
    /// When this update was made.
    pub timestamp: String,
    /// When the task started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When the task ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
}

/// Output of a vertex.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexLog {
    /// The vertex's digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vertex: String,
    /// 1: stdout, 2: stderr.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stream: i64,
    /// The bytes written (base64 in JSON).
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
    /// When they were written.
    pub timestamp: String,
}

/// A warning.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexWarning {
    /// The vertex's digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vertex: String,
    /// Severity.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub level: i64,
    /// The message (base64 in JSON).
    #[serde(default, with = "base64_bytes", skip_serializing_if = "Vec::is_empty")]
    pub short: Vec<u8>,
    /// Paragraphs of explanation (each base64 in JSON).
    #[serde(default, with = "base64_list", skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<Vec<u8>>,
    /// A page that explains it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The source file it is about.
    #[serde(
        default,
        rename = "sourceInfo",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_info: Option<SourceInfo>,
    /// Where in that file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub range: Vec<Range>,
}

/// A source file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Its name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filename: String,
    /// Its content (base64 in JSON).
    #[serde(default, with = "base64_bytes", skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<u8>,
    /// The LLB that reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
    /// Its language.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language: String,
}

/// An LLB definition: its serialised operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    /// The operations (each base64 in JSON).
    #[serde(default, with = "base64_list", skip_serializing_if = "Vec::is_empty")]
    pub def: Vec<Vec<u8>>,
}

/// A span of a source file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// Where it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Position>,
    /// Where it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Position>,
}

/// A position in a source file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub line: i32,
    /// Column.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub character: i32,
}

fn is_false(value: &bool) -> bool {
    !value
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

fn is_zero_i32(value: &i32) -> bool {
    *value == 0
}

/// A time as Go's `encoding/json` writes a UTC `time.Time`: RFC 3339, the fraction of a
/// second without trailing zeros. A missing one is Go's zero time.
fn time(timestamp: Option<&proto::Timestamp>) -> String {
    match timestamp {
        Some(timestamp) => {
            let text = timestamp.to_string();
            match text.split_once('.') {
                Some((seconds, fraction)) => {
                    let digits = fraction.trim_end_matches('Z').trim_end_matches('0');
                    if digits.is_empty() {
                        format!("{seconds}Z")
                    } else {
                        format!("{seconds}.{digits}Z")
                    }
                }
                None => text,
            }
        }
        None => "0001-01-01T00:00:00Z".to_owned(),
    }
}

fn optional_time(timestamp: Option<&proto::Timestamp>) -> Option<String> {
    timestamp.map(|t| time(Some(t)))
}

impl From<&proto::StatusResponse> for SolveStatus {
    fn from(update: &proto::StatusResponse) -> SolveStatus {
        SolveStatus {
            vertexes: update
                .vertexes
                .iter()
                .map(|v| Vertex {
                    digest: v.digest.clone(),
                    inputs: v.inputs.clone(),
                    name: v.name.clone(),
                    started: optional_time(v.started.as_ref()),
                    completed: optional_time(v.completed.as_ref()),
                    cached: v.cached,
                    error: v.error.clone(),
                    progress_group: v.progress_group.as_ref().map(|g| ProgressGroup {
                        id: g.id.clone(),
                        name: g.name.clone(),
                        weak: g.weak,
                    }),
                })
                .collect(),
            statuses: update
                .statuses
                .iter()
                .map(|s| VertexStatus {
                    id: s.id.clone(),
                    vertex: s.vertex.clone(),
                    name: s.name.clone(),
                    total: s.total,
                    current: s.current,
                    timestamp: time(s.timestamp.as_ref()),
                    started: optional_time(s.started.as_ref()),
                    completed: optional_time(s.completed.as_ref()),
                })
                .collect(),
            logs: update
                .logs
                .iter()
                .map(|l| VertexLog {
                    vertex: l.vertex.clone(),
                    stream: l.stream,
                    data: l.msg.clone(),
                    timestamp: time(l.timestamp.as_ref()),
                })
                .collect(),
            warnings: update
                .warnings
                .iter()
                .map(|w| VertexWarning {
                    vertex: w.vertex.clone(),
                    level: w.level,
                    short: w.short.clone(),
                    detail: w.detail.clone(),
                    url: w.url.clone(),
                    source_info: w.info.as_ref().map(|i| SourceInfo {
                        filename: i.filename.clone(),
                        data: i.data.clone(),
                        definition: i
                            .definition
                            .as_ref()
                            .map(|d| Definition { def: d.def.clone() }),
                        language: i.language.clone(),
                    }),
                    range: w
                        .ranges
                        .iter()
                        .map(|r| Range {
                            start: r.start.as_ref().map(position),
                            end: r.end.as_ref().map(position),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn position(p: &proto::Position) -> Position {
    Position {
        line: p.line,
        character: p.character,
    }
}

/// Bytes as base64, as Go's `encoding/json` writes `[]byte`.
mod base64_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// A list of byte strings, each as base64.
mod base64_list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(list: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&STANDARD.encode(bytes))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u8>>, D::Error> {
        Option::<Vec<String>>::deserialize(deserializer)?
            .unwrap_or_default()
            .iter()
            .map(|text| STANDARD.decode(text.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, nanos: i32) -> Option<proto::Timestamp> {
        Some(proto::Timestamp { seconds, nanos })
    }

    #[test]
    fn a_status_update_is_written_as_buildkits_go_client_writes_it() {
        let update = proto::StatusResponse {
            vertexes: vec![proto::Vertex {
                digest: "sha256:aa".into(),
                inputs: vec!["sha256:bb".into()],
                name: "[2/2] RUN true".into(),
                cached: false,
                started: at(1_700_000_000, 0),
                completed: at(1_700_000_001, 500_000),
                error: String::new(),
                progress_group: None,
            }],
            statuses: vec![proto::VertexStatus {
                id: "sha256:cc".into(),
                vertex: "sha256:aa".into(),
                name: String::new(),
                current: 0,
                total: 0,
                timestamp: None,
                started: None,
                completed: None,
            }],
            logs: Vec::new(),
            warnings: vec![proto::VertexWarning {
                vertex: "sha256:aa".into(),
                level: 1,
                short: b"careful".to_vec(),
                detail: vec![b"one".to_vec()],
                url: String::new(),
                info: Some(proto::SourceInfo {
                    filename: "Dockerfile".into(),
                    data: b"FROM x\n".to_vec(),
                    definition: None,
                    language: "Dockerfile".into(),
                }),
                ranges: vec![proto::Range {
                    start: Some(proto::Position {
                        line: 1,
                        character: 0,
                    }),
                    end: None,
                }],
            }],
        };
        let json = serde_json::to_string(&SolveStatus::from(&update)).unwrap();
        // Field for field what Go's encoding/json writes for client.SolveStatus.
        let expected = r#"{"vertexes":[{"digest":"sha256:aa","inputs":["sha256:bb"],"name":"[2/2] RUN true","started":"2023-11-14T22:13:20Z","completed":"2023-11-14T22:13:21.0005Z"}],"statuses":[{"id":"sha256:cc","vertex":"sha256:aa","current":0,"timestamp":"0001-01-01T00:00:00Z"}],"warnings":[{"vertex":"sha256:aa","level":1,"short":"Y2FyZWZ1bA==","detail":["b25l"],"sourceInfo":{"filename":"Dockerfile","data":"RlJPTSB4Cg==","language":"Dockerfile"},"range":[{"start":{"line":1}}]}]}"#;
        assert_eq!(json, expected);
    }

    #[test]
    fn times_trim_trailing_zeros_like_go() {
        assert_eq!(time(at(0, 0).as_ref()), "1970-01-01T00:00:00Z");
        assert_eq!(time(at(0, 100_000_000).as_ref()), "1970-01-01T00:00:00.1Z");
        assert_eq!(
            time(at(0, 123_400).as_ref()),
            "1970-01-01T00:00:00.0001234Z"
        );
        assert_eq!(time(at(0, 1).as_ref()), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(time(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn it_reads_back_what_it_writes() {
        let status = SolveStatus {
            logs: vec![VertexLog {
                vertex: "sha256:aa".into(),
                stream: 2,
                data: vec![0, 1, 255],
                timestamp: "1970-01-01T00:00:00Z".into(),
            }],
            ..SolveStatus::default()
        };
        let json = serde_json::to_string(&status).unwrap();
        assert_eq!(serde_json::from_str::<SolveStatus>(&json).unwrap(), status);
    }
}
