//! The locking job (SPEC §8): pending actions whose locking instant has passed become
//! approved. It runs on every node, but only the node holding the `locking` lease in
//! the store works, so a job is never run twice at once and keeps running when a node
//! stops; a restarted or late node catches up, since due means "at or before now".

use std::sync::Arc;
use std::time::Duration;

use crate::ports::{Clock, Store, StoreResult};

/// Actions approved per transaction: short transactions, flat memory.
const BATCH: u32 = 10_000;

/// Takes or renews the lease `name` for `holder` for `lease` from `now`; returns whether
/// `holder` holds it, so only one node runs a job at a time.
pub(crate) async fn hold_lease(
    store: &dyn Store,
    name: &str,
    holder: &str,
    now: jiff::Timestamp,
    lease: Duration,
) -> StoreResult<bool> {
    let until = now + jiff::SignedDuration::try_from(lease).unwrap_or(jiff::SignedDuration::from_secs(180));
    store.acquire_lease(name, holder, now, until).await
}

/// The job, for one node.
#[derive(Clone)]
pub struct LockingJob {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    holder: String,
    lease: Duration,
}

impl LockingJob {
    /// A job run by `holder` (a name unique to the node) every `interval`; its lease
    /// lasts three intervals, so a node that stops hands over within that time.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, holder: String, interval: Duration) -> Self {
        LockingJob { store, clock, holder, lease: interval * 3 }
    }

    /// Runs once: `None` when another node holds the lease, else how many actions
    /// were approved.
    pub async fn run_once(&self) -> StoreResult<Option<u64>> {
        let now = self.clock.now();
        if !hold_lease(self.store.as_ref(), "locking", &self.holder, now, self.lease).await? {
            return Ok(None);
        }
        let mut approved = 0;
        loop {
            let batch = self.store.approve_due(now, BATCH).await?;
            approved += batch;
            if batch < u64::from(BATCH) {
                return Ok(Some(approved));
            }
        }
    }
}
