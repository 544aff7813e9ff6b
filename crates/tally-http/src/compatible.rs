//! The compatible API (SPEC §4.1): the paths, parameter names, answers and error shape
//! of the platform in our brief, so that a brand's existing server-to-server
//! integration points at Tally and changes nothing else.
//!
//! `POST /Advertisers/{AccountSID}/Conversions` takes a conversion as a form or JSON
//! body under HTTP Basic auth (RFC 7617: account SID and auth token); Tally finishes
//! the work before answering, so the `QueuedUri` it returns already reads `Complete`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use tally_app::actions::{ActionRef, ChangeSubmission};
use tally_app::conversions::{Channel, Decision, Submission};
use tally_app::ports::{StoreError, SubmissionRecord};
use tally_core::conversion::{FieldError, compatible};
use tally_core::modification::{LineChange, Modification};

use crate::AppState;

mod action_updates;
mod campaigns;
mod invoices;
mod listing;
mod page_load;
mod paging;
mod partners;
mod promo_codes;
mod reads;
mod submissions;
mod unique_urls;

/// The largest conversion body read: a thousand items fit easily.
const MAX_BODY_BYTES: usize = 256 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/Advertisers/{sid}/Conversions", post(conversion))
        .route("/Advertisers/{sid}/Conversions.json", post(conversion))
        .route("/Advertisers/{sid}/APISubmissions/{id}", get(submission))
        .route("/Advertisers/{sid}/Actions", get(reads::actions).delete(reverse).put(modify))
        .route("/Advertisers/{sid}/Actions.json", get(reads::actions))
        .route("/Advertisers/{sid}/Actions/{id}", get(reads::action))
        .route("/Advertisers/{sid}/CompanyInformation", get(campaigns::company_information))
        .route("/Advertisers/{sid}/CompanyInformation.json", get(campaigns::company_information))
        .route("/Advertisers/{sid}/Campaigns", get(campaigns::campaigns))
        .route("/Advertisers/{sid}/Campaigns.json", get(campaigns::campaigns))
        .route("/Advertisers/{sid}/Campaigns/{id}", get(campaigns::campaign))
        .route("/Advertisers/{sid}/ActionUpdates", get(action_updates::action_updates))
        .route("/Advertisers/{sid}/ActionUpdates.json", get(action_updates::action_updates))
        .route("/Advertisers/{sid}/APISubmissions", get(submissions::api_submissions))
        .route("/Advertisers/{sid}/APISubmissions.json", get(submissions::api_submissions))
        .route("/Advertisers/{sid}/MediaPartners", get(partners::media_partners))
        .route("/Advertisers/{sid}/MediaPartners.json", get(partners::media_partners))
        .route("/Advertisers/{sid}/MediaPartners/{id}", get(partners::media_partner))
        .route("/Advertisers/{sid}/PromoCodes", get(promo_codes::promo_codes))
        .route("/Advertisers/{sid}/PromoCodes.json", get(promo_codes::promo_codes))
        .route("/Advertisers/{sid}/UniqueUrls", get(unique_urls::unique_urls))
        .route("/Advertisers/{sid}/UniqueUrls.json", get(unique_urls::unique_urls))
        .route("/Advertisers/{sid}/Invoices", get(invoices::invoices))
        .route("/Advertisers/{sid}/Invoices.json", get(invoices::invoices))
        .route("/Advertisers/{sid}/Invoices/{id}", get(invoices::invoice))
        .merge(page_load::router())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// An answer in the compatible error shape.
struct CompatError {
    status: StatusCode,
    errors: Vec<(Option<String>, String)>,
}

impl CompatError {
    fn new(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Self {
        CompatError { status, errors: vec![(field.map(str::to_owned), message.into())] }
    }

    fn fields(errors: &[FieldError]) -> Self {
        let errors = errors.iter().map(|error| (Some(error.field.clone()), error.message.clone())).collect();
        CompatError { status: StatusCode::BAD_REQUEST, errors }
    }
}

impl IntoResponse for CompatError {
    fn into_response(self) -> Response {
        let errors: Vec<Value> = self
            .errors
            .into_iter()
            .map(|(field, message)| json!({"field": field, "level": "ERROR", "message": message}))
            .collect();
        let mut response = (self.status, axum::Json(json!({"Status": "ERROR", "errors": errors}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Tally\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert("retry-after", HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<StoreError> for CompatError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "conversion not stored");
        CompatError::new(StatusCode::SERVICE_UNAVAILABLE, None, "the store is unavailable; nothing was recorded, retry")
    }
}

/// Checks HTTP Basic credentials against the account in the path.
async fn authenticate(state: &AppState, headers: &HeaderMap, sid: &str) -> Result<(), CompatError> {
    let unauthorized = || CompatError::new(StatusCode::UNAUTHORIZED, None, "wrong account SID or auth token");
    let credentials = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .ok_or_else(unauthorized)?;
    let (user, token) = credentials.split_once(':').ok_or_else(unauthorized)?;
    if user != sid || !state.accounts.authenticate_account(user, token).await? {
        return Err(unauthorized());
    }
    Ok(())
}

/// Flattens a form or JSON body into name/value pairs.
fn pairs(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<(String, String)>, String), CompatError> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let bad = |message: &str| CompatError::new(StatusCode::BAD_REQUEST, None, message);
    match media_type.as_str() {
        "application/x-www-form-urlencoded" | "" => {
            let pairs = url::form_urlencoded::parse(body).map(|(name, value)| (name.into(), value.into())).collect();
            Ok((pairs, "application/x-www-form-urlencoded".into()))
        }
        "application/json" => {
            let value: Value =
                serde_json::from_slice(body).map_err(|error| bad(&format!("the JSON body is malformed: {error}")))?;
            let Value::Object(object) = value else { return Err(bad("the JSON body must be an object")) };
            let mut pairs = Vec::with_capacity(object.len());
            for (name, value) in object {
                let text = match value {
                    Value::String(text) => text,
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    Value::Null => continue,
                    Value::Array(_) | Value::Object(_) => {
                        return Err(CompatError::new(
                            StatusCode::BAD_REQUEST,
                            Some(&name),
                            "must be a string or a number",
                        ));
                    }
                };
                pairs.push((name, text));
            }
            Ok((pairs, media_type))
        }
        other => Err(CompatError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            format!("send application/x-www-form-urlencoded or application/json, not {other}"),
        )),
    }
}

async fn conversion(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let (pairs, content_type) = pairs(&headers, &body)?;
    let submission = Submission {
        account_sid: sid.clone(),
        channel: Channel::S2s,
        payload: String::from_utf8_lossy(&body).into_owned(),
        content_type,
        extra_keys: Vec::new(),
    };
    let outcome = state.conversions.submit(submission, compatible::parse(&pairs)).await?;
    if let Decision::Invalid(errors) = &outcome.decision {
        return Err(CompatError::fields(errors));
    }
    let uri = format!("/Advertisers/{sid}/APISubmissions/{}", outcome.submission_id);
    Ok(axum::Json(json!({"Status": "QUEUED", "QueuedUri": uri})).into_response())
}

/// The parameters of a change to an action, from a form body and the query string.
struct ChangeRequest {
    pairs: Vec<(String, String)>,
    content_type: String,
    payload: String,
}

impl ChangeRequest {
    fn read(headers: &HeaderMap, query: Option<String>, body: &[u8]) -> Result<Self, CompatError> {
        let (mut pairs, content_type) = if body.is_empty() {
            (Vec::new(), "application/x-www-form-urlencoded".to_owned())
        } else {
            pairs(headers, body)?
        };
        pairs.extend(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned())),
        );
        let payload = if body.is_empty() { query_text(&pairs) } else { String::from_utf8_lossy(body).into_owned() };
        Ok(ChangeRequest { pairs, content_type, payload })
    }

    /// The first non-empty value of any of `names`, ignoring case.
    fn value(&self, names: &[&str]) -> Option<String> {
        self.pairs
            .iter()
            .find(|(name, value)| names.iter().any(|n| n.eq_ignore_ascii_case(name)) && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
    }

    /// The submission record's part of the request.
    fn submission(self, account_sid: &str) -> ChangeSubmission {
        ChangeSubmission { account_sid: account_sid.to_owned(), payload: self.payload, content_type: self.content_type }
    }

    fn required(&self, name: &str) -> Result<String, CompatError> {
        self.value(&[name]).ok_or_else(|| bad(name, "is required"))
    }

    /// `ActionId`, or `CampaignId` + `ActionTrackerId` (or `EventTypeId`) + `OrderId` (or `Oid`).
    fn reference(&self) -> Result<ActionRef, CompatError> {
        if let Some(id) = self.value(&["ActionId"]) {
            return Ok(ActionRef::Id(id));
        }
        let program = self.value(&["CampaignId"]).and_then(|text| text.parse().ok());
        let event_type = self.value(&["ActionTrackerId", "EventTypeId"]).and_then(|text| text.parse().ok());
        match (program, event_type, self.value(&["OrderId", "Oid"])) {
            (Some(program), Some(event_type), Some(order_id)) => Ok(ActionRef::Order { program, event_type, order_id }),
            _ => Err(bad("ActionId", "name the action by ActionId, or by CampaignId, ActionTrackerId and OrderId")),
        }
    }

    /// `Amount`, or `ItemQuantity{n}` / `ItemSubTotalDelta{n}`, or `Reset=true`.
    fn modification(&self) -> Result<Modification, CompatError> {
        let decimal = |name: &str, text: &str| {
            compatible::parse_decimal(text).ok_or_else(|| bad(name, &format!("must be {}", compatible::DECIMAL_AMOUNT)))
        };
        let mut lines: std::collections::BTreeMap<usize, LineChange> = std::collections::BTreeMap::new();
        for (name, value) in &self.pairs {
            let lower = name.to_ascii_lowercase();
            let (field, number) = match lower.find(|c: char| c.is_ascii_digit()) {
                Some(at) => lower.split_at(at),
                None => continue,
            };
            if field != "itemquantity" && field != "itemsubtotaldelta" {
                continue;
            }
            let line = number
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad(name, "items are numbered from 1"))?;
            let change =
                lines.entry(line).or_insert(LineChange { line: line - 1, quantity: None, sub_total_delta: None });
            if field == "itemquantity" {
                let quantity =
                    value.trim().parse::<u32>().map_err(|_| bad(name, "must be a whole number of at least 0"))?;
                change.quantity = Some(quantity);
            } else {
                change.sub_total_delta = Some(decimal(name, value.trim())?);
            }
        }
        let amount = self.value(&["Amount"]);
        let reset = self.value(&["Reset"]).is_some_and(|value| value.eq_ignore_ascii_case("true"));
        match (amount, lines.is_empty(), reset) {
            (Some(amount), true, false) => Ok(Modification::Amount(decimal("Amount", &amount)?)),
            (None, false, false) => Ok(Modification::Lines(lines.into_values().collect())),
            (None, true, true) => Ok(Modification::Reset),
            _ => Err(bad("Amount", "give exactly one of Amount, ItemQuantity{n}/ItemSubTotalDelta{n}, or Reset=true")),
        }
    }
}

fn bad(field: &str, message: &str) -> CompatError {
    CompatError::new(StatusCode::BAD_REQUEST, Some(field), message)
}

/// `DELETE /Advertisers/{SID}/Actions`: reverses an action named by `ActionId`, or by
/// `CampaignId`, `ActionTrackerId` (or `EventTypeId`) and `OrderId` (or `Oid`), with a
/// required `DispositionCode`; parameters in the query or a form body.
async fn reverse(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let request = ChangeRequest::read(&headers, query, &body)?;
    let reason = request.required("DispositionCode")?;
    let reference = request.reference()?;
    let submission = request.submission(&sid);
    let outcome = state.actions.submit_reversal(submission, &reference, &reason.to_ascii_uppercase()).await?;
    Ok(queued(&sid, &outcome.submission_id))
}

/// `PUT /Advertisers/{SID}/Actions`: modifies a pending action, named as for a
/// reversal, with a new `Amount`, item changes or `Reset=true`, and a `Reason`.
async fn modify(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let request = ChangeRequest::read(&headers, query, &body)?;
    let reason = request.required("Reason")?;
    let reference = request.reference()?;
    let modification = request.modification()?;
    let submission = request.submission(&sid);
    let outcome =
        state.actions.submit_modification(submission, &reference, &modification, &reason.to_ascii_uppercase()).await?;
    Ok(queued(&sid, &outcome.submission_id))
}

fn queued(sid: &str, submission_id: &str) -> Response {
    let uri = format!("/Advertisers/{sid}/APISubmissions/{submission_id}");
    axum::Json(json!({"Status": "QUEUED", "QueuedUri": uri})).into_response()
}

fn query_text(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

async fn submission(
    State(state): State<AppState>,
    Path((sid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let id = id.strip_suffix(".json").unwrap_or(&id);
    let record = state.store.submission(&sid, id).await?;
    let record = record.ok_or_else(|| CompatError::new(StatusCode::NOT_FOUND, None, "no such submission"))?;
    Ok(axum::Json(submission_json(&record)).into_response())
}

/// A submission in the documented shape, with `ActionId` added when it made one.
fn submission_json(record: &SubmissionRecord) -> Value {
    json!({
        "BatchId": record.submission_id,
        "Type": record.kind,
        "Status": record.status,
        "SubmissionDate": record.received_at.to_string(),
        "Payload": record.payload,
        "ContentType": record.content_type,
        "ErrorType": record.error_type,
        "ErrorReason": record.error_reason,
        "ActionId": record.action_id,
        "Uri": format!("/Advertisers/{}/APISubmissions/{}", record.account_sid, record.submission_id),
    })
}
