//! Engine 26.1 over ssh, as the docker CLI reaches a remote engine (`ssh://user@host:port`
//! runs `ssh … host docker system dial-stdio` and speaks HTTP over its stdio): Debian's
//! `openssh-server`, started by the harness as a process of its own on a free 127.0.0.1 port,
//! never the machine's ssh service. Its one authorized key is forced to run the harness's
//! `dial-stdio` script, which logs the command the client asked for and runs the harness's
//! docker CLI (`docker -H unix://<26.1's socket> system dial-stdio`), whatever the client asked.
//!
//! ```text
//! ssh/
//!   sshd_config  sshd.pid  sshd.log  port
//!   host_key(.pub)             the server's host key (ed25519)
//!   client_key(.pub)           the client's key (ed25519, no passphrase)
//!   authorized_keys            `restrict,command="…/dial-stdio" <client_key.pub>`
//!   dial-stdio  commands.log   the forced command, and one line per session it served:
//!                              `$SSH_ORIGINAL_COMMAND` (e.g. `docker system dial-stdio`)
//!   known_hosts  config  bin/ssh          the client side: `[127.0.0.1]:<port>` and the host
//!                                         key; `Host 127.0.0.1` with the key, the port, the
//!                                         known hosts, `StrictHostKeyChecking yes`,
//!                                         `BatchMode yes`; `ssh -F config "$@"`
//!   bad_known_hosts  bad_config  bad-bin/ssh   the same with another host key: ssh refuses
//! ```
//!
//! sshd runs `-D -e -f sshd_config` (in the foreground, logging to `sshd.log`) with
//! `ListenAddress 127.0.0.1`, public keys only (`PermitRootLogin prohibit-password`: the
//! tests run as root; `AllowUsers root`), `StrictModes no` (the state directory may be
//! anywhere, with any permissions) and `UsePAM no`. It needs its privilege separation
//! directory, `/run/sshd`, which the ssh service would create; the harness creates it if
//! it is missing.

use super::process::{self, our_pid, terminate};
use super::Layout;
use devbuild_tests::DOCKER_CLI;
use std::ffi::OsString;
use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Debian's `openssh-server`.
const SSHD: &str = "/usr/sbin/sshd";
/// Debian's `openssh-client`.
const SSH: &str = "/usr/bin/ssh";
const SSH_KEYGEN: &str = "/usr/bin/ssh-keygen";
/// sshd's privilege separation directory (compiled in).
const PRIVSEP_DIR: &str = "/run/sshd";

/// Where the ssh endpoint's files live.
fn dir(layout: &Layout) -> PathBuf {
    layout.root().join("ssh")
}

fn pid_file(layout: &Layout) -> PathBuf {
    dir(layout).join("sshd.pid")
}

fn port_file(layout: &Layout) -> PathBuf {
    dir(layout).join("port")
}

/// The marker that only our sshd has on its command line: its configuration file. sshd
/// rewrites its process title (`sshd: /usr/sbin/sshd -D -e -f <config> [listener] …`), which
/// keeps the command line in it.
fn marker(layout: &Layout) -> String {
    dir(layout)
        .join("sshd_config")
        .to_string_lossy()
        .into_owned()
}

/// The running endpoint's port and files.
#[derive(Debug)]
pub struct Ssh {
    /// sshd's port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl Ssh {
    /// `ssh://root@127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    /// The client configuration (`ssh -F`).
    pub fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// The directory holding the `ssh` wrapper that uses [`Ssh::config`].
    pub fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }

    /// The known hosts file with the server's host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The client's private key.
    pub fn key(&self) -> PathBuf {
        self.dir.join("client_key")
    }

    /// What clients asked to run, one line per session.
    pub fn command_log(&self) -> PathBuf {
        self.dir.join("commands.log")
    }

    /// A known hosts file with a wrong host key.
    pub fn bad_known_hosts(&self) -> PathBuf {
        self.dir.join("bad_known_hosts")
    }

    /// The client configuration with [`Ssh::bad_known_hosts`].
    pub fn bad_config(&self) -> PathBuf {
        self.dir.join("bad_config")
    }

    /// The directory holding the `ssh` wrapper that uses [`Ssh::bad_config`].
    pub fn bad_bin(&self) -> PathBuf {
        self.dir.join("bad-bin")
    }

    /// Whether the docker CLI, with the `ssh` wrapper first in its `PATH`, reaches the engine
    /// over ssh and reads its API version.
    fn answers(&self, layout: &Layout, api_version: &str) -> bool {
        let args: Vec<OsString> = vec!["-H".into(), self.host().into()];
        super::daemon::cli_api_version(layout, &args, Some(&self.bin()))
            .is_ok_and(|v| v == api_version)
    }
}

/// The sshd `up` started, if it is alive and serves the engine (answering with
/// `api_version`).
pub fn running(layout: &Layout, api_version: &str) -> Option<Ssh> {
    our_pid(&pid_file(layout), &marker(layout))?;
    let port = fs::read_to_string(port_file(layout))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let ssh = Ssh {
        port,
        dir: dir(layout),
    };
    ssh.answers(layout, api_version).then_some(ssh)
}

/// Reuses the sshd that serves the engine on `socket`, or (re)starts it with fresh keys and
/// configurations, and waits until the docker CLI reaches the engine through it.
pub fn ensure_running(layout: &Layout, socket: &Path, api_version: &str) -> Result<Ssh, String> {
    if let Some(ssh) = running(layout, api_version) {
        eprintln!("    sshd: already up, {}", ssh.host());
        return Ok(ssh);
    }
    stop_process(layout)?;
    let dir = dir(layout);
    super::remove_state_dir(&dir)?;
    for sub in [dir.join("bin"), dir.join("bad-bin")] {
        fs::create_dir_all(&sub).map_err(|e| format!("cannot create {}: {e}", sub.display()))?;
    }
    if !Path::new(PRIVSEP_DIR).is_dir() {
        fs::create_dir_all(PRIVSEP_DIR)
            .and_then(|()| fs::set_permissions(PRIVSEP_DIR, fs::Permissions::from_mode(0o755)))
            .map_err(|e| format!("cannot create {PRIVSEP_DIR} (sshd needs it): {e}"))?;
    }
    for key in ["host_key", "client_key", "wrong_host_key"] {
        new_key(&dir.join(key))?;
    }
    // Only the wrong key's public half is used (in bad_known_hosts).
    let _ = fs::remove_file(dir.join("wrong_host_key"));
    write_executable(&dir.join("dial-stdio"), &dial_stdio_script(layout, socket))?;
    let client_key = public_key(&dir.join("client_key.pub"))?;
    write(
        &dir.join("authorized_keys"),
        &format!(
            "restrict,command=\"{}\" {client_key}\n",
            dir.join("dial-stdio").display()
        ),
    )?;
    write(&dir.join("commands.log"), "")?;
    let log = dir.join("sshd.log");
    let port = super::remote::start_on_a_port(
        &port_file(layout),
        &pid_file(layout),
        "sshd",
        &log,
        |port| {
            write_configs(&dir, port)?;
            process::spawn_detached(
                Command::new(SSHD)
                    .args(["-D", "-e", "-f"])
                    .arg(dir.join("sshd_config"))
                    .env_clear()
                    // Also room for sshd's process title, which it writes over its
                    // arguments and environment.
                    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                &log,
            )
        },
        |port| {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
                && Ssh {
                    port,
                    dir: dir.clone(),
                }
                .answers(layout, api_version)
        },
    )?;
    let ssh = Ssh { port, dir };
    eprintln!(
        "    sshd: {} runs `docker system dial-stdio` on {}",
        ssh.host(),
        socket.display()
    );
    Ok(ssh)
}

/// The forced command: logs what the client asked for, then proxies the engine's socket.
fn dial_stdio_script(layout: &Layout, socket: &Path) -> String {
    let log = dir(layout).join("commands.log");
    format!(
        "#!/bin/sh
# The forced command of the harness's ssh key (written by `cargo xtask engine up`): whatever
# the client asked for (logged), stdio is proxied to Engine 26.1's socket, as
# `docker system dial-stdio` does on a real remote host.
printf '%s\\n' \"${{SSH_ORIGINAL_COMMAND-}}\" >> '{log}'
DOCKER_CONFIG='{config}' exec {DOCKER_CLI} -H 'unix://{socket}' system dial-stdio
",
        log = log.display(),
        config = layout.docker_config().display(),
        socket = socket.display(),
    )
}

/// Writes sshd's configuration and, for `port`, the known hosts files, the client
/// configurations and their `ssh` wrappers.
fn write_configs(dir: &Path, port: u16) -> Result<(), String> {
    let d = dir.display();
    write(
        &dir.join("sshd_config"),
        &format!(
            "# The test harness's sshd (written by `cargo xtask engine up`).
Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
StrictModes no
UsePAM no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
"
        ),
    )?;
    let host_key = public_key(&dir.join("host_key.pub"))?;
    let wrong_key = public_key(&dir.join("wrong_host_key.pub"))?;
    let sets = [
        ("known_hosts", host_key, "config", "bin"),
        ("bad_known_hosts", wrong_key, "bad_config", "bad-bin"),
    ];
    for (known_hosts, key, config, bin) in sets {
        write(
            &dir.join(known_hosts),
            &format!("[127.0.0.1]:{port} {key}\n"),
        )?;
        write(
            &dir.join(config),
            &format!(
                "# The test harness's ssh client configuration (written by `cargo xtask engine up`).
Host 127.0.0.1
  HostName 127.0.0.1
  Port {port}
  User root
  IdentityFile {d}/client_key
  IdentitiesOnly yes
  UserKnownHostsFile {d}/{known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  CheckHostIP no
  BatchMode yes
  ConnectTimeout 10
"
            ),
        )?;
        write_executable(
            &dir.join(bin).join("ssh"),
            &format!(
                "#!/bin/sh
# ssh with the test harness's client configuration (written by `cargo xtask engine up`).
exec {SSH} -F '{d}/{config}' \"$@\"
"
            ),
        )?;
    }
    Ok(())
}

/// A new ed25519 key without a passphrase: `path` and `path.pub`.
fn new_key(path: &Path) -> Result<(), String> {
    process::output(
        Command::new(SSH_KEYGEN)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "devbuild-test", "-f"])
            .arg(path),
        "ssh-keygen",
    )
    .map(|_| ())
    .map_err(|e| format!("{e} (the harness needs Debian's `openssh-client` package)"))
}

/// A `.pub` file's key without its comment: `ssh-ed25519 AAAA…`.
fn public_key(path: &Path) -> Result<String, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words[..] {
        [kind, key] => Ok(format!("{kind} {key}")),
        _ => Err(format!("{} holds no public key", path.display())),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_executable(path: &Path, text: &str) -> Result<(), String> {
    write(path, text)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot make {} executable: {e}", path.display()))
}

fn stop_process(layout: &Layout) -> Result<(), String> {
    if let Some(pid) = our_pid(&pid_file(layout), &marker(layout)) {
        terminate(pid, "sshd", Duration::from_secs(10))?;
    }
    Ok(())
}

/// `engine down`: stops the sshd `up` started, by pid, and removes the endpoint's files.
pub fn stop(layout: &Layout) -> Result<(), String> {
    stop_process(layout)?;
    super::remove_state_dir(&dir(layout))
}
