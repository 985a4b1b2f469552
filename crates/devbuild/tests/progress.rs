//! The progress renderers on recorded event sequences: a four-step build with a cached step,
//! log lines, task progress, a pre-pull, the context upload and a warning that succeeds; and
//! one whose `RUN` fails with its log while another step is canceled.
//!
//! The recordings (`tests/data/progress/*.events`) hold one event a line, `+S.mmm <json>`,
//! the time since the build began and the event, so every output is deterministic.

use std::path::Path;
use std::time::{Duration, Instant};

use devbuild::render::plain::PlainRenderer;
use devbuild::render::tty::{self, Line, Style, TermSize, TtyOptions, TtyRenderer, View};
use devbuild::render::{Progress, ProgressMode, State};
use devbuild::Event;
use unicode_width::UnicodeWidthStr;

/// One recorded event: when it happened (since the start) and what.
struct Recorded {
    at: Duration,
    event: Event,
    json: String,
}

fn recording(name: &str) -> Vec<Recorded> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/progress")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (at, json) = line.split_once(' ').unwrap();
            let (secs, millis) = at.strip_prefix('+').unwrap().split_once('.').unwrap();
            let at = Duration::from_secs(secs.parse().unwrap())
                + Duration::from_millis(millis.parse().unwrap());
            let event = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("{}: {e}: {json}", path.display()));
            Recorded {
                at,
                event,
                json: json.to_string(),
            }
        })
        .collect()
}

fn plain(events: &[Recorded]) -> String {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut renderer = PlainRenderer::new(&mut out);
    for recorded in events {
        renderer
            .event(&recorded.event, start + recorded.at)
            .unwrap();
    }
    renderer
        .finish(start + events.last().map_or(Duration::ZERO, |r| r.at))
        .unwrap();
    drop(renderer);
    String::from_utf8(out).unwrap()
}

fn json(events: &[Recorded]) -> String {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut progress = Progress::new(ProgressMode::Json, &mut out, true);
    for recorded in events {
        progress
            .event(&recorded.event, start + recorded.at)
            .unwrap();
    }
    progress.finish(start).unwrap();
    drop(progress);
    String::from_utf8(out).unwrap()
}

/// The state after the events up to `at`.
fn state_at(events: &[Recorded], start: Instant, at: Duration) -> State {
    let mut state = State::new();
    for recorded in events.iter().filter(|r| r.at <= at) {
        state.apply(&recorded.event, start + recorded.at);
    }
    state
}

fn text(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|line| {
            let style = match line.style {
                Style::Normal => "   ",
                Style::Done => "ok ",
                Style::Error => "err",
                Style::Canceled => "can",
                Style::Warning => "wrn",
                Style::Log => "log",
            };
            format!("{style}|{}|\n", line.text)
        })
        .collect()
}

/// Frames of the live view at `points` (seconds since the start), and the summary at the end.
fn frames(events: &[Recorded], points: &[f64], size: TermSize) -> String {
    let start = Instant::now();
    let mut out = String::new();
    for &point in points {
        let at = Duration::from_secs_f64(point);
        let state = state_at(events, start, at);
        out.push_str(&format!(
            "--- live at {point:.3}s, {}x{}\n",
            size.width, size.height
        ));
        out.push_str(&text(&tty::frame(&state, start + at, size, View::Live)));
    }
    let end = events.last().unwrap().at;
    let state = state_at(events, start, end);
    out.push_str(&format!("--- summary, {} columns\n", size.width));
    out.push_str(&text(&tty::frame(&state, start + end, size, View::Summary)));
    out
}

fn size(width: usize, height: usize) -> TermSize {
    TermSize { width, height }
}

#[test]
fn recordings_round_trip_through_the_json_schema() {
    for name in ["success.events", "failure.events"] {
        for recorded in recording(name) {
            assert_eq!(
                serde_json::to_string(&recorded.event).unwrap(),
                recorded.json
            );
        }
    }
}

#[test]
fn plain_success() {
    insta::assert_snapshot!(plain(&recording("success.events")));
}

#[test]
fn plain_failure() {
    insta::assert_snapshot!(plain(&recording("failure.events")));
}

#[test]
fn json_prints_one_event_per_line() {
    let events = recording("success.events");
    let out = json(&events);
    let expected: String = events.iter().map(|r| format!("{}\n", r.json)).collect();
    assert_eq!(out, expected);
    insta::assert_snapshot!(json(&recording("failure.events")));
}

#[test]
fn tty_success_80() {
    let events = recording("success.events");
    insta::assert_snapshot!(frames(&events, &[0.9, 2.7, 4.5, 6.91], size(80, 24)));
}

#[test]
fn tty_success_40() {
    let events = recording("success.events");
    insta::assert_snapshot!(frames(&events, &[0.9, 2.7, 4.5], size(40, 24)));
}

#[test]
fn tty_success_short_terminal() {
    // Ten rows: the running step stays in view, completed lines scroll away, no room for logs.
    let events = recording("success.events");
    insta::assert_snapshot!(frames(&events, &[4.5], size(80, 10)));
}

#[test]
fn tty_failure_80() {
    let events = recording("failure.events");
    insta::assert_snapshot!(frames(&events, &[0.8, 1.105], size(80, 30)));
}

#[test]
fn tty_failure_40() {
    let events = recording("failure.events");
    insta::assert_snapshot!(frames(&events, &[0.8], size(40, 30)));
}

#[test]
fn tty_frames_never_exceed_the_terminal() {
    let start = Instant::now();
    for name in ["success.events", "failure.events"] {
        let events = recording(name);
        for width in [1, 2, 10, 20, 33, 40, 57, 80, 132] {
            for height in [0, 1, 2, 5, 10, 24] {
                let size = size(width, height);
                for recorded in &events {
                    // Just after each event, and a while later (timers grow).
                    for later in [Duration::ZERO, Duration::from_secs(95)] {
                        let now = recorded.at + later;
                        let state = state_at(&events, start, recorded.at);
                        for view in [View::Live, View::Summary] {
                            let lines = tty::frame(&state, start + now, size, view);
                            for line in &lines {
                                let columns = line.text.width();
                                assert!(
                                    columns < width.max(2),
                                    "{name} {width}x{height} {view:?}: {columns} columns: {:?}",
                                    line.text
                                );
                                assert!(!line.text.chars().any(char::is_control), "{line:?}");
                            }
                            if view == View::Live {
                                assert!(
                                    lines.len() <= height.saturating_sub(1).max(1),
                                    "{name} {width}x{height}: {} lines",
                                    lines.len()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn tty_lines_are_cut_by_columns_and_logs_cleaned() {
    let start = Instant::now();
    let events: Vec<Event> = [
        r#"{"event":"step_started","step":1,"name":"[1/1] RUN 表示テスト 表示テスト 表示テスト 表示テスト","digest":"sha256:1"}"#,
        r#"{"event":"step_log","step":1,"stream":"stdout","line":"\u001b[32m✓\u001b[0m 全部で十二個のテストが通りました、全部で十二個のテストが通りました"}"#,
        r#"{"event":"step_log","step":1,"stream":"stdout","line":"downloading 10%\r downloading 100%"}"#,
    ]
    .iter()
    .map(|json| serde_json::from_str(json).unwrap())
    .collect();
    let mut state = State::new();
    for event in &events {
        state.apply(event, start);
    }
    let lines = tty::frame(&state, start, size(40, 20), View::Live);
    for line in &lines {
        assert!(line.text.width() < 40, "{line:?}");
    }
    insta::assert_snapshot!(text(&lines));
}

#[test]
fn tty_renderer_redraws_in_place_then_summarises() {
    let events = recording("failure.events");
    let start = Instant::now();
    let mut renderer = TtyRenderer::new(
        Vec::new(),
        TtyOptions {
            colors: true,
            size: Some(size(60, 30)),
        },
    );
    for recorded in &events {
        renderer
            .event(&recorded.event, start + recorded.at)
            .unwrap();
    }
    let end = events.last().unwrap().at;
    renderer.finish(start + end).unwrap();
    let out = String::from_utf8(renderer.get_ref().clone()).unwrap();
    // A frame for the first event and for each one 100 ms or more after the last frame, and
    // the summary.
    let mut expected = 1;
    let mut last_draw: Option<Duration> = None;
    for recorded in &events {
        if last_draw.is_none_or(|last| recorded.at - last >= tty::REFRESH) {
            expected += 1;
            last_draw = Some(recorded.at);
        }
    }
    assert_eq!(out.matches("\x1b[J").count(), expected, "{out:?}");
    assert!(out.starts_with("\x1b[?25l"));
    assert!(out.ends_with("\x1b[J\x1b[?25h"));
    // The last frame (the summary): up over the last live frame, then its lines.
    let parts: Vec<&str> = out.split("\x1b[J").collect();
    insta::assert_snapshot!(parts[parts.len() - 2]
        .replace('\x1b', "\\e")
        .replace('\r', "\\r"));
}

#[test]
fn tty_without_colors_has_no_sgr() {
    let events = recording("failure.events");
    let start = Instant::now();
    let mut out = Vec::new();
    let mut progress =
        Progress::new(ProgressMode::Tty, &mut out, false).with_term_size(size(80, 24));
    assert_eq!(progress.mode(), ProgressMode::Tty);
    for recorded in &events {
        progress
            .event(&recorded.event, start + recorded.at)
            .unwrap();
    }
    progress.tick(start + Duration::from_secs(5)).unwrap();
    progress.finish(start + Duration::from_secs(5)).unwrap();
    drop(progress);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("ERROR [build 4/4] RUN make test"));
    // Every escape sequence moves the cursor or clears; none sets a color (`…m`).
    for sequence in out.split('\x1b').skip(1) {
        let end = sequence.find(|c: char| c.is_ascii_alphabetic()).unwrap();
        assert_ne!(&sequence[end..=end], "m", "{sequence:?}");
    }
}

#[test]
fn auto_is_plain_off_a_terminal_and_quiet_prints_nothing() {
    let events = recording("success.events");
    let start = Instant::now();
    for (mode, is_tty, resolved) in [
        (ProgressMode::Auto, false, ProgressMode::Plain),
        (ProgressMode::Auto, true, ProgressMode::Tty),
        (ProgressMode::Quiet, true, ProgressMode::Quiet),
    ] {
        let mut out = Vec::new();
        let mut progress = Progress::new(mode, &mut out, is_tty).with_term_size(size(80, 24));
        assert_eq!(progress.mode(), resolved);
        for recorded in &events {
            progress
                .event(&recorded.event, start + recorded.at)
                .unwrap();
        }
        progress.finish(start + events.last().unwrap().at).unwrap();
        drop(progress);
        match resolved {
            ProgressMode::Plain => assert_eq!(String::from_utf8(out).unwrap(), plain(&events)),
            ProgressMode::Quiet => assert!(out.is_empty()),
            _ => assert!(!out.is_empty()),
        }
    }
}
