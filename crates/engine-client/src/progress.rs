//! Decoding the engine's `/build?version=2` response into [`BuildEvent`]s.
//!
//! The response is a stream of JSON messages, one per line. With BuildKit, most carry
//! `{"id":"moby.buildkit.trace","aux":"<base64>"}`: a protobuf `StatusResponse` from
//! BuildKit's control API, mirrored by hand in [`proto`]. A [`BuildDecoder`] keeps the
//! state that turns successive `StatusResponse`s into vertex events: it tracks vertexes
//! by digest (so that each starts, and ends, once) and splits log chunks into lines. It
//! emits what BuildKit said and does no presentation: vertexes are keyed by digest, not
//! numbered, their progress group comes with them unmerged, and no log is kept. Numbering
//! steps, merging progress groups and keeping log tails are a renderer's (progressui's
//! `trace` for buildx, devbuild's trace for devbuild).
//!
//! ```
//! use engine_client::events::BuildEvent;
//! use engine_client::progress::BuildDecoder;
//!
//! let mut decoder = BuildDecoder::new();
//! let events = decoder
//!     .decode_line(br#"{"aux":{"ID":"sha256:0123"},"id":"moby.image.id"}"#)
//!     .unwrap();
//! assert_eq!(events, [BuildEvent::ImageId { id: "sha256:0123".into() }]);
//! ```
//!
//! Pitfall (bollard 0.21): with default features, bollard decodes each line into a
//! typed `BuildInfo` whose `aux` must be an image id, so the first trace line fails and
//! the stream ends. Decoding here takes the raw line and treats `aux` by `id`.

use std::collections::HashMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use prost::Message as _;
use serde::Deserialize;

use crate::events::{BuildEvent, LogStream, ProgressGroup, SourceLocation};
use crate::line_stream::LineBuffer;
use crate::solve_status::SolveStatus;

/// BuildKit's progress messages (`api/services/control/control.proto` and the parts of
/// `solver/pb/ops.proto` they use), declared by hand for `prost`. Fields this crate
/// does not read are left out; protobuf skips them when decoding.
pub mod proto {
    pub use prost_types::Timestamp;

    /// One progress update: vertexes that changed, task statuses, log chunks, warnings.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StatusResponse {
        /// Steps (vertexes of the build graph) whose state changed.
        #[prost(message, repeated, tag = "1")]
        pub vertexes: Vec<Vertex>,
        /// Progress of tasks inside steps.
        #[prost(message, repeated, tag = "2")]
        pub statuses: Vec<VertexStatus>,
        /// Output chunks of steps.
        #[prost(message, repeated, tag = "3")]
        pub logs: Vec<VertexLog>,
        /// Warnings.
        #[prost(message, repeated, tag = "4")]
        pub warnings: Vec<VertexWarning>,
    }

    /// A step of the build graph.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Vertex {
        /// Identifies the vertex.
        #[prost(string, tag = "1")]
        pub digest: String,
        /// Digests of the vertexes it depends on.
        #[prost(string, repeated, tag = "2")]
        pub inputs: Vec<String>,
        /// Human-readable name (`[2/4] RUN make`).
        #[prost(string, tag = "3")]
        pub name: String,
        /// Its result came from the cache.
        #[prost(bool, tag = "4")]
        pub cached: bool,
        /// When it started.
        #[prost(message, optional, tag = "5")]
        pub started: Option<Timestamp>,
        /// When it ended.
        #[prost(message, optional, tag = "6")]
        pub completed: Option<Timestamp>,
        /// Why it failed, if it did.
        #[prost(string, tag = "7")]
        pub error: String,
        /// A group it is displayed in.
        #[prost(message, optional, tag = "8")]
        pub progress_group: Option<ProgressGroup>,
    }

    /// A group of vertexes shown as one.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProgressGroup {
        /// Identifies the group.
        #[prost(string, tag = "1")]
        pub id: String,
        /// Its display name.
        #[prost(string, tag = "2")]
        pub name: String,
        /// Whether the group is weak.
        #[prost(bool, tag = "3")]
        pub weak: bool,
    }

    /// Progress of one task inside a vertex.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct VertexStatus {
        /// Identifies the task within the vertex.
        #[prost(string, tag = "1")]
        pub id: String,
        /// The vertex's digest.
        #[prost(string, tag = "2")]
        pub vertex: String,
        /// Display name.
        #[prost(string, tag = "3")]
        pub name: String,
        /// Units done.
        #[prost(int64, tag = "4")]
        pub current: i64,
        /// Units in all (0: unknown).
        #[prost(int64, tag = "5")]
        pub total: i64,
        /// When this update was made.
        #[prost(message, optional, tag = "6")]
        pub timestamp: Option<Timestamp>,
        /// When the task started.
        #[prost(message, optional, tag = "7")]
        pub started: Option<Timestamp>,
        /// When the task ended.
        #[prost(message, optional, tag = "8")]
        pub completed: Option<Timestamp>,
    }

    /// A chunk of a vertex's output.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct VertexLog {
        /// The vertex's digest.
        #[prost(string, tag = "1")]
        pub vertex: String,
        /// When it was written.
        #[prost(message, optional, tag = "2")]
        pub timestamp: Option<Timestamp>,
        /// 1: stdout, 2: stderr.
        #[prost(int64, tag = "3")]
        pub stream: i64,
        /// The bytes written (not necessarily whole lines).
        #[prost(bytes = "vec", tag = "4")]
        pub msg: Vec<u8>,
    }

    /// A warning about a vertex.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct VertexWarning {
        /// The vertex's digest.
        #[prost(string, tag = "1")]
        pub vertex: String,
        /// Severity.
        #[prost(int64, tag = "2")]
        pub level: i64,
        /// The message.
        #[prost(bytes = "vec", tag = "3")]
        pub short: Vec<u8>,
        /// Paragraphs of explanation.
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub detail: Vec<Vec<u8>>,
        /// A page that explains it.
        #[prost(string, tag = "5")]
        pub url: String,
        /// The source file it is about.
        #[prost(message, optional, tag = "6")]
        pub info: Option<SourceInfo>,
        /// Where in that file.
        #[prost(message, repeated, tag = "7")]
        pub ranges: Vec<Range>,
    }

    /// A source file.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SourceInfo {
        /// The file's name.
        #[prost(string, tag = "1")]
        pub filename: String,
        /// Its content.
        #[prost(bytes = "vec", tag = "2")]
        pub data: Vec<u8>,
        /// The LLB that reads it.
        #[prost(message, optional, tag = "3")]
        pub definition: Option<Definition>,
        /// Its language (`Dockerfile`).
        #[prost(string, tag = "4")]
        pub language: String,
    }

    /// An LLB definition (its metadata and source map are not decoded).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Definition {
        /// The serialised operations.
        #[prost(bytes = "vec", repeated, tag = "1")]
        pub def: Vec<Vec<u8>>,
    }

    /// A span of a source file.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Range {
        /// Where it starts.
        #[prost(message, optional, tag = "1")]
        pub start: Option<Position>,
        /// Where it ends.
        #[prost(message, optional, tag = "2")]
        pub end: Option<Position>,
    }

    /// A position in a source file.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Position {
        /// 1-based line.
        #[prost(int32, tag = "1")]
        pub line: i32,
        /// Column.
        #[prost(int32, tag = "2")]
        pub character: i32,
    }
}

/// A line of the response that could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("undecodable message from the engine ({reason}): {excerpt}")]
pub struct DecodeError {
    reason: String,
    excerpt: String,
}

impl DecodeError {
    fn new(reason: impl fmt::Display, line: &[u8]) -> Self {
        let text = String::from_utf8_lossy(line);
        let excerpt = match text.char_indices().nth(120) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.into_owned(),
        };
        Self {
            reason: reason.to_string(),
            excerpt,
        }
    }
}

/// The step that failed a build. Its log came as [`BuildEvent::VertexLog`]s: a renderer
/// shows its tail (the decoder keeps none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    /// BuildKit's digest of the failing vertex.
    pub digest: String,
    /// What the step does.
    pub name: String,
    /// BuildKit's error message.
    pub error: String,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} failed: {}", self.name, self.error)
    }
}

/// Whether a vertex's error says it was canceled (because another vertex failed, or the
/// build was), not that it failed itself.
///
/// BuildKit reports a vertex's error as text only (`Vertex.error` is a string in
/// `control.proto`; the gRPC status it came from is formatted into it), and the Engine API
/// adds no code to it, so the text is all there is: BuildKit ends a canceled vertex's error
/// with Go's `context.Canceled` text, which is what progressui itself matches
/// (`strings.HasSuffix(v.Error, context.Canceled.Error())`). This is the one place that
/// reads it. A build canceled by its caller needs no such test: dropping the stream ends
/// it, and no further event comes.
///
/// ```
/// use engine_client::progress::is_cancellation;
/// assert!(is_cancellation("failed to compute cache key: context canceled"));
/// assert!(!is_cancellation("process \"/bin/sh -c false\" did not complete successfully: exit code: 1"));
/// ```
pub fn is_cancellation(error: &str) -> bool {
    error.ends_with("context canceled")
}

#[derive(Default)]
struct VertexState {
    /// The order it was first heard of in, for flushing logs in a stable order.
    order: usize,
    name: String,
    group: Option<ProgressGroup>,
    started: bool,
    cached: bool,
    finished: bool,
    partial: HashMap<LogStream, LineBuffer>,
}

/// Turns the build response, line by line, into [`BuildEvent`]s.
#[derive(Default)]
pub struct BuildDecoder {
    vertexes: HashMap<String, VertexState>,
    failure: Option<StepFailure>,
    image_id: Option<String>,
    error: Option<String>,
    raw_status: bool,
}

impl fmt::Debug for BuildDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildDecoder")
            .field("vertexes", &self.vertexes.len())
            .field("failure", &self.failure)
            .field("image_id", &self.image_id)
            .finish_non_exhaustive()
    }
}

/// One JSON message of the engine's streams.
#[derive(Deserialize)]
struct JsonMessage {
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
    #[serde(default)]
    aux: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

impl BuildDecoder {
    /// A decoder for one build.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that also reports each of BuildKit's status updates as it came, as
    /// [`BuildEvent::Status`] before the events decoded from it.
    pub fn with_raw_status() -> Self {
        Self {
            raw_status: true,
            ..Self::default()
        }
    }

    /// Decodes one line of the response (a JSON message; surrounding whitespace and an
    /// empty line are fine).
    pub fn decode_line(&mut self, line: &[u8]) -> Result<Vec<BuildEvent>, DecodeError> {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return Ok(Vec::new());
        }
        let message: JsonMessage =
            serde_json::from_slice(trimmed).map_err(|e| DecodeError::new(e, trimmed))?;
        let mut events = Vec::new();
        if message.error.is_some() || message.error_detail.is_some() {
            let detail = message.error_detail.unwrap_or(ErrorDetail {
                code: None,
                message: None,
            });
            let text = detail
                .message
                .filter(|m| !m.is_empty())
                .or(message.error)
                .unwrap_or_default();
            self.error.get_or_insert_with(|| text.clone());
            events.push(BuildEvent::Error {
                message: text,
                code: detail.code.filter(|c| *c != 0),
            });
            return Ok(events);
        }
        match (message.id.as_deref(), message.aux) {
            (Some("moby.buildkit.trace"), Some(serde_json::Value::String(encoded))) => {
                let bytes = STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|e| DecodeError::new(format!("trace is not base64: {e}"), trimmed))?;
                let status = proto::StatusResponse::decode(bytes.as_slice()).map_err(|e| {
                    DecodeError::new(format!("trace is not a StatusResponse: {e}"), trimmed)
                })?;
                if self.raw_status {
                    events.push(BuildEvent::Status(Box::new(SolveStatus::from(&status))));
                }
                events.extend(self.decode_status(status));
            }
            (Some("moby.buildkit.trace"), _) => {
                return Err(DecodeError::new("trace without a base64 aux", trimmed));
            }
            (_, Some(serde_json::Value::Object(aux))) => {
                if let Some(serde_json::Value::String(id)) = aux.get("ID") {
                    self.image_id = Some(id.clone());
                    events.push(BuildEvent::ImageId { id: id.clone() });
                }
            }
            _ => {}
        }
        if let Some(text) = message.stream.filter(|t| !t.is_empty()) {
            events.push(BuildEvent::Stream { text });
        }
        if let Some(status) = message.status.filter(|s| !s.is_empty()) {
            let text = match message.id {
                Some(id) if !id.is_empty() => format!("{id}: {status}\n"),
                _ => format!("{status}\n"),
            };
            events.push(BuildEvent::Stream { text });
        }
        Ok(events)
    }

    /// Turns one `StatusResponse` into events.
    pub fn decode_status(&mut self, status: proto::StatusResponse) -> Vec<BuildEvent> {
        let mut events = Vec::new();
        for vertex in status.vertexes {
            self.vertex(vertex, &mut events);
        }
        for task in status.statuses {
            if !self.vertexes.contains_key(&task.vertex) {
                continue;
            }
            events.push(BuildEvent::VertexProgress {
                vertex: task.vertex,
                id: if task.id.is_empty() {
                    task.name
                } else {
                    task.id
                },
                current: task.current,
                total: (task.total != 0).then_some(task.total),
                completed: task.completed.is_some(),
            });
        }
        for log in status.logs {
            let stream = if log.stream == 1 {
                LogStream::Stdout
            } else {
                LogStream::Stderr
            };
            self.log(&log.vertex, stream, &log.msg, &mut events);
        }
        for warning in status.warnings {
            let vertex = Some(warning.vertex.clone()).filter(|v| self.vertexes.contains_key(v));
            let file = warning
                .info
                .as_ref()
                .map(|i| i.filename.clone())
                .unwrap_or_default();
            let location = warning
                .ranges
                .first()
                .and_then(|r| r.start.as_ref())
                .filter(|p| p.line > 0 && !file.is_empty())
                .map(|p| SourceLocation {
                    file: file.clone(),
                    line: p.line.unsigned_abs(),
                });
            events.push(BuildEvent::Warning {
                vertex,
                message: text_of(&warning.short),
                detail: warning.detail.iter().map(|d| text_of(d)).collect(),
                url: Some(warning.url).filter(|u| !u.is_empty()),
                location,
            });
        }
        events
    }

    /// Ends the response: flushes any log line that had no line ending yet.
    pub fn finish(&mut self) -> Vec<BuildEvent> {
        let mut events = Vec::new();
        let mut digests: Vec<_> = self
            .vertexes
            .iter()
            .filter(|(_, s)| s.partial.values().any(LineBuffer::has_rest))
            .map(|(d, s)| (s.order, d.clone()))
            .collect();
        digests.sort();
        for (_, digest) in digests {
            self.flush_logs(&digest, &mut events);
        }
        events
    }

    /// The step that failed the build, if one did: the first step with an error that
    /// was not a cancellation, else the first canceled one.
    pub fn failure(&self) -> Option<&StepFailure> {
        self.failure.as_ref()
    }

    /// The engine's error message (`errorDetail`), if it sent one.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The built image's id, once the engine sent it.
    pub fn image_id(&self) -> Option<&str> {
        self.image_id.as_deref()
    }

    fn vertex(&mut self, vertex: proto::Vertex, events: &mut Vec<BuildEvent>) {
        let order = self.vertexes.len();
        let state = self
            .vertexes
            .entry(vertex.digest.clone())
            .or_insert_with(|| VertexState {
                order,
                ..VertexState::default()
            });
        if !vertex.name.is_empty() {
            state.name = vertex.name.clone();
        }
        if let Some(group) = &vertex.progress_group {
            state.group = Some(ProgressGroup {
                id: group.id.clone(),
                name: group.name.clone(),
                weak: group.weak,
            });
        }
        let active = vertex.started.is_some() || vertex.cached || !vertex.error.is_empty();
        if !active || state.finished {
            return;
        }
        let name = state.name.clone();
        let group = state.group.clone();
        let digest = vertex.digest.clone();
        if vertex.cached {
            if !state.cached {
                state.cached = true;
                state.started = true;
                events.push(BuildEvent::VertexCached {
                    digest,
                    name,
                    group,
                });
            }
            if vertex.completed.is_some() {
                state.finished = true;
            }
            return;
        }
        if !state.started {
            state.started = true;
            events.push(BuildEvent::VertexStarted {
                digest: digest.clone(),
                name: name.clone(),
                group: group.clone(),
            });
        }
        if vertex.error.is_empty() && vertex.completed.is_none() {
            return;
        }
        // The vertex is over: its last partial log lines come before its end.
        self.flush_logs(&vertex.digest, events);
        if let Some(state) = self.vertexes.get_mut(&vertex.digest) {
            state.finished = true;
        }
        if vertex.error.is_empty() {
            events.push(BuildEvent::VertexCompleted {
                digest,
                name,
                group,
                duration_ms: duration_ms(vertex.started.as_ref(), vertex.completed.as_ref()),
            });
            return;
        }
        let failure = StepFailure {
            digest: digest.clone(),
            name: name.clone(),
            error: vertex.error.clone(),
        };
        // The first vertex that failed on its own, else the first canceled one.
        match &self.failure {
            None => self.failure = Some(failure),
            Some(first) if is_cancellation(&first.error) && !is_cancellation(&vertex.error) => {
                self.failure = Some(failure)
            }
            Some(_) => {}
        }
        events.push(BuildEvent::VertexFailed {
            digest,
            name,
            group,
            error: vertex.error,
        });
    }

    fn log(&mut self, digest: &str, stream: LogStream, msg: &[u8], events: &mut Vec<BuildEvent>) {
        let Some(state) = self.vertexes.get_mut(digest) else {
            return;
        };
        for line in state.partial.entry(stream).or_default().push(msg) {
            push_line(digest, stream, &line, events);
        }
    }

    fn flush_logs(&mut self, digest: &str, events: &mut Vec<BuildEvent>) {
        let Some(state) = self.vertexes.get_mut(digest) else {
            return;
        };
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            if let Some(line) = state.partial.remove(&stream).and_then(|mut b| b.rest()) {
                push_line(digest, stream, &line, events);
            }
        }
    }
}

fn push_line(vertex: &str, stream: LogStream, line: &[u8], events: &mut Vec<BuildEvent>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = String::from_utf8_lossy(line).into_owned();
    events.push(BuildEvent::VertexLog {
        vertex: vertex.to_owned(),
        stream,
        line,
    });
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn duration_ms(
    started: Option<&proto::Timestamp>,
    completed: Option<&proto::Timestamp>,
) -> Option<u64> {
    let (s, c) = (started?, completed?);
    let nanos = (i128::from(c.seconds) - i128::from(s.seconds)) * 1_000_000_000
        + i128::from(c.nanos)
        - i128::from(s.nanos);
    u64::try_from(nanos / 1_000_000).ok()
}
