//! Vanity links and unique URLs, matched by the request's `Host`.

use axum::body::Body;
use axum::http::{Method, header};
use tally_core::click::TouchSource;
use tally_core::ids::{AdId, PartnerId};

use crate::helpers::{TestApp, browser, encode};

#[tokio::test]
async fn a_vanity_link_lands_on_its_deep_link_with_its_preset_sub_ids() {
    let app = TestApp::spawn().await;

    let response = app.get_on_host("go.acme.test", "/trailblog").await;

    let click_id = response.click_id();
    assert_eq!(response.location(), format!("https://www.acme.test/hiking?irclickid={click_id}"));
    let click = app.only_click().await;
    assert_eq!(click.source, TouchSource::Vanity);
    assert_eq!((click.owner, click.ad), (PartnerId(101), Some(AdId(1))));
    assert_eq!(click.sub_ids, [Some("vanity-1".into()), Some("print".into()), None]);
    assert_eq!(click.shared_id.as_deref(), Some("podcast-ep-12"));
    assert_eq!(click.click_id.as_str(), click_id);
    assert!(click.unique && !click.malformed && click.creditable);
}

#[tokio::test]
async fn vanity_paths_match_whatever_the_case_trailing_slash_or_port() {
    let app = TestApp::spawn().await;

    for (host, path) in [
        ("go.acme.test", "/TrailBlog"),
        ("go.acme.test", "/trailblog/"),
        ("GO.ACME.TEST", "/TRAILBLOG/"),
        ("go.acme.test:8080", "/trailblog"),
        ("go.acme.test.", "/trailblog"),
    ] {
        let response = app.get_on_host(host, path).await;
        assert!(response.location().starts_with("https://www.acme.test/hiking?irclickid="), "{host}{path}");
    }
    assert!(app.clicks().await.iter().all(|click| click.source == TouchSource::Vanity));
}

#[tokio::test]
async fn a_vanity_link_keeps_its_presets_over_the_query_and_fills_the_rest_from_it() {
    let app = TestApp::spawn().await;

    let response = app.get_on_host("go.acme.test", "/trailblog?subId1=override&subId3=episode-3&sharedId=other").await;

    response.location();
    let click = app.only_click().await;
    assert_eq!(click.sub_ids, [Some("vanity-1".into()), Some("print".into()), Some("episode-3".into())]);
    assert_eq!(click.shared_id.as_deref(), Some("podcast-ep-12"));
}

#[tokio::test]
async fn a_vanity_link_never_follows_a_deep_link_from_the_query() {
    let app = TestApp::spawn().await;

    let response = app.get_on_host("go.acme.test", &format!("/trailblog?u={}", encode("https://evil.test/"))).await;

    assert!(response.location().starts_with("https://www.acme.test/hiking?irclickid="), "{}", response.location());
}

#[tokio::test]
async fn a_vanity_path_on_a_host_that_is_not_a_tracking_domain_is_a_404() {
    let app = TestApp::spawn().await;

    app.get_on_host("unknown.test", "/trailblog").await.assert_not_found_page();
    app.get_on_host("acme.test", "/trailblog").await.assert_not_found_page();
    app.get_on_host("go.acme.test", "/trailblog/extra").await.assert_not_found_page();
    app.get_on_host("go.acme.test", "/nothing-here").await.assert_not_found_page();
    app.get("/trailblog").await.assert_not_found_page();

    assert_eq!(app.click_count().await, 0);
}

#[tokio::test]
async fn a_vanity_path_answers_only_get() {
    let app = TestApp::spawn().await;

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let request = browser("/trailblog").method(method).header(header::HOST, "go.acme.test").body(Body::empty());
        app.send(request.unwrap()).await.assert_not_found_page();
    }

    assert_eq!(app.click_count().await, 0);
}

#[tokio::test]
async fn a_unique_url_in_use_is_recorded_as_a_unique_url_click_of_its_partner() {
    let app = TestApp::spawn().await;

    let response = app.get_on_host("get-acme.test", "/").await;

    let click_id = response.click_id();
    assert_eq!(response.location(), format!("https://www.acme.test/offline?irclickid={click_id}"));
    let click = app.only_click().await;
    assert_eq!(click.source, TouchSource::UniqueUrl);
    assert_eq!((click.owner, click.ad), (PartnerId(102), None));
    assert_eq!(response.set_cookies().len(), 2);
}

#[tokio::test]
async fn a_quarantined_unique_url_lands_on_the_default_page_without_recording_anything() {
    let app = TestApp::spawn().await;

    let response = app.get_on_host("old-acme.test", "/").await;

    assert_eq!(response.location(), "https://www.acme.test/");
    assert_eq!(app.click_count().await, 0);
}

#[tokio::test]
async fn an_unknown_path_on_a_unique_url_host_is_a_404() {
    let app = TestApp::spawn().await;

    app.get_on_host("get-acme.test", "/anything").await.assert_not_found_page();

    assert_eq!(app.click_count().await, 0);
}
