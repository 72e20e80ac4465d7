//! The RocksDB provider's read cache: recently read records (and known
//! absences), so that hot reads skip the hand-off to a blocking thread.
//!
//! The provider owns its database exclusively (RocksDB's lock file), so
//! every write passes through [`RecordCache::invalidate`] and the cache is
//! exact. The race to guard against is a reader caching a value it read
//! just before a concurrent write: readers take the write epoch before
//! reading, and cache the value only if no write has bumped it since;
//! writers bump the epoch after writing and then drop the keys, under the
//! same lock the readers insert under.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::Mutex;

use crate::model::{Record, RecordKey};

/// A bounded, exact cache of records by key.
#[derive(Debug)]
pub(crate) struct RecordCache {
    map: Mutex<LruCache<RecordKey, Option<Record>>>,
    epoch: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A reader's ticket: the epoch when its database read began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl RecordCache {
    /// A cache of at most `capacity` entries; `None` for zero.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        Some(RecordCache {
            map: Mutex::new(LruCache::new(NonZeroUsize::new(capacity)?)),
            epoch: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The cached state of `key`: `Some(None)` when known absent, `None`
    /// when not cached.
    pub(crate) fn get(&self, key: &RecordKey) -> Option<Option<Record>> {
        let found = self.map.lock().get(key).cloned();
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Taken before reading the database.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::Acquire))
    }

    /// Caches what a read begun at `ticket` found, unless a write may have
    /// changed it since.
    pub(crate) fn fill(&self, ticket: Ticket, key: RecordKey, value: Option<Record>) {
        let mut map = self.map.lock();
        if self.epoch.load(Ordering::Acquire) == ticket.0 {
            map.put(key, value);
        }
    }

    /// Called after writing `keys` to the database.
    pub(crate) fn invalidate<'a>(&self, keys: impl IntoIterator<Item = &'a RecordKey>) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut map = self.map.lock();
        for k in keys {
            map.pop(k);
        }
    }

    /// Empties the cache.
    pub(crate) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.map.lock().clear();
    }

    /// Hits and misses so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}
