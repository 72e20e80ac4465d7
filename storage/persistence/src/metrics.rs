//! Operation counts and latencies every provider keeps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The kinds of operation whose latency is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Point reads and listings.
    Read,
    /// Stores, updates, renewals and commits.
    Write,
    /// Removals and clean-ups.
    Delete,
}

/// Eight buckets per power of two: a quantile is known to within 12.5 %.
const SUB_BUCKETS: u64 = 8;
const BUCKETS: usize = 64 * SUB_BUCKETS as usize;

fn bucket_of(nanos: u64) -> usize {
    if nanos < SUB_BUCKETS {
        return nanos as usize;
    }
    let exp = 63 - u64::from(nanos.leading_zeros());
    let sub = (nanos >> (exp - 3)) & (SUB_BUCKETS - 1);
    ((exp - 2) * SUB_BUCKETS + sub) as usize
}

/// The smallest latency a bucket holds, in nanoseconds.
fn bucket_floor(bucket: usize) -> u64 {
    let b = bucket as u64;
    if b < SUB_BUCKETS {
        return b;
    }
    let exp = b / SUB_BUCKETS + 2;
    (SUB_BUCKETS + b % SUB_BUCKETS) << (exp - 3)
}

/// Count, total time and a log-bucketed histogram of one operation kind.
/// Lock-free, so recording never serialises callers.
struct KindStats {
    count: AtomicU64,
    total_nanos: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl KindStats {
    fn new() -> Self {
        KindStats {
            count: AtomicU64::new(0),
            total_nanos: AtomicU64::new(0),
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.total_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.buckets[bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> OpStats {
        let count = self.count.load(Ordering::Relaxed);
        let total = self.total_nanos.load(Ordering::Relaxed);
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let in_buckets: u64 = counts.iter().sum();
        let quantile = |q: f64| -> f64 {
            if in_buckets == 0 {
                return 0.0;
            }
            // The rank of the q-quantile, 1-based.
            let rank = ((in_buckets as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return bucket_floor(i) as f64 / 1000.0;
                }
            }
            0.0
        };
        OpStats {
            count,
            avg_latency_us: if count == 0 { 0.0 } else { total as f64 / count as f64 / 1000.0 },
            p50_latency_us: quantile(0.50),
            p95_latency_us: quantile(0.95),
            p99_latency_us: quantile(0.99),
        }
    }
}

/// Counts and latencies of one operation kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OpStats {
    /// Operations completed (successfully or not).
    pub count: u64,
    /// Mean latency, microseconds.
    pub avg_latency_us: f64,
    /// Median latency, microseconds (within 12.5 %).
    pub p50_latency_us: f64,
    /// 95th percentile latency, microseconds (within 12.5 %).
    pub p95_latency_us: f64,
    /// 99th percentile latency, microseconds (within 12.5 %).
    pub p99_latency_us: f64,
}

/// A provider's metrics at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderMetrics {
    /// Reads and listings.
    pub reads: OpStats,
    /// Writes.
    pub writes: OpStats,
    /// Deletes.
    pub deletes: OpStats,
    /// Operations that failed.
    pub errors: u64,
    /// Reads served by the provider's cache, for providers with one.
    pub cache_hits: Option<u64>,
    /// Reads the cache could not serve, for providers with one.
    pub cache_misses: Option<u64>,
}

/// Where a provider records its operations.
pub struct Recorder {
    reads: KindStats,
    writes: KindStats,
    deletes: KindStats,
    errors: AtomicU64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            reads: KindStats::new(),
            writes: KindStats::new(),
            deletes: KindStats::new(),
            errors: AtomicU64::new(0),
        }
    }
}

impl Recorder {
    /// Records one operation of `kind` that began at `started`, counting
    /// it as an error when `ok` is false.
    pub fn record(&self, kind: OpKind, started: Instant, ok: bool) {
        let stats = match kind {
            OpKind::Read => &self.reads,
            OpKind::Write => &self.writes,
            OpKind::Delete => &self.deletes,
        };
        stats.record(started.elapsed());
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the outcome of an operation and passes it through.
    pub fn observe<T, E>(&self, kind: OpKind, started: Instant, result: Result<T, E>) -> Result<T, E> {
        self.record(kind, started, result.is_ok());
        result
    }

    /// The counts and latencies so far; cache figures are the provider's
    /// to add.
    pub fn snapshot(&self) -> ProviderMetrics {
        ProviderMetrics {
            reads: self.reads.snapshot(),
            writes: self.writes.snapshot(),
            deletes: self.deletes.snapshot(),
            errors: self.errors.load(Ordering::Relaxed),
            cache_hits: None,
            cache_misses: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_floors_fall_inside_them() {
        let mut last = 0;
        for v in (0..20).map(|s| 1u64 << s).chain([3, 9, 100, 1_000, 999_999, u64::MAX]) {
            let b = bucket_of(v);
            assert!(bucket_floor(b) <= v, "{v}");
            assert!(b < BUCKETS);
            if v > 1 && v.is_power_of_two() {
                assert!(b > last);
                last = b;
            }
        }
        // Within 12.5 %.
        let v = 123_456;
        assert!((v - bucket_floor(bucket_of(v))) as f64 / v as f64 <= 0.125);
    }

    #[test]
    fn quantiles_follow_the_recorded_latencies() {
        let r = Recorder::default();
        let k = &r.reads;
        for _ in 0..94 {
            k.record(Duration::from_micros(10));
        }
        for _ in 0..6 {
            k.record(Duration::from_millis(10));
        }
        let s = r.snapshot().reads;
        assert_eq!(s.count, 100);
        assert!((8.7..=10.0).contains(&s.p50_latency_us), "{s:?}");
        assert!((8_700.0..=10_000.0).contains(&s.p95_latency_us), "{s:?}");
        assert!(s.avg_latency_us > 600.0 && s.avg_latency_us < 610.0, "{s:?}");
    }
}
