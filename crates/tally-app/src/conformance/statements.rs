//! Conformance tests of statements, withdrawal settings and a partner's period totals.

use std::sync::Arc;

use jiff::civil::date;
use rust_decimal::Decimal;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};
use tally_core::payout::PeriodTotals;

use super::listing::store_action;
use super::{account, at, sample_action};
use crate::ports::{ActionRecord, PartnerPeriod, StatementRecord, Store, TestActionRequestRecord, WithdrawalRecord};

fn approved(id: &str, locked: i64) -> ActionRecord {
    ActionRecord {
        state: "APPROVED".into(),
        locking_at: Some(at(locked)),
        statement_id: None,
        ..sample_action(id, &format!("O-{id}"), &format!("s-{id}"))
    }
}

fn statement(id: &str) -> StatementRecord {
    StatementRecord {
        statement_id: id.into(),
        program: ProgramId(1),
        partner: PartnerId(10),
        currency: "JPY".parse().unwrap(),
        statement_date: date(2026, 2, 1),
        scheduled_on: date(2026, 2, 20),
        created_at: at(500),
        paid_at: None,
        paid_by: None,
        payment_reference: None,
    }
}

/// Only approved real actions of partners, locked before the cutoff and on no
/// statement, are found and moved; one statement per key however often it is made;
/// sums come from the actions; a statement is paid once.
pub async fn approved_actions_go_on_one_statement_per_key(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let test = ActionRecord { test: true, ..approved("t", 10) };
    let pending = ActionRecord { state: "PENDING".into(), ..approved("p", 10) };
    let media = ActionRecord { owner_kind: tally_core::click::OwnerKind::MediaSource, ..approved("m", 10) };
    for action in [approved("a1", 10), approved("a2", 20), approved("late", 400), test, pending, media] {
        store_action(store.as_ref(), &action).await;
    }
    let found = store.unstated_actions(ProgramId(1), at(300), "", 10).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|action| action.action_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    assert_eq!(store.unstated_actions(ProgramId(1), at(300), "a1", 10).await.unwrap().len(), 1, "paged by id");

    let first = store.put_on_statement(&statement("st-1"), &["a1".into(), "t".into(), "p".into()]).await.unwrap();
    assert_eq!(first, "st-1");
    let again = store.put_on_statement(&statement("st-other"), &["a2".into()]).await.unwrap();
    assert_eq!(again, "st-1", "the same key is the same statement");
    assert_eq!(store.action("t").await.unwrap().unwrap().statement_id, None, "test actions are never stated");
    assert_eq!(store.action("p").await.unwrap().unwrap().statement_id, None, "pending actions wait");
    assert_eq!(store.action("a2").await.unwrap().unwrap().statement_id.as_deref(), Some("st-1"));
    assert!(store.unstated_actions(ProgramId(1), at(300), "", 10).await.unwrap().is_empty());

    let summary = store.statement("st-1").await.unwrap().unwrap();
    assert_eq!(
        (summary.actions, summary.sale_amount, summary.payout),
        (2, Decimal::new(24_690, 0), Decimal::new(-2_468, 0))
    );
    assert_eq!(summary.statement, statement("st-1"));
    assert_eq!(store.statements(ProgramId(1), Some(PartnerId(10))).await.unwrap(), [summary]);
    assert!(store.statements(ProgramId(1), Some(PartnerId(11))).await.unwrap().is_empty());
    let on_it: Vec<String> =
        store.statement_actions("st-1").await.unwrap().into_iter().map(|action| action.action_id).collect();
    assert_eq!(on_it, ["a1", "a2"]);

    assert!(store.mark_statement_paid("st-1", at(900), "TA1", Some("wire 7")).await.unwrap());
    assert!(!store.mark_statement_paid("st-1", at(901), "TA1", None).await.unwrap(), "paid once");
    let paid = store.statement("st-1").await.unwrap().unwrap().statement;
    assert_eq!(
        (paid.paid_at, paid.paid_by.as_deref(), paid.payment_reference.as_deref()),
        (Some(at(900)), Some("TA1"), Some("wire 7"))
    );
    assert_eq!(store.all_statements().await.unwrap(), [paid]);
}

/// A withdrawal setting is replaced whole; period totals leave out reversed and test
/// actions, other event types and events outside the period.
pub async fn withdrawals_are_replaced_and_period_totals_count_real_actions(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let threshold = WithdrawalRecord {
        program: ProgramId(1),
        partner: PartnerId(10),
        threshold: Some(Decimal::new(5_000, 2)),
        fixed_day: None,
        updated_at: at(1),
        updated_by: "partner".into(),
    };
    store.save_withdrawal(&threshold).await.unwrap();
    let fixed = WithdrawalRecord { threshold: None, fixed_day: Some(15), updated_at: at(2), ..threshold.clone() };
    store.save_withdrawal(&fixed).await.unwrap();
    assert_eq!(store.withdrawal(ProgramId(1), PartnerId(10)).await.unwrap(), Some(fixed.clone()));
    assert_eq!(store.withdrawal(ProgramId(1), PartnerId(11)).await.unwrap(), None);
    assert_eq!(store.all_withdrawals().await.unwrap(), [fixed]);

    let event = |id: &str, at_second: i64| ActionRecord {
        event_at: at(at_second),
        ..sample_action(id, &format!("O-{id}"), &format!("s-{id}"))
    };
    // Bonus lines, as pricing writes them: only those of counted actions are "paid".
    let with_bonus = |action: ActionRecord, bonus: u32| ActionRecord {
        detail: serde_json::json!({"payoutLines": [
            {"kind": "COMMISSION", "basis": "100", "amount": "8.00"},
            {"kind": "BONUS", "bonus": bonus, "basis": "0", "amount": "25.00"}
        ]})
        .to_string(),
        ..action
    };
    let reversed = with_bonus(ActionRecord { state: "REVERSED".into(), ..event("r", 50) }, 5);
    let test = with_bonus(ActionRecord { test: true, ..event("t", 50) }, 6);
    let other_type = with_bonus(ActionRecord { event_type: EventTypeId(2), ..event("e", 50) }, 7);
    let outside = with_bonus(event("outside", 100), 8);
    for action in [event("a", 40), with_bonus(event("b", 60), 2), outside, reversed, test, other_type] {
        store_action(store.as_ref(), &action).await;
    }
    let period = PartnerPeriod {
        program: ProgramId(1),
        partner: PartnerId(10),
        event_type: EventTypeId(1),
        start: at(40),
        end: at(100),
        created_before: None,
        with_bonuses: true,
    };
    let totals = store.partner_totals(&period).await.unwrap();
    assert_eq!(
        totals,
        PeriodTotals {
            actions: 2,
            sale_amount: Decimal::new(24_690, 0),
            payout: Decimal::new(-2_468, 0),
            bonuses_paid: 1 << 2
        }
    );
    let nobody = PartnerPeriod { partner: PartnerId(99), ..period };
    assert_eq!(store.partner_totals(&nobody).await.unwrap(), PeriodTotals::default());
    let made_earlier = PartnerPeriod { created_before: Some(at(100)), ..period };
    assert_eq!(store.partner_totals(&made_earlier).await.unwrap(), PeriodTotals::default(), "all made at 100");
    let made_later = PartnerPeriod { created_before: Some(at(101)), ..period };
    assert_eq!(store.partner_totals(&made_later).await.unwrap(), totals);
    let without_bonuses = PartnerPeriod { with_bonuses: false, ..period };
    assert_eq!(store.partner_totals(&without_bonuses).await.unwrap(), PeriodTotals { bonuses_paid: 0, ..totals });
}

/// A partner's test action request is listed newest first in its program, and leaves
/// `OPEN` once: fulfilled with its action, or declined.
pub async fn test_action_requests_are_kept_and_resolved_once(store: Arc<dyn Store>) {
    let request = |id: &str, program: u64, seconds: i64| TestActionRequestRecord {
        request_id: id.into(),
        program: ProgramId(program),
        partner: PartnerId(10),
        note: format!("please test {id}"),
        state: "OPEN".into(),
        action_id: None,
        created_at: at(seconds),
        resolved_at: None,
    };
    for (id, program, seconds) in [("r1", 1, 10), ("r2", 1, 20), ("r3", 2, 15)] {
        store.insert_test_action_request(&request(id, program, seconds)).await.unwrap();
    }
    let listed = store.test_action_requests(ProgramId(1)).await.unwrap();
    assert_eq!(listed, [request("r2", 1, 20), request("r1", 1, 10)], "this program's, newest first");

    assert!(!store.resolve_test_action_request(ProgramId(2), "r1", "DECLINED", None, at(30)).await.unwrap());
    assert!(store.resolve_test_action_request(ProgramId(1), "r1", "FULFILLED", Some("a9"), at(30)).await.unwrap());
    assert!(!store.resolve_test_action_request(ProgramId(1), "r1", "DECLINED", None, at(31)).await.unwrap(), "once");
    assert!(!store.resolve_test_action_request(ProgramId(1), "nope", "DECLINED", None, at(31)).await.unwrap());
    let fulfilled = TestActionRequestRecord {
        state: "FULFILLED".into(),
        action_id: Some("a9".into()),
        resolved_at: Some(at(30)),
        ..request("r1", 1, 10)
    };
    assert_eq!(store.test_action_requests(ProgramId(1)).await.unwrap()[1], fulfilled);
    let all = store.all_test_action_requests().await.unwrap();
    assert_eq!(all, [fulfilled, request("r2", 1, 20), request("r3", 2, 15)], "every one, by id");
}
