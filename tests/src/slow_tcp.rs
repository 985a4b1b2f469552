//! A TCP proxy that answers slowly: each connection's first bytes from the server reach the
//! client only after a set delay, as from a registry that is slow to answer. Put in front of
//! the test registry, it makes the engine's pull silent for that long before its first
//! progress line.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

/// A proxy on `127.0.0.1:<port>` forwarding to `target`, the answers delayed.
pub struct SlowTcpProxy {
    address: String,
}

impl SlowTcpProxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to `target`
    /// (`host:port`), the first answer of each held back for `delay`. It runs until the
    /// test process ends.
    pub fn start(target: &str, delay: Duration) -> io::Result<SlowTcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let target = target.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                forward(client, server, delay);
            }
        });
        Ok(SlowTcpProxy { address })
    }

    /// `127.0.0.1:<port>`, to use as the registry's address.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// Copies both ways, one thread each; the server's first bytes wait `delay`.
fn forward(client: TcpStream, server: TcpStream, delay: Duration) {
    let (Ok(client_reader), Ok(server_reader)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    std::thread::spawn(move || copy(client_reader, server, Duration::ZERO));
    std::thread::spawn(move || copy(server_reader, client, delay));
}

fn copy(mut from: TcpStream, mut to: TcpStream, first_delay: Duration) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = true;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if first && !first_delay.is_zero() {
            // The slowness being simulated, not a wait for something to happen.
            std::thread::sleep(first_delay);
        }
        first = false;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
