//! Support for the docker-backed tests: the private engines and registry that
//! `cargo xtask engine up` starts, found through its env file.
//!
//! Each test runs once per engine (Docker Engine 20.10 and 26.1), through [`engine_test!`]:
//!
//! ```no_run
//! devbuild_tests::engine_test! {
//!     /// The engine answers `GET /_ping`.
//!     fn engine_answers(engine) {
//!         assert_eq!(engine.get("/_ping").status, 200);
//!     }
//! }
//! ```
//!
//! The env file is `$DEVBUILD_TEST_ENV_FILE`, else `target/devbuild-engines/env` in the
//! workspace. When it is missing or an engine does not answer, a test prints one
//! `SKIPPED (no test engine …)` line and passes, except under CI (`CI` set, or
//! `DEVBUILD_TEST_REQUIRE_ENGINE=1`, which `cargo xtask ci` sets), where it fails.
//!
//! Tests name what they create uniquely ([`TestEngine::unique_name`]) and remove it, also when
//! they fail ([`ImageGuard`]). A test that needs the private image in its engine takes its
//! own copy ([`Registry::copy_private_image`]) so that no other test sees it pulled.
//! [`TestEngine::export_image`] gives an image's filesystem as a tar, through a container it
//! removes again; [`ImageFs`] reads such a tar into something two images can be compared by.
//! [`UnixProxy`] stands between a client and an engine and can be cut, for tests of an engine
//! that goes away mid-request (the shared engines themselves are never stopped);
//! [`SlowTcpProxy`] stands before the registry and answers late. A test that must change what
//! every build on its engine shares (its build cache) does so in [`TestEngine::alone`].
//!
//! A third engine runs behind the harness's authorization plugin; tests reach it with
//! [`run_on_authz`] (skipping or failing like [`run_on`]), read the plugin's request log and
//! make it deny requests through [`AuthzEngine`].
//!
//! Every docker-backed test is named for what it needs, so that a listing can tell it: the
//! last part of its name is `engine_20_10` or `engine_26_1` ([`engine_test!`]) or
//! `engine_authz` ([`authz_test!`]). Under nextest, the tests whose engine cannot be had are
//! listed as ignored, so its summary counts them as skipped ([`nextest`]).
//!
//! The harness also serves remote build contexts on 127.0.0.1 (a git repository and a
//! tarball, [`RemoteEntry`]); tests get them from [`TestEnv::remote_or_skip`].
//!
//! Engine 26.1 is also served remotely, as a remote engine is reached: over tcp+TLS
//! (`--tlsverify`, [`TlsEntry`], from [`TestEnv::tls_or_skip`]) and over ssh (Debian's sshd
//! running `docker system dial-stdio`, [`SshEntry`], from [`TestEnv::ssh_or_skip`]), with
//! certificates, keys and client configurations generated for the run, good and bad ones.

#![deny(missing_docs)]

mod authz;
mod container;
pub mod context_vectors;
mod engine;
mod engine_lock;
mod env;
pub mod http;
mod image_fs;
pub mod nextest;
pub mod process;
mod proxy;
mod registry;
mod slow_tcp;
pub mod ssh_agent;
pub mod tar;

pub use authz::{run_on_authz, Access as AuthzAccess, AuthzEngine, LoggedRequest};
pub use engine::{ImageGuard, StreamOutcome, TestEngine};
pub use env::{
    env_file_path, must_not_skip, shell_quote, AuthzEntry, EngineEntry, RemoteEntry, SshEntry,
    TestEnv, TlsEntry,
};
pub use image_fs::{FsNode, ImageFs, NodeKind};
pub use proxy::UnixProxy;
pub use registry::{base64_standard, base64_url_safe, Registry};
pub use slow_tcp::SlowTcpProxy;

/// A deterministic byte pattern that does not compress (xorshift32), for test files whose
/// content must survive a round trip byte for byte.
pub fn incompressible_bytes(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// The docker CLI the harness installs (Debian 12's `docker.io`, the 20.10 CLI): the real
/// client the remote endpoints are checked with, and what the ssh endpoint's forced command
/// runs (`docker system dial-stdio`).
pub const DOCKER_CLI: &str = "/usr/bin/docker";

/// The engine versions every docker-backed test runs against.
pub const ENGINE_VERSIONS: [&str; 2] = ["20.10", "26.1"];

/// Runs `test` against the engine `version` (`20.10` or `26.1`), or skips loudly (fails
/// under CI) when that engine cannot be had.
pub fn run_on(version: &str, test: impl FnOnce(&TestEngine)) {
    match TestEngine::connect(version) {
        Ok(engine) => {
            /// Lets go of the engine's test lock also when the test panics.
            struct Release<'a>(&'a TestEngine, bool);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    if self.1 {
                        engine_lock::release_shared(self.0);
                    }
                }
            }
            let _release = Release(&engine, engine_lock::hold_shared(&engine));
            test(&engine)
        }
        Err(why) => {
            let message =
                format!("no test engine {version}: {why}; run `cargo xtask engine up` to get one");
            if must_not_skip() {
                panic!("{message} (docker-backed tests never skip in CI)");
            }
            // Straight to the process's stderr, past the test harness's output capture.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED ({message})");
        }
    }
}

/// Defines tests that run once per engine: `fn name(engine) { … }` becomes a module
/// `name` with the tests `engine_20_10` and `engine_26_1`, each given a `&TestEngine`.
#[macro_export]
macro_rules! engine_test {
    ($($(#[$meta:meta])* fn $name:ident($engine:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[test]
                fn engine_20_10() {
                    $crate::run_on("20.10", |$engine: &$crate::TestEngine| $body);
                }

                #[test]
                fn engine_26_1() {
                    $crate::run_on("26.1", |$engine: &$crate::TestEngine| $body);
                }
            }
        )*
    };
}

/// Defines tests of the engine behind the authorization plugin: `fn name(authz, Shared) { … }`
/// (or `Exclusive`, see [`AuthzAccess`]) becomes a module `name` with the test
/// `engine_authz`, run through [`run_on_authz`] and given a `&AuthzEngine`.
#[macro_export]
macro_rules! authz_test {
    ($($(#[$meta:meta])* fn $name:ident($authz:ident, $access:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[test]
                fn engine_authz() {
                    $crate::run_on_authz(
                        $crate::AuthzAccess::$access,
                        |$authz: &$crate::AuthzEngine| $body,
                    );
                }
            }
        )*
    };
}
