//! Failed dashboard logins, counted per login name in the store, so that every node
//! throttles a name alike: after [`MAX_FAILURES`] within [`WINDOW`], that name may not
//! try again until enough of them leave the window. This stops guessing one user's
//! password, on one node or spread over many, at the price of letting a stranger hold
//! that user out for a while, which the right password then waits out too. Names are
//! kept as keyed hashes, and failures older than the window are deleted as new ones
//! come, so the table stays small.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::ports::{Store, StoreResult};
use crate::secrets::Keyed;

/// Failures allowed within the window.
pub const MAX_FAILURES: usize = 5;
/// How far back failures count.
pub const WINDOW: SignedDuration = SignedDuration::from_mins(15);

/// The failed logins of every name, in the store.
#[derive(Clone)]
pub struct LoginThrottle {
    store: Arc<dyn Store>,
    keyed: Keyed,
}

impl LoginThrottle {
    /// Counts in `store`, names hashed with `keyed`.
    pub fn new(store: Arc<dyn Store>, keyed: Keyed) -> Self {
        LoginThrottle { store, keyed }
    }

    /// `Some(wait)` when `name` has failed too often lately to try now.
    pub async fn wait(&self, name: &str, now: Timestamp) -> StoreResult<Option<SignedDuration>> {
        // A failure counts for exactly WINDOW: at its end it no longer does.
        let since = now - WINDOW + SignedDuration::from_micros(1);
        let recent = self.store.login_failures(&self.keyed.login_name_key(name), since).await?;
        Ok(wait_for(&recent, now))
    }

    /// Counts a failure of `name`.
    pub async fn failed(&self, name: &str, now: Timestamp) -> StoreResult<()> {
        self.store.record_login_failure(&self.keyed.login_name_key(name), now, now - WINDOW).await
    }

    /// Forgets `name`'s failures after a successful login.
    pub async fn succeeded(&self, name: &str) -> StoreResult<()> {
        self.store.clear_login_failures(&self.keyed.login_name_key(name)).await
    }
}

/// How long a name whose failures within the window are `recent` (oldest first) must
/// wait: until it is back under the limit. Nodes failing the same name at once may
/// have recorded more than the limit; then more than the oldest must leave.
fn wait_for(recent: &[Timestamp], now: Timestamp) -> Option<SignedDuration> {
    let over = recent.len().checked_sub(MAX_FAILURES)?;
    let leaves_at = recent[over] + WINDOW;
    Some(leaves_at.duration_since(now).max(SignedDuration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn five_failures_hold_a_name_until_the_oldest_leaves_the_window() {
        let failures: Vec<Timestamp> = (0..5).map(at).collect();
        assert_eq!(wait_for(&failures[..4], at(5)), None, "four are allowed");
        assert_eq!(wait_for(&failures, at(5)), Some(SignedDuration::from_mins(10)));
    }

    #[test]
    fn with_more_than_the_limit_the_name_waits_until_it_is_back_under_it() {
        // Two nodes each counted a failure at minutes 3 and 4.
        let failures = [at(0), at(1), at(2), at(3), at(3), at(4), at(4)];
        assert_eq!(wait_for(&failures, at(5)), Some(SignedDuration::from_mins(12)));
    }
}
