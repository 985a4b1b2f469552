//! The build context paths a build reads: BuildKit's `ctxPaths`.
//!
//! BuildKit's Dockerfile frontend (`dockerfile2llb/convert.go`, `convert_runmount.go`)
//! records, for every stage it dispatches, the context paths its instructions name: every
//! source of a `COPY` without `--from`, every source of an `ADD` but `http(s)://` URLs, and
//! the `source` of every `RUN --mount` without `from=` of type bind or tmpfs, each joined
//! onto `/`. It then asks its file sync for them (`normalizeContextPaths`: `/` means the
//! whole context). The context is transferred at all only if some instruction really reads
//! it: a `COPY`/`ADD` source that is not a URL or a git repository, or a bind mount. This
//! module collects both while the analysis dispatches the stages, and says what the text
//! alone cannot decide (a base image's `ENV` and `ONBUILD` triggers live in the image).

use std::collections::BTreeSet;
use std::fmt;

use crate::ImageRef;

/// What the analysis must know of an image's config to decide what its build reads
/// (`docker image inspect`'s `Config.Env` and `Config.OnBuild`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// The image's environment, `KEY=value` entries in order.
    pub env: Vec<String>,
    /// The image's `ONBUILD` triggers, each an instruction's text (`COPY . /app`).
    pub onbuild: Vec<String>,
}

/// The build context paths the build of the target reads, as BuildKit's frontend would ask
/// its file sync for them.
///
/// `paths` is exact when `undecided` is empty. Otherwise it is what the text says with every
/// base image assumed to set no `ENV` and have no `ONBUILD` trigger, and a caller that must
/// not guess sends the whole context.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContextUse {
    /// The paths read.
    pub paths: ContextPaths,
    /// What only the configs of images (or another frontend) could decide.
    pub undecided: Vec<Undecided>,
}

impl ContextUse {
    /// Whether the text (and the image configs given) decide the paths.
    pub fn is_decided(&self) -> bool {
        self.undecided.is_empty()
    }
}

/// Which parts of the context a build reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "used", content = "paths", rename_all = "lowercase")]
pub enum ContextPaths {
    /// Nothing: no instruction reads the context (BuildKit transfers none of it).
    None,
    /// The whole context (a source `.` or `/`, a bind mount without `source=`, a path that
    /// BuildKit's rules widen to the root).
    All,
    /// Only these paths and what is below them: relative, cleaned, sorted, each once, as
    /// BuildKit's `FollowPaths`. Wildcards (`*`, `?`, `[…]`) in them are patterns, symlinks
    /// on the way are for the file sync to follow.
    Some(Vec<String>),
}

/// Something the text alone cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Undecided {
    /// 1-based line of the instruction it is about.
    pub line: usize,
    /// The image whose config (or the frontend whose semantics) would decide.
    pub image: ImageRef,
    /// What is unknown.
    pub reason: UndecidedReason,
}

/// Why the paths a build reads cannot be decided from the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UndecidedReason {
    /// A context source expands variables the Dockerfile does not set in that stage: the
    /// base image's `ENV` may.
    ImageEnv {
        /// The variables, by name.
        variables: Vec<String>,
    },
    /// The base image's config is not known, so neither are its `ONBUILD` triggers, which
    /// run in this stage and may read the context.
    ImageOnbuild,
    /// The `# syntax=` frontend is not BuildKit's Dockerfile frontend: what it reads is its
    /// own business.
    Frontend,
}

impl fmt::Display for Undecided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let image = &self.image;
        match &self.reason {
            UndecidedReason::ImageEnv { variables } => {
                let names: Vec<String> = variables.iter().map(|v| format!("${v}")).collect();
                write!(
                    f,
                    "line {}: a context path uses {}, which only the ENV of {image} could set",
                    self.line,
                    names.join(", ")
                )
            }
            UndecidedReason::ImageOnbuild => write!(
                f,
                "line {}: the config of {image} is not known (its ONBUILD triggers may read the context)",
                self.line
            ),
            UndecidedReason::Frontend => write!(
                f,
                "line {}: frontend {image} is not BuildKit's Dockerfile frontend",
                self.line
            ),
        }
    }
}

/// Collects what the dispatched instructions read.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    /// Some instruction reads the context.
    reads: bool,
    /// Paths joined onto `/` and cleaned, as BuildKit keys them.
    paths: BTreeSet<String>,
    undecided: Vec<Undecided>,
}

/// How an instruction names a context path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A `COPY` source (without `--from`).
    Copy,
    /// An `ADD` source.
    Add,
    /// The `source` of a bind mount without `from=`.
    BindMount,
    /// The `source` of a tmpfs mount: recorded, never read (BuildKit's quirk: it marks the
    /// path as used, so `source` unset widens the paths to the whole context).
    TmpfsMount,
}

impl Collector {
    /// Records one source, expanded, as BuildKit's dispatch does.
    pub(crate) fn source(&mut self, kind: Source, source: &str) {
        let is_url = source.starts_with("http://") || source.starts_with("https://");
        let recorded = match kind {
            Source::Add => !is_url,
            Source::Copy | Source::BindMount | Source::TmpfsMount => true,
        };
        if recorded {
            self.paths.insert(join_root(source));
        }
        self.reads |= match kind {
            Source::Copy | Source::Add => !is_git_ref(source) && !is_url,
            Source::BindMount => true,
            Source::TmpfsMount => false,
        };
    }

    /// Records something the text cannot decide (each once).
    pub(crate) fn undecided(&mut self, undecided: Undecided) {
        if !self.undecided.contains(&undecided) {
            self.undecided.push(undecided);
        }
    }

    pub(crate) fn finish(self) -> ContextUse {
        let paths = if !self.reads {
            ContextPaths::None
        } else if self.paths.contains("/") {
            ContextPaths::All
        } else {
            ContextPaths::Some(
                self.paths
                    .iter()
                    .map(|p| p.trim_start_matches('/').to_owned())
                    .collect(),
            )
        };
        ContextUse {
            paths,
            undecided: self.undecided,
        }
    }
}

/// Go's `path.Join("/", p)`: rooted and cleaned (`..` stops at the root).
fn join_root(path: &str) -> String {
    crate::analysis::clean_path(&format!("/{path}"))
}

/// Whether BuildKit's `dfgitutil.ParseGitRef` takes `source` for a git repository that is
/// not "indistinguishable from a local path": such an `ADD` source is cloned, not read from
/// the context.
pub(crate) fn is_git_ref(source: &str) -> bool {
    if source.starts_with("./") || source.starts_with("../") || source.starts_with("github.com/") {
        return false;
    }
    if let Some((scheme, rest)) = url_scheme(source) {
        return match scheme.to_ascii_lowercase().as_str() {
            "ssh" | "git" => true,
            // An http(s) URL is a git repository only when its path ends in `.git`.
            "http" | "https" => url_path(rest).ends_with(".git"),
            _ => false,
        };
    }
    scp_style(source)
}

/// The scheme of `^[a-zA-Z0-9]+://` and what follows `://`.
fn url_scheme(source: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = source.split_once("://")?;
    (!scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some((scheme, rest))
}

/// The path of a URL after its `scheme://`: from the first `/` of the authority to the
/// query or fragment.
fn url_path(rest: &str) -> &str {
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..end];
    rest.find('/').map_or("", |i| &rest[i..])
}

/// BuildKit's SCP-style git URL, `user@host:path[?query][#fragment]`
/// (`^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$`), whose query must
/// parse.
fn scp_style(source: &str) -> bool {
    let Some((user, rest)) = source.split_once('@') else {
        return false;
    };
    let user_ok = !user.is_empty()
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let Some((host, path)) = rest.split_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !user_ok || !host_ok {
        return false;
    }
    // The query is what lies between the first `?` and the first `#` after it.
    let fragment = path.find('#').unwrap_or(path.len());
    match path[..fragment].find('?') {
        Some(q) => query_parses(&path[q + 1..fragment]),
        None => true,
    }
}

/// Whether Go's `url.ParseQuery` accepts `query`: no `;`, and every `%` starts an escape of
/// two hex digits.
fn query_parses(query: &str) -> bool {
    if query.contains(';') {
        return false;
    }
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !hex(i + 1) || !hex(i + 2) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_refs_like_dfgitutil() {
        for (source, git) in [
            ("git@github.com:moby/buildkit.git", true),
            ("git@github.com:moby/buildkit.git#v0.13:docs", true),
            ("user_1@host-a.b:repo", true),
            ("https://github.com/moby/buildkit.git", true),
            ("https://github.com/moby/buildkit.git#main", true),
            ("HTTPS://host/x.git?ref=1", true),
            ("https://host/archive.tar.gz", false),
            ("https://host/x.git/more", false),
            ("ssh://git@host/repo", true),
            ("git://host/repo", true),
            ("ftp://host/x.git", false),
            ("github.com/moby/buildkit", false),
            ("./git@host:x", false),
            ("src", false),
            ("a@b", false),
            ("a b@host:x", false),
            ("u@h:x?a=%zz", false),
            ("u@h:x?a;b", false),
            ("u@h:x#frag?a=%zz", true),
        ] {
            assert_eq!(is_git_ref(source), git, "{source}");
        }
    }

    #[test]
    fn paths_are_joined_onto_the_root() {
        for (source, joined) in [
            ("src", "/src"),
            ("./src/", "/src"),
            ("../../x", "/x"),
            ("", "/"),
            (".", "/"),
            ("a/./b/../c", "/a/c"),
            ("/abs//x", "/abs/x"),
        ] {
            assert_eq!(join_root(source), joined, "{source:?}");
        }
    }

    #[test]
    fn reads_decide_between_none_all_and_some() {
        let mut c = Collector::default();
        c.source(Source::TmpfsMount, "");
        assert_eq!(c.finish().paths, ContextPaths::None);

        let mut c = Collector::default();
        c.source(Source::TmpfsMount, "");
        c.source(Source::Copy, "src");
        assert_eq!(c.finish().paths, ContextPaths::All);

        let mut c = Collector::default();
        c.source(Source::Add, "https://example.com/x");
        c.source(Source::Add, "git@github.com:a/b.git");
        assert_eq!(c.finish().paths, ContextPaths::None);

        let mut c = Collector::default();
        c.source(Source::Add, "git@github.com:a/b.git");
        c.source(Source::Copy, "src/");
        c.source(Source::BindMount, "tools");
        assert_eq!(
            c.finish().paths,
            ContextPaths::Some(vec![
                "git@github.com:a/b.git".into(),
                "src".into(),
                "tools".into()
            ])
        );
    }
}
