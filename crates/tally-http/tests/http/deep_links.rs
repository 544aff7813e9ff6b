//! The `u` deep link: followed only where the program, the ad and the permitted
//! domains all allow it.

use serde_json::json;

use crate::helpers::{TestApp, encode, small_program};

#[tokio::test]
async fn a_raw_deep_link_to_a_permitted_subdomain_is_followed() {
    let app = TestApp::spawn().await;

    let response = app.get("/c/101/1/1000?subId1=a&u=https://shop.acme.test/tents/4p?color=red").await;

    let click_id = response.click_id();
    assert_eq!(response.location(), format!("https://shop.acme.test/tents/4p?color=red&irclickid={click_id}"));
    let click = app.only_click().await;
    assert!(!click.malformed);
    assert_eq!(click.landing_page, response.location());
}

#[tokio::test]
async fn a_url_encoded_deep_link_keeps_its_query_and_fragment() {
    let app = TestApp::spawn().await;
    let deep_link = "https://acme.test/boots?size=42&color=brown#fit";

    let response = app.get(&format!("/c/101/2/1000?u={}", encode(deep_link))).await;

    let click_id = response.click_id();
    assert_eq!(response.location(), format!("https://acme.test/boots?size=42&color=brown&irclickid={click_id}#fit"));
    assert!(!app.only_click().await.malformed);
}

#[tokio::test]
async fn a_deep_link_encoded_twice_is_judged_by_its_real_host() {
    let app = TestApp::spawn().await;
    let twice = encode(&encode("https://www.acme.test/jackets"));

    let response = app.get(&format!("/c/101/1/1000?u={twice}")).await;

    assert!(response.location().starts_with("https://www.acme.test/jackets?irclickid="), "{}", response.location());
}

#[tokio::test]
async fn a_deep_link_to_a_host_that_is_not_permitted_lands_on_the_ad_page_and_is_malformed() {
    let app = TestApp::spawn().await;

    let on_ad = app.get(&format!("/c/101/2/1000?u={}", encode("https://evil.test/tents"))).await;
    let on_default = app.get(&format!("/c/102/1/1000?u={}", encode("https://evil.test/tents"))).await;

    assert!(on_ad.location().starts_with("https://www.acme.test/sale/winter?season=winter&irclickid="));
    assert!(on_default.location().starts_with("https://www.acme.test/?irclickid="));
    let malformed: Vec<bool> = app.clicks().await.iter().map(|click| click.malformed).collect();
    assert_eq!(malformed, vec![true, true]);
}

#[tokio::test]
async fn an_ad_that_switches_deep_linking_off_ignores_even_a_permitted_deep_link() {
    let app = TestApp::spawn().await;

    let response = app.get(&format!("/c/101/4/1000?u={}", encode("https://www.acme.test/tents"))).await;

    assert!(response.location().starts_with("https://www.acme.test/podcast?irclickid="), "{}", response.location());
    assert!(app.only_click().await.malformed);
}

#[tokio::test]
async fn a_program_without_deep_linking_ignores_deep_links_even_where_the_ad_allows_them() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["program"]["deep_linking"] = json!(false);
    document["ads"] = json!([
        {"id": 1, "name": "Text link", "type": "TEXT_LINK"},
        {"id": 2, "name": "Eager ad", "type": "TEXT_LINK", "deep_linking": true}
    ]);
    app.apply_as(&app.account_sid, &document).await;

    for ad in [1, 2] {
        let response = app.get(&format!("/c/201/{ad}/2000?u={}", encode("https://www.acme.test/tents"))).await;
        assert!(response.location().starts_with("https://shop.acme.test/?irclickid="), "{}", response.location());
    }
    assert!(app.clicks_of(2000).await.iter().all(|click| click.malformed));
}

#[tokio::test]
async fn each_ad_can_switch_deep_linking_off_for_itself() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["ads"] = json!([
        {"id": 1, "name": "Text link", "type": "TEXT_LINK", "deep_linking": false},
        {"id": 2, "name": "Product link", "type": "PRODUCT", "deep_linking": true}
    ]);
    app.apply_as(&app.account_sid, &document).await;
    let deep_link = encode("https://www.acme.test/tents");

    let off = app.get(&format!("/c/201/1/2000?u={deep_link}")).await;
    let on = app.get(&format!("/c/201/2/2000?u={deep_link}")).await;

    assert!(off.location().starts_with("https://shop.acme.test/?irclickid="));
    assert!(on.location().starts_with("https://www.acme.test/tents?irclickid="));
}

#[tokio::test]
async fn a_deep_link_on_an_impression_is_never_a_redirect() {
    let app = TestApp::spawn().await;

    let response = app.get(&format!("/i/101/1/1000?u={}", encode("https://www.acme.test/tents"))).await;

    assert!(response.header(axum::http::header::LOCATION).is_none());
    assert_eq!(app.click_count().await, 1);
}

#[tokio::test]
async fn a_deep_link_cannot_bring_its_own_click_id() {
    let app = TestApp::spawn().await;

    let response =
        app.get(&format!("/c/101/1/1000?u={}", encode("https://www.acme.test/p?irclickid=FORGED&x=1"))).await;

    let click_ids: Vec<String> = response
        .location_url()
        .query_pairs()
        .filter(|(name, _)| name == "irclickid")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(click_ids, vec![app.only_click().await.click_id.to_string()]);
    assert_eq!(response.location_param("x").as_deref(), Some("1"));
}

#[tokio::test]
async fn a_deep_link_cannot_smuggle_a_click_id_under_an_encoded_name() {
    let app = TestApp::spawn().await;
    let smuggling = "https://www.acme.test/p?irclick%69d=FORGED";

    let response = app.get(&format!("/c/101/1/1000?u={}", encode(smuggling))).await;

    let click_ids: Vec<String> = response
        .location_url()
        .query_pairs()
        .filter(|(name, _)| name == "irclickid")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(click_ids, vec![app.only_click().await.click_id.to_string()], "{}", response.location());
}
