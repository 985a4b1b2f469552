//! Go's `regexp` package for Rust: an expression is read exactly as Go's `regexp/syntax`
//! reads it for `regexp.Compile` (Perl flags: RE2 syntax, `\d \s \w \b` and POSIX classes
//! ASCII-only, `^`/`$` at the text's ends unless `(?m)`), errors carry Go's code and quoted
//! text, and matching is leftmost-first as in Go. The expression tree is handed to
//! regex-automata, which matches in time linear in the text, as Go's engine does.
//!
//! devbuild needs Go's semantics twice: moby/patternmatcher turns each `.dockerignore`
//! pattern into a Go regexp, and BuildKit's shell lexer turns the pattern of `${v#p}`,
//! `${v%p}` and `${v/p/r}` into one. Reading Go's syntax with Rust's `regex` would differ:
//! Rust nests classes (`[[^/]*]`), has Unicode `\d` and `\s`, and other flags.
//!
//! ```
//! use go_regexp::Regex;
//!
//! let re = Regex::new(r"^a[^/]*\.txt$")?;
//! assert!(re.is_match("abc.txt"));
//! assert!(!re.is_match("a/b.txt"));
//! // Go reads `[[^/]*]` as the class `[[^/]` then `*` then a literal `]`.
//! assert!(Regex::new(r"^[[^/]*]$")?.is_match("[[]"));
//! // `\s` is Go's ASCII class: no vertical tab.
//! assert!(!Regex::new(r"\s")?.is_match("\u{b}"));
//! assert_eq!(Regex::new("x.*?y")?.find("axbyy"), Some(1..4));
//! assert_eq!(Regex::new("a(x*)b")?.replace_all("-ab-axxb-", "${1}W"), "-W-xxW-");
//! assert_eq!(
//!     Regex::new("a**").unwrap_err().to_string(),
//!     "error parsing regexp: invalid nested repetition operator: `**`"
//! );
//! # Ok::<(), go_regexp::Error>(())
//! ```
#![deny(missing_docs)]

use std::fmt;
use std::ops::Range;

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::Input;

mod parse;
pub mod unicode;
mod unicode_names;

/// A compiled Go regular expression.
#[derive(Debug, Clone)]
pub struct Regex {
    expr: String,
    meta: meta::Regex,
    /// The name of each capture group (index 0 is the whole match), for templates.
    names: Vec<Option<String>>,
}

/// Why an expression was rejected: Go's `*syntax.Error`, displayed as Go displays it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing regexp: {code}: `{expr}`")]
pub struct Error {
    /// What is wrong.
    pub code: ErrorCode,
    /// The part of the expression Go quotes.
    pub expr: String,
}

/// Go's `syntax.ErrorCode`s that the Perl-flags parser can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid character class`
    InvalidCharClass,
    /// `invalid character class range`: also an unknown `[:name:]` or `\p{Name}`.
    InvalidCharRange,
    /// `invalid escape sequence`
    InvalidEscape,
    /// `invalid named capture`
    InvalidNamedCapture,
    /// `invalid or unsupported Perl syntax`
    InvalidPerlOp,
    /// `invalid nested repetition operator`
    InvalidRepeatOp,
    /// `invalid repeat count`
    InvalidRepeatSize,
    /// `missing closing ]`
    MissingBracket,
    /// `missing closing )`
    MissingParen,
    /// `missing argument to repetition operator`
    MissingRepeatArgument,
    /// `trailing backslash at end of expression`
    TrailingBackslash,
    /// `unexpected )`
    UnexpectedParen,
    /// `expression nests too deeply`
    NestingDepth,
    /// `expression too large`
    Large,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorCode::InvalidCharClass => "invalid character class",
            ErrorCode::InvalidCharRange => "invalid character class range",
            ErrorCode::InvalidEscape => "invalid escape sequence",
            ErrorCode::InvalidNamedCapture => "invalid named capture",
            ErrorCode::InvalidPerlOp => "invalid or unsupported Perl syntax",
            ErrorCode::InvalidRepeatOp => "invalid nested repetition operator",
            ErrorCode::InvalidRepeatSize => "invalid repeat count",
            ErrorCode::MissingBracket => "missing closing ]",
            ErrorCode::MissingParen => "missing closing )",
            ErrorCode::MissingRepeatArgument => "missing argument to repetition operator",
            ErrorCode::TrailingBackslash => "trailing backslash at end of expression",
            ErrorCode::UnexpectedParen => "unexpected )",
            ErrorCode::NestingDepth => "expression nests too deeply",
            ErrorCode::Large => "expression too large",
        })
    }
}

impl Regex {
    /// Go's `regexp.Compile(expr)`.
    pub fn new(expr: &str) -> Result<Regex, Error> {
        let parsed = parse::parse(expr)?;
        let meta = meta::Builder::new()
            .build_from_hir(&parsed.hir)
            .map_err(|_| Error {
                code: ErrorCode::Large,
                expr: expr.to_owned(),
            })?;
        Ok(Regex {
            expr: expr.to_owned(),
            meta,
            names: parsed.names,
        })
    }

    /// The expression this was compiled from.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// Go's `MatchString`: whether the expression matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.meta.is_match(text)
    }

    /// Go's `FindStringIndex`: the leftmost-first match, as byte offsets.
    pub fn find(&self, text: &str) -> Option<Range<usize>> {
        self.meta.find(text).map(|m| m.range())
    }

    /// Go's `ReplaceAllString`: every non-overlapping match replaced by `template`, in which
    /// `$1`, `${1}`, `$name` and `${name}` stand for groups and `$$` for a dollar.
    pub fn replace_all(&self, text: &str, template: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut captures = self.meta.create_captures();
        let mut last_end = 0;
        let mut search = 0;
        while search <= text.len() {
            self.meta
                .search_captures(&Input::new(text).range(search..), &mut captures);
            let Some(found) = captures.get_match() else {
                break;
            };
            let (start, end) = (found.start(), found.end());
            out.push_str(&text[last_end..start]);
            // No replacement for an empty match right after the previous match.
            if end > last_end || start == 0 {
                self.expand(&mut out, template, text, &captures);
            }
            last_end = end;
            // Advance past this match, by at least one character.
            let width = text[search..].chars().next().map_or(1, char::len_utf8);
            search = if search + width > end {
                search + width
            } else {
                end
            };
        }
        out.push_str(&text[last_end..]);
        out
    }

    /// Go's `Regexp.expand`: appends `template` with its `$` references filled in.
    fn expand(&self, out: &mut String, template: &str, text: &str, captures: &Captures) {
        let group = |index: usize| captures.get_group(index).map(|span| &text[span.range()]);
        let mut rest = template;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                out.push('$');
                rest = after;
                continue;
            }
            let Some((name, after)) = template_name(rest) else {
                // Malformed: the `$` is kept as text.
                out.push('$');
                continue;
            };
            rest = after;
            let value = match group_number(name) {
                Some(index) => group(index),
                None => self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, known)| known.as_deref() == Some(name))
                    .find_map(|(index, _)| group(index)),
            };
            out.push_str(value.unwrap_or_default());
        }
        out.push_str(rest);
    }
}

impl fmt::Display for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Go's `extract`: the name after a `$` (`name` or `{name}`) and the text after it.
fn template_name(text: &str) -> Option<(&str, &str)> {
    let (braced, body) = match text.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let len: usize = body
        .chars()
        .take_while(|&c| is_name_char(c))
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let (name, after) = body.split_at(len);
    if braced {
        return after.strip_prefix('}').map(|after| (name, after));
    }
    Some((name, after))
}

/// A group number as Go reads one in a template: decimal, no leading zero, below 10⁸.
fn group_number(name: &str) -> Option<usize> {
    let plain =
        name.bytes().all(|b| b.is_ascii_digit()) && !(name.len() > 1 && name.starts_with('0'));
    name.parse::<usize>()
        .ok()
        .filter(|&n| plain && n < 100_000_000)
}

/// Go's `unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_'`.
fn is_name_char(c: char) -> bool {
    unicode::is_letter(c) || unicode::is_digit(c) || c == '_'
}
