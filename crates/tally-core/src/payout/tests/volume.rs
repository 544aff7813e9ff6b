//! Restrictions, tiers, limits and bonuses: one test per rule in the module docs.

use super::*;

/// Terms at `level` paying a 10 % default, with `extra` keys merged in.
fn terms_with(level: &str, extra: serde_json::Value) -> PayoutTerms {
    let mut doc = json!({"event_type": 1, "payout_level": level, "default_payout": rate("10")});
    for (key, value) in extra.as_object().expect("extra keys").clone() {
        doc[key] = value;
    }
    let doc: EventPayoutDoc = serde_json::from_value(doc).expect("test terms");
    PayoutTerms::compile(&doc)
}

fn month(actions: u64, sale_amount: &str, payout: &str) -> Standing {
    let totals = PeriodTotals { actions, sale_amount: dec(sale_amount), payout: dec(payout), bonuses_paid: 0 };
    Standing::new().with(Period::Month, totals)
}

fn amounts(payout: &Payout) -> Vec<Decimal> {
    payout.lines.iter().map(|line| line.amount).collect()
}

fn codes(payout: &Payout) -> Vec<&'static str> {
    payout.notes.iter().map(PayoutNote::code).collect()
}

fn restricted(item: Option<usize>, restriction: usize, basis: &str) -> PayoutLine {
    PayoutLine { item, restriction: Some(restriction), basis: dec(basis), amount: dec("0.00"), ..PayoutLine::default() }
}

#[test]
fn an_order_level_restriction_zeroes_the_whole_payout_and_says_which() {
    let restrictions = json!([
        {"rules": [rule("CUSTOMER_COUNTRY", "IS", "FR")]},
        {"rules": [rule("PROMO_CODE", "CONTAINS", "coupon"), rule("ITEM_CATEGORY", "IS", "toys")], "reason": "coupon sites"}
    ]);
    let terms = terms_with("ORDER", json!({"restrictions": restrictions}));
    let items = [item("A", "books", 1, "30"), item("B", "toys", 1, "70")];
    let couponed = PayoutOrder { promo_code: Some("COUPON10"), ..order(&items) };
    let payout = compute(&terms, &couponed, &Standing::new());
    assert_eq!(payout.lines, [restricted(None, 1, "100")], "the toy item satisfies the item rule");
    assert_eq!(payout.total.amount, dec("0.00"));
    let note = PayoutNote::Restricted { restriction: 1, reason: Some("coupon sites".into()), whole_order: true };
    assert_eq!(payout.notes, std::slice::from_ref(&note));
    assert_eq!(note.to_string(), "the order matches restriction 2 (coupon sites), so it pays no commission");
    let books_only = PayoutOrder { promo_code: Some("COUPON10"), ..order(&items[..1]) };
    assert_eq!(compute(&terms, &books_only, &Standing::new()).total.amount, dec("3.00"));
}

#[test]
fn an_item_level_restriction_zeroes_only_the_matching_items() {
    let restrictions = json!([{"rules": [rule("ITEM_CATEGORY", "IS", "gift cards")], "reason": "gift cards"}]);
    let terms = terms_with("ITEM", json!({"restrictions": restrictions}));
    let items = [item("A", "books", 1, "30"), item("G", "Gift Cards", 1, "50"), item("B", "toys", 1, "20")];
    let payout = compute(&terms, &order(&items), &Standing::new());
    assert_eq!(payout.lines[1], restricted(Some(1), 0, "50"));
    assert_eq!(amounts(&payout), [dec("3.00"), dec("0.00"), dec("2.00")]);
    assert_eq!(payout.total.amount, dec("5.00"));
    assert_eq!(codes(&payout), ["RESTRICTED"]);
    assert_eq!(payout.notes[0].to_string(), "items matching restriction 1 (gift cards) pay no commission");
}

#[test]
fn a_tier_by_actions_applies_from_the_action_that_reaches_it() {
    let tiers = json!([{"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "payout": rate("15")}]);
    let terms = terms_with("ORDER", json!({"tiers": tiers}));
    let items = [item("A", "books", 1, "100")];
    let ninth = compute(&terms, &order(&items), &month(8, "0", "0"));
    assert_eq!((ninth.lines[0].tier, ninth.total.amount), (None, dec("10.00")), "earlier actions keep their rate");
    let tenth = compute(&terms, &order(&items), &month(9, "0", "0"));
    assert_eq!(tenth.lines, [PayoutLine { tier: Some(0), ..line(None, None, "100", "15.00") }]);
    assert_eq!(codes(&tenth), ["TIER"]);
    assert_eq!(
        tenth.notes[0].to_string(),
        "tier 1 reached with 10 actions this month, so its payout replaces the default"
    );
}

#[test]
fn a_tier_by_revenue_counts_this_sale_amount() {
    let tiers = json!([{"metric": "REVENUE", "threshold": "1000", "period": "WEEK", "payout": rate("20")}]);
    let terms = terms_with("ORDER", json!({"tiers": tiers}));
    let week = |sale_amount: &str| {
        Standing::new()
            .with(Period::Week, PeriodTotals { actions: 3, sale_amount: dec(sale_amount), ..PeriodTotals::default() })
    };
    let items = [item("A", "books", 1, "100")];
    assert_eq!(compute(&terms, &order(&items), &week("899.99")).total.amount, dec("10.00"));
    assert_eq!(compute(&terms, &order(&items), &week("900")).total.amount, dec("20.00"));
    assert_eq!(compute(&terms, &order(&items), &month(0, "5000", "0")).total.amount, dec("10.00"), "another period");
}

#[test]
fn the_highest_reached_tier_applies_whatever_the_listed_order() {
    let tiers = json!([
        {"metric": "ACTIONS", "threshold": "20", "period": "MONTH", "payout": rate("15")},
        {"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "payout": rate("12")},
        {"metric": "ACTIONS", "threshold": "50", "period": "MONTH", "payout": rate("18")}
    ]);
    let terms = terms_with("ORDER", json!({"tiers": tiers}));
    let items = [item("A", "books", 1, "100")];
    let paid = |prior| compute(&terms, &order(&items), &month(prior, "0", "0"));
    assert_eq!((paid(15).lines[0].tier, paid(15).total.amount), (Some(1), dec("12.00")));
    assert_eq!((paid(25).lines[0].tier, paid(25).total.amount), (Some(0), dec("15.00")));
    assert_eq!((paid(49).lines[0].tier, paid(49).total.amount), (Some(2), dec("18.00")));
}

#[test]
fn a_payout_group_that_holds_still_wins_over_a_tier() {
    let groups = json!([group(1, json!([rule("ITEM_SKU", "IS", "B")]), rate("5"))]);
    let tiers = json!([{"metric": "ACTIONS", "threshold": "1", "period": "DAY", "payout": rate("30")}]);
    let terms = terms_with("ITEM", json!({"payout_groups": groups, "tiers": tiers}));
    let items = [item("A", "books", 1, "100"), item("B", "toys", 1, "100")];
    let payout = compute(&terms, &order(&items), &Standing::new());
    assert_eq!(
        payout.lines,
        [PayoutLine { tier: Some(0), ..line(Some(0), None, "100", "30.00") }, line(Some(1), Some(1), "100", "5.00")]
    );
}

#[test]
fn an_action_limit_pays_nothing_once_the_period_has_that_many_actions() {
    let terms = terms_with("ORDER", json!({"limits": [{"period": "MONTH", "max_actions": 100}]}));
    let items = [item("A", "books", 1, "100")];
    let hundredth = compute(&terms, &order(&items), &month(99, "0", "0"));
    assert_eq!((hundredth.total.amount, hundredth.notes.len()), (dec("10.00"), 0));
    let over = compute(&terms, &order(&items), &month(100, "0", "0"));
    assert_eq!(over.lines, [PayoutLine { limit: Some(0), ..line(None, None, "100", "0.00") }]);
    assert_eq!(over.total.amount, dec("0.00"));
    assert_eq!(codes(&over), ["LIMIT_ACTIONS"]);
    assert_eq!(over.notes[0].to_string(), "limit of 100 actions per month reached, so no commission is paid");
}

#[test]
fn a_payout_limit_cuts_commission_from_the_last_line_then_pays_nothing() {
    let terms = terms_with("ITEM", json!({"limits": [{"period": "MONTH", "max_payout": "100.00"}]}));
    let items = [item("A", "books", 1, "60"), item("B", "toys", 1, "40")];
    let room_for_five = compute(&terms, &order(&items), &month(7, "0", "95.00"));
    assert_eq!(amounts(&room_for_five), [dec("5.00"), dec("0.00")], "6.00 + 4.00 cut by 5.00, the last first");
    assert_eq!(room_for_five.total.amount, dec("5.00"));
    assert_eq!(room_for_five.lines.iter().map(|line| line.limit).collect::<Vec<_>>(), [Some(0), Some(0)]);
    let note = PayoutNote::LimitPayout { limit: 0, period: Period::Month, max_payout: dec("100.00"), cut: dec("5.00") };
    assert_eq!(room_for_five.notes, std::slice::from_ref(&note));
    assert_eq!(note.to_string(), "limit of 100.00 payout per month reached, so commission was cut by 5.00");
    let reached = compute(&terms, &order(&items), &month(8, "0", "100.00"));
    assert_eq!(reached.total.amount, dec("0.00"));
    assert_eq!(codes(&reached), ["LIMIT_PAYOUT"]);
    let within = compute(&terms, &order(&items), &month(8, "0", "90.00"));
    assert_eq!((within.total.amount, within.notes.len()), (dec("10.00"), 0), "exactly reaching the max is allowed");
}

#[test]
fn a_bonus_is_paid_once_as_its_own_line_on_the_crossing_action() {
    let bonuses = json!([{"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "amount": "50"}]);
    let terms = terms_with("ORDER", json!({"bonuses": bonuses}));
    let items = [item("A", "books", 1, "100")];
    let crossing = compute(&terms, &order(&items), &month(9, "0", "0"));
    let bonus = PayoutLine { kind: LineKind::Bonus, bonus: Some(0), amount: dec("50.00"), ..PayoutLine::default() };
    assert_eq!(crossing.lines, [line(None, None, "100", "10.00"), bonus]);
    assert_eq!(crossing.total.amount, dec("60.00"));
    assert_eq!(codes(&crossing), ["BONUS"]);
    assert_eq!(crossing.notes[0].to_string(), "bonus of 50.00 earned for reaching 10 actions this month");
    assert_eq!(compute(&terms, &order(&items), &month(10, "0", "0")).lines.len(), 1, "the next action gets none");
    assert_eq!(compute(&terms, &order(&items), &month(8, "0", "0")).lines.len(), 1, "nor the one before");
}

#[test]
fn a_bonus_already_on_an_action_of_the_period_is_not_paid_again_when_crossed_again() {
    // Reversals took the partner back under 10 actions; this action crosses again.
    let bonuses = json!([
        {"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "amount": "50"},
        {"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "amount": "5"}
    ]);
    let terms = terms_with("ORDER", json!({"bonuses": bonuses}));
    let items = [item("A", "books", 1, "100")];
    let first_paid = PeriodTotals { actions: 9, bonuses_paid: 0b01, ..PeriodTotals::default() };
    let again = compute(&terms, &order(&items), &Standing::new().with(Period::Month, first_paid));
    assert_eq!(amounts(&again), [dec("10.00"), dec("5.00")], "only the bonus not yet paid");
    let other_period = Standing::new().with(Period::Week, PeriodTotals { bonuses_paid: 0b11, ..first_paid });
    let crossing = compute(
        &terms,
        &order(&items),
        &other_period.with(Period::Month, PeriodTotals { actions: 9, ..PeriodTotals::default() }),
    );
    assert_eq!(crossing.total.amount, dec("65.00"), "a bonus of another period says nothing");
}

#[test]
fn a_revenue_bonus_needs_this_sale_to_cross_the_threshold() {
    let bonuses = json!([{"metric": "REVENUE", "threshold": "1000", "period": "MONTH", "amount": "25.50"}]);
    let terms = terms_with("ORDER", json!({"bonuses": bonuses}));
    let items = [item("A", "books", 1, "100")];
    assert_eq!(compute(&terms, &order(&items), &month(4, "950", "0")).total.amount, dec("35.50"));
    assert_eq!(compute(&terms, &order(&items), &month(4, "899.99", "0")).total.amount, dec("10.00"));
    assert_eq!(compute(&terms, &order(&items), &month(4, "1000", "0")).total.amount, dec("10.00"));
}

#[test]
fn limits_do_not_cut_a_bonus_and_a_restriction_does_not_forfeit_it() {
    let extra = json!({
        "limits": [{"period": "DAY", "max_actions": 5}],
        "bonuses": [{"metric": "ACTIONS", "threshold": "6", "period": "DAY", "amount": "20"}],
        "restrictions": [{"rules": [rule("PROMO_CODE", "IS", "STAFF")]}]
    });
    let terms = terms_with("ORDER", extra);
    let sixth = Standing::new().with(Period::Day, PeriodTotals { actions: 5, ..PeriodTotals::default() });
    let items = [item("A", "books", 1, "100")];
    let over_limit = compute(&terms, &order(&items), &sixth);
    assert_eq!(amounts(&over_limit), [dec("0.00"), dec("20.00")]);
    assert_eq!(codes(&over_limit), ["LIMIT_ACTIONS", "BONUS"]);
    let staff = PayoutOrder { promo_code: Some("staff"), ..order(&items) };
    let restricted = compute(&terms, &staff, &Standing::new());
    assert_eq!(codes(&restricted), ["RESTRICTED"]);
    let restricted_sixth = compute(&terms, &staff, &sixth);
    assert_eq!(restricted_sixth.total.amount, dec("20.00"));
    assert_eq!(restricted_sixth.lines[0].limit, None, "a restricted line is not also said to be limited");
}

#[test]
fn the_periods_the_terms_count_in_are_listed_once_shortest_first() {
    let extra = json!({
        "tiers": [{"metric": "ACTIONS", "threshold": "10", "period": "QUARTER", "payout": rate("15")}],
        "limits": [{"period": "DAY", "max_actions": 5}, {"period": "MONTH", "max_payout": "10"}],
        "bonuses": [{"metric": "REVENUE", "threshold": "10", "period": "DAY", "amount": "1"}]
    });
    assert_eq!(terms_with("ORDER", extra).periods(), [Period::Day, Period::Month, Period::Quarter]);
    assert_eq!(terms_with("ORDER", json!({})).periods(), []);
}

#[test]
fn a_rate_over_100_percent_pays_more_than_the_sale() {
    let terms = terms_with("ORDER", json!({"default_payout": {"rate": "150", "rate_over_100": true}}));
    assert_eq!(compute(&terms, &order(&[item("A", "x", 1, "10")]), &Standing::new()).total.amount, dec("15.00"));
}

#[test]
fn lines_and_notes_serialize_for_the_action_detail() {
    let bonuses = json!([{"metric": "ACTIONS", "threshold": "1", "period": "DAY", "amount": "5"}]);
    let payout = compute(&terms_with("ORDER", json!({"bonuses": bonuses})), &order(&[]), &Standing::new());
    let detail = serde_json::to_value((&payout.lines, &payout.notes)).expect("serializes");
    assert_eq!(
        detail,
        json!([
            [{"kind": "COMMISSION", "basis": "0", "amount": "0.00"},
             {"kind": "BONUS", "bonus": 0, "basis": "0", "amount": "5.00"}],
            [{"code": "BONUS", "bonus": 0, "metric": "ACTIONS", "threshold": "1", "period": "DAY", "amount": "5.00"}]
        ])
    );
}
