//! Whether an application's output shows a value: the value as a whole token, not as part of a
//! longer word. Canary values carry a marker of their own element (see `session::canary`), so
//! no canary value is part of another's; whole-token matching keeps an unmarked value (a date,
//! `LAKI-LAKI`) from being found inside a longer word as well.

/// `true` when `value` occurs in `text` with no letter or digit directly before or after it
/// (where the value itself starts or ends with one).
pub(crate) fn shows(text: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let first_is_word = value.chars().next().is_some_and(char::is_alphanumeric);
    let last_is_word = value.chars().next_back().is_some_and(char::is_alphanumeric);
    text.match_indices(value).any(|(at, _)| {
        let before_ok = !first_is_word
            || !text[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        let after_ok = !last_is_word
            || !text[at + value.len()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::shows;
    use proptest::prelude::*;

    #[test]
    fn whole_tokens_only() {
        assert!(shows("<td>O QZAB01</td>", "O QZAB01"));
        assert!(
            !shows("JATIPURO QZAB01", "O QZAB01"),
            "inside a longer word"
        );
        assert!(!shows("O QZAB012", "O QZAB01"), "a longer marker");
        assert!(
            shows("{\"NAMA\":\"SRI \"}", "SRI "),
            "a trailing space ends the token"
        );
        assert!(shows("1988-02-29", "1988-02-29"));
        assert!(!shows("PEREMPUAN", ""));
        assert!(shows("A\u{a0}SRI WAHYUNI QZAB02.", "SRI WAHYUNI QZAB02"));
    }

    proptest! {
        /// A value shown on its own, between any non-word characters, is always found; glued to
        /// a letter on either side it never is.
        #[test]
        fn found_between_separators_not_inside_words(
            value in "[A-Z][A-Z0-9 '.]{0,20}[A-Z0-9]",
            left in "[ <>\":,]{0,3}",
            right in "[ <>\":,]{0,3}",
        ) {
            let shown = format!("{left}{value}{right}");
            prop_assert!(shows(&shown, &value));
            let glued = format!("X{value}X");
            let glued_digit = format!("{left}{value}7");
            prop_assert!(!shows(&glued, &value));
            prop_assert!(!shows(&glued_digit, &value));
        }
    }
}
