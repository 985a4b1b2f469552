//! One ignore pattern, validated, compiled and matched as moby/patternmatcher does it.
//!
//! patternmatcher checks a pattern with Go's `filepath.Match(pattern, ".")`, then turns it
//! into one of four matchers: an exact string, a prefix (`dir/**`), a suffix (`**/name`) or
//! a Go regular expression built from the pattern text. Go's `regexp` package then reads
//! that text, so its quirks are part of `.dockerignore` semantics: `\d` is a digit class,
//! `[[:alpha:]]` a POSIX class, `[*]` becomes `[[^/]*]`, a class followed by a literal
//! `]`, and `|`, `{`, `}` stay unescaped (patternmatcher's escape bitmap shifts them out of
//! a byte), so `a*|b` is an alternation and `x{2}*` a counted repeat. This module builds the same expression text and reads it with a small parser for
//! the part of Go's syntax such text can contain, into a Thompson NFA whose simulation
//! takes time linear in the path length (Go's regexp is linear-time too), so no pattern
//! can make matching blow up.
//!
//! Known gap: Unicode classes (`\pL`, `\p{Greek}`) need Unicode tables this crate does not
//! carry; a pattern that uses one is rejected as a syntax error instead of being matched.

/// Why a pattern was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// Go's `filepath.ErrBadPattern`, or a regular expression Go would not compile.
    Syntax,
    /// A `\p`/`\P` Unicode class, which this implementation does not support.
    UnicodeClass,
}

impl PatternError {
    /// The message shown to users; patternmatcher's words where it has them.
    pub(crate) fn message(self) -> &'static str {
        match self {
            PatternError::Syntax => "syntax error in pattern",
            PatternError::UnicodeClass => {
                "syntax error in pattern (Unicode classes such as \\pL are not supported)"
            }
        }
    }
}

/// A compiled pattern (without its `!`).
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// The path equals the pattern.
    Exact(String),
    /// The path starts with the pattern minus its trailing `**`.
    Prefix(String),
    /// The path ends with the pattern minus its leading `**`.
    Suffix(String),
    /// Anything else: a regular expression.
    Regex(Program),
}

impl Pattern {
    /// Checks a cleaned pattern as `patternmatcher.New` does (`filepath.Match(p, ".")`).
    pub(crate) fn validate(pattern: &str) -> Result<(), PatternError> {
        glob_match(pattern.as_bytes(), b".").map(drop)
    }

    /// Compiles a cleaned pattern as its first (lazy) use in patternmatcher would; the
    /// pattern must have passed [`validate`](Self::validate).
    pub(crate) fn compile(pattern: &str) -> Result<Pattern, PatternError> {
        let (kind, regex) = translate(pattern);
        Ok(match kind {
            Kind::Exact => Pattern::Exact(pattern.to_owned()),
            Kind::Prefix => Pattern::Prefix(pattern.to_owned()),
            Kind::Suffix => Pattern::Suffix(pattern.to_owned()),
            Kind::Regex => Pattern::Regex(Program::new(&parse_regex(&regex)?)),
        })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let path = text.as_bytes();
        match self {
            Pattern::Exact(p) => path == p.as_bytes(),
            Pattern::Prefix(p) => {
                let p = p.as_bytes();
                path.starts_with(&p[..p.len() - 2])
            }
            Pattern::Suffix(p) => {
                // Byte slicing, as Go does: a leading BOM makes this cut inside a character.
                let suffix = &p.as_bytes()[2..];
                path.ends_with(suffix) || (suffix.first() == Some(&b'/') && path == &suffix[1..])
            }
            Pattern::Regex(program) => program.is_match(text),
        }
    }
}

/// Go's `filepath.Match(pattern, name)` with its error ignored, as fsutil's `FollowLinks`
/// matches a wildcard path component against directory entries: a malformed pattern
/// matches nothing.
pub(crate) fn filepath_match(pattern: &[u8], name: &[u8]) -> bool {
    glob_match(pattern, name).unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Go's filepath.Match: patterns are validated against the name "."; fsutil also matches
// wildcard path components with it.

/// Decodes one character as Go's `utf8.DecodeRune` does: `(U+FFFD, 1)` for an invalid
/// byte, `(U+FFFD, 0)` for empty input.
fn decode(s: &[u8]) -> (u32, usize) {
    let Some(&b) = s.first() else {
        return (0xFFFD, 0);
    };
    let len = match b {
        0x00..=0x7F => return (u32::from(b), 1),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return (0xFFFD, 1),
    };
    match s.get(..len).map(std::str::from_utf8) {
        Some(Ok(text)) => (text.chars().next().map_or(0xFFFD, u32::from), len),
        _ => (0xFFFD, 1),
    }
}

/// Go's `filepath.Match` on Unix: whether `name` matches shell pattern `pattern`, or
/// `Err` for a malformed pattern (only the part of it that was examined).
fn glob_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, PatternError> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&b'/'));
        }
        if let Some(t) = match_chunk(chunk, name)? {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Some(t) = match_chunk(chunk, &name[i + 1..])? {
                    if !pattern.is_empty() || t.is_empty() {
                        name = t;
                        continue 'chunks;
                    }
                }
                i += 1;
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the next chunk: leading stars, then up to the next star outside `[...]`.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => return (star, &pattern[..i], &pattern[i..]),
            _ => {}
        }
        i += 1;
    }
    (star, pattern, &[])
}

/// Matches a star-free chunk at the start of `s`; returns the rest of `s` on success.
/// The whole chunk is checked for syntax even after the match has failed.
fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> Result<Option<&'s [u8]>, PatternError> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        failed = failed || s.is_empty();
        match c {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (rune, n) = decode(s);
                    r = rune;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_escape(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        let (h, rest) = class_escape(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    matched = matched || (lo <= r && r <= hi);
                    ranges += 1;
                }
                failed = failed || matched == negated;
            }
            b'?' => {
                if !failed {
                    failed = s[0] == b'/';
                    s = &s[decode(s).1..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(PatternError::Syntax);
                    }
                }
                if !failed {
                    failed = chunk[0] != s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// Reads one possibly escaped character of a `[...]` class; the rest must not be empty.
fn class_escape(mut chunk: &[u8]) -> Result<(u32, &[u8]), PatternError> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(PatternError::Syntax),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(PatternError::Syntax);
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode(chunk);
    let rest = &chunk[n..];
    if (r == 0xFFFD && n == 1) || rest.is_empty() {
        return Err(PatternError::Syntax);
    }
    Ok((r, rest))
}

// ---------------------------------------------------------------------------------------
// patternmatcher's translation of a pattern into a matcher kind and regexp text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// Builds patternmatcher's regexp text for `pattern` (Unix separator) and its match kind.
fn translate(pattern: &str) -> (Kind, String) {
    let mut regex = String::from("^");
    let mut kind = Kind::Exact;
    let mut chars = pattern.chars().peekable();
    // Go's text/scanner drops a byte order mark at the very start.
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
    }
    let mut first = true;
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        regex.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    regex.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                regex.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                regex.push_str("[^/]");
                kind = Kind::Regex;
            }
            // patternmatcher means to escape `|`, `{` and `}` too, but its bitmap drops
            // every byte above 63, so they reach the regexp as they are.
            '.' | '+' | '(' | ')' | '$' => {
                regex.push('\\');
                regex.push(ch);
            }
            '\\' => {
                regex.push('\\');
                if let Some(next) = chars.next() {
                    regex.push(next);
                    kind = Kind::Regex;
                }
            }
            '[' | ']' => {
                regex.push(ch);
                kind = Kind::Regex;
            }
            _ => regex.push(ch),
        }
        first = false;
    }
    regex.push('$');
    (kind, regex)
}

// ---------------------------------------------------------------------------------------
// The part of Go's regexp syntax (Perl flags: `^`/`$` match at the text's ends, `.` does
// not match `\n`, negated classes do) that patternmatcher's text can contain.

const MAX_RUNE: u32 = 0x10FFFF;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    Begin,
    End,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Star,
    Plus,
    Quest,
    /// `{min,max}`; no `max` for `{min,}`.
    Counted {
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Debug, Clone)]
enum Node {
    /// One character from a sorted list of inclusive ranges.
    Class(Vec<(u32, u32)>),
    AnyNotNewline,
    Look(Look),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
    Repeat(Box<Node>, Repeat),
}

/// Parses Go regexp text (the subset patternmatcher produces, and everything it can
/// contain through user escapes and classes).
fn parse_regex(text: &str) -> Result<Node, PatternError> {
    let mut parser = RegexParser {
        text,
        pos: 0,
        depth: 0,
    };
    let node = parser.alternation()?;
    if parser.pos != text.len() {
        // An unmatched `)`.
        return Err(PatternError::Syntax);
    }
    Ok(node)
}

struct RegexParser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

fn single(c: u32) -> Node {
    Node::Class(vec![(c, c)])
}

impl RegexParser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn alternation(&mut self) -> Result<Node, PatternError> {
        let mut branches = vec![self.concatenation()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.concatenation()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Concat(Vec::new()))
        } else {
            Node::Alternate(branches)
        })
    }

    fn concatenation(&mut self) -> Result<Node, PatternError> {
        let mut items: Vec<Node> = Vec::new();
        let mut after_repeat = false;
        while let Some(c) = self.peek() {
            match c {
                '|' | ')' => break,
                '*' | '+' | '?' => {
                    self.pos += 1;
                    // A lazy quantifier (`*?`) matches the same set of texts.
                    if self.peek() == Some('?') {
                        self.pos += 1;
                    }
                    // Perl syntax: `a**` is an error, and a repeat needs an argument.
                    let Some(sub) = items.pop().filter(|_| !after_repeat) else {
                        return Err(PatternError::Syntax);
                    };
                    let op = match c {
                        '*' => Repeat::Star,
                        '+' => Repeat::Plus,
                        _ => Repeat::Quest,
                    };
                    items.push(Node::Repeat(Box::new(sub), op));
                    after_repeat = true;
                    continue;
                }
                '{' => {
                    // patternmatcher fails to escape `{`, `|` and `}` (its escape bitmap
                    // only covers bytes below 64), so counted repeats reach Go's regexp.
                    // Anything that is not one is a literal `{`.
                    let Some((min, max, len)) = counted_repeat(self.rest()) else {
                        self.pos += 1;
                        items.push(single(u32::from('{')));
                        after_repeat = false;
                        continue;
                    };
                    self.pos += len;
                    if min > 1000 || max.is_some_and(|max| max > 1000 || min > max) {
                        return Err(PatternError::Syntax);
                    }
                    if self.peek() == Some('?') {
                        self.pos += 1;
                    }
                    let Some(sub) = items.pop().filter(|_| !after_repeat) else {
                        return Err(PatternError::Syntax);
                    };
                    items.push(Node::Repeat(Box::new(sub), Repeat::Counted { min, max }));
                    after_repeat = true;
                    continue;
                }
                '(' => {
                    self.pos += 1;
                    if self.peek() == Some('?') || self.depth >= 1000 {
                        return Err(PatternError::Syntax);
                    }
                    self.depth += 1;
                    let inner = self.alternation()?;
                    self.depth -= 1;
                    if self.peek() != Some(')') {
                        return Err(PatternError::Syntax);
                    }
                    self.pos += 1;
                    items.push(inner);
                }
                '^' => {
                    self.pos += 1;
                    items.push(Node::Look(Look::Begin));
                }
                '$' => {
                    self.pos += 1;
                    items.push(Node::Look(Look::End));
                }
                '.' => {
                    self.pos += 1;
                    items.push(Node::AnyNotNewline);
                }
                '[' => items.push(self.class()?),
                '\\' => self.backslash(&mut items)?,
                _ => {
                    self.pos += c.len_utf8();
                    items.push(single(u32::from(c)));
                }
            }
            after_repeat = false;
        }
        Ok(Node::Concat(items))
    }

    /// A backslash outside a class: an assertion, `\Q...\E`, a class, or one character.
    fn backslash(&mut self, items: &mut Vec<Node>) -> Result<(), PatternError> {
        let rest = self.rest();
        let look = match rest.as_bytes().get(1) {
            Some(b'A') => Some(Look::Begin),
            Some(b'z') => Some(Look::End),
            Some(b'b') => Some(Look::WordBoundary),
            Some(b'B') => Some(Look::NotWordBoundary),
            Some(b'C') => return Err(PatternError::Syntax),
            Some(b'p' | b'P') => return Err(PatternError::UnicodeClass),
            Some(b'Q') => {
                let quoted = &rest[2..];
                let (literal, consumed) = match quoted.find("\\E") {
                    Some(end) => (&quoted[..end], 2 + end + 2),
                    None => (quoted, rest.len()),
                };
                items.extend(literal.chars().map(|c| single(u32::from(c))));
                self.pos += consumed;
                return Ok(());
            }
            _ => None,
        };
        if let Some(look) = look {
            self.pos += 2;
            items.push(Node::Look(look));
            return Ok(());
        }
        if let Some(ranges) = perl_class(rest) {
            self.pos += 2;
            items.push(Node::Class(ranges));
            return Ok(());
        }
        let (c, len) = parse_escape(rest)?;
        self.pos += len;
        items.push(single(c));
        Ok(())
    }

    /// A `[...]` class, as Go's `parseClass` reads it.
    fn class(&mut self) -> Result<Node, PatternError> {
        self.pos += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return Err(PatternError::Syntax);
            }
            if rest.starts_with(']') && !first {
                self.pos += 1;
                break;
            }
            first = false;
            if rest.len() > 2 && rest.starts_with("[:") {
                if let Some(end) = rest[2..].find(":]") {
                    let name = &rest[..end + 4];
                    let Some(group) = posix_class(name) else {
                        return Err(PatternError::Syntax);
                    };
                    ranges.extend(group);
                    self.pos += name.len();
                    continue;
                }
            }
            if rest.starts_with("\\p") || rest.starts_with("\\P") {
                return Err(PatternError::UnicodeClass);
            }
            if let Some(group) = perl_class(rest) {
                ranges.extend(group);
                self.pos += 2;
                continue;
            }
            let (lo, len) = class_char(rest)?;
            self.pos += len;
            let mut hi = lo;
            let rest = self.rest().as_bytes();
            if rest.len() >= 2 && rest[0] == b'-' && rest[1] != b']' {
                self.pos += 1;
                let (h, len) = class_char(self.rest())?;
                self.pos += len;
                if h < lo {
                    return Err(PatternError::Syntax);
                }
                hi = h;
            }
            ranges.push((lo, hi));
        }
        let ranges = normalize(ranges);
        Ok(Node::Class(if negated {
            complement(&ranges)
        } else {
            ranges
        }))
    }
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` at the start of `text`, as
/// `(min, max, bytes)`; `None` when it is not one (then `{` is a literal). Numbers too big
/// for Go come back as `u32::MAX`, which the caller rejects.
fn counted_repeat(text: &str) -> Option<(u32, Option<u32>, usize)> {
    fn number(s: &str) -> Option<(u32, &str)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        // No leading zeros ("0" alone is fine).
        if digits == 0 || (digits > 1 && s.starts_with('0')) {
            return None;
        }
        let value = s[..digits].parse::<u32>().unwrap_or(u32::MAX);
        Some((value, &s[digits..]))
    }
    let (min, rest) = number(text.strip_prefix('{')?)?;
    let (max, rest) = match rest.strip_prefix(',') {
        None => (Some(min), rest),
        Some(rest) if rest.starts_with('}') => (None, rest),
        Some(rest) => {
            let (max, rest) = number(rest)?;
            (Some(max), rest)
        }
    };
    let rest = rest.strip_prefix('}')?;
    Some((min, max, text.len() - rest.len()))
}

/// One class member: an escape or a plain character.
fn class_char(text: &str) -> Result<(u32, usize), PatternError> {
    if text.starts_with('\\') {
        return parse_escape(text);
    }
    let c = text.chars().next().ok_or(PatternError::Syntax)?;
    Ok((u32::from(c), c.len_utf8()))
}

/// Go's `parseEscape`: `text` starts with a backslash; returns the character and the
/// number of bytes read.
fn parse_escape(text: &str) -> Result<(u32, usize), PatternError> {
    let mut chars = text[1..].chars();
    let c = chars.next().ok_or(PatternError::Syntax)?;
    let after = |chars: &std::str::Chars<'_>| text.len() - chars.as_str().len();
    let octal = |c: Option<char>| c.filter(|c| ('0'..='7').contains(c));
    match c {
        '0'..='7' => {
            let mut value = c as u32 - '0' as u32;
            let mut digits = 1;
            // A single non-zero digit is a backreference, which Go does not support.
            if c != '0' && octal(chars.clone().next()).is_none() {
                return Err(PatternError::Syntax);
            }
            while digits < 3 {
                let Some(d) = octal(chars.clone().next()) else {
                    break;
                };
                chars.next();
                value = value * 8 + (d as u32 - '0' as u32);
                digits += 1;
            }
            Ok((value, after(&chars)))
        }
        'x' => {
            let first = chars.next().ok_or(PatternError::Syntax)?;
            if first == '{' {
                let mut value: u32 = 0;
                let mut digits = 0;
                loop {
                    let d = chars.next().ok_or(PatternError::Syntax)?;
                    if d == '}' {
                        break;
                    }
                    value = value * 16 + d.to_digit(16).ok_or(PatternError::Syntax)?;
                    if value > MAX_RUNE {
                        return Err(PatternError::Syntax);
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return Err(PatternError::Syntax);
                }
                return Ok((value, after(&chars)));
            }
            let second = chars.next();
            match (first.to_digit(16), second.and_then(|c| c.to_digit(16))) {
                (Some(x), Some(y)) => Ok((x * 16 + y, after(&chars))),
                _ => Err(PatternError::Syntax),
            }
        }
        'a' => Ok((7, 2)),
        'f' => Ok((12, 2)),
        'n' => Ok((10, 2)),
        'r' => Ok((13, 2)),
        't' => Ok((9, 2)),
        'v' => Ok((11, 2)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), 2)),
        _ => Err(PatternError::Syntax),
    }
}

fn ranges_of(spec: &[(char, char)]) -> Vec<(u32, u32)> {
    spec.iter()
        .map(|&(lo, hi)| (u32::from(lo), u32::from(hi)))
        .collect()
}

/// `\d \D \s \S \w \W` (ASCII only, as in Go) at the start of `text`.
fn perl_class(text: &str) -> Option<Vec<(u32, u32)>> {
    let bytes = text.as_bytes();
    if bytes.len() < 2 || bytes[0] != b'\\' {
        return None;
    }
    let (spec, negated): (&[(char, char)], bool) = match bytes[1] {
        b'd' => (&[('0', '9')], false),
        b'D' => (&[('0', '9')], true),
        b's' => (&[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')], false),
        b'S' => (&[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')], true),
        b'w' => (&[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')], false),
        b'W' => (&[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')], true),
        _ => return None,
    };
    let ranges = ranges_of(spec);
    Some(if negated { complement(&ranges) } else { ranges })
}

/// A POSIX class such as `[:alpha:]` or `[:^space:]`; `None` for an unknown name.
fn posix_class(name: &str) -> Option<Vec<(u32, u32)>> {
    let inner = name.strip_prefix("[:")?.strip_suffix(":]")?;
    let (negated, inner) = match inner.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let spec: &[(char, char)] = match inner {
        "alnum" => &[('0', '9'), ('A', 'Z'), ('a', 'z')],
        "alpha" => &[('A', 'Z'), ('a', 'z')],
        "ascii" => &[('\0', '\x7f')],
        "blank" => &[('\t', '\t'), (' ', ' ')],
        "cntrl" => &[('\0', '\x1f'), ('\x7f', '\x7f')],
        "digit" => &[('0', '9')],
        "graph" => &[('!', '~')],
        "lower" => &[('a', 'z')],
        "print" => &[(' ', '~')],
        "punct" => &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "space" => &[('\t', '\r'), (' ', ' ')],
        "upper" => &[('A', 'Z')],
        "word" => &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')],
        "xdigit" => &[('0', '9'), ('A', 'F'), ('a', 'f')],
        _ => return None,
    };
    let ranges = ranges_of(spec);
    Some(if negated { complement(&ranges) } else { ranges })
}

/// Sorts and merges ranges.
fn normalize(mut ranges: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// All characters not in `ranges`.
fn complement(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut next = 0;
    for &(lo, hi) in &normalize(ranges.to_vec()) {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi + 1;
    }
    if next <= MAX_RUNE {
        out.push((next, MAX_RUNE));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Thompson NFA: compiled once per pattern, simulated without backtracking.

#[derive(Debug, Clone)]
enum Inst {
    Class(Box<[(u32, u32)]>),
    AnyNotNewline,
    Look(Look),
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A compiled regular expression.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    insts: Vec<Inst>,
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Program {
    fn new(node: &Node) -> Program {
        let mut program = Program { insts: Vec::new() };
        program.emit(node);
        program.insts.push(Inst::Match);
        program
    }

    fn emit(&mut self, node: &Node) {
        match node {
            Node::Class(ranges) => self.insts.push(Inst::Class(ranges.clone().into())),
            Node::AnyNotNewline => self.insts.push(Inst::AnyNotNewline),
            Node::Look(look) => self.insts.push(Inst::Look(*look)),
            Node::Concat(items) => items.iter().for_each(|item| self.emit(item)),
            Node::Alternate(branches) => {
                let mut jumps = Vec::new();
                for (i, branch) in branches.iter().enumerate() {
                    if i + 1 < branches.len() {
                        let split = self.insts.len();
                        self.insts.push(Inst::Split(split + 1, 0));
                        self.emit(branch);
                        jumps.push(self.insts.len());
                        self.insts.push(Inst::Jump(0));
                        let next = self.insts.len();
                        self.insts[split] = Inst::Split(split + 1, next);
                    } else {
                        self.emit(branch);
                    }
                }
                let end = self.insts.len();
                for jump in jumps {
                    self.insts[jump] = Inst::Jump(end);
                }
            }
            Node::Repeat(sub, Repeat::Star) => self.emit_star(sub),
            Node::Repeat(sub, Repeat::Plus) => {
                let start = self.insts.len();
                self.emit(sub);
                let split = self.insts.len();
                self.insts.push(Inst::Split(start, split + 1));
            }
            Node::Repeat(sub, Repeat::Quest) => self.emit_quest(sub),
            Node::Repeat(sub, Repeat::Counted { min, max }) => {
                for _ in 0..*min {
                    self.emit(sub);
                }
                match max {
                    None => self.emit_star(sub),
                    Some(max) => {
                        for _ in *min..*max {
                            self.emit_quest(sub);
                        }
                    }
                }
            }
        }
    }

    fn emit_star(&mut self, sub: &Node) {
        let split = self.insts.len();
        self.insts.push(Inst::Split(split + 1, 0));
        self.emit(sub);
        self.insts.push(Inst::Jump(split));
        let end = self.insts.len();
        self.insts[split] = Inst::Split(split + 1, end);
    }

    fn emit_quest(&mut self, sub: &Node) {
        let split = self.insts.len();
        self.insts.push(Inst::Split(split + 1, 0));
        self.emit(sub);
        let end = self.insts.len();
        self.insts[split] = Inst::Split(split + 1, end);
    }

    /// Adds `pc` and everything reachable from it without consuming input; returns true
    /// when a match state is reachable.
    fn add(&self, set: &mut ThreadSet, pc: usize, prev: Option<char>, next: Option<char>) -> bool {
        let mut stack = std::mem::take(&mut set.stack);
        stack.clear();
        stack.push(pc);
        let mut matched = false;
        while let Some(pc) = stack.pop() {
            if !set.insert(pc) {
                continue;
            }
            match &self.insts[pc] {
                Inst::Match => {
                    matched = true;
                    break;
                }
                Inst::Jump(to) => stack.push(*to),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Look(look) => {
                    let holds = match look {
                        Look::Begin => prev.is_none(),
                        Look::End => next.is_none(),
                        Look::WordBoundary => is_word(prev) != is_word(next),
                        Look::NotWordBoundary => is_word(prev) == is_word(next),
                    };
                    if holds {
                        stack.push(pc + 1);
                    }
                }
                Inst::Class(_) | Inst::AnyNotNewline => set.consumers.push(pc),
            }
        }
        set.stack = stack;
        matched
    }

    /// Whether the expression matches anywhere in `text` (Go's `MatchString`).
    fn is_match(&self, text: &str) -> bool {
        let mut current = ThreadSet::new(self.insts.len());
        let mut following = ThreadSet::new(self.insts.len());
        let mut prev = None;
        let mut chars = text.chars().peekable();
        loop {
            let next = chars.peek().copied();
            if self.add(&mut current, 0, prev, next) {
                return true;
            }
            let Some(c) = chars.next() else {
                return false;
            };
            let after = chars.peek().copied();
            following.clear();
            for &pc in &current.consumers {
                let accepts = match &self.insts[pc] {
                    Inst::Class(ranges) => {
                        let c = u32::from(c);
                        ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
                    }
                    Inst::AnyNotNewline => c != '\n',
                    _ => false,
                };
                if accepts && self.add(&mut following, pc + 1, Some(c), after) {
                    return true;
                }
            }
            std::mem::swap(&mut current, &mut following);
            prev = Some(c);
        }
    }
}

/// The NFA states alive at one position.
struct ThreadSet {
    seen: Vec<u32>,
    generation: u32,
    consumers: Vec<usize>,
    /// Scratch space for [`Program::add`].
    stack: Vec<usize>,
}

impl ThreadSet {
    fn new(len: usize) -> ThreadSet {
        ThreadSet {
            seen: vec![0; len],
            generation: 1,
            consumers: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.consumers.clear();
    }

    fn insert(&mut self, pc: usize) -> bool {
        if self.seen[pc] == self.generation {
            return false;
        }
        self.seen[pc] = self.generation;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(pattern: &str) -> Result<Pattern, PatternError> {
        Pattern::validate(pattern)?;
        Pattern::compile(pattern)
    }

    fn matches(pattern: &str, path: &str) -> bool {
        compile(pattern).expect(pattern).matches(path)
    }

    #[test]
    fn translation_matches_patternmatcher_compile_tests() {
        // patternmatcher_test.go TestCompile (Unix separator).
        let cases = [
            ("*", Kind::Regex, "^[^/]*$"),
            ("file*", Kind::Regex, "^file[^/]*$"),
            ("*file", Kind::Regex, "^[^/]*file$"),
            ("a*/b", Kind::Regex, "^a[^/]*/b$"),
            ("**", Kind::Suffix, ""),
            ("**/**", Kind::Regex, "^(.*/)?.*$"),
            ("dir/**", Kind::Prefix, ""),
            ("**/dir", Kind::Suffix, ""),
            ("**/dir2/*", Kind::Regex, "^(.*/)?dir2/[^/]*$"),
            ("**/dir2/**", Kind::Regex, "^(.*/)?dir2/.*$"),
            ("**file", Kind::Suffix, ""),
            ("**/file*txt", Kind::Regex, "^(.*/)?file[^/]*txt$"),
            ("**/**/*.txt", Kind::Regex, "^(.*/)?(.*/)?[^/]*\\.txt$"),
            ("a[b-d]e", Kind::Regex, "^a[b-d]e$"),
            (".*", Kind::Regex, "^\\.[^/]*$"),
            ("abc.def", Kind::Exact, ""),
            ("abc?def", Kind::Regex, "^abc[^/]def$"),
            ("**/foo/bar", Kind::Suffix, ""),
            ("a(b)c/def", Kind::Exact, ""),
            ("a.|)$(}+{bc", Kind::Exact, ""),
        ];
        for (pattern, kind, regex) in cases {
            let (got_kind, got_regex) = translate(pattern);
            assert_eq!(got_kind, kind, "{pattern}");
            if kind == Kind::Regex {
                assert_eq!(got_regex, regex, "{pattern}");
            }
        }
    }

    #[test]
    fn go_match_tests_as_patternmatcher_runs_them() {
        // patternmatcher_test.go matchTests: (pattern, text, match, error).
        let cases: &[(&str, &str, bool, bool)] = &[
            ("abc", "abc", true, false),
            ("*", "abc", true, false),
            ("*c", "abc", true, false),
            ("a*", "a", true, false),
            ("a*", "abc", true, false),
            ("a*/b", "abc/b", true, false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
            ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
            ("ab[c]", "abc", true, false),
            ("ab[b-d]", "abc", true, false),
            ("ab[e-g]", "abc", false, false),
            ("ab[^c]", "abc", false, false),
            ("ab[^b-d]", "abc", false, false),
            ("ab[^e-g]", "abc", true, false),
            ("a\\*b", "a*b", true, false),
            ("a\\*b", "ab", false, false),
            ("a?b", "a☺b", true, false),
            ("a[^a]b", "a☺b", true, false),
            ("a???b", "a☺b", false, false),
            ("a[^a][^a][^a]b", "a☺b", false, false),
            ("[a-ζ]*", "α", true, false),
            ("*[a-ζ]", "A", false, false),
            ("a?b", "a/b", false, false),
            ("a*b", "a/b", false, false),
            ("[\\]a]", "]", true, false),
            ("[\\-]", "-", true, false),
            ("[x\\-]", "x", true, false),
            ("[x\\-]", "-", true, false),
            ("[x\\-]", "z", false, false),
            ("[\\-x]", "x", true, false),
            ("[\\-x]", "-", true, false),
            ("[\\-x]", "a", false, false),
            ("[]a]", "]", false, true),
            ("[-]", "-", false, true),
            ("[x-]", "x", false, true),
            ("[-x]", "x", false, true),
            ("\\", "a", false, true),
            ("[a-b-c]", "a", false, true),
            ("[", "a", false, true),
            ("[^", "a", false, true),
            ("[^bc", "a", false, true),
            ("a[", "a", false, true),
            ("*x", "xxx", true, false),
        ];
        for &(pattern, text, want, error) in cases {
            match compile(pattern) {
                Err(_) => assert!(error, "{pattern:?} rejected"),
                Ok(compiled) => {
                    assert!(!error, "{pattern:?} accepted");
                    assert_eq!(compiled.matches(text), want, "{pattern:?} vs {text:?}");
                }
            }
        }
    }

    #[test]
    fn go_regexp_quirks_show_through() {
        // `\d` is passed to Go's regexp as a digit class.
        assert!(matches("\\d", "5"));
        assert!(!matches("\\d", "d"));
        // `[*]` becomes `[[^/]*]`: a class of `[`, `^`, `/`, repeated, then a literal `]`.
        assert!(matches("[*]", "]"));
        assert!(matches("[*]", "[^]"));
        assert!(!matches("[*]", "*"));
        // POSIX classes work inside classes.
        assert!(matches("[[:digit:]]x", "7x"));
        // `^` outside a class is a start anchor in the middle of the expression.
        assert!(matches("a^b", "a^b")); // exact match, no regexp
        assert!(!matches("a^b*", "a^b"));
        // `\Q` quotes the rest, including the closing `$`.
        assert!(matches("\\Qa*", "a[^/]*$x"));
        // A trailing backslash after a failed chunk passes validation and escapes `$`.
        assert!(matches("a*b\\", "axb$"));
        // A leading BOM is dropped by Go's text/scanner for the regexp only.
        assert!(matches("\u{feff}a*", "abc"));
        assert!(matches("\u{feff}abc", "\u{feff}abc"));
        // A leading-`**` suffix pattern compares bytes.
        assert!(matches("**file", "dir/myfile"));
        assert!(!matches("**/file", "dir/myfile"));
    }

    #[test]
    fn patterns_go_regexp_rejects_are_errors() {
        // `[Local-Only]` passes filepath.Match but `l-O` is a reversed range for Go's regexp
        // (patternmatcher_test.go regression test for moby/moby#52203).
        assert_eq!(compile("[Local-Only]").unwrap_err(), PatternError::Syntax);
        assert_eq!(compile("\\y").unwrap_err(), PatternError::Syntax);
        assert_eq!(compile("[[:nope:]]").unwrap_err(), PatternError::Syntax);
        assert_eq!(compile("a*[").unwrap_err(), PatternError::Syntax);
        assert_eq!(compile("\\pL").unwrap_err(), PatternError::UnicodeClass);
        assert!(compile("\\x41").unwrap().matches("A"));
        assert!(compile("\\101").unwrap().matches("A"));
        assert!(compile("\\_").unwrap().matches("_"));
    }

    #[test]
    fn unescaped_bar_and_braces_reach_the_regexp() {
        // `|` splits the whole expression: `^a*|b$` is "starts with a" or "ends with b".
        assert!(matches("a*|b", "ax/y"));
        assert!(matches("a*|b", "x/b"));
        assert!(!matches("a*|b", "x/c"));
        // Without a wildcard the pattern is an exact string and `|` is literal.
        assert!(matches("a|b", "a|b"));
        assert!(!matches("a|b", "a"));
        // `{n,m}` counts; anything else with braces is literal.
        assert!(matches("a{2}*", "aa"));
        assert!(!matches("a{2}*", "a"));
        assert!(matches("*.{js,ts}", "x.{js,ts}"));
        assert!(!matches("*.{js,ts}", "x.js"));
        assert!(matches("x*a{1,}", "xaaa"));
        assert_eq!(compile("*{2}").unwrap_err(), PatternError::Syntax);
        assert_eq!(compile("a{1001}*").unwrap_err(), PatternError::Syntax);
        assert_eq!(compile("*|{2}").unwrap_err(), PatternError::Syntax);
    }

    #[test]
    fn word_boundaries_and_newlines() {
        assert!(matches("a\\b*", "a"));
        assert!(!matches("a\\bb", "ab"));
        // `.` from `**` does not cross a newline; `[^/]` does.
        assert!(!matches("**/**", "a\nb"));
        assert!(matches("*", "a\nb"));
    }
}
