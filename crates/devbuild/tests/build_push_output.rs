//! Docker-backed: what `devbuild build` makes after the build, checked by its effect on
//! both engines, never by its acceptance alone:
//!
//! - `--push` lands the image in the test registry (with the harness's credentials) under
//!   the digest devbuild reports, which the registry confirms and the other engine pulls;
//! - `--metadata-file` holds the registry's digest and descriptor, and the image id;
//! - `--output type=local` and `type=tar` hold the final stage's files: exactly its files
//!   for a `FROM scratch` stage, and for a stage whose layers delete files (whiteouts, an
//!   opaque directory) the image's file system as a container shows it without what the
//!   engine adds, and as `docker buildx build -o type=tar` writes it;
//! - `--output type=docker` is a `docker save` tar that the other engine loads under the tag;
//! - a failed build (or push) writes no output and leaves no temporary file.
//!
//! Bad `--output` values and `--push` without a tag are refused before any engine is asked.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use devbuild_tests::http::query_value;
use devbuild_tests::{engine_test, run_on, ImageFs, TestEngine, TestEnv};

mod common;
use common::{devbuild_on, devbuild_without_engine};

/// The manifest types a push of the classic image store makes.
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
                              application/vnd.oci.image.manifest.v1+json";

/// A multi-stage Dockerfile: `first` makes files, `trimmed` deletes some of them again (a
/// file, a directory, and a directory made anew, which is opaque in its layer), and the last
/// stage copies one file from `first` onto nothing.
fn dockerfile(base: &str, marker: &str) -> String {
    format!(
        "FROM {base} AS first\n\
         RUN echo {marker} > /made.txt && echo other > /other.txt && mkdir -p /deep/dir /again \
             && echo deep > /deep/dir/file && echo old > /again/old && ln -s /made.txt /link \
             && ln /made.txt /hard\n\
         FROM first AS trimmed\n\
         RUN rm /other.txt && rm -r /deep && rm -r /again && mkdir /again && echo new > /again/new\n\
         FROM scratch\n\
         COPY --from=first /made.txt /made.txt\n"
    )
}

/// A directory with a `ctx/Dockerfile` of [`dockerfile`], and a marker unique to the test.
fn workdir(engine: &TestEngine) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let marker = engine.unique_name("marker").replace(['/', ':'], "-");
    fs::create_dir(dir.path().join("ctx")).unwrap();
    fs::write(
        dir.path().join("ctx/Dockerfile"),
        dockerfile(&engine.base_image, &marker),
    )
    .unwrap();
    (dir, marker)
}

/// `devbuild build ARGS` in `dir` against `engine`.
fn devbuild(engine: &TestEngine, dir: &Path, args: &[&str]) -> Output {
    devbuild_on(engine)
        .arg("build")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `--progress=json` events of a run.
fn events(output: &Output) -> Vec<serde_json::Value> {
    text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn assert_success(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The other engine of the matrix.
fn other_version(engine: &TestEngine) -> &'static str {
    if engine.version == "20.10" {
        "26.1"
    } else {
        "20.10"
    }
}

/// `<registry>/devbuild-test/pushed-<unique>:1`, and its repository in the registry.
fn pushed_name(engine: &TestEngine) -> (String, String) {
    let name = engine.unique_name("pushed");
    let repository = name.split(':').next().unwrap().to_owned();
    (format!("{}/{name}", engine.registry.address), repository)
}

/// What the registry holds under `repository:tag`: its digest (`Docker-Content-Digest`),
/// its media type and its size.
fn registry_manifest(engine: &TestEngine, repository: &str, tag: &str) -> (String, String, u64) {
    let manifest = engine.registry.request(
        "GET",
        &format!("/v2/{repository}/manifests/{tag}"),
        vec![("Accept", MANIFEST_TYPES.to_owned())],
        None,
    );
    assert_eq!(manifest.status, 200, "{}", manifest.text());
    (
        manifest
            .header("docker-content-digest")
            .expect("a Docker-Content-Digest")
            .to_owned(),
        manifest.header("content-type").unwrap().to_owned(),
        manifest.body.len() as u64,
    )
}

/// The image id the run's `finished` event gives.
fn finished_image_id(events: &[serde_json::Value]) -> String {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "finished", "{last}");
    last["image_id"].as_str().expect("an image id").to_owned()
}

/// Every entry of a tar: `path type`, in order.
fn tar_listing(bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            format!(
                "{} {:?}",
                entry.path().unwrap().display(),
                entry.header().entry_type()
            )
        })
        .collect()
}

/// Every path under `dir`, relative, sorted (links not followed).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The names in `dir` that are devbuild's temporary files or directories.
fn temporaries(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|p| p.contains(".devbuild-output-"))
        .collect()
}

/// The file system of an image as a container's export shows it, without the paths the
/// engine adds to every container (`/.dockerenv`, empty `/etc/hosts`, … `/proc`, `/sys`;
/// `/etc` and `/dev` too when the image has neither, which `reference` tells).
fn image_fs_without_the_engine_paths(
    engine: &TestEngine,
    image: &str,
    reference: &ImageFs,
) -> ImageFs {
    let mut fs = ImageFs::from_tar(&engine.export_image(image)).unwrap();
    for path in [
        "/.dockerenv",
        "/dev/console",
        "/dev/pts",
        "/dev/shm",
        "/etc/hostname",
        "/etc/hosts",
        "/etc/mtab",
        "/etc/resolv.conf",
        "/proc",
        "/sys",
    ] {
        if !reference.nodes.contains_key(path) {
            fs.nodes.remove(path);
        }
    }
    for dir in ["/dev", "/etc"] {
        if !reference.nodes.contains_key(dir)
            && !fs.nodes.keys().any(|p| p.starts_with(&format!("{dir}/")))
        {
            fs.nodes.remove(dir);
        }
    }
    fs
}

engine_test! {
    /// `--push` pushes the tag with the harness's credentials: the `pushed` event's digest
    /// is the one the registry serves the tag under, and the other engine pulls the image by
    /// that digest. `--load` is accepted (the image is in the engine's store anyway).
    fn push_lands_in_the_registry_and_pulls_back_by_digest(test) {
        let (dir, _) = workdir(test);
        let (image, repository) = pushed_name(test);
        let mut guard = test.guard();
        guard.remove_later(&image);
        let output = devbuild(
            test,
            dir.path(),
            &["--progress=json", "--target", "first", "--push", "--load", "-t", &image, "ctx"],
        );
        assert_success(&output);
        let events = events(&output);
        let pushed: Vec<&serde_json::Value> =
            events.iter().filter(|e| e["event"] == "pushed").collect();
        assert_eq!(pushed.len(), 1, "{events:?}");
        assert_eq!(pushed[0]["image"], image.as_str());
        let digest = pushed[0]["digest"].as_str().unwrap().to_owned();
        assert!(digest.starts_with("sha256:"), "{digest}");
        // The new layer was sent, as `docker push` reports it.
        assert!(
            events.iter().any(|e| e["event"] == "push_progress" && e["status"] == "Pushed"),
            "{events:?}"
        );
        assert!(test.has_image(&image), "--load: the image is in the engine's store");
        finished_image_id(&events);

        let (served, _, _) = registry_manifest(test, &repository, "1");
        assert_eq!(served, digest, "the registry serves the tag under the reported digest");

        let by_digest = format!("{}/{repository}@{digest}", test.registry.address);
        run_on(other_version(test), |other| {
            let path = format!(
                "/images/create?fromImage={}&tag={}",
                query_value(&format!("{}/{repository}", test.registry.address)),
                query_value(&digest)
            );
            let pull = other.request(
                "POST",
                &path,
                vec![("X-Registry-Auth", other.registry.x_registry_auth())],
                None,
            );
            let mut other_guard = other.guard();
            other_guard.remove_later(&by_digest);
            assert_eq!(pull.status, 200, "{}", pull.text());
            let failed = pull.json_lines().into_iter().find(|m| m.get("errorDetail").is_some());
            assert!(failed.is_none(), "pull by digest on {}: {failed:?}", other.version);
            let inspect = other.get(&format!("/images/{by_digest}/json"));
            assert_eq!(inspect.status, 200, "{}", inspect.text());
            let repo_digests = inspect.json()["RepoDigests"].clone();
            assert!(
                repo_digests
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d.as_str() == Some(by_digest.as_str())),
                "{repo_digests}"
            );
        });
    }

    /// `--metadata-file` holds buildx's keys: the registry's digest of the pushed tag and
    /// its descriptor, the image id, the tags; without a push, the image id as the digest.
    fn metadata_file_has_the_registry_digest_and_the_image_id(test) {
        let (dir, _) = workdir(test);
        let (image, repository) = pushed_name(test);
        let mut guard = test.guard();
        guard.remove_later(&image);
        let output = devbuild(
            test,
            dir.path(),
            &[
                "--progress=json", "--target", "first", "--push", "-t", &image,
                "--metadata-file", "meta.json", "ctx",
            ],
        );
        assert_success(&output);
        let image_id = finished_image_id(&events(&output));
        let inspected = test.get(&format!("/images/{image}/json")).json();
        assert_eq!(inspected["Id"], image_id.as_str());
        let (digest, media_type, size) = registry_manifest(test, &repository, "1");
        let metadata: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join("meta.json")).unwrap()).unwrap();
        assert_eq!(
            metadata,
            serde_json::json!({
                "containerimage.config.digest": image_id,
                "containerimage.digest": digest,
                "containerimage.descriptor": {
                    "mediaType": media_type,
                    "digest": digest,
                    "size": size,
                },
                "image.name": image,
            })
        );

        // Without a push (and without a tag): the image id is the digest, as the docker
        // driver's BuildKit answers.
        let unpushed = devbuild(
            test,
            dir.path(),
            &["--progress=json", "--target", "first", "--metadata-file", "plain.json", "ctx"],
        );
        assert_success(&unpushed);
        let id = finished_image_id(&events(&unpushed));
        let metadata: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join("plain.json")).unwrap()).unwrap();
        assert_eq!(
            metadata,
            serde_json::json!({
                "containerimage.config.digest": id,
                "containerimage.digest": id,
            })
        );
    }

    /// `type=local` (and `-o DIR`) holds exactly the final stage's files: the one file the
    /// last stage copies from the first. An existing directory is merged into.
    fn local_output_holds_the_final_stage_files(test) {
        let (dir, marker) = workdir(test);
        let tag = test.unique_name("local");
        let mut guard = test.guard();
        guard.remove_later(&tag);
        fs::create_dir(dir.path().join("merged")).unwrap();
        fs::write(dir.path().join("merged/kept.txt"), "mine").unwrap();
        let output = devbuild(
            test,
            dir.path(),
            &[
                "--progress=plain", "-t", &tag, "-o", "type=local,dest=out/nested", "-o",
                "short", "-o", "merged", "ctx",
            ],
        );
        assert_success(&output);
        for out in ["out/nested", "short"] {
            let out = dir.path().join(out);
            assert_eq!(tree(&out), ["made.txt"], "{}", out.display());
            assert_eq!(fs::read_to_string(out.join("made.txt")).unwrap(), format!("{marker}\n"));
        }
        assert_eq!(tree(&dir.path().join("merged")), ["kept.txt", "made.txt"]);
        assert_eq!(temporaries(dir.path()), Vec::<String>::new());
        let stderr = text(&output.stderr);
        assert!(stderr.contains(" [output] type=local,dest=out/nested\n"), "{stderr}");
    }

    /// `type=tar` holds the final stage's file system: exactly the copied file for the last
    /// stage; for a stage whose layers delete files again, the image's own file system (as a
    /// container shows it, without the engine's additions) and what buildx's tar exporter
    /// writes. `-o -` writes the same tar to standard output.
    fn tar_output_is_the_image_file_system(test) {
        let (dir, marker) = workdir(test);
        let tag = test.unique_name("tar");
        let trimmed = test.unique_name("trimmed");
        let mut guard = test.guard();
        guard.remove_later(&tag);
        guard.remove_later(&trimmed);
        let output = devbuild(test, dir.path(), &["-t", &tag, "-o", "type=tar,dest=fs.tar", "ctx"]);
        assert_success(&output);
        let bytes = fs::read(dir.path().join("fs.tar")).unwrap();
        assert_eq!(tar_listing(&bytes), ["made.txt Regular"]);
        let fs_of_tar = ImageFs::from_tar(&bytes).unwrap();
        assert_eq!(fs_of_tar.nodes["/made.txt"].size, marker.len() as u64 + 1);

        let to_stdout = devbuild(test, dir.path(), &["--progress=plain", "-t", &tag, "-o", "-", "ctx"]);
        assert_success(&to_stdout);
        assert_eq!(to_stdout.stdout, bytes, "-o - writes the same tar");

        let output = devbuild(
            test,
            dir.path(),
            &["--target", "trimmed", "-t", &trimmed, "-o", "type=tar,dest=trimmed.tar", "ctx"],
        );
        assert_success(&output);
        let ours = ImageFs::from_tar(&fs::read(dir.path().join("trimmed.tar")).unwrap()).unwrap();
        for gone in ["/other.txt", "/deep", "/deep/dir/file", "/again/old"] {
            assert!(!ours.nodes.contains_key(gone), "{gone} was deleted in the last layer");
        }
        for kept in ["/made.txt", "/again/new", "/link", "/hard", "/bin/busybox"] {
            assert!(ours.nodes.contains_key(kept), "{kept} is in the image");
        }
        let image = image_fs_without_the_engine_paths(test, &trimmed, &ours);
        assert_eq!(ours.differences(&image, ["devbuild's tar", "the image"]), Vec::<String>::new());

        // buildx writes the same files with BuildKit's own tar exporter (over a session).
        let buildx_config = dir.path().join("buildx-config");
        fs::create_dir_all(buildx_config.join("cli-plugins")).unwrap();
        symlink(
            TestEnv::load().unwrap().docker_config.join("cli-plugins/docker-buildx"),
            buildx_config.join("cli-plugins/docker-buildx"),
        )
        .unwrap();
        let buildx = Command::new("docker")
            .env("DOCKER_HOST", format!("unix://{}", test.socket.display()))
            .env("DOCKER_CONFIG", &buildx_config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("BUILDX_BUILDER")
            .args(["buildx", "build", "--progress=plain", "--target", "trimmed"])
            .args(["-o", "type=tar,dest=buildx.tar", "ctx"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_success(&buildx);
        let theirs = ImageFs::from_tar(&fs::read(dir.path().join("buildx.tar")).unwrap()).unwrap();
        assert_eq!(ours.differences(&theirs, ["devbuild", "buildx"]), Vec::<String>::new());
    }

    /// `type=docker` writes what `docker save` writes: its `manifest.json` names the tag, and
    /// the other engine loads it (`POST /images/load`) as that image.
    fn docker_output_loads_on_the_other_engine(test) {
        let (dir, _) = workdir(test);
        let tag = test.unique_name("saved");
        let mut guard = test.guard();
        guard.remove_later(&tag);
        let output = devbuild(
            test,
            dir.path(),
            &["--progress=json", "--target", "first", "-t", &tag, "-o", "type=docker,dest=image.tar", "ctx"],
        );
        assert_success(&output);
        let image_id = finished_image_id(&events(&output));
        let bytes = fs::read(dir.path().join("image.tar")).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let manifest: serde_json::Value = archive
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path().unwrap() == Path::new("manifest.json"))
            .map(|e| serde_json::from_reader(e).unwrap())
            .expect("a manifest.json");
        assert_eq!(manifest[0]["RepoTags"], serde_json::json!([tag]), "{manifest}");

        run_on(other_version(test), |other| {
            let mut other_guard = other.guard();
            other_guard.remove_later(&tag);
            let loaded = other.request(
                "POST",
                "/images/load?quiet=1",
                vec![("Content-Type", "application/x-tar".to_owned())],
                Some(&bytes),
            );
            assert_eq!(loaded.status, 200, "{}", loaded.text());
            assert!(loaded.text().contains(&format!("Loaded image: {tag}")), "{}", loaded.text());
            let inspect = other.get(&format!("/images/{tag}/json")).json();
            assert_eq!(inspect["Id"], image_id.as_str(), "the same image, by its config");
        });
    }

    /// A build that fails writes none of its outputs, no metadata file (an old one is
    /// removed, as `--iidfile`'s), pushes nothing, and leaves no temporary file behind.
    fn a_failed_build_writes_no_output_and_leaves_no_temporary_files(test) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("ctx")).unwrap();
        fs::write(
            dir.path().join("ctx/Dockerfile"),
            format!("FROM {}\nRUN echo failing && false\n", test.base_image),
        )
        .unwrap();
        fs::write(dir.path().join("meta.json"), "{}").unwrap();
        let (image, repository) = pushed_name(test);
        let output = devbuild(
            test,
            dir.path(),
            &[
                "--progress=json", "--push", "-t", &image, "-o", "type=local,dest=out", "-o",
                "type=tar,dest=fs.tar", "-o", "type=docker,dest=image.tar", "--metadata-file",
                "meta.json", "ctx",
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        let events = events(&output);
        assert_eq!(events.last().unwrap()["event"], "failed");
        assert!(!events.iter().any(|e| e["event"].as_str().unwrap().starts_with("output")
            || e["event"].as_str().unwrap().starts_with("push")));
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["ctx"]);
        let manifest = test.registry.request(
            "GET",
            &format!("/v2/{repository}/manifests/1"),
            vec![("Accept", MANIFEST_TYPES.to_owned())],
            None,
        );
        assert_eq!(manifest.status, 404, "nothing was pushed");
    }

    /// A push the registry refuses (no credentials) fails the build with the registry's
    /// reason and what to do; the metadata file is not written, the temporary files of the
    /// outputs before it are gone.
    fn a_refused_push_fails_with_the_registry_reason(test) {
        let (dir, _) = workdir(test);
        let (image, _) = pushed_name(test);
        let mut guard = test.guard();
        guard.remove_later(&image);
        let empty_config = tempfile::tempdir().unwrap();
        let output = devbuild_on(test)
            .env("DOCKER_CONFIG", empty_config.path())
            .args(["build", "--progress=json", "--target", "first", "--push", "-t", &image])
            .args(["--metadata-file", "meta.json", "-o", "type=tar,dest=fs.tar", "ctx"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        let events = events(&output);
        let failed = events.last().unwrap();
        assert_eq!(failed["event"], "failed");
        let message = failed["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("push {image}: no basic auth credentials")),
            "{message}"
        );
        assert!(message.contains(&format!("docker login {}", test.registry.address)), "{message}");
        assert!(events.iter().any(|e| e["event"] == "push_failed"));
        assert!(!dir.path().join("meta.json").exists());
        assert!(dir.path().join("fs.tar").exists(), "the output before the push was written");
        assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    }
}

/// Bad `--output` values, `--push` without a tag, an output on a standard output that
/// something else writes to, a destination of the wrong kind: exit status 2, before any
/// engine is asked, with the value and the accepted forms.
#[test]
fn bad_results_are_refused_before_the_build() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("ctx")).unwrap();
    fs::write(dir.path().join("ctx/Dockerfile"), "FROM scratch\n").unwrap();
    fs::write(dir.path().join("a-file"), "").unwrap();
    let accepted = "accepted: type=docker,dest=FILE|-, type=tar[,dest=FILE|-], type=local,dest=DIR";
    for (args, expected) in [
        (
            vec!["-o", "type=foo,dest=x"],
            format!("error: --output \"type=foo,dest=x\": unknown output type \"foo\"; {accepted}"),
        ),
        (
            vec!["-o", "type=local"],
            format!("error: --output \"type=local\": dest is required for local exporter; {accepted}"),
        ),
        (
            vec!["-o", "type=tar,dest=x,compression=gzip"],
            "error: --output \"type=tar,dest=x,compression=gzip\": compression= is not supported by the tar output (it takes dest=)".to_owned(),
        ),
        (
            vec!["-o", "type=oci,dest=x"],
            "error: --output \"type=oci,dest=x\": the oci exporter is not supported".to_owned(),
        ),
        (vec!["--push"], "error: tag is needed when pushing to registry".to_owned()),
        (
            vec!["-o", "type=registry"],
            "error: tag is needed when pushing to registry".to_owned(),
        ),
        (
            vec!["-o", "-", "--progress=json"],
            "error: --output type=tar,dest=- and --progress=json both write to standard output".to_owned(),
        ),
        (
            vec!["-o", "type=docker,dest=-", "-q"],
            "error: --output type=docker,dest=- and -q (the image id) both write to standard output".to_owned(),
        ),
        (
            vec!["-o", "type=local,dest=a-file"],
            "error: --output type=local,dest=a-file: destination directory a-file is a file".to_owned(),
        ),
        (
            vec!["-o", "type=tar,dest=ctx"],
            "error: --output type=tar,dest=ctx: destination file ctx is a directory".to_owned(),
        ),
        (
            vec!["--metadata-file", "no/such/dir/meta.json"],
            "error: --metadata-file no/such/dir/meta.json: the directory no/such/dir does not exist".to_owned(),
        ),
    ] {
        let mut all = args.clone();
        all.push("ctx");
        let output = devbuild_without_engine(dir.path(), &all);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(&expected), "{args:?}:\n{stderr}\nexpected:\n{expected}");
        assert!(!stderr.contains("cannot reach"), "{args:?}: refused before the engine: {stderr}");
    }
    // A JSON run refused for its output ends with its `failed` event.
    let output = devbuild_without_engine(dir.path(), &["--progress=json", "-o", "type=foo", "ctx"]);
    assert_eq!(output.status.code(), Some(2));
    let events = events(&output);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "failed");
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("--output \"type=foo\": unknown output type"),
        "{events:?}"
    );
}
