//! Reports through the native API (SPEC §10): the action listing and its CSV, the
//! performance report with its charts, invalid conversions and the integration check;
//! and the compatible listing, paged through, against the native one.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tally_app::conformance::{sample_action, sample_submission};
use tally_app::ports::{ActionRecord, SubmissionRecord};
use tally_core::click::OwnerKind;
use tally_core::ids::{PartnerId, ProgramId};

use crate::conversions::{basic_get, click, queued, s2s, sale};
use crate::helpers::{PROGRAM, TestApp, TestResponse};

async fn get(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.api(Method::GET, &format!("/api/v1/programs/{PROGRAM}/{path}"), Some(token), None).await
}

async fn order(app: &TestApp, partner: u64, order_id: &str, amount: &str, sub_id: &str) -> String {
    let click_id = app.get(&format!("/c/{partner}/1/{PROGRAM}?subId1={sub_id}")).await.click_id();
    let mut fields = sale(&click_id, order_id);
    fields.push(("Amount", amount));
    queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_listing_filters_pages_and_shows_sub_ids_to_partners_only() {
    let app = TestApp::spawn().await;
    for n in 0..7 {
        app.advance_minutes(1);
        order(&app, 101, &format!("T-{n}"), "20", "spring").await;
    }
    order(&app, 102, "D-1", "80", "deal").await;

    let page = get(&app, "actions?pageSize=3&page=2&sort=-creationDate", &app.brand_token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let body = page.json();
    assert_eq!((body["total"].as_u64(), body["page"].as_u64(), body["pageSize"].as_u64()), (Some(8), Some(2), Some(3)));
    assert_eq!(body["actions"].as_array().unwrap().len(), 3);
    assert!(body["actions"][0].get("subId1").is_none(), "a brand never sees sub ids");
    assert!(body["actions"][0].get("journey").is_none(), "the listing is light; the detail has the journey");

    let own = get(&app, "actions", &app.partner_token).await.json();
    assert_eq!(own["total"], 7, "partner 101 sees its own");
    assert_eq!(own["actions"][0]["subId1"], "spring");
    assert_eq!(get(&app, "actions?partner=102", &app.partner_token).await.status, StatusCode::NOT_FOUND);
    let filtered = get(&app, "actions?partner=102&state=PENDING", &app.brand_token).await.json();
    assert_eq!(filtered["total"], 1);
    let bad = get(&app, "actions?eventDateFrom=2026-05-01&eventDateTo=2026-04-01", &app.brand_token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("eventDateTo"), "{}", bad.text());
    assert_eq!(get(&app, "actions?colour=red", &app.brand_token).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, "actions?format=xml", &app.brand_token).await.status, StatusCode::BAD_REQUEST);

    let csv = get(&app, "actions?format=csv&partner=101", &app.brand_token).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header(axum::http::header::CONTENT_TYPE).unwrap().starts_with("text/csv"));
    let text = csv.text();
    assert_eq!(text.lines().count(), 8, "a header and every row: {text}");
    assert!(!text.lines().next().unwrap().contains("sub_id1"));
    let partner_csv = get(&app, "actions?format=csv", &app.partner_token).await.text();
    assert!(partner_csv.lines().next().unwrap().contains("sub_id1"));
    assert!(partner_csv.contains(",spring,"), "{partner_csv}");
}

#[tokio::test]
async fn performance_sums_clicks_and_actions_by_day_and_partner_with_a_chart() {
    let app = TestApp::spawn().await;
    app.set_time("2026-03-10T15:00:00Z".parse().unwrap());
    let first = order(&app, 101, "P-1", "100", "a").await;
    order(&app, 101, "P-2", "50", "a").await;
    click(&app, 101).await;
    click(&app, 102).await;
    app.set_time("2026-03-11T15:00:00Z".parse().unwrap());
    order(&app, 102, "P-3", "10", "b").await;
    app.settle().await;

    let by_partner = get(&app, "performance?from=2026-03-10&to=2026-03-11&by=partner", &app.brand_token).await;
    assert_eq!(by_partner.status, StatusCode::OK, "{}", by_partner.text());
    let rows = by_partner.json()["rows"].as_array().unwrap().clone();
    let trail = rows.iter().find(|row| row["key"] == json!(["101"])).unwrap();
    assert_eq!((trail["clicks"].as_u64(), trail["actions"].as_u64()), (Some(3), Some(2)));
    assert_eq!((trail["saleAmount"].as_str(), trail["payout"].as_str()), (Some("150.00"), Some("12.00")));
    assert_eq!((trail["conversionRate"].as_str(), trail["epc"].as_str()), (Some("66.67"), Some("4.00")));

    let by_day = get(&app, "performance?from=2026-03-09&to=2026-03-11&by=day", &app.brand_token).await.json();
    let days: Vec<(&str, u64)> = by_day["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["key"][0].as_str().unwrap(), row["actions"].as_u64().unwrap()))
        .collect();
    assert_eq!(days, [("2026-03-09", 0), ("2026-03-10", 2), ("2026-03-11", 1)], "every day, in New York's days");
    assert_eq!(by_day["total"]["payout"], "12.80");

    // A reversal leaves the report equal to a recount of what remains.
    let path = format!("/api/v1/programs/{PROGRAM}/actions/{first}/reverse");
    let reversed = app.api(Method::POST, &path, Some(&app.brand_token), Some(r#"{"reason": "ITEM_RETURNED"}"#)).await;
    assert_eq!(reversed.status, StatusCode::OK);
    let after = get(&app, "performance?from=2026-03-10&to=2026-03-11&by=", &app.brand_token).await.json();
    assert_eq!((after["total"]["actions"].as_u64(), after["total"]["payout"].as_str()), (Some(2), Some("4.80")));

    let svg =
        get(&app, "performance?from=2026-03-09&to=2026-03-11&by=day&format=svg&measure=actions", &app.brand_token)
            .await;
    assert_eq!(svg.header(axum::http::header::CONTENT_TYPE), Some("image/svg+xml"));
    assert!(svg.text().starts_with("<svg") && svg.text().contains("<polyline"), "{}", svg.text());
    let bars = get(&app, "performance?from=2026-03-10&to=2026-03-11&by=partner&format=svg", &app.brand_token).await;
    assert!(bars.text().contains("<rect"), "{}", bars.text());
    let own = get(&app, "performance?from=2026-03-10&to=2026-03-11&by=partner", &app.partner_token).await.json();
    assert_eq!(own["rows"].as_array().unwrap().len(), 1, "a partner sees its own row");
    for bad in
        ["by=colour", "from=2026-03-11&to=2026-03-01", "measure=colour&format=svg", "from=2025-01-01&to=2026-03-01"]
    {
        let response = get(&app, &format!("performance?{bad}"), &app.brand_token).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn invalid_conversions_and_the_integration_check_say_what_to_fix() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let mut fine = sale(&click_id, "I-1");
    fine.extend([("Amount", "30"), ("CustomerStatus", "New")]);
    queued(&app, &s2s(&app, &fine).await).await;
    let duplicate = queued(&app, &s2s(&app, &fine).await).await;
    assert_eq!(duplicate["ErrorType"], "CONV_DUPLICATE");
    let mut unknown = sale("no-such-click", "I-2");
    unknown.extend([("Amount", "30"), ("CurrencyCode", "EUR")]);
    unknown.retain(|(name, value)| *name != "CurrencyCode" || *value == "EUR");
    queued(&app, &s2s(&app, &unknown).await).await;

    let invalid = get(&app, "invalid-conversions", &app.brand_token).await;
    assert_eq!(invalid.status, StatusCode::OK, "{}", invalid.text());
    let reasons: HashSet<String> = invalid.json()["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|submission| submission["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(reasons.contains("CONV_DUPLICATE"), "{reasons:?}");
    let only = get(&app, "invalid-conversions?reason=conv_duplicate", &app.brand_token).await.json();
    assert_eq!(only["total"], 1);
    assert!(only["submissions"][0]["payload"].as_str().unwrap().contains("OrderId=I%2D1"), "the raw body: {only}");
    assert_eq!(get(&app, "invalid-conversions", &app.partner_token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, "invalid-conversions?size=3", &app.brand_token).await.status, StatusCode::BAD_REQUEST);

    let check = get(&app, "integration-check", &app.brand_token).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    let body = check.json();
    assert_eq!(body["checkedSubmissions"], 3);
    let codes: Vec<&str> =
        body["findings"].as_array().unwrap().iter().map(|finding| finding["code"].as_str().unwrap()).collect();
    for code in ["UNKNOWN_CLICK_ID", "MISSING_CUSTOMER_STATUS", "OTHER_CURRENCY", "DUPLICATE_ORDER"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    assert!(body["findings"][0]["fix"].as_str().unwrap().len() > 20);
}

/// Thousands of actions, written straight to the store: the compatible listing paged
/// through and the native listing paged through name the same actions, and the CSV
/// export holds them all.
#[tokio::test]
async fn the_compatible_listing_and_the_native_listing_agree_over_thousands_of_actions() {
    let app = TestApp::spawn().await;
    let total = 2_400;
    for n in 0..total {
        let id = format!("act-{n:05}");
        let action = ActionRecord {
            program: ProgramId(PROGRAM),
            owner: PartnerId(101 + n % 2),
            owner_kind: OwnerKind::Partner,
            currency: "USD".parse().unwrap(),
            sale_amount: rust_decimal::Decimal::new(1_000 + n as i64, 2),
            payout: rust_decimal::Decimal::new(80, 2),
            created_at: "2026-03-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
                + jiff::SignedDuration::from_secs(n as i64),
            statement_id: None,
            test: false,
            ..sample_action(&id, &format!("O-{n}"), &format!("sub-{n}"))
        };
        let submission = SubmissionRecord {
            submission_id: format!("sub-{n}"),
            account_sid: app.account_sid.clone(),
            program: Some(ProgramId(PROGRAM)),
            action_id: Some(id.clone()),
            error_type: None,
            error_reason: None,
            ..sample_submission("x")
        };
        app.store.record_conversion(&submission, Some(&action), &[]).await.unwrap();
    }

    let mut compatible = Vec::new();
    let mut uri = format!("/Advertisers/{}/Actions?CampaignId={PROGRAM}&PageSize=500", app.account_sid);
    while !uri.is_empty() {
        let page = basic_get(&app, &uri).await.json();
        compatible.extend(page["Actions"].as_array().unwrap().iter().map(|a| a["Id"].as_str().unwrap().to_owned()));
        uri = page["@nextpageuri"].as_str().unwrap().to_owned();
    }
    let mut native = Vec::new();
    for page in 1..=3 {
        let body = get(&app, &format!("actions?pageSize=1000&page={page}"), &app.brand_token).await.json();
        assert_eq!(body["total"], total);
        native.extend(body["actions"].as_array().unwrap().iter().map(|a| a["actionId"].as_str().unwrap().to_owned()));
    }
    assert_eq!(compatible.len(), total as usize);
    assert_eq!(compatible, native, "both newest first, the same actions");
    let csv = get(&app, "actions?format=csv", &app.brand_token).await.text();
    let exported: HashSet<&str> = csv.lines().skip(1).map(|line| line.split(',').next().unwrap()).collect();
    assert_eq!(exported.len(), total as usize);
    assert!(native.iter().all(|id| exported.contains(id.as_str())));
    let value = |body: &Value| body["total"]["saleAmount"].as_str().unwrap().to_owned();
    let report = get(&app, "performance?from=2026-01-01&to=2026-03-31&by=", &app.brand_token).await.json();
    let expected: rust_decimal::Decimal = (0..total).map(|n| rust_decimal::Decimal::new(1_000 + n as i64, 2)).sum();
    assert_eq!(value(&report), expected.to_string(), "the rollup equals the sum of the rows");
}

#[tokio::test]
async fn items_are_reported_by_sku_and_category() {
    let app = TestApp::spawn().await;
    let mut document = crate::helpers::acme_program();
    document["template_terms"][0]["event_payouts"][0]["payout_level"] = json!("ITEM");
    app.apply_as(&app.account_sid.clone(), &document).await;
    let click_id = click(&app, 101).await;
    let mut fields = sale(&click_id, "S-1");
    fields.extend([
        ("ItemSku1", "TENT-2"),
        ("ItemCategory1", "Tents"),
        ("ItemQuantity1", "1"),
        ("ItemSubTotal1", "200"),
        ("ItemSku2", "MUG"),
        ("ItemCategory2", "Kitchen"),
        ("ItemQuantity2", "3"),
        ("ItemSubTotal2", "30"),
    ]);
    queued(&app, &s2s(&app, &fields).await).await;
    let skus = get(&app, "performance?by=sku", &app.brand_token).await;
    assert_eq!(skus.status, StatusCode::OK, "{}", skus.text());
    let rows = skus.json()["rows"].as_array().unwrap().clone();
    let mug = rows.iter().find(|row| row["key"] == json!(["MUG"])).unwrap();
    assert_eq!((mug["quantity"].as_u64(), mug["saleAmount"].as_str()), (Some(3), Some("30.00")));
    assert_eq!(mug["payout"], "2.40", "the item's own payout line, at ITEM level");
    let categories = get(&app, "performance?by=category&format=csv", &app.brand_token).await.text();
    assert!(categories.contains("\nTents,0,0,1,1,,USD,200.00,"), "{categories}");
}
