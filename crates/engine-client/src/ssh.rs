//! `ssh://[user@]host[:port][/socket]` engines, reached as the docker CLI reaches them: the
//! system's `ssh` runs `docker system dial-stdio` on the far side, and HTTP goes over the
//! process's stdin and stdout (docker/cli's `connhelper/ssh` and `commandconn`).
//!
//! Because it is the system's `ssh`, `~/.ssh/config`, agents, keys and known hosts work as
//! they do for the docker CLI. Each connection is its own `ssh` process, closed after its
//! request (no idle connection is kept), and killed when the connection is dropped, so no
//! `ssh` outlives the request, the build or a cancelled build. When `ssh` fails (an unknown
//! host key, a refused key, no `docker` on the far side), the error is its exit status and
//! what it wrote to stderr.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bollard::{BollardRequest, Docker};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;

/// Where an `ssh://` address points, read as docker/cli's `ssh.ParseURL` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SshTarget {
    user: Option<String>,
    host: String,
    port: Option<String>,
    /// The engine's socket on the far side, when the address has a path.
    socket: Option<String>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port][/path]`; the error is docker/cli's wording.
    pub(crate) fn parse(address: &str) -> Result<SshTarget, String> {
        let rest = address
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("expected scheme ssh, got {address:?}"))?;
        if let Some((_, fragment)) = rest.split_once('#') {
            return Err(format!("extra fragment after the host: {fragment:?}"));
        }
        if let Some((_, query)) = rest.split_once('?') {
            return Err(format!("extra query after the host: {query:?}"));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => {
                if user.contains(':') {
                    return Err("plain-text password is not supported".to_owned());
                }
                (Some(user.to_owned()), host_port)
            }
            None => (None, authority),
        };
        let (host, port) = match host_port.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| format!("missing ']' in host {host_port:?}"))?;
                (host, after.strip_prefix(':'))
            }
            None => match host_port.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            },
        };
        if host.is_empty() {
            return Err("no host specified".to_owned());
        }
        if let Some(port) = port {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid port {port:?}"));
            }
        }
        Ok(SshTarget {
            user: user.filter(|user| !user.is_empty()),
            host: host.to_owned(),
            port: port.map(str::to_owned),
            socket: (!path.is_empty() && path != "/").then(|| path.to_owned()),
        })
    }

    /// The arguments of `ssh`, as the docker CLI passes them: a connect timeout, no
    /// terminal, the user and port, then the host and the command on the far side.
    pub(crate) fn ssh_args(&self) -> Vec<String> {
        let mut args = vec![
            "-o".to_owned(),
            "ConnectTimeout=30".to_owned(),
            "-T".to_owned(),
        ];
        if let Some(user) = &self.user {
            args.extend(["-l".to_owned(), user.clone()]);
        }
        if let Some(port) = &self.port {
            args.extend(["-p".to_owned(), port.clone()]);
        }
        args.extend(["--".to_owned(), self.host.clone(), "docker".to_owned()]);
        if let Some(socket) = &self.socket {
            args.extend(["--host".to_owned(), format!("unix://{socket}")]);
        }
        args.extend(["system".to_owned(), "dial-stdio".to_owned()]);
        args
    }
}

/// A bollard client whose connections are `ssh` processes to `target`.
pub(crate) fn connect(
    target: SshTarget,
    timeout_secs: u64,
) -> Result<Docker, bollard::errors::Error> {
    let connector = SshConnector {
        target: Arc::new(target),
    };
    let client = Client::builder(TokioExecutor::new())
        // A connection is a process: none is kept idle (see the module docs).
        .pool_max_idle_per_host(0)
        .build(connector);
    let transport = move |request: BollardRequest| {
        let client = client.clone();
        async move {
            client
                .request(request)
                .await
                .map_err(|err| bollard::errors::Error::HyperLegacyError { err })
        }
    };
    // The address only names the pool's host; the connector knows the real one.
    Docker::connect_with_custom_transport(
        transport,
        Some("http://docker"),
        timeout_secs,
        bollard::API_DEFAULT_VERSION,
    )
}

/// One connection to the engine over its own `ssh` process, for a BuildKit session
/// (`crate::session`), which upgrades it itself.
pub(crate) fn dial(
    target: &SshTarget,
) -> io::Result<impl AsyncRead + AsyncWrite + Send + Unpin + 'static> {
    SshStream::start(target)
}

/// Starts one `ssh` per connection.
#[derive(Clone)]
struct SshConnector {
    target: Arc<SshTarget>,
}

impl tower_service::Service<http::Uri> for SshConnector {
    type Response = TokioIo<SshStream>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<TokioIo<SshStream>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let target = self.target.clone();
        async move { SshStream::start(&target).map(TokioIo::new) }.boxed()
    }
}

/// One `ssh` process: its stdin and stdout carry the connection. A task owns the process,
/// collects its stderr and reports how it ended; dropping the stream kills it.
struct SshStream {
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// How the process ended: `None` for success, else what to tell the user.
    ended: oneshot::Receiver<Option<String>>,
    /// Dropped with the stream, which tells the task to kill the process.
    _kill: oneshot::Sender<()>,
}

impl SshStream {
    fn start(target: &SshTarget) -> io::Result<SshStream> {
        let args = target.ssh_args();
        let mut child = Command::new("ssh")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run ssh: {}", crate::engine::os_wording(&e)),
                )
            })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        let (ended_tx, ended) = oneshot::channel();
        let (kill, mut killed) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let finished = async {
                let mut text = Vec::new();
                let _ = stderr.read_to_end(&mut text).await;
                (child.wait().await, text)
            };
            tokio::select! {
                (status, text) = finished => {
                    let failure = match status {
                        Ok(status) if status.success() => None,
                        Ok(status) => Some(describe_exit(status.code(), &text)),
                        Err(e) => Some(format!("ssh could not be waited for: {e}")),
                    };
                    let _ = ended_tx.send(failure);
                }
                _ = &mut killed => {}
            }
            // Dropping the child (kill_on_drop) kills it if it still runs.
        });
        Ok(SshStream {
            stdin,
            stdout,
            ended,
            _kill: kill,
        })
    }
}

/// `ssh exited with code 255: Host key verification failed.`
fn describe_exit(code: Option<i32>, stderr: &[u8]) -> String {
    // ssh ends its lines with CR LF when it writes to a terminal-less pipe too.
    let text = String::from_utf8_lossy(stderr).replace('\r', "");
    let text = text.trim();
    let how = match code {
        Some(code) => format!("ssh exited with code {code}"),
        None => "ssh was killed by a signal".to_owned(),
    };
    if text.is_empty() {
        how
    } else {
        format!("{how}: {text}")
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stdout).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            return Poll::Ready(Ok(()));
        }
        // End of the output: the process is ending; a failure is the connection's error.
        match ready!(Pin::new(&mut self.ended).poll(cx)) {
            Ok(Some(failure)) => Poll::Ready(Err(io::Error::other(failure))),
            Ok(None) | Err(_) => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_as_the_docker_cli_reads_them() {
        let target = SshTarget::parse("ssh://me@host.example:2222").unwrap();
        assert_eq!(
            target.ssh_args(),
            [
                "-o",
                "ConnectTimeout=30",
                "-T",
                "-l",
                "me",
                "-p",
                "2222",
                "--",
                "host.example",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
        let target = SshTarget::parse("ssh://[::1]/run/user/1000/docker.sock").unwrap();
        assert_eq!(
            target.ssh_args()[3..],
            [
                "--",
                "::1",
                "docker",
                "--host",
                "unix:///run/user/1000/docker.sock",
                "system",
                "dial-stdio"
            ]
        );
        assert_eq!(SshTarget::parse("ssh://host/").unwrap().socket, None);
        let error = |address| SshTarget::parse(address).unwrap_err();
        assert_eq!(
            error("ssh://me:secret@host"),
            "plain-text password is not supported"
        );
        assert_eq!(error("ssh://"), "no host specified");
        assert_eq!(error("ssh://me@"), "no host specified");
        assert_eq!(
            error("ssh://host?x=1"),
            "extra query after the host: \"x=1\""
        );
        assert_eq!(
            error("ssh://host#f"),
            "extra fragment after the host: \"f\""
        );
        assert_eq!(error("ssh://host:port"), "invalid port \"port\"");
    }

    #[test]
    fn a_failed_ssh_says_its_status_and_stderr() {
        assert_eq!(
            describe_exit(Some(255), b"Host key verification failed.\r\n"),
            "ssh exited with code 255: Host key verification failed."
        );
        assert_eq!(describe_exit(None, b""), "ssh was killed by a signal");
    }
}
