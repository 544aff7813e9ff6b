//! The shared store: Tally's [`Store`](tally_app::ports::Store) on a PostgreSQL server,
//! so that several nodes can serve the same programs and load their click logs into one
//! place.
//!
//! Every write that must be atomic is one transaction that locks the rows it decides
//! on (`SELECT … FOR UPDATE` on the click log's checkpoint or the program), so nodes
//! writing at the same time load each click exactly once and never lose a program
//! revision; a batch of clicks is a single `INSERT … SELECT FROM unnest(…)`. Rows map
//! to records exactly as in `tally-sqlite`: ids and microsecond times are `BIGINT`.
//! Money is `BIGINT` minor units of the action's currency, and an order id is unique per
//! event type by a unique index, so nodes racing with one order cannot both credit it.
//! Connections come from a `deadpool-postgres` pool, over TLS as the URL's `sslmode`
//! asks (libpq's meanings, `tls.rs`).

mod connect;
mod conversions;
mod migrate;
mod rollups;
mod rows;
mod statements;
mod store;
mod tls;
mod turns;
mod write;

pub use connect::ConnectError;
pub use migrate::MigrateError;
pub use store::PostgresStore;
