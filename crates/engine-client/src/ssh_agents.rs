//! SSH agents a build forwards (`RUN --mount=type=ssh[,id=ID]`), as buildx forwards them
//! (BuildKit's `session/sshforward/sshprovider`): each id is one agent socket, or a set of
//! private key files served by an agent of their own. Everything is checked when the agent
//! is added, before anything is sent: a socket that cannot be reached, a file that is not a
//! private key, a key protected by a passphrase.
//!
//! BuildKit reaches an agent through the session (`moby.sshforward.v1.SSH/ForwardAgent`, a
//! stream of the agent protocol's bytes); what it may ask is limited as buildx limits it
//! (`readOnlyAgent`): list the keys and sign with them, never add, remove or lock
//! (`Request::allowed`). The key files' own agent is OpenSSH's `ssh-agent`, started for
//! the build on a socket in a private directory and gone with the last build using it
//! (`KeyAgent`); the keys are loaded with `ssh-add`.
//!
//! ```no_run
//! use engine_client::ssh_agents::SshAgents;
//! let mut agents = SshAgents::new();
//! // `--ssh default`: the agent of `$SSH_AUTH_SOCK`.
//! agents.add("default", &[]).unwrap();
//! // `--ssh deploy=/home/me/.ssh/id_deploy`: a key of its own.
//! agents.add("deploy", &["/home/me/.ssh/id_deploy".into()]).unwrap();
//! assert_eq!(agents.ids().collect::<Vec<_>>(), ["default", "deploy"]);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;

/// The id of `RUN --mount=type=ssh` without `id=`, and of `--ssh default`.
pub const DEFAULT_ID: &str = "default";

/// The most of a key file read (buildx reads 100 KiB).
const MAX_KEY_FILE: u64 = 100 * 1024;

/// The SSH agents of a build, by id. `Debug` shows the ids and paths, never a key.
#[derive(Clone, Default)]
pub struct SshAgents {
    agents: BTreeMap<String, Arc<SshAgent>>,
}

/// One forwarded agent: the socket BuildKit's requests go to.
#[derive(Debug)]
struct SshAgent {
    socket: PathBuf,
    /// What was asked for: the socket, or the key files.
    given: Vec<PathBuf>,
    /// The key files' own agent, kept running while the agent is; `None` for a socket of
    /// the user's.
    _own: Option<KeyAgent>,
}

impl SshAgents {
    /// No agents: nothing is forwarded.
    pub fn new() -> SshAgents {
        SshAgents::default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }

    /// The agent socket of `id`, for the session to connect to.
    pub(crate) fn socket(&self, id: &str) -> Option<&Path> {
        self.agents.get(id).map(|agent| agent.socket.as_path())
    }

    /// Adds the agent `id` (empty: [`DEFAULT_ID`]) from `paths`, as buildx reads
    /// `--ssh ID=PATH,…`: none (or one empty path) is `$SSH_AUTH_SOCK`; one agent socket;
    /// or private key files, served by an agent started for them now. A socket is
    /// connected to once, a key read and checked, so that an unusable one is an error here.
    pub fn add(&mut self, id: &str, paths: &[PathBuf]) -> Result<(), SshAgentError> {
        let id = if id.is_empty() { DEFAULT_ID } else { id }.to_owned();
        if self.agents.contains_key(&id) {
            return Err(SshAgentError::Duplicate { id });
        }
        let paths: Vec<PathBuf> = match paths {
            [] => vec![PathBuf::new()],
            _ => paths.to_vec(),
        };
        let paths = if paths.len() == 1 && paths[0].as_os_str().is_empty() {
            match std::env::var_os("SSH_AUTH_SOCK").filter(|v| !v.is_empty()) {
                Some(socket) => vec![PathBuf::from(socket)],
                None => return Err(SshAgentError::NoDefaultSocket { id }),
            }
        } else {
            paths
        };
        let agent = SshAgent::open(&id, paths)?;
        self.agents.insert(id, Arc::new(agent));
        Ok(())
    }
}

impl fmt::Debug for SshAgents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.agents.iter().map(|(id, agent)| (id, &agent.given)))
            .finish()
    }
}

impl SshAgent {
    /// Checks `paths` and makes the agent: one socket, or key files and their own agent.
    fn open(id: &str, paths: Vec<PathBuf>) -> Result<SshAgent, SshAgentError> {
        let unusable = |path: &Path, reason: String| SshAgentError::Unusable {
            id: id.to_owned(),
            path: path.to_owned(),
            reason,
        };
        let mut sockets = Vec::new();
        let mut keys = Vec::new();
        for path in &paths {
            let metadata = std::fs::metadata(path)
                .map_err(|e| unusable(path, crate::engine::os_wording(&e)))?;
            if is_socket(&metadata) {
                sockets.push(path.clone());
            } else if metadata.is_dir() {
                return Err(unusable(
                    path,
                    "a directory, not an agent socket or a key".into(),
                ));
            } else {
                check_key(path).map_err(|reason| unusable(path, reason))?;
                keys.push(path.clone());
            }
        }
        match (sockets.as_slice(), keys.is_empty()) {
            ([socket], true) => {
                // Reach it once now: a stale or forbidden socket is an error before the upload.
                connect_check(socket).map_err(|reason| unusable(socket, reason))?;
                Ok(SshAgent {
                    socket: socket.clone(),
                    given: paths,
                    _own: None,
                })
            }
            ([], false) => {
                let own = KeyAgent::start(&keys).map_err(|reason| SshAgentError::KeyAgent {
                    id: id.to_owned(),
                    reason,
                })?;
                Ok(SshAgent {
                    socket: own.socket.clone(),
                    given: paths,
                    _own: Some(own),
                })
            }
            ([_, _, ..], true) => Err(SshAgentError::Mixed {
                id: id.to_owned(),
                reason: "only one agent socket is allowed",
            }),
            _ => Err(SshAgentError::Mixed {
                id: id.to_owned(),
                reason: "agent sockets and key files cannot be combined",
            }),
        }
    }
}

#[cfg(unix)]
fn is_socket(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    metadata.file_type().is_socket()
}

#[cfg(not(unix))]
fn is_socket(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn connect_check(socket: &Path) -> Result<(), String> {
    std::os::unix::net::UnixStream::connect(socket)
        .map(drop)
        .map_err(|e| {
            format!(
                "cannot connect to the agent: {}",
                crate::engine::os_wording(&e)
            )
        })
}

#[cfg(not(unix))]
fn connect_check(_: &Path) -> Result<(), String> {
    Err("agent sockets need a unix system".into())
}

/// Whether `path` holds a private key an agent can load without asking anything: PEM
/// (`… PRIVATE KEY`) or OpenSSH's own format, not protected by a passphrase.
fn check_key(path: &Path) -> Result<(), String> {
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_KEY_FILE).read_to_end(&mut text))
        .map_err(|e| crate::engine::os_wording(&e))?;
    let text = String::from_utf8_lossy(&text);
    key_problem(&text).map_or(Ok(()), Err)
}

/// What keeps `text` from being a usable private key, if anything.
fn key_problem(text: &str) -> Option<String> {
    const PASSPHRASE: &str = "the key is protected by a passphrase; add it to your agent \
                              (ssh-add) and forward the agent instead";
    let Some(begin) = text.find("-----BEGIN ") else {
        return Some("not an SSH private key (no PEM block)".into());
    };
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label = rest.split("-----").next().unwrap_or_default();
    if label == "ENCRYPTED PRIVATE KEY" {
        return Some(PASSPHRASE.into());
    }
    if !label.ends_with("PRIVATE KEY") {
        return Some(format!("not an SSH private key (a PEM block of {label:?})"));
    }
    if rest.contains("Proc-Type: 4,ENCRYPTED") {
        return Some(PASSPHRASE.into());
    }
    if label == "OPENSSH PRIVATE KEY" {
        let end = rest.find("-----END").unwrap_or(rest.len());
        let mut body: String = rest[label.len() + 5..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        // The header is all that is read here (ssh-add reads the rest): whole base64 quads.
        body.truncate(body.len().min(64) / 4 * 4);
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body) else {
            return Some("not an SSH private key (its base64 is damaged)".into());
        };
        // `openssh-key-v1\0`, then the cipher's name as an SSH string: `none` unless encrypted.
        let Some(after) = bytes.strip_prefix(b"openssh-key-v1\0") else {
            return Some("not an SSH private key (not openssh-key-v1)".into());
        };
        let cipher = after
            .get(..4)
            .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
            .and_then(|n| after.get(4..4 + n));
        match cipher {
            Some(b"none") => {}
            Some(_) => return Some(PASSPHRASE.into()),
            None => return Some("not an SSH private key (it ends early)".into()),
        }
    }
    None
}

/// OpenSSH's `ssh-agent`, started for key files: listening in a private directory, the
/// keys loaded with `ssh-add`.
///
/// It runs in ssh-agent's command mode, with a `cat` reading a pipe of ours as its command:
/// the agent exits when its command does (it checks every 10 s), and the command when the
/// pipe closes, so the agent goes with this value, or with this process however it ends.
/// Dropping it stops the command and removes the directory (and the socket) at once.
#[derive(Debug)]
struct KeyAgent {
    socket: PathBuf,
    command: Child,
    _dir: tempfile::TempDir,
}

impl KeyAgent {
    fn start(keys: &[PathBuf]) -> Result<KeyAgent, String> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("devbuild-ssh-");
        // Whoever reaches the socket can sign with the keys: its owner only.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder
            .tempdir()
            .map_err(|e| format!("cannot make a directory for its socket: {e}"))?;
        let socket = dir.path().join("agent.sock");
        // The agent listens before it starts the command, which then says so.
        let mut command = Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .args(["sh", "-c", "echo listening && exec cat >/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start OpenSSH's ssh-agent to serve the keys: {}",
                    crate::engine::os_wording(&e)
                )
            })?;
        let mut line = String::new();
        let stdout = command.stdout.take().expect("piped");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let mut agent = KeyAgent {
            socket,
            command,
            _dir: dir,
        };
        if line.trim_end() != "listening" {
            let mut stderr = String::new();
            if let Some(mut pipe) = agent.command.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return Err(format!("ssh-agent did not start: {}", stderr.trim()));
        }
        let added = Command::new("ssh-add")
            .arg("-q")
            .args(keys)
            .env("SSH_AUTH_SOCK", &agent.socket)
            // Keys were checked not to need a passphrase; never prompt anyway.
            .env("SSH_ASKPASS_REQUIRE", "never")
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ssh-add: {}", crate::engine::os_wording(&e)))?;
        if !added.status.success() {
            let stderr = String::from_utf8_lossy(&added.stderr);
            return Err(format!(
                "ssh-add failed ({}): {}",
                added.status,
                stderr.trim()
            ));
        }
        Ok(agent)
    }
}

impl Drop for KeyAgent {
    fn drop(&mut self) {
        let _ = self.command.kill();
        let _ = self.command.wait();
    }
}

/// An agent could not be forwarded. Names the id, and the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SshAgentError {
    /// `default` (or no path) without `$SSH_AUTH_SOCK`.
    #[error("ssh {id}: no agent socket given and SSH_AUTH_SOCK is not set (start ssh-agent, or give --ssh {id}=SOCKET|KEY)")]
    NoDefaultSocket {
        /// The agent's id.
        id: String,
    },
    /// The same id twice.
    #[error("ssh {id}: given twice")]
    Duplicate {
        /// The agent's id.
        id: String,
    },
    /// A path that is no usable agent socket or private key.
    #[error("ssh {id}: {}: {reason}", path.display())]
    Unusable {
        /// The agent's id.
        id: String,
        /// The socket or key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Paths that do not make one agent.
    #[error("ssh {id}: {reason}")]
    Mixed {
        /// The agent's id.
        id: String,
        /// Why.
        reason: &'static str,
    },
    /// The key files' own agent could not be had.
    #[error("ssh {id}: {reason}")]
    KeyAgent {
        /// The agent's id.
        id: String,
        /// Why.
        reason: String,
    },
}

/// The agent protocol's `SSH_AGENT_FAILURE`, the answer to a request that is not allowed.
pub(crate) const AGENT_FAILURE: [u8; 5] = [0, 0, 0, 1, 5];

/// The longest agent message accepted (OpenSSH's `AGENT_MAX_LEN`).
const MAX_AGENT_MESSAGE: usize = 256 * 1024;

/// Splits a byte stream of the agent protocol into its messages: each a big-endian `u32`
/// length and that many bytes, the first of which is the message's type.
#[derive(Debug, Default)]
pub(crate) struct AgentMessages {
    buffer: Vec<u8>,
}

/// One agent request, whole (its length prefix included).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request(pub(crate) Vec<u8>);

impl Request {
    /// Whether buildx's read-only agent lets it through: `REQUEST_IDENTITIES` (11) and
    /// `SIGN_REQUEST` (13) only; adding, removing, locking and extensions are refused.
    pub(crate) fn allowed(&self) -> bool {
        matches!(self.0.get(4), Some(11 | 13))
    }
}

impl AgentMessages {
    /// Takes more of the stream.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, if there is one yet; a length over the limit is an error.
    pub(crate) fn next(&mut self) -> Result<Option<Request>, String> {
        let Some(head) = self.buffer.first_chunk::<4>() else {
            return Ok(None);
        };
        let length = message_length(*head)?;
        if self.buffer.len() < 4 + length {
            return Ok(None);
        }
        let rest = self.buffer.split_off(4 + length);
        Ok(Some(Request(std::mem::replace(&mut self.buffer, rest))))
    }
}

/// The length a message's prefix gives, within the limit.
fn message_length(head: [u8; 4]) -> Result<usize, String> {
    let length = u32::from_be_bytes(head) as usize;
    if length > MAX_AGENT_MESSAGE {
        return Err(format!(
            "an agent message of {length} bytes is over the limit"
        ));
    }
    Ok(length)
}

/// Reads one whole agent message (prefix included) from `reader`.
pub(crate) async fn read_message<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 4];
    reader.read_exact(&mut head).await?;
    let length = message_length(head)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut message = vec![0u8; 4 + length];
    message[..4].copy_from_slice(&head);
    reader.read_exact(&mut message[4..]).await?;
    Ok(message)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A key of its own in `dir`, made by `ssh-keygen` with the comment
    /// `devbuild-unit-key`, as the agent `id`.
    pub(crate) fn agents_with_key(dir: &Path, id: &str) -> SshAgents {
        let key = dir.join("id_test");
        let made = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "devbuild-unit-key",
                "-f",
            ])
            .arg(&key)
            .status()
            .expect("ssh-keygen (OpenSSH's client) is installed");
        assert!(made.success());
        let mut agents = SshAgents::new();
        agents.add(id, &[key]).unwrap();
        agents
    }

    /// The key files' own agent listens in a private directory, and is gone with the last
    /// copy of the agents: its process stopped, its directory removed.
    #[test]
    fn a_key_agent_lives_as_long_as_its_agents() {
        let dir = tempfile::tempdir().unwrap();
        let agents = agents_with_key(dir.path(), "default");
        let copy = agents.clone();
        let socket = agents.socket("default").unwrap().to_owned();
        let private = socket.parent().unwrap().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only its owner may reach the agent");
        }
        assert!(format!("{agents:?}").contains("id_test"), "{agents:?}");
        drop(agents);
        assert!(socket.exists(), "a copy still uses it");
        drop(copy);
        assert!(!private.exists(), "{} is left behind", private.display());
    }

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = ((body.len() + 1) as u32).to_be_bytes().to_vec();
        m.push(kind);
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn agent_messages_are_split_however_the_stream_is_cut() {
        let mut stream = message(11, b"");
        stream.extend(message(13, b"key and data"));
        for cut in 0..stream.len() {
            let mut messages = AgentMessages::default();
            let mut seen = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                messages.push(piece);
                while let Some(request) = messages.next().unwrap() {
                    seen.push(request);
                }
            }
            assert_eq!(
                seen,
                [
                    Request(message(11, b"")),
                    Request(message(13, b"key and data"))
                ],
                "cut at {cut}"
            );
        }
        let mut long = AgentMessages::default();
        long.push(&u32::MAX.to_be_bytes());
        assert!(long.next().is_err());
    }

    #[test]
    fn only_listing_and_signing_are_allowed() {
        // OpenSSH's message numbers: 11 list, 13 sign, 17 add, 18 remove, 19 remove all,
        // 22 lock, 23 unlock, 25 add constrained, 27 extension.
        for (kind, allowed) in [
            (11, true),
            (13, true),
            (17, false),
            (18, false),
            (19, false),
            (22, false),
            (23, false),
            (25, false),
            (27, false),
        ] {
            assert_eq!(Request(message(kind, b"")).allowed(), allowed, "{kind}");
        }
        assert!(!Request(vec![0, 0, 0, 0]).allowed(), "an empty message");
    }

    #[test]
    fn key_files_are_told_apart() {
        let unencrypted = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
            b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
            -----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(key_problem(unencrypted), None);
        // `ssh-keygen -N pw`: cipher aes256-ctr.
        let encrypted = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
            b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBE5no3gy\n\
            -----END OPENSSH PRIVATE KEY-----\n";
        assert!(key_problem(encrypted).unwrap().contains("passphrase"));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(key_problem(legacy).unwrap().contains("passphrase"));
        let pkcs8 =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(key_problem(pkcs8).unwrap().contains("passphrase"));
        assert_eq!(
            key_problem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            None
        );
        let public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtb testkey\n";
        assert!(key_problem(public).unwrap().contains("no PEM block"));
        let certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(key_problem(certificate).unwrap().contains("CERTIFICATE"));
    }

    #[test]
    fn an_id_is_given_once_and_paths_must_make_one_agent() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let mut agents = SshAgents::new();
        let error = agents.add("x", std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            matches!(&error, SshAgentError::Unusable { path, .. } if path == &missing),
            "{error}"
        );
        assert!(error.to_string().contains("no such file"), "{error}");
        let error = agents.add("x", &[dir.path().to_owned()]).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");
        let not_key = dir.path().join("notes.txt");
        std::fs::write(&not_key, "hello").unwrap();
        let error = agents.add("", &[not_key]).unwrap_err();
        assert!(error.to_string().starts_with("ssh default: "), "{error}");
        assert!(agents.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_socket_is_an_error_now() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let error = SshAgents::new().add("default", &[path]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cannot connect to the agent: connection refused"),
            "{error}"
        );
    }
}
