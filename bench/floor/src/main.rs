//! `tally-bench-floor MODE DIR`: a server that answers every GET with the same 302
//! Tally sends to a new visitor (Location, Cache-Control and two cookies), so that
//! bench/floor.sh can measure, in one run, what each step of a durable redirect
//! costs before any of Tally's own work:
//!
//! - `plain`: the 302 straight away: the HTTP stack alone.
//! - `handoff`: each request hands a record to one writer thread, which takes every
//!   record waiting as one batch and releases the batch's requests: the group
//!   commit's cross-thread round trip, without the disk.
//! - `journal`: the same, and the writer appends the batch to a preallocated file
//!   in DIR and `fdatasync`s it before releasing it, as Tally's click journal does.
//!
//! Prints `listening on http://127.0.0.1:PORT` first, like `tally serve`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{mpsc, oneshot};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// About the size of one click in Tally's journal (a JSON object).
const RECORD_BYTES: usize = 540;
/// The journal file is filled with zeros up front and written round-robin, so
/// that a sync flushes data and never the file's size (as Tally's segments do).
const FILE_BYTES: u64 = 256 << 20;

type Release = oneshot::Sender<()>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: tally-bench-floor plain|handoff|journal DIR");
        std::process::exit(2);
    };
    let app = match mode.as_str() {
        "plain" => Router::new().fallback(get(|| async { redirect() })),
        "handoff" | "journal" => {
            let file =
                (mode == "journal").then(|| preallocated(Path::new(&dir)).expect("cannot prepare the journal file"));
            let (queue, batches) = mpsc::channel::<Release>(4096);
            std::thread::spawn(move || group_commit(batches, file));
            Router::new().fallback(get(durable)).with_state(Arc::new(queue))
        }
        other => {
            eprintln!("unknown mode {other}: plain, handoff or journal");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("cannot listen");
    println!("listening on http://{}", listener.local_addr().expect("no local address"));
    axum::serve(listener, app).await.expect("the server failed");
}

/// Tally's answer to a new visitor, byte for byte the same size.
fn redirect() -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, "https://shop.bench.test/?irclickid=0353D9ZcaUHkyaigLkbxKb"),
            (header::CACHE_CONTROL, "no-store"),
            (header::SET_COOKIE, "tally_vid=0353D9ZcaIkV7woZgrMMIE; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax"),
        ],
        [(
            header::SET_COOKIE,
            "tally_ses=5xlDodvBbwCzf8Jg8oWkzR:1.1.0353D9ZcaUHkyaigLkbxKb.1795533870; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax",
        )],
    )
        .into_response()
}

async fn durable(State(queue): State<Arc<mpsc::Sender<Release>>>) -> Response {
    let (release, released) = oneshot::channel();
    if queue.send(release).await.is_err() || released.await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    redirect()
}

fn preallocated(dir: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().create(true).truncate(true).read(true).write(true).open(dir.join("floor.journal"))?;
    let zeros = vec![0u8; 1 << 20];
    for offset in (0..FILE_BYTES).step_by(zeros.len()) {
        file.write_all_at(&zeros, offset)?;
    }
    file.sync_all()?;
    Ok(file)
}

/// The writer thread: every request waiting is one batch, written and synced (if
/// there is a file) before any of them is released.
fn group_commit(mut batches: mpsc::Receiver<Release>, file: Option<File>) {
    let mut batch = Vec::new();
    let mut buffer = Vec::new();
    let mut offset = 0;
    while let Some(first) = batches.blocking_recv() {
        batch.push(first);
        while let Ok(next) = batches.try_recv() {
            batch.push(next);
        }
        if let Some(file) = &file {
            buffer.clear();
            buffer.resize(batch.len() * RECORD_BYTES, b'x');
            if offset + buffer.len() as u64 > FILE_BYTES {
                offset = 0;
            }
            file.write_all_at(&buffer, offset).expect("cannot write the journal file");
            file.sync_data().expect("cannot sync the journal file");
            offset += buffer.len() as u64;
        }
        for release in batch.drain(..) {
            let _ = release.send(());
        }
    }
}
