//! The rows the performance rollups are kept in (SPEC §10): clicks and actions summed
//! per program, local day and report key. The stores add these in the transaction that
//! stores the rows they sum; [`crate::reports`] reads them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tally_core::click::Click;
use tally_core::ids::{AdId, PartnerId, ProgramId};

/// Clicks of one local day and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClickDayRow {
    /// The program.
    pub program: ProgramId,
    /// The click's day in the program's time zone.
    pub day: Date,
    /// The partner or media source.
    pub owner: PartnerId,
    /// The ad, if any.
    pub ad: Option<AdId>,
    /// The device type.
    pub device: String,
    /// The shared id, empty when none.
    pub shared_id: String,
    /// How many clicks.
    pub clicks: u64,
    /// How many of them were unique.
    pub unique_clicks: u64,
}

/// A click's report key: program, day, owner, ad, device, shared id.
type ClickKey<'a> = (ProgramId, Date, PartnerId, Option<AdId>, &'a str, &'a str);

/// The UTC day of an instant: the day of a click whose program is unknown.
pub fn utc_day(at: Timestamp) -> Date {
    at.to_zoned(TimeZone::UTC).date()
}

/// Sums people's clicks (not crawlers') per day and key; `days[i]` is click `i`'s local day (its UTC day when
/// `days` is shorter). Sorted by key, so that two stores' writers touching the same
/// rows always lock them in one order.
pub fn click_days(clicks: &[Click], days: &[Date]) -> Vec<ClickDayRow> {
    let mut sums: BTreeMap<ClickKey<'_>, (u64, u64)> = BTreeMap::new();
    // Crawlers' clicks and click floods are kept and flagged, but reports count people's.
    for (index, click) in clicks.iter().enumerate().filter(|(_, click)| !click.bot && !click.flood) {
        let day = days.get(index).copied().unwrap_or_else(|| utc_day(click.at));
        let key = (
            click.program,
            day,
            click.owner,
            click.ad,
            click.device.as_str(),
            click.shared_id.as_deref().unwrap_or(""),
        );
        let sum = sums.entry(key).or_default();
        sum.0 += 1;
        sum.1 += u64::from(click.unique);
    }
    sums.into_iter()
        .map(|((program, day, owner, ad, device, shared_id), (clicks, unique_clicks))| ClickDayRow {
            program,
            day,
            owner,
            ad,
            device: device.to_owned(),
            shared_id: shared_id.to_owned(),
            clicks,
            unique_clicks,
        })
        .collect()
}
