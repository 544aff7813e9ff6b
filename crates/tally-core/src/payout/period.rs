//! Calendar periods that tiers, limits and bonuses count in, in the program's time zone.
//!
//! A period is a span of civil days: it starts at the first instant of its first day
//! and ends at the first instant of the day after its last, both in the time zone, so a
//! day that a DST change shortens or lengthens is still one day. Weeks are ISO 8601
//! weeks, Monday to Monday, whatever year their days fall in.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Period {
    /// A civil day.
    Day,
    /// An ISO 8601 week, Monday to Monday.
    Week,
    /// A calendar month.
    Month,
    /// January to March, April to June, July to September, October to December.
    Quarter,
    /// A calendar year.
    Year,
}

/// The instants a period covers: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpan {
    /// The first instant of the period's first day.
    pub start: Timestamp,
    /// The first instant after the period.
    pub end: Timestamp,
}

impl PeriodSpan {
    /// Whether the span covers the instant.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 5] = [Period::Day, Period::Week, Period::Month, Period::Quarter, Period::Year];

    /// The period of this kind that contains `at`, counted in `tz`.
    ///
    /// Saturates at jiff's range (years -9999 to 9999) instead of failing, since no
    /// event date comes near it.
    pub fn span(self, at: Timestamp, tz: &TimeZone) -> PeriodSpan {
        let first_day = self.first_day(at.to_zoned(tz.clone()).date());
        let after_last_day = self.next_first_day(first_day);
        PeriodSpan {
            start: start_of_day(Some(first_day), tz).unwrap_or(Timestamp::MIN),
            end: start_of_day(after_last_day, tz).unwrap_or(Timestamp::MAX),
        }
    }

    /// The lower-case noun, as in "per month".
    pub fn noun(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    /// The first civil day of the period containing `date`; stepping back only fails
    /// before year -9999, where the earliest date stands in.
    fn first_day(self, date: Date) -> Date {
        match self {
            Period::Day => date,
            Period::Week => {
                let days_since_monday = i64::from(date.weekday().to_monday_zero_offset());
                date.checked_sub(days_since_monday.days()).unwrap_or(Date::MIN)
            }
            Period::Month => date.first_of_month(),
            Period::Quarter => {
                let months_into_quarter = i64::from((date.month() - 1) % 3);
                date.first_of_month().checked_sub(months_into_quarter.months()).unwrap_or(Date::MIN)
            }
            Period::Year => date.first_of_year(),
        }
    }

    /// The first civil day of the next period, `None` past jiff's range.
    fn next_first_day(self, first_day: Date) -> Option<Date> {
        let length = match self {
            Period::Day => 1.day(),
            Period::Week => 1.week(),
            Period::Month => 1.month(),
            Period::Quarter => 3.months(),
            Period::Year => 1.year(),
        };
        first_day.checked_add(length).ok()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// The first instant of `date` in `tz`. Where a DST gap swallows midnight, jiff's
/// compatible disambiguation moves forward to the first instant that exists.
fn start_of_day(date: Option<Date>, tz: &TimeZone) -> Option<Timestamp> {
    Some(date?.to_zoned(tz.clone()).ok()?.timestamp())
}
