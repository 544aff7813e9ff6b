//! `tally store copy`: a store built through the command line and the edge, copied
//! into a new SQLite file or PostgreSQL database, reads back the same.

use serde_json::Value;

use crate::helpers::{Sandbox, click, link_client, program_document, run, start_server};
use crate::nodes::Database;

const PROGRAM: u64 = 4200;

/// A SQLite store with an account, a token, a program at revision 2, clicks (some of
/// them possibly still in the stopped server's journal), a credited and a refused
/// conversion; returns the account and the number of clicks.
async fn built_store(sandbox: &Sandbox) -> (String, usize) {
    let credentials = sandbox.run(&["account", "create", "--name", "Test brand"]).json_line();
    let account_sid = credentials["account_sid"].as_str().expect("an account_sid").to_owned();
    let auth_token = credentials["auth_token"].as_str().expect("an auth_token").to_owned();
    sandbox.run(&["token", "create", "--account", &account_sid]).json_line();
    let mut document = program_document(PROGRAM);
    assert_eq!(sandbox.apply_program(&account_sid, &document)["outcome"], "created");
    document["program"]["default_landing_page"] = "https://www.shop.test/new".into();
    sandbox.apply_program(&account_sid, &document);
    let server = start_server(sandbox);
    let client = link_client();
    let links = ["/c/7/1/{P}?subId1=alpha", "/c/8/2/{P}", "/c/901/1/{P}?sharedId=s-1", "/c/7/2/{P}?subId3=g"];
    let mut clicks = 0;
    for round in 0..3 {
        for link in links {
            let click_id = click(&client, &server, &link.replace("{P}", &PROGRAM.to_string())).await;
            clicks += 1;
            if round == 0 && clicks <= 2 {
                // The first credits partner 7; the second names an unknown click id
                // and a new customer, so nothing leads to a partner: refused and kept.
                let click_id = if clicks == 1 { click_id } else { "unknown".to_owned() };
                let order = format!("O-{clicks}");
                let form = [
                    ("CampaignId", PROGRAM.to_string()),
                    ("ActionTrackerId", "1".into()),
                    ("EventDate", "NOW".into()),
                    ("OrderId", order),
                    ("ClickId", click_id),
                    ("Amount", "12.34".into()),
                    ("CurrencyCode", "USD".into()),
                    ("CustomerId", format!("C-{clicks}")),
                ];
                let response = client
                    .post(server.url(&format!("/Advertisers/{account_sid}/Conversions")))
                    .basic_auth(&account_sid, Some(&auth_token))
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish())
                    .send()
                    .await
                    .expect("the server answers");
                assert_eq!(response.status(), reqwest::StatusCode::OK);
            }
        }
        if round == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    (account_sid, clicks)
}

fn on(sandbox: &Sandbox, database: &str, args: &[&str]) -> String {
    let mut command = sandbox.tally(args);
    command.args(["--database", database]);
    run(command, None).success()
}

/// Copies the sandbox's store to `target`, checks the report and that both stores
/// export the same, and that a second copy into the now full target is refused.
async fn copies_and_verifies(sandbox: &Sandbox, target: &str) {
    let (account_sid, clicks) = built_store(sandbox).await;
    let source = sandbox.database();
    let copy = run(sandbox.tally(&["store", "copy", "--from", &source, "--to", target]), None);
    let report: Value = copy.json_line();
    assert_eq!(report["accounts"], 1, "{report}");
    assert_eq!(report["tokens"], 1, "{report}");
    assert_eq!(report["users"], 1, "the first run's admin: {report}");
    assert_eq!(report["settings"], 1, "the first run's secret: {report}");
    assert!(report["checkpoints"].as_u64() >= Some(1), "the server's journal lanes: {report}");
    assert_eq!(report["programs"], 1, "{report}");
    assert_eq!(report["clicks"], clicks, "{report}");
    assert_eq!((report["submissions"].as_u64(), report["actions"].as_u64()), (Some(2), Some(1)), "{report}");
    assert!(report["identity_links"].as_u64() >= Some(2), "the customer linked to the clicking browser: {report}");
    let checksum = report["checksum"].as_str().expect("a checksum");
    assert!(checksum.len() == 64 && checksum.bytes().all(|b| b.is_ascii_hexdigit()), "{report}");

    let program = PROGRAM.to_string();
    for format in ["json", "csv"] {
        let args = ["clicks", "export", program.as_str(), "--format", format];
        let (from, to) = (on(sandbox, &source, &args), on(sandbox, target, &args));
        assert_eq!(from, to, "the {format} exports differ");
        let rows = if format == "json" {
            serde_json::from_str::<Vec<Value>>(&from).expect("a JSON array").len()
        } else {
            from.lines().count() - 1
        };
        assert_eq!(rows, clicks, "every click is exported: {from}");
    }
    let args = ["program", "export", program.as_str()];
    let document = on(sandbox, &source, &args);
    assert_eq!(document, on(sandbox, target, &args));
    assert!(document.contains("https://www.shop.test/new"), "{document}");

    // The program kept its revision and owner: applying the same document to the copy
    // changes nothing.
    let file = sandbox.file("exported.json");
    std::fs::write(&file, &document).expect("writable sandbox");
    let file = file.display().to_string();
    let apply: Value =
        serde_json::from_str(&on(sandbox, target, &["program", "apply", &file, "--account", &account_sid]))
            .expect("one JSON line");
    assert_eq!((apply["outcome"].as_str(), apply["revision"].as_i64()), (Some("unchanged"), Some(2)), "{apply}");

    let again = run(sandbox.tally(&["store", "copy", "--from", &source, "--to", target]), None).failure();
    assert!(again.contains("target store is not empty"), "{again}");
}

#[tokio::test]
async fn a_sqlite_store_is_copied_into_a_new_sqlite_file_and_verified() {
    let sandbox = Sandbox::new();
    let target = format!("sqlite:{}", sandbox.file("copy.db").display());
    copies_and_verifies(&sandbox, &target).await;
}

#[tokio::test]
async fn a_sqlite_store_is_copied_into_postgres_and_verified() {
    let Some(database) = Database::create("a_sqlite_store_is_copied_into_postgres_and_verified") else { return };
    let sandbox = Sandbox::new();
    copies_and_verifies(&sandbox, &database.url()).await;
}

#[test]
fn a_missing_source_is_refused() {
    let sandbox = Sandbox::new();
    let missing = format!("sqlite:{}", sandbox.file("none.db").display());
    let target = format!("sqlite:{}", sandbox.file("copy.db").display());
    let stderr = run(sandbox.tally(&["store", "copy", "--from", &missing, "--to", &target]), None).failure();
    assert!(stderr.contains("there is no Tally database"), "{stderr}");
}
