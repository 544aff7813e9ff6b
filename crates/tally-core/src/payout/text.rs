//! Case-insensitive comparison that does not allocate: the order's value is lower-cased
//! one character at a time as it is compared with a rule value lower-cased the same way
//! when the terms were compiled. ASCII values, the common case, compare byte by byte.
//!
//! This is lower-casing, not full Unicode case folding: `ß` does not match `ss`.

/// Lower-cases `text` character by character: the form rule values are kept in.
pub(super) fn fold(text: &str) -> String {
    folded_chars(text).collect()
}

fn folded_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().flat_map(char::to_lowercase)
}

/// A value of the order as rules see it: trimmed and not empty, checked for ASCII once
/// rather than on every comparison.
#[derive(Debug, Clone, Copy)]
pub(super) struct Text<'a> {
    text: &'a str,
    is_ascii: bool,
}

impl<'a> Text<'a> {
    /// Trims `value`; `None` when it is absent or blank, since both mean "no value".
    pub(super) fn new(value: Option<&'a str>) -> Option<Self> {
        let text = value?.trim();
        (!text.is_empty()).then(|| Text { text, is_ascii: text.is_ascii() })
    }

    /// Whether the value equals `folded` ignoring case; `folded` comes from [`fold`].
    pub(super) fn equals(self, folded: &str) -> bool {
        if self.is_ascii {
            return self.text.eq_ignore_ascii_case(folded);
        }
        folded_chars(self.text).eq(folded.chars())
    }

    /// Whether the value contains `folded` ignoring case, starting on one of its
    /// characters; `folded` comes from [`fold`].
    pub(super) fn contains(self, folded: &str) -> bool {
        if folded.is_empty() {
            return true;
        }
        if self.is_ascii {
            let needle = folded.as_bytes();
            return self.text.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle));
        }
        self.text.char_indices().any(|(start, _)| starts_with_folded(&self.text[start..], folded))
    }
}

fn starts_with_folded(text: &str, folded: &str) -> bool {
    let mut text_chars = folded_chars(text);
    folded.chars().all(|expected| text_chars.next() == Some(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Text<'_> {
        Text::new(Some(value)).expect("not blank")
    }

    #[test]
    fn values_are_trimmed_and_blank_ones_are_absent() {
        assert_eq!(Text::new(Some(" \t ")).map(|text| text.text), None);
        assert_eq!(Text::new(Some(" SAVE10 ")).map(|text| text.text), Some("SAVE10"));
    }

    #[test]
    fn equality_ignores_case_in_and_beyond_ascii() {
        assert!(text("Books").equals(&fold("BOOKS")));
        assert!(text("BÜCHER").equals(&fold("bücher")));
        assert!(text("\u{212A}").equals(&fold("k")), "the Kelvin sign lower-cases to k");
        assert!(!text("Book").equals(&fold("books")));
        assert!(!text("bücher").equals(&fold("bucher")));
    }

    #[test]
    fn containment_ignores_case_in_and_beyond_ascii() {
        assert!(text("Summer-SALE-10").contains(&fold("sale")));
        assert!(text("Größe XL").contains(&fold("ÖßE")));
        assert!(!text("SAL").contains(&fold("sale")));
        assert!(!text("Größe").contains(&fold("grosse")));
    }
}
