//! The env file `cargo xtask engine up` writes, and its one definition: xtask writes it with
//! [`TestEnv::render`] and reads it back with [`TestEnv::parse`] (`engine env`, the bench,
//! the demo), as the tests do, so that writer and readers cannot drift apart.
//!
//! Format: `KEY=VALUE` lines, values quoted for a POSIX shell only when needed (`'…'`),
//! `#` comments. Keys: `DEVBUILD_TEST_ENGINES` (comma-separated versions that are up),
//! per engine `DEVBUILD_TEST_ENGINE_<20_10|26_1>_{HOST,VERSION,API_VERSION}`,
//! `DEVBUILD_TEST_REGISTRY` (`127.0.0.1:<port>`), `DEVBUILD_TEST_REGISTRY_USERNAME`,
//! `DEVBUILD_TEST_REGISTRY_PASSWORD`, `DOCKER_CONFIG`, `DEVBUILD_TEST_BASE`,
//! `DEVBUILD_TEST_PRIVATE_IMAGE`; when the authz engine is up,
//! `DEVBUILD_TEST_AUTHZ_{HOST,VERSION,API_VERSION}` (the engine),
//! `DEVBUILD_TEST_AUTHZ_PLUGIN` (the plugin's name, as in the engine's denials),
//! `DEVBUILD_TEST_AUTHZ_LOG` (one `METHOD URI` line per request) and
//! `DEVBUILD_TEST_AUTHZ_RULES` (the rules file tests append `deny …` lines to); when the
//! remote contexts' servers are up, `DEVBUILD_TEST_GIT_URL` (`git://127.0.0.1:<port>/context.git`),
//! `DEVBUILD_TEST_HTTP_URL` (`http://127.0.0.1:<port>`) and `DEVBUILD_TEST_TARBALL_URL`
//! (`<http url>/context.tar.gz`).

use crate::Registry;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Where the env file is: `$DEVBUILD_TEST_ENV_FILE`, else `target/devbuild-engines/env` in
/// the workspace.
pub fn env_file_path() -> PathBuf {
    match std::env::var_os("DEVBUILD_TEST_ENV_FILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/devbuild-engines/env"),
    }
}

/// Whether a missing engine fails the test instead of skipping it: under CI (`CI` set to
/// anything but `false`/`0`/empty) or with `DEVBUILD_TEST_REQUIRE_ENGINE=1`.
pub fn must_not_skip() -> bool {
    let set =
        |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    set("CI") || set("DEVBUILD_TEST_REQUIRE_ENGINE")
}

/// One engine listed in the env file.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineEntry {
    /// `20.10` or `26.1` (`authz` for the engine behind the authorization plugin).
    pub version: String,
    /// Its socket, from `unix://<socket>`.
    pub socket: PathBuf,
    /// Its full version, e.g. `26.1.5`.
    pub engine_version: String,
    /// The API version it reported when it was started.
    pub api_version: String,
}

impl EngineEntry {
    /// Its address as `DOCKER_HOST` takes it: `unix://<socket>`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

/// The engine behind the harness's authorization plugin, as the env file names it
/// (`DEVBUILD_TEST_AUTHZ_*`).
#[derive(Clone, Debug, PartialEq)]
pub struct AuthzEntry {
    /// The engine (Docker Engine 26.1, started with `--authorization-plugin`).
    pub engine: EngineEntry,
    /// The plugin's name, as the engine's denials name it.
    pub plugin: String,
    /// The request log: one `METHOD URI` line per request the engine asked the plugin about.
    pub log: PathBuf,
    /// The rules file the plugin reads for every request (`deny METHOD PATTERN MESSAGE`).
    pub rules: PathBuf,
}

/// The remote build contexts the harness serves on 127.0.0.1 (`DEVBUILD_TEST_GIT_URL`,
/// `DEVBUILD_TEST_HTTP_URL`, `DEVBUILD_TEST_TARBALL_URL`; see `xtask/src/engine/remote.rs`
/// for what they hold).
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteEntry {
    /// The git repository, `git://127.0.0.1:<port>/context.git`: `master` and the tag `v1`.
    pub git_url: String,
    /// The HTTP server, `http://127.0.0.1:<port>`: `context.tar.gz`, `context.tar`,
    /// `Dockerfile`, and `/redirect/<path>` (a `302` to `/<path>`).
    pub http_url: String,
    /// The gzip-compressed tarball, `<http_url>/context.tar.gz`.
    pub tarball_url: String,
}

/// Everything in the env file.
#[derive(Clone, Debug, PartialEq)]
pub struct TestEnv {
    /// The engines that were up (every docker-backed test runs on each).
    pub engines: Vec<EngineEntry>,
    /// The authz engine, when it was up.
    pub authz: Option<AuthzEntry>,
    /// The registry and its credentials.
    pub registry: Registry,
    /// The directory whose `config.json` holds the registry credentials.
    pub docker_config: PathBuf,
    /// The base image, present in every engine.
    pub base_image: String,
    /// The private image, only in the registry.
    pub private_image: String,
    /// The remote build contexts, when their servers were up.
    pub remote: Option<RemoteEntry>,
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

/// Undoes [`shell_quote`].
fn shell_unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => value.to_string(),
    }
}

impl TestEnv {
    /// The env file's text, as `cargo xtask engine up` writes it.
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
            line(&format!("DEVBUILD_TEST_ENGINE_{key}_HOST"), &e.host());
            line(
                &format!("DEVBUILD_TEST_ENGINE_{key}_VERSION"),
                &e.engine_version,
            );
            line(
                &format!("DEVBUILD_TEST_ENGINE_{key}_API_VERSION"),
                &e.api_version,
            );
        }
        line("DEVBUILD_TEST_REGISTRY", &self.registry.address);
        line("DEVBUILD_TEST_REGISTRY_USERNAME", &self.registry.username);
        line("DEVBUILD_TEST_REGISTRY_PASSWORD", &self.registry.password);
        line("DOCKER_CONFIG", &self.docker_config.to_string_lossy());
        line("DEVBUILD_TEST_BASE", &self.base_image);
        line("DEVBUILD_TEST_PRIVATE_IMAGE", &self.private_image);
        if let Some(authz) = &self.authz {
            line("DEVBUILD_TEST_AUTHZ_HOST", &authz.engine.host());
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

    /// Parses an env file's text.
    pub fn parse(text: &str) -> Result<TestEnv, String> {
        let vars: HashMap<&str, String> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), shell_unquote(v.trim())))
            .collect();
        let get = |key: &str| {
            vars.get(key)
                .cloned()
                .ok_or_else(|| format!("the env file has no {key}"))
        };
        let mut engines = Vec::new();
        for version in get("DEVBUILD_TEST_ENGINES")?
            .split(',')
            .filter(|v| !v.is_empty())
        {
            let key = version.replace('.', "_");
            let host = get(&format!("DEVBUILD_TEST_ENGINE_{key}_HOST"))?;
            let socket = host
                .strip_prefix("unix://")
                .ok_or_else(|| format!("engine {version}: {host} is not a unix socket"))?;
            engines.push(EngineEntry {
                version: version.to_string(),
                socket: PathBuf::from(socket),
                engine_version: get(&format!("DEVBUILD_TEST_ENGINE_{key}_VERSION"))?,
                api_version: get(&format!("DEVBUILD_TEST_ENGINE_{key}_API_VERSION"))?,
            });
        }
        let authz = match vars.contains_key("DEVBUILD_TEST_AUTHZ_HOST") {
            false => None,
            true => {
                let host = get("DEVBUILD_TEST_AUTHZ_HOST")?;
                let socket = host
                    .strip_prefix("unix://")
                    .ok_or_else(|| format!("the authz engine: {host} is not a unix socket"))?;
                Some(AuthzEntry {
                    engine: EngineEntry {
                        version: "authz".to_string(),
                        socket: PathBuf::from(socket),
                        engine_version: get("DEVBUILD_TEST_AUTHZ_VERSION")?,
                        api_version: get("DEVBUILD_TEST_AUTHZ_API_VERSION")?,
                    },
                    plugin: get("DEVBUILD_TEST_AUTHZ_PLUGIN")?,
                    log: PathBuf::from(get("DEVBUILD_TEST_AUTHZ_LOG")?),
                    rules: PathBuf::from(get("DEVBUILD_TEST_AUTHZ_RULES")?),
                })
            }
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
            registry: Registry {
                address: get("DEVBUILD_TEST_REGISTRY")?,
                username: get("DEVBUILD_TEST_REGISTRY_USERNAME")?,
                password: get("DEVBUILD_TEST_REGISTRY_PASSWORD")?,
            },
            docker_config: PathBuf::from(get("DOCKER_CONFIG")?),
            base_image: get("DEVBUILD_TEST_BASE")?,
            private_image: get("DEVBUILD_TEST_PRIVATE_IMAGE")?,
        })
    }

    /// The env file, read once per process.
    pub fn load() -> Result<&'static TestEnv, String> {
        static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();
        ENV.get_or_init(|| {
            let path = env_file_path();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            TestEnv::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// The remote build contexts, or `None` after one loud `SKIPPED` line when the env file
    /// has none (a panic under CI, like a missing engine).
    pub fn remote_or_skip() -> Option<&'static RemoteEntry> {
        let why = match TestEnv::load() {
            Ok(env) => match &env.remote {
                Some(remote) => return Some(remote),
                None => format!("{} has no DEVBUILD_TEST_GIT_URL", env_file_path().display()),
            },
            Err(e) => e,
        };
        let message =
            format!("no remote build contexts: {why}; run `cargo xtask engine up` to get them");
        if must_not_skip() {
            panic!("{message} (docker-backed tests never skip in CI)");
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED ({message})");
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# comment
DEVBUILD_TEST_ENGINES=20.10,26.1
DEVBUILD_TEST_ENGINE_20_10_HOST=unix:///t/engine-20.10/docker.sock
DEVBUILD_TEST_ENGINE_20_10_VERSION=20.10.24
DEVBUILD_TEST_ENGINE_20_10_API_VERSION=1.41
DEVBUILD_TEST_ENGINE_26_1_HOST=unix:///t/engine-26.1/docker.sock
DEVBUILD_TEST_ENGINE_26_1_VERSION=26.1.5
DEVBUILD_TEST_ENGINE_26_1_API_VERSION=1.45
DEVBUILD_TEST_REGISTRY=127.0.0.1:40000
DEVBUILD_TEST_REGISTRY_USERNAME=devbuild
DEVBUILD_TEST_REGISTRY_PASSWORD='devbuild-~~~?'
DOCKER_CONFIG=/t/docker-config
DEVBUILD_TEST_BASE=devbuild-test/busybox:1
DEVBUILD_TEST_PRIVATE_IMAGE=127.0.0.1:40000/devbuild-test/private:1
";

    #[test]
    fn parses_the_env_file_xtask_writes() {
        let env = TestEnv::parse(SAMPLE).unwrap();
        assert_eq!(env.engines.len(), 2);
        assert_eq!(
            env.engines[1].socket,
            PathBuf::from("/t/engine-26.1/docker.sock")
        );
        assert_eq!(env.engines[1].api_version, "1.45");
        assert_eq!(env.registry.password, "devbuild-~~~?");
        assert_eq!(env.private_image, "127.0.0.1:40000/devbuild-test/private:1");
        assert_eq!(env.authz, None);
        assert_eq!(env.remote, None);
    }

    #[test]
    fn parses_the_remote_contexts_when_they_are_up() {
        let text = format!(
            "{SAMPLE}DEVBUILD_TEST_GIT_URL=git://127.0.0.1:40001/context.git
DEVBUILD_TEST_HTTP_URL=http://127.0.0.1:40002
DEVBUILD_TEST_TARBALL_URL=http://127.0.0.1:40002/context.tar.gz
"
        );
        let remote = TestEnv::parse(&text).unwrap().remote.unwrap();
        assert_eq!(remote.git_url, "git://127.0.0.1:40001/context.git");
        assert_eq!(remote.http_url, "http://127.0.0.1:40002");
        assert_eq!(remote.tarball_url, "http://127.0.0.1:40002/context.tar.gz");
        let partial = text.replace("DEVBUILD_TEST_HTTP_URL=http://127.0.0.1:40002\n", "");
        assert_eq!(
            TestEnv::parse(&partial).unwrap_err(),
            "the env file has no DEVBUILD_TEST_HTTP_URL"
        );
    }

    #[test]
    fn parses_the_authz_engine_when_it_is_up() {
        let text = format!(
            "{SAMPLE}DEVBUILD_TEST_AUTHZ_HOST=unix:///t/engine-authz/docker.sock
DEVBUILD_TEST_AUTHZ_VERSION=26.1.5
DEVBUILD_TEST_AUTHZ_API_VERSION=1.45
DEVBUILD_TEST_AUTHZ_PLUGIN=devbuild-authz-1a2b
DEVBUILD_TEST_AUTHZ_LOG=/t/authz-plugin/requests.log
DEVBUILD_TEST_AUTHZ_RULES=/t/authz-plugin/rules
"
        );
        let authz = TestEnv::parse(&text).unwrap().authz.unwrap();
        assert_eq!(
            authz.engine.socket,
            PathBuf::from("/t/engine-authz/docker.sock")
        );
        assert_eq!(authz.engine.version, "authz");
        assert_eq!(authz.plugin, "devbuild-authz-1a2b");
        assert_eq!(authz.log, PathBuf::from("/t/authz-plugin/requests.log"));
        assert_eq!(authz.rules, PathBuf::from("/t/authz-plugin/rules"));
        let partial = text.replace("DEVBUILD_TEST_AUTHZ_RULES=/t/authz-plugin/rules\n", "");
        assert_eq!(
            TestEnv::parse(&partial).unwrap_err(),
            "the env file has no DEVBUILD_TEST_AUTHZ_RULES"
        );
    }

    #[test]
    fn names_what_is_missing() {
        let text = SAMPLE.replace("DEVBUILD_TEST_BASE=devbuild-test/busybox:1\n", "");
        assert_eq!(
            TestEnv::parse(&text).unwrap_err(),
            "the env file has no DEVBUILD_TEST_BASE"
        );
    }

    /// Everything the env file can hold, with a password that needs quoting, as
    /// [`TestEnv::render`] writes it (xtask's tests read it too).
    const FULL: &str = include_str!("../data/env-sample");

    #[test]
    fn env_file_round_trips() {
        let env = TestEnv::parse(FULL).unwrap();
        assert_eq!(env.render(), FULL);
        assert_eq!(env.registry.password, "devbuild-~~~?");
        assert_eq!(
            env.engines[1].host(),
            "unix:///w/target/devbuild-engines/engine-26.1/docker.sock"
        );
        assert_eq!(
            env.authz.as_ref().unwrap().log,
            PathBuf::from("/w/target/devbuild-engines/authz-plugin/requests.log")
        );
        assert_eq!(
            env.remote.as_ref().unwrap().git_url,
            "git://127.0.0.1:40001/context.git"
        );
        let without = TestEnv {
            authz: None,
            remote: None,
            ..env
        };
        let text = without.render();
        assert!(!text.contains("AUTHZ"), "{text}");
        assert!(!text.contains("_URL"), "{text}");
        assert_eq!(TestEnv::parse(&text).unwrap(), without);
    }

    #[test]
    fn shell_quoting_round_trips() {
        for value in ["plain/path:1", "with space", "it's", "a?b", ""] {
            assert_eq!(shell_unquote(&shell_quote(value)), value);
        }
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
