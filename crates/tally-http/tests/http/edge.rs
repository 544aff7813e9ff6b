//! `/c/` tracking links and `/i/` impressions: the redirect, the tracking template and
//! every field of the stored click.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use tally_app::secrets::Keyed;
use tally_core::click::{DeviceType, OwnerKind, TouchSource};
use tally_core::ids::{AdId, PartnerId, ProgramId};
use tally_http::EdgeSettings;

use crate::helpers::{DESKTOP_CHROME, IPHONE_SAFARI, KEY, TestApp, browser, small_program, start};

#[tokio::test]
async fn a_tracking_link_redirects_to_the_default_landing_page_with_the_click_id() {
    let app = TestApp::spawn().await;

    let response = app.get("/c/101/1/1000").await;

    let click_id = response.click_id();
    assert_eq!(response.location(), format!("https://www.acme.test/?irclickid={click_id}"));
    assert!(click_id.len() <= 64 && click_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(app.only_click().await.click_id.as_str(), click_id);
}

#[tokio::test]
async fn the_ads_own_landing_page_keeps_its_query_and_fragment() {
    let app = TestApp::spawn().await;

    let response = app.get("/c/101/2/1000").await;

    let click_id = response.click_id();
    assert_eq!(
        response.location(),
        format!("https://www.acme.test/sale/winter?season=winter&irclickid={click_id}#deals")
    );
}

#[tokio::test]
async fn a_custom_tracking_template_fills_every_token_and_fixed_value() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["program"]["tracking_template"] = json!(
        "irclickid={clickid}&pid={irpid}&ad={iradid}&cid={ircid}&sid={sharedid}&mp={irmpname}&utm_source=partners"
    );
    document["ads"][0]["landing_page"] = json!("https://shop.acme.test/tents?color=red#reviews");
    app.apply_as(&app.account_sid, &document).await;

    let response = app.get("/c/201/1/2000?sharedId=site%20one").await;

    let click_id = response.click_id();
    assert_eq!(
        response.location(),
        format!(
            "https://shop.acme.test/tents?color=red&irclickid={click_id}&pid=201&ad=1&cid=2000&sid=site+one\
             &mp=Small+Partner&utm_source=partners#reviews"
        )
    );
    let click = app.clicks_of(2000).await.remove(0);
    assert_eq!(click.landing_page, response.location());
}

#[tokio::test]
async fn the_click_is_stored_with_sub_ids_shared_id_and_the_browser_it_came_from() {
    let app = TestApp::spawn().await;
    let request =
        Request::get("/c/101/1/1000?SUBID1=summer%20post&subId2=sidebar&SubId3=x%2By&SHAREDID=site-7&other=1")
            .header(header::USER_AGENT, IPHONE_SAFARI)
            .header(header::REFERER, "https://blog.example/posts/42?ref=nav")
            .body(Body::empty())
            .unwrap();

    let response = app.send(request).await;

    let click = app.only_click().await;
    assert_eq!(click.click_id.as_str(), response.click_id());
    assert_eq!(click.at, start());
    assert_eq!((click.program, click.owner, click.owner_kind), (ProgramId(1000), PartnerId(101), OwnerKind::Partner));
    assert_eq!(click.ad, Some(AdId(1)));
    assert_eq!(click.source, TouchSource::Link);
    assert_eq!(click.sub_ids, [Some("summer post".into()), Some("sidebar".into()), Some("x+y".into())]);
    assert_eq!(click.shared_id.as_deref(), Some("site-7"));
    assert_eq!((click.device, click.os.as_str(), click.browser.as_str()), (DeviceType::Mobile, "iPhone", "Safari"));
    assert_eq!(click.user_agent, IPHONE_SAFARI);
    assert_eq!(click.referrer_url.as_deref(), Some("https://blog.example/posts/42?ref=nav"));
    assert_eq!(click.referrer_domain.as_deref(), Some("blog.example"));
    assert_eq!(click.landing_page, response.location());
    assert!(click.unique && !click.bot && !click.malformed && click.creditable);
}

#[tokio::test]
async fn a_desktop_chrome_is_recorded_as_a_desktop_chrome() {
    let app = TestApp::spawn().await;

    app.send(Request::get("/c/101/1/1000").header(header::USER_AGENT, DESKTOP_CHROME).body(Body::empty()).unwrap())
        .await
        .location();

    let click = app.only_click().await;
    assert_eq!((click.device, click.browser.as_str()), (DeviceType::Desktop, "Chrome"));
    assert!(click.os.starts_with("Windows"), "{}", click.os);
    assert!(!click.bot);
    assert_eq!(click.referrer_url, None);
}

#[tokio::test]
async fn the_client_address_is_stored_as_a_keyed_hash_never_raw() {
    let app = TestApp::spawn().await;
    let address: SocketAddr = "198.51.100.23:40000".parse().unwrap();
    let mut request = browser("/c/101/1/1000").header("x-forwarded-for", "192.0.2.99").body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(address));

    app.send(request).await.location();

    let click = app.only_click().await;
    let ip_hash = click.ip_hash.clone().expect("the address is hashed");
    assert_eq!(ip_hash, Keyed::new(KEY).ip_hash(&address.ip()), "the forwarded header is not trusted by default");
    let stored = format!("{click:?}");
    assert!(!stored.contains("198.51.100.23") && !stored.contains("192.0.2.99"), "{stored}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_hashed_and_cookies_are_secure() {
    let app = TestApp::spawn_with(EdgeSettings { trust_proxy_headers: true, ..EdgeSettings::default() }).await;
    let request = browser("/c/101/1/1000")
        .header("x-forwarded-for", "192.0.2.99, 10.0.0.1")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();

    let response = app.send(request).await;

    let forwarded: IpAddr = "192.0.2.99".parse().unwrap();
    assert_eq!(app.only_click().await.ip_hash, Some(Keyed::new(KEY).ip_hash(&forwarded)));
    for line in response.set_cookies() {
        assert!(line.contains("; Secure") && line.contains("SameSite=None"), "{line}");
    }
}

#[tokio::test]
async fn cookies_over_plain_http_are_not_marked_secure() {
    let app = TestApp::spawn().await;
    let request = browser("/c/101/1/1000").header("x-forwarded-proto", "https").body(Body::empty()).unwrap();

    let response = app.send(request).await;

    assert_eq!(response.set_cookies().len(), 2);
    for line in response.set_cookies() {
        assert!(!line.contains("Secure") && line.contains("SameSite=Lax"), "{line}");
    }
}

#[tokio::test]
async fn a_media_source_id_resolves_through_the_same_link_format() {
    let app = TestApp::spawn().await;

    app.get("/c/901/1/1000").await.location();

    let click = app.only_click().await;
    assert_eq!((click.owner, click.owner_kind), (PartnerId(901), OwnerKind::MediaSource));
    assert!(click.creditable, "media sources always take part");
}

#[tokio::test]
async fn partners_that_cannot_earn_still_land_but_their_clicks_are_not_creditable() {
    let app = TestApp::spawn().await;

    // 105 is inactive, 106 has no contract, 107's contract ended before the click.
    for partner in [105, 106, 107] {
        let response = app.get(&format!("/c/{partner}/1/1000")).await;
        assert!(response.location().starts_with("https://www.acme.test/?irclickid="), "{partner}");
    }
    app.get("/c/101/1/1000").await.location();

    let creditable: Vec<(u64, bool)> =
        app.clicks().await.iter().map(|click| (click.owner.0, click.creditable)).collect();
    assert_eq!(creditable, vec![(105, false), (106, false), (107, false), (101, true)]);
}

#[tokio::test]
async fn an_impression_answers_a_gif_and_is_stored_as_an_impression() {
    let app = TestApp::spawn().await;

    let response = app.get("/i/101/2/1000?subId1=banner-top").await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header(header::CONTENT_TYPE), Some("image/gif"));
    assert_eq!(response.header(header::CACHE_CONTROL), Some("no-store"));
    assert!(response.header(header::LOCATION).is_none());
    assert!(response.body.starts_with(b"GIF89a"));
    assert_eq!(response.set_cookies().len(), 2, "impressions join the browser's journey");
    let click = app.only_click().await;
    assert_eq!(click.source, TouchSource::Impression);
    assert_eq!((click.owner, click.ad), (PartnerId(101), Some(AdId(2))));
    assert_eq!(click.sub_ids[0].as_deref(), Some("banner-top"));
}

#[tokio::test]
async fn an_unknown_impression_is_a_404_and_stores_nothing() {
    let app = TestApp::spawn().await;

    app.get("/i/999/1/1000").await.assert_not_found_page();
    app.get("/i/101/1/1000/extra").await.assert_not_found_page();

    assert_eq!(app.click_count().await, 0);
}

#[tokio::test]
async fn a_head_request_is_answered_like_a_visit_but_records_nothing() {
    let app = TestApp::spawn().await;
    let head = |uri: &str| browser(uri).method(axum::http::Method::HEAD).body(Body::empty()).unwrap();

    let link = app.send(head("/c/101/1/1000?subId1=checker")).await;
    let impression = app.send(head("/i/101/2/1000")).await;
    let unknown = app.send(head("/c/999/1/1000")).await;

    assert_eq!(link.status, StatusCode::FOUND);
    assert!(link.location().starts_with("https://www.acme.test/?irclickid="), "{}", link.location());
    assert_eq!(impression.status, StatusCode::OK);
    assert_eq!(impression.header(header::CONTENT_TYPE), Some("image/gif"));
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for probe in [&link, &impression] {
        assert!(probe.set_cookies().is_empty(), "a probe is no visitor: no cookies");
        assert!(probe.body.is_empty(), "HEAD has no body");
    }
    assert_eq!(app.click_count().await, 0, "link checkers and previews are not clicks");
    assert_eq!(app.get("/c/101/1/1000").await.status, StatusCode::FOUND);
    assert_eq!(app.click_count().await, 1, "the GET after them is");
}

#[tokio::test]
async fn a_cdns_country_header_gives_the_click_its_country_when_configured() {
    let country_header = Some(header::HeaderName::from_static("cf-ipcountry"));
    let app = TestApp::spawn_with(EdgeSettings { country_header, ..EdgeSettings::default() }).await;
    for sent in ["de", "XX", "Germany"] {
        app.send(browser("/c/101/1/1000").header("cf-ipcountry", sent).body(Body::empty()).unwrap()).await.location();
    }
    let countries: Vec<Option<String>> = app.clicks().await.into_iter().map(|click| click.country).collect();
    assert_eq!(countries, [Some("DE".to_owned()), None, None], "XX is the CDN's unknown; a name is no code");

    // Without the setting the header is anyone's word, and ignored.
    let plain = TestApp::spawn().await;
    plain.send(browser("/c/101/1/1000").header("cf-ipcountry", "de").body(Body::empty()).unwrap()).await.location();
    assert_eq!(plain.only_click().await.country, None);
}
