//! SQL text shared by the two SQL adapters, which differ only in how they number
//! parameters (`?1` in SQLite, `$1` in PostgreSQL). Keeping one builder means a filter
//! added here means the same on both backends, and the conformance suite checks it.

use crate::ports::{
    ActionQuery, ActionSortKey, ReportDimension, RollupQuery, SubmissionQuery, TestActions, TimeRange, UpdateQuery,
};

/// A bound parameter: every filter value is an integer or a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// An id, an instant in microseconds, a count.
    Int(i64),
    /// A state, a code, an order id.
    Text(String),
}

/// A `WHERE` clause with its parameters, numbered from 1 by `placeholder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `col = ?1 AND …`, never empty (`TRUE` when nothing filters).
    pub condition: String,
    /// The parameters, in number order.
    pub params: Vec<SqlValue>,
}

struct Builder<'a> {
    conditions: Vec<String>,
    params: Vec<SqlValue>,
    placeholder: &'a dyn Fn(usize) -> String,
}

impl Builder<'_> {
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        (self.placeholder)(self.params.len())
    }

    fn equals(&mut self, column: &str, value: SqlValue) {
        let slot = self.bind(value);
        self.conditions.push(format!("{column} = {slot}"));
    }

    /// Made in the range, or changed in it by an update other than an approval.
    fn changed_in(&mut self, range: TimeRange) {
        let bounds = |column: &str, builder: &mut Self| {
            let mut parts = Vec::new();
            if let Some(from) = range.from {
                parts.push(format!("{column} >= {}", builder.bind(SqlValue::Int(from.as_microsecond()))));
            }
            if let Some(to) = range.to {
                parts.push(format!("{column} <= {}", builder.bind(SqlValue::Int(to.as_microsecond()))));
            }
            parts.join(" AND ")
        };
        let made = bounds("created_at", self);
        let changed = bounds("updated_at", self);
        self.conditions.push(format!(
            "({made} OR action_id IN (SELECT action_id FROM action_update WHERE {changed} AND to_state <> 'APPROVED'))"
        ));
    }

    fn range(&mut self, column: &str, range: TimeRange) {
        if let Some(from) = range.from {
            let slot = self.bind(SqlValue::Int(from.as_microsecond()));
            self.conditions.push(format!("{column} >= {slot}"));
        }
        if let Some(to) = range.to {
            let slot = self.bind(SqlValue::Int(to.as_microsecond()));
            self.conditions.push(format!("{column} <= {slot}"));
        }
    }
}

impl<'a> Builder<'a> {
    fn new(placeholder: &'a dyn Fn(usize) -> String) -> Self {
        Builder { conditions: Vec::new(), params: Vec::new(), placeholder }
    }

    fn programs(&mut self, column: &str, programs: &[tally_core::ids::ProgramId]) {
        let slots: Vec<String> = programs.iter().map(|program| self.bind(SqlValue::Int(program.0 as i64))).collect();
        self.conditions.push(match slots.as_slice() {
            [] => "FALSE".to_owned(),
            slots => format!("{column} IN ({})", slots.join(", ")),
        });
    }

    fn finish(self) -> Filter {
        let condition = if self.conditions.is_empty() { "TRUE".to_owned() } else { self.conditions.join(" AND ") };
        Filter { condition, params: self.params }
    }
}

/// The `WHERE` clause of an action listing. Program ids are bound one by one (an
/// account has few programs), so both backends use the `(program_id, …)` indexes.
pub fn action_filter(query: &ActionQuery, placeholder: &dyn Fn(usize) -> String) -> Filter {
    let mut builder = Builder::new(placeholder);
    builder.programs("program_id", &query.programs);
    if let Some(owner) = query.owner {
        builder.equals("owner_id", SqlValue::Int(owner.0 as i64));
    }
    if let Some(state) = &query.state {
        builder.equals("state", SqlValue::Text(state.clone()));
    }
    if let Some(event_type) = query.event_type {
        builder.equals("event_type_id", SqlValue::Int(event_type.0 as i64));
    }
    builder.range("event_at", query.event_at);
    builder.range("locking_at", query.locking_at);
    // After a cursor, the greater of the two lower bounds is the only one: given two,
    // SQLite seeks on one and checks the other row by row.
    let mut created_at = query.created_at;
    if let Some((at, _)) = &query.after {
        created_at.from = Some(created_at.from.map_or(*at, |from| from.max(*at)));
    }
    builder.range("created_at", created_at);
    if query.changed_at != TimeRange::default() {
        builder.changed_in(query.changed_at);
    }
    if let Some(code) = &query.promo_code {
        builder.equals("lower(promo_code)", SqlValue::Text(code.to_lowercase()));
    }
    if let Some(order_id) = &query.order_id {
        builder.equals("order_id", SqlValue::Text(order_id.clone()));
    }
    if let Some(sku) = &query.sku {
        // Items live in the action's JSON detail, written compactly by serde_json, so an
        // item of this SKU appears there as `"sku":"…"` with the SKU JSON-escaped. Case is
        // ignored on both backends alike (SQLite's LIKE would ignore it anyway).
        let needle = format!("\"sku\":{}", serde_json::Value::String(sku.to_lowercase()));
        let slot = builder.bind(SqlValue::Text(format!("%{}%", like_escaped(&needle))));
        builder.conditions.push(format!("lower(detail) LIKE {slot} ESCAPE '\\'"));
    }
    match query.test {
        // An equality, so that an index on (program_id, is_test, …) serves it.
        TestActions::Exclude => builder.conditions.push("is_test = FALSE".to_owned()),
        TestActions::Only => builder.conditions.push("is_test = TRUE".to_owned()),
        TestActions::Include => {}
    }
    if let Some((created_at, action_id)) = &query.after {
        let at = builder.bind(SqlValue::Int(created_at.as_microsecond()));
        let id = builder.bind(SqlValue::Text(action_id.clone()));
        // A row value, which both backends read as one range of their index.
        builder.conditions.push(format!("(created_at, action_id) > ({at}, {id})"));
    }
    builder.finish()
}

/// The `WHERE` clause of a submission listing.
pub fn submission_filter(query: &SubmissionQuery, placeholder: &dyn Fn(usize) -> String) -> Filter {
    let mut builder = Builder::new(placeholder);
    builder.equals("account_sid", SqlValue::Text(query.account_sid.clone()));
    if let Some(program) = query.program {
        builder.equals("program_id", SqlValue::Int(program.0 as i64));
    }
    match query.refused {
        Some(true) => builder.conditions.push("error_type IS NOT NULL".to_owned()),
        Some(false) => builder.conditions.push("error_type IS NULL".to_owned()),
        None => {}
    }
    if let Some(code) = &query.error_type {
        builder.equals("error_type", SqlValue::Text(code.clone()));
    }
    if let Some(kind) = &query.kind {
        builder.equals("kind", SqlValue::Text(kind.clone()));
    }
    if let Some(order_id) = &query.order_id {
        builder.equals("order_id", SqlValue::Text(order_id.clone()));
    }
    builder.range("received_at", query.received_at);
    builder.finish()
}

/// The `ORDER BY` of a submission listing.
pub fn submission_order(query: &SubmissionQuery) -> &'static str {
    if query.ascending { "received_at ASC, submission_id ASC" } else { "received_at DESC, submission_id DESC" }
}

/// The `WHERE` clause of an action update listing, over `action_update` joined with
/// `action`.
pub fn update_filter(query: &UpdateQuery, placeholder: &dyn Fn(usize) -> String) -> Filter {
    let mut builder = Builder::new(placeholder);
    builder.programs("action_update.program_id", &query.programs);
    if let Some(action_id) = &query.action_id {
        builder.equals("action_update.action_id", SqlValue::Text(action_id.clone()));
    }
    builder.range("action_update.updated_at", query.at);
    if let Some(state) = &query.state {
        builder.equals("action_update.to_state", SqlValue::Text(state.clone()));
    }
    builder.range("action.event_at", query.event_at);
    builder.range("action.locking_at", query.locking_at);
    match query.test {
        TestActions::Exclude => builder.conditions.push("action.is_test = FALSE".to_owned()),
        TestActions::Only => builder.conditions.push("action.is_test = TRUE".to_owned()),
        TestActions::Include => {}
    }
    builder.finish()
}

/// Which rollup a sum reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// `click_day`: clicks and unique clicks.
    Clicks,
    /// `action_day`: actions, sale amount and payout, per currency.
    Actions,
}

/// The query summing a rollup by the query's dimensions: the key's columns as text
/// first, then (for actions) the currency, then the sums as 64-bit integers.
pub fn rollup_sum(
    rollup: Rollup,
    query: &RollupQuery,
    placeholder: &dyn Fn(usize) -> String,
) -> (String, Vec<SqlValue>) {
    let mut builder = Builder::new(placeholder);
    builder.equals("program_id", SqlValue::Int(query.program.0 as i64));
    let from = builder.bind(SqlValue::Text(query.from.to_string()));
    let to = builder.bind(SqlValue::Text(query.to.to_string()));
    builder.conditions.push(format!("day BETWEEN {from} AND {to}"));
    if let Some(owner) = query.owner {
        builder.equals("owner_id", SqlValue::Int(owner.0 as i64));
    }
    let mut keys: Vec<&str> = query.by.iter().map(|dimension| dimension_column(*dimension)).collect();
    let (table, sums) = match rollup {
        Rollup::Clicks => {
            ("click_day", "CAST(coalesce(sum(clicks), 0) AS BIGINT), CAST(coalesce(sum(unique_clicks), 0) AS BIGINT)")
        }
        Rollup::Actions => {
            if let Some(event_type) = query.event_type {
                builder.equals("event_type_id", SqlValue::Int(event_type.0 as i64));
            }
            match query.test {
                TestActions::Exclude => builder.conditions.push("is_test = FALSE".to_owned()),
                TestActions::Only => builder.conditions.push("is_test = TRUE".to_owned()),
                TestActions::Include => {}
            }
            keys.push("currency");
            (
                "action_day",
                "CAST(sum(actions) AS BIGINT), CAST(sum(sale_amount_minor) AS BIGINT), CAST(sum(payout_minor) AS BIGINT)",
            )
        }
    };
    let filter = builder.finish();
    let selected: Vec<String> = keys.iter().map(|column| format!("CAST({column} AS TEXT)")).collect();
    let select = selected.iter().map(|column| format!("{column}, ")).collect::<String>();
    let group = if keys.is_empty() { String::new() } else { format!(" GROUP BY {}", keys.join(", ")) };
    let sql = format!("SELECT {select}{sums} FROM {table} WHERE {}{group}", filter.condition);
    (sql, filter.params)
}

/// Text matched literally by `LIKE … ESCAPE '\'`.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn dimension_column(dimension: ReportDimension) -> &'static str {
    match dimension {
        ReportDimension::Day => "day",
        ReportDimension::Partner => "owner_id",
        ReportDimension::Ad => "ad_id",
        ReportDimension::Device => "device",
        ReportDimension::SharedId => "shared_id",
    }
}

/// The `ORDER BY` of an action listing; the action id makes the order total, so pages
/// neither repeat nor skip rows.
pub fn action_order(query: &ActionQuery) -> String {
    let column = match query.sort {
        ActionSortKey::CreatedAt => "created_at",
        ActionSortKey::EventAt => "event_at",
        ActionSortKey::LockingAt => "locking_at",
        ActionSortKey::SaleAmount => "sale_amount_minor",
        ActionSortKey::Payout => "payout_minor",
    };
    let direction = if query.descending { "DESC" } else { "ASC" };
    format!("{column} {direction}, action_id {direction}")
}

#[cfg(test)]
mod tests {
    use tally_core::ids::{PartnerId, ProgramId};

    use super::*;

    fn numbered(n: usize) -> String {
        format!("${n}")
    }

    #[test]
    fn filters_bind_every_value_in_order() {
        let query = ActionQuery {
            programs: vec![ProgramId(7), ProgramId(9)],
            owner: Some(PartnerId(3)),
            state: Some("PENDING".into()),
            promo_code: Some("SAVE10".into()),
            test: TestActions::Include,
            ..ActionQuery::default()
        };
        let filter = action_filter(&query, &numbered);
        assert_eq!(
            filter.condition,
            "program_id IN ($1, $2) AND owner_id = $3 AND state = $4 AND lower(promo_code) = $5"
        );
        assert_eq!(filter.params[4], SqlValue::Text("save10".into()));
    }

    #[test]
    fn after_a_cursor_the_created_range_has_one_lower_bound_the_greater() {
        let at = |micros: i64| jiff::Timestamp::from_microsecond(micros).unwrap_or_default();
        let page = |from: i64, cursor: i64| ActionQuery {
            programs: vec![ProgramId(7)],
            created_at: TimeRange { from: Some(at(from)), to: None },
            after: Some((at(cursor), "a1".into())),
            test: TestActions::Include,
            ..ActionQuery::default()
        };
        for (from, cursor, bound) in [(100, 500, 500), (900, 500, 900)] {
            let filter = action_filter(&page(from, cursor), &numbered);
            assert_eq!(
                filter.condition,
                "program_id IN ($1) AND created_at >= $2 AND (created_at, action_id) > ($3, $4)"
            );
            assert_eq!(filter.params[1], SqlValue::Int(bound));
        }
    }

    #[test]
    fn no_program_lists_nothing_and_tests_are_left_out_by_default() {
        let filter = action_filter(&ActionQuery::default(), &numbered);
        assert_eq!(filter.condition, "FALSE AND is_test = FALSE");
    }
}
