//! The integration check (SPEC §10): a program's recent conversion submissions read
//! again, each click id looked up, and [`tally_core::integration`] asked what is wrong.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tally_core::conversion::{ConversionRequest, compatible, native};
use tally_core::ids::ProgramId;
use tally_core::integration::{self, Finding, Observed};
use tally_core::money::Currency;

use crate::ports::{Clock, Store, StoreResult, SubmissionQuery, SubmissionRecord, TimeRange};

/// How far back the check reads.
pub const WINDOW_DAYS: i64 = 30;
/// The most submissions it reads, newest first.
pub const MAX_SUBMISSIONS: u32 = 1_000;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationReport {
    /// From when submissions were read.
    pub since: Timestamp,
    /// How many were read.
    pub checked: u64,
    /// What is wrong, by check.
    pub findings: Vec<Finding>,
}

/// The use case.
#[derive(Clone)]
pub struct IntegrationCheck {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl IntegrationCheck {
    /// Builds the use case.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        IntegrationCheck { store, clock }
    }

    /// Checks a program of `account_sid` whose currency is `currency`.
    pub async fn run(
        &self,
        account_sid: &str,
        program: ProgramId,
        currency: Currency,
    ) -> StoreResult<IntegrationReport> {
        let since = self.clock.now() - SignedDuration::from_hours(24 * WINDOW_DAYS);
        let query = SubmissionQuery {
            account_sid: account_sid.to_owned(),
            program: Some(program),
            kind: Some("Conversion".into()),
            received_at: TimeRange { from: Some(since), to: None },
            limit: MAX_SUBMISSIONS,
            ..SubmissionQuery::default()
        };
        let submissions = self.store.list_submissions(&query).await?;
        let requests: Vec<Option<ConversionRequest>> =
            submissions.iter().map(|submission| reread(program, submission)).collect();
        let mut found_clicks = Vec::with_capacity(submissions.len());
        for request in &requests {
            let click_id = request.as_ref().and_then(|request| request.click_id.as_deref());
            found_clicks.push(match click_id {
                Some(click_id) => Some(!self.store.clicks_by_click_id(program, click_id).await?.is_empty()),
                None => None,
            });
        }
        let observed: Vec<Observed<'_>> = submissions
            .iter()
            .zip(&requests)
            .zip(&found_clicks)
            .map(|((submission, request), click_found)| Observed {
                submission_id: &submission.submission_id,
                request: request.as_ref(),
                refusal: submission.error_type.as_deref(),
                click_found: *click_found,
            })
            .collect();
        let findings = integration::findings(&observed, currency);
        Ok(IntegrationReport { since, checked: submissions.len() as u64, findings })
    }
}

/// The conversion a submission carried, read again from its raw body as its channel
/// reads it; `None` when it cannot be read (the check counts those as malformed through
/// their refusal).
fn reread(program: ProgramId, submission: &SubmissionRecord) -> Option<ConversionRequest> {
    let json = submission.content_type.contains("json");
    match submission.channel.as_str() {
        "s2s" if json => {
            let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&submission.payload) else { return None };
            let pairs: Vec<(String, String)> = object
                .into_iter()
                .filter_map(|(name, value)| match value {
                    Value::String(text) => Some((name, text)),
                    Value::Number(number) => Some((name, number.to_string())),
                    Value::Bool(flag) => Some((name, flag.to_string())),
                    _ => None,
                })
                .collect();
            compatible::parse(&pairs).ok()
        }
        "s2s" => {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(submission.payload.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            compatible::parse(&pairs).ok()
        }
        "tag" => {
            // The tag's event: the conversion, with the event's click id and event type.
            let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(&submission.payload) else { return None };
            let Some(Value::Object(mut conversion)) = event.remove("conversion") else { return None };
            for name in ["clickId", "eventTypeId"] {
                if let Some(value) = event.remove(name) {
                    conversion.entry(name).or_insert(value);
                }
            }
            native::parse(program, &conversion, true).ok()
        }
        _ => {
            // A batch's body holds many conversions, not this one alone: not read again.
            let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&submission.payload) else { return None };
            native::parse(program, &object, false).ok()
        }
    }
}
