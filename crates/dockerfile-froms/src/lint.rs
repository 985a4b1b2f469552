//! BuildKit's Dockerfile linter: the `check` directive (`skip=`, `experimental=`,
//! `error=true`), the rules that can be decided from the text, and the warnings they give.

use crate::parser::DirectiveParser;
use crate::text::{go_quote, parse_go_bool};
use crate::Warning;

/// Rules that are experimental: they run only when enabled by name or with `all`.
const EXPERIMENTAL: &[&str] = &["InvalidDefinitionDescription"];

/// A parsed `check` option string.
#[derive(Debug, Clone, Default)]
pub(crate) struct LintConfig {
    experimental_all: bool,
    experimental: Vec<String>,
    error: bool,
    skip_all: bool,
    skip: Vec<String>,
}

impl LintConfig {
    /// BuildKit's `ParseLintOptions`.
    pub(crate) fn parse(text: &str) -> Result<LintConfig, String> {
        let text = text.trim();
        let mut config = LintConfig::default();
        if text.is_empty() {
            return Ok(config);
        }
        for part in text.splitn(3, ';') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("invalid check option {}", go_quote(part)));
            };
            let list =
                |v: &str| -> Vec<String> { v.split(',').map(|r| r.trim().to_string()).collect() };
            match key.trim() {
                "skip" => {
                    let v = value.trim();
                    if v == "all" {
                        config.skip_all = true;
                    } else {
                        config.skip = list(v);
                    }
                }
                "experimental" => {
                    let v = value.trim();
                    if v == "all" {
                        config.experimental_all = true;
                    } else {
                        config.experimental = list(v);
                    }
                }
                "error" => {
                    let v = value.trim();
                    config.error = parse_go_bool(v).ok_or_else(|| {
                        format!(
                            "failed to parse check option {}: strconv.ParseBool: parsing {}: invalid syntax",
                            go_quote(part),
                            go_quote(v)
                        )
                    })?;
                }
                other => return Err(format!("invalid check option {}", go_quote(other))),
            }
        }
        Ok(config)
    }

    fn merged(&self, other: &LintConfig) -> LintConfig {
        let mut out = self.clone();
        out.experimental_all |= other.experimental_all;
        out.experimental.extend(other.experimental.iter().cloned());
        out.skip_all |= other.skip_all;
        out.skip.extend(other.skip.iter().cloned());
        out
    }

    /// The configuration with `# check=` comments directly above an instruction merged in.
    fn with_comments(&self, comments: &[String]) -> LintConfig {
        for comment in comments {
            let mut parser = DirectiveParser::new("", 0);
            let Ok(Some(d)) = parser.parse_line(comment) else {
                continue;
            };
            if d.name != "check" {
                continue;
            }
            let first = d.value.split(' ').next().unwrap_or("");
            return match LintConfig::parse(first) {
                Ok(other) => self.merged(&other),
                Err(_) => self.clone(),
            };
        }
        self.clone()
    }
}

/// Collects lint warnings and remembers which rules fired.
#[derive(Debug, Clone)]
pub(crate) struct Linter {
    config: LintConfig,
    called: Vec<&'static str>,
    pub warnings: Vec<Warning>,
}

impl Linter {
    pub(crate) fn new(config: LintConfig) -> Linter {
        Linter {
            config,
            called: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Reports `rule` at `line` with `message`, unless the configuration skips it.
    pub(crate) fn run(
        &mut self,
        rule: &'static str,
        line: usize,
        message: String,
        comments: &[String],
    ) {
        let config = if comments.is_empty() {
            std::borrow::Cow::Borrowed(&self.config)
        } else {
            std::borrow::Cow::Owned(self.config.with_comments(comments))
        };
        if EXPERIMENTAL.contains(&rule) {
            if !config.experimental_all && !config.experimental.iter().any(|r| r == rule) {
                return;
            }
        } else if config.skip_all || config.skip.iter().any(|r| r == rule) {
            return;
        }
        self.called.push(rule);
        self.warnings.push(Warning {
            line: (line > 0).then_some(line),
            rule: Some(rule.to_string()),
            message,
        });
    }

    /// With `error=true`, the error BuildKit returns when any rule fired.
    pub(crate) fn error(&self) -> Option<String> {
        if !self.config.error || self.called.is_empty() {
            return None;
        }
        let mut rules: Vec<&str> = Vec::new();
        for r in &self.called {
            if !rules.contains(r) {
                rules.push(r);
            }
        }
        Some(format!(
            "lint violation found for rules: {}",
            rules.join(", ")
        ))
    }
}

/// Whether `key` looks like it holds a secret (BuildKit's `SecretsUsedInArgOrEnv`).
pub(crate) fn looks_secret(key: &str) -> bool {
    const DENY: &[&str] = &[
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    const ALLOW: &[&str] = &["public", "file", "version"];
    let lower = key.to_lowercase();
    let has = |tokens: &[&str]| {
        tokens.iter().any(|t| {
            lower.match_indices(t).any(|(i, _)| {
                let before_ok = i == 0 || lower.as_bytes()[i - 1] == b'_';
                let end = i + t.len();
                let after_ok = end == lower.len() || lower.as_bytes()[end] == b'_';
                before_ok && after_ok
            })
        })
    };
    has(DENY) && !has(ALLOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert!(LintConfig::parse("error=true").unwrap().error);
        assert!(LintConfig::parse("skip=all;error=1").unwrap().skip_all);
        assert_eq!(
            LintConfig::parse("foo").unwrap_err(),
            "invalid check option \"foo\""
        );
    }

    #[test]
    fn secrets() {
        assert!(looks_secret("GITHUB_TOKEN"));
        assert!(looks_secret("api_key"));
        assert!(!looks_secret("PUBLIC_KEY"));
        assert!(!looks_secret("MONKEY"));
    }
}
