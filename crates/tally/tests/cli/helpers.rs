//! Running the real `tally` binary: a sandbox directory per test, commands with a clean
//! environment and a deadline, a server read line by line, and an HTTP client that
//! behaves like a link checker (no redirects followed, no cookies kept).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary under test.
pub(crate) const TALLY: &str = env!("CARGO_BIN_EXE_tally");
/// The longest any one command or server start may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// A temporary directory holding one test's store; removed when dropped.
pub(crate) struct Sandbox {
    directory: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        Sandbox { directory: tempfile::tempdir().expect("a temporary directory") }
    }

    pub(crate) fn path(&self) -> &Path {
        self.directory.path()
    }

    /// A file in the sandbox.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// `sqlite:$DIR/tally.db`.
    pub(crate) fn database(&self) -> String {
        format!("sqlite:{}", self.file("tally.db").display())
    }

    /// `tally ARGS` in the sandbox with only PATH, HOME and a quiet log level in its
    /// environment: the binary refuses unknown `TALLY_*` variables, so nothing may leak
    /// in from the environment the tests run in.
    pub(crate) fn tally(&self, args: &[&str]) -> Command {
        let mut command = Command::new(TALLY);
        command.env_clear().current_dir(self.path()).env("TALLY_LOG", "warn").args(args);
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
    }

    /// `tally ARGS --database sqlite:$DIR/tally.db`.
    pub(crate) fn tally_on_store(&self, args: &[&str]) -> Command {
        let mut command = self.tally(args);
        command.args(["--database", &self.database()]);
        command
    }

    /// Runs `tally ARGS --database …` to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Finished {
        run(self.tally_on_store(args), None)
    }

    /// Creates a brand account; returns its SID.
    pub(crate) fn create_account(&self) -> String {
        let credentials = self.run(&["account", "create", "--name", "Test brand"]).json_line();
        credentials["account_sid"].as_str().expect("an account_sid").to_owned()
    }

    /// Writes a document into the sandbox and applies it; returns the printed report.
    pub(crate) fn apply_program(&self, account_sid: &str, document: &Value) -> Value {
        let file = self.file("program.json");
        std::fs::write(&file, serde_json::to_string_pretty(document).expect("a document")).expect("writable sandbox");
        let file = file.display().to_string();
        self.run(&["program", "apply", &file, "--account", account_sid]).json_line()
    }

    /// A new account owning [`program_document`] with this id.
    pub(crate) fn set_up_program(&self, program_id: u64) {
        let account_sid = self.create_account();
        let report = self.apply_program(&account_sid, &program_document(program_id));
        assert_eq!(report["outcome"], "created", "{report}");
    }

    /// `tally clicks export PROGRAM ARGS` as JSON rows.
    pub(crate) fn export_clicks(&self, program_id: u64, args: &[&str]) -> Vec<Value> {
        let program = program_id.to_string();
        let mut all_args = vec!["clicks", "export", program.as_str()];
        all_args.extend_from_slice(args);
        let stdout = self.run(&all_args).success();
        let rows: Value = serde_json::from_str(&stdout).expect("the export is one JSON array");
        rows.as_array().expect("the export is one JSON array").clone()
    }

    /// The click ids of a program's stored clicks, read with the CSV export.
    pub(crate) fn stored_click_ids(&self, program_id: u64) -> Vec<String> {
        let stdout = self.run(&["clicks", "export", &program_id.to_string(), "--format", "csv"]).success();
        let mut lines = stdout.lines();
        let header = lines.next().expect("a CSV header");
        assert!(header.starts_with("click_id,"), "{header}");
        lines.map(|line| line.split(',').next().unwrap_or_default().to_owned()).collect()
    }
}

/// A small valid program: partners 7 and 8 with contracts, partner 9 without one,
/// media source 901, and ads 1 and 2.
pub(crate) fn program_document(program_id: u64) -> Value {
    json!({
        "program": {
            "id": program_id,
            "name": "Test shop",
            "currency": "USD",
            "time_zone": "Europe/Paris",
            "tracking_domains": ["go.shop.test"],
            "default_landing_page": "https://www.shop.test/",
            "deep_linking": true,
            "permitted_domains": ["shop.test", "*.shop.test"],
            "click_session_minutes": 30
        },
        "event_types": [{"id": 1, "code": "online_sale", "name": "Online sale", "category": "SALE"}],
        "partners": [
            {"id": 7, "name": "Seven", "credit_group": "STANDARD", "status": "ACTIVE"},
            {"id": 8, "name": "Eight", "credit_group": "PREFERRED", "status": "ACTIVE"},
            {"id": 9, "name": "Nine", "credit_group": "STANDARD", "status": "ACTIVE"}
        ],
        "media_sources": [{"id": 901, "name": "Paid search", "credit_group": "STANDARD"}],
        "ads": [
            {"id": 1, "name": "Text link", "type": "TEXT_LINK"},
            {"id": 2, "name": "Sale banner", "type": "BANNER", "landing_page": "https://www.shop.test/sale"}
        ],
        "template_terms": [{
            "id": 1,
            "name": "Standard",
            "event_payouts": [{"event_type": 1, "default_payout": {"rate": "10"}}]
        }],
        "contracts": [
            {"partner": 7, "template_terms": 1, "start": "2025-01-01T00:00:00Z"},
            {"partner": 8, "template_terms": 1, "start": "2025-01-01T00:00:00Z"}
        ]
    })
}

/// A finished command.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    /// Standard output of a command that must have succeeded.
    pub(crate) fn success(self) -> String {
        assert!(self.status.success(), "expected success, got {}; stderr:\n{}", self.status, self.stderr);
        self.stdout
    }

    /// Standard error of a command that must have failed, having printed nothing on
    /// standard output (scripts must never read a half result).
    pub(crate) fn failure(self) -> String {
        assert!(!self.status.success(), "expected failure; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert_eq!(self.stdout, "", "a failed command printed on standard output");
        assert!(!self.stderr.trim().is_empty(), "a failed command must say why on standard error");
        self.stderr
    }

    /// The single JSON line a successful command printed.
    pub(crate) fn json_line(self) -> Value {
        let stdout = self.success();
        assert_eq!(stdout.lines().count(), 1, "expected exactly one line: {stdout:?}");
        assert!(stdout.ends_with('\n'), "expected one full line: {stdout:?}");
        serde_json::from_str(&stdout).expect("the line is JSON")
    }
}

/// Runs a command to completion within the deadline, feeding it `stdin` if given.
pub(crate) fn run(mut command: Command, stdin: Option<&str>) -> Finished {
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("tally starts");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_owned();
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let stdout = read_to_end(child.stdout.take());
    let stderr = read_to_end(child.stderr.take());
    let status = wait_until(&mut child, Instant::now() + DEADLINE);
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    let Some(status) = status else {
        panic!("{command:?} did not finish within {DEADLINE:?}; stdout:\n{stdout}\nstderr:\n{stderr}");
    };
    Finished { status, stdout, stderr }
}

fn read_to_end(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Waits for the child until `deadline`; kills it and returns `None` if it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A running `tally serve`; killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    /// The address from the first line.
    pub(crate) address: SocketAddr,
    lines: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a server ended after SIGTERM.
pub(crate) struct Stopped {
    pub(crate) status: ExitStatus,
    pub(crate) took: Duration,
    /// Every line printed after the listening line.
    pub(crate) lines: Vec<String>,
    pub(crate) stderr: String,
}

/// `tally serve --listen 127.0.0.1:0 --database sqlite:$DIR/tally.db`, after checking
/// its first line is exactly `listening on http://127.0.0.1:PORT`.
pub(crate) fn start_server(sandbox: &Sandbox) -> Server {
    let server = spawn_server(sandbox.tally_on_store(&["serve", "--listen", "127.0.0.1:0"]));
    assert_eq!(server.address.ip().to_string(), "127.0.0.1");
    assert_ne!(server.address.port(), 0);
    server
}

/// Starts a server command and reads its first line, which must be
/// `listening on http://ADDR`. The rest of standard output is read by a background
/// thread, so the pipe never fills.
pub(crate) fn spawn_server(mut command: Command) -> Server {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("tally serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = read_to_end(child.stderr.take());
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    let first = lines.recv_timeout(DEADLINE);
    let Ok(first) = first else {
        let _ = child.kill();
        let _ = child.wait();
        let stderr = stderr.join().unwrap_or_default();
        panic!("tally serve printed no first line ({first:?}); stderr:\n{stderr}");
    };
    let address = first
        .strip_prefix("listening on http://")
        .and_then(|address| address.parse::<SocketAddr>().ok())
        .unwrap_or_else(|| panic!("the first line must be `listening on http://ADDR`, not {first:?}"));
    assert_eq!(first, format!("listening on http://{address}"));
    Server { child, address, lines, stderr: Some(stderr) }
}

impl Server {
    /// `http://ADDR` + path.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The next line on standard output, waiting up to a few seconds.
    pub(crate) fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).expect("another line on standard output")
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM now and waits for the process to end and close its output.
    pub(crate) fn terminate(mut self) -> Stopped {
        let started = Instant::now();
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill runs");
        assert!(sent.success(), "kill -TERM failed");
        let status = wait_until(&mut self.child, started + DEADLINE);
        let took = started.elapsed();
        let stderr = self.stderr.take().map(|reader| reader.join().unwrap_or_default()).unwrap_or_default();
        let Some(status) = status else { panic!("tally serve ignored SIGTERM for {DEADLINE:?}; stderr:\n{stderr}") };
        let lines = self.lines.iter().collect();
        Stopped { status, took, lines, stderr }
    }

    /// Sends SIGKILL and waits until the process is gone.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client like a link checker: no redirects followed, no cookies, no proxy.
pub(crate) fn link_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// The `irclickid` of a 302 answer's `Location`.
pub(crate) fn click_id_of(response: &reqwest::Response) -> Option<String> {
    let location = response.headers().get(reqwest::header::LOCATION)?.to_str().ok()?;
    let location = reqwest::Url::parse(location).ok()?;
    location.query_pairs().find(|(name, _)| name == "irclickid").map(|(_, value)| value.into_owned())
}

/// Clicks `/c/{partner}/{ad}/{program}?{query}` once; asserts the 302 and returns its
/// click id.
pub(crate) async fn click(client: &reqwest::Client, server: &Server, link: &str) -> String {
    let response = client.get(server.url(link)).send().await.expect("the server answers");
    assert_eq!(response.status(), reqwest::StatusCode::FOUND, "{link}");
    assert_eq!(response.headers()[reqwest::header::CACHE_CONTROL], "no-store", "{link}");
    click_id_of(&response).unwrap_or_else(|| panic!("{link}: the Location has no irclickid: {response:?}"))
}

/// The set of strings, for comparisons that print well.
pub(crate) fn set_of<'a>(items: impl IntoIterator<Item = &'a String>) -> BTreeSet<&'a str> {
    items.into_iter().map(String::as_str).collect()
}
