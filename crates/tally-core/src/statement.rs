//! Partner statements (SPEC §8): which statement an approved action goes on, when a
//! statement is due under the partner's withdrawal setting, and the state detail an
//! action shows. Pure: dates in, dates out; the caller gives "today" in the program's
//! time zone.
//!
//! - The actions that lock in a month go on that month's statement, dated the first
//!   day of the next month, one per partner, currency and payment date.
//! - The payment date comes from the terms' payment schedule, "N months and D days
//!   after the end of the month they lock" ([`crate::lifecycle::payment_date`]); terms
//!   without one are paid on the statement date.
//! - A partner may choose *(documented)* a balance threshold (from 20 to 10,000 in the
//!   program's currency) or a fixed day of the month (the 1st or the 15th):
//!   - under a threshold, statements wait ("held") until the unpaid balance of the
//!     partner's statements, oldest first, reaches it; then all of them fall due on the
//!     payment date of the statement that reached it;
//!   - under a fixed day, a statement falls due on the first such day on or after its
//!     payment date.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use crate::lifecycle::{payment_date, statement_date};
use crate::program::MonthsAndDays;

/// The smallest and largest balance threshold a partner may choose *(documented)*.
pub const THRESHOLD_RANGE: (Decimal, Decimal) =
    (Decimal::from_parts(20, 0, 0, false, 0), Decimal::from_parts(10_000, 0, 0, false, 0));

/// When a partner wants to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Withdrawal {
    /// On each statement's payment date (the default).
    #[default]
    Schedule,
    /// Once the unpaid balance reaches this amount.
    Threshold(Decimal),
    /// On this day of the month (1 or 15), on or after the payment date.
    FixedDay(u8),
}

/// A withdrawal setting that Tally refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawalError {
    /// The threshold is outside the documented range.
    #[error("a balance threshold is from 20 to 10000, not {0}")]
    Threshold(Decimal),
    /// The day is not the 1st or the 15th.
    #[error("a fixed payment day is 1 or 15, not {0}")]
    Day(u32),
}

impl Withdrawal {
    /// A threshold, checked.
    pub fn threshold(amount: Decimal) -> Result<Self, WithdrawalError> {
        let (low, high) = THRESHOLD_RANGE;
        if amount < low || amount > high {
            return Err(WithdrawalError::Threshold(amount));
        }
        Ok(Withdrawal::Threshold(amount.normalize()))
    }

    /// A fixed day, checked.
    pub fn fixed_day(day: u32) -> Result<Self, WithdrawalError> {
        match day {
            1 | 15 => Ok(Withdrawal::FixedDay(day as u8)),
            other => Err(WithdrawalError::Day(other)),
        }
    }
}

/// The statement an action locked at `locked_at` goes on: its date, and the payment
/// date under the terms' schedule (the statement date when there is none).
pub fn statement_dates(locked_at: Timestamp, time_zone: &TimeZone, payment: Option<MonthsAndDays>) -> (Date, Date) {
    let dated = statement_date(locked_at, time_zone);
    let scheduled = payment.map_or(dated, |rule| payment_date(locked_at, time_zone, rule));
    (dated, scheduled)
}

/// The first instant of the month that holds `now`, in the program's time zone:
/// actions locked before it are on closed months and can go on a statement.
pub fn current_month_start(now: Timestamp, time_zone: &TimeZone) -> Timestamp {
    let first = now.to_zoned(time_zone.clone()).date().first_of_month();
    first.to_zoned(time_zone.clone()).map(|start| start.timestamp()).unwrap_or(now)
}

/// One of a partner's statements, as the due-date rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementBalance {
    /// The payment date from the terms.
    pub scheduled_on: Date,
    /// What it pays.
    pub total: Decimal,
    /// Whether it was marked paid.
    pub paid: bool,
}

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementStatus {
    /// Waiting for the partner's balance to reach its threshold.
    Held,
    /// Due on this day, not yet reached.
    Open(Date),
    /// Due on this day, which has passed unpaid.
    Overdue(Date),
    /// Paid.
    Paid,
}

impl StatementStatus {
    /// The status's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementStatus::Held => "HELD",
            StatementStatus::Open(_) => "OPEN",
            StatementStatus::Overdue(_) => "OVERDUE",
            StatementStatus::Paid => "PAID",
        }
    }

    /// The due date, once there is one.
    pub fn due_on(self) -> Option<Date> {
        match self {
            StatementStatus::Open(day) | StatementStatus::Overdue(day) => Some(day),
            StatementStatus::Held | StatementStatus::Paid => None,
        }
    }
}

/// The status of each of one partner's statements, given oldest first, under its
/// withdrawal setting, on `today`.
pub fn statuses(statements: &[StatementBalance], withdrawal: Withdrawal, today: Date) -> Vec<StatementStatus> {
    let due = |day: Date| if day < today { StatementStatus::Overdue(day) } else { StatementStatus::Open(day) };
    match withdrawal {
        Withdrawal::Schedule => {
            statements.iter().map(|s| if s.paid { StatementStatus::Paid } else { due(s.scheduled_on) }).collect()
        }
        Withdrawal::FixedDay(day) => statements
            .iter()
            .map(|s| if s.paid { StatementStatus::Paid } else { due(next_day_of_month(s.scheduled_on, day)) })
            .collect(),
        Withdrawal::Threshold(threshold) => {
            let mut result = vec![StatementStatus::Held; statements.len()];
            let (mut balance, mut waiting) = (Decimal::ZERO, Vec::new());
            for (index, statement) in statements.iter().enumerate() {
                if statement.paid {
                    result[index] = StatementStatus::Paid;
                    continue;
                }
                balance += statement.total;
                waiting.push(index);
                if balance >= threshold {
                    for held in waiting.drain(..) {
                        result[held] = due(statement.scheduled_on);
                    }
                    balance = Decimal::ZERO;
                }
            }
            result
        }
    }
}

/// The first `day` of a month on or after `from`.
fn next_day_of_month(from: Date, day: u8) -> Date {
    let this_month = from.first_of_month().with().day(day as i8).build().unwrap_or(from);
    if this_month >= from {
        return this_month;
    }
    let next = from.last_of_month().tomorrow().unwrap_or(from);
    next.with().day(day as i8).build().unwrap_or(next)
}

/// The state detail an action shows *(documented names)*: `OPEN` while it may still
/// change, `PAYMENT_PENDING` once approved until its statement is paid, then `PAID`,
/// or `OVERDUE` when its statement's due date passed unpaid. A reversed action has none.
pub fn state_detail(state: &str, statement: Option<StatementStatus>) -> Option<&'static str> {
    match (state, statement) {
        ("PENDING", _) => Some("OPEN"),
        ("APPROVED", Some(StatementStatus::Paid)) => Some("PAID"),
        ("APPROVED", Some(StatementStatus::Overdue(_))) => Some("OVERDUE"),
        ("APPROVED", _) => Some("PAYMENT_PENDING"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn balance(scheduled_on: Date, total: i64, paid: bool) -> StatementBalance {
        StatementBalance { scheduled_on, total: Decimal::new(total, 0), paid }
    }

    #[test]
    fn the_documented_example_puts_januarys_actions_on_the_first_of_march_paid_the_twentieth() {
        let locked = date(2027, 2, 28).to_zoned(TimeZone::UTC).unwrap().timestamp();
        let rule = MonthsAndDays { months: 0, days: 20 };
        assert_eq!(statement_dates(locked, &TimeZone::UTC, Some(rule)), (date(2027, 3, 1), date(2027, 3, 20)));
        assert_eq!(statement_dates(locked, &TimeZone::UTC, None), (date(2027, 3, 1), date(2027, 3, 1)));
    }

    #[test]
    fn the_current_month_starts_at_local_midnight() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let now: Timestamp = "2026-03-01T03:00:00Z".parse().unwrap();
        assert_eq!(
            current_month_start(now, &tz),
            "2026-02-01T05:00:00Z".parse().unwrap(),
            "still February in New York"
        );
    }

    #[test]
    fn a_threshold_holds_statements_until_the_balance_reaches_it() {
        let statements = [
            balance(date(2026, 3, 20), 15, false),
            balance(date(2026, 4, 20), 10, false),
            balance(date(2026, 5, 20), 8, false),
        ];
        let statuses = statuses(&statements, Withdrawal::threshold(Decimal::new(20, 0)).unwrap(), date(2026, 4, 1));
        assert_eq!(
            statuses,
            [StatementStatus::Open(date(2026, 4, 20)), StatementStatus::Open(date(2026, 4, 20)), StatementStatus::Held]
        );
    }

    #[test]
    fn a_fixed_day_is_the_next_first_or_fifteenth_and_late_ones_are_overdue() {
        let statements = [
            balance(date(2026, 3, 20), 5, false),
            balance(date(2026, 4, 15), 5, false),
            balance(date(2026, 5, 2), 5, true),
        ];
        let on_first = statuses(&statements, Withdrawal::fixed_day(1).unwrap(), date(2026, 4, 5));
        assert_eq!(
            on_first,
            [
                StatementStatus::Overdue(date(2026, 4, 1)),
                StatementStatus::Open(date(2026, 5, 1)),
                StatementStatus::Paid
            ]
        );
        let on_fifteenth = statuses(&statements, Withdrawal::fixed_day(15).unwrap(), date(2026, 4, 5));
        assert_eq!(on_fifteenth[0], StatementStatus::Open(date(2026, 4, 15)));
        assert_eq!(on_fifteenth[1], StatementStatus::Open(date(2026, 4, 15)), "a payment date on the 15th stays");
        assert_eq!(next_day_of_month(date(2026, 12, 20), 1), date(2027, 1, 1), "across the year end");
    }

    #[test]
    fn withdrawal_settings_are_checked() {
        assert!(Withdrawal::threshold(Decimal::new(1999, 2)).is_err());
        assert!(Withdrawal::threshold(Decimal::new(10_001, 0)).is_err());
        assert_eq!(Withdrawal::threshold(Decimal::new(2000, 2)), Ok(Withdrawal::Threshold(Decimal::new(20, 0))));
        assert!(Withdrawal::fixed_day(2).is_err());
        assert_eq!(Withdrawal::fixed_day(15), Ok(Withdrawal::FixedDay(15)));
    }

    #[test]
    fn state_details_follow_the_action_and_its_statement() {
        assert_eq!(state_detail("PENDING", None), Some("OPEN"));
        assert_eq!(state_detail("APPROVED", None), Some("PAYMENT_PENDING"));
        assert_eq!(state_detail("APPROVED", Some(StatementStatus::Held)), Some("PAYMENT_PENDING"));
        assert_eq!(state_detail("APPROVED", Some(StatementStatus::Overdue(date(2026, 1, 1)))), Some("OVERDUE"));
        assert_eq!(state_detail("APPROVED", Some(StatementStatus::Paid)), Some("PAID"));
        assert_eq!(state_detail("REVERSED", None), None);
    }
}
