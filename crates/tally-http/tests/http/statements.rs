//! Partner statements and withdrawal settings (SPEC §8), through the native API, on the
//! documented worked example: locked 0 months and 27 days after the end of the month,
//! paid 0 months and 20 days after the end of the month they lock.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::conversions::{action, click, queued, s2s, sale};
use crate::helpers::{PROGRAM, TestApp, TestResponse, acme_program};

/// The Acme program under the documented schedule.
async fn documented_schedule() -> TestApp {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    let payout = &mut document["template_terms"][0]["event_payouts"][0];
    payout["locking"] = json!({"months": 0, "days": 27});
    payout["payment"] = json!({"months": 0, "days": 20});
    app.apply_as(&app.account_sid.clone(), &document).await;
    app
}

/// A credited order of `amount` for partner `partner`, at the clock's time.
async fn order(app: &TestApp, partner: u64, order_id: &str, amount: &str) -> String {
    let click_id = click(app, partner).await;
    let mut fields = sale(&click_id, order_id);
    fields.push(("Amount", amount));
    queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.api(Method::GET, &format!("/api/v1/programs/{PROGRAM}/{path}"), Some(token), None).await
}

async fn statements_of(app: &TestApp, token: &str) -> Vec<Value> {
    let response = get(app, "statements", token).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["statements"].as_array().unwrap().clone()
}

#[tokio::test]
async fn januarys_actions_lock_on_28_february_and_are_paid_on_20_march() {
    let app = documented_schedule().await;
    app.set_time("2027-01-15T15:00:00Z".parse().unwrap());
    let first = order(&app, 101, "JAN-1", "100").await;
    let second = order(&app, 101, "JAN-2", "50").await;
    let other = order(&app, 102, "JAN-3", "10").await;
    assert_eq!(action(&app, &first).await["stateDetail"], "OPEN");

    // 27 February, end of day in New York: still open; no statement yet.
    app.set_time("2027-02-28T04:59:59Z".parse().unwrap());
    app.run_jobs().await;
    assert_eq!(action(&app, &first).await["state"], "PENDING");
    // 28 February at local midnight: locked, waiting for its statement.
    app.set_time("2027-02-28T05:00:00Z".parse().unwrap());
    app.run_jobs().await;
    let locked = action(&app, &first).await;
    assert_eq!((locked["state"].as_str(), locked["stateDetail"].as_str()), (Some("APPROVED"), Some("PAYMENT_PENDING")));
    assert!(statements_of(&app, &app.brand_token).await.is_empty(), "February is not over");

    // 1 March in New York: February is closed, so its locked actions are stated.
    app.set_time("2027-03-01T05:00:00Z".parse().unwrap());
    app.run_jobs().await;
    app.run_jobs().await;
    let statements = statements_of(&app, &app.brand_token).await;
    assert_eq!(statements.len(), 2, "one per partner: {statements:?}");
    let trail = statements.iter().find(|statement| statement["partnerId"] == 101).unwrap();
    assert_eq!(trail["statementDate"], "2027-03-01");
    assert_eq!(trail["scheduledPaymentDate"], "2027-03-20");
    assert_eq!((trail["dueDate"].as_str(), trail["status"].as_str()), (Some("2027-03-20"), Some("OPEN")));
    assert_eq!((trail["actions"].as_u64(), trail["payout"].as_str()), (Some(2), Some("12.00")));
    assert_eq!(action(&app, &second).await["statementId"], trail["statementId"]);

    // The partner sees its own statement only.
    let own = statements_of(&app, &app.partner_token).await;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["statementId"], trail["statementId"]);
    let id = trail["statementId"].as_str().unwrap().to_owned();
    let rival = statements.iter().find(|statement| statement["partnerId"] == 102).unwrap();
    let hidden = get(&app, &format!("statements/{}", rival["statementId"].as_str().unwrap()), &app.partner_token).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "statements?partner=102", &app.partner_token).await.status, StatusCode::NOT_FOUND);

    let csv = get(&app, &format!("statements/{id}?format=csv"), &app.brand_token).await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("statement_id,statement_date,partner_id,action_id"));
    let expected = format!("{first},1,JAN-1,2027-01-15T15:00:00Z,2027-02-28T05:00:00Z,USD,100.00,8.00\n");
    assert!(text.contains(&expected), "{text}");

    // Unpaid after its due date: overdue, and so are its actions.
    app.set_time("2027-03-21T05:00:00Z".parse().unwrap());
    assert_eq!(statements_of(&app, &app.partner_token).await[0]["status"], "OVERDUE");
    assert_eq!(action(&app, &first).await["stateDetail"], "OVERDUE");

    let paid_path = format!("/api/v1/programs/{PROGRAM}/statements/{id}/paid");
    let by_partner = app.api(Method::POST, &paid_path, Some(&app.partner_token), Some("{}")).await;
    assert_eq!(by_partner.status, StatusCode::FORBIDDEN);
    let paid =
        app.api(Method::POST, &paid_path, Some(&app.brand_token), Some(r#"{"reference": "wire 2027-031"}"#)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text());
    assert_eq!(
        (paid.json()["status"].as_str(), paid.json()["paymentReference"].as_str()),
        (Some("PAID"), Some("wire 2027-031"))
    );
    assert_eq!(action(&app, &first).await["stateDetail"], "PAID");
    assert_eq!(action(&app, &other).await["stateDetail"], "OVERDUE", "another partner's statement is unpaid");
    let twice = app.api(Method::POST, &paid_path, Some(&app.brand_token), None).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_threshold_holds_statements_until_the_balance_reaches_it() {
    let app = documented_schedule().await;
    let path = format!("/api/v1/programs/{PROGRAM}/partners/101/withdrawal");
    let set = |body: &'static str| {
        let (app, path) = (&app, path.clone());
        async move { app.api(Method::PUT, &path, Some(&app.partner_token), Some(body)).await }
    };
    for (body, field) in [
        (r#"{"threshold": "19.99"}"#, "threshold"),
        (r#"{"threshold": "10000.01"}"#, "threshold"),
        (r#"{"threshold": 50}"#, "threshold"),
        (r#"{"fixedDay": 2}"#, "fixedDay"),
        (r#"{"threshold": "50", "fixedDay": 1}"#, "fixedDay"),
        (r#"{"day": 1}"#, "day"),
    ] {
        let refused = set(body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(refused.error_message().contains(field), "{body}: {}", refused.text());
    }
    let other = app.api(Method::PUT, &path.replace("/101/", "/102/"), Some(&app.partner_token), Some("{}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "a partner sets only its own");
    let chosen = set(r#"{"threshold": "20.00"}"#).await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text());
    assert_eq!(chosen.json(), json!({"method": "THRESHOLD", "threshold": "20"}));

    // January earns 8.00, February 16.00: January's statement waits for February's.
    app.set_time("2027-01-15T15:00:00Z".parse().unwrap());
    order(&app, 101, "JAN-1", "100").await;
    app.set_time("2027-02-10T15:00:00Z".parse().unwrap());
    order(&app, 101, "FEB-1", "200").await;
    app.set_time("2027-03-01T05:00:00Z".parse().unwrap());
    app.run_jobs().await;
    let held = statements_of(&app, &app.partner_token).await;
    assert_eq!((held.len(), held[0]["status"].as_str(), held[0]["dueDate"].as_str()), (1, Some("HELD"), None));
    app.set_time("2027-04-01T04:00:00Z".parse().unwrap());
    app.run_jobs().await;
    let due = statements_of(&app, &app.partner_token).await;
    let statuses: Vec<(&str, &str)> =
        due.iter().map(|s| (s["status"].as_str().unwrap(), s["dueDate"].as_str().unwrap())).collect();
    assert_eq!(statuses, [("OPEN", "2027-04-20"), ("OPEN", "2027-04-20")], "both due with the one that reached 20");

    let fixed = app.api(Method::PUT, &path, Some(&app.brand_token), Some(r#"{"fixedDay": 15}"#)).await;
    assert_eq!(fixed.json(), json!({"method": "FIXED_DAY", "fixedDay": 15}));
    let read = get(&app, "partners/101/withdrawal", &app.partner_token).await.json();
    assert_eq!(read["fixedDay"], 15);
    let on_fifteenth = statements_of(&app, &app.partner_token).await;
    assert_eq!(on_fifteenth[0]["dueDate"], "2027-04-15", "from 20 March to the next 15th");
    assert_eq!(on_fifteenth[1]["dueDate"], "2027-05-15");
}
