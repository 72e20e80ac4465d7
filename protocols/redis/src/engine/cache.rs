//! The engine's cache of key metadata (and string values).
//!
//! The engine is the only writer of the redis store, so a write-through
//! cache it keeps in step with every metadata write is exact: no
//! invalidation protocol, no stale reads. A hit skips a memtable lookup,
//! which dominates the cost of GET and SET otherwise.

use lru::LruCache;

use super::keys::{Body, Meta};

/// Entries and their approximate size.
#[derive(Debug)]
pub(crate) struct MetaCache {
    entries: LruCache<Vec<u8>, Option<Meta>>,
    bytes: usize,
    budget: usize,
    pub hits: u64,
    pub misses: u64,
}

/// Bookkeeping bytes per entry beyond key and value.
const OVERHEAD: usize = 96;

fn size(key: &[u8], meta: &Option<Meta>) -> usize {
    let value = match meta {
        Some(Meta { body: Body::Str(v), .. }) => v.len(),
        _ => 0,
    };
    key.len() + value + OVERHEAD
}

impl MetaCache {
    /// A cache holding about `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        MetaCache { entries: LruCache::unbounded(), bytes: 0, budget, hits: 0, misses: 0 }
    }

    /// The cached metadata of `meta_key`: `Some(None)` caches absence.
    pub(crate) fn get(&mut self, meta_key: &[u8]) -> Option<Option<Meta>> {
        match self.entries.get(meta_key) {
            Some(m) => {
                self.hits += 1;
                Some(m.clone())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Records the current metadata of `meta_key`.
    pub(crate) fn put(&mut self, meta_key: Vec<u8>, mut meta: Option<Meta>) {
        // A value written by a client is a slice of its connection's read
        // buffer: kept as is, a few bytes would pin that whole buffer for
        // as long as the entry lives. The cache keeps its own copy.
        if let Some(Meta { body: Body::Str(v), .. }) = &mut meta {
            *v = bytes::Bytes::copy_from_slice(v);
        }
        let n = size(&meta_key, &meta);
        if n > self.budget / 8 {
            // A huge value would evict everything else for one key.
            if let Some(old) = self.entries.pop(&meta_key) {
                self.bytes -= size(&meta_key, &old);
            }
            return;
        }
        if let Some(old) = self.entries.put(meta_key.clone(), meta) {
            self.bytes -= size(&meta_key, &old);
        }
        self.bytes += n;
        while self.bytes > self.budget {
            match self.entries.pop_lru() {
                Some((k, v)) => self.bytes -= size(&k, &v),
                None => break,
            }
        }
    }

    /// Forgets everything (after FLUSHDB, or a failed commit).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn stays_within_budget_and_remembers_absence() {
        let mut c = MetaCache::new(10_000);
        c.put(b"\0missing".to_vec(), None);
        assert_eq!(c.get(b"\0missing"), Some(None));
        for i in 0..1000u32 {
            c.put(i.to_be_bytes().to_vec(), Some(Meta::string(Bytes::from_static(b"value"))));
        }
        assert!(c.bytes <= 10_000);
        assert!(c.entries.len() < 1000);
        c.put(b"big".to_vec(), Some(Meta::string(Bytes::from(vec![0u8; 5000]))));
        assert_eq!(c.get(b"big"), None, "values over an eighth of the budget are not cached");
    }
}
