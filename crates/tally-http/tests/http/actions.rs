//! Changing actions (SPEC §8): reversal and early approval through the native API and
//! the compatible `DELETE /Advertisers/{SID}/Actions`, refused once an action locks.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};

use crate::conversions::{action, click, queued, s2s, sale};
use crate::helpers::{PROGRAM, TestApp, TestResponse, acme_program};

/// A credited order of 40.00 (payout 3.20); returns its action id.
async fn credited_order(app: &TestApp, order: &str) -> String {
    let click_id = click(app, 101).await;
    let mut fields = sale(&click_id, order);
    fields.push(("Amount", "40"));
    queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, path: &str, token: &str, body: &str) -> TestResponse {
    app.api(Method::POST, &format!("/api/v1/programs/{PROGRAM}/actions/{path}"), Some(token), Some(body)).await
}

#[tokio::test]
async fn a_pending_action_is_reversed_once_with_its_deltas_recorded() {
    let app = TestApp::spawn().await;
    let action_id = credited_order(&app, "R-1").await;
    let reversed =
        post(&app, &format!("{action_id}/reverse"), &app.brand_token, r#"{"reason": "ITEM_RETURNED"}"#).await;
    assert_eq!(reversed.status, StatusCode::OK, "{}", reversed.text());
    let body = reversed.json();
    assert_eq!(
        (body["state"].as_str(), body["saleAmount"].as_str(), body["payout"].as_str()),
        (Some("REVERSED"), Some("0.00"), Some("0.00"))
    );
    let update = &body["updates"][0];
    assert_eq!((update["deltaAmount"].as_str(), update["deltaPayout"].as_str()), (Some("-40.00"), Some("-3.20")));
    assert_eq!(
        (update["reason"].as_str(), update["actor"].as_str()),
        (Some("ITEM_RETURNED"), Some(app.account_sid.as_str()))
    );
    assert_eq!(action(&app, &action_id).await["state"], "REVERSED");

    let again = post(&app, &format!("{action_id}/reverse"), &app.brand_token, r#"{"reason": "ITEM_RETURNED"}"#).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let other = credited_order(&app, "R-2").await;
    let unknown = post(&app, &format!("{other}/reverse"), &app.brand_token, r#"{"reason": "BORED"}"#).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.error_message().contains("ITEM_RETURNED"), "{}", unknown.text());
    let extra = post(&app, &format!("{other}/reverse"), &app.brand_token, r#"{"reason": "OTHER", "note": "x"}"#).await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    let partner = post(&app, &format!("{other}/reverse"), &app.partner_token, r#"{"reason": "OTHER"}"#).await;
    assert_eq!(partner.status, StatusCode::FORBIDDEN);
    let (_, rival) = app.other_account().await;
    assert_eq!(
        post(&app, &format!("{other}/reverse"), &rival, r#"{"reason": "OTHER"}"#).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(action(&app, &other).await["state"], "PENDING", "refused changes change nothing");
}

#[tokio::test]
async fn an_approved_or_locked_action_cannot_change() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["template_terms"][0]["event_payouts"][0]["locking"] = json!({"months": 0, "days": 0});
    app.apply_as(&app.account_sid.clone(), &document).await;

    let early = credited_order(&app, "A-1").await;
    let approved = post(&app, &format!("{early}/approve"), &app.brand_token, "").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(approved.json()["updates"][0]["reason"], "EARLY_APPROVAL");
    let refused = post(&app, &format!("{early}/reverse"), &app.brand_token, r#"{"reason": "CONS_FRAUD"}"#).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.error_message().contains("locked"), "{}", refused.text());

    // Made on 2 March in New York, locked from 1 April 00:00 EDT: the lock holds from
    // that instant, before any job has run.
    let pending = credited_order(&app, "A-2").await;
    assert_eq!(action(&app, &pending).await["lockingDate"], "2026-04-01T04:00:00Z");
    app.set_time("2026-04-01T04:00:00Z".parse().unwrap());
    let late = post(&app, &format!("{pending}/reverse"), &app.brand_token, r#"{"reason": "ORDER_UPDATE"}"#).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(action(&app, &pending).await["state"], "PENDING");
}

pub(crate) async fn compatible_delete(app: &TestApp, body: &str) -> TestResponse {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", app.account_sid, app.auth_token));
    let request = Request::builder()
        .method(Method::DELETE)
        .uri(format!("/Advertisers/{}/Actions", app.account_sid))
        .header(header::AUTHORIZATION, format!("Basic {credentials}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn the_compatible_api_reverses_by_order_and_keeps_the_submission() {
    let app = TestApp::spawn().await;
    let action_id = credited_order(&app, "C-1").await;
    let record = queued(
        &app,
        &compatible_delete(&app, "CampaignId=1000&ActionTrackerId=1&OrderId=C-1&DispositionCode=CONS_FRAUD").await,
    )
    .await;
    assert_eq!((record["Type"].as_str(), record["ErrorType"].clone()), (Some("Reversal"), Value::Null));
    assert_eq!(record["ActionId"], action_id.as_str());
    assert_eq!(action(&app, &action_id).await["state"], "REVERSED");

    let unknown = queued(&app, &compatible_delete(&app, "ActionId=nope&DispositionCode=ORDER_ERROR").await).await;
    assert_eq!(unknown["ErrorType"], "ACTION_REF_NOT_FOUND");
    let twice =
        queued(&app, &compatible_delete(&app, &format!("ActionId={action_id}&DispositionCode=TEST_ACTION")).await)
            .await;
    assert_eq!(twice["ErrorType"], "ACTION_NOT_PENDING");
    let missing = compatible_delete(&app, &format!("ActionId={action_id}")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["errors"][0]["field"], "DispositionCode");
}

#[tokio::test]
async fn the_compatible_api_shows_an_action_in_the_documented_field_names() {
    let app = TestApp::spawn().await;
    let action_id = credited_order(&app, "G-1").await;
    for suffix in ["", ".json"] {
        let response = crate::conversions::basic_get(
            &app,
            &format!("/Advertisers/{}/Actions/{action_id}{suffix}", app.account_sid),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let body = response.json();
        assert_eq!(
            (body["Id"].as_str(), body["CampaignId"].as_u64(), body["MediaPartnerId"].as_u64()),
            (Some(action_id.as_str()), Some(1000), Some(101))
        );
        assert_eq!(
            (body["State"].as_str(), body["Amount"].as_str(), body["Payout"].as_str()),
            (Some("PENDING"), Some("40.00"), Some("3.20"))
        );
        assert_eq!((body["Oid"].as_str(), body["ReferringType"].as_str()), (Some("G-1"), Some("CLICK")));
        assert_eq!(body["Journey"][0]["credited"], true);
        assert!(body.get("SubId1").is_none(), "the brand's API never shows sub ids");
    }
    let missing = crate::conversions::basic_get(&app, &format!("/Advertisers/{}/Actions/nope", app.account_sid)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// An order of two lines (A: 2 × 30.00, B: 40.00) paying 8 %; returns its action id.
async fn itemised_order(app: &TestApp, order: &str) -> String {
    let click_id = click(app, 101).await;
    let mut fields = sale(&click_id, order);
    fields.extend([
        ("ItemSku1", "A"),
        ("ItemPrice1", "30.00"),
        ("ItemQuantity1", "2"),
        ("ItemSku2", "B"),
        ("ItemSubTotal2", "40.00"),
    ]);
    queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned()
}

fn money(body: &Value) -> (String, String, String) {
    let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (text("state"), text("saleAmount"), text("payout"))
}

#[tokio::test]
async fn modifications_recompute_the_payout_and_reset_restores_the_order() {
    let app = TestApp::spawn().await;
    let id = itemised_order(&app, "M-1").await;
    let modify = |body: Value| {
        let app = &app;
        let id = id.clone();
        async move { post(app, &format!("{id}/modify"), &app.brand_token, &body.to_string()).await }
    };
    let returned = modify(json!({"reason": "ITEM_RETURNED", "items": [{"line": 1, "quantity": 1}]})).await;
    assert_eq!(returned.status, StatusCode::OK, "{}", returned.text());
    let body = returned.json();
    assert_eq!(money(&body), ("PENDING".into(), "70.00".into(), "5.60".into()));
    assert_eq!(body["items"][0]["quantity"], 1);
    let update = &body["updates"][0];
    assert_eq!((update["deltaAmount"].as_str(), update["deltaPayout"].as_str()), (Some("-30.00"), Some("-2.40")));

    let scaled = modify(json!({"reason": "ORDER_UPDATE", "amount": "35"})).await.json();
    assert_eq!(money(&scaled), ("PENDING".into(), "35.00".into(), "2.80".into()));
    let stored = app.store.action(scaled["actionId"].as_str().unwrap()).await.unwrap().unwrap();
    let detail: Value = serde_json::from_str(&stored.detail).unwrap();
    assert_eq!(detail["payout"], "2.80", "the detail's payout follows the action's");
    let refund =
        modify(json!({"reason": "ORDER_UPDATE", "items": [{"line": 2, "subTotalDelta": "-0.006"}]})).await.json();
    assert_eq!(refund["items"][1]["saleAmount"], "19.99", "20.00 - 0.006, rounded once");
    let reset = modify(json!({"reason": "ORDER_UPDATE", "reset": true})).await.json();
    assert_eq!(money(&reset), ("PENDING".into(), "100.00".into(), "8.00".into()));
    assert_eq!(reset["items"][0]["quantity"], 2);
    let zero = modify(json!({"reason": "ORDER_UPDATE", "amount": 0})).await.json();
    assert_eq!(money(&zero), ("REVERSED".into(), "0.00".into(), "0.00".into()), "a new amount of zero reverses");
    assert_eq!(zero["updates"].as_array().unwrap().len(), 5);

    let other = itemised_order(&app, "M-2").await;
    for (body, field) in [
        (json!({"reason": "ORDER_UPDATE", "items": [{"line": 5, "quantity": 1}]}), "no item 5"),
        (json!({"reason": "ORDER_UPDATE", "amount": "1", "reset": true}), "exactly one"),
        (json!({"reason": "ORDER_UPDATE", "items": [{"line": 1, "quantity": -1}]}), "items[0].quantity"),
        (json!({"reason": "ORDER_UPDATE", "amount": "-3"}), "negative"),
        (json!({"amount": "3"}), "reason"),
    ] {
        let refused = post(&app, &format!("{other}/modify"), &app.brand_token, &body.to_string()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(refused.text().contains(field), "{body}: {}", refused.text());
    }
    assert_eq!(money(&action(&app, &other).await), ("PENDING".into(), "100.00".into(), "8.00".into()));
}

#[tokio::test]
async fn the_compatible_api_modifies_by_item_and_an_action_takes_at_most_a_thousand_changes() {
    let app = TestApp::spawn().await;
    let id = itemised_order(&app, "P-1").await;
    let put = |body: String| {
        let app = &app;
        async move {
            let credentials =
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", app.account_sid, app.auth_token));
            let request = Request::builder()
                .method(Method::PUT)
                .uri(format!("/Advertisers/{}/Actions", app.account_sid))
                .header(header::AUTHORIZATION, format!("Basic {credentials}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            app.send(request).await
        }
    };
    let record = queued(
        &app,
        &put("CampaignId=1000&ActionTrackerId=1&OrderId=P-1&ItemQuantity2=0&Reason=ITEM_RETURNED".into()).await,
    )
    .await;
    assert_eq!((record["Type"].as_str(), record["ErrorType"].clone()), (Some("Modification"), Value::Null));
    assert_eq!(money(&action(&app, &id).await), ("PENDING".into(), "60.00".into(), "4.80".into()));
    let missing = put(format!("ActionId={id}&Amount=10")).await;
    assert_eq!(missing.json()["errors"][0]["field"], "Reason");

    for n in 0..998 {
        let amount = if n % 2 == 0 { "50" } else { "60" };
        let response = put(format!("ActionId={id}&Amount={amount}&Reason=ORDER_UPDATE")).await;
        assert_eq!(response.status, StatusCode::OK, "change {n}: {}", response.text());
    }
    let thousandth = queued(&app, &put(format!("ActionId={id}&Reset=true&Reason=ORDER_UPDATE")).await).await;
    assert_eq!(thousandth["ErrorType"], Value::Null, "the 1,000th change is taken");
    let refused = queued(&app, &put(format!("ActionId={id}&Amount=1&Reason=ORDER_UPDATE")).await).await;
    assert_eq!(refused["ErrorType"], "TOO_MANY_MODIFICATIONS");
}

#[tokio::test]
async fn absurd_amounts_are_refused_by_name_and_change_nothing() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let huge = "99999999999999999999999999.99";

    // An amount past what Tally keeps is a field error on every way in.
    let mut fields = sale(&click_id, "HUGE-1");
    fields.push(("Amount", huge));
    let refused = s2s(&app, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert!(refused.text().contains("at most 1000000000000"), "{}", refused.text());
    let path = format!("/api/v1/programs/{PROGRAM}/conversions");
    let body = json!({"eventTypeId": 1, "eventDate": "NOW", "orderId": "HUGE-2", "clickId": click_id,
                      "currencyCode": "USD", "amount": huge});
    let native = app.api(Method::POST, &path, Some(&app.brand_token), Some(&body.to_string())).await;
    assert_eq!(native.status, StatusCode::BAD_REQUEST, "{}", native.text());

    // Each price within bounds, their product past them: the order is refused, whole.
    let mut fields = sale(&click_id, "HUGE-3");
    fields.extend([("ItemSku1", "X"), ("ItemPrice1", "999999999999"), ("ItemQuantity1", "4000000000")]);
    let submission = queued(&app, &s2s(&app, &fields).await).await;
    assert!(submission.to_string().contains("more than Tally keeps"), "{submission}");
    assert!(submission["ActionId"].is_null() || submission["ActionId"] == "", "{submission}");

    // A modification that would pass the bound is refused; the action stays as it was.
    let id = itemised_order(&app, "M-HUGE").await;
    let before = app.store.action(&id).await.unwrap().unwrap();
    let items = json!([{"line": 1, "quantity": 4000000000u64}, {"line": 2, "subTotalDelta": "999999999999"}]);
    let modify = json!({"reason": "ORDER_UPDATE", "items": items}).to_string();
    let refused = post(&app, &format!("{id}/modify"), &app.brand_token, &modify).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert!(refused.text().contains("more than Tally keeps"), "{}", refused.text());
    assert_eq!(app.store.action(&id).await.unwrap().unwrap(), before);
}
