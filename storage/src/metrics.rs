//! Operation counters and latency histograms.
//!
//! Counters are plain atomics updated on every operation; a scrape reads a
//! [`StoreMetrics`] snapshot. Histograms use fixed buckets so recording is
//! one atomic add, never a lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::kv::EngineStats;

/// Upper bounds of the latency buckets, in microseconds; a final bucket
/// catches everything slower.
pub const LATENCY_BUCKETS_US: [u64; 19] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000,
];

/// Stripes of a [`StripedCounter`]: enough that the few threads of a small
/// machine rarely share one.
const STRIPES: usize = 8;

/// An atomic on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

/// A counter that many threads bump at once without contending: each
/// thread adds to its own stripe, and reading sums them. Point reads count
/// into one of these from every async worker; a single shared atomic
/// bounced its cache line between cores on every read.
#[derive(Debug, Default)]
pub struct StripedCounter([Padded; STRIPES]);

impl StripedCounter {
    fn stripe() -> usize {
        use std::sync::atomic::AtomicUsize;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static STRIPE: usize = NEXT.fetch_add(1, Relaxed) % STRIPES;
        }
        STRIPE.with(|s| *s)
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0[Self::stripe()].0.fetch_add(n, Relaxed);
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Relaxed)).sum()
    }
}

/// A lock-free latency histogram.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    sum_ns: AtomicU64,
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn record(&self, d: Duration) {
        self.record_weighted(d, 1);
    }

    /// Records an observation standing for `weight` alike (a sample).
    pub fn record_weighted(&self, d: Duration, weight: u64) {
        let us = d.as_micros();
        let i = LATENCY_BUCKETS_US.iter().position(|&b| us <= u128::from(b)).unwrap_or(LATENCY_BUCKETS_US.len());
        self.buckets[i].fetch_add(weight, Relaxed);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns.saturating_mul(weight), Relaxed);
    }

    /// A copy of the current counts.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum: Duration::from_nanos(self.sum_ns.load(Relaxed)),
        }
    }
}

/// Counts per bucket at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Count per bucket (not cumulative); the last bucket is unbounded.
    pub counts: Vec<u64>,
    /// Sum of all observations.
    pub sum: Duration,
}

impl HistogramSnapshot {
    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Mean latency, zero when empty.
    pub fn mean(&self) -> Duration {
        match self.count() {
            0 => Duration::ZERO,
            n => self.sum / u32::try_from(n).unwrap_or(u32::MAX),
        }
    }

    /// The bucket upper bound at or below which fraction `q` of observations
    /// fall (so an upper estimate of the quantile); zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return LATENCY_BUCKETS_US.get(i).map(|&us| Duration::from_micros(us)).unwrap_or(Duration::MAX);
            }
        }
        Duration::MAX
    }

    /// `(upper bound in seconds, count in this bucket alone)` pairs, the last
    /// bound being `+Inf`. Not cumulative: Prometheus encoders add them up.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let bound = LATENCY_BUCKETS_US.get(i).map(|&us| us as f64 / 1e6).unwrap_or(f64::INFINITY);
                (bound, c)
            })
            .collect()
    }
}

/// The kinds of engine operation that are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Point read.
    Read,
    /// Ordered scan.
    Scan,
    /// Atomic batch write.
    Write,
    /// WAL fsync.
    Sync,
}

/// Live counters of one store.
#[derive(Debug, Default)]
pub struct StoreStats {
    reads: StripedCounter,
    writes: AtomicU64,
    deletes: AtomicU64,
    scans: AtomicU64,
    errors: AtomicU64,
    wal_syncs: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    read_latency: LatencyHistogram,
    scan_latency: LatencyHistogram,
    write_latency: LatencyHistogram,
    sync_latency: LatencyHistogram,
}

impl StoreStats {
    /// Records a finished operation of `kind` that took `d`.
    pub fn record(&self, kind: OpKind, d: Duration) {
        let (counter, hist) = match kind {
            OpKind::Read => {
                self.reads.add(1);
                self.read_latency.record(d);
                return;
            }
            OpKind::Scan => (&self.scans, &self.scan_latency),
            OpKind::Write => (&self.writes, &self.write_latency),
            OpKind::Sync => (&self.wal_syncs, &self.sync_latency),
        };
        if kind != OpKind::Write {
            counter.fetch_add(1, Relaxed);
        }
        hist.record(d);
    }

    /// Counts one successful read that was not timed.
    pub fn count_read(&self) {
        self.reads.add(1);
    }

    /// Records a read that stands as the timed sample of `weight` reads
    /// (itself included); it counts as one read.
    pub fn record_read_sample(&self, d: Duration, weight: u64) {
        self.reads.add(1);
        self.read_latency.record_weighted(d, weight);
    }

    /// Counts the puts and deletes a batch carried.
    pub fn record_mutations(&self, puts: u64, deletes: u64) {
        self.writes.fetch_add(puts, Relaxed);
        self.deletes.fetch_add(deletes, Relaxed);
    }

    /// Counts a failed operation.
    pub fn record_error(&self) {
        self.errors.fetch_add(1, Relaxed);
    }

    /// Counts a hot-tier hit or miss.
    pub fn record_cache(&self, hit: bool) {
        if hit { &self.cache_hits } else { &self.cache_misses }.fetch_add(1, Relaxed);
    }

    /// A consistent-enough copy for a scrape.
    pub fn snapshot(&self) -> OpMetrics {
        OpMetrics {
            reads: self.reads.get(),
            writes: self.writes.load(Relaxed),
            deletes: self.deletes.load(Relaxed),
            scans: self.scans.load(Relaxed),
            errors: self.errors.load(Relaxed),
            wal_syncs: self.wal_syncs.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            cache_misses: self.cache_misses.load(Relaxed),
            read_latency: self.read_latency.snapshot(),
            scan_latency: self.scan_latency.snapshot(),
            write_latency: self.write_latency.snapshot(),
            sync_latency: self.sync_latency.snapshot(),
        }
    }
}

/// Operation counts of a store at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpMetrics {
    /// Point reads.
    pub reads: u64,
    /// Keys put.
    pub writes: u64,
    /// Keys or ranges deleted.
    pub deletes: u64,
    /// Ordered scans.
    pub scans: u64,
    /// Failed operations.
    pub errors: u64,
    /// WAL fsyncs (one covers many writes under group commit).
    pub wal_syncs: u64,
    /// Reads served by the hot tier.
    pub cache_hits: u64,
    /// Reads the hot tier could not serve.
    pub cache_misses: u64,
    /// Point read latency.
    pub read_latency: HistogramSnapshot,
    /// Scan latency.
    pub scan_latency: HistogramSnapshot,
    /// Batch write latency (without fsync).
    pub write_latency: HistogramSnapshot,
    /// fsync latency.
    pub sync_latency: HistogramSnapshot,
}

/// Everything a store reports about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreMetrics {
    /// Operation counts and latencies.
    pub ops: OpMetrics,
    /// Rows held by the hot tier.
    pub hot_tier_rows: u64,
    /// The hot tier's row capacity.
    pub hot_tier_capacity: u64,
    /// Bytes the hot tier's rows cost, bookkeeping included.
    pub hot_tier_bytes: u64,
    /// Engine-reported sizes.
    pub engine: EngineStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_follow_buckets() {
        let h = LatencyHistogram::default();
        for _ in 0..90 {
            h.record(Duration::from_micros(3));
        }
        for _ in 0..10 {
            h.record(Duration::from_millis(3));
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        assert_eq!(s.quantile(0.5), Duration::from_micros(5));
        assert_eq!(s.quantile(0.95), Duration::from_millis(5));
        let buckets = s.buckets();
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 100);
        assert_eq!(buckets.iter().filter(|b| b.1 > 0).count(), 2);
        assert!(buckets.last().is_some_and(|b| b.0.is_infinite() && b.1 == 0));
    }

    #[test]
    fn store_stats_count_by_kind() {
        let s = StoreStats::default();
        s.record(OpKind::Read, Duration::from_micros(1));
        s.record(OpKind::Write, Duration::from_micros(1));
        s.record_mutations(3, 2);
        s.record(OpKind::Sync, Duration::from_micros(1));
        s.record_cache(true);
        s.record_cache(false);
        s.record_error();
        let m = s.snapshot();
        assert_eq!((m.reads, m.writes, m.deletes, m.wal_syncs), (1, 3, 2, 1));
        assert_eq!((m.cache_hits, m.cache_misses, m.errors), (1, 1, 1));
        assert_eq!(m.write_latency.count(), 1);
    }
}
