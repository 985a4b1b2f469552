//! Image references, parsed and normalised by the docker reference grammar.

/// A normalised image reference: `docker.io/library/alpine:latest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Why a string is not a valid image reference (the reference library's wording).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReferenceError {
    message: String,
}

impl ImageRef {
    /// Parses a reference as `FROM` does and normalises it (`alpine` → `docker.io/library/alpine:latest`).
    pub fn parse(text: &str) -> Result<ImageRef, ReferenceError> {
        let _ = text;
        Err(ReferenceError {
            message: "not yet implemented".into(),
        })
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
