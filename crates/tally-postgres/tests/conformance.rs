//! The shared Store conformance suite, run against PostgreSQL in a new database per
//! test when `TEST_POSTGRES_URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), and skipped, loudly, otherwise.
//! The variable is not a `TALLY_` one because the tally binary refuses unknown ones.

// Tests: a failed expectation is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tally_app::conformance::TestStore;
use tally_postgres::{ConnectError, MigrateError, PostgresStore};
use tokio_postgres::{Client, Config, NoTls};

const URL_VARIABLE: &str = "TEST_POSTGRES_URL";

/// Connects to the server's maintenance database named by the variable.
async fn admin_client(base: &str) -> Result<Client, tokio_postgres::Error> {
    let mut config = Config::from_str(base)?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A new, empty database on the test server, dropped with the guard; `None` when no
/// server is configured or none answers.
async fn fresh_database() -> Option<(String, DropDatabase)> {
    let base = std::env::var(URL_VARIABLE).ok().filter(|url| !url.is_empty())?;
    let admin = match admin_client(&base).await {
        Ok(admin) => admin,
        Err(error) if error.as_db_error().is_none() => {
            eprintln!("{URL_VARIABLE} is set but no postgres server answers ({error}); skipping");
            return None;
        }
        Err(error) => panic!("cannot connect with {URL_VARIABLE}: {error:?}"),
    };
    let name = format!("tally_test_{:016x}", rand::random::<u64>());
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
    let mut url = url::Url::parse(&base).expect("TEST_POSTGRES_URL is a postgres:// URL");
    url.set_path(&name);
    Some((url.to_string(), DropDatabase { base, name }))
}

async fn fresh_store() -> Option<TestStore> {
    let (url, guard) = fresh_database().await?;
    let store = PostgresStore::connect(&url).await.expect("connect to the test database");
    Some(TestStore { store: Arc::new(store), guard: Box::new(guard) })
}

/// Drops a test database, best effort, on a thread with its own runtime: the test's
/// runtime may be shutting down when the guard is dropped.
struct DropDatabase {
    base: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = admin_client(&base).await.map_err(|e| e.to_string())?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                admin.batch_execute(&sql).await.map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

tally_app::store_conformance_tests!(fresh_store);

#[tokio::test]
async fn a_schema_newer_than_the_code_is_refused() {
    let Some((url, _guard)) = fresh_database().await else {
        return eprintln!("SKIPPED a_schema_newer_than_the_code_is_refused: no postgres server here");
    };
    drop(PostgresStore::connect(&url).await.expect("first connect migrates"));
    let client = admin_client(&url).await.expect("connect to the test database");
    client.batch_execute("INSERT INTO schema_migration (version, applied_at) VALUES (99, 0)").await.unwrap();
    let refused = PostgresStore::connect(&url).await.err().expect("a newer schema is refused");
    assert!(matches!(
        refused,
        ConnectError::Migrate { source: MigrateError::TooNew(tally_app::ports::SchemaTooNew { found: 99, .. }), .. }
    ));
    assert!(refused.to_string().contains("upgrade tally"), "{refused}");
}

#[tokio::test]
async fn nodes_starting_together_migrate_once() {
    let Some((url, _guard)) = fresh_database().await else {
        return eprintln!("SKIPPED nodes_starting_together_migrate_once: no postgres server here");
    };
    let (first, second) = tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
    first.expect("first node connects");
    second.expect("second node connects");
    let client = admin_client(&url).await.expect("connect to the test database");
    let versions: i64 = client.query_one("SELECT count(*) FROM schema_migration", &[]).await.unwrap().get(0);
    assert_eq!(versions, 8, "each migration applied once");
}

#[tokio::test]
async fn connect_errors_name_the_problem_and_hide_the_password() {
    let unreachable = PostgresStore::connect("postgres://tally:s3cret@127.0.0.1:1/tally").await.err().unwrap();
    let message = unreachable.to_string();
    assert!(matches!(unreachable, ConnectError::Unreachable { .. }), "{message}");
    assert!(message.contains("tally@127.0.0.1:1/tally") && !message.contains("s3cret"), "{message}");
    let bad = PostgresStore::connect("postgres://tally:s3cret@127.0.0.1:notaport/tally").await.err().unwrap();
    assert!(matches!(bad, ConnectError::BadUrl(_)) && !bad.to_string().contains("s3cret"), "{bad}");
}

#[tokio::test]
async fn a_missing_database_is_named() {
    let Ok(base) = std::env::var(URL_VARIABLE) else {
        return eprintln!("SKIPPED a_missing_database_is_named: {URL_VARIABLE} is not set");
    };
    if admin_client(&base).await.is_err() {
        return eprintln!("SKIPPED a_missing_database_is_named: no postgres server here");
    }
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path("tally_no_such_database");
    let missing = PostgresStore::connect(url.as_str()).await.err().unwrap();
    assert!(matches!(missing, ConnectError::NoDatabase { .. }), "{missing}");
}

#[tokio::test]
async fn a_partners_pricing_turn_waits_for_another_nodes_turn() {
    let Some((url, _guard)) = fresh_database().await else { return };
    let (node_a, node_b) = (PostgresStore::connect(&url).await.unwrap(), PostgresStore::connect(&url).await.unwrap());
    use tally_app::ports::Store;
    use tally_core::ids::{PartnerId, ProgramId};
    let held = node_a.partner_turn(ProgramId(1), PartnerId(7)).await.unwrap();

    let waiting = tokio::time::timeout(Duration::from_millis(300), node_b.partner_turn(ProgramId(1), PartnerId(7)));
    assert!(waiting.await.is_err(), "the same partner waits for node a's turn");
    let other = tokio::time::timeout(Duration::from_secs(5), node_b.partner_turn(ProgramId(1), PartnerId(8)));
    drop(other.await.expect("another partner does not wait").unwrap());
    let elsewhere = tokio::time::timeout(Duration::from_secs(5), node_b.partner_turn(ProgramId(2), PartnerId(7)));
    drop(elsewhere.await.expect("nor the partner in another program").unwrap());

    drop(held);
    let next = tokio::time::timeout(Duration::from_secs(5), node_b.partner_turn(ProgramId(1), PartnerId(7)));
    let next = next.await.expect("the turn passes once node a's ends").unwrap();
    // Node a's connection went back to its pool without the lock: its next turn waits
    // for node b's, and gets it once that ends.
    let again = tokio::spawn(async move { node_a.partner_turn(ProgramId(1), PartnerId(7)).await.map(drop) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!again.is_finished(), "node a waits for node b's turn");
    drop(next);
    tokio::time::timeout(Duration::from_secs(5), again).await.expect("and then gets it").unwrap().unwrap();

    // Every turn has ended, the one abandoned while waiting included: no connection in
    // either pool is left holding a lock.
    let admin = admin_client(&url).await.unwrap();
    let locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let started = std::time::Instant::now();
    while admin.query_one(locks, &[]).await.unwrap().get::<_, i64>(0) > 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "an advisory lock outlived its turn");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn more_partners_in_turn_than_connections_all_finish() {
    let Some((url, _guard)) = fresh_database().await else { return };
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    use tally_app::ports::{PartnerPeriod, Store};
    use tally_core::ids::{EventTypeId, PartnerId, ProgramId};
    // Each turn holds a connection and needs another to read the standing: forty at
    // once on a pool of sixteen must still all get through.
    let orders = (1..=40).map(|partner| {
        let store = store.clone();
        tokio::spawn(async move {
            let _turn = store.partner_turn(ProgramId(1), PartnerId(partner)).await?;
            let period = PartnerPeriod {
                program: ProgramId(1),
                partner: PartnerId(partner),
                event_type: EventTypeId(1),
                start: jiff::Timestamp::UNIX_EPOCH,
                end: jiff::Timestamp::MAX,
                created_before: None,
                with_bonuses: true,
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            store.partner_totals(&period).await
        })
    });
    let all = tokio::time::timeout(Duration::from_secs(20), futures_util::future::join_all(orders));
    for order in all.await.expect("no turn starves the pool") {
        order.unwrap().unwrap();
    }
}

/// Whether each connection the test database has from outside the admin is over TLS.
async fn connections_use_tls(base: &str, database: &str) -> Vec<bool> {
    let admin = admin_client(base).await.unwrap();
    let sql = "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
               WHERE a.datname = $1 AND a.backend_type = 'client backend'";
    admin.query(sql, &[&database]).await.unwrap().iter().map(|row| row.get(0)).collect()
}

/// The URL with a query added (the test URLs have none).
fn with_query(url: &str, query: &str) -> String {
    format!("{url}?{query}")
}

/// The server's certificate file and whether it serves TLS at all, or why the TLS
/// tests cannot run here.
async fn server_tls(base: &str) -> Result<String, String> {
    let admin = admin_client(base).await.map_err(|error| format!("no postgres server here ({error})"))?;
    let on: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if on != "on" {
        return Err("the server has ssl = off".into());
    }
    let file: String = admin.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    std::fs::File::open(&file).map_err(|error| format!("cannot read the server's certificate {file}: {error}"))?;
    Ok(file)
}

#[tokio::test]
async fn sslmode_decides_whether_the_connection_is_encrypted() {
    let Some((url, _guard)) = fresh_database().await else {
        return eprintln!("SKIPPED sslmode_decides_whether_the_connection_is_encrypted: no postgres server here");
    };
    let base = std::env::var(URL_VARIABLE).unwrap();
    if let Err(why) = server_tls(&base).await {
        return eprintln!("SKIPPED sslmode_decides_whether_the_connection_is_encrypted: {why}");
    }
    let database = url::Url::parse(&url).unwrap().path().trim_start_matches('/').to_owned();
    for (query, encrypted) in
        [("", true), ("sslmode=prefer", true), ("sslmode=require", true), ("sslmode=disable", false)]
    {
        let store = PostgresStore::connect(&with_query(&url, query)).await.unwrap();
        let tls = connections_use_tls(&base, &database).await;
        assert!(!tls.is_empty() && tls.iter().all(|&tls| tls == encrypted), "{query:?}: {tls:?}");
        drop(store);
        // The pool's connections close with it; wait so the next mode is not mixed in.
        let started = std::time::Instant::now();
        while !connections_use_tls(&base, &database).await.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5), "the dropped store's connections stay open");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn verify_modes_check_the_servers_certificate() {
    let Some((url, _guard)) = fresh_database().await else {
        return eprintln!("SKIPPED verify_modes_check_the_servers_certificate: no postgres server here");
    };
    let base = std::env::var(URL_VARIABLE).unwrap();
    let certificate = match server_tls(&base).await {
        Ok(file) => file,
        Err(why) => return eprintln!("SKIPPED verify_modes_check_the_servers_certificate: {why}"),
    };
    let parsed = url::Url::parse(&url).unwrap();
    if parsed.host_str() != Some("127.0.0.1") {
        return eprintln!("SKIPPED verify_modes_check_the_servers_certificate: {URL_VARIABLE} is not on 127.0.0.1");
    }
    let root = format!("sslrootcert={certificate}");

    // The server's own (self-signed) certificate as the root: the chain holds, and
    // verify-ca does not ask that it name 127.0.0.1.
    PostgresStore::connect(&with_query(&url, &format!("sslmode=verify-ca&{root}"))).await.unwrap();
    // require with a root file is verify-ca, as in libpq.
    PostgresStore::connect(&with_query(&url, &format!("sslmode=require&{root}"))).await.unwrap();

    // verify-full also wants the host's name in the certificate, which names localhost.
    let wrong_name = PostgresStore::connect(&with_query(&url, &format!("sslmode=verify-full&{root}"))).await;
    let wrong_name = wrong_name.err().expect("127.0.0.1 is not the name in the certificate");
    assert!(matches!(wrong_name, ConnectError::Tls { .. }), "{wrong_name}");
    assert!(wrong_name.to_string().contains("certificate"), "{wrong_name}");

    // Roots that did not sign it: Debian's bundle of public authorities.
    let public = "/etc/ssl/certs/ca-certificates.crt";
    if !std::path::Path::new(public).exists() {
        return eprintln!("SKIPPED the unknown-issuer part of verify_modes_check_the_servers_certificate: no {public}");
    }
    let query = format!("sslmode=verify-ca&sslrootcert={public}");
    let unknown = PostgresStore::connect(&with_query(&url, &query)).await.err().expect("unknown issuer");
    assert!(matches!(unknown, ConnectError::Tls { .. }), "{unknown}");
    assert!(unknown.to_string().contains("UnknownIssuer"), "{unknown}");
}
