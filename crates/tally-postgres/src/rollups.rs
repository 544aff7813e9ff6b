//! The performance rollups, kept in the transaction that stores what they sum, as in
//! tally-sqlite. Rows come sorted by key, so nodes loading at once lock them in one
//! order and never deadlock.

use deadpool_postgres::Transaction;
use tally_app::ports::{ActionSums, ClickSums, StoreError, StoreResult};
use tally_app::rollup::ClickDayRow;
use tally_core::money::Currency;

use crate::conversions::from_minor;
use crate::rows::{column, id_to_sql};
use crate::write::store_error;

/// Adds clicks to their days, in one statement.
pub(crate) async fn add_click_days(transaction: &Transaction<'_>, rows: &[ClickDayRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let programs: Vec<i64> = rows.iter().map(|row| id_to_sql(row.program.0)).collect();
    let days: Vec<String> = rows.iter().map(|row| row.day.to_string()).collect();
    let owners: Vec<i64> = rows.iter().map(|row| id_to_sql(row.owner.0)).collect();
    let ads: Vec<i64> = rows.iter().map(|row| row.ad.map_or(-1, |ad| id_to_sql(ad.0))).collect();
    let devices: Vec<&str> = rows.iter().map(|row| row.device.as_str()).collect();
    let shared_ids: Vec<&str> = rows.iter().map(|row| row.shared_id.as_str()).collect();
    let clicks: Vec<i64> = rows.iter().map(|row| row.clicks as i64).collect();
    let unique: Vec<i64> = rows.iter().map(|row| row.unique_clicks as i64).collect();
    let upsert = transaction
        .prepare_cached(
            "INSERT INTO click_day (program_id, day, owner_id, ad_id, device, shared_id, clicks, unique_clicks)
             SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[],
                                  $7::BIGINT[], $8::BIGINT[])
             ON CONFLICT (program_id, day, owner_id, ad_id, device, shared_id) DO UPDATE SET
                 clicks = click_day.clicks + excluded.clicks,
                 unique_clicks = click_day.unique_clicks + excluded.unique_clicks",
        )
        .await
        .map_err(store_error)?;
    transaction
        .execute(&upsert, &[&programs, &days, &owners, &ads, &devices, &shared_ids, &clicks, &unique])
        .await
        .map_err(store_error)
        .map(drop)
}

/// Adds a change of one stored action to its day (see tally-sqlite's `add_action_delta`).
pub(crate) async fn add_action_delta(
    transaction: &Transaction<'_>,
    action_id: &str,
    actions: i64,
    sale_amount_minor: i64,
    payout_minor: i64,
) -> StoreResult<()> {
    let upsert = transaction
        .prepare_cached(
            "INSERT INTO action_day (program_id, day, owner_id, ad_id, device, shared_id, event_type_id, currency,
                                     is_test, actions, sale_amount_minor, payout_minor)
             SELECT program_id, event_day, owner_id, coalesce(ad_id, -1), coalesce(device, ''), coalesce(shared_id, ''),
                    event_type_id, currency, is_test, $2, $3, $4
             FROM action WHERE action_id = $1
             ON CONFLICT (program_id, day, owner_id, ad_id, device, shared_id, event_type_id, currency, is_test)
             DO UPDATE SET actions = action_day.actions + excluded.actions,
                           sale_amount_minor = action_day.sale_amount_minor + excluded.sale_amount_minor,
                           payout_minor = action_day.payout_minor + excluded.payout_minor",
        )
        .await
        .map_err(store_error)?;
    transaction
        .execute(&upsert, &[&action_id, &actions, &sale_amount_minor, &payout_minor])
        .await
        .map_err(store_error)
        .map(drop)
}

/// Whether an action in `state` counts as one in reports.
pub(crate) fn counts(state: &str) -> i64 {
    i64::from(state != "REVERSED")
}

/// Reads the key columns of a rollup sum row.
fn key(row: &tokio_postgres::Row, width: usize) -> StoreResult<Vec<String>> {
    (0..width).map(|index| column(row, index)).collect()
}

pub(crate) fn click_sums_row(row: &tokio_postgres::Row, width: usize) -> StoreResult<ClickSums> {
    Ok(ClickSums {
        key: key(row, width)?,
        clicks: column::<i64>(row, width)? as u64,
        unique_clicks: column::<i64>(row, width + 1)? as u64,
    })
}

pub(crate) fn action_sums_row(row: &tokio_postgres::Row, width: usize) -> StoreResult<ActionSums> {
    let code: &str = column(row, width)?;
    let currency: Currency = code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {code:?}")))?;
    Ok(ActionSums {
        key: key(row, width)?,
        currency,
        actions: column::<i64>(row, width + 1)? as u64,
        sale_amount: from_minor(column(row, width + 2)?, currency)?,
        payout: from_minor(column(row, width + 3)?, currency)?,
    })
}
