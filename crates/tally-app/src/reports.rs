//! Performance reports (SPEC §10): clicks, unique clicks, actions, conversion rate,
//! sale amount, payout and EPC, by day, partner, ad, device and shared id, read from the
//! rollups (so a 90-day report sums thousands of rows, not millions), and by SKU and
//! category, read from the actions' items.
//!
//! Parameters, shared by the API and the dashboard: `from` and `to` (days in the
//! program's time zone, both included, at most 366 days apart; default the last 30 days),
//! `by` (comma-separated: `day`, `partner`, `ad`, `device`, `sharedId`, or one of `sku`,
//! `category` alone), `partner` and `test` (`exclude`, the default, `include`, `only`).
//!
//! Conversion rate is actions per click, in percent; EPC (earnings per click) is the
//! payout per click; both are `None` without clicks. Clicks are people's (crawlers'
//! are kept but not counted); actions are those not reversed.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use tally_core::ids::{PartnerId, ProgramId};
use tally_core::money::Currency;

use crate::listing::{MAX_RANGE_DAYS, ParameterError, Viewer};
use crate::ports::{ActionQuery, ReportDimension, RollupQuery, Store, StoreResult, TestActions, TimeRange};

/// The parameters a report takes.
pub const PARAMETERS: &[&str] = &["from", "to", "by", "partner", "test"];

/// Days in the default range.
const DEFAULT_DAYS: i64 = 30;

/// What a report groups by: a rollup dimension, or an item field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Dimensions of the rollups, in order.
    Rollup,
    /// The items' SKU.
    Sku,
    /// The items' category.
    Category,
}

/// A checked report question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceRequest {
    /// The program.
    pub program: ProgramId,
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
    /// Rollup dimensions (empty for SKU and category).
    pub by: Vec<ReportDimension>,
    /// Rollup dimensions, or SKU, or category.
    pub grouping: Grouping,
    /// Only this partner's.
    pub owner: Option<PartnerId>,
    /// Test actions or not.
    pub test: TestActions,
}

/// One row of a report: the key's values, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceRow {
    /// The key (`2026-11-24`, a partner id, `-1` for no ad, …).
    pub key: Vec<String>,
    /// People's clicks.
    pub clicks: u64,
    /// Unique clicks.
    pub unique_clicks: u64,
    /// Actions not reversed.
    pub actions: u64,
    /// Items sold (SKU and category reports only).
    pub quantity: u64,
    /// The currency of the amounts.
    pub currency: Currency,
    /// Their sale amount.
    pub sale_amount: Decimal,
    /// Their payout.
    pub payout: Decimal,
}

impl PerformanceRow {
    fn empty(key: Vec<String>, currency: Currency) -> Self {
        PerformanceRow {
            key,
            clicks: 0,
            unique_clicks: 0,
            actions: 0,
            quantity: 0,
            currency,
            sale_amount: Decimal::ZERO,
            payout: Decimal::ZERO,
        }
    }

    /// Actions per click, in percent, to two places.
    pub fn conversion_rate(&self) -> Option<Decimal> {
        (self.clicks > 0)
            .then(|| (Decimal::from(self.actions) * Decimal::ONE_HUNDRED / Decimal::from(self.clicks)).round_dp(2))
    }

    /// Payout per click, to the currency's minor unit.
    pub fn epc(&self) -> Option<Decimal> {
        (self.clicks > 0)
            .then(|| (self.payout / Decimal::from(self.clicks)).round_dp(self.currency.minor_unit_digits()))
    }

    fn add(&mut self, other: &PerformanceRow) {
        self.clicks += other.clicks;
        self.unique_clicks += other.unique_clicks;
        self.actions += other.actions;
        self.quantity += other.quantity;
        if other.currency == self.currency {
            self.sale_amount += other.sale_amount;
            self.payout += other.payout;
        }
    }
}

/// A report: its rows, and their total in the program's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceReport {
    /// The question.
    pub request: PerformanceRequest,
    /// One row per key (and currency, when a key has actions in several).
    pub rows: Vec<PerformanceRow>,
    /// Everything summed (amounts in the program's currency only).
    pub total: PerformanceRow,
}

fn refuse(parameter: &str, message: impl Into<String>) -> ParameterError {
    ParameterError { parameter: parameter.to_owned(), message: message.into() }
}

/// Reads a report's parameters for `program`, on `today` in its time zone.
pub fn read(
    pairs: &[(String, String)],
    program: ProgramId,
    today: Date,
    viewer: Viewer,
) -> Result<PerformanceRequest, ParameterError> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(refuse(name, format!("unknown parameter; a report takes {}", PARAMETERS.join(", "))));
        }
        if seen.contains(&name.as_str()) {
            return Err(refuse(name, "given twice"));
        }
        seen.push(name);
    }
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim());
    let day = |name: &str| -> Result<Option<Date>, ParameterError> {
        value(name)
            .map(|text| {
                text.parse::<Date>().map_err(|_| refuse(name, format!("{text:?} is not a day such as 2026-11-24")))
            })
            .transpose()
    };
    let to = day("to")?.unwrap_or(today);
    let from = day("from")?.unwrap_or_else(|| to.checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1)).unwrap_or(to));
    if to < from {
        return Err(refuse("to", "to is before from"));
    }
    if (to - from).get_days() >= MAX_RANGE_DAYS as i32 {
        return Err(refuse("to", format!("the range spans more than {MAX_RANGE_DAYS} days")));
    }
    let (by, grouping) = dimensions(value("by").unwrap_or("day"))?;
    let asked = value("partner")
        .map(|text| text.parse::<u64>().map(PartnerId).map_err(|_| refuse("partner", "must be a partner id")))
        .transpose()?;
    let owner = match viewer {
        Viewer::Brand => asked,
        Viewer::Partner(own) => match asked {
            Some(other) if other != own => return Err(refuse("partner", format!("partner {other} not found"))),
            _ => Some(own),
        },
    };
    let test = match value("test") {
        None | Some("exclude") => TestActions::Exclude,
        Some("include") => TestActions::Include,
        Some("only") => TestActions::Only,
        Some(other) => return Err(refuse("test", format!("{other:?} is not one of exclude, include, only"))),
    };
    Ok(PerformanceRequest { program, from, to, by, grouping, owner, test })
}

fn dimensions(text: &str) -> Result<(Vec<ReportDimension>, Grouping), ParameterError> {
    let names: Vec<&str> = text.split(',').map(str::trim).filter(|name| !name.is_empty()).collect();
    match names.as_slice() {
        ["sku"] => return Ok((Vec::new(), Grouping::Sku)),
        ["category"] => return Ok((Vec::new(), Grouping::Category)),
        _ => {}
    }
    let mut by = Vec::new();
    for name in names {
        let dimension = match name {
            "day" => ReportDimension::Day,
            "partner" => ReportDimension::Partner,
            "ad" => ReportDimension::Ad,
            "device" => ReportDimension::Device,
            "sharedId" => ReportDimension::SharedId,
            "sku" | "category" => return Err(refuse("by", format!("{name} cannot be combined with other dimensions"))),
            other => {
                return Err(refuse(
                    "by",
                    format!("{other:?} is not one of day, partner, ad, device, sharedId, sku, category"),
                ));
            }
        };
        if by.contains(&dimension) {
            return Err(refuse("by", format!("{name} is named twice")));
        }
        by.push(dimension);
    }
    Ok((by, Grouping::Rollup))
}

/// The use case.
#[derive(Clone)]
pub struct Reports {
    store: Arc<dyn Store>,
}

impl Reports {
    /// Builds the use case.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Reports { store }
    }

    /// Answers a report for a program whose currency and time zone are given.
    pub async fn performance(
        &self,
        request: PerformanceRequest,
        currency: Currency,
        time_zone: &TimeZone,
    ) -> StoreResult<PerformanceReport> {
        let mut rows = match request.grouping {
            Grouping::Rollup => self.rollup_rows(&request, currency).await?,
            Grouping::Sku | Grouping::Category => self.item_rows(&request, time_zone).await?,
        };
        if request.by == [ReportDimension::Day] {
            rows = every_day(rows, request.from, request.to, currency);
        }
        let mut total = PerformanceRow::empty(Vec::new(), currency);
        for row in &rows {
            total.add(row);
        }
        Ok(PerformanceReport { request, rows, total })
    }

    async fn rollup_rows(&self, request: &PerformanceRequest, currency: Currency) -> StoreResult<Vec<PerformanceRow>> {
        let query = RollupQuery {
            program: request.program,
            from: request.from,
            to: request.to,
            by: request.by.clone(),
            owner: request.owner,
            event_type: None,
            test: request.test,
        };
        let mut rows: BTreeMap<(Vec<String>, String), PerformanceRow> = BTreeMap::new();
        // Tests are not clicks: a report of test actions only shows no clicks.
        if request.test != TestActions::Only {
            for sums in self.store.click_sums(&query).await? {
                let row = rows
                    .entry((sums.key.clone(), currency.code().to_owned()))
                    .or_insert_with(|| PerformanceRow::empty(sums.key.clone(), currency));
                row.clicks += sums.clicks;
                row.unique_clicks += sums.unique_clicks;
            }
        }
        for sums in self.store.action_sums(&query).await? {
            let row = rows
                .entry((sums.key.clone(), sums.currency.code().to_owned()))
                .or_insert_with(|| PerformanceRow::empty(sums.key.clone(), sums.currency));
            row.actions += sums.actions;
            row.sale_amount += sums.sale_amount;
            row.payout += sums.payout;
        }
        Ok(rows.into_values().filter(|row| row.clicks > 0 || row.actions > 0 || !row.payout.is_zero()).collect())
    }

    /// SKU and category reports read the items of the actions in the range, page by page.
    async fn item_rows(&self, request: &PerformanceRequest, time_zone: &TimeZone) -> StoreResult<Vec<PerformanceRow>> {
        let start = |day: Date| day.to_zoned(time_zone.clone()).map(|zoned| zoned.timestamp()).ok();
        let until = request.to.tomorrow().ok().and_then(start);
        let mut query = ActionQuery {
            programs: vec![request.program],
            owner: request.owner,
            event_at: TimeRange {
                from: start(request.from),
                to: until.map(|at| at - jiff::SignedDuration::from_micros(1)),
            },
            test: request.test,
            limit: 5_000,
            ..ActionQuery::default()
        };
        let by_sku = request.grouping == Grouping::Sku;
        let mut rows: BTreeMap<(String, String), PerformanceRow> = BTreeMap::new();
        loop {
            let page = self.store.list_actions(&query).await?;
            for action in page.iter().filter(|action| action.state != "REVERSED") {
                // Only the items and their payout lines are read; the journey is skipped.
                let Ok(detail) = serde_json::from_str::<ItemsOnly>(&action.detail) else { continue };
                let mut payouts: BTreeMap<usize, Decimal> = BTreeMap::new();
                for line in &detail.payout_lines {
                    if let Some(index) = line.item {
                        *payouts.entry(index).or_insert(Decimal::ZERO) += line.amount;
                    }
                }
                for (index, item) in detail.items.iter().enumerate() {
                    let key = if by_sku { &item.sku } else { &item.category }.clone().unwrap_or_default();
                    let row = rows
                        .entry((key.clone(), action.currency.code().to_owned()))
                        .or_insert_with(|| PerformanceRow::empty(vec![key], action.currency));
                    row.actions += 1;
                    row.quantity += item.quantity;
                    row.sale_amount += item.sale_amount.unwrap_or_default();
                    row.payout += payouts.get(&index).copied().unwrap_or(Decimal::ZERO);
                }
            }
            match page.last() {
                Some(last) if page.len() == query.limit as usize => {
                    query.after = Some((last.created_at, last.action_id.clone()));
                }
                _ => break,
            }
        }
        Ok(rows.into_values().collect())
    }
}

/// What an item report reads of an action's detail.
#[derive(serde::Deserialize)]
struct ItemsOnly {
    #[serde(default)]
    items: Vec<ItemJson>,
    #[serde(default, rename = "payoutLines")]
    payout_lines: Vec<LineJson>,
}

#[derive(serde::Deserialize)]
struct ItemJson {
    sku: Option<String>,
    category: Option<String>,
    #[serde(default)]
    quantity: u64,
    #[serde(rename = "saleAmount", default, with = "rust_decimal::serde::str_option")]
    sale_amount: Option<Decimal>,
}

/// A payout line: the item it pays (at ITEM level) and its amount.
#[derive(serde::Deserialize)]
struct LineJson {
    item: Option<usize>,
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
}

/// A report by day has a row for every day of its range, so a chart has no gaps.
fn every_day(rows: Vec<PerformanceRow>, from: Date, to: Date, currency: Currency) -> Vec<PerformanceRow> {
    let mut by_day: BTreeMap<String, Vec<PerformanceRow>> = BTreeMap::new();
    for row in rows {
        by_day.entry(row.key[0].clone()).or_default().push(row);
    }
    let mut filled = Vec::new();
    let mut day = from;
    while day <= to {
        match by_day.remove(&day.to_string()) {
            Some(rows) => filled.extend(rows),
            None => filled.push(PerformanceRow::empty(vec![day.to_string()], currency)),
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn the_default_is_the_last_thirty_days_by_day() {
        let request = read(&[], ProgramId(1), date(2026, 11, 24), Viewer::Brand).unwrap();
        assert_eq!((request.from, request.to), (date(2026, 10, 26), date(2026, 11, 24)));
        assert_eq!((request.by.as_slice(), request.grouping), (&[ReportDimension::Day][..], Grouping::Rollup));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (list, name) in [
            (vec![("from", "2026-02-01"), ("to", "2026-01-01")], "to"),
            (vec![("from", "2025-01-01"), ("to", "2026-06-01")], "to"),
            (vec![("by", "colour")], "by"),
            (vec![("by", "sku,day")], "by"),
            (vec![("by", "day,day")], "by"),
            (vec![("from", "yesterday")], "from"),
            (vec![("size", "3")], "size"),
            (vec![("test", "maybe")], "test"),
        ] {
            let error = read(&pairs(&list), ProgramId(1), date(2026, 11, 24), Viewer::Brand).unwrap_err();
            assert_eq!(error.parameter, name, "{list:?}");
        }
        let other = read(&pairs(&[("partner", "9")]), ProgramId(1), date(2026, 11, 24), Viewer::Partner(PartnerId(3)));
        assert_eq!(other.unwrap_err().parameter, "partner");
    }

    #[test]
    fn rates_are_per_click_and_absent_without_clicks() {
        let usd: Currency = "USD".parse().unwrap();
        let mut row = PerformanceRow::empty(Vec::new(), usd);
        assert_eq!((row.conversion_rate(), row.epc()), (None, None));
        (row.clicks, row.actions, row.payout) = (300, 7, Decimal::new(4_550, 2));
        assert_eq!(row.conversion_rate(), Some(Decimal::new(233, 2)));
        assert_eq!(row.epc(), Some(Decimal::new(15, 2)));
    }

    #[test]
    fn a_day_report_has_every_day() {
        let usd: Currency = "USD".parse().unwrap();
        let mut sparse = PerformanceRow::empty(vec!["2026-11-02".into()], usd);
        sparse.clicks = 5;
        let days = every_day(vec![sparse], date(2026, 11, 1), date(2026, 11, 3), usd);
        let keys: Vec<&str> = days.iter().map(|row| row.key[0].as_str()).collect();
        assert_eq!(keys, ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(days[1].clicks, 5);
    }
}
