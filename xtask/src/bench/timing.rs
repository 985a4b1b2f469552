//! Timing whole processes: a command or a two-command pipeline, its wall time from the first
//! spawn until every process is reaped, and the peak RSS of its first process (`wait4`'s
//! `ru_maxrss`: the largest of that process and the children it reaped, so for
//! `devbuild … | cat` it is devbuild's own peak); pairs A B A B … after
//! one untimed run of each (which warms the page cache and the build caches); and the median
//! with min–max of a series.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A command to run: program, arguments, extra environment.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The program (a path or a name looked up in PATH).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables set for it on top of ours.
    pub envs: Vec<(String, OsString)>,
}

impl Cmd {
    /// `program` with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Cmd {
        self.envs.push((key.to_string(), value.into()));
        self
    }

    /// The `std` command, with variables that would point docker or buildx elsewhere removed.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("BUILDX_BUILDER")
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        command
    }

    /// The command line, for logs and errors.
    pub fn display(&self) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        words.join(" ")
    }
}

/// What one benchmark side runs.
#[derive(Debug, Clone)]
pub enum Job {
    /// One process; its standard output is discarded.
    Single(Cmd),
    /// The first process's standard output piped into the second's standard input; the
    /// second's output is discarded.
    Pipe(Cmd, Cmd),
}

impl Job {
    /// The command line, for logs and errors.
    pub fn display(&self) -> String {
        match self {
            Job::Single(cmd) => cmd.display(),
            Job::Pipe(first, second) => format!("{} | {}", first.display(), second.display()),
        }
    }
}

/// One finished run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Wall time, from the first spawn until every process has been reaped.
    pub wall: Duration,
    /// The first process's peak resident set size, in KiB (the largest of it and the
    /// children it reaped).
    pub peak_rss_kib: u64,
}

/// libc's `struct rusage` on 64-bit Linux: two `timeval`s, then 14 `long`s.
#[repr(C)]
struct Rusage {
    user_time: [i64; 2],
    system_time: [i64; 2],
    max_rss_kib: i64,
    rest: [i64; 13],
}

extern "C" {
    /// libc's `wait4(2)`: reaps `pid` and fills in its resource usage.
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

/// Reaps `child` with `wait4`; returns its exit status word and peak RSS in KiB.
/// (`std` does not expose the child's rusage, so the child is reaped here instead.)
fn reap(child: &Child) -> Result<(i32, u64), String> {
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    let mut status = 0;
    let mut usage = Rusage {
        user_time: [0; 2],
        system_time: [0; 2],
        max_rss_kib: 0,
        rest: [0; 13],
    };
    loop {
        // SAFETY: `status` and `usage` are valid for writes and laid out as libc expects;
        // `pid` is our unreaped child.
        let result = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if result == pid {
            return Ok((status, u64::try_from(usage.max_rss_kib).unwrap_or(0)));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4({pid}): {error}"));
        }
    }
}

/// Resets this process's peak RSS to its current RSS (`/proc/self/clear_refs`, value 5).
///
/// Needed because a child's `ru_maxrss` starts from its parent's: `std` spawns with
/// `posix_spawn`, whose child shares our memory until it execs, and `exec` folds the old
/// memory's peak into the process's `maxrss`. Without the reset, every child would report at
/// least xtask's own peak (generating the workloads makes it tens of MiB).
fn forget_own_peak_rss() {
    // Best effort: without it, peaks can only be overstated, never understated.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Gives the memory xtask freed back to the system (glibc's `malloc_trim`), so that its
/// current RSS, the floor under every child's peak, is as small as it can be.
pub fn shrink_own_memory() {
    extern "C" {
        /// glibc's `malloc_trim(3)`.
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only releases free heap memory; it is safe to call at any time.
    unsafe {
        malloc_trim(0);
    }
}

/// This process's current RSS in KiB (`VmRSS` in `/proc/self/status`), if it can be read.
pub fn own_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a `wait` status word says the process exited with status 0.
fn exited_successfully(status: i32) -> bool {
    status & 0x7f == 0 && (status >> 8) & 0xff == 0
}

/// The status word in words: `exit status N` or `killed by signal N`.
fn describe_status(status: i32) -> String {
    if status & 0x7f == 0 {
        format!("exit status {}", (status >> 8) & 0xff)
    } else {
        format!("killed by signal {}", status & 0x7f)
    }
}

/// Runs `job` once. Standard error of every process goes to `log` (overwritten each run);
/// a failure's error quotes its tail.
pub fn measure(job: &Job, log: &Path) -> Result<Measurement, String> {
    let log_file =
        File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let stderr = || {
        log_file
            .try_clone()
            .map(Stdio::from)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))
    };
    let spawn = |cmd: &Cmd, stdin: Stdio, stdout: Stdio| -> Result<Child, String> {
        cmd.command()
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr()?)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", cmd.display()))
    };
    forget_own_peak_rss();
    let started = Instant::now();
    let mut children = Vec::with_capacity(2);
    match job {
        Job::Single(cmd) => children.push(spawn(cmd, Stdio::null(), Stdio::null())?),
        Job::Pipe(first, second) => {
            let mut producer = spawn(first, Stdio::null(), Stdio::piped())?;
            let pipe = producer.stdout.take().expect("stdout was piped");
            match spawn(second, Stdio::from(pipe), Stdio::null()) {
                Ok(consumer) => children.extend([producer, consumer]),
                Err(e) => {
                    let _ = producer.kill();
                    let _ = producer.wait();
                    return Err(e);
                }
            }
        }
    }
    let mut outcomes = Vec::with_capacity(children.len());
    for child in &children {
        outcomes.push(reap(child)?);
    }
    let wall = started.elapsed();
    let failed: Vec<String> = outcomes
        .iter()
        .zip(match job {
            Job::Single(cmd) => vec![cmd],
            Job::Pipe(first, second) => vec![first, second],
        })
        .filter(|((status, _), _)| !exited_successfully(*status))
        .map(|((status, _), cmd)| format!("`{}`: {}", cmd.display(), describe_status(*status)))
        .collect();
    if !failed.is_empty() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{} failed\n{}", failed.join(", "), tail.join("\n")));
    }
    Ok(Measurement {
        wall,
        peak_rss_kib: outcomes[0].1,
    })
}

/// The timed runs of both sides of one comparison.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Side A's runs (devbuild), in order.
    pub a: Vec<Measurement>,
    /// Side B's runs (the baseline), in order.
    pub b: Vec<Measurement>,
}

/// One untimed run of each side (warming the page cache and, for builds, the cache), then
/// `pairs` pairs A B A B …, measured back to back so that both sides see the same machine.
/// `between` runs after every run (it checks for Ctrl-C).
pub fn compare(
    a: &Job,
    b: &Job,
    pairs: usize,
    logs: &Path,
    between: &dyn Fn() -> Result<(), String>,
) -> Result<Comparison, String> {
    let (log_a, log_b) = (logs.with_extension("a.log"), logs.with_extension("b.log"));
    let run = |job: &Job, log: &Path| -> Result<Measurement, String> {
        let measurement = measure(job, log).map_err(|e| format!("{}: {e}", job.display()))?;
        between()?;
        Ok(measurement)
    };
    run(a, &log_a)?;
    run(b, &log_b)?;
    let mut comparison = Comparison::default();
    for _ in 0..pairs {
        comparison.a.push(run(a, &log_a)?);
        comparison.b.push(run(b, &log_b)?);
    }
    Ok(comparison)
}

/// The median and range of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }

    /// The spread of the wall times, in seconds.
    pub fn of_walls(runs: &[Measurement]) -> Option<Spread> {
        let seconds: Vec<f64> = runs.iter().map(|m| m.wall.as_secs_f64()).collect();
        Spread::of(&seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let odd = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            odd,
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        let even = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(even.median, 2.5);
        assert_eq!((even.min, even.max), (1.0, 4.0));
        assert_eq!(Spread::of(&[5.0]).unwrap().median, 5.0);
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn status_words() {
        assert!(exited_successfully(0));
        assert!(!exited_successfully(1 << 8));
        assert_eq!(describe_status(3 << 8), "exit status 3");
        assert_eq!(describe_status(9), "killed by signal 9");
    }

    fn log_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xtask-bench-{}-{name}.log", std::process::id()))
    }

    #[test]
    fn a_pipeline_is_measured_and_a_failure_names_the_command() {
        let log = log_path("pipe");
        let job = Job::Pipe(
            Cmd::new("sh").args(["-c", "head -c 100000 /dev/zero"]),
            Cmd::new("cat"),
        );
        let measurement = measure(&job, &log).unwrap();
        assert!(measurement.wall > Duration::ZERO);
        assert!(measurement.peak_rss_kib > 0, "{measurement:?}");
        let failing = Job::Single(Cmd::new("sh").args(["-c", "echo oops >&2; exit 4"]));
        let error = measure(&failing, &log).unwrap_err();
        assert!(error.contains("exit status 4"), "{error}");
        assert!(error.contains("oops"), "{error}");
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn peak_rss_is_the_first_process_own() {
        let log = log_path("rss");
        // A shell holding 48 MB in a variable, first or second in the pipeline.
        let hog = || Cmd::new("sh").args(["-c", "x=$(head -c 48000000 /dev/zero | tr '\\0' a)"]);
        let first = measure(&Job::Pipe(hog(), Cmd::new("cat")), &log).unwrap();
        let second = measure(&Job::Pipe(Cmd::new("true"), hog()), &log).unwrap();
        // A floor remains: a child starts from our current RSS (other tests run in this
        // process meanwhile), so compare the two rather than expect a small absolute figure.
        assert!(
            first.peak_rss_kib > second.peak_rss_kib + 30 * 1024,
            "{first:?} {second:?}"
        );
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn compare_runs_a_warm_up_of_each_then_the_pairs() {
        let logs = log_path("compare");
        let count = std::env::temp_dir().join(format!("xtask-bench-{}-count", std::process::id()));
        let _ = std::fs::remove_file(&count);
        let append = |side: &str| {
            Job::Single(Cmd::new("sh").args([
                "-c".to_string(),
                format!("printf {side} >> '{}'", count.display()),
            ]))
        };
        let result = compare(&append("a"), &append("b"), 3, &logs, &|| Ok(())).unwrap();
        assert_eq!((result.a.len(), result.b.len()), (3, 3));
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "abababab");
        let _ = std::fs::remove_file(&count);
    }
}
