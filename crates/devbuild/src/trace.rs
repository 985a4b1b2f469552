//! devbuild's trace of a build, as progressui's `trace` is buildx's: it numbers the build's
//! work and merges BuildKit's progress groups, so that every renderer shows one numbering.
//!
//! The engine's decoder reports what BuildKit said, keyed by vertex digest
//! ([`BuildEvent`]); [`Trace::engine`] turns that into [`StepEvent`]s with numbers. Numbers
//! are given in the order work first shows up, devbuild's own included: the analysis, each
//! pull, the context upload, each BuildKit step, each output and push ([`Job`]), so the
//! `step` of a `--progress=json` event is the `#N` plain output shows for it.
//!
//! A progress group (`Vertex.progressGroup`) is one step, as buildx shows it: named after the
//! group, its digest the group's id, started when a member that is not weak starts (a weak
//! group's members alone stay hidden, as progressui hides them), failed with its first
//! member's error, cached when every member was, completed when every started member is.
//!
//! ```
//! use devbuild::events::{BuildEvent, Event, StepEvent};
//! use devbuild::trace::Trace;
//!
//! let mut trace = Trace::new();
//! trace.observe(&Event::Analyzed { images: Vec::new() }); // #1
//! let events = trace.engine(BuildEvent::VertexStarted {
//!     digest: "sha256:aa".into(),
//!     name: "[1/2] FROM docker.io/library/alpine:3.20".into(),
//!     group: None,
//! });
//! assert_eq!(
//!     events,
//!     [Event::Step(StepEvent::StepStarted {
//!         step: 2,
//!         name: "[1/2] FROM docker.io/library/alpine:3.20".into(),
//!         digest: "sha256:aa".into(),
//!     })]
//! );
//! ```

use std::collections::HashMap;

use engine_client::progress::is_cancellation;

use crate::events::{BuildEvent, Event, ProgressGroup, StepEvent};

/// A piece of a build's work that gets a number (a group of lines in plain output).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Job {
    /// The Dockerfile's analysis.
    Analysis,
    /// The pull of an image, as the pull events name it.
    Pull(String),
    /// The context: what is sent, and its upload.
    Upload,
    /// A BuildKit step, by its number.
    Step(u32),
    /// The push of a tag.
    Push(String),
    /// An output, in canonical form.
    Output(String),
}

impl Job {
    /// The job an event is about, if it is about one; a warning is about its step, which
    /// showed up before it.
    pub fn of(event: &Event) -> Option<Job> {
        match event {
            Event::Analyzed { .. } => Some(Job::Analysis),
            Event::ContextSelected { .. } | Event::UploadProgress { .. } => Some(Job::Upload),
            Event::OutputStarted { output } | Event::OutputWritten { output, .. } => {
                Some(Job::Output(output.clone()))
            }
            Event::Pull(event) => Some(Job::Pull(event.image().to_owned())),
            Event::Push(event) => Some(Job::Push(event.image().to_owned())),
            Event::Step(StepEvent::Warning { .. }) => None,
            Event::Step(event) => event.step().map(Job::Step),
            _ => None,
        }
    }
}

/// The numbers of a build's jobs, in the order they first showed up.
#[derive(Clone, Debug, Default)]
pub struct Numbering {
    numbers: HashMap<Job, u32>,
    last: u32,
}

impl Numbering {
    /// The number of `job`, given now if it has none: the next one. A step comes with its
    /// number, which it keeps.
    pub fn number(&mut self, job: Job) -> u32 {
        if let Some(&number) = self.numbers.get(&job) {
            return number;
        }
        let number = match job {
            Job::Step(number) => number,
            _ => self.last + 1,
        };
        self.last = self.last.max(number);
        self.numbers.insert(job, number);
        number
    }

    /// The number `job` was given, if it showed up.
    pub fn get(&self, job: &Job) -> Option<u32> {
        self.numbers.get(job).copied()
    }

    /// The number the next new job gets.
    fn next(&self) -> u32 {
        self.last + 1
    }
}

/// One member of a step: a vertex, alone or in a progress group.
#[derive(Clone, Debug, Default)]
struct Member {
    started: bool,
    cached: bool,
    over: bool,
    weak: bool,
    duration_ms: Option<u64>,
}

/// A step: a vertex, or a progress group's members.
#[derive(Clone, Debug, Default)]
struct Step {
    number: Option<u32>,
    name: String,
    /// The vertex's digest, or the group's id.
    digest: String,
    members: HashMap<String, Member>,
    /// A group: its members speak once one that is not weak started.
    grouped: bool,
    /// Its start was reported.
    shown: bool,
    ended: bool,
}

/// The trace of one build: see the [module](self).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    numbering: Numbering,
    /// Steps by their key: the vertex's digest, or the progress group's id.
    steps: HashMap<String, Step>,
    /// Each vertex's step key.
    step_of: HashMap<String, String>,
}

impl Trace {
    /// Nothing seen yet.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// Takes in an event of devbuild's own (or one already numbered), numbering the job it
    /// is about when it is new. Every event the build reports must pass here, in order.
    pub fn observe(&mut self, event: &Event) {
        if let Some(job) = Job::of(event) {
            self.numbering.number(job);
        }
    }

    /// The number `job` was given, if it showed up.
    pub fn number(&self, job: &Job) -> Option<u32> {
        self.numbering.get(job)
    }

    /// The number of the step the vertex `digest` is shown in, if it was shown.
    pub fn vertex_number(&self, digest: &str) -> Option<u32> {
        let key = self.step_of.get(digest)?;
        self.steps.get(key)?.number
    }

    /// What an engine event becomes: its vertex events as numbered steps (nothing while a
    /// step is hidden, or for a repeat), the rest as [`Event::Engine`].
    pub fn engine(&mut self, event: BuildEvent) -> Vec<Event> {
        let mut events = Vec::new();
        match event {
            BuildEvent::VertexStarted {
                digest,
                name,
                group,
            } => {
                let key = self.member(&digest, &name, group.as_ref(), |m| m.started = true);
                self.show_unless_weak(&key, &digest, &mut events);
            }
            BuildEvent::VertexCached {
                digest,
                name,
                group,
            } => {
                let key = self.member(&digest, &name, group.as_ref(), |m| {
                    m.started = true;
                    m.cached = true;
                    m.over = true;
                });
                if self.steps[&key].grouped {
                    self.show_unless_weak(&key, &digest, &mut events);
                    self.end_group(&key, &mut events);
                } else {
                    // A cached vertex never started: it ends at once.
                    self.end(&key, &mut events, |step, name, digest| {
                        StepEvent::StepCached { step, name, digest }
                    });
                }
            }
            BuildEvent::VertexCompleted {
                digest,
                name,
                group,
                duration_ms,
            } => {
                let key = self.member(&digest, &name, group.as_ref(), |m| {
                    m.started = true;
                    m.over = true;
                    m.duration_ms = duration_ms;
                });
                if self.steps[&key].grouped {
                    self.end_group(&key, &mut events);
                } else {
                    self.show(&key, &mut events);
                    self.end(&key, &mut events, |step, name, digest| {
                        StepEvent::StepCompleted {
                            step,
                            name,
                            digest,
                            duration_ms,
                        }
                    });
                }
            }
            BuildEvent::VertexFailed {
                digest,
                name,
                group,
                error,
            } => {
                let key = self.member(&digest, &name, group.as_ref(), |m| m.over = true);
                // A group fails with its first member's error.
                if !self.steps[&key].ended {
                    self.show(&key, &mut events);
                    self.end(&key, &mut events, |step, name, digest| {
                        StepEvent::StepFailed {
                            step,
                            name,
                            digest,
                            canceled: is_cancellation(&error),
                            error,
                        }
                    });
                }
            }
            BuildEvent::VertexProgress {
                vertex,
                id,
                current,
                total,
                completed,
            } => {
                if let Some(step) = self.speaking(&vertex) {
                    events.push(Event::Step(StepEvent::StepProgress {
                        step,
                        id,
                        current,
                        total,
                        completed,
                    }));
                }
            }
            BuildEvent::VertexLog {
                vertex,
                stream,
                line,
            } => {
                if let Some(step) = self.speaking(&vertex) {
                    events.push(Event::Step(StepEvent::StepLog { step, stream, line }));
                }
            }
            BuildEvent::Warning {
                vertex,
                message,
                detail,
                url,
                location,
            } => events.push(Event::Step(StepEvent::Warning {
                step: vertex.and_then(|v| self.vertex_number(&v)),
                message,
                detail,
                url,
                location,
            })),
            other => events.push(Event::Engine(other)),
        }
        for event in &events {
            self.observe(event);
        }
        events
    }

    /// The key of the step of vertex `digest`, its member there (made when new) updated by
    /// `update`.
    fn member(
        &mut self,
        digest: &str,
        name: &str,
        group: Option<&ProgressGroup>,
        update: impl FnOnce(&mut Member),
    ) -> String {
        let key = match group {
            Some(group) => group.id.clone(),
            None => digest.to_owned(),
        };
        self.step_of.insert(digest.to_owned(), key.clone());
        let step = self.steps.entry(key.clone()).or_insert_with(|| Step {
            name: group.map_or(name, |g| g.name.as_str()).to_owned(),
            digest: key.clone(),
            grouped: group.is_some(),
            ..Step::default()
        });
        if group.is_none() && !name.is_empty() {
            name.clone_into(&mut step.name);
        }
        update(
            step.members
                .entry(digest.to_owned())
                .or_insert_with(|| Member {
                    weak: group.is_some_and(|g| g.weak),
                    ..Member::default()
                }),
        );
        key
    }

    /// Shows step `key` as started unless its member `digest` is weak (a weak group's
    /// members alone stay hidden).
    fn show_unless_weak(&mut self, key: &str, digest: &str, events: &mut Vec<Event>) {
        if !self.steps[key].members[digest].weak {
            self.show(key, events);
        }
    }

    /// Ends step `key` with the event `make` makes of its number, name and digest.
    fn end(
        &mut self,
        key: &str,
        events: &mut Vec<Event>,
        make: impl FnOnce(u32, String, String) -> StepEvent,
    ) {
        let number = self.shown_number(key);
        let step = self.steps.get_mut(key).expect("known step");
        step.ended = true;
        events.push(Event::Step(make(
            number,
            step.name.clone(),
            step.digest.clone(),
        )));
    }

    /// The number of step `key`, given now if it has none (it may speak before it starts).
    fn shown_number(&mut self, key: &str) -> u32 {
        let next = self.numbering.next();
        let step = self.steps.get_mut(key).expect("known step");
        let number = *step.number.get_or_insert(next);
        self.numbering.number(Job::Step(number))
    }

    /// Shows step `key` as started, once.
    fn show(&mut self, key: &str, events: &mut Vec<Event>) {
        if self.steps[key].shown {
            return;
        }
        let step = self.shown_number(key);
        let shown = self.steps.get_mut(key).expect("known step");
        shown.shown = true;
        events.push(Event::Step(StepEvent::StepStarted {
            step,
            name: shown.name.clone(),
            digest: shown.digest.clone(),
        }));
    }

    /// Ends a shown group whose members are all over: cached when every member was.
    fn end_group(&mut self, key: &str, events: &mut Vec<Event>) {
        let step = &self.steps[key];
        if !step.shown || step.ended || step.members.values().any(|m| m.started && !m.over) {
            return;
        }
        let cached = step.members.values().all(|m| m.cached);
        // The members' times added up (buildx shows the span their intervals cover, which
        // the decoder's durations cannot tell).
        let duration_ms = step.members.values().filter_map(|m| m.duration_ms).sum();
        self.end(key, events, |step, name, digest| match cached {
            true => StepEvent::StepCached { step, name, digest },
            false => StepEvent::StepCompleted {
                step,
                name,
                digest,
                duration_ms: Some(duration_ms),
            },
        });
    }

    /// The number of the step vertex `digest` speaks in: a known vertex's step, numbered
    /// now if it was not (BuildKit may report a task or a line of a vertex before its start),
    /// none while its group is hidden.
    fn speaking(&mut self, digest: &str) -> Option<u32> {
        let key = match self.step_of.get(digest) {
            Some(key) => key.clone(),
            None => {
                // A vertex first heard of by its progress or its log.
                self.member(digest, "", None, |_| {})
            }
        };
        let step = &self.steps[&key];
        if step.grouped && !step.shown {
            return None;
        }
        Some(self.shown_number(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{PullEvent, PushEvent};

    fn group(id: &str, weak: bool) -> Option<ProgressGroup> {
        Some(ProgressGroup {
            id: id.into(),
            name: format!("group {id}"),
            weak,
        })
    }

    fn started(digest: &str, group: Option<ProgressGroup>) -> BuildEvent {
        BuildEvent::VertexStarted {
            digest: digest.into(),
            name: format!("vertex {digest}"),
            group,
        }
    }

    fn completed(digest: &str, group: Option<ProgressGroup>, ms: u64) -> BuildEvent {
        BuildEvent::VertexCompleted {
            digest: digest.into(),
            name: format!("vertex {digest}"),
            group,
            duration_ms: Some(ms),
        }
    }

    fn all(trace: &mut Trace, events: Vec<BuildEvent>) -> Vec<Event> {
        events.into_iter().flat_map(|e| trace.engine(e)).collect()
    }

    #[test]
    fn steps_are_numbered_after_devbuilds_own_jobs_in_the_order_they_show_up() {
        let mut trace = Trace::new();
        trace.observe(&Event::Analyzed { images: Vec::new() });
        trace.observe(&Event::Pull(PullEvent::PullStarted {
            image: "alpine".into(),
            platform: None,
        }));
        let events = all(
            &mut trace,
            vec![
                started("a", None),
                // A line before its start numbers the vertex.
                BuildEvent::VertexLog {
                    vertex: "b".into(),
                    stream: crate::events::LogStream::Stdout,
                    line: "early".into(),
                },
                completed("a", None, 5),
                started("b", None),
            ],
        );
        let numbers: Vec<_> = events
            .iter()
            .map(|e| match e {
                Event::Step(step) => step.step().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(numbers, [3, 4, 3, 4]);
        trace.observe(&Event::Push(PushEvent::PushStarted {
            image: "app:1".into(),
        }));
        assert_eq!(trace.number(&Job::Push("app:1".into())), Some(5));
        assert_eq!(trace.vertex_number("b"), Some(4));
        assert_eq!(trace.number(&Job::Analysis), Some(1));
    }

    #[test]
    fn a_progress_group_is_one_step_that_ends_with_its_last_member() {
        let mut trace = Trace::new();
        let events = all(
            &mut trace,
            vec![
                started("a", group("g", false)),
                started("b", group("g", false)),
                completed("a", group("g", false), 10),
                BuildEvent::VertexLog {
                    vertex: "b".into(),
                    stream: crate::events::LogStream::Stdout,
                    line: "from b".into(),
                },
                completed("b", group("g", false), 20),
            ],
        );
        assert_eq!(
            events,
            [
                Event::Step(StepEvent::StepStarted {
                    step: 1,
                    name: "group g".into(),
                    digest: "g".into(),
                }),
                Event::Step(StepEvent::StepLog {
                    step: 1,
                    stream: crate::events::LogStream::Stdout,
                    line: "from b".into(),
                }),
                Event::Step(StepEvent::StepCompleted {
                    step: 1,
                    name: "group g".into(),
                    digest: "g".into(),
                    duration_ms: Some(30),
                }),
            ]
        );
        assert_eq!(trace.vertex_number("a"), Some(1));
    }

    #[test]
    fn a_weak_group_shows_once_a_strong_member_starts_and_fails_with_its_first_error() {
        let mut trace = Trace::new();
        let hidden = all(
            &mut trace,
            vec![
                started("w", group("g", true)),
                BuildEvent::VertexLog {
                    vertex: "w".into(),
                    stream: crate::events::LogStream::Stdout,
                    line: "hidden".into(),
                },
            ],
        );
        assert_eq!(hidden, []);
        let events = all(
            &mut trace,
            vec![
                started("s", group("g", false)),
                BuildEvent::VertexFailed {
                    digest: "s".into(),
                    name: "vertex s".into(),
                    group: group("g", false),
                    error: "exit code: 1".into(),
                },
                BuildEvent::VertexFailed {
                    digest: "w".into(),
                    name: "vertex w".into(),
                    group: group("g", true),
                    error: "context canceled".into(),
                },
            ],
        );
        assert_eq!(
            events,
            [
                Event::Step(StepEvent::StepStarted {
                    step: 1,
                    name: "group g".into(),
                    digest: "g".into(),
                }),
                Event::Step(StepEvent::StepFailed {
                    step: 1,
                    name: "group g".into(),
                    digest: "g".into(),
                    error: "exit code: 1".into(),
                    canceled: false,
                }),
            ]
        );
    }

    #[test]
    fn a_group_of_cached_members_is_cached_and_a_canceled_vertex_says_so() {
        let mut trace = Trace::new();
        let cached = |digest: &str| BuildEvent::VertexCached {
            digest: digest.into(),
            name: String::new(),
            group: group("g", false),
        };
        let events = all(&mut trace, vec![cached("a"), cached("b")]);
        assert!(matches!(
            events.as_slice(),
            [
                Event::Step(StepEvent::StepStarted { step: 1, .. }),
                Event::Step(StepEvent::StepCached { step: 1, .. })
            ]
        ));
        let events = trace.engine(BuildEvent::VertexFailed {
            digest: "c".into(),
            name: "[internal] load build context".into(),
            group: None,
            error: "failed to copy: context canceled".into(),
        });
        assert!(matches!(
            events.as_slice(),
            [
                Event::Step(StepEvent::StepStarted { step: 2, .. }),
                Event::Step(StepEvent::StepFailed {
                    step: 2,
                    canceled: true,
                    ..
                })
            ]
        ));
    }
}
