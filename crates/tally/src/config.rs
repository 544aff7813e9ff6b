//! Configuration: defaults, then a TOML file, then `TALLY_…` environment variables
//! (`__` separates sections), then flags. Unknown keys are errors everywhere, and the
//! loader takes the environment as an argument so tests never touch the process's.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use axum::http::HeaderName;
use serde::Deserialize;
use tally_core::flood::FloodLimit;
use tally_core::rate_limit::RateLimit;
use tally_sqlite::Synchronous;

/// The settings as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Listen address.
    #[serde(default = "default_listen")]
    pub(crate) listen: String,
    /// Store URL.
    #[serde(default)]
    pub(crate) database: Option<String>,
    /// Log filter, e.g. `info` or `tally=debug`.
    #[serde(default = "default_log")]
    pub(crate) log: String,
    /// Load the demo.
    #[serde(default)]
    pub(crate) demo: bool,
    #[serde(default)]
    pub(crate) sqlite: SqliteSection,
    #[serde(default)]
    pub(crate) edge: EdgeSection,
    #[serde(default)]
    pub(crate) click_log: ClickLogSection,
    #[serde(default)]
    pub(crate) scheduler: SchedulerSection,
    #[serde(default)]
    pub(crate) api: ApiSection,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SchedulerSection {
    /// Seconds between two runs of the background jobs (locking due actions).
    #[serde(default = "default_interval_seconds")]
    pub(crate) interval_seconds: u64,
}

fn default_interval_seconds() -> u64 {
    60
}

impl Default for SchedulerSection {
    fn default() -> Self {
        SchedulerSection { interval_seconds: default_interval_seconds() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqliteSection {
    /// `full` (survives power loss) or `normal` (survives crashes).
    #[serde(default = "default_synchronous")]
    pub(crate) synchronous: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgeSection {
    #[serde(default)]
    pub(crate) secure_cookies: bool,
    #[serde(default)]
    pub(crate) trust_proxy_headers: bool,
    /// Clicks one address may make on one program within the flood window before its
    /// clicks are flagged; 0 turns the check off.
    #[serde(default = "default_flood_clicks")]
    pub(crate) flood_clicks: u64,
    #[serde(default = "default_flood_window_seconds")]
    pub(crate) flood_window_seconds: u64,
    /// The header a proxy or CDN sets to the client's country; empty: none.
    #[serde(default)]
    pub(crate) country_header: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiSection {
    /// Requests per minute per caller on the management APIs; 0 turns the limit off.
    #[serde(default = "default_requests_per_minute")]
    pub(crate) requests_per_minute: u64,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection { requests_per_minute: default_requests_per_minute() }
    }
}

fn default_requests_per_minute() -> u64 {
    u64::from(RateLimit::default().requests)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClickLogSection {
    /// Where the click journal lives; default beside the SQLite file.
    #[serde(default)]
    pub(crate) dir: Option<String>,
    #[serde(default = "default_lanes")]
    pub(crate) lanes: usize,
    #[serde(default = "default_max_batch")]
    pub(crate) max_batch: usize,
    #[serde(default = "default_max_backlog")]
    pub(crate) max_backlog: u64,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_log() -> String {
    "info".into()
}
fn default_synchronous() -> String {
    "full".into()
}
fn default_flood_clicks() -> u64 {
    u64::from(FloodLimit::default().max_clicks)
}
fn default_flood_window_seconds() -> u64 {
    FloodLimit::default().window_ms / 1000
}
fn default_max_batch() -> usize {
    512
}
fn default_lanes() -> usize {
    1
}
fn default_max_backlog() -> u64 {
    10_000_000
}

impl Default for SqliteSection {
    fn default() -> Self {
        SqliteSection { synchronous: default_synchronous() }
    }
}

impl Default for EdgeSection {
    fn default() -> Self {
        EdgeSection {
            secure_cookies: false,
            trust_proxy_headers: false,
            flood_clicks: default_flood_clicks(),
            flood_window_seconds: default_flood_window_seconds(),
            country_header: String::new(),
        }
    }
}

impl Default for ClickLogSection {
    fn default() -> Self {
        ClickLogSection {
            dir: None,
            lanes: default_lanes(),
            max_batch: default_max_batch(),
            max_backlog: default_max_backlog(),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Flag,
    Count,
}

/// Every key settable from the environment: `TALLY_` + the key in upper case, with
/// `__` for the dot.
const ENV_KEYS: &[(&str, Kind)] = &[
    ("listen", Kind::Text),
    ("database", Kind::Text),
    ("log", Kind::Text),
    ("demo", Kind::Flag),
    ("sqlite.synchronous", Kind::Text),
    ("edge.secure_cookies", Kind::Flag),
    ("edge.trust_proxy_headers", Kind::Flag),
    ("edge.flood_clicks", Kind::Count),
    ("edge.flood_window_seconds", Kind::Count),
    ("edge.country_header", Kind::Text),
    ("click_log.dir", Kind::Text),
    ("click_log.lanes", Kind::Count),
    ("click_log.max_batch", Kind::Count),
    ("click_log.max_backlog", Kind::Count),
    ("scheduler.interval_seconds", Kind::Count),
    ("api.requests_per_minute", Kind::Count),
];

/// Environment variables with the prefix that are not settings.
const ENV_NOT_SETTINGS: &[&str] = &["TALLY_CONFIG"];

/// Values given as flags, which win over everything.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub(crate) listen: Option<String>,
    pub(crate) database: Option<String>,
    pub(crate) demo: bool,
}

/// Loads the layered configuration.
pub(crate) fn load(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
    overrides: Overrides,
) -> anyhow::Result<Config> {
    let mut table = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read configuration file {}", path.display()))?;
            text.parse::<toml::Table>()
                .with_context(|| format!("configuration file {} is not valid TOML", path.display()))?
        }
        None => toml::Table::new(),
    };
    for (name, value) in env.iter().filter(|(name, _)| name.starts_with("TALLY_")) {
        if ENV_NOT_SETTINGS.contains(&name.as_str()) {
            continue;
        }
        let key = name["TALLY_".len()..].to_ascii_lowercase().replace("__", ".");
        let Some((_, kind)) = ENV_KEYS.iter().find(|(known, _)| *known == key) else {
            let known: Vec<String> = ENV_KEYS
                .iter()
                .map(|(key, _)| format!("TALLY_{}", key.to_ascii_uppercase().replace('.', "__")))
                .collect();
            bail!("unknown environment variable {name}; known: {}", known.join(", "));
        };
        set(&mut table, &key, typed(name, value, *kind)?);
    }
    if let Some(listen) = overrides.listen {
        set(&mut table, "listen", toml::Value::String(listen));
    }
    if let Some(database) = overrides.database {
        set(&mut table, "database", toml::Value::String(database));
    }
    if overrides.demo {
        set(&mut table, "demo", toml::Value::Boolean(true));
    }
    let source = file.map_or_else(|| "the configuration".to_owned(), |path| path.display().to_string());
    Config::deserialize(table).with_context(|| format!("invalid settings in {source}"))
}

fn typed(name: &str, value: &str, kind: Kind) -> anyhow::Result<toml::Value> {
    Ok(match kind {
        Kind::Text => toml::Value::String(value.to_owned()),
        Kind::Flag => match value {
            "true" | "1" => toml::Value::Boolean(true),
            "false" | "0" => toml::Value::Boolean(false),
            _ => bail!("{name} must be true or false, not {value:?}"),
        },
        Kind::Count => toml::Value::Integer(
            value.parse().with_context(|| format!("{name} must be a whole number, not {value:?}"))?,
        ),
    })
}

fn set(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut current = table;
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current.entry(part.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else { return };
        current = next;
    }
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(String),
}

impl std::fmt::Display for DatabaseUrl {
    /// The URL without its password, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((user_info, host)) => {
                        let user = user_info.split(':').next().unwrap_or("");
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{scheme}://{rest}"),
                }
            }
        }
    }
}

impl DatabaseUrl {
    /// Parses `sqlite:PATH` (also `sqlite://PATH`) or `postgres://…` / `postgresql://…`.
    pub(crate) fn parse(url: &str) -> anyhow::Result<DatabaseUrl> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                bail!("the sqlite URL {url:?} names no file; use sqlite:PATH");
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        bail!("unsupported database URL {url:?}; use sqlite:PATH or postgres://…")
    }
}

/// The settings, checked and typed.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) database: DatabaseUrl,
    pub(crate) log: String,
    pub(crate) demo: bool,
    pub(crate) synchronous: Synchronous,
    pub(crate) secure_cookies: bool,
    pub(crate) trust_proxy_headers: bool,
    pub(crate) flood_limit: FloodLimit,
    pub(crate) country_header: Option<HeaderName>,
    pub(crate) api_rate_limit: RateLimit,
    pub(crate) max_batch: usize,
    pub(crate) click_log_dir: PathBuf,
    pub(crate) lanes: usize,
    pub(crate) max_backlog: u64,
    pub(crate) scheduler_interval: std::time::Duration,
}

/// The default store: a file in the working directory; the demo gets its own so it
/// never mixes with a real program's data.
fn default_database(demo: bool) -> &'static str {
    if demo { "sqlite:tally-demo.db" } else { "sqlite:tally.db" }
}

impl Config {
    /// Checks every value once.
    pub(crate) fn settings(&self) -> anyhow::Result<Settings> {
        let listen = self
            .listen
            .parse()
            .with_context(|| format!("listen: {:?} is not an address such as 127.0.0.1:8080", self.listen))?;
        let database =
            DatabaseUrl::parse(self.database.as_deref().unwrap_or(default_database(self.demo))).context("database")?;
        let synchronous = Synchronous::parse(&self.sqlite.synchronous)
            .with_context(|| format!("sqlite.synchronous: {:?} must be full or normal", self.sqlite.synchronous))?;
        if !(1..=10_000).contains(&self.click_log.max_batch) {
            bail!("click_log.max_batch: must be between 1 and 10000");
        }
        if !(1..=64).contains(&self.click_log.lanes) {
            bail!("click_log.lanes: must be between 1 and 64");
        }
        if self.click_log.max_backlog == 0 {
            bail!("click_log.max_backlog: must be at least 1");
        }
        if self.edge.flood_clicks > 1_000_000 {
            bail!("edge.flood_clicks: must be at most 1000000 (0 turns the check off)");
        }
        if !(1..=86_400).contains(&self.edge.flood_window_seconds) {
            bail!("edge.flood_window_seconds: must be between 1 and 86400");
        }
        let country_header = match self.edge.country_header.trim() {
            "" => None,
            name => Some(HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                anyhow::anyhow!("edge.country_header: {name:?} is not a header name such as CF-IPCountry")
            })?),
        };
        if self.api.requests_per_minute > 1_000_000 {
            bail!("api.requests_per_minute: must be at most 1000000 (0 turns the limit off)");
        }
        if !(1..=86_400).contains(&self.scheduler.interval_seconds) {
            bail!("scheduler.interval_seconds: must be between 1 and 86400");
        }
        let click_log_dir = match (&self.click_log.dir, &database) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, DatabaseUrl::Sqlite(path)) => {
                let mut dir = path.clone().into_os_string();
                dir.push(".clicks");
                PathBuf::from(dir)
            }
            (None, DatabaseUrl::Postgres(_)) => PathBuf::from("tally-clicks"),
        };
        Ok(Settings {
            listen,
            database,
            log: self.log.clone(),
            demo: self.demo,
            synchronous,
            secure_cookies: self.edge.secure_cookies,
            trust_proxy_headers: self.edge.trust_proxy_headers,
            flood_limit: FloodLimit {
                max_clicks: self.edge.flood_clicks as u32,
                window_ms: self.edge.flood_window_seconds * 1000,
            },
            country_header,
            api_rate_limit: RateLimit { requests: self.api.requests_per_minute as u32, window_ms: 60_000 },
            max_batch: self.click_log.max_batch,
            click_log_dir,
            lanes: self.click_log.lanes,
            max_backlog: self.click_log.max_backlog,
            scheduler_interval: std::time::Duration::from_secs(self.scheduler.interval_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("tally.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\ndatabase = \"sqlite:file.db\"\n[sqlite]\nsynchronous = \"normal\"\n",
        )
        .unwrap();
        let from_env =
            env(&[("TALLY_DATABASE", "sqlite:env.db"), ("TALLY_EDGE__SECURE_COOKIES", "true"), ("PATH", "/bin")]);
        let config =
            load(Some(&file), &from_env, Overrides { listen: Some("127.0.0.1:3".into()), ..Default::default() })
                .unwrap();
        let settings = config.settings().unwrap();
        assert_eq!(settings.listen.port(), 3);
        assert_eq!(settings.database, DatabaseUrl::Sqlite("env.db".into()));
        assert_eq!(settings.synchronous, Synchronous::Normal);
        assert!(settings.secure_cookies);
        assert_eq!(settings.flood_limit, FloodLimit::default());
        let off = env(&[("TALLY_EDGE__FLOOD_CLICKS", "0"), ("TALLY_EDGE__FLOOD_WINDOW_SECONDS", "10")]);
        let off = load(None, &off, Overrides::default()).unwrap().settings().unwrap();
        assert_eq!(off.flood_limit, FloodLimit { max_clicks: 0, window_ms: 10_000 });
    }

    #[test]
    fn unknown_keys_are_errors_in_file_and_environment() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("tally.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let error = load(Some(&file), &env(&[]), Overrides::default()).unwrap_err();
        assert!(format!("{error:#}").contains("lisen"), "{error:#}");
        let error = load(None, &env(&[("TALLY_LISTN", "x")]), Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("TALLY_LISTN"), "{error}");
        let error = load(None, &env(&[("TALLY_EDGE__SECURE_COOKIES", "yes")]), Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("true or false"), "{error}");
    }

    #[test]
    fn defaults_are_the_embedded_store_on_port_8080() {
        let settings = load(None, &env(&[]), Overrides::default()).unwrap().settings().unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database, DatabaseUrl::Sqlite("tally.db".into()));
        let demo = load(None, &env(&[]), Overrides { demo: true, ..Default::default() }).unwrap().settings().unwrap();
        assert_eq!(demo.database, DatabaseUrl::Sqlite("tally-demo.db".into()));
    }

    #[test]
    fn the_sample_configuration_is_valid_and_says_the_defaults() {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tally.sample.toml");
        let from_sample = load(Some(&sample), &env(&[]), Overrides::default()).unwrap().settings().unwrap();
        let defaults = load(None, &env(&[]), Overrides::default()).unwrap().settings().unwrap();
        assert_eq!(format!("{from_sample:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn a_database_url_is_logged_without_its_password() {
        let url = DatabaseUrl::parse("postgres://tally:hunter2@db.internal:5432/tally").unwrap();
        assert_eq!(url.to_string(), "postgres://tally@db.internal:5432/tally");
        assert_eq!(DatabaseUrl::parse("sqlite:t.db").unwrap().to_string(), "sqlite:t.db");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value, expected) in [
            ("TALLY_LISTEN", "nowhere", "listen"),
            ("TALLY_DATABASE", "mysql://x", "database"),
            ("TALLY_SQLITE__SYNCHRONOUS", "off", "sqlite.synchronous"),
            ("TALLY_CLICK_LOG__MAX_BATCH", "0", "click_log.max_batch"),
            ("TALLY_EDGE__FLOOD_WINDOW_SECONDS", "0", "edge.flood_window_seconds"),
            ("TALLY_EDGE__FLOOD_CLICKS", "5000000", "edge.flood_clicks"),
            ("TALLY_EDGE__COUNTRY_HEADER", "CF IPCountry", "edge.country_header"),
            ("TALLY_API__REQUESTS_PER_MINUTE", "2000000", "api.requests_per_minute"),
        ] {
            let error = load(None, &env(&[(key, value)]), Overrides::default()).unwrap().settings().unwrap_err();
            assert!(format!("{error:#}").contains(expected), "{key}: {error:#}");
        }
    }
}
