//! Who may change what every build on an engine shares. Every test that [`run_on`] runs holds
//! its engine's test lock shared for as long as it runs (`flock` on `tests.lock` next to the
//! engine's socket, so across nextest's processes); [`TestEngine::alone`] holds it exclusively
//! for the few requests that must not overlap any other test's build: pruning build cache
//! records makes BuildKit release the cache links of results it cannot see at that moment
//! (`ReleaseUnreferenced`), which are those of builds still running, and their next build
//! misses the cache.
//!
//! [`run_on`]: crate::run_on

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::TestEngine;

/// The test lock files this process holds, by engine socket.
static HELD: Mutex<Option<HashMap<PathBuf, File>>> = Mutex::new(None);

fn lock_path(socket: &Path) -> PathBuf {
    socket.with_file_name("tests.lock")
}

fn flock(file: &File, operation: libc::c_int, path: &Path) {
    loop {
        // SAFETY: `file` is an open descriptor for the whole call.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            panic!("flock {}: {error}", path.display());
        }
    }
}

fn open(path: &Path) -> File {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("the engine's test lock {}: {e}", path.display()))
}

/// Holds `engine`'s test lock shared until [`release_shared`]; nested calls for the same
/// engine (a test that runs another on it) share the one lock.
pub(crate) fn hold_shared(engine: &TestEngine) -> bool {
    let path = lock_path(&engine.socket);
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let held = held.get_or_insert_with(HashMap::new);
    if held.contains_key(&engine.socket) {
        return false;
    }
    let file = open(&path);
    flock(&file, libc::LOCK_SH, &path);
    held.insert(engine.socket.clone(), file);
    true
}

/// Lets go of what [`hold_shared`] took.
pub(crate) fn release_shared(engine: &TestEngine) {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(held) = held.as_mut() {
        held.remove(&engine.socket);
    }
}

impl TestEngine {
    /// Runs `work` while no other test runs on this engine: for requests that change what all
    /// of its builds share (pruning build cache). Waits for the tests running now to end; the
    /// others wait for `work`. Keep `work` short.
    pub fn alone<R>(&self, work: impl FnOnce() -> R) -> R {
        let path = lock_path(&self.socket);
        let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        let file = match held.as_ref().and_then(|h| h.get(&self.socket)) {
            Some(file) => file.try_clone().expect("a lock descriptor"),
            None => open(&path),
        };
        drop(held);
        // Converting a shared lock drops it first, so two tests asking at once cannot
        // deadlock each other.
        flock(&file, libc::LOCK_EX, &path);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        flock(&file, libc::LOCK_SH, &path);
        match result {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
