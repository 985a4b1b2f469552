//! Leaving Engine 26.1 as the bench found it, as far as that is the bench's to decide: its
//! image tags and the untagged images its repeated builds left (all carry the bench's
//! label), and the build-cache records of the contexts devbuild uploaded.
//!
//! The engine keeps every tar-body context it receives as a build-cache record named
//! `http url http://build-context-<random>`; a later build never reuses one (each upload
//! has a new name), so they are garbage once their build ends, 142 MB each for the large
//! tree. Those that appeared while the bench ran (absent from the snapshot taken before it;
//! on a shared engine that includes other clients' uploads, garbage just the same) and are
//! not in use are pruned, one `docker builder prune --filter id=…` each (the engine takes one
//! id per call). The other records (layers, buildx's file-sync state) are everyone's cache
//! and stay; BuildKit's own garbage collection bounds them.

use std::collections::HashSet;
use std::ffi::OsString;

use super::{output, Tools, IMAGE_LABEL};

/// How the engine describes the record of an uploaded tar-body context.
const UPLOAD_PREFIX: &str = "http url http://build-context-";

/// The Go template that lists build-cache records, one `ID|IN_USE|DESCRIPTION` line each.
const RECORDS_FORMAT: &str =
    "{{range .BuildCache}}{{.ID}}|{{.InUse}}|{{.Description}}{{println}}{{end}}";

/// One build-cache record, as far as cleaning up needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRecord {
    /// The record's id.
    pub id: String,
    /// Whether a build uses it now.
    pub in_use: bool,
    /// What the engine says it is.
    pub description: String,
}

impl CacheRecord {
    /// Whether it holds a tar-body context upload.
    fn is_upload(&self) -> bool {
        self.description.starts_with(UPLOAD_PREFIX)
    }
}

/// Parses the lines [`RECORDS_FORMAT`] prints.
pub fn parse_records(text: &str) -> Vec<CacheRecord> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '|');
            let id = fields.next()?.trim();
            let in_use = fields.next()?.trim() == "true";
            let description = fields.next()?.to_string();
            (!id.is_empty()).then(|| CacheRecord {
                id: id.to_string(),
                in_use,
                description,
            })
        })
        .collect()
}

/// The engine's build-cache records.
fn records(tools: &Tools) -> Result<Vec<CacheRecord>, String> {
    let text = output(
        &tools
            .docker()
            .args(["system", "df", "-v", "--format", RECORDS_FORMAT]),
    )?;
    Ok(parse_records(&text))
}

/// The ids of the upload records present before the bench; `None` when they cannot be
/// listed (then nothing is pruned afterwards).
pub fn uploads_before(tools: &Tools) -> Option<HashSet<String>> {
    match records(tools) {
        Ok(records) => Some(
            records
                .into_iter()
                .filter(CacheRecord::is_upload)
                .map(|r| r.id)
                .collect(),
        ),
        Err(e) => {
            eprintln!("    warning: cannot list the build cache, it will not be pruned: {e}");
            None
        }
    }
}

/// The build cache's total size as the engine reports it (`7.2GB`), for the log.
pub fn build_cache_size(tools: &Tools) -> String {
    output(
        &tools
            .docker()
            .args(["system", "df", "--format", "{{.Type}}|{{.Size}}"]),
    )
    .ok()
    .and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("Build Cache|").map(str::to_string))
    })
    .unwrap_or_else(|| "unknown".to_string())
}

/// The upload records that appeared since `before` and are not in use.
pub fn new_uploads(before: &HashSet<String>, now: &[CacheRecord]) -> Vec<String> {
    now.iter()
        .filter(|r| r.is_upload() && !r.in_use && !before.contains(&r.id))
        .map(|r| r.id.clone())
        .collect()
}

/// Prunes the unused upload records that appeared since `before`. Best effort: failures are
/// warnings.
pub fn remove_uploads(tools: &Tools, before: Option<&HashSet<String>>) {
    let Some(before) = before else {
        return;
    };
    let ids = match records(tools) {
        Ok(now) => new_uploads(before, &now),
        Err(e) => {
            eprintln!("    warning: cannot list the build cache: {e}");
            return;
        }
    };
    eprintln!(
        "--> pruning the {} contexts devbuild uploaded from the build cache",
        ids.len()
    );
    for id in ids {
        let prune = tools
            .docker()
            .args(["builder", "prune", "-f", "--filter"])
            .arg(format!("id={id}"));
        if let Err(e) = output(&prune) {
            eprintln!("    warning: {e}");
        }
    }
}

/// Removes the bench's tags, then the untagged images its repeated builds left behind
/// (only those carrying the bench's label). Best effort: a failure is a warning.
pub fn remove_images(tools: &Tools, images: &[String]) {
    if images.is_empty() {
        return;
    }
    eprintln!("--> removing the bench's images");
    // `rm -f` of a tag that was never made fails; the others are still removed.
    let _ = output(
        &tools
            .docker()
            .args(["image", "rm", "-f"])
            .args(images.iter().map(OsString::from)),
    );
    let prune = tools
        .docker()
        .args(["image", "prune", "-f", "--filter"])
        .arg(format!("label={IMAGE_LABEL}"));
    if let Err(e) = output(&prune) {
        eprintln!("    warning: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_unused_uploads_are_pruned() {
        let text = "\
old1|false|http url http://build-context-aaa
new1|false|http url http://build-context-bbb
busy|true|http url http://build-context-ccc
layer|false|[2/2] COPY . /ctx
sync|false|local source for context
odd|false|a | in the description
";
        let records = parse_records(text);
        assert_eq!(records.len(), 6);
        assert_eq!(records[5].description, "a | in the description");
        assert!(records[2].in_use);
        let before: HashSet<String> = ["old1".to_string()].into();
        assert_eq!(new_uploads(&before, &records), vec!["new1".to_string()]);
    }
}
