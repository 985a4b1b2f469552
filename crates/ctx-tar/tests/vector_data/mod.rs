//! The `.dockerignore` vectors (`tests/data/dockerignore-vectors.json`), shared by the
//! matcher's tests and the walker's tests.

use serde::Deserialize;

/// One vector: an ignore file, a tree, and what BuildKit decides and sends.
#[derive(Debug, Deserialize)]
// Each test binary reads only the fields it checks.
#[allow(dead_code)]
pub struct Vector {
    pub id: String,
    /// Lines of the ignore file.
    pub patterns: Vec<String>,
    pub path: String,
    pub is_dir: bool,
    /// Further files of the tree.
    pub extra_paths: Vec<String>,
    /// BuildKit's answer: `path` is not in the context (`null` for error vectors).
    pub excluded: Option<bool>,
    /// BuildKit's error (fsutil wraps patternmatcher's message).
    pub error: Option<String>,
    /// Everything the walker sends (directories with a trailing `/`; `null` for errors).
    pub sent: Option<Vec<String>>,
    /// Excluded directories sent only as parents of re-included paths.
    pub sent_only_as_parent: Option<Vec<String>>,
}

/// Every vector, in file order.
pub fn load() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dockerignore-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read vectors");
    serde_json::from_str(&text).expect("parse vectors")
}
