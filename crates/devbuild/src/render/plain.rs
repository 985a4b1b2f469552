//! `--progress=plain`: the text of `docker buildx build --progress=plain`, for logs and CI.
//!
//! Each step is a group of lines prefixed with its number, opened by its name and closed by
//! its outcome, with a blank line between groups:
//!
//! ```text
//! #5 [2/4] RUN make
//! #5 0.412 cc -o app main.c
//! #5 DONE 1.2s
//!
//! #6 [3/4] COPY . .
//! #6 CACHED
//! ```
//!
//! When another step speaks before the current one is over, the current group is left with
//! `#N ...` and reopened later under its name again, as buildx does. Task progress
//! (`#2 transferring context: 2.34kB done`) is printed when it moved by 5% or 5 s; updates
//! of one task, and a step's end, are held for [`MERGE_WINDOW`] so that a task that starts
//! and ends at once is one line (`#8 exporting layers 0.1s done`; the context upload too:
//! `#3 transferring context: 2 entries 3.07kB done`) and a late line of a step
//! does not reopen it, as buildx merges the updates it prints at each refresh.
//!
//! Groups are numbered in the order they first print, as buildx's printer numbers them, and
//! what devbuild does around BuildKit has groups of its own in the same sequence: the
//! Dockerfile's analysis (`#1 [analyze] …`), each pre-pull (`#2 [pull]
//! docker.io/library/alpine:3.20`, then the lines of `docker pull`: `#2 3.20: Pulling from
//! library/alpine`), the context upload (`#3 [context] sending build context`), and, after
//! the build, each output (`#9 [output] type=tar,dest=rootfs.tar`) and each push, whose
//! lines are those of `docker push` (`#10 [push] registry.example/app:1`, `#10
//! 5f70bf18a086: Pushing 1.2MB / 2.3MB`, `#10 1: digest: sha256:… size: 527`). At the end
//! come the failed steps' last log lines between `------` rules, the failing instruction in
//! its Dockerfile, and the warnings, as buildx prints them.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::state::{elapsed, State, Step, StepStatus};
use super::{format_bytes, format_log_offset, trailer};
use crate::events::{Event, PullEvent, PullOutcome, PushEvent, StepEvent};
use crate::trace::Job as Group;

/// Progress is printed again when it moved by this share of its total…
const MIN_PROGRESS_DELTA: f64 = 0.05;
/// …or this long after it was last printed.
const MIN_TIME_DELTA: Duration = Duration::from_secs(5);
/// How long a task's unfinished update, or a step's end, waits for what may follow it at
/// once (buildx prints what changed at most every 100 ms).
pub const MERGE_WINDOW: Duration = Duration::from_millis(100);

/// The plain renderer: events in, buildx's plain text out.
pub struct PlainRenderer<W: Write> {
    out: W,
    state: State,
    /// The group whose lines come now, if one is open.
    current: Option<Group>,
    /// Whether a group was opened yet (the first is not preceded by a blank line).
    opened_any: bool,
    /// When each task's progress was last printed, and where it was then.
    last_printed: HashMap<(Group, String), Printed>,
    /// Tasks whose completion was printed.
    completed_tasks: HashSet<(u32, String)>,
    /// Steps that completed while some of their tasks were still going: their `DONE` waits.
    pending_done: Vec<u32>,
    /// What is held for [`MERGE_WINDOW`]: the current group's end, or a task's unfinished
    /// update, and since when.
    held: Option<Held>,
}

/// Output held back for a moment (see [`MERGE_WINDOW`]).
#[derive(Clone, Debug)]
enum Held {
    /// A step is over: its `DONE` (or other outcome) line.
    Close { step: u32, since: Instant },
    /// A task's update that is not its last.
    Task {
        step: u32,
        id: String,
        since: Instant,
    },
    /// The context upload's update that is not its last: an upload that ends within
    /// [`MERGE_WINDOW`] is one line (`#3 transferring context: 2 entries 3.07kB done`).
    Upload { since: Instant },
}

impl Held {
    fn since(&self) -> Instant {
        match self {
            Held::Close { since, .. } | Held::Task { since, .. } | Held::Upload { since } => *since,
        }
    }
}

#[derive(Clone, Debug)]
struct Printed {
    current: i64,
    status: String,
    at: Instant,
}

impl<W: Write> PlainRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> PlainRenderer<W> {
        PlainRenderer {
            out,
            state: State::new(),
            current: None,
            opened_any: false,
            last_printed: HashMap::new(),
            completed_tasks: HashSet::new(),
            pending_done: Vec::new(),
            held: None,
        }
    }

    /// What the events said so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Prints what one event, which happened at `now`, adds.
    pub fn event(&mut self, event: &Event, now: Instant) -> io::Result<()> {
        self.state.apply(event, now);
        self.release_unless_merging(event, now)?;
        match event {
            Event::Analyzed { images } => {
                self.open(Group::Analysis)?;
                for image in images {
                    self.line(
                        &Group::Analysis,
                        &format!("{} {}", image.image, image.platform),
                    )?;
                }
                self.close(&Group::Analysis, "DONE 0.0s")?;
            }
            Event::ContextSelected { reason, .. } => {
                if let Some(choice) = &self.state.context {
                    let line = choice.describe();
                    self.open(Group::Upload)?;
                    self.line(&Group::Upload, &line)?;
                }
                // No upload follows.
                if reason.as_deref() == Some(crate::remote::FETCHED_BY_THE_ENGINE) {
                    self.close(&Group::Upload, "DONE 0.0s")?;
                }
            }
            Event::UploadProgress { .. } => self.upload(now)?,
            Event::OutputStarted { output } => self.open(Group::Output(output.clone()))?,
            Event::OutputWritten { output, bytes } => {
                let group = Group::Output(output.clone());
                self.open(group.clone())?;
                let took = self
                    .state
                    .outputs
                    .iter()
                    .rev()
                    .find(|o| o.output == *output)
                    .map_or(0.0, |o| elapsed(o.started, o.ended, now).as_secs_f64());
                self.line(&group, &format!("{} written", format_bytes(*bytes)))?;
                self.close(&group, &format!("DONE {took:.1}s"))?;
            }
            Event::Failed { message, .. } => {
                // An output that was being written when the build failed says why.
                if let Some(group @ Group::Output(_)) = self.current.clone() {
                    self.close(&group, &format!("ERROR: {message}"))?;
                }
            }
            Event::Finished { .. } => {}
            Event::Step(event) => self.step(event, now)?,
            Event::Pull(event) => self.pull(event, now)?,
            Event::Push(event) => self.push(event, now)?,
            _ => {}
        }
        self.out.flush()
    }

    /// Lets time pass: prints what was held for longer than [`MERGE_WINDOW`].
    pub fn tick(&mut self, now: Instant) -> io::Result<()> {
        if self
            .held
            .as_ref()
            .is_some_and(|held| now.saturating_duration_since(held.since()) >= MERGE_WINDOW)
        {
            self.release(now)?;
        }
        self.out.flush()
    }

    /// Prints what is held unless `event` may merge with it: an update of the held step
    /// within [`MERGE_WINDOW`].
    fn release_unless_merging(&mut self, event: &Event, now: Instant) -> io::Result<()> {
        let Some(held) = &self.held else {
            return Ok(());
        };
        let held_step = match held {
            Held::Close { step, .. } | Held::Task { step, .. } => Some(*step),
            Held::Upload { .. } => None,
        };
        let same_step = match event {
            Event::UploadProgress { .. } => held_step.is_none(),
            Event::Step(
                StepEvent::StepProgress { step, .. }
                | StepEvent::StepLog { step, .. }
                | StepEvent::StepCompleted { step, .. }
                | StepEvent::StepCached { step, .. }
                | StepEvent::StepFailed { step, .. },
            ) => Some(*step) == held_step,
            _ => false,
        };
        if !same_step || now.saturating_duration_since(held.since()) >= MERGE_WINDOW {
            self.release(now)?;
        }
        Ok(())
    }

    /// Prints what is held.
    fn release(&mut self, now: Instant) -> io::Result<()> {
        match self.held.take() {
            Some(Held::Close { step, .. }) => self.close_now(step, now),
            // As it stood when it came.
            Some(Held::Upload { since }) => self.print_upload_progress(since),
            Some(Held::Task { step, id, .. }) => {
                let printed = self.print_task(step, &id, now)?;
                if printed {
                    self.close_again(step, now)?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn step(&mut self, event: &StepEvent, now: Instant) -> io::Result<()> {
        match event {
            StepEvent::StepStarted { step, .. } => self.open(Group::Step(*step))?,
            StepEvent::StepCached { step, .. }
            | StepEvent::StepCompleted { step, .. }
            | StepEvent::StepFailed { step, .. } => {
                self.open(Group::Step(*step))?;
                self.close_again(*step, now)?;
            }
            StepEvent::StepProgress {
                step,
                id,
                current,
                total,
                completed,
            } => {
                let printed = self.task(*step, id, *current, *total, *completed, now)?;
                if printed {
                    self.close_again(*step, now)?;
                }
            }
            StepEvent::StepLog { step, .. } => {
                let Some(line) = self
                    .state
                    .step_by_number(*step)
                    .and_then(|s| s.logs.back())
                    .map(|log| format!("{} {}", format_log_offset(log.offset), log.text))
                else {
                    return Ok(());
                };
                self.open(Group::Step(*step))?;
                self.line(&Group::Step(*step), &line)?;
                self.close_again(*step, now)?;
            }
            StepEvent::Warning {
                step: Some(step),
                message,
                ..
            } if self.state.step_by_number(*step).is_some() => {
                self.open(Group::Step(*step))?;
                self.line(&Group::Step(*step), &format!("WARN: {message}"))?;
                self.close_again(*step, now)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn pull(&mut self, event: &PullEvent, now: Instant) -> io::Result<()> {
        match event {
            PullEvent::PullStarted { image, .. } => self.open(Group::Pull(image.clone()))?,
            PullEvent::PullProgress {
                image,
                layer,
                status,
                current,
                total,
            } => {
                let group = Group::Pull(image.clone());
                self.layer_line(group, layer.as_deref(), status, *current, *total, now)?;
            }
            PullEvent::ImageReady { image, outcome, .. } => {
                let group = Group::Pull(image.clone());
                self.open(group.clone())?;
                let took = self.pull_duration(image, now);
                match outcome {
                    PullOutcome::Present => self.close(&group, "CACHED")?,
                    PullOutcome::Failed { reason } => {
                        self.line(&group, &format!("WARN: {reason}"))?;
                        self.close(&group, &format!("DONE {took:.1}s"))?;
                    }
                    _ => self.close(&group, &format!("DONE {took:.1}s"))?,
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, event: &PushEvent, now: Instant) -> io::Result<()> {
        match event {
            PushEvent::PushStarted { image } => self.open(Group::Push(image.clone()))?,
            PushEvent::PushProgress {
                image,
                layer,
                status,
                current,
                total,
            } => {
                let group = Group::Push(image.clone());
                self.layer_line(group, layer.as_deref(), status, *current, *total, now)?;
            }
            PushEvent::Pushed { image, .. } | PushEvent::PushFailed { image, .. } => {
                let group = Group::Push(image.clone());
                self.open(group.clone())?;
                let took = self
                    .state
                    .pushes
                    .iter()
                    .find(|p| p.image == *image)
                    .map_or(0.0, |p| elapsed(p.started, p.ended, now).as_secs_f64());
                match event {
                    PushEvent::PushFailed { reason, .. } => {
                        self.close(&group, &format!("ERROR: {reason}"))?
                    }
                    _ => self.close(&group, &format!("DONE {took:.1}s"))?,
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Ends the output: steps still waiting for their `DONE`, then the failed steps' logs
    /// and the warnings.
    pub fn finish(&mut self, now: Instant) -> io::Result<()> {
        while self.held.is_some() {
            self.release(now)?;
        }
        for step in std::mem::take(&mut self.pending_done) {
            let Some(outcome) = self
                .state
                .step_by_number(step)
                .and_then(|s| outcome(s, now))
            else {
                continue;
            };
            self.open(Group::Step(step))?;
            self.close(&Group::Step(step), &outcome)?;
        }
        for (_, line) in trailer(&self.state) {
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }

    fn upload(&mut self, now: Instant) -> io::Result<()> {
        let Some(upload) = self.state.upload.clone() else {
            return Ok(());
        };
        let took = elapsed(upload.started, upload.ended, now);
        if upload.ended.is_some() {
            // Its last update replaces one that was held.
            if matches!(self.held, Some(Held::Upload { .. })) {
                self.held = None;
            }
            if self
                .last_printed
                .contains_key(&(Group::Upload, "done".into()))
            {
                return Ok(());
            }
            self.open(Group::Upload)?;
            let line = format!(
                "transferring context: {} {}{} done",
                entries(upload.entries),
                format_bytes(upload.bytes),
                seconds_text(took),
            );
            self.line(&Group::Upload, &line)?;
            if let Some(left_out) = upload.left_out() {
                self.line(&Group::Upload, &format!("left out: {left_out}"))?;
            }
            self.printed((Group::Upload, "done".into()), "", 0, now);
            return self.close(&Group::Upload, &format!("DONE {:.1}s", took.as_secs_f64()));
        }
        let key = (Group::Upload, String::new());
        let current = i64::try_from(upload.bytes).unwrap_or(i64::MAX);
        let total = upload.total.and_then(|t| i64::try_from(t).ok());
        if !self.due(&key, "", current, total, now)
            || matches!(self.held, Some(Held::Upload { .. }))
        {
            return Ok(());
        }
        // Held a moment: an upload that ends at once prints its `done` line only.
        self.release(now)?;
        self.held = Some(Held::Upload { since: now });
        Ok(())
    }

    /// Prints the upload's progress line as it stood at `now`.
    fn print_upload_progress(&mut self, now: Instant) -> io::Result<()> {
        let Some(upload) = self.state.upload.clone() else {
            return Ok(());
        };
        if upload.ended.is_some() {
            return Ok(());
        }
        let took = elapsed(upload.started, upload.ended, now);
        let key = (Group::Upload, String::new());
        let current = i64::try_from(upload.bytes).unwrap_or(i64::MAX);
        let total = upload.total.and_then(|t| i64::try_from(t).ok());
        self.open(Group::Upload)?;
        let line = format!(
            "transferring context:{}{}{}",
            bytes_text(current, total),
            super::rate_text(upload.bytes_per_sec, took)
                .map(|rate| format!(" at {rate}"))
                .unwrap_or_default(),
            seconds_text(took),
        );
        self.line(&Group::Upload, &line)?;
        self.printed(key, "", current, now);
        Ok(())
    }

    fn task(
        &mut self,
        step: u32,
        id: &str,
        current: i64,
        total: Option<i64>,
        completed: bool,
        now: Instant,
    ) -> io::Result<bool> {
        let key = (Group::Step(step), id.to_string());
        if completed {
            if self.completed_tasks.contains(&(step, id.to_string())) {
                return Ok(false);
            }
            // Its last update replaces one that was held.
            if matches!(&self.held, Some(Held::Task { step: s, id: i, .. }) if *s == step && i == id)
            {
                self.held = None;
            }
            return self.print_task(step, id, now);
        }
        if !self.due(&key, "", current, total, now) {
            return Ok(false);
        }
        if matches!(&self.held, Some(Held::Task { step: s, id: i, .. }) if *s == step && i == id) {
            return Ok(false);
        }
        self.release(now)?;
        self.held = Some(Held::Task {
            step,
            id: id.to_owned(),
            since: now,
        });
        Ok(false)
    }

    /// Prints a task's line as it stands now.
    fn print_task(&mut self, step: u32, id: &str, now: Instant) -> io::Result<bool> {
        let key = (Group::Step(step), id.to_string());
        let Some(task) = self
            .state
            .step_by_number(step)
            .and_then(|s| s.tasks.iter().find(|t| t.id == id))
        else {
            return Ok(false);
        };
        let took = task
            .completed
            .unwrap_or(now)
            .saturating_duration_since(task.started);
        let (current, completed) = (task.current, task.completed.is_some());
        // A task's end is printed once, whether it came held or not.
        if completed && !self.completed_tasks.insert((step, id.to_string())) {
            return Ok(false);
        }
        let mut line = format!("{id}{}", bytes_text(current, task.total));
        line.push_str(&seconds_text(took));
        if completed {
            line.push_str(" done");
        }
        self.open(Group::Step(step))?;
        self.line(&Group::Step(step), &line)?;
        self.printed(key, "", current, now);
        Ok(true)
    }

    /// A pull's or a push's status line, as `docker pull` and `docker push` print it
    /// (`#0 <layer> <status> <bytes>`), when it is [`due`](Self::due).
    fn layer_line(
        &mut self,
        group: Group,
        layer: Option<&str>,
        status: &str,
        current: Option<u64>,
        total: Option<u64>,
        now: Instant,
    ) -> io::Result<()> {
        let key = (group.clone(), layer.unwrap_or_default().to_owned());
        let current = current.map_or(0, |c| i64::try_from(c).unwrap_or(i64::MAX));
        let total = total.and_then(|t| i64::try_from(t).ok());
        if !self.due(&key, status, current, total, now) {
            return Ok(());
        }
        self.open(group.clone())?;
        // As `docker pull` and `docker push` print it: `<layer>: <status>`.
        let mut line = String::new();
        if let Some(layer) = layer {
            line.push_str(layer);
            line.push_str(": ");
        }
        line.push_str(status);
        line.push_str(&bytes_text(current, total));
        self.line(&group, &line)?;
        self.printed(key, status, current, now);
        Ok(())
    }

    /// Whether progress at `current` is worth a line: the first, a new status, or a move of 5% or 5 s since the last one printed.
    fn due(
        &self,
        key: &(Group, String),
        status: &str,
        current: i64,
        total: Option<i64>,
        now: Instant,
    ) -> bool {
        let Some(last) = self.last_printed.get(key) else {
            return true;
        };
        if last.status != status {
            return true;
        }
        let progress = match total {
            Some(total) if total > 0 => (current - last.current) as f64 / total as f64,
            _ => 0.0,
        };
        progress >= MIN_PROGRESS_DELTA || now.saturating_duration_since(last.at) >= MIN_TIME_DELTA
    }

    fn printed(&mut self, key: (Group, String), status: &str, current: i64, now: Instant) {
        self.last_printed.insert(
            key,
            Printed {
                current,
                status: status.to_string(),
                at: now,
            },
        );
    }

    fn has_open_tasks(&self, step: u32) -> bool {
        self.state
            .step_by_number(step)
            .is_some_and(|s| s.tasks.iter().any(|t| t.completed.is_none()))
    }

    fn pull_duration(&self, image: &str, now: Instant) -> f64 {
        self.state
            .pulls
            .iter()
            .find(|p| p.image == image)
            .map_or(0.0, |p| elapsed(p.started, p.ended, now).as_secs_f64())
    }

    /// Makes `group` the current one, leaving the current one with `#N ...` and opening
    /// `group` with its name.
    fn open(&mut self, group: Group) -> io::Result<()> {
        if self.current.as_ref() == Some(&group) {
            return Ok(());
        }
        self.release_held_close()?;
        if let Some(old) = self.current.take() {
            writeln!(self.out, "#{} ...", self.number(&old))?;
        }
        if self.opened_any {
            writeln!(self.out)?;
        }
        self.opened_any = true;
        writeln!(self.out, "#{} {}", self.number(&group), self.name(&group))?;
        self.current = Some(group);
        Ok(())
    }

    /// A held step end is printed before another group opens.
    fn release_held_close(&mut self) -> io::Result<()> {
        if let Some(Held::Close { step, since }) = self.held {
            self.held = None;
            self.close_now(step, since)?;
        }
        Ok(())
    }

    /// One line of `group`, prefixed with its number.
    fn line(&mut self, group: &Group, text: &str) -> io::Result<()> {
        writeln!(self.out, "#{} {text}", self.number(group))
    }

    /// The number the build's trace gave `group` (`#N`).
    fn number(&self, group: &Group) -> u32 {
        self.state.number(group).unwrap_or(0)
    }

    /// Ends `group` (the current one) with its outcome.
    fn close(&mut self, group: &Group, outcome: &str) -> io::Result<()> {
        self.line(group, outcome)?;
        self.current = None;
        Ok(())
    }

    /// Ends a step's group (the current one) with its outcome if the step is over and none
    /// of its tasks is still going; else leaves it open (buildx keeps a step open while a
    /// task of it goes on, and closes it again when a late line was printed into it).
    fn close_again(&mut self, step: u32, now: Instant) -> io::Result<()> {
        let over = self
            .state
            .step_by_number(step)
            .and_then(|s| outcome(s, now))
            .is_some();
        if !over {
            return Ok(());
        }
        if self.has_open_tasks(step) {
            if !self.pending_done.contains(&step) {
                self.pending_done.push(step);
            }
            return Ok(());
        }
        self.pending_done.retain(|s| *s != step);
        if !matches!(self.held, Some(Held::Close { step: s, .. }) if s == step) {
            self.release(now)?;
        }
        // Held a moment: a late line of the step comes before its end, not after it.
        self.held = Some(Held::Close { step, since: now });
        Ok(())
    }

    /// Ends a step's group with its outcome now, if the step is still the current group.
    fn close_now(&mut self, step: u32, now: Instant) -> io::Result<()> {
        let Some(outcome) = self
            .state
            .step_by_number(step)
            .and_then(|s| outcome(s, now))
        else {
            return Ok(());
        };
        if self.current != Some(Group::Step(step)) {
            self.open(Group::Step(step))?;
        }
        self.close(&Group::Step(step), &outcome)
    }

    fn name(&self, group: &Group) -> String {
        match group {
            Group::Analysis => "[analyze] images the build needs".to_string(),
            Group::Pull(image) => format!("[pull] {image}"),
            Group::Upload => "[context] sending build context".to_string(),
            Group::Push(image) => format!("[push] {image}"),
            Group::Output(output) => format!("[output] {output}"),
            Group::Step(step) => self
                .state
                .step_by_number(*step)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
        }
    }
}

/// How a step that is over ended, as its group's last line says it; nothing while it runs.
fn outcome(step: &Step, now: Instant) -> Option<String> {
    match &step.status {
        StepStatus::Running => None,
        StepStatus::Cached => Some("CACHED".to_string()),
        StepStatus::Done => Some(format!("DONE {:.1}s", step.duration(now).as_secs_f64())),
        StepStatus::Failed(error) => Some(format!("ERROR: {error}")),
        StepStatus::Canceled => Some("CANCELED".to_string()),
    }
}

/// `1 entry`, `2 entries`.
fn entries(count: u64) -> String {
    if count == 1 {
        "1 entry".to_owned()
    } else {
        format!("{count} entries")
    }
}

/// ` 1.20MB / 3.40MB`, ` 1.20MB` or nothing, as buildx shows a task's bytes.
fn bytes_text(current: i64, total: Option<i64>) -> String {
    let bytes = |n: i64| format_bytes(u64::try_from(n).unwrap_or(0));
    match total {
        Some(total) if total != 0 => format!(" {} / {}", bytes(current), bytes(total)),
        _ if current != 0 => format!(" {}", bytes(current)),
        _ => String::new(),
    }
}

/// ` 1.2s`, or nothing for less than 10 ms, as buildx shows a task's time.
fn seconds_text(took: Duration) -> String {
    let secs = took.as_secs_f64();
    if secs > 0.01 {
        format!(" {secs:.1}s")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(bytes: u64, done: bool, at: Duration) -> Event {
        Event::upload_progress(2, bytes, None, at, done)
    }

    fn render(events: &[(u64, Event)]) -> String {
        let start = Instant::now();
        let mut out = Vec::new();
        let mut renderer = PlainRenderer::new(&mut out);
        for (ms, event) in events {
            let now = start + Duration::from_millis(*ms);
            renderer.tick(now).unwrap();
            renderer.event(event, now).unwrap();
        }
        renderer.finish(start + Duration::from_secs(1)).unwrap();
        drop(renderer);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_upload_that_ends_within_the_merge_window_is_one_line() {
        let text = render(&[
            (0, upload(1000, false, Duration::ZERO)),
            (5, upload(3070, true, Duration::from_millis(5))),
        ]);
        assert_eq!(
            text,
            "#1 [context] sending build context\n#1 transferring context: 2 entries 3.07kB done\n#1 DONE 0.0s\n"
        );
    }

    #[test]
    fn a_longer_upload_shows_its_progress_first() {
        let text = render(&[
            (0, upload(1000, false, Duration::ZERO)),
            (300, upload(3070, true, Duration::from_millis(300))),
        ]);
        assert_eq!(
            text,
            "#1 [context] sending build context\n#1 transferring context: 1.00kB\n#1 transferring context: 2 entries 3.07kB 0.3s done\n#1 DONE 0.3s\n"
        );
    }
}
