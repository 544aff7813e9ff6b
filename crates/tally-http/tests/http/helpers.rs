//! The test application: built the way `tally serve` builds it, on a temporary SQLite
//! file and a manual clock, with one brand account, a brand token, a partner token and
//! the Acme test program already applied.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header, request};
use jiff::{SignedDuration, Timestamp};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use tally_app::accounts::Accounts;
use tally_app::actions::Actions;
use tally_app::catalog::CatalogHandle;
use tally_app::conversions::Conversions;
use tally_app::loader::ClickLoader;
use tally_app::locking::LockingJob;
use tally_app::metrics::Metrics;
use tally_app::ports::{ClickLogReader, ClickQuery, Clock, ManualClock, Store};
use tally_app::programs::{ApplyReport, Programs, parse_document};
use tally_app::secrets::Keyed;
use tally_app::statements::{StatementJob, Statements};
use tally_app::test_requests::TestRequests;
use tally_app::visits::Visits;
use tally_core::click::Click;
use tally_core::flood::FloodLimit;
use tally_core::ids::{PartnerId, ProgramId};
use tally_core::rate_limit::RateLimit;
use tally_http::rate_limit::ApiLimits;
use tally_http::{AppState, EdgeSettings, Services};
use tally_journal::JournalSettings;
use tally_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use tower::ServiceExt;

/// The Acme test program.
pub(crate) const PROGRAM: u64 = 1000;
/// The test clock's start.
pub(crate) const START: &str = "2026-03-02T12:00:00Z";
/// The address every request comes from unless a test says otherwise.
pub(crate) const CLIENT: &str = "203.0.113.7:51234";
/// The server's HMAC key.
pub(crate) const KEY: &str = "test-key";

pub(crate) const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
pub(crate) const DESKTOP_CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The whole Acme program: partners of every kind of standing, a media source, ads with
/// and without their own landing page and deep-link switch, a vanity link and two
/// unique URLs.
pub(crate) fn acme_program() -> Value {
    json!({
        "program": {
            "id": PROGRAM,
            "name": "Acme Outdoor",
            "currency": "USD",
            "time_zone": "America/New_York",
            "tracking_domains": ["go.acme.test"],
            "default_landing_page": "https://www.acme.test/",
            "deep_linking": true,
            "permitted_domains": ["acme.test", "*.acme.test"]
        },
        "event_types": [{"id": 1, "code": "online_sale", "name": "Online sale", "category": "SALE"}],
        "partners": [
            {"id": 101, "name": "Trail Blog"},
            {"id": 102, "name": "Deal Hunters", "credit_group": "STANDARD"},
            {"id": 105, "name": "Old Coupons Site", "status": "INACTIVE"},
            {"id": 106, "name": "No Contract Yet"},
            {"id": 107, "name": "Former Partner"}
        ],
        "media_sources": [{"id": 901, "name": "Paid search"}],
        "ads": [
            {"id": 1, "name": "Homepage text link", "type": "TEXT_LINK"},
            {"id": 2, "name": "Winter sale banner", "type": "BANNER",
             "landing_page": "https://www.acme.test/sale/winter?season=winter#deals"},
            {"id": 4, "name": "Podcast read", "type": "OFFLINE",
             "landing_page": "https://www.acme.test/podcast", "deep_linking": false}
        ],
        "template_terms": [
            {"id": 1, "name": "Standard", "event_payouts": [{"event_type": 1, "default_payout": {"rate": "8"}}]}
        ],
        "contracts": [
            {"partner": 101, "template_terms": 1, "start": "2025-01-01T00:00:00Z"},
            {"partner": 102, "template_terms": 1, "start": "2025-01-01T00:00:00Z"},
            {"partner": 105, "template_terms": 1, "start": "2025-01-01T00:00:00Z"},
            {"partner": 107, "template_terms": 1, "start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
        ],
        "vanity_links": [
            {"path": "trailblog", "partner": 101, "ad": 1, "deep_link": "https://www.acme.test/hiking",
             "sub_ids": {"subId1": "vanity-1", "subId2": "print"}, "shared_id": "podcast-ep-12"}
        ],
        "unique_urls": [
            {"url": "https://get-acme.test/", "partner": 102, "landing_page": "https://www.acme.test/offline",
             "state": "INUSE"},
            {"url": "https://old-acme.test/", "partner": 102, "state": "QUARANTINE"}
        ]
    })
}

/// A small program with one partner (201), one ad (1) and no host routes, so that it
/// never clashes with the Acme program.
pub(crate) fn small_program(id: u64) -> Value {
    json!({
        "program": {
            "id": id,
            "name": format!("Small program {id}"),
            "currency": "EUR",
            "time_zone": "Europe/Paris",
            "default_landing_page": "https://shop.acme.test/",
            "deep_linking": true,
            "permitted_domains": ["acme.test", "*.acme.test"]
        },
        "partners": [{"id": 201, "name": "Small Partner"}],
        "ads": [{"id": 1, "name": "Text link", "type": "TEXT_LINK"}],
        "template_terms": [{"id": 1, "name": "Standard"}],
        "contracts": [{"partner": 201, "template_terms": 1, "start": "2025-01-01T00:00:00Z"}]
    })
}

/// Percent-encodes everything but letters and digits, as a careful link builder would.
pub(crate) fn encode(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// The test clock's start plus some minutes.
pub(crate) fn minutes_after_start(minutes: i64) -> Timestamp {
    start() + SignedDuration::from_mins(minutes)
}

pub(crate) fn start() -> Timestamp {
    START.parse().unwrap()
}

pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) loader: Arc<ClickLoader>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) accounts: Accounts,
    pub(crate) programs: Programs,
    pub(crate) account_sid: String,
    /// The account's auth token, for the compatible API's Basic auth.
    pub(crate) auth_token: String,
    pub(crate) brand_token: String,
    /// Acts for partner 101.
    pub(crate) partner_token: String,
    /// The jobs the scheduler runs, run by a test when it moves the clock.
    locking: LockingJob,
    statements: StatementJob,
    directory: tempfile::TempDir,
}

impl TestApp {
    pub(crate) async fn spawn() -> TestApp {
        TestApp::spawn_with(EdgeSettings::default()).await
    }

    pub(crate) async fn spawn_with(edge: EdgeSettings) -> TestApp {
        TestApp::spawn_with_backlog(edge, JournalSettings::new("unused").max_backlog).await
    }

    /// An app whose click journal refuses clicks once `max_backlog` of them wait for
    /// the store.
    pub(crate) async fn spawn_with_backlog(edge: EdgeSettings, max_backlog: u64) -> TestApp {
        // Off unless a test asks: the tests make many calls within one frozen minute.
        TestApp::spawn_full(edge, max_backlog, RateLimit { requests: 0, window_ms: 60_000 }).await
    }

    /// An app whose management APIs allow `limit`.
    pub(crate) async fn spawn_with_rate_limit(limit: RateLimit) -> TestApp {
        TestApp::spawn_full(EdgeSettings::default(), JournalSettings::new("unused").max_backlog, limit).await
    }

    async fn spawn_full(edge: EdgeSettings, max_backlog: u64, rate_limit: RateLimit) -> TestApp {
        let directory = tempfile::tempdir().unwrap();
        // `normal`: commits survive the process, not a power loss, which these tests do
        // not simulate (crates/tally's durability test kills a real server instead);
        // it saves an fsync per write.
        let options = SqliteOptions { synchronous: Synchronous::Normal };
        let sqlite = SqliteStore::open(&directory.path().join("tally.db"), options).unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite);
        let clock = Arc::new(ManualClock::new(start()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let metrics = Arc::new(Metrics::new());
        let keyed = Keyed::new(KEY);
        let accounts = Accounts::new(store.clone(), dyn_clock.clone(), keyed.clone());
        let catalog = Arc::new(CatalogHandle::load(store.clone()).await.unwrap());
        let programs = Programs::new(store.clone(), dyn_clock.clone(), catalog.clone());
        // One lane: the clock stands still, so clicks of one instant keep the order in
        // which they were answered only if they all go through one lane.
        let journal_settings =
            JournalSettings { lanes: 1, max_backlog, ..JournalSettings::new(directory.path().join("tally.db.clicks")) };
        let (journal, lanes) = tally_journal::open(journal_settings, metrics.clone()).unwrap();
        let lanes = lanes.into_iter().map(|lane| Box::new(lane) as Box<dyn ClickLogReader>).collect();
        let loader =
            Arc::new(ClickLoader::start(lanes, store.clone(), catalog.clone(), metrics.clone()).await.unwrap());
        let statements = Statements::new(store.clone(), catalog.clone(), dyn_clock.clone());
        let every_minute = std::time::Duration::from_secs(60);
        let locking = LockingJob::new(store.clone(), dyn_clock.clone(), "test".into(), every_minute);
        let statement_job = StatementJob::new(statements.clone(), "test".into(), every_minute);
        let conversions =
            Conversions::new(store.clone(), catalog.clone(), keyed.clone(), dyn_clock.clone(), Some(loader.clone()));
        let state = AppState::new(Services {
            visits: Visits::new(
                catalog.clone(),
                Arc::new(journal),
                dyn_clock.clone(),
                keyed.clone(),
                metrics.clone(),
                FloodLimit::default(),
            ),
            loader: loader.clone(),
            actions: Actions::new(store.clone(), catalog.clone(), dyn_clock.clone()),
            statements,
            test_requests: TestRequests::new(store.clone(), catalog.clone(), dyn_clock.clone(), conversions.clone()),
            api_limits: ApiLimits::new(rate_limit),
            conversions,
            programs: programs.clone(),
            accounts: accounts.clone(),
            catalog,
            store: store.clone(),
            metrics,
            keyed,
            clock: dyn_clock,
            edge,
        });
        let credentials = accounts.create_account("Acme Outdoor").await.unwrap();
        let (account_sid, auth_token) = (credentials.account_sid, credentials.auth_token);
        let brand_token = accounts.create_token(&account_sid, None, None).await.unwrap();
        let partner_token = accounts.create_token(&account_sid, Some(PartnerId(101)), None).await.unwrap();
        let app = TestApp {
            router: tally_http::router(state),
            loader,
            store,
            clock,
            accounts,
            programs,
            account_sid,
            auth_token,
            brand_token,
            partner_token,
            locking,
            statements: statement_job,
            directory,
        };
        let report = app.apply_as(&app.account_sid.clone(), &acme_program()).await;
        assert_eq!(report.outcome, "created");
        app
    }

    /// Runs the scheduler's jobs once, as `tally serve` does every interval: due actions
    /// lock, then approved ones of closed months go on statements.
    pub(crate) async fn run_jobs(&self) {
        self.locking.run_once().await.unwrap().expect("the only node holds the lease");
        self.statements.run_once().await.unwrap().expect("the only node holds the lease");
    }

    /// Applies a program document for an account through the use case, as the CLI does.
    pub(crate) async fn apply_as(&self, account_sid: &str, document: &Value) -> ApplyReport {
        let document = parse_document(&document.to_string()).unwrap();
        self.programs.apply(account_sid, document, None).await.unwrap()
    }

    /// A second brand account with its own brand token.
    pub(crate) async fn other_account(&self) -> (String, String) {
        let account_sid = self.accounts.create_account("Rival Gear").await.unwrap().account_sid;
        let token = self.accounts.create_token(&account_sid, None, None).await.unwrap();
        (account_sid, token)
    }

    /// The SQLite file behind the store.
    pub(crate) fn database_path(&self) -> std::path::PathBuf {
        self.directory.path().join("tally.db")
    }

    pub(crate) fn set_time(&self, at: Timestamp) {
        self.clock.set(at);
    }

    pub(crate) fn advance_minutes(&self, minutes: i64) {
        self.clock.set(self.clock.now() + SignedDuration::from_mins(minutes));
    }

    /// Sends a request as a browser at [`CLIENT`] would, unless it says otherwise.
    pub(crate) async fn send(&self, mut request: Request<Body>) -> TestResponse {
        if request.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            request.extensions_mut().insert(ConnectInfo(CLIENT.parse::<SocketAddr>().unwrap()));
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        TestResponse { status: parts.status, headers: parts.headers, body }
    }

    /// `GET` from a desktop Chrome.
    pub(crate) async fn get(&self, uri: &str) -> TestResponse {
        self.send(browser(uri).body(Body::empty()).unwrap()).await
    }

    /// `GET` with these cookies.
    pub(crate) async fn get_with_cookies(&self, uri: &str, cookies: &str) -> TestResponse {
        self.send(browser(uri).header(header::COOKIE, cookies).body(Body::empty()).unwrap()).await
    }

    /// `GET` a path on a host, as a browser that typed `http://{host}{path}`.
    pub(crate) async fn get_on_host(&self, host: &str, path: &str) -> TestResponse {
        self.send(browser(path).header(header::HOST, host).body(Body::empty()).unwrap()).await
    }

    /// A native API call.
    pub(crate) async fn api(&self, method: Method, uri: &str, token: Option<&str>, body: Option<&str>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_owned())),
            None => builder.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    /// Waits until every click answered so far has been loaded into the store.
    pub(crate) async fn settle(&self) {
        assert!(self.loader.caught_up(std::time::Duration::from_secs(10)).await, "clicks never reached the store");
    }

    /// Every stored click of a program, in time order, once the answered ones are loaded.
    pub(crate) async fn clicks_of(&self, program: u64) -> Vec<Click> {
        self.settle().await;
        let query = ClickQuery {
            program: ProgramId(program),
            since: Timestamp::UNIX_EPOCH,
            until: "2100-01-01T00:00:00Z".parse().unwrap(),
            owner: None,
        };
        let page = self.store.clicks_page(&query, None, 100_000).await.unwrap();
        page.into_iter().map(|stored| stored.click).collect()
    }

    /// Every stored click of the Acme program, in time order.
    pub(crate) async fn clicks(&self) -> Vec<Click> {
        self.clicks_of(PROGRAM).await
    }

    /// The only stored click of the Acme program.
    pub(crate) async fn only_click(&self) -> Click {
        let mut clicks = self.clicks().await;
        assert_eq!(clicks.len(), 1, "expected exactly one stored click: {clicks:#?}");
        clicks.remove(0)
    }

    pub(crate) async fn click_count(&self) -> i64 {
        self.settle().await;
        self.store.count_clicks(ProgramId(PROGRAM)).await.unwrap()
    }
}

/// A request builder with a desktop browser's user agent.
pub(crate) fn browser(uri: &str) -> request::Builder {
    Request::builder().uri(uri).header(header::USER_AGENT, DESKTOP_CHROME)
}

/// A fully read response.
#[derive(Debug)]
pub(crate) struct TestResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl TestResponse {
    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The redirect target; fails unless this is a `302` with `Cache-Control: no-store`.
    pub(crate) fn location(&self) -> &str {
        assert_eq!(self.status, StatusCode::FOUND, "expected a redirect, got {self:?}");
        assert_eq!(self.header(header::CACHE_CONTROL), Some("no-store"), "{self:?}");
        self.header(header::LOCATION).expect("a redirect carries a Location")
    }

    /// The redirect target, parsed.
    pub(crate) fn location_url(&self) -> url::Url {
        url::Url::parse(self.location()).unwrap()
    }

    /// A query parameter of the redirect target.
    pub(crate) fn location_param(&self, name: &str) -> Option<String> {
        self.location_url().query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
    }

    /// The click id the landing page receives.
    pub(crate) fn click_id(&self) -> String {
        self.location_param("irclickid").expect("the landing URL carries irclickid")
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// Every `Set-Cookie` line.
    pub(crate) fn set_cookies(&self) -> Vec<&str> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|value| value.to_str().unwrap()).collect()
    }

    /// The `Set-Cookie` line of one cookie.
    pub(crate) fn set_cookie(&self, name: &str) -> &str {
        let prefix = format!("{name}=");
        self.set_cookies().into_iter().find(|line| line.starts_with(&prefix)).expect("the cookie is set")
    }

    /// The value of one cookie as set.
    pub(crate) fn cookie_value(&self, name: &str) -> String {
        let line = self.set_cookie(name);
        line[name.len() + 1..].split(';').next().unwrap().to_owned()
    }

    /// The `Cookie` header a browser sends back after this response.
    pub(crate) fn cookie_header(&self) -> String {
        let pairs: Vec<&str> = self.set_cookies().into_iter().map(|line| line.split(';').next().unwrap()).collect();
        pairs.join("; ")
    }

    /// The API error code of an error response.
    pub(crate) fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("not an API error: {}", self.text())).to_owned()
    }

    /// The API error message of an error response.
    pub(crate) fn error_message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap().to_owned()
    }

    /// Asserts the edge's plain "link not found" page.
    pub(crate) fn assert_not_found_page(&self) {
        assert_eq!(self.status, StatusCode::NOT_FOUND, "{self:?}");
        assert!(self.header(header::LOCATION).is_none(), "an unknown link never redirects: {self:?}");
        assert!(self.header(header::CONTENT_TYPE).unwrap().starts_with("text/html"), "{self:?}");
        assert_eq!(self.header(header::CACHE_CONTROL), Some("no-store"));
        assert!(self.text().contains("Link not found"), "{}", self.text());
        assert!(self.set_cookies().is_empty(), "an unknown link sets no cookie");
    }
}
