//! Conformance tests of action listings: both backends filter, order and page alike.

use std::sync::Arc;

use rust_decimal::Decimal;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};

use super::{account, at, sample_action, sample_submission};
use crate::ports::{
    ActionQuery, ActionRecord, ActionSortKey, ActionUpdateRecord, Store, SubmissionQuery, SubmissionRecord,
    TestActions, TimeRange, UpdateQuery,
};

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
            action.detail = r#"{"items":[{"sku":"Tent_100%"},{"sku":"pole"}]}"#.into();
        }
        store_action(store.as_ref(), &action).await;
    }
    let foreign = ActionRecord { program: ProgramId(2), ..sample_action("b0", "O-0", "s-b0") };
    store_action(store.as_ref(), &foreign).await;

    let wanted: Vec<String> = ["a7", "unknown", "b0", "a7", "a2"].map(String::from).into();
    let mut found = store.actions_by_id(&wanted).await.unwrap();
    found.sort_by(|a, b| a.action_id.cmp(&b.action_id));
    assert_eq!(ids(&found), ["a2", "a7", "b0"], "by id, any program, each once, unknown ids left out");
    assert_eq!(found[2], foreign);
    assert!(store.actions_by_id(&[]).await.unwrap().is_empty());

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
    let sku = |text: &str| ActionQuery { sku: Some(text.into()), ..base.clone() };
    assert_eq!(count(sku("tent_100%")).await, 1, "an item's SKU, ignoring case");
    assert_eq!(count(sku("Tent_1000")).await, 0, "LIKE's wildcards are matched literally");
    assert_eq!(count(sku("Tent")).await, 0, "the whole SKU");
    let window = TimeRange { from: Some(at(502)), to: Some(at(504)) };
    assert_eq!(count(ActionQuery { event_at: window, ..base.clone() }).await, 3, "both ends inclusive");
    let created = TimeRange { from: Some(at(1_007)), to: None };
    assert_eq!(count(ActionQuery { created_at: created, ..base.clone() }).await, 2);
    assert_eq!(count(ActionQuery { programs: vec![ProgramId(1), ProgramId(2)], ..base.clone() }).await, 10);
    assert_eq!(count(ActionQuery { programs: Vec::new(), ..base.clone() }).await, 0);

    let update = |id: &str, action: &str, to_state: &str| ActionUpdateRecord {
        update_id: id.into(),
        action_id: action.into(),
        program: ProgramId(1),
        at: at(5_000),
        actor: "TA1".into(),
        from_state: "PENDING".into(),
        to_state: to_state.into(),
        delta_amount: Decimal::ZERO,
        delta_payout: Decimal::ZERO,
        reason: "ORDER_UPDATE".into(),
    };
    store.import_action_updates(&[update("u1", "a1", "PENDING"), update("u2", "a2", "APPROVED")]).await.unwrap();
    let changed = ActionQuery { changed_at: TimeRange { from: Some(at(4_000)), to: None }, ..base.clone() };
    assert_eq!(ids(&store.list_actions(&changed).await.unwrap()), ["a1"], "modified then; an approval is no update");
    let made_or_changed = TimeRange { from: Some(at(1_008)), to: Some(at(6_000)) };
    assert_eq!(count(ActionQuery { changed_at: made_or_changed, ..base.clone() }).await, 2, "a1 changed, a8 made");

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

/// Submissions are listed per account, newest first, filtered by program, refusal,
/// code, kind, order and time; action updates per program, oldest first.
pub async fn submissions_and_updates_are_listed_filtered_and_paged(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    for n in 0..6_i64 {
        let mut submission = sample_submission(&format!("s{n}"));
        submission.received_at = at(100 + n);
        submission.order_id = Some(format!("O-{n}"));
        if n % 2 == 0 {
            (submission.error_type, submission.error_reason) = (None, None);
        }
        if n == 5 {
            submission.error_type = Some("CONV_DUPLICATE".into());
            submission.kind = "Reversal".into();
        }
        store.record_conversion(&submission, None, &[]).await.unwrap();
    }
    let other = SubmissionRecord { account_sid: "TA2".into(), ..sample_submission("x") };
    store.insert_account(&account("TA2")).await.unwrap();
    store.record_conversion(&other, None, &[]).await.unwrap();

    let base = SubmissionQuery { account_sid: "TA1".into(), limit: 100, ..SubmissionQuery::default() };
    let listed = store.list_submissions(&base).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|submission| submission.submission_id.as_str()).collect();
    assert_eq!(ids, ["s5", "s4", "s3", "s2", "s1", "s0"], "newest first, one account");
    let count = |query: SubmissionQuery| {
        let store = store.clone();
        async move { store.count_submissions(&query).await.unwrap() }
    };
    assert_eq!(count(base.clone()).await, 6);
    assert_eq!(count(SubmissionQuery { refused: Some(true), ..base.clone() }).await, 3);
    assert_eq!(count(SubmissionQuery { refused: Some(false), ..base.clone() }).await, 3);
    assert_eq!(count(SubmissionQuery { error_type: Some("UNCLAIMED".into()), ..base.clone() }).await, 2);
    assert_eq!(count(SubmissionQuery { kind: Some("Reversal".into()), ..base.clone() }).await, 1);
    assert_eq!(count(SubmissionQuery { order_id: Some("O-3".into()), ..base.clone() }).await, 1);
    assert_eq!(count(SubmissionQuery { program: Some(ProgramId(2)), ..base.clone() }).await, 0);
    let window = TimeRange { from: Some(at(101)), to: Some(at(102)) };
    assert_eq!(count(SubmissionQuery { received_at: window, ..base.clone() }).await, 2);
    let oldest = SubmissionQuery { ascending: true, offset: 1, limit: 2, ..base.clone() };
    let page: Vec<String> =
        store.list_submissions(&oldest).await.unwrap().into_iter().map(|submission| submission.submission_id).collect();
    assert_eq!(page, ["s1", "s2"]);

    let action = sample_action("a1", "O-9", "s-a1");
    store_action(store.as_ref(), &action).await;
    for (n, reason) in ["ITEM_RETURNED", "ORDER_UPDATE"].into_iter().enumerate() {
        let update = ActionUpdateRecord {
            update_id: format!("u{n}"),
            action_id: "a1".into(),
            program: ProgramId(1),
            at: at(200 + n as i64),
            actor: "TA1".into(),
            from_state: "PENDING".into(),
            to_state: "PENDING".into(),
            delta_amount: Decimal::new(-1, 0),
            delta_payout: Decimal::new(0, 0),
            reason: reason.into(),
        };
        store.import_action_updates(&[update]).await.unwrap();
    }
    let updates = UpdateQuery { programs: vec![ProgramId(1)], limit: 10, ..UpdateQuery::default() };
    let reasons: Vec<String> =
        store.list_action_updates(&updates).await.unwrap().into_iter().map(|update| update.reason).collect();
    assert_eq!(reasons, ["ITEM_RETURNED", "ORDER_UPDATE"]);
    let later = UpdateQuery { at: TimeRange { from: Some(at(201)), to: None }, ..updates.clone() };
    assert_eq!(store.count_action_updates(&later).await.unwrap(), 1);
    let elsewhere = UpdateQuery { programs: vec![ProgramId(2)], ..updates.clone() };
    assert_eq!(store.count_action_updates(&elsewhere).await.unwrap(), 0);
    let tests = UpdateQuery { test: TestActions::Only, ..updates.clone() };
    assert_eq!(store.count_action_updates(&tests).await.unwrap(), 0, "updates of test actions only when asked");

    // The state an update left its action in, and its action's event and locking times.
    let count = |query: UpdateQuery| {
        let store = store.clone();
        async move { store.count_action_updates(&query).await.unwrap() }
    };
    let in_state = |state: &str| UpdateQuery { state: Some(state.into()), ..updates.clone() };
    assert_eq!((count(in_state("PENDING")).await, count(in_state("APPROVED")).await), (2, 0));
    let event = |from: i64, to: i64| TimeRange { from: Some(at(from)), to: Some(at(to)) };
    let by_event = |range: TimeRange| UpdateQuery { event_at: range, ..updates.clone() };
    assert_eq!((count(by_event(event(80, 90))).await, count(by_event(event(91, 99))).await), (2, 0));
    let by_locking = |range: TimeRange| UpdateQuery { locking_at: range, ..updates.clone() };
    let locking = (count(by_locking(event(4_999_999, 5_000_000))).await, count(by_locking(event(1, 2))).await);
    assert_eq!(locking, (2, 0));
}
