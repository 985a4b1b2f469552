//! Go's `unicode.IsLetter` and `unicode.IsDigit`, which decide what a name is in Go's
//! regexp templates (`$name`) and in BuildKit's shell lexer (`$name`, `${name}`), from
//! regex-syntax's Unicode tables.

use std::sync::OnceLock;

use regex_syntax::hir::ClassUnicode;

/// Go's `unicode.IsLetter`: general category L.
pub fn is_letter(c: char) -> bool {
    static LETTERS: OnceLock<ClassUnicode> = OnceLock::new();
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    contains(LETTERS.get_or_init(|| table(r"\p{L}")), c)
}

/// Go's `unicode.IsDigit`: general category Nd.
pub fn is_digit(c: char) -> bool {
    static DIGITS: OnceLock<ClassUnicode> = OnceLock::new();
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    contains(DIGITS.get_or_init(|| table(r"\p{Nd}")), c)
}

fn table(expr: &str) -> ClassUnicode {
    crate::parse::regex_syntax_class(expr).unwrap_or_else(ClassUnicode::empty)
}

fn contains(class: &ClassUnicode, c: char) -> bool {
    let ranges = class.ranges();
    let at = ranges.partition_point(|range| range.end() < c);
    ranges.get(at).is_some_and(|range| range.start() <= c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_as_go_has_them() {
        assert!(is_letter('a') && is_letter('é') && is_letter('Ω') && is_letter('中'));
        // Letter numbers (Nl) and combining marks are not letters for Go.
        assert!(!is_letter('Ⅳ') && !is_letter('\u{301}') && !is_letter('_'));
        assert!(is_digit('7') && is_digit('٣'));
        // Other numbers (No) are not digits.
        assert!(!is_digit('²') && !is_digit('Ⅳ') && !is_digit('a'));
    }
}
