//! The hot tier: a bounded in-memory cache of rows in front of the engine.
//!
//! It must never show a reader a row its snapshot would not show. Each entry
//! carries a version: the entry's bytes are the row's latest committed state
//! from that commit timestamp on. A commit to a row removes the entry (via
//! the commit observer, under the commit lock), so an entry that is present
//! is still current; a reader whose snapshot is at or after the version may
//! use it, an older snapshot may not.
//!
//! Filling is the delicate part: a reader that fetched a row from its
//! snapshot may cache it only if no commit since that snapshot touched the
//! shard (`invalidated` below). Otherwise a slow reader could put back a value
//! a commit has just replaced.

use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::Mutex;

use crate::kv::{WriteBatch, WriteOp};
use crate::txn::CommitObserver;

const SHARDS: usize = 16;

#[derive(Debug)]
struct Entry {
    version: u64,
    /// `None` caches the row's absence.
    bytes: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Shard {
    rows: LruCache<Vec<u8>, Entry>,
    /// Timestamp of the latest commit that touched a row of this shard.
    invalidated: u64,
}

/// A sharded LRU of row bytes keyed by engine key.
#[derive(Debug)]
pub(crate) struct HotTier {
    cf: &'static str,
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    capacity: usize,
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
    /// A tier of about `capacity` rows caching family `cf`; `None` for zero.
    pub(crate) fn new(cf: &'static str, capacity: usize) -> Option<Self> {
        let per_shard = NonZeroUsize::new(capacity.div_ceil(SHARDS))?;
        Some(HotTier {
            cf,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard { rows: LruCache::new(per_shard), invalidated: 0 })).collect(),
            hasher: RandomState::new(),
            capacity: per_shard.get() * SHARDS,
            evictions: AtomicU64::new(0),
        })
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// Looks `key` up for a reader whose snapshot is at commit `ts`.
    pub(crate) fn get(&self, key: &[u8], ts: u64) -> Lookup {
        let mut shard = self.shard(key).lock();
        match shard.rows.get(key) {
            Some(e) if e.version <= ts => Lookup::Hit(e.bytes.clone()),
            _ => Lookup::Miss,
        }
    }

    /// Offers what a reader at snapshot `ts` read for `key`.
    pub(crate) fn fill(&self, key: &[u8], bytes: Option<Vec<u8>>, ts: u64) {
        let mut shard = self.shard(key).lock();
        if shard.invalidated > ts || shard.rows.contains(key) {
            return;
        }
        // No commit touched this shard since `invalidated`, so the bytes have
        // been the row's state since then, not merely since `ts`.
        let version = shard.invalidated;
        if shard.rows.push(key.to_vec(), Entry { version, bytes }).is_some_and(|(k, _)| k != key) {
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops everything, as after a schema change.
    pub(crate) fn clear(&self, ts: u64) {
        for s in &self.shards {
            let mut s = s.lock();
            s.rows.clear();
            s.invalidated = s.invalidated.max(ts);
        }
    }

    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().rows.len()).sum()
    }

    /// Row capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

impl CommitObserver for HotTier {
    fn committed(&self, ts: u64, batch: &WriteBatch) {
        for op in batch.ops() {
            match op {
                WriteOp::Put { cf, key, .. } | WriteOp::Delete { cf, key } if *cf == self.cf => {
                    let mut shard = self.shard(key).lock();
                    shard.rows.pop(key.as_slice());
                    shard.invalidated = ts;
                }
                // Range deletes drop whole tables: rare enough to clear all.
                WriteOp::DeleteRange { cf, .. } if *cf == self.cf => self.clear(ts),
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

    #[test]
    fn old_snapshots_never_see_newer_rows() {
        let t = HotTier::new("rows", 64).expect("tier");
        t.committed(5, &put(b"k"));
        t.fill(b"k", Some(b"new".to_vec()), 5);
        assert_eq!(t.get(b"k", 5), Lookup::Hit(Some(b"new".to_vec())));
        assert_eq!(t.get(b"k", 4), Lookup::Miss);
    }

    #[test]
    fn a_stale_fill_after_a_commit_is_refused() {
        let t = HotTier::new("rows", 64).expect("tier");
        // A reader at ts 3 read "old", then commit 4 replaced the row.
        t.committed(4, &put(b"k"));
        t.fill(b"k", Some(b"old".to_vec()), 3);
        assert_eq!(t.get(b"k", 10), Lookup::Miss);
    }

    #[test]
    fn commits_invalidate_and_capacity_bounds() {
        let t = HotTier::new("rows", 16).expect("tier");
        t.fill(b"k", None, 0);
        assert_eq!(t.get(b"k", 0), Lookup::Hit(None));
        t.committed(1, &put(b"k"));
        assert_eq!(t.get(b"k", 1), Lookup::Miss);
        for i in 0..1000u32 {
            t.fill(&i.to_be_bytes(), None, 1);
        }
        assert!(t.len() <= t.capacity());
        assert!(HotTier::new("rows", 0).is_none());
    }
}
