//! Base64 in both alphabets: the engine decodes `X-Registry-Auth` as URL-safe base64
//! (with padding), so tests must be able to send both the right and the wrong encoding.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(input: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (RFC 4648 §4), padded.
pub fn base64_standard(input: &[u8]) -> String {
    encode(input, STANDARD)
}

/// URL-safe base64 (RFC 4648 §5), padded, as Go's `base64.URLEncoding`.
pub fn base64_url_safe(input: &[u8]) -> String {
    encode(input, URL_SAFE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc4648_vectors_in_both_alphabets() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_standard(input.as_bytes()), expected);
            assert_eq!(base64_url_safe(input.as_bytes()), expected);
        }
        assert_eq!(base64_standard(b"~~~?"), "fn5+Pw==");
        assert_eq!(base64_url_safe(b"~~~?"), "fn5-Pw==");
    }
}
