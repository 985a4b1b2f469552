//! An image's filesystem as a value that can be compared: every path of the tar that
//! [`TestEngine::export_image`](crate::TestEngine::export_image) gives, with what the path is (type,
//! permission bits, owner, size, sha256 of the contents, link target, device numbers) but not
//! when it was written, and the differences between two of them, one line per path.
//!
//! ```
//! use devbuild_tests::ImageFs;
//!
//! let mut archive = tar::Builder::new(Vec::new());
//! let mut header = tar::Header::new_gnu();
//! header.set_mode(0o644);
//! header.set_uid(0);
//! header.set_gid(0);
//! header.set_size(3);
//! archive.append_data(&mut header, "etc/motd", &b"hi\n"[..]).unwrap();
//! let fs = ImageFs::from_tar(&archive.into_inner().unwrap()).unwrap();
//! assert_eq!(fs.nodes["/etc/motd"].size, 3);
//! assert!(fs.differences(&fs, ["left", "right"]).is_empty());
//! ```

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// The type of a path in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory.
    Dir,
    /// A regular file (the first name of a hardlinked file too).
    File,
    /// A symbolic link.
    Symlink,
    /// A second name of a file that came earlier in the tar.
    Hardlink,
    /// A named pipe.
    Fifo,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
}

/// What one path of an image is. Modification times are left out on purpose: two builds of
/// the same image never agree on them (`WORKDIR`, `RUN` and the parents COPY creates are
/// stamped with the time of the build).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsNode {
    /// The type.
    pub kind: NodeKind,
    /// The permission bits, setuid, setgid and sticky included.
    pub mode: u32,
    /// The owner's uid.
    pub uid: u64,
    /// The owner's gid.
    pub gid: u64,
    /// The size of the contents in bytes (0 for all but regular files).
    pub size: u64,
    /// The sha256 of the contents, lowercase hex (regular files only).
    pub sha256: Option<String>,
    /// A symlink's target as stored (never resolved), or the absolute path a hardlink names.
    pub link_target: Option<String>,
    /// A device's major and minor numbers.
    pub device: Option<(u32, u32)>,
}

impl fmt::Display for FsNode {
    /// `file 0644 0:0 12 bytes sha256:0123456789ab`, `symlink 0777 0:0 -> ../b`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            NodeKind::Dir => "dir",
            NodeKind::File => "file",
            NodeKind::Symlink => "symlink",
            NodeKind::Hardlink => "hardlink",
            NodeKind::Fifo => "fifo",
            NodeKind::CharDevice => "char-device",
            NodeKind::BlockDevice => "block-device",
        };
        write!(f, "{kind} {:04o} {}:{}", self.mode, self.uid, self.gid)?;
        if let Some(sha256) = &self.sha256 {
            write!(f, " {} bytes sha256:{}", self.size, &sha256[..12])?;
        }
        if let Some(target) = &self.link_target {
            write!(f, " -> {target}")?;
        }
        if let Some((major, minor)) = self.device {
            write!(f, " device {major},{minor}")?;
        }
        Ok(())
    }
}

/// Every path of an image's filesystem, by absolute path (`/etc/passwd`; the root itself is
/// left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFs {
    /// What each path is.
    pub nodes: BTreeMap<String, FsNode>,
}

/// `etc/passwd`, `./etc/`, `/etc` → `/etc/passwd`, `/etc`; the root → `/`.
fn absolute(path: &str) -> String {
    let trimmed = path.trim_start_matches("./").trim_matches('/');
    format!("/{trimmed}")
}

impl ImageFs {
    /// Reads the tar of an image's filesystem (an export, or any tar of a root filesystem).
    /// Fails on an unreadable tar, an entry type a filesystem cannot hold, or a path that
    /// occurs twice.
    pub fn from_tar(tar: &[u8]) -> Result<ImageFs, String> {
        let mut archive = tar::Archive::new(tar);
        let mut nodes = BTreeMap::new();
        let entries = archive.entries().map_err(|e| format!("not a tar: {e}"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("a broken tar entry: {e}"))?;
            let path = absolute(&String::from_utf8_lossy(&entry.path_bytes()));
            let header = entry.header().clone();
            let field = |what: &str, value: std::io::Result<u64>| {
                value.map_err(|e| format!("{path}: unreadable {what}: {e}"))
            };
            let kind = match header.entry_type() {
                tar::EntryType::Directory => NodeKind::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => NodeKind::File,
                tar::EntryType::Symlink => NodeKind::Symlink,
                tar::EntryType::Link => NodeKind::Hardlink,
                tar::EntryType::Fifo => NodeKind::Fifo,
                tar::EntryType::Char => NodeKind::CharDevice,
                tar::EntryType::Block => NodeKind::BlockDevice,
                other => return Err(format!("{path}: unexpected tar entry type {other:?}")),
            };
            let link_target = entry.link_name_bytes().map(|target| {
                let target = String::from_utf8_lossy(&target).into_owned();
                match kind {
                    // A hardlink names another entry of the tar, relative to its root.
                    NodeKind::Hardlink => absolute(&target),
                    _ => target,
                }
            });
            let (size, sha256) = if kind == NodeKind::File {
                let mut hasher = Sha256::new();
                let size = std::io::copy(&mut entry, &mut hasher)
                    .map_err(|e| format!("{path}: unreadable contents: {e}"))?;
                let hex: String = hasher
                    .finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (size, Some(hex))
            } else {
                // Drain whatever a non-file entry holds, so that the next header is found.
                std::io::copy(&mut entry.by_ref(), &mut std::io::sink())
                    .map_err(|e| format!("{path}: unreadable entry: {e}"))?;
                (0, None)
            };
            let device = match kind {
                NodeKind::CharDevice | NodeKind::BlockDevice => {
                    let number = |n: std::io::Result<Option<u32>>| {
                        n.map_err(|e| format!("{path}: unreadable device number: {e}"))
                            .map(Option::unwrap_or_default)
                    };
                    Some((
                        number(header.device_major())?,
                        number(header.device_minor())?,
                    ))
                }
                _ => None,
            };
            let node = FsNode {
                kind,
                mode: field("mode", header.mode().map(u64::from))? as u32 & 0o7777,
                uid: field("uid", header.uid())?,
                gid: field("gid", header.gid())?,
                size,
                sha256,
                link_target,
                device,
            };
            if path == "/" {
                continue;
            }
            if nodes.insert(path.clone(), node).is_some() {
                return Err(format!("{path} occurs twice in the tar"));
            }
        }
        Ok(ImageFs { nodes })
    }

    /// Every difference between `self` and `other`, one line per path, in path order:
    /// `PATH: only in NAME (NODE)`, or `PATH: NAME NODE, but NAME NODE`, where the names are
    /// `names` (what `self` and `other` are, such as `["devbuild", "buildx"]`).
    pub fn differences(&self, other: &ImageFs, names: [&str; 2]) -> Vec<String> {
        let [mine, theirs] = names;
        let mut paths: Vec<&String> = self.nodes.keys().chain(other.nodes.keys()).collect();
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|path| match (self.nodes.get(path), other.nodes.get(path)) {
                (Some(a), None) => Some(format!("{path}: only in {mine} ({a})")),
                (None, Some(b)) => Some(format!("{path}: only in {theirs} ({b})")),
                (Some(a), Some(b)) if a != b => {
                    Some(format!("{path}: {mine} has {a}, but {theirs} has {b}"))
                }
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the test tars differ: a file's mode, contents and mtime, a link target, a path
    /// only on one side.
    struct Variant {
        mode: u32,
        content: &'static [u8],
        mtime: u64,
        link_target: &'static str,
        extra: bool,
    }

    fn tar_with(variant: &Variant) -> Vec<u8> {
        let mut archive = tar::Builder::new(Vec::new());
        let header = |kind: tar::EntryType, mode: u32, size: u64| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_size(size);
            header.set_mtime(variant.mtime);
            header
        };
        let mut dir = header(tar::EntryType::Directory, 0o755, 0);
        archive.append_data(&mut dir, "./app/", &[][..]).unwrap();
        let mut file = header(
            tar::EntryType::Regular,
            variant.mode,
            variant.content.len() as u64,
        );
        archive
            .append_data(&mut file, "app/main.txt", variant.content)
            .unwrap();
        let mut link = header(tar::EntryType::Symlink, 0o777, 0);
        archive
            .append_link(&mut link, "app/link", variant.link_target)
            .unwrap();
        let mut hard = header(tar::EntryType::Link, 0o644, 0);
        archive
            .append_link(&mut hard, "app/again", "app/main.txt")
            .unwrap();
        if variant.extra {
            let mut extra = header(tar::EntryType::Regular, 0o600, 0);
            archive
                .append_data(&mut extra, "app/extra", &[][..])
                .unwrap();
        }
        archive.into_inner().unwrap()
    }

    const BASE: Variant = Variant {
        mode: 0o644,
        content: b"main\n",
        mtime: 1_000_000_000,
        link_target: "../b",
        extra: false,
    };

    #[test]
    fn reads_what_each_path_is() {
        let fs = ImageFs::from_tar(&tar_with(&BASE)).unwrap();
        let paths: Vec<&str> = fs.nodes.keys().map(String::as_str).collect();
        assert_eq!(paths, ["/app", "/app/again", "/app/link", "/app/main.txt"]);
        assert_eq!(
            fs.nodes["/app/main.txt"].to_string(),
            // sha256("main\n")
            "file 0644 0:0 5 bytes sha256:6403203dd5a0"
        );
        assert_eq!(fs.nodes["/app"].to_string(), "dir 0755 0:0");
        assert_eq!(
            fs.nodes["/app/link"].to_string(),
            "symlink 0777 0:0 -> ../b"
        );
        assert_eq!(
            fs.nodes["/app/again"].to_string(),
            "hardlink 0644 0:0 -> /app/main.txt"
        );
    }

    #[test]
    fn mtimes_make_no_difference() {
        let a = ImageFs::from_tar(&tar_with(&BASE)).unwrap();
        let b = ImageFs::from_tar(&tar_with(&Variant {
            mtime: 2_000_000_000,
            ..BASE
        }))
        .unwrap();
        assert_eq!(a.differences(&b, ["a", "b"]), Vec::<String>::new());
    }

    #[test]
    fn names_every_differing_path_once() {
        let a = ImageFs::from_tar(&tar_with(&BASE)).unwrap();
        let b = ImageFs::from_tar(&tar_with(&Variant {
            mode: 0o600,
            content: b"changed\n",
            link_target: "../c",
            extra: true,
            ..BASE
        }))
        .unwrap();
        assert_eq!(
            a.differences(&b, ["devbuild", "buildx"]),
            [
                "/app/extra: only in buildx (file 0600 0:0 0 bytes sha256:e3b0c44298fc)",
                "/app/link: devbuild has symlink 0777 0:0 -> ../b, \
                 but buildx has symlink 0777 0:0 -> ../c",
                "/app/main.txt: devbuild has file 0644 0:0 5 bytes sha256:6403203dd5a0, \
                 but buildx has file 0600 0:0 8 bytes sha256:7f8b1dfc466b",
            ]
        );
    }

    #[test]
    fn a_path_twice_is_an_error() {
        let mut archive = tar::Builder::new(Vec::new());
        for _ in 0..2 {
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mode(0o644);
            header.set_size(0);
            archive.append_data(&mut header, "twice", &[][..]).unwrap();
        }
        let err = ImageFs::from_tar(&archive.into_inner().unwrap()).unwrap_err();
        assert_eq!(err, "/twice occurs twice in the tar");
    }
}
