//! SPEC §2, Durability: "the redirect is sent only once its click is durably stored; an
//! answered click is never lost, including on a crash or kill".

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::helpers::{Sandbox, Server, click_id_of, link_client, set_of, start_server};

const PROGRAM: u64 = 4100;
/// Partner or media source, and ad: every owner and ad of the test program.
const LINKS: &[(u64, u64)] = &[(7, 1), (8, 2), (9, 1), (901, 2), (7, 2), (8, 1)];

/// What a load run saw.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    /// Click ids of the 302s received.
    answered: Mutex<Vec<String>>,
    /// Answers other than 302 (there should be none).
    other: AtomicUsize,
    /// Requests that failed without an answer.
    failed: AtomicUsize,
}

/// Starts `workers` tasks clicking through the server's links as fast as they can,
/// each its own link checker (no cookies, so every 302 carries a new click id), until
/// `load.stop` is set.
fn start_load(server: &Server, workers: usize, load: &Arc<Load>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let load = load.clone();
        let base = server.url("");
        let client = link_client();
        tasks.spawn(async move {
            let mut sent = worker;
            while !load.stop.load(Ordering::SeqCst) {
                let (owner, ad) = LINKS[sent % LINKS.len()];
                sent += 1;
                let link = format!("{base}/c/{owner}/{ad}/{PROGRAM}?subId1=worker-{worker}&subId2={sent}");
                match client.get(link).send().await {
                    Ok(response) if response.status() == reqwest::StatusCode::FOUND => {
                        let click_id = click_id_of(&response).expect("every 302 carries its click id");
                        load.answered.lock().expect("not poisoned").push(click_id);
                    }
                    Ok(_) => {
                        load.other.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => {
                        load.failed.fetch_add(1, Ordering::SeqCst);
                        // Connection refused after the server stopped: do not spin.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        });
    }
    tasks
}

async fn stop_load(load: &Load, tasks: JoinSet<()>) -> Vec<String> {
    load.stop.store(true, Ordering::SeqCst);
    tasks.join_all().await;
    load.answered.lock().expect("not poisoned").clone()
}

/// Asserts that every answered click id is stored, and returns how many are stored.
fn assert_every_answered_click_is_stored(sandbox: &Sandbox, answered: &[String]) -> usize {
    let answered_set = set_of(answered);
    assert_eq!(answered_set.len(), answered.len(), "without cookies every 302 is a new click id");
    let stored = sandbox.stored_click_ids(PROGRAM);
    let stored_set: BTreeSet<&str> = set_of(&stored);
    assert_eq!(stored_set.len(), stored.len(), "a click is stored once");
    let lost: Vec<&&str> = answered_set.difference(&stored_set).collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered clicks are not stored, e.g. {:?}",
        lost.len(),
        answered.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(answered.len() <= stored.len());
    stored.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_stops_the_server_with_exit_0_keeping_every_answered_click() {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(PROGRAM);
    let server = start_server(&sandbox);
    let load = Arc::new(Load::default());
    let tasks = start_load(&server, 4, &load);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stopped = tokio::task::spawn_blocking(move || server.terminate()).await.expect("terminate");
    let answered = stop_load(&load, tasks).await;
    assert!(
        stopped.status.success(),
        "SIGTERM must end tally with 0, not {}; stderr:\n{}",
        stopped.status,
        stopped.stderr
    );
    assert!(stopped.took < Duration::from_secs(5), "SIGTERM took {:?}", stopped.took);
    assert_eq!(load.other.load(Ordering::SeqCst), 0, "every click was answered with a redirect or not at all");
    assert!(!answered.is_empty());
    let stored = assert_every_answered_click_is_stored(&sandbox, &answered);
    println!("sigterm: answered {}, stored {stored}, stopped in {:?}", answered.len(), stopped.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answered_click_survives_a_sigkill_under_concurrent_load() {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(PROGRAM);
    let (load, answered_before_kill, answered) = kill_under_load(&sandbox, 16, Duration::from_millis(1500)).await;
    let failed = load.failed.load(Ordering::SeqCst);
    assert!(answered_before_kill > 0, "the load got no answer before the kill");
    assert!(failed > 0, "the kill must hit requests in flight");
    assert_eq!(load.other.load(Ordering::SeqCst), 0, "every click was answered with a redirect or not at all");

    // The store opens again after the kill, and the restarted server is ready.
    let restarted = start_server(&sandbox);
    let ready = link_client().get(restarted.url("/readyz")).send().await.expect("the restarted server answers");
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let stopped = tokio::task::spawn_blocking(move || restarted.terminate()).await.expect("terminate");
    assert!(stopped.status.success(), "{}", stopped.stderr);

    let stored = assert_every_answered_click_is_stored(&sandbox, &answered);
    println!("durability: answered {}, stored {stored}, requests cut by the kill {failed}", answered.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clicks_left_in_the_journal_by_a_sigkill_are_exported_without_a_restart() {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(PROGRAM);
    let (_, _, answered) = kill_under_load(&sandbox, 8, Duration::from_millis(800)).await;

    // No server runs: the export itself loads what the journal holds.
    let stored = assert_every_answered_click_is_stored(&sandbox, &answered);
    println!("journal after sigkill: answered {}, exported {stored}", answered.len());
}

/// Serves the sandbox's program, loads it with `workers` clients for `duration`, then
/// SIGKILLs the server while they still have requests in flight. Returns the load,
/// how many clicks were answered before the kill, and every answered click id.
async fn kill_under_load(sandbox: &Sandbox, workers: usize, duration: Duration) -> (Arc<Load>, usize, Vec<String>) {
    let mut server = start_server(sandbox);
    let load = Arc::new(Load::default());
    let tasks = start_load(&server, workers, &load);
    tokio::time::sleep(duration).await;
    let answered_before_kill = load.answered.lock().expect("not poisoned").len();
    let server = tokio::task::spawn_blocking(move || {
        server.kill();
        server
    })
    .await
    .expect("kill");
    let answered = stop_load(&load, tasks).await;
    drop(server);
    (load, answered_before_kill, answered)
}
