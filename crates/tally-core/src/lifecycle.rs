//! When actions lock and when they are paid (SPEC §8): "N months and D days after the
//! end of the month", counted in the program's time zone.
//!
//! One rule counts from the end of a month: **day D after the end of month M is the
//! last day of month M + N, plus D days.** A deadline and a payment read it the same
//! way, as the documented example shows (locked 0 months and 27 days after the end of
//! the month, paid 0 months and 20 days after the end of the month they lock):
//!
//! - *Locking* is a deadline: an action may change until the end of day 27 after the
//!   end of its month, and is locked from the first instant after. January's actions
//!   may change until the end of 27 February (31 January + 27 days), and lock at the
//!   start of **28 February** in the program's time zone.
//! - The *statement* of the actions that lock in a month is dated the first day of the
//!   next month: those locking in February are on the statement of **1 March**.
//! - *Payment* is a day: day 20 after the end of the month they lock, 28 February + 20
//!   days = **20 March** (in a leap year 29 February + 20 days, 20 March again).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};

use crate::program::MonthsAndDays;

/// The last day of the month `months` after the month of `date`.
fn month_end_after(date: Date, months: u32) -> Date {
    let first = date.first_of_month();
    let later = first.checked_add(i64::from(months).months()).unwrap_or(first);
    later.last_of_month()
}

/// Day D after the end of the month of `date`, N months on.
pub fn day_after_month_end(date: Date, rule: MonthsAndDays) -> Date {
    let end = month_end_after(date, rule.months);
    end.checked_add(Span::new().days(i64::from(rule.days))).unwrap_or(end)
}

/// The first instant at which an action of an event at `event_at` is locked.
pub fn locking_instant(event_at: Timestamp, time_zone: &TimeZone, rule: MonthsAndDays) -> Timestamp {
    let event_day = event_at.to_zoned(time_zone.clone()).date();
    let last_day = day_after_month_end(event_day, rule);
    let first_locked_day = last_day.tomorrow().unwrap_or(last_day);
    first_locked_day.to_zoned(time_zone.clone()).map(|start| start.timestamp()).unwrap_or(event_at)
}

/// The date of the statement that holds the actions locked at `locked_at`.
pub fn statement_date(locked_at: Timestamp, time_zone: &TimeZone) -> Date {
    let lock_day = locked_at.to_zoned(time_zone.clone()).date();
    lock_day.last_of_month().tomorrow().unwrap_or(lock_day)
}

/// The day the actions locked at `locked_at` are paid.
pub fn payment_date(locked_at: Timestamp, time_zone: &TimeZone, rule: MonthsAndDays) -> Date {
    day_after_month_end(locked_at.to_zoned(time_zone.clone()).date(), rule)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    const LOCK_27: MonthsAndDays = MonthsAndDays { months: 0, days: 27 };
    const PAY_20: MonthsAndDays = MonthsAndDays { months: 0, days: 20 };

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_documented_example_in_a_common_and_a_leap_year() {
        for year in [2026, 2028] {
            let event = date(year, 1, 15).to_zoned(utc()).unwrap().timestamp();
            let locked = locking_instant(event, &utc(), LOCK_27);
            assert_eq!(locked, date(year, 2, 28).to_zoned(utc()).unwrap().timestamp(), "{year}");
            assert_eq!(statement_date(locked, &utc()), date(year, 3, 1), "{year}");
            assert_eq!(payment_date(locked, &utc(), PAY_20), date(year, 3, 20), "{year}");
        }
    }

    #[test]
    fn every_day_of_a_month_locks_on_the_same_instant() {
        let first = locking_instant(at("2026-03-01T00:00:00Z"), &utc(), LOCK_27);
        let last = locking_instant(at("2026-03-31T23:59:59Z"), &utc(), LOCK_27);
        assert_eq!(first, last);
        assert_eq!(first, at("2026-04-28T00:00:00Z"), "31 March + 27 days = 27 April, locked from the 28th");
    }

    #[test]
    fn months_are_added_to_the_month_end_then_days() {
        let rule = MonthsAndDays { months: 1, days: 0 };
        assert_eq!(day_after_month_end(date(2026, 1, 10), rule), date(2026, 2, 28));
        assert_eq!(day_after_month_end(date(2028, 1, 10), rule), date(2028, 2, 29));
        assert_eq!(day_after_month_end(date(2026, 2, 10), rule), date(2026, 3, 31));
        let rule = MonthsAndDays { months: 2, days: 5 };
        assert_eq!(day_after_month_end(date(2026, 12, 1), rule), date(2027, 3, 5));
        let zero = MonthsAndDays { months: 0, days: 0 };
        assert_eq!(locking_instant(at("2026-02-10T12:00:00Z"), &utc(), zero), at("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn the_month_and_the_lock_are_those_of_the_programs_time_zone() {
        let new_york = TimeZone::get("America/New_York").unwrap();
        // 31 January 23:30 in New York is already 1 February in UTC: still January's.
        let event = at("2026-02-01T04:30:00Z");
        let locked = locking_instant(event, &new_york, LOCK_27);
        assert_eq!(locked, at("2026-02-28T05:00:00Z"), "midnight of 28 February in New York (UTC-5)");
        assert_eq!(locking_instant(event, &utc(), LOCK_27), at("2026-03-28T00:00:00Z"), "February's in UTC");
        // Across a daylight-saving change the lock is still local midnight.
        let march = locking_instant(at("2026-02-15T12:00:00Z"), &new_york, MonthsAndDays { months: 0, days: 10 });
        assert_eq!(march, at("2026-03-11T04:00:00Z"), "11 March 00:00 EDT (UTC-4), after the 8 March change");
        assert_eq!(statement_date(locked, &new_york), date(2026, 3, 1));
    }
}
