//! Where a build's result goes besides the engine's image store: `--output`, as
//! `docker buildx build` takes it, written from the engine after the build.
//!
//! The image always lands in the engine's store (that is what a build without a session
//! does), so every output is made from it once the build has succeeded:
//!
//! | `--output` | what is written |
//! |---|---|
//! | `type=docker,dest=FILE` (`dest=-`: standard output) | the image as `docker save` writes it (`GET /images/get`), tagged with the build's tags, for `docker load` |
//! | `type=tar[,dest=FILE]` (no `dest`, or `-`: standard output) | the final stage's file system as one tar |
//! | `type=local,dest=DIR`, or `DIR` | the final stage's files in a directory |
//! | `type=image[,push=true]`, `type=registry` (push by default) | nothing more: the image is in the store; `push=true` pushes it like `--push` |
//! | `type=docker` without `dest` | nothing more (buildx's `--load`) |
//! | `-` | `type=tar` to standard output |
//!
//! The final stage's file system is the image's layers applied in order, whiteouts
//! included ([`flatten`]), read from the `docker save` tar: exactly the image's files, as
//! BuildKit's local and tar exporters write them. (A container's export would add what the
//! engine puts in every container: `/.dockerenv`, empty `/etc/hosts`, `/etc/hostname` and
//! `/etc/resolv.conf` that replace the image's own, `/dev`, `/proc`, `/sys`.)
//!
//! Writing is atomic: a file is written to a temporary file in its directory and renamed
//! into place; a directory is made as a temporary directory next to it and renamed into
//! place, or, when the directory exists, its entries are moved into it (existing files
//! the image does not have are kept, as buildx's local exporter merges). A failure leaves
//! what was there before and no temporary file. A `dest` of `-` writes to standard output,
//! which must not be a terminal.
//!
//! ```
//! use devbuild::output::{Destination, Output};
//!
//! let output: Output = "type=tar,dest=rootfs.tar".parse().unwrap();
//! assert_eq!(output, Output::Tar { dest: Destination::File("rootfs.tar".into()) });
//! assert_eq!("out".parse::<Output>().unwrap(), Output::Local { dest: "out".into() });
//! assert_eq!("type=registry".parse::<Output>().unwrap(), Output::Image { push: true });
//! let err = "type=oci,dest=x".parse::<Output>().unwrap_err();
//! assert!(err.to_string().starts_with(r#"--output "type=oci,dest=x": "#), "{err}");
//! ```

pub mod flatten;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use engine_client::engine::{Engine, EngineError};
use futures_util::{Stream, StreamExt};

use crate::build::BuildError;
use crate::events::Event;

/// What `--output` accepts, for error messages.
pub const ACCEPTED_OUTPUTS: &str = "accepted: type=docker,dest=FILE|-, type=tar[,dest=FILE|-], \
     type=local,dest=DIR, type=image[,push=true|false], type=registry[,push=true|false], a \
     directory (type=local) or - (type=tar to standard output)";

/// One `--output`: where the result of a build goes besides the engine's image store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// `type=docker,dest=…`: the image as `docker save` writes it.
    Docker {
        /// The file, or standard output.
        dest: Destination,
    },
    /// `type=tar[,dest=…]`: the final stage's file system as a tar.
    Tar {
        /// The file, or standard output.
        dest: Destination,
    },
    /// `type=local,dest=DIR` (or `DIR`): the final stage's files in a directory.
    Local {
        /// The directory (made when missing, merged into when it exists).
        dest: PathBuf,
    },
    /// `type=image`, `type=registry`, or `type=docker` without `dest`: the image in the
    /// engine's store, where it always lands; `push` pushes its tags too.
    Image {
        /// Push every tag to its registry (`push=true`; the default of `type=registry`).
        push: bool,
    },
}

/// Where a file output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (`dest=-`); never a terminal.
    Stdout,
    /// A file, replaced atomically.
    File(PathBuf),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Stdout => f.write_str("-"),
            Destination::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Output {
    /// The exporter's name, as buildx names it (`docker`, `tar`, `local`, `image`).
    pub fn kind(&self) -> &'static str {
        match self {
            Output::Docker { .. } => "docker",
            Output::Tar { .. } => "tar",
            Output::Local { .. } => "local",
            Output::Image { .. } => "image",
        }
    }

    /// Whether it writes to standard output.
    pub fn writes_to_stdout(&self) -> bool {
        matches!(
            self,
            Output::Docker {
                dest: Destination::Stdout
            } | Output::Tar {
                dest: Destination::Stdout
            }
        )
    }

    /// Whether it pushes the image (`type=image,push=true`, `type=registry`).
    pub fn pushes(&self) -> bool {
        matches!(self, Output::Image { push: true })
    }
}

impl fmt::Display for Output {
    /// The canonical form: `type=tar,dest=rootfs.tar`, `type=image,push=true`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Docker { dest } | Output::Tar { dest } => {
                write!(f, "type={},dest={dest}", self.kind())
            }
            Output::Local { dest } => write!(f, "type=local,dest={}", dest.display()),
            Output::Image { push } => write!(f, "type=image,push={push}"),
        }
    }
}

/// An `--output` value that is not one devbuild can write, with the value and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--output {value:?}: {reason}; {ACCEPTED_OUTPUTS}")]
pub struct OutputParseError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it (buildx's words where it has them).
    pub reason: String,
}

impl FromStr for Output {
    type Err = OutputParseError;

    /// Parses an `--output` value as buildx does (`util/buildflags/export.go`): CSV fields
    /// of `key=value` (keys case-insensitive), or a lone path, which is `type=local` (`-`:
    /// `type=tar` to standard output).
    fn from_str(value: &str) -> Result<Output, OutputParseError> {
        let error = |reason: String| OutputParseError {
            value: value.to_owned(),
            reason,
        };
        let fields = csv_fields(value).map_err(|reason| error(reason.to_owned()))?;
        if fields.len() == 1 && fields[0] == value && !value.starts_with("type=") {
            return Ok(if value == "-" {
                Output::Tar {
                    dest: Destination::Stdout,
                }
            } else {
                Output::Local {
                    dest: PathBuf::from(value),
                }
            });
        }
        let mut kind = None;
        let mut attrs = BTreeMap::new();
        for field in &fields {
            let Some((key, attr)) = field.split_once('=') else {
                return Err(error(format!("invalid value {field}")));
            };
            let key = key.trim().to_lowercase();
            if key == "type" {
                kind = Some(attr.to_owned());
            } else {
                attrs.insert(key, attr.to_owned());
            }
        }
        let Some(kind) = kind.filter(|k| !k.is_empty()) else {
            return Err(error("type is required for output".to_owned()));
        };
        let allowed: &[&str] = match kind.as_str() {
            "docker" => &["dest", "tar"],
            "tar" | "local" => &["dest"],
            "image" | "registry" => &["push"],
            "oci" => {
                return Err(error(
                    "the oci exporter is not supported (the image comes from the Docker \
                     Engine's store: type=docker writes it as docker save does)"
                        .to_owned(),
                ))
            }
            "cacheonly" => {
                return Err(error(
                    "the cacheonly exporter is not supported (the image always lands in the \
                     engine's store)"
                        .to_owned(),
                ))
            }
            other => return Err(error(format!("unknown output type {other:?}"))),
        };
        if let Some(key) = attrs.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(error(format!(
                "{key}= is not supported by the {kind} output (it takes {})",
                allowed
                    .iter()
                    .map(|a| format!("{a}="))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let dest = attrs.get("dest").map(String::as_str);
        match kind.as_str() {
            "docker" => {
                if let Some(tar) = attrs.get("tar") {
                    if !parse_bool(tar).ok_or_else(|| error(format!("tar={tar}: not a boolean")))? {
                        return Err(error(
                            "tar=false (a directory in OCI layout) is not supported".to_owned(),
                        ));
                    }
                }
                Ok(match dest {
                    None | Some("") => Output::Image { push: false },
                    Some("-") => Output::Docker {
                        dest: Destination::Stdout,
                    },
                    Some(path) => Output::Docker {
                        dest: Destination::File(PathBuf::from(path)),
                    },
                })
            }
            "tar" => Ok(Output::Tar {
                dest: match dest {
                    None | Some("") | Some("-") => Destination::Stdout,
                    Some(path) => Destination::File(PathBuf::from(path)),
                },
            }),
            "local" => match dest {
                None | Some("") => Err(error("dest is required for local exporter".to_owned())),
                Some("-") => Err(error("dest cannot be stdout for local exporter".to_owned())),
                Some(path) => Ok(Output::Local {
                    dest: PathBuf::from(path),
                }),
            },
            _ => {
                let push = match attrs.get("push") {
                    Some(text) => parse_bool(text)
                        .ok_or_else(|| error(format!("push={text}: not a boolean")))?,
                    None => kind == "registry",
                };
                Ok(Output::Image { push })
            }
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The fields of one CSV record, as Go's `encoding/csv` reads them: comma-separated, a field
/// that starts with `"` is quoted (`""` inside it is one `"`).
fn csv_fields(text: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("extraneous or missing \" in quoted-field"),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err("extraneous or missing \" in quoted-field"),
            }
        } else {
            loop {
                match chars.next() {
                    Some(',') => {
                        fields.push(std::mem::take(&mut field));
                        break;
                    }
                    Some('"') => return Err("bare \" in non-quoted-field"),
                    Some(c) => field.push(c),
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                }
            }
        }
    }
}

/// Checks the outputs before anything is sent, as buildx checks them: a directory that is
/// a file, a file that is a directory, a file whose directory does not exist, two outputs
/// on standard output, standard output on a terminal. The message is buildx's where it has
/// one.
pub fn check_outputs(outputs: &[Output]) -> Result<(), String> {
    let mut stdout_used = false;
    for output in outputs {
        match output {
            Output::Local { dest } => {
                if std::fs::metadata(dest).is_ok_and(|m| !m.is_dir()) {
                    return Err(format!(
                        "--output {output}: destination directory {} is a file",
                        dest.display()
                    ));
                }
            }
            Output::Docker {
                dest: Destination::File(dest),
            }
            | Output::Tar {
                dest: Destination::File(dest),
            } => {
                if std::fs::metadata(dest).is_ok_and(|m| m.is_dir()) {
                    return Err(format!(
                        "--output {output}: destination file {} is a directory",
                        dest.display()
                    ));
                }
                let dir = parent_of(dest);
                if !dir.is_dir() {
                    return Err(format!(
                        "--output {output}: the directory {} does not exist",
                        dir.display()
                    ));
                }
            }
            Output::Docker {
                dest: Destination::Stdout,
            }
            | Output::Tar {
                dest: Destination::Stdout,
            } => {
                if stdout_used {
                    return Err(format!(
                        "--output {output}: multiple outputs configured to write to stdout"
                    ));
                }
                stdout_used = true;
                if std::io::stdout().is_terminal() {
                    return Err(format!(
                        "--output {output}: dest file is required for {} exporter. refusing to write to console",
                        output.kind()
                    ));
                }
            }
            Output::Image { .. } => {}
        }
    }
    Ok(())
}

/// The directory a path is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Set while its owner lives; cleared (and the blocking work told to stop) when it is
/// dropped, as when the build's future is dropped on Ctrl-C.
struct StillWanted(Arc<AtomicBool>);

impl StillWanted {
    fn new() -> StillWanted {
        StillWanted(Arc::new(AtomicBool::new(true)))
    }

    fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for StillWanted {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// Writes one output of the image `image_id` (tagged `tags`), reporting
/// [`Event::OutputStarted`] and [`Event::OutputWritten`]. [`Output::Image`] writes nothing.
pub(crate) async fn write_output<F: FnMut(&Event)>(
    engine: &Engine,
    output: &Output,
    image_id: &str,
    tags: &[String],
    on_event: &mut F,
) -> Result<(), BuildError> {
    if let Output::Image { .. } = output {
        return Ok(());
    }
    on_event(&Event::OutputStarted {
        output: output.to_string(),
    });
    let failed = |reason: String| BuildError::Output {
        output: output.to_string(),
        reason,
    };
    let wanted = StillWanted::new();
    let bytes = match output {
        Output::Docker { dest } => {
            // Tags name the image in manifest.json, so that `docker load` tags it again.
            let names = if tags.is_empty() {
                vec![image_id.to_owned()]
            } else {
                tags.to_vec()
            };
            let sink = Sink::open(dest).map_err(|e| failed(e.to_string()))?;
            let (sink, bytes) = download(engine.save_image(&names), sink, wanted.flag())
                .await
                .map_err(|e| failed(e.to_string()))?;
            blocking(move || sink.finish()).await.map_err(failed)?;
            bytes
        }
        Output::Tar { dest } => {
            let saved = save_to_temp(engine, image_id, save_dir(dest), &wanted)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let sink = Sink::open(dest).map_err(|e| failed(e.to_string()))?;
            let flag = wanted.flag();
            blocking(move || {
                let image = flatten::SavedImage::open(saved)?;
                let mut sink = sink;
                let bytes = image.write_tar(&mut sink, &flag)?;
                sink.finish()?;
                Ok(bytes)
            })
            .await
            .map_err(failed)?
        }
        Output::Local { dest } => {
            let dest = dest.clone();
            std::fs::create_dir_all(parent_of(&dest))
                .map_err(|e| failed(format!("{}: {e}", parent_of(&dest).display())))?;
            let saved = save_to_temp(engine, image_id, parent_of(&dest).to_owned(), &wanted)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let flag = wanted.flag();
            blocking(move || {
                let image = flatten::SavedImage::open(saved)?;
                let staging = tempfile::Builder::new()
                    .prefix(TEMP_PREFIX)
                    .tempdir_in(parent_of(&dest))?;
                let bytes = image.unpack_into(staging.path(), &flag)?;
                place_dir(staging.path(), &dest)?;
                Ok(bytes)
            })
            .await
            .map_err(failed)?
        }
        Output::Image { .. } => 0,
    };
    drop(wanted);
    on_event(&Event::OutputWritten {
        output: output.to_string(),
        bytes,
    });
    Ok(())
}

/// The prefix of every temporary file and directory an output makes next to its
/// destination (removed again, also on failure).
pub const TEMP_PREFIX: &str = ".devbuild-output-";

/// Where the `docker save` tar waits while a file system is made from it: next to the
/// file, or in the temporary directory for standard output.
fn save_dir(dest: &Destination) -> PathBuf {
    match dest {
        Destination::File(path) => parent_of(path).to_owned(),
        Destination::Stdout => std::env::temp_dir(),
    }
}

/// Runs blocking work on a blocking thread; its I/O error becomes the message.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the writer stopped: {e}")),
    }
}

/// The image `image_id` saved into a temporary file in `dir` (removed when dropped).
async fn save_to_temp(
    engine: &Engine,
    image_id: &str,
    dir: PathBuf,
    wanted: &StillWanted,
) -> Result<tempfile::NamedTempFile, SaveError> {
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)
        .map_err(|e| SaveError::Write(format!("{}: {e}", dir.display())))?;
    let sink = Sink::Temp(temp);
    let (sink, _) = download(
        engine.save_image(&[image_id.to_owned()]),
        sink,
        wanted.flag(),
    )
    .await?;
    match sink {
        Sink::Temp(temp) => Ok(temp),
        _ => unreachable!("a temporary file stays one"),
    }
}

/// Why the image could not be saved: the engine's error, or the local write's.
#[derive(Debug, thiserror::Error)]
enum SaveError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Write(String),
}

/// Where bytes go: a temporary file renamed over the destination at the end, a temporary
/// file of our own, or standard output.
enum Sink {
    /// The destination's temporary file, and the destination.
    Replace(tempfile::NamedTempFile, PathBuf),
    /// A temporary file (removed when dropped).
    Temp(tempfile::NamedTempFile),
    /// Standard output.
    Stdout(std::io::Stdout),
}

impl Sink {
    fn open(dest: &Destination) -> std::io::Result<Sink> {
        Ok(match dest {
            Destination::Stdout => Sink::Stdout(std::io::stdout()),
            Destination::File(path) => {
                let dir = parent_of(path);
                let temp = tempfile::Builder::new()
                    .prefix(TEMP_PREFIX)
                    .tempfile_in(dir)
                    .map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()))
                    })?;
                Sink::Replace(temp, path.clone())
            }
        })
    }

    /// Flushes, and renames a destination's temporary file into place (`0644`, as buildx
    /// creates its files).
    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Replace(mut temp, path) => {
                temp.flush()?;
                temp.as_file().sync_all()?;
                set_mode(temp.path(), 0o644)?;
                temp.persist(&path).map_err(|e| {
                    std::io::Error::new(e.error.kind(), format!("{}: {}", path.display(), e.error))
                })?;
                Ok(())
            }
            Sink::Temp(mut temp) => temp.flush(),
            Sink::Stdout(mut out) => out.flush(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Replace(temp, _) | Sink::Temp(temp) => temp.write(buf),
            Sink::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Replace(temp, _) | Sink::Temp(temp) => temp.flush(),
            Sink::Stdout(out) => out.flush(),
        }
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Copies `body` into `sink` on a blocking thread, a bounded number of chunks behind; the
/// sink and the bytes written come back. `wanted` cleared stops the writer.
async fn download<S>(body: S, sink: Sink, wanted: Arc<AtomicBool>) -> Result<(Sink, u64), SaveError>
where
    S: Stream<Item = Result<Bytes, EngineError>> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || {
        let mut sink = sink;
        let mut bytes = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            if !wanted.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("canceled"));
            }
            sink.write_all(&chunk)?;
            bytes += chunk.len() as u64;
        }
        Ok((sink, bytes))
    });
    let mut body = std::pin::pin!(body);
    let mut failure = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                if tx.send(chunk).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| SaveError::Write(format!("the writer stopped: {e}")))?;
    if let Some(e) = failure {
        return Err(SaveError::Engine(e));
    }
    written.map_err(|e| SaveError::Write(e.to_string()))
}

/// Puts the directory `staging` in place as `dest`: renamed there when `dest` does not
/// exist, else its entries moved into `dest` (merged, as buildx's local exporter does).
fn place_dir(staging: &Path, dest: &Path) -> std::io::Result<()> {
    set_mode(staging, 0o755)?;
    match std::fs::metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::rename(staging, dest)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dest.display()))),
        Ok(meta) if meta.is_dir() => merge_dir(staging, dest),
        Ok(_) => Err(std::io::Error::other(format!(
            "destination directory {} is a file",
            dest.display()
        ))),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", dest.display()),
        )),
    }
}

/// Moves every entry of `from` into `into`: an entry `into` lacks is renamed there (a whole
/// directory at once), two directories are merged, anything else is replaced.
fn merge_dir(from: &Path, into: &Path) -> std::io::Result<()> {
    let located = |path: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    };
    for entry in std::fs::read_dir(from).map_err(|e| located(from, e))? {
        let entry = entry.map_err(|e| located(from, e))?;
        let source = entry.path();
        let target = into.join(entry.file_name());
        let source_is_dir = entry.file_type().map_err(|e| located(&source, e))?.is_dir();
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(located(&target, e)),
            Ok(meta) if meta.is_dir() && source_is_dir => {
                merge_dir(&source, &target)?;
                let mode = std::fs::metadata(&source).map_err(|e| located(&source, e))?;
                std::fs::set_permissions(&target, mode.permissions())
                    .map_err(|e| located(&target, e))?;
                continue;
            }
            Ok(meta) if meta.is_dir() => {
                std::fs::remove_dir_all(&target).map_err(|e| located(&target, e))?
            }
            Ok(_) if source_is_dir => {
                std::fs::remove_file(&target).map_err(|e| located(&target, e))?
            }
            Ok(_) => {}
        }
        std::fs::rename(&source, &target).map_err(|e| located(&target, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Output, String> {
        text.parse::<Output>().map_err(|e| e.reason)
    }

    fn file(path: &str) -> Destination {
        Destination::File(PathBuf::from(path))
    }

    #[test]
    fn outputs_parse_as_buildx_parses_them() {
        for (text, expected) in [
            (
                "type=docker,dest=img.tar",
                Output::Docker {
                    dest: file("img.tar"),
                },
            ),
            (
                "type=docker,dest=-",
                Output::Docker {
                    dest: Destination::Stdout,
                },
            ),
            ("type=docker", Output::Image { push: false }),
            (
                "type=docker,tar=true,dest=a",
                Output::Docker { dest: file("a") },
            ),
            (
                "type=tar,dest=fs.tar",
                Output::Tar {
                    dest: file("fs.tar"),
                },
            ),
            (
                "type=tar",
                Output::Tar {
                    dest: Destination::Stdout,
                },
            ),
            (
                "type=tar,dest=-",
                Output::Tar {
                    dest: Destination::Stdout,
                },
            ),
            ("type=local,dest=out", Output::Local { dest: "out".into() }),
            ("TYPE=local, DEST=out", Output::Local { dest: "out".into() }),
            ("out", Output::Local { dest: "out".into() }),
            // A lone field is a directory, even one that looks like an attribute.
            (
                "dest=out",
                Output::Local {
                    dest: "dest=out".into(),
                },
            ),
            (
                "-",
                Output::Tar {
                    dest: Destination::Stdout,
                },
            ),
            ("type=image", Output::Image { push: false }),
            ("type=image,push=true", Output::Image { push: true }),
            ("type=image,push=1", Output::Image { push: true }),
            ("type=registry", Output::Image { push: true }),
            ("type=registry,push=false", Output::Image { push: false }),
            (
                r#"type=local,"dest=a,""b""""#,
                Output::Local {
                    dest: r#"a,"b""#.into(),
                },
            ),
        ] {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_outputs_say_why_in_buildx_words() {
        for (text, reason) in [
            ("type=local", "dest is required for local exporter"),
            ("type=local,dest=", "dest is required for local exporter"),
            (
                "type=local,dest=-",
                "dest cannot be stdout for local exporter",
            ),
            ("dest=a,x", "invalid value x"),
            ("dest=a,push=true", "type is required for output"),
            ("type=", "type is required for output"),
            ("type=foo,dest=x", "unknown output type \"foo\""),
            ("type=TAR", "unknown output type \"TAR\""),
            ("type=image,push=maybe", "push=maybe: not a boolean"),
            (
                "type=tar,dest=a,compression=zstd",
                "compression= is not supported by the tar output (it takes dest=)",
            ),
            (
                "type=image,name=x:1",
                "name= is not supported by the image output (it takes push=)",
            ),
            ("type=local,dest=a\"b", "bare \" in non-quoted-field"),
            // One quoted field is not a lone path: its text is the type, as in buildx.
            (
                r#""type=local,dest=a,b""#,
                "unknown output type \"local,dest=a,b\"",
            ),
            (
                "type=local,\"dest=a",
                "extraneous or missing \" in quoted-field",
            ),
            (
                "type=docker,tar=false,dest=x",
                "tar=false (a directory in OCI layout) is not supported",
            ),
        ] {
            assert_eq!(parse(text), Err(reason.to_owned()), "{text}");
        }
        assert!(parse("type=oci,dest=x")
            .unwrap_err()
            .contains("oci exporter is not supported"));
        let err = "type=foo".parse::<Output>().unwrap_err().to_string();
        assert!(err.starts_with("--output \"type=foo\": unknown output type \"foo\"; accepted: type=docker,dest=FILE|-"), "{err}");
    }

    #[test]
    fn outputs_show_in_canonical_form() {
        for text in [
            "type=docker,dest=img.tar",
            "type=tar,dest=-",
            "type=local,dest=out",
            "type=image,push=true",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            parse("type=registry").unwrap().to_string(),
            "type=image,push=true"
        );
    }

    #[test]
    fn destinations_are_checked_before_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let a_file = dir.path().join("file");
        std::fs::write(&a_file, "x").unwrap();
        let local = Output::Local {
            dest: a_file.clone(),
        };
        assert!(check_outputs(std::slice::from_ref(&local))
            .unwrap_err()
            .ends_with(&format!(
                "destination directory {} is a file",
                a_file.display()
            )));
        let tar = Output::Tar {
            dest: Destination::File(dir.path().to_owned()),
        };
        assert!(check_outputs(&[tar]).unwrap_err().ends_with(&format!(
            "destination file {} is a directory",
            dir.path().display()
        )));
        let missing = dir.path().join("no/such/dir/fs.tar");
        let tar = Output::Tar {
            dest: Destination::File(missing),
        };
        assert!(check_outputs(&[tar])
            .unwrap_err()
            .contains("does not exist"));
        let stdout = Output::Tar {
            dest: Destination::Stdout,
        };
        let err = check_outputs(&[stdout.clone(), stdout]).unwrap_err();
        // The test's standard output may be a terminal: either refusal is right, the
        // second only when it is not one.
        assert!(
            err.ends_with("multiple outputs configured to write to stdout")
                || err.ends_with("refusing to write to console"),
            "{err}"
        );
        check_outputs(&[
            Output::Local {
                dest: dir.path().join("new"),
            },
            Output::Image { push: true },
        ])
        .unwrap();
    }

    #[test]
    fn a_directory_output_merges_into_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join("staging");
        let dest = dir.path().join("out");
        std::fs::create_dir_all(staging.join("sub")).unwrap();
        std::fs::write(staging.join("sub/new.txt"), "new").unwrap();
        std::fs::write(staging.join("same.txt"), "image").unwrap();
        std::fs::write(staging.join("was-a-dir"), "file").unwrap();
        std::fs::create_dir_all(dest.join("sub")).unwrap();
        std::fs::create_dir_all(dest.join("was-a-dir/x")).unwrap();
        std::fs::write(dest.join("sub/kept.txt"), "kept").unwrap();
        std::fs::write(dest.join("same.txt"), "old").unwrap();
        place_dir(&staging, &dest).unwrap();
        let read = |p: &str| std::fs::read_to_string(dest.join(p)).unwrap();
        assert_eq!(read("sub/new.txt"), "new");
        assert_eq!(read("sub/kept.txt"), "kept");
        assert_eq!(read("same.txt"), "image");
        assert_eq!(read("was-a-dir"), "file");
        // A destination that does not exist is the staging directory renamed.
        let fresh = dir.path().join("fresh");
        std::fs::create_dir(&staging).ok();
        std::fs::write(staging.join("a"), "a").unwrap();
        place_dir(&staging, &fresh).unwrap();
        assert!(!staging.exists());
        assert_eq!(std::fs::read_to_string(fresh.join("a")).unwrap(), "a");
    }
}
