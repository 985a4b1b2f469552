//! What a build reports while it runs: [`Event`], the vocabulary of the progress renderers
//! and of `devbuild build --progress=json`, which prints one event per line.
//!
//! An event is a JSON object whose `"event"` field names it (`snake_case`). BuildKit's steps
//! ([`StepEvent`]) are numbered by devbuild's [`Trace`](crate::trace::Trace), in one
//! sequence with devbuild's own work, as plain output numbers its groups (`step` is the `#N`
//! there); the pulls ([`PullEvent`]) and pushes ([`PushEvent`]), the engine's text, image id
//! and errors appear exactly as `engine_client` serialises them; devbuild adds the events of
//! the stages around them: the Dockerfile's analysis, the context upload, the outputs and
//! the result. Outputs, then pushes, come after the build and before `finished`
//! (a failed one ends the run with `failed`).
//! In the order a build reports them (fields with `?` are left out when unknown or empty):
//!
//! | `"event"` | fields |
//! |---|---|
//! | `analyzed` | `images`: `[{"image", "platform"}]` |
//! | `pull_started` | `image`, `platform?` |
//! | `pull_progress` | `image`, `layer?`, `status`, `current?`, `total?` |
//! | `image_ready` | `image`, `platform?`, `outcome`: `{"status": "present" \| "pulled" \| "failed", "reason"?}` |
//! | `context_selected` | `used` (`some` \| `all` \| `none`), `paths?`, `reason?` |
//! | `upload_progress` | `entries`, `bytes`, `total_bytes?`, `bytes_per_sec`, `done`, `excluded?`, `unused?` |
//! | `step_started`, `step_cached` | `step`, `name`, `digest` |
//! | `step_completed` | `step`, `name`, `digest`, `duration_ms?` |
//! | `step_failed` | `step`, `name`, `digest`, `error`, `canceled` |
//! | `step_progress` | `step`, `id`, `current`, `total?`, `completed` |
//! | `step_log` | `step`, `stream` (`stdout` \| `stderr`), `line` |
//! | `warning` | `step?`, `message`, `detail?`, `url?`, `location?`: `{"file", "line"}` |
//! | `stream` | `text` |
//! | `image_id` | `id` |
//! | `error` | `message`, `code?` |
//! | `output_started` | `output` (`type=tar,dest=rootfs.tar`) |
//! | `output_written` | `output`, `bytes` |
//! | `push_started` | `image` |
//! | `push_progress` | `image`, `layer?`, `status`, `current?`, `total?` |
//! | `pushed` | `image`, `digest`, `size?` |
//! | `push_failed` | `image`, `reason` |
//! | `finished` | `image_id?`, `tags`, `duration_ms` |
//! | `failed` | `message`, `step?`, `source?`: `{"file", "line", "lines": [{"line", "text", "failing"}]}`, `duration_ms` |
//!
//! ```
//! use devbuild::events::{Event, StepEvent};
//!
//! let event = Event::from(StepEvent::StepCached {
//!     step: 4,
//!     name: "[2/4] RUN apk add make".into(),
//!     digest: "sha256:2a…".into(),
//! });
//! let line = serde_json::to_string(&event).unwrap();
//! assert_eq!(
//!     line,
//!     r#"{"event":"step_cached","step":4,"name":"[2/4] RUN apk add make","digest":"sha256:2a…"}"#,
//! );
//! assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::source::SourceExcerpt;

pub use engine_client::events::{
    BuildEvent, LogStream, ProgressGroup, PullEvent, PullOutcome, PushEvent, SourceLocation,
};

/// One thing that happened during a build, from the Dockerfile's analysis to the result.
///
/// Serialised internally tagged by `"event"`; the wrapped events keep their own tags and
/// fields (`step_started`, `step_log`, `pull_progress`, `push_progress`, `image_id`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The Dockerfile was analysed: every external image its build needs.
    Analyzed {
        /// The images, in the analyser's order (stage bases first), each once per platform.
        images: Vec<NeededImage>,
    },
    /// What of the build context will be sent: the paths the Dockerfile reads, all of it,
    /// or none of it (then the tar holds only the Dockerfile).
    ContextSelected {
        /// How much of the context the build reads.
        used: ContextUsed,
        /// The paths sent, as BuildKit's file sync would follow them (with `some`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        paths: Vec<String>,
        /// Why the whole context is sent when the Dockerfile may not read all of it
        /// (`--whole-context`, or what could not be decided).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Progress of sending the build context to the engine.
    UploadProgress {
        /// Archive entries (files, directories, links) sent so far.
        entries: u64,
        /// Bytes of the archive sent so far.
        bytes: u64,
        /// The archive's size, when known beforehand.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_bytes: Option<u64>,
        /// The average rate so far, in bytes per second.
        bytes_per_sec: u64,
        /// The whole context has been sent.
        #[serde(default)]
        done: bool,
        /// Paths the ignore file left out (when done).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        excluded: Option<u64>,
        /// Paths left out because the Dockerfile does not read them (when done).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unused: Option<u64>,
    },
    /// An output (`--output`) of the built image is being written.
    OutputStarted {
        /// The output, in canonical form (`type=tar,dest=rootfs.tar`).
        output: String,
    },
    /// An output is in place.
    OutputWritten {
        /// The output, in canonical form.
        output: String,
        /// Bytes written: the file's size, or the files' sizes for a directory.
        bytes: u64,
    },
    /// The build succeeded.
    Finished {
        /// The image's id (`sha256:…`), when the engine sent it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_id: Option<String>,
        /// The tags the image was given.
        #[serde(default)]
        tags: Vec<String>,
        /// How long the whole build took, analysis and pre-pull included.
        duration_ms: u64,
    },
    /// The build failed.
    Failed {
        /// Why, in the words of whatever failed (the engine, BuildKit, the context).
        message: String,
        /// The step that failed, when a step did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<u32>,
        /// The failing instruction in its Dockerfile (its first line is `source.line`),
        /// when devbuild could tell which it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<SourceExcerpt>,
        /// How long the build ran.
        duration_ms: u64,
    },
    /// A BuildKit step, its progress and logs, or a warning, numbered in the build's
    /// sequence.
    #[serde(untagged)]
    Step(StepEvent),
    /// The pull of an image the build needs (or a `--cache-from` image).
    #[serde(untagged)]
    Pull(PullEvent),
    /// The push of a tag, after the build.
    #[serde(untagged)]
    Push(PushEvent),
    /// The engine's other events: its plain text, the image id, an error, BuildKit's raw
    /// status updates. A build's vertex events never come here: the
    /// [`Trace`](crate::trace::Trace) makes them [`Event::Step`]s. Serialised as
    /// [`BuildEvent`] is.
    #[serde(untagged)]
    Engine(BuildEvent),
}

/// What a BuildKit step did, as devbuild reports it: BuildKit's vertexes (a progress
/// group's members merged into one step), numbered in the order the build's work first
/// showed up (`#N` in plain output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepEvent {
    /// A step started running.
    StepStarted {
        /// The step's number, `#N` in buildx's output.
        step: u32,
        /// What the step does, as BuildKit names it (`[2/4] RUN make`).
        name: String,
        /// BuildKit's vertex digest, stable for the same step (for the members of a
        /// progress group merged into one step, the group's id).
        digest: String,
    },
    /// A step's result came from the cache; it will not run.
    StepCached {
        /// The step's number.
        step: u32,
        /// What the step does.
        name: String,
        /// BuildKit's vertex digest.
        digest: String,
    },
    /// A step finished successfully.
    StepCompleted {
        /// The step's number.
        step: u32,
        /// What the step does.
        name: String,
        /// BuildKit's vertex digest.
        digest: String,
        /// How long it ran, when BuildKit said when it started and ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// A step failed (or was canceled because another step failed).
    StepFailed {
        /// The step's number.
        step: u32,
        /// What the step does.
        name: String,
        /// BuildKit's vertex digest.
        digest: String,
        /// BuildKit's error message.
        error: String,
        /// The step did not fail itself: the build was canceled around it.
        #[serde(default)]
        canceled: bool,
    },
    /// Progress of one task inside a step (a layer download, the context transfer).
    StepProgress {
        /// The step's number.
        step: u32,
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
    /// One line a step printed.
    StepLog {
        /// The step's number.
        step: u32,
        /// Where the step wrote it.
        stream: LogStream,
        /// The line, without its line ending.
        line: String,
    },
    /// A warning from BuildKit (a Dockerfile check, a deprecated feature), or devbuild's
    /// own (the analyser's, the context's).
    Warning {
        /// The step it is about, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<u32>,
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
}

impl StepEvent {
    /// The number of the step the event is about, if any.
    pub fn step(&self) -> Option<u32> {
        match self {
            StepEvent::StepStarted { step, .. }
            | StepEvent::StepCached { step, .. }
            | StepEvent::StepCompleted { step, .. }
            | StepEvent::StepFailed { step, .. }
            | StepEvent::StepProgress { step, .. }
            | StepEvent::StepLog { step, .. } => Some(*step),
            StepEvent::Warning { step, .. } => *step,
        }
    }
}

/// How much of the build context a build reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextUsed {
    /// Some paths.
    Some,
    /// All of it.
    All,
    /// None of it.
    None,
}

/// An external image the build needs, for one platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeededImage {
    /// The normalised reference (`docker.io/library/alpine:3.20`).
    pub image: String,
    /// The platform it is needed for (`linux/amd64`).
    pub platform: String,
}

impl From<&dockerfile_froms::NeededImage> for NeededImage {
    fn from(need: &dockerfile_froms::NeededImage) -> Self {
        NeededImage {
            image: need.reference.to_string(),
            platform: need.platform.to_string(),
        }
    }
}

impl From<StepEvent> for Event {
    fn from(event: StepEvent) -> Self {
        Event::Step(event)
    }
}

impl From<PullEvent> for Event {
    fn from(event: PullEvent) -> Self {
        Event::Pull(event)
    }
}

impl From<PushEvent> for Event {
    fn from(event: PushEvent) -> Self {
        Event::Push(event)
    }
}

impl Event {
    /// The [`Event::Analyzed`] event of an analysis.
    pub fn analyzed(analysis: &dockerfile_froms::Analysis) -> Event {
        Event::Analyzed {
            images: analysis.images.iter().map(NeededImage::from).collect(),
        }
    }

    /// An [`Event::UploadProgress`] event, its rate the average over `elapsed` (the time
    /// since the upload began).
    pub fn upload_progress(
        entries: u64,
        bytes: u64,
        total_bytes: Option<u64>,
        elapsed: Duration,
        done: bool,
    ) -> Event {
        let secs = elapsed.as_secs_f64();
        let bytes_per_sec = if secs > 0.0 {
            (bytes as f64 / secs) as u64
        } else {
            0
        };
        Event::UploadProgress {
            entries,
            bytes,
            total_bytes,
            bytes_per_sec,
            done,
            excluded: None,
            unused: None,
        }
    }

    /// The [`Event::Finished`] event.
    pub fn finished(image_id: Option<String>, tags: Vec<String>, duration: Duration) -> Event {
        Event::Finished {
            image_id,
            tags,
            duration_ms: millis(duration),
        }
    }

    /// The [`Event::Failed`] event.
    pub fn failed(message: impl Into<String>, step: Option<u32>, duration: Duration) -> Event {
        Event::failed_at(message, step, None, duration)
    }

    /// The [`Event::Failed`] event of a failure at an instruction of the Dockerfile.
    pub fn failed_at(
        message: impl Into<String>,
        step: Option<u32>,
        source: Option<SourceExcerpt>,
        duration: Duration,
    ) -> Event {
        Event::Failed {
            message: message.into(),
            step,
            source,
            duration_ms: millis(duration),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzed_lists_each_needed_image_with_its_platform() {
        let analysis = dockerfile_froms::analyze(
            "FROM --platform=linux/arm64 golang:1.22 AS build\nFROM alpine:3.20\nCOPY --from=build /app /app\n",
            &Default::default(),
        )
        .unwrap();
        let Event::Analyzed { images } = Event::analyzed(&analysis) else {
            panic!("not an analysis");
        };
        assert_eq!(images.len(), 2);
        assert_eq!(
            images[0],
            NeededImage {
                image: "docker.io/library/golang:1.22".into(),
                platform: "linux/arm64".into(),
            }
        );
        assert_eq!(images[1].image, "docker.io/library/alpine:3.20");
    }

    #[test]
    fn upload_rate_is_the_average_so_far() {
        let event = Event::upload_progress(10, 3_000_000, None, Duration::from_secs(2), false);
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"upload_progress","entries":10,"bytes":3000000,"bytes_per_sec":1500000,"done":false}"#
        );
        let Event::UploadProgress { bytes_per_sec, .. } =
            Event::upload_progress(0, 0, Some(5), Duration::ZERO, false)
        else {
            panic!("not an upload");
        };
        assert_eq!(bytes_per_sec, 0);
    }

    #[test]
    fn results_serialise_with_their_tag() {
        assert_eq!(
            serde_json::to_string(&Event::finished(
                Some("sha256:15d3".into()),
                vec!["app:dev".into()],
                Duration::from_millis(6950),
            ))
            .unwrap(),
            r#"{"event":"finished","image_id":"sha256:15d3","tags":["app:dev"],"duration_ms":6950}"#
        );
        assert_eq!(
            serde_json::to_string(&Event::failed(
                "exit code: 2",
                Some(8),
                Duration::from_millis(1130)
            ))
            .unwrap(),
            r#"{"event":"failed","message":"exit code: 2","step":8,"duration_ms":1130}"#
        );
    }

    #[test]
    fn unknown_events_are_an_error() {
        let err = serde_json::from_str::<Event>(r#"{"event":"teleported","step":1}"#).unwrap_err();
        assert!(
            err.to_string().contains("did not match any variant"),
            "{err}"
        );
        assert!(serde_json::from_str::<Event>(r#"{"step":1}"#).is_err());
    }
}
