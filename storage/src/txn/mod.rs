//! Optimistic snapshot-isolation transactions over any [`KvEngine`].
//!
//! A transaction reads from a snapshot taken at `begin`, buffers its writes,
//! and at commit checks, under one short lock, that no commit since its
//! snapshot wrote a key it writes (or watches). If one did, the commit fails
//! with [`StorageError::WriteConflict`] and nothing is written: a lost update
//! is impossible. Keeping this above the engine means the memory engine and
//! RocksDB share one implementation and one conformance suite.

mod tracker;
mod transaction;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

pub use transaction::{KvTxn, Savepoint};

use crate::durability::{Durability, Ticket};
use crate::error::{Result, StorageError};
use crate::kv::{KvEngine, KvRead, WriteBatch};
use tracker::ConflictTracker;

/// Told about every commit, in commit order, while the commit lock is held:
/// used to keep caches exactly in step with the engine.
pub trait CommitObserver: Send + Sync + Debug {
    /// `batch` has been applied to the engine as commit `ts`. Must be quick.
    fn committed(&self, ts: u64, batch: &WriteBatch);
}

/// The outcome of a successful commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The commit's timestamp; snapshots at or after it see its writes.
    pub ts: u64,
    /// Where the commit sits in the write stream; wait on it for durability.
    pub ticket: Ticket,
}

/// Hands out snapshots and serialises commits for one store.
#[derive(Debug)]
pub struct TxnManager {
    engine: Arc<dyn KvEngine>,
    durability: Arc<Durability>,
    commit_lock: Mutex<ConflictTracker>,
    /// Timestamp of the latest commit applied to the engine.
    last_committed: AtomicU64,
    /// Odd while a commit is being applied (a seqlock for lock-free readers
    /// who need to know no commit overlapped their read).
    epoch: AtomicU64,
    /// Open snapshot timestamps and how many transactions hold each.
    active: Mutex<BTreeMap<u64, usize>>,
    observers: RwLock<Vec<Arc<dyn CommitObserver>>>,
}

impl TxnManager {
    /// A manager for `engine`, syncing through `durability`.
    pub fn new(engine: Arc<dyn KvEngine>, durability: Arc<Durability>) -> Arc<Self> {
        Arc::new(TxnManager {
            engine,
            durability,
            commit_lock: Mutex::new(ConflictTracker::default()),
            last_committed: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            active: Mutex::new(BTreeMap::new()),
            observers: RwLock::new(Vec::new()),
        })
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Arc<dyn KvEngine> {
        &self.engine
    }

    /// The store's syncer.
    pub fn durability(&self) -> &Arc<Durability> {
        &self.durability
    }

    /// Registers an observer of all later commits.
    pub fn add_observer(&self, observer: Arc<dyn CommitObserver>) {
        self.observers.write().push(observer);
    }

    /// Starts a transaction reading from a snapshot of the latest commit.
    pub fn begin(self: &Arc<Self>) -> KvTxn {
        // Under the commit lock so the snapshot holds exactly the commits up
        // to `start`: none half-applied, none missing.
        let guard = self.commit_lock.lock();
        let start = self.last_committed.load(Ordering::Acquire);
        let visible = self.durability.latest();
        let snapshot = self.engine.snapshot();
        *self.active.lock().entry(start).or_insert(0) += 1;
        drop(guard);
        KvTxn::new(self.clone(), start, visible, snapshot)
    }

    /// A fresh snapshot of the latest commit, with its start and visibility
    /// ticket, registered as active like a new transaction's; but first,
    /// under the commit lock, a conflict check of a transaction's buffered
    /// keys, ranges and watched keys against commits after `since`.
    pub(crate) fn fresh_snapshot_checked<'k>(
        &self,
        since: u64,
        written: impl Iterator<Item = (&'static str, &'k [u8])>,
        mut ranges: impl Iterator<Item = (&'static str, &'k [u8], &'k [u8])>,
        watched: &[(&'static str, Vec<u8>)],
    ) -> Result<(u64, Ticket, Arc<dyn crate::kv::KvSnapshot>)> {
        let guard = self.commit_lock.lock();
        let mut written = written;
        let conflict = written.any(|(cf, k)| guard.key_changed_since(cf, k, since))
            || ranges.any(|(cf, s, e)| guard.range_changed_since(cf, s, e, since))
            || watched.iter().any(|(cf, k)| guard.key_changed_since(cf, k, since));
        if conflict {
            return Err(StorageError::WriteConflict);
        }
        let start = self.last_committed.load(Ordering::Acquire);
        let visible = self.durability.latest();
        let snapshot = self.engine.snapshot();
        *self.active.lock().entry(start).or_insert(0) += 1;
        drop(guard);
        Ok((start, visible, snapshot))
    }

    /// Writes `batch` atomically, outside any transaction.
    pub fn write(&self, batch: WriteBatch) -> Result<Committed> {
        self.apply_atomically(|_| Ok((batch, ()))).map(|(c, ())| c)
    }

    /// Runs `f` against the latest state with no commit able to interleave,
    /// then commits the batch it returns: an atomic read-modify-write without
    /// retries. `f` must be short; it holds up every writer of the store.
    pub fn apply_atomically<R>(
        &self,
        f: impl FnOnce(&dyn KvRead) -> Result<(WriteBatch, R)>,
    ) -> Result<(Committed, R)> {
        self.durability.check_writable()?;
        let mut tracker = self.commit_lock.lock();
        let (batch, out) = f(self.engine.as_ref())?;
        let committed = self.apply_locked(&mut tracker, &batch)?;
        Ok((committed, out))
    }

    /// Validates and applies a transaction's writes.
    fn commit_txn(
        &self,
        start: u64,
        batch: &WriteBatch,
        watched: &[(&'static str, Vec<u8>)],
    ) -> Result<Option<Committed>> {
        self.durability.check_writable()?;
        let mut tracker = self.commit_lock.lock();
        let watched_changed = watched.iter().any(|(cf, k)| tracker.key_changed_since(cf, k, start));
        if watched_changed || tracker.batch_conflicts(batch, start) {
            return Err(StorageError::WriteConflict);
        }
        if batch.is_empty() {
            return Ok(None);
        }
        self.apply_locked(&mut tracker, batch).map(Some)
    }

    fn apply_locked(&self, tracker: &mut ConflictTracker, batch: &WriteBatch) -> Result<Committed> {
        let ts = self.last_committed.load(Ordering::Acquire) + 1;
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let written = self.engine.write(batch);
        let mut ticket = None;
        if written.is_ok() {
            tracker.record(batch, ts);
            for o in self.observers.read().iter() {
                o.committed(ts, batch);
            }
            // Inside the epoch window, so `visible_ticket` never misses it.
            ticket = Some(self.durability.note_write());
            self.last_committed.store(ts, Ordering::Release);
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        written?;
        let horizon = self.active.lock().keys().next().copied().unwrap_or(ts);
        tracker.maybe_prune(horizon);
        let ticket = ticket.ok_or_else(|| StorageError::Engine("commit without a ticket".into()))?;
        Ok(Committed { ts, ticket })
    }

    fn release(&self, start: u64) {
        let mut active = self.active.lock();
        if let Some(n) = active.get_mut(&start) {
            *n -= 1;
            if *n == 0 {
                active.remove(&start);
            }
        }
    }

    /// The timestamp of the latest commit.
    pub fn last_committed(&self) -> u64 {
        self.last_committed.load(Ordering::Acquire)
    }

    /// Runs `read` against the engine's latest state and tells whether a
    /// commit overlapped it. When it returns `Some(ts)`, what `read` saw is
    /// exactly the state as of commit `ts`.
    pub fn read_latest<T>(&self, read: impl FnOnce(&dyn KvRead) -> Result<T>) -> Result<(T, Option<u64>)> {
        let before = self.epoch.load(Ordering::SeqCst);
        let ts = self.last_committed.load(Ordering::SeqCst);
        let out = read(self.engine.as_ref())?;
        let after = self.epoch.load(Ordering::SeqCst);
        let clean = before.is_multiple_of(2) && before == after;
        Ok((out, clean.then_some(ts)))
    }

    /// A ticket covering every commit whose writes a read starting now could
    /// see. A reader that waits on it before answering never hands out data
    /// that a crash could still take back.
    pub fn visible_ticket(&self) -> Ticket {
        loop {
            let before = self.epoch.load(Ordering::SeqCst);
            if !before.is_multiple_of(2) {
                // A commit is being applied; it takes microseconds.
                std::thread::yield_now();
                continue;
            }
            let ticket = self.durability.latest();
            if self.epoch.load(Ordering::SeqCst) == before {
                return ticket;
            }
        }
    }

    /// Open transactions and tracked keys, for diagnostics.
    pub fn open_transactions(&self) -> usize {
        self.active.lock().values().sum()
    }

    /// Number of keys and ranges kept for conflict checks.
    pub fn tracked_writes(&self) -> usize {
        self.commit_lock.lock().len()
    }
}
