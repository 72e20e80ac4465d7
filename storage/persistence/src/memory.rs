//! The memory provider's backend: concurrent maps, a `max_entries` limit,
//! optimistic transactions checked by per-key versions, and an optional
//! disk backup.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use foldhash::fast::RandomState;
use parking_lot::{Mutex, RwLock};

use crate::backend::{RecordStore, StoreTx};
use crate::backup;
use crate::config::MemoryConfig;
use crate::error::{PersistenceError, Result};
use crate::model::{AddressableReference, NodeId, Record, RecordKey, Table, WriteOp};
use crate::provider::{ProviderHealth, ProviderKind};

/// Health turns Degraded at this share of `max_entries`.
const NEAR_FULL: f64 = 0.9;

/// A record and the commit sequence number that last wrote it. A `None`
/// record is a tombstone, kept only while transactions that might have read
/// the key are open, so that they still see that it changed.
#[derive(Debug, Clone)]
struct Slot {
    record: Option<Record>,
    version: u64,
}

#[derive(Debug)]
struct Inner {
    name: String,
    config: MemoryConfig,
    // foldhash rather than SipHash: keys come from the server's own
    // addressables, not from untrusted clients.
    leases: DashMap<AddressableReference, Slot, RandomState>,
    nodes: DashMap<NodeId, Slot, RandomState>,
    /// The last sequence number handed to a write.
    seq: AtomicU64,
    /// Live records in both maps.
    live: AtomicUsize,
    /// Keys holding tombstones, purged when no transaction is open.
    tombstones: Mutex<Vec<RecordKey>>,
    /// Plain writes hold it shared; commits (validate, then apply) and
    /// transaction starts hold it exclusively.
    commit: RwLock<()>,
    /// Start sequence numbers of open transactions, with their counts.
    open_txs: Mutex<BTreeMap<u64, usize>>,
    /// The sequence number the last backup captured.
    backed_up: AtomicU64,
    backup_error: Mutex<Option<String>>,
}

/// The memory provider's backend.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

impl MemoryStore {
    /// A store named `name` (for messages) with `config`.
    pub fn new(name: impl Into<String>, config: MemoryConfig) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                name: name.into(),
                config,
                leases: DashMap::with_hasher(RandomState::default()),
                nodes: DashMap::with_hasher(RandomState::default()),
                seq: AtomicU64::new(0),
                live: AtomicUsize::new(0),
                tombstones: Mutex::new(Vec::new()),
                commit: RwLock::new(()),
                open_txs: Mutex::new(BTreeMap::new()),
                backed_up: AtomicU64::new(0),
                backup_error: Mutex::new(None),
            }),
        }
    }

    /// Live records held.
    pub fn len(&self) -> usize {
        self.inner.live.load(Ordering::Relaxed)
    }

    /// Whether no records are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn slot(&self, key: &RecordKey) -> Option<Slot> {
        match key {
            RecordKey::Lease(r) => self.leases.get(r).map(|s| s.clone()),
            RecordKey::Node(n) => self.nodes.get(n).map(|s| s.clone()),
        }
    }

    fn get(&self, key: &RecordKey) -> Option<Record> {
        self.slot(key).and_then(|s| s.record)
    }

    fn version(&self, key: &RecordKey) -> u64 {
        self.slot(key).map_or(0, |s| s.version)
    }

    /// Whether a live record has `r`'s key.
    fn holds(&self, r: &Record) -> bool {
        match r {
            Record::Lease(l) => self.leases.get(&l.reference).is_some_and(|s| s.record.is_some()),
            Record::Node(n) => self.nodes.get(&n.id).is_some_and(|s| s.record.is_some()),
        }
    }

    fn is_live(&self, key: &RecordKey) -> bool {
        self.slot(key).is_some_and(|s| s.record.is_some())
    }

    /// Reserves room for the records `ops` would add, or refuses them all.
    fn reserve(&self, ops: &[WriteOp]) -> Result<usize> {
        let adds = match ops {
            // The common single write: no key copies, no set.
            [WriteOp::Put(r)] => usize::from(!self.holds(r)),
            [_] | [] => 0,
            _ => {
                let mut seen = HashSet::new();
                ops.iter()
                    .filter(|op| matches!(op, WriteOp::Put(_)))
                    .map(WriteOp::key)
                    .filter(|k| seen.insert(k.clone()) && !self.is_live(k))
                    .count()
            }
        };
        let max = self.config.max_entries;
        let full = || PersistenceError::CapacityExceeded { provider: self.name.clone(), max_entries: max };
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| live.checked_add(adds).filter(|n| *n <= max))
            .map_err(|_| full())?;
        Ok(adds)
    }

    /// Applies `ops` (room already reserved for `reserved` new records),
    /// leaving tombstones for deleted keys when `keep_tombstones` (some
    /// open transaction may have read them); the caller holds the commit
    /// lock.
    fn apply(&self, ops: Vec<WriteOp>, reserved: usize, keep_tombstones: bool) {
        let mut added = 0usize;
        let mut removed = 0usize;
        for op in ops {
            let version = self.seq.fetch_add(1, Ordering::AcqRel) + 1;
            let (key, record) = match op {
                WriteOp::Put(r) => (r.key(), Some(r)),
                WriteOp::Delete(k) => (k, None),
            };
            let slot = Slot { record, version };
            let put = slot.record.is_some();
            let old = match (&key, put || keep_tombstones) {
                (RecordKey::Lease(r), true) => self.leases.insert(r.clone(), slot),
                (RecordKey::Node(n), true) => self.nodes.insert(n.clone(), slot),
                (RecordKey::Lease(r), false) => self.leases.remove(r).map(|(_, s)| s),
                (RecordKey::Node(n), false) => self.nodes.remove(n).map(|(_, s)| s),
            };
            let was_live = old.as_ref().is_some_and(|s| s.record.is_some());
            if !put && keep_tombstones {
                self.tombstones.lock().push(key);
            }
            match (was_live, put) {
                (false, true) => added += 1,
                (true, false) => removed += 1,
                _ => {}
            }
        }
        // Give back what was reserved but not used (a key another writer
        // created meanwhile), and what deletes freed.
        let unused = reserved.saturating_sub(added);
        let over = added.saturating_sub(reserved);
        self.live.fetch_add(over, Ordering::AcqRel);
        self.live.fetch_sub(unused + removed, Ordering::AcqRel);
    }

    fn write(&self, ops: Vec<WriteOp>) -> Result<()> {
        // A batch is applied under the exclusive lock so that concurrent
        // batches cannot interleave key by key; a single write needs only
        // to keep out of commits.
        let (_shared, _exclusive) =
            if ops.len() > 1 { (None, Some(self.commit.write())) } else { (Some(self.commit.read()), None) };
        let reserved = self.reserve(&ops)?;
        let keep = !self.open_txs.lock().is_empty();
        self.apply(ops, reserved, keep);
        Ok(())
    }

    fn end_tx(&self, start: u64) {
        let now_idle = {
            let mut open = self.open_txs.lock();
            if let Some(n) = open.get_mut(&start) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&start);
                }
            }
            open.is_empty()
        };
        if now_idle && !self.tombstones.lock().is_empty() {
            let _exclusive = self.commit.write();
            // A transaction may have begun since; it needs the tombstones.
            if self.open_txs.lock().is_empty() {
                let keys = std::mem::take(&mut *self.tombstones.lock());
                for key in keys {
                    match key {
                        RecordKey::Lease(r) => {
                            self.leases.remove_if(&r, |_, s| s.record.is_none());
                        }
                        RecordKey::Node(n) => {
                            self.nodes.remove_if(&n, |_, s| s.record.is_none());
                        }
                    }
                }
            }
        }
    }

    fn records(&self) -> Vec<Record> {
        let leases = self.leases.iter().filter_map(|e| e.value().record.clone());
        leases.chain(self.nodes.iter().filter_map(|e| e.value().record.clone())).collect()
    }

    fn save_backup(&self) -> Result<()> {
        let Some(cfg) = &self.config.disk_backup else { return Ok(()) };
        let (records, seq) = {
            // Exclusive, so the backup holds whole batches and commits.
            let _exclusive = self.commit.write();
            (self.records(), self.seq.load(Ordering::Acquire))
        };
        let result = backup::write(&cfg.path, records, cfg.compression);
        match &result {
            Ok(()) => {
                self.backed_up.store(seq, Ordering::Release);
                *self.backup_error.lock() = None;
            }
            Err(e) => *self.backup_error.lock() = Some(e.to_string()),
        }
        result
    }
}

impl RecordStore for MemoryStore {
    const BLOCKING: bool = false;

    fn kind(&self) -> ProviderKind {
        ProviderKind::Memory
    }

    fn open(&self) -> Result<()> {
        let inner = &self.inner;
        let Some(cfg) = &inner.config.disk_backup else { return Ok(()) };
        let records = backup::read(&cfg.path)?;
        let n = records.len();
        if n > inner.config.max_entries {
            return Err(PersistenceError::CorruptBackup {
                path: cfg.path.display().to_string(),
                reason: format!("it holds {n} records, more than max_entries ({})", inner.config.max_entries),
            });
        }
        inner.write(records.into_iter().map(WriteOp::Put).collect())?;
        inner.backed_up.store(inner.seq.load(Ordering::Acquire), Ordering::Release);
        if n > 0 {
            tracing::info!(provider = %inner.name, records = n, path = %cfg.path.display(), "restored the disk backup");
        }
        Ok(())
    }

    fn close(&self) -> Result<()> {
        self.inner.save_backup()
    }

    fn health(&self) -> ProviderHealth {
        let inner = &self.inner;
        if let Some(e) = inner.backup_error.lock().clone() {
            return ProviderHealth::Degraded(format!("the last disk backup failed: {e}"));
        }
        let live = inner.live.load(Ordering::Relaxed);
        let max = inner.config.max_entries;
        if live as f64 >= max as f64 * NEAR_FULL {
            return ProviderHealth::Degraded(format!("{live} of max_entries {max} in use"));
        }
        ProviderHealth::Healthy
    }

    fn get(&self, key: &RecordKey) -> Result<Option<Record>> {
        Ok(self.inner.get(key))
    }

    fn get_nonblocking(&self, key: &RecordKey) -> Option<Result<Option<Record>>> {
        Some(Ok(self.inner.get(key)))
    }

    fn scan(&self, table: Table) -> Result<Vec<Record>> {
        Ok(match table {
            Table::Leases => self.inner.leases.iter().filter_map(|e| e.value().record.clone()).collect(),
            Table::Nodes => self.inner.nodes.iter().filter_map(|e| e.value().record.clone()).collect(),
        })
    }

    fn write(&self, ops: Vec<WriteOp>) -> Result<()> {
        self.inner.write(ops)
    }

    fn begin(&self) -> Result<Box<dyn StoreTx>> {
        let inner = &self.inner;
        // Exclusive, so that no plain write is half-way through deciding
        // whether to keep a tombstone when this transaction starts.
        let _exclusive = inner.commit.write();
        let start = inner.seq.load(Ordering::Acquire);
        *inner.open_txs.lock().entry(start).or_insert(0) += 1;
        Ok(Box::new(MemoryTx { inner: inner.clone(), start, reads: HashSet::new(), writes: HashMap::new() }))
    }

    fn tick_interval(&self) -> Option<Duration> {
        self.inner.config.disk_backup.as_ref().map(|b| Duration::from_secs(b.sync_interval.max(1)))
    }

    fn tick(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.seq.load(Ordering::Acquire) == inner.backed_up.load(Ordering::Acquire) {
            return Ok(());
        }
        inner.save_backup()
    }
}

/// A memory transaction: buffered writes, the keys it read, and the
/// sequence number it started at. It commits only if none of those keys was
/// written after it started (first committer wins).
struct MemoryTx {
    inner: Arc<Inner>,
    start: u64,
    reads: HashSet<RecordKey>,
    writes: HashMap<RecordKey, WriteOp>,
}

impl Drop for MemoryTx {
    fn drop(&mut self) {
        self.inner.end_tx(self.start);
    }
}

impl StoreTx for MemoryTx {
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>> {
        if let Some(op) = self.writes.get(key) {
            return Ok(match op {
                WriteOp::Put(r) => Some(r.clone()),
                WriteOp::Delete(_) => None,
            });
        }
        self.reads.insert(key.clone());
        Ok(self.inner.get(key))
    }

    fn write(&mut self, op: WriteOp) -> Result<()> {
        self.writes.insert(op.key(), op);
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let inner = self.inner.clone();
        let exclusive = inner.commit.write();
        for key in self.reads.iter().chain(self.writes.keys()) {
            if inner.version(key) > self.start {
                return Err(PersistenceError::Conflict(format!("{key:?} was written by another transaction")));
            }
        }
        let ops: Vec<WriteOp> = self.writes.drain().map(|(_, op)| op).collect();
        let reserved = inner.reserve(&ops)?;
        // This transaction is still counted as open; tombstones are needed
        // only if another one is.
        let others_open = inner.open_txs.lock().values().sum::<usize>() > 1;
        inner.apply(ops, reserved, others_open);
        // Before `self` drops: its Drop takes the lock again to purge
        // tombstones.
        drop(exclusive);
        Ok(())
    }

    fn rollback(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
