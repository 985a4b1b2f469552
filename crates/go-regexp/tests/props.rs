//! Properties: no expression or text makes the parser or matcher panic, and what a match
//! reports lies inside the text on character boundaries.

use go_regexp::Regex;
use proptest::prelude::*;

proptest! {
    #[test]
    fn arbitrary_expressions_never_panic(expr in "\\PC{0,24}", text in "\\PC{0,12}") {
        if let Ok(re) = Regex::new(&expr) {
            let _ = re.is_match(&text);
            let _ = re.replace_all(&text, "$1${n}$$");
        }
    }

    #[test]
    fn regexp_like_expressions_never_panic_and_find_in_bounds(
        expr in "([()|*+?{},0-9\\[\\]^$.\\\\a-zA-Z:<>=_-]|\\\\p\\{[A-Za-z]{1,6}\\}){0,24}",
        text in "[a-zA-Z0-9 \\n_é{}()\\[\\]*.-]{0,16}",
    ) {
        if let Ok(re) = Regex::new(&expr) {
            if let Some(found) = re.find(&text) {
                prop_assert!(found.start <= found.end && found.end <= text.len());
                prop_assert!(text.is_char_boundary(found.start) && text.is_char_boundary(found.end));
                prop_assert!(re.is_match(&text));
            }
        }
    }
}
