//! `.dockerignore` rules: parsed, compiled and applied exactly as BuildKit does.
//!
//! (Interface stub: the owner of this module replaces the bodies.)

/// One rule of an ignore file: a pattern, or an exception (`!pattern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line in the ignore file.
    pub line: usize,
    /// The line's text as written (trimmed), e.g. `!node_modules/keep`.
    pub text: String,
    /// True for `!` exceptions, which re-include what they match.
    pub exception: bool,
}

/// An invalid ignore file, naming the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IgnoreError {
    /// 1-based line of the offending pattern.
    pub line: usize,
    /// What is wrong, in patternmatcher's words.
    pub message: String,
}

/// The compiled rules of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

/// What the walker carries from a directory to its children (patternmatcher's `MatchInfo`).
#[derive(Debug, Clone, Default)]
pub struct ParentMatch {
    _private: (),
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

impl IgnoreRules {
    /// Parses ignore-file text (`.dockerignore`) and compiles its patterns.
    pub fn parse(text: &str) -> Result<IgnoreRules, IgnoreError> {
        let _ = text;
        Ok(IgnoreRules::default())
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Decides one path (relative, `/`-separated, no trailing slash) given its parent
    /// directory's state, and returns the state its children need.
    pub fn decide(&self, path: &str, parent: &ParentMatch) -> (Decision, ParentMatch) {
        let _ = (path, parent);
        (Decision { excluded: false, rule: None }, ParentMatch::default())
    }

    /// Whether the walker may skip everything below excluded directory `dir` (no exception
    /// could re-include anything under it).
    pub fn can_prune(&self, dir: &str) -> bool {
        let _ = dir;
        true
    }

    /// Decides one path from scratch (walking its parents), for `--explain`.
    pub fn explain(&self, path: &str) -> Decision {
        let _ = path;
        Decision { excluded: false, rule: None }
    }
}
