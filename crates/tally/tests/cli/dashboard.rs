//! The dashboard in a real browser (SPEC §10): headless Chromium logs in to a real
//! `tally serve` with a login made by `tally user create`, filters the action listing,
//! opens an action and finds its journey drawn across two devices, exports the listing
//! as CSV, reads performance and the integration check, marks a statement paid, then
//! logs in as a partner and sees only its own.
//!
//! With `TALLY_SCREENSHOTS=1` it also saves the main pages to `docs/screenshots/`
//! (left alone otherwise, so that ordinary runs never rewrite them). Needs Debian's
//! Chromium (`scripts/install-test-deps`); without it the test says SKIPPED and passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::browser::Browser;
use chromiumoxide::cdp::browser_protocol::browser::{SetDownloadBehaviorBehavior, SetDownloadBehaviorParams};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::page::{Page, ScreenshotParams};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::chromium;
use crate::helpers::{Sandbox, Server, click, click_id_of, link_client, spawn_server};

const PROGRAM: u64 = 1000;
/// How long a page may take to show what the test waits for.
const PAGE_DEADLINE: Duration = Duration::from_secs(15);
const DESKTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A small outdoor shop: two partners, a media source, terms that lock ten days after
/// the event's month and pay twenty days after the month they lock.
fn shop_program() -> Value {
    json!({
        "program": {
            "id": PROGRAM,
            "name": "Acme Outdoor",
            "currency": "USD",
            "time_zone": "America/New_York",
            "default_landing_page": "https://www.acme.test/",
            "deep_linking": true,
            "permitted_domains": ["acme.test", "*.acme.test"]
        },
        "event_types": [{"id": 1, "code": "online_sale", "name": "Online sale", "category": "SALE"}],
        "partners": [
            {"id": 101, "name": "Trail Blog"},
            {"id": 102, "name": "Deal Hunters", "credit_group": "STANDARD"}
        ],
        "media_sources": [{"id": 901, "name": "Paid search", "credit_group": "STANDARD"}],
        "ads": [{"id": 1, "name": "Homepage text link", "type": "TEXT_LINK"}],
        "template_terms": [{"id": 1, "name": "Standard", "event_payouts": [{
            "event_type": 1,
            "payout_level": "ITEM",
            "default_payout": {"rate": "8"},
            "payout_groups": [{"rank": 1, "rules": [{"variable": "ITEM_CATEGORY", "operator": "IS", "values": "Tents"}],
                               "payout": {"rate": "10"}}],
            "locking": {"months": 0, "days": 10},
            "payment": {"months": 0, "days": 20}
        }]}],
        "contracts": [
            {"partner": 101, "template_terms": 1, "start": "2025-01-01T00:00:00Z"},
            {"partner": 102, "template_terms": 1, "start": "2025-01-01T00:00:00Z"}
        ]
    })
}

/// What the shop's back end sends: the compatible S2S API, as a form.
struct Shop {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
}

impl Shop {
    async fn convert(&self, fields: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish())
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let queued: Value = response.json().await.expect("JSON");
        let uri = queued["QueuedUri"].as_str().expect("a QueuedUri").to_owned();
        let url = self.url.replace(&format!("/Advertisers/{}/Conversions", self.account_sid), &uri);
        let record = self.client.get(url).basic_auth(&self.account_sid, Some(&self.auth_token)).send().await;
        record.expect("the submission answers").json().await.expect("JSON")
    }
}

/// An order of one item: `(order id, sku, name, category, price)`.
fn order<'a>(order: &'a (&'a str, &'a str, &'a str, &'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let (order_id, sku, name, category, price) = order;
    vec![
        ("CampaignId", "1000"),
        ("ActionTrackerId", "1"),
        ("OrderId", order_id),
        ("CurrencyCode", "USD"),
        ("ItemSku1", sku),
        ("ItemName1", name),
        ("ItemCategory1", category),
        ("ItemPrice1", price),
        ("ItemQuantity1", "1"),
        ("CustomerStatus", "New"),
    ]
}

/// Sends the data the pages show: fresh orders from both partners' clicks, one bought on
/// a phone after a click on a laptop, older orders that have locked and been stated,
/// and a duplicate that is refused.
async fn fill_the_shop(server: &Server, shop: &Shop) -> String {
    // Shoppers' browsers: a client without a browser's user agent counts as a crawler.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(DESKTOP)
        .build()
        .expect("an HTTP client");
    let fresh = [
        ("A-1001", "TENT-2", "Ridge 2 tent", "Tents", "249.00"),
        ("A-1002", "MUG-1", "Enamel mug", "Kitchen", "14.50"),
        ("A-1003", "BAG-30", "Trail 30 backpack", "Bags", "119.00"),
        ("A-1004", "TENT-4", "Basecamp 4 tent", "Tents", "429.00"),
        ("A-1005", "LAMP-1", "Camp lantern", "Lighting", "39.90"),
    ];
    for (index, fresh_order) in fresh.iter().enumerate() {
        let partner = if index % 2 == 0 { 101 } else { 102 };
        let click_id = click(&client, server, &format!("/c/{partner}/1/{PROGRAM}?subId1=post-{index}")).await;
        let mut fields = order(fresh_order);
        fields.extend([("ClickId", click_id.as_str()), ("EventDate", "NOW")]);
        assert_eq!(shop.convert(&fields).await["ErrorType"], Value::Null);
    }
    // Deal Hunters on the laptop, a first order naming the customer; then Trail Blog's
    // link on the phone, and the order that wins it.
    let laptop = click(&client, server, &format!("/c/102/1/{PROGRAM}?subId1=coupon-page")).await;
    let mut first = order(&("A-1006", "STOVE-1", "Camp stove", "Kitchen", "59.00"));
    first.extend([("ClickId", laptop.as_str()), ("EventDate", "NOW"), ("CustomerId", "C-2001")]);
    assert_eq!(shop.convert(&first).await["ErrorType"], Value::Null);
    let phone = client
        .get(server.url(&format!("/c/101/1/{PROGRAM}?subId1=review-tents")))
        .header(reqwest::header::USER_AGENT, IPHONE)
        .send()
        .await
        .expect("the server answers");
    let phone = click_id_of(&phone).expect("a click id");
    let mut second = order(&("A-1007", "TENT-3", "Summit 3 tent", "Tents", "329.00"));
    second.extend([("ClickId", phone.as_str()), ("EventDate", "NOW"), ("CustomerId", "C-2001")]);
    let cross_device = shop.convert(&second).await;
    assert_eq!(cross_device["ErrorType"], Value::Null, "{cross_device}");
    // Orders of two months ago, credited by partner id: locked and stated by now.
    let old = (Timestamp::now() - SignedDuration::from_hours(24 * 62)).to_string();
    for (index, (partner, amount)) in [("101", "180.00"), ("102", "95.00"), ("101", "240.00")].iter().enumerate() {
        let order_id = format!("B-{}", 900 + index);
        let fields = [
            ("CampaignId", "1000"),
            ("ActionTrackerId", "1"),
            ("OrderId", order_id.as_str()),
            ("CurrencyCode", "USD"),
            ("Amount", amount),
            ("MediaPartnerId", partner),
            ("EventDate", old.as_str()),
        ];
        let record = shop.convert(&fields).await;
        assert_eq!(record["ErrorType"], Value::Null, "{record}");
    }
    let mut duplicate = order(&("A-1001", "TENT-2", "Ridge 2 tent", "Tents", "249.00"));
    duplicate.extend([("ClickId", phone.as_str()), ("EventDate", "NOW")]);
    assert_eq!(shop.convert(&duplicate).await["ErrorType"], "CONV_DUPLICATE");
    cross_device["ActionId"].as_str().expect("an action").to_owned()
}

/// Waits until the page's HTML contains `text`; returns the HTML.
async fn wait_for(page: &Page, text: &str) -> String {
    let started = Instant::now();
    loop {
        let html = page.content().await.unwrap_or_default();
        if html.contains(text) {
            return html;
        }
        assert!(started.elapsed() < PAGE_DEADLINE, "the page never showed {text:?}; it shows:\n{html}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element and waits for the page it leads to.
async fn click_through(page: &Page, selector: &str) {
    page.find_element(selector).await.unwrap_or_else(|_| panic!("no {selector}")).click().await.expect("a click");
    page.wait_for_navigation().await.expect("the next page loads");
}

async fn log_in(page: &Page, login: &Value) {
    for (field, value) in [("#username", &login["username"]), ("#password", &login["password"])] {
        let input = page.find_element(field).await.expect("a login field");
        input.click().await.expect("focus").type_str(value.as_str().expect("text")).await.expect("typing");
    }
    click_through(page, "form button[type=submit]").await;
    wait_for(page, "Your programs").await;
}

/// Saves a screenshot of the whole page when `TALLY_SCREENSHOTS` is set.
async fn screenshot(page: &Page, name: &str) {
    if std::env::var_os("TALLY_SCREENSHOTS").is_none() {
        return;
    }
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&directory).expect("a screenshots directory");
    let params = ScreenshotParams::builder().full_page(true).build();
    page.save_screenshot(params, directory.join(format!("{name}.png"))).await.expect("a screenshot");
}

/// Clicks the page's download link and reads the file Chromium saves as `name`.
async fn download(browser: &Browser, page: &Page, directory: &Path, name: &str) -> String {
    let allow = SetDownloadBehaviorParams::builder()
        .behavior(SetDownloadBehaviorBehavior::Allow)
        .download_path(directory.display().to_string())
        .build()
        .expect("download settings");
    browser.execute(allow).await.expect("downloads are allowed");
    page.find_element("a[download]").await.expect("a download link").click().await.expect("a click");
    let file = directory.join(name);
    let started = Instant::now();
    loop {
        // Chromium writes `name.crdownload` and renames it when the download is complete.
        if let Ok(text) = std::fs::read_to_string(&file) {
            return text;
        }
        assert!(started.elapsed() < PAGE_DEADLINE, "{name} was never downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn user_create_prints_a_login_once_and_refuses_a_taken_name_or_an_unknown_account() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    let login = sandbox.run(&["user", "create", "--account", &account_sid, "--username", "maria"]).json_line();
    let fields: Vec<&String> = login.as_object().expect("an object").keys().collect();
    assert_eq!(fields, ["password", "username"]);
    assert_eq!(login["username"], "maria");
    assert!(login["password"].as_str().is_some_and(|password| password.len() >= 22), "{login}");
    let partner = ["user", "create", "--account", &account_sid, "--partner", "7", "--username", "seven"];
    assert_eq!(sandbox.run(&partner).json_line()["username"], "seven");

    let taken = sandbox.run(&["user", "create", "--account", &account_sid, "--username", "maria"]).failure();
    assert!(taken.contains("the username \"maria\" is taken"), "{taken}");
    let unknown = sandbox.run(&["user", "create", "--account", "TAnone", "--username", "x"]).failure();
    assert!(unknown.contains("does not exist"), "{unknown}");
    let spaced = sandbox.run(&["user", "create", "--account", &account_sid, "--username", "a b"]).failure();
    assert!(spaced.contains("a username is 1 to 64"), "{spaced}");
    let bad_partner = ["user", "create", "--account", &account_sid, "--partner", "x", "--username", "y"];
    assert!(sandbox.run(&bad_partner).failure().contains("--partner"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brand_and_a_partner_use_the_dashboard_in_a_browser() {
    if !chromium::installed() {
        println!("SKIPPED dashboard browser test: chromium not installed (run scripts/install-test-deps)");
        return;
    }
    let sandbox = Sandbox::new();
    let credentials = sandbox.run(&["account", "create", "--name", "Acme Outdoor"]).json_line();
    let account_sid = credentials["account_sid"].as_str().expect("an account").to_owned();
    let report = sandbox.apply_program(&account_sid, &shop_program());
    assert_eq!(report["outcome"], "created", "{report}");
    let brand = sandbox.run(&["user", "create", "--account", &account_sid, "--username", "maria"]).json_line();
    let partner_args = ["user", "create", "--account", &account_sid, "--partner", "101", "--username", "trailblog"];
    let partner = sandbox.run(&partner_args).json_line();

    let mut command = sandbox.tally_on_store(&["serve", "--listen", "127.0.0.1:0"]);
    command.env("TALLY_SCHEDULER__INTERVAL_SECONDS", "1");
    let server = spawn_server(command);
    let shop = Shop {
        client: link_client(),
        url: server.url(&format!("/Advertisers/{account_sid}/Conversions")),
        auth_token: credentials["auth_token"].as_str().expect("a token").to_owned(),
        account_sid: account_sid.clone(),
    };
    let cross_device = fill_the_shop(&server, &shop).await;

    let profile = tempfile::tempdir().expect("a browser profile directory");
    let (mut browser, events) = chromium::launch(profile.path(), |config| {
        config.window_size(1280, 900).viewport(None).arg("--hide-scrollbars")
    })
    .await;
    let page = browser.new_page(server.url("/")).await.expect("a page");
    wait_for(&page, "Log in").await;
    screenshot(&page, "login").await;
    log_in(&page, &brand).await;
    screenshot(&page, "programs").await;

    // The listing, filtered to one partner through the form.
    click_through(&page, &format!("a[href=\"/programs/{PROGRAM}/actions\"]")).await;
    let all = wait_for(&page, "Export all as CSV").await;
    assert!(all.contains("A-1001") && all.contains("A-1002") && !all.contains("post-0"), "brands never see sub ids");
    page.find_element("details.filters summary").await.expect("the filters").click().await.expect("unfolded");
    page.evaluate("document.querySelector('#f-partner').value = '101'").await.expect("a partner is chosen");
    click_through(&page, "form.filter-grid button[type=submit]").await;
    let filtered = wait_for(&page, "partner=101").await;
    assert!(filtered.contains("A-1001") && filtered.contains("A-1007") && !filtered.contains("A-1002"), "{filtered}");
    screenshot(&page, "actions").await;

    // The CSV of the whole filtered result, downloaded with the page's session.
    let downloads = tempfile::tempdir().expect("a download directory");
    let csv = download(&browser, &page, downloads.path(), &format!("actions-{PROGRAM}.csv")).await;
    let mut lines = csv.lines();
    assert!(lines.next().expect("a header").starts_with("action_id,creation_date,event_date,"), "{csv}");
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().all(|row| row.contains(",101,")) && rows.len() >= 4, "{csv}");

    // The cross-device action: its journey drawn on two lanes, the winner marked.
    page.goto(server.url(&format!("/programs/{PROGRAM}/actions/{cross_device}"))).await.expect("the detail opens");
    let detail = wait_for(&page, "Journey").await;
    assert!(detail.contains("2 touches on 2 devices"), "{detail}");
    let credited = page.find_elements("svg.journey g.touch.credited").await.expect("marks");
    assert_eq!(credited.len(), 1);
    assert!(detail.contains("Credited to Trail Blog (101)"), "{detail}");
    screenshot(&page, "action-detail").await;

    // Performance, charted by the server, and the integration check.
    page.goto(server.url(&format!("/programs/{PROGRAM}/performance?by=partner"))).await.expect("performance opens");
    let performance = wait_for(&page, "chart-bars").await;
    assert!(performance.contains("Trail Blog (101)") && performance.contains("Deal Hunters (102)"), "{performance}");
    screenshot(&page, "performance").await;
    page.goto(server.url(&format!("/programs/{PROGRAM}/performance"))).await.expect("performance opens");
    wait_for(&page, "chart-line").await;
    page.goto(server.url(&format!("/programs/{PROGRAM}/integration"))).await.expect("the check opens");
    wait_for(&page, "Order ids sent more than once").await;
    screenshot(&page, "integration-check").await;

    // Statements of the old orders, once the scheduler has stated them; one is paid.
    let statements_url = server.url(&format!("/programs/{PROGRAM}/statements"));
    let started = Instant::now();
    loop {
        page.goto(&statements_url).await.expect("the statements open");
        if page.content().await.unwrap_or_default().contains("Mark paid") {
            break;
        }
        assert!(started.elapsed() < PAGE_DEADLINE, "no statement was made");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    screenshot(&page, "statements").await;
    let reference = page.find_element("form.pay-form input[name=reference]").await.expect("a reference field");
    reference.click().await.expect("focus").type_str("SEPA-2026-11").await.expect("typing");
    click_through(&page, "form.pay-form button[type=submit]").await;
    let paid = wait_for(&page, "The statement is marked paid").await;
    assert!(paid.contains("SEPA-2026-11"), "{paid}");

    // A phone-sized listing, then the partner's own view.
    page.execute(SetDeviceMetricsOverrideParams::new(390, 844, 2.0, true)).await.expect("a phone viewport");
    page.goto(server.url(&format!("/programs/{PROGRAM}/actions"))).await.expect("the listing opens");
    wait_for(&page, "Export all as CSV").await;
    screenshot(&page, "actions-phone").await;
    page.execute(SetDeviceMetricsOverrideParams::new(1280, 900, 1.0, false)).await.expect("a desktop viewport");
    page.goto(server.url("/")).await.expect("the programs open");
    click_through(&page, ".who form button[type=submit]").await;
    wait_for(&page, "Log in").await;
    log_in(&page, &partner).await;
    page.goto(server.url(&format!("/programs/{PROGRAM}/actions"))).await.expect("the listing opens");
    let own = wait_for(&page, "Sub ids").await;
    assert!(own.contains("A-1001") && own.contains("post-0") && own.contains("review-tents"), "{own}");
    assert!(!own.contains("A-1002") && !own.contains("Deal Hunters") && !own.contains("coupon-page"), "{own}");
    assert!(!own.contains("Invalid conversions"), "partners do not see refused conversions");
    screenshot(&page, "partner-actions").await;

    browser.close().await.expect("chromium closes");
    let _ = browser.wait().await;
    events.abort();
}
