//! Tally is never an open redirect: hostile deep links, sent through HTTP encoded and
//! raw, always land on the program's own pages.

use axum::body::Body;
use axum::http::Uri;

use crate::helpers::{TestApp, browser, encode};

/// Deep links that try to leave the permitted domains (`acme.test`, `*.acme.test`), each
/// a known trick: scheme-relative and backslash URLs, user info, script and data
/// schemes, look-alike suffixes, percent-encoded and internationalised hosts, double
/// encoding, and addresses.
const HOSTILE: &[&str] = &[
    "//evil.test/",
    "///evil.test/",
    "/\\evil.test",
    "\\\\evil.test",
    "https:evil.test",
    "https:/evil.test",
    "https:\\\\evil.test",
    "https:\\\\evil.test\\acme.test",
    "http://evil.test\\.acme.test/",
    "https://acme.test@evil.test/",
    "https://acme.test:443@evil.test/",
    "https://evil.test\\@acme.test/",
    "https://evil.test%2F@acme.test/",
    "https://evil.test%23@acme.test/",
    "https://user:password@acme.test/",
    "javascript:alert(1)",
    "javascript://acme.test/%0aalert(1)",
    "JaVaScRiPt:alert(document.domain)//acme.test",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://acme.test/",
    "https://acme.test.evil.test/",
    "https://ACME.TEST.evil.test/",
    "https://evilacme.test/",
    "https://acme.testevil.test/",
    "https://evil.test;acme.test/",
    "https://%65vil.test/",
    "https://%61cme.test.evil.test/",
    "https://acme%2etest.evil.test/",
    "https://acme.test%40evil.test/",
    "https://acme.test%E3%80%82evil.test/",
    "https://evil.test%00.acme.test/",
    "https://\u{430}cme.test/",
    "https://xn--e1awd7f.test/",
    "https://xn--cme-8cd.test/",
    "https%3A%2F%2Fevil.test%2F",
    "https%253A%252F%252Fevil.test",
    "https://evil.test#https://acme.test",
    "https://evil.test?https://acme.test",
    "https://evil.test/https://acme.test",
    "  https://evil.test/",
    "\thttps://evil.test/",
    "https://127.0.0.1/",
    "https://2130706433/",
    "https://[::1]/",
    "acme.test",
    "evil.test",
    "",
];

fn is_permitted_host(host: &str) -> bool {
    host == "acme.test" || host.ends_with(".acme.test")
}

async fn assert_lands_on_the_program(app: &TestApp, uri: &str, hostile: &str) {
    let before = app.click_count().await;
    let response = app.send(browser(uri).body(Body::empty()).unwrap()).await;

    let location = response.location_url();
    assert_eq!(location.scheme(), "https", "{hostile:?} -> {location}");
    assert!(is_permitted_host(location.host_str().unwrap_or("")), "{hostile:?} -> {location}");
    assert_eq!(location.host_str(), Some("www.acme.test"), "{hostile:?} must land on the default page");
    assert_eq!(location.path(), "/", "{hostile:?} -> {location}");
    assert!(location.username().is_empty() && location.password().is_none());
    assert!(!response.location().to_ascii_lowercase().contains("evil"), "{hostile:?} -> {location}");
    assert_eq!(app.click_count().await, before + 1, "{hostile:?}: the click is still recorded");
    let click = app.clicks().await.pop().unwrap();
    assert_eq!(click.landing_page, response.location());
    if !hostile.trim().is_empty() {
        assert!(click.malformed, "{hostile:?}: a refused deep link marks the click malformed");
    }
}

#[tokio::test]
async fn hostile_deep_links_sent_url_encoded_always_land_on_the_programs_own_page() {
    let app = TestApp::spawn().await;
    for hostile in HOSTILE {
        let uri = format!("/c/101/1/1000?subId1=x&u={}", encode(hostile));
        assert_lands_on_the_program(&app, &uri, hostile).await;
    }
}

#[tokio::test]
async fn hostile_deep_links_sent_raw_always_land_on_the_programs_own_page() {
    let app = TestApp::spawn().await;
    let mut sent = 0;
    for hostile in HOSTILE {
        let uri = format!("/c/101/1/1000?u={hostile}");
        // Some of them cannot even travel raw in a request line; those are covered encoded.
        if uri.parse::<Uri>().is_err() {
            continue;
        }
        assert_lands_on_the_program(&app, &uri, hostile).await;
        sent += 1;
    }
    assert!(sent > HOSTILE.len() / 2, "only {sent} hostile links could be sent raw");
}

#[tokio::test]
async fn hostile_deep_links_never_redirect_off_the_permitted_domains_even_from_an_ad_page() {
    let app = TestApp::spawn().await;
    for hostile in HOSTILE {
        let response = app.get(&format!("/c/101/2/1000?u={}", encode(hostile))).await;
        let location = response.location_url();
        assert_eq!(location.host_str(), Some("www.acme.test"), "{hostile:?} -> {location}");
        assert_eq!(location.path(), "/sale/winter", "{hostile:?} -> {location}");
    }
}

#[tokio::test]
async fn the_permitted_domain_rule_still_follows_real_subdomains() {
    // The control case for the table above: the same machinery does follow what it should.
    let app = TestApp::spawn().await;
    for (deep_link, host) in [
        ("https://acme.test/a", "acme.test"),
        ("https://www.acme.test/a", "www.acme.test"),
        ("http://a.b.ACME.test/a", "a.b.acme.test"),
        ("https://shop.acme.test:8443/a", "shop.acme.test"),
    ] {
        let location = app.get(&format!("/c/101/1/1000?u={}", encode(deep_link))).await.location_url();
        assert_eq!(location.host_str(), Some(host), "{deep_link}");
        assert_eq!(location.path(), "/a");
    }
    assert!(app.clicks().await.iter().all(|click| !click.malformed));
}
