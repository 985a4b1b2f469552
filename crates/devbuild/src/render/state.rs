//! What the renderers know about a build so far, built from its events: the analysis, the
//! pre-pulls, the upload, BuildKit's steps, and the outputs and pushes after the build.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::events::{
    BuildEvent, ContextUsed, Event, NeededImage, PullEvent, PullOutcome, PushEvent, StepEvent,
};
use crate::source::SourceExcerpt;
use crate::trace::{Job, Trace};

/// How many of a step's last log lines are kept, for the tail shown after a failure.
pub const FAILURE_LOG_LINES: usize = 20;

/// Everything the events of one build have said so far: its steps with their progress, logs
/// and warnings, the pre-pulls, the context upload, the outcome. The live view is drawn
/// from it ([`tty::frame`](super::tty::frame)).
#[derive(Clone, Debug, Default)]
pub struct State {
    /// When the first event came.
    pub(crate) started: Option<Instant>,
    /// When the result ([`Event::Finished`] or [`Event::Failed`]) came.
    pub(crate) ended: Option<Instant>,
    /// The images the analysis found, if it was reported.
    pub(crate) images: Option<Vec<NeededImage>>,
    /// The order in which things first showed up.
    pub(crate) jobs: Vec<JobRef>,
    pub(crate) pulls: Vec<Pull>,
    pub(crate) upload: Option<Upload>,
    /// What of the context is sent, once decided.
    pub(crate) context: Option<ContextChoice>,
    pub(crate) steps: Vec<Step>,
    step_index: HashMap<u32, usize>,
    /// Every warning's message, in order.
    pub(crate) warnings: Vec<String>,
    pub(crate) outcome: Option<Outcome>,
    /// The failing instruction in its Dockerfile, when the build failed at one.
    pub(crate) source: Option<SourceExcerpt>,
    /// The image id, once the engine sent it.
    pub(crate) image_id: Option<String>,
    /// The pushes of the built image's tags, after the build.
    pub(crate) pushes: Vec<Push>,
    /// The outputs written after the build.
    pub(crate) outputs: Vec<OutputJob>,
    /// The numbers of the build's jobs: the build's own trace, seen from its events.
    trace: Trace,
}

/// One line of the live view's list, in the order things first showed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobRef {
    Analysis,
    Pull(usize),
    Upload,
    Step(usize),
    Push(usize),
    Output(usize),
}

/// One BuildKit step.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) name: String,
    /// When it started (or was first heard of).
    pub(crate) started: Instant,
    pub(crate) ended: Option<Instant>,
    /// How long it ran, as BuildKit measured it.
    pub(crate) reported: Option<Duration>,
    pub(crate) status: StepStatus,
    pub(crate) tasks: Vec<Task>,
    /// The last [`FAILURE_LOG_LINES`] log lines.
    pub(crate) logs: VecDeque<LogLine>,
    /// How many log lines it printed in all.
    pub(crate) log_count: usize,
    pub(crate) warnings: Vec<String>,
}

/// Where a step is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StepStatus {
    Running,
    Cached,
    Done,
    Failed(String),
    Canceled,
}

/// One task inside a step (a layer download, the context transfer).
#[derive(Clone, Debug)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) current: i64,
    pub(crate) total: Option<i64>,
    pub(crate) started: Instant,
    pub(crate) completed: Option<Instant>,
}

/// A log line of a step.
#[derive(Clone, Debug)]
pub(crate) struct LogLine {
    /// Since the step started.
    pub(crate) offset: Duration,
    pub(crate) text: String,
}

/// The pre-pull of one image.
#[derive(Clone, Debug)]
pub(crate) struct Pull {
    pub(crate) image: String,
    pub(crate) platform: Option<String>,
    pub(crate) started: Instant,
    pub(crate) ended: Option<Instant>,
    pub(crate) layers: Vec<LayerTransfer>,
    pub(crate) outcome: Option<PullOutcome>,
}

/// A layer of a pull (downloaded) or of a push (sent), as the engine's per-layer statuses
/// tell it.
#[derive(Clone, Debug)]
pub(crate) struct LayerTransfer {
    pub(crate) id: String,
    /// Bytes moved so far.
    pub(crate) moved: u64,
    pub(crate) total: Option<u64>,
    /// Moved in full, or not needed (already there).
    pub(crate) done: bool,
}

impl LayerTransfer {
    /// The layer `id` of `layers`, added when it is new.
    fn of<'a>(layers: &'a mut Vec<LayerTransfer>, id: &str) -> &'a mut LayerTransfer {
        let index = match layers.iter().position(|l| l.id == id) {
            Some(index) => index,
            None => {
                layers.push(LayerTransfer {
                    id: id.to_owned(),
                    moved: 0,
                    total: None,
                    done: false,
                });
                layers.len() - 1
            }
        };
        &mut layers[index]
    }

    /// A progress report: bytes moved so far, of `total`.
    fn progress(&mut self, current: Option<u64>, total: Option<u64>) {
        self.moved = current.unwrap_or(self.moved);
        self.total = total.or(self.total);
    }

    /// Bytes moved so far and in all, over the layers whose size is known.
    fn bytes(layers: &[LayerTransfer]) -> (u64, u64) {
        layers
            .iter()
            .filter_map(|layer| {
                let total = layer.total?;
                let done = if layer.done {
                    total
                } else {
                    layer.moved.min(total)
                };
                Some((done, total))
            })
            .fold((0, 0), |(done, total), (d, t)| (done + d, total + t))
    }
}

/// The push of one tag.
#[derive(Clone, Debug)]
pub(crate) struct Push {
    pub(crate) image: String,
    pub(crate) started: Instant,
    pub(crate) ended: Option<Instant>,
    pub(crate) layers: Vec<LayerTransfer>,
    /// The pushed manifest's digest, once pushed.
    pub(crate) digest: Option<String>,
    /// Why it failed, if it did.
    pub(crate) failure: Option<String>,
}

/// An output being written.
#[derive(Clone, Debug)]
pub(crate) struct OutputJob {
    /// The output in canonical form (`type=tar,dest=rootfs.tar`).
    pub(crate) output: String,
    pub(crate) started: Instant,
    pub(crate) ended: Option<Instant>,
    /// Bytes written, once written.
    pub(crate) bytes: Option<u64>,
    /// The build failed while it was being written.
    pub(crate) failed: bool,
}

/// The context upload.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
    pub(crate) total: Option<u64>,
    pub(crate) bytes_per_sec: u64,
    pub(crate) started: Instant,
    pub(crate) ended: Option<Instant>,
    /// Paths the ignore file left out, once done.
    pub(crate) excluded: Option<u64>,
    /// Paths the Dockerfile does not read, once done.
    pub(crate) unused: Option<u64>,
}

/// What of the context is sent.
#[derive(Clone, Debug)]
pub(crate) struct ContextChoice {
    pub(crate) used: ContextUsed,
    pub(crate) paths: Vec<String>,
    pub(crate) reason: Option<String>,
}

impl ContextChoice {
    /// One line saying what is sent (see [`super::describe_context`]).
    pub(crate) fn describe(&self) -> String {
        super::describe_context(self.used, &self.paths, self.reason.as_deref())
    }
}

impl Upload {
    /// What was left out, once known: `54380 paths the Dockerfile does not read, 3
    /// excluded by the ignore file`; `None` when nothing was.
    pub(crate) fn left_out(&self) -> Option<String> {
        let paths = |n: u64| {
            if n == 1 {
                "1 path".to_owned()
            } else {
                format!("{n} paths")
            }
        };
        let mut parts = Vec::new();
        if let Some(unused) = self.unused.filter(|n| *n > 0) {
            parts.push(format!("{} the Dockerfile does not read", paths(unused)));
        }
        if let Some(excluded) = self.excluded.filter(|n| *n > 0) {
            parts.push(format!("{} excluded by the ignore file", paths(excluded)));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// How the build ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Finished,
    Failed,
}

impl State {
    /// Nothing known yet.
    pub fn new() -> State {
        State::default()
    }

    /// Takes in one event that happened at `now`.
    pub fn apply(&mut self, event: &Event, now: Instant) {
        self.started.get_or_insert(now);
        self.trace.observe(event);
        match event {
            Event::Analyzed { images } => {
                if self.images.is_none() {
                    self.jobs.push(JobRef::Analysis);
                }
                self.images = Some(images.clone());
            }
            Event::ContextSelected {
                used,
                paths,
                reason,
            } => {
                self.context = Some(ContextChoice {
                    used: *used,
                    paths: paths.clone(),
                    reason: reason.clone(),
                });
            }
            Event::UploadProgress {
                entries,
                bytes,
                total_bytes,
                bytes_per_sec,
                done,
                excluded,
                unused,
            } => {
                if self.upload.is_none() {
                    self.jobs.push(JobRef::Upload);
                }
                let upload = self.upload.get_or_insert(Upload {
                    entries: 0,
                    bytes: 0,
                    total: None,
                    bytes_per_sec: 0,
                    started: now,
                    ended: None,
                    excluded: None,
                    unused: None,
                });
                upload.excluded = *excluded;
                upload.unused = *unused;
                upload.entries = *entries;
                upload.bytes = *bytes;
                upload.total = *total_bytes;
                upload.bytes_per_sec = *bytes_per_sec;
                if *done {
                    upload.ended.get_or_insert(now);
                }
            }
            Event::Finished { .. } => {
                self.outcome = Some(Outcome::Finished);
                self.ended.get_or_insert(now);
            }
            Event::Failed { source, .. } => {
                self.outcome = Some(Outcome::Failed);
                self.source.clone_from(source);
                self.ended.get_or_insert(now);
                for output in self.outputs.iter_mut().filter(|o| o.ended.is_none()) {
                    output.failed = true;
                    output.ended = Some(now);
                }
            }
            Event::OutputStarted { output } => {
                self.outputs.push(OutputJob {
                    output: output.clone(),
                    started: now,
                    ended: None,
                    bytes: None,
                    failed: false,
                });
                self.jobs.push(JobRef::Output(self.outputs.len() - 1));
            }
            Event::OutputWritten { output, bytes } => {
                if let Some(job) = self
                    .outputs
                    .iter_mut()
                    .rev()
                    .find(|o| o.output == *output && o.ended.is_none())
                {
                    job.bytes = Some(*bytes);
                    job.ended = Some(now);
                }
            }
            Event::Step(event) => self.apply_step(event, now),
            Event::Pull(event) => self.apply_pull(event, now),
            Event::Push(event) => self.apply_push(event, now),
            Event::Engine(BuildEvent::ImageId { id }) => self.image_id = Some(id.clone()),
            // The engine's own text (classic-builder chatter such as `Successfully tagged`)
            // and its error (the caller prints the build's error) change no progress.
            Event::Engine(_) => {}
        }
    }

    fn apply_step(&mut self, event: &StepEvent, now: Instant) {
        match event {
            StepEvent::StepStarted { step, name, .. } => {
                self.step(*step, now).name.clone_from(name);
            }
            StepEvent::StepCached { step, name, .. } => {
                let step = self.step(*step, now);
                step.name.clone_from(name);
                step.status = StepStatus::Cached;
                step.ended.get_or_insert(now);
            }
            StepEvent::StepCompleted {
                step,
                name,
                duration_ms,
                ..
            } => {
                let step = self.step(*step, now);
                step.name.clone_from(name);
                if step.status == StepStatus::Running {
                    step.status = StepStatus::Done;
                }
                step.reported = duration_ms.map(Duration::from_millis);
                step.ended.get_or_insert(now);
            }
            StepEvent::StepFailed {
                step,
                name,
                error,
                canceled,
                ..
            } => {
                let step = self.step(*step, now);
                step.name.clone_from(name);
                step.status = if *canceled {
                    StepStatus::Canceled
                } else {
                    StepStatus::Failed(error.clone())
                };
                step.ended.get_or_insert(now);
            }
            StepEvent::StepProgress {
                step,
                id,
                current,
                total,
                completed,
            } => {
                let step = self.step(*step, now);
                let task = match step.tasks.iter().position(|t| t.id == *id) {
                    Some(index) => &mut step.tasks[index],
                    None => {
                        step.tasks.push(Task {
                            id: id.clone(),
                            current: 0,
                            total: None,
                            started: now,
                            completed: None,
                        });
                        step.tasks.last_mut().expect("just pushed")
                    }
                };
                task.current = *current;
                task.total = *total;
                if *completed {
                    task.completed.get_or_insert(now);
                }
            }
            StepEvent::StepLog { step, line, .. } => {
                let step = self.step(*step, now);
                if step.logs.len() == FAILURE_LOG_LINES {
                    step.logs.pop_front();
                }
                step.logs.push_back(LogLine {
                    offset: now.saturating_duration_since(step.started),
                    text: line.clone(),
                });
                step.log_count += 1;
            }
            StepEvent::Warning { step, message, .. } => {
                self.warnings.push(message.clone());
                // A warning about a step that never showed up stays a build-wide one.
                if let Some(&index) = step.and_then(|n| self.step_index.get(&n)) {
                    self.steps[index].warnings.push(message.clone());
                }
            }
        }
    }

    fn apply_pull(&mut self, event: &PullEvent, now: Instant) {
        match event {
            PullEvent::PullStarted { image, .. } => {
                self.pull(image, now);
            }
            PullEvent::PullProgress {
                image,
                layer,
                status,
                current,
                total,
            } => {
                let pull = self.pull(image, now);
                // `<tag>: Pulling from <repository>` is about the image, not a layer.
                let Some(layer) = layer
                    .as_ref()
                    .filter(|_| !status.starts_with("Pulling from"))
                else {
                    return;
                };
                let layer = LayerTransfer::of(&mut pull.layers, layer);
                match status.as_str() {
                    "Downloading" => layer.progress(*current, *total),
                    "Download complete" | "Verifying Checksum" | "Extracting" | "Pull complete"
                    | "Already exists" => {
                        layer.done = true;
                    }
                    _ => {}
                }
            }
            PullEvent::ImageReady {
                image,
                platform,
                outcome,
            } => {
                let pull = self.pull(image, now);
                pull.platform.clone_from(platform);
                pull.outcome = Some(outcome.clone());
                pull.ended.get_or_insert(now);
            }
            _ => {}
        }
    }

    fn apply_push(&mut self, event: &PushEvent, now: Instant) {
        match event {
            PushEvent::PushStarted { image } => {
                self.push(image, now);
            }
            PushEvent::PushProgress {
                image,
                layer,
                status,
                current,
                total,
            } => {
                let push = self.push(image, now);
                let Some(layer) = layer else {
                    return;
                };
                let layer = LayerTransfer::of(&mut push.layers, layer);
                match status.as_str() {
                    "Pushing" => layer.progress(*current, *total),
                    "Pushed" | "Layer already exists" => layer.done = true,
                    status if status.starts_with("Mounted from") => layer.done = true,
                    _ => {}
                }
            }
            PushEvent::Pushed { image, digest, .. } => {
                let push = self.push(image, now);
                push.digest = Some(digest.clone());
                push.ended.get_or_insert(now);
            }
            PushEvent::PushFailed { image, reason } => {
                let push = self.push(image, now);
                push.failure = Some(reason.clone());
                push.ended.get_or_insert(now);
            }
            _ => {}
        }
    }

    /// How many of the jobs the live view counts (`(n/m)`) are over, and how many there
    /// are: BuildKit's steps and devbuild's own (the analysis, each pull, the upload, each
    /// output and push).
    pub fn counts(&self) -> (usize, usize) {
        let over = |job: &JobRef| match *job {
            JobRef::Analysis => true,
            JobRef::Pull(i) => self.pulls[i].ended.is_some(),
            JobRef::Upload => self.upload.as_ref().is_some_and(|u| u.ended.is_some()),
            JobRef::Step(i) => self.steps[i].is_completed(),
            JobRef::Push(i) => self.pushes[i].ended.is_some(),
            JobRef::Output(i) => self.outputs[i].ended.is_some(),
        };
        let done = self.jobs.iter().filter(|job| over(job)).count();
        (done, self.jobs.len())
    }

    /// Whether the result came.
    pub fn is_finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// The step numbered `number`, made (running since `now`) if it is new.
    fn step(&mut self, number: u32, now: Instant) -> &mut Step {
        let index = *self.step_index.entry(number).or_insert_with(|| {
            self.steps.push(Step {
                name: String::new(),
                started: now,
                ended: None,
                reported: None,
                status: StepStatus::Running,
                tasks: Vec::new(),
                logs: VecDeque::new(),
                log_count: 0,
                warnings: Vec::new(),
            });
            self.jobs.push(JobRef::Step(self.steps.len() - 1));
            self.steps.len() - 1
        });
        &mut self.steps[index]
    }

    /// The pull of `image`, made if it is new.
    fn pull(&mut self, image: &str, now: Instant) -> &mut Pull {
        let index = match self.pulls.iter().position(|p| p.image == image) {
            Some(index) => index,
            None => {
                self.pulls.push(Pull {
                    image: image.to_string(),
                    platform: None,
                    started: now,
                    ended: None,
                    layers: Vec::new(),
                    outcome: None,
                });
                self.jobs.push(JobRef::Pull(self.pulls.len() - 1));
                self.pulls.len() - 1
            }
        };
        &mut self.pulls[index]
    }

    /// The push of `image`, made if it is new.
    fn push(&mut self, image: &str, now: Instant) -> &mut Push {
        let index = match self.pushes.iter().position(|p| p.image == image) {
            Some(index) => index,
            None => {
                self.pushes.push(Push {
                    image: image.to_string(),
                    started: now,
                    ended: None,
                    layers: Vec::new(),
                    digest: None,
                    failure: None,
                });
                self.jobs.push(JobRef::Push(self.pushes.len() - 1));
                self.pushes.len() - 1
            }
        };
        &mut self.pushes[index]
    }

    /// The number `job` was given (`#N`), if it showed up.
    pub(crate) fn number(&self, job: &Job) -> Option<u32> {
        self.trace.number(job)
    }

    /// The step numbered `number`, if it showed up.
    pub(crate) fn step_by_number(&self, number: u32) -> Option<&Step> {
        self.step_index.get(&number).map(|&i| &self.steps[i])
    }

    /// The steps that failed on their own (not canceled), in the order they showed up.
    pub(crate) fn failed_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Failed(_)))
    }

    /// Every warning's message, in order.
    pub(crate) fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl Step {
    /// Whether it is over (done, cached, failed or canceled).
    pub(crate) fn is_completed(&self) -> bool {
        self.status != StepStatus::Running
    }

    /// How long it ran, or has run until `now`.
    pub(crate) fn duration(&self, now: Instant) -> Duration {
        match (&self.status, self.reported) {
            (StepStatus::Cached, _) => Duration::ZERO,
            (_, Some(reported)) => reported,
            _ => elapsed(self.started, self.ended, now),
        }
    }
}

impl Pull {
    /// Bytes downloaded so far and in all, over the layers whose size is known.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        LayerTransfer::bytes(&self.layers)
    }
}

impl Push {
    /// Bytes sent so far and in all, over the layers whose size is known.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        LayerTransfer::bytes(&self.layers)
    }
}

/// How long a job has run: from `started` to `ended`, or to `now` while it runs.
pub(crate) fn elapsed(started: Instant, ended: Option<Instant>, now: Instant) -> Duration {
    ended.unwrap_or(now).saturating_duration_since(started)
}
