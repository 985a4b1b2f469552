//! The engine's streamed answers (a build's, a pull's, a push's: one JSON message a line)
//! read line by line into items: one loop for all of them, and a [`LineReader`] for what each
//! makes of its lines and of how the answer ends. The [`LineBuffer`] that splits the bytes
//! into lines is the build decoder's too, for the steps' log output.

use std::collections::VecDeque;

use futures_util::stream::{self, Stream, StreamExt};

use crate::engine::ByteStream;

/// What one kind of answer makes of its lines.
pub(crate) trait LineReader: Send + 'static {
    /// What the stream yields.
    type Item: Send + 'static;

    /// One complete, non-blank line.
    fn line(&mut self, line: &[u8], items: &mut VecDeque<Self::Item>);

    /// The answer ended: `Some` with the transport's error when the request failed or the
    /// connection was lost, `None` when it ended well. The stream ends once `items` is
    /// drained.
    fn end(&mut self, error: Option<bollard::errors::Error>, items: &mut VecDeque<Self::Item>);
}

/// The items `reader` makes of `body`, after `first`.
pub(crate) fn read_lines<R: LineReader>(
    body: ByteStream,
    first: Vec<R::Item>,
    reader: R,
) -> impl Stream<Item = R::Item> + Send + 'static {
    struct State<R: LineReader> {
        body: ByteStream,
        lines: LineBuffer,
        pending: VecDeque<R::Item>,
        reader: R,
        done: bool,
    }

    impl<R: LineReader> State<R> {
        fn end(&mut self, error: Option<bollard::errors::Error>) {
            self.done = true;
            if let Some(line) = self.lines.rest().filter(|l| !is_blank(l)) {
                self.reader.line(&line, &mut self.pending);
            }
            self.reader.end(error, &mut self.pending);
        }
    }

    let state = State {
        body,
        lines: LineBuffer::default(),
        pending: VecDeque::from(first),
        reader,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.done {
                return None;
            }
            match state.body.next().await {
                Some(Ok(chunk)) => {
                    for line in state.lines.push(&chunk) {
                        if !is_blank(&line) {
                            state.reader.line(&line, &mut state.pending);
                        }
                    }
                }
                Some(Err(e)) => state.end(Some(e)),
                None => state.end(None),
            }
        }
    })
}

/// Splits a byte stream into lines as its chunks come: the one line splitter of the crate,
/// for the engine's JSON lines here and for the steps' log output in `progress`. Lines are
/// handed over without their `\n`, blank ones too (a step's log keeps them); a last line
/// without an ending is kept for [`LineBuffer::rest`].
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    partial: Vec<u8>,
}

impl LineBuffer {
    /// The lines that `chunk` completes.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.partial.extend_from_slice(chunk);
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.partial.split_off(end + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        complete[..end]
            .split(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Whether a line without an ending is waiting.
    pub(crate) fn has_rest(&self) -> bool {
        !self.partial.is_empty()
    }

    /// The line without an ending, if one is waiting; the buffer is empty afterwards.
    pub(crate) fn rest(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.partial);
        (!rest.is_empty()).then_some(rest)
    }
}

/// Whether a line of the engine's answers holds anything (they are JSON; blank lines are
/// keep-alives or separators).
fn is_blank(line: &[u8]) -> bool {
    line.trim_ascii().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_chunks_and_keeps_blank_lines() {
        let mut lines = LineBuffer::default();
        assert!(lines.push(b"a").is_empty());
        assert!(lines.has_rest());
        assert_eq!(lines.push(b"b\n\nc\r\nd"), [&b"ab"[..], b"", b"c\r"]);
        assert_eq!(lines.rest(), Some(b"d".to_vec()));
        assert!(!lines.has_rest());
        assert_eq!(lines.rest(), None);
        assert_eq!(lines.push(b"\n"), [&b""[..]]);
    }
}
