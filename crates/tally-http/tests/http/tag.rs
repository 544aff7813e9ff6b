//! The browser tag through HTTP (SPEC §4.3, §5): the script and its settings, CORS on
//! the collection endpoint, strict input, cross-device credit, and `POST /PageLoad`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{PROGRAM, TestApp, TestResponse, encode};

const SHOP: &str = "https://www.acme.test";
const PHONE: &str = "0123456789abcdef0123456789abcdef";
const LAPTOP: &str = "fedcba9876543210fedcba9876543210";

/// Sends a tag event as the script does: `text/plain`, from a page on `origin`.
async fn collect(app: &TestApp, origin: &str, event: &Value) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/collect?program={PROGRAM}"))
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(Body::from(event.to_string()))
        .unwrap();
    app.send(request).await
}

async fn page_load(app: &TestApp, fields: &[(&str, &str)]) -> TestResponse {
    let body: Vec<String> = fields.iter().map(|(name, value)| format!("{name}={}", encode(value))).collect();
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", app.account_sid, app.auth_token));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/PageLoad")
        .header(header::AUTHORIZATION, format!("Basic {credentials}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap();
    app.send(request).await
}

fn sale(order_id: &str) -> Value {
    json!({"orderId": order_id, "currencyCode": "USD", "eventDate": "NOW",
           "items": [{"subTotal": "50.00", "sku": "TENT-2", "quantity": 1}]})
}

async fn click(app: &TestApp, partner: u64) -> String {
    app.get(&format!("/c/{partner}/1/{PROGRAM}")).await.click_id()
}

#[tokio::test]
async fn the_script_carries_its_programs_settings_and_unknown_programs_get_a_404_comment() {
    let app = TestApp::spawn().await;
    let script = app.get(&format!("/tag.js?program={PROGRAM}")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.header(header::CONTENT_TYPE), Some("text/javascript; charset=utf-8"));
    assert_eq!(script.header(header::CACHE_CONTROL), Some("public, max-age=300"));
    let config = r#"{"clickDays":30,"clickParam":"irclickid","collect":"/collect?program=1000","program":1000}"#;
    assert!(script.text().contains(&format!("({config})")), "{}", script.text());
    assert!(script.text().contains("window.ire = live"));

    for uri in ["/tag.js?program=4242", "/tag.js?program=x", "/tag.js"] {
        let missing = app.get(uri).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(missing.header(header::CONTENT_TYPE), Some("text/javascript; charset=utf-8"));
        assert!(missing.text().starts_with("//"), "{}", missing.text());
    }
}

#[tokio::test]
async fn only_the_programs_domains_get_a_cors_answer() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    let landing = json!({"type": "landing", "visitor": PHONE, "clickId": click_id});
    for origin in [SHOP, "http://acme.test:8080", "https://go.acme.test"] {
        let allowed = collect(&app, origin, &landing).await;
        assert_eq!(allowed.status, StatusCode::OK, "{origin}: {}", allowed.text());
        assert_eq!(allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), Some(origin));
        assert_eq!(allowed.header(header::VARY), Some("Origin"));
        assert_eq!(allowed.json(), json!({"status": "LINKED", "clickFound": true}));
    }
    for origin in ["https://evil.test", "https://acme.test.evil.test", "null"] {
        let refused = collect(&app, origin, &landing).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin}");
        assert!(refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{origin}");
        assert!(refused.error_message().contains("permitted domains"), "{}", refused.text());
    }
}

#[tokio::test]
async fn a_preflight_is_answered_for_permitted_origins_only() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(format!("/collect?program={PROGRAM}"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight(SHOP)).await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), Some(SHOP));
    assert_eq!(allowed.header(header::ACCESS_CONTROL_ALLOW_METHODS), Some("POST"));
    assert_eq!(allowed.header(header::ACCESS_CONTROL_ALLOW_HEADERS), Some("Content-Type"));
    assert_eq!(allowed.header(header::ACCESS_CONTROL_MAX_AGE), Some("600"));
    let refused = app.send(preflight("https://evil.test")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn malformed_events_are_refused_naming_the_field_with_cors_so_the_page_can_read_why() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"type": "pageview", "visitor": PHONE}), "type: must be landing, identify or conversion"),
        (json!({"type": "landing", "visitor": "not-hex"}), "visitor: must be 32 lower-case hex digits"),
        (json!({"type": "landing"}), "visitor: is required"),
        (json!({"type": "landing", "visitor": PHONE}), "clickId: is required for a landing event"),
        (json!({"type": "landing", "visitor": PHONE, "clickId": "a b"}), "clickId: may hold only"),
        (json!({"type": "identify", "visitor": PHONE, "customerId": "C-1", "email": "x"}), "email: is not a field"),
        (
            json!({"type": "identify", "visitor": PHONE, "customerEmail": "jo@example.com"}),
            "customerEmail: must be a SHA-1",
        ),
        (json!({"type": "identify", "visitor": PHONE, "customerId": "x".repeat(2000)}), "customerId: must be at most"),
        (json!({"type": "conversion", "visitor": PHONE}), "conversion: is required"),
        (json!({"type": "conversion", "visitor": PHONE, "conversion": []}), "conversion: must be an object"),
    ];
    for (event, message) in cases {
        let refused = collect(&app, SHOP, &event).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{event}");
        assert!(refused.error_message().starts_with(message), "{event}: {}", refused.text());
        assert_eq!(refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), Some(SHOP));
    }
    let not_json = collect(&app, SHOP, &json!("just text")).await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);

    let bad_field = json!({"type": "conversion", "visitor": PHONE, "conversion": {"orderId": "O-1", "colour": "red"}});
    let refused = collect(&app, SHOP, &bad_field).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert_eq!(refused.json()["status"], "INVALID");
    assert!(refused.text().contains("colour"), "{}", refused.text());
}

#[tokio::test]
async fn a_customer_identified_on_two_devices_credits_the_click_made_on_the_first() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    // The phone lands from the partner's link, and the customer signs in there.
    collect(&app, SHOP, &json!({"type": "landing", "visitor": PHONE, "clickId": click_id})).await;
    let email_hash = "a".repeat(64);
    let identify = json!({"type": "identify", "visitor": PHONE, "customerId": "C-77", "customerEmail": email_hash});
    let linked = collect(&app, SHOP, &identify).await;
    assert_eq!(linked.json(), json!({"status": "LINKED", "clickFound": null}));
    app.advance_minutes(120);

    // Later the customer buys on the laptop, which never saw the link.
    let order = json!({"type": "conversion", "visitor": LAPTOP, "eventTypeId": 1, "customerId": "C-77",
                       "conversion": sale("T-1")});
    let credited = collect(&app, SHOP, &order).await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.text());
    let answer = credited.json();
    assert_eq!(answer["status"], "CREDITED", "{answer}");
    assert_eq!(answer["partnerId"], 101);
    assert_eq!(answer["payout"], "4.00");
    assert_eq!(credited.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), Some(SHOP));

    // An order from a customer nobody saw click is not credited.
    let stranger = "00000000000000000000000000000001";
    let order = json!({"type": "conversion", "visitor": stranger, "eventTypeId": 1, "customerId": "C-78",
                       "conversion": sale("T-2")});
    let refused = collect(&app, SHOP, &order).await;
    assert_eq!(refused.json()["status"], "REFUSED", "{}", refused.text());
}

#[tokio::test]
async fn a_page_load_links_an_app_profile_to_the_click_in_its_landing_url() {
    let app = TestApp::spawn().await;
    let landing = app.get(&format!("/c/101/1/{PROGRAM}")).await;
    let landing_url = landing.location().to_owned();
    let click_id = landing.click_id();
    app.advance_minutes(5);
    let answer = page_load(
        &app,
        &[("CampaignId", "1000"), ("EventDate", "NOW"), ("PageUrl", &landing_url), ("CustomProfileId", "app-user-9")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let answer = answer.json();
    assert_eq!(answer["landingPage"], landing_url);
    assert_eq!(answer["clickId"], click_id);
    assert_eq!(answer["sessionStart"], crate::helpers::START);
    assert_eq!(answer["warnings"], json!([]));

    let order = json!({"eventTypeId": 1, "orderId": "P-1", "currencyCode": "USD", "eventDate": "NOW",
                       "customProfileId": "app-user-9", "items": [{"subTotal": "10.00", "sku": "A", "quantity": 1}]});
    let uri = format!("/api/v1/programs/{PROGRAM}/conversions");
    let credited = app.api(Method::POST, &uri, Some(&app.brand_token), Some(&order.to_string())).await;
    assert_eq!(credited.json()["partnerId"], 101, "{}", credited.text());
}

#[tokio::test]
async fn a_page_load_of_an_unclicked_tracking_link_warns_instead_of_inventing_a_click() {
    let app = TestApp::spawn().await;
    let fields = [
        ("CampaignId", "1000"),
        ("EventDate", "2026-03-02T11:00:00+01:00"),
        ("PageUrl", "https://go.acme.test/c/101/1/1000?subId1=x"),
        ("CustomProfileId", "p-1"),
    ];
    let answer = page_load(&app, &fields).await.json();
    assert_eq!(answer["clickId"], Value::Null);
    assert_eq!(answer["sessionStart"], Value::Null);
    assert!(answer["warnings"][0].as_str().unwrap().contains("tracking link"), "{answer}");

    let unknown_click = [
        ("CampaignId", "1000"),
        ("EventDate", "NOW"),
        ("PageUrl", "https://www.acme.test/?irclickid=nope"),
        ("CustomProfileId", "p-1"),
    ];
    let unknown = page_load(&app, &unknown_click).await;
    assert!(unknown.json()["warnings"][0].as_str().unwrap().contains("no click"), "{}", unknown.text());
}

#[tokio::test]
async fn page_loads_are_strict_and_need_the_accounts_credentials() {
    let app = TestApp::spawn().await;
    let valid =
        [("CampaignId", "1000"), ("EventDate", "NOW"), ("PageUrl", "https://www.acme.test/"), ("CustomProfileId", "p")];
    let with = |name: &'static str, value: &'static str| {
        let mut fields: Vec<(&str, &str)> = valid.iter().filter(|(field, _)| *field != name).copied().collect();
        fields.push((name, value));
        fields
    };
    let cases = [
        (with("EventDate", "yesterday"), "EventDate"),
        (with("PageUrl", "/relative"), "PageUrl"),
        (with("CampaignId", "4242"), "CampaignId"),
        (with("Colour", "red"), "Colour"),
        (with("CustomerEmail", "jo@example.com"), "CustomerEmail"),
        (valid[..3].to_vec(), "CustomProfileId"),
    ];
    for (fields, field) in cases {
        let refused = page_load(&app, &fields).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{fields:?}");
        assert_eq!(refused.json()["errors"][0]["field"], field, "{}", refused.text());
    }
    let anonymous = Request::builder().method(Method::POST).uri("/PageLoad").body(Body::empty()).unwrap();
    assert_eq!(app.send(anonymous).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_conversion_naming_only_the_tags_visitor_is_credited_through_its_landing() {
    let app = TestApp::spawn().await;
    let click_id = click(&app, 101).await;
    collect(&app, SHOP, &json!({"type": "landing", "visitor": PHONE, "clickId": click_id})).await;
    app.advance_minutes(60);
    // The click cookie is gone (cleared, or another subdomain); the tag's visitor remains.
    let order = json!({"type": "conversion", "visitor": PHONE, "eventTypeId": 1, "conversion": sale("V-1")});
    let credited = collect(&app, SHOP, &order).await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.text());
    assert_eq!(credited.json()["partnerId"], 101);
}
