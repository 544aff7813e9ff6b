//! Calendar period spans, in the time zones and on the days where they are easy to get
//! wrong: DST changes, leap years, year ends and ISO weeks that cross a year.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::*;

fn at(instant: &str) -> Timestamp {
    instant.parse().expect("RFC 3339 instant")
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("IANA time zone")
}

fn span(period: Period, instant: &str, time_zone: &str) -> (String, String) {
    let span = period.span(at(instant), &zone(time_zone));
    (span.start.to_string(), span.end.to_string())
}

fn expected(start: &str, end: &str) -> (String, String) {
    (start.to_owned(), end.to_owned())
}

fn hours(period: Period, instant: &str, time_zone: &str) -> i64 {
    let span = period.span(at(instant), &zone(time_zone));
    span.end.duration_since(span.start).as_hours()
}

#[test]
fn a_day_is_a_civil_day_in_the_time_zone_even_across_dst_changes() {
    let spring_forward = span(Period::Day, "2025-03-09T12:00:00Z", "America/New_York");
    assert_eq!(spring_forward, expected("2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z"));
    assert_eq!(hours(Period::Day, "2025-03-09T12:00:00Z", "America/New_York"), 23);
    assert_eq!(hours(Period::Day, "2025-11-02T12:00:00Z", "America/New_York"), 25);
    let late_evening = span(Period::Day, "2025-07-02T03:30:00Z", "America/New_York");
    assert_eq!(late_evening, expected("2025-07-01T04:00:00Z", "2025-07-02T04:00:00Z"), "still July 1st in New York");
}

#[test]
fn a_day_whose_midnight_a_dst_gap_skips_starts_at_its_first_instant() {
    // In Santiago clocks went from 00:00 to 01:00 on 2024-09-08.
    let gap = span(Period::Day, "2024-09-08T15:00:00Z", "America/Santiago");
    assert_eq!(gap, expected("2024-09-08T04:00:00Z", "2024-09-09T03:00:00Z"));
}

#[test]
fn a_week_runs_monday_to_monday_and_may_cross_a_year() {
    let new_years_eve = span(Period::Week, "2025-12-31T12:00:00Z", "UTC");
    assert_eq!(new_years_eve, expected("2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z"));
    assert_eq!(span(Period::Week, "2026-01-04T23:59:59Z", "UTC"), new_years_eve, "Sunday ends the week");
    let monday = span(Period::Week, "2026-01-05T00:00:00Z", "UTC");
    assert_eq!(monday, expected("2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"));
    assert_eq!(hours(Period::Week, "2025-03-07T12:00:00Z", "America/New_York"), 7 * 24 - 1, "the week of a DST change");
}

#[test]
fn a_month_follows_the_calendar_including_leap_february() {
    let leap_february = span(Period::Month, "2024-02-29T23:00:00Z", "UTC");
    assert_eq!(leap_february, expected("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"));
    let ordinary_february = span(Period::Month, "2025-02-14T00:00:00Z", "UTC");
    assert_eq!(ordinary_february, expected("2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"));
    let still_leap_day = span(Period::Month, "2024-03-01T03:00:00Z", "America/New_York");
    assert_eq!(still_leap_day, expected("2024-02-01T05:00:00Z", "2024-03-01T05:00:00Z"));
    let march_with_dst = span(Period::Month, "2025-03-20T00:00:00Z", "America/New_York");
    assert_eq!(march_with_dst, expected("2025-03-01T05:00:00Z", "2025-04-01T04:00:00Z"));
}

#[test]
fn a_quarter_is_three_calendar_months() {
    assert_eq!(
        span(Period::Quarter, "2025-05-15T00:00:00Z", "UTC"),
        expected("2025-04-01T00:00:00Z", "2025-07-01T00:00:00Z")
    );
    assert_eq!(
        span(Period::Quarter, "2025-01-01T00:00:00Z", "UTC"),
        expected("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z")
    );
    assert_eq!(
        span(Period::Quarter, "2025-12-31T23:59:59Z", "UTC"),
        expected("2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z")
    );
}

#[test]
fn a_year_ends_at_midnight_of_new_year_in_the_time_zone() {
    let new_years_eve_in_new_york = span(Period::Year, "2026-01-01T04:30:00Z", "America/New_York");
    assert_eq!(new_years_eve_in_new_york, expected("2025-01-01T05:00:00Z", "2026-01-01T05:00:00Z"));
    let new_year_in_utc = span(Period::Year, "2026-01-01T04:30:00Z", "UTC");
    assert_eq!(new_year_in_utc, expected("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"));
    assert_eq!(hours(Period::Year, "2024-06-01T00:00:00Z", "UTC"), 366 * 24, "a leap year");
}

#[test]
fn a_span_contains_its_start_but_not_its_end() {
    let day = Period::Day.span(at("2025-06-01T12:00:00Z"), &TimeZone::UTC);
    assert!(day.contains(day.start));
    assert!(day.contains(day.end - SignedDuration::from_nanos(1)));
    assert!(!day.contains(day.end));
}
