//! Rate limits on the management APIs (SPEC §11): `X-RateLimit-*` on every answer,
//! `429` past the limit, per credential; conversions in and the edge never limited.

use axum::http::{Method, StatusCode, header};
use serde_json::json;
use tally_core::rate_limit::RateLimit;

use crate::conversions::{basic_get, click};
use crate::helpers::{PROGRAM, TestApp, minutes_after_start};

#[tokio::test]
async fn a_caller_past_its_limit_gets_429_until_the_minute_turns() {
    let app = TestApp::spawn_with_rate_limit(RateLimit { requests: 3, window_ms: 60_000 }).await;
    let path = format!("/api/v1/programs/{PROGRAM}/actions");
    let get = |token: String| {
        let (app, path) = (&app, path.clone());
        async move { app.api(Method::GET, &path, Some(&token), None).await }
    };
    for remaining in ["2", "1", "0"] {
        let answer = get(app.brand_token.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        assert_eq!(answer.header(header::HeaderName::from_static("x-ratelimit-limit")), Some("3"));
        assert_eq!(answer.header(header::HeaderName::from_static("x-ratelimit-remaining")), Some(remaining));
        assert_eq!(answer.header(header::HeaderName::from_static("x-ratelimit-reset")), Some("60"));
    }
    let refused = get(app.brand_token.clone()).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    assert_eq!(refused.error_code(), "rate_limited");
    assert_eq!(refused.header(header::RETRY_AFTER), Some("60"));

    // Another credential counts apart; the compatible reads count too.
    assert_eq!(get(app.partner_token.clone()).await.status, StatusCode::OK);
    let listing = format!("/Advertisers/{}/Actions", app.account_sid);
    for _ in 0..3 {
        assert_eq!(basic_get(&app, &listing).await.status, StatusCode::OK);
    }
    assert_eq!(basic_get(&app, &listing).await.status, StatusCode::TOO_MANY_REQUESTS);

    // Conversions in and clicks are never limited.
    for n in 0..5 {
        let click_id = click(&app, 101).await;
        let body = json!({"eventTypeId": 1, "eventDate": "NOW", "orderId": format!("RL-{n}"), "clickId": click_id,
                          "currencyCode": "USD", "amount": "10"});
        let path = format!("/api/v1/programs/{PROGRAM}/conversions");
        let sent = app.api(Method::POST, &path, Some(&app.brand_token), Some(&body.to_string())).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
        assert!(sent.header(header::HeaderName::from_static("x-ratelimit-limit")).is_none());
    }

    app.set_time(minutes_after_start(1));
    assert_eq!(get(app.brand_token.clone()).await.status, StatusCode::OK, "a new minute, a new allowance");
}
