//! No byte of a file outside the context reaches the tar through any symlink: links are
//! stored with their targets, whatever they point at, and never followed.

mod common;

use common::*;
use ctx_tar::{Compression, ContextSpec, EntryKind};

const SECRET: &[u8] = b"OUTSIDE-SECRET-7d1f0c9e";

#[test]
fn no_outside_bytes_reach_the_tar_through_symlinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "outside/secret.txt", SECRET);
    write(dir.path(), "outside/dir/inner.txt", SECRET);
    let ctx = mkdir(dir.path(), "ctx");
    let abs_secret = dir.path().join("outside/secret.txt");
    let abs_dir = dir.path().join("outside/dir");
    write(&ctx, "Dockerfile", b"FROM scratch\n");
    let links = [
        ("abs-file", abs_secret.to_str().expect("utf8").to_owned()),
        ("abs-dir", abs_dir.to_str().expect("utf8").to_owned()),
        ("rel-file", "../outside/secret.txt".to_owned()),
        ("rel-dir", "../outside/dir".to_owned()),
        ("chain", "rel-file".to_owned()),
        ("nested/deep", "../../outside/secret.txt".to_owned()),
        ("dangling", "../outside/missing".to_owned()),
        ("root", "/".to_owned()),
        ("self", ".".to_owned()),
    ];
    for (name, target) in &links {
        symlink(&ctx, name, target);
    }
    // The ignore rules re-include paths below linked directories: still not followed.
    write(&ctx, ".dockerignore", b"*\n!Dockerfile\n!abs-*\n!rel-*\n!chain\n!nested\n!dangling\n!root\n!self\n!abs-dir/**\n!rel-dir/inner.txt\n");

    for compression in [Compression::None, Compression::Gzip] {
        let mut spec = ContextSpec::new(&ctx);
        spec.compression = compression;
        let mut tar = Vec::new();
        ctx_tar::write_tar(&spec, &mut tar).expect("write_tar");
        if compression == Compression::Gzip {
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&tar[..]), &mut plain)
                .expect("gunzip");
            tar = plain;
        }
        assert!(
            !tar.windows(SECRET.len()).any(|w| w == SECRET),
            "secret leaked"
        );
        let members = members(&tar);
        for (name, target) in &links {
            let member = members
                .iter()
                .find(|m| m.name == name.as_bytes())
                .unwrap_or_else(|| panic!("{name} archived"));
            assert_eq!(member.typeflag, b'2', "{name}");
            assert_eq!(member.link, target.as_bytes(), "{name}");
            assert_eq!(member.size, 0);
        }
        assert!(members.iter().all(|m| !m.name.starts_with(b"abs-dir/")));
    }

    let listing = ctx_tar::list(&ContextSpec::new(&ctx)).expect("list");
    for entry in &listing.entries {
        if entry.kind == EntryKind::Link {
            let on_disk = std::fs::read_link(ctx.join(&entry.path)).expect("readlink");
            assert_eq!(entry.target.as_deref(), on_disk.to_str());
            assert!(!entry.target_bytes().is_empty());
        }
    }
}

#[test]
fn a_symlinked_context_root_is_resolved_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = mkdir(dir.path(), "real");
    write(&real, "a.txt", b"a");
    symlink(dir.path(), "link", "real");
    let listing = ctx_tar::list(&ContextSpec::new(dir.path().join("link"))).expect("list");
    let paths: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["a.txt"]);
}
