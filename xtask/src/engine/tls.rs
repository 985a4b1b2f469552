//! Engine 26.1 over tcp+TLS: a second listener, `--host tcp://127.0.0.1:<free port>` with
//! `--tlsverify --tlscacert --tlscert --tlskey`, beside the engine's unix socket, and the
//! certificates for it, generated afresh each time the engine starts:
//!
//! ```text
//! tls/
//!   port                 the listener's port
//!   ca/                  ca.pem ca-key.pem openssl.cnf db/ (`openssl ca`'s index and serial)
//!   other-ca/            ca.pem ca-key.pem: an unrelated CA, for the wrong-CA case
//!   server/              cert.pem key.pem: subjectAltName IP:127.0.0.1 only (serverAuth)
//!   client/              ca.pem cert.pem key.pem: the good client (clientAuth)
//!   wrong-ca/            other-ca's ca.pem, the good client's cert.pem and key.pem
//!   expired/             ca.pem, a client cert.pem valid only on 2020-01-01, key.pem
//! ```
//!
//! Each client directory is laid out as the docker CLI's `DOCKER_CERT_PATH` wants it. The
//! server certificate names no DNS name, so `tcp://localhost:<port>` fails the host name check
//! (a case the tests need), while `tcp://127.0.0.1:<port>` verifies.
//!
//! Made with the `openssl` CLI (Debian's `openssl` package, one of the host packages) rather
//! than the `rcgen` crate: xtask stays free of dependencies (std and the tests' crate, as for
//! every other tool the harness drives), and `openssl ca` takes any validity window
//! (`-startdate`/`-enddate`), which the expired certificate needs (OpenSSL 3.0's
//! `openssl x509 -req` only has `-days`, and `faketime` is not at hand). Keys are ECDSA P-256:
//! quick to make and accepted by the engine's and the CLI's Go TLS and by rustls alike.

use super::process;
use super::Layout;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the TLS material lives.
pub fn dir(layout: &Layout) -> PathBuf {
    layout.root().join("tls")
}

/// The TLS listener's port and files.
#[derive(Debug)]
pub struct Tls {
    /// The listener's port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl Tls {
    /// `tcp://127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// The good client's `DOCKER_CERT_PATH`.
    pub fn client(&self) -> PathBuf {
        self.dir.join("client")
    }

    /// The good client's certificate and key with an unrelated CA's `ca.pem`.
    pub fn wrong_ca(&self) -> PathBuf {
        self.dir.join("wrong-ca")
    }

    /// The engine's CA with an expired client certificate.
    pub fn expired(&self) -> PathBuf {
        self.dir.join("expired")
    }

    /// What dockerd is given for the listener.
    pub fn dockerd_args(&self) -> Vec<OsString> {
        let ca = self.dir.join("ca/ca.pem");
        let server = self.dir.join("server");
        vec![
            "--host".into(),
            self.host().into(),
            "--tlsverify".into(),
            "--tlscacert".into(),
            ca.into(),
            "--tlscert".into(),
            server.join("cert.pem").into(),
            "--tlskey".into(),
            server.join("key.pem").into(),
        ]
    }

    /// Whether the docker CLI, given the good client's certificates, reaches the engine over
    /// the listener and reads its API version.
    pub fn answers(&self, layout: &Layout, api_version: &str) -> bool {
        let client = self.client();
        let args: Vec<OsString> = vec![
            "--tlsverify".into(),
            "--tlscacert".into(),
            client.join("ca.pem").into(),
            "--tlscert".into(),
            client.join("cert.pem").into(),
            "--tlskey".into(),
            client.join("key.pem").into(),
            "-H".into(),
            self.host().into(),
        ];
        super::daemon::cli_api_version(layout, &args, None).is_ok_and(|v| v == api_version)
    }
}

/// The listener of the last start, if its files are there (whether it answers or not).
pub fn existing(layout: &Layout) -> Option<Tls> {
    let dir = dir(layout);
    let port = fs::read_to_string(dir.join("port"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    dir.join("client/cert.pem")
        .exists()
        .then_some(Tls { port, dir })
}

/// Removes the TLS material; gone already is fine.
pub fn remove(layout: &Layout) -> Result<(), String> {
    super::remove_state_dir(&dir(layout))
}

fn openssl(args: &[&std::ffi::OsStr], what: &str) -> Result<(), String> {
    process::output(Command::new("openssl").args(args), what)
        .map(|_| ())
        .map_err(|e| format!("{e} (the harness needs Debian's `openssl` package)"))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn create(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// A new ECDSA P-256 key in `path`.
fn new_key(path: &Path) -> Result<(), String> {
    openssl(
        &[
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "EC".as_ref(),
            "-pkeyopt".as_ref(),
            "ec_paramgen_curve:P-256".as_ref(),
            "-out".as_ref(),
            path.as_os_str(),
        ],
        "openssl genpkey",
    )
}

/// `openssl ca`'s configuration: the CA's files, any subject, and the extensions of the
/// certificates it signs (none copied from the request).
fn ca_config(ca: &Path) -> String {
    let db = ca.join("db");
    format!(
        "[ca]
default_ca = devbuild_test_ca
[devbuild_test_ca]
database = {db}/index.txt
serial = {db}/serial
new_certs_dir = {db}
certificate = {ca}/ca.pem
private_key = {ca}/ca-key.pem
default_md = sha256
policy = any_subject
unique_subject = no
copy_extensions = none
[any_subject]
commonName = supplied
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
",
        db = db.display(),
        ca = ca.display()
    )
}

/// A self-signed CA (`ca.pem`, `ca-key.pem`) in `dir`, valid for 30 days.
fn new_ca(dir: &Path, name: &str) -> Result<(), String> {
    create(&dir.join("db"))?;
    new_key(&dir.join("ca-key.pem"))?;
    openssl(
        &[
            "req".as_ref(),
            "-x509".as_ref(),
            "-new".as_ref(),
            "-key".as_ref(),
            dir.join("ca-key.pem").as_os_str(),
            "-sha256".as_ref(),
            "-days".as_ref(),
            "30".as_ref(),
            "-subj".as_ref(),
            format!("/CN={name}").as_ref(),
            "-addext".as_ref(),
            "basicConstraints=critical,CA:TRUE".as_ref(),
            "-addext".as_ref(),
            "keyUsage=critical,keyCertSign,cRLSign".as_ref(),
            "-out".as_ref(),
            dir.join("ca.pem").as_os_str(),
        ],
        "openssl req -x509 (CA)",
    )?;
    write(&dir.join("db/index.txt"), "")?;
    write(&dir.join("db/serial"), "1000\n")?;
    write(&dir.join("openssl.cnf"), &ca_config(dir))
}

/// How long a certificate is valid.
enum Validity {
    /// From now, for 30 days.
    Days30,
    /// 2020-01-01 only: long expired.
    Expired,
}

/// Signs a new key in `out/key.pem` with the CA in `ca`, as `out/cert.pem`, with the
/// extensions `section` of the CA's configuration (`server` or `client`).
fn issue(
    ca: &Path,
    out: &Path,
    name: &str,
    section: &str,
    validity: Validity,
) -> Result<(), String> {
    create(out)?;
    let key = out.join("key.pem");
    let csr = out.join("request.csr");
    new_key(&key)?;
    openssl(
        &[
            "req".as_ref(),
            "-new".as_ref(),
            "-key".as_ref(),
            key.as_os_str(),
            "-subj".as_ref(),
            format!("/CN={name}").as_ref(),
            "-out".as_ref(),
            csr.as_os_str(),
        ],
        "openssl req (certificate request)",
    )?;
    let config = ca.join("openssl.cnf");
    let cert = out.join("cert.pem");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "ca".as_ref(),
        "-batch".as_ref(),
        "-notext".as_ref(),
        "-config".as_ref(),
        config.as_os_str(),
        "-extensions".as_ref(),
        section.as_ref(),
        "-in".as_ref(),
        csr.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ];
    match validity {
        Validity::Days30 => args.extend::<[&std::ffi::OsStr; 2]>(["-days".as_ref(), "30".as_ref()]),
        Validity::Expired => args.extend::<[&std::ffi::OsStr; 4]>([
            "-startdate".as_ref(),
            "20200101000000Z".as_ref(),
            "-enddate".as_ref(),
            "20200102000000Z".as_ref(),
        ]),
    }
    openssl(&args, &format!("openssl ca ({name})"))?;
    fs::remove_file(&csr).map_err(|e| format!("cannot remove {}: {e}", csr.display()))
}

/// Generates every certificate afresh and picks the listener's port (free now).
pub fn generate(layout: &Layout) -> Result<Tls, String> {
    let dir = dir(layout);
    remove(layout)?;
    let ca = dir.join("ca");
    new_ca(&ca, "devbuild test engine CA")?;
    new_ca(&dir.join("other-ca"), "devbuild test unrelated CA")?;
    issue(
        &ca,
        &dir.join("server"),
        "devbuild test engine",
        "server",
        Validity::Days30,
    )?;
    let client = dir.join("client");
    issue(
        &ca,
        &client,
        "devbuild test client",
        "client",
        Validity::Days30,
    )?;
    copy(&ca.join("ca.pem"), &client.join("ca.pem"))?;
    let wrong_ca = dir.join("wrong-ca");
    create(&wrong_ca)?;
    copy(&dir.join("other-ca/ca.pem"), &wrong_ca.join("ca.pem"))?;
    for file in ["cert.pem", "key.pem"] {
        copy(&client.join(file), &wrong_ca.join(file))?;
    }
    let expired = dir.join("expired");
    issue(
        &ca,
        &expired,
        "devbuild test expired client",
        "client",
        Validity::Expired,
    )?;
    copy(&ca.join("ca.pem"), &expired.join("ca.pem"))?;
    let port = super::registry::free_port()?;
    write(&dir.join("port"), &format!("{port}\n"))?;
    eprintln!(
        "    tls: CA, server (IP:127.0.0.1), client, wrong-CA and expired certificates in {}",
        dir.display()
    );
    Ok(Tls { port, dir })
}
