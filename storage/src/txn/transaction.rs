//! One optimistic transaction.

use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::tracker::ConflictTracker;
use super::{Committed, TxnManager};
use crate::durability::Ticket;
use crate::error::{Result, StorageError};
use crate::kv::{Direction, KeyRange, KvSnapshot, Visitor, WriteBatch};

type LocalKey = (&'static str, Vec<u8>);

/// A buffered point write: its sequence number and the new value (`None`
/// deletes).
type Buffered = (u64, Option<Vec<u8>>);

/// A point inside a transaction to roll back to: its buffered writes as
/// they were then.
#[derive(Debug, Clone)]
pub struct Savepoint {
    writes: BTreeMap<LocalKey, Buffered>,
    ranges: Vec<(u64, &'static str, Vec<u8>, Vec<u8>)>,
}

impl Savepoint {
    /// How many point writes and range deletes it keeps.
    pub fn write_count(&self) -> usize {
        self.writes.len() + self.ranges.len()
    }
}

/// A transaction: snapshot reads, buffered writes, conflict-checked commit.
///
/// Dropping it without committing rolls it back.
#[derive(Debug)]
pub struct KvTxn {
    mgr: Arc<TxnManager>,
    start: u64,
    /// Covers every commit the snapshot holds (see [`KvTxn::visible_ticket`]).
    visible: Ticket,
    snapshot: Arc<dyn KvSnapshot>,
    /// Buffered point writes: the operation's sequence number and the new
    /// value (`None` deletes).
    writes: BTreeMap<LocalKey, Buffered>,
    /// Buffered range deletes: sequence number, family, `[start, end)`.
    ranges: Vec<(u64, &'static str, Vec<u8>, Vec<u8>)>,
    watched: Vec<LocalKey>,
    seq: u64,
    open: bool,
    /// Inside [`KvTxn::in_memory`], how many more entries reads may touch;
    /// [`UNBOUNDED`] outside. Atomic only so that the transaction stays
    /// `Sync`: one thread uses it at a time.
    memory_budget: AtomicUsize,
    /// Inside [`KvTxn::in_memory`]: how to undo the writes made there.
    journal: Option<Journal>,
}

/// [`KvTxn::memory_budget`] outside [`KvTxn::in_memory`].
const UNBOUNDED: usize = usize::MAX;

/// What [`KvTxn::in_memory`] needs to undo an operation's writes.
#[derive(Debug)]
struct Journal {
    /// Each written key's entry as it was before (in write order).
    writes: Vec<(LocalKey, Option<Buffered>)>,
    ranges: usize,
    watched: usize,
    seq: u64,
}

impl KvTxn {
    pub(super) fn new(mgr: Arc<TxnManager>, start: u64, visible: Ticket, snapshot: Arc<dyn KvSnapshot>) -> Self {
        KvTxn {
            mgr,
            start,
            visible,
            snapshot,
            writes: BTreeMap::new(),
            ranges: Vec::new(),
            watched: Vec::new(),
            seq: 0,
            open: true,
            memory_budget: AtomicUsize::new(UNBOUNDED),
            journal: None,
        }
    }

    /// Runs `op` with every snapshot read confined to memory, as an async
    /// worker may run it: reads that would wait on disk, or more than
    /// `budget` entries read in all, fail with [`StorageError::Uncached`].
    /// Then the writes `op` made are undone, so the caller can run it again
    /// on the blocking pool as if this attempt never happened.
    pub fn in_memory<T>(&mut self, budget: usize, op: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        // Nested: the outer call's journal and budget already cover `op`.
        if self.journal.is_some() {
            return op(self);
        }
        let journal =
            Journal { writes: Vec::new(), ranges: self.ranges.len(), watched: self.watched.len(), seq: self.seq };
        self.journal = Some(journal);
        self.memory_budget.store(budget.min(UNBOUNDED - 1), Ordering::Relaxed);
        // A panic must not leave the transaction confined to memory (every
        // later read would fail) or half written: undo, then unwind.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(&mut *self)));
        self.memory_budget.store(UNBOUNDED, Ordering::Relaxed);
        let journal = self.journal.take();
        let undo = match &out {
            Ok(Err(StorageError::Uncached)) | Err(_) => journal,
            Ok(_) => None,
        };
        if let Some(j) = undo {
            for (key, old) in j.writes.into_iter().rev() {
                match old {
                    Some(entry) => self.writes.insert(key, entry),
                    None => self.writes.remove(&key),
                };
            }
            self.ranges.truncate(j.ranges);
            self.watched.truncate(j.watched);
            self.seq = j.seq;
        }
        out.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Inside [`KvTxn::in_memory`], charges `n` entries read; fails once the
    /// budget is spent.
    fn charge(&self, n: usize) -> Result<()> {
        match self.memory_budget.load(Ordering::Relaxed) {
            UNBOUNDED => Ok(()),
            left if left >= n => {
                self.memory_budget.store(left - n, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(StorageError::Uncached),
        }
    }

    /// Fails inside [`KvTxn::in_memory`]: for callers about to read the
    /// engine directly, which only the blocking pool may do.
    pub fn require_blocking(&self) -> Result<()> {
        if self.in_memory_mode() { Err(StorageError::Uncached) } else { Ok(()) }
    }

    fn in_memory_mode(&self) -> bool {
        self.memory_budget.load(Ordering::Relaxed) != UNBOUNDED
    }

    /// The commit timestamp this transaction's snapshot reflects.
    pub fn start_ts(&self) -> u64 {
        self.start
    }

    /// A ticket covering every commit this transaction's snapshot shows:
    /// wait on it before handing read results out, so that nothing a crash
    /// could still take back is ever shown.
    pub fn visible_ticket(&self) -> Ticket {
        self.visible
    }

    /// Moves the transaction to a snapshot of the latest commit, keeping its
    /// own writes: SQL's READ COMMITTED, where each statement sees what was
    /// committed before it began.
    ///
    /// Commit only checks for conflicts from the newest snapshot on, so the
    /// move itself first checks what is buffered so far (and what is
    /// watched) against the old snapshot: if a commit since then wrote any
    /// of it, this fails with [`StorageError::WriteConflict`] and nothing
    /// moves. Writes the caller protects with its own locks never trip
    /// this; the check catches the rest (unique index entries, a table's
    /// definition), which would otherwise overwrite a commit never seen.
    pub fn refresh(&mut self) -> Result<()> {
        self.refresh_to(super::SnapshotKind::Latest, &[])
    }

    /// [`KvTxn::refresh`] to a snapshot of `kind`: with
    /// [`super::SnapshotKind::Settled`], the newest durable state that is
    /// not older than the current snapshot and in which no later commit
    /// wrote one of `must_see` (rows the caller must read as last
    /// committed); otherwise the latest.
    pub fn refresh_to(&mut self, kind: super::SnapshotKind, must_see: &[(&'static str, Vec<u8>)]) -> Result<()> {
        self.ensure_open()?;
        // Nothing committed since the snapshot: it is already the newest
        // state, and no commit can conflict. Skipping the commit lock here
        // matters at READ COMMITTED, which refreshes at every statement.
        if self.mgr.last_committed() == self.start {
            if kind == super::SnapshotKind::Settled {
                // As taking a settled snapshot would: commits are published
                // from now on, for the refreshes to come.
                self.mgr.want_settled();
            }
            return Ok(());
        }
        let since = self.start;
        let conflicts = |t: &ConflictTracker| {
            self.writes.keys().any(|(cf, k)| t.key_changed_since(cf, k, since))
                || self.ranges.iter().any(|(_, cf, s, e)| t.range_changed_since(cf, s, e, since))
                || self.watched.iter().any(|(cf, k)| t.key_changed_since(cf, k, since))
        };
        let (start, visible, snapshot) = self.mgr.fresh_snapshot_checked(since, conflicts, kind, must_see)?;
        self.mgr.release(self.start);
        self.start = start;
        self.visible = visible;
        self.snapshot = snapshot;
        Ok(())
    }

    /// Marks the current state, to roll back to later.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint { writes: self.writes.clone(), ranges: self.ranges.clone() }
    }

    /// Discards every write buffered since `sp` was taken.
    pub fn rollback_to(&mut self, sp: &Savepoint) {
        self.writes = sp.writes.clone();
        self.ranges = sp.ranges.clone();
    }

    /// How many point writes and range deletes are buffered.
    pub fn write_count(&self) -> usize {
        self.writes.len() + self.ranges.len()
    }

    /// Whether the transaction has buffered any write.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty() || !self.ranges.is_empty()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Buffers a put.
    pub fn put(&mut self, cf: &'static str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.buffer((cf, key.into()), Some(value.into()));
    }

    /// Buffers a delete.
    pub fn delete(&mut self, cf: &'static str, key: impl Into<Vec<u8>>) {
        self.buffer((cf, key.into()), None);
    }

    fn buffer(&mut self, key: LocalKey, value: Option<Vec<u8>>) {
        let entry = (self.next_seq(), value);
        match &mut self.journal {
            None => {
                self.writes.insert(key, entry);
            }
            Some(j) => {
                let old = self.writes.insert(key.clone(), entry);
                j.writes.push((key, old));
            }
        }
    }

    /// Buffers a delete of every key in `[start, end)`.
    pub fn delete_range(&mut self, cf: &'static str, start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) {
        let (start, end) = (start.into(), end.into());
        if start < end {
            let seq = self.next_seq();
            self.ranges.push((seq, cf, start, end));
        }
    }

    /// Makes the commit fail if another commit writes `key` after this
    /// transaction's snapshot, even though this transaction does not write it
    /// (Redis' WATCH; a table's definition read by a writer).
    pub fn watch(&mut self, cf: &'static str, key: impl Into<Vec<u8>>) {
        self.watched.push((cf, key.into()));
    }

    /// Sequence number of the latest buffered range delete covering `key`.
    fn range_seq(&self, cf: &str, key: &[u8]) -> Option<u64> {
        self.ranges
            .iter()
            .filter(|(_, c, s, e)| *c == cf && key >= s.as_slice() && key < e.as_slice())
            .map(|r| r.0)
            .max()
    }

    /// What this transaction's own writes say about `key`: `Some(value)` when
    /// they decide it, `None` when the snapshot does.
    pub fn own_write(&self, cf: &'static str, key: &[u8]) -> Option<Option<Vec<u8>>> {
        // Most reads come before a transaction's first write; the lookup
        // below would allocate a copy of the key.
        if self.writes.is_empty() && self.ranges.is_empty() {
            return None;
        }
        let point = self.writes.get(&(cf, key.to_vec()));
        match (point, self.range_seq(cf, key)) {
            (Some((p, v)), r) if r.is_none_or(|r| *p > r) => Some(v.clone()),
            (_, Some(_)) => Some(None),
            _ => None,
        }
    }

    /// Reads `key` as the snapshot has it, without this transaction's own
    /// writes.
    pub fn get_committed(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.in_memory_mode() {
            self.charge(1)?;
            self.snapshot.get_cached(cf, key)
        } else {
            self.snapshot.get(cf, key)
        }
    }

    /// Reads `key`, seeing this transaction's own writes.
    pub fn get(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.ensure_open()?;
        match self.own_write(cf, key) {
            Some(v) => Ok(v),
            None => self.get_committed(cf, key),
        }
    }

    /// Scans `range` of `cf`, merging this transaction's writes into the snapshot.
    pub fn scan(
        &self,
        cf: &'static str,
        range: &KeyRange,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        self.ensure_open()?;
        if range.is_empty() {
            return Ok(());
        }
        // Keys sort by family first, so this family's writes are contiguous.
        let start = match bound_map(&range.start, |k| (cf, k.clone())) {
            Bound::Unbounded => Bound::Included((cf, Vec::new())),
            b => b,
        };
        let end = bound_map(&range.end, |k| (cf, k.clone()));
        // Own writes inside the range, in scan order, resolved against range deletes.
        let mut local: Vec<(&[u8], Option<&[u8]>)> = self
            .writes
            .range((start, end))
            .take_while(|((c, _), _)| *c == cf)
            .map(|((_, k), (seq, v))| {
                let live = self.range_seq(cf, k).is_none_or(|r| *seq > r);
                (k.as_slice(), if live { v.as_deref() } else { None })
            })
            .collect();
        if direction == Direction::Reverse {
            local.reverse();
        }
        let before = |a: &[u8], b: &[u8]| match direction {
            Direction::Forward => a < b,
            Direction::Reverse => a > b,
        };
        let mut pending = local.into_iter().peekable();
        let mut stopped = false;
        let mut over_budget = false;
        let mut merge = |k: &[u8], v: &[u8]| {
            if self.charge(1).is_err() {
                over_budget = true;
                return ControlFlow::Break(());
            }
            // Emit own writes that sort before this snapshot key.
            while let Some((lk, lv)) = pending.next_if(|(lk, _)| before(lk, k)) {
                if let Some(lv) = lv
                    && visit(lk, lv).is_break()
                {
                    stopped = true;
                    return ControlFlow::Break(());
                }
            }
            let flow = match pending.next_if(|(lk, _)| *lk == k) {
                Some((_, Some(lv))) => visit(k, lv),
                Some((_, None)) => ControlFlow::Continue(()),
                None if self.range_seq(cf, k).is_some() => ControlFlow::Continue(()),
                None => visit(k, v),
            };
            stopped = flow.is_break();
            flow
        };
        if self.in_memory_mode() {
            self.snapshot.scan_cached(cf, range, direction, &mut merge)?;
        } else {
            self.snapshot.scan(cf, range, direction, &mut merge)?;
        }
        if over_budget {
            return Err(StorageError::Uncached);
        }
        if !stopped {
            for (lk, lv) in pending {
                if let Some(lv) = lv
                    && visit(lk, lv).is_break()
                {
                    break;
                }
            }
        }
        Ok(())
    }

    fn ensure_open(&self) -> Result<()> {
        if self.open { Ok(()) } else { Err(StorageError::TransactionClosed) }
    }

    /// Takes the writes as one batch (moved, not copied): range deletes
    /// first, then the point writes that no later range delete superseded.
    fn take_batch(&mut self) -> WriteBatch {
        let mut batch = WriteBatch::new();
        let mut ranges = std::mem::take(&mut self.ranges);
        ranges.sort_by_key(|r| r.0);
        for (_, cf, s, e) in &ranges {
            batch.delete_range(cf, s.clone(), e.clone());
        }
        for ((cf, k), (seq, v)) in std::mem::take(&mut self.writes) {
            let superseded = ranges.iter().any(|(rs, c, s, e)| {
                *rs > seq && *c == cf && k.as_slice() >= s.as_slice() && k.as_slice() < e.as_slice()
            });
            if superseded {
                continue;
            }
            match v {
                Some(v) => batch.put(cf, k, v),
                None => batch.delete(cf, k),
            }
        }
        batch
    }

    /// Commits. Fails with [`StorageError::WriteConflict`] when a commit since
    /// this transaction's snapshot wrote a key it writes or watches; then
    /// nothing is written. Returns `None` for a transaction that wrote nothing.
    ///
    /// The commit is visible on return; wait on its ticket for durability.
    pub fn commit(mut self) -> Result<Option<Committed>> {
        self.ensure_open()?;
        let batch = self.take_batch();
        let out = self.mgr.commit_txn(self.start, &batch, &self.watched);
        self.finish();
        out
    }

    /// Discards the transaction's writes.
    pub fn rollback(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if std::mem::replace(&mut self.open, false) {
            self.mgr.release(self.start);
        }
    }
}

impl Drop for KvTxn {
    fn drop(&mut self) {
        self.finish();
    }
}

fn bound_map<T>(b: &Bound<Vec<u8>>, f: impl FnOnce(&Vec<u8>) -> T) -> Bound<T> {
    match b {
        Bound::Included(k) => Bound::Included(f(k)),
        Bound::Excluded(k) => Bound::Excluded(f(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}
