//! devbuild: build container images through the Docker Engine API with BuildKit.
#![deny(missing_docs)]
