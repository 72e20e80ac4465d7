//! An engine decorator that counts and times every operation.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::{
    Direction, EngineHealth, EngineStats, KeyRange, KvEngine, KvRead, KvSnapshot, Visitor, WriteBatch, WriteOp,
};
use crate::error::Result;
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
        Err(_) => stats.record_error(),
    }
    out
}

impl KvRead for MeteredEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        timed(&self.stats, OpKind::Read, || self.inner.get(cf, key))
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
        timed(&self.stats, OpKind::Read, || self.inner.get(cf, key))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        timed(&self.stats, OpKind::Scan, || self.inner.scan(cf, range, direction, visit))
    }
}

impl KvSnapshot for MeteredSnapshot {}
