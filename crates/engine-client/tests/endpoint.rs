//! Endpoint resolution over fixture configuration directories
//! (`tests/data/endpoint/config`, contexts as `docker context create` writes them).

use std::path::{Path, PathBuf};

use engine_client::endpoint::{
    context_id, resolve, ContextChoice, EndpointEnv, EndpointSource, TlsFiles, DEFAULT_HOST,
};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/endpoint")
}

fn config_dir() -> PathBuf {
    data().join("config")
}

/// An environment whose configuration directory has no `currentContext`.
fn bare() -> EndpointEnv {
    EndpointEnv {
        config_dir: Some(PathBuf::from("/nonexistent/docker-config")),
        ..EndpointEnv::default()
    }
}

fn host(value: &str) -> EndpointEnv {
    EndpointEnv {
        docker_host: Some(value.into()),
        ..bare()
    }
}

#[test]
fn docker_host_addresses_are_completed_like_the_cli() {
    for (given, expected) in [
        (
            "unix:///run/user/1000/docker.sock",
            "unix:///run/user/1000/docker.sock",
        ),
        ("unix://", DEFAULT_HOST),
        ("tcp://engine.example", "tcp://engine.example:2375"),
        ("tcp://engine.example:1234", "tcp://engine.example:1234"),
        ("tcp://engine.example:1234/", "tcp://engine.example:1234"),
        ("engine.example:1234", "tcp://engine.example:1234"),
        ("tcp://:2375", "tcp://localhost:2375"),
        ("tcp://[::1]:2375", "tcp://[::1]:2375"),
        ("tcp://[::1]", "tcp://[::1]:2375"),
        (
            "ssh://builder@build.example:2222",
            "ssh://builder@build.example:2222",
        ),
        (
            "npipe:////./pipe/docker_engine",
            "npipe:////./pipe/docker_engine",
        ),
    ] {
        let endpoint = resolve(&host(given)).unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(endpoint.host, expected, "{given}");
        assert_eq!(endpoint.source, EndpointSource::DockerHost);
        assert_eq!(endpoint.tls, None);
    }
}

#[test]
fn invalid_docker_host_says_why_and_where_it_came_from() {
    for (given, reason) in [
        (
            "bogus://x",
            "use unix://, tcp://, ssh://, npipe:// or fd://",
        ),
        ("tcp://engine.example:port", "the port is not a number"),
        (
            "tcp://engine.example:2375/path",
            "a TCP address has no path",
        ),
        ("ssh://", "the address is empty"),
    ] {
        let message = resolve(&host(given)).unwrap_err().to_string();
        assert_eq!(
            message,
            format!("invalid engine address \"{given}\" (set by DOCKER_HOST): {reason}")
        );
    }
}

#[test]
fn docker_host_wins_over_contexts() {
    let env = EndpointEnv {
        docker_host: Some("unix:///tmp/x.sock".into()),
        docker_context: Some("remote".into()),
        config_dir: Some(config_dir()),
        ..EndpointEnv::default()
    };
    let endpoint = resolve(&env).unwrap();
    assert_eq!(endpoint.host, "unix:///tmp/x.sock");
    assert_eq!(endpoint.source, EndpointSource::DockerHost);
}

#[test]
fn tls_variables_use_the_cert_path() {
    let env = EndpointEnv {
        docker_host: Some("tcp://engine.example".into()),
        docker_tls_verify: Some("1".into()),
        docker_cert_path: Some(data().join("certs")),
        ..bare()
    };
    let endpoint = resolve(&env).unwrap();
    assert_eq!(endpoint.host, "tcp://engine.example:2376");
    let certs = data().join("certs");
    assert_eq!(
        endpoint.tls,
        Some(TlsFiles {
            dir: certs.clone(),
            ca: Some(certs.join("ca.pem")),
            cert: Some(certs.join("cert.pem")),
            key: Some(certs.join("key.pem")),
            verify: true,
        })
    );

    // DOCKER_TLS without verification; the certificates default to the config dir,
    // which has none here.
    let env = EndpointEnv {
        docker_host: Some("tcp://engine.example".into()),
        docker_tls: Some("1".into()),
        ..bare()
    };
    let endpoint = resolve(&env).unwrap();
    assert_eq!(
        endpoint.tls,
        Some(TlsFiles {
            dir: PathBuf::from("/nonexistent/docker-config"),
            ca: None,
            cert: None,
            key: None,
            verify: false
        })
    );

    // An empty DOCKER_TLS_VERIFY is unset; TLS never applies to a socket.
    let env = EndpointEnv {
        docker_tls_verify: Some(String::new()),
        ..host("tcp://engine.example")
    };
    assert_eq!(resolve(&env).unwrap().tls, None);
    let env = EndpointEnv {
        docker_tls_verify: Some("1".into()),
        ..host("unix:///tmp/x.sock")
    };
    assert_eq!(resolve(&env).unwrap().tls, None);
}

#[test]
fn docker_context_variable_names_a_context() {
    let env = EndpointEnv {
        docker_context: Some("remote".into()),
        config_dir: Some(config_dir()),
        ..EndpointEnv::default()
    };
    let endpoint = resolve(&env).unwrap();
    assert_eq!(endpoint.host, "tcp://engine.example:2376");
    let tls = config_dir()
        .join("contexts/tls")
        .join(context_id("remote"))
        .join("docker");
    assert_eq!(
        endpoint.tls,
        Some(TlsFiles {
            dir: tls.clone(),
            ca: Some(tls.join("ca.pem")),
            cert: Some(tls.join("cert.pem")),
            key: Some(tls.join("key.pem")),
            verify: true,
        })
    );
    assert_eq!(
        endpoint.source,
        EndpointSource::Context {
            name: "remote".into(),
            chosen_by: ContextChoice::DockerContextVariable
        }
    );
    assert_eq!(
        endpoint.source.to_string(),
        "from docker context \"remote\", named by DOCKER_CONTEXT"
    );

    for (name, host, tls) in [
        ("ssh", "ssh://builder@build.example", None),
        (
            "insecure",
            "tcp://10.0.0.5:2376",
            Some(TlsFiles {
                dir: config_dir()
                    .join("contexts/tls")
                    .join(context_id("insecure"))
                    .join("docker"),
                ca: None,
                cert: None,
                key: None,
                verify: false,
            }),
        ),
        ("default", DEFAULT_HOST, None),
    ] {
        let env = EndpointEnv {
            docker_context: Some(name.into()),
            config_dir: Some(config_dir()),
            ..EndpointEnv::default()
        };
        let endpoint = resolve(&env).unwrap();
        assert_eq!(
            (endpoint.host.as_str(), endpoint.tls),
            (host, tls),
            "{name}"
        );
    }
}

#[test]
fn current_context_in_config_json_names_a_context() {
    let env = EndpointEnv {
        config_dir: Some(config_dir()),
        ..EndpointEnv::default()
    };
    let endpoint = resolve(&env).unwrap();
    assert_eq!(endpoint.host, "unix:///run/other/docker.sock");
    assert_eq!(
        endpoint.source,
        EndpointSource::Context {
            name: "socket".into(),
            chosen_by: ContextChoice::ConfigFile(config_dir().join("config.json"))
        }
    );
}

#[test]
fn nothing_configured_is_the_default_socket() {
    let endpoint = resolve(&bare()).unwrap();
    assert_eq!(endpoint.host, DEFAULT_HOST);
    assert_eq!(endpoint.source, EndpointSource::Default);
    let endpoint = resolve(&EndpointEnv::default()).unwrap();
    assert_eq!(endpoint.host, DEFAULT_HOST);
}

#[test]
fn bad_contexts_are_clear_errors() {
    let env = |name: &str| EndpointEnv {
        docker_context: Some(name.into()),
        config_dir: Some(config_dir()),
        ..EndpointEnv::default()
    };
    let message = resolve(&env("nope")).unwrap_err().to_string();
    let meta = config_dir()
        .join("contexts/meta")
        .join(context_id("nope"))
        .join("meta.json");
    assert_eq!(
        message,
        format!(
            "docker context \"nope\" (named by DOCKER_CONTEXT) does not exist: {} not found; see `docker context ls`",
            meta.display()
        )
    );
    let message = resolve(&env("kube-only")).unwrap_err().to_string();
    assert!(message.ends_with("it has no docker endpoint"), "{message}");
    let message = resolve(&env("broken")).unwrap_err().to_string();
    assert!(
        message.starts_with("docker context \"broken\" cannot be read from"),
        "{message}"
    );
    let message = resolve(&EndpointEnv {
        docker_context: Some("remote".into()),
        ..EndpointEnv::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("neither DOCKER_CONFIG nor HOME is set"),
        "{message}"
    );
}

#[test]
fn context_ids_are_the_sha256_of_the_name() {
    assert_eq!(
        context_id("default"),
        "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
    );
}
