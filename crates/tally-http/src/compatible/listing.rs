//! What every compatible listing shares: the query string checked against the
//! listing's parameters (unknown ones refused by name, documented ones Tally does not
//! support refused as such), ISO 8601 instants and ranges, `CampaignId` resolved to one
//! of the caller's programs, and the page answered in the documented envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::Value;
use tally_app::catalog::{Catalog, ProgramEntry};
use tally_app::ports::TimeRange;
use tally_core::ids::{PartnerId, ProgramId};
use tally_core::program::ProgramDocument;

use super::paging::{PageRequest, envelope};
use super::{CompatError, bad};

/// A listing's query string, checked against the parameters it takes.
pub(super) struct ListingQuery {
    pairs: Vec<(String, String)>,
}

impl ListingQuery {
    /// Parses `raw` and refuses any parameter not in `known`, matched ignoring case.
    /// `unsupported` are documented by the seed platform but not served by Tally; they
    /// get their own message, so that a connector's author sees why.
    pub(super) fn read(raw: Option<String>, known: &[&str], unsupported: &[&str]) -> Result<Self, CompatError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        for (name, _) in &pairs {
            if known.iter().any(|known| known.eq_ignore_ascii_case(name)) {
                continue;
            }
            let message = if unsupported.iter().any(|documented| documented.eq_ignore_ascii_case(name)) {
                format!("{name} is not supported by Tally on this resource; it takes {}", takes(known))
            } else {
                format!("unknown parameter {name:?}; this resource takes {}", takes(known))
            };
            return Err(bad(name, &message));
        }
        Ok(ListingQuery { pairs })
    }

    /// The value of `name`, ignoring the name's case.
    pub(super) fn value(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.trim())
    }

    /// `PageSize` and `Page`.
    pub(super) fn page(&self) -> Result<PageRequest, CompatError> {
        PageRequest::read(self.value("Page"), self.value("PageSize"))
    }

    /// `CampaignId`, when given, as a number.
    pub(super) fn campaign(&self) -> Result<Option<ProgramId>, CompatError> {
        let Some(text) = self.value("CampaignId") else { return Ok(None) };
        let id = text.parse::<u64>().map_err(|_| bad("CampaignId", "CampaignId must be a number"))?;
        Ok(Some(ProgramId(id)))
    }

    /// An enumerated parameter, upper-cased and checked against `allowed`.
    pub(super) fn choice(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, CompatError> {
        let Some(text) = self.value(name) else { return Ok(None) };
        let value = text.to_ascii_uppercase();
        if !allowed.contains(&value.as_str()) {
            return Err(bad(name, &format!("{name} must be one of {}", allowed.join(", "))));
        }
        Ok(Some(value))
    }

    /// An ISO 8601 instant with its offset, such as `2026-01-31T00:00:00Z`.
    pub(super) fn instant(&self, name: &str) -> Result<Option<Timestamp>, CompatError> {
        let Some(text) = self.value(name) else { return Ok(None) };
        let message = format!("{name} must be an ISO 8601 instant such as 2026-01-31T00:00:00Z");
        text.parse::<Timestamp>().map(Some).map_err(|_| bad(name, &message))
    }

    /// An inclusive range from two instants; an end before its start is refused.
    pub(super) fn range(&self, start: &str, end: &str) -> Result<TimeRange, CompatError> {
        let range = TimeRange { from: self.instant(start)?, to: self.instant(end)? };
        if let (Some(from), Some(to)) = (range.from, range.to)
            && to < from
        {
            return Err(bad(end, &format!("{end} is before {start}")));
        }
        Ok(range)
    }

    /// Answers a page of `items` (of `total`) under `key`, with the paging links built
    /// from this query's other parameters.
    pub(super) fn answer(&self, path: &str, page: PageRequest, total: u64, key: &str, items: Vec<Value>) -> Response {
        let kept: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("Page") && !name.eq_ignore_ascii_case("PageSize"))
            .cloned()
            .collect();
        axum::Json(envelope(path, &kept, page, total, key, items)).into_response()
    }
}

fn takes(known: &[&str]) -> String {
    if known.is_empty() { "no parameters".to_owned() } else { known.join(", ") }
}

/// Whether an instant falls in an inclusive range.
pub(super) fn within(range: &TimeRange, at: Timestamp) -> bool {
    range.from.is_none_or(|from| at >= from) && range.to.is_none_or(|to| at <= to)
}

/// The caller's programs, by id: only the one named by `CampaignId` when given, and a
/// `CampaignId` that is not the caller's is not found (whether it exists or not).
pub(super) fn owned_programs<'c>(
    catalog: &'c Catalog,
    account_sid: &str,
    campaign: Option<ProgramId>,
) -> Result<Vec<&'c ProgramEntry>, CompatError> {
    let mut owned: Vec<&ProgramEntry> = catalog.programs().filter(|entry| entry.account_sid == account_sid).collect();
    owned.sort_by_key(|entry| entry.program.id());
    let Some(id) = campaign else { return Ok(owned) };
    match owned.into_iter().find(|entry| entry.program.id() == id) {
        Some(entry) => Ok(vec![entry]),
        None => Err(CompatError::new(StatusCode::NOT_FOUND, Some("CampaignId"), "no such campaign")),
    }
}

/// One page of rows that were all built in memory; returns it with the total.
pub(super) fn page_of(rows: Vec<Value>, page: PageRequest) -> (u64, Vec<Value>) {
    let total = rows.len() as u64;
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(page.size).unwrap_or(usize::MAX);
    (total, rows.into_iter().skip(skip).take(take).collect())
}

/// Strips the `.json` suffix every compatible path also answers to.
pub(super) fn without_json(id: &str) -> &str {
    id.strip_suffix(".json").unwrap_or(id)
}

/// An instant on the wire: RFC 3339 in UTC.
pub(super) fn time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_string()))
}

/// The name of a partner or media source of a program.
pub(super) fn owner_name(document: &ProgramDocument, id: PartnerId) -> Option<&str> {
    let partner = document.partners.iter().find(|partner| partner.id == id).map(|partner| partner.name.as_str());
    partner.or_else(|| document.media_sources.iter().find(|source| source.id == id).map(|source| source.name.as_str()))
}
