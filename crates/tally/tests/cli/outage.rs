//! SPEC, store outages: "while PostgreSQL is unreachable, redirects keep answering
//! (their clicks go to the durable local journal); once the database is back they are
//! loaded, in order, exactly once".
//!
//! These tests stop and start the database, so they run their own throwaway PostgreSQL
//! cluster (`initdb` as the `postgres` user, in a temporary directory, on a free port)
//! rather than the shared server named by `TEST_POSTGRES_URL`. On a machine without the
//! PostgreSQL binaries, or when not running as root (`initdb` must run as `postgres`
//! through `runuser`), they say loudly that they were skipped and pass.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{Finished, Sandbox, Server, click, link_client, program_document, run, set_of, spawn_server};

const PROGRAM: u64 = 4300;
/// Partner or media source, and ad: every owner and ad of the test program.
const LINKS: &[(u64, u64)] = &[(7, 1), (8, 2), (9, 1), (901, 2), (7, 2), (8, 1)];
/// How long the database may take to come back into use after it restarts (the
/// loader's backoff tops out at 5 s).
const RECOVERY: Duration = Duration::from_secs(20);

/// A PostgreSQL cluster of its own in a temporary directory, on a free port of
/// 127.0.0.1, with trust authentication for the `postgres` user. Stopped (immediate
/// mode) and removed when dropped.
struct ThrowawayPostgres {
    bin: PathBuf,
    directory: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl ThrowawayPostgres {
    /// Initialises and starts a cluster, or returns why this machine cannot run one.
    fn start() -> Result<ThrowawayPostgres, String> {
        let bin = postgres_bin()?;
        let root = Command::new("id").arg("-u").output().map_err(|error| format!("cannot run `id -u`: {error}"))?;
        if String::from_utf8_lossy(&root.stdout).trim() != "0" {
            return Err("not running as root, so initdb cannot be run as the postgres user through runuser".into());
        }
        let runuser = Command::new("runuser").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if runuser.is_err() {
            return Err("runuser is not installed".into());
        }
        let known = Command::new("id").args(["-u", "postgres"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !known.is_ok_and(|status| status.success()) {
            return Err("there is no `postgres` OS user".into());
        }

        // From here on a failure is a real one: the machine has everything it needs.
        let directory = tempfile::Builder::new().prefix("tally-pg-").tempdir_in("/tmp").expect("a directory in /tmp");
        set_mode(directory.path(), 0o777);
        let mut cluster = ThrowawayPostgres { bin, directory, port: free_port(), running: false };
        let data = cluster.data().display().to_string();
        cluster.postgres_command("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync"]);
        cluster.start_again();
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs one of PostgreSQL's programs as the `postgres` user; asserts it succeeded
    /// and returns its standard output.
    fn postgres_command(&self, program: &str, args: &[&str]) -> String {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(self.bin.join(program)).args(args);
        command.current_dir(self.directory.path());
        // pg_ctl's server writes to the log file, so the pipes close when pg_ctl ends.
        let finished = run(command, None);
        assert!(
            finished.status.success(),
            "{program} {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
            finished.status,
            finished.stdout,
            finished.stderr,
            self.log()
        );
        finished.stdout
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.postgres_command("pg_ctl", &all);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("server.log")).unwrap_or_default()
    }

    /// Starts the stopped cluster on the same port.
    fn start_again(&mut self) {
        let socket_dir = self.directory.path().display().to_string();
        let log = self.directory.path().join("server.log").display().to_string();
        let options = format!("-p {} -k {socket_dir} -c listen_addresses=127.0.0.1", self.port);
        self.pg_ctl(&["-o", &options, "-l", &log, "-w", "-t", "20", "start"]);
        self.running = true;
    }

    /// Stops the cluster (fast mode: sessions are ended, nothing is lost).
    fn stop(&mut self) {
        self.pg_ctl(&["-m", "fast", "-w", "-t", "20", "stop"]);
        self.running = false;
    }

    fn create_database(&self, name: &str) {
        let port = self.port.to_string();
        self.postgres_command("createdb", &["-h", "127.0.0.1", "-p", &port, name]);
    }

    /// `psql -At -c SQL` on a database: one line per row, columns separated by `|`.
    fn query(&self, database: &str, sql: &str) -> Vec<String> {
        let port = self.port.to_string();
        let stdout =
            self.postgres_command("psql", &["-h", "127.0.0.1", "-p", &port, "-d", database, "-X", "-At", "-c", sql]);
        stdout.lines().map(str::to_owned).collect()
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // The TempDir removes the directory (root may remove the postgres user's files).
    }
}

/// `/usr/lib/postgresql/VERSION/bin` of the newest installed version holding initdb.
fn postgres_bin() -> Result<PathBuf, String> {
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|error| format!("no PostgreSQL installation in /usr/lib/postgresql ({error})"))?;
    let mut versions: Vec<(u32, PathBuf)> = versions
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".into())
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("the directory's mode can be set");
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a bound address").port()
}

/// A cluster for a test, or `None` after saying loudly why the test is skipped.
fn throwaway_postgres(test: &str) -> Option<ThrowawayPostgres> {
    match ThrowawayPostgres::start() {
        Ok(cluster) => Some(cluster),
        Err(reason) => {
            eprintln!("SKIPPED {test}: cannot run a throwaway PostgreSQL cluster: {reason}");
            None
        }
    }
}

/// `tally ARGS --database URL` run to completion in the sandbox.
fn run_on(sandbox: &Sandbox, url: &str, args: &[&str]) -> Finished {
    let mut command = sandbox.tally(args);
    command.args(["--database", url]);
    run(command, None)
}

/// A brand account and [`program_document`] with id `PROGRAM`, made through the CLI on
/// the PostgreSQL database; returns the account's SID and auth token.
fn set_up_program(sandbox: &Sandbox, url: &str) -> (String, String) {
    let credentials = run_on(sandbox, url, &["account", "create", "--name", "Outage brand"]).json_line();
    let account_sid = credentials["account_sid"].as_str().expect("an account_sid").to_owned();
    let auth_token = credentials["auth_token"].as_str().expect("an auth_token").to_owned();
    let file = sandbox.file("program.json");
    let document = serde_json::to_string_pretty(&program_document(PROGRAM)).expect("a document");
    std::fs::write(&file, document).expect("writable sandbox");
    let file = file.display().to_string();
    let report = run_on(sandbox, url, &["program", "apply", &file, "--account", &account_sid]).json_line();
    assert_eq!(report["outcome"], "created", "{report}");
    (account_sid, auth_token)
}

/// Sends an S2S conversion for `click_id`; returns the status and the body.
async fn convert(
    client: &reqwest::Client,
    server: &Server,
    (sid, token): &(String, String),
    order: &str,
    click_id: &str,
) -> (StatusCode, String, Option<String>) {
    let body = format!(
        "CampaignId={PROGRAM}&ActionTrackerId=1&EventDate=NOW&OrderId={order}&ClickId={click_id}&Amount=20&CurrencyCode=USD"
    );
    let response = client
        .post(server.url(&format!("/Advertisers/{sid}/Conversions")))
        .basic_auth(sid, Some(token))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let retry_after = response.headers().get("retry-after").and_then(|value| value.to_str().ok()).map(str::to_owned);
    (status, response.text().await.expect("a body"), retry_after)
}

/// Clicks `count` links (each a new click, since the client keeps no cookies) and
/// appends their click ids to `answered`, in the order they were answered.
async fn click_links(client: &reqwest::Client, server: &Server, count: usize, answered: &mut Vec<String>) {
    for _ in 0..count {
        let (owner, ad) = LINKS[answered.len() % LINKS.len()];
        let link = format!("/c/{owner}/{ad}/{PROGRAM}?subId1=outage&subId2={}", answered.len());
        answered.push(click(client, server, &link).await);
    }
}

async fn readyz(client: &reqwest::Client, server: &Server) -> StatusCode {
    client.get(server.url("/readyz")).send().await.expect("the server answers /readyz").status()
}

/// The value of a metric on `/metrics` (a gauge, or a counter with its `_total` name).
async fn metric(client: &reqwest::Client, server: &Server, name: &str) -> u64 {
    let response = client.get(server.url("/metrics")).send().await.expect("the server answers /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("a metrics text");
    let prefix = format!("{name} ");
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} on /metrics:\n{text}"));
    value.trim().parse().unwrap_or_else(|_| panic!("{name} is not a count: {value:?}"))
}

/// `tally_click_log_backlog`: clicks in the journal not yet in the store.
async fn backlog(client: &reqwest::Client, server: &Server) -> u64 {
    metric(client, server, "tally_click_log_backlog").await
}

/// Polls until the backlog gauge reads `expected`; returns how long that took, or
/// panics with what was last seen. (The loader publishes the gauge at the top of each
/// round, so while it backs off the gauge can lag the journal by up to its longest
/// retry, 5 s.)
async fn wait_for_backlog(client: &reqwest::Client, server: &Server, expected: u64) -> Duration {
    let started = Instant::now();
    loop {
        let backlog = backlog(client, server).await;
        if backlog == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "after {:?} the backlog gauge reads {backlog}, not {expected}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until `/readyz` answers 200, the loader has loaded `answered` clicks in all
/// (`tally_clicks_loaded_total`) and the backlog gauge reads 0; returns how long that
/// took, or panics with what was last seen. The backlog gauge alone is not enough: it
/// still reads 0 for a moment after new clicks are answered.
async fn wait_until_loaded(client: &reqwest::Client, server: &Server, answered: usize) -> Duration {
    let started = Instant::now();
    loop {
        let ready = readyz(client, server).await;
        let loaded = metric(client, server, "tally_clicks_loaded_total").await;
        let backlog = backlog(client, server).await;
        if ready == StatusCode::OK && loaded == answered as u64 && backlog == 0 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < RECOVERY,
            "after {RECOVERY:?}, /readyz is {ready}, {loaded} of {answered} answered clicks are loaded \
             and the backlog gauge reads {backlog}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_keep_answering_while_postgres_is_down_and_every_click_is_loaded_once_it_is_back() {
    let test = "redirects_keep_answering_while_postgres_is_down_and_every_click_is_loaded_once_it_is_back";
    let Some(mut postgres) = throwaway_postgres(test) else { return };
    let started = Instant::now();
    postgres.create_database("tally");
    let url = postgres.url("tally");
    let sandbox = Sandbox::new();
    let credentials = set_up_program(&sandbox, &url);
    let server = spawn_server(sandbox.tally(&["serve", "--listen", "127.0.0.1:0", "--database", &url]));
    let client = link_client();

    // Up: clicks are answered and loaded.
    let mut answered = Vec::new();
    click_links(&client, &server, 5, &mut answered).await;
    let first_load = wait_until_loaded(&client, &server, answered.len()).await;
    assert_eq!(postgres.query("tally", "select count(*) from click"), ["5"]);

    // Down: redirects keep answering from the journal; the node says it is not ready
    // and its backlog grows.
    postgres.stop();
    let down = Instant::now();
    click_links(&client, &server, 12, &mut answered).await;
    let clicking_while_down = down.elapsed();
    assert_eq!(readyz(&client, &server).await, StatusCode::SERVICE_UNAVAILABLE, "/readyz while PostgreSQL is down");
    let backlog_lag = wait_for_backlog(&client, &server, 12).await;
    // The loader keeps failing for a while (and backs off) without losing anything.
    tokio::time::sleep(Duration::from_secs(2)).await;
    click_links(&client, &server, 3, &mut answered).await;
    let backlog_lag_later = wait_for_backlog(&client, &server, 15).await;
    assert_eq!(readyz(&client, &server).await, StatusCode::SERVICE_UNAVAILABLE, "/readyz while PostgreSQL is down");
    assert_eq!(metric(&client, &server, "tally_clicks_loaded_total").await, 5, "nothing loaded while down");
    // A conversion cannot be stored, so it is not acknowledged: a retryable 503.
    let (status, body, retry_after) = convert(&client, &server, &credentials, "O-OUTAGE", &answered[0]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("\"Status\":\"ERROR\""), "the compatible error shape: {body}");
    assert!(retry_after.is_some(), "a 503 says when to retry");
    let failures = metric(&client, &server, "tally_click_load_failures_total").await;
    assert!(failures > 0, "the loader must have tried and failed while PostgreSQL was down");

    // Back: everything waiting is loaded, and the node is ready again.
    postgres.start_again();
    let recovery = wait_until_loaded(&client, &server, answered.len()).await;
    click_links(&client, &server, 2, &mut answered).await;
    let last_load = wait_until_loaded(&client, &server, answered.len()).await;
    // The brand's retry is taken, once.
    let (status, body, _) = convert(&client, &server, &credentials, "O-OUTAGE", &answered[0]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("QUEUED"), "{body}");

    let stopped = tokio::task::spawn_blocking(move || server.terminate()).await.expect("terminate");
    assert!(
        stopped.status.success(),
        "SIGTERM must end tally with 0, not {}; stderr:\n{}",
        stopped.status,
        stopped.stderr
    );

    // Exactly once, in the order answered (one journal lane, so one order).
    let stored = postgres.query("tally", "select click_id from click order by click_seq");
    assert_eq!(answered.len(), 22);
    assert_eq!(set_of(&answered).len(), answered.len(), "every 302 carries a new click id");
    assert_eq!(stored, answered, "the store must hold every answered click once, in the order answered");
    let duplicates = postgres.query("tally", "select count(*) from click group by click_id having count(*) > 1");
    assert!(duplicates.is_empty(), "duplicated click ids: {duplicates:?}");
    let actions = postgres.query("tally", "select order_id, owner_id from action");
    assert_eq!(actions, ["O-OUTAGE|7"], "the retried conversion made one action, credited to the click's partner");

    // The CLI reads the same clicks back.
    let export = run_on(&sandbox, &url, &["clicks", "export", &PROGRAM.to_string(), "--format", "csv"]).success();
    let exported: Vec<&str> = export.lines().skip(1).map(|line| line.split(',').next().unwrap_or_default()).collect();
    assert_eq!(exported, answered.iter().map(String::as_str).collect::<Vec<_>>(), "tally clicks export");

    println!(
        "outage: {} clicks answered (15 while PostgreSQL was down, the first 12 in {clicking_while_down:?}); \
         backlog gauge reached 12 after {backlog_lag:?} and 15 after {backlog_lag_later:?}; \
         {failures} failed load attempts; loaded {first_load:?} after the first clicks, \
         {recovery:?} after PostgreSQL came back, {last_load:?} after the last; SIGTERM took {:?}; whole test {:?}",
        answered.len(),
        stopped.took,
        started.elapsed()
    );
}

#[test]
fn tally_refuses_to_start_when_postgres_is_down_with_a_clear_message() {
    let test = "tally_refuses_to_start_when_postgres_is_down_with_a_clear_message";
    let Some(mut postgres) = throwaway_postgres(test) else { return };
    postgres.create_database("tally");
    postgres.stop();
    let url = postgres.url("tally");
    let sandbox = Sandbox::new();

    let started = Instant::now();
    let finished = run(sandbox.tally(&["serve", "--listen", "127.0.0.1:0", "--database", &url]), None);
    let took = started.elapsed();
    assert!(!finished.stdout.contains("listening on"), "tally serve said it listens:\n{}", finished.stdout);
    let stderr = finished.failure();
    let target = format!("postgres@127.0.0.1:{}/tally", postgres.port);
    assert!(stderr.contains("cannot reach postgres"), "stderr must say PostgreSQL cannot be reached:\n{stderr}");
    assert!(stderr.contains(&target), "stderr must name {target}:\n{stderr}");
    assert!(took < Duration::from_secs(15), "tally serve took {took:?} to give up");
    println!("refused start: exited after {took:?}; stderr:\n{stderr}");
}
