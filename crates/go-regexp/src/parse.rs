//! Go's `regexp/syntax` parser with the flags `regexp.Compile` uses (`syntax.Perl`): the
//! same grammar, the same limits and the same error (code and quoted text) at the same
//! place, producing regex-syntax's [`Hir`] for regex-automata to compile.
//!
//! Go's parser is a shift-reduce loop over a stack; this one descends recursively, which
//! visits the text in the same order, so the first error found is Go's first error.

use regex_syntax::hir::{Capture, Class, ClassUnicode, ClassUnicodeRange, Hir, Look, Repetition};

use crate::unicode_names::{CATEGORIES, CATEGORY_ALIASES, SCRIPTS};
use crate::{Error, ErrorCode};

/// Go's `maxHeight`: how deeply groups may nest.
const MAX_DEPTH: usize = 1000;
/// Go's bound on a counted repetition, and on nested counts multiplied together.
const MAX_REPEAT: u32 = 1000;

/// The flags a group can change (`(?imsU)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flags {
    /// `i`: case-insensitive (Unicode simple folding).
    fold: bool,
    /// The absence of `m`: `^` and `$` match at the text's ends only.
    one_line: bool,
    /// `s`: `.` matches `\n`.
    dot_nl: bool,
    /// `U`: repetitions are lazy unless followed by `?`.
    non_greedy: bool,
}

/// A parsed expression: the tree, and the name of each capture group (index 0 is the
/// whole match). Names stay out of the tree because Go allows a name twice.
pub(crate) struct Parsed {
    pub(crate) hir: Hir,
    pub(crate) names: Vec<Option<String>>,
}

/// Parses `expr` as Go's `syntax.Parse(expr, syntax.Perl)`.
pub(crate) fn parse(expr: &str) -> Result<Parsed, Error> {
    let mut parser = Parser {
        whole: expr,
        pos: 0,
        flags: Flags {
            fold: false,
            one_line: true,
            dot_nl: false,
            non_greedy: false,
        },
        depth: 0,
        names: vec![None],
    };
    let hir = parser.alternation()?;
    if parser.pos < expr.len() {
        // Only a `)` stops an alternation early.
        return Err(parser.error(ErrorCode::UnexpectedParen, expr));
    }
    Ok(Parsed {
        hir,
        names: parser.names,
    })
}

struct Parser<'a> {
    whole: &'a str,
    pos: usize,
    flags: Flags,
    depth: usize,
    names: Vec<Option<String>>,
}

/// What `(?` introduced.
enum PerlGroup {
    /// `(?flags)`: only changes the flags.
    Flags(Flags),
    /// `(?flags:…)`: a group without a capture, with its flags.
    NonCapturing(Flags),
    /// `(?P<name>…)` or `(?<name>…)`.
    Named(String),
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.whole[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, code: ErrorCode, expr: &str) -> Error {
        Error {
            code,
            expr: expr.to_owned(),
        }
    }

    fn alternation(&mut self) -> Result<Hir, Error> {
        let mut branches = vec![self.concatenation()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.concatenation()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or_else(Hir::empty)
        } else {
            Hir::alternation(branches)
        })
    }

    fn concatenation(&mut self) -> Result<Hir, Error> {
        let mut items: Vec<Hir> = Vec::new();
        // Where the previous repetition operator started, when the previous step was one:
        // Perl syntax forbids `a**`.
        let mut last_repeat: Option<usize> = None;
        while let Some(c) = self.peek() {
            let start = self.pos;
            let mut repeat = None;
            match c {
                '|' | ')' => break,
                '(' => self.group(&mut items)?,
                '^' => {
                    self.pos += 1;
                    items.push(Hir::look(if self.flags.one_line {
                        Look::Start
                    } else {
                        Look::StartLF
                    }));
                }
                '$' => {
                    self.pos += 1;
                    items.push(Hir::look(if self.flags.one_line {
                        Look::End
                    } else {
                        Look::EndLF
                    }));
                }
                '.' => {
                    self.pos += 1;
                    let class = if self.flags.dot_nl {
                        ClassUnicode::new([ClassUnicodeRange::new('\0', char::MAX)])
                    } else {
                        ClassUnicode::new([
                            ClassUnicodeRange::new('\0', '\t'),
                            ClassUnicodeRange::new('\u{b}', char::MAX),
                        ])
                    };
                    items.push(Hir::class(Class::Unicode(class)));
                }
                '[' => {
                    let class = self.class()?;
                    items.push(Hir::class(Class::Unicode(class)));
                }
                '*' | '+' | '?' => {
                    self.pos += 1;
                    let (min, max) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        _ => (0, Some(1)),
                    };
                    self.repeat(&mut items, start, last_repeat, min, max, false)?;
                    repeat = Some(start);
                }
                '{' => match counted_repeat(self.rest()) {
                    None => {
                        // Not a repetition: a literal `{`.
                        self.pos += 1;
                        items.push(self.literal('{'));
                    }
                    Some((min, max, len)) => {
                        self.pos += len;
                        if min > MAX_REPEAT || max.is_some_and(|max| max > MAX_REPEAT || min > max)
                        {
                            return Err(self.error(
                                ErrorCode::InvalidRepeatSize,
                                &self.whole[start..self.pos],
                            ));
                        }
                        self.repeat(&mut items, start, last_repeat, min, max, true)?;
                        repeat = Some(start);
                    }
                },
                '\\' => self.backslash(&mut items)?,
                _ => {
                    self.pos += c.len_utf8();
                    items.push(self.literal(c));
                }
            }
            last_repeat = repeat;
        }
        Ok(Hir::concat(items))
    }

    /// Applies a repetition operator (already read, up to an optional `?`) to the last item.
    fn repeat(
        &mut self,
        items: &mut Vec<Hir>,
        start: usize,
        last_repeat: Option<usize>,
        min: u32,
        max: Option<u32>,
        counted: bool,
    ) -> Result<(), Error> {
        let mut greedy = !self.flags.non_greedy;
        if self.peek() == Some('?') {
            self.pos += 1;
            greedy = !greedy;
        }
        if let Some(last) = last_repeat {
            return Err(self.error(ErrorCode::InvalidRepeatOp, &self.whole[last..self.pos]));
        }
        let Some(sub) = items.pop() else {
            return Err(self.error(
                ErrorCode::MissingRepeatArgument,
                &self.whole[start..self.pos],
            ));
        };
        let hir = Hir::repetition(Repetition {
            min,
            max,
            greedy,
            sub: Box::new(sub),
        });
        if counted
            && (min >= 2 || max.is_some_and(|max| max >= 2))
            && !repeat_is_valid(&hir, MAX_REPEAT)
        {
            return Err(self.error(ErrorCode::InvalidRepeatSize, &self.whole[start..self.pos]));
        }
        items.push(hir);
        Ok(())
    }

    /// `(`: a capture group, a `(?…)` group, or a flag change.
    fn group(&mut self, items: &mut Vec<Hir>) -> Result<(), Error> {
        let saved = self.flags;
        let mut capture = None;
        if self.rest().starts_with("(?") {
            match self.perl_group()? {
                PerlGroup::Flags(flags) => {
                    self.flags = flags;
                    return Ok(());
                }
                PerlGroup::NonCapturing(flags) => self.flags = flags,
                PerlGroup::Named(name) => capture = Some(Some(name)),
            }
        } else {
            self.pos += 1;
            capture = Some(None);
        }
        let index = capture.map(|name| {
            self.names.push(name);
            self.names.len() as u32 - 1
        });
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(ErrorCode::NestingDepth, self.whole));
        }
        let inner = self.alternation()?;
        self.depth -= 1;
        if self.peek() != Some(')') {
            return Err(self.error(ErrorCode::MissingParen, self.whole));
        }
        self.pos += 1;
        self.flags = saved;
        items.push(match index {
            Some(index) => Hir::capture(Capture {
                index,
                name: None,
                sub: Box::new(inner),
            }),
            None => inner,
        });
        Ok(())
    }

    /// Go's `parsePerlFlags`, at `(?`.
    fn perl_group(&mut self) -> Result<PerlGroup, Error> {
        let text = self.rest();
        let named = if text.len() > 4 && text[2..].starts_with("P<") {
            Some(4)
        } else if text.len() > 3 && text[2..].starts_with('<') {
            Some(3)
        } else {
            None
        };
        if let Some(name_start) = named {
            let Some(end) = text.find('>') else {
                return Err(self.error(ErrorCode::InvalidNamedCapture, text));
            };
            let name = &text[name_start..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
            if !valid {
                return Err(self.error(ErrorCode::InvalidNamedCapture, &text[..=end]));
            }
            self.pos += end + 1;
            return Ok(PerlGroup::Named(name.to_owned()));
        }
        let mut flags = self.flags;
        let mut negated = false;
        let mut saw_flag = false;
        let mut chars = text[2..].char_indices();
        let mut consumed = 2;
        for (at, c) in chars.by_ref() {
            consumed = 2 + at + c.len_utf8();
            let on = !negated;
            match c {
                'i' => flags.fold = on,
                'm' => flags.one_line = !on,
                's' => flags.dot_nl = on,
                'U' => flags.non_greedy = on,
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' if !negated || saw_flag => {
                    self.pos += consumed;
                    return Ok(if c == ':' {
                        PerlGroup::NonCapturing(flags)
                    } else {
                        PerlGroup::Flags(flags)
                    });
                }
                _ => break,
            }
            saw_flag = true;
        }
        Err(self.error(ErrorCode::InvalidPerlOp, &text[..consumed]))
    }

    /// A backslash outside a class: an assertion, `\Q…\E`, a class, or one character.
    fn backslash(&mut self, items: &mut Vec<Hir>) -> Result<(), Error> {
        let rest = self.rest();
        let look = match rest.as_bytes().get(1) {
            Some(b'A') => Some(Look::Start),
            Some(b'z') => Some(Look::End),
            Some(b'b') => Some(Look::WordAscii),
            Some(b'B') => Some(Look::WordAsciiNegate),
            Some(b'C') => return Err(self.error(ErrorCode::InvalidEscape, &rest[..2])),
            Some(b'Q') => {
                let quoted = &rest[2..];
                let (literal, consumed) = match quoted.find("\\E") {
                    Some(end) => (&quoted[..end], 2 + end + 2),
                    None => (quoted, rest.len()),
                };
                items.extend(literal.chars().map(|c| self.literal(c)));
                self.pos += consumed;
                return Ok(());
            }
            _ => None,
        };
        if let Some(look) = look {
            self.pos += 2;
            items.push(Hir::look(look));
            return Ok(());
        }
        if let Some((class, len)) = self.unicode_class(rest)? {
            self.pos += len;
            items.push(Hir::class(Class::Unicode(class)));
            return Ok(());
        }
        if let Some(class) = self.perl_class(rest) {
            self.pos += 2;
            items.push(Hir::class(Class::Unicode(class)));
            return Ok(());
        }
        let (c, len) = parse_escape(rest)?;
        self.pos += len;
        items.push(self.literal_code(c));
        Ok(())
    }

    /// A `[…]` class, as Go's `parseClass` reads it.
    fn class(&mut self) -> Result<ClassUnicode, Error> {
        let whole_class = self.rest();
        self.pos += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut class = ClassUnicode::empty();
        let mut first = true;
        loop {
            let rest = self.rest();
            if rest.starts_with(']') && !first {
                self.pos += 1;
                break;
            }
            first = false;
            if rest.len() > 2 && rest.starts_with("[:") {
                if let Some(end) = rest[2..].find(":]") {
                    let name = &rest[..end + 4];
                    let Some((group, negated)) = posix_class(name) else {
                        return Err(self.error(ErrorCode::InvalidCharRange, name));
                    };
                    class.union(&self.fold_then_negate(group, negated));
                    self.pos += name.len();
                    continue;
                }
            }
            if let Some((group, len)) = self.unicode_class(rest)? {
                class.union(&group);
                self.pos += len;
                continue;
            }
            if let Some(group) = self.perl_class(rest) {
                class.union(&group);
                self.pos += 2;
                continue;
            }
            let (lo, len) = class_char(rest, whole_class)?;
            self.pos += len;
            let mut hi = lo;
            let after = self.rest().as_bytes();
            if after.len() >= 2 && after[0] == b'-' && after[1] != b']' {
                self.pos += 1;
                let (h, len) = class_char(self.rest(), whole_class)?;
                self.pos += len;
                if h < lo {
                    let range = &rest[..rest.len() - self.rest().len()];
                    return Err(self.error(ErrorCode::InvalidCharRange, range));
                }
                hi = h;
            }
            class.union(&self.fold(code_range(lo, hi)));
        }
        if negated {
            class.negate();
        }
        Ok(class)
    }

    /// `\d \D \s \S \w \W` at the start of `text` (ASCII only, as in Go).
    fn perl_class(&self, text: &str) -> Option<ClassUnicode> {
        let bytes = text.as_bytes();
        if bytes.len() < 2 || bytes[0] != b'\\' {
            return None;
        }
        let spec: &[(char, char)] = match bytes[1].to_ascii_lowercase() {
            b'd' => &[('0', '9')],
            b's' => &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')],
            b'w' => &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')],
            _ => return None,
        };
        Some(self.fold_then_negate(ranges(spec), bytes[1].is_ascii_uppercase()))
    }

    /// Go's `parseUnicodeClass`: `\pL`, `\p{Greek}`, `\P{^Lu}` at the start of `text`.
    fn unicode_class(&self, text: &str) -> Result<Option<(ClassUnicode, usize)>, Error> {
        let negated = match text.as_bytes() {
            [b'\\', b'p', ..] => false,
            [b'\\', b'P', ..] => true,
            _ => return Ok(None),
        };
        let after = &text[2..];
        let (sequence, name) = match after.chars().next() {
            Some('{') => match text.find('}') {
                Some(end) => (&text[..=end], &text[3..end]),
                None => return Err(self.error(ErrorCode::InvalidCharRange, text)),
            },
            Some(c) => (&text[..2 + c.len_utf8()], &after[..c.len_utf8()]),
            None => (text, ""),
        };
        let (negated, name) = match name.strip_prefix('^') {
            Some(name) => (!negated, name),
            None => (negated, name),
        };
        let Some((class, inverted)) = unicode_table(name) else {
            return Err(self.error(ErrorCode::InvalidCharRange, sequence));
        };
        let class = self.fold_then_negate(class, negated != inverted);
        Ok(Some((class, sequence.len())))
    }

    /// A group's characters as Go adds them to a class: folded first, then negated.
    fn fold_then_negate(&self, class: ClassUnicode, negated: bool) -> ClassUnicode {
        let mut class = self.fold(class);
        if negated {
            class.negate();
        }
        class
    }

    fn fold(&self, mut class: ClassUnicode) -> ClassUnicode {
        if self.flags.fold {
            class.case_fold_simple();
        }
        class
    }

    fn literal(&self, c: char) -> Hir {
        if self.flags.fold {
            let class = self.fold(ClassUnicode::new([ClassUnicodeRange::new(c, c)]));
            if class.ranges().len() > 1 || class.ranges()[0].start() != class.ranges()[0].end() {
                return Hir::class(Class::Unicode(class));
            }
        }
        let mut buffer = [0; 4];
        Hir::literal(c.encode_utf8(&mut buffer).as_bytes())
    }

    /// A literal given as a code point, which may be a surrogate (never in a Rust string,
    /// so it matches nothing, as it matches nothing in Go's valid UTF-8).
    fn literal_code(&self, code: u32) -> Hir {
        match char::from_u32(code) {
            Some(c) => self.literal(c),
            None => Hir::class(Class::Unicode(ClassUnicode::empty())),
        }
    }
}

/// Go's `repeatIsValid`: nested counts multiplied together stay within `n`.
fn repeat_is_valid(hir: &Hir, mut n: u32) -> bool {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Repetition(repetition) => {
            let m = repetition.max.unwrap_or(repetition.min);
            if repetition.max == Some(0) {
                return true;
            }
            if m > n {
                return false;
            }
            // `m` is 0 for `*` and `{0,}`, which multiply nothing.
            n = n.checked_div(m).unwrap_or(n);
            repeat_is_valid(&repetition.sub, n)
        }
        HirKind::Capture(capture) => repeat_is_valid(&capture.sub, n),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().all(|sub| repeat_is_valid(sub, n))
        }
        _ => true,
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

/// One class member: an escape or a plain character. `whole_class` (from the `[`) is what
/// Go quotes when the class never ends.
fn class_char(text: &str, whole_class: &str) -> Result<(u32, usize), Error> {
    if text.starts_with('\\') {
        return parse_escape(text);
    }
    match text.chars().next() {
        Some(c) => Ok((u32::from(c), c.len_utf8())),
        None => Err(Error {
            code: ErrorCode::MissingBracket,
            expr: whole_class.to_owned(),
        }),
    }
}

/// Go's `parseEscape`: `text` starts with a backslash; returns the code point and the
/// number of bytes read.
fn parse_escape(text: &str) -> Result<(u32, usize), Error> {
    let mut chars = text[1..].chars();
    let Some(c) = chars.next() else {
        return Err(Error {
            code: ErrorCode::TrailingBackslash,
            expr: String::new(),
        });
    };
    let read = |chars: &std::str::Chars<'_>| text.len() - chars.as_str().len();
    let invalid = |chars: &std::str::Chars<'_>| Error {
        code: ErrorCode::InvalidEscape,
        expr: text[..read(chars)].to_owned(),
    };
    let octal = |c: Option<char>| c.filter(|c| ('0'..='7').contains(c));
    match c {
        // A single non-zero digit would be a backreference, which Go does not support.
        '1'..='7' if octal(chars.clone().next()).is_none() => Err(invalid(&chars)),
        '0'..='7' => {
            let mut value = c as u32 - '0' as u32;
            for _ in 1..3 {
                let Some(d) = octal(chars.clone().next()) else {
                    break;
                };
                chars.next();
                value = value * 8 + (d as u32 - '0' as u32);
            }
            Ok((value, read(&chars)))
        }
        'x' => {
            let Some(first) = chars.next() else {
                return Err(invalid(&chars));
            };
            if first == '{' {
                let mut value: u32 = 0;
                let mut digits = 0;
                loop {
                    let Some(d) = chars.next() else {
                        return Err(invalid(&chars));
                    };
                    if d == '}' {
                        break;
                    }
                    let Some(d) = d.to_digit(16) else {
                        return Err(invalid(&chars));
                    };
                    value = value * 16 + d;
                    if value > u32::from(char::MAX) {
                        return Err(invalid(&chars));
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return Err(invalid(&chars));
                }
                return Ok((value, read(&chars)));
            }
            let second = chars.next();
            match (first.to_digit(16), second.and_then(|c| c.to_digit(16))) {
                (Some(x), Some(y)) => Ok((x * 16 + y, read(&chars))),
                _ => Err(invalid(&chars)),
            }
        }
        'a' => Ok((7, 2)),
        'f' => Ok((12, 2)),
        'n' => Ok((10, 2)),
        'r' => Ok((13, 2)),
        't' => Ok((9, 2)),
        'v' => Ok((11, 2)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), 2)),
        _ => Err(invalid(&chars)),
    }
}

fn ranges(spec: &[(char, char)]) -> ClassUnicode {
    ClassUnicode::new(spec.iter().map(|&(lo, hi)| ClassUnicodeRange::new(lo, hi)))
}

/// The characters from `lo` to `hi` (code points; surrogates are no characters).
fn code_range(lo: u32, hi: u32) -> ClassUnicode {
    let lo = char::from_u32(lo).unwrap_or('\u{e000}');
    let hi = char::from_u32(hi).unwrap_or('\u{d7ff}');
    if lo > hi {
        return ClassUnicode::empty();
    }
    ClassUnicode::new([ClassUnicodeRange::new(lo, hi)])
}

/// A POSIX class such as `[:alpha:]` or `[:^space:]`, and whether it is negated; `None`
/// for an unknown name.
fn posix_class(name: &str) -> Option<(ClassUnicode, bool)> {
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
    Some((ranges(spec), negated))
}

/// Go's `canonicalName`: a leading capital, the rest lower case, without `_`, `-`, ` `.
pub(crate) fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().filter(|c| !matches!(c, '_' | '-' | ' ')) {
        if out.is_empty() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Go's `unicodeTable`: the class a `\p` name stands for and whether Go inverts it
/// (`Assigned` is "not `Cn`"), or `None` for a name Go does not know. Which names exist is
/// Go's list; their characters are regex-syntax's tables.
fn unicode_table(name: &str) -> Option<(ClassUnicode, bool)> {
    let name = canonical_name(name);
    let query = match name.as_str() {
        "Any" => {
            let any = ClassUnicode::new([ClassUnicodeRange::new('\0', char::MAX)]);
            return Some((any, false));
        }
        "Assigned" => return unicode_table("Cn").map(|(unassigned, _)| (unassigned, true)),
        "Ascii" => return Some((ranges(&[('\0', '\x7f')]), false)),
        "Lc" => "gc=LC".to_owned(),
        _ => {
            let found = |names: &[&str]| {
                names
                    .iter()
                    .find(|known| canonical_name(known) == name)
                    .map(|known| (*known).to_owned())
            };
            if let Some(category) = found(CATEGORIES) {
                format!("gc={category}")
            } else if let Some(script) = found(SCRIPTS) {
                format!("sc={script}")
            } else {
                let (_, category) = CATEGORY_ALIASES
                    .iter()
                    .find(|(alias, _)| canonical_name(alias) == name)?;
                format!("gc={category}")
            }
        }
    };
    // A name from Go's newer Unicode than regex-syntax's tables matches nothing.
    let class = regex_syntax_class(&format!("\\p{{{query}}}")).unwrap_or_else(ClassUnicode::empty);
    Some((class, false))
}

/// The class regex-syntax makes of `expr` (a single Unicode class).
pub(crate) fn regex_syntax_class(expr: &str) -> Option<ClassUnicode> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(expr)
        .ok()?;
    match hir.into_kind() {
        regex_syntax::hir::HirKind::Class(Class::Unicode(class)) => Some(class),
        _ => None,
    }
}
