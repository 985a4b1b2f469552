//! `--progress=json`: one [`Event`] per line, flushed as it comes, for tools.

use std::io::{self, Write};

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

    /// Prints one event as a line of JSON.
    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Ends the output (every line is already out).
    pub fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
