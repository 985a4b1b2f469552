//! The events the engine reports: BuildKit's vertexes, their progress and logs, warnings,
//! the engine's plain output, the image id and errors ([`BuildEvent`]); a pull
//! ([`PullEvent`]); a push ([`PushEvent`]).
//!
//! They say what the engine and BuildKit said, typed, keyed by what BuildKit keys them by
//! (a vertex's digest), with no presentation: no step numbers, no merged progress groups
//! (a vertex's [`ProgressGroup`] comes with it), no kept log tails. A renderer's state does
//! that, as progressui's `trace` does for buildx. The JSON form is internally tagged by
//! `"event"`, with `snake_case` names:
//!
//! ```
//! use engine_client::events::{BuildEvent, LogStream};
//!
//! let event = BuildEvent::VertexLog {
//!     vertex: "sha256:2a".into(),
//!     stream: LogStream::Stdout,
//!     line: "ok".into(),
//! };
//! assert_eq!(
//!     serde_json::to_string(&event).unwrap(),
//!     r#"{"event":"vertex_log","vertex":"sha256:2a","stream":"stdout","line":"ok"}"#,
//! );
//! ```
//!
//! No event ever holds a credential.

use serde::{Deserialize, Serialize};

use crate::solve_status::SolveStatus;

/// One thing that happened during a build, as the engine and BuildKit said it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BuildEvent {
    /// A vertex (a step of the build graph) started running.
    VertexStarted {
        /// BuildKit's digest of the vertex, stable for the same step.
        digest: String,
        /// What it does, as BuildKit names it (`[2/4] RUN make`).
        name: String,
        /// The group BuildKit shows it in, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<ProgressGroup>,
    },
    /// A vertex's result came from the cache; it will not run.
    VertexCached {
        /// The vertex's digest.
        digest: String,
        /// What it does.
        name: String,
        /// The group BuildKit shows it in, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<ProgressGroup>,
    },
    /// A vertex finished successfully.
    VertexCompleted {
        /// The vertex's digest.
        digest: String,
        /// What it does.
        name: String,
        /// The group BuildKit shows it in, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<ProgressGroup>,
        /// How long it ran, when BuildKit said when it started and ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// A vertex failed, with BuildKit's error (which may say the vertex was canceled
    /// because another failed: [`is_cancellation`](crate::progress::is_cancellation)).
    VertexFailed {
        /// The vertex's digest.
        digest: String,
        /// What it does.
        name: String,
        /// The group BuildKit shows it in, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<ProgressGroup>,
        /// BuildKit's error message.
        error: String,
    },
    /// Progress of one task inside a vertex (a layer download, the context transfer).
    VertexProgress {
        /// The vertex's digest.
        vertex: String,
        /// The task, as BuildKit names it (`sha256:…`, `transferring context`).
        id: String,
        /// Units done so far (bytes, usually).
        current: i64,
        /// Units in all, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<i64>,
        /// The task is finished.
        #[serde(default)]
        completed: bool,
    },
    /// One line a vertex printed.
    VertexLog {
        /// The vertex's digest.
        vertex: String,
        /// Where the vertex wrote it.
        stream: LogStream,
        /// The line, without its line ending.
        line: String,
    },
    /// A warning from BuildKit (a Dockerfile check, a deprecated feature), or one of the
    /// decoder's own (a message it could not read).
    Warning {
        /// The digest of the vertex it is about, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vertex: Option<String>,
        /// The short message.
        message: String,
        /// Longer explanation, one paragraph per entry.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        detail: Vec<String>,
        /// A page that explains it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The file and 1-based line it points at, when BuildKit gives one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<SourceLocation>,
    },
    /// Plain text from the engine (the `stream` field of a message).
    Stream {
        /// The text, as sent (often ending with a newline).
        text: String,
    },
    /// The built image's id (`moby.image.id`).
    ImageId {
        /// `sha256:…`.
        id: String,
    },
    /// The engine reported an error (`errorDetail`): the build failed.
    Error {
        /// The engine's message.
        message: String,
        /// The engine's code, when it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
    },
    /// One of BuildKit's status updates as it came, in the JSON form of BuildKit's Go
    /// client (reported only when asked for: [`BuildOptions::raw_status`]); the events
    /// decoded from it follow it.
    ///
    /// [`BuildOptions::raw_status`]: crate::engine::BuildOptions::raw_status
    Status(Box<SolveStatus>),
}

/// A group of vertexes BuildKit asks to be shown as one (`Vertex.progressGroup`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProgressGroup {
    /// Identifies the group.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// A weak group is shown only once one of its members that is not weak has started.
    #[serde(default)]
    pub weak: bool,
}

/// One thing that happened during a pull of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PullEvent {
    /// A pull was asked of the engine (before any answer: a slow registry may keep it
    /// silent for long).
    PullStarted {
        /// The image, as asked for.
        image: String,
        /// The platform it is pulled for (`linux/amd64`), if one was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<String>,
    },
    /// Progress of a pull, as the engine reports it per layer.
    PullProgress {
        /// The image being pulled, as asked for (`docker.io/library/alpine:3.20`).
        image: String,
        /// The layer (or tag) the status is about, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<String>,
        /// The engine's status text (`Downloading`, `Pull complete`, …).
        status: String,
        /// Bytes done so far, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<u64>,
        /// Bytes in all, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
    },
    /// A needed image is ready, or could not be pulled (a warning: the build's own
    /// error tells the rest of the story).
    ImageReady {
        /// The image, as asked for.
        image: String,
        /// The platform it was needed for (`linux/amd64`), if one was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<String>,
        /// What happened.
        outcome: PullOutcome,
    },
}

impl PullEvent {
    /// The image the event is about, as asked for.
    pub fn image(&self) -> &str {
        match self {
            PullEvent::PullStarted { image, .. }
            | PullEvent::PullProgress { image, .. }
            | PullEvent::ImageReady { image, .. } => image,
        }
    }
}

/// One thing that happened during a push of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PushEvent {
    /// A push of an image to its registry was asked of the engine
    /// (`POST /images/{name}/push`).
    PushStarted {
        /// The image, as given (`127.0.0.1:5000/team/app:1`).
        image: String,
    },
    /// Progress of a push, as the engine reports it per layer (what `docker push` prints).
    PushProgress {
        /// The image being pushed.
        image: String,
        /// The layer the status is about, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<String>,
        /// The engine's status text (`Preparing`, `Pushing`, `Pushed`, `Layer already
        /// exists`, `Mounted from …`, `1: digest: sha256:… size: 527`).
        status: String,
        /// Bytes sent so far, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<u64>,
        /// Bytes in all, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
    },
    /// The image was pushed: the registry holds its manifest under the tag.
    Pushed {
        /// The image, as given.
        image: String,
        /// The digest of the manifest the registry now holds (`sha256:…`): the image can
        /// be pulled as `<name>@<digest>`.
        digest: String,
        /// The manifest's size in bytes, when the engine said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
    },
    /// The push failed.
    PushFailed {
        /// The image, as given.
        image: String,
        /// Why, in the registry's or the engine's words (`no basic auth credentials`).
        reason: String,
    },
}

impl PushEvent {
    /// The image the event is about, as given.
    pub fn image(&self) -> &str {
        match self {
            PushEvent::PushStarted { image }
            | PushEvent::PushProgress { image, .. }
            | PushEvent::Pushed { image, .. }
            | PushEvent::PushFailed { image, .. } => image,
        }
    }
}

/// Where a step wrote a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    /// Standard output (BuildKit stream 1).
    Stdout,
    /// Standard error (BuildKit stream 2, and any other stream number).
    Stderr,
}

/// A place in a build file that a warning points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    /// The file, as BuildKit names it (`Dockerfile`).
    pub file: String,
    /// The 1-based line.
    pub line: u32,
}

/// How a needed image ended in a pre-pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PullOutcome {
    /// It was already in the engine's image store.
    Present,
    /// It was pulled.
    Pulled,
    /// The pull failed; the build goes on and may fail with its own error.
    Failed {
        /// Why, in the engine's words.
        reason: String,
    },
}
