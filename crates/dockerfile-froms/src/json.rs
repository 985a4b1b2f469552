//! Just enough JSON for Dockerfiles: the exec form (`RUN ["sh", "-c", "…"]`) and the JSON
//! form of the `syntax` directive, with the acceptance rules of Go's `encoding/json`.

#[derive(Debug)]
enum Value {
    String(String),
    Other,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.bytes.get(self.pos) == Some(&b)).then(|| self.pos += 1)
    }

    /// One value; containers are validated iteratively (Go's limit: 10000 levels).
    fn value(&mut self) -> Option<Value> {
        self.ws();
        match *self.bytes.get(self.pos)? {
            b'"' => Some(Value::String(self.string()?)),
            b'[' | b'{' => self.container().map(|()| Value::Other),
            _ => self.scalar(),
        }
    }

    fn scalar(&mut self) -> Option<Value> {
        match *self.bytes.get(self.pos)? {
            b'"' => self.string().map(|_| Value::Other),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn object_key(&mut self) -> Option<()> {
        self.ws();
        self.string()?;
        self.ws();
        self.eat(b':')
    }

    fn container(&mut self) -> Option<()> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            // Expecting a value.
            self.ws();
            let opened = match *self.bytes.get(self.pos)? {
                b'[' => Some(b']'),
                b'{' => Some(b'}'),
                _ => None,
            };
            match opened {
                Some(close) => {
                    self.pos += 1;
                    self.ws();
                    if self.eat(close).is_none() {
                        stack.push(close);
                        if stack.len() > 10_000 {
                            return None;
                        }
                        if close == b'}' {
                            self.object_key()?;
                        }
                        continue;
                    }
                }
                None => {
                    self.scalar()?;
                }
            }
            // After a value.
            loop {
                self.ws();
                let Some(&top) = stack.last() else {
                    return Some(());
                };
                if self.eat(b',').is_some() {
                    if top == b'}' {
                        self.object_key()?;
                    }
                    break;
                }
                self.eat(top)?;
                stack.pop();
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<Value> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(Value::Other)
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<Value> {
        self.eat(b'-');
        match self.bytes.get(self.pos)? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(Value::Other)
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.bytes.get(self.pos..self.pos + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(s, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let b = *self.bytes.get(self.pos)?;
            self.pos += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let e = *self.bytes.get(self.pos)?;
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xd800..0xdc00).contains(&hi)
                                && self.bytes[self.pos..].starts_with(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                                    char::from_u32(c).unwrap_or('\u{fffd}')
                                } else {
                                    self.pos = save;
                                    '\u{fffd}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{fffd}')
                            }
                        }
                        _ => return None,
                    };
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                0..=0x1f => return None,
                _ => out.push(b),
            }
        }
    }
}

fn parse_object(text: &str) -> Option<Vec<(String, Value)>> {
    let mut r = Reader {
        bytes: text.as_bytes(),
        pos: 0,
    };
    r.ws();
    r.eat(b'{')?;
    let mut fields = Vec::new();
    r.ws();
    if r.eat(b'}').is_none() {
        loop {
            r.ws();
            let key = r.string()?;
            r.ws();
            r.eat(b':')?;
            let v = r.value()?;
            fields.push((key, v));
            r.ws();
            if r.eat(b',').is_some() {
                continue;
            }
            r.eat(b'}')?;
            break;
        }
    }
    r.ws();
    (r.pos == r.bytes.len()).then_some(fields)
}

/// A JSON array: `None` when `text` is not valid JSON, `Some(Err)` when an element is not a
/// string, else the strings.
pub(crate) fn parse_array(text: &str) -> Option<Result<Vec<String>, ()>> {
    let mut r = Reader {
        bytes: text.as_bytes(),
        pos: 0,
    };
    r.ws();
    r.eat(b'[')?;
    let mut items = Vec::new();
    r.ws();
    if r.eat(b']').is_none() {
        loop {
            items.push(r.value()?);
            r.ws();
            if r.eat(b',').is_some() {
                continue;
            }
            r.eat(b']')?;
            break;
        }
    }
    r.ws();
    if r.pos != r.bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) => out.push(s),
            _ => return Some(Err(())),
        }
    }
    Some(Ok(out))
}

/// The string value of `key` in a JSON object document (the last one wins, as in Go).
pub(crate) fn object_string_field(text: &str, key: &str) -> Option<String> {
    let fields = parse_object(text)?;
    match fields.into_iter().rev().find(|(k, _)| k == key)?.1 {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays() {
        assert_eq!(
            parse_array(r#"["a", "b\u0041"]"#),
            Some(Ok(vec!["a".into(), "bA".into()]))
        );
        assert_eq!(parse_array(r#"["a", 1]"#), Some(Err(())));
        assert_eq!(parse_array(r#"["a" x]"#), None);
        assert_eq!(parse_array("[]"), Some(Ok(vec![])));
    }

    #[test]
    fn objects() {
        assert_eq!(
            object_string_field(r#"{"syntax": "a/b"}"#, "syntax").as_deref(),
            Some("a/b")
        );
        assert_eq!(object_string_field(r#"{"syntax": 1}"#, "syntax"), None);
    }
}
