//! Property tests: the total agrees with the lines, every item is paid once when there
//! is a default, the order of groups in the document never matters, and a payout limit
//! is never passed.

use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::program::{LimitDoc, PayoutDoc, PayoutGroupDoc, PayoutLevel, RuleDoc, RuleOperator, RuleVariable};

const VARIABLES: [RuleVariable; 6] = [
    RuleVariable::ItemSku,
    RuleVariable::ItemCategory,
    RuleVariable::CustomerStatus,
    RuleVariable::CustomerCountry,
    RuleVariable::PromoCode,
    RuleVariable::SharedId,
];
const OPERATORS: [RuleOperator; 3] = [RuleOperator::Is, RuleOperator::IsNot, RuleOperator::Contains];
/// Values that the orders below sometimes match, in mixed case and with commas.
const RULE_VALUES: [&str; 8] = ["A", "b, C", "BOOKS,toys", "sho", "New", "us , CA", "save", " x "];

/// An order whose strings are static, so the test can borrow a [`PayoutOrder`] from it.
#[derive(Debug, Clone)]
struct OrderInput {
    currency: Currency,
    customer_status: Option<&'static str>,
    customer_country: Option<&'static str>,
    promo_code: Option<&'static str>,
    shared_id: Option<&'static str>,
    items: Vec<PayoutItem<'static>>,
    amount_without_items: Decimal,
}

impl OrderInput {
    fn order(&self) -> PayoutOrder<'_> {
        let sale_amount = match self.items.is_empty() {
            true => self.amount_without_items,
            false => self.items.iter().map(|item| item.sale_amount).sum(),
        };
        PayoutOrder {
            currency: self.currency,
            customer_status: self.customer_status,
            customer_country: self.customer_country,
            promo_code: self.promo_code,
            shared_id: self.shared_id,
            items: &self.items,
            sale_amount,
        }
    }
}

/// Sale amounts from -50.00 (a return) to 500.00, in cents.
fn sale_amount() -> impl Strategy<Value = Decimal> {
    (-5_000i64..50_000).prop_map(|cents| Decimal::new(cents, 2))
}

fn item_strategy() -> impl Strategy<Value = PayoutItem<'static>> {
    let sku = prop::option::of(select(vec!["A", "b", "C", "D"]));
    let category = prop::option::of(select(vec!["Books", "toys", "Shoes", "hats"]));
    (sku, category, 0u32..4, sale_amount()).prop_map(|(sku, category, quantity, sale_amount)| PayoutItem {
        sku,
        category,
        quantity,
        sale_amount,
    })
}

fn order_strategy(items: std::ops::Range<usize>) -> impl Strategy<Value = OrderInput> {
    let currency = select(vec!["USD", "JPY", "KWD"]).prop_map(|code| code.parse::<Currency>().expect("currency"));
    let customer =
        (prop::option::of(select(vec!["new", "Existing"])), prop::option::of(select(vec!["US", "ca", "FR"])));
    let codes = (prop::option::of(select(vec!["SAVE10", "other"])), prop::option::of(select(vec!["x", "Y"])));
    let items = prop::collection::vec(item_strategy(), items);
    (currency, customer, codes, items, sale_amount()).prop_map(
        |(currency, (customer_status, customer_country), (promo_code, shared_id), items, amount_without_items)| {
            OrderInput {
                currency,
                customer_status,
                customer_country,
                promo_code,
                shared_id,
                items,
                amount_without_items,
            }
        },
    )
}

fn payout_strategy() -> impl Strategy<Value = PayoutDoc> {
    let rate = (0i64..=10_000).prop_map(|hundredths| PayoutDoc {
        rate: Some(Decimal::new(hundredths, 2)),
        amount: None,
        rate_over_100: false,
    });
    let amount = (0i64..=10_000).prop_map(|mills| PayoutDoc {
        rate: None,
        amount: Some(Decimal::new(mills, 3)),
        rate_over_100: false,
    });
    prop_oneof![rate, amount]
}

fn rule_strategy() -> impl Strategy<Value = RuleDoc> {
    (select(VARIABLES.to_vec()), select(OPERATORS.to_vec()), select(RULE_VALUES.to_vec()))
        .prop_map(|(variable, operator, values)| RuleDoc { variable, operator, values: values.to_owned() })
}

/// Groups with distinct ranks, listed in an order unrelated to their ranks.
fn groups_strategy() -> impl Strategy<Value = Vec<PayoutGroupDoc>> {
    let group = (prop::collection::vec(rule_strategy(), 0..3), payout_strategy());
    prop::collection::vec(group, 0..6).prop_flat_map(|groups| {
        let ranks: Vec<u32> = (0..groups.len()).map(|index| u32::try_from(index * 10).unwrap_or(0)).collect();
        (Just(groups), Just(ranks).prop_shuffle()).prop_map(|(groups, ranks)| {
            let ranked = groups.into_iter().zip(ranks);
            ranked.map(|((rules, payout), rank)| PayoutGroupDoc { rank, rules, payout }).collect()
        })
    })
}

fn terms_strategy(
    level: impl Strategy<Value = PayoutLevel>,
    default_payout: impl Strategy<Value = Option<PayoutDoc>>,
) -> impl Strategy<Value = EventPayoutDoc> {
    (level, default_payout, groups_strategy()).prop_map(|(payout_level, default_payout, payout_groups)| {
        let doc = serde_json::json!({"event_type": 1});
        let doc: EventPayoutDoc = serde_json::from_value(doc).expect("minimal terms");
        EventPayoutDoc { payout_level, default_payout, payout_groups, ..doc }
    })
}

fn any_level() -> impl Strategy<Value = PayoutLevel> {
    select(vec![PayoutLevel::Order, PayoutLevel::Item])
}

proptest! {
    #[test]
    fn the_total_is_the_sum_of_lines_each_rounded_to_the_minor_unit(
        doc in terms_strategy(any_level(), prop::option::of(payout_strategy())),
        input in order_strategy(0..6),
    ) {
        let order = input.order();
        let payout = compute(&PayoutTerms::compile(&doc), &order, &Standing::new());
        prop_assert_eq!(payout.total.currency, order.currency);
        prop_assert_eq!(payout.total.amount, payout.lines.iter().map(|line| line.amount).sum::<Decimal>());
        for line in &payout.lines {
            let rounded = Money { amount: line.amount, currency: order.currency }.round_to_minor_unit();
            prop_assert_eq!(rounded.amount, line.amount);
        }
    }

    #[test]
    fn at_item_level_with_a_default_each_item_gets_exactly_one_line(
        doc in terms_strategy(Just(PayoutLevel::Item), payout_strategy().prop_map(Some)),
        input in order_strategy(1..6),
    ) {
        let payout = compute(&PayoutTerms::compile(&doc), &input.order(), &Standing::new());
        let paid_items: Vec<_> = payout.lines.iter().map(|line| line.item).collect();
        let all_items: Vec<_> = (0..input.items.len()).map(Some).collect();
        prop_assert_eq!(paid_items, all_items);
    }

    #[test]
    fn the_order_of_groups_in_the_document_does_not_matter(
        (doc, shuffled_groups) in terms_strategy(any_level(), prop::option::of(payout_strategy()))
            .prop_flat_map(|doc| { let groups = doc.payout_groups.clone(); (Just(doc), Just(groups).prop_shuffle()) }),
        input in order_strategy(0..6),
    ) {
        let shuffled = EventPayoutDoc { payout_groups: shuffled_groups, ..doc.clone() };
        let order = input.order();
        prop_assert_eq!(compute(&PayoutTerms::compile(&doc), &order, &Standing::new()), compute(&PayoutTerms::compile(&shuffled), &order, &Standing::new()));
    }

    #[test]
    fn a_payout_limit_is_never_passed_and_the_lines_still_sum_to_the_total(
        doc in terms_strategy(any_level(), prop::option::of(payout_strategy())),
        input in order_strategy(0..6),
        prior_cents in 0i64..6_000,
    ) {
        let limit = LimitDoc { period: Period::Month, max_actions: None, max_payout: Some(Decimal::new(50, 0)) };
        let bonus = serde_json::json!({"metric": "ACTIONS", "threshold": "1", "period": "MONTH", "amount": "5"});
        let bonuses = vec![serde_json::from_value(bonus).expect("bonus")];
        let doc = EventPayoutDoc { limits: vec![limit], bonuses, ..doc };
        let prior = PeriodTotals { payout: Decimal::new(prior_cents, 2), ..PeriodTotals::default() };
        let order = input.order();
        let payout = compute(&PayoutTerms::compile(&doc), &order, &Standing::new().with(Period::Month, prior));
        prop_assert_eq!(payout.total.amount, payout.lines.iter().map(|line| line.amount).sum::<Decimal>());
        let commission: Decimal =
            payout.lines.iter().filter(|line| line.kind == LineKind::Commission).map(|line| line.amount).sum();
        let room = (Decimal::new(50, 0) - prior.payout).max(Decimal::ZERO);
        prop_assert!(commission <= room || commission <= Decimal::ZERO, "{commission} over {room}");
        prop_assert_eq!(payout.lines.last().map(|line| line.kind), Some(LineKind::Bonus), "limits never cut a bonus");
    }
}
