//! Platforms (`os/arch[/variant]`), parsed and normalised as containerd's `platforms` package does.

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

/// Why a platform string is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PlatformError {
    message: String,
}

impl Platform {
    /// Parses and normalises `os[/arch[/variant]]` (or a bare architecture) as containerd does.
    pub fn parse(text: &str) -> Result<Platform, PlatformError> {
        let _ = text;
        Err(PlatformError {
            message: "not yet implemented".into(),
        })
    }
}

impl Platform {
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

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
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
