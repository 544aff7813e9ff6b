//! The compatible API's listings: `PageSize` and `Page` in, the documented paging
//! envelope out (`@page`, `@numpages`, `@pagesize`, `@total`, `@start`, `@end`, and the
//! `@…uri` links), with the values as strings as the seed platform writes them.

use serde_json::{Map, Value};

use super::{CompatError, bad};

/// The most rows one page carries, and the default *(documented)*.
pub(crate) const MAX_PAGE_SIZE: u64 = 20_000;

/// A requested page: 1-based number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) page: u64,
    pub(crate) size: u64,
}

impl PageRequest {
    /// Reads `Page` and `PageSize` (either may be absent).
    pub(crate) fn read(page: Option<&str>, size: Option<&str>) -> Result<Self, CompatError> {
        let number = |name: &str, text: &str, max: u64| {
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|value| (1..=max).contains(value))
                .ok_or_else(|| bad(name, &format!("{name} must be a whole number from 1 to {max}")))
        };
        let page = page.map(|text| number("Page", text, u64::from(u32::MAX))).transpose()?.unwrap_or(1);
        let size = size.map(|text| number("PageSize", text, MAX_PAGE_SIZE)).transpose()?.unwrap_or(MAX_PAGE_SIZE);
        Ok(PageRequest { page, size })
    }

    /// Rows to skip before this page.
    pub(crate) fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.size)
    }
}

/// Wraps a page of `items` under `key` in the paging envelope. `path` is the listing's
/// path and `query` its other parameters, from which the page links are built.
pub(crate) fn envelope(
    path: &str,
    query: &[(String, String)],
    request: PageRequest,
    total: u64,
    key: &str,
    items: Vec<Value>,
) -> Value {
    let pages = total.div_ceil(request.size).max(1);
    let start = if items.is_empty() { 0 } else { request.offset() + 1 };
    let end = request.offset() + items.len() as u64;
    let uri = |page: u64| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.extend_pairs(query);
        serializer.append_pair("PageSize", &request.size.to_string());
        serializer.append_pair("Page", &page.to_string());
        format!("{path}?{}", serializer.finish())
    };
    let link = |page: Option<u64>| Value::String(page.map(uri).unwrap_or_default());
    let mut envelope = Map::new();
    let mut put = |name: &str, value: Value| envelope.insert(name.to_owned(), value);
    put("@page", request.page.to_string().into());
    put("@numpages", pages.to_string().into());
    put("@pagesize", request.size.to_string().into());
    put("@total", total.to_string().into());
    put("@start", start.to_string().into());
    put("@end", end.to_string().into());
    put("@uri", uri(request.page).into());
    put("@firstpageuri", uri(1).into());
    put("@previouspageuri", link((request.page > 1).then(|| (request.page - 1).min(pages))));
    put("@nextpageuri", link((request.page < pages).then_some(request.page + 1)));
    put("@lastpageuri", uri(pages).into());
    put(key, Value::Array(items));
    Value::Object(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_counts_pages_and_links_its_neighbours() {
        let request = PageRequest { page: 2, size: 2 };
        let query = vec![("CampaignId".to_owned(), "7".to_owned())];
        let items = vec![Value::from(3), Value::from(4)];
        let page = envelope("/Advertisers/S/Actions", &query, request, 5, "Actions", items);
        assert_eq!(page["@numpages"], "3");
        assert_eq!(page["@start"], "3");
        assert_eq!(page["@end"], "4");
        assert_eq!(page["@previouspageuri"], "/Advertisers/S/Actions?CampaignId=7&PageSize=2&Page=1");
        assert_eq!(page["@nextpageuri"], "/Advertisers/S/Actions?CampaignId=7&PageSize=2&Page=3");
        assert_eq!(page["@lastpageuri"], "/Advertisers/S/Actions?CampaignId=7&PageSize=2&Page=3");
    }

    #[test]
    fn the_last_page_has_no_next_and_an_empty_listing_one_page() {
        let page = envelope("/x", &[], PageRequest { page: 1, size: 10 }, 0, "Actions", Vec::new());
        assert_eq!((page["@numpages"].as_str(), page["@start"].as_str()), (Some("1"), Some("0")));
        assert_eq!(page["@nextpageuri"], "");
        assert_eq!(page["@previouspageuri"], "");
    }

    #[test]
    fn page_parameters_are_checked() {
        assert!(PageRequest::read(Some("0"), None).is_err());
        assert!(PageRequest::read(None, Some("20001")).is_err());
        assert!(PageRequest::read(Some("x"), None).is_err());
        assert!(PageRequest::read(None, None).is_ok_and(|page| page == PageRequest { page: 1, size: MAX_PAGE_SIZE }));
    }
}
