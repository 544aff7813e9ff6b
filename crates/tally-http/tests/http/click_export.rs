//! `GET /api/v1/programs/{id}/clicks`: the click export, as JSON or CSV, for brands
//! (no sub ids) and partners (their own clicks, with sub ids).

use std::collections::HashSet;

use axum::http::{Method, StatusCode, header};
use serde_json::Value;
use tally_core::click::Click;
use tally_core::ids::ClickId;

use crate::helpers::{TestApp, TestResponse, encode, minutes_after_start};

const TRICKY_SUB_ID: &str = "spring, \"launch\" post";

/// Three clicks an hour apart: partner 101 with sub ids at 12:00, partner 102 at 13:00,
/// partner 101 again (another browser) at 14:00. The clock is then left at 15:00.
async fn app_with_clicks() -> TestApp {
    let app = TestApp::spawn().await;
    app.get(&format!("/c/101/1/1000?subId1={}&subId2=feed&sharedId=site-1", encode(TRICKY_SUB_ID))).await.location();
    app.set_time(minutes_after_start(60));
    app.get("/c/102/2/1000?subId1=secret-of-102&sharedId=site-2").await.location();
    app.set_time(minutes_after_start(120));
    app.get("/c/101/2/1000?subId3=third").await.location();
    app.set_time(minutes_after_start(180));
    app
}

async fn export(app: &TestApp, token: &str, query: &str) -> TestResponse {
    app.api(Method::GET, &format!("/api/v1/programs/1000/clicks?{query}"), Some(token), None).await
}

fn rows(response: &TestResponse) -> Vec<Value> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header(header::CONTENT_TYPE), Some("application/json"));
    response.json().as_array().unwrap().clone()
}

fn parameter_error(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
    assert_eq!(response.error_code(), "invalid_parameter");
    response.error_message()
}

#[tokio::test]
async fn a_brand_sees_every_click_without_any_sub_id_field() {
    let app = app_with_clicks().await;
    let stored = app.clicks().await;

    let rows = rows(&export(&app, &app.brand_token, "format=json").await);

    assert_eq!(rows.len(), 3);
    let partners: Vec<u64> = rows.iter().map(|row| row["partner_id"].as_u64().unwrap()).collect();
    assert_eq!(partners, vec![101, 102, 101]);
    for (row, click) in rows.iter().zip(&stored) {
        assert_eq!(row["click_id"], click.click_id.as_str());
        assert_eq!(row["time"], click.at.to_string());
        assert_eq!(row["source"], "link");
        assert_eq!(row["partner_kind"], "partner");
        for key in ["ad_id", "shared_id", "unique", "bot", "malformed"] {
            assert!(row.get(key).is_some(), "{key} missing from {row}");
        }
        for key in row.as_object().unwrap().keys() {
            assert!(!key.to_ascii_lowercase().contains("sub"), "a brand must not see {key}: {row}");
        }
    }
    assert_eq!(rows[0]["shared_id"], "site-1");
    assert!(!export(&app, &app.brand_token, "").await.text().contains("secret-of-102"));
}

#[tokio::test]
async fn a_partner_sees_only_its_own_clicks_with_their_sub_ids() {
    let app = app_with_clicks().await;

    let response = export(&app, &app.partner_token, "format=json").await;

    let rows = rows(&response);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row["partner_id"] == 101));
    assert_eq!(rows[0]["sub_id1"], TRICKY_SUB_ID);
    assert_eq!(rows[0]["sub_id2"], "feed");
    assert_eq!(rows[1]["sub_id3"], "third");
    assert!(!response.text().contains("secret-of-102"));
}

#[tokio::test]
async fn since_is_inclusive_and_until_exclusive() {
    let app = app_with_clicks().await;
    let times = |response: TestResponse| -> Vec<String> {
        rows(&response).iter().map(|row| row["time"].as_str().unwrap().to_owned()).collect()
    };

    let middle = times(export(&app, &app.brand_token, "since=2026-03-02T13:00:00Z&until=2026-03-02T14:00:00Z").await);
    let first_two = times(export(&app, &app.brand_token, "until=2026-03-02T14:00:00Z").await);
    let last_two = times(export(&app, &app.brand_token, "since=2026-03-02T13:00:00Z").await);
    let with_offset =
        times(export(&app, &app.brand_token, &format!("since={}", encode("2026-03-02T09:00:00-04:00"))).await);

    assert_eq!(middle, vec!["2026-03-02T13:00:00Z"]);
    assert_eq!(first_two, vec!["2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z"]);
    assert_eq!(last_two, vec!["2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z"]);
    assert_eq!(with_offset, vec!["2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z"]);
}

#[tokio::test]
async fn a_brand_csv_has_no_sub_id_columns() {
    let app = app_with_clicks().await;

    let response = export(&app, &app.brand_token, "format=csv").await;

    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header(header::CONTENT_TYPE).unwrap().starts_with("text/csv"));
    let text = response.text();
    let header_line = text.lines().next().unwrap();
    assert_eq!(
        header_line,
        "click_id,time,partner_id,partner_kind,ad_id,source,shared_id,unique,bot,malformed,creditable,device,os,browser,\
         flood,country"
    );
    assert_eq!(text.lines().count(), 4);
    assert!(!text.contains("spring") && !text.contains("secret-of-102"), "{text}");
}

#[tokio::test]
async fn a_partner_csv_has_sub_id_columns_quoted_as_rfc_4180_says() {
    let app = app_with_clicks().await;

    let response = export(&app, &app.partner_token, "format=csv").await;

    let text = response.text();
    assert_eq!(
        text.lines().next().unwrap(),
        "click_id,time,partner_id,partner_kind,ad_id,source,sub_id1,sub_id2,sub_id3,shared_id,unique,bot,malformed,\
         creditable,device,os,browser,flood,country"
    );
    assert!(text.contains(",\"spring, \"\"launch\"\" post\",feed,,site-1,"), "{text}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(&records[0][6], TRICKY_SUB_ID);
    assert_eq!(&records[0][9], "site-1");
    assert_eq!(&records[1][8], "third");
}

#[tokio::test]
async fn the_export_defaults_to_json_up_to_now() {
    let app = app_with_clicks().await;

    let response = export(&app, &app.brand_token, "").await;

    assert_eq!(rows(&response).len(), 3);
    assert!(response.header(header::CONTENT_DISPOSITION).unwrap().contains("clicks-1000.json"));
}

#[tokio::test]
async fn an_unknown_parameter_is_a_400_naming_it() {
    let app = app_with_clicks().await;

    let message = parameter_error(&export(&app, &app.brand_token, "since=2026-03-02T13:00:00Z&partner=102").await);

    assert!(message.starts_with("partner"), "{message}");
}

#[tokio::test]
async fn a_bad_time_is_a_400_naming_the_parameter() {
    let app = app_with_clicks().await;

    for (query, name) in [
        ("since=yesterday", "since"),
        ("since=2026-03-02", "since"),
        ("until=2026-13-02T00:00:00Z", "until"),
        ("until=1772452800", "until"),
    ] {
        let message = parameter_error(&export(&app, &app.brand_token, query).await);
        assert!(message.starts_with(name), "{query}: {message}");
    }
}

#[tokio::test]
async fn an_inverted_or_empty_range_is_a_400() {
    let app = app_with_clicks().await;

    for query in [
        "since=2026-03-02T14:00:00Z&until=2026-03-02T13:00:00Z",
        "since=2026-03-02T13:00:00Z&until=2026-03-02T13:00:00Z",
    ] {
        let message = parameter_error(&export(&app, &app.brand_token, query).await);
        assert!(message.contains("since"), "{message}");
    }
}

#[tokio::test]
async fn a_bad_format_is_a_400_naming_it() {
    let app = app_with_clicks().await;

    for query in ["format=xml", "format=JSON", "format="] {
        let message = parameter_error(&export(&app, &app.brand_token, query).await);
        assert!(message.starts_with("format"), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_repeated_parameter_is_a_400() {
    let app = app_with_clicks().await;

    let message = parameter_error(&export(&app, &app.brand_token, "format=json&format=csv").await);

    assert!(message.starts_with("format"), "{message}");
}

#[tokio::test]
async fn another_accounts_program_cannot_be_exported() {
    let app = app_with_clicks().await;
    let (rival_sid, rival_token) = app.other_account().await;
    app.apply_as(&rival_sid, &crate::helpers::small_program(3000)).await;
    app.get("/c/201/1/3000").await.location();

    let theirs = export(&app, &rival_token, "").await;
    let as_brand = app.api(Method::GET, "/api/v1/programs/3000/clicks", Some(&app.brand_token), None).await;
    let as_partner = app.api(Method::GET, "/api/v1/programs/3000/clicks", Some(&app.partner_token), None).await;
    let unknown = app.api(Method::GET, "/api/v1/programs/4242/clicks", Some(&app.brand_token), None).await;

    for response in [theirs, as_brand, as_partner, unknown] {
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.text());
        assert_eq!(response.error_code(), "not_found");
    }
}

#[tokio::test]
async fn the_export_needs_a_valid_token() {
    let app = app_with_clicks().await;

    let response = app.api(Method::GET, "/api/v1/programs/1000/clicks", None, None).await;

    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "unauthorized");
}

/// More clicks than one page of the export (2,000), many in the same microsecond, so
/// the export has to page by (time, insertion order) without losing or repeating one.
async fn app_with_many_clicks(count: usize) -> (TestApp, HashSet<String>) {
    let app = TestApp::spawn().await;
    app.get("/c/101/1/1000?subId1=many").await.location();
    let template: Click = app.only_click().await;
    let clicks: Vec<Click> = (1..count)
        .map(|n| {
            let mut click = template.clone();
            let offset = if n < count / 2 { 0 } else { n as i64 };
            click.at = template.at + jiff::SignedDuration::from_millis(offset);
            click.click_id = ClickId::generate(click.at.as_millisecond() as u64, n as u128);
            click
        })
        .collect();
    let mut ids: HashSet<String> = clicks.iter().map(|click| click.click_id.to_string()).collect();
    let batch =
        tally_app::ports::ClickBatch { log_id: "written-directly".into(), first_seq: 1, clicks, days: Vec::new() };
    app.store.append_clicks(batch).await.unwrap();
    app.set_time(minutes_after_start(60));
    ids.insert(template.click_id.to_string());
    assert_eq!(ids.len(), count);
    (app, ids)
}

#[tokio::test]
async fn an_export_longer_than_one_page_holds_every_click_exactly_once() {
    let (app, ids) = app_with_many_clicks(4_501).await;

    let json = rows(&export(&app, &app.brand_token, "format=json").await);
    let csv = export(&app, &app.partner_token, "format=csv").await.text();

    let json_ids: Vec<String> = json.iter().map(|row| row["click_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(json_ids.len(), ids.len());
    assert_eq!(json_ids.iter().cloned().collect::<HashSet<_>>(), ids);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let csv_ids: Vec<String> = reader.records().map(|record| record.unwrap()[0].to_owned()).collect();
    assert_eq!(csv_ids.len(), ids.len());
    assert_eq!(csv_ids.into_iter().collect::<HashSet<_>>(), ids);
    let times: Vec<jiff::Timestamp> = json.iter().map(|row| row["time"].as_str().unwrap().parse().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "rows come in time order");
}
