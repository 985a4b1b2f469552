//! `--progress=tty`: the live view of `docker buildx build` on a terminal.
//!
//! A frame is a header with the time so far and the steps done, then one line per thing in
//! the order it showed up, its time on the right:
//!
//! ```text
//! [+] Building 4.5s (6/7)
//!  => [pull] docker.io/library/golang:1.22 [===>      ] 16.00MB / 48.12MB    0.9s
//!  => [context] sending build context 118 entries 2.10MB                     0.1s
//!  => [internal] load remote build context                                   0.1s
//!  => WARN: JSONArgsRecommended: JSON arguments recommended for CMD to prev  0.1s
//!  => [1/4] FROM docker.io/library/golang:1.22@sha256:5b0f2c1d4e7a9c3b8f6e2  0.0s
//!  => => resolve docker.io/library/golang:1.22@sha256:5b0f2c1d4e7a9c3b8f6e2  0.0s
//!  => CACHED [2/4] WORKDIR /src                                              0.0s
//!  => [4/4] RUN go build -o /out/app ./cmd/app                               1.4s
//!  => => # go: downloading github.com/spf13/cobra v1.8.0
//! ```
//!
//! After the build come its outputs and pushes, each a line of its own:
//!
//! ```text
//!  => [output] type=tar,dest=rootfs.tar 4.46MB                               0.2s
//!  => [push] registry.example/team/app:1 [=====>    ] 2.10MB / 4.20MB          0.8s
//! ```
//!
//! Running steps show their last log lines (dimmed) when there is room; completed lines are
//! blue, failed red, canceled and warnings yellow (colors only on a terminal without
//! `NO_COLOR`). [`frame`] makes a frame from a [`State`], pure: the same state, time and size
//! give the same lines, each cut to the terminal's width (so that none wraps, which would
//! break the redraw) and, live, no more lines than the terminal's height. [`Screen`] redraws
//! frames in place without flicker. [`TtyRenderer`] ties them to the events; at the end it
//! prints the whole list once more, then the failed steps' logs and the warnings.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthChar;

use super::state::{elapsed, JobRef, LayerTransfer, State, Step, StepStatus};
use super::{format_bytes, trailer, TrailerKind};
use crate::events::{Event, PullOutcome};

/// The live view is redrawn at most this often.
pub const REFRESH: Duration = Duration::from_millis(100);

/// How many log lines a running step shows (buildx's default).
const LOG_LINES: usize = 6;
/// The room a step's logs need before they are shown: the lines and some slack for others.
const LOG_ROOM: usize = LOG_LINES + 3;
/// The cells of a progress bar.
const BAR_CELLS: usize = 10;
/// A line whose name would get fewer columns than this is left out (buildx's rule).
const MIN_NAME_WIDTH: usize = 12;
/// A status is shown only if the name keeps this many columns (or all it needs).
const MIN_NAME_WITH_STATUS: usize = 20;

/// A terminal's size in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermSize {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl TermSize {
    /// The size used when the terminal does not tell its own.
    pub const FALLBACK: TermSize = TermSize {
        width: 80,
        height: 24,
    };

    /// The size of the terminal on standard error, if it is one.
    #[cfg(unix)]
    pub fn of_stderr() -> Option<TermSize> {
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ only writes a `winsize` through the pointer, which points to a
        // live, writable `winsize` for the duration of the call.
        let rc = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
        (rc == 0 && size.ws_col > 0 && size.ws_row > 0).then(|| TermSize {
            width: usize::from(size.ws_col),
            height: usize::from(size.ws_row),
        })
    }

    /// The size of the terminal on standard error, if it is one.
    #[cfg(not(unix))]
    pub fn of_stderr() -> Option<TermSize> {
        None
    }
}

/// Which frame to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// While the build runs: at most the terminal's height, running steps' logs.
    Live,
    /// At the end: every line, no logs, `FINISHED` when every step is over.
    Summary,
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Something going on (and the header).
    Normal,
    /// Something over (blue).
    Done,
    /// A failure (red).
    Error,
    /// A step canceled because another failed (yellow).
    Canceled,
    /// A warning (yellow).
    Warning,
    /// A log line of a running step (dim).
    Log,
}

impl Style {
    /// The SGR sequence that starts the style, if it has one.
    fn sgr(self) -> Option<&'static str> {
        match self {
            Style::Normal => None,
            Style::Done => Some("\x1b[34m"),
            Style::Error => Some("\x1b[31m"),
            Style::Canceled | Style::Warning => Some("\x1b[33m"),
            Style::Log => Some("\x1b[2m"),
        }
    }
}

/// One line of a frame: text without control characters, and its style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// What the line says.
    pub text: String,
    /// How it is drawn.
    pub style: Style,
}

impl Line {
    fn new(text: impl Into<String>, style: Style) -> Line {
        Line {
            text: text.into(),
            style,
        }
    }
}

/// The frame of the live view (or the summary) for `state` at `now` on a terminal of `size`.
///
/// Every line is at most `size.width - 1` columns wide (the last column stays free, so the
/// terminal never wraps), and a [`View::Live`] frame has at most `size.height - 1` lines
/// (so that redrawing it never scrolls).
pub fn frame(state: &State, now: Instant, size: TermSize, view: View) -> Vec<Line> {
    let usable = size.width.saturating_sub(1).max(1);
    let elapsed = state.started.map_or(Duration::ZERO, |started| {
        state
            .ended
            .unwrap_or(now)
            .saturating_duration_since(started)
    });
    // devbuild's own jobs (analysis, pulls, upload, outputs, pushes) count as BuildKit's do.
    let (completed, total) = state.counts();
    let mut header = format!(
        "[+] Building {:.1}s ({completed}/{total})",
        elapsed.as_secs_f64()
    );
    if view == View::Summary && completed > 0 && completed == total {
        header.push_str(" FINISHED");
    }
    let mut lines = vec![Line::new(truncate(&header, usable), Style::Normal)];

    let jobs = jobs(state, now, view);
    let mut with_logs = vec![false; jobs.len()];
    let visible: Vec<usize> = match view {
        View::Summary => (0..jobs.len()).collect(),
        View::Live => {
            let budget = size.height.saturating_sub(2);
            let in_use = jobs.iter().filter(|j| !j.completed).count();
            let mut free = budget.saturating_sub(in_use);
            let mut candidates: Vec<usize> = (0..jobs.len())
                .filter(|&i| !jobs[i].logs.is_empty())
                .collect();
            candidates.sort_by_key(|&i| std::cmp::Reverse(jobs[i].log_count));
            let mut log_lines = 0;
            for i in candidates {
                if free > LOG_ROOM {
                    with_logs[i] = true;
                    log_lines += jobs[i].logs.len();
                    free -= LOG_ROOM;
                }
            }
            fit_height(&jobs, budget.saturating_sub(log_lines))
        }
    };
    for i in visible {
        let job = &jobs[i];
        let Some(text) = job_line(job, usable) else {
            continue;
        };
        lines.push(Line::new(text, job.style));
        if with_logs[i] {
            for log in &job.logs {
                lines.push(Line::new(
                    truncate(&format!(" => => # {log}"), usable),
                    Style::Log,
                ));
            }
        }
    }
    lines
}

/// A line of the list before it is fitted to the width.
#[derive(Debug)]
struct Job {
    name: String,
    /// What to show after the name, fullest first (the first that fits is shown).
    status: Vec<String>,
    /// Show a status only if the whole name fits with it (for things that are over, whose
    /// name matters more than their numbers).
    name_first: bool,
    secs: f64,
    style: Style,
    completed: bool,
    /// The last log lines, for a running step.
    logs: Vec<String>,
    log_count: usize,
}

impl Job {
    fn new(name: String, secs: f64, style: Style, completed: bool) -> Job {
        Job {
            name: clean(&name),
            status: Vec::new(),
            name_first: completed,
            secs,
            style,
            completed,
            logs: Vec::new(),
            log_count: 0,
        }
    }
}

fn jobs(state: &State, now: Instant, view: View) -> Vec<Job> {
    let mut jobs = Vec::new();
    for job in &state.jobs {
        match *job {
            JobRef::Analysis => {
                let images = state.images.as_deref().unwrap_or_default();
                let list: Vec<&str> = images.iter().map(|i| i.image.as_str()).collect();
                let name = if list.is_empty() {
                    "[analyze] needs no image".to_string()
                } else {
                    format!("[analyze] needs {}", list.join(", "))
                };
                jobs.push(Job::new(name, 0.0, Style::Done, true));
            }
            JobRef::Pull(index) => {
                let pull = &state.pulls[index];
                let secs = elapsed(pull.started, pull.ended, now).as_secs_f64();
                let (done, total) = pull.bytes();
                let mut job = match &pull.outcome {
                    None => {
                        let job = transferring(format!("[pull] {}", pull.image), secs, done, total);
                        jobs.push(job);
                        layer_jobs(&pull.layers, secs, &mut jobs);
                        continue;
                    }
                    Some(PullOutcome::Present) => Job::new(
                        format!("CACHED [pull] {}", pull.image),
                        0.0,
                        Style::Done,
                        true,
                    ),
                    Some(PullOutcome::Failed { reason }) => Job::new(
                        format!("WARN [pull] {}: {reason}", pull.image),
                        secs,
                        Style::Warning,
                        true,
                    ),
                    Some(_) => {
                        let mut job =
                            Job::new(format!("[pull] {}", pull.image), secs, Style::Done, true);
                        if total > 0 {
                            job.status = vec![format_bytes(total)];
                        }
                        job
                    }
                };
                job.name = clean(&job.name);
                jobs.push(job);
            }
            JobRef::Upload => {
                let Some(upload) = &state.upload else {
                    continue;
                };
                let secs = elapsed(upload.started, upload.ended, now).as_secs_f64();
                let name = "[context] sending build context".to_string();
                let bytes = format_bytes(upload.bytes);
                let rate = super::rate_text(
                    upload.bytes_per_sec,
                    elapsed(upload.started, upload.ended, now),
                )
                .map(|rate| format!(" {rate}"))
                .unwrap_or_default();
                let entries = match upload.entries {
                    1 => "1 entry".to_owned(),
                    n => format!("{n} entries"),
                };
                let job = if upload.ended.is_some() {
                    let mut job = Job::new(name, secs, Style::Done, true);
                    job.status = vec![format!("{entries} {bytes}"), bytes];
                    if let Some(unused) = upload.unused.filter(|n| *n > 0) {
                        let long = format!("{entries} {} ({unused} not used)", job.status[1]);
                        job.status.insert(0, long);
                    }
                    job
                } else {
                    let mut job = Job::new(name, secs, Style::Normal, false);
                    job.status = match upload.total.filter(|t| *t > 0) {
                        Some(total) => {
                            let of = format!("{bytes} / {}", format_bytes(total));
                            vec![
                                format!("{} {of}{rate}", bar(upload.bytes, total)),
                                format!("{of}{rate}"),
                                of,
                                percent(upload.bytes, total),
                            ]
                        }
                        None => vec![
                            format!("{entries} {bytes}{rate}"),
                            format!("{bytes}{rate}"),
                            bytes,
                        ],
                    };
                    job
                };
                jobs.push(job);
            }
            JobRef::Step(index) => step_jobs(&state.steps[index], now, view, &mut jobs),
            JobRef::Push(index) => {
                let push = &state.pushes[index];
                let secs = elapsed(push.started, push.ended, now).as_secs_f64();
                let (done, total) = push.bytes();
                let job = match (&push.failure, &push.digest) {
                    (Some(reason), _) => Job::new(
                        format!("ERROR [push] {}: {reason}", push.image),
                        secs,
                        Style::Error,
                        true,
                    ),
                    (None, Some(digest)) => {
                        let mut job =
                            Job::new(format!("[push] {}", push.image), secs, Style::Done, true);
                        job.status = vec![digest.clone()];
                        job
                    }
                    (None, None) => {
                        let job = transferring(format!("[push] {}", push.image), secs, done, total);
                        jobs.push(job);
                        layer_jobs(&push.layers, secs, &mut jobs);
                        continue;
                    }
                };
                jobs.push(job);
            }
            JobRef::Output(index) => {
                let output = &state.outputs[index];
                let secs = elapsed(output.started, output.ended, now).as_secs_f64();
                let name = format!("[output] {}", output.output);
                let job = match (output.failed, output.bytes) {
                    (true, _) => Job::new(format!("ERROR {name}"), secs, Style::Error, true),
                    (false, Some(bytes)) => {
                        let mut job = Job::new(name, secs, Style::Done, true);
                        job.status = vec![format_bytes(bytes)];
                        job
                    }
                    (false, None) => Job::new(name, secs, Style::Normal, false),
                };
                jobs.push(job);
            }
        }
    }
    jobs
}

fn step_jobs(step: &Step, now: Instant, view: View, jobs: &mut Vec<Job>) {
    let (prefix, style) = match step.status {
        StepStatus::Running => ("", Style::Normal),
        StepStatus::Cached => ("CACHED ", Style::Done),
        StepStatus::Done => ("", Style::Done),
        StepStatus::Failed(_) => ("ERROR ", Style::Error),
        StepStatus::Canceled => ("CANCELED ", Style::Canceled),
    };
    let secs = step.duration(now).as_secs_f64();
    let mut job = Job::new(
        format!("{prefix}{}", step.name),
        secs,
        style,
        step.is_completed(),
    );
    if view == View::Live && !step.is_completed() {
        let skip = step.logs.len().saturating_sub(LOG_LINES);
        job.logs = step
            .logs
            .iter()
            .skip(skip)
            .map(|l| clean(&l.text))
            .collect();
        job.log_count = step.log_count;
    }
    jobs.push(job);
    for task in &step.tasks {
        let took = task
            .completed
            .unwrap_or(now)
            .saturating_duration_since(task.started);
        let done = task.completed.is_some();
        let mut job = Job::new(
            format!("=> {}", task.id),
            took.as_secs_f64(),
            if done { Style::Done } else { Style::Normal },
            done,
        );
        let bytes = |n: i64| format_bytes(u64::try_from(n).unwrap_or(0));
        match task.total {
            Some(total) if total != 0 => {
                job.status = vec![format!("{} / {}", bytes(task.current), bytes(total))];
            }
            _ if task.current != 0 => job.status = vec![bytes(task.current)],
            _ => {}
        }
        jobs.push(job);
    }
    for warning in &step.warnings {
        jobs.push(Job::new(
            format!("WARN: {warning}"),
            secs,
            Style::Warning,
            true,
        ));
    }
}

/// A line per layer of a pull or a push under way, as `docker pull` draws a bar per layer:
/// ` => => 6a299ae9cfd9 [===>      ] 16.00MB / 48.12MB`, `done` once moved.
fn layer_jobs(layers: &[LayerTransfer], secs: f64, jobs: &mut Vec<Job>) {
    for layer in layers {
        let name = format!("=> {}", layer.id);
        let job = match (layer.done, layer.total.filter(|t| *t > 0)) {
            (true, total) => {
                let mut job = Job::new(name, secs, Style::Done, true);
                job.status = vec![total.map_or_else(
                    || "done".to_owned(),
                    |t| format!("{} done", format_bytes(t)),
                )];
                job
            }
            (false, Some(total)) => {
                let mut job = transferring(name, secs, layer.moved.min(total), total);
                job.name_first = false;
                job
            }
            (false, None) => Job::new(name, secs, Style::Normal, false),
        };
        jobs.push(job);
    }
}

/// Which jobs fit in `limit` lines: the last ones, with any running job that would be cut
/// moved into the place of completed ones (buildx's `wrapHeight`).
fn fit_height(jobs: &[Job], limit: usize) -> Vec<usize> {
    if jobs.len() <= limit {
        return (0..jobs.len()).collect();
    }
    let cut = jobs.len() - limit;
    let invisible: Vec<usize> = (0..cut).filter(|&i| !jobs[i].completed).collect();
    let wrapped: Vec<usize> = (cut..jobs.len()).collect();
    if invisible.is_empty() {
        return wrapped;
    }
    let mut to_drop = invisible.len();
    let mut kept = Vec::with_capacity(wrapped.len());
    for i in wrapped.iter().copied() {
        if !jobs[i].completed || to_drop == 0 {
            kept.push(i);
        }
        to_drop = to_drop.saturating_sub(1);
    }
    let free = wrapped.len() - kept.len();
    let mut fitted: Vec<usize> = invisible[invisible.len().saturating_sub(free)..].to_vec();
    fitted.extend(kept);
    fitted
}

/// ` => name [status]   1.2s`, `usable` columns wide, or nothing when the name would not get
/// [`MIN_NAME_WIDTH`] columns.
fn job_line(job: &Job, usable: usize) -> Option<String> {
    let secs = if job.secs < 0.05 { 0.0 } else { job.secs };
    let timer = format!(" {secs:3.1}s");
    let prefix = " => ";
    let field = usable.checked_sub(timer.len() + 1)?;
    let room = field.checked_sub(prefix.len())?;
    // The fullest status with which the whole name fits, else the fullest that leaves the
    // name a fair share, else none.
    let name_needs = text_width(&job.name);
    let room_with = |status: &String| room.checked_sub(text_width(status) + 1);
    let shown = job
        .status
        .iter()
        .find(|status| room_with(status).is_some_and(|w| w >= name_needs))
        .or_else(|| {
            if job.name_first {
                return None;
            }
            job.status.iter().find(|status| {
                room_with(status).is_some_and(|w| w >= MIN_NAME_WITH_STATUS.min(name_needs))
            })
        });
    let name_width = shown.map_or(Some(room), room_with).unwrap_or(0);
    if name_width < MIN_NAME_WIDTH.min(name_needs.max(1)) {
        return None;
    }
    let mut out = format!("{prefix}{}", truncate(&job.name, name_width));
    if let Some(status) = shown {
        out.push(' ');
        out.push_str(status);
    }
    let pad = field.saturating_sub(text_width(&out));
    out.extend(std::iter::repeat_n(' ', pad));
    out.push(' ');
    out.push_str(&timer);
    Some(out)
}

/// `[=====>        ]`.
/// A pull or push under way: its bar, bytes and percentage once the sizes are known.
fn transferring(name: String, secs: f64, done: u64, total: u64) -> Job {
    let mut job = Job::new(name, secs, Style::Normal, false);
    if total > 0 {
        let bytes = format!("{} / {}", format_bytes(done), format_bytes(total));
        job.status = vec![
            format!("{} {bytes}", bar(done, total)),
            bytes,
            percent(done, total),
        ];
    }
    job
}

fn bar(done: u64, total: u64) -> String {
    let filled = if total == 0 {
        0
    } else {
        ((u128::from(done.min(total)) * BAR_CELLS as u128) / u128::from(total)) as usize
    };
    let mut bar = String::with_capacity(BAR_CELLS + 2);
    bar.push('[');
    for cell in 0..BAR_CELLS {
        bar.push(match cell.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        });
    }
    bar.push(']');
    bar
}

/// `33%`.
fn percent(done: u64, total: u64) -> String {
    let share = (u128::from(done.min(total)) * 100) / u128::from(total.max(1));
    format!("{share}%")
}

/// The columns `text` takes on a terminal.
fn text_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` cut to at most `max` columns.
fn truncate(text: &str, max: usize) -> String {
    let mut width = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if width + w > max {
            break;
        }
        width += w;
        out.push(c);
    }
    out
}

/// `text` as it would look on a line of its own: what follows its last carriage return
/// (a progress bar that redraws itself), tabs expanded to 8-column stops, escape sequences
/// and other control characters dropped.
fn clean(text: &str) -> String {
    let text = text.rsplit('\r').find(|s| !s.is_empty()).unwrap_or("");
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                // CSI: parameters up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' {
                            chars.next_if_eq(&'\\');
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\t' => {
                let spaces = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            c if c.is_control() => {}
            c => {
                out.push(c);
                column += c.width().unwrap_or(0);
            }
        }
    }
    out
}

/// Draws frames in place on a terminal: each one over the last (cursor up, overwrite,
/// clear to the end of each line, clear below), in one write, the cursor hidden meanwhile.
///
/// Nothing else may write to the terminal between frames, or the redraw lands in the wrong
/// place.
pub struct Screen<W: Write> {
    out: W,
    colors: bool,
    /// Lines of the last frame, which the next one replaces.
    drawn: usize,
    cursor_hidden: bool,
}

impl<W: Write> Screen<W> {
    /// A screen on `out`, with colors or without.
    pub fn new(out: W, colors: bool) -> Screen<W> {
        Screen {
            out,
            colors,
            drawn: 0,
            cursor_hidden: false,
        }
    }

    /// Replaces the last frame with `lines`.
    pub fn draw(&mut self, lines: &[Line]) -> io::Result<()> {
        let mut buf = String::new();
        if !self.cursor_hidden {
            buf.push_str("\x1b[?25l");
            self.cursor_hidden = true;
        }
        if self.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A\r", self.drawn));
        }
        for line in lines {
            self.push_styled(&mut buf, line);
            buf.push_str("\x1b[K\n");
        }
        buf.push_str("\x1b[J");
        self.drawn = lines.len();
        self.out.write_all(buf.as_bytes())?;
        self.out.flush()
    }

    /// Leaves the last frame where it is (later output goes below it) and shows the cursor.
    pub fn release(&mut self) -> io::Result<()> {
        self.drawn = 0;
        if self.cursor_hidden {
            self.cursor_hidden = false;
            self.out.write_all(b"\x1b[?25h")?;
        }
        self.out.flush()
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn push_styled(&self, buf: &mut String, line: &Line) {
        match line.style.sgr().filter(|_| self.colors) {
            Some(sgr) => {
                buf.push_str(sgr);
                buf.push_str(&line.text);
                buf.push_str("\x1b[0m");
            }
            None => buf.push_str(&line.text),
        }
    }
}

/// How the live view is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtyOptions {
    /// Draw in colors.
    pub colors: bool,
    /// The terminal's size; `None` asks the terminal on standard error at each frame.
    pub size: Option<TermSize>,
}

/// The live view: events in, frames redrawn at most every [`REFRESH`], a summary at the end.
pub struct TtyRenderer<W: Write> {
    screen: Screen<W>,
    state: State,
    size: Option<TermSize>,
    last_draw: Option<Instant>,
}

impl<W: Write> TtyRenderer<W> {
    /// A live view on `out`.
    pub fn new(out: W, options: TtyOptions) -> TtyRenderer<W> {
        TtyRenderer {
            screen: Screen::new(out, options.colors),
            state: State::new(),
            size: options.size,
            last_draw: None,
        }
    }

    /// Fixes the terminal's size (`None`: ask the terminal at each frame).
    pub fn set_term_size(&mut self, size: Option<TermSize>) {
        self.size = size;
    }

    /// What the events said so far.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        self.screen.get_ref()
    }

    /// Takes in one event that happened at `now`, and redraws if the last frame is older
    /// than [`REFRESH`].
    pub fn event(&mut self, event: &Event, now: Instant) -> io::Result<()> {
        self.state.apply(event, now);
        self.tick(now)
    }

    /// Redraws if the last frame is older than [`REFRESH`] (the timers moved).
    pub fn tick(&mut self, now: Instant) -> io::Result<()> {
        let due = self
            .last_draw
            .is_none_or(|last| now.saturating_duration_since(last) >= REFRESH);
        if due {
            let lines = frame(&self.state, now, self.term_size(), View::Live);
            self.screen.draw(&lines)?;
            self.last_draw = Some(now);
        }
        Ok(())
    }

    /// Replaces the live view with the summary, then prints the failed steps' logs and the
    /// warnings, and shows the cursor again.
    pub fn finish(&mut self, now: Instant) -> io::Result<()> {
        let mut lines = frame(&self.state, now, self.term_size(), View::Summary);
        // Not redrawn again, so these may wrap.
        lines.extend(trailer(&self.state).into_iter().map(|(kind, text)| {
            let style = match kind {
                TrailerKind::WarningCount => Style::Warning,
                TrailerKind::Text => Style::Normal,
            };
            // Step logs and engine messages: nothing in them may move the cursor.
            Line::new(super::escape_controls(&text).into_owned(), style)
        }));
        self.screen.draw(&lines)?;
        self.screen.release()
    }

    fn term_size(&self) -> TermSize {
        self.size
            .or_else(TermSize::of_stderr)
            .unwrap_or(TermSize::FALLBACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_escapes_and_expands_tabs() {
        assert_eq!(clean("\x1b[1;32mok\x1b[0m\tdone"), "ok      done");
        assert_eq!(clean("10%\r50%\r100%"), "100%");
        assert_eq!(clean("a\x1b]0;title\x07b\x00c"), "abc");
        assert_eq!(clean("progress\r"), "progress");
    }

    #[test]
    fn truncate_counts_columns_not_chars() {
        assert_eq!(truncate("日本語のログ", 5), "日本");
        assert_eq!(text_width(&truncate("日本語のログ", 5)), 4);
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn bars_fill_with_progress() {
        assert_eq!(bar(0, 100), "[>         ]");
        assert_eq!(bar(50, 100), "[=====>    ]");
        assert_eq!(bar(100, 100), "[==========]");
        assert_eq!(bar(5, 0), "[>         ]");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(5, 0), "0%");
    }

    #[test]
    fn screen_redraws_over_the_last_frame() {
        let mut screen = Screen::new(Vec::new(), true);
        screen
            .draw(&[
                Line::new("one", Style::Normal),
                Line::new("two", Style::Done),
            ])
            .unwrap();
        screen.draw(&[Line::new("three", Style::Log)]).unwrap();
        screen.release().unwrap();
        assert_eq!(
            String::from_utf8(screen.out).unwrap(),
            "\x1b[?25lone\x1b[K\n\x1b[34mtwo\x1b[0m\x1b[K\n\x1b[J\
             \x1b[2A\r\x1b[2mthree\x1b[0m\x1b[K\n\x1b[J\x1b[?25h"
        );
    }
}
