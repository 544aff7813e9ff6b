//! Links to unknown programs, partners or ads answer a plain 404 page, never a
//! redirect, and store nothing.

use crate::helpers::TestApp;

#[tokio::test]
async fn links_to_unknown_or_malformed_ids_answer_a_404_page_and_store_nothing() {
    let app = TestApp::spawn().await;
    let unknown = [
        "/c/101/1/999",
        "/c/999/1/1000",
        "/c/101/99/1000",
        "/c/abc/1/1000",
        "/c/101/x/1000",
        "/c/101/1/program",
        "/c/0/1/1000",
        "/c/101/0/1000",
        "/c/101/1/0",
        "/c/1/1/99999999999999999999",
        "/c/101/1/1000000000000",
        "/c/-101/1/1000",
        "/c/+101/1/1000",
        "/c/101.0/1/1000",
        "/c/0101/1/01000x",
        "/c/%31%30%31/1/1000",
        "/c/101/1/1000/extra",
        "/c/101/1/1000/",
        "/c/101/1",
        "/c/101",
        "/c/",
        "/c//1/1000",
        "/i/101/1/999",
        "/i/101/1",
    ];

    for uri in unknown {
        let response = app.get(uri).await;
        assert_eq!(response.status, 404, "{uri}");
        response.assert_not_found_page();
    }

    assert_eq!(app.click_count().await, 0);
}

#[tokio::test]
async fn a_media_source_id_cannot_be_reached_through_another_program() {
    let app = TestApp::spawn().await;
    app.apply_as(&app.account_sid, &crate::helpers::small_program(2000)).await;

    app.get("/c/901/1/2000").await.assert_not_found_page();
    app.get("/c/201/1/1000").await.assert_not_found_page();

    assert_eq!(app.click_count().await, 0);
    assert!(app.clicks_of(2000).await.is_empty());
}

#[tokio::test]
async fn the_api_namespace_never_falls_through_to_the_edge() {
    let app = TestApp::spawn().await;

    let response = app.get_on_host("go.acme.test", "/api/v1/trailblog").await;

    assert_eq!(response.status, 404);
    assert_eq!(response.error_code(), "not_found");
    assert_eq!(app.click_count().await, 0);
}
