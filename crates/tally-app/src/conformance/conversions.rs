//! Conformance tests of conversions, actions, identity links and idempotency records.

use std::sync::Arc;

use rust_decimal::Decimal;
use tally_core::click::OwnerKind;
use tally_core::ids::{AdId, EventTypeId, PartnerId, ProgramId, VisitorId};

use super::{account, at, batch, sample_click};
use crate::ports::{
    ActionChange, ActionRecord, ActionUpdateRecord, ForgetCustomer, ForgetReport, IdempotencyRecord,
    IdentityLinkRecord, Store, StoreError, SubmissionRecord,
};

/// A refused submission with every optional field set.
pub fn sample_submission(id: &str) -> SubmissionRecord {
    SubmissionRecord {
        submission_id: id.into(),
        account_sid: "TA1".into(),
        program: Some(ProgramId(1)),
        kind: "Conversion".into(),
        channel: "s2s".into(),
        status: "Complete".into(),
        payload: "CampaignId=1&OrderId=O%201 é".into(),
        content_type: "application/x-www-form-urlencoded".into(),
        received_at: at(100),
        error_type: Some("UNCLAIMED".into()),
        error_reason: Some("only non-preferred sources took part".into()),
        action_id: None,
        order_id: Some("O-1".into()),
        event_type: Some(EventTypeId(1)),
        detail: Some(r#"{"journey":[],"identity":[]}"#.into()),
        customer_id: Some("C-1".into()),
        customer_email_hmac: Some("e".repeat(64)),
    }
}

/// An action with every optional field set.
pub fn sample_action(id: &str, order_id: &str, submission_id: &str) -> ActionRecord {
    ActionRecord {
        action_id: id.into(),
        program: ProgramId(1),
        event_type: EventTypeId(1),
        order_id: order_id.into(),
        event_at: at(90),
        created_at: at(100),
        state: "PENDING".into(),
        owner: PartnerId(10),
        owner_kind: OwnerKind::Partner,
        rule: "LAST_CLICK".into(),
        ad: Some(AdId(7)),
        click_id: Some("clk".into()),
        referring_at: Some(at(10)),
        referring_type: "CLICK".into(),
        currency: "JPY".parse().unwrap(),
        sale_amount: Decimal::new(12_345, 0),
        payout: Decimal::new(-1_234, 0),
        promo_code: Some("SAVE10".into()),
        customer_id: Some("C-1".into()),
        customer_email_hmac: Some("e".repeat(64)),
        customer_status: Some("New".into()),
        shared_id: Some("shared".into()),
        sub_ids: [Some("a".into()), None, Some("c".into())],
        submission_id: submission_id.into(),
        test: false,
        detail: r#"{"items":[]}"#.into(),
        locking_at: Some(at(5_000_000)),
        statement_id: Some("st-1".into()),
        event_day: jiff::civil::date(2026, 1, 1),
        device: Some("mobile".into()),
    }
}

fn usd_action(id: &str, order_id: &str, submission_id: &str) -> ActionRecord {
    ActionRecord {
        currency: "USD".parse().unwrap(),
        sale_amount: Decimal::new(10_050, 2),
        payout: Decimal::new(1_005, 2),
        owner_kind: OwnerKind::MediaSource,
        ad: None,
        click_id: None,
        referring_at: None,
        locking_at: None,
        test: true,
        ..sample_action(id, order_id, submission_id)
    }
}

fn accepted(id: &str, action_id: &str) -> SubmissionRecord {
    SubmissionRecord {
        action_id: Some(action_id.into()),
        error_type: None,
        error_reason: None,
        detail: None,
        ..sample_submission(id)
    }
}

/// A submission and its action are stored together and read back whole; a second
/// action for the same order and event type is a conflict that writes nothing.
pub async fn conversions_round_trip_and_orders_are_unique(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let refused = sample_submission("s1");
    store.record_conversion(&refused, None, &[]).await.unwrap();
    assert_eq!(store.submission("TA1", "s1").await.unwrap(), Some(refused));
    assert_eq!(store.submission("OTHER", "s1").await.unwrap(), None);

    let action = sample_action("a1", "O-1", "s2");
    store.record_conversion(&accepted("s2", "a1"), Some(&action), &[]).await.unwrap();
    assert_eq!(store.submission("TA1", "s2").await.unwrap(), Some(accepted("s2", "a1")));
    assert_eq!(store.action("a1").await.unwrap(), Some(action.clone()));
    assert_eq!(store.action_by_order(ProgramId(1), EventTypeId(1), "O-1").await.unwrap(), Some(action));
    assert_eq!(store.action_by_order(ProgramId(1), EventTypeId(2), "O-1").await.unwrap(), None);

    let duplicate = sample_action("a2", "O-1", "s3");
    let outcome = store.record_conversion(&accepted("s3", "a2"), Some(&duplicate), &[]).await;
    assert!(matches!(outcome, Err(StoreError::Conflict(_))), "{outcome:?}");
    assert_eq!(store.submission("TA1", "s3").await.unwrap(), None, "a refused transaction writes nothing");
    assert_eq!(store.action("a2").await.unwrap(), None);

    let other_event = ActionRecord { event_type: EventTypeId(2), ..usd_action("a3", "O-1", "s4") };
    store.record_conversion(&accepted("s4", "a3"), Some(&other_event), &[]).await.unwrap();
    assert_eq!(store.action("a3").await.unwrap(), Some(other_event));
}

/// Clicks are found by click id and by visitor, within the time range.
pub async fn clicks_are_found_by_click_id_and_visitor(store: Arc<dyn Store>) {
    let mut clicks: Vec<_> = (0..6).map(|n| sample_click(n, at(n as i64 * 10))).collect();
    let shared_visitor = VisitorId::generate(77, 77);
    for click in &mut clicks[..4] {
        click.visitor = shared_visitor.clone();
    }
    clicks[3].click_id = clicks[2].click_id.clone();
    clicks[5].program = ProgramId(2);
    store.append_clicks(batch(1, clicks.clone())).await.unwrap();

    let journey = store.clicks_by_click_id(ProgramId(1), clicks[2].click_id.as_str()).await.unwrap();
    assert_eq!(journey, clicks[2..4]);
    assert!(store.clicks_by_click_id(ProgramId(2), clicks[2].click_id.as_str()).await.unwrap().is_empty());
    assert!(store.clicks_by_click_id(ProgramId(1), "unknown").await.unwrap().is_empty());

    let visitors = [shared_visitor, clicks[4].visitor.clone(), clicks[5].visitor.clone()];
    let found = store.clicks_of_visitors(ProgramId(1), &visitors, at(10), at(40), 100).await.unwrap();
    assert_eq!(found, clicks[1..4], "from `since` inclusive to `until` exclusive, this program only");
    let limited = store.clicks_of_visitors(ProgramId(1), &visitors, at(0), at(100), 2).await.unwrap();
    assert_eq!(limited, clicks[0..2], "the earliest, across the visitors");
    let named_twice = [visitors[1].clone(), visitors[0].clone(), visitors[0].clone()];
    let once = store.clicks_of_visitors(ProgramId(1), &named_twice, at(0), at(100), 100).await.unwrap();
    assert_eq!(once, clicks[0..5], "in time order, each click once");
    assert!(store.clicks_of_visitors(ProgramId(1), &[], at(0), at(100), 10).await.unwrap().is_empty());
}

fn link(program: u64, key: &str, other: &str, seconds: i64) -> IdentityLinkRecord {
    IdentityLinkRecord {
        program: ProgramId(program),
        key: key.into(),
        other: other.into(),
        source: "identify".into(),
        at: at(seconds),
    }
}

/// A conversion's links are written with it, and not at all when it is refused.
pub async fn a_conversions_identity_links_commit_with_it(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let links = [link(1, "visitor:a", "customer:c", 1), link(1, "customer:c", "visitor:a", 1)];
    store.record_conversion(&accepted("s1", "a1"), Some(&sample_action("a1", "O-1", "s1")), &links).await.unwrap();
    assert_eq!(store.identity_links(ProgramId(1), &["visitor:a".into()], 10).await.unwrap(), links[..1]);
    let other = [link(1, "visitor:b", "customer:d", 2)];
    let (submission, action) = (accepted("s2", "a2"), sample_action("a2", "O-1", "s2"));
    let duplicate = store.record_conversion(&submission, Some(&action), &other).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))));
    assert!(store.identity_links(ProgramId(1), &["visitor:b".into()], 10).await.unwrap().is_empty());
    store.record_conversion(&sample_submission("s3"), None, &links).await.unwrap();
    assert_eq!(store.all_identity_links().await.unwrap().len(), 2, "links already known are kept once");
}

/// Forgetting a customer removes its links and personal fields, keeps the money, and
/// leaves other customers alone.
pub async fn a_forgotten_customer_leaves_money_but_no_trace(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let links = [link(1, "customer:C-1", "visitor:a", 1), link(1, "visitor:a", "customer:C-1", 1)];
    let action = sample_action("a1", "O-1", "s1");
    store.record_conversion(&accepted("s1", "a1"), Some(&action), &links).await.unwrap();
    let other =
        SubmissionRecord { customer_id: Some("C-2".into()), customer_email_hmac: None, ..sample_submission("s2") };
    store.record_conversion(&other, None, &[link(1, "customer:C-2", "visitor:b", 2)]).await.unwrap();
    let forget = ForgetCustomer {
        program: ProgramId(1),
        keys: vec!["customer:C-1".into()],
        customer_id: Some("C-1".into()),
        customer_email_hmac: None,
        payload_note: "removed".into(),
    };
    let report = store.forget_customer(&forget).await.unwrap();
    assert_eq!(report, ForgetReport { identity_links: 2, actions: 1, submissions: 1 });
    let kept = store.action("a1").await.unwrap().unwrap();
    assert_eq!((kept.customer_id, kept.customer_email_hmac), (None, None));
    assert_eq!((kept.sale_amount, kept.payout), (action.sale_amount, action.payout), "the money stays");
    let submission = store.submission("TA1", "s1").await.unwrap().unwrap();
    assert_eq!((submission.payload.as_str(), submission.customer_id), ("removed", None));
    assert_eq!(store.all_identity_links().await.unwrap(), [link(1, "customer:C-2", "visitor:b", 2)]);
    assert_eq!(store.submission("TA1", "s2").await.unwrap().unwrap(), other, "another customer is untouched");
    let by_email = ForgetCustomer { customer_id: None, customer_email_hmac: Some("e".repeat(64)), ..forget };
    assert_eq!(store.forget_customer(&by_email).await.unwrap(), ForgetReport::default(), "already forgotten");
}

/// Due pending actions are approved once each, with an update that says why; actions
/// not yet due, without a locking rule, or not pending are left alone.
pub async fn due_actions_are_approved_once_with_an_update(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let due = |id: &str, order: &str, locking: Option<i64>| ActionRecord {
        locking_at: locking.map(at),
        ..sample_action(id, order, &format!("s-{id}"))
    };
    let actions =
        [due("a1", "O-1", Some(10)), due("a2", "O-2", Some(20)), due("a3", "O-3", Some(99)), due("a4", "O-4", None)];
    for action in &actions {
        store
            .record_conversion(&accepted(&format!("s-{}", action.action_id), &action.action_id), Some(action), &[])
            .await
            .unwrap();
    }
    assert_eq!(store.approve_due(at(20), 1).await.unwrap(), 1, "the limit holds");
    assert_eq!(store.approve_due(at(20), 10).await.unwrap(), 1);
    assert_eq!(store.approve_due(at(20), 10).await.unwrap(), 0, "never twice");
    let states: Vec<String> = states_of(&store, &["a1", "a2", "a3", "a4"]).await;
    assert_eq!(states, ["APPROVED", "APPROVED", "PENDING", "PENDING"]);
    let updates = store.action_updates("a1").await.unwrap();
    assert_eq!(updates.len(), 1);
    let update = &updates[0];
    assert_eq!((update.actor.as_str(), update.reason.as_str()), ("scheduler", "LOCKING_DATE"));
    assert_eq!((update.from_state.as_str(), update.to_state.as_str()), ("PENDING", "APPROVED"));
    assert_eq!((update.at, update.delta_payout), (at(20), Decimal::ZERO));
    assert!(store.action_updates("a3").await.unwrap().is_empty());
    let listed = store.action_updates_after("", 10).await.unwrap();
    assert_eq!(listed.len(), 2);
}

async fn states_of(store: &Arc<dyn Store>, ids: &[&str]) -> Vec<String> {
    let mut states = Vec::new();
    for id in ids {
        states.push(store.action(id).await.unwrap().unwrap().state);
    }
    states
}

/// A change applies once, to an action still in the expected state and not locked, with
/// its update; amounts are kept exactly.
pub async fn an_action_changes_only_from_its_expected_state_before_it_locks(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let action = ActionRecord { locking_at: Some(at(100)), ..usd_action("a1", "O-1", "s1") };
    store.record_conversion(&accepted("s1", "a1"), Some(&action), &[]).await.unwrap();
    let update = ActionUpdateRecord {
        update_id: "u1".into(),
        action_id: "a1".into(),
        program: ProgramId(1),
        at: at(50),
        actor: "TA1".into(),
        from_state: "PENDING".into(),
        to_state: "REVERSED".into(),
        delta_amount: -action.sale_amount,
        delta_payout: -action.payout,
        reason: "ITEM_RETURNED".into(),
    };
    let reverse = ActionChange {
        expected_state: "PENDING".into(),
        new_state: "REVERSED".into(),
        sale_amount: Decimal::ZERO,
        payout: Decimal::ZERO,
        unlocked_at: at(50),
        detail: Some(r#"{"items":[],"reversed":true}"#.into()),
        update: update.clone(),
    };
    let locked = ActionChange {
        unlocked_at: at(100),
        update: ActionUpdateRecord { update_id: "u0".into(), ..update.clone() },
        ..reverse.clone()
    };
    assert!(!store.change_action(&locked).await.unwrap(), "locked at 100");
    assert!(store.change_action(&reverse).await.unwrap());
    let again =
        ActionChange { update: ActionUpdateRecord { update_id: "u2".into(), ..update.clone() }, ..reverse.clone() };
    assert!(!store.change_action(&again).await.unwrap(), "no longer pending");
    let missing = ActionChange { update: ActionUpdateRecord { action_id: "none".into(), ..update.clone() }, ..reverse };
    assert!(!store.change_action(&missing).await.unwrap());
    let stored = store.action("a1").await.unwrap().unwrap();
    assert_eq!((stored.state.as_str(), stored.sale_amount, stored.payout), ("REVERSED", Decimal::ZERO, Decimal::ZERO));
    assert_eq!(stored.detail, r#"{"items":[],"reversed":true}"#);
    assert_eq!(store.action_updates("a1").await.unwrap(), [update]);
    assert_eq!(store.count_action_changes("a1").await.unwrap(), 1);
    assert_eq!(store.count_action_changes("none").await.unwrap(), 0);
}

/// A lease is held by one holder until it expires, and renewed by its holder.
pub async fn a_lease_has_one_holder_until_it_expires(store: Arc<dyn Store>) {
    assert!(store.acquire_lease("locking", "node-a", at(0), at(60)).await.unwrap());
    assert!(!store.acquire_lease("locking", "node-b", at(30), at(90)).await.unwrap());
    assert!(store.acquire_lease("locking", "node-a", at(50), at(110)).await.unwrap(), "renewed");
    assert!(!store.acquire_lease("locking", "node-b", at(100), at(160)).await.unwrap());
    assert!(store.acquire_lease("locking", "node-b", at(110), at(170)).await.unwrap(), "expired, taken over");
    assert!(store.acquire_lease("other", "node-a", at(110), at(170)).await.unwrap(), "leases are per name");
}

/// Identity links are kept once, the first one seen wins, and are found by key.
pub async fn identity_links_are_kept_once_per_pair(store: Arc<dyn Store>) {
    let both_ways = [link(1, "visitor:a", "customer:c", 1), link(1, "customer:c", "visitor:a", 1)];
    store.link_identities(&both_ways).await.unwrap();
    store
        .link_identities(&[link(1, "visitor:a", "customer:c", 9), link(2, "visitor:a", "customer:z", 2)])
        .await
        .unwrap();
    store.link_identities(&[]).await.unwrap();
    let found = store.identity_links(ProgramId(1), &["visitor:a".into()], 10).await.unwrap();
    assert_eq!(found, [link(1, "visitor:a", "customer:c", 1)]);
    let found = store.identity_links(ProgramId(1), &["customer:c".into(), "nobody".into()], 10).await.unwrap();
    assert_eq!(found, [link(1, "customer:c", "visitor:a", 1)]);
    assert!(store.identity_links(ProgramId(1), &[], 10).await.unwrap().is_empty());
    assert_eq!(store.all_identity_links().await.unwrap().len(), 3);
}

/// A hub's links are capped per key, the oldest first, whatever order they came in.
pub async fn identity_links_are_capped_per_key_oldest_first(store: Arc<dyn Store>) {
    let hub: Vec<_> = (0..30).rev().map(|n| link(1, "customer:guest", &format!("visitor:{n:02}"), n)).collect();
    store.link_identities(&hub).await.unwrap();
    store.link_identities(&[link(1, "visitor:x", "customer:other", 5)]).await.unwrap();
    let keys = ["customer:guest".to_owned(), "visitor:x".to_owned()];
    let found = store.identity_links(ProgramId(1), &keys, 3).await.unwrap();
    let others: Vec<&str> = found.iter().map(|link| link.other.as_str()).collect();
    assert_eq!(others, ["visitor:00", "visitor:01", "visitor:02", "customer:other"]);
}

fn idempotency(key: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        account_sid: "TA1".into(),
        key: key.into(),
        fingerprint: "f".repeat(64),
        status: 201,
        response: r#"{"actionId":"a1"}"#.into(),
        created_at: at(5),
    }
}

/// The first answer under an idempotency key is kept; a racing second one gets it back.
pub async fn idempotency_keeps_the_first_answer(store: Arc<dyn Store>) {
    let first = idempotency("k-1");
    assert_eq!(store.idempotent_answer("TA1", "k-1").await.unwrap(), None);
    assert_eq!(store.save_idempotent_answer(&first).await.unwrap(), first);
    let second = IdempotencyRecord { status: 400, response: "{}".into(), ..first.clone() };
    assert_eq!(store.save_idempotent_answer(&second).await.unwrap(), first);
    assert_eq!(store.idempotent_answer("TA1", "k-1").await.unwrap(), Some(first.clone()));
    assert_eq!(store.idempotent_answer("TA2", "k-1").await.unwrap(), None);
    assert_eq!(store.idempotency_records().await.unwrap(), [first]);
}

/// Submissions and actions list by id for a copy, and import back unchanged.
pub async fn conversions_are_listed_and_imported_for_a_copy(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let submissions: Vec<_> = ["s1", "s2", "s3"].map(sample_submission).into();
    let actions = vec![sample_action("a1", "O-1", "s1"), usd_action("a2", "O-2", "s2")];
    store.import_conversions(&submissions, &actions).await.unwrap();
    assert_eq!(store.submissions_after("", 10).await.unwrap(), submissions);
    assert_eq!(store.submissions_after("s1", 1).await.unwrap(), submissions[1..2]);
    assert_eq!(store.actions_after("", 10).await.unwrap(), actions);
    assert_eq!(store.actions_after("a1", 10).await.unwrap(), actions[1..]);
    store.import_idempotency_records(&[idempotency("k")]).await.unwrap();
    assert_eq!(store.idempotency_records().await.unwrap(), [idempotency("k")]);
}
