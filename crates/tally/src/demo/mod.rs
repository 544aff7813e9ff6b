//! `tally serve --demo`: a realistic demo program, and simulated shoppers that click
//! through the real HTTP edge so the store and the metrics fill up as in production.
//!
//! The program's terms are set so that their effects show within minutes of the
//! driver's traffic, which brings partners 101 and 104 about 30 sales a minute while the
//! first crowd lasts (about two and a half minutes), then about 10 a minute:
//! - a tier ladder on sales per month, 9% from the 10th and 10% from the 50th instead
//!   of the 8% default, reached within the first minute and the second;
//! - a $250 bonus on $25,000 of sales in the month, crossed after about two minutes
//!   (three for partner 102);
//! - gift cards earn nothing (a restriction), and shoppers sometimes buy one;
//! - a cap of 25,000 sales per partner a day, above the about 15,000 a day of the
//!   demo's traffic;
//! - a 12% holiday rate for the deal and cashback partners 102 and 103, scheduled from
//!   2026-11-20 to 2026-12-08 (midnight in New York). The document is static, so the
//!   span is fixed: the holiday rate pays only when the demo runs in those weeks of
//!   2026; at other times the export still shows it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use rand::seq::IndexedRandom;
use tally_app::accounts::{AccountCredentials, Accounts, UserCredentials};
use tally_app::ports::Store;
use tally_app::programs::{Programs, parse_document};
use tally_core::ids::{PartnerId, ProgramId};
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

/// Of the shoppers, the share (percent) who buy after clicking, and of those the share
/// who sign up first and buy later on another device, or use a promo code.
const BUYERS_PERCENT: u32 = 15;
const SECOND_DEVICE_PERCENT: u32 = 25;
const PROMO_CODE_PERCENT: u32 = 20;
/// Of the orders sent through the S2S API, the share (percent) of which the shop later
/// reports a returned unit of the first item (a partial return when the line had two),
/// and the share it reverses as fraud.
const RETURN_PERCENT: u32 = 10;
const FRAUD_PERCENT: u32 = 3;

/// Where the demo keeps its account's auth token, so that a restarted demo can still
/// send conversions through the compatible API. Demo stores only: a real account's
/// token is never kept anywhere but as a hash.
const DEMO_TOKEN_SETTING: &str = "demo.auth_token";

/// The installed demo.
pub(crate) struct Demo {
    /// The demo program.
    pub(crate) program: ProgramId,
    /// The demo account's credentials, when this start created it.
    pub(crate) new_account: Option<AccountCredentials>,
    /// Credentials for the compatible API, when known: shoppers then also convert.
    pub(crate) s2s: Option<AccountCredentials>,
    /// Dashboard logins made by this start (a brand user and a partner user), with
    /// what each stands for; shown once, like every secret.
    pub(crate) new_logins: Vec<(UserCredentials, &'static str)>,
}

/// The demo's dashboard logins: the brand, and partner 101 (Trail Blog).
const DEMO_LOGINS: [(&str, Option<PartnerId>, &str); 2] =
    [("acme", None, "the brand"), ("trailblog", Some(PartnerId(101)), "partner Trail Blog (101)")];

/// Applies the demo program, under the account that already owns it, else the account
/// this first start just created, else a new demo account. Applying is idempotent, so
/// restarting the demo changes nothing.
pub(crate) async fn install(
    accounts: &Accounts,
    programs: &Programs,
    store: &dyn Store,
    first_account: Option<&AccountCredentials>,
) -> anyhow::Result<Demo> {
    let document =
        parse_document(PROGRAM_DOCUMENT).map_err(|problems| anyhow::anyhow!("demo document: {problems:?}"))?;
    let program = document.program.id;
    let (account_sid, new_account, known) = match (store.program(program).await?, first_account) {
        (Some(stored), _) => (stored.account_sid, None, None),
        (None, Some(first_account)) => (first_account.account_sid.clone(), None, Some(first_account.clone())),
        (None, None) => {
            let credentials = accounts.create_account("Acme Outdoor (demo)").await?;
            (credentials.account_sid.clone(), Some(credentials.clone()), Some(credentials))
        }
    };
    let report = programs.apply(&account_sid, document, None).await.context("cannot apply the demo program")?;
    tracing::info!(program = %program, outcome = report.outcome, "demo program ready");
    let s2s = match known {
        Some(credentials) => {
            let value = format!("{}:{}", credentials.account_sid, credentials.auth_token);
            store.setting_or_insert(DEMO_TOKEN_SETTING, &value, jiff::Timestamp::now()).await?;
            Some(credentials)
        }
        None => store.setting(DEMO_TOKEN_SETTING).await?.and_then(|value| {
            let (sid, token) = value.split_once(':')?;
            (sid == account_sid).then(|| AccountCredentials { account_sid: sid.into(), auth_token: token.into() })
        }),
    };
    if s2s.is_none() {
        tracing::warn!("the demo account's auth token is unknown; demo shoppers will click but not convert");
    }
    let mut new_logins = Vec::new();
    for (username, partner, role) in DEMO_LOGINS {
        if store.user(username).await?.is_none() {
            new_logins.push((accounts.create_user(&account_sid, partner, username).await?, role));
        }
    }
    Ok(Demo { program, new_account, s2s, new_logins })
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
pub(crate) async fn drive(address: SocketAddr, program: ProgramId, s2s: Option<AccountCredentials>) {
    let s2s = Arc::new(s2s);
    let crowd = Arc::new(Semaphore::new(CROWD_CONCURRENCY));
    for _ in 0..CROWD_SHOPPERS {
        let Ok(permit) = crowd.clone().acquire_owned().await else { break };
        let s2s = s2s.clone();
        tokio::spawn(async move {
            shopper(address, program, s2s).await;
            drop(permit);
        });
    }
    tracing::info!(shoppers = CROWD_SHOPPERS, "demo crowd sent; continuing with a trickle");
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / SHOPPERS_PER_SECOND));
    loop {
        ticks.tick().await;
        tokio::spawn(shopper(address, program, s2s.clone()));
    }
}

async fn shopper(address: SocketAddr, program: ProgramId, s2s: Arc<Option<AccountCredentials>>) {
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
    let mut click_id = None;
    for visit in visits.into_iter().take(clicks) {
        let sent = client
            .get(format!("http://{address}{}", visit.path))
            .header(reqwest::header::HOST, visit.host)
            .header(reqwest::header::REFERER, "https://trailblog.test/best-tents-2026")
            .send()
            .await;
        match sent {
            Ok(response) => click_id = landing_click_id(&response).or(click_id),
            Err(error) => return tracing::debug!(%error, "demo click failed"),
        }
        tokio::time::sleep(Duration::from_millis(PAUSE_BETWEEN_CLICKS_MS)).await;
    }
    if let (Some(credentials), Some(click_id)) = (s2s.as_ref(), click_id) {
        buy(address, program, credentials, &click_id).await;
    }
}

/// The click id a redirect hands to the landing page.
fn landing_click_id(response: &reqwest::Response) -> Option<String> {
    let location = response.headers().get(reqwest::header::LOCATION)?.to_str().ok()?;
    let url = url::Url::parse(location).ok()?;
    url.query_pairs().find(|(name, _)| name == "irclickid").map(|(_, value)| value.into_owned())
}

/// Items the demo shop sells: SKU, category, unit price.
const CATALOG: &[(&str, &str, &str)] = &[
    ("TENT-2P", "tents", "249.00"),
    ("TENT-4P", "tents", "389.50"),
    ("JKT-RAIN", "jackets", "129.99"),
    ("BOOT-TRAIL", "boots", "159.00"),
    ("MUG-ENAMEL", "accessories", "14.95"),
    ("SOCK-WOOL", "accessories", "19.00"),
    // The demo terms restrict gift cards, so orders that include one show a zero line.
    ("GIFT-50", "gift cards", "50.00"),
];

/// Some shoppers buy, half through the browser tag on the checkout page, half through
/// the compatible S2S API as a shop's back end would. Some
/// sign up on this device first and then buy on another one, named only by
/// their customer id; some use a partner's promo code.
async fn buy(address: SocketAddr, program: ProgramId, credentials: &AccountCredentials, click_id: &str) {
    let order = {
        let mut rng = rand::rng();
        if rng.random_range(0..100) >= BUYERS_PERCENT {
            return;
        }
        let second_device = rng.random_range(0..100) < SECOND_DEVICE_PERCENT;
        let promo_code = (rng.random_range(0..100) < PROMO_CODE_PERCENT)
            .then(|| ["ALPINE15", "DEAL42", "DEAL07", "WINTER"].choose(&mut rng).copied().unwrap_or("ALPINE15"));
        let items: Vec<(&str, &str, &str, u32)> = (0..rng.random_range(1..=3))
            .filter_map(|_| {
                CATALOG
                    .choose(&mut rng)
                    .map(|(sku, category, price)| (*sku, *category, *price, rng.random_range(1..=2)))
            })
            .collect();
        let customer = format!("demo-{:08x}", rng.random::<u32>());
        let status = if rng.random_bool(0.6) { "New" } else { "Existing" };
        let through_tag = rng.random_bool(0.5);
        (second_device, promo_code, items, customer, status, format!("D-{:012x}", rng.random::<u64>()), through_tag)
    };
    let (second_device, promo_code, items, customer, status, order_id, through_tag) = order;
    if through_tag && !second_device {
        return tag_conversion(address, program, click_id, &order_id, promo_code, &items).await;
    }
    let program = program.to_string();
    if second_device {
        // The sign-up on this device links the customer to the clicking browser.
        let signup = vec![
            ("CampaignId", program.clone()),
            ("ActionTrackerId", "2".into()),
            ("EventDate", "NOW".into()),
            ("OrderId", format!("{order_id}-signup")),
            ("ClickId", click_id.into()),
            ("CustomerId", customer.clone()),
        ];
        send_conversion(address, credentials, signup).await;
    }
    let mut sale = vec![
        ("CampaignId", program.clone()),
        ("ActionTrackerId", "1".into()),
        ("EventDate", "NOW".into()),
        ("OrderId", order_id),
        ("CustomerId", customer),
        ("CustomerStatus", status.into()),
        ("CurrencyCode", "USD".into()),
        ("OrderShipping", "7.95".into()),
    ];
    if !second_device {
        sale.push(("ClickId", click_id.into()));
    }
    if let Some(code) = promo_code {
        sale.push(("OrderPromoCode", code.into()));
        sale.push(("OrderDiscount", "10.00".into()));
    }
    let mut names = Vec::new();
    for (index, (sku, category, price, quantity)) in items.iter().enumerate() {
        let n = index + 1;
        names.push((format!("ItemSku{n}"), sku.to_string()));
        names.push((format!("ItemCategory{n}"), category.to_string()));
        names.push((format!("ItemPrice{n}"), price.to_string()));
        names.push((format!("ItemQuantity{n}"), quantity.to_string()));
    }
    let mut form: Vec<(String, String)> = sale.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
    form.extend(names);
    let order_id = form.iter().find(|(name, _)| name == "OrderId").map(|(_, value)| value.clone()).unwrap_or_default();
    send_conversion(address, credentials, form).await;
    let first_quantity = items.first().map_or(1, |(_, _, _, quantity)| *quantity);
    after_sale(address, program, credentials, &order_id, first_quantity).await;
}

/// Some time after the sale, the shop reports that one unit of the first item came
/// back (its new absolute quantity: a partial return when it had two, the whole line
/// when it had one), or reverses the order as fraud, through the compatible API,
/// naming the order as its back end would.
async fn after_sale(
    address: SocketAddr,
    program: String,
    credentials: &AccountCredentials,
    order_id: &str,
    first_quantity: u32,
) {
    let roll = rand::rng().random_range(0..100);
    let kept = first_quantity.saturating_sub(1).to_string();
    let (method, change): (_, Vec<(&str, &str)>) = if roll < RETURN_PERCENT {
        (reqwest::Method::PUT, vec![("ItemQuantity1", kept.as_str()), ("Reason", "ITEM_RETURNED")])
    } else if roll < RETURN_PERCENT + FRAUD_PERCENT {
        (reqwest::Method::DELETE, vec![("DispositionCode", "CONS_FRAUD")])
    } else {
        return;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut form = vec![("CampaignId", program.as_str()), ("ActionTrackerId", "1"), ("OrderId", order_id)];
    form.extend(change);
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let sent = reqwest::Client::new()
        .request(method, format!("http://{address}/Advertisers/{}/Actions", credentials.account_sid))
        .basic_auth(&credentials.account_sid, Some(&credentials.auth_token))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    if let Err(error) = sent {
        tracing::debug!(%error, "demo return or reversal failed");
    }
}

/// A conversion as the browser tag on the shop's checkout page sends it: to `/collect`,
/// from the shop's origin, with the click id the tag kept in its first-party cookie.
async fn tag_conversion(
    address: SocketAddr,
    program: ProgramId,
    click_id: &str,
    order_id: &str,
    promo_code: Option<&str>,
    items: &[(&str, &str, &str, u32)],
) {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|(sku, category, price, quantity)| {
            serde_json::json!({"sku": sku, "category": category, "price": price, "quantity": quantity})
        })
        .collect();
    let visitor = format!("{:032x}", rand::rng().random::<u128>());
    let event = serde_json::json!({
        "type": "conversion", "visitor": visitor, "clickId": click_id, "eventTypeId": 1,
        "conversion": {"orderId": order_id, "eventDate": "NOW", "currencyCode": "USD", "items": items,
                       "orderPromoCode": promo_code},
    });
    let sent = reqwest::Client::new()
        .post(format!("http://{address}/collect?program={program}"))
        .header(reqwest::header::ORIGIN, "https://www.acme.test")
        .header(reqwest::header::CONTENT_TYPE, "text/plain")
        .body(event.to_string())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => tracing::warn!(status = %response.status(), "demo tag conversion refused"),
        Err(error) => tracing::debug!(%error, "demo tag conversion failed"),
    }
}

async fn send_conversion<N: AsRef<str>>(address: SocketAddr, credentials: &AccountCredentials, form: Vec<(N, String)>) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(name, value)| (name.as_ref(), value.as_str())))
        .finish();
    let sent = reqwest::Client::new()
        .post(format!("http://{address}/Advertisers/{}/Conversions", credentials.account_sid))
        .basic_auth(&credentials.account_sid, Some(&credentials.auth_token))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => tracing::warn!(status = %response.status(), "demo conversion refused"),
        Err(error) => tracing::debug!(%error, "demo conversion failed"),
    }
}
