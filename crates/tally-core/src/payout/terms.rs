//! Payout terms compiled for evaluation: groups sorted by rank, rule values split,
//! trimmed and lower-cased once, rates turned into fractions, and each group's rules
//! split into those on the order and those on items. At ITEM level the order rules are
//! then evaluated once per order rather than once per item; no rule allocates.

use rust_decimal::Decimal;

use super::text::{Text, fold};
use super::{PayoutItem, PayoutLine, PayoutOrder};
use crate::money::{Currency, Money};
use crate::program::{EventPayoutDoc, PayoutDoc, PayoutGroupDoc, PayoutLevel, RuleDoc, RuleOperator, RuleVariable};

/// An event type's payout terms, ready for [`compute`](super::compute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutTerms {
    level: PayoutLevel,
    /// Sorted by rank, lowest first.
    groups: Vec<Group>,
    default_payout: Option<Pay>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    rank: u32,
    order_rules: Vec<(OrderField, Condition)>,
    item_rules: Vec<(ItemField, Condition)>,
    pay: Pay,
}

/// A variable read from the order; the discriminant indexes [`OrderValues`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderField {
    CustomerStatus,
    CustomerCountry,
    PromoCode,
    SharedId,
}

/// A variable read from an item; the discriminant indexes [`ItemValues`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemField {
    Sku,
    Category,
}

/// An operator with its values: trimmed, lower-cased with [`fold`], none empty.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    operator: RuleOperator,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pay {
    /// The percent divided by 100 once here, rather than on every line.
    Rate { fraction: Decimal },
    /// Per order at ORDER level, per unit at ITEM level.
    Fixed { amount: Decimal },
}

/// The order's values, trimmed once per computation.
struct OrderValues<'a>([Option<Text<'a>>; 4]);

/// An item's values, trimmed once per item; the discriminant of [`ItemField`] indexes it.
struct ItemValues<'a>([Option<Text<'a>>; 2]);

impl PayoutTerms {
    /// Compiles the terms. Groups are sorted stably by rank, so equal ranks (which
    /// validation refuses) would keep document order. A payout giving both a rate and an
    /// amount uses the rate, and one giving neither pays zero; validation refuses both.
    pub fn compile(doc: &EventPayoutDoc) -> Self {
        let mut groups: Vec<Group> = doc.payout_groups.iter().map(Group::compile).collect();
        groups.sort_by_key(|group| group.rank);
        PayoutTerms { level: doc.payout_level, groups, default_payout: doc.default_payout.as_ref().map(Pay::compile) }
    }

    /// Whether payouts are per order or per item.
    pub fn level(&self) -> PayoutLevel {
        self.level
    }

    /// The lines `order` earns: one per paid item at ITEM level, else at most one.
    pub(super) fn lines(&self, order: &PayoutOrder<'_>) -> Vec<PayoutLine> {
        let order_values = OrderValues::of(order);
        if self.level == PayoutLevel::Item && !order.items.is_empty() {
            return self.item_lines(order, &order_values);
        }
        let group = self
            .groups
            .iter()
            .find(|group| group.order_rules_hold(&order_values) && group.item_rules_hold_for_any(order.items));
        self.line(group, order.sale_amount, 1, order.currency).into_iter().collect()
    }

    fn item_lines(&self, order: &PayoutOrder<'_>, order_values: &OrderValues<'_>) -> Vec<PayoutLine> {
        let candidates: Vec<&Group> = self.groups.iter().filter(|group| group.order_rules_hold(order_values)).collect();
        let line_for = |(index, item): (usize, &PayoutItem<'_>)| {
            let item_values = ItemValues::of(item);
            let group = candidates.iter().copied().find(|group| group.item_rules_hold(&item_values));
            let line = self.line(group, item.sale_amount, item.quantity, order.currency)?;
            Some(PayoutLine { item: Some(index), ..line })
        };
        order.items.iter().enumerate().filter_map(line_for).collect()
    }

    /// The line paid by `group`, or by the default when no group applies; `units`
    /// multiplies a fixed amount. Rounded here, once.
    fn line(&self, group: Option<&Group>, basis: Decimal, units: u32, currency: Currency) -> Option<PayoutLine> {
        let (group_rank, pay) = match group {
            Some(group) => (Some(group.rank), group.pay),
            None => (None, self.default_payout?),
        };
        let amount = Money { amount: pay.unrounded(basis, units), currency }.round_to_minor_unit().amount;
        Some(PayoutLine { item: None, group_rank, basis, amount })
    }
}

impl Group {
    fn compile(doc: &PayoutGroupDoc) -> Self {
        let (mut order_rules, mut item_rules) = (Vec::new(), Vec::new());
        for rule in &doc.rules {
            let condition = Condition::compile(rule);
            match rule.variable {
                RuleVariable::ItemSku => item_rules.push((ItemField::Sku, condition)),
                RuleVariable::ItemCategory => item_rules.push((ItemField::Category, condition)),
                RuleVariable::CustomerStatus => order_rules.push((OrderField::CustomerStatus, condition)),
                RuleVariable::CustomerCountry => order_rules.push((OrderField::CustomerCountry, condition)),
                RuleVariable::PromoCode => order_rules.push((OrderField::PromoCode, condition)),
                RuleVariable::SharedId => order_rules.push((OrderField::SharedId, condition)),
            }
        }
        Group { rank: doc.rank, order_rules, item_rules, pay: Pay::compile(&doc.payout) }
    }

    fn order_rules_hold(&self, values: &OrderValues<'_>) -> bool {
        self.order_rules.iter().all(|(field, condition)| condition.holds(values.get(*field)))
    }

    fn item_rules_hold(&self, values: &ItemValues<'_>) -> bool {
        self.item_rules.iter().all(|(field, condition)| condition.holds(values.get(*field)))
    }

    /// Each item rule on its own holds for some item, so one item may satisfy one rule
    /// and another item the next; with no items, each is judged on an absent value.
    fn item_rules_hold_for_any(&self, items: &[PayoutItem<'_>]) -> bool {
        self.item_rules.iter().all(|(field, condition)| match items {
            [] => condition.holds(None),
            _ => items.iter().any(|item| condition.holds(ItemValues::of(item).get(*field))),
        })
    }
}

impl<'a> OrderValues<'a> {
    fn of(order: &PayoutOrder<'a>) -> Self {
        let fields = [order.customer_status, order.customer_country, order.promo_code, order.shared_id];
        OrderValues(fields.map(Text::new))
    }

    fn get(&self, field: OrderField) -> Option<Text<'a>> {
        self.0[field as usize]
    }
}

impl<'a> ItemValues<'a> {
    fn of(item: &PayoutItem<'a>) -> Self {
        ItemValues([item.sku, item.category].map(Text::new))
    }

    fn get(&self, field: ItemField) -> Option<Text<'a>> {
        self.0[field as usize]
    }
}

impl Condition {
    fn compile(doc: &RuleDoc) -> Self {
        let values = doc.values.split(',').map(str::trim).filter(|value| !value.is_empty()).map(fold).collect();
        Condition { operator: doc.operator, values }
    }

    /// On an absent value `IS` and `CONTAINS` fail and `IS_NOT` holds.
    fn holds(&self, value: Option<Text<'_>>) -> bool {
        let Some(value) = value else {
            return self.operator == RuleOperator::IsNot;
        };
        let equals_any = || self.values.iter().any(|expected| value.equals(expected));
        match self.operator {
            RuleOperator::Is => equals_any(),
            RuleOperator::IsNot => !equals_any(),
            RuleOperator::Contains => self.values.iter().any(|needle| value.contains(needle)),
        }
    }
}

impl Pay {
    fn compile(doc: &PayoutDoc) -> Self {
        match (doc.rate, doc.amount) {
            (Some(rate), _) => Pay::Rate { fraction: rate / Decimal::ONE_HUNDRED },
            (None, Some(amount)) => Pay::Fixed { amount },
            (None, None) => Pay::Fixed { amount: Decimal::ZERO },
        }
    }

    /// Saturating rather than panicking: no real order comes near Decimal's 7.9e28.
    fn unrounded(self, basis: Decimal, units: u32) -> Decimal {
        match self {
            Pay::Rate { fraction } => basis.saturating_mul(fraction),
            Pay::Fixed { amount } => amount.saturating_mul(Decimal::from(units)),
        }
    }
}
