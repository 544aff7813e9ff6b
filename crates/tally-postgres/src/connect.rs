//! Connecting: parsing the URL, building the pool, and naming what went wrong without
//! ever showing the password.

use std::error::Error;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::Config;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;

use crate::migrate::MigrateError;
use crate::tls;

/// Connections kept open per node.
pub(crate) const MAX_CONNECTIONS: usize = 16;
/// How long a new connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a query may wait for a free connection.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the store could not be opened. Messages name the server as `user@host:port/db`,
/// never with the password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a PostgreSQL connection URL.
    #[error("invalid postgres URL: {0}")]
    BadUrl(String),
    /// No server answered.
    #[error("cannot reach postgres at {target}: {reason}")]
    Unreachable {
        /// The server, without the password.
        target: String,
        /// Why.
        reason: String,
    },
    /// TLS could not be set up, or the server or its certificate failed the check the
    /// URL's `sslmode` asks for.
    #[error("TLS to postgres at {target}: {reason}")]
    Tls {
        /// The server, without the password.
        target: String,
        /// Why.
        reason: String,
    },
    /// The server refused the user or its password.
    #[error("postgres at {target} refused the login: {reason}")]
    Auth {
        /// The server, without the password.
        target: String,
        /// Why.
        reason: String,
    },
    /// The server answered but has no such database.
    #[error("postgres at {target}: the database does not exist; create it first with CREATE DATABASE")]
    NoDatabase {
        /// The server, without the password.
        target: String,
    },
    /// The server refused the connection for another reason.
    #[error("postgres at {target} refused the connection: {reason}")]
    Refused {
        /// The server, without the password.
        target: String,
        /// Why.
        reason: String,
    },
    /// The schema could not be brought up to date.
    #[error("postgres database {target}: {source}")]
    Migrate {
        /// The server, without the password.
        target: String,
        /// Why.
        source: MigrateError,
    },
}

/// Parses the URL and builds a connection pool (which connects lazily), returning it
/// with a printable name for the server.
pub(crate) fn pool(url: &str) -> Result<(Pool, String), ConnectError> {
    let (url, tls) = tls::split_url(url).map_err(ConnectError::BadUrl)?;
    let mut config = Config::from_str(&url).map_err(|error| ConnectError::BadUrl(describe(&error)))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.ssl_mode(tls.ssl_mode());
    let target = target(&config);
    let connector = tls.connector().map_err(|reason| ConnectError::Tls { target: target.clone(), reason })?;
    let manager = Manager::from_config(config, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager)
        .max_size(MAX_CONNECTIONS)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT.saturating_add(Duration::from_secs(1))))
        .build()
        .map_err(|error| ConnectError::BadUrl(error.to_string()))?;
    Ok((pool, target))
}

/// `user@host:port/db`, for messages.
fn target(config: &Config) -> String {
    let user = config.get_user().unwrap_or("(no user)");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{database}")
}

/// Names why the first connection failed.
pub(crate) fn classify(error: PoolError, target: String) -> ConnectError {
    let error = match error {
        PoolError::Backend(error) => error,
        PoolError::Timeout(_) => {
            return ConnectError::Unreachable { target, reason: "timed out connecting".into() };
        }
        other => return ConnectError::Unreachable { target, reason: other.to_string() },
    };
    let reason = describe(&error);
    match error.code() {
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => ConnectError::NoDatabase { target },
        Some(code) if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            ConnectError::Auth { target, reason }
        }
        Some(_) => ConnectError::Refused { target, reason },
        // The client gives up before asking the server when the server wants a password
        // and the URL has none.
        None if reason.contains("password") => ConnectError::Auth { target, reason },
        // tokio-postgres names both of its TLS failures so: "error performing TLS
        // handshake" and "server does not support TLS".
        None if reason.contains("TLS") => ConnectError::Tls { target, reason },
        None => ConnectError::Unreachable { target, reason },
    }
}

/// An error with its causes, `outer: inner: …`: tokio-postgres keeps the server's
/// message in the cause.
pub(crate) fn describe(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
