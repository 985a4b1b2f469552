//! What a build's `RUN` containers get from `POST /build`: extra `/etc/hosts` entries, the
//! network mode, the size of `/dev/shm` and resource limits, each parsed from the text
//! `docker buildx build` takes for it (`--add-host`, `--network`, `--shm-size`,
//! `--ulimit`) and sent as the engine's query parameters.
//!
//! ```
//! use engine_client::run_settings::{parse_size, ExtraHost, Network, Ulimit};
//!
//! let host: ExtraHost = "db=10.0.0.2".parse()?;
//! assert_eq!(host.to_string(), "db:10.0.0.2");
//! assert_eq!("none".parse::<Network>()?, Network::None);
//! assert_eq!(parse_size("64m")?, 64 << 20);
//! let limit: Ulimit = "nofile=1024:2048".parse()?;
//! assert_eq!((limit.soft, limit.hard), (1024, 2048));
//! # Ok::<(), engine_client::run_settings::SettingError>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

/// A value that is not what its option takes; the message quotes it and says what is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?}: {reason}")]
pub struct SettingError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SettingError {
    fn new(value: &str, reason: impl Into<String>) -> SettingError {
        SettingError {
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The address the engine puts in place of `host-gateway`: the host, as seen from the
/// build's containers.
pub const HOST_GATEWAY: &str = "host-gateway";

/// An `/etc/hosts` entry for the build's `RUN`s (`--add-host`): `host:ip` or `host=ip`,
/// an IPv6 address optionally in brackets, or `host-gateway` for the engine's host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtraHost {
    /// The name.
    pub host: String,
    /// The address: an IP address, or [`HOST_GATEWAY`].
    pub ip: String,
}

impl FromStr for ExtraHost {
    type Err = SettingError;

    fn from_str(text: &str) -> Result<ExtraHost, SettingError> {
        const FORM: &str = "give host:ip or host=ip (the ip may be host-gateway)";
        // `=` first, as buildx reads it: an IPv6 address holds colons.
        let (host, ip) = text
            .split_once('=')
            .or_else(|| text.split_once(':'))
            .ok_or_else(|| SettingError::new(text, FORM))?;
        if host.is_empty() || ip.is_empty() {
            return Err(SettingError::new(text, FORM));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SettingError::new(
                text,
                "a host name holds no spaces or control characters",
            ));
        }
        if ip == HOST_GATEWAY {
            return Ok(ExtraHost {
                host: host.to_owned(),
                ip: ip.to_owned(),
            });
        }
        let bare = ip
            .strip_prefix('[')
            .and_then(|ip| ip.strip_suffix(']'))
            .unwrap_or(ip);
        let address: IpAddr = bare
            .parse()
            .map_err(|_| SettingError::new(text, format!("{ip:?} is not an IP address; {FORM}")))?;
        Ok(ExtraHost {
            host: host.to_owned(),
            ip: address.to_string(),
        })
    }
}

/// `host:ip`, as the engine's `extrahosts` takes it.
impl fmt::Display for ExtraHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.ip)
    }
}

/// The network of the build's `RUN`s (`--network`). BuildKit has no other: a named
/// network is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Network {
    /// The engine's default: a network namespace of its own, with a route out.
    #[default]
    Default,
    /// The engine host's network (the engine grants the `network.host` entitlement).
    Host,
    /// No network: only the loopback interface.
    None,
}

impl Network {
    /// The name `--network` and the engine's `networkmode` take.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Default => "default",
            Network::Host => "host",
            Network::None => "none",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Network {
    type Err = SettingError;

    fn from_str(text: &str) -> Result<Network, SettingError> {
        match text {
            "" | "default" => Ok(Network::Default),
            "host" => Ok(Network::Host),
            "none" => Ok(Network::None),
            _ => Err(SettingError::new(
                text,
                "BuildKit runs build steps only on the default network, the host's or none (a named network is not supported by BuildKit)",
            )),
        }
    }
}

/// A resource limit of the build's `RUN`s (`--ulimit name=soft[:hard]`), as the engine's
/// `ulimits` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Ulimit {
    /// The limit's name: `nofile`, `nproc`, `core`, …
    #[serde(rename = "Name")]
    pub name: String,
    /// The soft limit.
    #[serde(rename = "Soft")]
    pub soft: i64,
    /// The hard limit (the soft one when not given; -1 for unlimited).
    #[serde(rename = "Hard")]
    pub hard: i64,
}

/// The limits the engine knows (`RLIMIT_*`; `as` is not one of them).
const ULIMIT_NAMES: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

impl FromStr for Ulimit {
    type Err = SettingError;

    fn from_str(text: &str) -> Result<Ulimit, SettingError> {
        const FORM: &str = "give name=soft[:hard], such as nofile=1024:2048";
        let (name, limits) = text
            .split_once('=')
            .ok_or_else(|| SettingError::new(text, FORM))?;
        if !ULIMIT_NAMES.contains(&name) {
            return Err(SettingError::new(
                text,
                format!(
                    "unknown limit {name:?} (one of {})",
                    ULIMIT_NAMES.join(", ")
                ),
            ));
        }
        let number = |part: &str| {
            part.parse::<i64>()
                .map_err(|_| SettingError::new(text, format!("{part:?} is not a number ({FORM})")))
        };
        let (soft, hard) = match limits.split(':').collect::<Vec<_>>()[..] {
            [soft] => {
                let soft = number(soft)?;
                (soft, soft)
            }
            [soft, hard] => (number(soft)?, number(hard)?),
            _ => return Err(SettingError::new(text, FORM)),
        };
        if soft > hard {
            return Err(SettingError::new(
                text,
                format!("the soft limit must not exceed the hard limit ({soft} > {hard})"),
            ));
        }
        Ok(Ulimit {
            name: name.to_owned(),
            soft,
            hard,
        })
    }
}

/// `name=soft:hard`.
impl fmt::Display for Ulimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}", self.name, self.soft, self.hard)
    }
}

/// A size in bytes as the docker CLI reads `--shm-size`: a number (decimals allowed),
/// optionally a space, and a binary unit `k`, `m`, `g`, `t` or `p` (any case, optionally
/// followed by `i` and `b`): `64m`, `1.5GiB`, `512 kb`, `1048576`.
pub fn parse_size(text: &str) -> Result<u64, SettingError> {
    const FORM: &str = "give a size such as 64m, 1g or 1048576 (bytes)";
    let invalid = || SettingError::new(text, FORM);
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let mut parts = number.split('.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) || parts.next().is_some() {
        return Err(invalid());
    }
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(invalid()),
    };
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(SettingError::new(text, "too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_hosts_take_both_separators_and_bracketed_ipv6() {
        let cases = [
            ("db:10.0.0.2", "db:10.0.0.2"),
            ("db=10.0.0.2", "db:10.0.0.2"),
            ("v6=::1", "v6:::1"),
            ("v6=[2001:db8::1]", "v6:2001:db8::1"),
            ("v6:2001:db8::1", "v6:2001:db8::1"),
            ("gw:host-gateway", "gw:host-gateway"),
            ("gw=host-gateway", "gw:host-gateway"),
        ];
        for (text, sent) in cases {
            let host: ExtraHost = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(host.to_string(), sent, "{text}");
        }
        for bad in [
            "db",
            ":1.2.3.4",
            "db:",
            "db:1.2.3",
            "db=010.0.0.1",
            "d b:1.2.3.4",
        ] {
            assert!(bad.parse::<ExtraHost>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn networks_are_the_three_buildkit_has() {
        assert_eq!("".parse::<Network>(), Ok(Network::Default));
        assert_eq!("default".parse::<Network>(), Ok(Network::Default));
        assert_eq!("host".parse::<Network>(), Ok(Network::Host));
        assert_eq!("none".parse::<Network>(), Ok(Network::None));
        let err = "bridge".parse::<Network>().unwrap_err();
        assert!(
            err.to_string().contains("not supported by BuildKit"),
            "{err}"
        );
    }

    #[test]
    fn ulimits_parse_as_the_docker_cli_parses_them() {
        let limit: Ulimit = "nofile=1024".parse().unwrap();
        assert_eq!((limit.soft, limit.hard), (1024, 1024));
        let limit: Ulimit = "core=-1:-1".parse().unwrap();
        assert_eq!((limit.soft, limit.hard), (-1, -1));
        assert_eq!(
            serde_json::to_string(&limit).unwrap(),
            r#"{"Name":"core","Soft":-1,"Hard":-1}"#
        );
        for bad in [
            "nofile",
            "as=1",
            "nofile=a",
            "nofile=1:2:3",
            "nofile=2048:1024",
        ] {
            assert!(bad.parse::<Ulimit>().is_err(), "{bad} accepted");
        }
        let err = "nofile=2048:1024".parse::<Ulimit>().unwrap_err();
        assert!(err.to_string().contains("2048 > 1024"), "{err}");
    }

    #[test]
    fn sizes_take_the_docker_cli_units() {
        let cases = [
            ("1048576", 1 << 20),
            ("64m", 64 << 20),
            ("64M", 64 << 20),
            ("64mb", 64 << 20),
            ("64MiB", 64 << 20),
            ("64 m", 64 << 20),
            ("1.5g", 3 << 29),
            ("2k", 2048),
            ("7b", 7),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "m", "-1", "64x", "64  m", ".5m", "5.m", "1e3", "1.2.3"] {
            assert!(parse_size(bad).is_err(), "{bad} accepted");
        }
    }
}
