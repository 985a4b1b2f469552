//! Platforms (`os/arch[/variant]`), parsed and normalised as containerd's `platforms` package
//! (`Parse`, `Normalize`, `Format`) does.
//!
//! BuildKit uses the two steps differently, so both are available:
//!
//! - the `--platform` of the build (`docker buildx build --platform`) is `Parse` then
//!   `Normalize`: [`Platform::parse`];
//! - `FROM --platform=…` is `Parse` only, and the image is resolved for exactly that value:
//!   [`Platform::parse_unnormalized`]. The two differ for ARM: `linux/arm` parses to
//!   `linux/arm` but normalises to `linux/arm/v7`; `linux/arm64/v8` parses to
//!   `linux/arm64/v8` but normalises to `linux/arm64`.

use std::fmt;
use std::str::FromStr;

use crate::quote::go_quote;

/// The source of containerd's regular expression for the first component (quoted in errors).
const OS_PATTERN: &str = r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$";
/// The source of containerd's regular expression for the other components.
const COMPONENT_PATTERN: &str = r"^[A-Za-z0-9_.-]+$";

/// A platform such as `linux/arm/v7`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// Architecture, e.g. `amd64`.
    pub architecture: String,
    /// Variant, e.g. `v7`; `None` where normalisation drops it.
    pub variant: Option<String>,
}

/// Why a platform string is invalid (containerd's wording, e.g.
/// `"foo": unknown operating system or architecture: invalid argument`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PlatformError {
    message: String,
}

impl PlatformError {
    fn invalid_argument(message: String) -> PlatformError {
        PlatformError {
            message: format!("{message}: invalid argument"),
        }
    }
}

impl Platform {
    /// Parses and normalises `os[/arch[/variant]]` (or a bare architecture) as containerd's
    /// `platforms.Parse` followed by `platforms.Normalize` does: what BuildKit does with the
    /// platform of the build.
    ///
    /// ```
    /// use image_ref::Platform;
    ///
    /// assert_eq!(Platform::parse("linux/arm").unwrap().to_string(), "linux/arm/v7");
    /// assert_eq!(Platform::parse("aarch64").unwrap().to_string(), "linux/arm64");
    /// assert_eq!(
    ///     Platform::parse("linux/arm64/v8").unwrap().to_string(),
    ///     "linux/arm64"
    /// );
    /// ```
    pub fn parse(text: &str) -> Result<Platform, PlatformError> {
        Ok(Platform::parse_unnormalized(text)?.normalize())
    }

    /// Parses `os[/arch[/variant]]` (or a bare OS or architecture) exactly as containerd's
    /// `platforms.Parse`, without `Normalize`: what BuildKit does with `FROM --platform=…`.
    ///
    /// A bare OS (`linux`) takes this machine's architecture, a bare architecture (`arm64`)
    /// this machine's OS. An OS version or OS features (`windows(10.0.17763+win32k)`) are
    /// checked but not kept.
    ///
    /// ```
    /// use image_ref::Platform;
    ///
    /// assert_eq!(Platform::parse_unnormalized("linux/arm").unwrap().to_string(), "linux/arm");
    /// assert_eq!(
    ///     Platform::parse_unnormalized("linux/arm64/v8").unwrap().to_string(),
    ///     "linux/arm64/v8"
    /// );
    /// ```
    pub fn parse_unnormalized(text: &str) -> Result<Platform, PlatformError> {
        if text.contains('*') {
            return Err(PlatformError::invalid_argument(format!(
                "{}: wildcards not yet supported",
                go_quote(text)
            )));
        }
        let parts: Vec<&str> = text.splitn(4, '/').collect();
        let os = parse_os_component(parts[0], text)?;
        for part in &parts[1..] {
            if !is_component(part) {
                return Err(PlatformError::invalid_argument(format!(
                    "{} is an invalid component of {}: platform specifier component must match {}",
                    go_quote(part),
                    go_quote(text),
                    go_quote(COMPONENT_PATTERN)
                )));
            }
        }
        let host = Platform::host();
        let (os, (architecture, variant)) = match parts[..] {
            [_] if is_known_os(&os) => (os, (host.architecture, host.variant.unwrap_or_default())),
            [arch] => {
                let (architecture, variant) = drop_arm_v7(normalize_arch(arch, ""));
                if !is_known_arch(&architecture) {
                    return Err(PlatformError::invalid_argument(format!(
                        "{}: unknown operating system or architecture",
                        go_quote(text)
                    )));
                }
                (host.os, (architecture, variant))
            }
            [_, arch] => (os, drop_arm_v7(normalize_arch(arch, ""))),
            [_, arch, variant] => {
                let (architecture, variant) = normalize_arch(arch, variant);
                if architecture == "arm64" && variant.is_empty() {
                    (os, (architecture, "v8".to_string()))
                } else {
                    (os, (architecture, variant))
                }
            }
            _ => {
                return Err(PlatformError::invalid_argument(format!(
                    "{}: cannot parse platform specifier",
                    go_quote(text)
                )))
            }
        };
        Ok(Platform {
            os,
            architecture,
            variant: (!variant.is_empty()).then_some(variant),
        })
    }

    /// containerd's `platforms.Normalize`: canonical OS, architecture and variant names
    /// (`aarch64` → `arm64`, `arm` → `arm/v7`, `arm64/v8` → `arm64`, `amd64/v1` → `amd64`).
    pub fn normalize(&self) -> Platform {
        let os = if self.os.is_empty() {
            Platform::host().os
        } else {
            normalize_os(&self.os)
        };
        let (architecture, variant) =
            normalize_arch(&self.architecture, self.variant.as_deref().unwrap_or(""));
        Platform {
            os,
            architecture,
            variant: (!variant.is_empty()).then_some(variant),
        }
    }
}

impl Platform {
    /// Whether the operating system and the architecture are ones Go knows (and so
    /// containerd and an engine): `parse` accepts any `os/arch`, as BuildKit's `FROM
    /// --platform` does, but a build can only be for one of these.
    ///
    /// ```
    /// use image_ref::Platform;
    ///
    /// assert!(Platform::parse("linux/arm64").unwrap().is_known());
    /// assert!(!Platform::parse("bogus/arch").unwrap().is_known());
    /// ```
    pub fn is_known(&self) -> bool {
        is_known_os(&self.os) && is_known_arch(&self.architecture)
    }

    /// The platform of this machine (`linux/amd64` on x86-64 Linux).
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }
}

impl fmt::Display for Platform {
    /// containerd's `platforms.Format`: `path.Join(os, arch, variant)`, or `unknown` without
    /// an OS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.os.is_empty() {
            return f.write_str("unknown");
        }
        let variant = self.variant.as_deref().unwrap_or("");
        f.write_str(&join_path(&[&self.os, &self.architecture, variant]))
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(text: &str) -> Result<Platform, PlatformError> {
        Platform::parse(text)
    }
}

impl From<Platform> for String {
    fn from(platform: Platform) -> String {
        platform.to_string()
    }
}

impl TryFrom<String> for Platform {
    type Error = PlatformError;
    fn try_from(text: String) -> Result<Platform, PlatformError> {
        Platform::parse(&text)
    }
}

/// Checks the first component (`os[(version[+feature]*)]`) and returns the normalised OS.
fn parse_os_component(part: &str, text: &str) -> Result<String, PlatformError> {
    let invalid = || {
        PlatformError::invalid_argument(format!(
            "{} is an invalid OS component of {}: OSAndVersion specifier component must match {}",
            go_quote(part),
            go_quote(text),
            go_quote(OS_PATTERN)
        ))
    };
    let name_len = part
        .bytes()
        .take_while(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        .count();
    if name_len == 0 {
        return Err(invalid());
    }
    let (name, options) = part.split_at(name_len);
    if !options.is_empty() {
        let inner = options
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(invalid)?;
        let option_char =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'%' | b'-');
        let mut pieces = inner.split('+');
        let version = pieces.next().unwrap_or_default();
        let features: Vec<&str> = pieces.collect();
        if !version.bytes().all(option_char)
            || features
                .iter()
                .any(|f| f.is_empty() || !f.bytes().all(option_char))
        {
            return Err(invalid());
        }
        if let Err(escape) = check_path_unescape(version) {
            return Err(PlatformError {
                message: format!(
                    "{} has an invalid OS version {}: invalid URL escape {}",
                    go_quote(text),
                    go_quote(version),
                    go_quote(escape)
                ),
            });
        }
        for feature in features {
            if let Err(escape) = check_path_unescape(feature) {
                return Err(PlatformError {
                    message: format!(
                        "{} has invalid OS features: invalid os feature {}: invalid URL escape {}",
                        go_quote(text),
                        go_quote(feature),
                        go_quote(escape)
                    ),
                });
            }
        }
    }
    Ok(normalize_os(name))
}

/// Go's `url.PathUnescape` error check: every `%` needs two hex digits; the error names the
/// bad escape (at most three characters).
fn check_path_unescape(value: &str) -> Result<(), &str> {
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%'
            && !(i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit())
        {
            let end = (i + 3).min(bytes.len());
            return Err(&value[i..end]);
        }
    }
    Ok(())
}

/// `^[A-Za-z0-9_.-]+$`.
fn is_component(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// In a one- or two-part specifier, `arm` stands for ARMv7 without saying so.
fn drop_arm_v7((architecture, variant): (String, String)) -> (String, String) {
    if architecture == "arm" && variant == "v7" {
        (architecture, String::new())
    } else {
        (architecture, variant)
    }
}

fn normalize_os(os: &str) -> String {
    let os = os.to_lowercase();
    if os == "macos" {
        "darwin".into()
    } else {
        os
    }
}

fn normalize_arch(architecture: &str, variant: &str) -> (String, String) {
    let architecture = architecture.to_lowercase();
    let variant = variant.to_lowercase();
    let (architecture, variant) = match architecture.as_str() {
        "i386" => ("386", String::new()),
        "x86_64" | "x86-64" | "amd64" => (
            "amd64",
            if variant == "v1" {
                String::new()
            } else {
                variant
            },
        ),
        "aarch64" | "arm64" => {
            let variant = match variant.as_str() {
                "8" | "v8" | "v8.0" => String::new(),
                "9" | "9.0" | "v9.0" => "v9".into(),
                _ => variant,
            };
            ("arm64", variant)
        }
        "armhf" => ("arm", "v7".into()),
        "armel" => ("arm", "v6".into()),
        "arm" => {
            let variant = match variant.as_str() {
                "" | "7" => "v7".into(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm", variant)
        }
        _ => return (architecture, variant),
    };
    (architecture.to_string(), variant)
}

fn is_known_os(os: &str) -> bool {
    matches!(
        os,
        "aix"
            | "android"
            | "darwin"
            | "dragonfly"
            | "freebsd"
            | "hurd"
            | "illumos"
            | "ios"
            | "js"
            | "linux"
            | "nacl"
            | "netbsd"
            | "openbsd"
            | "plan9"
            | "solaris"
            | "windows"
            | "zos"
    )
}

fn is_known_arch(architecture: &str) -> bool {
    matches!(
        architecture,
        "386"
            | "amd64"
            | "amd64p32"
            | "arm"
            | "armbe"
            | "arm64"
            | "arm64be"
            | "ppc64"
            | "ppc64le"
            | "loong64"
            | "mips"
            | "mipsle"
            | "mips64"
            | "mips64le"
            | "mips64p32"
            | "mips64p32le"
            | "ppc"
            | "riscv"
            | "riscv64"
            | "s390"
            | "s390x"
            | "sparc"
            | "sparc64"
            | "wasm"
    )
}

/// Go's `path.Join`: the non-empty elements joined by `/`, then `path.Clean`ed.
fn join_path(elements: &[&str]) -> String {
    let joined = elements
        .iter()
        .filter(|e| !e.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return String::new();
    }
    let rooted = joined.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ if rooted => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    let cleaned = out.join("/");
    match (rooted, cleaned.is_empty()) {
        (true, _) => format!("/{cleaned}"),
        (false, true) => ".".into(),
        (false, false) => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host_os() -> String {
        Platform::host().os
    }

    fn host_arch() -> String {
        Platform::host().architecture
    }

    #[test]
    fn parse_and_normalize() {
        let cases = [
            ("linux/arm64", "linux/arm64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64/v8", "linux/arm64"),
            ("linux/aarch64/8", "linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/v9.0", "linux/arm64/v9", "linux/arm64/v9"),
            ("linux/arm", "linux/arm", "linux/arm/v7"),
            ("linux/arm/v6", "linux/arm/v6", "linux/arm/v6"),
            ("linux/arm/7", "linux/arm/v7", "linux/arm/v7"),
            ("linux/arm/v7", "linux/arm/v7", "linux/arm/v7"),
            ("linux/armhf", "linux/arm", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6", "linux/arm/v6"),
            ("Linux/x86_64", "linux/amd64", "linux/amd64"),
            ("linux/x86-64/v1", "linux/amd64", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3", "linux/amd64/v3"),
            ("linux/i386/x", "linux/386", "linux/386"),
            ("linux/s390x", "linux/s390x", "linux/s390x"),
            ("LINUX/ARM64/V8", "linux/arm64/v8", "linux/arm64"),
            ("foo/bar", "foo/bar", "foo/bar"),
            (
                "windows(10.0.17763+win32k)/amd64",
                "windows/amd64",
                "windows/amd64",
            ),
            ("windows()/amd64", "windows/amd64", "windows/amd64"),
            ("macOS/arm64", "darwin/arm64", "darwin/arm64"),
        ];
        for (input, parsed, normalized) in cases {
            assert_eq!(
                Platform::parse_unnormalized(input).unwrap().to_string(),
                parsed,
                "{input:?}"
            );
            assert_eq!(
                Platform::parse(input).unwrap().to_string(),
                normalized,
                "{input:?}"
            );
        }
    }

    #[test]
    fn single_component_uses_the_host() {
        let os = host_os();
        let cases = [
            ("arm64", format!("{os}/arm64"), format!("{os}/arm64")),
            ("Aarch64", format!("{os}/arm64"), format!("{os}/arm64")),
            ("x86_64", format!("{os}/amd64"), format!("{os}/amd64")),
            ("i386", format!("{os}/386"), format!("{os}/386")),
            ("arm", format!("{os}/arm"), format!("{os}/arm/v7")),
            ("armhf", format!("{os}/arm"), format!("{os}/arm/v7")),
            ("armel", format!("{os}/arm/v6"), format!("{os}/arm/v6")),
            (
                "linux",
                format!("linux/{}", host_arch()),
                format!("linux/{}", host_arch()),
            ),
            (
                "macOS",
                format!("darwin/{}", host_arch()),
                format!("darwin/{}", host_arch()),
            ),
            (
                "windows(10.0)",
                format!("windows/{}", host_arch()),
                format!("windows/{}", host_arch()),
            ),
        ];
        for (input, parsed, normalized) in cases {
            assert_eq!(
                Platform::parse_unnormalized(input).unwrap().to_string(),
                parsed,
                "{input:?}"
            );
            assert_eq!(
                Platform::parse(input).unwrap().to_string(),
                normalized,
                "{input:?}"
            );
        }
    }

    #[test]
    fn errors_carry_containerd_wording() {
        let os_re =
            r#""^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.%-]*)((?:\\+[A-Za-z0-9_.%-]+)*)\\))?$""#;
        let cases = [
            ("foo".to_string(), r#""foo": unknown operating system or architecture: invalid argument"#.to_string()),
            ("linux/*".into(), r#""linux/*": wildcards not yet supported: invalid argument"#.into()),
            ("linux/amd64/v1/x".into(), r#""linux/amd64/v1/x": cannot parse platform specifier: invalid argument"#.into()),
            ("linux/a/b/c/d".into(), r#""c/d" is an invalid component of "linux/a/b/c/d": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument"#.into()),
            ("linux/".into(), r#""" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument"#.into()),
            ("linux/amd 64".into(), r#""amd 64" is an invalid component of "linux/amd 64": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument"#.into()),
            ("".into(), format!(r#""" is an invalid OS component of "": OSAndVersion specifier component must match {os_re}: invalid argument"#)),
            ("lin.ux/amd64".into(), format!(r#""lin.ux" is an invalid OS component of "lin.ux/amd64": OSAndVersion specifier component must match {os_re}: invalid argument"#)),
            ("windows(1+)/amd64".into(), format!(r#""windows(1+)" is an invalid OS component of "windows(1+)/amd64": OSAndVersion specifier component must match {os_re}: invalid argument"#)),
            ("windows(%zz)/amd64".into(), r#""windows(%zz)/amd64" has an invalid OS version "%zz": invalid URL escape "%zz""#.into()),
            ("windows(1+a%4)".into(), r#""windows(1+a%4)" has invalid OS features: invalid os feature "a%4": invalid URL escape "%4""#.into()),
            ("amd64(1)".into(), r#""amd64(1)": unknown operating system or architecture: invalid argument"#.into()),
        ];
        for (input, message) in cases {
            assert_eq!(
                Platform::parse(&input).map_err(|e| e.to_string()),
                Err(message),
                "{input:?}"
            );
        }
    }

    #[test]
    fn format_is_path_join() {
        let p = |os: &str, arch: &str, variant: Option<&str>| Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        };
        assert_eq!(p("linux", "arm", Some("v7")).to_string(), "linux/arm/v7");
        assert_eq!(p("linux", "", None).to_string(), "linux");
        assert_eq!(p("", "amd64", None).to_string(), "unknown");
        assert_eq!(p("linux", "..", Some("..")).to_string(), "..");
        assert_eq!(p("linux", ".", Some("v1")).to_string(), "linux/v1");
        let parsed: Platform = "linux/arm".parse().unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"linux/arm/v7\"");
        let back: Platform = serde_json::from_str("\"linux/aarch64\"").unwrap();
        assert_eq!(back, p("linux", "arm64", None));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = Platform::parse(&text);
        }

        #[test]
        fn normalized_platforms_are_stable(text in "[a-zA-Z0-9_/()+.%-]{0,30}") {
            if let Ok(platform) = Platform::parse(&text) {
                prop_assert_eq!(platform.normalize(), platform);
            }
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn long_platforms_are_quick(snippet in "(\\PC|[a-z0-9/()+%_.-]){1,8}") {
            let text = snippet.repeat(100_000 / snippet.chars().count() + 1);
            let start = std::time::Instant::now();
            let _ = Platform::parse(&text);
            prop_assert!(start.elapsed() < std::time::Duration::from_secs(2));
        }
    }

    #[test]
    fn long_inputs_are_linear() {
        let start = std::time::Instant::now();
        for input in [
            "a".repeat(100_000),
            "a/".repeat(50_000),
            format!("a({})", "+a".repeat(50_000)),
            "%".repeat(100_000),
        ] {
            let _ = Platform::parse(&input);
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
