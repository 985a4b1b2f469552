//! `--progress=json`: one [`Event`] per line, flushed as it comes, for tools; and
//! `--progress=rawjson`: BuildKit's own status updates, one per line, as
//! `docker buildx build --progress=rawjson` prints them.

use std::io::{self, Write};

use engine_client::events::BuildEvent;

use crate::events::Event;

/// The JSON renderer: each event as one line of JSON.
pub struct JsonRenderer<W: Write> {
    out: W,
}

impl<W: Write> JsonRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> JsonRenderer<W> {
        JsonRenderer { out }
    }

    /// Prints one event as a line of JSON (a raw BuildKit status is not one of them).
    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        if matches!(event, Event::Engine(BuildEvent::Status(_))) {
            return Ok(());
        }
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Ends the output (every line is already out).
    pub fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The raw JSON renderer: each of BuildKit's status updates
/// ([`BuildEvent::Status`]) as one line of JSON; nothing else (the pre-pull and the
/// context upload are devbuild's, not BuildKit's).
pub struct RawJsonRenderer<W: Write> {
    out: W,
}

impl<W: Write> RawJsonRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> RawJsonRenderer<W> {
        RawJsonRenderer { out }
    }

    /// Prints a BuildKit status update as a line of JSON; other events print nothing.
    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        let Event::Engine(BuildEvent::Status(status)) = event else {
            return Ok(());
        };
        serde_json::to_writer(&mut self.out, status)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Ends the output (every line is already out).
    pub fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
