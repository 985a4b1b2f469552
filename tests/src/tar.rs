//! A minimal tar writer for small build contexts: regular files only, ustar headers,
//! uid/gid 0, mode 0644 (or one given per file), mtime 0.

/// A tar archive of `files` (path, contents), in the given order, each of mode 0644.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let files: Vec<_> = files.iter().map(|&(p, c)| (p, c, 0o644)).collect();
    tar_of_modes(&files)
}

/// A tar archive of `files` (path, contents, mode), in the given order: for contexts with
/// executables (mode 0755) that a `RUN` starts.
pub fn tar_of_modes(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(path, contents, mode) in files {
        assert!(
            path.len() < 100,
            "tar_of: path too long for a ustar name: {path}"
        );
        let mut header = [0u8; 512];
        header[..path.len()].copy_from_slice(path.as_bytes());
        let octal = |field: &mut [u8], value: u64| {
            let text = format!("{value:0width$o}\0", width = field.len() - 1);
            field.copy_from_slice(text.as_bytes());
        };
        octal(&mut header[100..108], u64::from(mode));
        octal(&mut header[108..116], 0);
        octal(&mut header[116..124], 0);
        octal(&mut header[124..136], contents.len() as u64);
        octal(&mut header[136..148], 0);
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        // The checksum is computed with its own field as spaces.
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(contents);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_tar_reads_it() {
        let archive = tar_of(&[("Dockerfile", b"FROM scratch\n"), ("dir/a.txt", b"a")]);
        assert_eq!(archive.len() % 512, 0);
        let dir = std::env::temp_dir().join(format!("devbuild-tests-tar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.tar");
        std::fs::write(&path, &archive).unwrap();
        let listing = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&path)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            listing.status.success(),
            "{}",
            String::from_utf8_lossy(&listing.stderr)
        );
        let text = String::from_utf8_lossy(&listing.stdout);
        assert!(
            text.contains("Dockerfile") && text.contains("dir/a.txt"),
            "{text}"
        );
    }
}
