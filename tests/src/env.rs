//! The env file `cargo xtask engine up` writes, and its one definition: xtask writes it with
//! [`TestEnv::render`] and reads it back with [`TestEnv::parse`] (`engine env`, the bench,
//! the demo), as the tests do, so that writer and readers cannot drift apart.
//!
//! Format: `KEY=VALUE` lines, values quoted for a POSIX shell only when needed (`'…'`),
//! `#` comments. Keys: `DEVBUILD_TEST_ENGINES` (comma-separated versions that are up),
//! per engine `DEVBUILD_TEST_ENGINE_<20_10|26_1>_{HOST,VERSION,API_VERSION,DOCKERD_LOG}`,
//! `DEVBUILD_TEST_REGISTRY` (`127.0.0.1:<port>`), `DEVBUILD_TEST_REGISTRY_USERNAME`,
//! `DEVBUILD_TEST_REGISTRY_PASSWORD`, `DOCKER_CONFIG`, `DEVBUILD_TEST_BASE`,
//! `DEVBUILD_TEST_PRIVATE_IMAGE`; when the authz engine is up,
//! `DEVBUILD_TEST_AUTHZ_{HOST,VERSION,API_VERSION,DOCKERD_LOG}` (the engine),
//! `DEVBUILD_TEST_AUTHZ_PLUGIN` (the plugin's name, as in the engine's denials),
//! `DEVBUILD_TEST_AUTHZ_LOG` (one `METHOD URI` line per request) and
//! `DEVBUILD_TEST_AUTHZ_RULES` (the rules file tests append `deny …` lines to); when the
//! remote contexts' servers are up, `DEVBUILD_TEST_GIT_URL` (`git://127.0.0.1:<port>/context.git`),
//! `DEVBUILD_TEST_HTTP_URL` (`http://127.0.0.1:<port>`) and `DEVBUILD_TEST_TARBALL_URL`
//! (`<http url>/context.tar.gz`); when Engine 26.1 serves tcp+TLS, `DEVBUILD_TEST_TLS_HOST`,
//! `DEVBUILD_TEST_TLS_CERT_PATH`, `DEVBUILD_TEST_TLS_WRONG_CA_PATH` and
//! `DEVBUILD_TEST_TLS_EXPIRED_CERT_PATH` ([`TlsEntry`]); when it serves ssh,
//! `DEVBUILD_TEST_SSH_HOST`, `DEVBUILD_TEST_SSH_CONFIG`, `DEVBUILD_TEST_SSH_BIN`,
//! `DEVBUILD_TEST_SSH_KNOWN_HOSTS`, `DEVBUILD_TEST_SSH_KEY`, `DEVBUILD_TEST_SSH_COMMAND_LOG`,
//! `DEVBUILD_TEST_SSH_BAD_KNOWN_HOSTS`, `DEVBUILD_TEST_SSH_BAD_CONFIG` and
//! `DEVBUILD_TEST_SSH_BAD_BIN` ([`SshEntry`]).

use crate::Registry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    /// dockerd's log file (its stdout and stderr, at the default level), for tests that
    /// check what the engine did or did not write.
    pub log: PathBuf,
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

/// Engine 26.1 over tcp+TLS (`DEVBUILD_TEST_TLS_*`; see `xtask/src/engine/tls.rs`): the same
/// engine as [`TestEnv::engines`]' 26.1, on a second listener started with `--tlsverify`.
///
/// Each `*_PATH` is a directory as the docker CLI's `DOCKER_CERT_PATH` wants it: `ca.pem`
/// (the CA the client trusts), `cert.pem` and `key.pem` (the client's certificate and key).
#[derive(Clone, Debug, PartialEq)]
pub struct TlsEntry {
    /// `tcp://127.0.0.1:<port>`. The server's certificate names `IP:127.0.0.1` only, so
    /// `tcp://localhost:<port>` fails the host name check.
    pub host: String,
    /// The good client: the engine's CA, a client certificate it signed (clientAuth), its key.
    pub cert_path: PathBuf,
    /// The same client certificate and key, but the `ca.pem` of another, unrelated CA: the
    /// client cannot verify the server (`certificate signed by unknown authority`).
    pub wrong_ca_path: PathBuf,
    /// The engine's CA and a client certificate it signed that expired in 2020: the engine
    /// refuses the handshake.
    pub expired_cert_path: PathBuf,
}

/// Engine 26.1 over ssh (`DEVBUILD_TEST_SSH_*`; see `xtask/src/engine/ssh.rs`): Debian's
/// sshd on 127.0.0.1, whose one authorized key is forced to run `docker system dial-stdio`
/// against the 26.1 engine's socket, whatever command the client asks for.
///
/// A client that runs plain `ssh` (the docker CLI, devbuild) uses the harness's client
/// configuration when [`SshEntry::bin`] comes first in its `PATH`.
#[derive(Clone, Debug, PartialEq)]
pub struct SshEntry {
    /// `ssh://root@127.0.0.1:<port>`.
    pub host: String,
    /// The ssh client configuration (`ssh -F`): a `Host 127.0.0.1` entry with the port, the
    /// user, the key ([`SshEntry::key`], `IdentitiesOnly yes`), the known hosts file
    /// ([`SshEntry::known_hosts`], `StrictHostKeyChecking yes`) and `BatchMode yes`.
    pub config: PathBuf,
    /// A directory holding an executable `ssh` that runs the system ssh with `-F <config>`
    /// and its own arguments: put it first in `PATH`.
    pub bin: PathBuf,
    /// The known hosts file: the server's host key as `[127.0.0.1]:<port> ssh-ed25519 …`.
    pub known_hosts: PathBuf,
    /// The client's private key (ed25519, no passphrase).
    pub key: PathBuf,
    /// One line per session: the command the client asked for (`$SSH_ORIGINAL_COMMAND`,
    /// e.g. `docker system dial-stdio`), which the forced command logs and then ignores.
    pub command_log: PathBuf,
    /// A known hosts file with a wrong host key for `[127.0.0.1]:<port>`.
    pub bad_known_hosts: PathBuf,
    /// [`SshEntry::config`] with [`SshEntry::bad_known_hosts`]: ssh refuses the host key.
    pub bad_config: PathBuf,
    /// Like [`SshEntry::bin`], with [`SshEntry::bad_config`].
    pub bad_bin: PathBuf,
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
    /// Engine 26.1 over tcp+TLS, when it was up.
    pub tls: Option<TlsEntry>,
    /// Engine 26.1 over ssh, when its sshd was up.
    pub ssh: Option<SshEntry>,
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
            line(
                &format!("DEVBUILD_TEST_ENGINE_{key}_DOCKERD_LOG"),
                &e.log.to_string_lossy(),
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
            line(
                "DEVBUILD_TEST_AUTHZ_DOCKERD_LOG",
                &authz.engine.log.to_string_lossy(),
            );
            line("DEVBUILD_TEST_AUTHZ_PLUGIN", &authz.plugin);
            line("DEVBUILD_TEST_AUTHZ_LOG", &authz.log.to_string_lossy());
            line("DEVBUILD_TEST_AUTHZ_RULES", &authz.rules.to_string_lossy());
        }
        if let Some(remote) = &self.remote {
            line("DEVBUILD_TEST_GIT_URL", &remote.git_url);
            line("DEVBUILD_TEST_HTTP_URL", &remote.http_url);
            line("DEVBUILD_TEST_TARBALL_URL", &remote.tarball_url);
        }
        if let Some(tls) = &self.tls {
            line("DEVBUILD_TEST_TLS_HOST", &tls.host);
            line(
                "DEVBUILD_TEST_TLS_CERT_PATH",
                &tls.cert_path.to_string_lossy(),
            );
            line(
                "DEVBUILD_TEST_TLS_WRONG_CA_PATH",
                &tls.wrong_ca_path.to_string_lossy(),
            );
            line(
                "DEVBUILD_TEST_TLS_EXPIRED_CERT_PATH",
                &tls.expired_cert_path.to_string_lossy(),
            );
        }
        if let Some(ssh) = &self.ssh {
            line("DEVBUILD_TEST_SSH_HOST", &ssh.host);
            let paths = [
                ("DEVBUILD_TEST_SSH_CONFIG", &ssh.config),
                ("DEVBUILD_TEST_SSH_BIN", &ssh.bin),
                ("DEVBUILD_TEST_SSH_KNOWN_HOSTS", &ssh.known_hosts),
                ("DEVBUILD_TEST_SSH_KEY", &ssh.key),
                ("DEVBUILD_TEST_SSH_COMMAND_LOG", &ssh.command_log),
                ("DEVBUILD_TEST_SSH_BAD_KNOWN_HOSTS", &ssh.bad_known_hosts),
                ("DEVBUILD_TEST_SSH_BAD_CONFIG", &ssh.bad_config),
                ("DEVBUILD_TEST_SSH_BAD_BIN", &ssh.bad_bin),
            ];
            for (key, path) in paths {
                line(key, &path.to_string_lossy());
            }
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
        // An env file from before the `*_DOCKERD_LOG` keys (engines still up from an older
        // `cargo xtask engine up`): dockerd.log next to the socket, where xtask has always
        // put it.
        let dockerd_log = |key: &str, socket: &str| match vars.get(key) {
            Some(log) => PathBuf::from(log),
            None => Path::new(socket).with_file_name("dockerd.log"),
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
                log: dockerd_log(&format!("DEVBUILD_TEST_ENGINE_{key}_DOCKERD_LOG"), socket),
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
                        log: dockerd_log("DEVBUILD_TEST_AUTHZ_DOCKERD_LOG", socket),
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
        let path = |key: &str| get(key).map(PathBuf::from);
        let tls = match vars.contains_key("DEVBUILD_TEST_TLS_HOST") {
            false => None,
            true => Some(TlsEntry {
                host: get("DEVBUILD_TEST_TLS_HOST")?,
                cert_path: path("DEVBUILD_TEST_TLS_CERT_PATH")?,
                wrong_ca_path: path("DEVBUILD_TEST_TLS_WRONG_CA_PATH")?,
                expired_cert_path: path("DEVBUILD_TEST_TLS_EXPIRED_CERT_PATH")?,
            }),
        };
        let ssh = match vars.contains_key("DEVBUILD_TEST_SSH_HOST") {
            false => None,
            true => Some(SshEntry {
                host: get("DEVBUILD_TEST_SSH_HOST")?,
                config: path("DEVBUILD_TEST_SSH_CONFIG")?,
                bin: path("DEVBUILD_TEST_SSH_BIN")?,
                known_hosts: path("DEVBUILD_TEST_SSH_KNOWN_HOSTS")?,
                key: path("DEVBUILD_TEST_SSH_KEY")?,
                command_log: path("DEVBUILD_TEST_SSH_COMMAND_LOG")?,
                bad_known_hosts: path("DEVBUILD_TEST_SSH_BAD_KNOWN_HOSTS")?,
                bad_config: path("DEVBUILD_TEST_SSH_BAD_CONFIG")?,
                bad_bin: path("DEVBUILD_TEST_SSH_BAD_BIN")?,
            }),
        };
        Ok(TestEnv {
            engines,
            authz,
            remote,
            tls,
            ssh,
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
        TestEnv::part_or_skip(
            |env| env.remote.as_ref(),
            "DEVBUILD_TEST_GIT_URL",
            "remote build contexts",
        )
    }

    /// Engine 26.1 over tcp+TLS, or `None` after one loud `SKIPPED` line when the env file
    /// has none (a panic under CI, like a missing engine).
    pub fn tls_or_skip() -> Option<&'static TlsEntry> {
        TestEnv::part_or_skip(
            |env| env.tls.as_ref(),
            "DEVBUILD_TEST_TLS_HOST",
            "Engine 26.1 over tcp+TLS",
        )
    }

    /// Engine 26.1 over ssh, or `None` after one loud `SKIPPED` line when the env file has
    /// none (a panic under CI, like a missing engine).
    pub fn ssh_or_skip() -> Option<&'static SshEntry> {
        TestEnv::part_or_skip(
            |env| env.ssh.as_ref(),
            "DEVBUILD_TEST_SSH_HOST",
            "Engine 26.1 over ssh",
        )
    }

    /// `part` of the env file, or `None` after a `SKIPPED` line naming `what` and the missing
    /// `key` (a panic under CI).
    fn part_or_skip<T>(
        part: impl FnOnce(&'static TestEnv) -> Option<&'static T>,
        key: &str,
        what: &str,
    ) -> Option<&'static T> {
        let why = match TestEnv::load() {
            Ok(env) => match part(env) {
                Some(found) => return Some(found),
                None => format!("{} has no {key}", env_file_path().display()),
            },
            Err(e) => e,
        };
        let message = format!("no {what}: {why}; run `cargo xtask engine up`");
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
DEVBUILD_TEST_ENGINE_20_10_DOCKERD_LOG=/t/logs/dockerd-20.10.log
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
        assert_eq!(
            env.engines[0].log,
            PathBuf::from("/t/logs/dockerd-20.10.log")
        );
        // Without the key (an env file from an older xtask): next to the socket.
        assert_eq!(
            env.engines[1].log,
            PathBuf::from("/t/engine-26.1/dockerd.log")
        );
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
        assert_eq!(env.tls.as_ref().unwrap().host, "tcp://127.0.0.1:40003");
        assert_eq!(
            env.ssh.as_ref().unwrap().bad_bin,
            PathBuf::from("/w/target/devbuild-engines/ssh/bad-bin")
        );
        let without = TestEnv {
            authz: None,
            remote: None,
            tls: None,
            ssh: None,
            ..env
        };
        let text = without.render();
        assert!(!text.contains("AUTHZ"), "{text}");
        assert!(!text.contains("_URL"), "{text}");
        assert!(!text.contains("TLS"), "{text}");
        assert!(!text.contains("SSH"), "{text}");
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
