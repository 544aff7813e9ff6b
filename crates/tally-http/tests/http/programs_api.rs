//! `PUT` and `GET /api/v1/programs/{id}`: the program document over the native API.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tally_app::programs::{canonical_json, parse_document};

use crate::helpers::{TestApp, TestResponse, small_program};

const URI: &str = "/api/v1/programs/2000";

async fn put(app: &TestApp, uri: &str, token: &str, document: &Value) -> TestResponse {
    app.api(Method::PUT, uri, Some(token), Some(&document.to_string())).await
}

fn problem_paths(response: &TestResponse) -> Vec<String> {
    let problems = response.json()["error"]["problems"].as_array().cloned().unwrap_or_default();
    problems.iter().map(|problem| problem["path"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_new_document_is_created_then_unchanged_then_updated() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);

    let created = put(&app, URI, &app.brand_token, &document).await;
    let unchanged = put(&app, URI, &app.brand_token, &document).await;
    document["program"]["name"] = json!("Renamed program");
    let updated = put(&app, URI, &app.brand_token, &document).await;

    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json(), json!({"program_id": 2000, "outcome": "created", "revision": 1}));
    assert_eq!(unchanged.status, StatusCode::OK);
    assert_eq!(unchanged.json(), json!({"program_id": 2000, "outcome": "unchanged", "revision": 1}));
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.json(), json!({"program_id": 2000, "outcome": "updated", "revision": 2}));
}

#[tokio::test]
async fn get_returns_exactly_the_canonical_document_and_applying_it_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let document = small_program(2000);
    put(&app, URI, &app.brand_token, &document).await;

    let exported = app.api(Method::GET, URI, Some(&app.brand_token), None).await;

    assert_eq!(exported.status, StatusCode::OK);
    assert_eq!(exported.header(header::CONTENT_TYPE), Some("application/json"));
    let canonical = canonical_json(&parse_document(&document.to_string()).unwrap());
    assert_eq!(exported.text(), canonical);
    // Every section is there, even those the document left out.
    for section in ["event_types", "media_sources", "promo_codes", "vanity_links", "unique_urls"] {
        assert_eq!(exported.json()[section], json!([]), "{section}");
    }
    let again = app.api(Method::PUT, URI, Some(&app.brand_token), Some(&exported.text())).await;
    assert_eq!(again.json()["outcome"], "unchanged");
}

#[tokio::test]
async fn the_whole_acme_document_round_trips_through_the_api() {
    let app = TestApp::spawn().await;

    let exported = app.api(Method::GET, "/api/v1/programs/1000", Some(&app.brand_token), None).await;
    let again = app.api(Method::PUT, "/api/v1/programs/1000", Some(&app.brand_token), Some(&exported.text())).await;

    assert_eq!(exported.json()["program"]["id"], 1000);
    assert_eq!(exported.json()["vanity_links"][0]["path"], "trailblog");
    assert_eq!(again.json(), json!({"program_id": 1000, "outcome": "unchanged", "revision": 1}));
}

#[tokio::test]
async fn an_invalid_document_is_refused_whole_with_every_problem_and_its_path() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["program"]["time_zone"] = json!("Mars/Olympus_Mons");
    document["program"]["default_landing_page"] = json!("ftp://shop.acme.test/");
    document["program"]["tracking_template"] = json!("irclickid={nope}");
    document["partners"] = json!([{"id": 201, "name": "Small Partner"}, {"id": 201, "name": "Twin"}]);
    document["ads"][0]["landing_page"] = json!("javascript:alert(1)");
    document["contracts"][0]["partner"] = json!(999);

    let response = put(&app, URI, &app.brand_token, &document).await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.error_code(), "invalid_document");
    let paths = problem_paths(&response);
    for expected in [
        "program.time_zone",
        "program.default_landing_page",
        "program.tracking_template",
        "partners[1].id",
        "ads[0].landing_page",
        "contracts[0].partner",
    ] {
        assert!(paths.iter().any(|path| path == expected), "{expected} missing from {paths:?}");
    }
    for problem in response.json()["error"]["problems"].as_array().unwrap() {
        assert!(!problem["message"].as_str().unwrap().is_empty(), "{problem}");
    }
    let missing = app.api(Method::GET, URI, Some(&app.brand_token), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "nothing was stored");
}

#[tokio::test]
async fn malformed_json_is_a_400_malformed_body() {
    let app = TestApp::spawn().await;

    let response = app.api(Method::PUT, URI, Some(&app.brand_token), Some("{\"program\": {\"id\": 2000,")).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "malformed_body");
    assert_eq!(problem_paths(&response).len(), 1);
}

#[tokio::test]
async fn an_unknown_key_is_a_400_naming_its_path() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["partners"][0]["colour"] = json!("red");

    let response = put(&app, URI, &app.brand_token, &document).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "malformed_body");
    let problem = &response.json()["error"]["problems"][0];
    assert!(problem["path"].as_str().unwrap().starts_with("partners[0]"), "{problem}");
    assert!(problem["message"].as_str().unwrap().contains("colour"), "{problem}");
}

#[tokio::test]
async fn a_wrongly_typed_field_is_a_400_naming_its_path() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["ads"][0]["type"] = json!("BILLBOARD");

    let response = put(&app, URI, &app.brand_token, &document).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "malformed_body");
    assert_eq!(problem_paths(&response), vec!["ads[0].type".to_owned()]);
}

#[tokio::test]
async fn a_document_for_another_id_than_the_path_is_refused() {
    let app = TestApp::spawn().await;

    let response = put(&app, "/api/v1/programs/2001", &app.brand_token, &small_program(2000)).await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.error_code(), "invalid_document");
    assert_eq!(problem_paths(&response), vec!["program.id".to_owned()]);
    for id in [2000, 2001] {
        let missing = app.api(Method::GET, &format!("/api/v1/programs/{id}"), Some(&app.brand_token), None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_missing_or_bad_token_is_a_401() {
    let app = TestApp::spawn().await;
    let body = small_program(2000).to_string();
    let bad_tokens = [
        None,
        Some("tly_nope_nope".to_owned()),
        Some(format!("{}x", app.brand_token)),
        Some("".to_owned()),
        Some(app.account_sid.clone()),
    ];

    for token in &bad_tokens {
        for method in [Method::GET, Method::PUT] {
            let body = (method == Method::PUT).then_some(body.as_str());
            let response = app.api(method.clone(), URI, token.as_deref(), body).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} with {token:?}");
            assert_eq!(response.error_code(), "unauthorized");
            assert_eq!(response.header(header::WWW_AUTHENTICATE), Some("Bearer"));
        }
    }
    let basic = Request::get(URI)
        .header(header::AUTHORIZATION, format!("Basic {}", app.brand_token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);
    let missing = app.api(Method::GET, URI, Some(&app.brand_token), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "nothing was stored");
}

#[tokio::test]
async fn a_partner_token_may_not_read_or_change_program_documents() {
    let app = TestApp::spawn().await;

    let read = app.api(Method::GET, "/api/v1/programs/1000", Some(&app.partner_token), None).await;
    let write = put(&app, "/api/v1/programs/1000", &app.partner_token, &crate::helpers::acme_program()).await;

    for response in [read, write] {
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        assert_eq!(response.error_code(), "forbidden");
    }
}

#[tokio::test]
async fn another_accounts_program_is_not_found_on_get_and_a_conflict_on_put() {
    let app = TestApp::spawn().await;
    let (_, rival_token) = app.other_account().await;

    let read = app.api(Method::GET, "/api/v1/programs/1000", Some(&rival_token), None).await;
    let mut takeover = crate::helpers::acme_program();
    takeover["program"]["default_landing_page"] = json!("https://www.acme.test/stolen");
    let write = put(&app, "/api/v1/programs/1000", &rival_token, &takeover).await;

    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(read.error_code(), "not_found");
    assert_eq!(write.status, StatusCode::CONFLICT);
    assert_eq!(write.error_code(), "conflict");
    let mine = app.api(Method::GET, "/api/v1/programs/1000", Some(&app.brand_token), None).await;
    assert_eq!(mine.json()["program"]["default_landing_page"], "https://www.acme.test/");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = TestApp::spawn().await;
    let body = small_program(2000).to_string();

    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = Request::put(URI).header(header::AUTHORIZATION, format!("Bearer {}", app.brand_token));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = app.send(request.body(Body::from(body.clone())).unwrap()).await;
        assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        assert_eq!(response.error_code(), "unsupported_media_type");
    }
    let with_charset = Request::put(URI)
        .header(header::AUTHORIZATION, format!("Bearer {}", app.brand_token))
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(with_charset).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_program_id_that_cannot_be_one_is_a_404() {
    let app = TestApp::spawn().await;

    for id in ["abc", "0", "99999999999999999999"] {
        let response = app.api(Method::GET, &format!("/api/v1/programs/{id}"), Some(&app.brand_token), None).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(response.error_code(), "not_found");
    }
}

#[tokio::test]
async fn after_a_put_the_edge_serves_the_new_links_at_once() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    app.get("/c/201/1/2000").await.assert_not_found_page();

    put(&app, URI, &app.brand_token, &document).await;
    let live = app.get("/c/201/1/2000").await;
    document["ads"][0]["landing_page"] = json!("https://shop.acme.test/new-arrivals");
    put(&app, URI, &app.brand_token, &document).await;
    let moved = app.get("/c/201/1/2000").await;
    document["partners"] = json!([{"id": 202, "name": "Replacement"}]);
    document["contracts"][0]["partner"] = json!(202);
    put(&app, URI, &app.brand_token, &document).await;
    let gone = app.get("/c/201/1/2000").await;

    assert!(live.location().starts_with("https://shop.acme.test/?irclickid="), "{}", live.location());
    assert!(moved.location().starts_with("https://shop.acme.test/new-arrivals?irclickid="), "{}", moved.location());
    gone.assert_not_found_page();
    app.get("/c/202/1/2000").await.location();
}

#[tokio::test]
async fn a_vanity_path_taken_by_another_program_is_refused() {
    let app = TestApp::spawn().await;
    let mut document = small_program(2000);
    document["program"]["tracking_domains"] = json!(["go.acme.test"]);
    document["vanity_links"] = json!([{"path": "TrailBlog/", "partner": 201}]);

    let response = put(&app, URI, &app.brand_token, &document).await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.error_code(), "invalid_document");
    let vanity = app.get_on_host("go.acme.test", "/trailblog").await;
    assert!(vanity.location().starts_with("https://www.acme.test/hiking"), "the first program keeps its path");
}

#[tokio::test]
async fn an_oversized_document_is_a_413_in_the_api_error_shape() {
    let app = TestApp::spawn().await;
    let oversized = format!("{{\"program\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));

    let response = app.api(Method::PUT, URI, Some(&app.brand_token), Some(&oversized)).await;

    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.header(header::CONTENT_TYPE), Some("application/json"));
    assert!(!response.error_code().is_empty());
}

#[tokio::test]
async fn an_unsupported_method_on_an_api_path_answers_in_the_api_error_shape() {
    let app = TestApp::spawn().await;

    let response = app.api(Method::POST, URI, Some(&app.brand_token), Some("{}")).await;

    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header(header::CONTENT_TYPE), Some("application/json"));
    assert!(!response.error_code().is_empty());
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let request = Request::get("/api/v1/programs/1000")
            .header(header::AUTHORIZATION, format!("{scheme} {}", app.brand_token))
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::OK, "{scheme}");
    }
}
