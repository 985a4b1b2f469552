//! The progress renderers on what comes after a build: an output written, a push with
//! `docker push`'s per-layer statuses and its digest, and the failures of each, in the
//! plain text and in the live view (while running and in the summary).

use std::time::{Duration, Instant};

use devbuild::events::{PushEvent, StepEvent};
use devbuild::render::plain::PlainRenderer;
use devbuild::render::tty::{self, TermSize, View};
use devbuild::render::State;
use devbuild::Event;

const IMAGE: &str = "127.0.0.1:5000/team/app:1";

fn progress(layer: Option<&str>, status: &str, current: Option<u64>, total: Option<u64>) -> Event {
    Event::Push(PushEvent::PushProgress {
        image: IMAGE.to_owned(),
        layer: layer.map(str::to_owned),
        status: status.to_owned(),
        current,
        total,
    })
}

/// A pushed build: (milliseconds since the start, event).
fn pushed_build() -> Vec<(u64, Event)> {
    vec![
        (
            0,
            Event::Step(StepEvent::StepStarted {
                step: 1,
                name: "[1/1] RUN make".into(),
                digest: "sha256:1".into(),
            }),
        ),
        (
            400,
            Event::Step(StepEvent::StepCompleted {
                step: 1,
                name: "[1/1] RUN make".into(),
                digest: "sha256:1".into(),
                duration_ms: Some(400),
            }),
        ),
        (
            500,
            Event::OutputStarted {
                output: "type=tar,dest=rootfs.tar".into(),
            },
        ),
        (
            700,
            Event::OutputWritten {
                output: "type=tar,dest=rootfs.tar".into(),
                bytes: 4_460_000,
            },
        ),
        (
            800,
            Event::Push(PushEvent::PushStarted {
                image: IMAGE.to_owned(),
            }),
        ),
        (
            810,
            progress(
                None,
                "The push refers to repository [127.0.0.1:5000/team/app]",
                None,
                None,
            ),
        ),
        (820, progress(Some("5f70bf18a086"), "Preparing", None, None)),
        (830, progress(Some("89993f8e8d10"), "Preparing", None, None)),
        (
            840,
            progress(Some("89993f8e8d10"), "Layer already exists", None, None),
        ),
        (
            900,
            progress(
                Some("5f70bf18a086"),
                "Pushing",
                Some(2_100_000),
                Some(4_200_000),
            ),
        ),
        (1500, progress(Some("5f70bf18a086"), "Pushed", None, None)),
        (
            1510,
            progress(None, "1: digest: sha256:c6be size: 527", None, None),
        ),
        (
            1520,
            Event::Push(PushEvent::Pushed {
                image: IMAGE.to_owned(),
                digest: "sha256:c6be".to_owned(),
                size: Some(527),
            }),
        ),
        (
            1530,
            Event::finished(
                Some("sha256:1d3f".into()),
                vec![IMAGE.into()],
                Duration::from_millis(1530),
            ),
        ),
    ]
}

fn plain(events: &[(u64, Event)]) -> String {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut renderer = PlainRenderer::new(&mut out);
    for (at, event) in events {
        renderer
            .event(event, start + Duration::from_millis(*at))
            .unwrap();
    }
    let end = events.last().map_or(0, |(at, _)| *at);
    renderer.finish(start + Duration::from_millis(end)).unwrap();
    drop(renderer);
    String::from_utf8(out).unwrap()
}

/// The live view (or the summary) after the events up to `at` ms.
fn frame(events: &[(u64, Event)], at: u64, view: View) -> String {
    let start = Instant::now();
    let mut state = State::new();
    for (when, event) in events.iter().filter(|(when, _)| *when <= at) {
        state.apply(event, start + Duration::from_millis(*when));
    }
    let size = TermSize {
        width: 100,
        height: 30,
    };
    tty::frame(&state, start + Duration::from_millis(at), size, view)
        .into_iter()
        .map(|line| format!("{}\n", line.text.trim_end()))
        .collect()
}

#[test]
fn plain_shows_outputs_and_pushes_like_docker_push() {
    assert_eq!(
        plain(&pushed_build()),
        "#1 [1/1] RUN make\n\
         #1 DONE 0.4s\n\
         \n\
         #2 [output] type=tar,dest=rootfs.tar\n\
         #2 4.46MB written\n\
         #2 DONE 0.2s\n\
         \n\
         #3 [push] 127.0.0.1:5000/team/app:1\n\
         #3 The push refers to repository [127.0.0.1:5000/team/app]\n\
         #3 5f70bf18a086: Preparing\n\
         #3 89993f8e8d10: Preparing\n\
         #3 89993f8e8d10: Layer already exists\n\
         #3 5f70bf18a086: Pushing 2.10MB / 4.20MB\n\
         #3 5f70bf18a086: Pushed\n\
         #3 1: digest: sha256:c6be size: 527\n\
         #3 DONE 0.7s\n"
    );
}

#[test]
fn the_live_view_shows_a_push_with_its_bytes_then_its_digest() {
    let events = pushed_build();
    assert_eq!(
        frame(&events, 1000, View::Live),
        "[+] Building 1.0s (2/3)\n \
         => [1/1] RUN make                                                                             0.4s\n \
         => [output] type=tar,dest=rootfs.tar 4.46MB                                                   0.2s\n \
         => [push] 127.0.0.1:5000/team/app:1 [=====>    ] 2.10MB / 4.20MB                              0.2s\n \
         => => 5f70bf18a086 [=====>    ] 2.10MB / 4.20MB                                               0.2s\n \
         => => 89993f8e8d10 done                                                                       0.2s\n"
    );
    assert_eq!(
        frame(&events, 1530, View::Summary),
        "[+] Building 1.5s (3/3) FINISHED\n \
         => [1/1] RUN make                                                                             0.4s\n \
         => [output] type=tar,dest=rootfs.tar 4.46MB                                                   0.2s\n \
         => [push] 127.0.0.1:5000/team/app:1 sha256:c6be                                               0.7s\n"
    );
}

#[test]
fn failures_after_the_build_show_as_errors() {
    let mut events: Vec<(u64, Event)> = pushed_build().into_iter().take(5).collect();
    events.push((
        900,
        Event::Push(PushEvent::PushFailed {
            image: IMAGE.to_owned(),
            reason: "no basic auth credentials".to_owned(),
        }),
    ));
    events.push((
        910,
        Event::failed(
            "push 127.0.0.1:5000/team/app:1: no basic auth credentials",
            None,
            Duration::from_millis(910),
        ),
    ));
    let text = plain(&events);
    assert!(
        text.ends_with(
            "#3 [push] 127.0.0.1:5000/team/app:1\n\
             #3 ERROR: no basic auth credentials\n"
        ),
        "{text}"
    );
    assert!(
        frame(&events, 910, View::Summary)
            .contains(" => ERROR [push] 127.0.0.1:5000/team/app:1: no basic auth credentials"),
        "{}",
        frame(&events, 910, View::Summary)
    );

    // An output being written when the build fails is closed with the failure.
    let mut events: Vec<(u64, Event)> = pushed_build().into_iter().take(3).collect();
    events.push((
        600,
        Event::failed(
            "--output type=tar,dest=rootfs.tar: no space left on device",
            None,
            Duration::from_millis(600),
        ),
    ));
    let text = plain(&events);
    assert!(
        text.ends_with(
            "#2 [output] type=tar,dest=rootfs.tar\n\
             #2 ERROR: --output type=tar,dest=rootfs.tar: no space left on device\n"
        ),
        "{text}"
    );
    assert!(
        frame(&events, 600, View::Summary).contains(" => ERROR [output] type=tar,dest=rootfs.tar"),
        "{}",
        frame(&events, 600, View::Summary)
    );
}
