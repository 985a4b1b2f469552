//! The paths a build reads, resolved into the include patterns of the walk, as BuildKit's
//! file sync does it (tonistiigi/fsutil `FollowLinks`).
//!
//! Each path is taken one component at a time from the context root. A component that is
//! a symlink is kept (the link itself is sent) and the rest of the path is followed from
//! the link's target, resolved inside the context: a relative target from the link's
//! directory, an absolute one from the context root, `..` never above it. A last or middle
//! component with wildcards (`*`, `?`, `[`) is matched against its directory's entries
//! with Go's `filepath.Match`; when some matching entry is a symlink, the wildcard
//! component itself becomes the pattern (fsutil drops the rest of the path there) and each
//! such link's target is followed with the rest of the path. A path that resolves to the
//! context root means the whole context. Nothing outside the context is ever read: link
//! targets are re-rooted, and only link targets and directory names are looked at.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::dockerignore::{clean, filepath_match};
use crate::Error;

/// The include patterns for `paths` (sorted, each once, none inside another), or `None`
/// when they cover the whole context.
pub(crate) fn resolve(root: &Path, paths: &[String]) -> Result<Option<Vec<String>>, Error> {
    let mut resolver = Resolver {
        root,
        resolved: BTreeSet::new(),
    };
    for path in paths {
        resolver.append(path)?;
    }
    if resolver.resolved.contains(".") {
        return Ok(None);
    }
    // fsutil's dedupePaths: a path below another one adds nothing.
    let mut patterns: Vec<String> = Vec::new();
    for path in resolver.resolved {
        let covered = patterns
            .last()
            .is_some_and(|last| path.starts_with(&format!("{last}/")));
        if !covered {
            patterns.push(path);
        }
    }
    Ok(Some(patterns))
}

struct Resolver<'a> {
    root: &'a Path,
    /// Relative, cleaned paths (`.` for the root).
    resolved: BTreeSet<String>,
}

impl Resolver<'_> {
    /// fsutil's `symlinkResolver.append`.
    fn append(&mut self, path: &str) -> Result<(), Error> {
        let mut rest = join_dot(path);
        // Above the context root: a pattern that matches nothing, as in fsutil, but
        // without looking outside the context for links on the way.
        if rest == ".." || rest.starts_with("../") {
            self.resolved.insert(rest);
            return Ok(());
        }
        let mut current = ".".to_owned();
        loop {
            let (first, tail) = match rest.split_once('/') {
                Some((first, tail)) => (first.to_owned(), tail.to_owned()),
                None => (rest.clone(), String::new()),
            };
            current = join(&current, &first);
            let targets = self.read_symlink(&current, true)?;
            rest = tail;
            if (rest.is_empty() || targets.is_some()) && self.resolved.contains(&current) {
                return Ok(());
            }
            if let Some(targets) = targets {
                self.resolved.insert(current);
                for target in targets {
                    self.append(&join(&target, &rest))?;
                }
                return Ok(());
            }
            if rest.is_empty() {
                self.resolved.insert(current);
                return Ok(());
            }
        }
    }

    /// The targets of `path` (relative) if it is a symlink, rooted at the context (`/x`);
    /// for a last component with wildcards, the targets of every matching entry that is
    /// one. `None` when there is no symlink (or no such path).
    fn read_symlink(&self, path: &str, wildcards: bool) -> Result<Option<Vec<String>>, Error> {
        let (dir, base) = split_last(path);
        if wildcards && contains_wildcards(base) {
            let mut names = match self.read_dir(dir)? {
                Some(names) => names,
                None => return Ok(None),
            };
            names.sort();
            let mut targets: Option<Vec<String>> = None;
            for name in names {
                if !filepath_match(base.as_bytes(), &name) {
                    continue;
                }
                let name = String::from_utf8_lossy(&name).into_owned();
                if let Some(found) = self.read_symlink(&join(dir, &name), false)? {
                    targets.get_or_insert_with(Vec::new).extend(found);
                }
            }
            return Ok(targets);
        }
        if path == "." {
            return Ok(None);
        }
        let full = self.root.join(path);
        let meta = match std::fs::symlink_metadata(&full) {
            Ok(meta) => meta,
            Err(err) if not_found(&err) => return Ok(None),
            Err(source) => return Err(Error::Unreadable { path: full, source }),
        };
        if !meta.file_type().is_symlink() {
            return Ok(None);
        }
        let target = std::fs::read_link(&full).map_err(|source| Error::Unreadable {
            path: full.clone(),
            source,
        })?;
        let target = String::from_utf8_lossy(target.as_os_str().as_bytes()).into_owned();
        let rooted = if target.starts_with('/') {
            format!("/{}", clean_relative(&target))
        } else {
            format!("/{}", clean_relative(&format!("{dir}/{target}")))
        };
        Ok(Some(vec![rooted]))
    }

    /// The names in directory `dir` (relative), or `None` when it does not exist or is not
    /// a directory.
    fn read_dir(&self, dir: &str) -> Result<Option<Vec<Vec<u8>>>, Error> {
        let full = self.root.join(dir);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Ok(None),
            Err(err) if not_found(&err) => return Ok(None),
            Err(source) => return Err(Error::Unreadable { path: full, source }),
        }
        let unreadable = |source| Error::Unreadable {
            path: full.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&full).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            names.push(entry.file_name().as_bytes().to_vec());
        }
        Ok(Some(names))
    }
}

/// Go treats "no such file" and "not a directory" on the way alike here: nothing there.
fn not_found(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// fsutil's `containsWildcards`: `*`, `?` or `[` not escaped by `\`.
fn contains_wildcards(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// `filepath.Join(".", path)` then without a leading `/`: relative and cleaned, `.` for
/// the root; `..` cannot climb above it (link targets are rooted at the context).
fn clean_relative(path: &str) -> String {
    let rooted = clean(&format!("/{path}"));
    match rooted.strip_prefix('/') {
        Some("") | None => ".".to_owned(),
        Some(relative) => relative.to_owned(),
    }
}

/// `filepath.Join(".", path)`: cleaned, relative, but a leading `..` is kept (a path given
/// to follow is not rooted; link targets are, see [`clean_relative`]).
fn join_dot(path: &str) -> String {
    clean(&format!("./{path}"))
}

/// `filepath.Join(a, b)` for relative or rooted `a`, as a relative cleaned path.
fn join(a: &str, b: &str) -> String {
    clean_relative(&format!("{a}/{b}"))
}

/// `filepath.Dir` and `filepath.Base` of a relative cleaned path.
fn split_last(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((dir, base)) => (dir, base),
        None => (".", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["a", "b", "src/sub", "lnkdir", "wild"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in ["b/x", "src/a.txt", "src/sub/b", "wild/d"] {
            std::fs::write(root.join(f), f).expect("write");
        }
        symlink("../b", root.join("a/link")).expect("symlink");
        symlink(".", root.join("toroot")).expect("symlink");
        symlink("/b", root.join("abs")).expect("symlink");
        symlink("..", root.join("lnkdir/up")).expect("symlink");
        symlink("/etc", root.join("etc-link")).expect("symlink");
        symlink("loop2", root.join("loop1")).expect("symlink");
        symlink("loop1", root.join("loop2")).expect("symlink");
        symlink("../b", root.join("wild/l")).expect("symlink");
        dir
    }

    fn resolved(paths: &[&str]) -> Option<Vec<String>> {
        let dir = tree();
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        resolve(dir.path(), &paths).expect("resolves")
    }

    #[test]
    fn literal_paths_stay_as_they_are() {
        assert_eq!(
            resolved(&["src", "src/a.txt", "nothere"]),
            Some(vec!["nothere".into(), "src".into()])
        );
    }

    #[test]
    fn symlinks_on_the_way_are_kept_and_followed_inside_the_context() {
        assert_eq!(
            resolved(&["a/link/x"]),
            Some(vec!["a/link".into(), "b/x".into()])
        );
        assert_eq!(resolved(&["abs/x"]), Some(vec!["abs".into(), "b/x".into()]));
        // An absolute target is taken from the context root, never from `/`.
        assert_eq!(
            resolved(&["etc-link/passwd"]),
            Some(vec!["etc-link".into(), "etc/passwd".into()])
        );
        assert_eq!(
            resolved(&["toroot/src"]),
            Some(vec!["src".into(), "toroot".into()])
        );
        assert_eq!(
            resolved(&["lnkdir/up/b"]),
            Some(vec!["b".into(), "lnkdir/up".into()])
        );
    }

    #[test]
    fn a_link_to_the_root_means_everything() {
        assert_eq!(resolved(&["toroot"]), None);
        assert_eq!(resolved(&["lnkdir/up", "src"]), None);
    }

    #[test]
    fn loops_end() {
        assert_eq!(
            resolved(&["loop1/x"]),
            Some(vec!["loop1".into(), "loop2".into()])
        );
    }

    #[test]
    fn wildcards_match_links_by_name_and_keep_the_pattern() {
        // `a/lin?` matches the link `a/link`: the pattern is kept, the rest followed.
        assert_eq!(
            resolved(&["a/lin?/x"]),
            Some(vec!["a/lin?".into(), "b/x".into()])
        );
        // A wildcard that matches no link stays in the path.
        assert_eq!(resolved(&["s?c/a.txt"]), Some(vec!["s?c/a.txt".into()]));
        // `wild/*` matches a file and a link: the rest of the path is dropped for the
        // pattern (fsutil's behaviour), and followed from the link.
        assert_eq!(
            resolved(&["wild/*/y"]),
            Some(vec!["b/y".into(), "wild/*".into()])
        );
        assert_eq!(resolved(&["missing/*"]), Some(vec!["missing/*".into()]));
    }

    #[test]
    fn paths_above_the_root_match_nothing() {
        assert_eq!(resolved(&["../b"]), Some(vec!["../b".into()]));
        assert_eq!(resolved(&["src/../../b"]), Some(vec!["../b".into()]));
        assert_eq!(resolved(&["/../b"]), Some(vec!["../b".into()]));
        // A link's target never climbs above the root.
        assert_eq!(
            resolved(&["lnkdir/up/b"]),
            Some(vec!["b".into(), "lnkdir/up".into()])
        );
    }

    #[test]
    fn helpers_clean_like_go() {
        assert_eq!(join_dot("../../x/./y/"), "../../x/y");
        assert_eq!(join_dot("a/../.."), "..");
        assert_eq!(join_dot("/"), ".");
        assert_eq!(clean_relative("/"), ".");
        assert_eq!(clean_relative("../../x/./y/"), "x/y");
        assert_eq!(join("/b", ""), "b");
        assert_eq!(split_last("a/b/c"), ("a/b", "c"));
        assert_eq!(split_last("c"), (".", "c"));
        assert!(contains_wildcards("a*"));
        assert!(!contains_wildcards("a\\*"));
        assert!(contains_wildcards("[x]"));
    }
}
