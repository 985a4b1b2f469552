//! Writing the tar: headers, file data read exactly once and checked against the size the
//! walk saw, and the end-of-archive blocks.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use crate::entry::{Entry, Source};
use crate::header;
use crate::plan::Plan;
use crate::summary::{Summary, Totals};
use crate::walk;
use crate::Error;

/// The size of the buffer file data is read through.
pub(crate) const READ_BUFFER: usize = 64 * 1024;

/// Writes the whole archive for `plan` into `out` (uncompressed; the caller wraps `out`
/// and flushes it).
pub(crate) fn write(plan: Arc<Plan>, out: &mut dyn Write) -> Result<Summary, Error> {
    let mut totals = Totals::default();
    let mut buf = vec![0u8; READ_BUFFER];
    let outcome = walk::run(&plan, &mut |entry| {
        write_entry(out, &entry, &mut buf)?;
        totals.add(&entry);
        Ok(())
    })?;
    out.write_all(&[0u8; header::TRAILER_LEN as usize])
        .map_err(write_error)?;
    Ok(totals.finish(outcome, &plan))
}

pub(crate) fn write_error(source: io::Error) -> Error {
    Error::Write { source }
}

/// One entry: its file is opened and checked before the header is written, so a file
/// that cannot be read fails before any of its bytes.
fn write_entry(out: &mut dyn Write, entry: &Entry, buf: &mut [u8]) -> Result<(), Error> {
    match &entry.raw.source {
        Source::None => out.write_all(&header::encode(entry)).map_err(write_error),
        Source::Memory(data) => {
            out.write_all(&header::encode(entry)).map_err(write_error)?;
            out.write_all(data).map_err(write_error)?;
            pad(out, entry.size)
        }
        Source::Disk { path, dev, ino } => {
            let mut file = open_checked(path, *dev, *ino, entry.size)?;
            out.write_all(&header::encode(entry)).map_err(write_error)?;
            copy_exact(&mut file, path, entry.size, out, buf)?;
            pad(out, entry.size)
        }
    }
}

fn pad(out: &mut dyn Write, size: u64) -> Result<(), Error> {
    let padding = (header::padded(size) - size) as usize;
    out.write_all(&[0u8; header::BLOCK][..padding])
        .map_err(write_error)
}

/// Opens a file the walk saw, without following a link that replaced it, and checks that
/// it is still the same file with the same size.
pub(crate) fn open_checked(path: &Path, dev: u64, ino: u64, size: u64) -> Result<File, Error> {
    let unreadable = |source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() || meta.dev() != dev || meta.ino() != ino {
        return Err(Error::Replaced {
            path: path.to_path_buf(),
        });
    }
    if meta.len() != size {
        return Err(Error::SizeChanged {
            path: path.to_path_buf(),
            expected: size,
            actual: meta.len(),
        });
    }
    Ok(file)
}

/// Copies exactly `size` bytes, and fails if the file ends early or has more.
fn copy_exact(
    file: &mut File,
    path: &Path,
    size: u64,
    out: &mut dyn Write,
    buf: &mut [u8],
) -> Result<(), Error> {
    let unreadable = |source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut done = 0u64;
    while done < size {
        let want = buf.len().min((size - done) as usize);
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(Error::SizeChanged {
                    path: path.to_path_buf(),
                    expected: size,
                    actual: done,
                })
            }
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(unreadable(err)),
        };
        out.write_all(&buf[..n]).map_err(write_error)?;
        done += n as u64;
    }
    let mut probe = [0u8; 1];
    loop {
        match file.read(&mut probe) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                let now = file.metadata().map(|m| m.len()).unwrap_or(0);
                return Err(Error::SizeChanged {
                    path: path.to_path_buf(),
                    expected: size,
                    actual: now.max(size + 1),
                });
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(unreadable(err)),
        }
    }
}
