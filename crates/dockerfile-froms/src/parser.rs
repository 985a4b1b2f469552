//! The Dockerfile parser: parser directives, physical lines, continuations, comments,
//! heredocs, and the split of each logical line into instruction, flags and arguments —
//! BuildKit's `frontend/dockerfile/parser` package, rewritten.

use std::borrow::Cow;

use crate::shell::{self, EmptyEnv, LexOptions};
use crate::text::{go_quote, is_go_space, is_go_space_byte, split_blank};

/// The longest physical line BuildKit's line scanner accepts (`bufio.MaxScanTokenSize - 1`).
pub(crate) const MAX_LINE: usize = 64 * 1024 - 1;

/// A heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heredoc {
    /// The terminator word, quotes removed.
    pub name: String,
    /// `<<-`: leading tabs are stripped.
    pub chomp: bool,
    /// Unquoted terminator: the content is subject to expansion.
    pub expand: bool,
    /// The body (each line with its line ending).
    pub content: String,
}

/// One instruction as the parser sees it (BuildKit's AST `Node`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// The instruction keyword as written (`FrOm`).
    pub cmd: String,
    /// The `--flag[=value]` words before the arguments.
    pub flags: Vec<String>,
    /// The arguments, flattened as BuildKit's `nodeArgs` does (for ONBUILD: the trigger's
    /// keyword followed by its arguments).
    pub args: Vec<String>,
    /// Arguments were given as a JSON array.
    pub json: bool,
    /// The trigger of an ONBUILD instruction.
    pub sub: Option<Box<Node>>,
    /// Heredocs attached to this instruction.
    pub heredocs: Vec<Heredoc>,
    /// The logical line.
    pub original: String,
    /// First physical line (1-based).
    pub start_line: usize,
    /// Last physical line (1-based), heredoc bodies included.
    pub end_line: usize,
    /// Comments directly above the instruction.
    pub comments: Vec<String>,
}

/// A parse failure: BuildKit's message and the lines it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub message: String,
    pub line: usize,
}

/// The parsed file.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub nodes: Vec<Node>,
    pub escape: char,
    /// Lines (1-based) of instructions that contained an empty continuation line.
    pub empty_continuations: Vec<usize>,
}

/// The recognised parser directives.
const DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// A parser directive found at the top of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    pub name: String,
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// BuildKit's `DirectiveParser`: directives must come first, each at most once.
#[derive(Debug, Clone)]
pub(crate) struct DirectiveParser {
    prefix: &'static str,
    line: usize,
    seen: Vec<String>,
    done: bool,
}

impl DirectiveParser {
    pub(crate) fn new(prefix: &'static str, first_line: usize) -> DirectiveParser {
        DirectiveParser {
            prefix,
            line: first_line,
            seen: Vec::new(),
            done: false,
        }
    }

    /// Looks at one line; `Ok(Some)` for a directive, `Err` for a repeated one.
    pub(crate) fn parse_line(&mut self, line: &str) -> Result<Option<Directive>, String> {
        self.line += 1;
        if self.done {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix(self.prefix) else {
            self.done = true;
            return Ok(None);
        };
        let rest = rest.trim_start_matches(is_go_space);
        let Some((key, value)) = match_directive(rest) else {
            self.done = true;
            return Ok(None);
        };
        let key = key.to_ascii_lowercase();
        if !DIRECTIVES.contains(&key.as_str()) {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        Ok(Some(Directive {
            name: key,
            value: value.to_string(),
            line: self.line,
        }))
    }
}

fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{0c}' | '\r' | ' ')
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn match_directive(s: &str) -> Option<(&str, &str)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let key_end = s
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(s.len(), |(i, _)| i);
    let key = &s[..key_end];
    let rest = s[key_end..].trim_start_matches(is_re_space);
    let rest = rest.strip_prefix('=')?;
    let value = rest.trim_start_matches(is_re_space);
    let value = value.trim_end_matches(is_re_space);
    if value.is_empty() || value.contains('\n') {
        return None;
    }
    Some((key, value))
}

/// Strips a UTF-8 byte-order mark.
pub(crate) fn discard_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

/// BuildKit's `ParseDirective`/`DetectSyntax`: the first value of directive `key` at the top
/// of the file (after a BOM and a `#!` line), with its 1-based line. With `any_format`,
/// `// key=` and a JSON object are also accepted.
pub(crate) fn find_directive(text: &str, key: &str, any_format: bool) -> Option<(String, usize)> {
    let text = discard_bom(text);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let (body, first_line) = if first.starts_with("#!") {
        (rest, 1)
    } else {
        (text, 0)
    };
    let prefixes: &[&'static str] = if any_format { &["#", "//"] } else { &["#"] };
    for prefix in prefixes {
        let mut parser = DirectiveParser::new(prefix, first_line);
        for line in scan_lines_plain(body) {
            if parser.done {
                break;
            }
            match parser.parse_line(line) {
                Ok(Some(d)) if d.name == key => return Some((d.value, d.line)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    if any_format {
        if let Some(v) = crate::json::object_string_field(body, key) {
            return Some((v, first_line));
        }
    }
    None
}

/// Lines as Go's default `bufio.ScanLines` yields them (no `\n`, one trailing `\r` dropped).
fn scan_lines_plain(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        if r.is_empty() {
            rest = None;
            return None;
        }
        let (line, next) = match r.find('\n') {
            Some(i) => (&r[..i], Some(&r[i + 1..])),
            None => (r, None),
        };
        rest = next;
        Some(line.strip_suffix('\r').unwrap_or(line))
    })
}

/// Physical lines with their endings, as BuildKit's `scanLines` splits them.
struct Lines<'a> {
    rest: &'a str,
    too_long: bool,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<&'a str> {
        if self.too_long || self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let line = &self.rest[..end];
        let content = line.strip_suffix('\n').unwrap_or(line);
        if content.len() > MAX_LINE {
            self.too_long = true;
            return None;
        }
        self.rest = &self.rest[end..];
        Some(line)
    }
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(s: &str) -> bool {
    s.trim_start_matches(is_go_space).starts_with('#')
}

/// Removes a trailing continuation character; `true` when the logical line ends here.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape) {
        if before.is_empty() {
            return ("", false);
        }
        if !before.ends_with(escape) {
            return (before, false);
        }
    }
    (line, true)
}

struct State {
    escape: char,
    directives: DirectiveParser,
}

impl State {
    /// BuildKit's `processLine`: trims the line ending (and leading space), looks for a
    /// directive, and blanks comments.
    fn process_line<'a>(
        &mut self,
        raw: &'a str,
        strip_left: bool,
    ) -> Result<(&'a str, bool), String> {
        let mut token = trim_newline(raw);
        if strip_left {
            token = token.trim_start_matches(is_go_space);
        }
        let directive = self.directives.parse_line(token)?;
        let mut found = false;
        if let Some(d) = directive {
            found = true;
            if d.name == "escape" {
                match d.value.as_str() {
                    "\\" => self.escape = '\\',
                    "`" => self.escape = '`',
                    other => {
                        return Err(format!(
                            "invalid escape token '{other}' does not match ` or \\"
                        ))
                    }
                }
            }
        }
        if is_comment(token) {
            return Ok(("", found));
        }
        Ok((token, found))
    }
}

/// Parses Dockerfile text into instructions.
pub(crate) fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut state = State {
        escape: '\\',
        directives: DirectiveParser::new("#", 0),
    };
    let mut lines = Lines {
        rest: discard_bom(text),
        too_long: false,
    };
    let mut current = 0usize;
    let mut nodes = Vec::new();
    let mut empty_continuations = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    while let Some(raw) = lines.next_line() {
        if is_comment(raw) {
            // BuildKit drops the first byte of the raw line, whatever it is.
            let comment = String::from_utf8_lossy(&raw.as_bytes()[1..]);
            let comment = comment.trim();
            if comment.is_empty() {
                comments.clear();
            } else {
                comments.push(comment.to_string());
            }
        }
        let (token, directive) = state
            .process_line(raw, true)
            .map_err(|message| ParseError {
                message,
                line: current + 1,
            })?;
        if directive {
            comments.pop();
        }
        current += 1;
        let start = current;
        let (first, mut end_of_line) = trim_continuation(token, state.escape);
        if end_of_line && first.is_empty() {
            continue;
        }
        let mut buf = first.to_string();
        let mut has_empty = false;
        while !end_of_line {
            let Some(raw) = lines.next_line() else { break };
            let (token, _) = state
                .process_line(raw, false)
                .map_err(|message| ParseError {
                    message,
                    line: current + 1,
                })?;
            current += 1;
            if is_comment(raw) {
                continue;
            }
            if trim_newline(token)
                .trim_start_matches(is_go_space)
                .is_empty()
            {
                has_empty = true;
                continue;
            }
            let (part, eol) = trim_continuation(token, state.escape);
            end_of_line = eol;
            buf.push_str(part);
        }
        if has_empty {
            empty_continuations.push(current);
        }
        let err_at = |message: String| ParseError {
            message,
            line: start,
        };
        let mut node = node_from_line(&buf, state.escape).map_err(err_at)?;
        node.comments = std::mem::take(&mut comments);
        if can_contain_heredoc(&node) && buf.contains("<<") {
            let docs = heredocs_from_line(&buf).map_err(err_at)?;
            for mut doc in docs {
                let mut terminated = false;
                let mut content = String::new();
                while let Some(raw) = lines.next_line() {
                    current += 1;
                    let mut candidate = trim_newline(raw);
                    if doc.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == doc.name {
                        terminated = true;
                        break;
                    }
                    content.push_str(raw);
                }
                if !terminated {
                    return Err(ParseError {
                        message: "unterminated heredoc".into(),
                        line: start,
                    });
                }
                doc.content = content;
                node.heredocs.push(doc);
            }
        }
        node.start_line = start;
        node.end_line = current;
        if let Some(sub) = node.sub.as_mut() {
            sub.start_line = start;
            sub.end_line = current;
        }
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ParseError {
            message: "file with no instructions".into(),
            line: current,
        });
    }
    if lines.too_long {
        return Err(ParseError {
            message: format!("dockerfile line greater than max allowed size of {MAX_LINE}"),
            line: current + 1,
        });
    }
    Ok(Parsed {
        nodes,
        escape: state.escape,
        empty_continuations,
    })
}

fn can_contain_heredoc(node: &Node) -> bool {
    let node = match &node.sub {
        Some(sub) if node.cmd.eq_ignore_ascii_case("onbuild") => sub,
        _ => node,
    };
    let cmd = node.cmd.to_ascii_lowercase();
    matches!(cmd.as_str(), "add" | "copy" | "run") && !node.json
}

/// Splits a logical line into keyword, flags and the (trimmed) rest.
fn split_command(line: &str, escape: char) -> (String, Vec<String>, Cow<'_, str>) {
    let trimmed = line.trim();
    match trimmed.find(crate::text::is_ascii_blank) {
        None => (trimmed.to_string(), Vec::new(), Cow::Borrowed("")),
        Some(i) => {
            let after = trimmed[i..].trim_start_matches(crate::text::is_ascii_blank);
            let (rest, flags) = extract_flags(after, escape);
            let rest = match rest {
                Cow::Borrowed(r) => Cow::Borrowed(r.trim()),
                Cow::Owned(r) => Cow::Owned(r.trim().to_string()),
            };
            (trimmed[..i].to_string(), flags, rest)
        }
    }
}

/// BuildKit's `newNodeFromLine`: splits the keyword, flags and arguments and parses the
/// arguments the way the keyword wants. `ONBUILD` nests; the nesting is unrolled so that
/// no input can exhaust the stack or take quadratic time.
pub(crate) fn node_from_line(line: &str, escape: char) -> Result<Node, String> {
    let (cmd, flags, rest) = split_command(line, escape);
    if !cmd.eq_ignore_ascii_case("onbuild") || rest.is_empty() {
        let rest = rest.into_owned();
        return leaf_node(line, cmd, flags, rest, escape);
    }
    let mut node = Node {
        cmd,
        flags,
        original: line.to_string(),
        ..Node::default()
    };
    // Walk down `ONBUILD ONBUILD … X`: every keyword becomes an argument of the top node.
    let mut first: Option<Node> = None;
    let mut buf = rest.into_owned();
    let mut start = 0;
    loop {
        let text = &buf[start..];
        let (cmd, flags, rest) = split_command(text, escape);
        let nested = cmd.eq_ignore_ascii_case("onbuild") && !rest.is_empty();
        node.args.push(cmd.clone());
        if !nested {
            let rest = rest.into_owned();
            let leaf = leaf_node(text, cmd, flags, rest, escape)?;
            node.args.extend(leaf.args.iter().cloned());
            node.sub = Some(Box::new(first.unwrap_or(leaf)));
            return Ok(node);
        }
        if first.is_none() {
            first = Some(Node {
                cmd,
                flags,
                original: text.to_string(),
                ..Node::default()
            });
        }
        let next = match rest {
            Cow::Borrowed(r) => Err(r.as_ptr() as usize - buf.as_ptr() as usize),
            Cow::Owned(o) => Ok(o),
        };
        match next {
            Err(offset) => start = offset,
            Ok(owned) => {
                buf = owned;
                start = 0;
            }
        }
    }
}

fn leaf_node(
    line: &str,
    cmd: String,
    flags: Vec<String>,
    rest: String,
    escape: char,
) -> Result<Node, String> {
    let mut node = Node {
        cmd: cmd.clone(),
        flags,
        original: line.to_string(),
        ..Node::default()
    };
    match cmd.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => {
            match parse_json(&rest)? {
                Some(args) => {
                    node.args = args;
                    node.json = true;
                }
                None => node.args = whitespace_delimited(&rest),
            };
        }
        "cmd" | "entrypoint" | "run" | "shell" if !rest.is_empty() => match parse_json(&rest)? {
            Some(args) => {
                node.args = args;
                node.json = true;
            }
            None => node.args = vec![rest],
        },
        "arg" => node.args = parse_words(&rest, escape),
        "env" => node.args = parse_name_val(&rest, "ENV", escape)?,
        "label" => node.args = parse_name_val(&rest, "LABEL", escape)?,
        "expose" | "from" => node.args = whitespace_delimited(&rest),
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest.is_empty() => {
            node.args = vec![rest];
        }
        "healthcheck" => {
            let bytes = rest.as_bytes();
            let sep = bytes
                .iter()
                .position(|&b| is_go_space_byte(b))
                .unwrap_or(bytes.len());
            let next = bytes[sep..]
                .iter()
                .position(|&b| !is_go_space_byte(b))
                .map_or(bytes.len(), |p| sep + p);
            if sep > 0 {
                let typ = String::from_utf8_lossy(&bytes[..sep]).into_owned();
                let cmd_text = String::from_utf8_lossy(&bytes[next..]).into_owned();
                node.args.push(typ);
                if !cmd_text.is_empty() {
                    match parse_json(&cmd_text)? {
                        Some(args) => {
                            node.args.extend(args);
                            node.json = true;
                        }
                        None => node.args.push(cmd_text),
                    }
                }
            }
        }
        _ => {}
    }
    Ok(node)
}

fn whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        Vec::new()
    } else {
        split_blank(rest, None)
    }
}

/// `Ok(Some)` for a JSON array of strings, `Ok(None)` when the text is not a JSON array,
/// `Err` for a JSON array holding something other than strings.
fn parse_json(rest: &str) -> Result<Option<Vec<String>>, String> {
    let rest = rest.trim_start_matches(is_go_space);
    if !rest.starts_with('[') {
        return Ok(None);
    }
    match crate::json::parse_array(rest) {
        None => Ok(None),
        Some(Err(())) => {
            Err("when using JSON array syntax, arrays must be comprised of strings only".into())
        }
        Some(Ok(items)) => Ok(Some(items)),
    }
}

/// BuildKit's `extractBuilderFlags`, byte for byte: returns the rest of the line and the flags.
fn extract_flags(line: &str, escape: char) -> (Cow<'_, str>, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let bytes = line.as_bytes();
    let esc = u32::from(escape);
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= bytes.len() {
        let at_end = pos == bytes.len();
        let ch = if at_end { 0 } else { bytes[pos] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_go_space_byte(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == bytes.len() || bytes[pos + 1] != b'-' {
                return (rest_at(line, pos), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            return (Cow::Borrowed(""), words);
        }
        if phase == Phase::Word {
            if is_go_space_byte(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (rest_at(line, pos), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if u32::from(c) == esc {
                if pos + 1 == bytes.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = bytes[pos];
            }
            word.push(char::from(c));
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if u32::from(c) == esc {
            if pos + 1 == bytes.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = bytes[pos];
        }
        word.push(char::from(c));
        pos += 1;
    }
    (Cow::Borrowed(""), words)
}

fn rest_at(line: &str, pos: usize) -> Cow<'_, str> {
    match line.get(pos..) {
        Some(rest) => Cow::Borrowed(rest),
        None => String::from_utf8_lossy(&line.as_bytes()[pos..]),
    }
}

/// BuildKit's `parseWords`: splits on whitespace, keeping quotes and escapes in the words.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut chars = rest.chars().peekable();
    loop {
        let Some(ch) = chars.next() else {
            if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            return words;
        };
        match phase {
            Phase::Spaces => {
                if is_go_space(ch) {
                    continue;
                }
                phase = Phase::Word;
                word_char(
                    ch,
                    &mut chars,
                    &mut phase,
                    &mut quote,
                    &mut blank_ok,
                    &mut word,
                    escape,
                );
            }
            Phase::Word => {
                if is_go_space(ch) {
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    continue;
                }
                word_char(
                    ch,
                    &mut chars,
                    &mut phase,
                    &mut quote,
                    &mut blank_ok,
                    &mut word,
                    escape,
                );
            }
            Phase::Quote => {
                if ch == quote {
                    phase = Phase::Word;
                }
                if ch == escape && quote != '\'' {
                    match chars.next() {
                        None => {
                            phase = Phase::Word;
                            continue;
                        }
                        Some(next) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
        }
    }

    fn word_char(
        ch: char,
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        phase: &mut Phase,
        quote: &mut char,
        blank_ok: &mut bool,
        word: &mut String,
        escape: char,
    ) {
        if ch == '\'' || ch == '"' {
            *quote = ch;
            *blank_ok = true;
            *phase = Phase::Quote;
        }
        if ch == escape {
            match chars.next() {
                None => return,
                Some(next) => {
                    word.push(ch);
                    word.push(next);
                    return;
                }
            }
        }
        word.push(ch);
    }
}

/// ENV/LABEL arguments as (key, value, separator) triples.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    if !words[0].contains('=') {
        let parts = split_blank(rest, Some(2));
        if parts.len() < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(vec![parts[0].clone(), parts[1].clone(), String::new()]);
    }
    let mut out = Vec::new();
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                go_quote(&word)
            ));
        };
        out.push(k.to_string());
        out.push(v.to_string());
        out.push("=".to_string());
    }
    Ok(out)
}

/// `^(\d*)<<(-?)\s*([^<]*)$` on one word: `(chomp, rest)`.
fn match_heredoc(word: &str) -> Option<(bool, &str)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(is_re_space);
    if rest.contains('<') {
        return None;
    }
    Some((chomp, rest))
}

/// Splits `text` into words as BuildKit's parser does to find heredocs: its shell lexer
/// with `\` as the escape character, over an empty environment, leaving every variable
/// reference as written (`SkipUnsetEnv`).
fn heredoc_words(text: &str, options: LexOptions) -> Result<Vec<String>, String> {
    let options = LexOptions {
        skip_unset_env: true,
        ..options
    };
    shell::process_words_with(text, &EmptyEnv, '\\', options).map_err(|e| e.to_string())
}

/// BuildKit's `ParseHeredoc` on one word: `Ok(None)` when the word is no heredoc.
pub(crate) fn parse_heredoc(word: &str) -> Result<Option<Heredoc>, String> {
    let Some((chomp, rest)) = match_heredoc(word) else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let words = heredoc_words(rest, LexOptions::default())?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw = heredoc_words(
        rest,
        LexOptions {
            raw_quotes: true,
            ..LexOptions::default()
        },
    )?;
    if raw.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let count = |s: &str| s.matches(['\'', '"']).count();
    Ok(Some(Heredoc {
        name: words[0].clone(),
        chomp,
        expand: count(&words[0]) == count(&raw[0]),
        content: String::new(),
    }))
}

fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let raw = LexOptions {
        raw_quotes: true,
        raw_escapes: true,
        ..LexOptions::default()
    };
    // BuildKit ignores the lexer's error here: a line it cannot split has no heredocs.
    let words = heredoc_words(line, raw).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Vec<String>> {
        parse(text)
            .unwrap()
            .nodes
            .into_iter()
            .map(|n| n.args)
            .collect()
    }

    #[test]
    fn heredoc_words_keep_quotes_when_asked() {
        let raw = LexOptions {
            raw_quotes: true,
            raw_escapes: true,
            ..LexOptions::default()
        };
        assert_eq!(
            heredoc_words(r#"COPY <<"EOF" /x"#, raw).unwrap(),
            vec!["COPY", "<<\"EOF\"", "/x"]
        );
        assert_eq!(
            heredoc_words(r#""EOF""#, LexOptions::default()).unwrap(),
            vec!["EOF"]
        );
        assert_eq!(heredoc_words("<< EOF", raw).unwrap(), vec!["<< EOF"]);
        assert_eq!(
            heredoc_words("$A ${B:-x} ${C//y/z}", raw).unwrap(),
            vec!["$A", "${B:-x}", "${C/y/z}"]
        );
        assert_eq!(
            heredoc_words("echo \"x", raw).unwrap_err(),
            "failed to process \"echo \\\"x\": unexpected end of statement while looking for matching double-quote"
        );
    }

    #[test]
    fn heredoc_words_follow_buildkit_lexer() {
        // Checked against BuildKit's `shell.Lex` (Go): text/scanner drops a leading BOM,
        // names are Unicode letters and digits (`²` is neither), and nesting is unlimited
        // there (here up to 200 levels).
        let doc = parse_heredoc("<<\u{feff}EOF").unwrap().unwrap();
        assert_eq!(doc.name, "EOF");
        assert_eq!(
            parse_heredoc("<<${x²}").unwrap_err(),
            "failed to process \"${x²}\": unsupported modifier (²) in substitution"
        );
        let deep = format!("{}x{}", "${A:-".repeat(150), "}".repeat(150));
        let doc = parse_heredoc(&format!("<<{deep}")).unwrap().unwrap();
        assert_eq!(doc.name, deep);
    }

    #[test]
    fn flags_are_split_from_arguments() {
        let node = node_from_line("COPY --from=\"a b\" --link src dst", '\\').unwrap();
        assert_eq!(node.flags, vec!["--from=a b", "--link"]);
        assert_eq!(node.args, vec!["src", "dst"]);
    }

    #[test]
    fn continuation_and_comments() {
        assert_eq!(
            args("FROM \\\n# c \\\nalpine\n"),
            vec![vec!["alpine".to_string()]]
        );
        let parsed = parse("FROM \\\n\n  alpine\n").unwrap();
        assert_eq!(parsed.empty_continuations, vec![3]);
    }

    #[test]
    fn directives() {
        let parsed = parse("# escape=`\nFROM a`\n:1\n").unwrap();
        assert_eq!(parsed.escape, '`');
        assert_eq!(parsed.nodes[0].args, vec!["a:1"]);
        let err = parse("# escape=\\\n# escape=`\nFROM a\n").unwrap_err();
        assert_eq!(err.message, "only one escape parser directive can be used");
    }

    #[test]
    fn heredocs() {
        let parsed = parse("RUN <<-EOT cat\n\tx\n\tEOT\nFROM a\n").unwrap();
        assert_eq!(parsed.nodes.len(), 2);
        assert_eq!(parsed.nodes[0].heredocs[0].content, "\tx\n");
        assert_eq!(parsed.nodes[0].end_line, 3);
        let doc = parse_heredoc("<<'EOF'").unwrap().unwrap();
        assert_eq!(doc.name, "EOF");
        assert!(!doc.expand);
    }

    #[test]
    fn directive_syntax_detection() {
        assert_eq!(
            find_directive("#!/x\n# syntax=a/b:1 x\n", "syntax", true),
            Some(("a/b:1 x".to_string(), 2))
        );
        assert_eq!(find_directive("  # syntax=a\nFROM x", "syntax", true), None);
        assert_eq!(
            find_directive("// syntax=a\n", "syntax", true),
            Some(("a".to_string(), 1))
        );
    }
    #[test]
    fn line_numbers_like_buildkits_testfile_line() {
        let text = "# ESCAPE=\\\n\n\n\nFROM brimstone/ubuntu:14.04\n\n\n# TORUN -v /var/run/docker.sock:/var/run/docker.sock\n\n\nENV GOPATH \\\n/go\n\n\n\n# Install the packages we need, clean up after them and us\nRUN apt-get update \\\n\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\\n\n\n    && apt-get --no-install-recommends install -y git golang ca-certificates \\\n    && apt-get clean \\\n    && rm -rf /var/lib/apt/lists \\\n\n\t&& go get -v github.com/brimstone/consuldock \\\n    && mv $GOPATH/bin/consuldock /usr/local/bin/consuldock \\\n\n\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\\n\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print $2}') \\\n\t&& rm /tmp/dpkg.* \\\n\t&& rm -rf $GOPATH\n\n\n\n\n";
        let parsed = parse(text).unwrap();
        let lines: Vec<(usize, usize)> = parsed
            .nodes
            .iter()
            .map(|n| (n.start_line, n.end_line))
            .collect();
        assert_eq!(lines, vec![(5, 5), (11, 12), (17, 31)]);
        assert_eq!(parsed.empty_continuations, vec![31]);
    }

    #[test]
    fn words_like_buildkits_parse_words() {
        for (input, want) in [
            ("foo", vec!["foo"]),
            ("foo bar", vec!["foo", "bar"]),
            ("foo\\ bar", vec!["foo\\ bar"]),
            ("foo=bar", vec!["foo=bar"]),
            ("foo bar 'abc xyz'", vec!["foo", "bar", "'abc xyz'"]),
            ("foo bar \"abc xyz\"", vec!["foo", "bar", "\"abc xyz\""]),
            ("àöû", vec!["àöû"]),
            ("föo bàr \"âbc xÿz\"", vec!["föo", "bàr", "\"âbc xÿz\""]),
        ] {
            assert_eq!(parse_words(input, '\\'), want, "{input:?}");
        }
    }
}
