//! Conformance tests of action listings: both backends filter, order and page alike.

use std::sync::Arc;

use rust_decimal::Decimal;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};

use super::{account, at, sample_action, sample_submission};
use crate::ports::{ActionQuery, ActionRecord, ActionSortKey, Store, SubmissionRecord, TestActions, TimeRange};

pub(super) async fn store_action(store: &dyn Store, action: &ActionRecord) {
    let submission = SubmissionRecord {
        submission_id: format!("s-{}", action.action_id),
        action_id: Some(action.action_id.clone()),
        error_type: None,
        error_reason: None,
        ..sample_submission("unused")
    };
    store.record_conversion(&submission, Some(action), &[]).await.unwrap();
}

fn ids(actions: &[ActionRecord]) -> Vec<&str> {
    actions.iter().map(|action| action.action_id.as_str()).collect()
}

/// Ten actions of program 1 (one a test, one of partner 11, one reversed, one with
/// another promo code) and one of program 2: every filter narrows, the order is total,
/// and pages neither repeat nor skip.
pub async fn actions_are_listed_filtered_sorted_and_paged(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    for n in 0..10_i64 {
        let mut action = sample_action(&format!("a{n}"), &format!("O-{n}"), &format!("s-a{n}"));
        action.created_at = at(1_000 + n);
        action.event_at = at(500 + n);
        action.sale_amount = Decimal::new(100 * ((n * 7) % 10), 0);
        action.test = n == 9;
        if n == 3 {
            action.owner = PartnerId(11);
        }
        if n == 4 {
            action.state = "REVERSED".into();
        }
        if n == 5 {
            action.promo_code = Some("OTHER".into());
        }
        store_action(store.as_ref(), &action).await;
    }
    let foreign = ActionRecord { program: ProgramId(2), ..sample_action("b0", "O-0", "s-b0") };
    store_action(store.as_ref(), &foreign).await;

    let base = ActionQuery { programs: vec![ProgramId(1)], limit: 100, ..ActionQuery::default() };
    let all = store.list_actions(&base).await.unwrap();
    assert_eq!(ids(&all), ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"], "tests left out, oldest first");
    assert_eq!(all[0], {
        let mut first = sample_action("a0", "O-0", "s-a0");
        (first.created_at, first.event_at, first.sale_amount) = (at(1_000), at(500), Decimal::new(0, 0));
        first
    });
    assert_eq!(store.count_actions(&base).await.unwrap(), 9);

    let count = |query: ActionQuery| {
        let store = store.clone();
        async move { store.count_actions(&query).await.unwrap() }
    };
    assert_eq!(count(ActionQuery { test: TestActions::Include, ..base.clone() }).await, 10);
    assert_eq!(count(ActionQuery { test: TestActions::Only, ..base.clone() }).await, 1);
    assert_eq!(count(ActionQuery { owner: Some(PartnerId(11)), ..base.clone() }).await, 1);
    assert_eq!(count(ActionQuery { state: Some("REVERSED".into()), ..base.clone() }).await, 1);
    assert_eq!(count(ActionQuery { promo_code: Some("save10".into()), ..base.clone() }).await, 8);
    assert_eq!(count(ActionQuery { order_id: Some("O-2".into()), ..base.clone() }).await, 1);
    assert_eq!(count(ActionQuery { event_type: Some(EventTypeId(2)), ..base.clone() }).await, 0);
    let window = TimeRange { from: Some(at(502)), to: Some(at(504)) };
    assert_eq!(count(ActionQuery { event_at: window, ..base.clone() }).await, 3, "both ends inclusive");
    let created = TimeRange { from: Some(at(1_007)), to: None };
    assert_eq!(count(ActionQuery { created_at: created, ..base.clone() }).await, 2);
    assert_eq!(count(ActionQuery { programs: vec![ProgramId(1), ProgramId(2)], ..base.clone() }).await, 10);
    assert_eq!(count(ActionQuery { programs: Vec::new(), ..base.clone() }).await, 0);

    let by_amount = ActionQuery { sort: ActionSortKey::SaleAmount, descending: true, ..base.clone() };
    let sorted = store.list_actions(&by_amount).await.unwrap();
    let amounts: Vec<Decimal> = sorted.iter().map(|action| action.sale_amount).collect();
    assert!(amounts.windows(2).all(|pair| pair[0] >= pair[1]), "{amounts:?}");

    let newest = ActionQuery { descending: true, limit: 4, ..base.clone() };
    let mut paged = Vec::new();
    for page in 0..3 {
        let rows = store.list_actions(&ActionQuery { offset: page * 4, ..newest.clone() }).await.unwrap();
        paged.extend(rows.into_iter().map(|action| action.action_id));
    }
    assert_eq!(paged, ["a8", "a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"]);
}
