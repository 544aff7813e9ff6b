//! Several `tally serve` nodes on one PostgreSQL database, sharing nothing else: no
//! memory and no files (each node has its own click journal). Skipped, loudly, where
//! `TEST_POSTGRES_URL` names no server.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Sandbox, Server, Stopped, click, link_client, program_document, run, set_of, spawn_server};

/// A database of its own on the test server, dropped afterwards.
pub(crate) struct Database {
    base: String,
    name: String,
}

fn psql(url: &str, sql: &str) -> bool {
    Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .is_ok_and(|output| output.status.success())
}

impl Database {
    pub(crate) fn create(test: &str) -> Option<Database> {
        let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
            eprintln!("SKIPPED {test}: TEST_POSTGRES_URL is not set");
            return None;
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let name = format!("tally_nodes_{}_{nanos}", std::process::id());
        if !psql(&base, &format!("CREATE DATABASE {name}")) {
            eprintln!("SKIPPED {test}: cannot create a database through psql at {base}");
            return None;
        }
        Some(Database { base, name })
    }

    pub(crate) fn url(&self) -> String {
        let server = self.base.rsplit_once('/').map_or(self.base.as_str(), |(server, _)| server);
        format!("{server}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(&self.base, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// A node: `tally serve` on the shared database, with a click journal of its own.
fn node_command(sandbox: &Sandbox, database: &Database, name: &str) -> Command {
    let journal = sandbox.file(&format!("{name}.clicks"));
    let mut command = sandbox.tally(&["serve", "--listen", "127.0.0.1:0", "--database", &database.url()]);
    command.env("TALLY_CLICK_LOG__DIR", journal);
    command
}

fn cli(sandbox: &Sandbox, database: &Database, args: &[&str]) -> String {
    let mut command = sandbox.tally(args);
    command.args(["--database", &database.url()]);
    run(command, None).success()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).expect("one JSON line")
}

fn stop(server: Server) -> Stopped {
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    stopped
}

#[test]
fn nodes_started_together_on_an_empty_database_run_the_first_start_once() {
    let Some(database) = Database::create("nodes_started_together") else { return };
    let sandbox = Sandbox::new();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| spawn_server(node_command(&sandbox, &database, "a")));
        let second = scope.spawn(|| spawn_server(node_command(&sandbox, &database, "b")));
        (first.join().expect("node a"), second.join().expect("node b"))
    });
    let printed: Vec<String> = [stop(first), stop(second)].into_iter().flat_map(|stopped| stopped.lines).collect();
    let first_runs = printed.iter().filter(|line| line.starts_with("first run")).count();
    assert_eq!(first_runs, 1, "exactly one node shows the first run's secrets: {printed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_applied_on_one_node_is_served_by_the_other_and_both_nodes_clicks_are_stored() {
    let Some(database) = Database::create("a_program_applied_on_one_node") else { return };
    let sandbox = Sandbox::new();
    let node_a = spawn_server(node_command(&sandbox, &database, "a"));
    let node_b = spawn_server(node_command(&sandbox, &database, "b"));
    let account = json(&cli(&sandbox, &database, &["account", "create", "--name", "Acme"]));
    let account_sid = account["account_sid"].as_str().expect("account sid").to_owned();
    let token = json(&cli(&sandbox, &database, &["token", "create", "--account", &account_sid]));
    let token = token["token"].as_str().expect("token").to_owned();
    let client = link_client();

    // Applied through node a's API...
    let mut document = program_document(5);
    let put = |document: Value| client.put(node_a.url("/api/v1/programs/5")).bearer_auth(&token).json(&document).send();
    assert!(put(document.clone()).await.expect("node a answers").status().is_success());
    // ...node b serves it within its refresh interval, without talking to node a.
    let landing = wait_for_landing(&client, &node_b, "https://www.shop.test/").await;
    assert!(landing.starts_with("https://www.shop.test/?irclickid="), "{landing}");

    let mut answered = Vec::new();
    for round in 0..20 {
        let node = if round % 2 == 0 { &node_a } else { &node_b };
        answered.push(click(&client, node, "/c/7/1/5").await);
    }

    // A change made on node a reaches node b too.
    document["program"]["default_landing_page"] = "https://www.shop.test/new".into();
    assert!(put(document).await.expect("node a answers").status().is_success());
    let landing = wait_for_landing(&client, &node_b, "https://www.shop.test/new").await;
    assert!(landing.starts_with("https://www.shop.test/new?irclickid="), "{landing}");
    answered.push(landing.split("irclickid=").nth(1).unwrap_or_default().to_owned());

    stop(node_a);
    stop(node_b);
    let csv = cli(&sandbox, &database, &["clicks", "export", "5", "--format", "csv"]);
    let stored: Vec<String> =
        csv.lines().skip(1).filter_map(|line| line.split(',').next()).map(str::to_owned).collect();
    assert!(set_of(&answered).is_subset(&set_of(&stored)), "every click answered by either node is stored");
}

/// Clicks `/c/7/1/5` on a node until it lands on `prefix`, for up to ten seconds.
async fn wait_for_landing(client: &reqwest::Client, node: &Server, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = client.get(node.url("/c/7/1/5")).send().await.expect("the node answers");
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if location.starts_with(prefix) && location[prefix.len()..].starts_with("?irclickid=") {
            return location;
        }
        assert!(Instant::now() < deadline, "the node never served {prefix}: last answer {}", response.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `psql -At -c SQL`: one line per row.
fn query(url: &str, sql: &str) -> String {
    let output = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]).output();
    String::from_utf8_lossy(&output.expect("psql runs").stdout).trim().to_owned()
}

/// Sends an S2S conversion to a node; returns the submission record.
async fn convert(
    client: &reqwest::Client,
    node: &Server,
    (sid, token): (&str, &str),
    fields: &[(&str, &str)],
) -> Value {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let queued: Value = client
        .post(node.url(&format!("/Advertisers/{sid}/Conversions")))
        .basic_auth(sid, Some(token))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the node answers")
        .json()
        .await
        .expect("a JSON answer");
    let uri = queued["QueuedUri"].as_str().unwrap_or_else(|| panic!("not queued: {queued}")).to_owned();
    let record = client.get(node.url(&uri)).basic_auth(sid, Some(token)).send().await.expect("the node answers");
    record.json().await.expect("a submission record")
}

#[tokio::test]
async fn a_click_on_one_node_is_credited_on_the_other_and_the_locking_job_runs_once_across_nodes() {
    let Some(database) = Database::create("a_click_on_one_node_is_credited_on_the_other") else { return };
    let sandbox = Sandbox::new();
    let account = json(&cli(&sandbox, &database, &["account", "create", "--name", "Acme"]));
    let credentials = (account["account_sid"].as_str().expect("sid"), account["auth_token"].as_str().expect("token"));
    let mut document = program_document(5);
    // Actions lock at the end of their month.
    document["template_terms"][0]["event_payouts"][0]["locking"] = serde_json::json!({"months": 0, "days": 0});
    let file = sandbox.file("program.json");
    std::fs::write(&file, document.to_string()).expect("writable sandbox");
    cli(&sandbox, &database, &["program", "apply", &file.display().to_string(), "--account", credentials.0]);
    let nodes: Vec<Server> = ["a", "b"]
        .map(|name| {
            let mut command = node_command(&sandbox, &database, name);
            command.env("TALLY_SCHEDULER__INTERVAL_SECONDS", "1");
            spawn_server(command)
        })
        .into();
    let client = link_client();

    // A click answered by node a is credited by a conversion sent to node b.
    let click_id = click(&client, &nodes[0], "/c/8/1/5").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sale = [
        ("CampaignId", "5"),
        ("ActionTrackerId", "1"),
        ("EventDate", "NOW"),
        ("Amount", "50"),
        ("CurrencyCode", "USD"),
    ];
    let mut fields = sale.to_vec();
    fields.extend([("OrderId", "NOW-1"), ("ClickId", click_id.as_str())]);
    let credited = convert(&client, &nodes[1], credentials, &fields).await;
    assert!(credited["ActionId"].is_string(), "{credited}");
    assert_eq!(query(&database.url(), "select owner_id from action where order_id = 'NOW-1'"), "8");

    // Orders of last month lock now; the job runs on both nodes every second.
    for (index, order) in ["OLD-1", "OLD-2", "OLD-3", "OLD-4"].iter().enumerate() {
        let mut fields = sale.to_vec();
        fields.retain(|(name, _)| *name != "EventDate");
        fields.extend([("OrderId", *order), ("MediaPartnerId", "7"), ("EventDate", "2026-10-15T12:00:00Z")]);
        convert(&client, &nodes[index % 2], credentials, &fields).await;
    }
    let started = std::time::Instant::now();
    let approved = || query(&database.url(), "select count(*) from action where state = 'APPROVED'");
    while approved() != "4" && started.elapsed() < std::time::Duration::from_secs(15) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(approved(), "4", "the four orders of October are locked");
    // Both nodes keep ticking; nothing is approved or recorded twice.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let updates = query(&database.url(), "select count(*), count(distinct action_id) from action_update");
    assert_eq!(updates, "4|4", "one update per locked action");
    assert_eq!(query(&database.url(), "select state from action where order_id = 'NOW-1'"), "PENDING");
    assert_eq!(query(&database.url(), "select count(*) from lease where name = 'locking'"), "1");
    for node in nodes {
        stop(node);
    }
}

#[tokio::test]
async fn orders_of_one_partner_sent_to_two_nodes_at_once_never_pay_past_a_limit() {
    let Some(database) = Database::create("orders_of_one_partner_sent_to_two_nodes") else { return };
    let sandbox = Sandbox::new();
    let account = json(&cli(&sandbox, &database, &["account", "create", "--name", "Acme"]));
    let credentials = (account["account_sid"].as_str().expect("sid"), account["auth_token"].as_str().expect("token"));
    let mut document = program_document(5);
    document["template_terms"][0]["event_payouts"][0]["limits"] =
        serde_json::json!([{"period": "DAY", "max_actions": 3}]);
    let file = sandbox.file("program.json");
    std::fs::write(&file, document.to_string()).expect("writable sandbox");
    cli(&sandbox, &database, &["program", "apply", &file.display().to_string(), "--account", credentials.0]);
    let nodes: Vec<Server> = ["a", "b"].map(|name| spawn_server(node_command(&sandbox, &database, name))).into();
    let client = link_client();

    // Twelve orders of partner 7 at once, half to each node: each node prices them on
    // what the partner already has, which must include the other node's.
    let orders = (0..12).map(|n| {
        let (client, node) = (&client, &nodes[n % 2]);
        async move {
            let order = format!("RACE-{n}");
            let fields = [
                ("CampaignId", "5"),
                ("ActionTrackerId", "1"),
                ("EventDate", "NOW"),
                ("Amount", "50"),
                ("CurrencyCode", "USD"),
                ("MediaPartnerId", "7"),
                ("OrderId", order.as_str()),
            ];
            convert(client, node, credentials, &fields).await
        }
    });
    for record in futures_util::future::join_all(orders).await {
        assert!(record["ActionId"].is_string(), "{record}");
    }
    let paid = query(&database.url(), "select count(*) filter (where payout_minor > 0), count(*) from action");
    assert_eq!(paid, "3|12", "three paid actions a day across both nodes, the rest kept at zero");
    for node in nodes {
        stop(node);
    }
}
