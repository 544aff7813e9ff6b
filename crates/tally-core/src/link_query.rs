//! The query string of a tracking link: sub ids, shared id and the `u` deep link.
//!
//! Parameter names are case-insensitive *(documented)*. Anything unusable (a value over
//! 255 characters, bytes that are not UTF-8, an oversized query) is dropped and the
//! click marked malformed: the shopper still lands, on the safe default page.

use percent_encoding::percent_decode;

/// The longest query string read; a longer one is ignored whole.
pub const MAX_QUERY_LEN: usize = 8192;
/// The longest sub id or shared id value *(documented)*.
pub const MAX_VALUE_LEN: usize = 255;

/// The parameters Tally reads from a tracking link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkQuery {
    /// `subId1`, `subId2`, `subId3`.
    pub sub_ids: [Option<String>; 3],
    /// `sharedId`.
    pub shared_id: Option<String>,
    /// `u`, decoded once.
    pub deep_link: Option<String>,
    /// Something had to be dropped.
    pub malformed: bool,
}

impl LinkQuery {
    /// Parses the raw query (the part after `?`, still percent-encoded). The first
    /// occurrence of a parameter wins.
    pub fn parse(raw: &str) -> LinkQuery {
        let mut query = LinkQuery::default();
        if raw.len() > MAX_QUERY_LEN {
            query.malformed = true;
            return query;
        }
        for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(slot) = query.slot_for(raw_name) else { continue };
            if slot.is_some() {
                continue;
            }
            match decode_component(raw_value) {
                Some(value) if value.is_empty() => {}
                Some(value) => *slot = Some(value),
                None => query.malformed = true,
            }
        }
        for value in query.sub_ids.iter_mut().chain([&mut query.shared_id]) {
            if value
                .as_ref()
                .is_some_and(|text| text.chars().count() > MAX_VALUE_LEN || text.chars().any(char::is_control))
            {
                *value = None;
                query.malformed = true;
            }
        }
        query
    }

    fn slot_for(&mut self, raw_name: &str) -> Option<&mut Option<String>> {
        let name = decode_component(raw_name)?.to_ascii_lowercase();
        match name.as_str() {
            "subid1" => Some(&mut self.sub_ids[0]),
            "subid2" => Some(&mut self.sub_ids[1]),
            "subid3" => Some(&mut self.sub_ids[2]),
            "sharedid" => Some(&mut self.shared_id),
            "u" => Some(&mut self.deep_link),
            _ => None,
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` component; `None` if not UTF-8.
fn decode_component(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_decode(spaced.as_bytes()).decode_utf8().ok().map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_values_decoded() {
        let query = LinkQuery::parse("SUBID1=a%20b&subId2=x+y&SharedId=s&u=https%3A%2F%2Facme.test%2Fp&other=1");
        assert_eq!(query.sub_ids, [Some("a b".into()), Some("x y".into()), None]);
        assert_eq!(query.shared_id.as_deref(), Some("s"));
        assert_eq!(query.deep_link.as_deref(), Some("https://acme.test/p"));
        assert!(!query.malformed);
    }

    #[test]
    fn the_first_occurrence_wins() {
        assert_eq!(LinkQuery::parse("subId1=a&subid1=b").sub_ids[0].as_deref(), Some("a"));
    }

    #[test]
    fn unusable_values_are_dropped_and_marked() {
        let long = "x".repeat(256);
        for raw in [format!("subId1={long}"), "subId1=%FF%FE".to_owned(), "sharedId=a%0Ab".to_owned()] {
            let query = LinkQuery::parse(&raw);
            assert!(query.malformed, "{raw}");
            assert_eq!(query.sub_ids[0], None);
            assert_eq!(query.shared_id, None);
        }
        let oversized = LinkQuery::parse(&format!("subId1=a&pad={}", "p".repeat(MAX_QUERY_LEN)));
        assert!(oversized.malformed);
        assert_eq!(oversized.sub_ids[0], None);
    }

    #[test]
    fn a_value_of_exactly_255_characters_is_kept() {
        let value = "é".repeat(255);
        assert_eq!(LinkQuery::parse(&format!("subId3={value}")).sub_ids[2].as_deref(), Some(value.as_str()));
    }
}
