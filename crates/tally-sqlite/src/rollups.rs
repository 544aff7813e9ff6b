//! The performance rollups, kept in the transaction that stores what they sum.

use rusqlite::{Connection, params, params_from_iter};
use tally_app::ports::{ActionSums, ClickSums, RollupQuery};
use tally_app::rollup::ClickDayRow;
use tally_app::sql::{Rollup, rollup_sum};
use tally_core::money::Currency;

use crate::conversions::{from_minor, sql_params};
use crate::rows::{corrupt, id_to_sql};

/// Adds clicks to their days.
pub(crate) fn add_click_days(connection: &Connection, rows: &[ClickDayRow]) -> rusqlite::Result<()> {
    let mut upsert = connection.prepare_cached(
        "INSERT INTO click_day (program_id, day, owner_id, ad_id, device, shared_id, clicks, unique_clicks)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (program_id, day, owner_id, ad_id, device, shared_id) DO UPDATE SET
             clicks = click_day.clicks + excluded.clicks, unique_clicks = click_day.unique_clicks + excluded.unique_clicks",
    )?;
    for row in rows {
        upsert.execute(params![
            id_to_sql(row.program.0),
            row.day.to_string(),
            id_to_sql(row.owner.0),
            row.ad.map_or(-1, |ad| id_to_sql(ad.0)),
            row.device,
            row.shared_id,
            row.clicks as i64,
            row.unique_clicks as i64,
        ])?;
    }
    Ok(())
}

/// Adds a change of one stored action to its day: `actions` is +1 when it starts to
/// count (made, not reversed), -1 when it stops (reversed), and the amounts are deltas
/// in minor units. The key is read from the action's row, so every caller agrees on it.
pub(crate) fn add_action_delta(
    connection: &Connection,
    action_id: &str,
    actions: i64,
    sale_amount_minor: i64,
    payout_minor: i64,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO action_day (program_id, day, owner_id, ad_id, device, shared_id, event_type_id, currency,
                                     is_test, actions, sale_amount_minor, payout_minor)
             SELECT program_id, event_day, owner_id, coalesce(ad_id, -1), coalesce(device, ''), coalesce(shared_id, ''),
                    event_type_id, currency, is_test, ?2, ?3, ?4
             FROM action WHERE action_id = ?1
             ON CONFLICT (program_id, day, owner_id, ad_id, device, shared_id, event_type_id, currency, is_test)
             DO UPDATE SET actions = action_day.actions + excluded.actions,
                           sale_amount_minor = action_day.sale_amount_minor + excluded.sale_amount_minor,
                           payout_minor = action_day.payout_minor + excluded.payout_minor",
        )?
        .execute(params![action_id, actions, sale_amount_minor, payout_minor])?;
    Ok(())
}

/// Whether an action in `state` counts as one in reports.
pub(crate) fn counts(state: &str) -> i64 {
    i64::from(state != "REVERSED")
}

/// Sums a rollup (see `Store::click_sums` and `Store::action_sums`).
pub(crate) fn click_sums(connection: &Connection, query: &RollupQuery) -> rusqlite::Result<Vec<ClickSums>> {
    let (sql, values) = rollup_sum(Rollup::Clicks, query, &|n| format!("?{n}"));
    let width = query.by.len();
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(sql_params(values)), |row| {
        Ok(ClickSums {
            key: (0..width).map(|index| row.get(index)).collect::<rusqlite::Result<_>>()?,
            clicks: row.get::<_, i64>(width)? as u64,
            unique_clicks: row.get::<_, i64>(width + 1)? as u64,
        })
    })?;
    rows.collect()
}

pub(crate) fn action_sums(connection: &Connection, query: &RollupQuery) -> rusqlite::Result<Vec<ActionSums>> {
    let (sql, values) = rollup_sum(Rollup::Actions, query, &|n| format!("?{n}"));
    let width = query.by.len();
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(sql_params(values)), |row| {
        let code: String = row.get(width)?;
        let currency: Currency = code.parse().map_err(|_| corrupt(format!("unknown currency {code:?}")))?;
        Ok(ActionSums {
            key: (0..width).map(|index| row.get(index)).collect::<rusqlite::Result<_>>()?,
            currency,
            actions: row.get::<_, i64>(width + 1)? as u64,
            sale_amount: from_minor(row.get(width + 2)?, currency),
            payout: from_minor(row.get(width + 3)?, currency),
        })
    })?;
    rows.collect()
}
