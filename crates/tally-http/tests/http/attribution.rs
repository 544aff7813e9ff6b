//! Every documented attribution rule (SPEC §6), end to end: real clicks through the
//! edge, conversions through the compatible S2S API, and the decision read back from
//! the submission record and the action.

use serde_json::{Value, json};

use crate::conversions::{action, queued, s2s};
use crate::helpers::{PROGRAM, TestApp, TestResponse, acme_program};

/// Acme plus: 103 (non-preferred), 104 (preferred, first-click terms with a 7-day click
/// window), 902 (a non-preferred media source), and promo codes of each policy.
fn program() -> Value {
    let mut document = acme_program();
    let partners = document["partners"].as_array_mut().unwrap();
    partners.push(json!({"id": 103, "name": "Cashback Club", "credit_group": "NON_PREFERRED"}));
    partners.push(json!({"id": 104, "name": "Alpine Influencer"}));
    document["media_sources"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 902, "name": "Email", "credit_group": "NON_PREFERRED"}));
    document["template_terms"].as_array_mut().unwrap().push(json!({"id": 2, "name": "First click", "event_payouts": [{
        "event_type": 1, "credit_policy": "FIRST_CLICK", "default_payout": {"rate": "10"},
        "referral_windows": [{"touch": "CLICK", "window": 7, "unit": "DAY"}]
    }]}));
    let contracts = document["contracts"].as_array_mut().unwrap();
    contracts.push(json!({"partner": 103, "template_terms": 1, "start": "2025-01-01T00:00:00Z"}));
    contracts.push(json!({"partner": 104, "template_terms": 2, "start": "2025-01-01T00:00:00Z"}));
    document["promo_codes"] = json!([
        {"code": "TRAIL10", "partner": 101, "credit_policy": "ALWAYS"},
        {"code": "DEAL[0-9]{2}", "type": "REGEX", "partner": 102, "credit_policy": "INVOLVED"},
        {"code": "ALPINE5", "partner": 104, "credit_policy": "WINNER"}
    ]);
    document
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.apply_as(&app.account_sid.clone(), &program()).await;
    app
}

/// One browser clicking each partner's link in turn; returns the last click's id.
async fn journey(app: &TestApp, partners: &[u64]) -> String {
    let mut cookies = String::new();
    let mut last: Option<TestResponse> = None;
    for partner in partners {
        let response = app.get_with_cookies(&format!("/c/{partner}/1/{PROGRAM}"), &cookies).await;
        if cookies.is_empty() {
            cookies = response.cookie_header();
        }
        app.advance_minutes(10);
        last = Some(response);
    }
    last.expect("at least one click").click_id()
}

/// Converts with these fields added (or replacing the defaults); returns the submission record.
async fn convert(app: &TestApp, order: &str, extra: &[(&str, &str)]) -> Value {
    let mut fields = vec![
        ("CampaignId", "1000"),
        ("ActionTrackerId", "1"),
        ("EventDate", "NOW"),
        ("OrderId", order),
        ("Amount", "100"),
        ("CurrencyCode", "USD"),
    ];
    fields.retain(|(name, _)| !extra.iter().any(|(given, _)| given == name));
    fields.extend_from_slice(extra);
    queued(app, &s2s(app, &fields).await).await
}

/// The credited partner and rule of a submission that made an action.
async fn credited(app: &TestApp, record: &Value) -> (u64, String) {
    let action_id = record["ActionId"].as_str().unwrap_or_else(|| panic!("no action: {record}"));
    let action = action(app, action_id).await;
    (action["partnerId"].as_u64().unwrap(), action["rule"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn last_click_by_default_and_first_click_when_the_closers_terms_say_so() {
    let app = app().await;
    let click_id = journey(&app, &[104, 101]).await;
    let record = convert(&app, "L-1", &[("ClickId", &click_id)]).await;
    assert_eq!(credited(&app, &record).await, (101, "LAST_CLICK".into()));

    let click_id = journey(&app, &[101, 104]).await;
    let record = convert(&app, "F-1", &[("ClickId", &click_id)]).await;
    assert_eq!(credited(&app, &record).await, (101, "FIRST_CLICK".into()), "104's terms are first click");
    let action = action(&app, record["ActionId"].as_str().unwrap()).await;
    let positions: Vec<&str> =
        action["journey"].as_array().unwrap().iter().map(|s| s["position"].as_str().unwrap()).collect();
    assert_eq!(positions, ["INTRODUCER", "CLOSER"]);
    assert_eq!(action["journey"][1]["reason"], "OTHER_REF_PRIORITIZED");
}

#[tokio::test]
async fn a_preferred_partner_beats_a_later_standard_one() {
    let app = app().await;
    let click_id = journey(&app, &[101, 102]).await;
    let record = convert(&app, "G-1", &[("ClickId", &click_id)]).await;
    assert_eq!(credited(&app, &record).await, (101, "CREDIT_GROUP".into()));
    let click_id = journey(&app, &[102]).await;
    let record = convert(&app, "G-2", &[("ClickId", &click_id)]).await;
    assert_eq!(credited(&app, &record).await, (102, "LAST_CLICK".into()), "a lower group wins when alone");
}

#[tokio::test]
async fn a_journey_of_non_preferred_sources_only_is_unclaimed() {
    let app = app().await;
    let click_id = journey(&app, &[103, 902]).await;
    let record = convert(&app, "U-1", &[("ClickId", &click_id)]).await;
    assert_eq!(record["ErrorType"], "UNCLAIMED", "{record}");
    let detail = app.store.submission(&app.account_sid, record["BatchId"].as_str().unwrap()).await.unwrap().unwrap();
    assert!(detail.detail.unwrap().contains("UNCLAIMED"), "the journey considered is kept with the refusal");
}

#[tokio::test]
async fn promo_codes_follow_their_policies_and_regex_codes_are_case_sensitive() {
    let app = app().await;
    let click_id = journey(&app, &[102, 101]).await;
    let record = convert(&app, "P-1", &[("ClickId", &click_id), ("PromoCode", "DEAL42")]).await;
    assert_eq!(credited(&app, &record).await, (102, "PROMO_CODE_INVOLVED".into()));
    let record = convert(&app, "P-2", &[("ClickId", &click_id), ("PromoCode", "deal42")]).await;
    assert_eq!(credited(&app, &record).await, (101, "LAST_CLICK".into()), "the regex does not match: touches decide");

    let click_id = journey(&app, &[101]).await;
    let record = convert(&app, "P-3", &[("ClickId", &click_id), ("PromoCode", "ALPINE5")]).await;
    assert_eq!(credited(&app, &record).await, (101, "LAST_CLICK".into()), "WINNER: 104 did not win by clicks");
    let click_id = journey(&app, &[104]).await;
    let record = convert(&app, "P-4", &[("ClickId", &click_id), ("PromoCode", "alpine5")]).await;
    assert_eq!(credited(&app, &record).await, (104, "PROMO_CODE_WINNER".into()), "exact codes ignore case");
}

#[tokio::test]
async fn a_unique_url_key_credits_its_partner() {
    let app = app().await;
    let record = convert(&app, "K-1", &[("UniqueUrl", "get-acme.test")]).await;
    assert_eq!(credited(&app, &record).await, (102, "UNIQUE_URL".into()));
    let record = convert(&app, "K-2", &[("UniqueUrl", "https://old-acme.test/")]).await;
    assert_eq!(record["ErrorType"], "NO_TOUCH", "a quarantined unique URL credits nobody: {record}");
}

#[tokio::test]
async fn a_touch_older_than_its_referral_window_does_not_win() {
    let app = app().await;
    let click_id = journey(&app, &[104]).await;
    app.advance_minutes(8 * 24 * 60);
    let record = convert(&app, "W-1", &[("ClickId", &click_id)]).await;
    assert_eq!(record["ErrorType"], "OUTSIDE_ASSOCIATION_WINDOW", "104's click window is 7 days: {record}");
}

#[tokio::test]
async fn the_contract_in_force_on_the_event_date_decides() {
    let app = app().await;
    // Partner 107's contract ended on 2026-01-01; its link was clicked late in December,
    // and the orders are reported on 10 January.
    app.set_time("2025-12-28T12:00:00Z".parse().unwrap());
    let click_id = journey(&app, &[107]).await;
    app.set_time("2026-01-10T12:00:00Z".parse().unwrap());
    let record = convert(&app, "C-1", &[("ClickId", &click_id), ("EventDate", "2025-12-30T12:00:00Z")]).await;
    assert_eq!(credited(&app, &record).await, (107, "LAST_CLICK".into()), "the order was placed under the contract");
    let record = convert(&app, "C-2", &[("ClickId", &click_id)]).await;
    assert_eq!(record["ErrorType"], "CONTRACT_NOT_FOUND", "{record}");
}
