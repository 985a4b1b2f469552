//! A unix-socket proxy in front of an engine that a test can cut: every byte is forwarded
//! between a listener of the test's own and the engine's socket until [`UnixProxy::cut`]
//! closes every connection at once, as the engine dying would. The engines are shared by
//! all tests, so a test that needs "the engine went away" cuts this instead of stopping one.
//!
//! The proxy also knows which connections carry a BuildKit session (their first request is
//! `POST /v…/session`): a test can wait for one to open or for the client to close it
//! ([`UnixProxy::wait_session`], [`UnixProxy::wait_sessions_closed`]), and cut only those
//! ([`UnixProxy::cut_sessions`]), as an engine that drops a session would.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A proxy listening on a unix socket and forwarding each connection to the engine's.
pub struct UnixProxy {
    socket: PathBuf,
    shared: Arc<Shared>,
}

/// One connection through the proxy.
struct Connection {
    /// Both ends (the client's, the engine's), to be shut down by a cut.
    streams: [UnixStream; 2],
    /// Whether its first request is `POST /session` (with or without `/v<api>`); `None`
    /// until the client has sent its request line.
    session: Option<bool>,
    /// The client closed its side (or the proxy cut it).
    client_closed: bool,
}

impl Connection {
    /// Whether its first request opened a BuildKit session.
    fn is_session(&self) -> bool {
        self.session == Some(true)
    }
}

/// What the proxy's threads and the test share.
struct State {
    /// Every connection so far.
    connections: Vec<Connection>,
    /// [`UnixProxy::cut`] was called: later connections are closed at once.
    cut: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Notified whenever a connection's `session` or `client_closed` changes.
    changed: Condvar,
    /// Set when the proxy is dropped: the accepting thread stops.
    stopped: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the connection to be shut down by a cut (shuts it down at once after one);
    /// its index.
    fn register(&self, client: &UnixStream, engine: &UnixStream) -> io::Result<usize> {
        let streams = [client.try_clone()?, engine.try_clone()?];
        let mut state = self.lock();
        if state.cut {
            for stream in &streams {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        state.connections.push(Connection {
            streams,
            session: None,
            client_closed: false,
        });
        Ok(state.connections.len() - 1)
    }

    /// Records what connection `index` is for, from the client's first bytes.
    fn classify(&self, index: usize, first: &[u8]) {
        let line = first.split(|&b| b == b'\r').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let mut words = line.split(' ');
        let (method, path) = (words.next(), words.next().unwrap_or_default());
        // `/v1.45/session` or `/session`, as the docker CLI and devbuild send it.
        let path = match path.strip_prefix("/v") {
            Some(rest) => rest.split_once('/').map_or(path, |(_, p)| p),
            None => path.strip_prefix('/').unwrap_or(path),
        };
        let session = method == Some("POST") && (path == "session" || path.starts_with("session?"));
        self.lock().connections[index].session = Some(session);
        self.changed.notify_all();
    }

    fn client_closed(&self, index: usize) {
        let mut state = self.lock();
        let connection = &mut state.connections[index];
        connection.session.get_or_insert(false);
        connection.client_closed = true;
        drop(state);
        self.changed.notify_all();
    }

    /// Waits up to `limit` for `done` to hold; whether it did.
    fn wait(&self, limit: Duration, done: impl Fn(&State) -> bool) -> bool {
        let state = self.lock();
        let (_state, timeout) = self
            .changed
            .wait_timeout_while(state, limit, |state| !done(state))
            .unwrap_or_else(|e| e.into_inner());
        !timeout.timed_out()
    }
}

impl UnixProxy {
    /// Listens on `socket` (a path in the test's temporary directory) and forwards each
    /// connection to the unix socket `target`, one thread per direction.
    pub fn start(target: &Path, socket: &Path) -> io::Result<UnixProxy> {
        let listener = UnixListener::bind(socket)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                connections: Vec::new(),
                cut: false,
            }),
            changed: Condvar::new(),
            stopped: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        let target = target.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(engine) = UnixStream::connect(&target) else {
                    continue;
                };
                let Ok(index) = accepting.register(&client, &engine) else {
                    continue;
                };
                let (Ok(client_copy), Ok(engine_copy)) = (client.try_clone(), engine.try_clone())
                else {
                    continue;
                };
                let upstream = accepting.clone();
                std::thread::spawn(move || {
                    forward(client, engine, |first| upstream.classify(index, first));
                    upstream.client_closed(index);
                });
                std::thread::spawn(move || forward(engine_copy, client_copy, |_| {}));
            }
        });
        Ok(UnixProxy {
            socket: socket.to_owned(),
            shared,
        })
    }

    /// The socket clients connect to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The address clients use: `unix://<socket>`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Closes every connection, both towards the clients and towards the engine; later
    /// connections are closed as soon as they are accepted.
    pub fn cut(&self) {
        let mut state = self.shared.lock();
        state.cut = true;
        for connection in &state.connections {
            for stream in &connection.streams {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Closes the session connections open now, both ways, as an engine dropping its
    /// sessions would; every other connection goes on. How many there were.
    pub fn cut_sessions(&self) -> usize {
        let state = self.shared.lock();
        let sessions: Vec<&Connection> = state
            .connections
            .iter()
            .filter(|c| c.is_session() && !c.client_closed)
            .collect();
        for connection in &sessions {
            for stream in &connection.streams {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        sessions.len()
    }

    /// How many session connections have been opened through the proxy so far.
    pub fn sessions_seen(&self) -> usize {
        let state = self.shared.lock();
        state.connections.iter().filter(|c| c.is_session()).count()
    }

    /// Waits up to `limit` for a session connection to be open; whether one is.
    pub fn wait_session(&self, limit: Duration) -> bool {
        self.shared.wait(limit, |state| {
            state
                .connections
                .iter()
                .any(|c| c.is_session() && !c.client_closed)
        })
    }

    /// Waits up to `limit` for the clients to close every session connection, after at
    /// least one was opened; whether they did.
    pub fn wait_sessions_closed(&self, limit: Duration) -> bool {
        self.shared.wait(limit, |state| {
            let mut sessions = state
                .connections
                .iter()
                .filter(|c| c.is_session())
                .peekable();
            sessions.peek().is_some() && sessions.all(|c| c.client_closed)
        })
    }
}

impl Drop for UnixProxy {
    fn drop(&mut self) {
        self.cut();
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees `stopped` and ends.
        let _ = UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Copies `from` to `to` until either ends, then half-closes `to`; `first` sees the first
/// bytes read.
fn forward(mut from: UnixStream, mut to: UnixStream, first: impl FnOnce(&[u8])) {
    let mut buffer = vec![0; 64 * 1024];
    let mut first = Some(first);
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(first) = first.take() {
                    first(&buffer[..n]);
                }
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
