//! One ignore pattern, validated, compiled and matched as moby/patternmatcher does it.
//!
//! patternmatcher checks a pattern with Go's `filepath.Match(pattern, ".")`, then turns it
//! into one of four matchers: an exact string, a prefix (`dir/**`), a suffix (`**/name`) or
//! a Go regular expression built from the pattern text. Go's `regexp` package then reads
//! that text, so its quirks are part of `.dockerignore` semantics: `\d` is a digit class,
//! `[[:alpha:]]` a POSIX class, `[*]` becomes `[[^/]*]`, a class followed by a literal
//! `]`, and `|`, `{`, `}` stay unescaped (patternmatcher's escape bitmap shifts them out of
//! a byte), so `a*|b` is an alternation and `x{2}*` a counted repeat. This module builds the
//! same expression text and hands it to [`go_regexp`], which reads it as Go does.

/// Why a pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// Go's `filepath.ErrBadPattern`.
    Syntax,
    /// The regular expression patternmatcher builds is one Go would not compile.
    Regex(go_regexp::Error),
}

impl PatternError {
    /// The message shown to users: patternmatcher's (and Go's) words.
    pub(crate) fn message(&self) -> String {
        match self {
            PatternError::Syntax => "syntax error in pattern".to_owned(),
            PatternError::Regex(error) => error.to_string(),
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
    Regex(go_regexp::Regex),
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
            Kind::Regex => {
                Pattern::Regex(go_regexp::Regex::new(&regex).map_err(PatternError::Regex)?)
            }
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
            Pattern::Regex(regex) => regex.is_match(text),
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
        let message = |pattern| compile(pattern).unwrap_err().message();
        assert_eq!(
            message("[Local-Only]"),
            "error parsing regexp: invalid character class range: `l-O`"
        );
        assert_eq!(
            message("\\y"),
            "error parsing regexp: invalid escape sequence: `\\y`"
        );
        assert_eq!(
            message("[[:nope:]]"),
            "error parsing regexp: invalid character class range: `[:nope:]`"
        );
        // filepath.Match stops at the failed chunk; Go's regexp sees the open class.
        assert_eq!(
            message("a*["),
            "error parsing regexp: missing closing ]: `[$`"
        );
        assert_eq!(message("[a"), "syntax error in pattern");
        // Unicode classes are Go's.
        assert!(compile("\\pL").unwrap().matches("é"));
        assert!(!compile("\\pL").unwrap().matches("1"));
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
        let message = |pattern| compile(pattern).unwrap_err().message();
        assert_eq!(
            message("*{2}"),
            "error parsing regexp: invalid nested repetition operator: `*{2}`"
        );
        assert_eq!(
            message("a{1001}*"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(
            message("*|{2}"),
            "error parsing regexp: missing argument to repetition operator: `{2}`"
        );
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
