//! Conversions in through HTTP: the compatible S2S API, the native API with its
//! idempotency keys, and attribution across devices (SPEC §4.1, §4.2, §5, §6).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{PROGRAM, TestApp, TestResponse, acme_program, encode};

/// Sends a form conversion to the compatible API with the account's credentials.
pub(crate) async fn s2s(app: &TestApp, fields: &[(&str, &str)]) -> TestResponse {
    let body: Vec<String> = fields.iter().map(|(name, value)| format!("{name}={}", encode(value))).collect();
    s2s_raw(app, &app.account_sid, &app.auth_token, "application/x-www-form-urlencoded", &body.join("&")).await
}

pub(crate) async fn s2s_raw(app: &TestApp, sid: &str, token: &str, content_type: &str, body: &str) -> TestResponse {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/Advertisers/{}/Conversions", app.account_sid))
        .header(header::AUTHORIZATION, format!("Basic {credentials}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

pub(crate) async fn basic_get(app: &TestApp, uri: &str) -> TestResponse {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", app.account_sid, app.auth_token));
    let request =
        Request::builder().uri(uri).header(header::AUTHORIZATION, format!("Basic {credentials}")).body(Body::empty());
    app.send(request.unwrap()).await
}

/// The submission record behind a `QueuedUri`.
pub(crate) async fn queued(app: &TestApp, response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["Status"], "QUEUED");
    let uri = body["QueuedUri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with(&format!("/Advertisers/{}/APISubmissions/", app.account_sid)));
    let record = basic_get(app, &uri).await;
    assert_eq!(record.status, StatusCode::OK);
    record.json()
}

pub(crate) async fn action(app: &TestApp, action_id: &str) -> Value {
    let response = app
        .api(Method::GET, &format!("/api/v1/programs/{PROGRAM}/actions/{action_id}"), Some(&app.brand_token), None)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// A click on partner 101's link; returns the click id.
pub(crate) async fn click(app: &TestApp, partner: u64) -> String {
    app.get(&format!("/c/{partner}/1/{PROGRAM}")).await.click_id()
}

pub(crate) fn sale<'a>(click_id: &'a str, order: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CampaignId", "1000"),
        ("ActionTrackerId", "1"),
        ("EventDate", "NOW"),
        ("OrderId", order),
        ("ClickId", click_id),
        ("CurrencyCode", "USD"),
    ]
}

#[tokio::test]
async fn a_form_conversion_is_credited_to_the_clicked_partner_with_its_journey() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    app.advance_minutes(30);
    let mut fields = sale(&click_id, "O-1001");
    fields.extend([
        ("ItemSku1", "TENT-2"),
        ("ItemCategory1", "tents"),
        ("ItemPrice1", "100.00"),
        ("ItemQuantity1", "2"),
        ("ItemSku2", "MUG"),
        ("ItemSubTotal2", "50.00"),
        ("OrderDiscount", "25.00"),
        ("OrderShipping", "9.99"),
        ("CustomerStatus", "new"),
        ("SubId1", "ignored-for-brand"),
    ]);
    let record = queued(&app, &s2s(&app, &fields).await).await;
    assert_eq!(record["Type"], "Conversion");
    assert_eq!(record["Status"], "Complete");
    assert_eq!(record["ErrorType"], Value::Null);
    let action = action(&app, record["ActionId"].as_str().unwrap()).await;
    assert_eq!(action["partnerId"], 101);
    assert_eq!(action["rule"], "LAST_CLICK");
    assert_eq!(action["state"], "PENDING");
    // 200 and 50 less 25 spread 20/5: 180 + 45; shipping is not sold.
    assert_eq!(action["saleAmount"], "225.00");
    assert_eq!(action["payout"], "18.00", "8% of the sale amount");
    assert_eq!(action["clickId"], click_id);
    assert_eq!(action["referringType"], "CLICK");
    assert_eq!(action["customerStatus"], "New");
    assert!(action.get("subId1").is_none(), "a brand never sees sub ids");
    let journey = action["journey"].as_array().unwrap();
    assert_eq!(journey.len(), 1);
    assert_eq!(journey[0]["credited"], true);
    assert_eq!(journey[0]["position"], "CLOSER");
    assert_eq!(action["items"][0]["saleAmount"], "180.00");
}

#[tokio::test]
async fn the_same_json_body_is_taken_too() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let body = json!({"CampaignId": 1000, "ActionTrackerId": 1, "EventDate": "NOW", "OrderId": "J-1",
                      "ClickId": click_id, "CurrencyCode": "USD", "Amount": "40.00"});
    let response = s2s_raw(&app, &app.account_sid, &app.auth_token, "application/json", &body.to_string()).await;
    let record = queued(&app, &response).await;
    let action = action(&app, record["ActionId"].as_str().unwrap()).await;
    assert_eq!((action["saleAmount"].as_str(), action["payout"].as_str()), (Some("40.00"), Some("3.20")));
}

#[tokio::test]
async fn a_repeated_order_id_is_refused_as_a_duplicate_and_makes_no_second_action() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let mut fields = sale(&click_id, "O-7");
    fields.push(("Amount", "10"));
    let first = queued(&app, &s2s(&app, &fields).await).await;
    let second = queued(&app, &s2s(&app, &fields).await).await;
    assert_eq!(second["ErrorType"], "CONV_DUPLICATE");
    assert_eq!(second["ActionId"], Value::Null);
    assert!(second["ErrorReason"].as_str().unwrap().contains(first["ActionId"].as_str().unwrap()));
    assert_eq!(app.store.actions_after("", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn missing_and_malformed_fields_answer_400_in_the_documented_shape_and_are_kept() {
    let app = TestApp::spawn().await;
    let response = s2s(&app, &[("CampaignId", "1000"), ("CustomerEmail", "shopper@example.com")]).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let body = response.json();
    assert_eq!(body["Status"], "ERROR");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["ActionTrackerId", "EventDate", "OrderId", "CustomerEmail", "ClickId"]);
    assert!(body["errors"].as_array().unwrap().iter().all(|error| error["level"] == "ERROR"));
    let kept = app.store.submissions_after("", 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].error_type.as_deref(), Some("OID_MISSING"));
    assert!(kept[0].payload.contains("CampaignId=1000"));
}

#[tokio::test]
async fn wrong_credentials_answer_401_and_store_nothing() {
    let app = TestApp::spawn().await;
    for (sid, token) in [(app.account_sid.as_str(), "wrong"), ("TAother", app.auth_token.as_str())] {
        let response = s2s_raw(&app, sid, token, "application/x-www-form-urlencoded", "CampaignId=1000").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert!(response.header(header::WWW_AUTHENTICATE).unwrap().starts_with("Basic"));
    }
    let response = s2s_raw(&app, &app.account_sid, &app.auth_token, "text/csv", "a,b").await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(app.store.submissions_after("", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn refusals_keep_their_documented_codes() {
    let app = TestApp::spawn().await;
    let (other_sid, _) = app.other_account().await;
    let _ = other_sid;
    let unknown_program = queued(
        &app,
        &s2s(
            &app,
            &[
                ("CampaignId", "4242"),
                ("ActionTrackerId", "1"),
                ("EventDate", "NOW"),
                ("OrderId", "A"),
                ("CustomerId", "c"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(unknown_program["ErrorType"], "CAMPAIGN_NOT_FOUND");
    let unknown_event = queued(
        &app,
        &s2s(
            &app,
            &[
                ("CampaignId", "1000"),
                ("ActionTrackerId", "9"),
                ("EventDate", "NOW"),
                ("OrderId", "B"),
                ("CustomerId", "c"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(unknown_event["ErrorType"], "ACTIONTRACKER_NOT_FOUND");
    let no_item = queued(
        &app,
        &s2s(
            &app,
            &[
                ("CampaignId", "1000"),
                ("ActionTrackerId", "1"),
                ("EventDate", "NOW"),
                ("OrderId", "C"),
                ("CustomerId", "c"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(no_item["ErrorType"], "NO_ITEM");
    let nobody = queued(
        &app,
        &s2s(
            &app,
            &[
                ("CampaignId", "1000"),
                ("ActionTrackerId", "1"),
                ("EventDate", "NOW"),
                ("OrderId", "D"),
                ("CustomerId", "c"),
                ("Amount", "5"),
                ("CurrencyCode", "USD"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(nobody["ErrorType"], "NO_TOUCH");
    let inactive_click = click(&app, 105).await;
    let mut fields = sale(&inactive_click, "E");
    fields.push(("Amount", "5"));
    let inactive = queued(&app, &s2s(&app, &fields).await).await;
    assert_eq!(inactive["ErrorType"], "PARTNER_NOT_ACTIVE");
}

#[tokio::test]
async fn a_promo_code_and_a_forced_partner_credit_without_clicks() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["promo_codes"] = json!([{"code": "TRAIL10", "partner": 101, "credit_policy": "ALWAYS"}]);
    app.apply_as(&app.account_sid.clone(), &document).await;
    let searched = click(&app, 901).await;
    let mut fields = sale(&searched, "P-1");
    fields.extend([("PromoCode", "trail10"), ("Amount", "50")]);
    let record = queued(&app, &s2s(&app, &fields).await).await;
    let credited = action(&app, record["ActionId"].as_str().unwrap()).await;
    assert_eq!((credited["partnerId"].as_u64(), credited["rule"].as_str()), (Some(101), Some("PROMO_CODE_ALWAYS")));
    assert_eq!(credited["journey"][0]["reason"], "OTHER_REF_PRIORITIZED");

    let forced = [
        ("CampaignId", "1000"),
        ("ActionTrackerId", "1"),
        ("EventDate", "NOW"),
        ("OrderId", "P-2"),
        ("MediaPartnerId", "102"),
        ("Amount", "50"),
        ("CurrencyCode", "USD"),
    ];
    let record = queued(&app, &s2s(&app, &forced).await).await;
    let credited = action(&app, record["ActionId"].as_str().unwrap()).await;
    assert_eq!((credited["partnerId"].as_u64(), credited["rule"].as_str()), (Some(102), Some("MEDIA_PARTNER_ID")));
    assert_eq!(credited["referringType"], "MEDIA_PARTNER_ID");
}

#[tokio::test]
async fn a_promo_code_that_blocks_other_partners_refuses_their_traffic() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["promo_codes"] =
        json!([{"code": "TRAIL-ONLY", "partner": 101, "credit_policy": "WINNER", "block_other_partners": true}]);
    app.apply_as(&app.account_sid.clone(), &document).await;
    let exported = app.api(Method::GET, &format!("/api/v1/programs/{PROGRAM}"), Some(&app.brand_token), None).await;
    assert_eq!(exported.json()["promo_codes"][0]["block_other_partners"], true, "the key is kept on export");
    let deal_hunter = click(&app, 102).await;
    let mut fields = sale(&deal_hunter, "B-1");
    fields.extend([("PromoCode", "TRAIL-ONLY"), ("Amount", "30")]);
    let record = queued(&app, &s2s(&app, &fields).await).await;
    assert_eq!(record["ErrorType"], "BLOCKED_BY_PROMOCODE", "{record}");
    assert_eq!(record["ActionId"], Value::Null);
}

#[tokio::test]
async fn other_media_wins_and_pays_nobody() {
    let app = TestApp::spawn().await;
    let searched = click(&app, 901).await;
    let mut fields = sale(&searched, "M-1");
    fields.push(("Amount", "80"));
    let record = queued(&app, &s2s(&app, &fields).await).await;
    let credited = action(&app, record["ActionId"].as_str().unwrap()).await;
    assert_eq!((credited["partnerId"].as_u64(), credited["ownerKind"].as_str()), (Some(901), Some("media_source")));
    assert_eq!(credited["payout"], "0.00");
}

#[tokio::test]
async fn a_conversion_on_a_phone_credits_the_click_made_on_a_laptop_by_the_same_customer() {
    let app = TestApp::spawn().await;
    // On the laptop: a click, then a first order that names the customer.
    let laptop_click = click(&app, 101).await;
    let mut first = sale(&laptop_click, "X-1");
    first.extend([("CustomerId", "C-42"), ("Amount", "20")]);
    queued(&app, &s2s(&app, &first).await).await;
    // Days later on the phone: no click id, only the customer.
    app.advance_minutes(3 * 24 * 60);
    let phone = [
        ("CampaignId", "1000"),
        ("ActionTrackerId", "1"),
        ("EventDate", "NOW"),
        ("OrderId", "X-2"),
        ("CustomerId", "C-42"),
        ("Amount", "60"),
        ("CurrencyCode", "USD"),
    ];
    let record = queued(&app, &s2s(&app, &phone).await).await;
    assert_eq!(record["ErrorType"], Value::Null, "{record}");
    let credited = action(&app, record["ActionId"].as_str().unwrap()).await;
    assert_eq!(credited["partnerId"], 101);
    assert_eq!(credited["clickId"], laptop_click);
    let identity = credited["identity"].as_array().unwrap();
    assert!(
        identity
            .iter()
            .any(|link| link["via"] == "conversion" && link["key"].as_str().unwrap().starts_with("visitor:"))
    );
}

#[tokio::test]
async fn a_forgotten_customer_no_longer_joins_devices_and_its_actions_keep_their_money() {
    let app = TestApp::spawn().await;
    let laptop_click = click(&app, 101).await;
    let mut first = sale(&laptop_click, "F-1");
    first.extend([("CustomerId", "C-9"), ("Amount", "20")]);
    let record = queued(&app, &s2s(&app, &first).await).await;
    let action_id = record["ActionId"].as_str().unwrap().to_owned();

    let uri = format!("/api/v1/programs/{PROGRAM}/customers?customerId=C-9");
    let forgotten = app.api(Method::DELETE, &uri, Some(&app.brand_token), None).await;
    assert_eq!(forgotten.status, StatusCode::OK, "{}", forgotten.text());
    assert_eq!(forgotten.json(), json!({"identity_links": 2, "actions": 1, "submissions": 1}));

    let kept = action(&app, &action_id).await;
    assert_eq!((kept["customerId"].clone(), kept["saleAmount"].clone()), (Value::Null, json!("20.00")));
    assert_eq!(kept["payout"], "1.60");
    assert_eq!(kept["identity"], Value::Null);
    let submission_uri =
        format!("/Advertisers/{}/APISubmissions/{}", app.account_sid, record["BatchId"].as_str().unwrap());
    let submission = basic_get(&app, &submission_uri).await;
    assert!(!submission.text().contains("C-9"), "{}", submission.text());

    // The phone's order names the customer, who no longer leads to the laptop's click.
    let phone = [
        ("CampaignId", "1000"),
        ("ActionTrackerId", "1"),
        ("EventDate", "NOW"),
        ("OrderId", "F-2"),
        ("CustomerId", "C-9"),
        ("Amount", "60"),
        ("CurrencyCode", "USD"),
    ];
    assert_eq!(queued(&app, &s2s(&app, &phone).await).await["ErrorType"], "NO_TOUCH");

    for query in ["", "?customerEmail=plain@example.com", "?colour=red"] {
        let bad = format!("/api/v1/programs/{PROGRAM}/customers{query}");
        assert_eq!(app.api(Method::DELETE, &bad, Some(&app.brand_token), None).await.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(app.api(Method::DELETE, &uri, Some(&app.partner_token), None).await.status, StatusCode::FORBIDDEN);
    let (_, rival) = app.other_account().await;
    assert_eq!(app.api(Method::DELETE, &uri, Some(&rival), None).await.status, StatusCode::NOT_FOUND);
}

async fn native(app: &TestApp, body: &Value, key: Option<&str>) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/programs/{PROGRAM}/conversions"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.brand_token))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn the_native_api_answers_with_the_outcome_and_honours_idempotency_keys() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let body = json!({"eventTypeId": 1, "eventDate": "NOW", "orderId": "N-1", "clickId": click_id,
                      "currencyCode": "USD", "items": [{"sku": "A", "subTotal": "12.50"}]});
    let first = native(&app, &body, Some("retry-me")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let answer = first.json();
    assert_eq!((answer["status"].as_str(), answer["partnerId"].as_u64()), (Some("CREDITED"), Some(101)));
    assert_eq!((answer["saleAmount"].as_str(), answer["payout"].as_str()), (Some("12.50"), Some("1.00")));

    let retry = native(&app, &body, Some("retry-me")).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.json(), answer, "a retry returns the first answer");
    assert_eq!(retry.header("idempotent-replayed".parse().unwrap()), Some("true"));
    assert_eq!(app.store.actions_after("", 10).await.unwrap().len(), 1, "never a second action");

    let reused = native(&app, &json!({"eventTypeId": 1, "eventDate": "NOW", "orderId": "N-2", "clickId": click_id, "amount": 3, "currencyCode": "USD"}), Some("retry-me")).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);

    let without_key = native(&app, &body, None).await;
    assert_eq!(without_key.json()["reason"], "CONV_DUPLICATE");
}

#[tokio::test]
async fn the_native_api_takes_a_batch_and_names_bad_fields_as_sent() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let body = json!({"conversions": [
        {"eventTypeId": 1, "eventDate": "NOW", "orderId": "B-1", "clickId": click_id, "amount": "10", "currencyCode": "USD"},
        {"eventTypeId": 1, "eventDate": "NOW", "orderId": "B-2", "clickId": click_id, "items": [{"sku": "A", "subTotal": "ten"}], "currencyCode": "USD"},
        {"eventTypeId": 1, "eventDate": "NOW", "orderId": "B-3", "colour": "red", "clickId": click_id}
    ]});
    let response = native(&app, &body, None).await;
    assert_eq!(response.status, StatusCode::OK);
    let results = response.json()["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["status"], "CREDITED");
    assert_eq!(results[1]["status"], "INVALID");
    assert_eq!(results[1]["error"]["problems"][0]["path"], "items[0].subTotal");
    assert_eq!(results[2]["error"]["problems"][0]["path"], "colour");
    let partner = app
        .api(Method::POST, &format!("/api/v1/programs/{PROGRAM}/conversions"), Some(&app.partner_token), Some("{}"))
        .await;
    assert_eq!(partner.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_partner_sees_its_own_actions_with_sub_ids_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let click_id = app.get(&format!("/c/101/1/{PROGRAM}?subId1=newsletter")).await.click_id();
    let mut fields = sale(&click_id, "S-1");
    fields.push(("Amount", "10"));
    let record = queued(&app, &s2s(&app, &fields).await).await;
    let uri = format!("/api/v1/programs/{PROGRAM}/actions/{}", record["ActionId"].as_str().unwrap());
    let own = app.api(Method::GET, &uri, Some(&app.partner_token), None).await;
    assert_eq!(own.json()["subId1"], "newsletter");
    let other = app.accounts.create_token(&app.account_sid, Some(tally_core::ids::PartnerId(102)), None).await.unwrap();
    assert_eq!(app.api(Method::GET, &uri, Some(&other), None).await.status, StatusCode::NOT_FOUND);
    let (_, rival) = app.other_account().await;
    assert_eq!(app.api(Method::GET, &uri, Some(&rival), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_describes_every_native_endpoint_and_each_answers() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    let document = response.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    assert_eq!(
        documented,
        [
            "/openapi.json",
            "/programs/{id}",
            "/programs/{id}/actions",
            "/programs/{id}/actions/{actionId}",
            "/programs/{id}/actions/{actionId}/approve",
            "/programs/{id}/actions/{actionId}/modify",
            "/programs/{id}/actions/{actionId}/reverse",
            "/programs/{id}/clicks",
            "/programs/{id}/conversions",
            "/programs/{id}/customers",
            "/programs/{id}/integration-check",
            "/programs/{id}/invalid-conversions",
            "/programs/{id}/partners/{partnerId}/withdrawal",
            "/programs/{id}/performance",
            "/programs/{id}/statements",
            "/programs/{id}/statements/{statementId}",
            "/programs/{id}/statements/{statementId}/paid",
            "/programs/{id}/test-action-requests",
            "/programs/{id}/test-action-requests/{requestId}/decline",
            "/programs/{id}/test-action-requests/{requestId}/fulfil"
        ]
    );
    for (path, operations) in paths {
        let uri = format!(
            "/api/v1{}",
            path.replace("{id}", &PROGRAM.to_string())
                .replace("{actionId}", "x")
                .replace("{statementId}", "x")
                .replace("{partnerId}", "101")
                .replace("{requestId}", "x")
        );
        for method in operations.as_object().unwrap().keys().filter(|key| *key != "parameters") {
            let method: Method = method.to_uppercase().parse().unwrap();
            let answer = app.api(method.clone(), &uri, None, None).await;
            let expected = if path == "/openapi.json" { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
            assert_eq!(answer.status, expected, "{method} {uri}: {}", answer.text());
        }
    }
}
