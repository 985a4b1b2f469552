//! The TLS material of a `tcp://` engine, checked before bollard gets it.
//!
//! bollard's rustls transport reads `ca.pem` when it is built, says only "cannot open/read
//! certificate" when it cannot, and keeps none of a `ca.pem` that holds no certificate it
//! can parse; it reads `cert.pem` and `key.pem` only during a handshake, and drops any
//! error there (the engine then refuses a client without a certificate). So each file is
//! read and checked here first, the way the TLS transport will use it, and a problem is a
//! [`TlsFileError`] that names the file and says what is wrong with it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::endpoint::TlsFiles;

/// Which of the three files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsRole {
    /// `ca.pem`: the CA the engine's certificate is verified with.
    Ca,
    /// `cert.pem`: the client's certificate.
    Cert,
    /// `key.pem`: the client's private key.
    Key,
}

impl TlsRole {
    /// The file's name in a certificate directory.
    fn file_name(self) -> &'static str {
        match self {
            TlsRole::Ca => "ca.pem",
            TlsRole::Cert => "cert.pem",
            TlsRole::Key => "key.pem",
        }
    }
}

impl fmt::Display for TlsRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsRole::Ca => "CA certificate",
            TlsRole::Cert => "client certificate",
            TlsRole::Key => "client key",
        })
    }
}

/// What is wrong with a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TlsProblem {
    /// It cannot be read; the OS's reason (`no such file or directory`).
    Unreadable(String),
    /// It was read, and cannot be used; why.
    Invalid(String),
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::Unreadable(reason) => write!(f, "cannot be read: {reason}"),
            TlsProblem::Invalid(reason) => write!(f, "is not valid: {reason}"),
        }
    }
}

/// One of the TLS files cannot be used: which, where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the TLS {role} {} {problem}", file.display())]
pub(crate) struct TlsFileError {
    pub(crate) role: TlsRole,
    pub(crate) file: PathBuf,
    pub(crate) problem: TlsProblem,
}

/// The files to use, read and checked: a CA (else the system's roots only) and a client
/// certificate with its key (else none).
#[derive(Debug)]
pub(crate) struct CheckedFiles {
    pub(crate) ca: Option<PathBuf>,
    pub(crate) client: Option<(PathBuf, PathBuf)>,
}

/// Reads `ca.pem`, `cert.pem` and `key.pem` and checks that the TLS transport can use
/// them: each holds PEM of its kind, every certificate is X.509, the key is one the
/// transport can sign with, and it belongs to the client certificate.
///
/// As in the docker CLI, a file that was not named (so it is looked for in the directory)
/// and is not there is not used: without `ca.pem` the engine is verified with the system's
/// CAs, without `cert.pem` and `key.pem` no client certificate is sent (an engine started
/// with `--tlsverify` then refuses the connection). A named file must exist, and a
/// certificate needs its key and the other way round.
pub(crate) fn check(files: &TlsFiles) -> Result<CheckedFiles, TlsFileError> {
    let path = |role: TlsRole, given: &Option<PathBuf>| match given {
        Some(path) => Some(path.clone()),
        None => Some(files.dir.join(role.file_name())).filter(|path| path.exists()),
    };
    let ca = path(TlsRole::Ca, &files.ca);
    if let Some(ca) = &ca {
        certificates(TlsRole::Ca, ca, &read(TlsRole::Ca, ca)?)?;
    }
    let (cert, key) = match (
        path(TlsRole::Cert, &files.cert),
        path(TlsRole::Key, &files.key),
    ) {
        (None, None) => return Ok(CheckedFiles { ca, client: None }),
        (cert, key) => (
            cert.unwrap_or_else(|| files.dir.join(TlsRole::Cert.file_name())),
            key.unwrap_or_else(|| files.dir.join(TlsRole::Key.file_name())),
        ),
    };
    let chain = certificates(TlsRole::Cert, &cert, &read(TlsRole::Cert, &cert)?)?;
    let key_text = read(TlsRole::Key, &key)?;
    let invalid = |reason: String| TlsFileError {
        role: TlsRole::Key,
        file: key.clone(),
        problem: TlsProblem::Invalid(reason),
    };
    let private_key = match PrivateKeyDer::from_pem_slice(&key_text) {
        Ok(private_key) => private_key,
        Err(pem::Error::NoItemsFound) if contains(&key_text, b"ENCRYPTED PRIVATE KEY-----") => {
            return Err(invalid(
                "it is encrypted, and an encrypted key cannot be used".to_owned(),
            ))
        }
        Err(pem::Error::NoItemsFound) => {
            return Err(invalid(
                "it holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or \
                 EC PRIVATE KEY)"
                    .to_owned(),
            ))
        }
        Err(e) => return Err(invalid(malformed(&e))),
    };
    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(private_key)
        .map_err(|_| {
            invalid("it is not an RSA, ECDSA (P-256, P-384) or Ed25519 private key".to_owned())
        })?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    // A key whose public half cannot be compared is left to the handshake.
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
        certified.keys_match()
    {
        return Err(invalid(format!(
            "it is not the key of the client certificate {}",
            cert.display()
        )));
    }
    Ok(CheckedFiles {
        ca,
        client: Some((cert, key)),
    })
}

/// The whole file, or why it cannot be read.
fn read(role: TlsRole, file: &Path) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(file).map_err(|e| TlsFileError {
        role,
        file: file.to_owned(),
        problem: TlsProblem::Unreadable(crate::engine::os_wording(&e)),
    })
}

/// Every certificate of a PEM file, each one parsed as X.509.
fn certificates(
    role: TlsRole,
    file: &Path,
    text: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let invalid = |reason: String| TlsFileError {
        role,
        file: file.to_owned(),
        problem: TlsProblem::Invalid(reason),
    };
    let certificates = CertificateDer::pem_slice_iter(text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(malformed(&e)))?;
    if certificates.is_empty() {
        return Err(invalid(
            "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    for (n, certificate) in certificates.iter().enumerate() {
        // Parsing a certificate as a trust anchor reads its X.509 structure.
        if rustls::RootCertStore::empty()
            .add(certificate.clone())
            .is_err()
        {
            return Err(invalid(format!(
                "its certificate {} is not an X.509 certificate",
                n + 1
            )));
        }
    }
    Ok(certificates)
}

/// What is wrong with a file's PEM.
fn malformed(error: &pem::Error) -> String {
    let why = match error {
        pem::Error::MissingSectionEnd { end_marker } => {
            format!("{} is missing", String::from_utf8_lossy(end_marker))
        }
        pem::Error::IllegalSectionStart { line } => {
            format!(
                "the section start {:?} is not valid",
                String::from_utf8_lossy(line)
            )
        }
        pem::Error::Base64Decode(reason) => format!("a section is not base64 ({reason})"),
        other => other.to_string(),
    };
    format!("its PEM is malformed: {why}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a failed TLS handshake means, in words that name the file to look at: the
/// engine's certificate refused here (unknown CA, another host name, expired), or the
/// client's refused by the engine (none sent, expired, not signed by its CA). `None` when
/// `error` is no TLS failure.
pub(crate) fn handshake_failure(
    error: &(dyn std::error::Error + 'static),
    files: &TlsFiles,
) -> Option<String> {
    use rustls::{AlertDescription, CertificateError};
    let mut current = Some(error);
    let tls = loop {
        let here = current?;
        if let Some(tls) = here.downcast_ref::<rustls::Error>() {
            break tls;
        }
        // An io::Error's `source` skips the error it wraps; look at that one first.
        current = match here
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => here.source(),
        };
    };
    let file = |given: &Option<PathBuf>, name: &str| {
        given
            .clone()
            .unwrap_or_else(|| files.dir.join(name))
            .display()
            .to_string()
    };
    let ca = match &files.ca {
        Some(ca) => format!("the CA in {}", ca.display()),
        None => format!(
            "any of the system's CAs (there is no {})",
            files.dir.join("ca.pem").display()
        ),
    };
    let cert = file(&files.cert, "cert.pem");
    Some(match tls {
        rustls::Error::InvalidCertificate(problem) => match problem {
            CertificateError::UnknownIssuer => {
                format!("the engine's certificate is not signed by {ca}")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the engine's certificate is not for this address ({problem})")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the engine's certificate has expired ({problem})")
            }
            other => format!("the engine's certificate is refused: {other}"),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => format!(
                "the engine requires a client certificate, and there is none ({} and {})",
                cert,
                file(&files.key, "key.pem")
            ),
            AlertDescription::CertificateExpired => {
                format!("the engine refused the client certificate {cert}: it has expired")
            }
            AlertDescription::UnknownCA | AlertDescription::BadCertificate => format!(
                "the engine refused the client certificate {cert}: it is not signed by a CA the \
                 engine trusts"
            ),
            other => format!("the engine ended the TLS handshake ({other:?})"),
        },
        other => format!("TLS failed: {other}"),
    })
}

/// Why a connection of the client's own (a build's session) could not be made secure.
#[derive(Debug)]
pub(crate) enum TlsConnectError {
    /// One of the files cannot be used, as [`check`] says.
    File(TlsFileError),
    /// The TLS client cannot be set up (the system's CAs cannot be read, …): why.
    Setup(String),
    /// The handshake failed: why, in [`handshake_failure`]'s words when it was TLS that
    /// failed (`tls` is then true), else the OS's.
    Handshake { reason: String, tls: bool },
}

/// The rustls client that bollard's transport builds from the same files
/// (`Docker::connect_with_ssl`): the system's CAs and `ca.pem` as roots, and the client's
/// certificate and key when there are both (else none is sent).
fn client_config(files: &CheckedFiles) -> Result<rustls::ClientConfig, TlsConnectError> {
    let setup = |reason: String| TlsConnectError::Setup(reason);
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        let reasons: Vec<String> = native.errors.iter().map(ToString::to_string).collect();
        return Err(setup(format!(
            "the system's CA certificates cannot be loaded: {}",
            reasons.join("; ")
        )));
    }
    // bollard refuses a system CA rustls cannot parse; so does this.
    for certificate in native.certs {
        roots
            .add(certificate)
            .map_err(|e| setup(format!("a system CA certificate cannot be used: {e}")))?;
    }
    if let Some(ca) = &files.ca {
        roots.add_parsable_certificates(certificates(TlsRole::Ca, ca, &read(TlsRole::Ca, ca)?)?);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(e.to_string()))?
        .with_root_certificates(roots);
    match &files.client {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = certificates(TlsRole::Cert, cert, &read(TlsRole::Cert, cert)?)?;
            let private_key =
                PrivateKeyDer::from_pem_slice(&read(TlsRole::Key, key)?).map_err(|e| {
                    TlsFileError {
                        role: TlsRole::Key,
                        file: key.clone(),
                        problem: TlsProblem::Invalid(malformed(&e)),
                    }
                })?;
            builder
                .with_client_auth_cert(chain, private_key)
                .map_err(|e| setup(format!("the client certificate cannot be used: {e}")))
        }
    }
}

impl From<TlsFileError> for TlsConnectError {
    fn from(error: TlsFileError) -> Self {
        TlsConnectError::File(error)
    }
}

/// TLS over `tcp`, a connection to the engine at `address` (`host:port`, as in
/// `tcp://host:port`), with `files` checked and used as bollard's transport uses them: the
/// engine's certificate must name `host`, as it must for every other call.
pub(crate) async fn connect(
    tcp: tokio::net::TcpStream,
    address: &str,
    files: &TlsFiles,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, TlsConnectError> {
    let config = client_config(&check(files)?)?;
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| TlsConnectError::Setup(format!("{host} is not a host name: {e}")))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| match handshake_failure(&e, files) {
            Some(reason) => TlsConnectError::Handshake { reason, tls: true },
            None => TlsConnectError::Handshake {
                reason: crate::engine::os_wording(&e),
                tls: false,
            },
        })
}
