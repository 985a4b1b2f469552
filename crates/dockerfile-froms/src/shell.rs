//! Shell-style word expansion, exactly as BuildKit's `shell.Lex`
//! (`frontend/dockerfile/shell/lex.go` in moby/buildkit).
//!
//! BuildKit expands `$V`, `${V}` and the modifiers `${V:-d} ${V-d} ${V:+a} ${V+a} ${V:?e}
//! ${V?e} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}`, removes quotes and escapes, and
//! reports errors with its own wording. This module reproduces that behaviour, including the
//! corner cases users run into (unset is not empty, special parameters expand to nothing, a
//! stray `}` is literal, the `failed to process "<word>": ` prefix of every error).
//!
//! The glob patterns of `#`, `%` and `/` are matched the way BuildKit's translation to Go
//! regular expressions matches them (leftmost-first, `.` never matches a newline), with a
//! Pike VM: time is proportional to the pattern length times the value length, never
//! exponential.
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
                let program = Glob::compile(&pattern, true)
                    .map_err(|err| format!("invalid pattern ({pattern}) in substitution: {err}"))?;
                let value: Vec<char> = value.chars().collect();
                Ok(if replace_all {
                    program.replace_all(&value, &replacement)
                } else {
                    match program.find(&value, 0, false) {
                        Some((start, end)) => {
                            let mut out: String = value[..start].iter().collect();
                            out.push_str(&replacement);
                            out.extend(&value[end..]);
                            out
                        }
                        None => value.iter().collect(),
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
    let program = Glob::compile(pattern, greedy)
        .map_err(|err| format!("invalid pattern ({pattern}) in substitution: {err}"))?;
    let chars: Vec<char> = value.chars().collect();
    Ok(match program.find(&chars, 0, true) {
        Some((_, end)) => chars[end..].iter().collect(),
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

/// One element of a compiled glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A literal character.
    Literal(char),
    /// `?`: any one character except a newline.
    Any,
    /// `*`: any run of characters without a newline.
    Star,
}

/// A shell pattern as BuildKit's `convertShellPatternToRegex` turns it into a Go regexp.
struct Glob {
    tokens: Vec<Token>,
    greedy: bool,
}

/// A pending step of [`Glob::add_thread`]: follow the epsilon moves from a state, or emit
/// the lazy star loop once the states after it have been added.
enum Step {
    Explore(usize),
    Emit(usize),
}

/// A thread of the Pike VM: the token it waits at (or `tokens.len()` for a match) and where
/// its match started.
type Thread = (usize, usize);

/// A priority-ordered set of threads, at most one per token.
struct ThreadList {
    threads: Vec<Thread>,
    seen: Vec<u64>,
    generation: u64,
}

impl ThreadList {
    fn new(states: usize) -> ThreadList {
        ThreadList {
            threads: Vec::new(),
            seen: vec![0; states],
            generation: 1,
        }
    }

    fn clear(&mut self) {
        self.threads.clear();
        self.generation += 1;
    }
}

impl Glob {
    fn compile(pattern: &str, greedy: bool) -> Result<Glob, String> {
        let mut chars = pattern.chars().peekable();
        // text/scanner drops a byte order mark at the very start of the pattern too.
        if chars.peek() == Some(&'\u{feff}') {
            chars.next();
        }
        let mut tokens = Vec::new();
        while let Some(ch) = chars.next() {
            match ch {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '\\' => match chars.peek().copied() {
                    // `\}` and `\/` only protect the delimiters of `${…}`.
                    Some('}' | '/') => {}
                    Some(escaped @ ('*' | '?' | '\\')) => {
                        chars.next();
                        tokens.push(Token::Literal(escaped));
                    }
                    Some(other) => return Err(format!("invalid escape '\\{other}'")),
                    None => return Err("invalid escape '\\\u{fffd}'".into()),
                },
                other => tokens.push(Token::Literal(other)),
            }
        }
        Ok(Glob { tokens, greedy })
    }

    /// Adds the thread at `state` and everything reachable without consuming input, in
    /// priority order. `stack` is scratch space, kept between calls to avoid allocations.
    fn add_thread(&self, list: &mut ThreadList, stack: &mut Vec<Step>, state: usize, start: usize) {
        stack.clear();
        stack.push(Step::Explore(state));
        while let Some(step) = stack.pop() {
            let state = match step {
                Step::Emit(state) => {
                    list.threads.push((state, start));
                    continue;
                }
                Step::Explore(state) => state,
            };
            if list.seen[state] == list.generation {
                continue;
            }
            list.seen[state] = list.generation;
            match self.tokens.get(state) {
                Some(Token::Star) if self.greedy => {
                    list.threads.push((state, start));
                    stack.push(Step::Explore(state + 1));
                }
                Some(Token::Star) => {
                    stack.push(Step::Emit(state));
                    stack.push(Step::Explore(state + 1));
                }
                _ => list.threads.push((state, start)),
            }
        }
    }

    /// The leftmost-first match at or after `from` (only at `from` when `anchored`), as
    /// character offsets.
    fn find(&self, text: &[char], from: usize, anchored: bool) -> Option<(usize, usize)> {
        let states = self.tokens.len() + 1;
        let mut current = ThreadList::new(states);
        let mut next = ThreadList::new(states);
        let mut stack = Vec::new();
        let mut found = None;
        let mut pos = from;
        loop {
            if found.is_none() && (!anchored || pos == from) {
                self.add_thread(&mut current, &mut stack, 0, pos);
            }
            if current.threads.is_empty() {
                break;
            }
            next.clear();
            let ch = text.get(pos).copied();
            for index in 0..current.threads.len() {
                let (state, start) = current.threads[index];
                let Some(token) = self.tokens.get(state) else {
                    found = Some((start, pos));
                    break;
                };
                let Some(ch) = ch else { continue };
                match *token {
                    Token::Literal(literal) if literal == ch => {
                        self.add_thread(&mut next, &mut stack, state + 1, start)
                    }
                    Token::Any if ch != '\n' => {
                        self.add_thread(&mut next, &mut stack, state + 1, start)
                    }
                    Token::Star if ch != '\n' => {
                        self.add_thread(&mut next, &mut stack, state, start)
                    }
                    _ => {}
                }
            }
            if pos >= text.len() {
                break;
            }
            pos += 1;
            std::mem::swap(&mut current, &mut next);
        }
        found
    }

    /// Go's `Regexp.ReplaceAllString`, with its `$` template expansion of `replacement`.
    fn replace_all(&self, text: &[char], replacement: &str) -> String {
        let mut out = String::new();
        let mut last_end = 0;
        let mut search = 0;
        while search <= text.len() {
            let Some((start, end)) = self.find(text, search, false) else {
                break;
            };
            out.extend(&text[last_end..start]);
            // No replacement for an empty match right after the previous match.
            if end > last_end || start == 0 {
                let matched: String = text[start..end].iter().collect();
                expand_template(&mut out, replacement, &matched);
            }
            last_end = end;
            search = if search + 1 > end { search + 1 } else { end };
        }
        out.extend(&text[last_end.min(text.len())..]);
        out
    }
}

/// Go's `Regexp.Expand` for a pattern without groups: `$0`/`${0}` is the match, `$$` a dollar,
/// other names are empty, and a `$` that starts no name is kept.
fn expand_template(out: &mut String, template: &str, matched: &str) {
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let (braced, body) = match rest.strip_prefix('{') {
            Some(body) => (true, body),
            None => (false, rest),
        };
        let name_len: usize = body
            .chars()
            .take_while(|&c| is_letter(c) || is_digit(c) || c == '_')
            .map(char::len_utf8)
            .sum();
        let closed = !braced || body[name_len..].starts_with('}');
        if name_len == 0 || !closed {
            out.push('$');
            continue;
        }
        if &body[..name_len] == "0" {
            out.push_str(matched);
        }
        rest = &body[name_len + usize::from(braced)..];
    }
    out.push_str(rest);
}

/// Go's `unicode.IsLetter`.
fn is_letter(ch: char) -> bool {
    if ch.is_ascii() {
        ch.is_ascii_alphabetic()
    } else {
        in_table(LETTERS, ch)
    }
}

/// Go's `unicode.IsDigit`.
fn is_digit(ch: char) -> bool {
    if ch.is_ascii() {
        ch.is_ascii_digit()
    } else {
        in_table(DIGITS, ch)
    }
}

fn in_table(table: &[u32], ch: char) -> bool {
    let code = ch as u32;
    let pairs = table.len() / 2;
    let (mut low, mut high) = (0, pairs);
    while low < high {
        let mid = (low + high) / 2;
        if code < table[2 * mid] {
            high = mid;
        } else if code > table[2 * mid + 1] {
            low = mid + 1;
        } else {
            return true;
        }
    }
    false
}
/// Go's `unicode.IsLetter` (category L) above ASCII.
/// Pairs of inclusive bounds (Unicode 14.0.0), sorted; ASCII is handled by the callers.
const LETTERS: &[u32] = &[
    0xAA, 0xAA, 0xB5, 0xB5, 0xBA, 0xBA, 0xC0, 0xD6, 0xD8, 0xF6, 0xF8, 0x2C1, 0x2C6, 0x2D1, 0x2E0,
    0x2E4, 0x2EC, 0x2EC, 0x2EE, 0x2EE, 0x370, 0x374, 0x376, 0x377, 0x37A, 0x37D, 0x37F, 0x37F,
    0x386, 0x386, 0x388, 0x38A, 0x38C, 0x38C, 0x38E, 0x3A1, 0x3A3, 0x3F5, 0x3F7, 0x481, 0x48A,
    0x52F, 0x531, 0x556, 0x559, 0x559, 0x560, 0x588, 0x5D0, 0x5EA, 0x5EF, 0x5F2, 0x620, 0x64A,
    0x66E, 0x66F, 0x671, 0x6D3, 0x6D5, 0x6D5, 0x6E5, 0x6E6, 0x6EE, 0x6EF, 0x6FA, 0x6FC, 0x6FF,
    0x6FF, 0x710, 0x710, 0x712, 0x72F, 0x74D, 0x7A5, 0x7B1, 0x7B1, 0x7CA, 0x7EA, 0x7F4, 0x7F5,
    0x7FA, 0x7FA, 0x800, 0x815, 0x81A, 0x81A, 0x824, 0x824, 0x828, 0x828, 0x840, 0x858, 0x860,
    0x86A, 0x870, 0x887, 0x889, 0x88E, 0x8A0, 0x8C9, 0x904, 0x939, 0x93D, 0x93D, 0x950, 0x950,
    0x958, 0x961, 0x971, 0x980, 0x985, 0x98C, 0x98F, 0x990, 0x993, 0x9A8, 0x9AA, 0x9B0, 0x9B2,
    0x9B2, 0x9B6, 0x9B9, 0x9BD, 0x9BD, 0x9CE, 0x9CE, 0x9DC, 0x9DD, 0x9DF, 0x9E1, 0x9F0, 0x9F1,
    0x9FC, 0x9FC, 0xA05, 0xA0A, 0xA0F, 0xA10, 0xA13, 0xA28, 0xA2A, 0xA30, 0xA32, 0xA33, 0xA35,
    0xA36, 0xA38, 0xA39, 0xA59, 0xA5C, 0xA5E, 0xA5E, 0xA72, 0xA74, 0xA85, 0xA8D, 0xA8F, 0xA91,
    0xA93, 0xAA8, 0xAAA, 0xAB0, 0xAB2, 0xAB3, 0xAB5, 0xAB9, 0xABD, 0xABD, 0xAD0, 0xAD0, 0xAE0,
    0xAE1, 0xAF9, 0xAF9, 0xB05, 0xB0C, 0xB0F, 0xB10, 0xB13, 0xB28, 0xB2A, 0xB30, 0xB32, 0xB33,
    0xB35, 0xB39, 0xB3D, 0xB3D, 0xB5C, 0xB5D, 0xB5F, 0xB61, 0xB71, 0xB71, 0xB83, 0xB83, 0xB85,
    0xB8A, 0xB8E, 0xB90, 0xB92, 0xB95, 0xB99, 0xB9A, 0xB9C, 0xB9C, 0xB9E, 0xB9F, 0xBA3, 0xBA4,
    0xBA8, 0xBAA, 0xBAE, 0xBB9, 0xBD0, 0xBD0, 0xC05, 0xC0C, 0xC0E, 0xC10, 0xC12, 0xC28, 0xC2A,
    0xC39, 0xC3D, 0xC3D, 0xC58, 0xC5A, 0xC5D, 0xC5D, 0xC60, 0xC61, 0xC80, 0xC80, 0xC85, 0xC8C,
    0xC8E, 0xC90, 0xC92, 0xCA8, 0xCAA, 0xCB3, 0xCB5, 0xCB9, 0xCBD, 0xCBD, 0xCDD, 0xCDE, 0xCE0,
    0xCE1, 0xCF1, 0xCF2, 0xD04, 0xD0C, 0xD0E, 0xD10, 0xD12, 0xD3A, 0xD3D, 0xD3D, 0xD4E, 0xD4E,
    0xD54, 0xD56, 0xD5F, 0xD61, 0xD7A, 0xD7F, 0xD85, 0xD96, 0xD9A, 0xDB1, 0xDB3, 0xDBB, 0xDBD,
    0xDBD, 0xDC0, 0xDC6, 0xE01, 0xE30, 0xE32, 0xE33, 0xE40, 0xE46, 0xE81, 0xE82, 0xE84, 0xE84,
    0xE86, 0xE8A, 0xE8C, 0xEA3, 0xEA5, 0xEA5, 0xEA7, 0xEB0, 0xEB2, 0xEB3, 0xEBD, 0xEBD, 0xEC0,
    0xEC4, 0xEC6, 0xEC6, 0xEDC, 0xEDF, 0xF00, 0xF00, 0xF40, 0xF47, 0xF49, 0xF6C, 0xF88, 0xF8C,
    0x1000, 0x102A, 0x103F, 0x103F, 0x1050, 0x1055, 0x105A, 0x105D, 0x1061, 0x1061, 0x1065, 0x1066,
    0x106E, 0x1070, 0x1075, 0x1081, 0x108E, 0x108E, 0x10A0, 0x10C5, 0x10C7, 0x10C7, 0x10CD, 0x10CD,
    0x10D0, 0x10FA, 0x10FC, 0x1248, 0x124A, 0x124D, 0x1250, 0x1256, 0x1258, 0x1258, 0x125A, 0x125D,
    0x1260, 0x1288, 0x128A, 0x128D, 0x1290, 0x12B0, 0x12B2, 0x12B5, 0x12B8, 0x12BE, 0x12C0, 0x12C0,
    0x12C2, 0x12C5, 0x12C8, 0x12D6, 0x12D8, 0x1310, 0x1312, 0x1315, 0x1318, 0x135A, 0x1380, 0x138F,
    0x13A0, 0x13F5, 0x13F8, 0x13FD, 0x1401, 0x166C, 0x166F, 0x167F, 0x1681, 0x169A, 0x16A0, 0x16EA,
    0x16F1, 0x16F8, 0x1700, 0x1711, 0x171F, 0x1731, 0x1740, 0x1751, 0x1760, 0x176C, 0x176E, 0x1770,
    0x1780, 0x17B3, 0x17D7, 0x17D7, 0x17DC, 0x17DC, 0x1820, 0x1878, 0x1880, 0x1884, 0x1887, 0x18A8,
    0x18AA, 0x18AA, 0x18B0, 0x18F5, 0x1900, 0x191E, 0x1950, 0x196D, 0x1970, 0x1974, 0x1980, 0x19AB,
    0x19B0, 0x19C9, 0x1A00, 0x1A16, 0x1A20, 0x1A54, 0x1AA7, 0x1AA7, 0x1B05, 0x1B33, 0x1B45, 0x1B4C,
    0x1B83, 0x1BA0, 0x1BAE, 0x1BAF, 0x1BBA, 0x1BE5, 0x1C00, 0x1C23, 0x1C4D, 0x1C4F, 0x1C5A, 0x1C7D,
    0x1C80, 0x1C88, 0x1C90, 0x1CBA, 0x1CBD, 0x1CBF, 0x1CE9, 0x1CEC, 0x1CEE, 0x1CF3, 0x1CF5, 0x1CF6,
    0x1CFA, 0x1CFA, 0x1D00, 0x1DBF, 0x1E00, 0x1F15, 0x1F18, 0x1F1D, 0x1F20, 0x1F45, 0x1F48, 0x1F4D,
    0x1F50, 0x1F57, 0x1F59, 0x1F59, 0x1F5B, 0x1F5B, 0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4,
    0x1FB6, 0x1FBC, 0x1FBE, 0x1FBE, 0x1FC2, 0x1FC4, 0x1FC6, 0x1FCC, 0x1FD0, 0x1FD3, 0x1FD6, 0x1FDB,
    0x1FE0, 0x1FEC, 0x1FF2, 0x1FF4, 0x1FF6, 0x1FFC, 0x2071, 0x2071, 0x207F, 0x207F, 0x2090, 0x209C,
    0x2102, 0x2102, 0x2107, 0x2107, 0x210A, 0x2113, 0x2115, 0x2115, 0x2119, 0x211D, 0x2124, 0x2124,
    0x2126, 0x2126, 0x2128, 0x2128, 0x212A, 0x212D, 0x212F, 0x2139, 0x213C, 0x213F, 0x2145, 0x2149,
    0x214E, 0x214E, 0x2183, 0x2184, 0x2C00, 0x2CE4, 0x2CEB, 0x2CEE, 0x2CF2, 0x2CF3, 0x2D00, 0x2D25,
    0x2D27, 0x2D27, 0x2D2D, 0x2D2D, 0x2D30, 0x2D67, 0x2D6F, 0x2D6F, 0x2D80, 0x2D96, 0x2DA0, 0x2DA6,
    0x2DA8, 0x2DAE, 0x2DB0, 0x2DB6, 0x2DB8, 0x2DBE, 0x2DC0, 0x2DC6, 0x2DC8, 0x2DCE, 0x2DD0, 0x2DD6,
    0x2DD8, 0x2DDE, 0x2E2F, 0x2E2F, 0x3005, 0x3006, 0x3031, 0x3035, 0x303B, 0x303C, 0x3041, 0x3096,
    0x309D, 0x309F, 0x30A1, 0x30FA, 0x30FC, 0x30FF, 0x3105, 0x312F, 0x3131, 0x318E, 0x31A0, 0x31BF,
    0x31F0, 0x31FF, 0x3400, 0x4DBF, 0x4E00, 0xA48C, 0xA4D0, 0xA4FD, 0xA500, 0xA60C, 0xA610, 0xA61F,
    0xA62A, 0xA62B, 0xA640, 0xA66E, 0xA67F, 0xA69D, 0xA6A0, 0xA6E5, 0xA717, 0xA71F, 0xA722, 0xA788,
    0xA78B, 0xA7CA, 0xA7D0, 0xA7D1, 0xA7D3, 0xA7D3, 0xA7D5, 0xA7D9, 0xA7F2, 0xA801, 0xA803, 0xA805,
    0xA807, 0xA80A, 0xA80C, 0xA822, 0xA840, 0xA873, 0xA882, 0xA8B3, 0xA8F2, 0xA8F7, 0xA8FB, 0xA8FB,
    0xA8FD, 0xA8FE, 0xA90A, 0xA925, 0xA930, 0xA946, 0xA960, 0xA97C, 0xA984, 0xA9B2, 0xA9CF, 0xA9CF,
    0xA9E0, 0xA9E4, 0xA9E6, 0xA9EF, 0xA9FA, 0xA9FE, 0xAA00, 0xAA28, 0xAA40, 0xAA42, 0xAA44, 0xAA4B,
    0xAA60, 0xAA76, 0xAA7A, 0xAA7A, 0xAA7E, 0xAAAF, 0xAAB1, 0xAAB1, 0xAAB5, 0xAAB6, 0xAAB9, 0xAABD,
    0xAAC0, 0xAAC0, 0xAAC2, 0xAAC2, 0xAADB, 0xAADD, 0xAAE0, 0xAAEA, 0xAAF2, 0xAAF4, 0xAB01, 0xAB06,
    0xAB09, 0xAB0E, 0xAB11, 0xAB16, 0xAB20, 0xAB26, 0xAB28, 0xAB2E, 0xAB30, 0xAB5A, 0xAB5C, 0xAB69,
    0xAB70, 0xABE2, 0xAC00, 0xD7A3, 0xD7B0, 0xD7C6, 0xD7CB, 0xD7FB, 0xF900, 0xFA6D, 0xFA70, 0xFAD9,
    0xFB00, 0xFB06, 0xFB13, 0xFB17, 0xFB1D, 0xFB1D, 0xFB1F, 0xFB28, 0xFB2A, 0xFB36, 0xFB38, 0xFB3C,
    0xFB3E, 0xFB3E, 0xFB40, 0xFB41, 0xFB43, 0xFB44, 0xFB46, 0xFBB1, 0xFBD3, 0xFD3D, 0xFD50, 0xFD8F,
    0xFD92, 0xFDC7, 0xFDF0, 0xFDFB, 0xFE70, 0xFE74, 0xFE76, 0xFEFC, 0xFF21, 0xFF3A, 0xFF41, 0xFF5A,
    0xFF66, 0xFFBE, 0xFFC2, 0xFFC7, 0xFFCA, 0xFFCF, 0xFFD2, 0xFFD7, 0xFFDA, 0xFFDC, 0x10000,
    0x1000B, 0x1000D, 0x10026, 0x10028, 0x1003A, 0x1003C, 0x1003D, 0x1003F, 0x1004D, 0x10050,
    0x1005D, 0x10080, 0x100FA, 0x10280, 0x1029C, 0x102A0, 0x102D0, 0x10300, 0x1031F, 0x1032D,
    0x10340, 0x10342, 0x10349, 0x10350, 0x10375, 0x10380, 0x1039D, 0x103A0, 0x103C3, 0x103C8,
    0x103CF, 0x10400, 0x1049D, 0x104B0, 0x104D3, 0x104D8, 0x104FB, 0x10500, 0x10527, 0x10530,
    0x10563, 0x10570, 0x1057A, 0x1057C, 0x1058A, 0x1058C, 0x10592, 0x10594, 0x10595, 0x10597,
    0x105A1, 0x105A3, 0x105B1, 0x105B3, 0x105B9, 0x105BB, 0x105BC, 0x10600, 0x10736, 0x10740,
    0x10755, 0x10760, 0x10767, 0x10780, 0x10785, 0x10787, 0x107B0, 0x107B2, 0x107BA, 0x10800,
    0x10805, 0x10808, 0x10808, 0x1080A, 0x10835, 0x10837, 0x10838, 0x1083C, 0x1083C, 0x1083F,
    0x10855, 0x10860, 0x10876, 0x10880, 0x1089E, 0x108E0, 0x108F2, 0x108F4, 0x108F5, 0x10900,
    0x10915, 0x10920, 0x10939, 0x10980, 0x109B7, 0x109BE, 0x109BF, 0x10A00, 0x10A00, 0x10A10,
    0x10A13, 0x10A15, 0x10A17, 0x10A19, 0x10A35, 0x10A60, 0x10A7C, 0x10A80, 0x10A9C, 0x10AC0,
    0x10AC7, 0x10AC9, 0x10AE4, 0x10B00, 0x10B35, 0x10B40, 0x10B55, 0x10B60, 0x10B72, 0x10B80,
    0x10B91, 0x10C00, 0x10C48, 0x10C80, 0x10CB2, 0x10CC0, 0x10CF2, 0x10D00, 0x10D23, 0x10E80,
    0x10EA9, 0x10EB0, 0x10EB1, 0x10F00, 0x10F1C, 0x10F27, 0x10F27, 0x10F30, 0x10F45, 0x10F70,
    0x10F81, 0x10FB0, 0x10FC4, 0x10FE0, 0x10FF6, 0x11003, 0x11037, 0x11071, 0x11072, 0x11075,
    0x11075, 0x11083, 0x110AF, 0x110D0, 0x110E8, 0x11103, 0x11126, 0x11144, 0x11144, 0x11147,
    0x11147, 0x11150, 0x11172, 0x11176, 0x11176, 0x11183, 0x111B2, 0x111C1, 0x111C4, 0x111DA,
    0x111DA, 0x111DC, 0x111DC, 0x11200, 0x11211, 0x11213, 0x1122B, 0x11280, 0x11286, 0x11288,
    0x11288, 0x1128A, 0x1128D, 0x1128F, 0x1129D, 0x1129F, 0x112A8, 0x112B0, 0x112DE, 0x11305,
    0x1130C, 0x1130F, 0x11310, 0x11313, 0x11328, 0x1132A, 0x11330, 0x11332, 0x11333, 0x11335,
    0x11339, 0x1133D, 0x1133D, 0x11350, 0x11350, 0x1135D, 0x11361, 0x11400, 0x11434, 0x11447,
    0x1144A, 0x1145F, 0x11461, 0x11480, 0x114AF, 0x114C4, 0x114C5, 0x114C7, 0x114C7, 0x11580,
    0x115AE, 0x115D8, 0x115DB, 0x11600, 0x1162F, 0x11644, 0x11644, 0x11680, 0x116AA, 0x116B8,
    0x116B8, 0x11700, 0x1171A, 0x11740, 0x11746, 0x11800, 0x1182B, 0x118A0, 0x118DF, 0x118FF,
    0x11906, 0x11909, 0x11909, 0x1190C, 0x11913, 0x11915, 0x11916, 0x11918, 0x1192F, 0x1193F,
    0x1193F, 0x11941, 0x11941, 0x119A0, 0x119A7, 0x119AA, 0x119D0, 0x119E1, 0x119E1, 0x119E3,
    0x119E3, 0x11A00, 0x11A00, 0x11A0B, 0x11A32, 0x11A3A, 0x11A3A, 0x11A50, 0x11A50, 0x11A5C,
    0x11A89, 0x11A9D, 0x11A9D, 0x11AB0, 0x11AF8, 0x11C00, 0x11C08, 0x11C0A, 0x11C2E, 0x11C40,
    0x11C40, 0x11C72, 0x11C8F, 0x11D00, 0x11D06, 0x11D08, 0x11D09, 0x11D0B, 0x11D30, 0x11D46,
    0x11D46, 0x11D60, 0x11D65, 0x11D67, 0x11D68, 0x11D6A, 0x11D89, 0x11D98, 0x11D98, 0x11EE0,
    0x11EF2, 0x11FB0, 0x11FB0, 0x12000, 0x12399, 0x12480, 0x12543, 0x12F90, 0x12FF0, 0x13000,
    0x1342E, 0x14400, 0x14646, 0x16800, 0x16A38, 0x16A40, 0x16A5E, 0x16A70, 0x16ABE, 0x16AD0,
    0x16AED, 0x16B00, 0x16B2F, 0x16B40, 0x16B43, 0x16B63, 0x16B77, 0x16B7D, 0x16B8F, 0x16E40,
    0x16E7F, 0x16F00, 0x16F4A, 0x16F50, 0x16F50, 0x16F93, 0x16F9F, 0x16FE0, 0x16FE1, 0x16FE3,
    0x16FE3, 0x17000, 0x187F7, 0x18800, 0x18CD5, 0x18D00, 0x18D08, 0x1AFF0, 0x1AFF3, 0x1AFF5,
    0x1AFFB, 0x1AFFD, 0x1AFFE, 0x1B000, 0x1B122, 0x1B150, 0x1B152, 0x1B164, 0x1B167, 0x1B170,
    0x1B2FB, 0x1BC00, 0x1BC6A, 0x1BC70, 0x1BC7C, 0x1BC80, 0x1BC88, 0x1BC90, 0x1BC99, 0x1D400,
    0x1D454, 0x1D456, 0x1D49C, 0x1D49E, 0x1D49F, 0x1D4A2, 0x1D4A2, 0x1D4A5, 0x1D4A6, 0x1D4A9,
    0x1D4AC, 0x1D4AE, 0x1D4B9, 0x1D4BB, 0x1D4BB, 0x1D4BD, 0x1D4C3, 0x1D4C5, 0x1D505, 0x1D507,
    0x1D50A, 0x1D50D, 0x1D514, 0x1D516, 0x1D51C, 0x1D51E, 0x1D539, 0x1D53B, 0x1D53E, 0x1D540,
    0x1D544, 0x1D546, 0x1D546, 0x1D54A, 0x1D550, 0x1D552, 0x1D6A5, 0x1D6A8, 0x1D6C0, 0x1D6C2,
    0x1D6DA, 0x1D6DC, 0x1D6FA, 0x1D6FC, 0x1D714, 0x1D716, 0x1D734, 0x1D736, 0x1D74E, 0x1D750,
    0x1D76E, 0x1D770, 0x1D788, 0x1D78A, 0x1D7A8, 0x1D7AA, 0x1D7C2, 0x1D7C4, 0x1D7CB, 0x1DF00,
    0x1DF1E, 0x1E100, 0x1E12C, 0x1E137, 0x1E13D, 0x1E14E, 0x1E14E, 0x1E290, 0x1E2AD, 0x1E2C0,
    0x1E2EB, 0x1E7E0, 0x1E7E6, 0x1E7E8, 0x1E7EB, 0x1E7ED, 0x1E7EE, 0x1E7F0, 0x1E7FE, 0x1E800,
    0x1E8C4, 0x1E900, 0x1E943, 0x1E94B, 0x1E94B, 0x1EE00, 0x1EE03, 0x1EE05, 0x1EE1F, 0x1EE21,
    0x1EE22, 0x1EE24, 0x1EE24, 0x1EE27, 0x1EE27, 0x1EE29, 0x1EE32, 0x1EE34, 0x1EE37, 0x1EE39,
    0x1EE39, 0x1EE3B, 0x1EE3B, 0x1EE42, 0x1EE42, 0x1EE47, 0x1EE47, 0x1EE49, 0x1EE49, 0x1EE4B,
    0x1EE4B, 0x1EE4D, 0x1EE4F, 0x1EE51, 0x1EE52, 0x1EE54, 0x1EE54, 0x1EE57, 0x1EE57, 0x1EE59,
    0x1EE59, 0x1EE5B, 0x1EE5B, 0x1EE5D, 0x1EE5D, 0x1EE5F, 0x1EE5F, 0x1EE61, 0x1EE62, 0x1EE64,
    0x1EE64, 0x1EE67, 0x1EE6A, 0x1EE6C, 0x1EE72, 0x1EE74, 0x1EE77, 0x1EE79, 0x1EE7C, 0x1EE7E,
    0x1EE7E, 0x1EE80, 0x1EE89, 0x1EE8B, 0x1EE9B, 0x1EEA1, 0x1EEA3, 0x1EEA5, 0x1EEA9, 0x1EEAB,
    0x1EEBB, 0x20000, 0x2A6DF, 0x2A700, 0x2B738, 0x2B740, 0x2B81D, 0x2B820, 0x2CEA1, 0x2CEB0,
    0x2EBE0, 0x2F800, 0x2FA1D, 0x30000, 0x3134A,
];

/// Go's `unicode.IsDigit` (category Nd) above ASCII.
/// Pairs of inclusive bounds (Unicode 14.0.0), sorted; ASCII is handled by the callers.
const DIGITS: &[u32] = &[
    0x660, 0x669, 0x6F0, 0x6F9, 0x7C0, 0x7C9, 0x966, 0x96F, 0x9E6, 0x9EF, 0xA66, 0xA6F, 0xAE6,
    0xAEF, 0xB66, 0xB6F, 0xBE6, 0xBEF, 0xC66, 0xC6F, 0xCE6, 0xCEF, 0xD66, 0xD6F, 0xDE6, 0xDEF,
    0xE50, 0xE59, 0xED0, 0xED9, 0xF20, 0xF29, 0x1040, 0x1049, 0x1090, 0x1099, 0x17E0, 0x17E9,
    0x1810, 0x1819, 0x1946, 0x194F, 0x19D0, 0x19D9, 0x1A80, 0x1A89, 0x1A90, 0x1A99, 0x1B50, 0x1B59,
    0x1BB0, 0x1BB9, 0x1C40, 0x1C49, 0x1C50, 0x1C59, 0xA620, 0xA629, 0xA8D0, 0xA8D9, 0xA900, 0xA909,
    0xA9D0, 0xA9D9, 0xA9F0, 0xA9F9, 0xAA50, 0xAA59, 0xABF0, 0xABF9, 0xFF10, 0xFF19, 0x104A0,
    0x104A9, 0x10D30, 0x10D39, 0x11066, 0x1106F, 0x110F0, 0x110F9, 0x11136, 0x1113F, 0x111D0,
    0x111D9, 0x112F0, 0x112F9, 0x11450, 0x11459, 0x114D0, 0x114D9, 0x11650, 0x11659, 0x116C0,
    0x116C9, 0x11730, 0x11739, 0x118E0, 0x118E9, 0x11950, 0x11959, 0x11C50, 0x11C59, 0x11D50,
    0x11D59, 0x11DA0, 0x11DA9, 0x16A60, 0x16A69, 0x16AC0, 0x16AC9, 0x16B50, 0x16B59, 0x1D7CE,
    0x1D7FF, 0x1E140, 0x1E149, 0x1E2F0, 0x1E2F9, 0x1E950, 0x1E959, 0x1FBF0, 0x1FBF9,
];

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
