//! An image's file system from the tar `docker save` writes: its layers applied in order,
//! as the engine's layer store applies them, into one tree, written as one tar or unpacked
//! into a directory.
//!
//! The save tar names the layers in order in `manifest.json` (`[{"Config", "RepoTags",
//! "Layers": [...]}]`), and holds each as a tar (uncompressed from the classic store; a
//! gzip-compressed one is decompressed first). Applying a layer follows the whiteout rules
//! of the image spec (the AUFS form both docker stores write): `dir/.wh.name` removes
//! `dir/name` and all below it from the layers before, `dir/.wh..wh..opq` empties `dir` of
//! what the layers before put there; an entry replaces what was at its path (a directory
//! over a directory only takes its metadata; its contents stay), and a directory a layer's
//! entry needs replaces a file or link of an earlier layer at its path (as the layer's own
//! directory does in an overlay).
//!
//! The tree is written in path order, parents first, with each entry's mode, owner and
//! modification time. A hard link is kept when its target comes before it and is still
//! the same file; otherwise it becomes a copy of the file it named. Data is never read
//! into memory whole: each file is copied from its place in the save tar.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Bound;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The `docker save` tar of one image, read as far as where its layers are.
pub struct SavedImage {
    /// The save tar (a temporary file, removed when dropped).
    file: tempfile::NamedTempFile,
    /// The layers, in order: where each starts in the save tar, and its size.
    layers: Vec<(u64, u64)>,
}

/// Where an entry of a layer keeps its data: a file of [`Sources`], at an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Data {
    source: usize,
    offset: u64,
    size: u64,
}

/// What one path of the tree is.
#[derive(Clone, Debug)]
enum Kind {
    Dir,
    File(Data),
    Symlink(PathBuf),
    /// A hard link: the path it named, and that file's data at the time.
    Hardlink(PathBuf, Option<Data>),
    /// A device or a fifo: its header says which.
    Special,
}

/// One path of the tree: what it is, its metadata (a header of its layer), its layer.
#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    header: tar::Header,
    layer: usize,
}

/// The files layer data is read from: the save tar itself, and the layers that had to be
/// decompressed.
struct Sources {
    files: Vec<File>,
    _decompressed: Vec<tempfile::NamedTempFile>,
}

impl SavedImage {
    /// Reads `manifest.json` of the save tar in `file` and finds its layers.
    pub fn open(file: tempfile::NamedTempFile) -> io::Result<SavedImage> {
        let mut places: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut manifest = None;
        {
            let reader = io::BufReader::new(file.reopen()?);
            let mut archive = tar::Archive::new(reader);
            for entry in archive.entries()? {
                let mut entry = entry?;
                let name = normalize(&entry.path()?)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name == "manifest.json" {
                    let mut text = String::new();
                    entry.read_to_string(&mut text)?;
                    manifest = Some(text);
                } else if entry.header().entry_type().is_file() {
                    places.insert(name, (entry.raw_file_position(), entry.size()));
                }
            }
        }
        let manifest = manifest.ok_or_else(|| bad("the saved image has no manifest.json"))?;
        let entries: Vec<serde_json::Value> = serde_json::from_str(&manifest)
            .map_err(|e| bad(&format!("the saved image's manifest.json: {e}")))?;
        let layers = entries
            .first()
            .and_then(|entry| entry["Layers"].as_array())
            .ok_or_else(|| bad("the saved image's manifest.json names no layers"))?
            .iter()
            .map(|layer| {
                let name = layer.as_str().unwrap_or_default();
                places
                    .get(name.trim_start_matches("./"))
                    .copied()
                    .ok_or_else(|| bad(&format!("the saved image has no layer {name:?}")))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(SavedImage { file, layers })
    }

    /// Applies the layers in order: the final tree, and the files its data is in.
    fn tree(&self, wanted: &AtomicBool) -> io::Result<(BTreeMap<PathBuf, Node>, Sources)> {
        let mut sources = Sources {
            files: vec![self.file.reopen()?],
            _decompressed: Vec::new(),
        };
        let mut tree: BTreeMap<PathBuf, Node> = BTreeMap::new();
        for (layer, &(offset, size)) in self.layers.iter().enumerate() {
            let (source, base) = self.layer_source(offset, size, &mut sources)?;
            let mut file = sources.files[source].try_clone()?;
            file.seek(SeekFrom::Start(base))?;
            let length = if source == 0 { size } else { u64::MAX };
            let mut archive = tar::Archive::new(io::BufReader::new(file).take(length));
            for entry in archive.entries()? {
                if !wanted.load(Ordering::Relaxed) {
                    return Err(io::Error::other("canceled"));
                }
                let entry = entry?;
                let Some(path) = normalize(&entry.path()?) else {
                    continue;
                };
                let data = Data {
                    source,
                    offset: base + entry.raw_file_position(),
                    size: entry.size(),
                };
                let link = entry.link_name()?.map(|l| l.into_owned());
                apply(&mut tree, layer, path, entry.header().clone(), data, link);
            }
        }
        Ok((tree, sources))
    }

    /// Where the tar of the layer at `offset` can be read from: the save tar itself, or
    /// (when it is compressed) a decompressed copy added to `sources`.
    fn layer_source(
        &self,
        offset: u64,
        size: u64,
        sources: &mut Sources,
    ) -> io::Result<(usize, u64)> {
        let mut file = self.file.reopen()?;
        file.seek(SeekFrom::Start(offset))?;
        let mut magic = [0u8; 4];
        let read = Read::by_ref(&mut file).take(4).read(&mut magic)?;
        match &magic[..read] {
            [0x1f, 0x8b, ..] => {
                file.seek(SeekFrom::Start(offset))?;
                let dir = self.file.path().parent().unwrap_or(Path::new("."));
                let mut copy = tempfile::Builder::new()
                    .prefix(super::TEMP_PREFIX)
                    .tempfile_in(dir)?;
                let mut gunzip = flate2::read::GzDecoder::new(file.take(size));
                io::copy(&mut gunzip, &mut copy)?;
                copy.flush()?;
                sources.files.push(copy.reopen()?);
                sources._decompressed.push(copy);
                Ok((sources.files.len() - 1, 0))
            }
            [0x28, 0xb5, 0x2f, 0xfd] => Err(bad(
                "the saved image has a zstd-compressed layer, which cannot be read here",
            )),
            _ => Ok((0, offset)),
        }
    }

    /// Writes the image's file system to `out` as one tar; returns the bytes written.
    pub fn write_tar(&self, out: &mut dyn Write, wanted: &AtomicBool) -> io::Result<u64> {
        let (tree, sources) = self.tree(wanted)?;
        let mut counted = Counted { out, bytes: 0 };
        write_tree(&tree, &sources, &mut counted, wanted, true)?;
        counted.flush()?;
        Ok(counted.bytes)
    }

    /// Unpacks the image's file system into `dir` (which should be empty), files owned by
    /// the caller as buildx's local exporter writes them, modes and times kept; devices
    /// and fifos are left out. Returns the bytes of the files written.
    pub fn unpack_into(&self, dir: &Path, wanted: &AtomicBool) -> io::Result<u64> {
        let (tree, sources) = self.tree(wanted)?;
        let bytes = tree
            .values()
            .map(|node| match &node.kind {
                Kind::File(data) => data.size,
                Kind::Hardlink(_, Some(data)) => data.size,
                _ => 0,
            })
            .sum();
        // A socket pair as the pipe between the tar writer and the unpacker.
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair()?;
        std::thread::scope(|scope| {
            let writing = scope.spawn(move || {
                let result = write_tree(&tree, &sources, &mut writer, wanted, false);
                drop(writer);
                result
            });
            let mut archive = tar::Archive::new(reader);
            archive.set_preserve_permissions(true);
            archive.set_preserve_mtime(true);
            archive.set_overwrite(true);
            archive.set_unpack_xattrs(false);
            let unpacked = archive.unpack(dir);
            drop(archive);
            let written = writing
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the tar writer panicked")));
            // The writer's own error explains a short archive better than the reader's.
            written.and(unpacked)
        })?;
        Ok(bytes)
    }
}

/// Counts what goes through.
struct Counted<'a> {
    out: &'a mut dyn Write,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn bad(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// A path inside the image, relative, without `.` (`None` for the root itself and for a
/// path that climbs out with `..`).
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The paths below `path` in `tree`.
fn descendants(tree: &BTreeMap<PathBuf, Node>, path: &Path) -> Vec<PathBuf> {
    tree.range::<Path, _>((Bound::Excluded(path), Bound::Unbounded))
        .map(|(p, _)| p)
        .take_while(|p| p.starts_with(path))
        .cloned()
        .collect()
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Applies one entry of layer `layer` to the tree; `link` is a link's target as the entry
/// has it.
fn apply(
    tree: &mut BTreeMap<PathBuf, Node>,
    layer: usize,
    path: PathBuf,
    header: tar::Header,
    data: Data,
    link: Option<PathBuf>,
) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if name.as_deref() == Some(OPAQUE) {
        for below in descendants(tree, &parent) {
            if tree.get(&below).is_some_and(|n| n.layer < layer) {
                tree.remove(&below);
            }
        }
        return;
    }
    if let Some(hidden) = name.as_deref().and_then(|n| n.strip_prefix(WHITEOUT)) {
        let gone = parent.join(hidden);
        for below in descendants(tree, &gone) {
            tree.remove(&below);
        }
        tree.remove(&gone);
        return;
    }
    // A directory this entry needs replaces a file or link an earlier layer left there.
    let mut ancestor = PathBuf::new();
    for part in parent.components() {
        ancestor.push(part);
        if tree
            .get(&ancestor)
            .is_some_and(|n| !matches!(n.kind, Kind::Dir))
        {
            let mut dir = tar::Header::new_gnu();
            dir.set_entry_type(tar::EntryType::Directory);
            dir.set_mode(0o755);
            dir.set_mtime(header.mtime().unwrap_or(0));
            tree.insert(
                ancestor.clone(),
                Node {
                    kind: Kind::Dir,
                    header: dir,
                    layer,
                },
            );
        }
    }
    let entry_type = header.entry_type();
    let kind = if entry_type.is_dir() {
        Kind::Dir
    } else if entry_type.is_symlink() {
        // A symlink's target stays as written; a hard link names a path of the image.
        Kind::Symlink(link.unwrap_or_default())
    } else if entry_type.is_hard_link() {
        let target = link.as_deref().and_then(normalize).unwrap_or_default();
        let data = match tree.get(&target).map(|n| &n.kind) {
            Some(Kind::File(data)) => Some(*data),
            Some(Kind::Hardlink(_, data)) => *data,
            _ => None,
        };
        Kind::Hardlink(target, data)
    } else if entry_type.is_character_special()
        || entry_type.is_block_special()
        || entry_type.is_fifo()
    {
        Kind::Special
    } else if entry_type.is_file() || entry_type.is_contiguous() {
        Kind::File(data)
    } else {
        // PAX and GNU extension headers are read by the tar reader; nothing else is a path.
        return;
    };
    let was_dir = tree.get(&path).is_some_and(|n| matches!(n.kind, Kind::Dir));
    if was_dir && !matches!(kind, Kind::Dir) {
        for below in descendants(tree, &path) {
            tree.remove(&below);
        }
    }
    tree.insert(
        path,
        Node {
            kind,
            header,
            layer,
        },
    );
}

/// Writes the tree as a tar in path order (parents first). `specials`: devices and fifos
/// are written too (a directory output leaves them out).
fn write_tree(
    tree: &BTreeMap<PathBuf, Node>,
    sources: &Sources,
    out: &mut dyn Write,
    wanted: &AtomicBool,
    specials: bool,
) -> io::Result<()> {
    let mut builder = tar::Builder::new(out);
    for (path, node) in tree {
        if !wanted.load(Ordering::Relaxed) {
            return Err(io::Error::other("canceled"));
        }
        let mut header = tar::Header::new_gnu();
        header.set_mode(node.header.mode().unwrap_or(0o644));
        header.set_uid(node.header.uid().unwrap_or(0));
        header.set_gid(node.header.gid().unwrap_or(0));
        header.set_mtime(node.header.mtime().unwrap_or(0));
        match &node.kind {
            Kind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, path, io::empty())?;
            }
            Kind::File(data) => append_file(&mut builder, &mut header, path, *data, sources)?,
            Kind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
            Kind::Hardlink(target, data) => {
                let same_file = target < path
                    && matches!(
                        tree.get(target).map(|n| &n.kind),
                        Some(Kind::File(d)) if Some(*d) == *data
                    );
                match data {
                    Some(_) if same_file => {
                        header.set_entry_type(tar::EntryType::Link);
                        header.set_size(0);
                        builder.append_link(&mut header, path, target)?;
                    }
                    Some(data) => append_file(&mut builder, &mut header, path, *data, sources)?,
                    // A link to nothing the image has: nothing to write.
                    None => {}
                }
            }
            Kind::Special if specials => {
                header.set_entry_type(node.header.entry_type());
                header.set_size(0);
                if let Ok(Some(major)) = node.header.device_major() {
                    header.set_device_major(major)?;
                }
                if let Ok(Some(minor)) = node.header.device_minor() {
                    header.set_device_minor(minor)?;
                }
                builder.append_data(&mut header, path, io::empty())?;
            }
            Kind::Special => {}
        }
    }
    builder.into_inner()?.flush()
}

fn append_file(
    builder: &mut tar::Builder<&mut dyn Write>,
    header: &mut tar::Header,
    path: &Path,
    data: Data,
    sources: &Sources,
) -> io::Result<()> {
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.size);
    let mut file = sources.files[data.source].try_clone()?;
    file.seek(SeekFrom::Start(data.offset))?;
    builder.append_data(header, path, io::BufReader::new(file).take(data.size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer: (path, contents) for files, `path/` for directories, `path -> target` for
    /// symlinks, `path => target` for hard links.
    fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            if let Some(dir) = path.strip_suffix('/') {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, dir, io::empty()).unwrap();
            } else if let Some((from, to)) = path.split_once(" -> ") {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, from, to).unwrap();
            } else if let Some((from, to)) = path.split_once(" => ") {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                builder.append_link(&mut header, from, to).unwrap();
            } else {
                header.set_size(contents.len() as u64);
                builder
                    .append_data(&mut header, path, contents.as_bytes())
                    .unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    /// A save tar of these layers, laid out as Engine 26.1 lays it out (layers first,
    /// `manifest.json` after them); `gzip` compresses the layers.
    fn saved(layers: &[Vec<u8>], gzip: bool) -> tempfile::NamedTempFile {
        let mut builder = tar::Builder::new(Vec::new());
        let mut names = Vec::new();
        for (i, bytes) in layers.iter().enumerate() {
            let bytes = if gzip {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(bytes).unwrap();
                encoder.finish().unwrap()
            } else {
                bytes.clone()
            };
            let name = format!("blobs/sha256/{i:064}");
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, &name, &bytes[..]).unwrap();
            names.push(name);
        }
        let manifest = serde_json::json!([{ "Config": "c", "RepoTags": null, "Layers": names }]);
        let text = manifest.to_string();
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "manifest.json", text.as_bytes())
            .unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&builder.into_inner().unwrap()).unwrap();
        file
    }

    /// `path kind [contents|target]` per entry of the flattened tar, in order.
    fn listing(file: tempfile::NamedTempFile) -> Vec<String> {
        let image = SavedImage::open(file).unwrap();
        let mut out = Vec::new();
        image.write_tar(&mut out, &AtomicBool::new(true)).unwrap();
        let mut archive = tar::Archive::new(&out[..]);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().display().to_string();
                let kind = entry.header().entry_type();
                let link = entry.link_name().unwrap().map(|l| l.display().to_string());
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                match (kind, link) {
                    (tar::EntryType::Directory, _) => format!("{path} dir"),
                    (tar::EntryType::Symlink, Some(l)) => format!("{path} -> {l}"),
                    (tar::EntryType::Link, Some(l)) => format!("{path} => {l}"),
                    _ => format!("{path} {text}"),
                }
            })
            .collect()
    }

    #[test]
    fn layers_apply_in_order_with_whiteouts() {
        let base = layer(&[
            ("etc/", ""),
            ("etc/os", "base"),
            ("etc/gone", "x"),
            ("lib/", ""),
            ("lib/old/", ""),
            ("lib/old/a", "a"),
            ("opaque/", ""),
            ("opaque/lower", "l"),
            ("bin -> usr/bin", ""),
        ]);
        let top = layer(&[
            ("etc/", ""),
            ("etc/os", "top"),
            ("etc/.wh.gone", ""),
            ("lib/.wh.old", ""),
            ("opaque/", ""),
            ("opaque/.wh..wh..opq", ""),
            ("opaque/upper", "u"),
            ("bin/", ""),
            ("bin/sh", "sh"),
        ]);
        for gzip in [false, true] {
            assert_eq!(
                listing(saved(&[base.clone(), top.clone()], gzip)),
                [
                    "bin dir",
                    "bin/sh sh",
                    "etc dir",
                    "etc/os top",
                    "lib dir",
                    "opaque dir",
                    "opaque/upper u",
                ],
                "gzip {gzip}"
            );
        }
    }

    #[test]
    fn a_file_over_a_directory_drops_what_was_below() {
        let base = layer(&[("a/", ""), ("a/b", "b"), ("c", "c")]);
        let top = layer(&[("a", "file"), ("c/", ""), ("c/d", "d")]);
        assert_eq!(
            listing(saved(&[base, top], false)),
            ["a file", "c dir", "c/d d"]
        );
        // A child whose parent an earlier layer left as a link makes the parent a directory.
        let base = layer(&[("lib -> /usr/lib", "")]);
        let top = layer(&[("lib/x", "x")]);
        assert_eq!(listing(saved(&[base, top], false)), ["lib dir", "lib/x x"]);
    }

    #[test]
    fn hard_links_stay_links_while_their_file_is_the_same() {
        let base = layer(&[("a", "one"), ("b => a", "")]);
        assert_eq!(
            listing(saved(std::slice::from_ref(&base), false)),
            ["a one", "b => a"]
        );
        // The link's file was replaced later: the link keeps the old contents, as a copy.
        let top = layer(&[("a", "two")]);
        assert_eq!(listing(saved(&[base, top], false)), ["a two", "b one"]);
        // A link that comes before its file in path order is a copy.
        let linked = layer(&[("z", "zed"), ("a => z", "")]);
        assert_eq!(listing(saved(&[linked], false)), ["a zed", "z zed"]);
    }

    #[test]
    fn unpacking_writes_the_files_with_their_modes() {
        use std::os::unix::fs::PermissionsExt;
        let base = layer(&[
            ("d/", ""),
            ("d/f", "data"),
            ("l -> d/f", ""),
            ("h => d/f", ""),
        ]);
        let image = SavedImage::open(saved(&[base], false)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bytes = image
            .unpack_into(dir.path(), &AtomicBool::new(true))
            .unwrap();
        assert_eq!(bytes, 8);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("d/f")).unwrap(),
            "data"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("h")).unwrap(),
            "data"
        );
        assert_eq!(
            std::fs::read_link(dir.path().join("l")).unwrap(),
            Path::new("d/f")
        );
        let mode = std::fs::metadata(dir.path().join("d"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_save_without_its_layers_is_an_error() {
        let mut builder = tar::Builder::new(Vec::new());
        let text = r#"[{"Config":"c","Layers":["missing/layer.tar"]}]"#;
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        builder
            .append_data(&mut header, "manifest.json", text.as_bytes())
            .unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&builder.into_inner().unwrap()).unwrap();
        let err = SavedImage::open(file).err().unwrap();
        assert_eq!(
            err.to_string(),
            "the saved image has no layer \"missing/layer.tar\""
        );
        let err = SavedImage::open(tempfile::NamedTempFile::new().unwrap())
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "the saved image has no manifest.json");
    }
}
