//! Click floods (SPEC §11): past 30 clicks a minute from one address on one program,
//! clicks are still answered and recorded, but flagged and left out of report counts.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::conversions::{action, queued, s2s, sale};
use crate::helpers::{PROGRAM, TestApp, TestResponse, browser, small_program};

const FLOODER: &str = "198.51.100.7:50000";
const LIMIT: usize = 30;

async fn click_from(app: &TestApp, address: &str, method: Method, path: &str) -> TestResponse {
    let address: SocketAddr = address.parse().unwrap();
    let mut request = browser(path).method(method).body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(address));
    app.send(request).await
}

async fn clicks_from(app: &TestApp, address: &str, count: usize) {
    for _ in 0..count {
        let response = click_from(app, address, Method::GET, &format!("/c/101/1/{PROGRAM}")).await;
        assert_eq!(response.status, StatusCode::FOUND, "a flood is answered like anyone else");
    }
}

async fn flood_flags(app: &TestApp, program: u64) -> Vec<bool> {
    app.clicks_of(program).await.iter().map(|click| click.flood).collect()
}

#[tokio::test]
async fn past_the_limit_an_addresss_clicks_are_recorded_and_flagged() {
    let app = TestApp::spawn().await;
    // The clock stands still: every click falls in one minute.
    clicks_from(&app, FLOODER, LIMIT + 5).await;
    clicks_from(&app, "203.0.113.9:41000", 3).await;

    let flags = flood_flags(&app, PROGRAM).await;
    assert_eq!(flags.len(), LIMIT + 8, "every click is stored");
    assert!(!flags[..LIMIT].iter().any(|&flag| flag), "up to the limit nothing is flagged");
    assert!(flags[LIMIT..LIMIT + 5].iter().all(|&flag| flag), "past it every click is: {flags:?}");
    assert!(!flags[LIMIT + 5..].iter().any(|&flag| flag), "another address is counted apart");

    // The same address on another program starts from nothing.
    let (other_sid, _) = app.other_account().await;
    app.apply_as(&other_sid, &small_program(2000)).await;
    let response = click_from(&app, FLOODER, Method::GET, "/c/201/1/2000").await;
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(flood_flags(&app, 2000).await, [false]);

    let metrics = app.get("/metrics").await.text();
    assert!(metrics.contains("tally_clicks_flagged_flood_total 5"), "{metrics}");
}

#[tokio::test]
async fn an_address_that_slows_down_is_no_longer_flagged() {
    let app = TestApp::spawn().await;
    clicks_from(&app, FLOODER, LIMIT + 1).await;
    app.advance_minutes(2);
    clicks_from(&app, FLOODER, 1).await;
    let flags = flood_flags(&app, PROGRAM).await;
    assert_eq!(flags[LIMIT..], [true, false]);
}

#[tokio::test]
async fn probes_and_loopback_are_never_counted() {
    let app = TestApp::spawn().await;
    for _ in 0..LIMIT {
        let probe = click_from(&app, FLOODER, Method::HEAD, &format!("/c/101/1/{PROGRAM}")).await;
        assert_eq!(probe.status, StatusCode::FOUND);
    }
    clicks_from(&app, FLOODER, 1).await;
    // This machine: a local proxy, the demo's shoppers.
    clicks_from(&app, "127.0.0.1:40000", LIMIT + 5).await;
    clicks_from(&app, "[::1]:40000", LIMIT + 5).await;
    assert!(!flood_flags(&app, PROGRAM).await.iter().any(|&flag| flag));
}

#[tokio::test]
async fn the_export_shows_the_flag_and_reports_count_people_only() {
    let app = TestApp::spawn().await;
    clicks_from(&app, FLOODER, LIMIT + 4).await;
    app.settle().await;
    // The export runs up to now, exclusive.
    app.advance_minutes(1);

    let path = format!("/api/v1/programs/{PROGRAM}/clicks");
    let rows = app.api(Method::GET, &format!("{path}?format=json"), Some(&app.brand_token), None).await.json();
    let flagged = rows.as_array().unwrap().iter().filter(|row| row["flood"] == json!(true)).count();
    assert_eq!((rows.as_array().unwrap().len(), flagged), (LIMIT + 4, 4));
    let csv = app.api(Method::GET, &format!("{path}?format=csv"), Some(&app.brand_token), None).await.text();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",browser,flood,country"), "new columns go last: {csv}");
    assert_eq!(lines.filter(|line| line.ends_with(",true,")).count(), 4, "{csv}");

    let day = app.clicks().await[0].at.to_string()[..10].to_owned();
    let report = format!("/api/v1/programs/{PROGRAM}/performance?from={day}&to={day}&by=");
    let report = app.api(Method::GET, &report, Some(&app.brand_token), None).await.json();
    assert_eq!(report["total"]["clicks"], LIMIT as u64, "{report}");
}

#[tokio::test]
async fn an_action_credited_to_a_flood_click_says_so_in_its_journey() {
    let app = TestApp::spawn().await;
    clicks_from(&app, FLOODER, LIMIT).await;
    let flagged = click_from(&app, FLOODER, Method::GET, &format!("/c/101/1/{PROGRAM}")).await.click_id();

    app.advance_minutes(30);
    let mut fields = sale(&flagged, "FLOOD-1");
    fields.push(("Amount", "80"));
    let record = queued(&app, &s2s(&app, &fields).await).await;
    let action = action(&app, record["ActionId"].as_str().unwrap()).await;

    let credited: Vec<&serde_json::Value> =
        action["journey"].as_array().unwrap().iter().filter(|step| step["credited"] == true).collect();
    assert_eq!(credited.len(), 1, "{action}");
    assert_eq!((credited[0]["flood"].clone(), credited[0]["bot"].clone()), (json!(true), json!(false)));
}
