//! `tally serve`: the first run, configuration layering and refusals, and the
//! operational endpoints. The demo has its own file.

use std::time::{Duration, Instant};

use crate::helpers::{Sandbox, link_client, program_document, run, spawn_server, start_server};

/// The value after `label` on a line of the first-run banner.
fn banner_value(line: &str, label: &str) -> String {
    let value = line.trim_start().strip_prefix(label).unwrap_or_else(|| panic!("expected {label:?} in {line:?}"));
    let value = value.trim();
    assert!(!value.is_empty(), "{line:?}");
    value.to_owned()
}

#[test]
fn the_first_serve_prints_the_admin_login_and_working_account_credentials_only_once() {
    let sandbox = Sandbox::new();
    let server = start_server(&sandbox);
    assert_eq!(server.next_line(), "first run: these secrets are shown once and stored only as hashes");
    let login = banner_value(&server.next_line(), "dashboard login:");
    let (user, password) = login.split_once(" / ").expect("login as `user / password`");
    assert_eq!(user, "admin");
    assert!(!password.is_empty());
    let account_sid = banner_value(&server.next_line(), "account_sid:");
    banner_value(&server.next_line(), "auth_token:");
    let first = server.terminate();
    assert!(first.status.success(), "{}", first.stderr);
    assert!(first.lines.is_empty(), "nothing else is printed: {:?}", first.lines);

    let second = start_server(&sandbox).terminate();
    assert!(second.status.success(), "{}", second.stderr);
    assert!(second.lines.is_empty(), "the second start prints only the listening line: {:?}", second.lines);

    // The printed account is real: the CLI applies a program to it.
    let report = sandbox.apply_program(&account_sid, &program_document(5));
    assert_eq!(report["outcome"], "created", "{report}");
}

#[test]
fn sigterm_right_after_the_listening_line_stops_tally_with_exit_0() {
    // A supervisor may stop tally as soon as it has read the address; that must be a
    // graceful stop, not death by the signal's default action.
    let sandbox = Sandbox::new();
    for attempt in 0..5 {
        let stopped = start_server(&sandbox).terminate();
        assert!(stopped.status.success(), "attempt {attempt}: {}; stderr:\n{}", stopped.status, stopped.stderr);
    }
}

#[test]
fn an_unknown_key_in_the_configuration_file_stops_serve_naming_the_key() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.file("tally.toml"), "lisen = \"127.0.0.1:0\"\n").expect("writable sandbox");
    let serve = sandbox.tally_on_store(&["serve", "--config", "tally.toml", "--listen", "127.0.0.1:0"]);
    let stderr = run(serve, None).failure();
    assert!(stderr.contains("lisen"), "{stderr}");
}

#[test]
fn an_unknown_tally_environment_variable_stops_serve_naming_it() {
    let sandbox = Sandbox::new();
    let mut serve = sandbox.tally_on_store(&["serve", "--listen", "127.0.0.1:0"]);
    serve.env("TALLY_LISTN", "x");
    let stderr = run(serve, None).failure();
    assert!(stderr.contains("TALLY_LISTN"), "{stderr}");
}

#[test]
fn the_listen_flag_beats_the_environment_which_beats_the_file() {
    let sandbox = Sandbox::new();
    // Three loopback addresses tell the layers apart; port 0 keeps them free.
    std::fs::write(sandbox.file("tally.toml"), "listen = \"127.0.0.3:0\"\n").expect("writable sandbox");
    let configured = |flag: Option<&str>, env: Option<&str>| {
        let mut serve = sandbox.tally_on_store(&["serve", "--config", "tally.toml"]);
        if let Some(address) = flag {
            serve.args(["--listen", address]);
        }
        if let Some(address) = env {
            serve.env("TALLY_LISTEN", address);
        }
        let server = spawn_server(serve);
        let address = server.address.ip().to_string();
        let stopped = server.terminate();
        assert!(stopped.status.success(), "{}: {}", stopped.status, stopped.stderr);
        address
    };
    assert_eq!(configured(None, None), "127.0.0.3", "the file sets the address");
    assert_eq!(configured(None, Some("127.0.0.2:0")), "127.0.0.2", "the environment beats the file");
    assert_eq!(configured(Some("127.0.0.1:0"), Some("127.0.0.2:0")), "127.0.0.1", "the flag beats both");
}

#[test]
fn the_configuration_file_may_also_be_named_by_tally_config() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.file("tally.toml"), "listen = \"127.0.0.3:0\"\n").expect("writable sandbox");
    let mut serve = sandbox.tally_on_store(&["serve"]);
    serve.env("TALLY_CONFIG", "tally.toml");
    let server = spawn_server(serve);
    assert_eq!(server.address.ip().to_string(), "127.0.0.3");
}

#[test]
fn an_unsupported_database_url_is_refused_clearly() {
    let sandbox = Sandbox::new();
    let serve = sandbox.tally(&["serve", "--listen", "127.0.0.1:0", "--database", "mysql://x"]);
    let stderr = run(serve, None).failure();
    assert!(stderr.contains("mysql://x") && stderr.contains("sqlite:PATH"), "{stderr}");
}

#[test]
fn a_database_file_that_is_not_sqlite_is_refused_before_listening() {
    let sandbox = Sandbox::new();
    let garbage = "this is not a database, just some text that fills the header page ".repeat(100);
    std::fs::write(sandbox.file("tally.db"), &garbage).expect("writable sandbox");
    let stderr = run(sandbox.tally_on_store(&["serve", "--listen", "127.0.0.1:0"]), None).failure();
    assert!(stderr.contains("tally.db") && stderr.contains("not a database"), "{stderr}");
    let unchanged = std::fs::read_to_string(sandbox.file("tally.db")).expect("the file is still there");
    assert_eq!(unchanged, garbage, "the file is left as it was");

    let stderr = sandbox.run(&["account", "create", "--name", "x"]).failure();
    assert!(stderr.contains("not a database"), "{stderr}");
}

#[tokio::test]
async fn healthz_and_readyz_answer_200_on_a_running_server() {
    let sandbox = Sandbox::new();
    let server = start_server(&sandbox);
    let client = link_client();
    for path in ["/healthz", "/readyz"] {
        let response = client.get(server.url(path)).send().await.expect("the server answers");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
    }
    let metrics = client.get(server.url("/metrics")).send().await.expect("the server answers");
    assert_eq!(metrics.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_program_applied_with_the_cli_while_serving_answers_its_links_within_seconds() {
    let sandbox = Sandbox::new();
    let server = start_server(&sandbox);
    let client = link_client();
    let link = server.url("/c/7/1/6100");
    let unknown = client.get(&link).send().await.expect("the server answers");
    assert_eq!(unknown.status(), reqwest::StatusCode::NOT_FOUND, "an unknown program's link is a plain 404");

    let account_sid = sandbox.create_account();
    sandbox.apply_program(&account_sid, &program_document(6100));
    let started = Instant::now();
    loop {
        let response = client.get(&link).send().await.expect("the server answers");
        if response.status() == reqwest::StatusCode::FOUND {
            break;
        }
        assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
        assert!(started.elapsed() < Duration::from_secs(6), "the running server never saw the applied program");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends raw bytes on a fresh connection and returns the status line of the answer.
fn raw_status_line(server: &crate::helpers::Server, request: &[u8]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(server.address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    // The server may answer and close before reading everything; that is its right.
    let _ = stream.write_all(request);
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

#[test]
fn absurd_headers_are_refused_with_a_4xx_and_leave_no_click() {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(5);
    let server = start_server(&sandbox);
    let huge_header = format!("GET /c/7/1/5 HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n", "a".repeat(1 << 20));
    let many_headers = format!(
        "GET /c/7/1/5 HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..500).map(|n| format!("X-H{n}: v\r\n")).collect::<String>()
    );
    let bad_request_line = "GET /c/7/1/5\u{1} HTTP/1.1\r\nHost: x\r\n\r\n".to_owned();
    for request in [huge_header, many_headers, bad_request_line] {
        let status = raw_status_line(&server, request.as_bytes());
        assert!(status.starts_with("HTTP/1.1 4"), "expected a 4xx, got {status:?}");
    }
    let healthy = raw_status_line(&server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(healthy.starts_with("HTTP/1.1 200"), "{healthy:?}");
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    assert!(sandbox.stored_click_ids(5).is_empty(), "no half-click from a refused request");
}
