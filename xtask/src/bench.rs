//! `cargo xtask bench [--quick]`: devbuild measured side by side with what a user would
//! otherwise run, in one run on one machine.
//!
//! It builds the `devbuild` binary (release; debug for `--quick`), generates the workloads
//! deterministically under `target/bench/` (see [`workloads`]), brings up the private
//! Engine 26.1 if it is not up, then times each comparison as pairs A B A B … of whole
//! processes right after one untimed run of each (see [`timing`]):
//!
//! - context production to a pipe, `devbuild context DIR --output - | cat` against GNU
//!   `tar -cf - -C DIR . | cat`, on many small files, on a few large ones, and on the small
//!   tree behind a `.dockerignore`;
//! - `devbuild build` against `docker buildx build` (docker driver), cold (`--no-cache`) and
//!   warm (a repeated cached build), for four Dockerfiles;
//! - the pre-pull check of 10 images already present: `devbuild pull` against
//!   `docker image inspect` of the 10;
//! - the upload of a whole context to Engine 26.1 over tcp+TLS: `devbuild build --compress`
//!   against `--compress=false` (`COPY . /ctx`, cold), both through the harness's TLS
//!   listener.
//!
//! It prints one Markdown table (see [`report`]); the full run also writes it to
//! `target/bench/report.md` and lists the goals it missed (figures to report, not tests).
//! `--quick` is CI's smoke run: small workloads, one pair, goals shown but not checked.

mod cleanup;
pub(crate) mod report;
mod timing;
mod workloads;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::{self, TestEnv, ENGINES};
use crate::interrupt;
use crate::workspace::{self, run_step};
use report::{format_bytes, format_count, Context, Goal, Row};
use timing::{Cmd, Job, Spread};
use workloads::{BuildCase, LargeSpec, TreeSpec, WorkloadSizes, Workloads, SEED};

/// The label every bench image carries, so that its leftovers can be pruned without
/// touching anyone else's images.
const IMAGE_LABEL: &str = "devbuild-bench=1";

/// The memory goal for producing a context, whatever its size.
const CONTEXT_RSS_GOAL_MIB: u64 = 32;

/// How one run is configured.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// CI's smoke run: small sizes, one pair, goals not enforced, debug binary, no report file.
    pub quick: bool,
    /// The workloads' sizes.
    pub sizes: WorkloadSizes,
    /// Timed pairs per context-production row.
    pub context_pairs: usize,
    /// Timed pairs per build row.
    pub build_pairs: usize,
    /// Timed pairs for the pre-pull check.
    pub prepull_pairs: usize,
}

impl BenchConfig {
    /// The full run: the sizes (54,386 entries, 8 × 256 MiB).
    pub fn full() -> BenchConfig {
        BenchConfig {
            quick: false,
            sizes: WorkloadSizes {
                tree: TreeSpec {
                    entries: 54_386,
                    seed: SEED,
                },
                large: LargeSpec {
                    count: 8,
                    size: 256 << 20,
                    seed: SEED,
                },
            },
            context_pairs: 7,
            build_pairs: 5,
            prepull_pairs: 9,
        }
    }

    /// The smoke run: 2,000 entries, 2 × 8 MiB, one pair.
    pub fn quick() -> BenchConfig {
        BenchConfig {
            quick: true,
            sizes: WorkloadSizes {
                tree: TreeSpec {
                    entries: 2_000,
                    seed: SEED,
                },
                large: LargeSpec {
                    count: 2,
                    size: 8 << 20,
                    seed: SEED,
                },
            },
            context_pairs: 1,
            build_pairs: 1,
            prepull_pairs: 1,
        }
    }

    /// `full` or `quick`: the workloads' directory name.
    fn mode(&self) -> &'static str {
        if self.quick {
            "quick"
        } else {
            "full"
        }
    }
}

const USAGE: &str = "usage: cargo xtask bench [--quick]";

/// `cargo xtask bench [--quick]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let config = match args {
        [] => BenchConfig::full(),
        [flag] if flag == "--quick" => BenchConfig::quick(),
        _ => return Err(USAGE.to_string()),
    };
    interrupt::install();
    let devbuild = build_devbuild(!config.quick)?;
    let engine_26 = ENGINES
        .iter()
        .find(|spec| spec.version == "26.1")
        .expect("the harness knows Engine 26.1");
    let env = engine::up_locked(&[engine_26], "cargo xtask bench")?;
    bench(&config, &env, &devbuild)
}

/// CI's smoke run, on the engines CI already brought up.
pub fn quick(env: &TestEnv) -> Result<(), String> {
    let devbuild = build_devbuild(false)?;
    bench(&BenchConfig::quick(), env, &devbuild)
}

/// The target directory cargo builds into.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace::root().join(dir),
        None => workspace::root().join("target"),
    }
}

/// Builds the `devbuild` binary and returns its path.
fn build_devbuild(release: bool) -> Result<PathBuf, String> {
    let mut args = vec!["build", "--package", "devbuild", "--bin", "devbuild"];
    let profile = if release {
        args.push("--release");
        "release"
    } else {
        "debug"
    };
    run_step(&format!("build devbuild ({profile})"), "cargo", &args)?;
    Ok(target_dir().join(profile).join("devbuild"))
}

/// The engine the builds run on, and the programs that talk to it.
struct Tools {
    /// `unix://…` of Engine 26.1.
    host: String,
    /// Engine 26.1's tcp+TLS listener, when the harness serves it.
    tls: Option<crate::engine::TlsEntry>,
    /// The harness's `DOCKER_CONFIG` (buildx is one of its CLI plugins).
    docker_config: PathBuf,
    /// The devbuild binary.
    devbuild: PathBuf,
}

impl Tools {
    /// `devbuild` pointed at the engine.
    fn devbuild(&self) -> Cmd {
        self.engine_env(Cmd::new(&self.devbuild))
    }

    /// `devbuild` pointed at the engine's tcp+TLS listener.
    fn devbuild_over_tls(&self) -> Result<Cmd, String> {
        let tls = self
            .tls
            .as_ref()
            .ok_or("Engine 26.1 has no TLS listener (run `cargo xtask engine up`)")?;
        Ok(Cmd::new(&self.devbuild)
            .env("DOCKER_HOST", &tls.host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &tls.cert_path)
            .env("DOCKER_CONFIG", &self.docker_config))
    }

    /// The docker CLI on PATH (what a user runs) pointed at the engine.
    fn docker(&self) -> Cmd {
        self.engine_env(Cmd::new("docker"))
    }

    /// `cmd` with `DOCKER_HOST` and `DOCKER_CONFIG` of the harness's Engine 26.1.
    fn engine_env(&self, cmd: Cmd) -> Cmd {
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.docker_config)
    }
}

/// Runs `cmd` to completion and returns its standard output; fails with its standard error.
/// (Shared with [`cleanup`].)
fn output(cmd: &Cmd) -> Result<String, String> {
    let out = cmd
        .command()
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cmd.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{} failed ({}): {}",
            cmd.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// How many bytes `cmd` writes to its standard output (read here and thrown away).
fn output_size(cmd: &Cmd) -> Result<u64, String> {
    let mut child = cmd
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cmd.display()))?;
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let bytes = std::io::copy(&mut stdout, &mut std::io::sink())
        .map_err(|e| format!("reading from {}: {e}", cmd.display()));
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", cmd.display()))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", cmd.display()));
    }
    bytes
}

/// The whole bench on `env`'s Engine 26.1; removes its images afterwards, whatever happened.
fn bench(config: &BenchConfig, env: &TestEnv, devbuild: &Path) -> Result<(), String> {
    let entry = env
        .engines
        .iter()
        .find(|entry| entry.version == "26.1")
        .ok_or("Engine 26.1 is not up")?;
    let tools = Tools {
        host: entry.host(),
        tls: env.tls.clone(),
        docker_config: env.docker_config.clone(),
        devbuild: devbuild.to_path_buf(),
    };
    let bench_dir = target_dir().join("bench");
    let root = bench_dir.join(config.mode());
    let logs = root.join("logs");
    fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    eprintln!(
        "==> bench ({}): workloads in {}",
        config.mode(),
        root.display()
    );
    let workloads = workloads::prepare(&root, &config.sizes)?;
    // Every child's peak RSS starts from xtask's current one: keep it small.
    timing::shrink_own_memory();
    let rss_floor_kib = timing::own_rss_kib();
    if let Some(kib) = rss_floor_kib {
        eprintln!("    xtask's own RSS (the floor under every peak measured): {kib} KiB");
    }
    let cache_before = cleanup::build_cache_size(&tools);
    let uploads_before = cleanup::uploads_before(&tools);
    let started = std::time::Instant::now();
    let mut images = Vec::new();
    let rows = measure_all(config, &tools, &workloads, &logs, &mut images);
    let measured = started.elapsed();
    // Whatever happened above.
    cleanup::remove_images(&tools, &images);
    cleanup::remove_uploads(&tools, uploads_before.as_ref());
    eprintln!(
        "    Engine 26.1's build cache: {cache_before} before the bench, {} after",
        cleanup::build_cache_size(&tools)
    );
    let rows = rows?;
    let context = describe_run(config, &tools, entry, rss_floor_kib)?;
    let report = report::render_report(&context, &rows, &legend(&workloads));
    println!("{report}");
    eprintln!(
        "==> bench ({}): measured in {:.0} s",
        config.mode(),
        measured.as_secs_f64()
    );
    if config.quick {
        return Ok(());
    }
    let path = bench_dir.join("report.md");
    fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("==> bench: report written to {}", path.display());
    let missed: Vec<&str> = rows
        .iter()
        .filter(|row| row.goal_met() == Some(false))
        .map(|row| row.benchmark.as_str())
        .collect();
    // Goals are figures to report, not tests: a missed one is said, and the run succeeds.
    if !missed.is_empty() {
        eprintln!(
            "==> bench: {} of {} goals missed:\n  {}",
            missed.len(),
            rows.iter().filter(|row| row.goal_met().is_some()).count(),
            missed.join("\n  ")
        );
    }
    Ok(())
}

/// Every comparison, in table order. Tags the bench creates are added to `images` as soon
/// as they may exist, so that they are removed even when a step fails.
fn measure_all(
    config: &BenchConfig,
    tools: &Tools,
    workloads: &Workloads,
    logs: &Path,
    images: &mut Vec<String>,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let tree = &workloads.tree;
    let small_goal = Goal {
        max_ratio: Some(1.0),
        stretch_ratio: Some(0.7),
        max_rss_mib: Some(CONTEXT_RSS_GOAL_MIB),
    };
    let context_cases = [
        (
            format!("{} small files", format_count(tree.entries)),
            &workloads.small_files,
            None,
            small_goal,
            "small-files",
        ),
        (
            format!(
                "{} × {} files",
                workloads.large.count,
                format_bytes(workloads.large.size)
            ),
            &workloads.large_files,
            None,
            Goal {
                stretch_ratio: None,
                ..small_goal
            },
            "large-files",
        ),
        (
            format!(
                "the {} small files behind a `.dockerignore` of `node_modules`",
                format_count(tree.entries)
            ),
            &workloads.ignored,
            Some(workloads::TAR_EXCLUDE),
            small_goal,
            "dockerignore",
        ),
    ];
    for (what, dir, exclude, goal, slug) in context_cases {
        rows.push(context_row(
            config,
            tools,
            &what,
            dir,
            exclude,
            goal,
            &logs.join(slug),
        )?);
    }
    for case in &workloads.builds {
        for cold in [true, false] {
            rows.push(build_row(config, tools, case, cold, logs, images)?);
        }
    }
    rows.push(prepull_row(config, tools, workloads, logs, images)?);
    if let Some(whole) = workloads.builds.iter().find(|case| case.slug == "whole") {
        rows.push(tls_upload_row(config, tools, whole, logs, images)?);
    }
    Ok(rows)
}

/// A cold build of the whole context over tcp+TLS, `--compress` against `--compress=false`.
fn tls_upload_row(
    config: &BenchConfig,
    tools: &Tools,
    case: &BuildCase,
    logs: &Path,
    images: &mut Vec<String>,
) -> Result<Row, String> {
    let tag = format!("devbuild-bench/{}-tls:latest", case.slug);
    if !images.contains(&tag) {
        images.push(tag.clone());
    }
    let build = |compress: &str| -> Result<Cmd, String> {
        Ok(tools
            .devbuild_over_tls()?
            .args(["build", "--progress=quiet", "--no-cache", compress])
            .args(["-q", "-t", &tag, "--label", IMAGE_LABEL])
            .arg("-f")
            .arg(&case.dockerfile)
            .arg(&case.context))
    };
    eprintln!(
        "--> upload over TLS, --compress vs --compress=false: {}",
        pairs(config.build_pairs)
    );
    let comparison = timing::compare(
        &Job::Single(build("--compress")?),
        &Job::Single(build("--compress=false")?),
        config.build_pairs,
        &logs.join("upload-tls"),
        &interrupt::check,
    )?;
    row(
        format!(
            "build {} over tcp+TLS, `--compress` vs `--compress=false`",
            case.title
        ),
        &comparison,
        Goal::default(),
    )
}

/// `devbuild context DIR --output - | cat` against `tar -cf - -C DIR . | cat`.
fn context_row(
    config: &BenchConfig,
    tools: &Tools,
    what: &str,
    dir: &Path,
    tar_exclude: Option<&str>,
    goal: Goal,
    log: &Path,
) -> Result<Row, String> {
    let devbuild = tools
        .devbuild()
        .arg("context")
        .arg(dir)
        .args(["--output", "-"]);
    let mut tar = Cmd::new("tar").arg("-cf").arg("-");
    if let Some(exclude) = tar_exclude {
        tar = tar.arg(exclude);
    }
    let tar = tar.arg("-C").arg(dir).arg(".");
    eprintln!(
        "--> context to a pipe, {what}: {}",
        pairs(config.context_pairs)
    );
    // Also a first read of the whole tree, before the comparison's own warm-up runs.
    let (devbuild_bytes, tar_bytes) = (output_size(&devbuild)?, output_size(&tar)?);
    eprintln!(
        "    tar sizes: devbuild {} bytes, GNU tar {} bytes",
        devbuild_bytes, tar_bytes
    );
    let comparison = timing::compare(
        &Job::Pipe(devbuild, Cmd::new("cat")),
        &Job::Pipe(tar, Cmd::new("cat")),
        config.context_pairs,
        log,
        &interrupt::check,
    )?;
    row(
        format!(
            "context → pipe: {what} ({} tar) vs GNU tar",
            format_bytes(devbuild_bytes)
        ),
        &comparison,
        goal,
    )
}

/// `1 pair`, `5 pairs`.
fn pairs(count: usize) -> String {
    if count == 1 {
        "1 pair".to_string()
    } else {
        format!("{count} pairs")
    }
}

/// The figures of one comparison as a table row.
fn row(benchmark: String, comparison: &timing::Comparison, goal: Goal) -> Result<Row, String> {
    let spread = |runs: &[timing::Measurement]| {
        Spread::of_walls(runs).ok_or_else(|| format!("{benchmark}: no timed runs"))
    };
    Ok(Row {
        devbuild: spread(&comparison.a)?,
        baseline: spread(&comparison.b)?,
        peak_rss_kib: comparison
            .a
            .iter()
            .map(|m| m.peak_rss_kib)
            .max()
            .unwrap_or(0),
        goal,
        benchmark,
    })
}

/// `devbuild build` against `docker buildx build`, both ending with the image in the
/// engine's store; cold is `--no-cache` on both, warm a repeated cached build.
fn build_row(
    config: &BenchConfig,
    tools: &Tools,
    case: &BuildCase,
    cold: bool,
    logs: &Path,
    images: &mut Vec<String>,
) -> Result<Row, String> {
    let devbuild_tag = format!("devbuild-bench/{}-devbuild:latest", case.slug);
    let buildx_tag = format!("devbuild-bench/{}-buildx:latest", case.slug);
    for tag in [&devbuild_tag, &buildx_tag] {
        if !images.contains(tag) {
            images.push(tag.clone());
        }
    }
    let common = |cmd: Cmd, tag: &str| -> Cmd {
        let cmd = cmd
            .args(["-q", "-t", tag, "--label", IMAGE_LABEL])
            .arg("-f")
            .arg(&case.dockerfile);
        if cold {
            cmd.arg("--no-cache")
        } else {
            cmd
        }
    };
    let devbuild = common(tools.devbuild().arg("build"), &devbuild_tag)
        .arg("--progress=quiet")
        .arg(&case.context);
    let buildx = common(tools.docker().args(["buildx", "build"]), &buildx_tag)
        .arg("--load")
        .arg(&case.context);
    let temperature = if cold { "cold" } else { "warm" };
    eprintln!(
        "--> build {}, {temperature}: {}",
        case.slug,
        pairs(config.build_pairs)
    );
    let comparison = timing::compare(
        &Job::Single(devbuild),
        &Job::Single(buildx),
        config.build_pairs,
        &logs.join(format!("build-{}-{temperature}", case.slug)),
        &interrupt::check,
    )?;
    for tag in [&devbuild_tag, &buildx_tag] {
        output(
            &tools
                .docker()
                .args(["image", "inspect", "--format", "{{.Id}}", tag]),
        )
        .map_err(|e| format!("the build did not leave {tag} in the engine's store: {e}"))?;
    }
    let max_ratio = match (case.subset, cold) {
        (true, true) => 0.8,
        (true, false) => 0.5,
        (false, _) => 1.0,
    };
    let what = if cold {
        "cold (`--no-cache`)"
    } else {
        "warm (cached)"
    };
    row(
        format!("build {}, {what} vs buildx", case.title),
        &comparison,
        Goal {
            max_ratio: Some(max_ratio),
            ..Goal::default()
        },
    )
}

/// `devbuild pull -f F DIR` of 10 images already present against `docker image inspect`
/// of the same 10 (one process, one request each).
fn prepull_row(
    config: &BenchConfig,
    tools: &Tools,
    workloads: &Workloads,
    logs: &Path,
    images: &mut Vec<String>,
) -> Result<Row, String> {
    for image in &workloads.prepull_images {
        images.push(image.clone());
        output(&tools.docker().args(["tag", workloads::BASE_IMAGE, image]))?;
    }
    let dockerfile = workloads.prepull.join("Dockerfile");
    let devbuild = tools
        .devbuild()
        .arg("pull")
        .arg("-f")
        .arg(&dockerfile)
        .arg(&workloads.prepull);
    // Check once that devbuild sees every image as present, so only the check is timed.
    let outcome = output(&devbuild)?;
    let present = outcome.lines().filter(|l| l.ends_with(" present")).count();
    if present != workloads.prepull_images.len() {
        return Err(format!(
            "devbuild pull should find {} images present, said:\n{outcome}",
            workloads.prepull_images.len()
        ));
    }
    let inspect = tools
        .docker()
        .args(["image", "inspect", "--format", "{{.Id}}"])
        .args(workloads.prepull_images.iter().map(OsString::from));
    eprintln!("--> pre-pull check: {}", pairs(config.prepull_pairs));
    let comparison = timing::compare(
        &Job::Single(devbuild),
        &Job::Single(inspect),
        config.prepull_pairs,
        &logs.join("prepull"),
        &interrupt::check,
    )?;
    row(
        format!(
            "pre-pull check, {} images present: `devbuild pull` vs `docker image inspect` of the {}",
            workloads.prepull_images.len(),
            workloads.prepull_images.len()
        ),
        &comparison,
        Goal::default(),
    )
}

/// The first line of `cmd`'s output, or `unknown`.
fn first_line(cmd: Cmd) -> String {
    output(&cmd)
        .ok()
        .and_then(|out| out.lines().next().map(str::trim).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Where and how this run measured.
fn describe_run(
    config: &BenchConfig,
    tools: &Tools,
    entry: &engine::EngineEntry,
    rss_floor_kib: Option<u64>,
) -> Result<Context, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let memory_gib = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib as f64 / 1024.0 / 1024.0)
        })
        .unwrap_or(0.0);
    let buildx = first_line(tools.docker().args(["buildx", "version"]));
    let docker = first_line(
        tools
            .docker()
            .args(["version", "--format", "{{.Client.Version}}"]),
    );
    let tar = first_line(Cmd::new("tar").arg("--version"));
    let storage = first_line(tools.docker().args(["info", "--format", "{{.Driver}}"]));
    let floor = rss_floor_kib.map_or(String::new(), |kib| {
        format!(
            " (a child's peak starts from its parent's RSS: xtask's, {}, is a floor under each)",
            report::format_mib(kib)
        )
    });
    let (profile, pairs) = if config.quick {
        (
            "debug build",
            "quick smoke run: small workloads, 1 pair per row, goals not enforced".to_string(),
        )
    } else {
        (
            "release build",
            format!(
                "{} pairs per context row, {} per build row, {} for the pre-pull check",
                config.context_pairs, config.build_pairs, config.prepull_pairs
            ),
        )
    };
    Ok(Context {
        date: report::format_utc(now.as_secs()),
        engine: format!(
            "Docker Engine {} (API {}), {storage}, the engine's BuildKit",
            entry.engine_version, entry.api_version
        ),
        tools: format!("{tar}; {buildx} (default builder, docker driver); docker CLI {docker}"),
        machine: format!(
            "{cores} cores ({cpu}), {memory_gib:.0} GiB RAM, Linux {kernel}; shared, noisy"
        ),
        method: format!(
            "devbuild {profile}; {pairs}; pairs A B A B … right after one untimed run of each \
             (page cache and build caches warm); wall time of whole processes; \
             ratio = devbuild's median / the baseline's median; peak RSS = `ru_maxrss` of the \
             devbuild process from `wait4`, the largest over the timed runs{floor}"
        ),
    })
}

/// What each side of each row runs.
fn legend(workloads: &Workloads) -> Vec<String> {
    vec![
        "context rows: `devbuild context DIR --output - | cat` vs `tar -cf - -C DIR . | cat` \
         (GNU tar; `--exclude=./node_modules` for the `.dockerignore` row); the trees hold no \
         Dockerfile, so devbuild sends the whole context, like tar; peak RSS is devbuild's own"
            .to_string(),
        format!(
            "build rows: `devbuild build -q -t T --progress=quiet -f F DIR` vs \
             `docker buildx build -q -t T --load -f F DIR`, both with `--label {IMAGE_LABEL}`; \
             cold = `--no-cache` on both, warm = the same build repeated after an untimed one; \
             the large-context rows build the {}-entry tree with their Dockerfile outside it",
            format_count(workloads.tree.entries)
        ),
        "pre-pull row: `devbuild pull -f F DIR` (one inspect per image, concurrently) vs \
         `docker image inspect` of the 10 images (one process, one request each), the images \
         tagged locally from the base image"
            .to_string(),
        "goals (the issue's): subset Dockerfiles ≤ 0.5× buildx warm and ≤ 0.8× cold, every \
         other build ≤ 1.0×, context of small files ≤ 1.0× GNU tar (stretch 0.7×), large \
         files ≤ 1.0×, devbuild's peak RSS ≤ 32 MiB for any context"
            .to_string(),
    ]
}
