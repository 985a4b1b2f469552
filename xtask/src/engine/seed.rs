//! Seeding: the base image `devbuild-test/busybox:1`, made with `docker import` from a
//! root file system of busybox-static, in every engine; and the private image, a copy of it
//! pushed to the registry and then removed from the engines' local stores.

use super::daemon::Running;
use super::http::get_tcp;
use super::process::{output, run};
use super::registry::Registry;
use super::{Layout, BASE_IMAGE, PRIVATE_REPOSITORY, PRIVATE_TAG};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The docker CLI: Debian's (installed with docker.io), else whatever `docker` is on PATH.
fn docker(layout: &Layout, engine: &Running) -> Command {
    let program = if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    };
    let mut command = Command::new(program);
    command
        .env("DOCKER_HOST", format!("unix://{}", engine.socket.display()))
        .env("DOCKER_CONFIG", layout.docker_config());
    command
}

fn has_image(layout: &Layout, engine: &Running, image: &str) -> bool {
    docker(layout, engine)
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Imports the base image into `engine` unless it is there.
pub fn base_image(layout: &Layout, engine: &Running) -> Result<(), String> {
    let version = engine.spec.name;
    if has_image(layout, engine, BASE_IMAGE) {
        eprintln!("    engine {version}: {BASE_IMAGE} present");
        return Ok(());
    }
    let tar = rootfs_tar(layout)?;
    output(
        docker(layout, engine)
            .args(["import", "--change", r#"CMD ["sh"]"#])
            .arg(&tar)
            .arg(BASE_IMAGE),
        "docker import",
    )?;
    eprintln!("    engine {version}: imported {BASE_IMAGE}");
    Ok(())
}

/// A tar of a root file system holding busybox-static and its applet links, made once.
fn rootfs_tar(layout: &Layout) -> Result<PathBuf, String> {
    let tar = layout.cache().join("busybox-rootfs.tar");
    if tar.exists() {
        return Ok(tar);
    }
    let dir = layout.cache().join("busybox-rootfs");
    let _ = fs::remove_dir_all(&dir);
    let io =
        |e: std::io::Error| format!("cannot make the busybox rootfs in {}: {e}", dir.display());
    for sub in ["bin", "etc", "root", "tmp"] {
        fs::create_dir_all(dir.join(sub)).map_err(io)?;
    }
    fs::copy("/bin/busybox", dir.join("bin/busybox")).map_err(io)?;
    let applets = output(Command::new("/bin/busybox").arg("--list"), "busybox --list")?;
    for applet in applets.lines().filter(|a| !a.is_empty() && *a != "busybox") {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).map_err(io)?;
    }
    fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").map_err(io)?;
    fs::write(dir.join("etc/group"), "root:x:0:\n").map_err(io)?;
    run(
        Command::new("chmod").arg("1777").arg(dir.join("tmp")),
        "chmod",
    )?;
    let partial = tar.with_extension("partial");
    run(
        Command::new("tar")
            .args([
                "--sort=name",
                "--mtime=@0",
                "--numeric-owner",
                "--owner=0",
                "--group=0",
            ])
            .arg("-C")
            .arg(&dir)
            .arg("-cf")
            .arg(&partial)
            .arg("."),
        "tar (busybox rootfs)",
    )?;
    fs::rename(&partial, &tar).map_err(io)?;
    Ok(tar)
}

/// Pushes the private image unless the registry has it, then makes sure no engine holds it
/// locally (a build `FROM` it must go to the registry).
pub fn private_image(
    layout: &Layout,
    registry: &Registry,
    engines: &[Running],
) -> Result<(), String> {
    let image = format!("{}/{PRIVATE_REPOSITORY}:{PRIVATE_TAG}", registry.address());
    let manifest = get_tcp(
        &registry.address(),
        &format!("/v2/{PRIVATE_REPOSITORY}/manifests/{PRIVATE_TAG}"),
        &[
            ("Authorization", &registry.basic_auth()),
            (
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json",
            ),
        ],
    )?;
    if manifest.status == 200 {
        eprintln!("    registry: {image} present");
    } else {
        let engine = engines
            .first()
            .ok_or("no engine to push the private image from")?;
        output(
            docker(layout, engine).args(["tag", BASE_IMAGE, &image]),
            "docker tag",
        )?;
        output(docker(layout, engine).args(["push", &image]), "docker push")?;
        eprintln!(
            "    registry: pushed {image} from engine {}",
            engine.spec.name
        );
    }
    for engine in engines {
        if has_image(layout, engine, &image) {
            output(docker(layout, engine).args(["rmi", &image]), "docker rmi")?;
            eprintln!(
                "    engine {}: removed {image} from the local store",
                engine.spec.name
            );
        }
    }
    Ok(())
}
