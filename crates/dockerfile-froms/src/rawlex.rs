//! The word splitter BuildKit's parser uses to find heredocs: its shell lexer with an empty
//! environment that leaves unset variables as written (`SkipUnsetEnv`), optionally keeping
//! quotes and escapes in the words. Expansion proper lives in `shell`.

const ESCAPE: char = '\\';

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    /// BuildKit shares one word buffer between nested scans; so do we.
    buf: String,
    /// Nesting depth of `${…}`, bounded to keep the stack safe.
    depth: usize,
}

/// Deeper `${…}` nesting is refused (BuildKit has no limit; no real heredoc word needs it).
const MAX_NESTING: usize = 100;

struct Words {
    words: Vec<String>,
    in_word: bool,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn add_char(&mut self, words: &mut Words, ch: char) {
        if ch.is_whitespace() {
            if words.in_word && !self.buf.is_empty() {
                words.words.push(std::mem::take(&mut self.buf));
                words.in_word = false;
            }
        } else {
            self.add_raw_char(words, ch);
        }
    }

    fn add_raw_char(&mut self, words: &mut Words, ch: char) {
        self.buf.push(ch);
        words.in_word = true;
    }

    fn finish(&mut self, mut words: Words) -> Vec<String> {
        if !self.buf.is_empty() {
            words.words.push(std::mem::take(&mut self.buf));
        }
        words.words
    }

    fn stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> Result<String, String> {
        if self.depth >= MAX_NESTING {
            return Err("nesting too deep".into());
        }
        self.depth += 1;
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let result = self.stop_on_inner(stop).map(|(r, _)| r);
        self.raw_escapes = saved;
        self.depth -= 1;
        result
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        self.buf.clear();
        let mut words = Words {
            words: Vec::new(),
            in_word: false,
        };
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                let w = self.finish(words);
                return Ok((result, w));
            }
            match ch {
                '$' => {
                    let tmp = self.dollar()?;
                    result.push_str(&tmp);
                    for c in tmp.chars() {
                        self.add_char(&mut words, c);
                    }
                }
                '<' | '\'' | '"' => {
                    let tmp = match ch {
                        '<' => self.heredoc(),
                        '\'' => self.single_quote()?,
                        _ => self.double_quote()?,
                    };
                    result.push_str(&tmp);
                    self.buf.push_str(&tmp);
                    words.in_word = true;
                }
                _ => {
                    let mut ch = self.next().unwrap_or(ch);
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            self.add_raw_char(&mut words, ch);
                            result.push(ch);
                        }
                        match self.next() {
                            None => break,
                            Some(c) => ch = c,
                        }
                        self.add_raw_char(&mut words, ch);
                    } else {
                        self.add_char(&mut words, ch);
                    }
                    result.push(ch);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        let w = self.finish(words);
        Ok((result, w))
    }

    fn single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next().unwrap_or('\'');
        if self.raw_quotes {
            out.push(q);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next().unwrap_or('"');
        if self.raw_quotes {
            out.push(q);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or(ESCAPE);
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some('"' | '$' | ESCAPE) => ch = self.next().unwrap_or(ESCAPE),
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
            out.push(c);
            self.next();
        }
        out
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            return Ok(format!("${name}"));
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let ch = self.next();
        let show = |c: Option<char>| c.unwrap_or('\u{fffd}').to_string();
        match ch {
            Some('}') => Ok(format!("${{{name}}}")),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let mut chs = show(ch);
                let mut modifier = ch;
                let null_is_unset = ch == Some(':');
                if null_is_unset {
                    modifier = self.next();
                    chs.push_str(&show(modifier));
                }
                let raw = matches!(modifier, Some('#' | '%'));
                if null_is_unset && raw {
                    return Err(format!("unsupported modifier ({chs}) in substitution"));
                }
                let word = self.stop_on(Some('}'), raw).map_err(|e| {
                    if self.peek().is_none() {
                        "syntax error: missing '}'".to_string()
                    } else {
                        e
                    }
                })?;
                Ok(format!("${{{name}{chs}{word}}}"))
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.next();
                }
                let pattern = self.stop_on(Some('/'), true).map_err(|e| {
                    if self.peek().is_none() {
                        "syntax error: missing '/' in ${}".to_string()
                    } else {
                        e
                    }
                })?;
                let replacement = self.stop_on(Some('}'), true).map_err(|e| {
                    if self.peek().is_none() {
                        "syntax error: missing '}'".to_string()
                    } else {
                        e
                    }
                })?;
                Ok(format!("${{{name}/{pattern}/{replacement}}}"))
            }
            other => Err(format!(
                "unsupported modifier ({}) in substitution",
                show(other)
            )),
        }
    }
}

/// Splits `text` into words as BuildKit's `ProcessWords` does with an empty environment and
/// unset variables kept verbatim.
pub(crate) fn words(
    text: &str,
    raw_quotes: bool,
    raw_escapes: bool,
) -> Result<Vec<String>, String> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        raw_quotes,
        raw_escapes,
        buf: String::new(),
        depth: 0,
    };
    lexer.stop_on_inner(None).map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn raw_words_keep_quotes() {
        assert_eq!(
            words(r#"COPY <<"EOF" /x"#, true, true).unwrap(),
            vec!["COPY", "<<\"EOF\"", "/x"]
        );
        assert_eq!(words(r#""EOF""#, false, false).unwrap(), vec!["EOF"]);
        assert_eq!(words("<< EOF", true, true).unwrap(), vec!["<< EOF"]);
        assert!(words("echo \"x", true, true).is_err());
    }
}
