//! Small text helpers that reproduce Go's standard-library behaviour where BuildKit's
//! messages and decisions depend on it: `%q` quoting, `unicode.IsSpace`, edit distance
//! and the "did you mean" suggestions of BuildKit's `suggest` package.

/// Go's `unicode.IsSpace` (the same set as Rust's `char::is_whitespace`).
pub(crate) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.IsSpace(rune(b))` for a single byte, as BuildKit's byte-wise scanners use it.
pub(crate) fn is_go_space_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// Whether `c` is in the character class `[\t\v\f\r ]` of BuildKit's whitespace regexp.
pub(crate) fn is_ascii_blank(c: char) -> bool {
    matches!(c, '\t' | '\u{0b}' | '\u{0c}' | '\r' | ' ')
}

/// Splits `s` on runs of `[\t\v\f\r ]`, at most into `limit` parts (Go's `Regexp.Split`).
pub(crate) fn split_blank(s: &str, limit: Option<usize>) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = s;
    loop {
        if limit.is_some_and(|n| parts.len() + 1 >= n) {
            parts.push(rest.to_string());
            return parts;
        }
        match rest.find(is_ascii_blank) {
            Some(start) => {
                let after = &rest[start..];
                let len = after
                    .find(|c: char| !is_ascii_blank(c))
                    .unwrap_or(after.len());
                parts.push(rest[..start].to_string());
                rest = &after[len..];
            }
            None => {
                parts.push(rest.to_string());
                return parts;
            }
        }
    }
}

/// Go's `%q`, shared with the shell lexer's error messages.
pub(crate) use crate::shell::go_quote;

/// Levenshtein distance over characters, unit costs (the reference for the banded version).
#[cfg(test)]
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The Levenshtein distance if it is at most `k`; banded, so O(len·k).
pub(crate) fn levenshtein_within(a: &str, b: &str, k: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > k {
        return None;
    }
    const FAR: usize = usize::MAX / 2;
    let width = 2 * k + 1;
    // Row i, band index d is column j = i + d - k.
    let mut prev: Vec<usize> = (0..width)
        .map(|d| match d.checked_sub(k) {
            Some(j) if j <= b.len() => j,
            _ => FAR,
        })
        .collect();
    let mut cur = vec![FAR; width];
    for i in 1..=a.len() {
        for d in 0..width {
            cur[d] = FAR;
            let Some(j) = (i + d).checked_sub(k) else {
                continue;
            };
            if j > b.len() {
                continue;
            }
            if j == 0 {
                cur[d] = i;
                continue;
            }
            let mut best = prev[d] + usize::from(a[i - 1] != b[j - 1]);
            if d + 1 < width {
                best = best.min(prev[d + 1] + 1);
            }
            if d > 0 {
                best = best.min(cur[d - 1] + 1);
            }
            cur[d] = best;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let dist = prev[b.len() + k - a.len()];
    (dist <= k).then_some(dist)
}

/// BuildKit's `suggest.Search`: the closest option within an edit distance of 2, if any,
/// and none when `value` matches an option exactly.
pub(crate) fn suggest<'a, I>(value: &str, options: I, case_sensitive: bool) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let val = if case_sensitive {
        value.to_string()
    } else {
        value.to_lowercase()
    };
    // Bound the work on pathological input: the distance cannot be small if lengths differ a lot.
    let val_len = val.chars().count();
    let mut best: Option<String> = None;
    let mut min = 3;
    for opt in options {
        let opt = if case_sensitive {
            opt.to_string()
        } else {
            opt.to_lowercase()
        };
        if val == opt {
            return None;
        }
        if val_len.abs_diff(opt.chars().count()) >= min {
            continue;
        }
        let Some(dist) = levenshtein_within(&val, &opt, min - 1) else {
            continue;
        };
        if dist < min {
            best = Some(if case_sensitive {
                opt
            } else {
                match_case(&opt, value)
            });
            min = dist;
        }
    }
    best
}

fn match_case(val: &str, orig: &str) -> String {
    if orig == orig.to_lowercase() {
        val.to_lowercase()
    } else if orig == orig.to_uppercase() {
        val.to_uppercase()
    } else {
        val.to_string()
    }
}

/// Appends BuildKit's ` (did you mean X?)` to `message` when a suggestion exists.
pub(crate) fn with_suggestion<'a, I>(
    message: String,
    value: &str,
    options: I,
    case_sensitive: bool,
) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match suggest(value, options, case_sensitive) {
        Some(m) => format!("{message} (did you mean {m}?)"),
        None => message,
    }
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.Atoi` on a 64-bit platform.
pub(crate) fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("Ä"), "\"Ä\"");
        assert_eq!(go_quote("\u{a0}"), r#""\u00a0""#);
    }

    #[test]
    fn split_blank_limits() {
        assert_eq!(split_blank("a  b c", Some(2)), vec!["a", "b c"]);
        assert_eq!(split_blank("a  b\tc", None), vec!["a", "b", "c"]);
        assert_eq!(split_blank("a", Some(2)), vec!["a"]);
    }

    #[test]
    fn banded_distance_agrees() {
        let words = [
            "", "a", "ab", "abc", "kitten", "sitting", "build", "bulid", "ENV", "EOF",
        ];
        for x in words {
            for y in words {
                for k in 0..4 {
                    let full = levenshtein(x, y);
                    let want = (full <= k).then_some(full);
                    assert_eq!(levenshtein_within(x, y, k), want, "{x:?} {y:?} {k}");
                }
            }
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("EOF", ["ADD", "ENV", "RUN"], false).as_deref(),
            Some("ENV")
        );
        assert_eq!(suggest("bulid", ["build"], true).as_deref(), Some("build"));
        assert_eq!(suggest("build", ["build"], true), None);
    }

    #[test]
    fn atoi() {
        assert_eq!(go_atoi("-1"), Some(-1));
        assert_eq!(go_atoi("+3"), Some(3));
        assert_eq!(go_atoi("3a"), None);
        assert_eq!(go_atoi("99999999999999999999"), None);
    }
}
