//! Bad input at the edge never answers 500, never panics and never stores half a
//! click: the shopper lands on a safe page and the click says what was wrong.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};

use crate::helpers::{DESKTOP_CHROME, TestApp, browser, encode};

#[tokio::test]
async fn an_oversized_query_lands_on_the_default_page_and_marks_the_click_malformed() {
    let app = TestApp::spawn().await;
    let padding = "p".repeat(8 * 1024);
    let uri = format!("/c/101/1/1000?subId1=kept&u={}&pad={padding}", encode("https://shop.acme.test/x"));

    let response = app.get(&uri).await;

    assert!(response.location().starts_with("https://www.acme.test/?irclickid="));
    let click = app.only_click().await;
    assert!(click.malformed);
    assert_eq!(click.sub_ids, [None, None, None], "nothing is read from an oversized query");
}

#[tokio::test]
async fn sub_ids_that_are_not_utf8_or_too_long_are_dropped_and_marked() {
    let app = TestApp::spawn().await;
    let exactly_255 = "é".repeat(255);
    let too_long = "x".repeat(256);
    let uri =
        format!("/c/101/1/1000?subId1=%FF%FE&subId2={too_long}&subId3={}&sharedId=line%0Abreak", encode(&exactly_255));

    let response = app.get(&uri).await;

    assert!(response.location().starts_with("https://www.acme.test/?irclickid="));
    let click = app.only_click().await;
    assert!(click.malformed);
    assert_eq!(click.sub_ids, [None, None, Some(exactly_255)]);
    assert_eq!(click.shared_id, None);
}

#[tokio::test]
async fn well_formed_sub_ids_do_not_mark_the_click() {
    let app = TestApp::spawn().await;

    app.get(&format!("/c/101/1/1000?subId1={}&subId2=100%25", encode("naïve, \"quoted\" & more"))).await.location();

    let click = app.only_click().await;
    assert!(!click.malformed);
    assert_eq!(click.sub_ids[0].as_deref(), Some("naïve, \"quoted\" & more"));
    assert_eq!(click.sub_ids[1].as_deref(), Some("100%"));
}

#[tokio::test]
async fn a_huge_user_agent_is_stored_cut_to_512_bytes() {
    let app = TestApp::spawn().await;
    let user_agent = format!("{DESKTOP_CHROME} {}", "x".repeat(2048));

    let request = Request::get("/c/101/1/1000").header(header::USER_AGENT, user_agent.as_str()).body(Body::empty());
    app.send(request.unwrap()).await.location();

    let click = app.only_click().await;
    assert_eq!(click.user_agent.len(), 512);
    assert!(user_agent.starts_with(&click.user_agent));
    assert_eq!(click.browser, "Chrome", "the agent is parsed whole before it is cut");
}

#[tokio::test]
async fn a_huge_referrer_is_stored_cut() {
    let app = TestApp::spawn().await;
    let referrer = format!("https://blog.example/{}", "r".repeat(10_000));

    let request = browser("/c/101/1/1000").header(header::REFERER, referrer.as_str()).body(Body::empty());
    app.send(request.unwrap()).await.location();

    let click = app.only_click().await;
    let stored = click.referrer_url.unwrap();
    assert!(stored.len() <= 2048 && referrer.starts_with(&stored), "{}", stored.len());
    assert_eq!(click.referrer_domain.as_deref(), Some("blog.example"));
}

#[tokio::test]
async fn header_bytes_that_are_not_utf8_never_break_the_click() {
    let app = TestApp::spawn().await;
    let request = Request::get("/c/101/1/1000")
        .header(header::USER_AGENT, HeaderValue::from_bytes(b"Mozilla/5.0 (\xff\xfe\xc3) Chrome/131").unwrap())
        .header(header::REFERER, HeaderValue::from_bytes(b"https://blog.example/\xe9t\xe9").unwrap())
        .header(header::COOKIE, HeaderValue::from_bytes(b"tally_vid=\xff\xff; tally_ses=\xfe").unwrap())
        .body(Body::empty())
        .unwrap();

    let response = app.send(request).await;

    assert!(response.location().starts_with("https://www.acme.test/?irclickid="));
    let click = app.only_click().await;
    assert!(click.user_agent.len() <= 512);
    assert!(click.referrer_url.as_deref().is_none_or(|url| url.starts_with("https://blog.example/")));
    assert!(click.referrer_domain.as_deref().is_none_or(|domain| domain == "blog.example"));
    assert_eq!(click.visitor.as_str(), response.cookie_value("tally_vid"), "a fresh visitor id");
}

#[tokio::test]
async fn a_user_agent_in_utf8_is_kept_and_read_as_the_browser_it_names() {
    let app = TestApp::spawn().await;
    let agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                 Version/17.5 Mobile/15E148 Safari/604.1 Räksmörgås/1.0";
    let request = Request::get("/c/101/1/1000")
        .header(header::USER_AGENT, HeaderValue::from_bytes(agent.as_bytes()).unwrap())
        .body(Body::empty())
        .unwrap();

    app.send(request).await;

    let click = app.only_click().await;
    assert_eq!(click.user_agent, agent);
    assert!(!click.bot, "a real phone with a non-ASCII token is not a bot");
}

#[tokio::test]
async fn garbage_cookies_cost_the_session_never_the_click() {
    let app = TestApp::spawn().await;
    let garbage = [
        "tally_vid=<script>alert(1)</script>; tally_ses=garbage",
        "tally_ses=:::; tally_vid=",
        "tally_ses=a:b:c~1.2.3.4~x; tally_vid=a b",
        "=; ;;; tally_vid; tally_ses",
        "tally_ses=AAAA:1000.101.abc.99999999999999999999999",
        "tally_vid=\"quoted\"; tally_ses=%00",
    ];
    let huge = format!("other={}; tally_ses=x", "c".repeat(10_000));

    for cookie in garbage.iter().copied().chain([huge.as_str()]) {
        let response = app.get_with_cookies("/c/101/1/1000", cookie).await;
        assert!(response.location().starts_with("https://www.acme.test/?irclickid="), "{cookie}");
        let visitor = response.cookie_value("tally_vid");
        assert!(visitor.len() >= 16 && visitor.bytes().all(|b| b.is_ascii_alphanumeric()), "{cookie} -> {visitor}");
    }

    let clicks = app.clicks().await;
    assert_eq!(clicks.len(), garbage.len() + 1);
    assert!(clicks.iter().all(|click| click.unique));
}

#[tokio::test]
async fn odd_methods_and_paths_are_refused_without_a_click() {
    let app = TestApp::spawn().await;
    let requests = [
        (Method::POST, "/c/101/1/1000"),
        (Method::PUT, "/c/101/1/1000"),
        (Method::DELETE, "/i/101/1/1000"),
        (Method::GET, "/c/101/1/1000/../../../etc/passwd"),
        (Method::GET, "/c/..%2F..%2F/1/1000"),
        (Method::GET, &*format!("/c/{}/1/1000", "9".repeat(5000))),
    ];

    for (method, uri) in requests {
        let response = app.send(browser(uri).method(method.clone()).body(Body::empty()).unwrap()).await;
        assert!(response.status.is_client_error(), "{method} {uri}: {:?}", response.status);
        assert!(response.header(header::LOCATION).is_none(), "{method} {uri}");
    }

    assert_eq!(app.click_count().await, 0);
}

#[tokio::test]
async fn a_request_without_any_browser_headers_still_lands_and_is_flagged_as_a_bot() {
    let app = TestApp::spawn().await;

    let response = app.send(Request::get("/c/101/1/1000").body(Body::empty()).unwrap()).await;

    assert_eq!(response.status, StatusCode::FOUND);
    let click = app.only_click().await;
    assert!(click.bot);
    assert_eq!(click.user_agent, "");
}
