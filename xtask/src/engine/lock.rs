//! The engines directory's lock: an advisory `flock(2)` on `<engines dir>/lock`, so that two
//! runs never act on the same engines at once (a second `cargo xtask ci` bringing them down
//! under the first one's tests, say).
//!
//! `engine up` and `engine down` hold it for their duration, `cargo xtask ci` for its whole
//! run (up, tests, bench, down), `bench` and `demo` while they bring an engine up. A second
//! holder waits for it, up to a bound, saying who holds it, or refuses at once when told not
//! to wait. The holder writes who it is into the file (pid, command, start time) for the
//! waiter's message. The kernel drops the lock when the holder's descriptor is closed, so a
//! run that is killed (even with SIGKILL) never leaves it stale; the file itself stays and
//! means nothing while nobody holds it.
//!
//! `flock` locks belong to an open file description: two [`Lock::acquire`] calls in one
//! process exclude each other exactly like two processes do, so a process must take the lock
//! once, at its top (which is why `engine::up` and `engine::down` do not take it themselves).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

extern "C" {
    /// libc's `flock(2)`.
    fn flock(fd: i32, operation: i32) -> i32;
}

/// `LOCK_EX`: an exclusive lock.
const LOCK_EX: i32 = 2;
/// `LOCK_NB`: fail with `EWOULDBLOCK` instead of blocking.
const LOCK_NB: i32 = 4;

/// How long a second holder waits by default: longer than a whole `cargo xtask ci` run on a
/// busy two-core machine.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60 * 60);

/// What to do when someone else holds the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Refuse at once (`--no-wait`).
    No,
    /// Wait up to this long (`--wait SECONDS`; [`DEFAULT_WAIT`] by default).
    UpTo(Duration),
}

impl Default for Wait {
    fn default() -> Self {
        Wait::UpTo(DEFAULT_WAIT)
    }
}

impl Wait {
    /// Takes `--no-wait`, `--wait SECONDS` and `--wait=SECONDS` out of `args`, returning the
    /// choice and the arguments left.
    pub fn from_args(args: &[String]) -> Result<(Wait, Vec<String>), String> {
        let mut wait = Wait::default();
        let mut rest = Vec::new();
        let mut i = 0;
        let seconds = |value: &str| {
            value
                .parse::<u64>()
                .map(|s| Wait::UpTo(Duration::from_secs(s)))
                .map_err(|_| format!("--wait needs a number of seconds, not `{value}`"))
        };
        while i < args.len() {
            let arg = &args[i];
            if arg == "--no-wait" {
                wait = Wait::No;
            } else if let Some(value) = arg.strip_prefix("--wait=") {
                wait = seconds(value)?;
            } else if arg == "--wait" {
                i += 1;
                wait = seconds(args.get(i).ok_or("--wait needs a number of seconds")?)?;
            } else {
                rest.push(arg.clone());
            }
            i += 1;
        }
        Ok((wait, rest))
    }
}

/// The lock, held until dropped (or until the process ends, however it ends).
#[derive(Debug)]
pub struct Lock {
    /// The open lock file; closing it releases the lock.
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Still held here: clear the note so that it never outlives its holder; closing the
        // file then releases the lock.
        let _ = self.file.set_len(0);
    }
}

/// Who holds the lock, as the holder wrote it into the file.
#[derive(Debug, PartialEq, Eq)]
pub struct Holder {
    /// The holder's pid.
    pub pid: u32,
    /// What it runs, e.g. `cargo xtask ci`.
    pub command: String,
    /// When it took the lock, in seconds since the Unix epoch.
    pub since: u64,
}

impl Holder {
    /// The file's text for this holder.
    fn render(&self) -> String {
        format!(
            "pid={}\ncommand={}\nsince={}\n",
            self.pid, self.command, self.since
        )
    }

    /// Reads what [`Holder::render`] wrote; `None` for anything else (an empty file, a
    /// holder caught while writing).
    fn parse(text: &str) -> Option<Holder> {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some(Holder {
            pid: field("pid")?.parse().ok()?,
            command: field("command")?,
            since: field("since")?.parse().ok()?,
        })
    }

    /// `pid N (`cargo xtask ci` started at 2026-12-01 23:15 UTC, 3 min ago)`.
    fn describe(&self, now: u64) -> String {
        let age = now.saturating_sub(self.since);
        let ago = if age < 120 {
            format!("{age} s ago")
        } else {
            format!("{} min ago", age / 60)
        };
        format!(
            "pid {} (`{}` started at {}, {ago})",
            self.pid,
            self.command,
            crate::bench::report::format_utc(self.since)
        )
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The lock file of the engines directory `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join("lock")
}

/// Tries the lock once: `Ok(true)` when taken, `Ok(false)` when someone holds it.
fn try_lock(file: &File, lock_path: &Path) -> Result<bool, String> {
    // SAFETY: `flock` only reads its arguments; the descriptor stays open while `file` lives.
    if unsafe { flock(file.as_raw_fd(), LOCK_EX | LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => Ok(false),
        _ => Err(format!("cannot lock {}: {error}", lock_path.display())),
    }
}

/// Who holds the lock now, as far as the file tells (a note left by a holder that was
/// killed names a pid that is gone: it is not believed).
fn holder(lock_path: &Path) -> String {
    match read_holder(lock_path) {
        Some(holder) if crate::engine::process::is_alive(holder.pid) => holder.describe(now()),
        _ => "another process (it left no note of who it is)".to_string(),
    }
}

impl Lock {
    /// Takes the lock of the engines directory `root` for `command` (shown to whoever waits
    /// for it next), waiting as `wait` says. Creates `root` when it is missing.
    pub fn acquire(root: &Path, command: &str, wait: Wait) -> Result<Lock, String> {
        fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        let lock_path = path(root);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        if !try_lock(&file, &lock_path)? {
            let who = holder(&lock_path);
            let Wait::UpTo(bound) = wait else {
                return Err(format!(
                    "the test engines in {} are in use: {} holds {}; try again when it is done, \
                     or leave out --no-wait to wait for it",
                    root.display(),
                    who,
                    lock_path.display()
                ));
            };
            eprintln!(
                "    waiting for the lock held by {who} ({}; up to {} s)",
                lock_path.display(),
                bound.as_secs()
            );
            let started = Instant::now();
            let deadline = started + bound;
            loop {
                if try_lock(&file, &lock_path)? {
                    break;
                }
                // Under `ci`, Ctrl-C is caught rather than fatal: honour it here too.
                crate::interrupt::check().map_err(|e| {
                    format!("{e} while waiting for the lock {}", lock_path.display())
                })?;
                if Instant::now() >= deadline {
                    return Err(format!(
                        "gave up after {} s waiting for the lock {} held by {}",
                        bound.as_secs(),
                        lock_path.display(),
                        holder(&lock_path)
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            eprintln!(
                "    got the lock {} after {:.1} s",
                lock_path.display(),
                started.elapsed().as_secs_f64()
            );
        }
        let me = Holder {
            pid: std::process::id(),
            command: command.to_string(),
            since: now(),
        };
        // Best effort: the lock holds whether or not the note is written.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.render().as_bytes()));
        Ok(Lock { file })
    }
}

/// Reads the holder note of the lock file at `lock_path` (for tests and messages).
pub fn read_holder(lock_path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(lock_path).ok()?.read_to_string(&mut text).ok()?;
    Holder::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wait_options_are_taken_out_of_the_arguments() {
        let (wait, rest) = Wait::from_args(&args(&["--engine", "all"])).unwrap();
        assert_eq!(wait, Wait::UpTo(DEFAULT_WAIT));
        assert_eq!(rest, args(&["--engine", "all"]));
        let (wait, rest) = Wait::from_args(&args(&["--no-wait", "--engine=authz"])).unwrap();
        assert_eq!(wait, Wait::No);
        assert_eq!(rest, args(&["--engine=authz"]));
        let (wait, _) = Wait::from_args(&args(&["--wait", "5"])).unwrap();
        assert_eq!(wait, Wait::UpTo(Duration::from_secs(5)));
        let (wait, _) = Wait::from_args(&args(&["--wait=0"])).unwrap();
        assert_eq!(wait, Wait::UpTo(Duration::ZERO));
        assert!(Wait::from_args(&args(&["--wait", "soon"])).is_err());
        assert!(Wait::from_args(&args(&["--wait"])).is_err());
    }

    #[test]
    fn holder_notes_round_trip() {
        let holder = Holder {
            pid: 4242,
            command: "cargo xtask ci".into(),
            since: 1_800_000_000,
        };
        assert_eq!(Holder::parse(&holder.render()), Some(holder));
        assert_eq!(Holder::parse(""), None);
        assert_eq!(Holder::parse("pid=12\n"), None);
        let shown = Holder {
            pid: 7,
            command: "cargo xtask ci".into(),
            since: 1_800_000_000,
        }
        .describe(1_800_000_000 + 300);
        assert_eq!(
            shown,
            "pid 7 (`cargo xtask ci` started at 2027-01-15 08:00 UTC, 5 min ago)"
        );
    }

    /// Two opens of the lock in one process exclude each other, as two processes do.
    #[test]
    fn a_second_holder_refuses_or_waits_until_the_first_is_gone() {
        let dir = tempdir("second-holder");
        let first = Lock::acquire(&dir, "cargo xtask ci", Wait::No).unwrap();
        assert_eq!(
            read_holder(&path(&dir)).map(|h| (h.pid, h.command)),
            Some((std::process::id(), "cargo xtask ci".to_string()))
        );
        let refused = Lock::acquire(&dir, "cargo xtask engine up", Wait::No).unwrap_err();
        assert!(
            refused.contains(&format!(
                "pid {} (`cargo xtask ci` started at",
                std::process::id()
            )),
            "{refused}"
        );
        assert!(
            refused.contains(&path(&dir).display().to_string()),
            "{refused}"
        );
        let timed_out =
            Lock::acquire(&dir, "cargo xtask engine up", Wait::UpTo(Duration::ZERO)).unwrap_err();
        assert!(timed_out.starts_with("gave up after 0 s"), "{timed_out}");

        // A waiter gets it as soon as the holder lets go.
        let waiter = {
            let dir = dir.clone();
            std::thread::spawn(move || {
                Lock::acquire(
                    &dir,
                    "cargo xtask engine down",
                    Wait::UpTo(Duration::from_secs(60)),
                )
            })
        };
        // The waiter is blocked for as long as `first` lives: it cannot finish before the drop.
        assert!(!waiter.is_finished());
        drop(first);
        let second = waiter.join().unwrap().unwrap();
        assert_eq!(
            read_holder(&path(&dir)).map(|h| h.command),
            Some("cargo xtask engine down".to_string())
        );
        drop(second);
        assert_eq!(
            read_holder(&path(&dir)),
            None,
            "the note outlived its holder"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    /// A holder that is killed leaves no stale lock: the kernel releases it.
    #[test]
    fn a_killed_holder_leaves_no_stale_lock() {
        let dir = tempdir("killed-holder");
        let lock_path = path(&dir);
        fs::write(&lock_path, "").unwrap();
        // util-linux's flock(1) takes the same kind of lock, then starts its command, which
        // says so and waits on its stdin. `-o`: the lock stays with flock(1) itself, not with
        // its command, which would inherit it.
        let mut child = Command::new("flock")
            .arg("-o")
            .arg(&lock_path)
            .args(["sh", "-c", "echo locked; exec cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock(1) from util-linux");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line, "locked\n");
        let refused = Lock::acquire(&dir, "test", Wait::No).unwrap_err();
        assert!(refused.contains("another process"), "{refused}");
        child.kill().unwrap();
        child.wait().unwrap();
        // The orphaned `cat` ends when its stdin closes.
        drop(child.stdin.take());
        let lock = Lock::acquire(&dir, "test", Wait::No);
        assert!(lock.is_ok(), "{lock:?}");
        drop(lock);
        let _ = fs::remove_dir_all(&dir);
    }

    fn tempdir(what: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-lock-{what}-{}-{}",
            std::process::id(),
            now()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
