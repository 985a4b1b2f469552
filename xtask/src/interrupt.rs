//! Ctrl-C (SIGINT) and SIGTERM: remembered instead of ending xtask, so that `engine down`
//! still runs after `ci`'s tests and the bench still removes its images. Children get the
//! default disposition back when they exec, so the running step (cargo, apt-get) still
//! stops at once. Long waits (the engines' lock) check it too.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

extern "C" fn on_signal(_signal: i32) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

extern "C" {
    /// libc's `signal(2)`; the previous handler is returned and ignored.
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    for signum in [SIGINT, SIGTERM] {
        // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe, and
        // glibc's `signal` installs it with BSD semantics (SA_RESTART, not reset).
        unsafe {
            signal(signum, on_signal);
        }
    }
}

/// Fails when a signal arrived.
pub fn check() -> Result<(), String> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err("interrupted".to_string())
    } else {
        Ok(())
    }
}
