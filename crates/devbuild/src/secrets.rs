//! Build secrets (`--secret`), as `docker buildx build` takes them: where each value comes
//! from ([`SecretSource`], parsed as buildx parses the flag), and reading them all before
//! anything is sent ([`read`]). A build with secrets opens a BuildKit session that serves
//! them (`engine_client::session`); one without opens none.
//!
//! ```
//! use devbuild::secrets::SecretSource;
//! let token = SecretSource::parse("id=token,src=token.txt").unwrap();
//! assert_eq!(token.id, "token");
//! assert_eq!(token.src.as_deref(), Some(std::path::Path::new("token.txt")));
//! ```

use std::path::{Path, PathBuf};

use engine_client::session::MAX_SECRET_SIZE;
use engine_client::BuildSecrets;

/// Where one secret's value comes from: `id=ID[,src=PATH|,env=VAR]`.
///
/// With neither `src` nor `env` (buildx's and BuildKit's default, `secretsprovider.NewStore`):
/// the environment variable named `ID` when it is set, else the file `ID`. With both, the
/// variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretSource {
    /// The id a `RUN --mount=type=secret,id=…` names.
    pub id: String,
    /// The file holding the value (`src=`, `source=`).
    pub src: Option<PathBuf>,
    /// The environment variable holding the value (`env=`, or `src=` with `type=env`).
    pub env: Option<String>,
}

impl SecretSource {
    /// Parses `--secret`'s value as buildx does: comma-separated `key=value` fields
    /// (keys in any case) `id`, `src`/`source`, `env` and `type=file|env`; `type=env` makes
    /// `src` the variable's name. The error says what is wrong in buildx's words.
    pub fn parse(text: &str) -> Result<SecretSource, String> {
        let mut id = None;
        let mut src = None;
        let mut env = None;
        let mut kind = None;
        for field in text.split(',') {
            let Some((key, value)) = field.split_once('=') else {
                return Err(format!(
                    "--secret {text:?}: invalid field '{field}' must be a key=value pair"
                ));
            };
            match key.to_ascii_lowercase().as_str() {
                "type" if value == "file" || value == "env" => kind = Some(value.to_owned()),
                "type" => {
                    return Err(format!(
                        "--secret {text:?}: unsupported secret type {value:?}"
                    ))
                }
                "id" => id = Some(value.to_owned()),
                "src" | "source" => src = Some(value.to_owned()),
                "env" => env = Some(value.to_owned()),
                other => {
                    return Err(format!(
                        "--secret {text:?}: unexpected key '{other}' in '{field}'"
                    ))
                }
            }
        }
        if kind.as_deref() == Some("env") && env.is_none() {
            env = src.take();
        }
        let id = id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("--secret {text:?}: secret missing ID (give id=ID)"))?;
        Ok(SecretSource {
            id,
            src: src.filter(|s| !s.is_empty()).map(PathBuf::from),
            env: env.filter(|e| !e.is_empty()),
        })
    }
}

/// A secret's value could not be had. Names the secret, and the file or variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Its file cannot be read.
    #[error("secret {id}: cannot read {}: {reason}", path.display())]
    Unreadable {
        /// The secret's id.
        id: String,
        /// The file.
        path: PathBuf,
        /// Why, in the OS's words.
        reason: String,
    },
    /// Its environment variable is not set.
    #[error("secret {id}: the environment variable {var} is not set")]
    Unset {
        /// The secret's id.
        id: String,
        /// The variable.
        var: String,
    },
    /// It is larger than BuildKit takes (500 KiB).
    #[error("secret {id}: {size} bytes is too big; BuildKit takes at most {max} bytes", max = MAX_SECRET_SIZE)]
    TooBig {
        /// The secret's id.
        id: String,
        /// Its size.
        size: usize,
    },
}

/// Reads every secret's value, from the environment `var` gives (`std::env::var_os` in
/// the build): the first that cannot be had is the error. A later `id` replaces an
/// earlier one, as in buildx.
pub fn read_with(
    sources: &[SecretSource],
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<BuildSecrets, SecretError> {
    let mut secrets = BuildSecrets::new();
    for source in sources {
        let value = match (&source.env, &source.src) {
            (Some(name), _) => env_value(&source.id, name, &var)?,
            (None, Some(path)) => file_value(&source.id, path)?,
            (None, None) => match var(&source.id) {
                Some(value) => os_bytes(value),
                None => file_value(&source.id, Path::new(&source.id))?,
            },
        };
        if value.len() > MAX_SECRET_SIZE {
            return Err(SecretError::TooBig {
                id: source.id.clone(),
                size: value.len(),
            });
        }
        secrets.insert(source.id.clone(), value);
    }
    Ok(secrets)
}

/// [`read_with`] the process's environment.
pub fn read(sources: &[SecretSource]) -> Result<BuildSecrets, SecretError> {
    read_with(sources, |name| std::env::var_os(name))
}

fn env_value(
    id: &str,
    name: &str,
    var: &impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Vec<u8>, SecretError> {
    var(name).map(os_bytes).ok_or_else(|| SecretError::Unset {
        id: id.to_owned(),
        var: name.to_owned(),
    })
}

fn file_value(id: &str, path: &Path) -> Result<Vec<u8>, SecretError> {
    let unreadable = |reason: String| SecretError::Unreadable {
        id: id.to_owned(),
        path: path.to_owned(),
        reason,
    };
    // Not read whole before its size is known: a large file is refused by its size.
    let metadata = std::fs::metadata(path).map_err(|e| unreadable(os_reason(&e)))?;
    if metadata.is_dir() {
        return Err(unreadable("it is a directory".to_owned()));
    }
    if metadata.len() > MAX_SECRET_SIZE as u64 {
        return Err(SecretError::TooBig {
            id: id.to_owned(),
            size: usize::try_from(metadata.len()).unwrap_or(usize::MAX),
        });
    }
    std::fs::read(path).map_err(|e| unreadable(os_reason(&e)))
}

/// An I/O error as the OS says it, without Rust's `(os error N)`.
fn os_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_owned(),
    }
}

#[cfg(unix)]
fn os_bytes(value: std::ffi::OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

#[cfg(not(unix))]
fn os_bytes(value: std::ffi::OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, src: Option<&str>, env: Option<&str>) -> SecretSource {
        SecretSource {
            id: id.to_owned(),
            src: src.map(PathBuf::from),
            env: env.map(str::to_owned),
        }
    }

    #[test]
    fn the_flag_is_read_as_buildx_reads_it() {
        for (text, expected) in [
            ("id=a", source("a", None, None)),
            ("id=a,src=f", source("a", Some("f"), None)),
            ("ID=a,Source=f", source("a", Some("f"), None)),
            ("id=a,env=V", source("a", None, Some("V"))),
            ("id=a,type=env,src=V", source("a", None, Some("V"))),
            (
                "id=a,type=env,env=V,src=f",
                source("a", Some("f"), Some("V")),
            ),
            ("id=a,type=file,src=f", source("a", Some("f"), None)),
        ] {
            assert_eq!(SecretSource::parse(text).unwrap(), expected, "{text}");
        }
        for (text, says) in [
            ("src=f", "secret missing ID"),
            ("id=", "secret missing ID"),
            ("id=a,type=ssh", "unsupported secret type \"ssh\""),
            ("id=a,mode=0400", "unexpected key 'mode'"),
            ("id=a,f", "invalid field 'f' must be a key=value pair"),
        ] {
            let error = SecretSource::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn values_come_from_the_file_the_variable_or_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.txt");
        std::fs::write(&file, "from-file").unwrap();
        let default_file = dir.path().join("bare");
        std::fs::write(&default_file, "default-file").unwrap();
        let var = |name: &str| (name == "V" || name == "set").then(|| format!("env-{name}").into());
        let sources = [
            source("f", file.to_str(), None),
            source("e", None, Some("V")),
            source("both", file.to_str(), Some("V")),
            source("set", None, None),
            source(default_file.to_str().unwrap(), None, None),
        ];
        let secrets = read_with(&sources, var).unwrap();
        let value = |id: &str| String::from_utf8(secrets.get(id).unwrap().to_vec()).unwrap();
        assert_eq!(value("f"), "from-file");
        assert_eq!(value("e"), "env-V");
        assert_eq!(value("both"), "env-V");
        assert_eq!(value("set"), "env-set");
        assert_eq!(value(default_file.to_str().unwrap()), "default-file");
        let shown = format!("{secrets:?}");
        for value in ["from-file", "env-V", "env-set", "default-file"] {
            assert!(!shown.contains(value), "{shown}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.txt");
        let error = read_with(&[source("tok", missing.to_str(), None)], |_| None).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "secret tok: cannot read {}: no such file or directory",
                missing.display()
            )
        );
        let error = read_with(&[source("tok", None, Some("NOPE"))], |_| None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "secret tok: the environment variable NOPE is not set"
        );
        // Only an id: no variable `absent-id`, and no such file either.
        let error = read_with(&[source("absent-id", None, None)], |_| None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("secret absent-id: cannot read absent-id: "),
            "{error}"
        );
        let error = read_with(&[source("d", dir.path().to_str(), None)], |_| None).unwrap_err();
        assert!(error.to_string().ends_with("it is a directory"), "{error}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; MAX_SECRET_SIZE + 1]).unwrap();
        let error = read_with(&[source("big", big.to_str(), None)], |_| None).unwrap_err();
        assert!(error.to_string().contains("too big"), "{error}");
    }
}
