//! The system `git`, for what devbuild reads of a git context before the engine fetches it:
//! one ref fetched shallowly (`git fetch --depth=1 <repository> <ref>`) into a temporary
//! bare repository, then a file read from it (`git cat-file`) or a directory archived
//! (`git archive`), as BuildKit's git source fetches a ref.
//!
//! Every command runs with `GIT_TERMINAL_PROMPT=0` (and `ssh -o BatchMode=yes` unless
//! `GIT_SSH_COMMAND` or `GIT_SSH` says otherwise), standard input closed, until a deadline,
//! after which it is killed: a repository that wants a password, or a host that never
//! answers, fails instead of waiting. Errors name the repository and end with what git said.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Instant;

use tokio::process::Command;

/// A ref fetched into a temporary bare repository (removed when dropped).
#[derive(Debug)]
pub struct Repository {
    dir: tempfile::TempDir,
    /// The repository it was fetched from.
    remote: String,
    /// The ref fetched.
    reference: String,
}

/// Fetches `reference` (a branch, a tag, `HEAD`, a full ref, a commit) of `remote` with
/// depth 1, before `deadline`.
pub async fn fetch(remote: &str, reference: &str, deadline: Instant) -> Result<Repository, String> {
    let dir = tempfile::Builder::new()
        .prefix("devbuild-git-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let repository = Repository {
        remote: remote.to_owned(),
        reference: reference.to_owned(),
        dir,
    };
    let init: [&std::ffi::OsStr; 4] = [
        "init".as_ref(),
        "--quiet".as_ref(),
        "--bare".as_ref(),
        repository.dir.path().as_os_str(),
    ];
    run(None, &init, deadline).await?;
    repository
        .git(
            &[
                "fetch",
                "--quiet",
                "--depth=1",
                "--no-tags",
                "--",
                remote,
                reference,
            ],
            deadline,
        )
        .await
        .map_err(|e| format!("cannot fetch {reference} of {}: {e}", super::redact(remote)))?;
    Ok(repository)
}

impl Repository {
    /// The file `path` (relative to the repository's root) of the fetched ref, `None` when
    /// it has no such file.
    pub async fn read(&self, path: &str, deadline: Instant) -> Result<Option<Vec<u8>>, String> {
        let object = format!("FETCH_HEAD:{path}");
        let found = self
            .git_output(&["rev-parse", "--verify", "--quiet", &object], deadline)
            .await?;
        if !found.status.success() {
            return Ok(None);
        }
        let blob = self
            .git(&["cat-file", "blob", &object], deadline)
            .await
            .map_err(|e| {
                format!(
                    "cannot read {path} of {} in {}: {e}",
                    self.reference,
                    super::redact(&self.remote)
                )
            })?;
        Ok(Some(blob.stdout))
    }

    /// The directory `subdir` of the fetched ref as a tar (its contents at the tar's root,
    /// as BuildKit scopes a context to a subdirectory), in a temporary file.
    pub async fn archive(
        &self,
        subdir: &str,
        deadline: Instant,
    ) -> Result<tempfile::TempPath, String> {
        let file = tempfile::Builder::new()
            .prefix("devbuild-git-context-")
            .suffix(".tar")
            .tempfile()
            .map_err(|e| format!("cannot create a temporary file: {e}"))?
            .into_temp_path();
        let output = format!("--output={}", file.display());
        let tree = format!("FETCH_HEAD:{subdir}");
        self.git(&["archive", "--format=tar", &output, &tree], deadline)
            .await
            .map_err(|e| {
                format!(
                    "cannot archive {subdir} of {} in {}: {e}",
                    self.reference,
                    super::redact(&self.remote)
                )
            })?;
        Ok(file)
    }

    /// `git --git-dir=<dir> ARGS`, which must succeed.
    async fn git(&self, args: &[&str], deadline: Instant) -> Result<Output, String> {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        run(Some(self.dir.path()), &args, deadline).await
    }

    /// `git --git-dir=<dir> ARGS`, whatever its exit status.
    async fn git_output(&self, args: &[&str], deadline: Instant) -> Result<Output, String> {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        spawn(Some(self.dir.path()), &args, deadline).await
    }
}

/// Runs git, which must succeed: its error is the last lines git printed.
async fn run(
    git_dir: Option<&Path>,
    args: &[&std::ffi::OsStr],
    deadline: Instant,
) -> Result<Output, String> {
    let output = spawn(git_dir, args, deadline).await?;
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let said = said[said.len().saturating_sub(3)..].join(" ");
    Err(if said.is_empty() {
        format!("git {}", output.status)
    } else {
        format!("git {}: {said}", output.status)
    })
}

/// Runs git with a closed standard input, no prompts, killed at `deadline`.
async fn spawn(
    git_dir: Option<&Path>,
    args: &[&std::ffi::OsStr],
    deadline: Instant,
) -> Result<Output, String> {
    let mut command = Command::new("git");
    if let Some(dir) = git_dir {
        let mut flag = std::ffi::OsString::from("--git-dir=");
        flag.push(dir);
        command.arg(flag);
    }
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
        command.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "git is not installed (no `git` on PATH)".to_owned(),
        _ => format!("cannot run git: {e}"),
    })?;
    let timeout = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(format!("cannot run git: {e}")),
        Err(_) => Err(format!(
            "git did not finish in time (devbuild waits at most {} s for a remote context; stopped)",
            super::FETCH_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command as StdCommand;

    /// A repository with two commits on `master`, the first tagged `v1`.
    fn origin() -> Option<tempfile::TempDir> {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            StdCommand::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(dir.path())
                .output()
        };
        let ok = |args: &[&str]| git(args).is_ok_and(|o| o.status.success());
        if !ok(&["init", "--quiet", "--initial-branch=master"]) {
            return None;
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM one\n").unwrap();
        std::fs::write(dir.path().join("sub/file"), "in sub\n").unwrap();
        assert!(ok(&["add", "."]));
        assert!(ok(&["commit", "--quiet", "-m", "one"]));
        assert!(ok(&["tag", "-a", "v1", "-m", "v1"]));
        std::fs::write(dir.path().join("Dockerfile"), "FROM two\n").unwrap();
        assert!(ok(&["commit", "--quiet", "-am", "two"]));
        Some(dir)
    }

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(30)
    }

    #[tokio::test]
    async fn fetches_one_ref_and_reads_and_archives_it() {
        let Some(origin) = origin() else {
            eprintln!("SKIPPED (no git on PATH)");
            return;
        };
        let url = format!("file://{}", origin.path().display());
        let head = fetch(&url, "HEAD", soon()).await.unwrap();
        assert_eq!(
            head.read("Dockerfile", soon()).await.unwrap().unwrap(),
            b"FROM two\n"
        );
        assert_eq!(head.read("nope", soon()).await.unwrap(), None);
        let v1 = fetch(&url, "v1", soon()).await.unwrap();
        assert_eq!(
            v1.read("Dockerfile", soon()).await.unwrap().unwrap(),
            b"FROM one\n"
        );
        let tar = v1.archive("sub", soon()).await.unwrap();
        let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["file"]);
        let missing = v1.archive("nope", soon()).await.unwrap_err();
        assert!(
            missing.contains("cannot archive nope of v1 in file://"),
            "{missing}"
        );
    }

    #[tokio::test]
    async fn a_missing_ref_or_repository_is_an_error_naming_it() {
        let Some(origin) = origin() else {
            eprintln!("SKIPPED (no git on PATH)");
            return;
        };
        let url = format!("file://{}", origin.path().display());
        let err = fetch(&url, "no-such-branch", soon()).await.unwrap_err();
        assert!(
            err.starts_with(&format!(
                "cannot fetch no-such-branch of {url}: git exit status: "
            )),
            "{err}"
        );
        let err = fetch("git://127.0.0.1:1/nope.git", "HEAD", soon())
            .await
            .unwrap_err();
        assert!(
            err.starts_with("cannot fetch HEAD of git://127.0.0.1:1/nope.git: git exit status: "),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_remote_that_never_answers_is_stopped_at_the_deadline() {
        if origin().is_none() {
            eprintln!("SKIPPED (no git on PATH)");
            return;
        }
        // Accepts the connection and never says anything.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = Instant::now();
        let deadline = started + std::time::Duration::from_millis(500);
        let err = fetch(&format!("git://127.0.0.1:{port}/x.git"), "HEAD", deadline)
            .await
            .unwrap_err();
        assert!(err.contains("git did not finish in time"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        drop(listener);
    }
}
