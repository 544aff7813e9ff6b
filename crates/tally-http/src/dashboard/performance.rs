//! `/programs/{id}/performance`: clicks, actions, conversion rate, sales, payout and EPC
//! by day, partner, ad, device, shared id, SKU or category (SPEC §10), read by
//! `tally_app::reports` with the native API's parameters, and charted by the server
//! (`tally_core::chart`). The page's own `measure` picks what the chart shows.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use tally_app::catalog::ProgramEntry;
use tally_app::ports::ReportDimension;
use tally_app::reports::{self, Grouping, PerformanceReport, PerformanceRow, Reports};
use tally_core::chart::{self, Point};
use tally_core::ids::{AdId, PartnerId};

use super::actions::{Choice, choices};
use super::format::{money, number, owner_name};
use super::layout::{Layout, Section};
use super::session::Session;
use super::{PageError, html, query_pairs};
use crate::AppState;

/// The bars a ranking chart shows at most.
const MAX_BARS: usize = 20;

const MEASURES: &[(&str, &str)] = &[
    ("payout", "Payout"),
    ("saleAmount", "Sales"),
    ("actions", "Actions"),
    ("clicks", "Clicks"),
    ("conversionRate", "Conversion rate (%)"),
    ("epc", "EPC"),
];

#[derive(Template)]
#[template(path = "dashboard/performance.html")]
struct PerformancePage {
    layout: Layout,
    program_id: u64,
    from: String,
    to: String,
    groupings: Vec<Choice>,
    partners: Vec<Choice>,
    tests: Vec<Choice>,
    measures: Vec<Choice>,
    partner_view: bool,
    error: Option<String>,
    chart: String,
    key_label: String,
    rows: Vec<Row>,
    total: Option<Row>,
    item_report: bool,
}

struct Row {
    key: String,
    clicks: String,
    unique_clicks: String,
    actions: String,
    quantity: String,
    conversion_rate: String,
    sale_amount: String,
    payout: String,
    epc: String,
}

/// `GET /programs/{id}/performance?from&to&by&partner&test&measure`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.program(&catalog, &id).ok_or(PageError::NotFound)?;
    let program = &entry.program;
    let (measure_pairs, pairs): (Vec<_>, Vec<_>) =
        query_pairs(raw.as_deref()).into_iter().partition(|(name, _)| name == "measure");
    let measure = measure_pairs
        .first()
        .map(|(_, value)| value.as_str())
        .filter(|value| MEASURES.iter().any(|(key, _)| key == value))
        .unwrap_or("payout")
        .to_owned();
    let today = state.clock.now().to_zoned(program.time_zone().clone()).date();
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::Performance, "Performance");
    let mut page = form(layout, &entry, &pairs, &measure, session.scope.is_brand());
    let request = match reports::read(&pairs, program.id(), today, session.scope.viewer()) {
        Ok(request) => request,
        Err(error) => {
            page.error = Some(error.to_string());
            return Ok(html(StatusCode::BAD_REQUEST, &page));
        }
    };
    page.from = request.from.to_string();
    page.to = request.to.to_string();
    let report =
        Reports::new(state.store.clone()).performance(request, program.currency(), program.time_zone()).await?;
    fill(&mut page, &entry, &report, &measure);
    Ok(html(StatusCode::OK, &page))
}

fn form(
    layout: Layout,
    entry: &ProgramEntry,
    pairs: &[(String, String)],
    measure: &str,
    brand: bool,
) -> PerformancePage {
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str());
    let document = entry.program.document();
    let mut groupings = vec![
        ("partner", "Partner"),
        ("ad", "Ad"),
        ("device", "Device"),
        ("sharedId", "Shared id"),
        ("sku", "SKU"),
        ("category", "Category"),
    ];
    if !brand {
        groupings.retain(|(key, _)| *key != "partner");
    }
    let groupings = groupings.into_iter().map(|(key, label)| (key.to_owned(), label.to_owned())).collect();
    let mut partners = Vec::new();
    if brand {
        partners.extend(document.partners.iter().map(|p| (p.id.to_string(), format!("{} ({})", p.name, p.id))));
        partners.extend(document.media_sources.iter().map(|m| (m.id.to_string(), format!("{} ({})", m.name, m.id))));
    }
    let tests = vec![("include".to_owned(), "Real and test".to_owned()), ("only".to_owned(), "Test only".to_owned())];
    let measures = MEASURES[1..].iter().map(|(key, label)| ((*key).to_owned(), (*label).to_owned())).collect();
    PerformancePage {
        layout,
        program_id: entry.program.id().0,
        from: value("from").to_owned(),
        to: value("to").to_owned(),
        groupings: choices("Day", groupings, value("by")),
        partners: choices("Every partner", partners, value("partner")),
        tests: choices("Real only", tests, value("test")),
        measures: choices("Payout", measures, if measure == "payout" { "" } else { measure }),
        partner_view: !brand,
        error: None,
        chart: String::new(),
        key_label: "Day".into(),
        rows: Vec::new(),
        total: None,
        item_report: false,
    }
}

fn fill(page: &mut PerformancePage, entry: &ProgramEntry, report: &PerformanceReport, measure: &str) {
    let request = &report.request;
    let labels: Vec<String> = match request.grouping {
        Grouping::Sku => vec!["SKU".into()],
        Grouping::Category => vec!["Category".into()],
        Grouping::Rollup => request.by.iter().map(|dimension| dimension_label(*dimension).to_owned()).collect(),
    };
    page.key_label = if labels.is_empty() { "Program".into() } else { labels.join(" · ") };
    page.item_report = request.grouping != Grouping::Rollup;
    let key_of = |row: &PerformanceRow| key_text(entry, report, row);
    let value = measure_of(measure);
    let mut points: Vec<Point> =
        report.rows.iter().map(|row| Point { label: key_of(row), value: value(row) }).collect();
    let title = format!(
        "{} by {}, {} to {}",
        MEASURES.iter().find(|(key, _)| *key == measure).map_or("Payout", |(_, label)| label),
        page.key_label.to_lowercase(),
        request.from,
        request.to
    );
    page.chart = if request.by == [ReportDimension::Day] {
        chart::line(&title, &points)
    } else {
        points.sort_by_key(|point| std::cmp::Reverse(point.value));
        points.truncate(MAX_BARS);
        chart::bars(&title, &points)
    };
    page.rows = report.rows.iter().map(|row| row_view(key_of(row), row)).collect();
    page.total = Some(row_view("Total".into(), &report.total));
}

fn measure_of(name: &str) -> fn(&PerformanceRow) -> Decimal {
    match name {
        "saleAmount" => |row| row.sale_amount,
        "actions" => |row| row.actions.into(),
        "clicks" => |row| row.clicks.into(),
        "conversionRate" => |row| row.conversion_rate().unwrap_or_default(),
        "epc" => |row| row.epc().unwrap_or_default(),
        _ => |row| row.payout,
    }
}

fn dimension_label(dimension: ReportDimension) -> &'static str {
    match dimension {
        ReportDimension::Day => "Day",
        ReportDimension::Partner => "Partner",
        ReportDimension::Ad => "Ad",
        ReportDimension::Device => "Device",
        ReportDimension::SharedId => "Shared id",
    }
}

/// A row's key in words: names for partners and ads, a word for "none".
fn key_text(entry: &ProgramEntry, report: &PerformanceReport, row: &PerformanceRow) -> String {
    let program = &entry.program;
    let parts: Vec<String> = match report.request.grouping {
        Grouping::Sku | Grouping::Category => {
            row.key.iter().map(|key| if key.is_empty() { "(none)".to_owned() } else { key.clone() }).collect()
        }
        Grouping::Rollup => report
            .request
            .by
            .iter()
            .zip(&row.key)
            .map(|(dimension, key)| match dimension {
                ReportDimension::Partner => key.parse().map_or(key.clone(), |id| owner_name(program, PartnerId(id))),
                ReportDimension::Ad => match key.parse::<u64>() {
                    Ok(id) => program
                        .document()
                        .ads
                        .iter()
                        .find(|ad| ad.id == AdId(id))
                        .map_or_else(|| format!("Ad {id}"), |ad| ad.name.clone()),
                    Err(_) => "No ad".to_owned(),
                },
                ReportDimension::Device | ReportDimension::SharedId if key.is_empty() => "(none)".to_owned(),
                _ => key.clone(),
            })
            .collect(),
    };
    let text = parts.join(" · ");
    if row.currency != program.currency() { format!("{text} ({})", row.currency.code()) } else { text }
}

fn row_view(key: String, row: &PerformanceRow) -> Row {
    let counted = |count: u64| number(count.into(), 0);
    Row {
        key,
        clicks: counted(row.clicks),
        unique_clicks: counted(row.unique_clicks),
        actions: counted(row.actions),
        quantity: counted(row.quantity),
        conversion_rate: row.conversion_rate().map(|rate| format!("{} %", number(rate, 2))).unwrap_or("—".into()),
        sale_amount: money(row.sale_amount, row.currency),
        payout: money(row.payout, row.currency),
        epc: row.epc().map(|epc| money(epc, row.currency)).unwrap_or("—".into()),
    }
}
