//! Operational metrics, rendered in the Prometheus text format at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of the redirect counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// What the edge answered.
    pub outcome: &'static str,
}

/// Labels of the click counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// Link, vanity, unique URL or impression.
    pub source: &'static str,
}

/// Every metric Tally exports.
pub struct Metrics {
    registry: Registry,
    /// Clicks and impressions made durable (in the click log), by source.
    pub clicks_recorded: Family<SourceLabel, Counter>,
    /// Clicks flagged as part of a click flood from one address.
    pub clicks_flagged_flood: Counter,
    /// Edge answers by outcome (`redirect`, `impression`, `probe` for `HEAD`,
    /// `not_found`, `not_live`, `unavailable`).
    pub edge_answers: Family<OutcomeLabel, Counter>,
    /// Clicks per batch made durable in the click log.
    pub click_batch_size: Histogram,
    /// Seconds to write and sync one batch to the click log.
    pub click_commit_seconds: Histogram,
    /// Batches that failed to become durable (their requests were answered 503).
    pub click_batch_failures: Counter,
    /// Clicks loaded from the click log into the store.
    pub clicks_loaded: Counter,
    /// Clicks durable in the log but not yet in the store.
    pub click_log_backlog: Gauge,
    /// Failed attempts to load clicks into the store (each is retried).
    pub click_load_failures: Counter,
    /// Measures the backlog when metrics are read, so the figure is never stale.
    backlog_source: std::sync::Mutex<Option<BacklogSource>>,
}

/// Counts the clicks durable in the click log but not yet in the store.
pub type BacklogSource = Box<dyn Fn() -> u64 + Send + Sync>;

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tally");
        let clicks_recorded = Family::<SourceLabel, Counter>::default();
        let clicks_flagged_flood = Counter::default();
        let edge_answers = Family::<OutcomeLabel, Counter>::default();
        let click_batch_size = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0]);
        let click_commit_seconds =
            Histogram::new([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]);
        let click_batch_failures = Counter::default();
        let clicks_loaded = Counter::default();
        let click_log_backlog = Gauge::default();
        let click_load_failures = Counter::default();
        registry.register(
            "clicks_recorded",
            "Clicks and impressions made durable in the click log",
            clicks_recorded.clone(),
        );
        registry.register(
            "clicks_flagged_flood",
            "Clicks flagged as part of a click flood from one address (recorded all the same)",
            clicks_flagged_flood.clone(),
        );
        registry.register("edge_answers", "Tracking edge answers by outcome", edge_answers.clone());
        registry.register("click_batch_size", "Clicks per batch made durable", click_batch_size.clone());
        registry.register(
            "click_commit_seconds",
            "Time to write and sync one batch of clicks",
            click_commit_seconds.clone(),
        );
        registry.register(
            "click_batch_failures",
            "Click batches that failed to become durable",
            click_batch_failures.clone(),
        );
        registry.register("clicks_loaded", "Clicks loaded from the click log into the store", clicks_loaded.clone());
        registry.register(
            "click_log_backlog",
            "Clicks in the click log not yet in the store",
            click_log_backlog.clone(),
        );
        registry.register(
            "click_load_failures",
            "Failed attempts to load clicks into the store",
            click_load_failures.clone(),
        );
        Metrics {
            registry,
            clicks_recorded,
            clicks_flagged_flood,
            edge_answers,
            click_batch_size,
            click_commit_seconds,
            click_batch_failures,
            clicks_loaded,
            click_log_backlog,
            click_load_failures,
            backlog_source: std::sync::Mutex::new(None),
        }
    }

    /// Sets how the click log backlog is measured at each read of the metrics.
    pub fn measure_backlog_with(&self, source: BacklogSource) {
        *self.backlog_source.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(source);
    }

    /// Counts one edge answer.
    pub fn answer(&self, outcome: &'static str) {
        self.edge_answers.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        if let Some(source) = &*self.backlog_source.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            self.click_log_backlog.set(source() as i64);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
