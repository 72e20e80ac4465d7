//! The hot tier: a bounded in-memory cache of rows in front of the engine.
//!
//! It must never show a reader a row its snapshot would not show. Each entry
//! carries a version: the entry's bytes are the row's latest committed state
//! from that commit timestamp on. A commit to a row replaces the entry with
//! the bytes it wrote, versioned at the commit (a delete removes it), via
//! the commit observer under the commit lock; so an entry that is present
//! is still current, a reader whose snapshot is at or after the version may
//! use it, and an older snapshot may not.
//!
//! Filling is the delicate part: a reader that fetched a row from its
//! snapshot may cache it only if no commit since that snapshot touched the
//! shard (`invalidated` below). Otherwise a slow reader could put back a value
//! a commit has just replaced.
//!
//! Both a row count and a byte budget bound it: the count alone would let a
//! table of big rows take any amount of memory.

use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::RwLock;

use crate::kv::{WriteBatch, WriteOp};
use crate::txn::CommitObserver;

/// Enough that two readers rarely meet on a shard a commit is writing to.
const SHARDS: usize = 64;

/// Bytes an entry costs beyond its key and row: the LRU node, its links and
/// hash slot, and two vector headers. An estimate; it keeps the budget
/// honest for small rows, where the overhead dominates.
const ENTRY_OVERHEAD: usize = 96;

#[derive(Debug)]
struct Entry {
    version: u64,
    /// `None` caches the row's absence.
    bytes: Option<Vec<u8>>,
    /// Read since it was last passed over for eviction: a hit sets it
    /// under the shard's shared lock, and eviction gives such a row a
    /// second chance (moving it to the front) instead of dropping it. So
    /// eviction is least recently used, near enough, while reads never
    /// take a shard exclusively.
    referenced: AtomicBool,
}

impl Entry {
    fn new(version: u64, bytes: Option<Vec<u8>>) -> Self {
        Entry { version, bytes, referenced: AtomicBool::new(false) }
    }
}

fn cost(key: &[u8], entry: &Entry) -> usize {
    row_cost(key, entry.bytes.as_deref().unwrap_or_default())
}

/// What an entry of `value` under `key` costs.
fn row_cost(key: &[u8], value: &[u8]) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD
}

#[derive(Debug)]
struct Shard {
    rows: LruCache<Vec<u8>, Entry>,
    /// What the entries cost, by [`cost`].
    bytes: usize,
    /// Timestamp of the latest commit that touched a row of this shard.
    invalidated: u64,
}

/// A sharded LRU of row bytes keyed by engine key.
#[derive(Debug)]
pub(crate) struct HotTier {
    cf: &'static str,
    /// Readers share a shard: a reader that waited for another (perhaps
    /// descheduled mid-lookup) would put its whole worker thread to sleep.
    shards: Vec<RwLock<Shard>>,
    hasher: RandomState,
    capacity: usize,
    /// Byte budget of each shard.
    shard_budget: usize,
    evictions: AtomicU64,
}

/// The result of a hot-tier lookup.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The row's bytes (or its absence) as the reader's snapshot sees them.
    Hit(Option<Vec<u8>>),
    /// Ask the engine.
    Miss,
}

impl HotTier {
    /// A tier of about `capacity` rows and `budget` bytes caching family
    /// `cf`; `None` when either is zero.
    pub(crate) fn new(cf: &'static str, capacity: usize, budget: usize) -> Option<Self> {
        let per_shard = NonZeroUsize::new(capacity.div_ceil(SHARDS))?;
        let shard_budget = budget / SHARDS;
        if shard_budget == 0 {
            return None;
        }
        Some(HotTier {
            cf,
            shards: (0..SHARDS)
                .map(|_| RwLock::new(Shard { rows: LruCache::new(per_shard), bytes: 0, invalidated: 0 }))
                .collect(),
            hasher: RandomState::new(),
            capacity: per_shard.get() * SHARDS,
            shard_budget,
            evictions: AtomicU64::new(0),
        })
    }

    fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// Looks `key` up for a reader whose snapshot is at commit `ts`.
    pub(crate) fn get(&self, key: &[u8], ts: u64) -> Lookup {
        self.read(key, ts, |bytes| bytes.map(<[u8]>::to_vec)).map_or(Lookup::Miss, Lookup::Hit)
    }

    /// Looks `key` up for a reader whose snapshot is at commit `ts` and, on
    /// a hit, returns what `read` makes of the row's bytes (`None`: the row
    /// is absent). `read` runs under the shard's read lock, which holds up
    /// commits to the shard, so it must be short; in exchange the bytes
    /// are not copied.
    pub(crate) fn read<R>(&self, key: &[u8], ts: u64, read: impl FnOnce(Option<&[u8]>) -> R) -> Option<R> {
        let shard = self.shard(key).read();
        match shard.rows.peek(key) {
            Some(e) if e.version <= ts => {
                // Loaded first: a row read all the time is set already, and
                // a store would keep pulling its line from the other cores.
                if !e.referenced.load(Ordering::Relaxed) {
                    e.referenced.store(true, Ordering::Relaxed);
                }
                Some(read(e.bytes.as_deref()))
            }
            _ => None,
        }
    }

    /// Offers what a reader at snapshot `ts` read for `key`.
    pub(crate) fn fill(&self, key: &[u8], bytes: Option<Vec<u8>>, ts: u64) {
        let mut shard = self.shard(key).write();
        if shard.invalidated > ts || shard.rows.contains(key) {
            return;
        }
        // No commit touched this shard since `invalidated`, so the bytes have
        // been the row's state since then, not merely since `ts`.
        let version = shard.invalidated;
        self.insert(&mut shard, key, Entry::new(version, bytes));
    }

    /// Puts `entry` in for `key`, replacing what was there, and evicts
    /// least recently used rows until the shard is within its budgets. A
    /// row bigger than a shard's whole budget is not kept.
    fn insert(&self, shard: &mut Shard, key: &[u8], entry: Entry) {
        if let Some(old) = shard.rows.pop(key) {
            shard.bytes -= cost(key, &old);
        }
        let size = cost(key, &entry);
        if size > self.shard_budget {
            return;
        }
        // Room first, so that `push` never evicts by itself: it would not
        // give read rows their second chance.
        while (shard.rows.len() >= shard.rows.cap().get() || shard.bytes + size > self.shard_budget)
            && self.evict_one(shard)
        {}
        shard.bytes += size;
        // Nothing to evict after the loop above; kept honest all the same.
        if let Some((k, e)) = shard.rows.push(key.to_vec(), entry) {
            shard.bytes -= cost(&k, &e);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops the least recently used row that was not read since it was
    /// last passed over, moving those that were to the front; `false` when
    /// the shard is empty. Each pass clears a mark, so it ends within one
    /// round of the shard.
    fn evict_one(&self, shard: &mut Shard) -> bool {
        while let Some((k, e)) = shard.rows.pop_lru() {
            if e.referenced.swap(false, Ordering::Relaxed) {
                shard.rows.push(k, e);
                continue;
            }
            shard.bytes -= cost(&k, &e);
            self.evictions.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Drops the rows whose keys fall in `[start, end)`, for commit `ts`.
    fn remove_range(&self, ts: u64, start: &[u8], end: &[u8]) {
        for s in &self.shards {
            let mut s = s.write();
            let doomed: Vec<Vec<u8>> = s
                .rows
                .iter()
                .map(|(k, _)| k)
                .filter(|k| k.as_slice() >= start && k.as_slice() < end)
                .cloned()
                .collect();
            for k in doomed {
                if let Some(e) = s.rows.pop(k.as_slice()) {
                    s.bytes -= cost(&k, &e);
                }
            }
            // A reader that began before `ts` may have read a row of the
            // range from its snapshot: no shard may take such a fill.
            s.invalidated = ts;
        }
    }

    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().rows.len()).sum()
    }

    /// Row capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// What the held rows cost, in bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().bytes).sum()
    }
}

impl CommitObserver for HotTier {
    fn committed(&self, ts: u64, batch: &WriteBatch) {
        for op in batch.ops() {
            match op {
                // Written rows are kept, as PostgreSQL keeps the pages it
                // writes in shared buffers: a table just loaded (pgbench -i,
                // a COPY) is then read from memory at once rather than
                // missing row by row until the reads have warmed it. From
                // `ts` on, these bytes are the row's latest state.
                // (A row too big to keep is not copied only to be refused.)
                WriteOp::Put { cf, key, value } if *cf == self.cf && row_cost(key, value) <= self.shard_budget => {
                    let mut shard = self.shard(key).write();
                    shard.invalidated = ts;
                    self.insert(&mut shard, key, Entry::new(ts, Some(value.clone())));
                }
                WriteOp::Put { cf, key, .. } | WriteOp::Delete { cf, key } if *cf == self.cf => {
                    let mut shard = self.shard(key).write();
                    if let Some(e) = shard.rows.pop(key.as_slice()) {
                        shard.bytes -= cost(key, &e);
                    }
                    shard.invalidated = ts;
                }
                // Range deletes drop whole tables (DROP, TRUNCATE, or the
                // old copy of a rewritten table, whose new rows may sit in
                // the same batch): rare enough to sweep every entry.
                WriteOp::DeleteRange { cf, start, end } if *cf == self.cf => self.remove_range(ts, start, end),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &[u8]) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put("rows", key.to_vec(), b"new".to_vec());
        b
    }

    fn delete(key: &[u8]) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.delete("rows", key.to_vec());
        b
    }

    #[test]
    fn written_rows_are_kept_for_snapshots_that_see_them() {
        let t = HotTier::new("rows", 4 * SHARDS, 1 << 20).expect("tier");
        t.fill(b"k", Some(b"old".to_vec()), 0);
        t.committed(7, &put(b"k"));
        assert_eq!(t.get(b"k", 7), Lookup::Hit(Some(b"new".to_vec())));
        // An older snapshot must read the engine, and cannot put back
        // what it read there.
        assert_eq!(t.get(b"k", 6), Lookup::Miss);
        t.fill(b"k", Some(b"old".to_vec()), 6);
        assert_eq!(t.get(b"k", 9), Lookup::Hit(Some(b"new".to_vec())));
        // Rewriting a row keeps one entry, whatever the number of writes.
        for ts in 8..100 {
            t.committed(ts, &put(b"k"));
        }
        assert_eq!(t.len(), 1);
        assert_eq!(t.bytes(), cost(b"k", &Entry::new(0, Some(b"new".to_vec()))));
    }

    #[test]
    fn a_range_delete_drops_only_its_range() {
        let t = HotTier::new("rows", 4 * SHARDS, 1 << 20).expect("tier");
        let mut b = WriteBatch::new();
        for k in [b"a1", b"b1", b"b2", b"c1"] {
            b.put("rows", k.to_vec(), b"new".to_vec());
        }
        b.delete_range("rows", b"b".to_vec(), b"c".to_vec());
        t.committed(3, &b);
        assert_eq!(t.get(b"a1", 3), Lookup::Hit(Some(b"new".to_vec())));
        assert_eq!(t.get(b"c1", 3), Lookup::Hit(Some(b"new".to_vec())));
        assert_eq!(t.get(b"b1", 3), Lookup::Miss);
        assert_eq!(t.get(b"b2", 3), Lookup::Miss);
        assert_eq!(t.len(), 2);
        // A reader from before the delete cannot put a deleted row back.
        t.fill(b"b1", Some(b"old".to_vec()), 2);
        assert_eq!(t.get(b"b1", 3), Lookup::Miss);
    }

    #[test]
    fn old_snapshots_never_see_newer_rows() {
        let t = HotTier::new("rows", 4 * SHARDS, 1 << 20).expect("tier");
        t.committed(5, &put(b"k"));
        t.fill(b"k", Some(b"new".to_vec()), 5);
        assert_eq!(t.get(b"k", 5), Lookup::Hit(Some(b"new".to_vec())));
        assert_eq!(t.get(b"k", 4), Lookup::Miss);
    }

    #[test]
    fn a_stale_fill_after_a_commit_is_refused() {
        let t = HotTier::new("rows", 4 * SHARDS, 1 << 20).expect("tier");
        // A reader at ts 3 read "old", then commit 4 replaced the row.
        t.committed(4, &put(b"k"));
        t.fill(b"k", Some(b"old".to_vec()), 3);
        assert_eq!(t.get(b"k", 10), Lookup::Hit(Some(b"new".to_vec())));
        t.committed(5, &delete(b"k"));
        t.fill(b"k", Some(b"new".to_vec()), 4);
        assert_eq!(t.get(b"k", 10), Lookup::Miss);
    }

    #[test]
    fn commits_invalidate_and_capacity_bounds() {
        let t = HotTier::new("rows", 16, 1 << 20).expect("tier");
        t.fill(b"k", None, 0);
        assert_eq!(t.get(b"k", 0), Lookup::Hit(None));
        t.committed(1, &delete(b"k"));
        assert_eq!(t.get(b"k", 1), Lookup::Miss);
        for i in 0..1000u32 {
            t.fill(&i.to_be_bytes(), None, 1);
        }
        assert!(t.len() <= t.capacity());
        assert!(HotTier::new("rows", 0, 1 << 20).is_none());
        assert!(HotTier::new("rows", 16, 0).is_none());
    }

    #[test]
    fn rows_read_often_outlive_rows_filled_since() {
        let t = HotTier::new("rows", 4 * SHARDS, 1 << 20).expect("tier");
        t.fill(b"often", Some(b"v".to_vec()), 0);
        for i in 0..1000u32 {
            t.fill(&i.to_be_bytes(), None, 0);
            for _ in 0..2 {
                assert_eq!(t.get(b"often", 0), Lookup::Hit(Some(b"v".to_vec())), "evicted after {i} fills");
            }
        }
        assert!(t.len() <= t.capacity());
    }

    #[test]
    fn the_byte_budget_bounds_big_rows() {
        // Shards of 4 KiB each; rows of 1 KiB.
        let budget = SHARDS * (4 << 10);
        let t = HotTier::new("rows", 100_000, budget).expect("tier");
        for i in 0..(16 * SHARDS as u32) {
            t.fill(&i.to_be_bytes(), Some(vec![7; 1024]), 0);
        }
        assert!(t.bytes() <= budget, "{} bytes held", t.bytes());
        assert!(t.len() >= SHARDS, "{} rows held", t.len());
        // A row bigger than a shard's budget is not cached at all, whether
        // read or written; writing one drops what was cached for its key.
        t.fill(b"huge", Some(vec![0; 8 << 10]), 0);
        assert_eq!(t.get(b"huge", 0), Lookup::Miss);
        t.fill(b"grows", Some(vec![1; 16]), 0);
        let mut b = WriteBatch::new();
        b.put("rows", b"grows".to_vec(), vec![2; 8 << 10]);
        t.committed(1, &b);
        assert_eq!(t.get(b"grows", 1), Lookup::Miss);
        // Deletes give the bytes back.
        for i in 0..(16 * SHARDS as u32) {
            t.committed(1, &delete(&i.to_be_bytes()));
        }
        assert_eq!((t.len(), t.bytes()), (0, 0));
    }
}
