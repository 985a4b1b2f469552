//! Repository-wide checks run as an ordinary test ("tidy", in rust-analyzer's manner): every
//! Rust file opens with a `//!` doc saying what it is for, no line has trailing whitespace, and
//! no stray `dbg!` is left behind.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use crate::workspace;

    /// Every `.rs` file of the project, skipping build output and fuzzing state.
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(
                    name,
                    "target" | ".git" | "corpus" | "artifacts" | "snapshots"
                ) && !name.starts_with("target-")
                {
                    rust_files(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_rust_file_is_tidy() {
        let root = workspace::root();
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 10, "found only {} Rust files", files.len());
        let dbg = concat!("dbg", "!(");
        let mut problems = Vec::new();
        for path in &files {
            let text = fs::read_to_string(path).expect("readable source");
            let shown = path.strip_prefix(&root).unwrap_or(path).display();
            let first = text.lines().find(|line| !line.trim().is_empty());
            if !first.is_some_and(|line| line.starts_with("//!") || line.starts_with("#![")) {
                problems.push(format!("{shown}: does not open with a `//!` module doc"));
            }
            for (number, line) in text.lines().enumerate() {
                if line.ends_with(' ') || line.ends_with('\t') {
                    problems.push(format!("{shown}:{}: trailing whitespace", number + 1));
                }
                if line.contains(dbg) {
                    problems.push(format!("{shown}:{}: stray dbg!", number + 1));
                }
            }
        }
        assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
    }
}
