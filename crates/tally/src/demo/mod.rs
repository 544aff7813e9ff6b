//! `tally serve --demo`: a realistic demo program, and simulated shoppers that click
//! through the real HTTP edge so the store and the metrics fill up as in production.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use rand::seq::IndexedRandom;
use tally_app::accounts::{AccountCredentials, Accounts};
use tally_app::ports::Store;
use tally_app::programs::{Programs, parse_document};
use tally_core::ids::ProgramId;
use tokio::sync::Semaphore;

/// The demo program document; also a worked example of SPEC §12.
const PROGRAM_DOCUMENT: &str = include_str!("program.json");
/// Shoppers sent at start, and how many browse at once.
const CROWD_SHOPPERS: usize = 2_000;
const CROWD_CONCURRENCY: usize = 8;
/// Shoppers started per second after the crowd.
const SHOPPERS_PER_SECOND: u64 = 4;
/// A shopper's pause between two clicks.
const PAUSE_BETWEEN_CLICKS_MS: u64 = 300;

/// The installed demo.
pub(crate) struct Demo {
    /// The demo program.
    pub(crate) program: ProgramId,
    /// The demo account's credentials, when this start created it.
    pub(crate) new_account: Option<AccountCredentials>,
}

/// Applies the demo program, under the account that already owns it, else the account
/// this first start just created, else a new demo account. Applying is idempotent, so
/// restarting the demo changes nothing.
pub(crate) async fn install(
    accounts: &Accounts,
    programs: &Programs,
    store: &dyn Store,
    first_account: Option<&str>,
) -> anyhow::Result<Demo> {
    let document =
        parse_document(PROGRAM_DOCUMENT).map_err(|problems| anyhow::anyhow!("demo document: {problems:?}"))?;
    let program = document.program.id;
    let (account_sid, new_account) = match (store.program(program).await?, first_account) {
        (Some(stored), _) => (stored.account_sid, None),
        (None, Some(first_account)) => (first_account.to_owned(), None),
        (None, None) => {
            let credentials = accounts.create_account("Acme Outdoor (demo)").await?;
            (credentials.account_sid.clone(), Some(credentials))
        }
    };
    let report = programs.apply(&account_sid, document, None).await.context("cannot apply the demo program")?;
    tracing::info!(program = %program, outcome = report.outcome, "demo program ready");
    Ok(Demo { program, new_account })
}

/// One simulated visit: a path, the `Host` it is sent to, and a user agent.
struct Visit {
    path: String,
    host: &'static str,
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];

fn pick_visit(program: ProgramId, rng: &mut impl Rng) -> Visit {
    let owner = [101, 101, 102, 102, 103, 104, 105, 901, 902].choose(rng).copied().unwrap_or(101);
    let ad = rng.random_range(1..=4);
    let sub_id = ["summer-post", "sidebar", "newsletter-12", "story"].choose(rng).copied().unwrap_or("x");
    match rng.random_range(0..100) {
        0..=59 => Visit {
            path: format!("/c/{owner}/{ad}/{program}?subId1={sub_id}&sharedId=site-{}", rng.random_range(1..5)),
            host: "go.acme.test",
        },
        60..=74 => {
            let page =
                ["tents", "jackets", "boots/trail-runner?color=red", "sale"].choose(rng).copied().unwrap_or("tents");
            let deep_link = format!(
                "https%3A%2F%2Fwww.acme.test%2F{}",
                page.replace('/', "%2F").replace('?', "%3F").replace('=', "%3D")
            );
            Visit { path: format!("/c/{owner}/{ad}/{program}?u={deep_link}"), host: "go.acme.test" }
        }
        75..=79 => Visit { path: format!("/c/{owner}/1/{program}?u=https%3A%2F%2Fevil.test%2F"), host: "go.acme.test" },
        80..=87 => Visit { path: format!("/i/{owner}/2/{program}"), host: "go.acme.test" },
        88..=93 => Visit {
            path: ["/trailblog", "/alpine"].choose(rng).copied().unwrap_or("/alpine").to_owned(),
            host: "go.acme.test",
        },
        94..=97 => Visit { path: "/".to_owned(), host: "get-acme.test" },
        _ => Visit { path: "/c/999/1/1000".to_owned(), host: "go.acme.test" },
    }
}

/// Sends shoppers through the edge at `address`: a first crowd of a few thousand, a few
/// at a time, then a steady trickle. Each shopper is a browser with its own cookie jar
/// that clicks once or a few times.
pub(crate) async fn drive(address: SocketAddr, program: ProgramId) {
    let crowd = Arc::new(Semaphore::new(CROWD_CONCURRENCY));
    for _ in 0..CROWD_SHOPPERS {
        let Ok(permit) = crowd.clone().acquire_owned().await else { break };
        tokio::spawn(async move {
            shopper(address, program).await;
            drop(permit);
        });
    }
    tracing::info!(shoppers = CROWD_SHOPPERS, "demo crowd sent; continuing with a trickle");
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / SHOPPERS_PER_SECOND));
    loop {
        ticks.tick().await;
        tokio::spawn(shopper(address, program));
    }
}

async fn shopper(address: SocketAddr, program: ProgramId) {
    let (user_agent, clicks, visits) = {
        let mut rng = rand::rng();
        let user_agent = USER_AGENTS.choose(&mut rng).copied().unwrap_or(USER_AGENTS[0]);
        let clicks = rng.random_range(1..=3);
        let visits: Vec<Visit> = (0..clicks).map(|_| pick_visit(program, &mut rng)).collect();
        (user_agent, clicks, visits)
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .user_agent(user_agent)
        .build()
    {
        Ok(client) => client,
        Err(error) => return tracing::warn!(%error, "demo shopper cannot start"),
    };
    for visit in visits.into_iter().take(clicks) {
        let sent = client
            .get(format!("http://{address}{}", visit.path))
            .header(reqwest::header::HOST, visit.host)
            .header(reqwest::header::REFERER, "https://trailblog.test/best-tents-2026")
            .send()
            .await;
        if let Err(error) = sent {
            tracing::debug!(%error, "demo click failed");
            return;
        }
        tokio::time::sleep(Duration::from_millis(PAUSE_BETWEEN_CLICKS_MS)).await;
    }
}
