//! `tally serve --demo`: the demo program is a valid document whose terms use every
//! kind of payout rule, its shoppers click, buy and return things through the real
//! edge, and its actions explain what they pay.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Sandbox, Server, link_client, run, spawn_server};

/// The document `tally serve --demo` embeds.
const DEMO_DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/demo/program.json");
const DEMO_PROGRAM: &str = "1000";

/// The event payout for online sales (event type 1) in the template terms `id`.
fn sale_terms(document: &Value, id: &Value) -> Value {
    let terms = document["template_terms"].as_array().expect("template_terms");
    let terms = terms.iter().find(|terms| terms["id"] == *id).unwrap_or_else(|| panic!("template terms {id}"));
    let payouts = terms["event_payouts"].as_array().expect("event_payouts");
    payouts.iter().find(|payout| payout["event_type"] == 1).cloned().unwrap_or_else(|| panic!("sale terms in {id}"))
}

fn non_empty<'a>(object: &'a Value, key: &str) -> &'a Vec<Value> {
    let list = object[key].as_array().unwrap_or_else(|| panic!("{key} is a list in {object}"));
    assert!(!list.is_empty(), "{key} is empty in {object}");
    list
}

fn timestamp(value: &Value) -> jiff::Timestamp {
    value.as_str().and_then(|text| text.parse().ok()).unwrap_or_else(|| panic!("{value} is an RFC 3339 time"))
}

#[test]
fn the_demo_program_applies_and_its_terms_use_tiers_a_bonus_a_restriction_a_limit_and_a_holiday_rate() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    let report = sandbox.run(&["program", "apply", DEMO_DOCUMENT, "--account", &account_sid]).json_line();
    assert_eq!(report["outcome"], "created", "{report}");
    let exported = sandbox.run(&["program", "export", DEMO_PROGRAM]).success();
    let document: Value = serde_json::from_str(&exported).expect("the export is JSON");

    let contracts = non_empty(&document, "contracts");
    let now = jiff::Timestamp::now();
    for contract in contracts {
        assert!(timestamp(&contract["start"]) < now, "a demo contract must be in force now: {contract}");
    }
    let standard = sale_terms(&document, &contracts[0]["template_terms"]);
    non_empty(&standard, "restrictions");
    non_empty(&standard, "tiers");
    non_empty(&standard, "limits");
    non_empty(&standard, "bonuses");

    // A holiday rate above the standard one, in force on Black Friday 2026.
    let black_friday: jiff::Timestamp = "2026-11-27T12:00:00-05:00".parse().expect("a time");
    let holiday = contracts
        .iter()
        .filter_map(|contract| contract["scheduled_terms"].as_array())
        .flatten()
        .find(|span| timestamp(&span["start"]) <= black_friday && black_friday < timestamp(&span["end"]))
        .unwrap_or_else(|| panic!("no scheduled terms cover Black Friday: {contracts:?}"));
    let holiday = sale_terms(&document, &holiday["template_terms"]);
    let rate = |terms: &Value| terms["default_payout"]["rate"].as_str().and_then(|rate| rate.parse::<f64>().ok());
    assert!(rate(&holiday) > rate(&standard), "holiday {holiday} vs standard {standard}");
}

#[test]
fn serve_demo_listens_first_and_fills_its_own_store_with_clicks() {
    let sandbox = Sandbox::new();
    // No --database: the demo keeps to tally-demo.db in the working directory.
    let server = spawn_server(sandbox.tally(&["serve", "--demo", "--listen", "127.0.0.1:0"]));
    assert_eq!(server.address.ip().to_string(), "127.0.0.1");
    let export = || {
        let command = sandbox.tally(&["clicks", "export", "1000", "--database", "sqlite:tally-demo.db"]);
        let rows: Value = serde_json::from_str(&run(command, None).success()).expect("JSON rows");
        rows.as_array().map_or(0, Vec::len)
    };
    let started = Instant::now();
    let mut clicks = 0;
    while clicks == 0 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(500));
        clicks = export();
    }
    assert!(clicks > 0, "the demo recorded no click in {:?}", started.elapsed());
    // Its shoppers also buy, through the S2S API and through the tag, and the shop
    // reports some returns.
    let wanted = ["Conversion:s2s", "Conversion:tag", "Modification:s2s"];
    let seen = || demo_submissions(&sandbox.file("tally-demo.db"));
    let mut kinds = seen();
    while !wanted.iter().all(|kind| kinds.contains(*kind)) && started.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(500));
        kinds = seen();
    }
    assert!(wanted.iter().all(|kind| kinds.contains(*kind)), "applied demo submissions: {kinds:?}");
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert!(stopped.lines.iter().any(|line| line.starts_with("demo: program 1000")), "{:?}", stopped.lines);
    // Dashboard logins for the demo's brand and one of its partners, shown once.
    for login in ["for the brand: acme / ", "for partner Trail Blog (101): trailblog / "] {
        assert!(stopped.lines.iter().any(|line| line.contains(login)), "{login:?} in {:?}", stopped.lines);
    }
    assert!(stopped.lines.iter().any(|line| line.starts_with("dashboard: http://127.0.0.1:")), "{:?}", stopped.lines);
    assert!(sandbox.file("tally-demo.db").exists());
    assert!(!sandbox.file("tally.db").exists(), "the demo never touches the default store");
}

/// The kinds and channels (`Conversion:tag`) of the demo store's submissions that
/// made or changed an action.
fn demo_submissions(path: &std::path::Path) -> BTreeSet<String> {
    use tally_app::ports::Store;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let store = tally_sqlite::SqliteStore::open(path, tally_sqlite::SqliteOptions::default()).expect("the store");
        let mut channels = BTreeSet::new();
        for submission in store.submissions_after("", 100_000).await.expect("submissions") {
            if submission.action_id.is_some() {
                channels.insert(format!("{}:{}", submission.kind, submission.channel));
            }
        }
        channels
    })
}

#[tokio::test]
async fn demo_actions_show_their_payout_lines_and_a_note_within_seconds() {
    let sandbox = Sandbox::new();
    let server = spawn_server(sandbox.tally(&["serve", "--demo", "--listen", "127.0.0.1:0"]));
    // The first run's account owns the demo; its credentials are printed once.
    let banner: Vec<String> = (0..5).map(|_| server.next_line()).collect();
    let labelled = |label: &str| {
        let line = banner.iter().find_map(|line| line.trim_start().strip_prefix(label));
        line.map(|value| value.trim().to_owned()).unwrap_or_else(|| panic!("no {label:?} in {banner:?}"))
    };
    let (account_sid, auth_token) = (labelled("account_sid:"), labelled("auth_token:"));
    let token_command =
        sandbox.tally(&["token", "create", "--account", &account_sid, "--database", "sqlite:tally-demo.db"]);
    let token: Value = serde_json::from_str(&run(token_command, None).success()).expect("a JSON line");
    let token = token["token"].as_str().expect("a token").to_owned();

    let mut checked = BTreeSet::new();
    let started = Instant::now();
    let explained = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(action) = explained_action(&server, (&account_sid, &auth_token), &token, &mut checked).await {
            break action;
        }
        // The first note comes with a gift card (a restriction; shoppers buy one now and
        // then) or, at the latest, with partner 101's or 104's tenth sale of the month
        // (a tier), within the first minute of the demo's traffic.
        assert!(started.elapsed() < Duration::from_secs(60), "no demo action had a payout note: {checked:?}");
    };
    for note in non_empty(&explained, "payoutNotes") {
        let code = note["code"].as_str().unwrap_or_default();
        assert!(["RESTRICTED", "TIER", "BONUS"].contains(&code), "a demo note is a restriction, tier or bonus: {note}");
        assert!(note["message"].as_str().is_some_and(|message| !message.is_empty()), "{note}");
    }
    for line in non_empty(&explained, "payoutLines") {
        assert!(line["amount"].is_string() && line["kind"].is_string(), "{line}");
    }
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
}

/// The first demo action, from the compatible listing, whose detail in the native API
/// has a payout note; skips and adds to `checked` the actions already read.
async fn explained_action(
    server: &Server,
    (account_sid, auth_token): (&str, &str),
    token: &str,
    checked: &mut BTreeSet<String>,
) -> Option<Value> {
    let client = link_client();
    let listing = server.url(&format!("/Advertisers/{account_sid}/Actions?CampaignId={DEMO_PROGRAM}"));
    let listing = client.get(&listing).basic_auth(account_sid, Some(auth_token)).send().await;
    let listing: Value = listing.expect("the server answers").json().await.expect("a JSON listing");
    let actions = listing["Actions"].as_array().into_iter().flatten();
    let ids: Vec<String> = actions.filter_map(|action| action["Id"].as_str().map(str::to_owned)).collect();
    for id in ids {
        if !checked.insert(id.clone()) {
            continue;
        }
        let detail = server.url(&format!("/api/v1/programs/{DEMO_PROGRAM}/actions/{id}"));
        let action = client.get(&detail).bearer_auth(token).send().await.expect("the server answers");
        assert_eq!(action.status(), reqwest::StatusCode::OK, "{detail}");
        let action: Value = action.json().await.expect("a JSON action");
        if action["payoutNotes"].as_array().is_some_and(|notes| !notes.is_empty()) {
            return Some(action);
        }
    }
    None
}
