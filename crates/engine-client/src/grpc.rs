//! gRPC's framing over HTTP/2, the little of it a BuildKit session's server needs: each
//! message in a body is a 5-byte prefix (a compression flag, then the length as a
//! big-endian `u32`) and the message; a call's outcome travels in `grpc-status` and
//! `grpc-message`, in the trailers or, for a call that fails at once, in the response's
//! own headers ("trailers-only"). Content type `application/grpc`; no compression is
//! offered, so a compressed message is refused.
//!
//! See gRPC's `doc/PROTOCOL-HTTP2.md`. Nothing here does I/O: the session module feeds
//! bytes in and sends what comes out.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};

/// The content type of gRPC requests and responses.
pub(crate) const CONTENT_TYPE: &str = "application/grpc";

/// The longest message accepted in a request: BuildKit's requests are a few hundred bytes.
pub(crate) const MAX_REQUEST_MESSAGE: usize = 4 * 1024 * 1024;

/// A gRPC status code (`google.golang.org/grpc/codes`), the ones a session answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    Ok = 0,
    Unknown = 2,
    InvalidArgument = 3,
    NotFound = 5,
    Unimplemented = 12,
    Unavailable = 14,
}

/// A call's outcome: its code and, when it failed, a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl Status {
    pub(crate) fn ok() -> Status {
        Status::new(Code::Ok, "")
    }

    pub(crate) fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
        }
    }

    /// The headers that carry it: `grpc-status` and, when there is one, `grpc-message`,
    /// percent-encoded as the protocol asks.
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from(self.code as u16));
        if !self.message.is_empty() {
            let encoded = percent_encode(&self.message);
            if let Ok(value) = HeaderValue::from_str(&encoded) {
                headers.insert("grpc-message", value);
            }
        }
        headers
    }
}

/// `grpc-message`'s encoding: bytes outside printable ASCII, and `%`, as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// One message, framed.
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(u32::try_from(message.len()).expect("a message under 4 GiB"));
    framed.put_slice(message);
    framed.freeze()
}

/// What is wrong with a request body's framing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FramingError {
    #[error("the message is compressed, and no compression was offered")]
    Compressed,
    #[error("a message of {0} bytes is over the limit")]
    TooLong(usize),
    #[error("the body ends inside a message")]
    Truncated,
    #[error("the body holds no message")]
    Empty,
    #[error("the body of a unary call holds more than one message")]
    TooMany,
}

/// Collects a body's bytes as they come and splits them into messages.
#[derive(Debug, Default)]
pub(crate) struct Deframer {
    buffer: BytesMut,
}

impl Deframer {
    /// Takes the next piece of the body; a message too long or compressed is an error at
    /// once.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), FramingError> {
        self.buffer.extend_from_slice(chunk);
        self.check_head()
    }

    fn check_head(&self) -> Result<(), FramingError> {
        if self.buffer.len() < 5 {
            return Ok(());
        }
        if self.buffer[0] != 0 {
            return Err(FramingError::Compressed);
        }
        let length = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if length > MAX_REQUEST_MESSAGE {
            return Err(FramingError::TooLong(length));
        }
        Ok(())
    }

    /// The next whole message, if the body holds one yet.
    pub(crate) fn next_message(&mut self) -> Result<Option<Bytes>, FramingError> {
        self.check_head()?;
        if self.buffer.len() < 5 {
            return Ok(None);
        }
        let length = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        self.buffer.advance(5);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }

    /// The one message of a unary call's body, once the body has ended.
    pub(crate) fn finish_unary(mut self) -> Result<Bytes, FramingError> {
        match self.next_message()? {
            Some(message) if self.buffer.is_empty() => Ok(message),
            Some(_) => Err(FramingError::TooMany),
            None if self.buffer.is_empty() => Err(FramingError::Empty),
            None => Err(FramingError::Truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_framed_with_its_length() {
        assert_eq!(&frame(b"abc")[..], b"\0\0\0\0\x03abc");
        assert_eq!(&frame(b"")[..], b"\0\0\0\0\0");
    }

    #[test]
    fn messages_are_split_however_the_body_is_cut() {
        let mut body = frame(b"hello").to_vec();
        body.extend_from_slice(&frame(b""));
        body.extend_from_slice(&frame(b"world"));
        for cut in 0..body.len() {
            let mut deframer = Deframer::default();
            let mut messages = Vec::new();
            for piece in [&body[..cut], &body[cut..]] {
                deframer.push(piece).unwrap();
                while let Some(message) = deframer.next_message().unwrap() {
                    messages.push(message);
                }
            }
            assert_eq!(
                messages,
                ["hello".as_bytes(), b"", b"world"],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_unary_body_holds_exactly_one_message() {
        let mut one = Deframer::default();
        one.push(&frame(b"x")).unwrap();
        assert_eq!(&one.finish_unary().unwrap()[..], b"x");

        let mut cut = Deframer::default();
        cut.push(&frame(b"xyz")[..6]).unwrap();
        assert_eq!(cut.finish_unary(), Err(FramingError::Truncated));

        assert_eq!(Deframer::default().finish_unary(), Err(FramingError::Empty));

        let mut two = Deframer::default();
        two.push(&frame(b"a")).unwrap();
        two.push(&frame(b"b")).unwrap();
        assert_eq!(two.finish_unary(), Err(FramingError::TooMany));
    }

    #[test]
    fn compressed_and_oversized_messages_are_refused() {
        let mut compressed = Deframer::default();
        assert_eq!(
            compressed.push(b"\x01\0\0\0\x01x"),
            Err(FramingError::Compressed)
        );
        let mut long = Deframer::default();
        assert_eq!(
            long.push(b"\0\xff\xff\xff\xff"),
            Err(FramingError::TooLong(u32::MAX as usize))
        );
    }

    #[test]
    fn a_status_travels_in_grpc_status_and_an_encoded_message() {
        let headers = Status::new(Code::NotFound, "secret x: 100% missing\n").headers();
        assert_eq!(headers["grpc-status"], "5");
        assert_eq!(headers["grpc-message"], "secret x: 100%25 missing%0A");
        let ok = Status::ok().headers();
        assert_eq!(ok["grpc-status"], "0");
        assert!(ok.get("grpc-message").is_none());
        assert_eq!(
            percent_encode("café"),
            "caf%C3%A9",
            "non-ASCII bytes are encoded one by one"
        );
    }
}
