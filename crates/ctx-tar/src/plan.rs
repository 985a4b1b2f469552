//! Resolving a [`ContextSpec`]: the real context root, the Dockerfile (inside the context,
//! or read to be appended), and the ignore rules.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::dockerignore::IgnoreRules;
use crate::spec::{ContextSpec, Dockerfile, IgnoreSource, Include, MtimePolicy};
use crate::{follow, Error};

/// A resolved spec: everything the walk needs, checked before any output.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The context directory with symlinks resolved.
    pub root: PathBuf,
    pub rules: Arc<IgnoreRules>,
    pub ignore_file: Option<PathBuf>,
    /// The Dockerfile's path inside the context, always sent.
    pub forced: Option<Vec<u8>>,
    /// The user's rules alone: `rules` may add an exception for the Dockerfile.
    pub user_rules: Arc<IgnoreRules>,
    /// The include patterns when only some paths are sent (the Dockerfile's among them),
    /// `None` when every path is.
    pub includes: Option<Arc<IgnoreRules>>,
    /// A Dockerfile from outside the context, appended at the end.
    pub outside: Option<OutsideDockerfile>,
    /// The Dockerfile's name in the archive.
    pub dockerfile_name: Option<String>,
    pub mtime: MtimePolicy,
}

/// A Dockerfile outside the context, read up front.
#[derive(Debug)]
pub(crate) struct OutsideDockerfile {
    pub name: String,
    pub data: Arc<[u8]>,
    pub mtime: i64,
}

pub(crate) fn resolve(spec: &ContextSpec) -> Result<Plan, Error> {
    let context_error = |source| Error::Context {
        path: spec.root.clone(),
        source,
    };
    let root = std::fs::canonicalize(&spec.root).map_err(context_error)?;
    if !std::fs::metadata(&root).map_err(context_error)?.is_dir() {
        return Err(context_error(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }

    let given = match &spec.dockerfile {
        Dockerfile::None | Dockerfile::Text(_) => None,
        Dockerfile::Path(path) => Some(path.clone()),
        Dockerfile::Default => Dockerfile::default_in(&root),
    };

    let mut forced = None;
    let mut outside = None;
    let mut dockerfile_name = None;
    if let Some(given) = &given {
        let dockerfile_error = |source| Error::Dockerfile {
            path: given.clone(),
            source,
        };
        let real = std::fs::canonicalize(given).map_err(dockerfile_error)?;
        match real.strip_prefix(&root) {
            Ok(rel) if !rel.as_os_str().is_empty() => {
                dockerfile_name = Some(rel.to_string_lossy().into_owned());
                forced = Some(rel.as_os_str().as_bytes().to_vec());
            }
            _ => {
                let data = std::fs::read(&real).map_err(dockerfile_error)?;
                let meta = std::fs::metadata(&real).map_err(dockerfile_error)?;
                let name = format!(".dockerfile.{}", content_hex(&data));
                dockerfile_name = Some(name.clone());
                outside = Some(OutsideDockerfile {
                    name,
                    data: data.into(),
                    mtime: spec.mtime.apply(meta.mtime()),
                });
            }
        }
    }

    if let Dockerfile::Text(text) = &spec.dockerfile {
        let data = text.as_bytes();
        let name = format!(".dockerfile.{}", content_hex(data));
        dockerfile_name = Some(name.clone());
        outside = Some(OutsideDockerfile {
            name,
            data: data.into(),
            mtime: spec.mtime.apply(0),
        });
    }

    let (text, ignore_file) = match &spec.ignore {
        IgnoreSource::None => (String::new(), None),
        IgnoreSource::Text(text) => (text.clone(), None),
        IgnoreSource::Auto => {
            let mut candidates = Vec::new();
            if let Some(given) = &given {
                let mut name = given.as_os_str().to_owned();
                name.push(".dockerignore");
                candidates.push(PathBuf::from(name));
            }
            candidates.push(root.join(".dockerignore"));
            read_first(&candidates)?
        }
    };
    let ignore_error = |err: crate::dockerignore::IgnoreError| Error::Ignore {
        file: ignore_file.clone(),
        line: err.line,
        message: err.message,
    };
    let user_rules = Arc::new(IgnoreRules::parse(&text).map_err(ignore_error)?);
    let mut rules = Arc::clone(&user_rules);
    // The engine reads the Dockerfile from the tar, so it is always sent: an excluded
    // Dockerfile gets an exception of its own (as the docker CLI adds `!Dockerfile`), which
    // also sends its parent directories and keeps them from being pruned.
    if let Some(forced) = &forced {
        let forced = String::from_utf8_lossy(forced);
        if rules.explain(&forced).excluded {
            let text = format!("{text}\n!{}\n", escape_pattern(&forced));
            rules = Arc::new(IgnoreRules::parse(&text).map_err(ignore_error)?);
        }
    }

    let includes = match &spec.include {
        Include::All => None,
        Include::Paths(paths) => match follow::resolve(&root, paths)? {
            None => None,
            Some(mut patterns) => {
                if let Some(forced) = &forced {
                    patterns.push(escape_pattern(&String::from_utf8_lossy(forced)));
                }
                let compiled = IgnoreRules::from_patterns(&patterns).map_err(|err| {
                    let path = patterns.get(err.line - 1).cloned().unwrap_or(err.text);
                    Error::Include {
                        path,
                        message: err.message,
                    }
                })?;
                Some(Arc::new(compiled))
            }
        },
    };

    Ok(Plan {
        root,
        rules,
        ignore_file,
        forced,
        user_rules,
        includes,
        outside,
        dockerfile_name,
        mtime: spec.mtime,
    })
}

/// `path` as a pattern that matches only itself.
fn escape_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The text of the first file that exists.
fn read_first(candidates: &[PathBuf]) -> Result<(String, Option<PathBuf>), Error> {
    for path in candidates {
        match std::fs::read(path) {
            Ok(bytes) => {
                return Ok((
                    String::from_utf8_lossy(&bytes).into_owned(),
                    Some(path.clone()),
                ));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(Error::Unreadable {
                    path: path.clone(),
                    source,
                })
            }
        }
    }
    Ok((String::new(), None))
}

/// 20 lowercase hex digits derived from the content (FNV-1a, 128 bits), so that the same
/// Dockerfile always gets the same name and the archive stays reproducible.
fn content_hex(data: &[u8]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    let hash = data.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u128::from(byte)).wrapping_mul(PRIME)
    });
    format!("{hash:032x}")[..20].to_owned()
}

#[cfg(test)]
mod tests {
    use super::content_hex;

    #[test]
    fn dockerfile_names_are_stable_and_20_hex_digits() {
        let a = content_hex(b"FROM scratch\n");
        assert_eq!(a.len(), 20);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(a, content_hex(b"FROM scratch\n"));
        assert_ne!(a, content_hex(b"FROM scratch\n\n"));
    }
}
