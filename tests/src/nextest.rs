//! nextest's view of the docker-backed tests: where no engine can be had, they are listed as
//! ignored, so that nextest counts them as skipped (`Summary … 120 passed, 104 skipped`)
//! instead of showing each as `PASS`.
//!
//! libtest has no way for a test to report itself skipped once it runs, so the decision is
//! made while nextest lists the tests: `.config/nextest.toml` gives the test binaries of the
//! packages that use this crate a list wrapper (`cargo xtask nextest-list`, nextest's
//! experimental wrapper scripts) that runs the binary's own listing and moves each test whose
//! engine cannot be had from the listing of tests to run into the listing of ignored tests
//! ([`move_unavailable`]). What a test needs is told by the last part of its name ([`needs`]);
//! whether it can be had is decided as the tests decide it ([`unavailable`]). Under CI
//! ([`must_not_skip`]) the listing is left as it is: the tests run, and fail without an engine.
//!
//! [`must_not_skip`]: crate::must_not_skip

use crate::env::TestEnv;
use crate::TestEngine;
use std::collections::HashMap;
use std::os::unix::net::UnixStream;

/// What a docker-backed test needs, as the last part of its name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Needs {
    /// One of the test matrix's engines, `20.10` or `26.1` ([`crate::engine_test!`]:
    /// `engine_20_10`, `engine_26_1`).
    Engine(&'static str),
    /// The engine behind the authorization plugin ([`crate::authz_test!`]: `engine_authz`).
    Authz,
}

impl std::fmt::Display for Needs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Needs::Engine(version) => write!(f, "test engine {version}"),
            Needs::Authz => f.write_str("authz test engine"),
        }
    }
}

/// What the test `name` (its full path, `module::test`) needs, if it is docker-backed.
pub fn needs(name: &str) -> Option<Needs> {
    let last = name.rsplit("::").next().unwrap_or(name);
    match last {
        "engine_20_10" => Some(Needs::Engine("20.10")),
        "engine_26_1" => Some(Needs::Engine("26.1")),
        "engine_authz" => Some(Needs::Authz),
        _ => None,
    }
}

/// Why `needs` cannot be had now, or `None` when it can: an engine must answer `GET /_ping`,
/// as [`crate::run_on`] asks; the authz engine must accept a connection on its socket (a
/// request would land in its plugin's request log, which tests count).
pub fn unavailable(needs: Needs) -> Option<String> {
    match needs {
        Needs::Engine(version) => TestEngine::connect(version).err(),
        Needs::Authz => {
            let env = match TestEnv::load() {
                Ok(env) => env,
                Err(e) => return Some(e),
            };
            let Some(authz) = &env.authz else {
                return Some("the env file lists no authz engine".to_string());
            };
            let socket = &authz.engine.socket;
            UnixStream::connect(socket)
                .err()
                .map(|e| format!("{} does not answer: {e}", socket.display()))
        }
    }
}

/// A test listing (`--list --format terse`: `name: test` lines) split in two: the tests whose
/// needs `why_not` says cannot be had, and the rest.
#[derive(Debug, Default, PartialEq)]
pub struct Moved {
    /// The listing without the tests that cannot run (what to print for the tests to run).
    pub kept: String,
    /// The lines of the tests that cannot run (what to add to the ignored tests' listing).
    pub moved: String,
    /// Why, for each need that cannot be had, with how many tests it kept from running.
    pub reasons: Vec<(Needs, String, usize)>,
}

/// Splits `listing` with `why_not` (e.g. [`unavailable`]), asked once per need.
pub fn move_unavailable(listing: &str, mut why_not: impl FnMut(Needs) -> Option<String>) -> Moved {
    let mut answers: HashMap<Needs, Option<String>> = HashMap::new();
    let mut moved = Moved::default();
    for line in listing.lines() {
        let needs = line.strip_suffix(": test").and_then(needs);
        let why = needs.and_then(|n| answers.entry(n).or_insert_with(|| why_not(n)).clone());
        match (needs, why) {
            (Some(n), Some(why)) => {
                moved.moved.push_str(line);
                moved.moved.push('\n');
                match moved.reasons.iter_mut().find(|(m, _, _)| *m == n) {
                    Some((_, _, count)) => *count += 1,
                    None => moved.reasons.push((n, why, 1)),
                }
            }
            _ => {
                moved.kept.push_str(line);
                moved.kept.push('\n');
            }
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_needs_what_the_last_part_of_its_name_says() {
        assert_eq!(needs("builds::engine_20_10"), Some(Needs::Engine("20.10")));
        assert_eq!(needs("a::b::engine_26_1"), Some(Needs::Engine("26.1")));
        assert_eq!(needs("denied_pull::engine_authz"), Some(Needs::Authz));
        assert_eq!(needs("engine_26_1"), Some(Needs::Engine("26.1")));
        assert_eq!(needs("engine_26_1::parses"), None);
        assert_eq!(needs("parses_the_env_file"), None);
    }

    #[test]
    fn moves_the_tests_whose_engine_is_missing_and_asks_once_per_engine() {
        let listing = "\
builds::engine_20_10: test
builds::engine_26_1: test
pushes::engine_26_1: test
parses: test
denied::engine_authz: test
a_bench: bench
";
        let mut asked = Vec::new();
        let moved = move_unavailable(listing, |needs| {
            asked.push(needs);
            (needs != Needs::Engine("20.10")).then(|| format!("no {needs}"))
        });
        assert_eq!(
            moved.kept,
            "builds::engine_20_10: test\nparses: test\na_bench: bench\n"
        );
        assert_eq!(
            moved.moved,
            "builds::engine_26_1: test\npushes::engine_26_1: test\ndenied::engine_authz: test\n"
        );
        assert_eq!(
            moved.reasons,
            [
                (Needs::Engine("26.1"), "no test engine 26.1".to_string(), 2),
                (Needs::Authz, "no authz test engine".to_string(), 1),
            ]
        );
        assert_eq!(
            asked,
            [Needs::Engine("20.10"), Needs::Engine("26.1"), Needs::Authz]
        );
    }
}
