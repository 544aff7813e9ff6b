//! Rules compiled for evaluation, shared by payout groups and restrictions: values
//! split, trimmed and lower-cased once, and the rules split into those on the order and
//! those on items. At ITEM level the order rules are then evaluated once per order
//! rather than once per item; no rule allocates.

use super::text::{Text, fold};
use super::{PayoutItem, PayoutOrder};
use crate::program::{RuleDoc, RuleOperator, RuleVariable};

/// Rules that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleSet {
    order_rules: Vec<(OrderField, Condition)>,
    item_rules: Vec<(ItemField, Condition)>,
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

/// The order's values, trimmed once per computation.
pub(super) struct OrderValues<'a>([Option<Text<'a>>; 4]);

/// An item's values, trimmed once per item; the discriminant of [`ItemField`] indexes it.
pub(super) struct ItemValues<'a>([Option<Text<'a>>; 2]);

impl RuleSet {
    pub(super) fn compile(rules: &[RuleDoc]) -> Self {
        let (mut order_rules, mut item_rules) = (Vec::new(), Vec::new());
        for rule in rules {
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
        RuleSet { order_rules, item_rules }
    }

    /// Whether the rules hold for the order as a whole: item rules as
    /// [`item_rules_hold_for_any`](Self::item_rules_hold_for_any) judges them.
    pub(super) fn hold_for_order(&self, values: &OrderValues<'_>, items: &[PayoutItem<'_>]) -> bool {
        self.order_rules_hold(values) && self.item_rules_hold_for_any(items)
    }

    pub(super) fn order_rules_hold(&self, values: &OrderValues<'_>) -> bool {
        self.order_rules.iter().all(|(field, condition)| condition.holds(values.get(*field)))
    }

    pub(super) fn item_rules_hold(&self, values: &ItemValues<'_>) -> bool {
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
    pub(super) fn of(order: &PayoutOrder<'a>) -> Self {
        let fields = [order.customer_status, order.customer_country, order.promo_code, order.shared_id];
        OrderValues(fields.map(Text::new))
    }

    fn get(&self, field: OrderField) -> Option<Text<'a>> {
        self.0[field as usize]
    }
}

impl<'a> ItemValues<'a> {
    pub(super) fn of(item: &PayoutItem<'a>) -> Self {
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
