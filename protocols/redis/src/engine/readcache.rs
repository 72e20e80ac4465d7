//! The point-read cache: key metadata (and small string values) that
//! connections read without a RocksDB lookup.
//!
//! Connections fill it from their snapshots; only the engine writes keys,
//! and it removes each key it writes from the cache when it writes it,
//! before the commit. An epoch counter, odd from a batch's first such write
//! until the batch has committed, decides which fills are allowed: a reader
//! may store what its snapshot shows only if the epoch is even and has not
//! moved since the reader looked at it just before taking that snapshot.
//! A fill racing a removal either lands first and is removed, or comes
//! second and finds the epoch odd (both hold the key's shard lock). So what
//! the cache holds is the latest committed state of its key; a commit in
//! flight never leaves an older value behind.
//!
//! A reader that mixes cache hits with snapshot reads in one command (a hit
//! on a hash's metadata, then its fields from the snapshot) sees one
//! consistent state only if no commit happened in between. Readers check
//! that the epoch did not move while a command ran, and otherwise run it
//! again on the snapshot alone (see `conn::local`).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::keys::{Body, Meta};

/// Independent parts of the cache, each under its own lock.
const SHARDS: usize = 64;
/// Bookkeeping bytes per entry beyond key and value.
const OVERHEAD: usize = 96;
/// Largest entry kept: bigger values are cheap to read relative to their
/// size, and would crowd out many small ones.
const MAX_ENTRY: usize = 4096;

/// Oldest fill first, so eviction is O(1).
type Map = lru::LruCache<Vec<u8>, Option<Meta>, foldhash::fast::RandomState>;

struct Shard {
    entries: Map,
    bytes: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { entries: lru::LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default()), bytes: 0 }
    }
}

/// The cache connections share.
pub(crate) struct ReadCache {
    shards: Vec<Mutex<Shard>>,
    hasher: foldhash::fast::RandomState,
    epoch: AtomicU64,
    shard_budget: usize,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").field("epoch", &self.epoch()).finish_non_exhaustive()
    }
}

/// Whether the engine's current batch has taken keys out of the cache (and
/// so holds the epoch odd until it commits).
#[derive(Debug, Default)]
pub(crate) struct PendingWrites {
    open: bool,
}

fn size(key: &[u8], meta: &Option<Meta>) -> usize {
    let value = match meta {
        Some(Meta { body: Body::Str(v), .. }) => v.len(),
        _ => 0,
    };
    key.len() + value + OVERHEAD
}

/// Values up to this size are copied out of the cache rather than shared.
const COPY_BELOW: usize = 512;

/// A copy of a cached entry. A small value is copied, not shared: a hot
/// key read from every core would otherwise bounce its reference count's
/// cache line between them on every read, which costs more than the copy.
fn unshared(m: &Meta) -> Meta {
    let body = match &m.body {
        Body::Str(v) if v.len() < COPY_BELOW => Body::Str(bytes::Bytes::copy_from_slice(v)),
        other => other.clone(),
    };
    Meta { ty: m.ty, expire_at: m.expire_at, body }
}

impl ReadCache {
    /// A cache of about `budget` bytes (zero: nothing is ever kept).
    pub(crate) fn new(budget: usize) -> Self {
        ReadCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: foldhash::fast::RandomState::default(),
            epoch: AtomicU64::new(0),
            shard_budget: budget / SHARDS,
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        &self.shards[self.hasher.hash_one(key) as usize % SHARDS]
    }

    /// The epoch; read it before taking a snapshot to fill from.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The cached metadata of `meta_key`: `Some(None)` caches absence.
    pub(crate) fn get(&self, meta_key: &[u8]) -> Option<Option<Meta>> {
        let shard = self.shard(meta_key).lock();
        // A peek: reads leave the order alone, so the least recently
        // filled entry goes first, and a read writes nothing shared.
        let cached = shard.entries.peek(meta_key)?;
        Some(cached.as_ref().map(unshared))
    }

    /// Stores what a snapshot taken at `snapshot_epoch` shows for
    /// `meta_key`, if no write has begun since.
    pub(crate) fn fill(&self, meta_key: &[u8], meta: &Option<Meta>, snapshot_epoch: u64) {
        let n = size(meta_key, meta);
        if n > MAX_ENTRY || n > self.shard_budget {
            return;
        }
        let mut shard = self.shard(meta_key).lock();
        let epoch = self.epoch.load(Ordering::SeqCst);
        if epoch != snapshot_epoch || epoch % 2 == 1 {
            return;
        }
        if let Some(old) = shard.entries.put(meta_key.to_vec(), meta.clone()) {
            shard.bytes -= size(meta_key, &old);
        }
        shard.bytes += n;
        while shard.bytes > self.shard_budget {
            let Some((k, old)) = shard.entries.pop_lru() else { break };
            shard.bytes -= size(&k, &old);
        }
    }

    fn open(&self, pending: &mut PendingWrites) {
        if !pending.open {
            pending.open = true;
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn remove(&self, meta_key: &[u8]) {
        let mut shard = self.shard(meta_key).lock();
        if let Some(old) = shard.entries.pop(meta_key) {
            shard.bytes -= size(meta_key, &old);
        }
    }

    fn remove_all(&self) {
        for s in &self.shards {
            let mut s = s.lock();
            s.entries.clear();
            s.bytes = 0;
        }
    }

    /// The engine is about to write `meta_key` (before its commit). The
    /// epoch turns odd first, so no fill can put an older value back.
    pub(crate) fn invalidate(&self, meta_key: &[u8], pending: &mut PendingWrites) {
        self.open(pending);
        self.remove(meta_key);
    }

    /// The engine is about to delete whole databases.
    pub(crate) fn invalidate_all(&self, pending: &mut PendingWrites) {
        self.open(pending);
        self.remove_all();
    }

    /// The batch has committed (or failed): fills from snapshots taken from
    /// now on may resume.
    pub(crate) fn writes_done(&self, pending: &mut PendingWrites) {
        if std::mem::take(&mut pending.open) {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn meta(v: &'static str) -> Option<Meta> {
        Some(Meta::string(Bytes::from_static(v.as_bytes())))
    }

    #[test]
    fn fills_only_between_batches_from_current_snapshots() {
        let c = ReadCache::new(1 << 20);
        let e = c.epoch();
        c.fill(b"k", &meta("v1"), e);
        assert_eq!(c.get(b"k"), Some(meta("v1")));

        // A batch writes k: gone at once, and a reader whose snapshot
        // predates the batch (or overlaps it) cannot put the old value back.
        let mut p = PendingWrites::default();
        c.invalidate(b"k", &mut p);
        assert_eq!(c.get(b"k"), None);
        c.fill(b"k", &meta("v1"), e);
        c.fill(b"k", &meta("v1"), c.epoch());
        assert_eq!(c.get(b"k"), None, "no fills while a batch is open");
        c.writes_done(&mut p);
        c.fill(b"k", &meta("v1"), e);
        assert_eq!(c.get(b"k"), None, "a snapshot from before the batch is stale");
        let e2 = c.epoch();
        c.fill(b"k", &meta("v2"), e2);
        assert_eq!(c.get(b"k"), Some(meta("v2")));
        c.fill(b"gone", &None, e2);
        assert_eq!(c.get(b"gone"), Some(None), "absence is cached too");

        let mut p = PendingWrites::default();
        c.invalidate_all(&mut p);
        c.writes_done(&mut p);
        assert_eq!(c.get(b"k"), None);
        assert_eq!(c.epoch() % 2, 0);
    }

    #[test]
    fn stays_within_budget() {
        let c = ReadCache::new(SHARDS * 1000);
        let e = c.epoch();
        for i in 0..10_000u32 {
            c.fill(&i.to_be_bytes(), &meta("value"), e);
        }
        let total: usize = c.shards.iter().map(|s| s.lock().bytes).sum();
        assert!(total <= SHARDS * 1000);
    }
}
