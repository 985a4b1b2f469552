//! `--metadata-file`: the build's result as `docker buildx build --metadata-file` writes
//! it, a JSON object with buildx's keys, indented by two spaces, keys sorted (as Go writes
//! a map), written atomically.
//!
//! Only the keys devbuild can fill truthfully, with the values the docker driver gives:
//!
//! | key | value |
//! |---|---|
//! | `containerimage.config.digest` | the image id (the digest of its config) |
//! | `containerimage.digest` | pushed: the digest of the manifest the registry holds under the first tag; else the image id, as the engine's BuildKit answers |
//! | `containerimage.descriptor` | pushed: that manifest's `mediaType`, `digest` and `size`, as the registry describes it |
//! | `image.name` | the tags, normalised (`docker.io/library/app:1`), comma-joined |
//!
//! buildx's `buildx.build.ref` (a builder's node and build reference), `buildx.build.provenance`
//! and `buildx.build.warnings` are left out: devbuild has no buildx builder, and asks for no
//! provenance.
//!
//! ```
//! use devbuild::metadata::metadata_json;
//!
//! let json = metadata_json("sha256:1d3f", &["app:1".to_owned()], None, None);
//! assert_eq!(json, r#"{
//!   "containerimage.config.digest": "sha256:1d3f",
//!   "containerimage.digest": "sha256:1d3f",
//!   "image.name": "docker.io/library/app:1"
//! }"#);
//! ```

use std::collections::BTreeMap;

use engine_client::push::Descriptor;

use crate::push::PushedImage;

/// A value of the metadata: text, or a descriptor whose fields keep the OCI order
/// (`mediaType`, `digest`, `size`), as Go writes the struct.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Value<'a> {
    Text(String),
    Descriptor(&'a Descriptor),
}

/// The metadata JSON of a build of `image_id` tagged `tags`; `pushed` is the first pushed
/// tag, `descriptor` the registry's description of its manifest.
pub fn metadata_json(
    image_id: &str,
    tags: &[String],
    pushed: Option<&PushedImage>,
    descriptor: Option<&Descriptor>,
) -> String {
    let mut map: BTreeMap<&str, Value> = BTreeMap::new();
    map.insert(
        "containerimage.config.digest",
        Value::Text(image_id.to_owned()),
    );
    let digest = pushed.map_or(image_id, |p| p.digest.as_str());
    map.insert("containerimage.digest", Value::Text(digest.to_owned()));
    if let (Some(_), Some(descriptor)) = (pushed, descriptor) {
        map.insert("containerimage.descriptor", Value::Descriptor(descriptor));
    }
    if !tags.is_empty() {
        let names: Vec<String> = tags
            .iter()
            .map(|tag| match dockerfile_froms::ImageRef::parse(tag) {
                Ok(reference) => reference.to_string(),
                Err(_) => tag.clone(),
            })
            .collect();
        map.insert("image.name", Value::Text(names.join(",")));
    }
    serde_json::to_string_pretty(&map).expect("strings and descriptors serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_build_has_the_manifest_digest_and_descriptor() {
        let pushed = PushedImage {
            image: "127.0.0.1:5000/team/app:1".to_owned(),
            digest: "sha256:c6be".to_owned(),
            size: Some(527),
        };
        let descriptor = Descriptor {
            media_type: "application/vnd.docker.distribution.manifest.v2+json".to_owned(),
            digest: "sha256:c6be".to_owned(),
            size: 527,
        };
        let json = metadata_json(
            "sha256:1d3f",
            &["127.0.0.1:5000/team/app:1".to_owned(), "app".to_owned()],
            Some(&pushed),
            Some(&descriptor),
        );
        assert_eq!(
            json,
            r#"{
  "containerimage.config.digest": "sha256:1d3f",
  "containerimage.descriptor": {
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "digest": "sha256:c6be",
    "size": 527
  },
  "containerimage.digest": "sha256:c6be",
  "image.name": "127.0.0.1:5000/team/app:1,docker.io/library/app:latest"
}"#
        );
    }

    #[test]
    fn an_untagged_build_has_only_the_image_id() {
        let json: serde_json::Value =
            serde_json::from_str(&metadata_json("sha256:1d3f", &[], None, None)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "containerimage.config.digest": "sha256:1d3f",
                "containerimage.digest": "sha256:1d3f",
            })
        );
    }
}
