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
//!   tls/                    Engine 26.1's tcp+TLS listener: port, ca/ other-ca/ server/,
//!                           the clients' cert dirs client/ wrong-ca/ expired/ (see `tls`)
//!   ssh/                    Engine 26.1 over ssh: sshd_config sshd.{pid,log} port host_key
//!                           client_key authorized_keys dial-stdio commands.log, the client
//!                           side known_hosts config bin/ssh, and bad_known_hosts bad_config
//!                           bad-bin/ssh (see `ssh`)
//!   docker-config/          config.json (registry credentials), cli-plugins/docker-buildx
//!   env                     the env file (see `TestEnv`)
//! ```
//!
//! Engine 26.1 is also served as a remote engine is reached, for the remote-engine tests:
//! over tcp+TLS on 127.0.0.1 (`--tlsverify`, a CA and certificates generated for each start)
//! and over ssh (Debian's sshd on 127.0.0.1, its key forced to `docker system dial-stdio`).
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
mod ssh;
mod tls;

use devbuild_tests::shell_quote;
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
    /// Whether the engine is also served remotely: over tcp+TLS (a second listener) and over
    /// ssh (`docker system dial-stdio` on its socket).
    pub remote: bool,
}

/// The engines every docker-backed test runs against, oldest first.
pub const ENGINES: [EngineSpec; 2] = [
    EngineSpec {
        name: "20.10",
        version: "20.10",
        api_version: "1.41",
        key: "20_10",
        authz: false,
        remote: false,
    },
    EngineSpec {
        name: "26.1",
        version: "26.1",
        api_version: "1.45",
        key: "26_1",
        authz: false,
        remote: true,
    },
];

/// Engine 26.1 behind the harness's authorization plugin (its own data root, socket, bridge).
pub const AUTHZ_ENGINE: EngineSpec = EngineSpec {
    name: "authz",
    version: "26.1",
    api_version: "1.45",
    key: "authz",
    authz: true,
    remote: false,
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

// The env file's contents, written by `up` and read by `engine env`, the bench and the demo:
// the tests' own definition, so that the file has one format for its writer and its readers.
pub use devbuild_tests::{AuthzEntry, EngineEntry, RemoteEntry, SshEntry, TestEnv, TlsEntry};

/// The lines `cargo xtask engine env` prints for one engine of `env` (for the authz engine,
/// also its plugin, log and rules).
fn exports(env: &TestEnv, engine: &EngineEntry) -> String {
    let mut pairs = vec![
        ("DOCKER_HOST", engine.host()),
        (
            "DOCKER_CONFIG",
            env.docker_config.to_string_lossy().into_owned(),
        ),
        (
            "DEVBUILD_TEST_ENGINE_VERSION",
            engine.engine_version.clone(),
        ),
        ("DEVBUILD_TEST_REGISTRY", env.registry.address.clone()),
        ("DEVBUILD_TEST_BASE", env.base_image.clone()),
        ("DEVBUILD_TEST_PRIVATE_IMAGE", env.private_image.clone()),
    ];
    if let Some(remote) = &env.remote {
        pairs.extend([
            ("DEVBUILD_TEST_GIT_URL", remote.git_url.clone()),
            ("DEVBUILD_TEST_TARBALL_URL", remote.tarball_url.clone()),
        ]);
    }
    if let Some(authz) = env.authz.as_ref().filter(|a| a.engine == *engine) {
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

/// Removes a state directory and everything in it; one that is already gone is no error.
pub fn remove_state_dir(dir: &std::path::Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
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
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
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
    Ok(exports(&env, engine))
}

/// `engine up`: provisions what is missing, starts the registry and the selected engines
/// (reusing those already up, cleaning up after killed runs; the authz engine's plugin
/// first; Engine 26.1 with its TLS listener, then its sshd), seeds images, writes the env file and returns what it holds. The caller holds the
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
    if let Some(remote) = running.iter().find(|r| r.spec.remote) {
        eprintln!("--> ssh (engine {})", remote.spec.name);
        ssh::ensure_running(&layout, &remote.socket, remote.spec.api_version)?;
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

/// Writes the env file for every engine (and remote endpoint) that answers now.
fn write_env(layout: &Layout, registry: &registry::Registry) -> Result<TestEnv, String> {
    let entry = |r: daemon::Running| EngineEntry {
        version: r.spec.name.to_string(),
        socket: r.socket,
        engine_version: r.engine_version,
        api_version: r.api_version,
        log: r.log,
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
        registry: devbuild_tests::Registry {
            address: registry.address(),
            username: registry.username.clone(),
            password: registry.password.clone(),
        },
        docker_config: layout.docker_config(),
        base_image: BASE_IMAGE.to_string(),
        private_image: format!("{}/{PRIVATE_REPOSITORY}:{PRIVATE_TAG}", registry.address()),
        remote: remote::running(layout).map(|r| RemoteEntry {
            tarball_url: r.tarball_url(),
            git_url: r.git_url,
            http_url: r.http_url,
        }),
        tls: None,
        ssh: None,
    };
    let remote_spec = ENGINES.iter().find(|s| s.remote);
    let tls = remote_spec
        .and_then(|spec| tls::existing(layout).filter(|t| t.answers(layout, spec.api_version)));
    let ssh = remote_spec.and_then(|spec| ssh::running(layout, spec.api_version));
    let env = TestEnv {
        tls: tls.map(|t| TlsEntry {
            host: t.host(),
            cert_path: t.client(),
            wrong_ca_path: t.wrong_ca(),
            expired_cert_path: t.expired(),
        }),
        ssh: ssh.map(|s| SshEntry {
            host: s.host(),
            config: s.config(),
            bin: s.bin(),
            known_hosts: s.known_hosts(),
            key: s.key(),
            command_log: s.command_log(),
            bad_known_hosts: s.bad_known_hosts(),
            bad_config: s.bad_config(),
            bad_bin: s.bad_bin(),
        }),
        ..env
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
    let auth = devbuild_tests::base64_standard(
        format!("{}:{}", registry.username, registry.password).as_bytes(),
    );
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

/// `engine down`: stops the selected engines (the authz engine's plugin after its engine,
/// Engine 26.1's sshd before it, its TLS material removed with it;
/// once no engine is left, the registry) by pid, deletes their bridges and removes their
/// state. The cache stays. The caller holds the lock ([`lock`]).
pub fn down(specs: &[&'static EngineSpec]) -> Result<(), String> {
    let layout = Layout::new();
    eprintln!("==> engine down: state in {}", layout.root().display());
    let mut errors = Vec::new();
    for spec in specs {
        if spec.remote {
            eprintln!("--> ssh (engine {})", spec.name);
            if let Err(e) = ssh::stop(&layout) {
                errors.push(e);
            }
        }
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

    /// The tests' sample env file: every engine, the authz engine, the remote contexts.
    fn sample() -> TestEnv {
        TestEnv::parse(include_str!("../../tests/data/env-sample")).expect("the sample parses")
    }

    #[test]
    fn env_prints_exactly_the_documented_lines() {
        let env = sample();
        assert_eq!(
            exports(&env, &env.engines[1]),
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
            exports(&env, authz),
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
}
