//! A partner's pricing turn across nodes: a session advisory lock
//! (<https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS>),
//! held on a pooled connection until the turn ends.

use std::sync::Arc;

use deadpool_postgres::Object;
use tally_app::ports::{PartnerTurn, StoreError, StoreResult};
use tally_core::ids::{PartnerId, ProgramId};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::write::store_error;

/// A node's places for turns: at most half its pool's connections hold or wait for a
/// turn, so that the orders holding turns always find a connection to finish with.
#[derive(Clone)]
pub(crate) struct TurnPlaces(Arc<Semaphore>);

impl TurnPlaces {
    pub(crate) fn new(pool_size: usize) -> Self {
        TurnPlaces(Arc::new(Semaphore::new((pool_size / 2).max(1))))
    }

    /// Waits for a place; take the connection only after it.
    pub(crate) async fn place(&self) -> StoreResult<OwnedSemaphorePermit> {
        self.0.clone().acquire_owned().await.map_err(|_| StoreError::Unavailable("the store is closing".into()))
    }
}

/// Waits for the lock of `(program, partner)`, then holds it until the turn is dropped.
///
/// The wait runs in a task of its own, which owns the connection: a caller that goes
/// away while waiting (a client hanging up) leaves no lock request behind on a pooled
/// connection. The task finishes acquiring, and the turn nobody took unlocks at once.
pub(crate) async fn take(
    place: OwnedSemaphorePermit,
    client: Object,
    program: ProgramId,
    partner: PartnerId,
) -> StoreResult<PartnerTurn> {
    let keys = (fold(program.0), fold(partner.0));
    let waiting = tokio::spawn(async move {
        match client.execute("SELECT pg_advisory_lock($1, $2)", &[&keys.0, &keys.1]).await {
            Ok(_) => Ok(Held { held: Some((client, place)), keys }),
            Err(error) => {
                drop(Object::take(client));
                Err(store_error(error))
            }
        }
    });
    let held =
        waiting.await.map_err(|error| StoreError::Unavailable(format!("waiting for a partner's turn: {error}")))?;
    Ok(PartnerTurn::holding(held?))
}

/// An id folded into the 32 bits of one key of the two-key lock form (which never
/// conflicts with the one-key form that migrations use). Two ids folding alike only
/// wait for each other.
fn fold(id: u64) -> i32 {
    (id ^ (id >> 32)) as u32 as i32
}

struct Held {
    /// The connection holding the lock, and the node's place it takes.
    held: Option<(Object, OwnedSemaphorePermit)>,
    keys: (i32, i32),
}

impl Drop for Held {
    /// Unlocks before the connection goes back to the pool. A connection that cannot
    /// unlock is closed instead, which ends its session and with it every lock it held:
    /// a pooled connection must never carry a lock to its next user.
    fn drop(&mut self) {
        let Some((client, place)) = self.held.take() else { return };
        let (program, partner) = self.keys;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            drop(Object::take(client));
            return;
        };
        runtime.spawn(async move {
            let unlocked = client.query_one("SELECT pg_advisory_unlock($1, $2)", &[&program, &partner]).await;
            if !unlocked.is_ok_and(|row| row.get::<_, bool>(0)) {
                drop(Object::take(client));
            }
            drop(place);
        });
    }
}
