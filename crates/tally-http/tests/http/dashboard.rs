//! The dashboard (SPEC §10, §11): password login, signed sessions, CSRF tokens, and what
//! brands and partners each see, through the real router.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use std::sync::Arc;

use tally_app::accounts::{Accounts, Login, UserCredentials};
use tally_app::ports::Clock;
use tally_app::secrets::Keyed;
use tally_core::ids::PartnerId;

use crate::conversions::{action, click, queued, s2s, sale};
use crate::helpers::{DESKTOP_CHROME, IPHONE_SAFARI, KEY, PROGRAM, TestApp, TestResponse, acme_program, encode};

/// A brand user of the test account.
async fn brand_user(app: &TestApp) -> UserCredentials {
    app.accounts.create_user(&app.account_sid, None, "brand.manager").await.unwrap()
}

/// A partner user acting for partner 101.
async fn partner_user(app: &TestApp) -> UserCredentials {
    app.accounts.create_user(&app.account_sid, Some(PartnerId(101)), "trail-blog").await.unwrap()
}

/// The value of the first `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).expect("the page has a CSRF field") + 19;
    page[start..].split('"').next().unwrap().to_owned()
}

/// The `name=value` part of a `Set-Cookie` line.
fn cookie_pair(response: &TestResponse, name: &str) -> String {
    response.set_cookie(name).split(';').next().unwrap().to_owned()
}

async fn send_form(app: &TestApp, uri: &str, cookie: &str, fields: &[(&str, &str)]) -> TestResponse {
    let body: Vec<String> = fields.iter().map(|(name, value)| format!("{name}={}", encode(value))).collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::USER_AGENT, DESKTOP_CHROME)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.join("&")))
        .unwrap();
    app.send(request).await
}

/// Fills in the login form as a browser would; returns the answer.
async fn try_login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    let form = app.get("/login").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let nonce = cookie_pair(&form, "tally_login");
    let csrf = csrf_of(&form.text());
    let fields = [("csrf", csrf.as_str()), ("next", "/"), ("username", username), ("password", password)];
    send_form(app, "/login", &nonce, &fields).await
}

/// Logs in; returns the `Cookie` header of the session.
async fn log_in(app: &TestApp, login: &UserCredentials) -> String {
    let response = try_login(app, &login.username, &login.password).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    cookie_pair(&response, "tally_session")
}

async fn page(app: &TestApp, uri: &str, cookie: &str) -> TestResponse {
    let response = app.get_with_cookies(uri, cookie).await;
    assert_eq!(response.status, StatusCode::OK, "{uri}: {}", response.text());
    assert_eq!(response.header(header::CONTENT_TYPE), Some("text/html; charset=utf-8"));
    response
}

/// A credited sale through the compatible API: a click of `partner` (with `query` on
/// the link), then the order. Returns the action id.
async fn sale_of(app: &TestApp, partner: u64, query: &str, order_id: &str, amount: &str) -> String {
    let click_id = app.get(&format!("/c/{partner}/1/{PROGRAM}{query}")).await.click_id();
    app.advance_minutes(5);
    let mut fields = sale(&click_id, order_id);
    fields.push(("Amount", amount));
    let record = queued(app, &s2s(app, &fields).await).await;
    record["ActionId"].as_str().unwrap_or_else(|| panic!("not credited: {record}")).to_owned()
}

#[tokio::test]
async fn the_right_password_opens_a_session_and_a_wrong_one_or_an_unknown_user_gets_the_same_401() {
    let app = TestApp::spawn().await;
    let login = brand_user(&app).await;

    let response = try_login(&app, &login.username, &login.password).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header(header::LOCATION), Some("/"));
    let set = response.set_cookie("tally_session");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let home = page(&app, "/", &cookie_pair(&response, "tally_session")).await.text();
    assert!(home.contains("Acme Outdoor") && home.contains("brand.manager"), "{home}");
    assert_eq!(home.matches("<main").count(), 1);

    let wrong = try_login(&app, &login.username, "not-the-password").await;
    let unknown = try_login(&app, "nobody", "not-the-password").await;
    for refused in [&wrong, &unknown] {
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.text().contains("The username or password is not right."), "{}", refused.text());
        assert!(
            refused
                .headers
                .get_all(header::SET_COOKIE)
                .iter()
                .all(|line| !line.to_str().unwrap().starts_with("tally_session="))
        );
    }
}

#[tokio::test]
async fn five_failed_logins_hold_a_name_for_a_while_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let login = brand_user(&app).await;
    for _ in 0..5 {
        assert_eq!(try_login(&app, &login.username, "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let held = try_login(&app, &login.username, &login.password).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "{}", held.text());
    assert!(held.text().contains("Too many failed logins"), "{}", held.text());
    assert!(held.header(header::RETRY_AFTER).is_some_and(|seconds| seconds.parse::<u64>().unwrap() > 0));
    app.advance_minutes(15);
    assert_eq!(try_login(&app, &login.username, &login.password).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn failed_logins_on_one_node_hold_the_name_on_every_node() {
    let app = TestApp::spawn().await;
    let login = brand_user(&app).await;
    // A second node: its own service on the same store (the shared PostgreSQL of a
    // cluster), with the cluster's key.
    let clock: Arc<dyn Clock> = app.clock.clone();
    let other_node = Accounts::new(app.store.clone(), clock, Keyed::new(KEY));
    for _ in 0..3 {
        assert_eq!(try_login(&app, &login.username, "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..2 {
        assert_eq!(other_node.login(&login.username, "guess").await.unwrap(), Login::Refused);
    }
    assert!(matches!(other_node.login(&login.username, &login.password).await.unwrap(), Login::Throttled(_)));
    let held = try_login(&app, &login.username, &login.password).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "five failures over two nodes: {}", held.text());

    app.advance_minutes(15);
    assert!(matches!(other_node.login(&login.username, &login.password).await.unwrap(), Login::Accepted(_)));
    for _ in 0..4 {
        try_login(&app, &login.username, "guess").await;
    }
    assert_eq!(
        try_login(&app, &login.username, &login.password).await.status,
        StatusCode::SEE_OTHER,
        "a success on one node cleared the name for all"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_an_https_proxy() {
    let app = TestApp::spawn().await;
    let login = brand_user(&app).await;
    let form = app.get("/login").await;
    let body = format!(
        "csrf={}&username={}&password={}",
        encode(&csrf_of(&form.text())),
        login.username,
        encode(&login.password)
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie_pair(&form, "tally_login"))
        .header("x-forwarded-proto", "https")
        .body(Body::from(body))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    assert!(response.set_cookie("tally_session").contains("; Secure"));
}

#[tokio::test]
async fn every_page_needs_a_session_and_sends_to_the_login_first() {
    let app = TestApp::spawn().await;
    let cookie = log_in(&app, &brand_user(&app).await).await;

    for uri in ["/", "/programs/1000/actions?state=PENDING", "/programs/1000/statements", "/programs/1000/actions.csv"]
    {
        let response = app.get(uri).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{uri}");
        let location = response.header(header::LOCATION).unwrap();
        assert!(location.starts_with("/login"), "{uri}: {location}");
    }
    let to_login = app.get("/programs/1000/actions?state=PENDING").await;
    assert_eq!(to_login.header(header::LOCATION), Some("/login?next=%2Fprograms%2F1000%2Factions%3Fstate%3DPENDING"));

    // A cookie whose name was changed, or that has expired, opens nothing.
    let forged = cookie.replacen("brand.manager", "admin", 1);
    assert_eq!(app.get_with_cookies("/", &forged).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_with_cookies("/", &cookie).await.status, StatusCode::OK);
    app.advance_minutes(12 * 60 + 1);
    assert_eq!(app.get_with_cookies("/", &cookie).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logging_out_ends_every_session_of_the_user_but_not_the_next_login() {
    let app = TestApp::spawn().await;
    let login = brand_user(&app).await;
    let here = log_in(&app, &login).await;
    app.advance_minutes(1);
    // The same user in another browser, or a copy of the cookie somewhere else.
    let elsewhere = log_in(&app, &login).await;
    let partner = log_in(&app, &partner_user(&app).await).await;
    app.advance_minutes(1);

    let token = csrf_of(&page(&app, "/", &here).await.text());
    assert_eq!(send_form(&app, "/logout", &here, &[("csrf", &token)]).await.status, StatusCode::SEE_OTHER);

    for cookie in [&here, &elsewhere] {
        let response = app.get_with_cookies("/", cookie).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "a session from before the logout is over");
        assert!(response.header(header::LOCATION).unwrap().starts_with("/login"));
    }
    page(&app, "/", &partner).await;
    let again = log_in(&app, &login).await;
    page(&app, "/", &again).await;
}

#[tokio::test]
async fn a_form_without_its_sessions_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let cookie = log_in(&app, &brand_user(&app).await).await;
    let other = log_in(&app, &partner_user(&app).await).await;
    let others_token = csrf_of(&page(&app, "/", &other).await.text());

    for fields in [vec![], vec![("csrf", "forged")], vec![("csrf", others_token.as_str())]] {
        let refused = send_form(&app, "/logout", &cookie, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}");
        let refused = send_form(&app, "/programs/1000/statements/any/paid", &cookie, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    // A login form needs the nonce of the browser that opened it.
    let form = app.get("/login").await;
    let fields = [("csrf", "forged"), ("username", "brand.manager"), ("password", "x")];
    assert_eq!(
        send_form(&app, "/login", &cookie_pair(&form, "tally_login"), &fields).await.status,
        StatusCode::FORBIDDEN
    );

    let token = csrf_of(&page(&app, "/", &cookie).await.text());
    let out = send_form(&app, "/logout", &cookie, &[("csrf", &token)]).await;
    assert_eq!((out.status, out.header(header::LOCATION)), (StatusCode::SEE_OTHER, Some("/login")));
    assert!(out.set_cookie("tally_session").contains("Max-Age=0"));
}

#[tokio::test]
async fn a_partner_sees_only_its_own_actions_with_its_sub_ids_and_the_brand_never_sees_sub_ids() {
    let app = TestApp::spawn().await;
    let own = sale_of(&app, 101, "?subId1=secret-sub-7", "OWN-1", "100").await;
    let rival = sale_of(&app, 102, "?subId1=rival-sub", "RIVAL-1", "50").await;
    let partner = log_in(&app, &partner_user(&app).await).await;
    let brand = log_in(&app, &brand_user(&app).await).await;

    let listing = page(&app, "/programs/1000/actions", &partner).await.text();
    assert!(listing.contains("OWN-1") && listing.contains("secret-sub-7"), "{listing}");
    assert!(!listing.contains("RIVAL-1") && !listing.contains("rival-sub"));
    let detail = page(&app, &format!("/programs/1000/actions/{own}"), &partner).await.text();
    assert!(detail.contains("Sub id 1") && detail.contains("secret-sub-7"));
    let hidden = app.get_with_cookies(&format!("/programs/1000/actions/{rival}"), &partner).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let asked = app.get_with_cookies("/programs/1000/actions?partner=102", &partner).await;
    assert_eq!(asked.status, StatusCode::BAD_REQUEST);
    assert!(!asked.text().contains("RIVAL-1"));
    assert_eq!(app.get_with_cookies("/programs/1000/invalid", &partner).await.status, StatusCode::NOT_FOUND);
    let csv = app.get_with_cookies("/programs/1000/actions.csv", &partner).await.text();
    assert!(csv.contains("secret-sub-7") && !csv.contains("RIVAL-1"), "{csv}");

    let listing = page(&app, "/programs/1000/actions", &brand).await.text();
    assert!(listing.contains("OWN-1") && listing.contains("RIVAL-1"));
    let detail = page(&app, &format!("/programs/1000/actions/{own}"), &brand).await.text();
    let csv = app.get_with_cookies("/programs/1000/actions.csv", &brand).await.text();
    for text in [&listing, &detail, &csv] {
        assert!(!text.contains("secret-sub-7") && !text.contains("rival-sub") && !text.contains("Sub id"), "{text}");
    }
}

#[tokio::test]
async fn the_listing_filters_sorts_and_pages_on_the_apis_parameters() {
    let app = TestApp::spawn().await;
    sale_of(&app, 101, "", "A-1", "10").await;
    sale_of(&app, 102, "", "A-2", "30").await;
    let third = sale_of(&app, 101, "", "A-3", "20").await;
    let reverse = json!({"reason": "ORDER_UPDATE"}).to_string();
    let uri = format!("/api/v1/programs/{PROGRAM}/actions/{third}/reverse");
    assert_eq!(app.api(Method::POST, &uri, Some(&app.brand_token), Some(&reverse)).await.status, StatusCode::OK);
    let brand = log_in(&app, &brand_user(&app).await).await;
    let orders = |text: &str| -> Vec<String> {
        text.match_indices(">A-").map(|(at, _)| text[at + 1..at + 4].to_owned()).collect()
    };

    let all = page(&app, "/programs/1000/actions", &brand).await.text();
    assert!(all.contains("<strong>3</strong> actions"), "{all}");
    assert_eq!(orders(&all), ["A-3", "A-2", "A-1"], "newest first");
    let by_partner = page(&app, "/programs/1000/actions?partner=101&state=&orderId=", &brand).await.text();
    assert_eq!(orders(&by_partner), ["A-3", "A-1"]);
    let pending = page(&app, "/programs/1000/actions?state=PENDING&sort=saleAmount", &brand).await.text();
    assert_eq!(orders(&pending), ["A-1", "A-2"], "smallest first");
    let api = app.api(Method::GET, "/api/v1/programs/1000/actions?state=PENDING", Some(&app.brand_token), None).await;
    assert_eq!(api.json()["total"], 2);
    assert!(pending.contains("<strong>2</strong> actions"), "the API's count");
    assert!(pending.contains(r#"aria-sort="ascending""#));
    let one = page(&app, "/programs/1000/actions?orderId=A-2", &brand).await.text();
    assert_eq!(orders(&one), ["A-2"]);

    let first = page(&app, "/programs/1000/actions?pageSize=2", &brand).await.text();
    assert_eq!(orders(&first), ["A-3", "A-2"]);
    assert!(
        first.contains("Page 1 of 2") && first.contains(r#"href="/programs/1000/actions?pageSize=2&#38;page=2""#),
        "{first}"
    );
    let second = page(&app, "/programs/1000/actions?pageSize=2&page=2", &brand).await.text();
    assert_eq!(orders(&second), ["A-1"]);

    let refused =
        app.get_with_cookies("/programs/1000/actions?eventDateFrom=2026-12-01&eventDateTo=2026-11-01", &brand).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("eventDateTo: eventDateTo is before eventDateFrom"), "{}", refused.text());
    assert_eq!(app.get_with_cookies("/programs/999/actions", &brand).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_csv_export_streams_the_whole_result_exactly_as_the_api_does() {
    let app = TestApp::spawn().await;
    for (index, partner) in [101, 102, 101].into_iter().enumerate() {
        sale_of(&app, partner, "?subId2=s2", &format!("C-{index}"), "10").await;
    }
    let brand = log_in(&app, &brand_user(&app).await).await;
    let partner = log_in(&app, &partner_user(&app).await).await;

    // The export ignores paging: the whole result of the filters.
    let response = app.get_with_cookies("/programs/1000/actions.csv?pageSize=1&page=2&partner=101", &brand).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header(header::CONTENT_TYPE), Some("text/csv; charset=utf-8"));
    assert!(response.header(header::CONTENT_DISPOSITION).unwrap().contains("actions-1000.csv"));
    let mut reader = csv::Reader::from_reader(response.body.as_ref());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(format!("{}\n", headers.join(",")), tally_app::action_export::csv_header(false));
    assert!(!headers.iter().any(|name| name.starts_with("sub_id")));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let column = |name: &str| headers.iter().position(|header| header == name).unwrap();
    let orders: Vec<&str> = rows.iter().map(|row| &row[column("order_id")]).collect();
    assert_eq!(orders, ["C-0", "C-2"], "creation order");
    assert_eq!((&rows[0][column("sale_amount")], &rows[0][column("payout")]), ("10.00", "0.80"));
    let api = app
        .api(
            Method::GET,
            &format!("/api/v1/programs/{PROGRAM}/actions?format=csv&partner=101"),
            Some(&app.brand_token),
            None,
        )
        .await;
    assert_eq!(api.text(), response.text(), "the dashboard and the API export the same rows");

    let own = app.get_with_cookies("/programs/1000/actions.csv", &partner).await.text();
    let mut lines = own.lines();
    assert!(lines.next().unwrap().contains(",shared_id,sub_id1,sub_id2,sub_id3,"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.contains(",,s2,,")), "{own}");
}

#[tokio::test]
async fn the_action_detail_draws_the_journey_across_devices_with_the_winner_and_the_losers_reason() {
    let app = TestApp::spawn().await;
    // The laptop: a click by partner 101, and a first order that names the customer.
    let laptop = click(&app, 101).await;
    let mut first = sale(&laptop, "LAPTOP-1");
    first.extend([("CustomerId", "C-42"), ("Amount", "20")]);
    queued(&app, &s2s(&app, &first).await).await;
    // The phone, a day later: a click by partner 102, and the order that names the customer.
    app.advance_minutes(24 * 60);
    let phone_click = Request::builder()
        .uri(format!("/c/102/1/{PROGRAM}"))
        .header(header::USER_AGENT, IPHONE_SAFARI)
        .body(Body::empty())
        .unwrap();
    let phone = app.send(phone_click).await.click_id();
    app.advance_minutes(10);
    let mut second = sale(&phone, "PHONE-1");
    second.extend([("CustomerId", "C-42"), ("ItemSku1", "TENT-2"), ("ItemPrice1", "80"), ("ItemQuantity1", "1")]);
    let record = queued(&app, &s2s(&app, &second).await).await;
    let action_id = record["ActionId"].as_str().unwrap().to_owned();
    let api = action(&app, &action_id).await;
    let winner = api["partnerId"].as_u64().unwrap();
    let brand = log_in(&app, &brand_user(&app).await).await;

    let detail = page(&app, &format!("/programs/1000/actions/{action_id}"), &brand).await.text();
    let svg_start = detail.find("<svg").expect("the journey is drawn");
    let svg = &detail[svg_start..detail.find("</svg>").unwrap()];
    assert!(svg.contains("2 touches on 2 devices"), "{svg}");
    assert!(svg.contains("Device 1") && svg.contains("Device 2") && svg.contains("mobile"), "{svg}");
    assert_eq!(svg.matches(r#"<g class="touch credited">"#).count(), 1);
    assert_eq!(svg.matches(r#"<g class="touch">"#).count(), 1);
    let winner_name = if winner == 101 { "Trail Blog (101)" } else { "Deal Hunters (102)" };
    assert!(detail.contains(&format!("Credited to {winner_name}")), "{detail}");
    assert!(detail.contains(api["rule"].as_str().unwrap()));
    let loser = api["journey"].as_array().unwrap().iter().find(|touch| touch["credited"] == false).unwrap().clone();
    let reason = loser["reason"].as_str().unwrap().replace('_', " ").to_lowercase();
    assert!(detail.to_lowercase().contains(&reason), "the loser says why: {reason}");
    // Items with their payout, the identity, and the order's facts.
    assert!(detail.contains("TENT-2") && detail.contains("80.00 USD"));
    assert!(detail.contains("customer:C-42"));
    assert!(detail.contains("Action id") && detail.contains(&action_id));
}

#[tokio::test]
async fn a_partner_sees_its_journey_without_the_names_of_the_other_partners() {
    let app = TestApp::spawn().await;
    // One browser: partner 102 first, then 101, whose click wins.
    let browser = app.get(&format!("/c/102/1/{PROGRAM}")).await;
    let cookies = browser.cookie_header();
    app.advance_minutes(1);
    let second = app.get_with_cookies(&format!("/c/101/1/{PROGRAM}"), &cookies).await.click_id();
    app.advance_minutes(10);
    let mut order = sale(&second, "SHARED-1");
    order.push(("Amount", "40"));
    let record = queued(&app, &s2s(&app, &order).await).await;
    let action_id = record["ActionId"].as_str().unwrap().to_owned();
    let partner = log_in(&app, &partner_user(&app).await).await;

    let detail = page(&app, &format!("/programs/1000/actions/{action_id}"), &partner).await.text();
    assert!(detail.contains("2 touches on 1 device"), "{detail}");
    assert!(detail.contains("Another partner") && !detail.contains("Deal Hunters"), "{detail}");
    assert!(!detail.contains("customer:") && !detail.contains("visitor:"));
}

#[tokio::test]
async fn statements_are_marked_paid_by_the_brand_and_partners_choose_how_they_are_paid() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    let payout = &mut document["template_terms"][0]["event_payouts"][0];
    payout["locking"] = json!({"months": 0, "days": 27});
    payout["payment"] = json!({"months": 0, "days": 20});
    app.apply_as(&app.account_sid.clone(), &document).await;
    app.set_time("2027-01-15T15:00:00Z".parse().unwrap());
    let paid_action = sale_of(&app, 101, "", "JAN-1", "100").await;
    app.set_time("2027-03-01T05:00:00Z".parse().unwrap());
    app.run_jobs().await;
    app.run_jobs().await;
    let brand = log_in(&app, &brand_user(&app).await).await;
    let partner = log_in(&app, &partner_user(&app).await).await;

    let statements = page(&app, "/programs/1000/statements", &brand).await.text();
    assert!(
        statements.contains("Trail Blog (101)") && statements.contains("2027-03-20") && statements.contains("Open")
    );
    let start = statements.find(r#"action="/programs/1000/statements/"#).expect("a mark-paid form") + 8;
    let action_uri = statements[start..].split('"').next().unwrap().to_owned();
    let token = csrf_of(&statements);
    let paid = send_form(&app, &action_uri, &brand, &[("csrf", &token), ("reference", "TRANSFER-77")]).await;
    assert_eq!(paid.header(header::LOCATION), Some("/programs/1000/statements?notice=paid"));
    let after = page(&app, "/programs/1000/statements?notice=paid", &brand).await.text();
    assert!(after.contains("marked paid") && after.contains("TRANSFER-77") && !after.contains("Mark paid"), "{after}");
    assert_eq!(action(&app, &paid_action).await["stateDetail"], "PAID");
    let again = send_form(&app, &action_uri, &brand, &[("csrf", &token)]).await;
    assert_eq!(again.header(header::LOCATION), Some("/programs/1000/statements?notice=already_paid"));

    // The partner cannot mark paid; it chooses a threshold instead.
    let own = page(&app, "/programs/1000/statements", &partner).await.text();
    assert!(own.contains("How you are paid") && !own.contains("Mark paid"));
    let partner_token = csrf_of(&own);
    let refused = send_form(&app, &action_uri, &partner, &[("csrf", &partner_token)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let fields = [("csrf", partner_token.as_str()), ("method", "threshold"), ("threshold", "5")];
    let too_low = send_form(&app, "/programs/1000/withdrawal", &partner, &fields).await;
    assert_eq!(too_low.header(header::LOCATION), Some("/programs/1000/statements?notice=threshold"));
    let fields = [("csrf", partner_token.as_str()), ("method", "threshold"), ("threshold", "50")];
    let saved = send_form(&app, "/programs/1000/withdrawal", &partner, &fields).await;
    assert_eq!(saved.header(header::LOCATION), Some("/programs/1000/statements?notice=withdrawal"));
    let setting = app
        .api(
            Method::GET,
            &format!("/api/v1/programs/{PROGRAM}/partners/101/withdrawal"),
            Some(&app.partner_token),
            None,
        )
        .await
        .json();
    assert_eq!(setting, json!({"method": "THRESHOLD", "threshold": "50"}));
    let csv = app.get_with_cookies(&action_uri.replace("/paid", "/csv"), &partner).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.text().contains("JAN-1"));
}

#[tokio::test]
async fn a_hostile_order_id_and_payload_are_shown_as_text() {
    let app = TestApp::spawn().await;
    let hostile = "<script>alert(1)</script>";
    let action_id = sale_of(&app, 101, "", hostile, "10").await;
    // The same order again is refused as a duplicate, with its raw submission kept.
    let click_id = click(&app, 101).await;
    let mut again = sale(&click_id, hostile);
    again.push(("Amount", "10"));
    let duplicate = queued(&app, &s2s(&app, &again).await).await;
    assert_eq!(duplicate["ErrorType"], "CONV_DUPLICATE");
    let brand = log_in(&app, &brand_user(&app).await).await;

    for uri in [
        "/programs/1000/actions".to_owned(),
        format!("/programs/1000/actions?orderId={}", encode(hostile)),
        format!("/programs/1000/actions/{action_id}"),
        "/programs/1000/invalid".to_owned(),
    ] {
        let text = page(&app, &uri, &brand).await.text();
        assert!(!text.contains("<script>"), "{uri}: {text}");
        assert!(text.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{uri}: {text}");
    }
    let invalid = page(&app, "/programs/1000/invalid?code=CONV_DUPLICATE", &brand).await.text();
    assert!(
        invalid.contains("<strong>1</strong> refused conversion") && invalid.contains("Raw submission"),
        "{invalid}"
    );
    let none = page(&app, "/programs/1000/invalid?code=NO_ITEM", &brand).await.text();
    assert!(none.contains("<strong>0</strong> refused conversions"), "{none}");
}

#[tokio::test]
async fn the_tracking_edges_host_routes_win_over_the_dashboard() {
    let app = TestApp::spawn().await;
    // A unique URL at a host's root is still a click, not the dashboard.
    let unique = app.get_on_host("get-acme.test", "/").await;
    assert!(unique.location().starts_with("https://www.acme.test/offline?irclickid="));
    // A brand's tracking domain is the edge's alone: no login page on it.
    for path in ["/", "/login", "/programs/1000/actions"] {
        app.get_on_host("go.acme.test", path).await.assert_not_found_page();
    }
    // Elsewhere `/` is the dashboard, which starts at the login.
    let home = app.get_on_host("tally.example.test", "/").await;
    assert_eq!((home.status, home.header(header::LOCATION)), (StatusCode::SEE_OTHER, Some("/login")));
    let login = app.get("/login").await.text();
    let start = login.find("/assets/dashboard.css?v=").expect("the stylesheet, named by its digest");
    let stylesheet = app.get(login[start..].split('"').next().unwrap()).await;
    assert_eq!(stylesheet.header(header::CONTENT_TYPE), Some("text/css; charset=utf-8"));
    assert!(stylesheet.header(header::CACHE_CONTROL).unwrap().contains("immutable"));
    assert!(stylesheet.text().contains(".badge-approved"));
}

#[tokio::test]
async fn the_administrator_sees_every_accounts_programs() {
    let app = TestApp::spawn().await;
    let (rival_sid, _) = app.other_account().await;
    app.apply_as(&rival_sid, &crate::helpers::small_program(2000)).await;
    let admin = app.accounts.bootstrap().await.unwrap().expect("a first run");
    let admin = UserCredentials { username: admin.admin_username, password: admin.admin_password };
    let brand = log_in(&app, &brand_user(&app).await).await;
    let admin = log_in(&app, &admin).await;

    let everything = page(&app, "/", &admin).await.text();
    assert!(everything.contains("Acme Outdoor") && everything.contains("Small program 2000"));
    let own = page(&app, "/", &brand).await.text();
    assert!(own.contains("Acme Outdoor") && !own.contains("Small program 2000"));
    assert_eq!(app.get_with_cookies("/programs/2000/actions", &brand).await.status, StatusCode::NOT_FOUND);
    page(&app, "/programs/2000/actions", &admin).await;
}

#[tokio::test]
async fn performance_is_charted_by_the_server_and_a_partner_sees_its_own() {
    let app = TestApp::spawn().await;
    sale_of(&app, 101, "", "P-1", "100").await;
    sale_of(&app, 102, "", "P-2", "50").await;
    app.get(&format!("/c/101/1/{PROGRAM}")).await;
    app.settle().await;
    let brand = log_in(&app, &brand_user(&app).await).await;
    let partner = log_in(&app, &partner_user(&app).await).await;

    let by_day = page(&app, "/programs/1000/performance", &brand).await.text();
    assert!(by_day.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-line""#), "{by_day}");
    assert!(by_day.contains("<dt>Clicks</dt><dd>3</dd>") && by_day.contains("<dt>Actions</dt><dd>2</dd>"), "{by_day}");
    assert!(by_day.contains("150.00 USD") && by_day.contains("12.00 USD"), "sales and payout: {by_day}");
    let by_partner = page(&app, "/programs/1000/performance?by=partner&measure=saleAmount", &brand).await.text();
    assert!(
        by_partner.contains("chart-bars")
            && by_partner.contains("Trail Blog (101)")
            && by_partner.contains("Deal Hunters (102)")
    );
    let refused = app.get_with_cookies("/programs/1000/performance?by=colour", &brand).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("colour"));

    let own = page(&app, "/programs/1000/performance?by=partner", &partner).await.text();
    assert!(own.contains("Trail Blog (101)") && !own.contains("Deal Hunters") && own.contains("100.00 USD"), "{own}");
    assert!(!own.contains("50.00 USD"));
}

#[tokio::test]
async fn the_integration_check_says_what_is_missing_and_how_to_fix_it() {
    let app = TestApp::spawn().await;
    sale_of(&app, 101, "", "I-1", "100").await;
    let brand = log_in(&app, &brand_user(&app).await).await;
    let partner = log_in(&app, &partner_user(&app).await).await;

    let check = page(&app, "/programs/1000/integration", &brand).await.text();
    assert!(check.contains("1 submission checked"), "{check}");
    assert!(
        check.contains("Conversions without a customer status") && check.contains("CustomerStatus as New or Existing"),
        "{check}"
    );
    assert_eq!(app.get_with_cookies("/programs/1000/integration", &partner).await.status, StatusCode::NOT_FOUND);
    let nav = page(&app, "/programs/1000/actions", &partner).await.text();
    assert!(!nav.contains("Integration check") && !nav.contains("Invalid conversions") && nav.contains("Performance"));
}

#[tokio::test]
async fn a_brand_reverses_or_approves_a_pending_action_from_its_page_and_a_partner_cannot() {
    let app = TestApp::spawn().await;
    let brand = log_in(&app, &brand_user(&app).await).await;
    let reversed = sale_of(&app, 101, "", "CH-1", "40").await;
    let approved = sale_of(&app, 101, "", "CH-2", "50").await;
    let uri = |id: &str| format!("/programs/{PROGRAM}/actions/{id}");

    let detail = page(&app, &uri(&reversed), &brand).await.text();
    assert!(detail.contains(">Reverse</button>") && detail.contains(">Approve now</button>"), "{detail}");
    let csrf = csrf_of(&detail);
    let bad =
        send_form(&app, &format!("{}/reverse", uri(&reversed)), &brand, &[("csrf", &csrf), ("reason", "BORED")]).await;
    assert_eq!(bad.header(header::LOCATION), Some(format!("{}?notice=reason", uri(&reversed)).as_str()));
    let forged = send_form(&app, &format!("{}/reverse", uri(&reversed)), &brand, &[("reason", "ITEM_RETURNED")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let done = send_form(
        &app,
        &format!("{}/reverse", uri(&reversed)),
        &brand,
        &[("csrf", &csrf), ("reason", "ITEM_RETURNED")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let after = page(&app, &format!("{}?notice=reversed", uri(&reversed)), &brand).await.text();
    assert!(after.contains("The action was reversed.") && after.contains("Item returned"), "{after}");
    assert!(!after.contains(">Reverse</button>"), "a reversed action cannot change again");
    let action = app.store.action(&reversed).await.unwrap().unwrap();
    assert_eq!((action.state.as_str(), action.payout.to_string().as_str()), ("REVERSED", "0.00"));

    let approve = send_form(&app, &format!("{}/approve", uri(&approved)), &brand, &[("csrf", &csrf)]).await;
    assert_eq!(approve.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.action(&approved).await.unwrap().unwrap().state, "APPROVED");

    let partner = log_in(&app, &partner_user(&app).await).await;
    let seen = page(&app, &uri(&approved), &partner).await.text();
    assert!(!seen.contains(">Reverse</button>"), "partners do not change actions");
    let partner_csrf = csrf_of(&seen);
    let refused = send_form(&app, &format!("{}/approve", uri(&reversed)), &partner, &[("csrf", &partner_csrf)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_partner_asks_for_a_test_action_and_the_brand_answers_it_from_the_dashboard() {
    let app = TestApp::spawn().await;
    let partner = log_in(&app, &partner_user(&app).await).await;
    let brand = log_in(&app, &brand_user(&app).await).await;
    let uri = format!("/programs/{PROGRAM}/test-requests");

    let token = csrf_of(&page(&app, &uri, &partner).await.text());
    let note = "<b>new</b> checkout";
    let asked = send_form(&app, &uri, &partner, &[("csrf", &token), ("note", note)]).await;
    assert_eq!(asked.header(header::LOCATION), Some(format!("{uri}?notice=asked").as_str()));
    assert_eq!(send_form(&app, &uri, &brand, &[("csrf", &token), ("note", "x")]).await.status, StatusCode::FORBIDDEN);

    let listing = page(&app, &uri, &brand).await.text();
    assert!(listing.contains("&#60;b&#62;new&#60;/b&#62; checkout") && !listing.contains("<b>new"), "the note is text");
    assert!(listing.contains("Trail Blog (101)"), "the brand sees who asked");
    let start = listing.find(&format!("{uri}/")).expect("an answer form") + uri.len() + 1;
    let request_id = listing[start..].split('/').next().unwrap().to_owned();

    // A brand's test action for partner 101 answers it; a made-up id does not.
    let body = json!({"eventTypeId": 1, "eventDate": "NOW", "orderId": "T-DASH", "mediaPartnerId": 101,
                      "currencyCode": "USD", "amount": "10", "test": true});
    let path = format!("/api/v1/programs/{PROGRAM}/conversions");
    let made = app.api(Method::POST, &path, Some(&app.brand_token), Some(&body.to_string())).await;
    let action_id = made.json()["actionId"].as_str().unwrap().to_owned();
    let brand_token = csrf_of(&listing);
    let fulfil = format!("{uri}/{request_id}/fulfil");
    let wrong = send_form(&app, &fulfil, &brand, &[("csrf", &brand_token), ("action_id", "nope")]).await;
    assert_eq!(wrong.header(header::LOCATION), Some(format!("{uri}?notice=action").as_str()));
    let answered = send_form(&app, &fulfil, &brand, &[("csrf", &brand_token), ("action_id", &action_id)]).await;
    assert_eq!(answered.header(header::LOCATION), Some(format!("{uri}?notice=fulfilled").as_str()));
    let partner_fulfil = send_form(&app, &fulfil, &partner, &[("csrf", &token), ("action_id", &action_id)]).await;
    assert_eq!(partner_fulfil.status, StatusCode::NOT_FOUND, "only the brand answers");

    let seen = page(&app, &format!("{uri}?notice=fulfilled"), &partner).await.text();
    assert!(seen.contains("Fulfilled") && seen.contains(&format!("/programs/{PROGRAM}/actions/{action_id}")));
    assert!(seen.contains("The request is answered"));
}

#[tokio::test]
async fn the_brand_makes_the_test_action_a_partner_asked_for_from_the_dashboard() {
    let app = TestApp::spawn().await;
    let partner = log_in(&app, &partner_user(&app).await).await;
    let brand = log_in(&app, &brand_user(&app).await).await;
    let uri = format!("/programs/{PROGRAM}/test-requests");
    let token = csrf_of(&page(&app, &uri, &partner).await.text());
    send_form(&app, &uri, &partner, &[("csrf", &token), ("note", "")]).await;

    let listing = page(&app, &uri, &brand).await.text();
    assert!(listing.contains("Make a test action") && listing.contains("<option value=\"1\">"), "{listing}");
    let start = listing.find(&format!("{uri}/")).expect("an answer form") + uri.len() + 1;
    let request_id = listing[start..].split('/').next().unwrap().to_owned();
    let make = format!("{uri}/{request_id}/make");
    let csrf = csrf_of(&listing);

    let bad = send_form(&app, &make, &brand, &[("csrf", &csrf), ("amount", "ten"), ("event_type", "1")]).await;
    assert_eq!(bad.header(header::LOCATION), Some(format!("{uri}?notice=test").as_str()));
    let made = send_form(&app, &make, &brand, &[("csrf", &csrf), ("amount", "12.00"), ("event_type", "1")]).await;
    assert_eq!(made.header(header::LOCATION), Some(format!("{uri}?notice=made").as_str()));
    let again = send_form(&app, &make, &brand, &[("csrf", &csrf), ("amount", "12.00"), ("event_type", "1")]).await;
    assert_eq!(again.header(header::LOCATION), Some(format!("{uri}?notice=answered").as_str()));

    let seen = page(&app, &uri, &partner).await.text();
    assert!(seen.contains("Fulfilled") && seen.contains(&format!("/programs/{PROGRAM}/actions/")), "{seen}");
}
