//! The redirect is sent only once its click is durable in the click journal; the
//! store may refuse clicks for a while without costing a redirect or a click, and a
//! journal that can take no more answers 503, never a redirect.

use std::time::Duration;

use axum::http::{StatusCode, header};
use tally_http::EdgeSettings;

use crate::helpers::TestApp;

fn refuse_clicks(app: &TestApp) {
    let connection = rusqlite::Connection::open(app.database_path()).unwrap();
    connection
        .execute_batch(
            "CREATE TRIGGER refuse_clicks BEFORE INSERT ON click BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
}

fn accept_clicks(app: &TestApp) {
    let connection = rusqlite::Connection::open(app.database_path()).unwrap();
    connection.execute_batch("DROP TRIGGER refuse_clicks;").unwrap();
}

async fn stored_now(app: &TestApp) -> i64 {
    app.store.count_clicks(tally_core::ids::ProgramId(crate::helpers::PROGRAM)).await.unwrap()
}

#[tokio::test]
async fn clicks_the_store_refuses_are_still_answered_and_loaded_once_it_accepts_them() {
    let app = TestApp::spawn().await;
    refuse_clicks(&app);

    let link = app.get("/c/101/1/1000").await;
    let vanity = app.get_on_host("go.acme.test", "/trailblog").await;
    let pixel = app.get("/i/101/1/1000").await;

    assert_eq!(link.status, StatusCode::FOUND);
    assert_eq!(vanity.status, StatusCode::FOUND);
    assert_eq!(pixel.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored_now(&app).await, 0, "the store refuses for now");
    let metrics = app.get("/metrics").await.text();
    assert!(metrics.contains("tally_click_log_backlog 3"), "{metrics}");

    accept_clicks(&app);

    let clicks = app.clicks().await;
    assert_eq!(clicks.len(), 3, "each answered click loaded exactly once: {clicks:#?}");
    assert_eq!(clicks[0].click_id.as_str(), link.click_id());
    let metrics = app.get("/metrics").await.text();
    assert!(!metrics.contains("tally_click_load_failures_total 0"), "{metrics}");
}

#[tokio::test]
async fn a_full_click_journal_answers_503_and_never_redirects() {
    let app = TestApp::spawn_with_backlog(EdgeSettings::default(), 2).await;
    refuse_clicks(&app);
    assert_eq!(app.get("/c/101/1/1000").await.status, StatusCode::FOUND);
    assert_eq!(app.get("/c/102/1/1000").await.status, StatusCode::FOUND);

    let refused = app.get("/c/101/2/1000").await;
    let refused_vanity = app.get_on_host("go.acme.test", "/trailblog").await;
    let refused_pixel = app.get("/i/101/1/1000").await;

    for response in [&refused, &refused_vanity, &refused_pixel] {
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{response:?}");
        assert!(response.header(header::LOCATION).is_none());
        assert_eq!(response.header(header::RETRY_AFTER), Some("1"));
        assert_eq!(response.header(header::CACHE_CONTROL), Some("no-store"));
        assert!(response.set_cookies().is_empty());
    }
    let metrics = app.get("/metrics").await.text();
    assert!(metrics.contains("tally_edge_answers_total{outcome=\"unavailable\"} 3"), "{metrics}");
    assert!(metrics.contains("tally_click_batch_failures_total 3"), "{metrics}");

    accept_clicks(&app);
    assert_eq!(app.click_count().await, 2, "the two answered clicks, and only those");
    let response = app.get("/c/101/1/1000").await;
    assert_eq!(response.status, StatusCode::FOUND, "room again once the store took the backlog");
    assert_eq!(app.click_count().await, 3);
}
