//! devbuild: build container images through the Docker Engine API with BuildKit.
//!
//! This crate is the facade over the pipeline's crates, re-exported here so that a user
//! depends on one crate:
//!
//! - [`dockerfile_froms`]: every external image a Dockerfile needs, as BuildKit sees it.
//!
//! ```
//! let analysis = devbuild::dockerfile_froms::analyze(
//!     "FROM alpine:3.19 AS base\nFROM base\n",
//!     &Default::default(),
//! );
//! # let _ = analysis;
//! ```
#![deny(missing_docs)]

pub use dockerfile_froms;
