//! Build contexts the engine fetches itself: a git repository or an http(s) URL of a tar (or
//! of a lone Dockerfile), given where a context directory would be:
//!
//! ```text
//! devbuild build https://github.com/acme/app.git#v1.2:docker
//! devbuild build git://127.0.0.1:9418/app.git#main
//! devbuild build https://example.com/app-context.tar.gz
//! ```
//!
//! Such a build is `POST /build?version=2&remote=<url>` with an empty body: the engine's
//! BuildKit fetches the context (moby's `builder-next` hands `remote` to the Dockerfile
//! frontend as its `context`), so nothing is archived here and `.dockerignore` does not
//! apply, as with buildx. `-f` names a file inside the remote context (inside the
//! subdirectory of a `#ref:dir` fragment).
//!
//! # Which argument is which
//!
//! [`classify`] follows the docker CLI (`cli/command/image/build_buildkit.go` of 20.10, with
//! moby's `builder/remotecontext/urlutil`) and buildx (`build/opt.go`, `util/urlutil`):
//!
//! 1. `-` is standard input;
//! 2. an existing directory is a local context, whatever it looks like;
//! 3. a git URL ([`is_git_url`]): `http(s)://…` whose text ends in `.git` or in `.git#<fragment>`,
//!    or anything starting with `git://`, `git@`, `github.com/` (the docker CLI's rule) or
//!    `ssh://` (buildx's, from BuildKit's `gitutil`);
//! 4. any other `http://` or `https://` URL ([`is_url`]): a tar (plain or compressed) or a
//!    Dockerfile, as BuildKit tells them apart from the downloaded bytes;
//! 5. anything else is a local path (and then must be a directory).
//!
//! A git URL's fragment is `#<ref>:<subdir>`, both optional (`#v1`, `#main:docker`,
//! `#:docker`), as BuildKit reads it ([`GitUrl`]).
//!
//! # The Dockerfile, for the pre-pull
//!
//! The pre-pull needs the Dockerfile's text, which only the remote holds, so devbuild fetches
//! it first, bounded by [`FETCH_TIMEOUT`]: for git, a shallow fetch of the one ref with the
//! system `git` into a temporary repository ([`git`]); for a URL, a download into a temporary
//! file ([`http`]), whose Dockerfile is read when it is a plain or gzip-compressed tar (or
//! which is the Dockerfile). When that fails (no `git`, a private repository, a bzip2 tar), a
//! warning says so and the build goes on without a pre-pull: the engine fetches a public
//! context itself.
//!
//! # Engines before API 1.42 (Docker Engine 20.10 and older)
//!
//! Their BuildKit (0.8) fetches the ref `master` when a git URL names none, and refuses a
//! subdirectory ("subdir not supported yet"). devbuild reads the Dockerfile of `master` for
//! them, and for a `#ref:dir` URL it sends the subdirectory itself: `git archive` of the
//! fetched ref's directory, as the build's body (a tar context, which BuildKit reads without
//! `.dockerignore` too), saying so in the `context_selected` event.

pub mod git;
pub mod http;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine_client::engine::ApiVersion;

use crate::build::{BuildError, BuildSpec, ContextSelection};
use crate::events::ContextUsed;

/// How long devbuild spends fetching a remote context's Dockerfile (or, for old engines, a
/// git subdirectory) before it gives up.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The first API whose BuildKit takes a git subdirectory and fetches the remote's default
/// branch when a git URL names no ref (Docker Engine 23.0, BuildKit 0.10).
pub const GIT_SUBDIR_API: ApiVersion = ApiVersion {
    major: 1,
    minor: 42,
};

/// The reason `context_selected` gives for a remote context.
pub const FETCHED_BY_THE_ENGINE: &str = "a remote context is fetched by the engine";

/// What a `CONTEXT` argument names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextArg {
    /// `-`: a tar or a Dockerfile on standard input.
    Stdin,
    /// A directory (or a path that names nothing remote, which must then be one).
    Local(PathBuf),
    /// A git repository or an http(s) URL.
    Remote(RemoteContext),
}

/// What `arg` names, as the docker CLI and buildx decide it: `-`, then an existing
/// directory, then a git URL, then an http(s) URL, else a local path.
///
/// ```
/// use devbuild::remote::{classify, ContextArg, RemoteContext};
/// assert_eq!(classify("-"), ContextArg::Stdin);
/// assert!(matches!(classify("https://github.com/acme/app.git#v1"), ContextArg::Remote(RemoteContext::Git(_))));
/// assert!(matches!(classify("https://example.com/app.tar.gz"), ContextArg::Remote(RemoteContext::Url(_))));
/// assert_eq!(classify("src/app"), ContextArg::Local("src/app".into()));
/// ```
pub fn classify(arg: &str) -> ContextArg {
    if arg == "-" {
        return ContextArg::Stdin;
    }
    if Path::new(arg).is_dir() {
        return ContextArg::Local(PathBuf::from(arg));
    }
    match RemoteContext::parse(arg) {
        Some(remote) => ContextArg::Remote(remote),
        None => ContextArg::Local(PathBuf::from(arg)),
    }
}

/// Whether `text` is an http(s) URL: it starts with `http://` or `https://` (moby's
/// `urlutil.IsURL`; case matters, nothing else is checked).
pub fn is_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// Whether `text` is a git URL: an [`is_url`] URL matching `\.git(?:#.+)?$`, or text starting
/// with `git://`, `git@` or `github.com/` (moby's `urlutil.IsGitURL`, which the docker CLI
/// uses), or `ssh://` (buildx, through BuildKit's `gitutil`, also takes it).
///
/// ```
/// use devbuild::remote::is_git_url;
/// assert!(is_git_url("http://github.com/docker/docker.git#:dir"));
/// assert!(is_git_url("git@github.com:docker/docker.git"));
/// assert!(!is_git_url("https://github.com/docker/dgit"));
/// assert!(!is_git_url("http://github.com/docker/docker.git:#branch"));
/// ```
pub fn is_git_url(text: &str) -> bool {
    if is_url(text) && has_git_suffix(text) {
        return true;
    }
    ["git://", "github.com/", "git@", "ssh://"]
        .iter()
        .any(|prefix| text.starts_with(prefix))
}

/// `\.git(?:#.+)?$`: the text ends in `.git`, or has `.git#` followed by at least one
/// character and no line break up to its end (Go's `.` does not match `\n`).
fn has_git_suffix(text: &str) -> bool {
    if text.ends_with(".git") {
        return true;
    }
    text.match_indices(".git#").any(|(at, _)| {
        let rest = &text[at + ".git#".len()..];
        !rest.is_empty() && !rest.contains('\n')
    })
}

/// A build context the engine fetches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteContext {
    /// A git repository.
    Git(GitUrl),
    /// An http(s) URL of a tar (plain, gzip, bzip2 or xz) or of a Dockerfile.
    Url(String),
}

impl RemoteContext {
    /// The remote context `text` names ([`is_git_url`], else [`is_url`]); `None` for
    /// anything else. Local directories are not looked at: see [`classify`].
    pub fn parse(text: &str) -> Option<RemoteContext> {
        if is_git_url(text) {
            Some(RemoteContext::Git(GitUrl::parse(text)))
        } else if is_url(text) {
            Some(RemoteContext::Url(text.to_owned()))
        } else {
            None
        }
    }

    /// The URL as given: what the engine is sent as `remote=`.
    pub fn url(&self) -> &str {
        match self {
            RemoteContext::Git(git) => &git.url,
            RemoteContext::Url(url) => url,
        }
    }

    /// The URL as messages show it: credentials masked ([`redact`]).
    pub fn shown(&self) -> String {
        redact(self.url())
    }
}

/// `text` with the credentials of a `scheme://user:password@host…` URL masked as BuildKit's
/// `urlutil.RedactCredentials` masks them (`xxxxx` for the user and for the password);
/// anything else as it is (`git@host:repo` names no secret).
///
/// ```
/// use devbuild::remote::redact;
/// assert_eq!(redact("https://me:token@h/r.git#v1"), "https://xxxxx:xxxxx@h/r.git#v1");
/// assert_eq!(redact("https://token@h/c.tar"), "https://xxxxx@h/c.tar");
/// assert_eq!(redact("git@github.com:a/b.git"), "git@github.com:a/b.git");
/// ```
pub fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some((userinfo, host)) = rest[..end].rsplit_once('@') else {
        return text.to_owned();
    };
    let masked = match userinfo.split_once(':') {
        Some((user, _)) if !user.is_empty() => "xxxxx:xxxxx",
        Some(_) => ":xxxxx",
        None if userinfo.is_empty() => "",
        None => "xxxxx",
    };
    format!("{scheme}://{masked}@{host}{}", &rest[end..])
}

/// A git URL with BuildKit's fragment, `<repository>#<ref>:<subdir>`.
///
/// ```
/// use devbuild::remote::GitUrl;
/// let git = GitUrl::parse("https://github.com/acme/app.git#v1:docker/../build/");
/// assert_eq!(git.repository, "https://github.com/acme/app.git");
/// assert_eq!(git.reference.as_deref(), Some("v1"));
/// assert_eq!(git.subdir.as_deref(), Some("build"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitUrl {
    /// The URL as given, fragment included.
    pub url: String,
    /// The repository `git fetch` is given: the URL without its fragment (`github.com/…`
    /// gets `https://`, as BuildKit adds it).
    pub repository: String,
    /// The ref to build (`#ref`: a branch, a tag, `refs/pull/1/head`, a commit); without
    /// one, the remote's default branch (`master` on engines before API 1.42).
    pub reference: Option<String>,
    /// The subdirectory that is the context (`#ref:dir`), cleaned as BuildKit cleans it
    /// (`path.Join("/", dir)` without the leading `/`); `None` for the repository's root.
    pub subdir: Option<String>,
}

impl GitUrl {
    /// Splits `text` (a git URL, see [`is_git_url`]) at its first `#` into the repository
    /// and the fragment `ref:subdir`.
    pub fn parse(text: &str) -> GitUrl {
        let (repository, fragment) = match text.split_once('#') {
            Some((repository, fragment)) => (repository, Some(fragment)),
            None => (text, None),
        };
        let repository = if repository.starts_with("github.com/") {
            format!("https://{repository}")
        } else {
            repository.to_owned()
        };
        let (reference, subdir) = match fragment {
            Some(fragment) => {
                let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
                (
                    Some(reference.to_owned()).filter(|r| !r.is_empty()),
                    clean_subdir(subdir),
                )
            }
            None => (None, None),
        };
        GitUrl {
            url: text.to_owned(),
            repository,
            reference,
            subdir,
        }
    }
}

/// `path.Join("/", dir)` without its leading `/`: `.` and empty components dropped, `..`
/// clamped at the root; `None` when nothing is left.
fn clean_subdir(dir: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The `-f` path inside the remote context (`Dockerfile` by default), cleaned.
fn dockerfile_in_context(spec: &BuildSpec) -> String {
    let given = spec.dockerfile.as_ref().map_or_else(
        || "Dockerfile".to_owned(),
        |p| p.to_string_lossy().into_owned(),
    );
    clean_subdir(&given).unwrap_or_else(|| "Dockerfile".to_owned())
}

/// How errors name a remote context's Dockerfile: `<url> (<path inside>)`.
pub(crate) fn dockerfile_display(spec: &BuildSpec, remote: &RemoteContext) -> String {
    format!("{} ({})", remote.shown(), dockerfile_in_context(spec))
}

/// What a remote build refuses before anything is fetched: a Dockerfile that is not inside
/// the remote context, and a context from elsewhere at the same time.
pub(crate) fn check(spec: &BuildSpec, remote: &RemoteContext) -> Result<(), BuildError> {
    let url = remote.shown();
    if spec.dockerfile_text.is_some() {
        return Err(BuildError::Input(format!(
            "context {url}: the engine reads the Dockerfile from the remote context; a Dockerfile of its own (`-f -`) needs a BuildKit session"
        )));
    }
    if spec.context_archive.is_some() {
        return Err(BuildError::Input(format!(
            "context {url}: a remote context and a context tar cannot both be given"
        )));
    }
    if let Some(dockerfile) = &spec.dockerfile {
        if dockerfile.is_absolute() {
            return Err(BuildError::Input(format!(
                "-f {}: with the remote context {url}, -f names a file inside it (a Dockerfile from this machine needs a BuildKit session)",
                dockerfile.display()
            )));
        }
    }
    if let RemoteContext::Url(text) = remote {
        if text.parse::<::http::Uri>().is_err() {
            return Err(BuildError::Input(format!("context {url}: not a valid URL")));
        }
    }
    Ok(())
}

/// What `context_selected` says of a remote context.
pub(crate) fn selection(reason: &str) -> ContextSelection {
    ContextSelection {
        used: ContextUsed::All,
        paths: Vec::new(),
        reason: Some(reason.to_owned()),
        decided: true,
    }
}

/// What devbuild fetched of a remote context before the build.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The context.
    pub remote: RemoteContext,
    /// The Dockerfile's text, when it could be read.
    pub dockerfile: Option<String>,
    /// Why it could not be (naming the URL).
    pub problem: Option<String>,
    /// For an engine whose BuildKit cannot fetch a git subdirectory: the subdirectory as a
    /// tar, sent as the build's body instead of `remote=`.
    pub archive: Option<tempfile::TempPath>,
}

impl Fetched {
    /// What the engine is sent as `remote=`: nothing when devbuild sends the context.
    pub fn engine_remote(&self) -> Option<String> {
        match self.archive {
            Some(_) => None,
            None => Some(self.remote.url().to_owned()),
        }
    }

    /// What `context_selected` says.
    pub fn selection(&self) -> ContextSelection {
        match &self.archive {
            Some(_) => selection(&format!(
                "the engine's BuildKit cannot fetch a git subdirectory (before API {GIT_SUBDIR_API}): devbuild fetched {} and sends that directory",
                self.remote.shown()
            )),
            None => selection(FETCHED_BY_THE_ENGINE),
        }
    }
}

/// Fetches what a build of `remote` on an engine speaking `api` needs before it starts: the
/// Dockerfile (for the analysis and the pre-pull; when it cannot be read,
/// [`Fetched::problem`] says why) and, with `for_build`, for an engine before
/// [`GIT_SUBDIR_API`] and a git subdirectory, that directory as a tar (a failure is then an
/// error: that engine cannot fetch it).
pub(crate) async fn fetch(
    spec: &BuildSpec,
    remote: &RemoteContext,
    api: ApiVersion,
    for_build: bool,
) -> Result<Fetched, BuildError> {
    let deadline = Instant::now() + FETCH_TIMEOUT;
    let mut fetched = Fetched {
        remote: remote.clone(),
        dockerfile: None,
        problem: None,
        archive: None,
    };
    let path = dockerfile_in_context(spec);
    match remote {
        RemoteContext::Git(url) => {
            let send_subdir = for_build && api < GIT_SUBDIR_API && url.subdir.is_some();
            fetch_git(url, &path, api, send_subdir, deadline, &mut fetched).await?
        }
        RemoteContext::Url(url) => match fetch_url(url, &path, deadline).await {
            Ok(text) => fetched.dockerfile = Some(text),
            Err(reason) => fetched.problem = Some(reason),
        },
    }
    Ok(fetched)
}

async fn fetch_git(
    url: &GitUrl,
    dockerfile: &str,
    api: ApiVersion,
    send_subdir: bool,
    deadline: Instant,
    fetched: &mut Fetched,
) -> Result<(), BuildError> {
    let reference = match (&url.reference, api < GIT_SUBDIR_API) {
        (Some(reference), _) => reference.as_str(),
        (None, true) => "master",
        (None, false) => "HEAD",
    };
    let path = match &url.subdir {
        Some(subdir) => format!("{subdir}/{dockerfile}"),
        None => dockerfile.to_owned(),
    };
    let repository = match git::fetch(&url.repository, reference, deadline).await {
        Ok(repository) => repository,
        Err(reason) if send_subdir => {
            return Err(BuildError::Input(format!(
                "git context {}: this engine (API {api}) cannot fetch a subdirectory of a git repository (its BuildKit says \"subdir not supported yet\"), and devbuild could not fetch it to send it: {reason}",
                redact(&url.url)
            )))
        }
        Err(reason) => {
            fetched.problem = Some(reason);
            return Ok(());
        }
    };
    match repository.read(&path, deadline).await {
        Ok(Some(bytes)) => {
            fetched.dockerfile = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        Ok(None) => {
            fetched.problem = Some(format!(
                "git context {}: {reference} has no {path}",
                redact(&url.url)
            ));
        }
        Err(reason) => fetched.problem = Some(reason),
    }
    if send_subdir {
        let subdir = url.subdir.as_deref().unwrap_or_default();
        let archive = repository
            .archive(subdir, deadline)
            .await
            .map_err(|reason| {
                BuildError::Input(format!(
                    "git context {}: this engine (API {api}) cannot fetch a subdirectory of a git repository, and devbuild could not archive {subdir}: {reason}",
                    redact(&url.url)
                ))
            })?;
        fetched.archive = Some(archive);
    }
    Ok(())
}

/// The Dockerfile of the context at `url`: `path` in it when it is a plain or
/// gzip-compressed tar, or the whole download when it is neither a tar nor compressed
/// (BuildKit then takes the file itself as the Dockerfile, whatever `-f` says).
async fn fetch_url(url: &str, path: &str, deadline: Instant) -> Result<String, String> {
    let file = http::download(url, deadline).await?;
    dockerfile_of_download(file, path).map_err(|reason| format!("{}: {reason}", redact(url)))
}

/// What a downloaded context is, from its first bytes, as BuildKit's `isArchive` decides.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DownloadKind {
    /// gzip (`1f 8b 08`).
    Gzip,
    /// bzip2 or xz: BuildKit unpacks them, devbuild does not read them.
    OtherCompression(&'static str),
    /// A tar: its first header's checksum holds.
    Tar,
    /// Anything else: the Dockerfile itself.
    Dockerfile,
}

/// Tells a download's kind from its first bytes (up to 1024, as BuildKit reads).
pub(crate) fn download_kind(head: &[u8]) -> DownloadKind {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        return DownloadKind::Gzip;
    }
    if head.starts_with(b"BZh") {
        return DownloadKind::OtherCompression("bzip2");
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return DownloadKind::OtherCompression("xz");
    }
    if head.len() >= 512 && tar_checksum_holds(&head[..512]) {
        return DownloadKind::Tar;
    }
    DownloadKind::Dockerfile
}

/// Whether a 512-byte block is a tar header: its checksum field (octal, at 148..156) is the
/// sum of its bytes with that field taken as spaces, as Go's `archive/tar` checks it (signed
/// sums accepted too).
fn tar_checksum_holds(block: &[u8]) -> bool {
    let field = &block[148..156];
    let text: String = field
        .iter()
        .map(|&b| char::from(b))
        .filter(|c| !matches!(c, ' ' | '\0'))
        .collect();
    let Ok(stored) = i64::from_str_radix(&text, 8) else {
        return false;
    };
    let (unsigned, signed) = block
        .iter()
        .enumerate()
        .fold((0i64, 0i64), |(u, s), (i, &b)| {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            (u + i64::from(b), s + i64::from(b as i8))
        });
    !block.iter().all(|&b| b == 0) && (stored == unsigned || stored == signed)
}

/// The Dockerfile of a downloaded context (see [`fetch_url`]).
pub(crate) fn dockerfile_of_download(
    mut file: std::fs::File,
    path: &str,
) -> Result<String, String> {
    use std::io::Seek;
    let mut head = Vec::with_capacity(1024);
    (&mut file)
        .take(1024)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read the download: {e}"))?;
    file.rewind()
        .map_err(|e| format!("cannot read the download: {e}"))?;
    let reader: Box<dyn Read> = match download_kind(&head) {
        DownloadKind::Dockerfile => {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read the download: {e}"))?;
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        DownloadKind::OtherCompression(kind) => {
            return Err(format!(
                "a {kind}-compressed tar, whose Dockerfile devbuild does not read (the engine unpacks it)"
            ))
        }
        DownloadKind::Gzip => Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file))),
        DownloadKind::Tar => Box::new(std::io::BufReader::new(file)),
    };
    let wanted = path.trim_start_matches("./");
    let mut tar = tar::Archive::new(reader);
    let broken = |e: std::io::Error| format!("not a readable tar: {e}");
    for entry in tar.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let name = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        if name.trim_start_matches("./") == wanted {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(broken)?;
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Err(format!("the tar holds no {wanted}"))
}

/// A failed build of a remote context whose error does not name the context (BuildKit's
/// "invalid response status 404" for a download, which says nothing of what it fetched):
/// the URL comes first. Errors of the Dockerfile's own steps are left as they are.
pub(crate) fn naming_the_context(err: BuildError, remote: &RemoteContext) -> BuildError {
    let url = remote.shown();
    let BuildError::Failed(mut failure) = err else {
        return err;
    };
    let said = failure.to_string();
    if said.contains(remote.url()) || said.contains(&url) {
        return BuildError::Failed(failure);
    }
    match &mut failure.step {
        Some(step) if !step.name.starts_with("[internal]") => {}
        Some(step) => {
            step.error = format!("remote context {url}: {}", step.error);
        }
        None => failure.message = format!("remote context {url}: {}", failure.message),
    }
    BuildError::Failed(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// moby's `urlutil_test.go` (`gitUrls`, `incompleteGitUrls`, `invalidGitUrls`), then
    /// buildx's `util/urlutil` cases and BuildKit's `dfgitutil` cases where they agree with
    /// the docker CLI.
    #[test]
    fn git_urls_as_the_docker_cli_tells_them() {
        for git in [
            "git://github.com/docker/docker",
            "git@github.com:docker/docker.git",
            "git@bitbucket.org:atlassianlabs/atlassian-docker.git",
            "https://github.com/docker/docker.git",
            "http://github.com/docker/docker.git",
            "http://github.com/docker/docker.git#branch",
            "http://github.com/docker/docker.git#:dir",
            "github.com/moby/moby/v2",
            "git@github.com:moby/buildkit",
            "https://github.com/foo/bar.git#baz/qux:quux/quuz",
            "ssh://git@example.com/acme/app.git",
            "git://127.0.0.1:9418/context.git#v1:sub",
        ] {
            assert!(is_git_url(git), "{git} is a git URL");
            assert!(
                matches!(RemoteContext::parse(git), Some(RemoteContext::Git(_))),
                "{git}"
            );
        }
        for not_git in [
            "http://github.com/docker/docker.git:#branch",
            "https://github.com/docker/dgit",
            "https://example.com/foo.git/",
            "https://example.com/foo.git.bar",
            "https://example.com/foo.git#",
            "https://example.com/archive.tar.gz",
            "HTTPS://example.com/repo.git",
            "./.git",
            ".git",
            "custom.xyz/moby/buildkit.git",
            "docker-image://alpine",
            "",
        ] {
            assert!(!is_git_url(not_git), "{not_git} is not a git URL");
        }
    }

    #[test]
    fn urls_that_are_not_git_are_tarballs_or_dockerfiles_and_the_rest_is_local() {
        for url in [
            "https://example.com/not-a-git-url",
            "http://example.com/path",
            "http://",
            "https://example.com/context.tar.gz",
            "http://github.com/docker/docker.git:#branch",
            "https://example.com/Dockerfile",
        ] {
            assert_eq!(
                RemoteContext::parse(url),
                Some(RemoteContext::Url(url.to_owned())),
                "{url}"
            );
        }
        for local in [
            "./hack",
            "hack/dockerfiles",
            "example.com/repo.git",
            " https://example.com/repo.git",
            "HTTP://example.com/x",
            "docker-image://alpine",
            "file:///tmp/x",
            "",
        ] {
            assert_eq!(RemoteContext::parse(local), None, "{local:?}");
            assert_eq!(classify(local), ContextArg::Local(PathBuf::from(local)));
        }
        assert_eq!(classify("-"), ContextArg::Stdin);
    }

    #[test]
    fn an_existing_directory_wins_over_a_url_look() {
        let dir = tempfile::tempdir().unwrap();
        let looks_remote = dir.path().join("github.com/acme/app");
        std::fs::create_dir_all(&looks_remote).unwrap();
        let cwd_relative = looks_remote.to_str().unwrap();
        assert_eq!(
            classify(cwd_relative),
            ContextArg::Local(looks_remote.clone())
        );
        assert!(matches!(
            classify("github.com/acme/app"),
            ContextArg::Remote(RemoteContext::Git(_))
        ));
    }

    #[test]
    fn fragments_give_the_ref_and_the_subdirectory_as_buildkit_reads_them() {
        let cases = [
            (
                "https://github.com/a/b.git",
                "https://github.com/a/b.git",
                None,
                None,
            ),
            (
                "https://github.com/a/b.git#v1",
                "https://github.com/a/b.git",
                Some("v1"),
                None,
            ),
            (
                "https://github.com/a/b.git#pull/42/head",
                "https://github.com/a/b.git",
                Some("pull/42/head"),
                None,
            ),
            (
                "https://github.com/a/b.git#:dir",
                "https://github.com/a/b.git",
                None,
                Some("dir"),
            ),
            (
                "https://github.com/a/b.git#main:a/./b/",
                "https://github.com/a/b.git",
                Some("main"),
                Some("a/b"),
            ),
            (
                "https://github.com/a/b.git#main:../../x",
                "https://github.com/a/b.git",
                Some("main"),
                Some("x"),
            ),
            (
                "https://github.com/a/b.git#main:/",
                "https://github.com/a/b.git",
                Some("main"),
                None,
            ),
            (
                "git@github.com:a/b.git#v2:sub",
                "git@github.com:a/b.git",
                Some("v2"),
                Some("sub"),
            ),
            (
                "github.com/a/b#main",
                "https://github.com/a/b",
                Some("main"),
                None,
            ),
            (
                "git://127.0.0.1:9418/c.git#v1:sub:x",
                "git://127.0.0.1:9418/c.git",
                Some("v1"),
                Some("sub:x"),
            ),
        ];
        for (text, repository, reference, subdir) in cases {
            let git = GitUrl::parse(text);
            assert_eq!(git.url, text);
            assert_eq!(git.repository, repository, "{text}");
            assert_eq!(git.reference.as_deref(), reference, "{text}");
            assert_eq!(git.subdir.as_deref(), subdir, "{text}");
        }
    }

    #[test]
    fn downloads_are_told_apart_as_buildkit_does() {
        let tar = {
            let mut builder = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_ustar();
            header.set_size(5);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, "Dockerfile", &b"FROM x"[..5])
                .unwrap();
            builder.into_inner().unwrap()
        };
        assert_eq!(download_kind(&tar), DownloadKind::Tar);
        let mut v7 = tar.clone();
        v7[257..265].fill(0);
        let header = tar::Header::from_byte_slice(&v7[..512]).clone();
        let mut fixed = header;
        fixed.set_cksum();
        v7[..512].copy_from_slice(fixed.as_bytes());
        assert_eq!(download_kind(&v7), DownloadKind::Tar, "a v7 tar, no magic");
        assert_eq!(download_kind(&[0x1f, 0x8b, 0x08, 0]), DownloadKind::Gzip);
        assert_eq!(
            download_kind(b"BZh91AY"),
            DownloadKind::OtherCompression("bzip2")
        );
        assert_eq!(
            download_kind(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1]),
            DownloadKind::OtherCompression("xz")
        );
        assert_eq!(download_kind(b"FROM alpine\n"), DownloadKind::Dockerfile);
        let long_dockerfile = format!("FROM alpine\n{}", "RUN true\n".repeat(100));
        assert_eq!(
            download_kind(long_dockerfile.as_bytes()),
            DownloadKind::Dockerfile
        );
        assert_eq!(download_kind(&[0u8; 1024]), DownloadKind::Dockerfile);
    }

    #[test]
    fn the_dockerfile_is_read_from_a_plain_or_gzip_tar_or_is_the_download() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("./a.txt", &b"a\n"[..]),
            ("./sub/Dockerfile.dev", &b"FROM dev\n"[..]),
            ("./Dockerfile", &b"FROM root\n"[..]),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, data).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let plain = dir.path().join("c.tar");
        std::fs::write(&plain, &tar).unwrap();
        let gzip = dir.path().join("c.tar.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &tar).unwrap();
        std::fs::write(&gzip, encoder.finish().unwrap()).unwrap();
        let lone = dir.path().join("Dockerfile");
        std::fs::write(&lone, "FROM lone\n").unwrap();
        let open = |p: &Path| std::fs::File::open(p).unwrap();
        for file in [&plain, &gzip] {
            assert_eq!(
                dockerfile_of_download(open(file), "Dockerfile").unwrap(),
                "FROM root\n"
            );
            assert_eq!(
                dockerfile_of_download(open(file), "sub/Dockerfile.dev").unwrap(),
                "FROM dev\n"
            );
            let missing = dockerfile_of_download(open(file), "nope").unwrap_err();
            assert_eq!(missing, "the tar holds no nope");
        }
        assert_eq!(
            dockerfile_of_download(open(&lone), "ignored/Dockerfile").unwrap(),
            "FROM lone\n"
        );
    }

    #[test]
    fn remote_specs_refuse_a_dockerfile_from_elsewhere() {
        let remote = RemoteContext::parse("https://example.com/a.git").unwrap();
        let mut spec = BuildSpec {
            remote: Some(remote.clone()),
            ..BuildSpec::default()
        };
        spec.check().unwrap();
        spec.dockerfile = Some("/etc/Dockerfile".into());
        let err = spec.check().unwrap_err().to_string();
        assert!(err.contains("https://example.com/a.git"), "{err}");
        assert!(err.starts_with("-f /etc/Dockerfile: "), "{err}");
        spec.dockerfile = None;
        spec.dockerfile_text = Some("FROM x\n".into());
        let err = spec.check().unwrap_err().to_string();
        assert!(err.contains("`-f -`"), "{err}");
        let bad = BuildSpec {
            remote: Some(RemoteContext::Url("http://exa mple/x".into())),
            ..BuildSpec::default()
        };
        let err = bad.check().unwrap_err().to_string();
        assert_eq!(err, "context http://exa mple/x: not a valid URL");
        let tagged = BuildSpec {
            remote: Some(remote),
            tags: vec!["Not A Tag".into()],
            ..BuildSpec::default()
        };
        assert!(matches!(tagged.check(), Err(BuildError::Input(_))));
    }

    #[test]
    fn credentials_never_show() {
        for (url, shown) in [
            (
                "https://me:token@h/r.git#v1:sub",
                "https://xxxxx:xxxxx@h/r.git#v1:sub",
            ),
            ("https://token@h/c.tar?x=a@b", "https://xxxxx@h/c.tar?x=a@b"),
            ("https://:token@h/c.tar", "https://:xxxxx@h/c.tar"),
            ("ssh://git@h/r.git", "ssh://xxxxx@h/r.git"),
            ("https://h/a@b/c.tar", "https://h/a@b/c.tar"),
            ("git@github.com:a/b.git", "git@github.com:a/b.git"),
            ("git://h/r.git", "git://h/r.git"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        let remote = RemoteContext::parse("https://me:token@h/r.git").unwrap();
        let spec = BuildSpec {
            remote: Some(remote.clone()),
            dockerfile: Some("/abs/Dockerfile".into()),
            ..BuildSpec::default()
        };
        let err = spec.check().unwrap_err().to_string();
        assert!(!err.contains("token") && err.contains("xxxxx"), "{err}");
        assert!(!dockerfile_display(&spec, &remote).contains("token"));
    }

    #[test]
    fn the_dockerfile_path_inside_is_cleaned() {
        let mut spec = BuildSpec::default();
        assert_eq!(dockerfile_in_context(&spec), "Dockerfile");
        spec.dockerfile = Some("./docker/../build/Dockerfile.prod".into());
        assert_eq!(dockerfile_in_context(&spec), "build/Dockerfile.prod");
        let remote = RemoteContext::parse("git://h/r.git#v1:sub").unwrap();
        assert_eq!(
            dockerfile_display(&spec, &remote),
            "git://h/r.git#v1:sub (build/Dockerfile.prod)"
        );
    }

    #[test]
    fn an_internal_failure_names_the_context_and_a_step_of_the_dockerfile_does_not() {
        use engine_client::engine::BuildFailure;
        use engine_client::progress::StepFailure;
        let remote = RemoteContext::Url("http://127.0.0.1:1/c.tar".into());
        let failed = |step: Option<StepFailure>| {
            BuildError::Failed(BuildFailure {
                message: "invalid response status 404".into(),
                step,
            })
        };
        let err = naming_the_context(failed(None), &remote).to_string();
        assert_eq!(
            err,
            "build failed: remote context http://127.0.0.1:1/c.tar: invalid response status 404"
        );
        let step = |name: &str| StepFailure {
            digest: "sha256:01".into(),
            name: name.into(),
            error: "invalid response status 404".into(),
        };
        let err = naming_the_context(
            failed(Some(step("[internal] load remote build context"))),
            &remote,
        )
        .to_string();
        assert!(
            err.contains(": remote context http://127.0.0.1:1/c.tar: invalid"),
            "{err}"
        );
        let err = naming_the_context(failed(Some(step("[2/2] RUN false"))), &remote).to_string();
        assert!(!err.contains("remote context"), "{err}");
    }
}
