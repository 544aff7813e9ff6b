//! `tally serve`: open the store, build the use cases, listen, and shut down without
//! losing a click.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tally_app::accounts::{Accounts, FirstRun};
use tally_app::actions::Actions;
use tally_app::catalog::CatalogHandle;
use tally_app::conversions::Conversions;
use tally_app::loader::ClickLoader;
use tally_app::locking::LockingJob;
use tally_app::metrics::Metrics;
use tally_app::ports::{Clock, SystemClock};
use tally_app::programs::Programs;
use tally_app::secrets::random_token;
use tally_app::statements::{StatementJob, Statements};
use tally_app::test_requests::TestRequests;
use tally_app::visits::Visits;
use tally_http::rate_limit::ApiLimits;
use tally_http::{AppState, EdgeSettings, Services};

use crate::config::Settings;
use crate::{demo, store};

/// How often a node looks for program changes made elsewhere (another node, the CLI).
const CATALOG_REFRESH: Duration = Duration::from_secs(2);

/// Runs the server until SIGINT or SIGTERM.
pub(crate) async fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = store::open(&settings, store::Missing::Create).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new());
    let keyed = store::keyed(&store).await?;
    let accounts = Accounts::new(store.clone(), clock.clone(), keyed.clone());
    let first_run = accounts.bootstrap().await.context("cannot create the first account")?;
    let catalog = Arc::new(CatalogHandle::load(store.clone()).await?);
    let programs = Programs::new(store.clone(), clock.clone(), catalog.clone());
    let demo = if settings.demo {
        Some(
            demo::install(
                &accounts,
                &programs,
                store.as_ref(),
                first_run.as_ref().and_then(|run| run.account.as_ref()),
            )
            .await?,
        )
    } else {
        None
    };

    let (journal, lanes) = tally_journal::open(store::journal_settings(&settings), metrics.clone())?;
    let loader =
        Arc::new(ClickLoader::start(store::boxed(lanes), store.clone(), catalog.clone(), metrics.clone()).await?);
    let conversions =
        Conversions::new(store.clone(), catalog.clone(), keyed.clone(), clock.clone(), Some(loader.clone()));
    let state = AppState::new(Services {
        visits: Visits::new(
            catalog.clone(),
            Arc::new(journal),
            clock.clone(),
            keyed.clone(),
            metrics.clone(),
            settings.flood_limit,
        ),
        loader: loader.clone(),
        actions: Actions::new(store.clone(), catalog.clone(), clock.clone()),
        statements: Statements::new(store.clone(), catalog.clone(), clock.clone()),
        test_requests: TestRequests::new(store.clone(), catalog.clone(), clock.clone(), conversions.clone()),
        api_limits: ApiLimits::new(settings.api_rate_limit),
        conversions,
        programs,
        accounts,
        catalog: catalog.clone(),
        store: store.clone(),
        metrics,
        keyed,
        clock: clock.clone(),
        edge: EdgeSettings {
            secure_cookies: settings.secure_cookies,
            trust_proxy_headers: settings.trust_proxy_headers,
            country_header: settings.country_header.clone(),
        },
    });

    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    announce(address, first_run.as_ref(), demo.as_ref())?;
    tracing::info!(%address, database = %settings.database, "tally is serving");

    let refresher = tokio::spawn(refresh_catalog(catalog));
    let holder = format!("{address}-{}", random_token(1));
    let locking = LockingJob::new(store.clone(), clock.clone(), holder.clone(), settings.scheduler_interval);
    let statements = StatementJob::new(state.statements.clone(), holder, settings.scheduler_interval);
    let scheduler = tokio::spawn(run_scheduler(locking, statements, settings.scheduler_interval));
    let driver = demo.map(|demo| tokio::spawn(demo::drive(address, demo.program, demo.s2s)));
    let app = tally_http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    server.await.context("the HTTP server failed")?;

    refresher.abort();
    scheduler.abort();
    if let Some(driver) = driver {
        driver.abort();
    }
    // Every answered click is durable in the journal; load what the store lacks.
    tokio::task::spawn_blocking(move || loader.stop()).await.context("the click loader failed")?;
    tracing::info!("tally stopped");
    Ok(())
}

/// Prints the bound address first (scripts read it), then the first run's secrets once.
fn announce(address: SocketAddr, first_run: Option<&FirstRun>, demo: Option<&demo::Demo>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{address}")?;
    if let Some(first_run) = first_run {
        writeln!(out, "first run: these secrets are shown once and stored only as hashes")?;
        writeln!(out, "  dashboard login: {} / {}", first_run.admin_username, first_run.admin_password)?;
        if let Some(account) = &first_run.account {
            writeln!(out, "  account_sid: {}", account.account_sid)?;
            writeln!(out, "  auth_token:  {}", account.auth_token)?;
        }
    }
    if let Some(demo) = demo {
        writeln!(
            out,
            "demo: program {} at http://{address}/c/101/1/{} (Host go.acme.test for vanity links)",
            demo.program, demo.program
        )?;
        if let Some(account) = &demo.new_account {
            writeln!(out, "  demo account_sid: {}  auth_token: {}", account.account_sid, account.auth_token)?;
        }
        for (login, role) in &demo.new_logins {
            writeln!(out, "  demo dashboard login for {role}: {} / {}", login.username, login.password)?;
        }
        writeln!(out, "dashboard: http://{address}/")?;
    }
    out.flush()?;
    Ok(())
}

/// Runs the locking job, then the statement job (so actions locked this tick are
/// stated in the same one), every `interval`; only the node holding a job's lease
/// runs it.
async fn run_scheduler(locking: LockingJob, statements: StatementJob, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match locking.run_once().await {
            Ok(Some(approved)) if approved > 0 => tracing::info!(approved, "due actions locked"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot run the locking job"),
        }
        match statements.run_once().await {
            Ok(Some(stated)) if stated > 0 => tracing::info!(stated, "approved actions put on statements"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot run the statement job"),
        }
    }
}

async fn refresh_catalog(catalog: Arc<CatalogHandle>) {
    let mut ticks = tokio::time::interval(CATALOG_REFRESH);
    loop {
        ticks.tick().await;
        match catalog.refresh_if_changed().await {
            Ok(true) => tracing::info!("programs changed; catalog reloaded"),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot check for program changes"),
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers now, before the address is announced, so a
/// supervisor that stops Tally the moment it reads the address still gets a clean stop.
/// The returned future resolves at the first signal.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing open requests");
    })
}
