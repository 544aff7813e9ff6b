//! Rate limits for the management APIs (SPEC §11): each caller may make so many
//! requests per window, and is told how many are left and when the window turns
//! (`X-RateLimit-*`). Windows are fixed, aligned to multiples of their length, so every
//! caller's window turns at the same moment and the answer is simple to state.

use std::collections::HashMap;

/// How many requests a caller may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per window; 0 turns the limit off.
    pub requests: u32,
    /// The window, in milliseconds (at least 1).
    pub window_ms: u64,
}

impl Default for RateLimit {
    /// 600 a minute: ten a second for a script paging through a listing.
    fn default() -> Self {
        RateLimit { requests: 600, window_ms: 60_000 }
    }
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// The limit per window.
    pub limit: u32,
    /// Requests left in this window after this one.
    pub remaining: u32,
    /// Milliseconds until the window turns.
    pub reset_ms: u64,
}

/// Requests per caller key in the current window. Memory is bounded: callers from
/// earlier windows are forgotten first, and past `max_callers` in one window the
/// counts start over (a flood of distinct keys must not grow the table).
#[derive(Debug, Clone)]
pub struct RateWindows {
    limit: RateLimit,
    max_callers: usize,
    counts: HashMap<u64, (u64, u32)>,
}

impl RateWindows {
    /// Counts against `limit`, for at most `max_callers` callers at once.
    pub fn new(limit: RateLimit, max_callers: usize) -> RateWindows {
        let limit = RateLimit { window_ms: limit.window_ms.max(1), ..limit };
        RateWindows { limit, max_callers: max_callers.max(1), counts: HashMap::new() }
    }

    /// Whether the limit is on.
    pub fn is_on(&self) -> bool {
        self.limit.requests > 0
    }

    /// Counts a request of the caller `key` at `now_ms`, if it is allowed.
    pub fn take(&mut self, key: u64, now_ms: u64) -> Allowance {
        let RateLimit { requests, window_ms } = self.limit;
        let start = now_ms - now_ms % window_ms;
        let reset_ms = start + window_ms - now_ms;
        if requests == 0 {
            return Allowance { allowed: true, limit: 0, remaining: 0, reset_ms };
        }
        if self.counts.len() >= self.max_callers && !self.counts.contains_key(&key) {
            self.counts.retain(|_, (window, _)| *window == start);
            if self.counts.len() >= self.max_callers {
                self.counts.clear();
            }
        }
        let (window, count) = self.counts.entry(key).or_insert((start, 0));
        if *window != start {
            (*window, *count) = (start, 0);
        }
        let allowed = *count < requests;
        if allowed {
            *count += 1;
        }
        Allowance { allowed, limit: requests, remaining: requests - *count, reset_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(requests: u32) -> RateWindows {
        RateWindows::new(RateLimit { requests, window_ms: 60_000 }, 100)
    }

    #[test]
    fn a_caller_gets_its_requests_then_waits_for_the_window_to_turn() {
        let mut windows = windows(3);
        let answers: Vec<(bool, u32)> =
            (0..4).map(|i| windows.take(7, 120_000 + i * 1_000)).map(|a| (a.allowed, a.remaining)).collect();
        assert_eq!(answers, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        assert_eq!(windows.take(7, 150_000).reset_ms, 30_000, "the window turns at the next whole minute");
        assert!(windows.take(8, 150_000).allowed, "another caller counts apart");
        let next = windows.take(7, 180_000);
        assert_eq!((next.allowed, next.remaining, next.reset_ms), (true, 2, 60_000));
    }

    #[test]
    fn a_limit_of_zero_allows_everything() {
        let mut windows = windows(0);
        assert!(!windows.is_on());
        assert!((0..1000).all(|i| windows.take(7, i).allowed));
    }

    #[test]
    fn memory_is_bounded_by_the_callers_kept() {
        let mut windows = windows(5);
        for key in 0..10_000 {
            windows.take(key, 1_000);
        }
        assert!(windows.counts.len() <= 100);
        for key in 0..100 {
            windows.take(key, 2_000);
        }
        windows.take(100_000, 61_000);
        assert_eq!(windows.counts.len(), 1, "callers of an earlier window are forgotten first");
    }
}
