//! The redirect is sent only once its click is durably stored: a click the store
//! refuses is answered 503, never a redirect.

use axum::http::{StatusCode, header};

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

#[tokio::test]
async fn a_click_that_cannot_be_stored_is_answered_503_and_never_redirected() {
    let app = TestApp::spawn().await;
    refuse_clicks(&app);

    let refused = app.get("/c/101/1/1000").await;
    let refused_vanity = app.get_on_host("go.acme.test", "/trailblog").await;
    let refused_pixel = app.get("/i/101/1/1000").await;

    for response in [&refused, &refused_vanity, &refused_pixel] {
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{response:?}");
        assert!(response.header(header::LOCATION).is_none());
        assert_eq!(response.header(header::RETRY_AFTER), Some("1"));
        assert_eq!(response.header(header::CACHE_CONTROL), Some("no-store"));
        assert!(response.set_cookies().is_empty());
    }
    assert_eq!(app.click_count().await, 0);
    let metrics = app.get("/metrics").await.text();
    assert!(metrics.contains("tally_edge_answers_total{outcome=\"unavailable\"} 3"), "{metrics}");
    assert!(metrics.contains("tally_click_batch_failures_total 3"), "{metrics}");
}

#[tokio::test]
async fn the_edge_recovers_as_soon_as_the_store_accepts_clicks_again() {
    let app = TestApp::spawn().await;
    refuse_clicks(&app);
    assert_eq!(app.get("/c/101/1/1000").await.status, StatusCode::SERVICE_UNAVAILABLE);

    accept_clicks(&app);
    let response = app.get("/c/101/1/1000").await;

    assert_eq!(app.only_click().await.click_id.as_str(), response.click_id());
}
