//! An engine decorator that counts and times every operation.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::{
    Direction, EngineHealth, EngineStats, KeyRange, KvEngine, KvRead, KvSnapshot, Visitor, WriteBatch, WriteOp,
};
use crate::error::{Result, StorageError};
use crate::metrics::{OpKind, StoreStats};

/// Wraps an engine so that reads, writes, deletes, scans, syncs, their
/// latencies and their errors land in a [`StoreStats`]. Every engine gets the
/// same accounting without repeating it.
#[derive(Debug)]
pub struct MeteredEngine {
    inner: Arc<dyn KvEngine>,
    stats: Arc<StoreStats>,
}

impl MeteredEngine {
    /// Wraps `inner`, recording into `stats`.
    pub fn new(inner: Arc<dyn KvEngine>, stats: Arc<StoreStats>) -> Self {
        MeteredEngine { inner, stats }
    }

    /// The counters this engine records into.
    pub fn stats(&self) -> &Arc<StoreStats> {
        &self.stats
    }
}

fn timed<T>(stats: &StoreStats, kind: OpKind, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = f();
    match &out {
        Ok(_) => stats.record(kind, start.elapsed()),
        Err(e) => record_failure(stats, e),
    }
    out
}

/// A read refused for want of memory is retried elsewhere, not an error.
fn record_failure(stats: &StoreStats, e: &StorageError) {
    if *e != StorageError::Uncached {
        stats.record_error();
    }
}

/// One point read in this many is timed; its latency stands for them all.
/// Point reads are the hot path of every endpoint (a pipelined Redis GET
/// costs about a microsecond in all), and two clock readings and three
/// shared atomic adds per read were a measurable share of it. Counts stay
/// exact; only the latency histogram is sampled.
const READ_SAMPLE_EVERY: u32 = 8;

thread_local! {
    static READS_ON_THREAD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn timed_read<T>(stats: &StoreStats, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let n = READS_ON_THREAD.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    if !n.is_multiple_of(READ_SAMPLE_EVERY) {
        let out = f();
        match &out {
            Ok(_) => stats.count_read(),
            Err(e) => record_failure(stats, e),
        }
        return out;
    }
    let start = Instant::now();
    let out = f();
    match &out {
        Ok(_) => stats.record_read_sample(start.elapsed(), u64::from(READ_SAMPLE_EVERY)),
        Err(e) => record_failure(stats, e),
    }
    out
}

impl KvRead for MeteredEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        timed_read(&self.stats, || self.inner.get(cf, key))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        timed(&self.stats, OpKind::Scan, || self.inner.scan(cf, range, direction, visit))
    }
}

impl KvEngine for MeteredEngine {
    fn write(&self, batch: &WriteBatch) -> Result<()> {
        timed(&self.stats, OpKind::Write, || self.inner.write(batch))?;
        let puts = batch.ops().iter().filter(|op| matches!(op, WriteOp::Put { .. })).count();
        self.stats.record_mutations(puts as u64, (batch.len() - puts) as u64);
        Ok(())
    }

    fn snapshot(&self) -> Arc<dyn KvSnapshot> {
        Arc::new(MeteredSnapshot { inner: self.inner.snapshot(), stats: self.stats.clone() })
    }

    fn sync_wal(&self) -> Result<()> {
        timed(&self.stats, OpKind::Sync, || self.inner.sync_wal())
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush().inspect_err(|_| self.stats.record_error())
    }

    fn compact(&self, cf: &str, range: &KeyRange) -> Result<()> {
        self.inner.compact(cf, range).inspect_err(|_| self.stats.record_error())
    }

    fn checkpoint(&self, dest: &Path) -> Result<()> {
        self.inner.checkpoint(dest)
    }

    fn column_families(&self) -> Vec<String> {
        self.inner.column_families()
    }

    fn is_persistent(&self) -> bool {
        self.inner.is_persistent()
    }

    fn health(&self) -> EngineHealth {
        self.inner.health()
    }

    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
}

#[derive(Debug)]
struct MeteredSnapshot {
    inner: Arc<dyn KvSnapshot>,
    stats: Arc<StoreStats>,
}

impl KvRead for MeteredSnapshot {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        timed_read(&self.stats, || self.inner.get(cf, key))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        timed(&self.stats, OpKind::Scan, || self.inner.scan(cf, range, direction, visit))
    }
}

impl KvSnapshot for MeteredSnapshot {
    fn get_cached(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        timed_read(&self.stats, || self.inner.get_cached(cf, key))
    }

    fn scan_cached(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        timed(&self.stats, OpKind::Scan, || self.inner.scan_cached(cf, range, direction, visit))
    }
}
