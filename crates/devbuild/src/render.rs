//! Progress renderers: what `devbuild build --progress=…` prints while a build runs.
//!
//! Each renderer is fed [`Event`]s with the time they happened (an [`Instant`] the caller
//! owns: the renderers never read the clock, so a recorded event sequence renders the same
//! way every time):
//!
//! - [`plain`]: the format of `docker buildx build --progress=plain` (`#5 [2/4] RUN make`,
//!   `#5 0.412 <log line>`, `#5 DONE 1.2s`), for logs and CI.
//! - [`json`]: one [`Event`] per line (the schema is [`Event`]'s); or, for `rawjson`,
//!   BuildKit's own status updates as `docker buildx build --progress=rawjson` prints them.
//! - [`tty`]: the live view of buildx on a terminal, redrawn in place, then a summary.
//!
//! [`Progress`] picks one from a [`ProgressMode`], as `--progress` does:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use devbuild::events::{Event, StepEvent};
//! use devbuild::render::{Progress, ProgressMode};
//!
//! let start = Instant::now();
//! let mut out = Vec::new();
//! let mut progress = Progress::new(ProgressMode::Auto, &mut out, false);
//! let step = |event| Event::from(event);
//! progress.event(&step(StepEvent::StepStarted {
//!     step: 1, name: "[1/2] FROM docker.io/library/alpine:3.20".into(), digest: "sha256:1".into(),
//! }), start)?;
//! progress.event(&step(StepEvent::StepCompleted {
//!     step: 1, name: "[1/2] FROM docker.io/library/alpine:3.20".into(), digest: "sha256:1".into(),
//!     duration_ms: Some(40),
//! }), start + Duration::from_millis(40))?;
//! progress.finish(start + Duration::from_millis(50))?;
//! drop(progress);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "#1 [1/2] FROM docker.io/library/alpine:3.20\n#1 DONE 0.0s\n",
//! );
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod json;
pub mod plain;
mod state;
pub mod tty;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;
use std::time::{Duration, Instant};

pub use state::State;

use crate::events::{ContextUsed, Event};

/// How progress is shown: `--progress=auto|tty|plain|json|rawjson|quiet`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ProgressMode {
    /// [`Tty`](ProgressMode::Tty) when the output is a terminal, else
    /// [`Plain`](ProgressMode::Plain), as buildx decides.
    #[default]
    Auto,
    /// The live view, redrawn in place.
    Tty,
    /// buildx's plain text, one line per thing that happened.
    Plain,
    /// One JSON [`Event`] per line.
    Json,
    /// BuildKit's status updates, one JSON `SolveStatus` per line, as buildx prints them
    /// (the build must report them: [`BuildSpec::raw_status`](crate::build::BuildSpec::raw_status)).
    RawJson,
    /// Nothing.
    Quiet,
}

impl ProgressMode {
    /// The mode actually used for an output that is (or is not) a terminal: `Auto` resolved.
    pub fn resolve(self, is_tty: bool) -> ProgressMode {
        match self {
            ProgressMode::Auto if is_tty => ProgressMode::Tty,
            ProgressMode::Auto => ProgressMode::Plain,
            mode => mode,
        }
    }

    /// The name `--progress` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressMode::Auto => "auto",
            ProgressMode::Tty => "tty",
            ProgressMode::Plain => "plain",
            ProgressMode::Json => "json",
            ProgressMode::RawJson => "rawjson",
            ProgressMode::Quiet => "quiet",
        }
    }
}

impl fmt::Display for ProgressMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--progress` value that is not one of `auto`, `tty`, `plain`, `json`, `rawjson`,
/// `quiet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProgressMode(String);

impl fmt::Display for UnknownProgressMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown progress mode {:?} (expected auto, tty, plain, json, rawjson or quiet)",
            self.0
        )
    }
}

impl std::error::Error for UnknownProgressMode {}

impl FromStr for ProgressMode {
    type Err = UnknownProgressMode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(ProgressMode::Auto),
            "tty" => Ok(ProgressMode::Tty),
            "plain" => Ok(ProgressMode::Plain),
            "json" => Ok(ProgressMode::Json),
            "rawjson" => Ok(ProgressMode::RawJson),
            "quiet" | "none" => Ok(ProgressMode::Quiet),
            _ => Err(UnknownProgressMode(text.to_string())),
        }
    }
}

/// Whether a terminal output gets colors: only when it is a terminal and `NO_COLOR` is unset
/// or empty (<https://no-color.org>).
pub fn colors_wanted(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// The renderer `--progress` asked for, behind one interface.
///
/// Feed it every [`Event`] with the time it happened, call [`Progress::tick`] now and then
/// (every 100 ms, say) so that the live view's timers move while nothing happens, and
/// [`Progress::finish`] at the end. It shows progress, not the build's final error: the
/// caller prints that (as buildx prints `ERROR: …` after its progress).
pub struct Progress<W: Write> {
    renderer: Renderer<W>,
}

enum Renderer<W: Write> {
    Tty(Box<tty::TtyRenderer<W>>),
    Plain(Box<plain::PlainRenderer<W>>),
    Json(json::JsonRenderer<W>),
    RawJson(json::RawJsonRenderer<W>),
    Quiet,
}

impl<W: Write> Progress<W> {
    /// A renderer for `mode` writing to `out`; `is_tty` says whether `out` is a terminal
    /// (it decides `Auto`, and colors with `NO_COLOR`). The live view follows the size of
    /// the terminal on standard error (see [`Progress::with_term_size`] to fix one).
    pub fn new(mode: ProgressMode, out: W, is_tty: bool) -> Progress<W> {
        let renderer = match mode.resolve(is_tty) {
            ProgressMode::Tty => Renderer::Tty(Box::new(tty::TtyRenderer::new(
                out,
                tty::TtyOptions {
                    colors: colors_wanted(is_tty),
                    size: None,
                },
            ))),
            ProgressMode::Json => Renderer::Json(json::JsonRenderer::new(out)),
            ProgressMode::RawJson => Renderer::RawJson(json::RawJsonRenderer::new(out)),
            ProgressMode::Quiet => Renderer::Quiet,
            ProgressMode::Plain | ProgressMode::Auto => {
                Renderer::Plain(Box::new(plain::PlainRenderer::new(out)))
            }
        };
        Progress { renderer }
    }

    /// Draws the live view at this size instead of asking the terminal.
    pub fn with_term_size(mut self, size: tty::TermSize) -> Progress<W> {
        if let Renderer::Tty(renderer) = &mut self.renderer {
            renderer.set_term_size(Some(size));
        }
        self
    }

    /// The mode in use (`Auto` resolved).
    pub fn mode(&self) -> ProgressMode {
        match self.renderer {
            Renderer::Tty(_) => ProgressMode::Tty,
            Renderer::Plain(_) => ProgressMode::Plain,
            Renderer::Json(_) => ProgressMode::Json,
            Renderer::RawJson(_) => ProgressMode::RawJson,
            Renderer::Quiet => ProgressMode::Quiet,
        }
    }

    /// Shows one event that happened at `now`.
    pub fn event(&mut self, event: &Event, now: Instant) -> io::Result<()> {
        match &mut self.renderer {
            Renderer::Tty(renderer) => renderer.event(event, now),
            Renderer::Plain(renderer) => renderer.event(event, now),
            Renderer::Json(renderer) => renderer.event(event),
            Renderer::RawJson(renderer) => renderer.event(event),
            Renderer::Quiet => Ok(()),
        }
    }

    /// Lets time pass: the live view redraws its timers (at most every
    /// [`tty::REFRESH`]), the plain text prints what it held back to merge
    /// ([`plain::MERGE_WINDOW`]); the other renderers have nothing to do.
    pub fn tick(&mut self, now: Instant) -> io::Result<()> {
        match &mut self.renderer {
            Renderer::Tty(renderer) => renderer.tick(now),
            Renderer::Plain(renderer) => renderer.tick(now),
            _ => Ok(()),
        }
    }

    /// Ends the output: the live view's summary, the failed steps' logs, the warnings.
    pub fn finish(&mut self, now: Instant) -> io::Result<()> {
        match &mut self.renderer {
            Renderer::Tty(renderer) => renderer.finish(now),
            Renderer::Plain(renderer) => renderer.finish(now),
            Renderer::Json(renderer) => renderer.finish(),
            Renderer::RawJson(renderer) => renderer.finish(),
            Renderer::Quiet => Ok(()),
        }
    }
}

/// `text` with every control character but newline and tab written as an escape (`\x1b`,
/// `\r`, `\u{9b}`): what comes from Dockerfiles, file names or the engine cannot move the
/// cursor or recolour the terminal it is printed on.
///
/// ```
/// use devbuild::render::escape_controls;
/// assert_eq!(escape_controls("bad\x1b[2Jname\r"), "bad\\x1b[2Jname\\r");
/// assert_eq!(escape_controls("two\nlines\tok"), "two\nlines\tok");
/// ```
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let is_control = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if is_control(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What of the context a build sends, in words: `sending the 2 paths the Dockerfile reads:
/// package*.json, src`, `sending the whole context: --whole-context`, … At most five paths
/// are named.
pub fn describe_context(used: ContextUsed, paths: &[String], reason: Option<&str>) -> String {
    const SHOWN: usize = 5;
    match (used, reason) {
        (ContextUsed::Some, _) => {
            let count = paths.len();
            let mut shown = paths[..count.min(SHOWN)].join(", ");
            if count > SHOWN {
                shown.push_str(&format!(" and {} more", count - SHOWN));
            }
            let what = if count == 1 {
                "the path the Dockerfile reads".to_owned()
            } else {
                format!("the {count} paths the Dockerfile reads")
            };
            format!("sending {what}: {shown}")
        }
        (ContextUsed::None, _) => {
            "the Dockerfile reads no context: sending the Dockerfile only".to_owned()
        }
        // The engine fetches the context, nothing is sent.
        (ContextUsed::All, Some(reason)) if reason == crate::remote::FETCHED_BY_THE_ENGINE => {
            format!("sending nothing: {reason}")
        }
        (ContextUsed::All, Some(reason)) => format!("sending the whole context: {reason}"),
        (ContextUsed::All, None) => {
            "sending the whole context: the Dockerfile reads all of it".to_owned()
        }
    }
}

/// A byte count the way buildx prints one (`%.2f` of `units.Bytes`): `123B`, `2.34kB`,
/// `48.12MB`, decimal units.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut unit = 0;
    let mut base: u64 = 1;
    while unit + 1 < UNITS.len() && base.checked_mul(1000).is_some_and(|next| bytes >= next) {
        base *= 1000;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{:.2}{}", bytes as f64 / base as f64, UNITS[unit])
    }
}

/// An average transfer rate worth showing (`1.20MB/s`): none before the transfer has run
/// for [`MIN_RATE_TIME`] or while nothing moved, when it would say nothing (`0B/s`).
pub fn rate_text(bytes_per_sec: u64, running: Duration) -> Option<String> {
    (bytes_per_sec > 0 && running >= MIN_RATE_TIME)
        .then(|| format!("{}/s", format_bytes(bytes_per_sec)))
}

/// How long a transfer runs before its rate is shown.
pub const MIN_RATE_TIME: Duration = Duration::from_secs(1);

/// The time since a step started, as buildx prefixes a step's log line with it: three
/// decimals under 10 s, two under 100 s, one above.
pub fn format_log_offset(offset: Duration) -> String {
    let secs = offset.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.3}")
    } else if secs < 100.0 {
        format!("{secs:.2}")
    } else {
        format!("{secs:.1}")
    }
}

/// The lines that end a build's output in every human-readable mode, as buildx prints them:
/// each failed step's last log lines between `------` rules, the warnings, then the failing
/// instruction in its Dockerfile.
fn trailer(state: &State) -> Vec<(TrailerKind, String)> {
    let mut lines = Vec::new();
    for step in state.failed_steps() {
        lines.push((TrailerKind::Text, "------".to_string()));
        lines.push((TrailerKind::Text, format!(" > {}:", step.name)));
        for log in &step.logs {
            lines.push((
                TrailerKind::Text,
                format!("{} {}", format_log_offset(log.offset), log.text),
            ));
        }
        lines.push((TrailerKind::Text, "------".to_string()));
    }
    let warnings = state.warnings();
    if !warnings.is_empty() {
        lines.push((TrailerKind::Text, String::new()));
        let count = match warnings.len() {
            1 => " 1 warning found:".to_string(),
            n => format!(" {n} warnings found:"),
        };
        lines.push((TrailerKind::WarningCount, count));
        for warning in warnings {
            lines.push((TrailerKind::Text, format!(" - {warning}")));
        }
    }
    if let Some(source) = &state.source {
        lines.extend(
            source
                .to_string()
                .lines()
                .map(|line| (TrailerKind::Text, line.to_owned())),
        );
    }
    lines
}

/// What a [`trailer`] line is, for the colors of the live view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrailerKind {
    Text,
    WarningCount,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_formatted_like_buildx() {
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(999), "999B");
        assert_eq!(format_bytes(1000), "1.00kB");
        assert_eq!(format_bytes(2340), "2.34kB");
        assert_eq!(format_bytes(48_120_000), "48.12MB");
        // units.Bytes only moves to the next unit at 1000 of it.
        assert_eq!(format_bytes(999_999), "1000.00kB");
        assert_eq!(format_bytes(u64::MAX), "18.45EB");
    }

    #[test]
    fn rates_show_only_when_they_mean_something() {
        assert_eq!(rate_text(0, Duration::from_secs(3)), None);
        assert_eq!(rate_text(12_520_000, Duration::from_millis(20)), None);
        assert_eq!(
            rate_text(1_200_000, Duration::from_secs(2)).as_deref(),
            Some("1.20MB/s")
        );
    }

    #[test]
    fn log_offsets_keep_three_significant_places() {
        assert_eq!(format_log_offset(Duration::from_millis(412)), "0.412");
        assert_eq!(format_log_offset(Duration::from_millis(12_346)), "12.35");
        assert_eq!(format_log_offset(Duration::from_millis(123_456)), "123.5");
    }

    #[test]
    fn modes_parse_like_the_flag() {
        for mode in [
            ProgressMode::Auto,
            ProgressMode::Tty,
            ProgressMode::Plain,
            ProgressMode::Json,
            ProgressMode::RawJson,
            ProgressMode::Quiet,
        ] {
            assert_eq!(mode.as_str().parse::<ProgressMode>(), Ok(mode));
        }
        assert_eq!("none".parse(), Ok(ProgressMode::Quiet));
        assert_eq!(
            "fancy".parse::<ProgressMode>().unwrap_err().to_string(),
            "unknown progress mode \"fancy\" (expected auto, tty, plain, json, rawjson or quiet)"
        );
        assert_eq!(ProgressMode::Auto.resolve(true), ProgressMode::Tty);
        assert_eq!(ProgressMode::Auto.resolve(false), ProgressMode::Plain);
        assert_eq!(ProgressMode::Json.resolve(true), ProgressMode::Json);
    }
}
