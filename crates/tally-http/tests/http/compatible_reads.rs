//! The compatible read API (SPEC §8): `GET /Advertisers/{SID}/…` for the brand's
//! actions, action updates, submissions, programs, partners, promo codes, unique URLs
//! and statements, in the documented names, shapes and paging envelope.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};

use crate::actions::compatible_delete;
use crate::conversions::{basic_get, click, queued, s2s, sale};
use crate::helpers::{TestApp, TestResponse, acme_program, small_program};

/// Makes `count` credited orders a minute apart; returns their action ids, oldest first.
async fn orders(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        app.advance_minutes(1);
        let click_id = click(app, 101).await;
        let order = format!("L-{n}");
        let mut fields = sale(&click_id, &order);
        fields.push(("Amount", "25"));
        ids.push(queued(app, &s2s(app, &fields).await).await["ActionId"].as_str().unwrap().to_owned());
    }
    ids
}

async fn listing(app: &TestApp, query: &str) -> TestResponse {
    basic_get(app, &format!("/Advertisers/{}/Actions{query}", app.account_sid)).await
}

fn ids(page: &Value) -> Vec<String> {
    page["Actions"].as_array().unwrap().iter().map(|action| action["Id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn paging_through_the_listing_returns_every_action_once_newest_first() {
    let app = TestApp::spawn().await;
    let made = orders(&app, 23).await;

    let mut seen = Vec::new();
    let mut uri = format!("/Advertisers/{}/Actions.json?CampaignId=1000&PageSize=5", app.account_sid);
    let mut pages = 0;
    while !uri.is_empty() {
        let page = basic_get(&app, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let body = page.json();
        pages += 1;
        assert_eq!((body["@total"].as_str(), body["@numpages"].as_str()), (Some("23"), Some("5")));
        assert_eq!(body["@page"], pages.to_string());
        seen.extend(ids(&body));
        uri = body["@nextpageuri"].as_str().unwrap().to_owned();
    }
    assert_eq!(pages, 5);
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first, "every action once, newest first");

    let first = listing(&app, "").await.json();
    let action = &first["Actions"][0];
    assert_eq!(action["Id"], made[22]);
    for field in ["CampaignId", "ActionTrackerId", "MediaPartnerId", "State", "Amount", "Payout", "Oid", "EventDate"] {
        assert!(action.get(field).is_some(), "{field} in {action}");
    }
    assert_eq!((action["Amount"].as_str(), action["Currency"].as_str()), (Some("25.00"), Some("USD")));
    assert!(action.get("SubId1").is_none(), "sub ids are for partners only");
}

#[tokio::test]
async fn the_listing_filters_by_state_and_dates() {
    let app = TestApp::spawn().await;
    let made = orders(&app, 6).await;
    let reversal = format!("ActionId={}&DispositionCode=ITEM_RETURNED", made[1]);
    assert_eq!(compatible_delete(&app, &reversal).await.status, StatusCode::OK);

    let reversed = listing(&app, "?State=REVERSED").await.json();
    assert_eq!(ids(&reversed), vec![made[1].clone()]);
    let pending = listing(&app, "?State=pending").await.json();
    assert_eq!(pending["@total"], "5");

    let all = listing(&app, "").await.json();
    let event_date = |index: usize| {
        let id = &made[index];
        let action = all["Actions"].as_array().unwrap().iter().find(|action| action["Id"] == *id).unwrap();
        action["EventDate"].as_str().unwrap().to_owned()
    };
    let window = format!("?ActionDateStart={}&ActionDateEnd={}", event_date(2), event_date(4));
    let between: HashSet<String> = ids(&listing(&app, &window).await.json()).into_iter().collect();
    assert_eq!(between, made[2..=4].iter().cloned().collect(), "both ends are inclusive");
}

#[tokio::test]
async fn bad_listing_requests_get_a_precise_error() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("?Colour=red", "Colour"),
        ("?State=LOST", "State"),
        ("?PageSize=0", "PageSize"),
        ("?Page=x", "Page"),
        ("?ActionDateStart=yesterday", "ActionDateStart"),
        ("?ActionDateStart=2026-03-02T00:00:00Z&ActionDateEnd=2026-03-01T00:00:00Z", "ActionDateEnd"),
    ] {
        let response = listing(&app, query).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.json()["errors"][0]["field"], field, "{query}");
    }
    assert_eq!(listing(&app, "?CampaignId=4242").await.status, StatusCode::NOT_FOUND);
    let (rival_sid, _) = app.other_account().await;
    let stranger = basic_get(&app, &format!("/Advertisers/{rival_sid}/Actions")).await;
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED, "another account's listing needs its own token");
}

/// Every paged resource but `Actions`, with the key its listing is documented under.
const LISTINGS: &[(&str, &str)] = &[
    ("Campaigns", "Campaigns"),
    ("MediaPartners", "Partners"),
    ("PromoCodes", "PromoCodes"),
    ("UniqueUrls", "UniqueUrls"),
    ("ActionUpdates", "ActionUpdates"),
    ("APISubmissions", "APISubmission"),
    ("Invoices", "Invoices"),
];

const ENVELOPE: &[&str] = &[
    "@page",
    "@numpages",
    "@pagesize",
    "@total",
    "@start",
    "@end",
    "@uri",
    "@firstpageuri",
    "@previouspageuri",
    "@nextpageuri",
    "@lastpageuri",
];

async fn resource(app: &TestApp, path: &str) -> TestResponse {
    basic_get(app, &format!("/Advertisers/{}/{path}", app.account_sid)).await
}

async fn get_as(app: &TestApp, sid: &str, token: &str, uri: &str) -> TestResponse {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let request = Request::builder().uri(uri).header(header::AUTHORIZATION, format!("Basic {credentials}"));
    app.send(request.body(Body::empty()).unwrap()).await
}

/// The rows of a listing page under its documented key.
fn rows<'a>(page: &'a Value, key: &str) -> &'a Vec<Value> {
    page[key].as_array().unwrap_or_else(|| panic!("{key} in {page}"))
}

fn find<'a>(rows: &'a [Value], field: &str, value: &Value) -> &'a Value {
    rows.iter().find(|row| row[field] == *value).unwrap_or_else(|| panic!("{field} = {value} in {rows:?}"))
}

/// Acme with two promo codes (one expired), one credited order and its reversal.
async fn acme_with_history() -> TestApp {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    document["promo_codes"] = json!([
        {"code": "TRAIL10", "partner": 101},
        {"code": "^DEAL[0-9]+$", "type": "REGEX", "partner": 102, "credit_policy": "WINNER",
         "end": "2026-01-01T00:00:00Z"}
    ]);
    app.apply_as(&app.account_sid.clone(), &document).await;
    let click_id = click(&app, 101).await;
    let mut fields = sale(&click_id, "H-1");
    fields.extend([("Amount", "25"), ("SubId1", "partner-secret")]);
    let action_id = queued(&app, &s2s(&app, &fields).await).await["ActionId"].as_str().unwrap().to_owned();
    let reversal = format!("ActionId={action_id}&DispositionCode=ITEM_RETURNED");
    assert_eq!(compatible_delete(&app, &reversal).await.status, StatusCode::OK);
    app
}

#[tokio::test]
async fn every_listing_answers_with_its_documented_key_and_envelope_also_as_json() {
    let app = acme_with_history().await;
    for (path, key) in LISTINGS {
        for suffix in ["", ".json"] {
            let response = resource(&app, &format!("{path}{suffix}")).await;
            assert_eq!(response.status, StatusCode::OK, "{path}{suffix}: {}", response.text());
            let page = response.json();
            for field in ENVELOPE {
                assert!(page[field].is_string(), "{field} in {path}{suffix}: {page}");
            }
            assert_eq!(page["@total"], rows(&page, key).len().to_string(), "{path}{suffix}");
            assert_eq!(page["@uri"], format!("/Advertisers/{}/{path}?PageSize=20000&Page=1", app.account_sid));
        }
    }
    let company = resource(&app, "CompanyInformation.json").await.json();
    assert_eq!(company["CompanyName"], "Acme Outdoor");
    assert_eq!(resource(&app, "CompanyInformation").await.json(), company);
}

#[tokio::test]
async fn programs_partners_codes_and_urls_come_from_the_program_document() {
    let app = acme_with_history().await;
    let campaigns = resource(&app, "Campaigns").await.json();
    let acme = &rows(&campaigns, "Campaigns")[0];
    assert_eq!((acme["Id"].as_u64(), acme["Name"].as_str()), (Some(1000), Some("Acme Outdoor")));
    assert_eq!((acme["State"].as_str(), acme["Currency"].as_str()), (Some("ACTIVE"), Some("USD")));
    assert_eq!(acme["GatewayTrackingSettings"]["DefaultLandingPage"], "https://www.acme.test/");
    assert_eq!(resource(&app, "Campaigns/1000.json").await.json(), *acme);
    assert_eq!(resource(&app, "Campaigns?Name=acme%20outdoor").await.json()["@total"], "1");

    let partners = resource(&app, "MediaPartners").await.json();
    let partners = rows(&partners, "Partners");
    assert_eq!(partners.len(), 6, "five partners and a media source: {partners:?}");
    let trail = find(partners, "Id", &json!("101"));
    assert_eq!((trail["Name"].as_str(), trail["State"].as_str()), (Some("Trail Blog"), Some("ACTIVE")));
    assert_eq!(trail["Programs"][0]["JoinDate"], "2025-01-01T00:00:00Z");
    assert_eq!(trail["Programs"][0]["ContractName"], "Standard");
    assert_eq!(find(partners, "Id", &json!("105"))["State"], "DEACTIVATED");
    assert_eq!(find(partners, "Id", &json!("901"))["PartnerType"], "MEDIA_SOURCE");
    assert_eq!(resource(&app, "MediaPartners/101").await.json(), *trail);
    let chosen = resource(&app, "MediaPartners?Id=102,901").await.json();
    assert_eq!(chosen["@total"], "2");

    let codes = resource(&app, "PromoCodes").await.json();
    let codes = rows(&codes, "PromoCodes");
    let trail10 = find(codes, "Code", &json!("TRAIL10"));
    assert_eq!((trail10["Type"].as_str(), trail10["State"].as_str()), (Some("LI"), Some("ACTIVE")));
    assert_eq!((trail10["AssignedPartnerId"].as_u64(), trail10["CampaignId"].as_u64()), (Some(101), Some(1000)));
    let deal = find(codes, "Code", &json!("^DEAL[0-9]+$"));
    assert_eq!((deal["Type"].as_str(), deal["State"].as_str()), (Some("RE"), Some("INACTIVE")));
    assert_eq!(
        (deal["CreditPolicy"].as_str(), deal["EndDate"].as_str()),
        (Some("WINNER"), Some("2026-01-01T00:00:00Z"))
    );
    assert_eq!(resource(&app, "PromoCodes?State=ACTIVE").await.json()["@total"], "1");
    let valid_in_2025 = "PromoCodes?StartDate=2025-06-01T00:00:00Z&EndDate=2025-07-01T00:00:00Z";
    assert_eq!(resource(&app, valid_in_2025).await.json()["@total"], "2");

    let urls = resource(&app, "UniqueUrls").await.json();
    let live = find(rows(&urls, "UniqueUrls"), "Url", &json!("https://get-acme.test/"));
    assert_eq!((live["State"].as_str(), live["MediaPartnerId"].as_u64()), (Some("INUSE"), Some(102)));
    assert_eq!(
        (live["MediaPartnerName"].as_str(), live["LandingPage"].as_str()),
        (Some("Deal Hunters"), Some("https://www.acme.test/offline"))
    );
    let quarantined = resource(&app, "UniqueUrls?State=quarantine&CampaignId=1000").await.json();
    assert_eq!(rows(&quarantined, "UniqueUrls")[0]["Url"], "https://old-acme.test/");
}

#[tokio::test]
async fn action_updates_and_submissions_show_what_the_brand_sent_without_sub_ids() {
    let app = acme_with_history().await;
    let updates = resource(&app, "ActionUpdates?CampaignId=1000").await.json();
    let reversal = find(rows(&updates, "ActionUpdates"), "Disposition", &json!("ITEM_RETURNED"));
    assert_eq!((reversal["State"].as_str(), reversal["Currency"].as_str()), (Some("REVERSED"), Some("USD")));
    assert_eq!((reversal["DeltaAmount"].as_str(), reversal["Oid"].as_str()), (Some("-25.00"), Some("H-1")));
    assert_eq!((reversal["CampaignId"].as_u64(), reversal["MediaPartnerId"].as_u64()), (Some(1000), Some(101)));
    assert!(!updates.to_string().contains("partner-secret"), "sub ids are the partner's: {updates}");
    let later = resource(&app, "ActionUpdates?StartDate=2026-03-03T00:00:00Z&EndDate=2026-03-04T00:00:00Z").await;
    assert_eq!(later.json()["@total"], "0");
    let total = |query: String| {
        let app = &app;
        async move { resource(app, &format!("ActionUpdates?{query}")).await.json()["@total"].clone() }
    };
    let all = updates["@total"].clone();
    assert_eq!(total("State=reversed".into()).await, "1", "the update that left the action REVERSED");
    assert_eq!(total("State=APPROVED".into()).await, "0");
    let made = reversal["ActionDate"].as_str().unwrap();
    assert_eq!(total(format!("ActionDateStart={made}&ActionDateEnd={made}")).await, all);
    assert_eq!(total("ActionDateStart=2099-01-01T00:00:00Z".into()).await, "0");
    // A reversed action never locks, so no locking range holds its updates (matching
    // locking dates are in the store conformance suite).
    assert!(reversal["LockingDate"].is_null());
    assert_eq!(total("LockingDateStart=2000-01-01T00:00:00Z".into()).await, "0");

    let submissions = resource(&app, "APISubmissions.json").await.json();
    let submissions = rows(&submissions, "APISubmission");
    assert_eq!(submissions.len(), 2, "the conversion and its reversal: {submissions:?}");
    assert_eq!(find(submissions, "Type", &json!("Reversal"))["Status"], "Complete");
    let conversion = find(submissions, "Type", &json!("Conversion"));
    assert_eq!((conversion["Status"].as_str(), conversion["OrderId"].as_str()), (Some("Complete"), Some("H-1")));
    assert_eq!(conversion["CampaignId"], 1000);
    let uri = conversion["Uri"].as_str().unwrap();
    assert_eq!(basic_get(&app, uri).await.json()["BatchId"], conversion["BatchId"]);
    // The reversal named its action by ActionId, not by program.
    let of_program = resource(&app, "APISubmissions?CampaignId=1000").await.json();
    assert_eq!(rows(&of_program, "APISubmission")[0]["BatchId"], conversion["BatchId"]);
    assert_eq!(of_program["@total"], "1");
}

#[tokio::test]
async fn paging_through_api_submissions_yields_every_submission_once_newest_first() {
    let app = TestApp::spawn().await;
    let made = orders(&app, 25).await;
    let mut seen = Vec::new();
    let mut uri = format!("/Advertisers/{}/APISubmissions.json?PageSize=7", app.account_sid);
    let mut pages = 0;
    while !uri.is_empty() {
        let page = basic_get(&app, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let body = page.json();
        pages += 1;
        assert_eq!((body["@total"].as_str(), body["@numpages"].as_str()), (Some("25"), Some("4")));
        assert_eq!((body["@page"].as_str(), body["@pagesize"].as_str()), (Some(&*pages.to_string()), Some("7")));
        seen.extend(rows(&body, "APISubmission").iter().map(|row| row["ActionId"].as_str().unwrap().to_owned()));
        uri = body["@nextpageuri"].as_str().unwrap().to_owned();
    }
    assert_eq!(pages, 4);
    let newest_first: Vec<String> = made.into_iter().rev().collect();
    assert_eq!(seen, newest_first, "every submission once, newest first");
}

#[tokio::test]
async fn invoices_are_the_partner_statements_with_their_due_dates() {
    let app = TestApp::spawn().await;
    let mut document = acme_program();
    let payout = &mut document["template_terms"][0]["event_payouts"][0];
    payout["locking"] = json!({"months": 0, "days": 27});
    payout["payment"] = json!({"months": 0, "days": 20});
    app.apply_as(&app.account_sid.clone(), &document).await;
    app.set_time("2027-01-15T15:00:00Z".parse().unwrap());
    for (partner, order, amount) in [(101, "JAN-1", "100"), (101, "JAN-2", "50"), (102, "JAN-3", "10")] {
        let click_id = click(&app, partner).await;
        let mut fields = sale(&click_id, order);
        fields.push(("Amount", amount));
        queued(&app, &s2s(&app, &fields).await).await;
    }
    assert_eq!(resource(&app, "Invoices").await.json()["@total"], "0");
    app.set_time("2027-03-01T05:00:00Z".parse().unwrap());
    app.run_jobs().await;
    app.run_jobs().await;

    let invoices = resource(&app, "Invoices.json?CampaignId=1000").await.json();
    assert_eq!(invoices["@total"], "2", "one statement per partner: {invoices}");
    let trail = find(rows(&invoices, "Invoices"), "MediaId", &json!(101));
    assert_eq!((trail["MediaName"].as_str(), trail["Currency"].as_str()), (Some("Trail Blog"), Some("USD")));
    assert_eq!(trail["TotalAmount"], "12.00");
    let line = &trail["LineItems"][0];
    assert_eq!((line["Actions"].as_u64(), line["Status"].as_str()), (Some(2), Some("PENDING")));
    assert_eq!(line["EventMonthYear"], "22027", "the actions locked in February 2027");
    assert_eq!(line["DueDate"], "2027-03-20T04:00:00Z", "midnight of 20 March in New York");
    assert_eq!(basic_get(&app, trail["Uri"].as_str().unwrap()).await.json(), *trail);
    let first_page = resource(&app, "Invoices?PageSize=1").await.json();
    assert_eq!((first_page["@numpages"].as_str(), rows(&first_page, "Invoices").len()), (Some("2"), 1));
    let after = resource(&app, "Invoices?StartDate=2027-03-02T00:00:00Z").await.json();
    assert_eq!(after["@total"], "0");
}

#[tokio::test]
async fn bad_requests_to_every_listing_name_the_parameter() {
    let app = acme_with_history().await;
    let dated = ["PromoCodes", "ActionUpdates", "APISubmissions", "Invoices"];
    for (path, _) in LISTINGS {
        let mut cases = vec![
            ("?Colour=red", "Colour"),
            ("?PageSize=0", "PageSize"),
            ("?PageSize=20001", "PageSize"),
            ("?Page=0", "Page"),
        ];
        if dated.contains(path) {
            cases.push(("?StartDate=yesterday", "StartDate"));
            cases.push(("?StartDate=2026-03-02T00:00:00Z&EndDate=2026-03-01T00:00:00Z", "EndDate"));
        }
        if *path != "Campaigns" {
            cases.push(("?CampaignId=acme", "CampaignId"));
        }
        for (query, field) in cases {
            let response = resource(&app, &format!("{path}{query}")).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}{query}");
            assert_eq!(response.json()["errors"][0]["field"], field, "{path}{query}");
        }
    }
    for (path, field) in [
        ("ActionUpdates?State=LOST", "State"),
        ("ActionUpdates?LockingDateStart=tomorrow", "LockingDateStart"),
        ("MediaPartners?State=LOST", "State"),
        ("MediaPartners?Id=1,x", "Id"),
        ("UniqueUrls?State=LOST", "State"),
        ("PromoCodes?State=LOST", "State"),
        ("Campaigns?State=LOST", "State"),
        ("CompanyInformation?PageSize=1", "PageSize"),
    ] {
        let response = resource(&app, path).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(response.json()["errors"][0]["field"], field, "{path}");
    }
    let unsupported = resource(&app, "MediaPartners?Country=US").await;
    assert!(unsupported.json()["errors"][0]["message"].as_str().unwrap().contains("not supported"));
}

#[tokio::test]
async fn another_accounts_programs_and_credentials_are_refused() {
    let app = acme_with_history().await;
    let (rival_sid, _) = app.other_account().await;
    app.apply_as(&rival_sid, &small_program(2000)).await;
    for (path, _) in LISTINGS.iter().filter(|(path, _)| *path != "Campaigns") {
        let response = resource(&app, &format!("{path}?CampaignId=2000")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}: another account's campaign");
    }
    assert_eq!(resource(&app, "Campaigns/2000").await.status, StatusCode::NOT_FOUND);
    let campaigns = resource(&app, "Campaigns").await.json();
    assert_eq!(campaigns["@total"], "1", "only the caller's programs: {campaigns}");
    assert_eq!(resource(&app, "MediaPartners/201").await.status, StatusCode::NOT_FOUND);

    let third = app.accounts.create_account("Third Brand").await.unwrap();
    let mut paths: Vec<&str> = LISTINGS.iter().map(|(path, _)| *path).collect();
    paths.extend(["CompanyInformation", "Campaigns/1000", "MediaPartners/101"]);
    for path in paths {
        let ours = format!("/Advertisers/{}/{path}", app.account_sid);
        let foreign = get_as(&app, &third.account_sid, &third.auth_token, &ours).await;
        assert_eq!(foreign.status, StatusCode::UNAUTHORIZED, "{path} with another account's credentials");
        let theirs = basic_get(&app, &format!("/Advertisers/{rival_sid}/{path}")).await;
        assert_eq!(theirs.status, StatusCode::UNAUTHORIZED, "{path} of another account");
    }
}
