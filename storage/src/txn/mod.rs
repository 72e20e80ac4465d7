//! Optimistic snapshot-isolation transactions over any [`KvEngine`].
//!
//! A transaction reads from a snapshot taken at `begin`, buffers its writes,
//! and at commit checks, under the commit lock, that no commit since its
//! snapshot wrote a key it writes (or watches). If one did, the commit fails
//! with [`StorageError::WriteConflict`] and nothing is written: a lost update
//! is impossible. Keeping this above the engine means the memory engine and
//! RocksDB share one implementation and one conformance suite.

mod tracker;
mod transaction;

use std::collections::{BTreeMap, VecDeque};
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

/// A commit with a snapshot of the state it left, kept until a later
/// commit is durable.
#[derive(Debug, Clone)]
struct Published {
    ts: u64,
    ticket: Ticket,
    snapshot: Arc<dyn crate::kv::KvSnapshot>,
}

/// A snapshot with the commit timestamp it reflects and the ticket to wait
/// on before showing what it reads.
type SnapshotAt = (u64, Ticket, Arc<dyn crate::kv::KvSnapshot>);

/// At most this many commits wait in [`TxnManager::published`]; past it
/// the oldest goes, and readers fall back to the latest state and wait.
const MAX_PUBLISHED: usize = 1024;

/// Which snapshot a transaction moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    /// The latest commit: reads may show commits whose sync is still
    /// running, and answering then waits for it.
    Latest,
    /// The newest state whose commits are all durable (under the `commit`
    /// policy), so reading never waits for a sync; PostgreSQL, too, shows
    /// a commit only once its log is flushed.
    Settled,
}

/// Hands out snapshots and serialises commits for one store.
#[derive(Debug)]
pub struct TxnManager {
    engine: Arc<dyn KvEngine>,
    durability: Arc<Durability>,
    /// Serialises commits, and lets a reader see the engine with no commit
    /// half applied.
    commit_lock: Mutex<()>,
    /// What recent commits wrote, for conflict checks. A commit takes it
    /// exclusively (holding `commit_lock`) only after its engine write, for
    /// the short step that makes the commit known: recording its keys,
    /// bumping `last_committed`, publishing it. So a transaction moving to
    /// a published state needs only a shared hold, and never waits for a
    /// commit's engine write.
    tracker: RwLock<ConflictTracker>,
    /// Timestamp of the latest commit applied to the engine.
    last_committed: AtomicU64,
    /// Odd while a commit is being applied (a seqlock for lock-free readers
    /// who need to know no commit overlapped their read).
    epoch: AtomicU64,
    /// Open snapshot timestamps and how many transactions hold each.
    active: Mutex<BTreeMap<u64, usize>>,
    observers: RwLock<Vec<Arc<dyn CommitObserver>>>,
    /// Under the `commit` policy: the newest durable commit first (once
    /// there is one), then the commits after it, whose syncs are pending.
    published: Mutex<VecDeque<Published>>,
    /// Set once a reader asks for a settled snapshot: until then commits
    /// are not published (stores whose readers never ask pay nothing).
    settled_wanted: std::sync::atomic::AtomicBool,
}

impl TxnManager {
    /// A manager for `engine`, syncing through `durability`.
    pub fn new(engine: Arc<dyn KvEngine>, durability: Arc<Durability>) -> Arc<Self> {
        Arc::new(TxnManager {
            engine,
            durability,
            commit_lock: Mutex::new(()),
            tracker: RwLock::new(ConflictTracker::default()),
            last_committed: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            active: Mutex::new(BTreeMap::new()),
            observers: RwLock::new(Vec::new()),
            published: Mutex::new(VecDeque::new()),
            settled_wanted: std::sync::atomic::AtomicBool::new(false),
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
        self.begin_at(SnapshotKind::Latest)
    }

    /// Starts a transaction reading from a snapshot of the `kind` asked for.
    pub fn begin_at(self: &Arc<Self>, kind: SnapshotKind) -> KvTxn {
        if kind == SnapshotKind::Settled
            && let Some((start, visible, snapshot)) = self.settled_registered(0, |_| false, &[]).ok().flatten()
        {
            return KvTxn::new(self.clone(), start, visible, snapshot);
        }
        // Under the commit lock so the snapshot holds exactly the commits up
        // to `start`, none half-applied, none missing; and so that no
        // prune drops what a transaction starting there must check.
        let guard = self.commit_lock.lock();
        let (start, visible, snapshot) = self.snapshot_locked(kind, 0);
        *self.active.lock().entry(start).or_insert(0) += 1;
        drop(guard);
        KvTxn::new(self.clone(), start, visible, snapshot)
    }

    /// The snapshot of `kind`, not older than commit `at_least` (a
    /// transaction never moves back); call under the commit lock.
    fn snapshot_locked(&self, kind: SnapshotKind, at_least: u64) -> SnapshotAt {
        if kind == SnapshotKind::Settled {
            self.want_settled();
        }
        if kind == SnapshotKind::Settled
            && let Some(p) = self.settled()
            && p.ts >= at_least
        {
            return (p.ts, p.ticket, p.snapshot);
        }
        (self.last_committed.load(Ordering::Acquire), self.durability.latest(), self.engine.snapshot())
    }

    /// Notes that settled snapshots are asked for: commits are published
    /// from the first ask on.
    pub(crate) fn want_settled(&self) {
        if !self.settled_wanted.load(Ordering::Relaxed) {
            self.settled_wanted.store(true, Ordering::Relaxed);
        }
    }

    /// The newest published commit that is durable, dropping older ones.
    /// `None` when no commit is published (then the latest state is
    /// durable or nothing is known) or none of them is durable yet.
    fn settled(&self) -> Option<Published> {
        let mut p = self.published.lock();
        self.drop_superseded(&mut p);
        p.front().filter(|f| self.durability.is_settled(f.ticket)).cloned()
    }

    /// Drops published commits older than the newest durable one.
    fn drop_superseded(&self, p: &mut VecDeque<Published>) {
        while p.len() >= 2 && self.durability.is_settled(p[1].ticket) {
            p.pop_front();
        }
    }

    /// A fresh snapshot of the latest commit, with its start and visibility
    /// ticket, registered as active like a new transaction's; but first,
    /// under the commit lock, a conflict check of a transaction's buffered
    /// keys, ranges and watched keys against commits after `since`.
    ///
    /// With [`SnapshotKind::Settled`] the snapshot is the newest durable
    /// state, unless that is older than `since` or a commit after it wrote
    /// one of `must_see` (rows the caller just locked, whose latest
    /// version it must read): then the latest.
    pub(crate) fn fresh_snapshot_checked(
        &self,
        since: u64,
        conflicts: impl Fn(&ConflictTracker) -> bool,
        kind: SnapshotKind,
        must_see: &[(&'static str, Vec<u8>)],
    ) -> Result<SnapshotAt> {
        if kind == SnapshotKind::Settled
            && let Some(found) = self.settled_registered(since, &conflicts, must_see)?
        {
            return Ok(found);
        }
        let guard = self.commit_lock.lock();
        let tracker = self.tracker.read();
        if conflicts(&tracker) {
            return Err(StorageError::WriteConflict);
        }
        let (mut start, mut visible, mut snapshot) = self.snapshot_locked(kind, since);
        // The prune horizon never passes a published commit (see
        // `apply_locked`), so the tracker knows every write after `start`.
        if must_see.iter().any(|(cf, k)| tracker.key_changed_since(cf, k, start)) {
            (start, visible, snapshot) = self.snapshot_locked(SnapshotKind::Latest, since);
        }
        *self.active.lock().entry(start).or_insert(0) += 1;
        drop((tracker, guard));
        Ok((start, visible, snapshot))
    }

    /// The newest durable published state, registered as active, after
    /// the conflict check `conflicts`; without the commit lock, so without
    /// waiting for a commit being applied. `None` when there is no such
    /// state, it is older than `since`, or a commit after it wrote one of
    /// `must_see`: then the caller takes the commit lock.
    ///
    /// A shared hold of the tracker suffices: a published commit has
    /// recorded its writes, and neither a commit's record step nor a prune
    /// can run while this registers. A commit being applied now is later
    /// than the state taken, so the transaction's own commit checks it.
    fn settled_registered(
        &self,
        since: u64,
        conflicts: impl Fn(&ConflictTracker) -> bool,
        must_see: &[(&'static str, Vec<u8>)],
    ) -> Result<Option<SnapshotAt>> {
        self.want_settled();
        let tracker = self.tracker.read();
        if conflicts(&tracker) {
            return Err(StorageError::WriteConflict);
        }
        let Some(p) = self.settled().filter(|p| p.ts >= since) else { return Ok(None) };
        if must_see.iter().any(|(cf, k)| tracker.key_changed_since(cf, k, p.ts)) {
            return Ok(None);
        }
        *self.active.lock().entry(p.ts).or_insert(0) += 1;
        drop(tracker);
        Ok(Some((p.ts, p.ticket, p.snapshot)))
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
        let guard = self.commit_lock.lock();
        let (batch, out) = f(self.engine.as_ref())?;
        let committed = self.apply_locked(&batch, None);
        drop(guard);
        self.durability.wake();
        Ok((committed?, out))
    }

    /// Validates and applies a transaction's writes.
    fn commit_txn(
        &self,
        start: u64,
        batch: &WriteBatch,
        watched: &[(&'static str, Vec<u8>)],
    ) -> Result<Option<Committed>> {
        self.durability.check_writable()?;
        let guard = self.commit_lock.lock();
        {
            // Shared: only commits write the tracker, and this one holds
            // the commit lock.
            let tracker = self.tracker.read();
            let watched_changed = watched.iter().any(|(cf, k)| tracker.key_changed_since(cf, k, start));
            if watched_changed || tracker.batch_conflicts(batch, start) {
                return Err(StorageError::WriteConflict);
            }
        }
        if batch.is_empty() {
            return Ok(None);
        }
        let committed = self.apply_locked(batch, Some(start));
        drop(guard);
        self.durability.wake();
        committed.map(Some)
    }

    /// Whether a transaction that could conflict with commit `ts` exists or
    /// may yet start: one open since before it (other than the committer,
    /// which began at `own_start`), or one starting at an older published
    /// state. A bulk load into an idle store skips recording its keys.
    fn conflicts_possible(&self, ts: u64, own_start: Option<u64>) -> bool {
        let older = {
            let active = self.active.lock();
            let n: usize = active.range(..ts).map(|(_, n)| *n).sum();
            n - usize::from(own_start.is_some_and(|s| s < ts && active.contains_key(&s)))
        };
        older > 0 || !self.published.lock().is_empty()
    }

    /// Applies `batch` as the next commit; call under the commit lock.
    fn apply_locked(&self, batch: &WriteBatch, own_start: Option<u64>) -> Result<Committed> {
        let ts = self.last_committed.load(Ordering::Acquire) + 1;
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // The engine write, the long part, goes before the tracker is
        // taken: until the commit is recorded below, nothing shows it but
        // the engine's latest state, which readers take under the commit
        // lock (or check with `epoch`).
        let written = self.engine.write(batch);
        // A persistent engine's snapshot is a sequence number; the memory
        // engine's would copy the data, and it never waits for a sync anyway.
        let publish = self.durability.policy() == crate::durability::SyncPolicy::Commit
            && self.settled_wanted.load(Ordering::Relaxed)
            && self.engine.is_persistent();
        // A schema change is a barrier: an older state read through the new
        // catalog (a rewritten table lives under a new id) would look empty.
        // Until a later commit is durable, readers take the latest state.
        let barrier = batch.ops().iter().any(|op| op.cf() == crate::protocol::cf::TABLE_CATALOG);
        let mut snapshot = None;
        if written.is_ok() {
            // Also before the tracker: the cache updates, which readers
            // cannot use before `last_committed` reaches `ts`, and the
            // snapshot to publish (the engine holds exactly this commit's
            // state, as commits are serialised).
            for o in self.observers.read().iter() {
                o.committed(ts, batch);
            }
            if publish && !barrier {
                snapshot = Some(self.engine.snapshot());
            }
        }
        let mut tracker = self.tracker.write();
        let mut ticket = None;
        if written.is_ok() {
            // Decided here, under the exclusive hold: a transaction that
            // registers later starts at this commit's state or after it,
            // or at a published state older than it, and a published state
            // makes this true.
            if self.conflicts_possible(ts, own_start) {
                tracker.record(batch, ts);
            }
            // Inside the epoch window, so `visible_ticket` never misses it.
            let t = self.durability.note_write();
            ticket = Some(t);
            self.last_committed.store(ts, Ordering::Release);
            if publish {
                let mut p = self.published.lock();
                match snapshot {
                    None => p.clear(),
                    Some(snapshot) => {
                        self.drop_superseded(&mut p);
                        p.push_back(Published { ts, ticket: t, snapshot });
                        if p.len() > MAX_PUBLISHED {
                            p.pop_front();
                        }
                    }
                }
            }
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        written?;
        // Keep what a transaction starting at a published commit must check.
        let oldest_published = self.published.lock().front().map(|p| p.ts);
        let horizon = self.active.lock().keys().next().copied().unwrap_or(ts).min(oldest_published.unwrap_or(ts));
        tracker.maybe_prune(horizon);
        drop(tracker);
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
            match self.try_visible_ticket() {
                Some(ticket) => return ticket,
                // A commit is being applied; it takes microseconds.
                None => std::thread::yield_now(),
            }
        }
    }

    /// [`TxnManager::visible_ticket`] without waiting: `None` while a commit
    /// is being applied (a big one can take a while, and async callers
    /// should not spin on it).
    pub fn try_visible_ticket(&self) -> Option<Ticket> {
        let before = self.epoch.load(Ordering::SeqCst);
        if !before.is_multiple_of(2) {
            return None;
        }
        let ticket = self.durability.latest();
        (self.epoch.load(Ordering::SeqCst) == before).then_some(ticket)
    }

    /// Open transactions and tracked keys, for diagnostics.
    pub fn open_transactions(&self) -> usize {
        self.active.lock().values().sum()
    }

    /// Number of keys and ranges kept for conflict checks.
    pub fn tracked_writes(&self) -> usize {
        self.tracker.read().len()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::{Condvar, Mutex as StdMutex};

    use super::*;
    use crate::durability::SyncPolicy;
    use crate::kv::MemoryEngine;
    use crate::kv::{Direction, EngineHealth, EngineStats, KeyRange, KvSnapshot, Visitor};

    /// A memory engine whose syncs wait while the gate is shut: commits
    /// stay applied but not durable for as long as a test needs.
    #[derive(Debug)]
    struct GatedEngine {
        inner: MemoryEngine,
        open: StdMutex<bool>,
        changed: Condvar,
    }

    impl GatedEngine {
        fn set(&self, open: bool) {
            *self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = open;
            self.changed.notify_all();
        }
    }

    impl KvRead for GatedEngine {
        fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
            self.inner.get(cf, key)
        }
        fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
            self.inner.scan(cf, range, direction, visit)
        }
    }

    impl KvEngine for GatedEngine {
        fn write(&self, batch: &WriteBatch) -> Result<()> {
            self.inner.write(batch)
        }
        fn snapshot(&self) -> Arc<dyn KvSnapshot> {
            self.inner.snapshot()
        }
        fn sync_wal(&self) -> Result<()> {
            let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            while !*open {
                open = self.changed.wait(open).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            Ok(())
        }
        fn flush(&self) -> Result<()> {
            Ok(())
        }
        fn compact(&self, _cf: &str, _range: &KeyRange) -> Result<()> {
            Ok(())
        }
        fn checkpoint(&self, _dest: &Path) -> Result<()> {
            Ok(())
        }
        fn column_families(&self) -> Vec<String> {
            self.inner.column_families()
        }
        fn is_persistent(&self) -> bool {
            // Stands in for a durable engine, whose commits get published.
            true
        }
        fn health(&self) -> EngineHealth {
            self.inner.health()
        }
        fn stats(&self) -> EngineStats {
            self.inner.stats()
        }
    }

    fn put(mgr: &Arc<TxnManager>, value: &[u8]) -> Ticket {
        let mut b = WriteBatch::new();
        b.put("rows", b"k".to_vec(), value.to_vec());
        mgr.write(b).expect("write").ticket
    }

    fn read(t: &KvTxn) -> Option<Vec<u8>> {
        t.get("rows", b"k").expect("get")
    }

    fn setup() -> (Arc<GatedEngine>, Arc<TxnManager>) {
        let engine = Arc::new(GatedEngine {
            inner: MemoryEngine::new(&["rows", crate::protocol::cf::TABLE_CATALOG]),
            open: StdMutex::new(true),
            changed: Condvar::new(),
        });
        let durability = Arc::new(Durability::start(engine.clone(), SyncPolicy::Commit, "test").expect("syncer"));
        let mgr = TxnManager::new(engine.clone(), durability);
        (engine, mgr)
    }

    /// Writers that move to the newest durable state without the commit
    /// lock, while commits are being applied and synced, still lose no
    /// update: whatever they did not see, their commit checks.
    #[test]
    fn settled_read_modify_writes_lose_nothing_under_contention() {
        let (_engine, mgr) = setup();
        let counter = |t: &KvTxn| read(t).map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let mgr = mgr.clone();
                std::thread::spawn(move || {
                    for _ in 0..40 {
                        loop {
                            let mut t = mgr.begin_at(SnapshotKind::Settled);
                            // Nothing written yet: nothing can conflict.
                            t.refresh_to(SnapshotKind::Settled, &[]).expect("refresh");
                            let n = counter(&t);
                            t.put("rows", b"k".to_vec(), (n + 1).to_be_bytes().to_vec());
                            // As after taking a row lock: the row must be
                            // read as last committed, and the rest may not.
                            let refreshed = t.refresh_to(SnapshotKind::Settled, &[("rows", b"k".to_vec())]);
                            match refreshed.and_then(|()| t.commit()) {
                                Ok(_) => break,
                                Err(StorageError::WriteConflict) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(counter(&mgr.begin()), 240);
        futures::executor::block_on(mgr.durability().wait(mgr.durability().latest())).expect("synced");
        assert_eq!(counter(&mgr.begin_at(SnapshotKind::Settled)), 240);
        assert_eq!(mgr.open_transactions(), 0, "every snapshot registered is released");
        mgr.durability().close().expect("close");
    }

    #[test]
    fn settled_snapshots_show_only_durable_commits() {
        let (engine, mgr) = setup();
        // The first ask turns publishing on.
        drop(mgr.begin_at(SnapshotKind::Settled));
        let t = put(&mgr, b"old");
        futures::executor::block_on(mgr.durability().wait(t)).expect("synced");

        engine.set(false);
        let pending = put(&mgr, b"new");
        assert!(!mgr.durability().is_settled(pending));
        // The latest state shows the pending commit; the settled one does
        // not, and reading it needs no wait.
        assert_eq!(read(&mgr.begin()), Some(b"new".to_vec()));
        let settled = mgr.begin_at(SnapshotKind::Settled);
        assert_eq!(read(&settled), Some(b"old".to_vec()));
        assert!(mgr.durability().is_settled(settled.visible_ticket()));

        // A row that must be read as last committed forces the latest.
        let mut locked = mgr.begin_at(SnapshotKind::Settled);
        locked.refresh_to(SnapshotKind::Settled, &[("rows", b"k".to_vec())]).expect("refresh");
        assert_eq!(read(&locked), Some(b"new".to_vec()));
        // And a transaction never moves back to an older state.
        locked.refresh_to(SnapshotKind::Settled, &[]).expect("refresh");
        assert_eq!(read(&locked), Some(b"new".to_vec()));

        engine.set(true);
        futures::executor::block_on(mgr.durability().wait(pending)).expect("synced");
        assert_eq!(read(&mgr.begin_at(SnapshotKind::Settled)), Some(b"new".to_vec()));
        drop((settled, locked));
        mgr.durability().close().expect("close");
    }

    #[test]
    fn a_settled_refresh_with_nothing_new_still_turns_publishing_on() {
        let (engine, mgr) = setup();
        // A transaction that began at the latest state asks for a settled
        // one before any commit: nothing moves, but the ask counts.
        let mut t = mgr.begin();
        t.refresh_to(SnapshotKind::Settled, &[]).expect("refresh");
        let old = put(&mgr, b"old");
        futures::executor::block_on(mgr.durability().wait(old)).expect("synced");
        engine.set(false);
        put(&mgr, b"new");
        let seen = read(&mgr.begin_at(SnapshotKind::Settled));
        // Open the gate before asserting: a failing test must not leave the
        // sync thread waiting forever.
        engine.set(true);
        drop(t);
        mgr.durability().close().expect("close");
        assert_eq!(seen, Some(b"old".to_vec()), "the pending commit is not settled");
    }

    #[test]
    fn a_pending_schema_change_makes_readers_take_the_latest_state() {
        let (engine, mgr) = setup();
        drop(mgr.begin_at(SnapshotKind::Settled));
        let t = put(&mgr, b"old");
        futures::executor::block_on(mgr.durability().wait(t)).expect("synced");
        engine.set(false);
        let mut b = WriteBatch::new();
        b.put(crate::protocol::cf::TABLE_CATALOG, b"t".to_vec(), b"v2".to_vec());
        b.put("rows", b"k".to_vec(), b"rewritten".to_vec());
        let ddl = mgr.write(b).expect("ddl").ticket;
        let reader = mgr.begin_at(SnapshotKind::Settled);
        assert_eq!(read(&reader), Some(b"rewritten".to_vec()));
        assert_eq!(reader.visible_ticket(), ddl);
        // Commits after it publish again once one of them is durable.
        engine.set(true);
        let after = put(&mgr, b"after");
        futures::executor::block_on(mgr.durability().wait(after)).expect("synced");
        assert_eq!(read(&mgr.begin_at(SnapshotKind::Settled)), Some(b"after".to_vec()));
        drop(reader);
        mgr.durability().close().expect("close");
    }

    #[test]
    fn commits_nobody_can_conflict_with_are_not_tracked() {
        let (_engine, mgr) = setup();
        let mut alone = mgr.begin();
        alone.put("rows", b"a".to_vec(), b"1".to_vec());
        alone.commit().expect("commit");
        put(&mgr, b"x");
        assert_eq!(mgr.tracked_writes(), 0);
        // An older open transaction needs them, and still conflicts.
        let mut older = mgr.begin();
        put(&mgr, b"y");
        assert_eq!(mgr.tracked_writes(), 1);
        older.put("rows", b"k".to_vec(), b"z".to_vec());
        assert!(matches!(older.commit(), Err(StorageError::WriteConflict)));
        mgr.durability().close().expect("close");
    }

    #[test]
    fn a_writer_from_a_settled_snapshot_conflicts_with_a_pending_commit() {
        let (engine, mgr) = setup();
        drop(mgr.begin_at(SnapshotKind::Settled));
        let t = put(&mgr, b"old");
        futures::executor::block_on(mgr.durability().wait(t)).expect("synced");
        engine.set(false);
        let mut writer = mgr.begin_at(SnapshotKind::Settled);
        put(&mgr, b"new");
        writer.put("rows", b"k".to_vec(), b"lost?".to_vec());
        assert!(matches!(writer.commit(), Err(StorageError::WriteConflict)));
        engine.set(true);
        mgr.durability().close().expect("close");
    }
}
