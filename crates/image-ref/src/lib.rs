//! Image references and platforms: the one vocabulary the devbuild crates share.
//!
//! [`ImageRef`] is an image reference parsed and normalised as BuildKit's `FROM` does
//! (docker/distribution's `ParseNormalizedNamed` then `TagNameOnly`): `alpine` is
//! `docker.io/library/alpine:latest`. [`Platform`] is an `os/arch[/variant]` parsed and
//! normalised as containerd's `platforms` package does. Errors keep the Go originals'
//! wording.
//!
//! The Dockerfile analyser produces these values and the engine client consumes them (the
//! name and tag to pull, the registry to log in to, whether a local image fits a platform),
//! so neither re-parses the other's strings and neither depends on the other.
//!
//! ```
//! use image_ref::{ImageRef, Platform};
//!
//! let image = ImageRef::parse("ghcr.io/acme/base:1")?;
//! assert_eq!(image.domain(), "ghcr.io");
//! assert_eq!(image.name(), "ghcr.io/acme/base");
//! assert_eq!(image.tag(), Some("1"));
//!
//! let hub = ImageRef::parse("alpine")?;
//! assert_eq!(hub.to_string(), "docker.io/library/alpine:latest");
//! assert_eq!(hub.familiar(), "alpine:latest");
//!
//! assert_eq!(Platform::parse("linux/arm")?.to_string(), "linux/arm/v7");
//! assert!(ImageRef::parse("Alpine").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crate does no I/O and has no dependencies beyond serde and thiserror.
#![deny(missing_docs)]

pub mod platform;
mod quote;
pub mod reference;

pub use platform::{Platform, PlatformError};
pub use quote::go_quote;
pub use reference::{ImageRef, ReferenceError};
