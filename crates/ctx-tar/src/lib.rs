//! Stream a Docker build context as the tar BuildKit would have received.
#![deny(missing_docs)]

pub mod dockerignore;
