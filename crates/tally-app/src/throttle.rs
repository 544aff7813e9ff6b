//! Failed dashboard logins, counted per login name on this node: after
//! [`MAX_FAILURES`] within [`WINDOW`], that name may not try again until the oldest
//! failure leaves the window. This stops guessing one user's password at the price of
//! letting a stranger hold that user out for a while, which the right password then
//! waits out too. Memory is bounded: at most [`MAX_NAMES`] names are tracked, the
//! longest-quiet forgotten first.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Failures allowed within the window.
pub const MAX_FAILURES: usize = 5;
/// How far back failures count.
pub const WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// The most login names tracked at once.
const MAX_NAMES: usize = 10_000;

/// The failures of each login name.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Timestamp>>> {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Some(wait)` when `name` has failed too often lately to try now.
    pub fn wait(&self, name: &str, now: Timestamp) -> Option<SignedDuration> {
        let mut failures = self.lock();
        let recent = failures.get_mut(name)?;
        recent.retain(|at| now.duration_since(*at) < WINDOW);
        if recent.len() < MAX_FAILURES {
            return None;
        }
        recent.first().map(|oldest| WINDOW - now.duration_since(*oldest))
    }

    /// Counts a failure of `name`.
    pub fn failed(&self, name: &str, now: Timestamp) {
        let mut failures = self.lock();
        if failures.len() >= MAX_NAMES && !failures.contains_key(name) {
            let quietest = failures.iter().min_by_key(|(_, times)| times.last().copied()).map(|(key, _)| key.clone());
            if let Some(quietest) = quietest {
                failures.remove(&quietest);
            }
        }
        failures.entry(name.to_owned()).or_default().push(now);
    }

    /// Forgets `name`'s failures after a successful login.
    pub fn succeeded(&self, name: &str) {
        self.lock().remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn five_failures_hold_a_name_until_the_oldest_leaves_the_window() {
        let throttle = LoginThrottle::default();
        for minute in 0..5 {
            assert_eq!(throttle.wait("maria", at(minute)), None);
            throttle.failed("maria", at(minute));
        }
        assert_eq!(throttle.wait("maria", at(5)), Some(SignedDuration::from_mins(10)));
        assert_eq!(throttle.wait("other", at(5)), None, "per name");
        assert_eq!(throttle.wait("maria", at(15)), None, "the first failure has left the window");
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let throttle = LoginThrottle::default();
        for minute in 0..4 {
            throttle.failed("maria", at(minute));
        }
        throttle.succeeded("maria");
        throttle.failed("maria", at(4));
        assert_eq!(throttle.wait("maria", at(4)), None);
    }
}
