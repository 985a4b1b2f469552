//! Shell-style word expansion, exactly as BuildKit's `shell.Lex`
//! (`frontend/dockerfile/shell/lex.go` in moby/buildkit).
//!
//! BuildKit expands `$V`, `${V}` and the modifiers `${V:-d} ${V-d} ${V:+a} ${V+a} ${V:?e}
//! ${V?e} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}`, removes quotes and escapes, and
//! reports errors with its own wording. This module reproduces that behaviour, including the
//! corner cases users run into (unset is not empty, special parameters expand to nothing, a
//! stray `}` is literal, the `failed to process "<word>": ` prefix of every error).
//!
//! The glob patterns of `#`, `%` and `/` become the Go regular expressions BuildKit's
//! `convertShellPatternToRegex` makes of them, matched by [`go_regexp`] (leftmost-first,
//! `.` never matches a newline, linear in the value's length).
//!
//! The same lexer serves the parser, which splits heredoc words with it exactly as BuildKit's
//! parser does (`shell.NewLex('\\')` with `SkipUnsetEnv` over [`EmptyEnv`]).
//!
//! Two deliberate details: word splitting ([`process_words`]) keeps BuildKit's quirk of one
//! word buffer shared by nested `${V:-…}` calls (`foo${A:-x}bar` splits to `["xbar"]`, as in
//! BuildKit); and nesting deeper than 200 `${…}` levels is an error here, where BuildKit
//! would recurse on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use go_regexp::unicode::{is_digit, is_letter};
use go_regexp::Regex;

pub(crate) use image_ref::go_quote;

/// Where expansion looks variables up. `None` means unset, which differs from empty.
pub(crate) trait Env {
    /// The value of `name`, or `None` when it is unset.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// No variables at all (BuildKit's `emptyEnvs`): with `SkipUnsetEnv`, every reference stays
/// as it is written.
pub(crate) struct EmptyEnv;

impl Env for EmptyEnv {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// The switches of BuildKit's `shell.Lex` (all off for `FROM`, `ARG` values and flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LexOptions {
    /// `RawQuotes`: keep the quote characters in the output.
    pub raw_quotes: bool,
    /// `RawEscapes`: keep the escape characters in the output.
    pub raw_escapes: bool,
    /// `SkipUnsetEnv`: leave references to unset variables as they are written.
    pub skip_unset_env: bool,
    /// `SkipProcessQuotes`: treat quotes as ordinary characters.
    pub skip_process_quotes: bool,
}

/// The result of expanding one word (BuildKit's `ProcessWordResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expansion {
    /// The expanded word.
    pub value: String,
    /// Variables that were looked up and set.
    pub matched: BTreeSet<String>,
    /// Variables that were looked up and unset.
    pub unmatched: BTreeSet<String>,
}

/// Why a word could not be expanded; `Display` is BuildKit's full message,
/// `failed to process "<word>": <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ShellError {
    message: String,
    /// Where the reason starts in `message`.
    reason_at: usize,
}

impl ShellError {
    fn new(word: &str, reason: &str) -> ShellError {
        let prefix = format!("failed to process {}: ", go_quote(word));
        ShellError {
            reason_at: prefix.len(),
            message: prefix + reason,
        }
    }

    /// The reason without the `failed to process "<word>": ` prefix
    /// (e.g. `X: is not allowed to be unset`).
    #[allow(dead_code)] // for callers that show the reason on its own
    pub(crate) fn reason(&self) -> &str {
        &self.message[self.reason_at..]
    }
}

/// Nesting depth of `${…}` beyond which the lexer gives up. BuildKit has no limit (Go grows
/// a goroutine's stack as it recurses); here each level is a few frames of a fixed-size
/// thread stack, so a hostile input could overflow it. The deep-nesting test reaches the
/// limit on a 2 MiB test thread, and no real Dockerfile comes near it.
const MAX_NESTING: usize = 200;

/// Expands `word` as `Lex.ProcessWordWithMatches` does, with all options off.
pub(crate) fn process_word(
    word: &str,
    env: &dyn Env,
    escape: char,
) -> Result<Expansion, ShellError> {
    process_word_with(word, env, escape, LexOptions::default())
}

/// [`process_word`] with BuildKit's lexer switches.
pub(crate) fn process_word_with(
    word: &str,
    env: &dyn Env,
    escape: char,
    options: LexOptions,
) -> Result<Expansion, ShellError> {
    let mut lexer = Lexer::new(word, env, escape, options);
    let (value, _) = lexer.process(word)?;
    Ok(Expansion {
        value,
        matched: lexer.matched,
        unmatched: lexer.unmatched,
    })
}

/// Expands `word` and splits it into words as `Lex.ProcessWords` does, with all options off
/// (`EXPOSE` checks its ports this way).
pub(crate) fn process_words(
    word: &str,
    env: &dyn Env,
    escape: char,
) -> Result<Vec<String>, ShellError> {
    process_words_with(word, env, escape, LexOptions::default())
}

/// [`process_words`] with BuildKit's lexer switches (the parser splits heredoc words so).
pub(crate) fn process_words_with(
    word: &str,
    env: &dyn Env,
    escape: char,
    options: LexOptions,
) -> Result<Vec<String>, ShellError> {
    let mut lexer = Lexer::new(word, env, escape, options);
    let (_, words) = lexer.process(word)?;
    Ok(words)
}

/// One error of the lexer, before the `failed to process` prefix is added.
type LexResult<T> = Result<T, String>;

/// The state of one expansion: BuildKit's `shellWord` over a `text/scanner`.
struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    env: &'a dyn Env,
    escape: char,
    options: LexOptions,
    raw_escapes: bool,
    /// The partial word, shared by nested calls exactly as BuildKit shares `wordsBuffer`.
    words_buffer: String,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
    depth: usize,
}

/// The words being split out of one `processStopOn` call (BuildKit's `wordsStruct`).
#[derive(Default)]
struct Words {
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, buffer: &mut String, ch: char) {
        if ch.is_whitespace() && self.in_word {
            if !buffer.is_empty() {
                self.words.push(std::mem::take(buffer));
                self.in_word = false;
            }
        } else if !ch.is_whitespace() {
            self.add_raw_char(buffer, ch);
        }
    }

    fn add_raw_char(&mut self, buffer: &mut String, ch: char) {
        buffer.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, buffer: &mut String, text: &str) {
        for ch in text.chars() {
            self.add_char(buffer, ch);
        }
    }

    fn add_raw_string(&mut self, buffer: &mut String, text: &str) {
        buffer.push_str(text);
        self.in_word = true;
    }

    fn finish(mut self, buffer: &mut String) -> Vec<String> {
        if !buffer.is_empty() {
            self.words.push(std::mem::take(buffer));
        }
        self.words
    }
}

impl<'a> Lexer<'a> {
    fn new(word: &str, env: &'a dyn Env, escape: char, options: LexOptions) -> Lexer<'a> {
        let mut chars: Vec<char> = word.chars().collect();
        // text/scanner drops a byte order mark at the very start of its input.
        if chars.first() == Some(&'\u{feff}') {
            chars.remove(0);
        }
        Lexer {
            chars,
            pos: 0,
            env,
            escape,
            options,
            raw_escapes: options.raw_escapes,
            words_buffer: String::new(),
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn process(&mut self, source: &str) -> Result<(String, Vec<String>), ShellError> {
        self.process_stop_on(None, self.options.raw_escapes)
            .map_err(|reason| ShellError::new(source, &reason))
    }

    /// Processes up to `stop` (consumed) or the end of input (`stop == None`).
    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> LexResult<(String, Vec<String>)> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let result = self.process_stop_on_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn process_stop_on_inner(&mut self, stop: Option<char>) -> LexResult<(String, Vec<String>)> {
        let mut result = String::new();
        self.words_buffer.clear();
        let mut words = Words::default();
        let quotes = !self.options.skip_process_quotes;

        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                let words = words.finish(&mut self.words_buffer);
                return Ok((result, words));
            }
            let special = match ch {
                '$' => Some(self.process_dollar()?),
                '<' => Some(self.process_possible_heredoc()),
                '\'' if quotes => Some(self.process_single_quote()?),
                '"' if quotes => Some(self.process_double_quote()?),
                _ => None,
            };
            if let Some(text) = special {
                result.push_str(&text);
                if ch == '$' {
                    words.add_string(&mut self.words_buffer, &text);
                } else {
                    words.add_raw_string(&mut self.words_buffer, &text);
                }
                continue;
            }
            self.next();
            if ch == self.escape {
                if self.raw_escapes {
                    words.add_raw_char(&mut self.words_buffer, ch);
                    result.push(ch);
                }
                // The escape character escapes anything, and vanishes at the end of input.
                let Some(escaped) = self.next() else {
                    break;
                };
                words.add_raw_char(&mut self.words_buffer, escaped);
                result.push(escaped);
            } else {
                words.add_char(&mut self.words_buffer, ch);
                result.push(ch);
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        let words = words.finish(&mut self.words_buffer);
        Ok((result, words))
    }

    fn process_single_quote(&mut self) -> LexResult<String> {
        let mut result = String::new();
        let open = self.next();
        if self.options.raw_quotes {
            result.extend(open);
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
                    if self.options.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn process_double_quote(&mut self) -> LexResult<String> {
        let mut result = String::new();
        let open = self.next();
        if self.options.raw_quotes {
            result.extend(open);
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
                    if self.options.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                }
                Some(mut ch) => {
                    self.next();
                    if ch == self.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            // An escape at the end is dropped (the quote is then unterminated).
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == self.escape => {
                                self.next();
                                ch = next;
                            }
                            // Other escapes stay as they are.
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn process_dollar(&mut self) -> LexResult<String> {
        if self.depth >= MAX_NESTING {
            return Err(format!(
                "too many nested substitutions (more than {MAX_NESTING})"
            ));
        }
        self.depth += 1;
        let result = self.process_dollar_inner();
        self.depth -= 1;
        result
    }

    fn process_dollar_inner(&mut self) -> LexResult<String> {
        self.next(); // '$'
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.options.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next(); // '{'
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.process_name();
        // text/scanner's EOF prints as U+FFFD in BuildKit's messages.
        let mut ch = self.next().unwrap_or('\u{fffd}');
        let mut modifier = String::from(ch);
        match ch {
            '}' => Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.options.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => {
                let null_is_unset = ch == ':';
                if null_is_unset {
                    ch = self.next().unwrap_or('\u{fffd}');
                    modifier.push(ch);
                }
                let raw_escapes = ch == '#' || ch == '%';
                if null_is_unset && raw_escapes {
                    return Err(format!("unsupported modifier ({modifier}) in substitution"));
                }
                let word = match self.process_stop_on(Some('}'), raw_escapes) {
                    Ok((word, _)) => word,
                    Err(_) if self.peek().is_none() => {
                        return Err("syntax error: missing '}'".into())
                    }
                    Err(err) => return Err(err),
                };
                let value = self.get_env(&name);
                let Some(value) = value else {
                    if self.options.skip_unset_env {
                        return Ok(format!("${{{name}{modifier}{word}}}"));
                    }
                    return match ch {
                        '-' => Ok(word),
                        '+' => Ok(String::new()),
                        '?' => Err(format!(
                            "{name}: {}",
                            if word.is_empty() {
                                "is not allowed to be unset"
                            } else {
                                &word
                            }
                        )),
                        '#' | '%' => self.trim(ch, word, String::new()),
                        _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
                    };
                };
                let null = null_is_unset && value.is_empty();
                match ch {
                    '-' => Ok(if null { word } else { value }),
                    '+' => Ok(if null { String::new() } else { word }),
                    '?' if null => Err(format!(
                        "{name}: {}",
                        if word.is_empty() {
                            "is not allowed to be empty"
                        } else {
                            &word
                        }
                    )),
                    '?' => Ok(value),
                    '#' | '%' => self.trim(ch, word, value),
                    _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
                }
            }
            '/' => {
                let replace_all = self.peek() == Some('/');
                if replace_all {
                    self.next();
                }
                let pattern = match self.process_stop_on(Some('/'), true) {
                    Ok((pattern, _)) => pattern,
                    Err(_) if self.peek().is_none() => {
                        return Err("syntax error: missing '/' in ${}".into())
                    }
                    Err(err) => return Err(err),
                };
                let replacement = match self.process_stop_on(Some('}'), true) {
                    Ok((replacement, _)) => replacement,
                    Err(_) if self.peek().is_none() => {
                        return Err("syntax error: missing '}'".into())
                    }
                    Err(err) => return Err(err),
                };
                let value = self.get_env(&name);
                if value.is_none() && self.options.skip_unset_env {
                    return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                }
                let value = value.unwrap_or_default();
                let regex = shell_pattern_regex(&pattern, true, false)
                    .map_err(|err| format!("invalid pattern ({pattern}) in substitution: {err}"))?;
                Ok(if replace_all {
                    regex.replace_all(&value, &replacement)
                } else {
                    match regex.find(&value) {
                        Some(found) => {
                            format!(
                                "{}{replacement}{}",
                                &value[..found.start],
                                &value[found.end..]
                            )
                        }
                        None => value,
                    }
                })
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    /// `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`: `word` still starts with the doubled
    /// modifier character when the match is greedy.
    fn trim(&self, modifier: char, word: String, value: String) -> LexResult<String> {
        let (greedy, pattern) = match word.strip_prefix(modifier) {
            Some(rest) => (true, rest.to_string()),
            None => (false, word),
        };
        if modifier == '%' {
            let pattern = reverse_pattern(&pattern);
            let reversed: String = value.chars().rev().collect();
            let trimmed = trim_prefix(&pattern, &reversed, greedy)?;
            Ok(trimmed.chars().rev().collect())
        } else {
            trim_prefix(&pattern, &value, greedy)
        }
    }

    /// Reads a variable name: letters, digits and `_`; a run of digits; or one special
    /// parameter character.
    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(digit) = self.peek().filter(|&c| is_digit(c)) {
                    self.next();
                    name.push(digit);
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                return ch.to_string();
            }
            if !is_letter(ch) && !is_digit(ch) && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.next(); // '<'
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut result = String::from("<<");
        while let Some(ch) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            result.push(ch);
            self.next();
        }
        result
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(value) => {
                self.matched.insert(name.to_string());
                Some(value.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }
}

fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

/// `trimPrefix`: removes the shortest (or longest) prefix matching `pattern`.
fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> LexResult<String> {
    let regex = shell_pattern_regex(pattern, greedy, true)
        .map_err(|err| format!("invalid pattern ({pattern}) in substitution: {err}"))?;
    Ok(match regex.find(value) {
        Some(found) => value[found.end..].to_string(),
        None => value.to_string(),
    })
}

/// Reverses a pattern but keeps each `\x` escape in order (`a\*c` → `c\*a`).
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = chars.clone();
    let len = chars.len();
    let mut i = 0;
    while i < len {
        let at = len - 1 - i;
        if chars[i] == '\\' && i + 1 < len {
            out[at - 1] = '\\';
            out[at] = chars[i + 1];
            i += 2;
        } else {
            out[at] = chars[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// BuildKit's `convertShellPatternToRegex`: the Go regexp for a shell pattern, `*` lazy
/// unless `greedy`, matched at the start only when `anchored`.
fn shell_pattern_regex(pattern: &str, greedy: bool, anchored: bool) -> Result<Regex, String> {
    let mut regex = String::with_capacity(pattern.len() + 4);
    if anchored {
        regex.push('^');
    }
    let mut chars = pattern.chars().peekable();
    // text/scanner drops a byte order mark at the very start of the pattern too.
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
    }
    while let Some(ch) = chars.next() {
        match ch {
            '*' => regex.push_str(if greedy { ".*" } else { ".*?" }),
            '?' => regex.push('.'),
            '\\' => match chars.peek().copied() {
                // `\}` and `\/` only protect the delimiters of `${…}`.
                Some('}' | '/') => {}
                Some(escaped @ ('*' | '?' | '\\')) => {
                    chars.next();
                    regex.push('\\');
                    regex.push(escaped);
                }
                Some(other) => return Err(format!("invalid escape '\\{other}'")),
                None => return Err("invalid escape '\\\u{fffd}'".into()),
            },
            '[' | ']' | '{' | '}' | '.' | '+' | '(' | ')' | '|' | '^' | '$' => {
                regex.push('\\');
                regex.push(ch);
            }
            other => regex.push(other),
        }
    }
    Regex::new(&regex).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Variables of a test case.
    type Vars<'a> = &'a [(&'a str, &'a str)];

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expand(word: &str, pairs: &[(&str, &str)]) -> Result<String, String> {
        process_word(word, &env(pairs), '\\')
            .map(|e| e.value)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn buildkit_env_var_cases() {
        let env = env(&[
            ("PWD", "/home"),
            ("SHELL", "bash"),
            ("KOREAN", "한국어"),
            ("NULL", ""),
        ]);
        let mut count = 0;
        for line in include_str!("../tests/data/shell-words.txt").lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('|').collect();
            assert_eq!(fields.len(), 3, "{line}");
            let (word, expected) = (fields[1].trim(), fields[2].trim());
            let got = process_word(word, &env, '\\');
            if expected == "error" {
                assert!(got.is_err(), "{word:?} should fail, got {got:?}");
            } else {
                assert_eq!(got.map(|e| e.value), Ok(expected.to_string()), "{word:?}");
            }
            count += 1;
        }
        assert!(count > 200);
    }

    #[test]
    fn buildkit_word_splitting_cases() {
        let mut env = BTreeMap::new();
        for line in include_str!("../tests/data/shell-split.txt").lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some(assignment) = line.strip_prefix("ENV ") {
                let (key, value) = assignment.trim_start().split_once('=').unwrap();
                env.insert(key.to_string(), value.to_string());
                continue;
            }
            let (word, expected) = line.split_once('|').unwrap();
            let expected: Vec<&str> = expected.trim_start().split(',').collect();
            let got =
                process_words(word.trim(), &env, '\\').unwrap_or_else(|_| vec!["error".into()]);
            assert_eq!(got, expected, "{line:?}");
        }
    }

    #[test]
    fn errors_carry_buildkit_wording() {
        let cases = [
            ("${X:?}", "failed to process \"${X:?}\": X: is not allowed to be unset"),
            ("${FOO:?\"custom error\"}", "failed to process \"${FOO:?\\\"custom error\\\"}\": FOO: custom error"),
            ("${FOO?custom error}", "failed to process \"${FOO?custom error}\": FOO: custom error"),
            ("alpine:${:-3}", "failed to process \"alpine:${:-3}\": syntax error: bad substitution"),
            ("alpine:${V:=3}", "failed to process \"alpine:${V:=3}\": unsupported modifier (:=) in substitution"),
            ("\"alpine", "failed to process \"\\\"alpine\": unexpected end of statement while looking for matching double-quote"),
            ("'alpine", "failed to process \"'alpine\": unexpected end of statement while looking for matching single-quote"),
            ("${aaa", "failed to process \"${aaa\": unsupported modifier (\u{fffd}) in substitution"),
            ("${aaa:-bbb", "failed to process \"${aaa:-bbb\": syntax error: missing '}'"),
            ("${", "failed to process \"${\": syntax error: missing '}'"),
            ("${V:#x}", "failed to process \"${V:#x}\": unsupported modifier (:#) in substitution"),
            ("${V:x}", "failed to process \"${V:x}\": unsupported modifier (:x) in substitution"),
            ("${V//ww}", "failed to process \"${V//ww}\": syntax error: missing '/' in ${}"),
            ("${V#\\x}", "failed to process \"${V#\\\\x}\": invalid pattern (\\x) in substitution: invalid escape '\\x'"),
            ("${.}", "failed to process \"${.}\": unsupported modifier (.) in substitution"),
            ("${A:-${B:?inner}}", "failed to process \"${A:-${B:?inner}}\": B: inner"),
            ("a\tb${X:?}", "failed to process \"a\\tb${X:?}\": X: is not allowed to be unset"),
        ];
        for (word, message) in cases {
            assert_eq!(
                expand(word, &[("V", "v")]),
                Err(message.to_string()),
                "{word:?}"
            );
        }
        let err = process_word("${X:?}", &env(&[]), '\\').unwrap_err();
        assert_eq!(err.reason(), "X: is not allowed to be unset");
        assert_eq!(
            expand("${NULL:?}", &[("NULL", "")]),
            Err("failed to process \"${NULL:?}\": NULL: is not allowed to be empty".into())
        );
    }

    #[test]
    fn modifiers() {
        let cases: &[(&str, Vars, &str)] = &[
            ("${TAG-3.18}", &[("TAG", "")], ""),
            ("${TAG:-3.18}", &[("TAG", "")], "3.18"),
            ("${V+:edge}", &[("V", "1")], ":edge"),
            ("${TAG:+:}${TAG}", &[("TAG", "")], ""),
            (
                "${IMG#docker.io/}",
                &[("IMG", "docker.io/library/alpine:3.19")],
                "library/alpine:3.19",
            ),
            (
                "${IMG%-slim}",
                &[("IMG", "alpine:3.19-slim")],
                "alpine:3.19",
            ),
            ("${V%%.*}", &[("V", "3.19.1")], "3"),
            ("${V%.*}", &[("V", "3.19.1")], "3.19"),
            ("${IMG##*/}", &[("IMG", "a/b/c")], "c"),
            ("${IMG#*/}", &[("IMG", "a/b/c")], "b/c"),
            ("${V/_/.}", &[("V", "3_19_1")], "3.19_1"),
            ("${V//_/.}", &[("V", "3_19_1")], "3.19.1"),
            ("${P//\\//-}", &[("P", "linux/arm/v7")], "linux-arm-v7"),
            ("${A:-${B:-3.19}}", &[], "3.19"),
            ("alpine$$", &[], "alpine"),
            ("$REG_VERSION", &[("REG", "x")], ""),
            ("$ÄTAG", &[("ÄTAG", "3")], "3"),
            ("${T}}", &[("T", "3")], "3}"),
            ("$1x", &[], "x"),
            ("${V#*}", &[("V", "xxyy")], "xxyy"),
            ("${V##*}", &[("V", "xxyy")], ""),
            ("${V%%*}", &[("V", "a\nb")], "a\n"),
            ("${V#a?}", &[("V", "a\nb")], "a\nb"),
            ("${V//a/[$$]}", &[("V", "banana")], "b[]n[]n[]"),
            ("${V//a/'$0$0'}", &[("V", "banana")], "baanaanaa"),
            ("${V//a/'$$'}", &[("V", "banana")], "b$n$n$"),
            ("${V/a/'$0'}", &[("V", "banana")], "b$0nana"),
            ("${V///x}", &[("V", "ab")], "xaxbx"),
            ("${V//*/x}", &[("V", "ab")], "x"),
            ("${V//?/x}", &[("V", "héllo")], "xxxxx"),
            ("${V%x}", &[], ""),
            ("${V/x/y}", &[], ""),
            ("\u{feff}a", &[], "a"),
        ];
        for (word, pairs, expected) in cases {
            assert_eq!(expand(word, pairs), Ok(expected.to_string()), "{word:?}");
        }
    }

    #[test]
    fn matches_are_tracked() {
        let result = process_word(
            "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
            &env(&[("FOO", "xxx"), ("BAR", "")]),
            '\\',
        )
        .unwrap();
        assert_eq!(result.value, "xxx  ccc");
        assert_eq!(
            result.matched,
            ["BAR", "FOO"].iter().map(|s| s.to_string()).collect()
        );
        assert_eq!(
            result.unmatched,
            ["BAZ"].iter().map(|s| s.to_string()).collect()
        );
    }

    #[test]
    fn buildkit_matches_cases() {
        let cases: &[(&str, Vars, Option<&str>)] = &[
            (
                "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
                &[("FOO", "xxx"), ("BAR", "")],
                Some("xxx bbb ccc"),
            ),
            (
                "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
                &[("FOO", "xxx"), ("BAR", "")],
                Some("aaa bbb "),
            ),
            (
                "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
                &[("FOO", "xxx"), ("BAR", "")],
                Some("aaa  "),
            ),
            ("${BAR?bbb}", &[("BAR", "")], Some("")),
            ("${BAZ?ccc}", &[], None),
            ("${BAR:?bbb}", &[("BAR", "")], None),
            ("${FOO=aaa}", &[("FOO", "xxx")], None),
            ("${FOO=}", &[], None),
            (
                "${FOO#()[]{\\}^$.\\*\\?|\\\\}",
                &[("FOO", "()[]{}^$.*?|\\x")],
                Some("x"),
            ),
            ("${FOO%%\\**}", &[("FOO", "xx**")], Some("xx")),
            ("${FOO#*x*y}", &[("FOO", "xxyy")], Some("y")),
            ("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "x")], Some("xyy")),
            ("${FOO#}", &[("FOO", "xxyy")], Some("xxyy")),
            ("${FOO##*x}", &[("FOO", "xxyy")], Some("yy")),
            ("${FOO#?\\?}", &[("FOO", "???y")], Some("?y")),
            (
                "${ABC:-.}${FOO%x}${ABC:-.}",
                &[("FOO", "xxyy")],
                Some(".xxyy."),
            ),
            ("${FOO%%\\**\\*}", &[("FOO", "a***yy*")], Some("a")),
            ("${FOO:#}", &[], None),
            ("${FOO:%%}", &[], None),
            (
                "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
                &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", "\\*/")],
                Some("/foo.*/*.txt - /foo..*.txt"),
            ),
            (
                "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
                &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
                Some("/tmp/bar.txt - /bar.txt"),
            ),
            (
                "${FOO/$N/$R} - ${FOO//$N/$R}",
                &[("FOO", "/a/foo/b/c.txt"), ("N", "/?/"), ("R", "/")],
                Some("/foo/b/c.txt - /foo/c.txt"),
            ),
            (
                "${FOO/$N/$R}",
                &[
                    ("FOO", "http://google.de"),
                    ("N", "http://"),
                    ("R", "https://"),
                ],
                Some("https://google.de"),
            ),
            (
                "${FOO//\\//\\/}",
                &[("FOO", "/tmp/foo.txt")],
                Some("\\/tmp\\/foo.txt"),
            ),
            (
                "${FOO/$BAR/ww}",
                &[("FOO", "xxyy"), ("BAR", "")],
                Some("wwxxyy"),
            ),
            ("${FOO//}", &[("FOO", "xxyy")], None),
            ("${FOO///}", &[("FOO", "xxyy")], Some("xxyy")),
            ("${FOO///}", &[], Some("")),
            (
                "something-${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
                &[
                    ("TARGETOS", "linux"),
                    ("TARGETARCH", "arm"),
                    ("TARGETVARIANT", "v7"),
                ],
                Some("something-linux-arm-v7.tar.gz"),
            ),
            (
                "something-${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
                &[("TARGETOS", "linux"), ("TARGETARCH", "arm64")],
                Some("something-linux-arm64.tar.gz"),
            ),
            ("${VAR:?message here$ARG}", &[("ARG", "x")], None),
            (
                "${VAR?message here$ARG}",
                &[("VAR", ""), ("ARG", "x")],
                Some(""),
            ),
        ];
        for (word, pairs, expected) in cases {
            let got = expand(word, pairs);
            match expected {
                Some(value) => assert_eq!(got, Ok(value.to_string()), "{word:?}"),
                None => assert!(got.is_err(), "{word:?} gave {got:?}"),
            }
        }
        assert_eq!(
            expand("${VAR:?message here$ARG}", &[("ARG", "x")]),
            Err("failed to process \"${VAR:?message here$ARG}\": VAR: message herex".into())
        );
    }

    #[test]
    fn backtick_escape() {
        let e = |w: &str| {
            process_word(w, &env(&[("A", "1")]), '`')
                .map(|e| e.value)
                .map_err(|e| e.to_string())
        };
        assert_eq!(e("a`$A"), Ok("a$A".into()));
        assert_eq!(e("a\\$A"), Ok("a\\1".into()));
        assert_eq!(e("\"a`\"b\""), Ok("a\"b".into()));
        assert_eq!(e("a`"), Ok("a".into()));
    }

    #[test]
    fn options_follow_buildkit() {
        let raw = LexOptions {
            raw_quotes: true,
            skip_unset_env: true,
            ..LexOptions::default()
        };
        let env = env(&[("SET", "v")]);
        let value = |w: &str, o: LexOptions| process_word_with(w, &env, '\\', o).unwrap().value;
        assert_eq!(
            value(
                "'a' \"$SET\" $UNSET ${UNSET} ${UNSET:-x} ${UNSET//a/b}",
                raw
            ),
            "'a' \"v\" $UNSET ${UNSET} ${UNSET:-x} ${UNSET/a/b}"
        );
        let quotes_off = LexOptions {
            skip_process_quotes: true,
            ..LexOptions::default()
        };
        assert_eq!(value("'$SET'", quotes_off), "'v'");
        let escapes = LexOptions {
            raw_escapes: true,
            ..LexOptions::default()
        };
        assert_eq!(value("a\\ b\"\\t\"", escapes), "a\\ b\\\\t");
        assert_eq!(
            process_words_with("EOF <<  x 'y z'", &env, '\\', raw).unwrap(),
            vec!["EOF", "<<  x", "'y z'"]
        );
    }

    #[test]
    fn nested_modifier_resets_the_partial_word_like_buildkit() {
        // BuildKit shares one word buffer between nested calls, so a `${V:-…}` drops the
        // text of the current word before it: `ProcessWords("foo${A:-x}bar")` is `["xbar"]`.
        assert_eq!(
            process_words("foo${A:-x}bar baz", &env(&[]), '\\').unwrap(),
            vec!["xbar", "baz"]
        );
        assert_eq!(
            process_words("a b${A}c", &env(&[("A", "1 2")]), '\\').unwrap(),
            vec!["a", "b1", "2c"]
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let word = "${A:-".repeat(100_000);
        let err = process_word(&word, &env(&[]), '\\').unwrap_err();
        assert!(
            err.to_string().contains("too many nested substitutions"),
            "{err}"
        );
        let ok = format!("{}x{}", "${A:-".repeat(150), "}".repeat(150));
        assert_eq!(expand(&ok, &[]), Ok("x".into()));
    }

    #[test]
    fn long_inputs_are_linear() {
        let start = std::time::Instant::now();
        let long = "a$B${C:-d}'e'\"$F\"\\g ".repeat(10_000);
        process_word(&long, &env(&[("B", "b")]), '\\').unwrap();
        process_words(&long, &env(&[("B", "b")]), '\\').unwrap();
        let value = "ab".repeat(10_000);
        let pattern = "*a".repeat(50);
        let env = env(&[("V", &value)]);
        for word in [
            format!("${{V#{pattern}}}"),
            format!("${{V%%{pattern}}}"),
            format!("${{V//{pattern}/x}}"),
        ] {
            process_word(&word, &env, '\\').unwrap();
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    proptest! {
        #[test]
        fn never_panics(word in "\\PC*", value in "\\PC{0,20}") {
            let env = env(&[("A", &value), ("B", "")]);
            let _ = process_word(&word, &env, '\\');
            let _ = process_words(&word, &env, '`');
        }

        #[test]
        fn never_panics_on_shell_like_input(word in "[$#%/{}:?+*\\-\\\\'\"`<ABa\\n é]{0,64}", value in "[ab*?\\n é]{0,12}") {
            let env = env(&[("A", &value), ("B", "")]);
            let _ = process_word(&word, &env, '\\');
            let _ = process_words(&word, &env, '`');
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn long_words_are_quick(snippet in "(\\PC|[${}:#%/?*'\"\\\\-]){1,12}") {
            let word = snippet.repeat(100_000 / snippet.chars().count() + 1);
            let start = std::time::Instant::now();
            let env = env(&[("A", "a*b"), ("B", "")]);
            let _ = process_word(&word, &env, '\\');
            let _ = process_words(&word, &env, '\\');
            prop_assert!(start.elapsed() < std::time::Duration::from_secs(10));
        }
    }
}
