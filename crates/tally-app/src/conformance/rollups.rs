//! Conformance tests of the performance rollups: whatever happens to clicks and
//! actions, the rollups equal a recount of the raw rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::{Date, date};
use rust_decimal::Decimal;
use tally_core::click::Click;
use tally_core::ids::{EventTypeId, ProgramId};

use super::listing::store_action;
use super::{account, at, batch, sample_action, sample_click};
use crate::ports::{
    ActionChange, ActionRecord, ActionSums, ActionUpdateRecord, ClickBatch, ClickSums, ReportDimension, RollupQuery,
    Store, TestActions,
};
use crate::rollup::utc_day;

const EVERY_DIMENSION: [ReportDimension; 5] = [
    ReportDimension::Day,
    ReportDimension::Partner,
    ReportDimension::Ad,
    ReportDimension::Device,
    ReportDimension::SharedId,
];

fn query() -> RollupQuery {
    RollupQuery {
        program: ProgramId(1),
        from: date(2025, 1, 1),
        to: date(2027, 12, 31),
        by: EVERY_DIMENSION.to_vec(),
        owner: None,
        event_type: None,
        test: TestActions::Include,
    }
}

fn click_key(click: &Click, day: Date) -> Vec<String> {
    vec![
        day.to_string(),
        click.owner.0.to_string(),
        click.ad.map_or("-1".to_owned(), |ad| ad.0.to_string()),
        click.device.as_str().to_owned(),
        click.shared_id.clone().unwrap_or_default(),
    ]
}

fn action_key(action: &ActionRecord) -> Vec<String> {
    vec![
        action.event_day.to_string(),
        action.owner.0.to_string(),
        action.ad.map_or("-1".to_owned(), |ad| ad.0.to_string()),
        action.device.clone().unwrap_or_default(),
        action.shared_id.clone().unwrap_or_default(),
    ]
}

fn sorted_clicks(mut rows: Vec<ClickSums>) -> Vec<ClickSums> {
    rows.retain(|row| row.clicks > 0);
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows
}

fn sorted_actions(mut rows: Vec<ActionSums>) -> Vec<ActionSums> {
    rows.retain(|row| row.actions > 0 || !row.sale_amount.is_zero() || !row.payout.is_zero());
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows
}

/// Clicks loaded (twice, as a re-delivered batch is), imported, with local days and
/// without; actions made, reversed, modified and imported: the rollups equal a recount
/// of the raw rows, crawlers' clicks, click floods and reversed actions left out.
pub async fn rollups_equal_a_recount_of_the_raw_rows(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let clicks: Vec<Click> = (0..40).map(|n| sample_click(n, at(n as i64 * 3_600))).collect();
    let local = |click: &Click| utc_day(click.at).yesterday().unwrap();
    let days: Vec<Date> = clicks[..20].iter().map(local).collect();
    store.append_clicks(ClickBatch { days: days.clone(), ..batch(1, clicks[..20].to_vec()) }).await.unwrap();
    store.append_clicks(ClickBatch { days, ..batch(1, clicks[..20].to_vec()) }).await.unwrap();
    store.append_clicks(batch(21, clicks[20..30].to_vec())).await.unwrap();
    let imported_days = clicks[30..].iter().map(local).collect();
    store.import_clicks(clicks[30..].to_vec(), imported_days).await.unwrap();

    let mut expected: BTreeMap<Vec<String>, (u64, u64)> = BTreeMap::new();
    for (index, click) in clicks.iter().enumerate().filter(|(_, click)| !click.bot && !click.flood) {
        let day = if (20..30).contains(&index) { utc_day(click.at) } else { local(click) };
        let sum = expected.entry(click_key(click, day)).or_default();
        sum.0 += 1;
        sum.1 += u64::from(click.unique);
    }
    let expected: Vec<ClickSums> =
        expected.into_iter().map(|(key, (clicks, unique_clicks))| ClickSums { key, clicks, unique_clicks }).collect();
    assert_eq!(sorted_clicks(store.click_sums(&query()).await.unwrap()), expected);

    let mut actions = Vec::new();
    for n in 0..8_i64 {
        let mut action = sample_action(&format!("a{n}"), &format!("O-{n}"), &format!("s-a{n}"));
        action.event_day = date(2026, 1, 1 + (n % 3) as i8);
        action.test = n == 7;
        action.device = (n % 2 == 0).then(|| "mobile".to_owned());
        action.ad = (n % 3 != 0).then_some(tally_core::ids::AdId(7));
        action.statement_id = None;
        store_action(store.as_ref(), &action).await;
        actions.push(action);
    }
    let change = |action: &ActionRecord, id: &str, state: &str, sale: i64, payout: i64| ActionChange {
        expected_state: "PENDING".into(),
        new_state: state.into(),
        sale_amount: Decimal::new(sale, 0),
        payout: Decimal::new(payout, 0),
        unlocked_at: at(0),
        detail: None,
        update: ActionUpdateRecord {
            update_id: id.into(),
            action_id: action.action_id.clone(),
            program: ProgramId(1),
            at: at(0),
            actor: "TA1".into(),
            from_state: "PENDING".into(),
            to_state: state.into(),
            delta_amount: Decimal::new(sale, 0) - action.sale_amount,
            delta_payout: Decimal::new(payout, 0) - action.payout,
            reason: "ORDER_UPDATE".into(),
        },
    };
    assert!(store.change_action(&change(&actions[1], "u1", "REVERSED", 0, 0)).await.unwrap());
    assert!(store.change_action(&change(&actions[2], "u2", "PENDING", 5_000, -500)).await.unwrap());
    let imported = ActionRecord { event_type: EventTypeId(2), ..actions[3].clone() };
    let imported = ActionRecord { action_id: "imported".into(), ..imported };
    store.import_conversions(&[], std::slice::from_ref(&imported)).await.unwrap();

    let mut raw = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.actions_after(&after, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.action_id.clone();
        raw.extend(page);
    }
    assert_eq!(raw.len(), 9);
    let mut expected: BTreeMap<Vec<String>, (u64, Decimal, Decimal)> = BTreeMap::new();
    for action in &raw {
        let mut key = action_key(action);
        key.push(action.currency.code().to_owned());
        let sum = expected.entry(key).or_insert((0, Decimal::ZERO, Decimal::ZERO));
        sum.0 += u64::from(action.state != "REVERSED");
        sum.1 += action.sale_amount;
        sum.2 += action.payout;
    }
    let expected: Vec<ActionSums> = expected
        .into_iter()
        .map(|(mut key, (actions, sale_amount, payout))| {
            let currency = key.pop().unwrap().parse().unwrap();
            ActionSums { key, currency, actions, sale_amount, payout }
        })
        .collect();
    let summed = sorted_actions(store.action_sums(&query()).await.unwrap());
    assert_eq!(summed, expected);

    let real = RollupQuery { by: Vec::new(), test: TestActions::Exclude, ..query() };
    let totals = store.action_sums(&real).await.unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].actions, 7, "8 made, 1 reversed, 1 test, 1 imported");
    let one_partner = RollupQuery { by: vec![ReportDimension::Partner], owner: Some(clicks[0].owner), ..query() };
    let partners = store.click_sums(&one_partner).await.unwrap();
    assert!(partners.iter().all(|row| row.key == [clicks[0].owner.0.to_string()]), "{partners:?}");
    let nothing = RollupQuery { from: date(2030, 1, 1), to: date(2030, 1, 2), by: Vec::new(), ..query() };
    assert_eq!(store.click_sums(&nothing).await.unwrap(), [ClickSums { key: Vec::new(), clicks: 0, unique_clicks: 0 }]);
}
