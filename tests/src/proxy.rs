//! A unix-socket proxy in front of an engine that a test can cut: every byte is forwarded
//! between a listener of the test's own and the engine's socket until [`UnixProxy::cut`]
//! closes every connection at once, as the engine dying would. The engines are shared by
//! all tests, so a test that needs "the engine went away" cuts this instead of stopping one.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A proxy listening on a unix socket and forwarding each connection to the engine's.
pub struct UnixProxy {
    socket: PathBuf,
    shared: Arc<Shared>,
}

/// What the accepting thread and the test share.
struct Shared {
    /// Both ends of every connection, to be shut down by a cut; `None` once cut.
    open: Mutex<Option<Vec<UnixStream>>>,
    /// Set when the proxy is dropped: the accepting thread stops.
    stopped: AtomicBool,
}

impl Shared {
    /// Keeps `stream` to be shut down by a cut; shuts it down at once after one.
    fn register(&self, stream: &UnixStream) -> io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match open.as_mut() {
            Some(open) => open.push(stream.try_clone()?),
            None => {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        Ok(())
    }
}

impl UnixProxy {
    /// Listens on `socket` (a path in the test's temporary directory) and forwards each
    /// connection to the unix socket `target`, one thread per direction.
    pub fn start(target: &Path, socket: &Path) -> io::Result<UnixProxy> {
        let listener = UnixListener::bind(socket)?;
        let shared = Arc::new(Shared {
            open: Mutex::new(Some(Vec::new())),
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
                if accepting.register(&client).is_err() || accepting.register(&engine).is_err() {
                    continue;
                }
                let (Ok(client_copy), Ok(engine_copy)) = (client.try_clone(), engine.try_clone())
                else {
                    continue;
                };
                std::thread::spawn(move || forward(client, engine));
                std::thread::spawn(move || forward(engine_copy, client_copy));
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
        let open = self
            .shared
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        for stream in open.into_iter().flatten() {
            let _ = stream.shutdown(Shutdown::Both);
        }
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

/// Copies `from` to `to` until either ends, then half-closes `to`.
fn forward(mut from: UnixStream, mut to: UnixStream) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
