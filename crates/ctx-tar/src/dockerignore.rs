//! `.dockerignore` rules: parsed, compiled and applied exactly as BuildKit does.
//!
//! Three layers, each after the Go code BuildKit runs:
//!
//! - reading the file: moby/patternmatcher's `ignorefile.ReadAll` (BOM, `#` comments,
//!   trimming, `filepath.Clean`, leading `/` removed);
//! - compiling each pattern: `patternmatcher.New` and its lazy regexp compilation (`*`,
//!   `?`, `[...]`, `\` escapes, `**`, and the Go `regexp` quirks that show through, such
//!   as `\d` being a digit class and `|` an alternation); a pattern Go's `regexp` would
//!   reject is an error at parse time rather than on first use;
//! - deciding what is sent: tonistiigi/fsutil's filtered walk, which calls
//!   `MatchesUsingParentResults` for every path (so a pattern matches through parent
//!   directories and the last matching rule wins), skips an excluded directory's contents
//!   only when no exception could re-include anything below it ([`IgnoreRules::can_prune`]),
//!   and sends the excluded parent directories of a re-included path just before it.
//!
//! The same matcher serves as the walk's include patterns when only some paths are sent
//! (BuildKit's `FollowPaths`, resolved by fsutil into `IncludePatterns`): a path is sent
//! when an include pattern matches it or a parent and no ignore rule excludes it, and the
//! directories on the way are sent as its parents.
//!
//! [`WalkFilter`] packages the walk logic for a real file-system walker;
//! [`IgnoreRules::select`] runs it over an in-memory tree.
//!
//! Known gap: paths are `&str`, so a walker must decide what to do with non-UTF-8 names.
//!
//! ```
//! use ctx_tar::dockerignore::IgnoreRules;
//!
//! let rules = IgnoreRules::parse("*\n!**/*.go\n").unwrap();
//! let sent = rules.select(&[("src/main.go", false), ("README.md", false)]);
//! let paths: Vec<_> = sent.iter().map(|s| s.path.as_str()).collect();
//! assert_eq!(paths, ["src", "src/main.go"]);
//! assert!(sent[0].only_as_parent);
//!
//! let why = rules.explain("README.md");
//! assert!(why.excluded);
//! assert_eq!(rules.rules()[why.rule.unwrap()].to_string(), "1: *");
//! ```

mod pattern;

use std::collections::BTreeMap;
use std::fmt;

pub(crate) use pattern::filepath_match;
use pattern::Pattern;

/// The longest line Go's `bufio.Scanner` (used by `ignorefile.ReadAll`) accepts, in bytes.
const MAX_LINE: usize = 64 * 1024 - 1;

/// One rule of an ignore file: a pattern, or an exception (`!pattern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line in the ignore file.
    pub line: usize,
    /// The line's text as written (trimmed), e.g. `!node_modules/keep`.
    pub text: String,
    /// True for `!` exceptions, which re-include what they match.
    pub exception: bool,
    /// The pattern as matched: cleaned, without its `!` (e.g. `node_modules/keep`).
    pub pattern: String,
}

impl fmt::Display for Rule {
    /// `line: text`, so that a caller can print `.dockerignore:3: node_modules`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.text)
    }
}

/// An invalid ignore file, naming the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {text:?}: {message}")]
pub struct IgnoreError {
    /// 1-based line of the offending pattern.
    pub line: usize,
    /// The offending line's text (trimmed).
    pub text: String,
    /// What is wrong, in patternmatcher's words (`syntax error in pattern`,
    /// `illegal exclusion pattern: "!"`).
    pub message: String,
}

/// A compiled rule: what it says and how to match it.
#[derive(Debug, Clone)]
struct Compiled {
    exception: bool,
    pattern: Pattern,
}

/// The compiled rules of one ignore file.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
    compiled: Vec<Compiled>,
    /// fsutil's `onlyPrefixExcludeExceptions`: every exception, without a trailing `/*`
    /// or `/**`, is free of glob characters.
    only_prefix_exceptions: bool,
    /// For each exception: the pattern without its trailing glob, plus `/`.
    exception_prefixes: Vec<String>,
    /// The `/`-separated components of each pattern that is not an exception, for
    /// [`IgnoreRules::may_match_below`].
    pattern_parts: Vec<Vec<String>>,
    /// fsutil's `onlyPrefixIncludes`: every pattern that is not an exception, without a
    /// trailing `/*` or `/**`, is free of glob characters.
    only_prefix_patterns: bool,
    /// For each pattern that is not an exception: the pattern without its trailing glob,
    /// plus `/`.
    pattern_prefixes: Vec<String>,
}

impl Default for IgnoreRules {
    fn default() -> IgnoreRules {
        IgnoreRules {
            rules: Vec::new(),
            compiled: Vec::new(),
            only_prefix_exceptions: true,
            exception_prefixes: Vec::new(),
            pattern_parts: Vec::new(),
            only_prefix_patterns: true,
            pattern_prefixes: Vec::new(),
        }
    }
}

/// What the walker carries from a directory to its children (patternmatcher's `MatchInfo`:
/// which rules matched the directory). The default value means "no information", as for
/// entries at the top of the context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentMatch {
    matched: Vec<bool>,
}

/// The decision for one path: excluded or not, and which rule decided (an index into
/// [`IgnoreRules::rules`]); `None` when no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// True when the path is not sent.
    pub excluded: bool,
    /// The deciding rule.
    pub rule: Option<usize>,
}

/// What a walker does with one entry ([`WalkFilter::visit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visit {
    /// Send the entry, after sending `parents`: its excluded ancestor directories that
    /// have not been sent yet, outermost first (each sent only as a parent).
    Send {
        /// Ancestor directories to send first.
        parents: Vec<String>,
    },
    /// Do not send the entry; if it is a directory, still walk its contents.
    Skip(Left),
    /// Do not send this directory and do not walk its contents.
    SkipDir(Left),
}

/// Why an entry is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Left {
    /// No include pattern matches it (the build does not read it).
    NotUsed,
    /// An ignore rule excludes it.
    Excluded,
}

/// One entry of the context, as [`IgnoreRules::select`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Relative, `/`-separated path.
    pub path: String,
    /// True for directories.
    pub is_dir: bool,
    /// True for an excluded directory that is sent only because something below it is.
    pub only_as_parent: bool,
}

impl IgnoreRules {
    /// Parses ignore-file text (`.dockerignore`) and compiles its patterns.
    pub fn parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        IgnoreRules::compile(read_lines(text)?)
    }

    /// Compiles patterns that have already been read (BuildKit's `ExcludePatterns`, e.g.
    /// from a CLI flag): no comments, no ignore-file cleaning; pattern `n` is "line" `n+1`.
    pub fn from_patterns<I, S>(patterns: I) -> Result<IgnoreRules, IgnoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let lines = patterns.into_iter().enumerate().map(|(i, p)| {
            let text = p.as_ref().trim().to_owned();
            (i + 1, text, p.as_ref().to_owned())
        });
        IgnoreRules::compile(lines.collect())
    }

    /// `patternmatcher.New` and fsutil's `NewFilterFS`, over `(line, text, pattern)`.
    ///
    /// Go reports `New`'s errors (a lone `!`, `filepath.Match` syntax) for the whole list
    /// before a pattern's regexp is ever compiled, so those come first here too; regexp
    /// errors, which Go reports on first use, are then reported for the first such line.
    fn compile(lines: Vec<(usize, String, String)>) -> Result<IgnoreRules, IgnoreError> {
        let error = |line: usize, text: &str, message: &str| IgnoreError {
            line,
            text: text.to_owned(),
            message: message.to_owned(),
        };
        let mut checked = Vec::new();
        for (line, text, raw) in lines {
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let cleaned = clean(trimmed);
            let (exception, body) = match cleaned.strip_prefix('!') {
                Some("") => return Err(error(line, &text, "illegal exclusion pattern: \"!\"")),
                Some(body) => (true, body.to_owned()),
                None => (false, cleaned),
            };
            Pattern::validate(&body).map_err(|e| error(line, &text, &e.message()))?;
            checked.push(Rule {
                line,
                text,
                exception,
                pattern: body,
            });
        }
        let mut rules = IgnoreRules::default();
        for rule in checked {
            let pattern = Pattern::compile(&rule.pattern)
                .map_err(|e| error(rule.line, &rule.text, &e.message()))?;
            if rule.exception {
                let prefix = without_trailing_glob(&rule.pattern);
                if prefix.contains(['*', '[', ']', '?', '^', '\\']) {
                    rules.only_prefix_exceptions = false;
                }
                rules.exception_prefixes.push(format!("{prefix}/"));
            } else {
                let prefix = without_trailing_glob(&rule.pattern);
                if prefix.contains(['*', '[', ']', '?', '^', '\\']) {
                    rules.only_prefix_patterns = false;
                }
                rules.pattern_prefixes.push(format!("{prefix}/"));
                rules
                    .pattern_parts
                    .push(rule.pattern.split('/').map(str::to_owned).collect());
            }
            rules.compiled.push(Compiled {
                exception: rule.exception,
                pattern,
            });
            rules.rules.push(rule);
        }
        Ok(rules)
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True when there are no rules (everything is sent).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides one path (relative, `/`-separated, clean, no trailing slash) given its
    /// parent directory's state, and returns the state its children need.
    ///
    /// This is patternmatcher's `MatchesUsingParentResults`: a rule that matched the parent
    /// matches the child, the others are tried on the path itself (an exception only while
    /// the path is excluded, a pattern only while it is not), and the last match wins.
    /// With the default [`ParentMatch`], each rule is also tried on the path's ancestors.
    pub fn decide(&self, path: &str, parent: &ParentMatch) -> (Decision, ParentMatch) {
        let inherited = (parent.matched.len() == self.compiled.len() && !parent.matched.is_empty())
            .then_some(parent.matched.as_slice());
        let mut excluded = false;
        let mut rule = None;
        let mut matched = vec![false; self.compiled.len()];
        for (i, compiled) in self.compiled.iter().enumerate() {
            let mut hit = inherited.is_some_and(|m| m[i]);
            if !hit {
                if compiled.exception != excluded {
                    continue;
                }
                hit = compiled.pattern.matches(path)
                    || (inherited.is_none()
                        && ancestors(path).any(|dir| compiled.pattern.matches(dir)));
            }
            matched[i] = hit;
            if hit {
                excluded = !compiled.exception;
                rule = Some(i);
            }
        }
        (Decision { excluded, rule }, ParentMatch { matched })
    }

    /// Whether the walker may skip everything below excluded directory `dir` (no exception
    /// could re-include anything under it).
    ///
    /// fsutil's rule: never when some exception has glob characters (other than a
    /// trailing `/*` or `/**`); always when there are no exceptions; otherwise only when
    /// no exception's literal prefix lies inside `dir`. Only meaningful for a directory
    /// that [`decide`](Self::decide) excluded.
    pub fn can_prune(&self, dir: &str) -> bool {
        if !self.only_prefix_exceptions {
            return false;
        }
        let dir_slash = format!("{dir}/");
        !self
            .exception_prefixes
            .iter()
            .any(|p| p.starts_with(&dir_slash))
    }

    /// Whether some pattern (not an exception) could match a path strictly below `dir`:
    /// when not, a walk that sends only what the patterns match need not read `dir`.
    ///
    /// Exact for patterns whose components hold only plain characters, `*` and `?` (which
    /// never match `/`): `dir`'s components must match the pattern's first ones, and the
    /// pattern must have more. Any other pattern (`**`, classes, escapes, Go regexp
    /// characters such as an alternation `|` or a repeat `{n}`, which reach across
    /// components) may match anything.
    pub fn may_match_below(&self, dir: &str) -> bool {
        let dirs: Vec<&str> = dir.split('/').filter(|d| !d.is_empty()).collect();
        self.pattern_parts.iter().any(|parts| {
            if !parts.iter().all(|part| is_plain_glob(part)) {
                return true;
            }
            for (i, part) in parts.iter().enumerate() {
                let Some(name) = dirs.get(i) else {
                    return true;
                };
                if !filepath_match(part.as_bytes(), name.as_bytes()) {
                    return false;
                }
            }
            // The pattern matches `dir` or an ancestor, so everything below.
            true
        })
    }

    /// fsutil's `onlyPrefixIncludes`: no pattern (but a trailing `/*` or `/**`) has a glob
    /// character, so fsutil skips any directory not on the way to a pattern's literal
    /// prefix; otherwise it walks every directory.
    pub fn only_prefix_patterns(&self) -> bool {
        self.only_prefix_patterns
    }

    /// Whether a walk with these include patterns skips the unmatched directory `dir`
    /// unread, as BuildKit's file sync would not send anything below it: with only literal
    /// prefixes, fsutil's own rule (no pattern's prefix lies inside `dir`), which it
    /// applies even where a Go regexp character would let a pattern match below; otherwise,
    /// when [`may_match_below`](Self::may_match_below) rules out any match below.
    pub fn skips_unmatched_dir(&self, dir: &str) -> bool {
        if self.only_prefix_patterns {
            let dir_slash = format!("{dir}/");
            !self
                .pattern_prefixes
                .iter()
                .any(|p| p.starts_with(&dir_slash))
        } else {
            !self.may_match_below(dir)
        }
    }

    /// Decides one path from scratch (walking its parents as the walker would, including
    /// pruning), for `--explain`. A path below a pruned directory gets that directory's
    /// decision. Note that an excluded directory may still be sent as the parent of a
    /// re-included path; [`select`](Self::select) tells.
    pub fn explain(&self, path: &str) -> Decision {
        let mut parent = ParentMatch::default();
        for dir in ancestors(path) {
            let (decision, matched) = self.decide(dir, &parent);
            if decision.excluded && self.can_prune(dir) {
                return decision;
            }
            parent = matched;
        }
        self.decide(path, &parent).0
    }

    /// Runs the walk over an in-memory tree of `(path, is_dir)` entries (parents are
    /// implied) and returns what is sent, in walk order (depth first, names sorted).
    pub fn select(&self, tree: &[(&str, bool)]) -> Vec<Selected> {
        let mut entries: BTreeMap<Vec<&str>, bool> = BTreeMap::new();
        for &(path, is_dir) in tree {
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            for depth in 1..parts.len() {
                entries.insert(parts[..depth].to_vec(), true);
            }
            if !parts.is_empty() {
                let entry = entries.entry(parts).or_insert(false);
                *entry |= is_dir;
            }
        }
        let mut filter = WalkFilter::new(self);
        let mut skipped: Option<String> = None;
        let mut sent = Vec::new();
        for (parts, is_dir) in entries {
            let path = parts.join("/");
            if let Some(dir) = &skipped {
                if path.starts_with(dir.as_str()) {
                    continue;
                }
                skipped = None;
            }
            match filter.visit(&path, is_dir) {
                Visit::SkipDir(_) => skipped = Some(format!("{path}/")),
                Visit::Skip(_) => {}
                Visit::Send { parents } => {
                    sent.extend(parents.into_iter().map(|path| Selected {
                        path,
                        is_dir: true,
                        only_as_parent: true,
                    }));
                    sent.push(Selected {
                        path,
                        is_dir,
                        only_as_parent: false,
                    });
                }
            }
        }
        sent
    }
}

/// The state of one filtered walk (fsutil's `filterFS.Walk`): feed it every entry in walk
/// order (depth first, siblings sorted by name, a directory before its contents) and it
/// says what to send and where to descend.
#[derive(Debug)]
pub struct WalkFilter<'r> {
    rules: &'r IgnoreRules,
    includes: Option<&'r IgnoreRules>,
    open: Vec<OpenDir>,
}

/// A directory on the path from the root to the current entry.
#[derive(Debug)]
struct OpenDir {
    path: String,
    matched: ParentMatch,
    included: ParentMatch,
    sent: bool,
}

impl<'r> WalkFilter<'r> {
    /// Starts a walk at the context root that sends everything `rules` do not exclude.
    pub fn new(rules: &'r IgnoreRules) -> WalkFilter<'r> {
        WalkFilter {
            rules,
            includes: None,
            open: Vec::new(),
        }
    }

    /// Starts a walk that sends only what `includes` match (or is below a match), and of
    /// that only what `rules` do not exclude: fsutil's walk with `IncludePatterns` and
    /// `ExcludePatterns`.
    pub fn with_includes(rules: &'r IgnoreRules, includes: &'r IgnoreRules) -> WalkFilter<'r> {
        WalkFilter {
            rules,
            includes: Some(includes),
            open: Vec::new(),
        }
    }

    /// Decides the next entry of the walk (`path` relative and `/`-separated).
    pub fn visit(&mut self, path: &str, is_dir: bool) -> Visit {
        while let Some(top) = self.open.last() {
            let inside = path
                .strip_prefix(top.path.as_str())
                .is_some_and(|r| r.starts_with('/'));
            if inside {
                break;
            }
            self.open.pop();
        }
        let none = ParentMatch::default();
        let top = self.open.last();
        let mut left = None;
        let mut included = ParentMatch::default();
        if let Some(includes) = self.includes {
            let parent = top.map_or(&none, |d| &d.included);
            let (decision, matched) = includes.decide(path, parent);
            // For includes, "excluded" means "matched": the same matcher, read the other way.
            if !decision.excluded {
                if is_dir && includes.skips_unmatched_dir(path) {
                    return Visit::SkipDir(Left::NotUsed);
                }
                left = Some(Left::NotUsed);
            }
            included = matched;
        }
        let parent = top.map_or(&none, |d| &d.matched);
        let (decision, matched) = self.rules.decide(path, parent);
        if decision.excluded {
            if is_dir && self.rules.can_prune(path) {
                return Visit::SkipDir(left.unwrap_or(Left::Excluded));
            }
            left = left.or(Some(Left::Excluded));
        }
        if let Some(left) = left {
            if is_dir {
                self.open.push(OpenDir {
                    path: path.to_owned(),
                    matched,
                    included,
                    sent: false,
                });
            }
            return Visit::Skip(left);
        }
        let parents = self
            .open
            .iter_mut()
            .filter(|dir| !dir.sent)
            .map(|dir| {
                dir.sent = true;
                dir.path.clone()
            })
            .collect();
        if is_dir {
            self.open.push(OpenDir {
                path: path.to_owned(),
                matched,
                included,
                sent: true,
            });
        }
        Visit::Send { parents }
    }
}

/// Whether a pattern component matches as a plain shell glob: only `*` and `?` are
/// special, and nothing Go's `regexp` would read differently (patternmatcher builds its
/// expression from the text) or that could match a `/`.
fn is_plain_glob(part: &str) -> bool {
    !part.contains("**")
        && !part.bytes().any(|b| {
            matches!(
                b,
                b'[' | b']' | b'\\' | b'^' | b'|' | b'{' | b'}' | b'(' | b')' | b'+' | b'$'
            )
        })
}

/// The proper ancestors of a relative path, outermost first (`a`, `a/b` for `a/b/c`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(move |(i, _)| &path[..i])
        .filter(|dir| !dir.is_empty())
}

/// `ignorefile.ReadAll`: the patterns of an ignore file, as `(line, text, pattern)`.
fn read_lines(text: &str) -> Result<Vec<(usize, String, String)>, IgnoreError> {
    let mut out = Vec::new();
    let body = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Ok(out);
    }
    for (index, raw) in body.split('\n').enumerate() {
        let line = index + 1;
        if raw.len() > MAX_LINE {
            return Err(IgnoreError {
                line,
                text: String::new(),
                message: "bufio.Scanner: token too long".to_owned(),
            });
        }
        let mut raw = raw.strip_suffix('\r').unwrap_or(raw);
        if line == 1 {
            raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        }
        if raw.starts_with('#') {
            continue;
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let (invert, rest) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        let mut pattern = String::new();
        if !rest.is_empty() {
            pattern = clean(rest);
            if pattern.len() > 1 && pattern.starts_with('/') {
                pattern.remove(0);
            }
        }
        if invert {
            pattern.insert(0, '!');
        }
        out.push((line, trimmed.to_owned(), pattern));
    }
    Ok(out)
}

/// Go's `filepath.Clean` on Unix.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// fsutil's `patternWithoutTrailingGlob`: strips a trailing `/**`, then a trailing `/*`.
fn without_trailing_glob(pattern: &str) -> &str {
    let pattern = pattern.strip_suffix("/**").unwrap_or(pattern);
    pattern.strip_suffix("/*").unwrap_or(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(text: &str) -> Vec<String> {
        read_lines(text)
            .unwrap()
            .into_iter()
            .map(|(_, _, p)| p)
            .collect()
    }

    #[test]
    fn reads_like_ignorefile_read_all() {
        // ignorefile_test.go TestReadAll.
        let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
        assert_eq!(
            patterns(text),
            [
                "test1",
                "test2",
                "a/file/here",
                "lastfile",
                "!inverted/abs/path",
                "!",
                "!"
            ]
        );
        assert_eq!(patterns(""), Vec::<String>::new());
        assert_eq!(patterns("\u{feff}a\r\n\u{feff}b\r\n"), ["a", "\u{feff}b"]);
        assert_eq!(
            patterns("  #x\n#y\n./a/../b/\n/\n!/\n"),
            ["#x", "b", "/", "!/"]
        );
        let lines: Vec<usize> = read_lines("\n# c\na\n\nb")
            .unwrap()
            .iter()
            .map(|l| l.0)
            .collect();
        assert_eq!(lines, [3, 5]);
    }

    #[test]
    fn too_long_lines_fail_like_bufio_scanner() {
        let long = "a".repeat(MAX_LINE + 1);
        let err = IgnoreRules::parse(&format!("ok\n{long}\n")).unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "bufio.Scanner: token too long")
        );
        assert!(IgnoreRules::parse(&"a".repeat(MAX_LINE)).is_ok());
    }

    #[test]
    fn cleans_like_go() {
        for (input, want) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a//b/./", "a/b"),
            ("/", "/"),
            ("!.", "!."),
            ("a/..", "."),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let err = IgnoreRules::parse("# c\nok\na[\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.to_string(), "line 3: \"a[\": syntax error in pattern");
        let err = IgnoreRules::parse("x\n!/\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "illegal exclusion pattern: \"!\"")
        );
        // Go reports a lone `!` (patternmatcher.New) before a bad regexp (first use).
        let err = IgnoreRules::parse("[Local-Only]\n!\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "illegal exclusion pattern: \"!\"")
        );
        let err = IgnoreRules::parse("[Local-Only]\nok\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (
                1,
                "error parsing regexp: invalid character class range: `l-O`"
            )
        );
        // `/!x` is not an exception for ignorefile but becomes one for patternmatcher.
        let rules = IgnoreRules::parse("/!x\n").unwrap();
        assert!(rules.rules()[0].exception);
    }

    /// patternmatcher_test.go TestMatches, through `decide` with parent results and with
    /// no context (the `MatchesUsingParentResults` subtests).
    #[test]
    fn patternmatcher_matches_table() {
        let single: &[(&str, &str, bool)] = &[
            ("**", "file", true),
            ("**", "file/", true),
            ("**/", "file", true),
            ("**/", "file/", true),
            ("**", "/", true),
            ("**/", "/", true),
            ("**", "dir/file", true),
            ("**/", "dir/file", true),
            ("**", "dir/file/", true),
            ("**/", "dir/file/", true),
            ("**/**", "dir/file", true),
            ("**/**", "dir/file/", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/file/", true),
            ("dir/**", "dir/dir2/file", true),
            ("dir/**", "dir/dir2/file/", true),
            ("**/dir", "dir", true),
            ("**/dir", "dir/file", true),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/*", "dir/dir2/file/", true),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file/", true),
            ("**file", "file", true),
            ("**file", "dir/file", true),
            ("**/file", "dir/file", true),
            ("**file", "dir/dir/file", true),
            ("**/file", "dir/dir/file", true),
            ("**/file*", "dir/dir/file", true),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/file*.txt", "dir/dir/file.txt", true),
            ("**/file*.txt*", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("**/**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt", "a/dir/file.txt", false),
            ("a/*.txt", "a/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("a[b-d]e", "ae", false),
            ("a[b-d]e", "ace", true),
            ("a[b-d]e", "aae", false),
            ("a[^b-d]e", "aze", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcdef", false),
            ("abc.def", "abc.def", true),
            ("abc.def", "abcZdef", false),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("a\\\\", "a\\", true),
            ("**/foo/bar", "foo/bar", true),
            ("**/foo/bar", "dir/foo/bar", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("abc/**", "abc", false),
            ("abc/**", "abc/def", true),
            ("abc/**", "abc/def/ghi", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a(b)c/def", "a(b)c/xyz", false),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            ("a\\*b", "a*b", true),
        ];
        let multi: &[(&[&str], &str, bool)] = &[
            (&["**", "!util/docker/web"], "util/docker/web/foo", false),
            (
                &["**", "!util/docker/web", "util/docker/web/foo"],
                "util/docker/web/foo",
                true,
            ),
            (
                &["**", "!dist/*.whl"],
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                false,
            ),
            (&["docs", "!docs/README.md"], "docs/README.md", false),
            (&["docs/", "!docs/README.md"], "docs/README.md", false),
            (&["docs/*", "!docs/README.md"], "docs/README.md", false),
            (&["*.go", "!fileutils.go"], "fileutils.go", false),
            (&["!fileutils.go", "*.go"], "fileutils.go", true),
        ];
        let cases = single
            .iter()
            .map(|&(p, text, pass)| (vec![p], text, pass))
            .chain(
                multi
                    .iter()
                    .map(|&(p, text, pass)| (p.to_vec(), text, pass)),
            );
        let mut failures = Vec::new();
        for (patterns, text, pass) in cases {
            let rules = IgnoreRules::from_patterns(&patterns).unwrap();
            let mut parent = ParentMatch::default();
            for dir in ancestors(text) {
                parent = rules.decide(dir, &parent).1;
            }
            let with_parents = rules.decide(text, &parent).0.excluded;
            let no_context = rules.decide(text, &ParentMatch::default()).0.excluded;
            if with_parents != pass || no_context != pass {
                failures.push(format!(
                    "{patterns:?} {text:?}: {with_parents} {no_context}"
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    fn sent(rules: &str, tree: &[(&str, bool)]) -> Vec<String> {
        let rules = IgnoreRules::parse(rules).unwrap();
        rules
            .select(tree)
            .into_iter()
            .map(|s| {
                if s.is_dir {
                    format!("{}/", s.path)
                } else {
                    s.path
                }
            })
            .collect()
    }

    #[test]
    fn fsutil_walker_tests() {
        // filter_test.go TestWalkerExclude.
        let tree = [
            ("bar", false),
            ("foo", true),
            ("foo2", false),
            ("foo/bar2", false),
        ];
        assert_eq!(sent("foo*\n!foo/bar2", &tree), ["bar", "foo/", "foo/bar2"]);
        // TestFSWalkNested.
        let tree = [("foo/bar", false)];
        assert_eq!(sent("foo\n!foo/bar", &tree), ["foo/", "foo/bar"]);
        assert_eq!(sent("!foo/bar", &tree), ["foo/", "foo/bar"]);
        assert_eq!(sent("foo", &tree), Vec::<String>::new());
        // TestWalkerPermissionDenied: `**/bar` prunes `foo/bar`; `!foo/bar/baz` keeps it
        // open (walked, not sent); `!foo/bar` re-includes it.
        let tree = [("foo/bar", true)];
        assert_eq!(sent("**/bar", &tree), ["foo/"]);
        assert_eq!(sent("**/bar\n!foo/bar/baz", &tree), ["foo/"]);
        assert_eq!(sent("**/bar\n!foo/bar", &tree), ["foo/", "foo/bar/"]);
    }

    #[test]
    fn pruning_follows_fsutil() {
        let rules = IgnoreRules::parse("node_modules\n!node_modules/keep/*\n").unwrap();
        assert!(!rules.can_prune("node_modules"));
        assert!(!rules.can_prune("node_modules/keep"));
        assert!(rules.can_prune("node_modules/other"));
        let rules = IgnoreRules::parse("*\n!**/*.go\n").unwrap();
        assert!(!rules.can_prune("anything"));
        let rules = IgnoreRules::parse("build\n").unwrap();
        assert!(rules.can_prune("build"));
    }

    #[test]
    fn walk_filter_sends_parents_lazily() {
        let rules = IgnoreRules::parse("a\n!a/b/c/*.txt\n").unwrap();
        let mut walk = WalkFilter::new(&rules);
        assert_eq!(walk.visit("a", true), Visit::Skip(Left::Excluded));
        assert_eq!(walk.visit("a/b", true), Visit::Skip(Left::Excluded));
        assert_eq!(walk.visit("a/b/c", true), Visit::Skip(Left::Excluded));
        assert_eq!(walk.visit("a/b/c/x.md", false), Visit::Skip(Left::Excluded));
        assert_eq!(
            walk.visit("a/b/c/x.txt", false),
            Visit::Send {
                parents: vec!["a".into(), "a/b".into(), "a/b/c".into()]
            }
        );
        assert_eq!(
            walk.visit("a/b/c/y.txt", false),
            Visit::Send { parents: vec![] }
        );
        assert_eq!(walk.visit("a/d", true), Visit::Skip(Left::Excluded));
        assert_eq!(walk.visit("b", false), Visit::Send { parents: vec![] });
    }

    #[test]
    fn includes_send_matches_with_their_parents_and_skip_unreachable_dirs() {
        let none = IgnoreRules::default();
        let includes = IgnoreRules::from_patterns(["src/a.txt", "*.json"]).unwrap();
        let mut walk = WalkFilter::with_includes(&none, &includes);
        assert_eq!(walk.visit("a.json", false), Visit::Send { parents: vec![] });
        // No pattern can match inside `other/` (`*.json` has one component).
        assert_eq!(walk.visit("other", true), Visit::SkipDir(Left::NotUsed));
        assert_eq!(walk.visit("src", true), Visit::Skip(Left::NotUsed));
        assert_eq!(walk.visit("src/b", false), Visit::Skip(Left::NotUsed));
        assert_eq!(walk.visit("src/sub", true), Visit::SkipDir(Left::NotUsed));
        assert_eq!(
            walk.visit("src/a.txt", false),
            Visit::Send {
                parents: vec!["src".into()]
            }
        );
        // Below a matched directory everything is included; the ignore rules still apply.
        let rules = IgnoreRules::parse("lib/x\n").unwrap();
        let includes = IgnoreRules::from_patterns(["lib"]).unwrap();
        let mut walk = WalkFilter::with_includes(&rules, &includes);
        assert_eq!(walk.visit("lib", true), Visit::Send { parents: vec![] });
        assert_eq!(walk.visit("lib/x", false), Visit::Skip(Left::Excluded));
        assert_eq!(walk.visit("lib/y", false), Visit::Send { parents: vec![] });
        assert_eq!(walk.visit("other", false), Visit::Skip(Left::NotUsed));
    }

    #[test]
    fn may_match_below_is_exact_for_plain_globs_and_safe_for_the_rest() {
        let includes = IgnoreRules::from_patterns(["s?c/*.go", "pkg/a"]).unwrap();
        assert!(includes.may_match_below("src"));
        assert!(includes.may_match_below("pkg"));
        assert!(!includes.may_match_below("src/sub"));
        assert!(!includes.may_match_below("other"));
        assert!(!includes.may_match_below("pkg/a/b/c") || includes.explain("pkg/a/b").excluded);
        for wide in ["**/x", "a**/x", "[ab]/x", "a\\*/x", "a|b"] {
            let includes = IgnoreRules::from_patterns([wide]).unwrap();
            assert!(includes.may_match_below("zzz"), "{wide}");
        }
        // Exceptions never include anything.
        let includes = IgnoreRules::from_patterns(["!**"]).unwrap();
        assert!(!includes.may_match_below("a"));
    }

    #[test]
    fn explain_uses_parent_results() {
        // The exception `!docs` is skipped for `docs` (nothing excluded it yet), so it does
        // not carry to `docs/README.md`.
        let rules = IgnoreRules::parse("**/*.md\n!docs\n").unwrap();
        assert_eq!(
            rules.explain("docs/README.md"),
            Decision {
                excluded: true,
                rule: Some(0)
            }
        );
        assert_eq!(
            rules.explain("docs"),
            Decision {
                excluded: false,
                rule: None
            }
        );
        let rules = IgnoreRules::parse("build\n").unwrap();
        assert_eq!(
            rules.explain("build/x/y"),
            Decision {
                excluded: true,
                rule: Some(0)
            }
        );
    }
}
