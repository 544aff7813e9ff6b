//! `/programs/{id}/actions.csv`: the whole result of the listing's filters as CSV,
//! streamed page by page so that memory stays flat however many rows match. The rows,
//! columns and order are the native API's (`tally_app::action_export`, in creation
//! order): sub ids for partners only, text a stranger chose defused for spreadsheets.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tally_app::action_export::ActionExport;
use tally_app::listing;

use super::actions::export_pairs;
use super::session::Session;
use super::{PageError, query_pairs};
use crate::AppState;

/// `GET /programs/{id}/actions.csv`.
pub(crate) async fn csv(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let entry = session.scope.program(&state.catalog.get(), &id).ok_or(PageError::NotFound)?;
    let program = &entry.program;
    let pairs = export_pairs(&query_pairs(raw.as_deref()));
    let listing = match listing::read(&pairs, program.id(), program.time_zone(), session.scope.viewer()) {
        Ok(listing) => listing,
        Err(error) => return Ok((StatusCode::BAD_REQUEST, error.to_string()).into_response()),
    };
    let export = ActionExport::new(state.store.clone(), listing.query, !session.scope.is_brand());
    let stream = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), Some(export))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, "the dashboard's CSV export stopped");
                Some((Err(std::io::Error::other(error.to_string())), None))
            }
        }
    });
    let file_name = format!("actions-{}.csv", program.id());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
