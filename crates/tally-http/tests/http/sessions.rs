//! The click session and the visitor cookie: repeat clicks of one browser on one
//! partner within the rolling window keep their click id; the visitor id stays.

use tally_app::secrets::Keyed;

use crate::helpers::{TestApp, minutes_after_start};

#[tokio::test]
async fn the_first_click_sets_a_long_lived_httponly_visitor_cookie_and_a_session_cookie() {
    let app = TestApp::spawn().await;

    let response = app.get("/c/101/1/1000").await;

    let visitor = response.set_cookie("tally_vid");
    assert!(visitor.contains("; HttpOnly"), "{visitor}");
    assert!(visitor.contains("; Path=/"), "{visitor}");
    let max_age: u64 = visitor.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!(max_age >= 365 * 24 * 3600, "the visitor cookie lives at least a year: {visitor}");
    assert_eq!(response.cookie_value("tally_vid"), app.only_click().await.visitor.as_str());
    let session = response.set_cookie("tally_ses");
    assert!(session.contains("; HttpOnly"), "{session}");
}

#[tokio::test]
async fn a_repeat_click_within_the_session_keeps_the_click_id_and_is_not_unique() {
    let app = TestApp::spawn().await;
    let first = app.get("/c/101/1/1000").await;

    app.advance_minutes(29);
    let second = app.get_with_cookies("/c/101/2/1000", &first.cookie_header()).await;

    assert_eq!(second.click_id(), first.click_id());
    let uniques: Vec<(String, bool)> =
        app.clicks().await.iter().map(|click| (click.click_id.to_string(), click.unique)).collect();
    assert_eq!(uniques, vec![(first.click_id(), true), (first.click_id(), false)]);
}

#[tokio::test]
async fn the_session_rolls_and_a_click_after_the_window_starts_a_new_journey() {
    let app = TestApp::spawn().await;
    let first = app.get("/c/101/1/1000").await;
    app.set_time(minutes_after_start(20));
    let second = app.get_with_cookies("/c/101/1/1000", &first.cookie_header()).await;
    // 40 minutes after the first click, but only 20 after the second: still the same session.
    app.set_time(minutes_after_start(40));
    let third = app.get_with_cookies("/c/101/1/1000", &second.cookie_header()).await;

    app.set_time(minutes_after_start(40 + 31));
    let late = app.get_with_cookies("/c/101/1/1000", &third.cookie_header()).await;

    assert_eq!(second.click_id(), first.click_id());
    assert_eq!(third.click_id(), first.click_id());
    assert_ne!(late.click_id(), first.click_id());
    let uniques: Vec<bool> = app.clicks().await.iter().map(|click| click.unique).collect();
    assert_eq!(uniques, vec![true, false, false, true]);
}

#[tokio::test]
async fn a_click_on_another_partner_starts_its_own_session() {
    let app = TestApp::spawn().await;
    let first = app.get("/c/101/1/1000").await;

    let other_partner = app.get_with_cookies("/c/102/1/1000", &first.cookie_header()).await;
    let back = app.get_with_cookies("/c/101/1/1000", &other_partner.cookie_header()).await;

    assert_ne!(other_partner.click_id(), first.click_id());
    assert_eq!(back.click_id(), first.click_id(), "the first partner's session is still open");
    let uniques: Vec<bool> = app.clicks().await.iter().map(|click| click.unique).collect();
    assert_eq!(uniques, vec![true, true, false]);
}

#[tokio::test]
async fn the_visitor_id_is_reused_by_every_click_of_the_browser() {
    let app = TestApp::spawn().await;
    let first = app.get("/c/101/1/1000").await;

    app.advance_minutes(120);
    let second = app.get_with_cookies("/c/102/2/1000", &first.cookie_header()).await;
    let impression = app.get_with_cookies("/i/101/1/1000", &second.cookie_header()).await;

    let visitor = first.cookie_value("tally_vid");
    assert_eq!(second.cookie_value("tally_vid"), visitor);
    assert_eq!(impression.cookie_value("tally_vid"), visitor);
    let visitors: Vec<String> = app.clicks().await.iter().map(|click| click.visitor.to_string()).collect();
    assert_eq!(visitors, vec![visitor.clone(), visitor.clone(), visitor]);
}

#[tokio::test]
async fn another_browser_gets_another_visitor_id_and_click_id() {
    let app = TestApp::spawn().await;

    let first = app.get("/c/101/1/1000").await;
    let second = app.get("/c/101/1/1000").await;

    assert_ne!(first.cookie_value("tally_vid"), second.cookie_value("tally_vid"));
    assert_ne!(first.click_id(), second.click_id());
    assert!(app.clicks().await.iter().all(|click| click.unique));
}

#[tokio::test]
async fn a_forged_or_tampered_session_cookie_is_ignored() {
    let app = TestApp::spawn().await;
    let first = app.get("/c/101/1/1000").await;
    let visitor = first.cookie_value("tally_vid");
    let (signature, jar) =
        first.cookie_value("tally_ses").split_once(':').map(|(s, j)| (s.to_owned(), j.to_owned())).unwrap();
    let forged_jar = jar.replacen(&first.click_id(), "ForgedClickId123", 1);
    assert_ne!(forged_jar, jar);
    let attempts = [
        // The real jar with a made-up signature.
        format!("{}:{jar}", "A".repeat(signature.len())),
        // A jar naming another click id, under the real jar's signature.
        format!("{signature}:{forged_jar}"),
        // A jar signed with another key.
        format!("{}:{forged_jar}", Keyed::new("not-the-server-key").sign(&forged_jar)),
        // No signature at all.
        jar.clone(),
    ];

    for cookie in attempts {
        let response = app.get_with_cookies("/c/101/1/1000", &format!("tally_vid={visitor}; tally_ses={cookie}")).await;
        let click_id = response.click_id();
        assert_ne!(click_id, first.click_id(), "{cookie}");
        assert_ne!(click_id, "ForgedClickId123", "{cookie}");
    }
    let clicks = app.clicks().await;
    assert_eq!(clicks.len(), 5);
    assert!(clicks.iter().all(|click| click.unique));
    assert!(clicks.iter().all(|click| click.visitor.as_str() == visitor), "the visitor cookie alone is still honoured");
}

#[tokio::test]
async fn the_session_of_one_program_does_not_continue_in_another() {
    let app = TestApp::spawn().await;
    let mut document = crate::helpers::small_program(2000);
    document["partners"][0]["id"] = serde_json::json!(101);
    document["contracts"][0]["partner"] = serde_json::json!(101);
    app.apply_as(&app.account_sid, &document).await;
    let first = app.get("/c/101/1/1000").await;

    let other_program = app.get_with_cookies("/c/101/1/2000", &first.cookie_header()).await;

    assert_ne!(other_program.click_id(), first.click_id());
    assert!(app.clicks_of(2000).await[0].unique);
}

#[tokio::test]
async fn a_click_after_an_impression_of_the_same_partner_is_still_a_unique_click() {
    let app = TestApp::spawn().await;
    let impression = app.get("/i/101/2/1000").await;

    app.advance_minutes(1);
    app.get_with_cookies("/c/101/2/1000", &impression.cookie_header()).await.location();

    let clicks = app.clicks().await;
    assert_eq!(clicks.len(), 2);
    assert!(clicks[1].unique, "the banner's first click was recorded as a repeat click of its impression");
}
