//! Test actions and volume terms (SPEC §7, §8): a brand's test action is credited like a
//! real one, never reaches a statement, a report or a partner's tier, and reversing it
//! at once with `TEST_ACTION` leaves everything as it was.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::conversions::{action, basic_get, click, queued, s2s, sale};
use crate::helpers::{PROGRAM, TestApp, TestResponse, acme_program};

async fn native(app: &TestApp, body: Value) -> TestResponse {
    let path = format!("/api/v1/programs/{PROGRAM}/conversions");
    app.api(Method::POST, &path, Some(&app.brand_token), Some(&body.to_string())).await
}

/// A brand's direct test conversion for partner 101; returns its action id.
async fn test_action(app: &TestApp, order: &str, amount: &str) -> String {
    let body = json!({"eventTypeId": 1, "eventDate": "NOW", "orderId": order, "mediaPartnerId": 101,
                      "currencyCode": "USD", "amount": amount, "test": true});
    let response = native(app, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["test"], true);
    response.json()["actionId"].as_str().unwrap().to_owned()
}

async fn real_order(app: &TestApp, order: &str, amount: &str) -> String {
    let click_id = click(app, 101).await;
    let mut fields = sale(&click_id, order);
    fields.push(("Amount", amount));
    queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned()
}

async fn reverse(app: &TestApp, action_id: &str, reason: &str) -> TestResponse {
    let path = format!("/api/v1/programs/{PROGRAM}/actions/{action_id}/reverse");
    let body = json!({"reason": reason}).to_string();
    app.api(Method::POST, &path, Some(&app.brand_token), Some(&body)).await
}

/// Everything a brand or partner reads about money: the compatible listing, every
/// statement with its CSV, and the partner's own statements.
async fn reports(app: &TestApp) -> Vec<String> {
    let listing = basic_get(app, &format!("/Advertisers/{}/Actions", app.account_sid)).await.text();
    let path = |rest: &str| format!("/api/v1/programs/{PROGRAM}/{rest}");
    let statements = app.api(Method::GET, &path("statements"), Some(&app.brand_token), None).await.json();
    let mut seen = vec![listing, statements.to_string()];
    for statement in statements["statements"].as_array().unwrap() {
        let id = statement["statementId"].as_str().unwrap();
        let csv = path(&format!("statements/{id}?format=csv"));
        seen.push(app.api(Method::GET, &csv, Some(&app.brand_token), None).await.text());
    }
    seen.push(app.api(Method::GET, &path("statements"), Some(&app.partner_token), None).await.text());
    seen
}

#[tokio::test]
async fn reversing_a_test_action_at_once_leaves_every_report_and_statement_as_it_was() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["template_terms"][0]["event_payouts"][0]["locking"] = json!({"months": 0, "days": 3});
    app.apply_as(&app.account_sid.clone(), &document).await;
    app.set_time("2027-01-10T15:00:00Z".parse().unwrap());
    real_order(&app, "R-1", "100").await;
    app.set_time("2027-02-10T15:00:00Z".parse().unwrap());
    real_order(&app, "R-2", "60").await;
    app.set_time("2027-03-01T15:00:00Z".parse().unwrap());
    app.run_jobs().await;
    let before = reports(&app).await;
    assert!(before[1].contains("statementId"), "January's statement exists: {}", before[1]);

    let test = test_action(&app, "TEST-1", "80").await;
    let shown = action(&app, &test).await;
    assert_eq!((shown["test"].as_bool(), shown["payout"].as_str()), (Some(true), Some("6.40")), "paid like a real one");
    let reversed = reverse(&app, &test, "TEST_ACTION").await;
    assert_eq!(reversed.status, StatusCode::OK, "no waiting period: {}", reversed.text());
    assert_eq!(reversed.json()["state"], "REVERSED");
    app.run_jobs().await;
    assert_eq!(reports(&app).await, before);
}

#[tokio::test]
async fn a_test_action_never_reaches_a_statement_or_a_report() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["template_terms"][0]["event_payouts"][0]["locking"] = json!({"months": 0, "days": 0});
    app.apply_as(&app.account_sid.clone(), &document).await;
    app.set_time("2027-01-10T15:00:00Z".parse().unwrap());
    let test = test_action(&app, "TEST-2", "80").await;
    app.set_time("2027-02-02T15:00:00Z".parse().unwrap());
    app.run_jobs().await;
    let locked = action(&app, &test).await;
    assert_eq!((locked["state"].as_str(), locked["statementId"].as_str()), (Some("APPROVED"), None));
    let statements_path = format!("/api/v1/programs/{PROGRAM}/statements");
    let statements = app.api(Method::GET, &statements_path, Some(&app.brand_token), None).await;
    assert_eq!(statements.json()["statements"], json!([]));
    let listing = basic_get(&app, &format!("/Advertisers/{}/Actions", app.account_sid)).await.json();
    assert_eq!(listing["@total"], "0", "reports leave test actions out");

    let tag_body = json!({"orderId": "T-3", "amount": "5", "test": true});
    let refused = native(&app, json!({"orderId": "T-3", "eventTypeId": 1, "mediaPartnerId": 101, "test": "yes"})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert!(refused.text().contains("\"test\""), "{}", refused.text());
    let parsed =
        tally_core::conversion::native::parse(tally_core::ids::ProgramId(PROGRAM), tag_body.as_object().unwrap(), true);
    assert!(parsed.is_err_and(|errors| errors.iter().any(|error| error.field == "test")), "a page cannot send tests");
}

#[tokio::test]
async fn tiers_limits_and_bonuses_count_the_partners_real_actions_of_the_period() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    let payout = &mut document["template_terms"][0]["event_payouts"][0];
    payout["tiers"] = json!([{"metric": "ACTIONS", "threshold": "3", "period": "MONTH", "payout": {"rate": "12"}}]);
    payout["limits"] = json!([{"period": "DAY", "max_actions": 4}]);
    payout["bonuses"] = json!([{"metric": "REVENUE", "threshold": "250", "period": "MONTH", "amount": "25.00"}]);
    app.apply_as(&app.account_sid.clone(), &document).await;
    app.set_time("2027-01-10T15:00:00Z".parse().unwrap());

    // A minute between orders: a modification re-prices an action among those made before it.
    let payout_of = |id: String| {
        let app = &app;
        async move {
            app.advance_minutes(1);
            action(app, &id).await
        }
    };
    let first_id = real_order(&app, "V-1", "100").await;
    let first = payout_of(first_id.clone()).await;
    assert_eq!(first["payout"], "8.00");
    test_action(&app, "TEST-V", "500").await;
    let second_id = real_order(&app, "V-2", "100").await;
    let second = payout_of(second_id.clone()).await;
    assert_eq!(second["payout"], "8.00", "the test action counted for nothing");
    let third_id = real_order(&app, "V-3", "100").await;
    let third = payout_of(third_id.clone()).await;
    assert_eq!(third["payout"], "37.00", "the third action reaches the 12 % tier and crosses 250 of revenue");
    let codes: Vec<&str> =
        third["payoutNotes"].as_array().unwrap().iter().map(|n| n["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["TIER", "BONUS"]);
    assert_eq!(third["payoutLines"].as_array().unwrap().len(), 2, "commission and bonus lines");

    let fourth_id = real_order(&app, "V-4", "100").await;
    let fourth = payout_of(fourth_id.clone()).await;
    assert_eq!(fourth["payout"], "12.00", "the tier holds, the bonus was paid once");
    let fifth_id = real_order(&app, "V-5", "100").await;
    let fifth = payout_of(fifth_id.clone()).await;
    assert_eq!(fifth["payout"], "0.00", "kept, over the daily limit of 4");
    let notes = fifth["payoutNotes"].as_array().unwrap();
    let limit = notes.iter().find(|note| note["code"] == "LIMIT_ACTIONS").expect("the limit explains the zero");
    assert!(limit["message"].as_str().unwrap().contains('4'), "{limit}");

    // Re-priced after a modification, the third action does not count itself: it is
    // still the third of the month, so it keeps its tier (and the bonus it crossed).
    let path = format!("/api/v1/programs/{PROGRAM}/actions/{third_id}/modify");
    let body = json!({"reason": "ORDER_UPDATE", "amount": "90"}).to_string();
    let modified = app.api(Method::POST, &path, Some(&app.brand_token), Some(&body)).await;
    assert_eq!(modified.status, StatusCode::OK, "{}", modified.text());
    assert_eq!(modified.json()["payout"], "35.80", "12 % of 90 plus the bonus");

    // Returns take the partner back under 250 of revenue (only the third's 90 is left);
    // an order the next day crosses it again, but the month's bonus is already on the
    // third action: paid once per period.
    for id in [&first_id, &second_id, &fourth_id, &fifth_id] {
        assert_eq!(reverse(&app, id, "ITEM_RETURNED").await.status, StatusCode::OK);
    }
    app.advance_minutes(24 * 60);
    let again = payout_of(real_order(&app, "V-6", "200").await).await;
    assert_eq!(again["payout"], "16.00", "8 % of 200 (one action before it, under the tier), no second bonus");
    assert!(again["payoutNotes"].as_array().unwrap().iter().all(|note| note["code"] != "BONUS"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_of_one_partner_arriving_together_never_pay_past_a_limit() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["template_terms"][0]["event_payouts"][0]["limits"] = json!([{"period": "DAY", "max_actions": 3}]);
    app.apply_as(&app.account_sid.clone(), &document).await;
    app.set_time("2027-01-10T15:00:00Z".parse().unwrap());
    let mut clicks = Vec::new();
    for _ in 0..10 {
        clicks.push(click(&app, 101).await);
    }

    // Ten orders at once: each is priced on what the partner already has, so each must
    // see the ones stored before it.
    let orders = clicks.iter().enumerate().map(|(n, click_id)| {
        let app = &app;
        async move {
            let order = format!("LIM-{n}");
            let mut fields = sale(click_id, &order);
            fields.push(("Amount", "100"));
            queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned()
        }
    });
    let ids = futures_util::future::join_all(orders).await;

    let mut paid = 0;
    for id in ids {
        let action = action(&app, &id).await;
        if action["payout"] != "0.00" {
            paid += 1;
        }
    }
    assert_eq!(paid, 3, "three paid actions a day, however the orders interleave");
}

#[tokio::test]
async fn a_partner_asks_for_a_test_action_and_the_brand_answers_with_one() {
    let app = TestApp::spawn().await;
    let path = |rest: &str| format!("/api/v1/programs/{PROGRAM}/test-action-requests{rest}");
    let as_partner = |method: Method, rest: &str, body: Option<&str>| {
        let (app, uri) = (&app, path(rest));
        let body = body.map(str::to_owned);
        async move { app.api(method, &uri, Some(&app.partner_token), body.as_deref()).await }
    };
    let as_brand = |method: Method, rest: &str, body: Option<&str>| {
        let (app, uri) = (&app, path(rest));
        let body = body.map(str::to_owned);
        async move { app.api(method, &uri, Some(&app.brand_token), body.as_deref()).await }
    };

    let asked = as_partner(Method::POST, "", Some(r#"{"note": "new checkout page, order over $100"}"#)).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let request = asked.json();
    assert_eq!((request["state"].as_str(), request["partnerId"].as_u64()), (Some("OPEN"), Some(101)));
    let id = request["requestId"].as_str().unwrap().to_owned();
    app.advance_minutes(1);
    let declined_one = as_partner(Method::POST, "", None).await.json()["requestId"].as_str().unwrap().to_owned();

    // The brand sees both; the partner its own; only the brand answers, only a partner asks.
    assert_eq!(as_brand(Method::GET, "", None).await.json()["requests"].as_array().unwrap().len(), 2);
    assert_eq!(as_partner(Method::GET, "", None).await.json()["requests"][1]["requestId"], id.as_str());
    assert_eq!(as_brand(Method::POST, "", None).await.status, StatusCode::FORBIDDEN);
    let fulfil = format!("/{id}/fulfil");
    assert_eq!(as_partner(Method::POST, &fulfil, Some(r#"{"actionId": "x"}"#)).await.status, StatusCode::FORBIDDEN);

    // A real action, or nothing, cannot answer it; the partner's test action does.
    let real = real_order(&app, "REAL-1", "40").await;
    let refused = as_brand(Method::POST, &fulfil, Some(&json!({"actionId": real}).to_string())).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert!(refused.error_message().starts_with("actionId: a real action"), "{}", refused.text());
    assert_eq!(as_brand(Method::POST, &fulfil, Some("{}")).await.status, StatusCode::BAD_REQUEST);
    let test = test_action(&app, "TEST-REQ", "100").await;
    let answered = as_brand(Method::POST, &fulfil, Some(&json!({"actionId": test}).to_string())).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    assert_eq!(
        (answered.json()["state"].as_str(), answered.json()["actionId"].as_str()),
        (Some("FULFILLED"), Some(test.as_str()))
    );
    let again = as_brand(Method::POST, &fulfil, Some(&json!({"actionId": test}).to_string())).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "answered once");

    let declined = as_brand(Method::POST, &format!("/{declined_one}/decline"), None).await;
    assert_eq!(declined.json()["state"], "DECLINED");
    assert_eq!(as_brand(Method::POST, "/unknown/decline", None).await.status, StatusCode::NOT_FOUND);
    let long = json!({"note": "x".repeat(501)}).to_string();
    assert!(as_partner(Method::POST, "", Some(&long)).await.error_message().starts_with("note: at most 500"));
    let listed = as_partner(Method::GET, "", None).await.json();
    let states: Vec<&str> =
        listed["requests"].as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["DECLINED", "FULFILLED"], "newest first");
}

#[tokio::test]
async fn the_brand_can_have_tally_make_the_test_action_a_partner_asked_for() {
    let app = TestApp::spawn().await;
    let path = format!("/api/v1/programs/{PROGRAM}/test-action-requests");
    let asked = app.api(Method::POST, &path, Some(&app.partner_token), None).await.json();
    let fulfil = format!("{path}/{}/fulfil", asked["requestId"].as_str().unwrap());
    let answer = |body: Value| {
        let (app, fulfil) = (&app, fulfil.clone());
        async move { app.api(Method::POST, &fulfil, Some(&app.brand_token), Some(&body.to_string())).await }
    };

    for (body, expected) in [
        (json!({"testConversion": {}}), "testConversion: amount is required"),
        (json!({"testConversion": {"amount": "-5"}}), "testConversion: amount must be a decimal of at least 0"),
        (json!({"testConversion": {"amount": "5", "colour": "red"}}), "testConversion: colour is not a field"),
        (json!({"testConversion": {"amount": "5", "eventTypeId": 99}}), "testConversion: the test conversion was"),
        (json!({"testConversion": {"amount": "5"}, "actionId": "x"}), "testConversion: send either actionId"),
    ] {
        let refused = answer(body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
        assert!(refused.error_message().starts_with(expected), "{}", refused.text());
    }

    let answered = answer(json!({"testConversion": {"amount": "25.50", "eventTypeId": 1}})).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    assert_eq!(answered.json()["state"], "FULFILLED");
    let action = action(&app, answered.json()["actionId"].as_str().unwrap()).await;
    assert_eq!((action["test"].clone(), action["partnerId"].clone()), (json!(true), json!(101)), "{action}");
    assert_eq!((action["saleAmount"].as_str(), action["currency"].as_str()), (Some("25.50"), Some("USD")), "{action}");
    assert_eq!(answer(json!({"testConversion": {"amount": "1"}})).await.status, StatusCode::CONFLICT, "once only");
    assert!(reports(&app).await.iter().all(|seen| !seen.contains("25.50")), "a test action stays out of money");
}
