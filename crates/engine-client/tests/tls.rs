//! The TLS material of a `tcp://` engine (`DOCKER_TLS_VERIFY` with `DOCKER_CERT_PATH`, or a
//! docker context's `tls/` files) is checked before any connection: a missing or unreadable
//! `ca.pem`, `cert.pem` or `key.pem` is an error naming the file and the OS's reason, an
//! invalid one says which file and why. No engine is needed: the address is
//! `tcp://127.0.0.1:1`, where nothing listens, so valid files end in "connection refused".
//! The material is in `tests/data/tls` (see its README).

#![cfg(feature = "tls")]

use std::path::Path;

use engine_client::endpoint::{context_id, resolve, EndpointEnv};
use engine_client::engine::{ConnectOptions, Engine};

const HOST: &str = "tcp://127.0.0.1:1";

const DOCKER_HOST_HINT: &str = "DOCKER_CERT_PATH (else the docker configuration directory) must \
                                hold the engine's CA as ca.pem and the client's cert.pem and key.pem";

fn material(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A certificate directory holding valid `ca.pem`, `cert.pem` and `key.pem`.
fn cert_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::write(dir.path().join(name), material(name)).unwrap();
    }
    dir
}

/// What connecting with `DOCKER_HOST`, `DOCKER_TLS_VERIFY=1` and `DOCKER_CERT_PATH=dir`
/// says.
async fn connect_with(dir: &Path) -> String {
    let env = EndpointEnv {
        docker_host: Some(HOST.into()),
        docker_tls_verify: Some("1".into()),
        docker_cert_path: Some(dir.to_owned()),
        config_dir: Some("/nonexistent/docker-config".into()),
        ..EndpointEnv::default()
    };
    let endpoint = resolve(&env).unwrap();
    Engine::connect(endpoint, &ConnectOptions::default())
        .await
        .unwrap_err()
        .to_string()
}

fn tls_error(role: &str, file: &Path, problem: &str) -> String {
    format!(
        "cannot use the Docker Engine at {HOST} (set by DOCKER_HOST): the TLS {role} {} {problem}; \
         {DOCKER_HOST_HINT}",
        file.display()
    )
}

#[tokio::test]
async fn valid_material_gets_as_far_as_the_connection() {
    let dir = cert_dir();
    assert_eq!(
        connect_with(dir.path()).await,
        format!(
            "cannot reach the Docker Engine at {HOST} (set by DOCKER_HOST): connection refused; \
             check that the engine runs there, or change DOCKER_HOST"
        )
    );
}

#[tokio::test]
async fn a_missing_or_unreadable_file_is_named_with_the_reason() {
    // A certificate needs its key and the other way round; a file that is there but cannot
    // be read is an error for all three.
    for (name, role, missing_is_an_error) in [
        ("ca.pem", "CA certificate", false),
        ("cert.pem", "client certificate", true),
        ("key.pem", "client key", true),
    ] {
        let dir = cert_dir();
        let file = dir.path().join(name);
        std::fs::remove_file(&file).unwrap();
        let said = connect_with(dir.path()).await;
        if missing_is_an_error {
            let expected = tls_error(role, &file, "cannot be read: no such file or directory");
            assert_eq!(said, expected, "{name}");
        } else {
            assert!(said.contains("connection refused"), "{name}: {said}");
        }
        std::fs::create_dir(&file).unwrap();
        assert_eq!(
            connect_with(dir.path()).await,
            tls_error(role, &file, "cannot be read: is a directory"),
            "{name}"
        );
    }
}

/// As in the docker CLI, files of the certificate directory that are not there are not
/// used: without `ca.pem` the engine is verified with the system's CAs, without `cert.pem`
/// and `key.pem` no client certificate is sent. So a missing directory gets as far as the
/// connection.
#[tokio::test]
async fn absent_default_files_are_not_used() {
    let said = connect_with(Path::new("/nonexistent/certs")).await;
    assert!(said.contains("connection refused"), "{said}");
    let dir = cert_dir();
    std::fs::remove_file(dir.path().join("cert.pem")).unwrap();
    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    let said = connect_with(dir.path()).await;
    assert!(said.contains("connection refused"), "{said}");
}

#[tokio::test]
async fn an_invalid_file_says_which_and_why() {
    let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let cert = String::from_utf8(material("cert.pem")).unwrap();
    let key = String::from_utf8(material("key.pem")).unwrap();
    let other_key = String::from_utf8(material("other-key.pem")).unwrap();
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let cases: [(&str, &str, String, String); 8] = [
        (
            "ca.pem",
            "CA certificate",
            "not a certificate\n".into(),
            "is not valid: it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ),
        (
            "ca.pem",
            "CA certificate",
            not_der.into(),
            "is not valid: its certificate 1 is not an X.509 certificate".into(),
        ),
        (
            "ca.pem",
            "CA certificate",
            key.clone(),
            "is not valid: it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ),
        (
            "cert.pem",
            "client certificate",
            bad_base64.into(),
            "is not valid: its PEM is malformed".into(),
        ),
        (
            "cert.pem",
            "client certificate",
            not_der.into(),
            "is not valid: its certificate 1 is not an X.509 certificate".into(),
        ),
        (
            "key.pem",
            "client key",
            cert.clone(),
            "is not valid: it holds no PEM private key (-----BEGIN PRIVATE KEY-----, \
             RSA PRIVATE KEY or EC PRIVATE KEY)"
                .into(),
        ),
        (
            "key.pem",
            "client key",
            encrypted.into(),
            "is not valid: it is encrypted, and an encrypted key cannot be used".into(),
        ),
        (
            "key.pem",
            "client key",
            "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n".into(),
            "is not valid: it is not an RSA, ECDSA (P-256, P-384) or Ed25519 private key".into(),
        ),
    ];
    for (name, role, content, problem) in cases {
        let dir = cert_dir();
        let file = dir.path().join(name);
        std::fs::write(&file, &content).unwrap();
        let message = connect_with(dir.path()).await;
        if problem == "is not valid: its PEM is malformed" {
            // The PEM parser's own reason follows.
            let start = tls_error(role, &file, "is not valid: its PEM is malformed");
            let start = start.split("; DOCKER_CERT_PATH").next().unwrap();
            assert!(message.starts_with(start), "{name}: {message}");
            assert!(message.ends_with(DOCKER_HOST_HINT), "{name}: {message}");
        } else {
            assert_eq!(message, tls_error(role, &file, &problem), "{name}");
        }
    }

    // A key that is not the client certificate's.
    let dir = cert_dir();
    let file = dir.path().join("key.pem");
    std::fs::write(&file, other_key).unwrap();
    assert_eq!(
        connect_with(dir.path()).await,
        tls_error(
            "client key",
            &file,
            &format!(
                "is not valid: it is not the key of the client certificate {}",
                dir.path().join("cert.pem").display()
            )
        )
    );
}

/// A context's TLS files live under `contexts/tls/<id>/docker/`; one that is missing is
/// named there, with how the context was chosen.
#[tokio::test]
async fn a_contexts_missing_file_is_named_in_its_tls_directory() {
    let config = tempfile::tempdir().unwrap();
    let id = context_id("secure");
    let meta = config.path().join("contexts/meta").join(&id);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(r#"{{"Name":"secure","Endpoints":{{"docker":{{"Host":"{HOST}"}}}}}}"#),
    )
    .unwrap();
    let tls = config.path().join("contexts/tls").join(&id).join("docker");
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(tls.join("ca.pem"), material("ca.pem")).unwrap();
    std::fs::write(tls.join("key.pem"), material("key.pem")).unwrap();
    let env = EndpointEnv {
        docker_context: Some("secure".into()),
        config_dir: Some(config.path().to_owned()),
        ..EndpointEnv::default()
    };
    let err = Engine::connect(resolve(&env).unwrap(), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot use the Docker Engine at {HOST} (from docker context \"secure\", named by DOCKER_CONTEXT): \
             the TLS client certificate {} cannot be read: no such file or directory; give the context its \
             files with `docker context update --docker host=…,ca=…,cert=…,key=…`",
            tls.join("cert.pem").display()
        )
    );
}

/// bollard's TLS transport always verifies the engine: TLS without verification is a clear
/// error that says what to set.
#[tokio::test]
async fn tls_without_verification_says_what_to_set() {
    let dir = cert_dir();
    let env = EndpointEnv {
        docker_host: Some(HOST.into()),
        docker_tls: Some("1".into()),
        docker_cert_path: Some(dir.path().to_owned()),
        config_dir: Some("/nonexistent/docker-config".into()),
        ..EndpointEnv::default()
    };
    let err = Engine::connect(resolve(&env).unwrap(), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot use the Docker Engine at {HOST} (set by DOCKER_HOST): TLS without verification \
             (DOCKER_TLS without DOCKER_TLS_VERIFY, or a context's SkipTLSVerify) is not supported; \
             set DOCKER_TLS_VERIFY=1 and give the engine's CA as ca.pem"
        )
    );
}
