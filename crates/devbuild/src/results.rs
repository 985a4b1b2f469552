//! What a build makes after BuildKit is done, in buildx's order: the outputs
//! (`--output`, exported during buildx's solve), then the pushes (`--push`, which buildx
//! makes with the docker driver after the solve), then the metadata file
//! (`--metadata-file`, which buildx writes last). Each is made only when everything before
//! it succeeded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_client::credentials::DockerConfig;
use engine_client::engine::Engine;

use crate::build::{BuildError, BuildSpec};
use crate::events::Event;
use crate::output::{check_outputs, write_output};
use crate::push::{descriptor_of, push_tags, PushedImage};

/// buildx's refusal of `--push` (or `type=image,push=true`) without a tag.
pub const PUSH_NEEDS_A_TAG: &str = "tag is needed when pushing to registry";

/// Checks what the spec asks to make after the build, before anything is sent: a push
/// needs a tag, each output's destination must be writable as buildx checks it, the
/// metadata file's directory must exist.
pub(crate) fn check_results(spec: &BuildSpec) -> Result<(), BuildError> {
    if spec.pushes() && spec.tags.is_empty() {
        return Err(BuildError::Input(PUSH_NEEDS_A_TAG.to_owned()));
    }
    check_outputs(&spec.outputs).map_err(BuildError::Input)?;
    if let Some(path) = &spec.metadata_file {
        let dir = directory_of(path);
        if !dir.is_dir() {
            return Err(BuildError::Input(format!(
                "--metadata-file {}: the directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
        if path.is_dir() {
            return Err(BuildError::Input(format!(
                "--metadata-file {}: is a directory",
                path.display()
            )));
        }
    }
    Ok(())
}

fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Makes the outputs, the pushes and the metadata file of the built image `image_id`;
/// returns what was pushed.
pub(crate) async fn make_results<F: FnMut(&Event)>(
    engine: &Engine,
    spec: &BuildSpec,
    credentials: &Arc<DockerConfig>,
    image_id: Option<&str>,
    on_event: &mut F,
) -> Result<Vec<PushedImage>, BuildError> {
    let wanted = spec.pushes() || spec.metadata_file.is_some() || !spec.outputs.is_empty();
    if !wanted {
        return Ok(Vec::new());
    }
    // engine-client ends a build without an image id with an error, so this is only a guard.
    let Some(image_id) = image_id else {
        return Err(BuildError::Output {
            output: spec
                .outputs
                .first()
                .map_or_else(|| "--push".to_owned(), ToString::to_string),
            reason: "the engine did not say which image it built".to_owned(),
        });
    };
    for output in &spec.outputs {
        write_output(engine, output, image_id, &spec.tags, on_event).await?;
    }
    let mut pushed = Vec::new();
    let mut descriptor = None;
    if spec.pushes() {
        pushed = push_tags(engine, &spec.tags, credentials, on_event).await?;
        if let (Some(first), Some(_)) = (pushed.first(), &spec.metadata_file) {
            descriptor = descriptor_of(engine, first, credentials).await;
        }
    }
    if let Some(path) = &spec.metadata_file {
        let json = crate::metadata::metadata_json(
            image_id,
            &spec.tags,
            pushed.first(),
            descriptor.as_ref(),
        );
        write_file_atomically(path, json.as_bytes()).map_err(|e| BuildError::Metadata {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(pushed)
}

/// Writes `data` to `path` through a temporary file in its directory renamed over it
/// (`0644`, as buildx's `AtomicWriteFile`), so a reader sees the old file, none, or the
/// whole new one.
pub(crate) fn write_file_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut temp = tempfile::Builder::new()
        .prefix(crate::output::TEMP_PREFIX)
        .tempfile_in(directory_of(path))?;
    temp.write_all(data)?;
    temp.as_file().sync_all()?;
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
