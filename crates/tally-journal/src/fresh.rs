//! Clicks just made durable, handed from the writer to the reader in memory, so that
//! the loader does not read back and decode what was written a moment ago (reading and
//! decoding was about a twentieth of a redirect's CPU). The journal on disk stays the
//! truth: what memory does not hold, because the store fell behind and the oldest were
//! dropped, or after a restart, the reader reads from the segments.

use std::collections::VecDeque;
use std::sync::Mutex;

use tally_core::click::Click;

/// The most clicks kept in memory for the loader, shared out among the lanes: about
/// 20 MB, several seconds of clicks at full speed, while the loader takes them every
/// 50 ms.
pub(crate) const MAX_FRESH_CLICKS: usize = 32_768;

struct Batch {
    first_seq: u64,
    clicks: VecDeque<Click>,
}

/// The durable clicks not yet taken by the reader, in sequence order, contiguous.
pub(crate) struct Fresh {
    batches: Mutex<(VecDeque<Batch>, usize)>,
    max_clicks: usize,
}

impl Fresh {
    /// Keeps at most `max_clicks` clicks.
    pub(crate) fn new(max_clicks: usize) -> Fresh {
        Fresh { batches: Mutex::default(), max_clicks }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (VecDeque<Batch>, usize)> {
        self.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps a batch the writer made durable, its first click numbered `first_seq`,
    /// dropping the oldest beyond the bound.
    pub(crate) fn push(&self, first_seq: u64, clicks: Vec<Click>) {
        let mut guard = self.lock();
        let (batches, count) = &mut *guard;
        *count += clicks.len();
        batches.push_back(Batch { first_seq, clicks: clicks.into() });
        while *count > self.max_clicks {
            let Some(oldest) = batches.pop_front() else { break };
            *count -= oldest.clicks.len();
        }
    }

    /// Takes the clicks numbered `from` on, at most `max` of them, when memory holds
    /// click `from`; `None` when it does not (the reader then reads the disk). Taken
    /// clicks leave memory: if the store refuses them, the reader asks again and finds
    /// them on disk.
    pub(crate) fn take(&self, from: u64, max: usize) -> Option<Vec<Click>> {
        let mut guard = self.lock();
        let (batches, count) = &mut *guard;
        // Batches wholly before `from` were loaded from disk meanwhile.
        while batches.front().is_some_and(|batch| batch.first_seq + (batch.clicks.len() as u64) <= from) {
            *count -= batches.pop_front().map_or(0, |batch| batch.clicks.len());
        }
        let front = batches.front_mut()?;
        if front.first_seq > from {
            return None;
        }
        let skip = (from - front.first_seq) as usize;
        front.clicks.drain(..skip);
        front.first_seq = from;
        *count -= skip;

        let mut taken = Vec::new();
        while taken.len() < max {
            let Some(front) = batches.front_mut() else { break };
            let wanted = (max - taken.len()).min(front.clicks.len());
            taken.extend(front.clicks.drain(..wanted));
            front.first_seq += wanted as u64;
            *count -= wanted;
            if front.clicks.is_empty() {
                batches.pop_front();
            }
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_app::conformance::sample_click;

    fn clicks(range: std::ops::Range<u64>) -> Vec<Click> {
        range.map(|n| sample_click(n, jiff::Timestamp::UNIX_EPOCH)).collect()
    }

    fn numbers(clicks: &[Click]) -> Vec<u64> {
        let all = self::clicks(0..100);
        clicks.iter().map(|click| all.iter().position(|known| known == click).unwrap() as u64).collect()
    }

    #[test]
    fn clicks_are_taken_in_order_across_batches_up_to_max() {
        let fresh = Fresh::new(MAX_FRESH_CLICKS);
        fresh.push(1, clicks(1..4));
        fresh.push(4, clicks(4..9));
        assert_eq!(numbers(&fresh.take(1, 5).unwrap()), [1, 2, 3, 4, 5]);
        assert_eq!(numbers(&fresh.take(6, 100).unwrap()), [6, 7, 8]);
        assert_eq!(fresh.take(9, 100), None, "nothing newer yet");
    }

    #[test]
    fn clicks_loaded_meanwhile_from_disk_are_skipped() {
        let fresh = Fresh::new(MAX_FRESH_CLICKS);
        fresh.push(1, clicks(1..4));
        fresh.push(4, clicks(4..9));
        assert_eq!(numbers(&fresh.take(5, 2).unwrap()), [5, 6]);
    }

    #[test]
    fn memory_that_no_longer_holds_the_next_click_sends_the_reader_to_disk() {
        let fresh = Fresh::new(MAX_FRESH_CLICKS);
        fresh.push(10, clicks(10..12));
        assert_eq!(fresh.take(7, 10), None, "clicks 7 to 9 are only on disk");
        // Taken clicks are gone: a retry after a refused load reads the disk.
        assert_eq!(numbers(&fresh.take(10, 10).unwrap()), [10, 11]);
        assert_eq!(fresh.take(10, 10), None);
    }

    #[test]
    fn the_oldest_are_dropped_beyond_the_bound() {
        let fresh = Fresh::new(MAX_FRESH_CLICKS);
        let batch = MAX_FRESH_CLICKS as u64 / 2;
        let one = || (0..batch).map(|n| sample_click(n % 100, jiff::Timestamp::UNIX_EPOCH)).collect::<Vec<_>>();
        fresh.push(1, one());
        fresh.push(1 + batch, one());
        fresh.push(1 + 2 * batch, one());
        assert_eq!(fresh.take(1, 1), None, "the first batch was dropped");
        assert_eq!(fresh.take(1 + batch, 1).map(|taken| taken.len()), Some(1));
        assert_eq!(fresh.lock().1, 2 * batch as usize - 1);
    }
}
