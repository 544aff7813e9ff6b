//! `GET /api/v1/programs/{id}/clicks`: the click export, streamed as JSON or CSV.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use jiff::Timestamp;
use tally_app::clicks::{ClickExport, ExportError, ExportFormat, ExportRequest, Viewer};

use super::{Caller, program_id, query_parameters};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/programs/{id}/clicks", get(export_clicks))
}

const PARAMETERS: &[&str] = &["since", "until", "format"];

fn instant(parameters: &HashMap<String, String>, name: &str, default: Timestamp) -> Result<Timestamp, ApiError> {
    match parameters.get(name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            ApiError::parameter(name, format!("{text:?} is not an RFC 3339 time such as 2026-01-31T00:00:00Z"))
        }),
    }
}

async fn export_clicks(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let program = program_id(&id)?;
    let parameters = query_parameters(raw.as_deref(), PARAMETERS)?;
    let since = instant(&parameters, "since", Timestamp::UNIX_EPOCH)?;
    let until = instant(&parameters, "until", state.clock.now())?;
    let format_name = parameters.get("format").map_or("json", String::as_str);
    let format =
        ExportFormat::parse(format_name).ok_or_else(|| ApiError::parameter("format", "must be json or csv"))?;
    let viewer = match caller.0.partner {
        Some(partner) => Viewer::Partner { account_sid: caller.0.account_sid, partner },
        None => Viewer::Brand { account_sid: caller.0.account_sid },
    };
    state.settle_clicks().await;
    let request = ExportRequest { program, since, until, format };
    let export =
        ClickExport::start(state.store.clone(), &state.catalog, &viewer, request).map_err(|error| match error {
            ExportError::NotFound(_) => ApiError::new(ErrorKind::NotFound, error.to_string()),
            ExportError::InvertedRange => ApiError::parameter("since", error.to_string()),
        })?;
    let (content_type, file_name) = match format {
        ExportFormat::Json => ("application/json", format!("clicks-{program}.json")),
        ExportFormat::Csv => ("text/csv; charset=utf-8", format!("clicks-{program}.csv")),
    };
    let body = Body::from_stream(encode(export));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
        ],
        body,
    )
        .into_response())
}

/// Streams the export chunk by chunk.
fn encode(export: ClickExport) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(export))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, "click export failed mid-stream");
                Some((Err(std::io::Error::other(error.to_string())), None))
            }
        }
    })
}
