//! Image references, parsed and normalised by the docker reference grammar.
//!
//! [`ImageRef::parse`] does what BuildKit does with the image of a `FROM`:
//! `reference.ParseNormalizedNamed` (from `github.com/distribution/reference`) followed by
//! `reference.TagNameOnly`. The grammar is checked by hand-written scanners, each a single
//! pass over the text, so any input (huge, non-ASCII, hostile) is handled in linear time.
//!
//! ```text
//! reference     := name [ ":" tag ] [ "@" digest ]
//! name          := [ domain "/" ] path-component [ "/" path-component ]*
//! domain        := host [ ":" port-number ]
//! host          := domain-name | "[" ipv6-hex-and-colons "]"
//! domain-name   := domain-component [ "." domain-component ]*
//! path-component:= [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag           := [\w][\w.-]{0,127}
//! digest        := algorithm ":" [0-9a-fA-F]{32,}
//! ```

use std::fmt;
use std::str::FromStr;

/// The registry of Docker Hub, as normalised names spell it.
const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy name of Docker Hub, normalised to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of official images on Docker Hub.
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag a reference without tag or digest gets.
const DEFAULT_TAG: &str = "latest";
/// The longest repository path (without the domain) the grammar accepts.
const PATH_MAX_LEN: usize = 255;

/// A normalised image reference: `docker.io/library/alpine:latest`.
///
/// It always has a tag or a digest (or both): a bare name gets `:latest`, as BuildKit's
/// `FROM` does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Why a string is not a valid image reference (the reference library's wording, e.g.
/// `invalid reference format`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReferenceError {
    message: String,
}

impl ReferenceError {
    fn new(message: impl Into<String>) -> ReferenceError {
        ReferenceError {
            message: message.into(),
        }
    }

    fn invalid_format() -> ReferenceError {
        ReferenceError::new("invalid reference format")
    }
}

impl ImageRef {
    /// Parses a reference as `FROM` does and normalises it (`alpine` →
    /// `docker.io/library/alpine:latest`).
    ///
    /// ```
    /// use image_ref::ImageRef;
    ///
    /// let image = ImageRef::parse("alpine:3.19").unwrap();
    /// assert_eq!(image.to_string(), "docker.io/library/alpine:3.19");
    /// assert_eq!(image.familiar(), "alpine:3.19");
    ///
    /// let err = ImageRef::parse("Alpine").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid reference format: repository name (library/Alpine) must be lowercase"
    /// );
    /// ```
    pub fn parse(text: &str) -> Result<ImageRef, ReferenceError> {
        let mut image = parse_normalized_named(text)?;
        if image.tag.is_none() && image.digest.is_none() {
            image.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(image)
    }

    /// The registry host, with its port if any: `docker.io`, `localhost:5000`.
    ///
    /// Empty in one corner of the grammar: a first component that looks like a host
    /// (`foo_bar.com/x`) but is not a valid one is kept as part of the path.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry: `library/alpine`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, without the `:`.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:…`), without the `@`.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The repository name without tag or digest: `docker.io/library/alpine`.
    pub fn name(&self) -> String {
        join_name(&self.domain, &self.path)
    }

    /// The short form docker prints: `alpine:3.18`, `user/app:1`, `127.0.0.1:5000/x:1`.
    pub fn familiar(&self) -> String {
        let mut out = if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        };
        push_tag_and_digest(&mut out, self.tag(), self.digest());
        out
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        push_tag_and_digest(&mut out, self.tag(), self.digest());
        f.write_str(&out)
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<ImageRef, ReferenceError> {
        ImageRef::parse(text)
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn join_name(domain: &str, path: &str) -> String {
    if domain.is_empty() {
        path.to_string()
    } else {
        format!("{domain}/{path}")
    }
}

fn push_tag_and_digest(out: &mut String, tag: Option<&str>, digest: Option<&str>) {
    if let Some(tag) = tag {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(digest);
    }
}

/// `reference.ParseNormalizedNamed`.
fn parse_normalized_named(text: &str) -> Result<ImageRef, ReferenceError> {
    if is_identifier(text) {
        return Err(ReferenceError::new(format!(
            "invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )));
    }
    let (domain, remainder) = split_docker_domain(text);
    let remote = remainder.split(':').next().unwrap_or_default();
    if go_to_lower(remote) != remote {
        return Err(ReferenceError::new(format!(
            "invalid reference format: repository name ({remote}) must be lowercase"
        )));
    }
    parse_reference(&format!("{domain}/{remainder}"))
}

/// `splitDockerDomain`: the registry and the rest, with Docker Hub's defaults applied.
fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((maybe_domain, rest)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN, format!("{OFFICIAL_REPO_PREFIX}{name}"));
    };
    let (domain, remote) = if maybe_domain == "localhost" {
        (maybe_domain, rest)
    } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, rest)
    } else if maybe_domain.contains(['.', ':']) || go_to_lower(maybe_domain) != maybe_domain {
        // A host name, an address, a port, or upper case (never valid in a namespace).
        (maybe_domain, rest)
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        return (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"));
    }
    (domain, remote.to_string())
}

/// `reference.Parse` on an already normalised string.
fn parse_reference(text: &str) -> Result<ImageRef, ReferenceError> {
    if text.is_empty() {
        return Err(ReferenceError::new(
            "repository name must have at least one component",
        ));
    }
    let Some((name, tag, digest)) = match_reference(text) else {
        let lower = go_to_lower(text);
        if lower != text && match_reference(&lower).is_some() {
            return Err(ReferenceError::new("repository name must be lowercase"));
        }
        return Err(ReferenceError::invalid_format());
    };
    let (domain, path) = match name.split_once('/') {
        Some((domain, path)) if is_domain_and_port(domain) && is_remote_name(path) => {
            (domain, path)
        }
        _ => ("", name),
    };
    if path.len() > PATH_MAX_LEN {
        return Err(ReferenceError::new(format!(
            "repository name must not be more than {PATH_MAX_LEN} characters"
        )));
    }
    if let Some(digest) = digest {
        validate_digest(digest)?;
    }
    Ok(ImageRef {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

/// The anchored reference grammar: name, tag and digest when `text` matches it.
fn match_reference(text: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    if digest.is_some_and(|digest| !is_digest_syntax(digest)) {
        return None;
    }
    // No component of a name may hold a `:` after its last `/`, so such a `:` starts the tag.
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
            (&rest[..colon], Some(&rest[colon + 1..]))
        }
        _ => (rest, None),
    };
    if tag.is_some_and(|tag| !is_tag(tag)) {
        return None;
    }
    let valid_name = is_remote_name(name)
        || name
            .split_once('/')
            .is_some_and(|(domain, path)| is_domain_and_port(domain) && is_remote_name(path));
    valid_name.then_some((name, tag, digest))
}

/// `[a-f0-9]{64}`: an image ID, which `FROM` refuses.
fn is_identifier(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9'))
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// Path components separated by single slashes.
fn is_remote_name(path: &str) -> bool {
    path.split('/').all(is_path_component)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += if bytes.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A host name, an IPv4 address or a bracketed IPv6 address, with an optional port.
fn is_domain_and_port(domain: &str) -> bool {
    let (host, port) = if domain.starts_with('[') {
        let Some(close) = domain.find(']') else {
            return false;
        };
        let inner = &domain[1..close];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match &domain[close + 1..] {
            "" => return true,
            rest => match rest.strip_prefix(':') {
                Some(port) => (None, port),
                None => return false,
            },
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (Some(host), port),
            None => (Some(domain), "1"),
        }
    };
    let valid_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    valid_port && host.is_none_or(|host| host.split('.').all(is_domain_component))
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`.
fn is_digest_syntax(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let valid_algorithm = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let bytes = part.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphabetic()
            && bytes.iter().all(u8::is_ascii_alphanumeric)
    });
    valid_algorithm && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `digest.Parse` of go-digest, with sha256, sha384 and sha512 registered (as in BuildKit).
fn validate_digest(digest: &str) -> Result<(), ReferenceError> {
    let (algorithm, encoded) = digest.split_once(':').unwrap_or((digest, ""));
    let size = match algorithm {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        _ if !is_go_digest_syntax(digest) => {
            return Err(ReferenceError::new("invalid checksum digest format"));
        }
        _ => return Err(ReferenceError::new("unsupported digest algorithm")),
    };
    if encoded.len() != size * 2 {
        return Err(ReferenceError::new("invalid checksum digest length"));
    }
    if !encoded
        .bytes()
        .all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9'))
    {
        return Err(ReferenceError::new("invalid checksum digest format"));
    }
    Ok(())
}

/// go-digest's `[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`.
fn is_go_digest_syntax(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let valid_algorithm = algorithm.split(['.', '+', '_', '-']).all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    valid_algorithm
        && !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
}

/// Go's `strings.ToLower`: Unicode simple lower-case mapping, one character for one.
fn go_to_lower(text: &str) -> String {
    text.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn parse(text: &str) -> Result<String, String> {
        ImageRef::parse(text)
            .map(|r| r.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn normalises_like_buildkit_from() {
        let cases = [
            ("alpine", "docker.io/library/alpine:latest"),
            ("alpine:3.18", "docker.io/library/alpine:3.18"),
            ("library/alpine", "docker.io/library/alpine:latest"),
            ("docker.io/alpine", "docker.io/library/alpine:latest"),
            ("index.docker.io/foo", "docker.io/library/foo:latest"),
            ("index.docker.io/docker/docker", "docker.io/docker/docker:latest"),
            ("user/app:1", "docker.io/user/app:1"),
            ("localhost/foo", "localhost/foo:latest"),
            ("localhost:5000/foo/bar", "localhost:5000/foo/bar:latest"),
            ("localhost", "docker.io/library/localhost:latest"),
            ("127.0.0.1:5000/x:1", "127.0.0.1:5000/x:1"),
            ("ghcr.io/org/app:v", "ghcr.io/org/app:v"),
            ("[fc00::1]:5000/docker", "[fc00::1]:5000/docker:latest"),
            ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest"),
            ("LOCALDOMAIN/debian", "LOCALDOMAIN/debian:latest"),
            ("Foo/bar", "Foo/bar:latest"),
            ("192.168.0.1", "docker.io/library/192.168.0.1:latest"),
            ("192.168.0.1:80", "docker.io/library/192.168.0.1:80"),
            ("192.168.0.1:8/debian", "192.168.0.1:8/debian:latest"),
            ("docker.io", "docker.io/library/docker.io:latest"),
            ("docker---rules/dock__er", "docker.io/docker---rules/dock__er:latest"),
            ("foo_bar.com/x", "foo_bar.com/x:latest"),
            ("docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest"),
            ("busybox:Tag_1.x-Y", "docker.io/library/busybox:Tag_1.x-Y"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), Ok(expected.to_string()), "{input:?}");
        }
    }

    #[test]
    fn digests() {
        let image = ImageRef::parse(&format!("alpine@{DIGEST}")).unwrap();
        assert_eq!(image.tag(), None);
        assert_eq!(image.digest(), Some(DIGEST));
        assert_eq!(
            image.to_string(),
            format!("docker.io/library/alpine@{DIGEST}")
        );
        let both = ImageRef::parse(&format!("alpine:3.19@{DIGEST}")).unwrap();
        assert_eq!(
            both.to_string(),
            format!("docker.io/library/alpine:3.19@{DIGEST}")
        );
        assert_eq!(both.familiar(), format!("alpine:3.19@{DIGEST}"));
        let sha512 = format!("x@sha512:{}", "ab".repeat(64));
        assert!(ImageRef::parse(&sha512).is_ok());
        let cases = [
            ("alpine@sha256:abc".to_string(), "invalid reference format"),
            (
                format!("alpine@sha256:{}", "a".repeat(32)),
                "invalid checksum digest length",
            ),
            (
                format!("alpine@sha256:{}", "A".repeat(64)),
                "invalid checksum digest format",
            ),
            (
                format!("alpine@md5:{}", "a".repeat(32)),
                "unsupported digest algorithm",
            ),
            (
                format!("alpine:1@SHA256:{}", "a".repeat(64)),
                "invalid checksum digest format",
            ),
            (
                format!("alpine@SHA256:{}", "a".repeat(64)),
                "invalid reference format: repository name (library/alpine@SHA256) must be lowercase",
            ),
            (
                format!("alpine@sha256:{}@x", "a".repeat(64)),
                "invalid reference format",
            ),
            (format!("alpine@{DIGEST}:tag"), "invalid reference format"),
        ];
        for (input, message) in cases {
            assert_eq!(parse(&input), Err(message.to_string()), "{input:?}");
        }
    }

    #[test]
    fn errors_carry_the_reference_library_wording() {
        let long = format!("a/{}", "b".repeat(253));
        let cases = [
            ("alpine:", "invalid reference format"),
            ("Alpine", "invalid reference format: repository name (library/Alpine) must be lowercase"),
            ("Builder", "invalid reference format: repository name (library/Builder) must be lowercase"),
            ("$OTHER", "invalid reference format: repository name (library/$OTHER) must be lowercase"),
            ("docker/Docker", "invalid reference format: repository name (docker/Docker) must be lowercase"),
            ("docker.io/docker/Docker:Tag", "invalid reference format: repository name (docker/Docker) must be lowercase"),
            ("alpine:$TAG", "invalid reference format"),
            ("alpine:3}", "invalid reference format"),
            ("", "invalid reference format"),
            ("-docker", "invalid reference format"),
            ("docker///docker", "invalid reference format"),
            ("dock..er/docker", "invalid reference format"),
            ("docker/", "invalid reference format"),
            ("[fc00::1]", "invalid reference format"),
            ("[fc00::1]:5000", "invalid reference format"),
            ("fc00::1:5000/debian", "invalid reference format"),
            ("[fe80::1%eth0]:5000/debian", "invalid reference format"),
            ("https://github.com/docker/docker", "invalid reference format"),
            ("my image", "invalid reference format"),
            ("alpine:3.19 ", "invalid reference format"),
            ("x:-tag", "invalid reference format"),
            ("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings"),
            ("a/b:X/c", "invalid reference format"),
            ("ÄLPINE", "invalid reference format: repository name (library/ÄLPINE) must be lowercase"),
            ("alpİne", "invalid reference format: repository name (library/alpİne) must be lowercase"),
            ("ex.com/İ", "invalid reference format: repository name (İ) must be lowercase"),
            ("İ.com/x", "repository name must be lowercase"),
            ("é", "invalid reference format"),
        ];
        for (input, message) in cases {
            assert_eq!(parse(input), Err(message.to_string()), "{input:?}");
        }
        assert!(ImageRef::parse(&long).is_ok());
        let too_long = format!("a/{}", "b".repeat(254));
        assert_eq!(
            parse(&too_long),
            Err("repository name must not be more than 255 characters".into())
        );
        assert!(ImageRef::parse(&format!("example.com/{}", "b".repeat(255))).is_ok());
        let tag_128 = format!("a:{}", "t".repeat(128));
        assert!(ImageRef::parse(&tag_128).is_ok());
        assert_eq!(
            parse(&format!("{tag_128}t")),
            Err("invalid reference format".into())
        );
    }

    #[test]
    fn accessors_and_familiar_form() {
        let image: ImageRef = "127.0.0.1:5000/x:1".parse().unwrap();
        assert_eq!(
            (image.domain(), image.path(), image.tag()),
            ("127.0.0.1:5000", "x", Some("1"))
        );
        assert_eq!(image.name(), "127.0.0.1:5000/x");
        assert_eq!(image.familiar(), "127.0.0.1:5000/x:1");
        let cases = [
            ("alpine", "alpine:latest"),
            ("docker.io/library/foo/bar", "library/foo/bar:latest"),
            ("user/app:1", "user/app:1"),
            ("localhost/fooo", "localhost/fooo:latest"),
            ("foo_bar.com/x", "foo_bar.com/x:latest"),
        ];
        for (input, familiar) in cases {
            assert_eq!(
                ImageRef::parse(input).unwrap().familiar(),
                familiar,
                "{input:?}"
            );
        }
        let hub = ImageRef::parse("alpine").unwrap();
        assert_eq!(
            (hub.domain(), hub.path(), hub.digest()),
            ("docker.io", "library/alpine", None)
        );
        let odd = ImageRef::parse("foo_bar.com/x").unwrap();
        assert_eq!((odd.domain(), odd.path()), ("", "foo_bar.com/x"));
        assert_eq!(
            serde_json::to_string(&hub).unwrap(),
            "\"docker.io/library/alpine:latest\""
        );
    }

    #[test]
    fn long_inputs_are_linear() {
        let start = std::time::Instant::now();
        for input in [
            "a".repeat(100_000),
            "a-".repeat(50_000),
            "a/".repeat(50_000),
            format!("{}:", "a.".repeat(50_000)),
            "A".repeat(100_000),
            "é".repeat(100_000),
            format!("x@sha256:{}", "a".repeat(100_000)),
            ":".repeat(100_000),
        ] {
            let _ = ImageRef::parse(&input);
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = ImageRef::parse(&text);
        }

        #[test]
        fn valid_references_round_trip(text in "[a-zA-Z0-9._:/@-]{0,40}") {
            if let Ok(image) = ImageRef::parse(&text) {
                let again = ImageRef::parse(&image.to_string()).unwrap();
                prop_assert_eq!(again, image);
            }
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn long_references_are_quick(snippet in "(\\PC|[a-z0-9./:@_-]){1,8}") {
            let text = snippet.repeat(100_000 / snippet.chars().count() + 1);
            let start = std::time::Instant::now();
            let _ = ImageRef::parse(&text);
            prop_assert!(start.elapsed() < std::time::Duration::from_secs(2));
        }
    }
}
