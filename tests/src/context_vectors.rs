//! The context-used vectors (`tests/data/context-used.json`): trees and Dockerfiles with what
//! BuildKit's frontend asked its file sync for (`followpaths`), whether the build read the
//! context at all (`used`: `none`, `all`, `some`), and what the file sync transferred
//! (`sent`), produced by BuildKit's own frontend and fsutil, most confirmed with buildx.
//!
//! [`context_vectors`] loads them; [`ContextVector::make_tree`] recreates a vector's tree;
//! [`sent_line`] formats an entry the way `sent` lists it, so that a test compares its own
//! listing with BuildKit's.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

/// One vector.
#[derive(Debug, Clone)]
pub struct ContextVector {
    /// A short name.
    pub id: String,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// `--build-arg`s.
    pub build_args: BTreeMap<String, String>,
    /// `--target`, empty for the last stage.
    pub target: String,
    /// The `.dockerignore` BuildKit used (`.dockerignore` or `Dockerfile.dockerignore`), or
    /// empty.
    pub dockerignore: String,
    /// The ignore rules BuildKit applied.
    pub excludepatterns: Vec<String>,
    /// What BuildKit's frontend asked the file sync for (empty for the whole context or for
    /// none of it).
    pub followpaths: Vec<String>,
    /// `none`, `all` or `some`.
    pub used: String,
    /// What the file sync transferred, in walk order: `TYPE\tMODE\tPATH[\t-> TARGET]`. The
    /// Dockerfile and ignore files are in it only when the build itself reads them.
    pub sent: Vec<String>,
    tree: Vec<Value>,
}

/// Every vector of the file.
pub fn context_vectors() -> Vec<ContextVector> {
    let text = include_str!("../data/context-used.json");
    let file: Value = serde_json::from_str(text).expect("context-used.json parses");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let text_of = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    file["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| ContextVector {
            id: text_of(v, "id"),
            dockerfile: text_of(v, "dockerfile"),
            build_args: v["build_args"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            target: text_of(v, "target"),
            dockerignore: text_of(v, "dockerignore"),
            excludepatterns: strings(&v["excludepatterns"]),
            followpaths: strings(&v["followpaths"]),
            used: text_of(v, "used"),
            sent: strings(&v["sent"]),
            tree: v["tree"].as_array().cloned().unwrap_or_default(),
        })
        .collect()
}

impl ContextVector {
    /// Creates the vector's tree (Dockerfile and ignore files included) below `root`, modes
    /// as given.
    pub fn make_tree(&self, root: &Path) {
        for item in &self.tree {
            let rel = item["path"].as_str().expect("path");
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            let mode = item["mode"]
                .as_str()
                .and_then(|m| u32::from_str_radix(m, 8).ok());
            match item["type"].as_str().expect("type") {
                "dir" => std::fs::create_dir_all(&path).expect("mkdir"),
                "file" => {
                    let content = item["content"].as_str().unwrap_or_default();
                    std::fs::write(&path, content).expect("write");
                }
                "symlink" => {
                    let target = item["target"].as_str().expect("target");
                    std::os::unix::fs::symlink(target, &path).expect("symlink");
                }
                other => panic!("{}: unknown tree item type {other}", self.id),
            }
            if let (Some(mode), false) = (mode, item["type"] == "symlink") {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .expect("chmod");
            }
        }
    }
}

/// An entry as `sent` lists it: `kind` is `dir`, `file` or `symlink`; `path` has no
/// trailing `/`.
pub fn sent_line(kind: &str, mode: u32, path: &str, target: Option<&str>) -> String {
    let path = path.trim_end_matches('/');
    match target {
        Some(target) => format!("{kind}\t{mode:04o}\t{path}\t-> {target}"),
        None => format!("{kind}\t{mode:04o}\t{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_every_vector_and_makes_its_tree() {
        let vectors = context_vectors();
        assert!(vectors.len() >= 39, "{} vectors", vectors.len());
        let v = vectors
            .iter()
            .find(|v| v.id == "copy_through_symlink")
            .expect("copy_through_symlink");
        assert_eq!(v.followpaths, ["a/link/x"]);
        let dir = tempfile::tempdir().expect("tempdir");
        v.make_tree(dir.path());
        let link = std::fs::read_link(dir.path().join("a/link")).expect("link");
        assert_eq!(link, Path::new("../b"));
        assert_eq!(
            sent_line("symlink", 0o777, "a/link", Some("../b")),
            v.sent[1]
        );
    }
}
