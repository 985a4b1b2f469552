//! Provisioning: the Debian 12 packages the harness runs (Engine 20.10, the registry,
//! busybox, htpasswd, sshd and openssl for the remote endpoints), and Engine 26.1.5 with its containerd and buildx 0.13 taken from
//! Debian 13's packages, downloaded through a private apt configuration that reuses this
//! machine's Debian mirror, and unpacked with `dpkg -x` into the cache. Nothing in the
//! machine's own apt state changes except through the ordinary `apt-get install`.

use super::process::{output, run};
use super::Layout;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian 12 packages the harness needs, with what each is for.
const HOST_PACKAGES: [(&str, &str); 10] = [
    (
        "docker.io",
        "Engine 20.10, its containerd and runc, the docker CLI",
    ),
    ("docker-registry", "the authenticated registry"),
    ("busybox-static", "the base image's root file system"),
    (
        "apache2-utils",
        "htpasswd, for the registry's bcrypt password file",
    ),
    ("iproute2", "ip, for the engines' bridges"),
    ("tmux", "a real terminal for the live progress view's test"),
    (
        "git",
        "git daemon for the remote-context tests, and the git the engines' BuildKit fetches git contexts with",
    ),
    (
        "openssh-server",
        "sshd, serving Engine 26.1 over ssh (`docker system dial-stdio`)",
    ),
    (
        "openssh-client",
        "ssh and ssh-keygen: the ssh endpoint's keys, and the client the tests use",
    ),
    (
        "openssl",
        "the CA and certificates of Engine 26.1's tcp+TLS listener",
    ),
];

/// Debian 13 packages unpacked for Engine 26.1, and the upstream version each must have.
const TRIXIE_PACKAGES: [(&str, &str); 3] = [
    ("docker.io", "26.1.5"),
    ("containerd", "1.7."),
    ("docker-buildx", "0.13."),
];

/// The Debian suite Engine 26.1 comes from.
const TRIXIE: &str = "trixie";

fn manual_instructions() -> String {
    format!(
        "`cargo xtask engine up` provisions itself only when run as root on Debian.\n\
         Elsewhere, install by hand:\n\
         \x20 - from Debian 12 (bookworm): {}\n\
         \x20 - from Debian 13 (trixie), unpacked with `dpkg -x` into {}:\n\
         \x20   docker.io (Engine 26.1.5), containerd (1.7), docker-buildx (0.13)\n\
         then run `cargo xtask engine up` as root (engines need root for bridges and mounts).",
        HOST_PACKAGES.map(|(p, _)| p).join(", "),
        "target/devbuild-engines/cache/engine-26.1/root",
    )
}

/// Fails with instructions unless this is root on Debian.
pub fn check_platform() -> Result<(), String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0");
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let debian = os_release
        .lines()
        .any(|l| l == "ID=debian" || l == "ID=\"debian\"");
    match (root, debian) {
        (true, true) => Ok(()),
        (false, _) => Err(format!("not running as root.\n{}", manual_instructions())),
        (true, false) => Err(format!("this is not Debian.\n{}", manual_instructions())),
    }
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout) == "install ok installed")
}

/// Installs whichever of the Debian 12 packages are missing (`apt-get update` first).
/// Services are kept from starting on install with a temporary `policy-rc.d`.
pub fn ensure_host_packages() -> Result<(), String> {
    let missing: Vec<&str> = HOST_PACKAGES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        eprintln!("    host packages: all installed");
        return Ok(());
    }
    eprintln!("    installing {}", missing.join(" "));
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let own_policy = !policy.exists();
    if own_policy {
        // Refuse every service start while installing (exit 101), so that docker.io's
        // maintainer scripts never start a system dockerd on /var/run/docker.sock.
        fs::write(
            policy,
            "#!/bin/sh\n# written by cargo xtask engine up\nexit 101\n",
        )
        .map_err(|e| format!("cannot write {}: {e}", policy.display()))?;
        run(
            Command::new("chmod").args(["755"]).arg(policy),
            "chmod policy-rc.d",
        )?;
    }
    let result = run(
        Command::new("apt-get").args(["update", "-q"]),
        "apt-get update",
    )
    .and_then(|()| {
        run(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install",
        )
    });
    if own_policy {
        let _ = fs::remove_file(policy);
    }
    result
}

/// One apt source: its URI, the suites and components it serves, and its keyring.
#[derive(Debug, PartialEq)]
struct AptSource {
    uri: String,
    suites: Vec<String>,
    components: Vec<String>,
    signed_by: Option<String>,
}

/// Parses one-line style (`deb [signed-by=…] uri suite comp…`) sources.
fn parse_one_line_sources(text: &str) -> Vec<AptSource> {
    let mut sources = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(options) = rest.strip_prefix('[') {
            let Some((options, after)) = options.split_once(']') else {
                continue;
            };
            signed_by = options
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by="))
                .filter(|k| k.starts_with('/'))
                .map(str::to_string);
            rest = after.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        sources.push(AptSource {
            uri: uri.to_string(),
            suites: vec![suite.to_string()],
            components: words.map(str::to_string).collect(),
            signed_by,
        });
    }
    sources
}

/// Parses deb822 style (`.sources`) stanzas.
fn parse_deb822_sources(text: &str) -> Vec<AptSource> {
    let mut sources = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields = std::collections::HashMap::new();
        for line in stanza.lines() {
            if line.starts_with('#') || line.starts_with(' ') || line.starts_with('\t') {
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                fields.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let words = |key: &str| -> Vec<String> {
            fields
                .get(key)
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let enabled = fields.get("enabled").is_none_or(|v| v != "no");
        if !enabled || !words("types").iter().any(|t| t == "deb") {
            continue;
        }
        for uri in words("uris") {
            sources.push(AptSource {
                uri,
                suites: words("suites"),
                components: words("components"),
                // An inline key (a multi-line value) is not a path: use the default keyring.
                signed_by: fields
                    .get("signed-by")
                    .filter(|k| k.starts_with('/'))
                    .cloned(),
            });
        }
    }
    sources
}

/// This machine's Debian mirror: the source that serves the release's own suite
/// (e.g. `bookworm`, not `bookworm-security`) with `main`.
fn debian_mirror() -> Result<AptSource, String> {
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let codename = os_release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|c| c.trim_matches('"').to_string())
        .ok_or("cannot tell the Debian release from /etc/os-release")?;
    let mut sources = Vec::new();
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list") {
        sources.extend(parse_one_line_sources(&text));
    }
    let mut parts: Vec<PathBuf> = fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    parts.sort();
    for path in parts {
        let text = fs::read_to_string(&path).unwrap_or_default();
        match path.extension().and_then(|e| e.to_str()) {
            Some("list") => sources.extend(parse_one_line_sources(&text)),
            Some("sources") => sources.extend(parse_deb822_sources(&text)),
            _ => {}
        }
    }
    let serves_main = |s: &AptSource| s.components.iter().any(|c| c == "main");
    let by_codename = sources
        .iter()
        .position(|s| s.suites.contains(&codename) && serves_main(s));
    // Fallback: a source named by suite alias (`stable`) on a `/debian` archive.
    let by_path = || {
        sources
            .iter()
            .position(|s| s.uri.trim_end_matches('/').ends_with("/debian") && serves_main(s))
    };
    by_codename
        .or_else(by_path)
        .map(|i| sources.swap_remove(i))
        .ok_or_else(|| {
            format!(
                "no apt source serves `{codename} main`; cannot find this machine's Debian mirror"
            )
        })
}

/// The unpacked Engine 26.1 tree (`usr/sbin/dockerd`, `usr/bin/containerd`, …), made on
/// first use. A second call downloads nothing.
pub fn ensure_engine_26(layout: &Layout) -> Result<PathBuf, String> {
    let root = layout.engine26_root();
    let stamp = root.join(".devbuild-unpacked");
    if stamp.exists() {
        eprintln!("    Engine 26.1: cached in {}", root.display());
        return Ok(root);
    }
    let debs = layout.cache().join("debs");
    fs::create_dir_all(&debs).map_err(|e| format!("cannot create {}: {e}", debs.display()))?;
    if TRIXIE_PACKAGES
        .iter()
        .any(|(p, _)| find_deb(&debs, p).is_none())
    {
        download_trixie_debs(layout, &debs)?;
    } else {
        eprintln!("    Debian 13 packages: cached in {}", debs.display());
    }
    let partial = root.with_extension("partial");
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let mut unpacked = Vec::new();
    for (package, version) in TRIXIE_PACKAGES {
        let deb = find_deb(&debs, package)
            .ok_or_else(|| format!("{package}: no .deb in {}", debs.display()))?;
        let found = output(
            Command::new("dpkg-deb")
                .args(["-f"])
                .arg(&deb)
                .arg("Version"),
            "dpkg-deb -f",
        )?;
        let found = found.trim();
        let upstream = found.split_once(':').map_or(found, |(_, v)| v);
        if !upstream.starts_with(version) {
            return Err(format!(
                "Debian 13's {package} is {found}, the harness needs {version}*; \
                 update TRIXIE_PACKAGES in xtask/src/engine/provision.rs"
            ));
        }
        run(
            Command::new("dpkg").arg("-x").arg(&deb).arg(&partial),
            "dpkg -x",
        )?;
        unpacked.push(format!("{package} {found}"));
    }
    fs::write(
        partial.join(".devbuild-unpacked"),
        unpacked.join("\n") + "\n",
    )
    .map_err(|e| format!("cannot write stamp: {e}"))?;
    let _ = fs::remove_dir_all(&root);
    fs::rename(&partial, &root).map_err(|e| format!("cannot rename {}: {e}", partial.display()))?;
    eprintln!(
        "    Engine 26.1: unpacked {} into {}",
        unpacked.join(", "),
        root.display()
    );
    Ok(root)
}

/// The `.deb` of `package` in `dir`, if downloaded (`<package>_<version>_<arch>.deb`).
fn find_deb(dir: &Path, package: &str) -> Option<PathBuf> {
    let prefix = format!("{package}_");
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
}

fn download_trixie_debs(layout: &Layout, debs: &Path) -> Result<(), String> {
    let mirror = debian_mirror()?;
    let apt = layout.cache().join("apt");
    for dir in ["state/lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(apt.join(dir)).map_err(|e| format!("cannot create apt dirs: {e}"))?;
    }
    let keyring = mirror
        .signed_by
        .clone()
        .unwrap_or_else(|| "/usr/share/keyrings/debian-archive-keyring.gpg".to_string());
    let list = apt.join("sources.list");
    fs::write(
        &list,
        format!("deb [signed-by={keyring}] {} {TRIXIE} main\n", mirror.uri),
    )
    .map_err(|e| format!("cannot write {}: {e}", list.display()))?;
    let status = apt.join("status");
    fs::write(&status, "").map_err(|e| format!("cannot write {}: {e}", status.display()))?;
    let options = [
        format!("Dir::Etc::SourceList={}", list.display()),
        "Dir::Etc::SourceParts=/dev/null".to_string(),
        format!("Dir::State={}", apt.join("state").display()),
        format!("Dir::State::status={}", status.display()),
        format!("Dir::Cache={}", apt.join("cache").display()),
        "APT::Sandbox::User=root".to_string(),
        "Acquire::Languages=none".to_string(),
        "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".to_string(),
        "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".to_string(),
        "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".to_string(),
        "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false".to_string(),
    ];
    let apt_get = |args: &[&str]| {
        let mut c = Command::new("apt-get");
        for o in &options {
            c.arg("-o").arg(o);
        }
        c.args(args).current_dir(debs);
        c
    };
    eprintln!(
        "    downloading Debian 13 packages from this machine's Debian mirror ({TRIXIE} main)"
    );
    run(
        &mut apt_get(&["update", "-q"]),
        "apt-get update (Debian 13 index)",
    )?;
    let names: Vec<&str> = TRIXIE_PACKAGES.iter().map(|(p, _)| *p).collect();
    let mut args = vec!["download", "-q"];
    args.extend(&names);
    run(&mut apt_get(&args), "apt-get download (Debian 13 packages)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_line_sources() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main contrib\ndeb-src http://m.example/debian bookworm main\n";
        assert_eq!(
            parse_one_line_sources(text),
            vec![AptSource {
                uri: "http://m.example/debian".into(),
                suites: vec!["bookworm".into()],
                components: vec!["main".into(), "contrib".into()],
                signed_by: Some("/k.gpg".into()),
            }]
        );
    }

    #[test]
    fn reads_deb822_sources() {
        let text = "Types: deb\n# a comment\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb-src\nURIs: http://m.example/debian\nSuites: bookworm\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://other.example/\nSuites: bookworm\nComponents: main\n";
        let sources = parse_deb822_sources(text);
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].uri, "http://m.example/debian");
        assert_eq!(sources[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(
            sources[0].signed_by.as_deref(),
            Some("/usr/share/keyrings/debian-archive-keyring.gpg")
        );
    }
}
