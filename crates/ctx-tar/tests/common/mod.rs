//! Helpers shared by the integration tests: building real trees, and reading tars back
//! with the `tar` crate, GNU tar and Python's tarfile.
#![allow(dead_code)]

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// A file, directory or link below `root`; parents are created.
pub fn write(root: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, data).expect("write");
    path
}

pub fn mkdir(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(&path).expect("mkdir");
    path
}

pub fn symlink(root: &Path, rel: &str, target: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, &path).expect("symlink");
    path
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn set_mtime(path: &Path, secs: i64, nanos: u32) {
    let time = if secs >= 0 {
        std::time::UNIX_EPOCH + std::time::Duration::new(secs as u64, nanos)
    } else {
        std::time::UNIX_EPOCH - std::time::Duration::new(secs.unsigned_abs(), 0)
            + std::time::Duration::new(0, nanos)
    };
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    file.set_times(std::fs::FileTimes::new().set_modified(time))
        .expect("set mtime");
}

pub fn cstring(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("no NUL")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn mkfifo(path: &Path) {
    let c = cstring(path);
    // SAFETY: `c` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// A character device with the given numbers (root only).
pub fn mknod_char(path: &Path, major: u32, minor: u32) {
    let c = cstring(path);
    // SAFETY: `c` is a NUL-terminated path.
    let rc = unsafe {
        libc::mknod(
            c.as_ptr(),
            libc::S_IFCHR | 0o644,
            libc::makedev(major, minor),
        )
    };
    assert_eq!(rc, 0, "mknod");
}

/// Sets an extended attribute; false when the file system refuses it.
pub fn setxattr(path: &Path, name: &str, value: &[u8]) -> bool {
    let c = cstring(path);
    let name = CString::new(name).expect("name");
    // SAFETY: both strings are NUL-terminated and `value` is readable for its length.
    unsafe {
        libc::setxattr(
            c.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

/// One member of a tar as the `tar` crate reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub size: u64,
    pub link: Vec<u8>,
    pub data: Vec<u8>,
    pub pax: Vec<(String, Vec<u8>)>,
}

/// Reads every member with the `tar` crate (data kept only up to `max_data` bytes).
pub fn members(tar: &[u8]) -> Vec<Member> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let pax = match entry.pax_extensions().expect("pax") {
            Some(exts) => exts
                .map(|e| {
                    let e = e.expect("pax record");
                    (e.key().expect("key").to_owned(), e.value_bytes().to_vec())
                })
                .collect(),
            None => Vec::new(),
        };
        let header = entry.header().clone();
        let name = entry.path_bytes().into_owned();
        let link = entry
            .link_name_bytes()
            .map(|l| l.into_owned())
            .unwrap_or_default();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("data");
        out.push(Member {
            name,
            typeflag: header.entry_type().as_byte(),
            mode: header.mode().expect("mode"),
            uid: header.uid().expect("uid"),
            gid: header.gid().expect("gid"),
            mtime: header.mtime().expect("mtime"),
            size: entry.size(),
            link,
            data,
            pax,
        });
    }
    out
}

/// `tar --numeric-owner -tvvf -`: asserts exit 0 and returns the listing.
pub fn gnu_tar_list(tar: &[u8]) -> String {
    let out = run_with_stdin(
        Command::new("tar").args(["--numeric-owner", "-tvvf", "-"]),
        tar,
    );
    assert!(
        out.status.success(),
        "GNU tar -t failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "GNU tar -t warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tar -xf - -C dir`: asserts exit 0 with no warnings.
pub fn gnu_tar_extract(tar: &[u8], dir: &Path) {
    let out = run_with_stdin(
        Command::new("tar")
            .args(["--warning=no-timestamp", "-xf", "-", "-C"])
            .arg(dir),
        tar,
    );
    assert!(
        out.status.success(),
        "GNU tar -x failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "GNU tar -x warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("stdin writer");
    out
}

/// One member as Python's tarfile reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct PyMember {
    pub name: String,
    #[serde(rename = "type")]
    pub typeflag: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    pub mtime: i64,
    pub linkname: String,
    pub size: u64,
    pub sha256: String,
    pub devmajor: u32,
    pub devminor: u32,
    pub pax: std::collections::BTreeMap<String, String>,
}

impl PyMember {
    pub fn name_bytes(&self) -> Vec<u8> {
        unhex(&self.name)
    }
    pub fn link_bytes(&self) -> Vec<u8> {
        unhex(&self.linkname)
    }
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Python's tarfile with `errorlevel=2`: members, and an extraction into `extract` if given.
pub fn python_members(tar: &[u8], extract: Option<&Path>) -> Vec<PyMember> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ctx.tar");
    std::fs::write(&file, tar).expect("write tar");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tar_members.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(&file);
    if let Some(extract) = extract {
        cmd.arg(extract);
    }
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "python tarfile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python json")
}

/// sha256 of some bytes, via Python's hashlib name for comparing with [`PyMember::sha256`].
pub fn sha256_hex(data: &[u8]) -> String {
    let out = run_with_stdin(
        Command::new("python3").args([
            "-c",
            "import hashlib,sys;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ]),
        data,
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

/// Checks the raw 512-byte headers (T3): USTAR magic, checksum as `%06o\0 `, uid/gid 0,
/// empty user and group names, no file-type bits in the mode, devmajor/devminor as octal
/// (NUL in PAX headers), and the end-of-archive framing.
pub fn check_raw_headers(tar: &[u8]) {
    assert_eq!(tar.len() % 512, 0, "whole blocks");
    assert!(tar.len() >= 1024);
    assert!(
        tar[tar.len() - 1024..].iter().all(|&b| b == 0),
        "two zero blocks at the end"
    );
    let mut offset = 0;
    loop {
        let block = &tar[offset..offset + 512];
        if block.iter().all(|&b| b == 0) {
            assert_eq!(
                offset + 1024,
                tar.len(),
                "trailer only at the end, exactly 1024 bytes"
            );
            break;
        }
        assert_eq!(&block[257..263], b"ustar\0", "magic at {offset}");
        assert_eq!(&block[263..265], b"00", "version at {offset}");
        let chk = &block[148..156];
        assert_eq!(&chk[6..], b"\0 ", "checksum ends NUL space at {offset}");
        let mut copy = block.to_vec();
        copy[148..156].fill(b' ');
        let sum: u32 = copy.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(
            &chk[..6],
            format!("{sum:06o}").as_bytes(),
            "checksum at {offset}"
        );
        assert_eq!(&block[108..116], b"0000000\0", "uid");
        assert_eq!(&block[116..124], b"0000000\0", "gid");
        assert!(block[265..329].iter().all(|&b| b == 0), "uname/gname empty");
        let mode = std::str::from_utf8(&block[100..107]).expect("mode");
        let mode = u32::from_str_radix(mode, 8).expect("octal mode");
        assert!(mode <= 0o7777, "no S_IFMT bits: {mode:o}");
        assert_eq!(block[107], 0);
        let typeflag = block[156];
        assert_ne!(typeflag, 0, "typeflag '0', never NUL");
        if typeflag == b'x' {
            assert!(
                block[329..345].iter().all(|&b| b == 0),
                "PAX devmajor/devminor NUL"
            );
        } else {
            assert_eq!(block[329 + 7], 0);
            assert_eq!(block[337 + 7], 0);
            assert!(block[329..336].iter().all(u8::is_ascii_digit));
            assert!(block[337..344].iter().all(u8::is_ascii_digit));
        }
        let size = std::str::from_utf8(&block[124..135]).expect("size");
        let size = u64::from_str_radix(size, 8).expect("octal size");
        offset += 512 + (size.div_ceil(512) * 512) as usize;
    }
}
