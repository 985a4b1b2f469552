//! The env file `cargo xtask engine up` writes: `KEY=VALUE` lines, values quoted for a
//! POSIX shell (`'…'`) only when needed, `#` comments. See `xtask/src/engine.rs`.

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
    /// `20.10` or `26.1`.
    pub version: String,
    /// Its socket, from `unix://<socket>`.
    pub socket: PathBuf,
    /// Its full version, e.g. `26.1.5`.
    pub engine_version: String,
    /// The API version it reported when it was started.
    pub api_version: String,
}

/// Everything in the env file.
#[derive(Clone, Debug, PartialEq)]
pub struct TestEnv {
    /// The engines that were up.
    pub engines: Vec<EngineEntry>,
    /// The registry and its credentials.
    pub registry: Registry,
    /// The directory whose `config.json` holds the registry credentials.
    pub docker_config: PathBuf,
    /// The base image, present in every engine.
    pub base_image: String,
    /// The private image, only in the registry.
    pub private_image: String,
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => value.to_string(),
    }
}

impl TestEnv {
    /// Parses an env file's text.
    pub fn parse(text: &str) -> Result<TestEnv, String> {
        let vars: HashMap<&str, String> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), unquote(v.trim())))
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
        Ok(TestEnv {
            engines,
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
    }

    #[test]
    fn names_what_is_missing() {
        let text = SAMPLE.replace("DEVBUILD_TEST_BASE=devbuild-test/busybox:1\n", "");
        assert_eq!(
            TestEnv::parse(&text).unwrap_err(),
            "the env file has no DEVBUILD_TEST_BASE"
        );
    }
}
