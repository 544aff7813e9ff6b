//! Tally's HTTP adapter: the tracking edge (`/c/`, `/i/`, vanity links and unique
//! URLs), the native API under `/api/v1`, and `/healthz`, `/readyz`, `/metrics`.
//!
//! Handlers only translate: they parse the request into the use case's input, call
//! it, and encode its outcome. The edge answers with HTML pages and redirects, the API
//! with JSON and one [`error::ApiError`] shape.

mod api;
mod compatible;
mod cookies;
mod dashboard;
mod edge;
pub mod error;
mod ops;
mod pages;
pub mod rate_limit;
mod tag;

use std::sync::Arc;

use axum::Router;
use tally_app::accounts::Accounts;
use tally_app::actions::Actions;
use tally_app::catalog::CatalogHandle;
use tally_app::conversions::Conversions;
use tally_app::loader::ClickLoader;
use tally_app::metrics::Metrics;
use tally_app::ports::{Clock, Store};
use tally_app::programs::Programs;
use tally_app::secrets::Keyed;
use tally_app::statements::Statements;
use tally_app::test_requests::TestRequests;
use tally_app::visits::Visits;

/// How the edge treats proxies and cookies.
#[derive(Debug, Clone, Default)]
pub struct EdgeSettings {
    /// Mark cookies `Secure` (and `SameSite=None`, so impressions in other sites'
    /// pages join the journey). Set when Tally is reached over HTTPS.
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` and the scheme from
    /// `X-Forwarded-Proto`. Only behind a proxy that sets them.
    pub trust_proxy_headers: bool,
    /// The header in which a proxy or CDN in front of Tally names the client's country
    /// (`CF-IPCountry`, `CloudFront-Viewer-Country`): the click's coarse geography.
    /// Only a header that proxy sets on every request, overwriting the client's.
    pub country_header: Option<axum::http::HeaderName>,
}

/// Everything the handlers need, shared: axum clones the state for every request,
/// so it is one reference count, not one per service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// Shares the services with every handler.
    pub fn new(services: Services) -> Self {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The use cases and ports behind the HTTP surface.
pub struct Services {
    /// The click edge.
    pub visits: Visits,
    /// Program documents.
    pub programs: Programs,
    /// Accounts and tokens.
    pub accounts: Accounts,
    /// The compiled programs.
    pub catalog: Arc<CatalogHandle>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The server's keyed hash, for signing cookies.
    pub keyed: Keyed,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Edge settings.
    pub edge: EdgeSettings,
    /// What moves durable clicks into the store.
    pub loader: Arc<ClickLoader>,
    /// Conversions in.
    pub conversions: Conversions,
    /// Reversals and early approvals.
    pub actions: Actions,
    /// Partner statements and withdrawal settings.
    pub statements: Statements,
    /// Partners' requests for test actions.
    pub test_requests: TestRequests,
    /// Requests per caller on the management APIs.
    pub api_limits: rate_limit::ApiLimits,
}

impl AppState {
    /// Waits briefly until every click answered so far is in the store, so that a
    /// report read right after a click includes it.
    pub(crate) async fn settle_clicks(&self) {
        if !self.loader.caught_up(SETTLE_TIMEOUT).await {
            tracing::warn!("reading clicks before the store has them all");
        }
    }
}

/// How long a read of clicks waits for the newest ones to reach the store.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let management = Router::new()
        .merge(compatible::router())
        .nest("/api/v1", api::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit));
    Router::new()
        .merge(ops::router())
        .merge(management)
        .merge(tag::router())
        .merge(dashboard::router())
        .fallback(edge::by_path_or_host)
        .with_state(state)
}
