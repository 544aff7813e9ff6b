//! The browser tag in a real browser (SPEC §4.3): headless Chromium follows a partner's
//! tracking link from the real `tally serve` to a brand's landing page, then opens the
//! checkout page without the click id, whose `ire('trackConversion', …)` must still be
//! credited to the partner through the tag's first-party cookie.
//!
//! The brand's pages are served by the test on `shop.localhost` (Chromium resolves
//! `*.localhost` to the loopback address), so the tag really runs cross-origin.
//! Needs Debian's Chromium (`scripts/install-test-deps`); without it the test says
//! SKIPPED and passes.

use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use chromiumoxide::page::Page;
use serde_json::{Value, json};

use crate::chromium;
use crate::helpers::{Sandbox, start_server};

const PROGRAM: u64 = 6300;
/// How long a page may take to reach the title the test waits for.
const PAGE_DEADLINE: Duration = Duration::from_secs(20);

/// A program whose landing page is the test's brand site.
fn shop_program(brand_port: u16) -> Value {
    json!({
        "program": {
            "id": PROGRAM,
            "name": "Browser shop",
            "currency": "USD",
            "time_zone": "Europe/Paris",
            "default_landing_page": format!("http://shop.localhost:{brand_port}/landing"),
            "deep_linking": false,
            "permitted_domains": ["shop.localhost"]
        },
        "event_types": [{"id": 1, "code": "online_sale", "name": "Online sale", "category": "SALE"}],
        "partners": [{"id": 101, "name": "Trail Blog"}],
        "ads": [{"id": 1, "name": "Text link", "type": "TEXT_LINK"}],
        "template_terms": [{"id": 1, "name": "Standard",
                            "event_payouts": [{"event_type": 1, "default_payout": {"rate": "10"}}]}],
        "contracts": [{"partner": 101, "template_terms": 1, "start": "2025-01-01T00:00:00Z"}]
    })
}

/// The brand's two pages, each loading the tag from Tally.
fn brand_site(tag_url: String) -> Router {
    let landing = format!(
        "<!doctype html><title>landing</title><script src=\"{tag_url}\"></script>\
         <script>document.title = 'landed:' + document.cookie;</script>"
    );
    // The documented snippet: calls queued before the tag loads run when it does.
    let checkout = format!(
        "<!doctype html><title>checkout</title><script>\
         window.ire = window.ire || function () {{ (ire.q = ire.q || []).push(arguments); }};\
         ire('trackConversion', 1, {{orderId: 'B-1', currencyCode: 'USD',\
             items: [{{subTotal: '20.00', sku: 'A', quantity: 1}}]}},\
             {{callback: r => document.title = 'done:' + JSON.stringify(r)}});\
         </script><script src=\"{tag_url}\"></script>"
    );
    Router::new()
        .route("/landing", get(move || async move { Html(landing) }))
        .route("/checkout", get(move || async move { Html(checkout) }))
}

/// Waits until the page's title starts with `prefix`; returns the rest.
async fn title_after(page: &Page, prefix: &str) -> String {
    let started = Instant::now();
    loop {
        let title = page.get_title().await.ok().flatten().unwrap_or_default();
        if let Some(rest) = title.strip_prefix(prefix) {
            return rest.to_owned();
        }
        assert!(started.elapsed() < PAGE_DEADLINE, "the page never reached {prefix:?}; its title is {title:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_without_the_click_id_is_credited_through_the_tags_first_party_cookie() {
    if !chromium::installed() {
        println!("SKIPPED browser test: chromium not installed (run scripts/install-test-deps)");
        return;
    }
    let sandbox = Sandbox::new();
    let brand = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the brand site");
    let brand_port = brand.local_addr().expect("a bound address").port();
    let account_sid = sandbox.create_account();
    let report = sandbox.apply_program(&account_sid, &shop_program(brand_port));
    assert_eq!(report["outcome"], "created", "{report}");
    let server = start_server(&sandbox);
    let site = brand_site(server.url(&format!("/tag.js?program={PROGRAM}")));
    tokio::spawn(async move { axum::serve(brand, site).await.expect("the brand site serves") });

    let profile = tempfile::tempdir().expect("a browser profile directory");
    let (mut browser, events) = chromium::launch(profile.path(), |config| config.disable_https_first()).await;
    let page = browser.new_page(server.url(&format!("/c/101/1/{PROGRAM}"))).await.expect("a page");
    let cookies = title_after(&page, "landed:").await;
    assert!(cookies.contains("tally_click="), "the landing keeps the click id: {cookies:?}");
    assert!(cookies.contains("tally_fp="), "the tag names the browser: {cookies:?}");
    let landed_on = page.url().await.expect("a URL").unwrap_or_default();
    assert!(landed_on.starts_with(&format!("http://shop.localhost:{brand_port}/landing?irclickid=")), "{landed_on}");

    page.goto(format!("http://shop.localhost:{brand_port}/checkout")).await.expect("the checkout opens");
    let answer: Value = serde_json::from_str(&title_after(&page, "done:").await).expect("the answer is JSON");
    assert_eq!(answer["status"], "CREDITED", "{answer}");
    assert_eq!(answer["partnerId"], 101, "{answer}");
    assert_eq!(answer["payout"], "2.00", "{answer}");

    browser.close().await.expect("chromium closes");
    let _ = browser.wait().await;
    events.abort();
}
