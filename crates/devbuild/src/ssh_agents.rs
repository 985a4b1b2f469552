//! SSH agents for the build (`--ssh`), as `docker buildx build` takes them: which agent or
//! keys each id forwards ([`SshSource`], parsed as buildx parses the flag), and opening them
//! all before anything is sent ([`open`]). A build with agents opens a BuildKit session
//! that forwards them (`engine_client::ssh_agents`); one without opens none.
//!
//! ```
//! use devbuild::ssh_agents::SshSource;
//! let deploy = SshSource::parse("deploy=/keys/id_deploy,/keys/id_other");
//! assert_eq!(deploy.id, "deploy");
//! assert_eq!(deploy.paths.len(), 2);
//! assert!(SshSource::parse("default").paths.is_empty());
//! ```

use std::path::PathBuf;

use engine_client::ssh_agents::SshAgentError;
use engine_client::SshAgents;

/// What one id forwards: `default|ID[=SOCKET|KEY[,KEY…]]`. No path is `$SSH_AUTH_SOCK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshSource {
    /// The id a `RUN --mount=type=ssh,id=…` names (`default` without `id=`).
    pub id: String,
    /// One agent socket, or private key files; none for `$SSH_AUTH_SOCK`.
    pub paths: Vec<PathBuf>,
}

impl SshSource {
    /// Parses `--ssh`'s value as buildx does: the id up to the first `=`, then
    /// comma-separated paths. An empty id is `default`. Every value parses; what the paths
    /// hold is checked by [`open`].
    pub fn parse(text: &str) -> SshSource {
        let (id, paths) = match text.split_once('=') {
            Some((id, paths)) => (id, paths.split(',').map(PathBuf::from).collect()),
            None => (text, Vec::new()),
        };
        let id = if id.is_empty() {
            engine_client::ssh_agents::DEFAULT_ID
        } else {
            id
        };
        SshSource {
            id: id.to_owned(),
            paths,
        }
    }
}

/// Opens every agent (connects to each socket, checks and loads each key) before anything
/// is sent: the first that cannot be used is the error, naming its id and path.
pub fn open(sources: &[SshSource]) -> Result<SshAgents, SshAgentError> {
    let mut agents = SshAgents::new();
    for source in sources {
        agents.add(&source.id, &source.paths)?;
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_read_as_buildx_reads_it() {
        let parse = SshSource::parse;
        assert_eq!(
            parse("default"),
            SshSource {
                id: "default".into(),
                paths: vec![]
            }
        );
        assert_eq!(parse("=/run/agent.sock").id, "default");
        assert_eq!(parse("git=/a=b").paths, [PathBuf::from("/a=b")]);
        assert_eq!(
            parse("keys=/k/one,/k/two").paths,
            [PathBuf::from("/k/one"), PathBuf::from("/k/two")]
        );
    }

    #[test]
    fn an_unusable_path_is_named_before_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("id_missing");
        let error = open(&[SshSource {
            id: "deploy".into(),
            paths: vec![missing.clone()],
        }])
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "ssh deploy: {}: no such file or directory",
                missing.display()
            )
        );
    }
}
