//! Click floods (SPEC §11): more clicks from one address on one program than a person
//! makes in a short time. They are flagged, not dropped, like crawlers' clicks.
//!
//! Each address is counted in a sliding window, estimated from the count of the
//! current window and of the one before it, weighted by how much of the previous one
//! still overlaps (the usual rate-limiter approximation): a steady flood stays flagged
//! across window boundaries instead of being let through afresh each minute.
//!
//! The counts live in a fixed table, so memory is the same for ten addresses as for
//! ten million. An address that misses its slot takes an empty or expired one, else
//! the one with the fewest clicks: a flood keeps its slot while passing addresses
//! evict each other.

/// The rate beyond which clicks are flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodLimit {
    /// The most clicks one address may make on one program within `window_ms`
    /// without being flagged; 0 turns the check off.
    pub max_clicks: u32,
    /// The window, in milliseconds (at least 1).
    pub window_ms: u64,
}

impl Default for FloodLimit {
    /// 30 clicks a minute: far above a shopper comparing a few offers, far below a
    /// script.
    fn default() -> Self {
        FloodLimit { max_clicks: 30, window_ms: 60_000 }
    }
}

const WAYS: usize = 4;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u64,
    /// Start of the current window; 0 marks an empty slot.
    window_start_ms: u64,
    current: u32,
    previous: u32,
}

/// Recent clicks per (program, address) key.
#[derive(Debug, Clone)]
pub struct FloodWatch {
    limit: FloodLimit,
    buckets: Vec<[Slot; WAYS]>,
}

impl FloodWatch {
    /// A table of about `capacity` keys (rounded up to a power of two, at least 64).
    pub fn new(limit: FloodLimit, capacity: usize) -> FloodWatch {
        let buckets = (capacity / WAYS).max(16).next_power_of_two();
        let limit = FloodLimit { window_ms: limit.window_ms.max(1), ..limit };
        FloodWatch { limit, buckets: vec![[Slot::default(); WAYS]; buckets] }
    }

    /// Counts one click of `key` (a hash of the program and the address, uniform over
    /// u64) at `now_ms`, and says whether it is beyond the limit.
    pub fn observe(&mut self, key: u64, now_ms: u64) -> bool {
        let FloodLimit { max_clicks, window_ms } = self.limit;
        if max_clicks == 0 {
            return false;
        }
        // 0 marks an empty slot; a clock at the epoch is not worth a special case.
        let now_ms = now_ms.max(1);
        let mask = self.buckets.len() - 1;
        let bucket = &mut self.buckets[(key as usize) & mask];
        let slot = match bucket.iter().position(|slot| slot.window_start_ms != 0 && slot.key == key) {
            Some(index) => &mut bucket[index],
            None => {
                let victim = bucket
                    .iter_mut()
                    .min_by_key(
                        |slot| if expired(slot, now_ms, window_ms) { 0 } else { slot.current.max(slot.previous) + 1 },
                    )
                    .expect("a bucket has slots");
                *victim = Slot { key, window_start_ms: now_ms, current: 0, previous: 0 };
                victim
            }
        };
        slide(slot, now_ms, window_ms);
        slot.current = slot.current.saturating_add(1);
        // The previous window's share that still overlaps the last `window_ms`.
        let elapsed = now_ms.saturating_sub(slot.window_start_ms).min(window_ms);
        let overlap = u64::from(slot.previous) * (window_ms - elapsed) / window_ms;
        overlap + u64::from(slot.current) > u64::from(max_clicks)
    }
}

/// Empty, or nothing counted in the last two windows.
fn expired(slot: &Slot, now_ms: u64, window_ms: u64) -> bool {
    slot.window_start_ms == 0 || now_ms.saturating_sub(slot.window_start_ms) >= 2 * window_ms
}

/// Moves the slot's window forward to the one holding `now_ms`.
fn slide(slot: &mut Slot, now_ms: u64, window_ms: u64) {
    let since = now_ms.saturating_sub(slot.window_start_ms);
    if since < window_ms {
        return;
    }
    let windows = since / window_ms;
    slot.previous = if windows == 1 { slot.current } else { 0 };
    slot.current = 0;
    slot.window_start_ms += windows * window_ms;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    fn watch(max_clicks: u32) -> FloodWatch {
        FloodWatch::new(FloodLimit { max_clicks, window_ms: MINUTE }, 1024)
    }

    #[test]
    fn clicks_beyond_the_limit_within_the_window_are_flagged() {
        let mut watch = watch(3);
        let flags: Vec<bool> = (0..5).map(|i| watch.observe(7, 1_000 + i * 1_000)).collect();
        assert_eq!(flags, [false, false, false, true, true]);
        // Another address, or the same address on another program (another key), is
        // counted apart.
        assert!(!watch.observe(8, 5_000));
    }

    #[test]
    fn a_slow_clicker_is_never_flagged() {
        let mut watch = watch(3);
        // One click every 25 s: at most three in any minute.
        assert!((0..100).all(|i| !watch.observe(7, 1 + i * 25_000)));
    }

    #[test]
    fn a_steady_flood_stays_flagged_across_windows() {
        let mut watch = watch(30);
        // Two clicks a second for five minutes: 120 a minute.
        let flagged: Vec<bool> = (0..600).map(|i| watch.observe(7, 1 + i * 500)).collect();
        assert!(!flagged[..30].iter().any(|&flag| flag), "the first 30 are within the limit");
        assert!(flagged[30..].iter().all(|&flag| flag), "then every click, past each window's start too");
    }

    #[test]
    fn an_address_is_forgiven_once_it_slows_down() {
        let mut watch = watch(3);
        for i in 0..10 {
            watch.observe(7, 1 + i * 100);
        }
        assert!(watch.observe(7, 2_000));
        // Two windows later nothing of the burst is left.
        assert!(!watch.observe(7, 2 * MINUTE + 2_000));
    }

    #[test]
    fn a_limit_of_zero_flags_nothing() {
        let mut watch = watch(0);
        assert!((0..100).all(|i| !watch.observe(7, 1 + i)));
    }

    #[test]
    fn passing_addresses_do_not_evict_a_flood() {
        // One bucket of four ways: every key lands in it.
        let mut watch = FloodWatch::new(FloodLimit { max_clicks: 5, window_ms: MINUTE }, 1);
        let flood = 16 * 1000; // a multiple of the bucket count: bucket 0
        for i in 0..10 {
            watch.observe(flood, 1 + i);
        }
        for (n, passing) in (1..200u64).map(|n| n * 16).enumerate() {
            watch.observe(passing, 20 + n as u64);
        }
        assert!(watch.observe(flood, 500), "the flood kept its slot");
    }

    #[test]
    fn memory_is_fixed_by_the_capacity() {
        let mut watch = FloodWatch::new(FloodLimit::default(), 4096);
        let before = watch.buckets.len();
        for key in 0..100_000u64 {
            watch.observe(key.wrapping_mul(0x9E37_79B9_7F4A_7C15), 1 + key);
        }
        assert_eq!(watch.buckets.len(), before);
        assert_eq!(before, 1024);
    }
}
