//! Credentials: data-driven `config.json` fixtures (`tests/data/credentials/`), a real
//! credential helper program, and the `X-Registry-Auth` encoding.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use engine_client::credentials::{
    auth_config_key, config_dir, convert_to_hostname, registry_of, AuthSource, DockerConfig, Login,
    RegistryAuth, Secret,
};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/credentials")
}

/// A credential helper, `docker-credential-test`, written as a shell script into a
/// fresh directory. It records what it read on standard input in `last-input`.
fn helper_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"#!/bin/sh
dir=$(dirname "$0")
[ "$1" = get ] || { echo "unexpected action $1"; exit 1; }
cat > "$dir/last-input"
server=$(cat "$dir/last-input")
case "$server" in
registry.example:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper+pass/word"}\n' "$server" ;;
https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hub-helper","Secret":"hub-secret"}' "$server" ;;
token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"helper-token"}' "$server" ;;
broken.example) echo "keychain locked"; exit 1 ;;
garbage.example) echo "not json at all, secret-looking-output" ;;
*) echo "credentials not found in native keychain"; exit 1 ;;
esac
"#;
    let path = dir.path().join("docker-credential-test");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn search_path(helpers: &Path) -> String {
    format!("{}:/usr/bin:/bin", helpers.display())
}

#[test]
fn config_fixtures() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(data_dir().join("cases.json")).unwrap())
            .unwrap();
    let helpers = helper_dir();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["config"].as_str().unwrap();
        let registry = case["registry"].as_str().unwrap();
        let label = format!("{name} / {registry}");
        let config = DockerConfig::load(&data_dir().join(name))
            .unwrap()
            .with_helper_path(search_path(helpers.path()));
        let result = config.credentials_for(registry);
        if let Some(expected) = case.get("error") {
            match result {
                Err(e) if e.to_string().contains(expected.as_str().unwrap()) => {}
                other => {
                    failures.push(format!("{label}: expected error {expected}, got {other:?}"))
                }
            }
            continue;
        }
        let auth = match result {
            Ok(auth) => auth,
            Err(e) => {
                failures.push(format!("{label}: unexpected error {e}"));
                continue;
            }
        };
        let expected = &case["expect"];
        if let Err(message) = check(auth.as_ref(), expected) {
            failures.push(format!("{label}: {message}"));
        }
        if let Some(input) = case.get("helper_input") {
            let read = std::fs::read_to_string(helpers.path().join("last-input")).unwrap();
            if read != input.as_str().unwrap() {
                failures.push(format!("{label}: helper read {read:?} on stdin"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check(auth: Option<&RegistryAuth>, expected: &Value) -> Result<(), String> {
    let Some(auth) = auth else {
        return if expected.is_null() {
            Ok(())
        } else {
            Err(format!("expected {expected}, got none"))
        };
    };
    if expected.is_null() {
        return Err(format!("expected none, got {auth:?}"));
    }
    match (&auth.login, expected.get("identity_token")) {
        (Login::IdentityToken(token), Some(want)) if token.expose() == want => {}
        (Login::Password { username, password }, None)
            if username == &expected["username"] && password.expose() == expected["password"] => {}
        _ => return Err(format!("expected {expected}, got {auth:?}")),
    }
    if let Some(server) = expected.get("server") {
        if auth.server_address != server.as_str().unwrap() {
            return Err(format!("server address {}", auth.server_address));
        }
    }
    if let Some(source) = expected.get("source") {
        if auth.source.to_string() != source.as_str().unwrap() {
            return Err(format!("source {}", auth.source));
        }
    }
    Ok(())
}

#[test]
fn malformed_auth_is_an_error_naming_the_key_and_not_the_secret() {
    let err = DockerConfig::load(&data_dir().join("bad-auth")).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("\"bad.example\""), "{message}");
    assert!(
        message.contains("not of the form user:password"),
        "{message}"
    );
    assert!(!message.contains("no-colon"), "{message}");
}

#[test]
fn invalid_json_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{ \"auths\": ").unwrap();
    let message = DockerConfig::load(dir.path()).unwrap_err().to_string();
    assert!(message.contains("config.json"), "{message}");
}

#[test]
fn missing_and_empty_files_are_empty_configs() {
    let dir = tempfile::tempdir().unwrap();
    let config = DockerConfig::load(dir.path()).unwrap();
    assert_eq!(config.credentials_for("docker.io").unwrap(), None);
    let config = DockerConfig::load(&data_dir().join("empty")).unwrap();
    assert_eq!(config.credentials_for("docker.io").unwrap(), None);
    assert_eq!(config.current_context(), None);
}

#[test]
fn current_context_is_read() {
    let config = DockerConfig::load(&data_dir().join("username-password")).unwrap();
    assert_eq!(config.current_context(), Some("remote"));
}

#[test]
fn config_dir_follows_docker_config_then_home() {
    let home = Path::new("/home/me");
    assert_eq!(
        config_dir(Some("/etc/dc"), Some(home)),
        Some(PathBuf::from("/etc/dc"))
    );
    assert_eq!(
        config_dir(Some(""), Some(home)),
        Some(PathBuf::from("/home/me/.docker"))
    );
    assert_eq!(
        config_dir(None, Some(home)),
        Some(PathBuf::from("/home/me/.docker"))
    );
    assert_eq!(config_dir(None, None), None);
}

#[test]
fn docker_auth_config_takes_precedence_over_file_and_helpers() {
    let helpers = helper_dir();
    let config = DockerConfig::load(&data_dir().join("helpers"))
        .unwrap()
        .with_helper_path(search_path(helpers.path()))
        .with_auth_config_env(r#"{"auths":{"registry.example:5000":{"auth":"ZW52OmVudi1wYXNz"}}}"#)
        .unwrap();
    let auth = config
        .credentials_for("registry.example:5000")
        .unwrap()
        .unwrap();
    assert_eq!(
        auth.login,
        Login::Password {
            username: "env".into(),
            password: Secret::new("env-pass")
        }
    );
    assert_eq!(
        auth.source,
        AuthSource::Environment {
            key: "registry.example:5000".into()
        }
    );
    // Registries it does not name still go to the helper.
    let auth = config.credentials_for("docker.io").unwrap().unwrap();
    assert_eq!(
        auth.source.to_string(),
        "credential helper docker-credential-test"
    );

    let err = DockerConfig::empty()
        .with_auth_config_env(r#"{"auths":{"x.example":{"username":"u"}}}"#)
        .unwrap_err();
    assert!(err.to_string().contains("unknown field") || err.to_string().contains("auth"));
    let err = DockerConfig::empty()
        .with_auth_config_env(r#"{"auths":{"x.example":{}}}"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("missing key `auth` for x.example"),
        "{err}"
    );
}

#[test]
fn key_normalisation_matches_the_docker_cli() {
    for (input, key) in [
        ("docker.io", "https://index.docker.io/v1/"),
        ("index.docker.io", "https://index.docker.io/v1/"),
        ("https://index.docker.io/v1/", "https://index.docker.io/v1/"),
        ("registry-1.docker.io", "registry-1.docker.io"),
        ("localhost:5000", "localhost:5000"),
        ("https://localhost:5000/v2/", "localhost:5000"),
        ("http://registry.example", "registry.example"),
        ("registry.example/v1/", "registry.example"),
        ("[::1]:5000", "[::1]:5000"),
    ] {
        assert_eq!(auth_config_key(input), key, "{input}");
    }
    assert_eq!(
        convert_to_hostname("https://user@host.example:443/x"),
        "host.example:443"
    );
}

#[test]
fn registry_of_follows_the_reference_grammar() {
    for (reference, registry) in [
        ("alpine", "docker.io"),
        ("library/alpine:3", "docker.io"),
        ("docker.io/library/alpine", "docker.io"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app:1", "localhost:5000"),
        ("127.0.0.1:5000/a/b@sha256:0123", "127.0.0.1:5000"),
        ("Registry/app", "Registry"),
        ("team/app", "docker.io"),
        // Docker Hub's legacy name is Docker Hub, looked up under the same key.
        ("index.docker.io/team/app", "docker.io"),
        // The grammar's corner without a domain: the first component, as the engine reads it.
        ("foo_bar.com/app", "foo_bar.com"),
    ] {
        assert_eq!(registry_of(reference), registry, "{reference}");
    }
    assert_eq!(
        auth_config_key(&registry_of("index.docker.io/team/app")),
        auth_config_key("index.docker.io")
    );
}

/// Pitfall: bollard 0.21 encodes `X-Registry-Auth` with standard base64; the engine
/// decodes URL-safe base64, so a password whose encoding has `+` or `/` was dropped.
#[test]
fn registry_auth_header_is_url_safe_base64() {
    let password = "a?>?~~~??";
    let auth = RegistryAuth {
        server_address: "registry.example:5000".into(),
        login: Login::Password {
            username: "user".into(),
            password: Secret::new(password),
        },
        source: AuthSource::ConfigFile {
            key: "registry.example:5000".into(),
        },
    };
    let json = format!(
        r#"{{"username":"user","password":"{password}","serveraddress":"registry.example:5000"}}"#
    );
    let standard = STANDARD.encode(&json);
    assert!(
        standard.contains('+') && standard.contains('/'),
        "the fixture must exercise both characters: {standard}"
    );
    let header = auth.header_value();
    let value = header.expose();
    assert!(!value.contains('+') && !value.contains('/'), "{value}");
    assert_eq!(value, URL_SAFE.encode(&json));
    let decoded: Value = serde_json::from_slice(&URL_SAFE.decode(value).unwrap()).unwrap();
    assert_eq!(decoded["password"], password);
    assert_eq!(format!("{header:?} {header}"), "*** ***");
}

#[test]
fn identity_token_header_carries_only_the_token() {
    let auth = RegistryAuth {
        server_address: "token.example".into(),
        login: Login::IdentityToken(Secret::new("tok")),
        source: AuthSource::Helper {
            program: "docker-credential-test".into(),
        },
    };
    let decoded: Value =
        serde_json::from_slice(&URL_SAFE.decode(auth.header_value().expose()).unwrap()).unwrap();
    assert_eq!(
        decoded,
        serde_json::json!({"identitytoken": "tok", "serveraddress": "token.example"})
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let helpers = helper_dir();
    let config = DockerConfig::load(&data_dir().join("hub-auth")).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("aHViLXVzZXI6aHViLXBhc3M="), "{debug}");
    assert!(!debug.contains("hub-pass"), "{debug}");

    let config = DockerConfig::load(&data_dir().join("helpers"))
        .unwrap()
        .with_helper_path(search_path(helpers.path()));
    let auth = config
        .credentials_for("registry.example:5000")
        .unwrap()
        .unwrap();
    let shown = format!("{auth:?} {}", auth.source);
    assert!(!shown.contains("helper+pass/word"), "{shown}");
    assert!(shown.contains("***"), "{shown}");

    let token = config.credentials_for("token.example").unwrap().unwrap();
    assert!(!format!("{token:?}").contains("helper-token"));

    let err = config.credentials_for("garbage.example").unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret-looking-output"));
}
