//! The compatible API's action listing (SPEC §8): `GET /Advertisers/{SID}/Actions` in
//! the documented shape and paging envelope, filtered, newest first.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::actions::compatible_delete;
use crate::conversions::{basic_get, click, queued, s2s, sale};
use crate::helpers::{TestApp, TestResponse};

/// Makes `count` credited orders a minute apart; returns their action ids, oldest first.
async fn orders(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        app.advance_minutes(1);
        let click_id = click(app, 101).await;
        let order = format!("L-{n}");
        let mut fields = sale(&click_id, &order);
        fields.push(("Amount", "25"));
        ids.push(queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned());
    }
    ids
}

async fn listing(app: &TestApp, query: &str) -> TestResponse {
    basic_get(app, &format!("/Advertisers/{}/Actions{query}", app.account_sid)).await
}

fn ids(page: &Value) -> Vec<String> {
    page["Actions"].as_array().unwrap().iter().map(|action| action["Id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn paging_through_the_listing_returns_every_action_once_newest_first() {
    let app = TestApp::spawn().await;
    let made = orders(&app, 23).await;

    let mut seen = Vec::new();
    let mut uri = format!("/Advertisers/{}/Actions.json?CampaignId=1000&PageSize=5", app.account_sid);
    let mut pages = 0;
    while !uri.is_empty() {
        let page = basic_get(&app, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let body = page.json();
        pages += 1;
        assert_eq!((body["@total"].as_str(), body["@numpages"].as_str()), (Some("23"), Some("5")));
        assert_eq!(body["@page"], pages.to_string());
        seen.extend(ids(&body));
        uri = body["@nextpageuri"].as_str().unwrap().to_owned();
    }
    assert_eq!(pages, 5);
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first, "every action once, newest first");

    let first = listing(&app, "").await.json();
    let action = &first["Actions"][0];
    assert_eq!(action["Id"], made[22]);
    for field in ["CampaignId", "ActionTrackerId", "MediaPartnerId", "State", "Amount", "Payout", "Oid", "EventDate"] {
        assert!(action.get(field).is_some(), "{field} in {action}");
    }
    assert_eq!((action["Amount"].as_str(), action["Currency"].as_str()), (Some("25.00"), Some("USD")));
    assert!(action.get("SubId1").is_none(), "sub ids are for partners only");
}

#[tokio::test]
async fn the_listing_filters_by_state_and_dates() {
    let app = TestApp::spawn().await;
    let made = orders(&app, 6).await;
    let reversal = format!("ActionId={}&DispositionCode=ITEM_RETURNED", made[1]);
    assert_eq!(compatible_delete(&app, &reversal).await.status, StatusCode::OK);

    let reversed = listing(&app, "?State=REVERSED").await.json();
    assert_eq!(ids(&reversed), vec![made[1].clone()]);
    let pending = listing(&app, "?State=pending").await.json();
    assert_eq!(pending["@total"], "5");

    let all = listing(&app, "").await.json();
    let event_date = |index: usize| {
        let id = &made[index];
        let action = all["Actions"].as_array().unwrap().iter().find(|action| action["Id"] == *id).unwrap();
        action["EventDate"].as_str().unwrap().to_owned()
    };
    let window = format!("?ActionDateStart={}&ActionDateEnd={}", event_date(2), event_date(4));
    let between: HashSet<String> = ids(&listing(&app, &window).await.json()).into_iter().collect();
    assert_eq!(between, made[2..=4].iter().cloned().collect(), "both ends are inclusive");
}

#[tokio::test]
async fn bad_listing_requests_get_a_precise_error() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("?Colour=red", "Colour"),
        ("?State=LOST", "State"),
        ("?PageSize=0", "PageSize"),
        ("?Page=x", "Page"),
        ("?ActionDateStart=yesterday", "ActionDateStart"),
        ("?ActionDateStart=2026-03-02T00:00:00Z&ActionDateEnd=2026-03-01T00:00:00Z", "ActionDateEnd"),
    ] {
        let response = listing(&app, query).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.json()["errors"][0]["field"], field, "{query}");
    }
    assert_eq!(listing(&app, "?CampaignId=4242").await.status, StatusCode::NOT_FOUND);
    let (rival_sid, _) = app.other_account().await;
    let stranger = basic_get(&app, &format!("/Advertisers/{rival_sid}/Actions")).await;
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED, "another account's listing needs its own token");
}
