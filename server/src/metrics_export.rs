//! Prometheus exposition of every store's counters.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use orbit_persistence::{OpStats, ProviderMetrics};
use orbit_storage::metrics::HistogramSnapshot;
use orbit_storage::{HealthState, StoreMetrics};

use crate::stores::Stores;

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One persistence provider's metrics, taken at one scrape.
#[derive(Debug)]
pub struct ProviderScrape {
    /// The provider's name.
    pub name: String,
    /// Its metrics.
    pub metrics: ProviderMetrics,
    /// Its health.
    pub health: HealthState,
}

/// Metrics of every store and provider taken at one scrape.
#[derive(Debug)]
struct Scrape {
    stores: Vec<(String, StoreMetrics, HealthState)>,
    cache_usage: u64,
    providers: Vec<ProviderScrape>,
}

fn health_level(h: HealthState) -> i64 {
    match h {
        HealthState::Healthy => 0,
        HealthState::Degraded => 1,
        HealthState::Unhealthy => 2,
    }
}

impl Scrape {
    /// The `orbit_persistence_*` families, labelled by provider.
    fn encode_providers(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        type OpField = fn(&ProviderMetrics) -> &OpStats;
        let ops: [(&str, OpField); 3] = [("read", |m| &m.reads), ("write", |m| &m.writes), ("delete", |m| &m.deletes)];
        let mut family = encoder.encode_descriptor(
            "orbit_persistence_operations",
            "Operations of a persistence provider, by kind (read, write, delete).",
            None,
            MetricType::Counter,
        )?;
        for p in &self.providers {
            for (op, field) in ops {
                let labels = [("provider", p.name.as_str()), ("op", op)];
                ConstCounter::new(field(&p.metrics).count).encode(family.encode_family(&labels)?)?;
            }
        }
        type Count = fn(&ProviderMetrics) -> Option<u64>;
        let counters: [(&str, &str, Count); 3] = [
            ("orbit_persistence_errors", "Persistence provider operations that failed.", |m| Some(m.errors)),
            ("orbit_persistence_cache_hits", "Reads served by a provider's cache.", |m| m.cache_hits),
            ("orbit_persistence_cache_misses", "Reads a provider's cache could not serve.", |m| m.cache_misses),
        ];
        for (name, help, field) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for p in &self.providers {
                if let Some(v) = field(&p.metrics) {
                    ConstCounter::new(v).encode(family.encode_family(&[("provider", p.name.as_str())])?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "orbit_persistence_latency_microseconds",
            "Latency of persistence provider operations: mean and quantiles (within 12.5 %) since start.",
            None,
            MetricType::Gauge,
        )?;
        for p in &self.providers {
            for (op, field) in ops {
                let s = field(&p.metrics);
                let stats = [
                    ("avg", s.avg_latency_us),
                    ("p50", s.p50_latency_us),
                    ("p95", s.p95_latency_us),
                    ("p99", s.p99_latency_us),
                ];
                for (stat, v) in stats {
                    let labels = [("provider", p.name.as_str()), ("op", op), ("stat", stat)];
                    ConstGauge::new(v).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "orbit_persistence_health",
            "Persistence provider health: 0 healthy, 1 degraded, 2 unhealthy.",
            None,
            MetricType::Gauge,
        )?;
        for p in &self.providers {
            ConstGauge::new(health_level(p.health)).encode(family.encode_family(&[("provider", p.name.as_str())])?)?;
        }
        Ok(())
    }
}

type Field = fn(&StoreMetrics) -> u64;

const COUNTERS: [(&str, &str, Field); 8] = [
    ("orbit_store_reads", "Point reads served by the store.", |m| m.ops.reads),
    ("orbit_store_writes", "Keys written (puts) to the store.", |m| m.ops.writes),
    ("orbit_store_deletes", "Keys and key ranges deleted from the store.", |m| m.ops.deletes),
    ("orbit_store_scans", "Ordered scans run on the store.", |m| m.ops.scans),
    ("orbit_store_errors", "Store operations that failed.", |m| m.ops.errors),
    ("orbit_store_wal_syncs", "WAL fsyncs; under group commit one covers many writes.", |m| m.ops.wal_syncs),
    ("orbit_store_cache_hits", "Row reads served by the hot tier.", |m| m.ops.cache_hits),
    ("orbit_store_cache_misses", "Row reads the hot tier could not serve.", |m| m.ops.cache_misses),
];

const GAUGES: [(&str, &str, Field); 6] = [
    ("orbit_store_hot_tier_rows", "Rows held by the hot tier.", |m| m.hot_tier_rows),
    ("orbit_store_hot_tier_capacity_rows", "Row capacity of the hot tier.", |m| m.hot_tier_capacity),
    ("orbit_store_hot_tier_bytes", "Bytes the hot tier's rows cost, bookkeeping included.", |m| m.hot_tier_bytes),
    ("orbit_store_approximate_keys", "Approximate live keys in the store.", |m| m.engine.approximate_keys),
    ("orbit_store_live_data_bytes", "Approximate bytes of live data in table files.", |m| m.engine.live_data_bytes),
    ("orbit_store_memtable_bytes", "Bytes held in memtables.", |m| m.engine.memtable_bytes),
];

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        for (name, help, field) in COUNTERS {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (store, m, _) in &self.stores {
                let labels = [("store", store.as_str())];
                ConstCounter::new(field(m)).encode(family.encode_family(&labels)?)?;
            }
        }
        for (name, help, field) in GAUGES {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (store, m, _) in &self.stores {
                let labels = [("store", store.as_str())];
                ConstGauge::new(i64::try_from(field(m)).unwrap_or(i64::MAX)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "orbit_store_health",
            "Store health: 0 healthy, 1 degraded, 2 unhealthy.",
            None,
            MetricType::Gauge,
        )?;
        for (store, _, health) in &self.stores {
            ConstGauge::new(health_level(*health)).encode(family.encode_family(&[("store", store.as_str())])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "orbit_store_operation_duration_seconds",
            "Latency of store operations by kind (read, scan, write, sync).",
            None,
            MetricType::Histogram,
        )?;
        for (store, m, _) in &self.stores {
            let kinds: [(&str, &HistogramSnapshot); 4] = [
                ("read", &m.ops.read_latency),
                ("scan", &m.ops.scan_latency),
                ("write", &m.ops.write_latency),
                ("sync", &m.ops.sync_latency),
            ];
            for (op, h) in kinds {
                let labels = [("store", store.as_str()), ("op", op)];
                family.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    h.sum.as_secs_f64(),
                    h.count(),
                    &h.buckets(),
                    None,
                )?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "orbit_block_cache_usage_bytes",
            "Bytes in the block cache shared by all stores, memtables included.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(i64::try_from(self.cache_usage).unwrap_or(i64::MAX))
            .encode(family.encode_family(&[("cache", "block")])?)?;
        self.encode_providers(&mut encoder)
    }
}

/// Renders the metrics of `stores` and of the persistence providers in the
/// OpenMetrics text format, which Prometheus scrapes natively. Blocking:
/// reads engine properties.
pub fn render(stores: &Stores, providers: Vec<ProviderScrape>) -> Result<String, std::fmt::Error> {
    let scrape = Scrape {
        stores: stores.iter().map(|(p, s)| (p.to_string(), s.metrics(), s.health().state)).collect(),
        cache_usage: stores.cache_usage() as u64,
        providers,
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use orbit_storage::metrics::{OpKind, StoreStats};

    use super::*;

    fn value(text: &str, series: &str) -> u64 {
        let line = text.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("bad line {line}"))
    }

    #[test]
    fn latency_buckets_are_cumulative_once() {
        let stats = StoreStats::default();
        for us in [1, 3, 3, 40, 900, 900, 900] {
            stats.record(OpKind::Write, Duration::from_micros(us));
        }
        let scrape = Scrape {
            stores: vec![(
                "mysql".into(),
                StoreMetrics { ops: stats.snapshot(), ..StoreMetrics::default() },
                HealthState::Healthy,
            )],
            cache_usage: 0,
            providers: Vec::new(),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        let series = |le: &str| {
            format!("orbit_store_operation_duration_seconds_bucket{{le=\"{le}\",store=\"mysql\",op=\"write\"}}")
        };
        assert_eq!(value(&text, "orbit_store_operation_duration_seconds_count{store=\"mysql\",op=\"write\"}"), 7);
        assert_eq!(value(&text, &series("+Inf")), 7);
        assert_eq!(value(&text, &series("0.000001")), 1);
        assert_eq!(value(&text, &series("0.000005")), 3);
        assert_eq!(value(&text, &series("0.001")), 7);
    }
}
