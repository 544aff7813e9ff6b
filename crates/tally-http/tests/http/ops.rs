//! `/healthz`, `/readyz` and `/metrics`.

use axum::http::{StatusCode, header};

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let app = TestApp::spawn().await;

    let health = app.get("/healthz").await;
    let ready = app.get("/readyz").await;

    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(app.click_count().await, 0, "probes are not clicks");
}

#[tokio::test]
async fn metrics_count_recorded_clicks_edge_answers_and_batches() {
    let app = TestApp::spawn().await;
    app.get("/c/101/1/1000").await.location();
    app.get("/i/101/1/1000").await;
    app.get("/c/999/1/1000").await.assert_not_found_page();

    let response = app.get("/metrics").await;

    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header(header::CONTENT_TYPE).unwrap().contains("text"));
    let text = response.text();
    for expected in [
        "tally_clicks_recorded_total{source=\"link\"} 1",
        "tally_clicks_recorded_total{source=\"impression\"} 1",
        "tally_edge_answers_total{outcome=\"redirect\"} 1",
        "tally_edge_answers_total{outcome=\"impression\"} 1",
        "tally_edge_answers_total{outcome=\"not_found\"} 1",
        "tally_click_batch_size_count 2",
        "tally_click_commit_seconds_count 2",
        "tally_click_commit_seconds_bucket",
    ] {
        assert!(text.lines().any(|line| line.starts_with(expected)), "{expected} missing from:\n{text}");
    }
}
