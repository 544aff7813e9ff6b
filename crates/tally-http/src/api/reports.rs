//! Reports through the native API (SPEC §10):
//!
//! - `GET …/actions?…&format=json|csv`: the action listing with every filter of
//!   `tally_app::listing`; JSON is paged, CSV streams the whole result.
//! - `GET …/performance?from&to&by&partner&test&format=json|csv|svg[&measure=…]`.
//! - `GET …/invalid-conversions?reason&from&to&page&pageSize`: refused conversions with
//!   their raw submission (brand only).
//! - `GET …/integration-check`: what is wrong or missing in recent submissions, and
//!   how to fix it (brand only).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use serde_json::{Value, json};
use tally_app::action_export::ActionExport;
use tally_app::integration::IntegrationCheck;
use tally_app::listing::{self, ParameterError, Viewer};
use tally_app::ports::{SubmissionQuery, TimeRange};
use tally_app::reports::{self, PerformanceReport, PerformanceRow, Reports};
use tally_core::chart::{self, Point};
use tally_core::program::Program;

use super::conversions::action_json;
use super::{Caller, program_id};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/programs/{id}/actions", get(actions))
        .route("/programs/{id}/performance", get(performance))
        .route("/programs/{id}/invalid-conversions", get(invalid_conversions))
        .route("/programs/{id}/integration-check", get(integration_check))
}

/// The program in the path, if it is the caller's account's.
fn program(state: &AppState, caller: &Caller, id: &str) -> Result<Arc<Program>, ApiError> {
    let program = program_id(id)?;
    let catalog = state.catalog.get();
    let entry = catalog.program(program).filter(|entry| entry.account_sid == caller.0.account_sid);
    let entry = entry.ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("program {id:?} not found")))?;
    Ok(entry.program.clone())
}

fn viewer(caller: &Caller) -> Viewer {
    caller.0.partner.map_or(Viewer::Brand, Viewer::Partner)
}

fn brand_only(caller: &Caller) -> Result<(), ApiError> {
    match caller.0.partner {
        None => Ok(()),
        Some(_) => Err(ApiError::new(ErrorKind::Forbidden, "this report is the brand's")),
    }
}

fn parameter_error(error: ParameterError) -> ApiError {
    // A partner naming another partner learns nothing of it: not found, not refused.
    if error.parameter == "partner" && error.message.ends_with("not found") {
        return ApiError::new(ErrorKind::NotFound, error.message);
    }
    ApiError::parameter(&error.parameter, error.message)
}

/// The query's pairs, with `format` (and `measure`) taken out.
/// Name and value pairs of a query string.
type Pairs = Vec<(String, String)>;

fn split(raw: Option<&str>, extra: &[&str]) -> (Pairs, Pairs) {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .partition(|(name, _)| !extra.contains(&name.as_str()))
}

fn one<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut values = pairs.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::parameter(name, "given twice"));
    }
    Ok(first)
}

fn attachment(content_type: &str, file_name: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
        ],
        body,
    )
        .into_response()
}

async fn actions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let program = program(&state, &caller, &id)?;
    let (pairs, extra) = split(raw.as_deref(), &["format"]);
    let format = one(&extra, "format")?.unwrap_or("json");
    let listing = listing::read(&pairs, program.id(), program.time_zone(), viewer(&caller)).map_err(parameter_error)?;
    let for_partner = caller.0.partner.is_some();
    match format {
        "json" => {
            let total = state.store.count_actions(&listing.query).await?;
            let rows = state.store.list_actions(&listing.query).await?;
            let actions: Vec<Value> = rows
                .iter()
                .map(|action| {
                    let mut row = action_json(action, for_partner);
                    if let Value::Object(fields) = &mut row {
                        for heavy in ["items", "order", "payoutLines", "payoutNotes", "journey", "identity"] {
                            fields.remove(heavy);
                        }
                    }
                    row
                })
                .collect();
            Ok(axum::Json(json!({
                "actions": actions, "page": listing.page, "pageSize": listing.page_size, "total": total,
            }))
            .into_response())
        }
        "csv" => {
            let export = ActionExport::new(state.store.clone(), listing.query, for_partner);
            let body = Body::from_stream(stream::unfold(Some(export), |export| async move {
                let mut export = export?;
                match export.next_chunk().await {
                    Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), Some(export))),
                    Ok(None) => None,
                    Err(error) => {
                        tracing::error!(%error, "action export failed mid-stream");
                        Some((Err(std::io::Error::other(error.to_string())), None))
                    }
                }
            }));
            Ok(attachment("text/csv; charset=utf-8", &format!("actions-{}.csv", program.id()), body))
        }
        other => Err(ApiError::parameter("format", format!("{other:?} is not json or csv"))),
    }
}

async fn performance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let program = program(&state, &caller, &id)?;
    let (pairs, extra) = split(raw.as_deref(), &["format", "measure"]);
    let format = one(&extra, "format")?.unwrap_or("json");
    let measure = one(&extra, "measure")?.unwrap_or("payout");
    let today = state.clock.now().to_zoned(program.time_zone().clone()).date();
    let request = reports::read(&pairs, program.id(), today, viewer(&caller)).map_err(parameter_error)?;
    let report =
        Reports::new(state.store.clone()).performance(request, program.currency(), program.time_zone()).await?;
    match format {
        "json" => Ok(axum::Json(report_json(&report)).into_response()),
        "csv" => Ok(attachment(
            "text/csv; charset=utf-8",
            &format!("performance-{}.csv", program.id()),
            Body::from(report_csv(&report)),
        )),
        "svg" => {
            let value = measure_of(measure)?;
            let points: Vec<Point> =
                report.rows.iter().map(|row| Point { label: row.key.join(" · "), value: value(row) }).collect();
            let title = format!("{measure} by {}", by_label(&report));
            let svg = if report.request.by == [tally_app::ports::ReportDimension::Day] {
                chart::line(&title, &points)
            } else {
                let mut ranked = points;
                ranked.sort_by_key(|point| std::cmp::Reverse(point.value));
                ranked.truncate(20);
                chart::bars(&title, &ranked)
            };
            Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
        }
        other => Err(ApiError::parameter("format", format!("{other:?} is not json, csv or svg"))),
    }
}

type Measure = fn(&PerformanceRow) -> rust_decimal::Decimal;

fn measure_of(name: &str) -> Result<Measure, ApiError> {
    Ok(match name {
        "payout" => |row| row.payout,
        "saleAmount" => |row| row.sale_amount,
        "actions" => |row| row.actions.into(),
        "clicks" => |row| row.clicks.into(),
        "conversionRate" => |row| row.conversion_rate().unwrap_or_default(),
        "epc" => |row| row.epc().unwrap_or_default(),
        other => {
            return Err(ApiError::parameter(
                "measure",
                format!("{other:?} is not one of payout, saleAmount, actions, clicks, conversionRate, epc"),
            ));
        }
    })
}

fn by_label(report: &PerformanceReport) -> String {
    match report.request.grouping {
        tally_app::reports::Grouping::Sku => "SKU".into(),
        tally_app::reports::Grouping::Category => "category".into(),
        tally_app::reports::Grouping::Rollup => {
            let names: Vec<String> =
                report.request.by.iter().map(|dimension| format!("{dimension:?}").to_lowercase()).collect();
            if names.is_empty() { "program".into() } else { names.join(", ") }
        }
    }
}

fn row_json(row: &PerformanceRow) -> Value {
    json!({
        "key": row.key, "clicks": row.clicks, "uniqueClicks": row.unique_clicks, "actions": row.actions,
        "quantity": row.quantity, "conversionRate": row.conversion_rate().map(|rate| rate.to_string()),
        "currency": row.currency.code(), "saleAmount": row.sale_amount.to_string(), "payout": row.payout.to_string(),
        "epc": row.epc().map(|epc| epc.to_string()),
    })
}

fn report_json(report: &PerformanceReport) -> Value {
    json!({
        "from": report.request.from.to_string(), "to": report.request.to.to_string(), "by": by_label(report),
        "rows": report.rows.iter().map(row_json).collect::<Vec<_>>(), "total": row_json(&report.total),
    })
}

fn report_csv(report: &PerformanceReport) -> String {
    use tally_app::csv_text::{end_line, push_field, push_text};
    let mut text =
        String::from("key,clicks,unique_clicks,actions,quantity,conversion_rate,currency,sale_amount,payout,epc\n");
    for row in &report.rows {
        push_text(&mut text, &row.key.join(" "));
        for count in [row.clicks, row.unique_clicks, row.actions, row.quantity] {
            push_field(&mut text, &count.to_string());
        }
        push_field(&mut text, &row.conversion_rate().map(|rate| rate.to_string()).unwrap_or_default());
        push_field(&mut text, row.currency.code());
        push_field(&mut text, &row.sale_amount.to_string());
        push_field(&mut text, &row.payout.to_string());
        push_field(&mut text, &row.epc().map(|epc| epc.to_string()).unwrap_or_default());
        end_line(&mut text);
    }
    text
}

const INVALID_PARAMETERS: &[&str] = &["reason", "from", "to", "page", "pageSize"];

async fn invalid_conversions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    brand_only(&caller)?;
    let program = program(&state, &caller, &id)?;
    let parameters = super::query_parameters(raw.as_deref(), INVALID_PARAMETERS)?;
    let instant = |name: &str| -> Result<Option<jiff::Timestamp>, ApiError> {
        parameters
            .get(name)
            .map(|text| {
                text.parse().map_err(|_| ApiError::parameter(name, format!("{text:?} is not an RFC 3339 instant")))
            })
            .transpose()
    };
    let received_at = TimeRange { from: instant("from")?, to: instant("to")? };
    if let (Some(from), Some(to)) = (received_at.from, received_at.to)
        && to < from
    {
        return Err(ApiError::parameter("to", "to is before from"));
    }
    let number = |name: &str, default: u64, max: u64| -> Result<u64, ApiError> {
        match parameters.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|value| (1..=max).contains(value))
                .ok_or_else(|| ApiError::parameter(name, format!("must be a whole number from 1 to {max}"))),
        }
    };
    let page = number("page", 1, u64::from(u32::MAX))?;
    let page_size = number("pageSize", 50, 1_000)?;
    let query = SubmissionQuery {
        account_sid: caller.0.account_sid.clone(),
        program: Some(program.id()),
        refused: Some(true),
        error_type: parameters.get("reason").map(|reason| reason.to_ascii_uppercase()),
        received_at,
        offset: (page - 1) * page_size,
        limit: page_size as u32,
        ..SubmissionQuery::default()
    };
    let total = state.store.count_submissions(&query).await?;
    let rows = state.store.list_submissions(&query).await?;
    let submissions: Vec<Value> = rows
        .iter()
        .map(|submission| {
            json!({
                "submissionId": submission.submission_id, "receivedAt": submission.received_at.to_string(),
                "kind": submission.kind, "channel": submission.channel, "reason": submission.error_type,
                "message": submission.error_reason, "orderId": submission.order_id,
                "eventTypeId": submission.event_type.map(|event_type| event_type.0),
                "contentType": submission.content_type, "payload": submission.payload,
                "detail": submission.detail.as_deref().and_then(|detail| serde_json::from_str::<Value>(detail).ok()),
            })
        })
        .collect();
    Ok(axum::Json(json!({"submissions": submissions, "page": page, "pageSize": page_size, "total": total}))
        .into_response())
}

async fn integration_check(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    brand_only(&caller)?;
    let program = program(&state, &caller, &id)?;
    let check = IntegrationCheck::new(state.store.clone(), state.clock.clone());
    let report = check.run(&caller.0.account_sid, program.id(), program.currency()).await?;
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            json!({
                "code": finding.check.code(), "title": finding.check.title(), "count": finding.count,
                "examples": finding.examples, "fix": finding.check.fix(),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "since": report.since.to_string(), "checkedSubmissions": report.checked, "findings": findings,
    }))
    .into_response())
}
