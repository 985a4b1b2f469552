//! `cargo xtask engine up|down|env`: private Docker Engines 20.10 and 26.1, a third engine
//! (26.1) behind an authorization plugin of the harness's own, an authenticated registry and
//! base images, for the docker-backed tests and for developers.
//!
//! Nothing here touches `/var/run/docker.sock` or a daemon the user runs: every engine has
//! its own data root, exec root, pid file, unix socket, bridge and containerd namespace,
//! all under `target/devbuild-engines/` (or `$DEVBUILD_ENGINES_DIR`):
//!
//! ```text
//! target/devbuild-engines/
//!   lock                    the lock `up`, `down` and `ci` hold (see `lock`)
//!   cache/                  kept by `down`: Debian 13 .debs, private apt state,
//!     engine-26.1/root/     Engine 26.1 unpacked with dpkg -x, the busybox rootfs tar
//!   engine-20.10/           per engine: data/ exec/ docker.sock dockerd.pid dockerd.log daemon.json
//!   engine-26.1/
//!   engine-authz/           Engine 26.1 again, started with --authorization-plugin
//!   authz-plugin/           plugin.pid plugin.log requests.log rules (socket: /run/docker/plugins/)
//!   registry/               config.yml htpasswd data/ registry.pid registry.log port
//!   remote/                 git/context.git www/ git-daemon.{pid,log} git-port http.{pid,log} http-port
//!                           (remote build contexts: `git daemon` and `cargo xtask http-serve`)
//!   docker-config/          config.json (registry credentials), cli-plugins/docker-buildx
//!   env                     the env file (see `TestEnv`)
//! ```
//!
//! `down` stops exactly the processes `up` started (by pid, checked against their command
//! line), deletes the bridges and removes everything but `cache/` (and the lock file).

mod authz;
mod daemon;
mod http;
pub mod lock;
pub(crate) mod process;
mod provision;
mod registry;
mod remote;
mod seed;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One engine the harness runs.
#[derive(Debug)]
pub struct EngineSpec {
    /// The name users select it by (`--engine`) and its state directory's suffix: `20.10`,
    /// `26.1` or `authz`.
    pub name: &'static str,
    /// The engine release it runs: `20.10` or `26.1`.
    pub version: &'static str,
    /// The API version the engine must report.
    pub api_version: &'static str,
    /// The name as used in env variable names and bridge names: `20_10`, `authz`.
    pub key: &'static str,
    /// Whether dockerd runs behind the harness's authorization plugin.
    pub authz: bool,
}

/// The engines every docker-backed test runs against, oldest first.
pub const ENGINES: [EngineSpec; 2] = [
    EngineSpec {
        name: "20.10",
        version: "20.10",
        api_version: "1.41",
        key: "20_10",
        authz: false,
    },
    EngineSpec {
        name: "26.1",
        version: "26.1",
        api_version: "1.45",
        key: "26_1",
        authz: false,
    },
];

/// Engine 26.1 behind the harness's authorization plugin (its own data root, socket, bridge).
pub const AUTHZ_ENGINE: EngineSpec = EngineSpec {
    name: "authz",
    version: "26.1",
    api_version: "1.45",
    key: "authz",
    authz: true,
};

/// Every engine `up` starts by default (`--engine all`).
pub fn all_engines() -> Vec<&'static EngineSpec> {
    ENGINES.iter().chain([&AUTHZ_ENGINE]).collect()
}

/// The base image imported into every engine from busybox-static's root file system.
pub const BASE_IMAGE: &str = "devbuild-test/busybox:1";
/// The private image's repository and tag in the registry (prefix it with the address).
pub const PRIVATE_REPOSITORY: &str = "devbuild-test/private";
/// The private image's tag.
pub const PRIVATE_TAG: &str = "1";

/// Where the harness keeps its state.
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// `$DEVBUILD_ENGINES_DIR`, else `<workspace>/target/devbuild-engines`.
    pub fn new() -> Layout {
        let root = std::env::var_os("DEVBUILD_ENGINES_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                crate::workspace::root()
                    .join("target")
                    .join("devbuild-engines")
            });
        Layout { root }
    }

    /// The state root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Downloads and unpacked trees, kept by `down`.
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// Engine 26.1's unpacked Debian 13 packages.
    pub fn engine26_root(&self) -> PathBuf {
        self.cache().join("engine-26.1").join("root")
    }

    /// One engine's state directory.
    pub fn engine_dir(&self, spec: &EngineSpec) -> PathBuf {
        self.root.join(format!("engine-{}", spec.name))
    }

    /// The authorization plugin's state directory.
    pub fn authz_dir(&self) -> PathBuf {
        self.root.join("authz-plugin")
    }

    /// A 16-bit hash of the state root (FNV-1a), for names that must differ between checkouts
    /// on one machine: bridges, the plugin.
    pub fn checkout_hash(&self) -> u16 {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in self.root.as_os_str().as_encoded_bytes() {
            hash = (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
        }
        (hash & 0xffff) as u16
    }

    /// The registry's state directory.
    pub fn registry_dir(&self) -> PathBuf {
        self.root.join("registry")
    }

    /// The remote contexts' state directory (the git repository, the HTTP server's files).
    pub fn remote_dir(&self) -> PathBuf {
        self.root.join("remote")
    }

    /// The `DOCKER_CONFIG` directory.
    pub fn docker_config(&self) -> PathBuf {
        self.root.join("docker-config")
    }

    /// The env file.
    pub fn env_file(&self) -> PathBuf {
        self.root.join("env")
    }
}

/// What the env file holds: everything a test or a shell needs to use the engines.
///
/// Format: `KEY=VALUE` lines, values quoted for a POSIX shell only when needed (`'…'`),
/// `#` comments. Keys: `DEVBUILD_TEST_ENGINES` (comma-separated versions that are up),
/// per engine `DEVBUILD_TEST_ENGINE_<20_10|26_1>_{HOST,VERSION,API_VERSION}`,
/// `DEVBUILD_TEST_REGISTRY` (`127.0.0.1:<port>`), `DEVBUILD_TEST_REGISTRY_USERNAME`,
/// `DEVBUILD_TEST_REGISTRY_PASSWORD`, `DOCKER_CONFIG`, `DEVBUILD_TEST_BASE`,
/// `DEVBUILD_TEST_PRIVATE_IMAGE`; when the authz engine is up,
/// `DEVBUILD_TEST_AUTHZ_{HOST,VERSION,API_VERSION}` (the engine),
/// `DEVBUILD_TEST_AUTHZ_PLUGIN` (the plugin's name, as in the engine's denials),
/// `DEVBUILD_TEST_AUTHZ_LOG` (one `METHOD URI` line per request) and
/// `DEVBUILD_TEST_AUTHZ_RULES` (the rules file tests append `deny …` lines to); when the
/// remote contexts' servers are up, `DEVBUILD_TEST_GIT_URL` (`git://127.0.0.1:<port>/context.git`),
/// `DEVBUILD_TEST_HTTP_URL` (`http://127.0.0.1:<port>`) and `DEVBUILD_TEST_TARBALL_URL`
/// (`<http url>/context.tar.gz`).
#[derive(Debug, PartialEq)]
pub struct TestEnv {
    /// The engines that are up (not the authz engine, which no test matrix runs on).
    pub engines: Vec<EngineEntry>,
    /// The engine behind the authorization plugin, when it is up.
    pub authz: Option<AuthzEntry>,
    /// The registry's address, `127.0.0.1:<port>`.
    pub registry: String,
    /// The registry's username.
    pub username: String,
    /// The registry's password.
    pub password: String,
    /// A directory whose `config.json` holds the registry credentials.
    pub docker_config: PathBuf,
    /// The local base image present in every engine.
    pub base: String,
    /// The private image, only in the registry.
    pub private_image: String,
    /// The remote build contexts' servers, when they are up.
    pub remote: Option<RemoteEntry>,
}

/// The remote build contexts in the env file.
#[derive(Debug, PartialEq)]
pub struct RemoteEntry {
    /// The git repository, `git://127.0.0.1:<port>/context.git`.
    pub git_url: String,
    /// The HTTP server, `http://127.0.0.1:<port>`.
    pub http_url: String,
    /// Its gzip-compressed tarball, `<http_url>/context.tar.gz`.
    pub tarball_url: String,
}

/// One running engine in the env file.
#[derive(Debug, PartialEq)]
pub struct EngineEntry {
    /// `20.10` or `26.1`.
    pub version: String,
    /// `unix://<socket>`.
    pub host: String,
    /// The engine's full version, e.g. `26.1.5`.
    pub engine_version: String,
    /// The API version it reports, e.g. `1.45`.
    pub api_version: String,
}

/// The authz engine in the env file.
#[derive(Debug, PartialEq)]
pub struct AuthzEntry {
    /// The engine (its `version` is `authz`).
    pub engine: EngineEntry,
    /// The plugin's name.
    pub plugin: String,
    /// The request log.
    pub log: PathBuf,
    /// The rules file.
    pub rules: PathBuf,
}

impl TestEnv {
    /// The env file's text.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# devbuild test engines: written by `cargo xtask engine up`, read by tests/ and\n\
             # `cargo xtask engine env`. KEY=VALUE lines, values quoted for sh when needed.\n",
        );
        let mut line = |key: &str, value: &str| {
            out.push_str(&format!("{key}={}\n", shell_quote(value)));
        };
        let versions: Vec<&str> = self.engines.iter().map(|e| e.version.as_str()).collect();
        line("DEVBUILD_TEST_ENGINES", &versions.join(","));
        for e in &self.engines {
            let key = e.version.replace('.', "_");
            line(&format!("DEVBUILD_TEST_ENGINE_{key}_HOST"), &e.host);
            line(
                &format!("DEVBUILD_TEST_ENGINE_{key}_VERSION"),
                &e.engine_version,
            );
            line(
                &format!("DEVBUILD_TEST_ENGINE_{key}_API_VERSION"),
                &e.api_version,
            );
        }
        line("DEVBUILD_TEST_REGISTRY", &self.registry);
        line("DEVBUILD_TEST_REGISTRY_USERNAME", &self.username);
        line("DEVBUILD_TEST_REGISTRY_PASSWORD", &self.password);
        line("DOCKER_CONFIG", &self.docker_config.to_string_lossy());
        line("DEVBUILD_TEST_BASE", &self.base);
        line("DEVBUILD_TEST_PRIVATE_IMAGE", &self.private_image);
        if let Some(authz) = &self.authz {
            line("DEVBUILD_TEST_AUTHZ_HOST", &authz.engine.host);
            line("DEVBUILD_TEST_AUTHZ_VERSION", &authz.engine.engine_version);
            line("DEVBUILD_TEST_AUTHZ_API_VERSION", &authz.engine.api_version);
            line("DEVBUILD_TEST_AUTHZ_PLUGIN", &authz.plugin);
            line("DEVBUILD_TEST_AUTHZ_LOG", &authz.log.to_string_lossy());
            line("DEVBUILD_TEST_AUTHZ_RULES", &authz.rules.to_string_lossy());
        }
        if let Some(remote) = &self.remote {
            line("DEVBUILD_TEST_GIT_URL", &remote.git_url);
            line("DEVBUILD_TEST_HTTP_URL", &remote.http_url);
            line("DEVBUILD_TEST_TARBALL_URL", &remote.tarball_url);
        }
        out
    }

    /// Reads an env file's text.
    pub fn parse(text: &str) -> Result<TestEnv, String> {
        let vars: std::collections::HashMap<String, String> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), shell_unquote(v.trim())))
            .collect();
        let get = |key: &str| {
            vars.get(key)
                .cloned()
                .ok_or_else(|| format!("env file has no {key}"))
        };
        let mut engines = Vec::new();
        for version in get("DEVBUILD_TEST_ENGINES")?
            .split(',')
            .filter(|v| !v.is_empty())
        {
            let key = version.replace('.', "_");
            engines.push(EngineEntry {
                version: version.to_string(),
                host: get(&format!("DEVBUILD_TEST_ENGINE_{key}_HOST"))?,
                engine_version: get(&format!("DEVBUILD_TEST_ENGINE_{key}_VERSION"))?,
                api_version: get(&format!("DEVBUILD_TEST_ENGINE_{key}_API_VERSION"))?,
            });
        }
        let authz = match vars.contains_key("DEVBUILD_TEST_AUTHZ_HOST") {
            false => None,
            true => Some(AuthzEntry {
                engine: EngineEntry {
                    version: AUTHZ_ENGINE.name.to_string(),
                    host: get("DEVBUILD_TEST_AUTHZ_HOST")?,
                    engine_version: get("DEVBUILD_TEST_AUTHZ_VERSION")?,
                    api_version: get("DEVBUILD_TEST_AUTHZ_API_VERSION")?,
                },
                plugin: get("DEVBUILD_TEST_AUTHZ_PLUGIN")?,
                log: PathBuf::from(get("DEVBUILD_TEST_AUTHZ_LOG")?),
                rules: PathBuf::from(get("DEVBUILD_TEST_AUTHZ_RULES")?),
            }),
        };
        let remote = match vars.contains_key("DEVBUILD_TEST_GIT_URL") {
            false => None,
            true => Some(RemoteEntry {
                git_url: get("DEVBUILD_TEST_GIT_URL")?,
                http_url: get("DEVBUILD_TEST_HTTP_URL")?,
                tarball_url: get("DEVBUILD_TEST_TARBALL_URL")?,
            }),
        };
        Ok(TestEnv {
            engines,
            authz,
            remote,
            registry: get("DEVBUILD_TEST_REGISTRY")?,
            username: get("DEVBUILD_TEST_REGISTRY_USERNAME")?,
            password: get("DEVBUILD_TEST_REGISTRY_PASSWORD")?,
            docker_config: PathBuf::from(get("DOCKER_CONFIG")?),
            base: get("DEVBUILD_TEST_BASE")?,
            private_image: get("DEVBUILD_TEST_PRIVATE_IMAGE")?,
        })
    }

    /// The lines `cargo xtask engine env` prints for one engine (for the authz engine, also
    /// its plugin, log and rules).
    pub fn exports(&self, engine: &EngineEntry) -> String {
        let mut pairs = vec![
            ("DOCKER_HOST", engine.host.clone()),
            (
                "DOCKER_CONFIG",
                self.docker_config.to_string_lossy().into_owned(),
            ),
            (
                "DEVBUILD_TEST_ENGINE_VERSION",
                engine.engine_version.clone(),
            ),
            ("DEVBUILD_TEST_REGISTRY", self.registry.clone()),
            ("DEVBUILD_TEST_BASE", self.base.clone()),
            ("DEVBUILD_TEST_PRIVATE_IMAGE", self.private_image.clone()),
        ];
        if let Some(remote) = &self.remote {
            pairs.extend([
                ("DEVBUILD_TEST_GIT_URL", remote.git_url.clone()),
                ("DEVBUILD_TEST_TARBALL_URL", remote.tarball_url.clone()),
            ]);
        }
        if let Some(authz) = self.authz.as_ref().filter(|a| a.engine == *engine) {
            pairs.extend([
                ("DEVBUILD_TEST_AUTHZ_PLUGIN", authz.plugin.clone()),
                (
                    "DEVBUILD_TEST_AUTHZ_LOG",
                    authz.log.to_string_lossy().into_owned(),
                ),
                (
                    "DEVBUILD_TEST_AUTHZ_RULES",
                    authz.rules.to_string_lossy().into_owned(),
                ),
            ]);
        }
        pairs
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
            .collect()
    }
}

/// Removes a state directory and everything in it; one that is already gone is no error.
pub fn remove_state_dir(dir: &std::path::Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}

/// Quotes `value` for a POSIX shell, only when it holds anything but safe characters.
pub fn shell_quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:,@%+=".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Undoes `shell_quote`.
pub fn shell_unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => value.to_string(),
    }
}

/// Which engines a command acts on.
fn parse_engine_option(args: &[String], default: &str) -> Result<Vec<&'static EngineSpec>, String> {
    let mut choice = default.to_string();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if let Some(value) = arg.strip_prefix("--engine=") {
            choice = value.to_string();
        } else if arg == "--engine" {
            i += 1;
            choice = args
                .get(i)
                .cloned()
                .ok_or("--engine needs a value: 20.10, 26.1, authz or all")?;
        } else {
            return Err(format!("unexpected argument `{arg}`\n{USAGE}"));
        }
        i += 1;
    }
    if choice == "all" {
        return Ok(all_engines());
    }
    all_engines()
        .into_iter()
        .find(|s| s.name == choice)
        .map(|s| vec![s])
        .ok_or_else(|| format!("unknown engine `{choice}`: use 20.10, 26.1, authz or all"))
}

const USAGE: &str = "usage:
  cargo xtask engine up   [--engine 20.10|26.1|authz|all] [--no-wait|--wait SECONDS]
                          provision, start, seed; print the env file
  cargo xtask engine down [--engine 20.10|26.1|authz|all] [--no-wait|--wait SECONDS]
                          stop what `up` started, remove its state
  cargo xtask engine env  [--engine 20.10|26.1|authz]     print `export …` lines for a shell

`up` and `down` take the lock of the engines directory; while another run holds it they
wait for it (up to an hour, or SECONDS) or, with --no-wait, refuse.";

/// Takes the engines directory's lock for `command`, for as long as the result lives.
pub fn lock(command: &str, wait: lock::Wait) -> Result<lock::Lock, String> {
    lock::Lock::acquire(Layout::new().root(), command, wait)
}

/// `engine up` for a tool that brings engines up as a side job (`bench`, `demo`): holds
/// the lock while `up` runs, waiting for it as long as `engine up` would.
pub fn up_locked(specs: &[&'static EngineSpec], command: &str) -> Result<TestEnv, String> {
    let _lock = lock(command, lock::Wait::default())?;
    up(specs)
}

/// `cargo xtask engine …`.
pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("up") => {
            let (wait, rest) = lock::Wait::from_args(&args[1..])?;
            let specs = parse_engine_option(&rest, "all")?;
            let _lock = lock(&format!("cargo xtask engine {}", args.join(" ")), wait)?;
            let env = up(&specs)?;
            print!("{}", env.render());
            Ok(())
        }
        Some("down") => {
            let (wait, rest) = lock::Wait::from_args(&args[1..])?;
            let specs = parse_engine_option(&rest, "all")?;
            let _lock = lock(&format!("cargo xtask engine {}", args.join(" ")), wait)?;
            down(&specs)
        }
        Some("env") => {
            let specs = parse_engine_option(&args[1..], "26.1")?;
            let [spec] = specs[..] else {
                return Err("`engine env` takes one engine: 20.10, 26.1 or authz".to_string());
            };
            print!("{}", env_exports(&Layout::new(), spec)?);
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

fn env_exports(layout: &Layout, spec: &EngineSpec) -> Result<String, String> {
    let path = layout.env_file();
    let text = fs::read_to_string(&path).map_err(|_| {
        format!(
            "no test engines ({} is missing): run `cargo xtask engine up`",
            path.display()
        )
    })?;
    let env = TestEnv::parse(&text)?;
    let engine = env
        .engines
        .iter()
        .chain(env.authz.as_ref().map(|a| &a.engine))
        .find(|e| e.version == spec.name)
        .ok_or_else(|| {
            format!(
                "engine {} is not up: run `cargo xtask engine up --engine {}`",
                spec.name, spec.name
            )
        })?;
    Ok(env.exports(engine))
}

/// `engine up`: provisions what is missing, starts the registry and the selected engines
/// (reusing those already up, cleaning up after killed runs; the authz engine's plugin
/// first), seeds images, writes the env file and returns what it holds. The caller holds the
/// lock ([`lock`]).
pub fn up(specs: &[&'static EngineSpec]) -> Result<TestEnv, String> {
    let started = Instant::now();
    let layout = Layout::new();
    eprintln!("==> engine up: state in {}", layout.root().display());
    provision::check_platform()?;
    fs::create_dir_all(layout.root())
        .map_err(|e| format!("cannot create {}: {e}", layout.root().display()))?;
    eprintln!("--> provisioning");
    provision::ensure_host_packages()?;
    let engine26 = if specs.iter().any(|s| s.version == "26.1") {
        Some(provision::ensure_engine_26(&layout)?)
    } else {
        None
    };
    eprintln!("--> registry");
    let registry = registry::ensure_running(&layout)?;
    eprintln!("--> remote contexts");
    remote::ensure_running(&layout)?;
    write_docker_config(&layout, &registry, engine26.as_deref())?;
    let mut running = Vec::new();
    for spec in specs {
        eprintln!("--> engine {}", spec.name);
        let plugin = if spec.authz {
            Some(authz::ensure_running(&layout)?.name)
        } else {
            None
        };
        running.push(daemon::ensure_running(
            &layout,
            spec,
            engine26.as_deref(),
            plugin.as_deref(),
        )?);
    }
    eprintln!("--> images");
    for engine in &running {
        seed::base_image(&layout, engine)?;
    }
    seed::private_image(&layout, &registry, &running)?;
    let env = write_env(&layout, &registry)?;
    eprintln!(
        "==> engine up: done in {:.1}s; env file {}",
        started.elapsed().as_secs_f64(),
        layout.env_file().display()
    );
    Ok(env)
}

/// Writes the env file for every engine that answers now.
fn write_env(layout: &Layout, registry: &registry::Registry) -> Result<TestEnv, String> {
    let entry = |r: daemon::Running| EngineEntry {
        version: r.spec.name.to_string(),
        host: format!("unix://{}", r.socket.display()),
        engine_version: r.engine_version,
        api_version: r.api_version,
    };
    let engines = ENGINES
        .iter()
        .filter_map(|spec| daemon::probe(layout, spec))
        .map(entry)
        .collect();
    let authz = daemon::probe(layout, &AUTHZ_ENGINE)
        .zip(authz::running(layout))
        .map(|(running, plugin)| AuthzEntry {
            engine: entry(running),
            plugin: plugin.name,
            log: plugin.log,
            rules: plugin.rules,
        });
    let env = TestEnv {
        engines,
        authz,
        registry: registry.address(),
        username: registry.username.clone(),
        password: registry.password.clone(),
        docker_config: layout.docker_config(),
        base: BASE_IMAGE.to_string(),
        private_image: format!("{}/{PRIVATE_REPOSITORY}:{PRIVATE_TAG}", registry.address()),
        remote: remote::running(layout).map(|r| RemoteEntry {
            tarball_url: r.tarball_url(),
            git_url: r.git_url,
            http_url: r.http_url,
        }),
    };
    let path = layout.env_file();
    fs::write(&path, env.render()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(env)
}

/// Writes `DOCKER_CONFIG/config.json` with the registry's credentials, and links buildx 0.13
/// as a CLI plugin when Engine 26.1's packages are unpacked.
fn write_docker_config(
    layout: &Layout,
    registry: &registry::Registry,
    engine26: Option<&Path>,
) -> Result<(), String> {
    let dir = layout.docker_config();
    let plugins = dir.join("cli-plugins");
    fs::create_dir_all(&plugins)
        .map_err(|e| format!("cannot create {}: {e}", plugins.display()))?;
    let auth =
        http::base64_standard(format!("{}:{}", registry.username, registry.password).as_bytes());
    let config = format!(
        "{{\n  \"auths\": {{\n    \"{}\": {{\n      \"auth\": \"{auth}\"\n    }}\n  }}\n}}\n",
        registry.address()
    );
    let path = dir.join("config.json");
    fs::write(&path, config).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if let Some(root) = engine26 {
        let link = plugins.join("docker-buildx");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(
            root.join("usr/libexec/docker/cli-plugins/docker-buildx"),
            &link,
        )
        .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    Ok(())
}

/// `engine down`: stops the selected engines (the authz engine's plugin after its engine;
/// once no engine is left, the registry) by pid, deletes their bridges and removes their
/// state. The cache stays. The caller holds the lock ([`lock`]).
pub fn down(specs: &[&'static EngineSpec]) -> Result<(), String> {
    let layout = Layout::new();
    eprintln!("==> engine down: state in {}", layout.root().display());
    let mut errors = Vec::new();
    for spec in specs {
        eprintln!("--> engine {}", spec.name);
        if let Err(e) = daemon::stop(&layout, spec) {
            errors.push(e);
        }
        if spec.authz {
            if let Err(e) = authz::stop(&layout) {
                errors.push(e);
            }
        }
    }
    let engines_left = all_engines()
        .iter()
        .any(|s| daemon::probe(&layout, s).is_some());
    if engines_left {
        match registry::running(&layout) {
            Some(registry) => {
                if let Err(e) = write_env(&layout, &registry) {
                    errors.push(e);
                }
            }
            None => {
                let _ = fs::remove_file(layout.env_file());
            }
        }
    } else {
        eprintln!("--> registry");
        if let Err(e) = registry::stop(&layout) {
            errors.push(e);
        }
        eprintln!("--> remote contexts");
        if let Err(e) = remote::stop(&layout) {
            errors.push(e);
        }
        let _ = fs::remove_file(layout.env_file());
        let _ = fs::remove_dir_all(layout.docker_config());
    }
    if errors.is_empty() {
        eprintln!("==> engine down: done");
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TestEnv {
        TestEnv {
            engines: vec![
                EngineEntry {
                    version: "20.10".into(),
                    host: "unix:///w/target/devbuild-engines/engine-20.10/docker.sock".into(),
                    engine_version: "20.10.24".into(),
                    api_version: "1.41".into(),
                },
                EngineEntry {
                    version: "26.1".into(),
                    host: "unix:///w/target/devbuild-engines/engine-26.1/docker.sock".into(),
                    engine_version: "26.1.5".into(),
                    api_version: "1.45".into(),
                },
            ],
            authz: Some(AuthzEntry {
                engine: EngineEntry {
                    version: "authz".into(),
                    host: "unix:///w/target/devbuild-engines/engine-authz/docker.sock".into(),
                    engine_version: "26.1.5".into(),
                    api_version: "1.45".into(),
                },
                plugin: "devbuild-authz-1a2b".into(),
                log: PathBuf::from("/w/target/devbuild-engines/authz-plugin/requests.log"),
                rules: PathBuf::from("/w/target/devbuild-engines/authz-plugin/rules"),
            }),
            registry: "127.0.0.1:40000".into(),
            username: "devbuild".into(),
            password: "devbuild-~~~?".into(),
            docker_config: PathBuf::from("/w/target/devbuild-engines/docker-config"),
            base: BASE_IMAGE.into(),
            private_image: "127.0.0.1:40000/devbuild-test/private:1".into(),
            remote: Some(RemoteEntry {
                git_url: "git://127.0.0.1:40001/context.git".into(),
                http_url: "http://127.0.0.1:40002".into(),
                tarball_url: "http://127.0.0.1:40002/context.tar.gz".into(),
            }),
        }
    }

    #[test]
    fn env_file_round_trips() {
        let env = sample();
        let text = env.render();
        assert!(
            text.contains("DEVBUILD_TEST_REGISTRY_PASSWORD='devbuild-~~~?'\n"),
            "{text}"
        );
        assert!(
            text.contains("DEVBUILD_TEST_ENGINES=20.10,26.1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "DEVBUILD_TEST_AUTHZ_LOG=/w/target/devbuild-engines/authz-plugin/requests.log\n"
            ),
            "{text}"
        );
        assert_eq!(TestEnv::parse(&text).unwrap(), env);
        assert!(
            text.contains("DEVBUILD_TEST_GIT_URL=git://127.0.0.1:40001/context.git\n"),
            "{text}"
        );
        let without = TestEnv {
            authz: None,
            remote: None,
            ..sample()
        };
        let text = without.render();
        assert!(!text.contains("AUTHZ"), "{text}");
        assert!(!text.contains("_URL"), "{text}");
        assert_eq!(TestEnv::parse(&text).unwrap(), without);
    }

    #[test]
    fn env_prints_exactly_the_documented_lines() {
        let env = sample();
        assert_eq!(
            env.exports(&env.engines[1]),
            "export DOCKER_HOST=unix:///w/target/devbuild-engines/engine-26.1/docker.sock
export DOCKER_CONFIG=/w/target/devbuild-engines/docker-config
export DEVBUILD_TEST_ENGINE_VERSION=26.1.5
export DEVBUILD_TEST_REGISTRY=127.0.0.1:40000
export DEVBUILD_TEST_BASE=devbuild-test/busybox:1
export DEVBUILD_TEST_PRIVATE_IMAGE=127.0.0.1:40000/devbuild-test/private:1
export DEVBUILD_TEST_GIT_URL=git://127.0.0.1:40001/context.git
export DEVBUILD_TEST_TARBALL_URL=http://127.0.0.1:40002/context.tar.gz
"
        );
        let authz = &env.authz.as_ref().unwrap().engine;
        assert_eq!(
            env.exports(authz),
            "export DOCKER_HOST=unix:///w/target/devbuild-engines/engine-authz/docker.sock
export DOCKER_CONFIG=/w/target/devbuild-engines/docker-config
export DEVBUILD_TEST_ENGINE_VERSION=26.1.5
export DEVBUILD_TEST_REGISTRY=127.0.0.1:40000
export DEVBUILD_TEST_BASE=devbuild-test/busybox:1
export DEVBUILD_TEST_PRIVATE_IMAGE=127.0.0.1:40000/devbuild-test/private:1
export DEVBUILD_TEST_GIT_URL=git://127.0.0.1:40001/context.git
export DEVBUILD_TEST_TARBALL_URL=http://127.0.0.1:40002/context.tar.gz
export DEVBUILD_TEST_AUTHZ_PLUGIN=devbuild-authz-1a2b
export DEVBUILD_TEST_AUTHZ_LOG=/w/target/devbuild-engines/authz-plugin/requests.log
export DEVBUILD_TEST_AUTHZ_RULES=/w/target/devbuild-engines/authz-plugin/rules
"
        );
    }

    #[test]
    fn engine_option_selects_by_name() {
        let names = |args: &[&str]| -> Vec<&str> {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            parse_engine_option(&args, "all")
                .unwrap()
                .iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(names(&[]), ["20.10", "26.1", "authz"]);
        assert_eq!(names(&["--engine", "authz"]), ["authz"]);
        assert_eq!(names(&["--engine=26.1"]), ["26.1"]);
        let bad = parse_engine_option(&["--engine=27".to_string()], "all").unwrap_err();
        assert!(bad.contains("20.10, 26.1, authz or all"), "{bad}");
    }

    #[test]
    fn shell_quoting_round_trips() {
        for value in ["plain/path:1", "with space", "it's", "a?b", ""] {
            assert_eq!(shell_unquote(&shell_quote(value)), value);
        }
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
