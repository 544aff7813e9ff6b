//! The action listing's parameters (SPEC §10), read once for the native API and the
//! dashboard so that both show the same numbers for the same question.
//!
//! Names: `eventDateFrom`, `eventDateTo`, `lockingDateFrom`, `lockingDateTo` (a day,
//! `2026-11-24`, read in the program's time zone, or an RFC 3339 instant; both ends
//! inclusive), `state`, `partner`, `eventType`, `promoCode`, `orderId`, `sku`, `test`
//! (`exclude`, the default, `include` or `only`), `sort` (`creationDate`, `eventDate`,
//! `lockingDate`, `saleAmount`, `payout`; a leading `-` for descending, the default
//! `-creationDate`), `page` (from 1) and `pageSize` (1 to 1,000, default 50). Unknown
//! names, repeated names, inverted ranges and ranges over 366 days are refused with the
//! parameter named.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};

use crate::ports::{ActionQuery, ActionSortKey, TestActions, TimeRange};

/// The parameters the listing takes.
pub const PARAMETERS: &[&str] = &[
    "eventDateFrom",
    "eventDateTo",
    "lockingDateFrom",
    "lockingDateTo",
    "state",
    "partner",
    "eventType",
    "promoCode",
    "orderId",
    "sku",
    "test",
    "sort",
    "page",
    "pageSize",
];

/// The largest page.
pub const MAX_PAGE_SIZE: u32 = 1_000;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The longest date range one question may span.
pub const MAX_RANGE_DAYS: i64 = 366;

const STATES: &[&str] = &["PENDING", "APPROVED", "REVERSED"];

/// A parameter that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {message}")]
pub struct ParameterError {
    /// The parameter's name, as sent.
    pub parameter: String,
    /// What is wrong with it.
    pub message: String,
}

fn refuse(parameter: &str, message: impl Into<String>) -> ParameterError {
    ParameterError { parameter: parameter.to_owned(), message: message.into() }
}

/// A checked listing question: the store query (its page included) and the page asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// What to read.
    pub query: ActionQuery,
    /// The page, from 1.
    pub page: u64,
    /// Rows per page.
    pub page_size: u32,
}

/// Who asks: a partner sees its own actions only, whatever it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The brand: every partner.
    Brand,
    /// One partner.
    Partner(PartnerId),
}

/// Reads the listing's parameters for `program`, whose days are counted in `time_zone`.
pub fn read(
    pairs: &[(String, String)],
    program: ProgramId,
    time_zone: &TimeZone,
    viewer: Viewer,
) -> Result<Listing, ParameterError> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(refuse(name, format!("unknown parameter; this listing takes {}", PARAMETERS.join(", "))));
        }
        if seen.contains(&name.as_str()) {
            return Err(refuse(name, "given twice"));
        }
        seen.push(name);
    }
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim());
    let event_at = range(value, ("eventDateFrom", "eventDateTo"), time_zone)?;
    let locking_at = range(value, ("lockingDateFrom", "lockingDateTo"), time_zone)?;
    let state = value("state")
        .map(|text| {
            let state = text.to_ascii_uppercase();
            STATES
                .contains(&state.as_str())
                .then_some(state)
                .ok_or_else(|| refuse("state", format!("{text:?} is not a state; use one of {}", STATES.join(", "))))
        })
        .transpose()?;
    let asked_partner = value("partner").map(|text| number("partner", text).map(PartnerId)).transpose()?;
    let owner = match viewer {
        Viewer::Brand => asked_partner,
        Viewer::Partner(own) => match asked_partner {
            Some(other) if other != own => return Err(refuse("partner", format!("partner {other} not found"))),
            _ => Some(own),
        },
    };
    let event_type = value("eventType").map(|text| number("eventType", text).map(EventTypeId)).transpose()?;
    let test = match value("test") {
        None | Some("exclude") => TestActions::Exclude,
        Some("include") => TestActions::Include,
        Some("only") => TestActions::Only,
        Some(other) => return Err(refuse("test", format!("{other:?} is not one of exclude, include, only"))),
    };
    let (sort, descending) = sort(value("sort"))?;
    let page = value("page").map(|text| number("page", text)).transpose()?.unwrap_or(1);
    if page == 0 {
        return Err(refuse("page", "pages count from 1"));
    }
    let page_size = match value("pageSize").map(|text| number("pageSize", text)).transpose()? {
        None => DEFAULT_PAGE_SIZE,
        Some(size) if (1..=u64::from(MAX_PAGE_SIZE)).contains(&size) => size as u32,
        Some(size) => return Err(refuse("pageSize", format!("{size} is not from 1 to {MAX_PAGE_SIZE}"))),
    };
    let text = |name: &str, max: usize| -> Result<Option<String>, ParameterError> {
        match value(name) {
            None | Some("") => Ok(None),
            Some(text) if text.chars().count() > max => Err(refuse(name, format!("longer than {max} characters"))),
            Some(text) => Ok(Some(text.to_owned())),
        }
    };
    let query = ActionQuery {
        programs: vec![program],
        owner,
        state,
        event_type,
        event_at,
        locking_at,
        created_at: TimeRange::default(),
        changed_at: TimeRange::default(),
        promo_code: text("promoCode", 200)?,
        order_id: text("orderId", 200)?,
        sku: text("sku", 200)?,
        test,
        sort,
        descending,
        offset: (page - 1).saturating_mul(u64::from(page_size)),
        limit: page_size,
        after: None,
    };
    Ok(Listing { query, page, page_size })
}

fn number(name: &str, text: &str) -> Result<u64, ParameterError> {
    text.parse().map_err(|_| refuse(name, format!("{text:?} is not a whole number")))
}

fn sort(text: Option<&str>) -> Result<(ActionSortKey, bool), ParameterError> {
    let Some(text) = text else { return Ok((ActionSortKey::CreatedAt, true)) };
    let (descending, name) = match text.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, text),
    };
    let key = match name {
        "creationDate" => ActionSortKey::CreatedAt,
        "eventDate" => ActionSortKey::EventAt,
        "lockingDate" => ActionSortKey::LockingAt,
        "saleAmount" => ActionSortKey::SaleAmount,
        "payout" => ActionSortKey::Payout,
        _ => {
            return Err(refuse(
                "sort",
                format!(
                    "{text:?} is not one of creationDate, eventDate, lockingDate, saleAmount, payout (- for descending)"
                ),
            ));
        }
    };
    Ok((key, descending))
}

/// A day or an instant; a day's end is its last instant, so both ends include it.
fn instant(name: &str, text: &str, time_zone: &TimeZone, end: bool) -> Result<Timestamp, ParameterError> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let message = || format!("{text:?} is neither a day such as 2026-11-24 nor an RFC 3339 instant");
    let day: Date = text.parse().map_err(|_| refuse(name, message()))?;
    let start = |day: Date| day.to_zoned(time_zone.clone()).map(|zoned| zoned.timestamp());
    let at = if end {
        day.tomorrow().and_then(start).map(|next| next - jiff::SignedDuration::from_micros(1))
    } else {
        start(day)
    };
    at.map_err(|_| refuse(name, message()))
}

fn range<'a>(
    value: impl Fn(&str) -> Option<&'a str>,
    (from_name, to_name): (&str, &str),
    time_zone: &TimeZone,
) -> Result<TimeRange, ParameterError> {
    let from = value(from_name).map(|text| instant(from_name, text, time_zone, false)).transpose()?;
    let to = value(to_name).map(|text| instant(to_name, text, time_zone, true)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(refuse(to_name, format!("{to_name} is before {from_name}")));
        }
        if to.duration_since(from) > jiff::SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
            return Err(refuse(to_name, format!("the range spans more than {MAX_RANGE_DAYS} days")));
        }
    }
    Ok(TimeRange { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn listing(list: &[(&str, &str)]) -> Result<Listing, ParameterError> {
        let new_york = TimeZone::get("America/New_York").unwrap();
        read(&pairs(list), ProgramId(7), &new_york, Viewer::Brand)
    }

    #[test]
    fn days_are_read_in_the_programs_time_zone_and_include_both_ends() {
        let listing = listing(&[("eventDateFrom", "2026-11-01"), ("eventDateTo", "2026-11-30")]).unwrap();
        assert_eq!(listing.query.event_at.from, Some("2026-11-01T04:00:00Z".parse().unwrap()));
        assert_eq!(listing.query.event_at.to, Some("2026-12-01T04:59:59.999999Z".parse().unwrap()));
        assert_eq!((listing.page, listing.page_size, listing.query.limit), (1, DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE));
        assert_eq!((listing.query.sort, listing.query.descending), (ActionSortKey::CreatedAt, true));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (list, name) in [
            (vec![("colour", "red")], "colour"),
            (vec![("state", "LOST")], "state"),
            (vec![("eventDateFrom", "2026-12-01"), ("eventDateTo", "2026-11-01")], "eventDateTo"),
            (vec![("eventDateFrom", "2025-01-01"), ("eventDateTo", "2026-06-01")], "eventDateTo"),
            (vec![("lockingDateFrom", "soon")], "lockingDateFrom"),
            (vec![("pageSize", "0")], "pageSize"),
            (vec![("pageSize", "1001")], "pageSize"),
            (vec![("page", "0")], "page"),
            (vec![("sort", "colour")], "sort"),
            (vec![("test", "maybe")], "test"),
            (vec![("partner", "x")], "partner"),
            (vec![("state", "PENDING"), ("state", "APPROVED")], "state"),
        ] {
            let error = listing(&list).unwrap_err();
            assert_eq!(error.parameter, name, "{list:?}: {error}");
        }
    }

    #[test]
    fn a_partner_sees_only_its_own() {
        let utc = TimeZone::UTC;
        let own = read(&[], ProgramId(7), &utc, Viewer::Partner(PartnerId(3))).unwrap();
        assert_eq!(own.query.owner, Some(PartnerId(3)));
        let other = read(&pairs(&[("partner", "4")]), ProgramId(7), &utc, Viewer::Partner(PartnerId(3)));
        assert_eq!(other.unwrap_err().parameter, "partner");
    }

    #[test]
    fn pages_sorts_and_filters_are_passed_on() {
        let listing = listing(&[
            ("page", "3"),
            ("pageSize", "20"),
            ("sort", "payout"),
            ("test", "only"),
            ("sku", "SKU-1"),
            ("state", "pending"),
        ])
        .unwrap();
        assert_eq!((listing.query.offset, listing.query.limit), (40, 20));
        assert_eq!((listing.query.sort, listing.query.descending), (ActionSortKey::Payout, false));
        assert_eq!((listing.query.test, listing.query.sku.as_deref()), (TestActions::Only, Some("SKU-1")));
        assert_eq!(listing.query.state.as_deref(), Some("PENDING"));
    }
}
