//! `tally clicks export`: clicks answered over HTTP, read back from the store.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Sandbox, click, link_client, set_of, start_server};

const PROGRAM: u64 = 3100;

/// A store holding clicks answered on both sides of a point in time.
struct ClickedStore {
    sandbox: Sandbox,
    /// (click id, partner) answered before `boundary`.
    before: Vec<(String, u64)>,
    /// (click id, partner) answered after it.
    after: Vec<(String, u64)>,
    /// RFC 3339, between the two groups.
    boundary: String,
}

impl ClickedStore {
    fn all_ids(&self) -> Vec<String> {
        self.before.iter().chain(&self.after).map(|(id, _)| id.clone()).collect()
    }

    fn ids_of_partner(&self, partner: u64) -> Vec<String> {
        self.before.iter().chain(&self.after).filter(|(_, owner)| *owner == partner).map(|(id, _)| id.clone()).collect()
    }
}

async fn clicked_store() -> ClickedStore {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(PROGRAM);
    let server = start_server(&sandbox);
    let client = link_client();
    let mut before = Vec::new();
    for _ in 0..3 {
        let link = format!("/c/7/1/{PROGRAM}?subId1=alpha&subId2=beta&sharedId=shared-7");
        before.push((click(&client, &server, &link).await, 7));
    }
    before.push((click(&client, &server, &format!("/c/8/2/{PROGRAM}")).await, 8));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let boundary = jiff::Timestamp::now().to_string();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = vec![
        (click(&client, &server, &format!("/c/8/1/{PROGRAM}?subId1=late")).await, 8),
        (click(&client, &server, &format!("/c/901/2/{PROGRAM}")).await, 901),
        (click(&client, &server, &format!("/c/7/2/{PROGRAM}?subId3=gamma")).await, 7),
    ];
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    ClickedStore { sandbox, before, after, boundary }
}

fn click_ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|row| row["click_id"].as_str().expect("a click_id").to_owned()).collect()
}

#[tokio::test]
async fn clicks_export_lists_every_answered_click_as_json_by_default_and_as_csv() {
    let store = clicked_store().await;
    let sent = store.all_ids();
    assert_eq!(set_of(&sent).len(), sent.len(), "a client without cookies gets a new click id each time");

    let rows = store.sandbox.export_clicks(PROGRAM, &[]);
    assert_eq!(set_of(&click_ids(&rows)), set_of(&sent));
    assert_eq!(rows.len(), sent.len());
    for row in &rows {
        assert!(row.get("sub_id1").is_none(), "the operator sees no sub ids: {row}");
        assert_eq!(row["source"], "link", "{row}");
    }
    let shared = rows.iter().filter(|row| row["shared_id"] == "shared-7").count();
    assert_eq!(shared, 3);

    let csv = store.sandbox.run(&["clicks", "export", &PROGRAM.to_string(), "--format", "csv"]).success();
    let mut lines = csv.lines();
    let header = lines.next().expect("a header");
    assert!(header.starts_with("click_id,time,partner_id,") && !header.contains("sub_id"), "{header}");
    let csv_ids: Vec<String> = lines.map(|line| line.split(',').next().unwrap_or_default().to_owned()).collect();
    assert_eq!(set_of(&csv_ids), set_of(&sent));
    assert_eq!(csv_ids.len(), sent.len());
}

#[tokio::test]
async fn clicks_export_for_one_partner_shows_only_its_clicks_with_their_sub_ids() {
    let store = clicked_store().await;
    let rows = store.sandbox.export_clicks(PROGRAM, &["--partner", "7"]);
    assert_eq!(set_of(&click_ids(&rows)), set_of(&store.ids_of_partner(7)));
    assert!(rows.iter().all(|row| row["partner_id"] == 7), "{rows:?}");
    let with_sub_ids = rows.iter().filter(|row| row["sub_id1"] == "alpha" && row["sub_id2"] == "beta").count();
    assert_eq!(with_sub_ids, 3, "{rows:?}");
    assert!(rows.iter().any(|row| row["sub_id3"] == "gamma"), "{rows:?}");

    let csv = store.sandbox.run(&["clicks", "export", &PROGRAM.to_string(), "--partner", "7", "--format", "csv"]);
    let csv = csv.success();
    let header = csv.lines().next().expect("a header");
    assert!(header.contains(",sub_id1,sub_id2,sub_id3,"), "{header}");
    assert_eq!(csv.lines().count(), 1 + store.ids_of_partner(7).len());
    assert!(csv.contains(",alpha,beta,"), "{csv}");

    let media_source = store.sandbox.export_clicks(PROGRAM, &["--partner", "901"]);
    assert_eq!(set_of(&click_ids(&media_source)), set_of(&store.ids_of_partner(901)));
}

#[tokio::test]
async fn clicks_export_keeps_to_the_since_and_until_range() {
    let store = clicked_store().await;
    let before_ids: Vec<String> = store.before.iter().map(|(id, _)| id.clone()).collect();
    let after_ids: Vec<String> = store.after.iter().map(|(id, _)| id.clone()).collect();

    let until = store.sandbox.export_clicks(PROGRAM, &["--until", &store.boundary]);
    assert_eq!(set_of(&click_ids(&until)), set_of(&before_ids));
    let since = store.sandbox.export_clicks(PROGRAM, &["--since", &store.boundary]);
    assert_eq!(set_of(&click_ids(&since)), set_of(&after_ids));
    let csv =
        store.sandbox.run(&["clicks", "export", &PROGRAM.to_string(), "--since", &store.boundary, "--format", "csv"]);
    assert_eq!(csv.success().lines().count(), 1 + after_ids.len());
    let nothing = store.sandbox.export_clicks(PROGRAM, &["--until", "2020-01-01T00:00:00Z"]);
    assert!(nothing.is_empty(), "{nothing:?}");
}

#[test]
fn clicks_export_refuses_a_range_or_format_it_cannot_read() {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(PROGRAM);
    let program = PROGRAM.to_string();
    let stderr = sandbox.run(&["clicks", "export", &program, "--since", "yesterday"]).failure();
    assert!(stderr.contains("--since") && stderr.contains("yesterday"), "{stderr}");
    let stderr = sandbox.run(&["clicks", "export", &program, "--until", "2026-13-01T00:00:00Z"]).failure();
    assert!(stderr.contains("--until"), "{stderr}");
    let stderr = sandbox.run(&["clicks", "export", &program, "--format", "xml"]).failure();
    assert!(stderr.contains("--format") && stderr.contains("xml"), "{stderr}");
    let range = ["--since", "2026-01-02T00:00:00Z", "--until", "2026-01-01T00:00:00Z"];
    let stderr = sandbox.run(&[&["clicks", "export", program.as_str()][..], &range[..]].concat()).failure();
    assert!(stderr.contains("since must be before until"), "{stderr}");
}
