//! An image as `docker save` writes it (`GET /images/get?names=…`): a tar with the image's
//! config, its layers (each a tar) and `manifest.json` (which names the layers in order and
//! the image's tags), which `docker load` reads. Engine 25 and later lay it out as an OCI
//! image layout too (`blobs/sha256/…`, `index.json`), with `manifest.json` kept.
//!
//! The answer is streamed chunk by chunk, never held whole: an image may be gigabytes.

use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};
use http::Method;

use crate::engine::{Engine, EngineError};

impl Engine {
    /// The images `names` (tags, or image ids) saved as one `docker save` tar, streamed.
    /// Tags name the image in the tar's `manifest.json` (`RepoTags`), so that `docker load`
    /// tags it again; an id saves it untagged. An unknown name is an error with the engine's
    /// words (`reference does not exist`); a lost connection ends the stream with an error
    /// naming the endpoint. The call has no timeout: a large image takes its time.
    pub fn save_image(
        &self,
        names: &[String],
    ) -> impl Stream<Item = Result<Bytes, EngineError>> + Send + 'static {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for name in names {
            query.append_pair("names", name);
        }
        let path = format!("/images/get?{}", query.finish());
        let body = self.send(
            true,
            Method::GET,
            &path,
            true,
            Vec::new(),
            bollard::body_full(Bytes::new()),
        );
        let engine = self.clone();
        let what = "GET /images/get".to_owned();
        body.map(move |chunk| chunk.map_err(|e| engine.call_error(&what, e)))
    }
}
