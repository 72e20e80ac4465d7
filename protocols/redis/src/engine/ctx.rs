//! The context a command runs in: one database of the keyspace, inside the
//! engine's current transaction.

use std::ops::ControlFlow;

use bytes::Bytes;
use orbit_storage::kv::{Direction, KeyRange};
use orbit_storage::txn::KvTxn;
use orbit_storage::{Store, cf};

use super::keys::{self, Body, KeyType, Meta};
use super::state::State;
use crate::error::{RedisError, Result};
use crate::shared::Shared;

/// Called with each (key, value) of a scan; `Break` stops it.
pub(crate) type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> ControlFlow<()> + 'a;

/// A command's view of the keyspace.
pub(crate) struct Ctx<'a> {
    pub(crate) st: &'a mut State,
    pub(crate) shared: &'a Shared,
    pub(crate) store: &'a Store,
    pub(crate) txn: &'a mut KvTxn,
    pub(crate) db: u8,
    /// Milliseconds since the Unix epoch when the command started; expiry
    /// is judged against it so one command sees one moment.
    pub(crate) now_ms: i64,
    /// Whether the client speaks RESP3.
    pub(crate) resp3: bool,
    /// Who is running the command.
    pub(crate) via: Via,
}

/// Who runs a command, which decides which cache it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// The engine: its own cache, and it takes what it writes out of the
    /// connections' read cache.
    Engine,
    /// A connection's point read on its snapshot alone.
    Snapshot,
    /// A connection's point read through the read cache, with the cache's
    /// epoch from just before its snapshot was taken.
    Cached(u64),
}

impl Ctx<'_> {
    /// The live metadata of `key` in the current database. A key found
    /// expired is deleted on the spot (as Redis does) and reported absent.
    pub(crate) fn meta(&mut self, key: &[u8]) -> Result<Option<Meta>> {
        self.meta_in(self.db, key)
    }

    /// [`Ctx::meta`] in database `db`.
    pub(crate) fn meta_in(&mut self, db: u8, key: &[u8]) -> Result<Option<Meta>> {
        // Most keys are short: their metadata key is built on the stack,
        // since this runs for every command.
        let mut stack = [0u8; 64];
        let heap;
        let mk: &[u8] = if key.len() < stack.len() {
            stack[0] = db;
            stack[1..=key.len()].copy_from_slice(key);
            &stack[..=key.len()]
        } else {
            heap = keys::meta_key(db, key);
            &heap
        };
        let meta = match self.via {
            Via::Snapshot => self.txn.get(cf::REDIS_METADATA, mk)?.map(|b| Meta::decode(&b)).transpose()?,
            Via::Cached(epoch) => match self.shared.read_cache.get(mk) {
                Some(cached) => {
                    self.st.read_cache_hits += 1;
                    cached
                }
                None => {
                    self.st.read_cache_misses += 1;
                    let found = self.txn.get(cf::REDIS_METADATA, mk)?.map(|b| Meta::decode(&b)).transpose()?;
                    self.shared.read_cache.fill(mk, &found, epoch);
                    found
                }
            },
            Via::Engine => match self.st.cache.get(mk) {
                Some(cached) => cached,
                None => {
                    let found = self.txn.get(cf::REDIS_METADATA, mk)?.map(|b| Meta::decode(&b)).transpose()?;
                    self.st.cache.put(mk.to_vec(), found.clone());
                    found
                }
            },
        };
        let Some(meta) = meta else { return Ok(None) };
        if meta.expired(self.now_ms) {
            self.delete_in(db, key, &meta)?;
            self.st.stats.expired_keys += 1;
            return Ok(None);
        }
        Ok(Some(meta))
    }

    /// The metadata of `key` if it holds a `ty`; WRONGTYPE if it holds
    /// something else.
    pub(crate) fn typed(&mut self, key: &[u8], ty: KeyType) -> Result<Option<Meta>> {
        match self.meta(key)? {
            Some(m) if m.ty != ty => Err(RedisError::wrong_type()),
            other => Ok(other),
        }
    }

    /// Counts a read for INFO's keyspace_hits / keyspace_misses.
    pub(crate) fn count_lookup(&mut self, hit: bool) {
        if hit {
            self.st.stats.keyspace_hits += 1;
        } else {
            self.st.stats.keyspace_misses += 1;
        }
    }

    /// Writes `meta` for `key`, replacing `prev` (what [`Ctx::meta`] returned).
    /// Keeps the key counts, the expiry index and WATCH in step, and queues
    /// a replaced collection's elements for reclaiming.
    pub(crate) fn put_meta(&mut self, key: &[u8], meta: &Meta, prev: Option<&Meta>) -> Result<()> {
        self.put_meta_in(self.db, key, meta, prev)
    }

    /// [`Ctx::put_meta`] in database `db`.
    pub(crate) fn put_meta_in(&mut self, db: u8, key: &[u8], meta: &Meta, prev: Option<&Meta>) -> Result<()> {
        if let Some(p) = prev {
            let same_collection =
                matches!((&p.body, &meta.body), (Body::Coll(a), Body::Coll(b)) if a.version == b.version);
            if !same_collection {
                self.reclaim(db, key, p);
            }
            if p.expire_at != meta.expire_at && p.expire_at != 0 {
                self.txn.delete(cf::REDIS_EXPIRY, keys::expiry_key(p.expire_at, db, key));
            }
        }
        if meta.expire_at != 0 && prev.is_none_or(|p| p.expire_at != meta.expire_at) {
            self.txn.put(cf::REDIS_EXPIRY, keys::expiry_key(meta.expire_at, db, key), Vec::new());
        }
        let counts = &mut self.st.dbs[usize::from(db)];
        match prev {
            None => {
                counts.keys += 1;
                counts.expires += u64::from(meta.expire_at != 0);
            }
            Some(p) => match (p.expire_at != 0, meta.expire_at != 0) {
                (false, true) => counts.expires += 1,
                (true, false) => counts.expires = counts.expires.saturating_sub(1),
                _ => {}
            },
        }
        let mk = keys::meta_key(db, key);
        self.uncache(&mk);
        self.txn.put(cf::REDIS_METADATA, mk.clone(), meta.encode());
        self.st.cache.put(mk, Some(meta.clone()));
        self.touch(db, key);
        Ok(())
    }

    /// Deletes `key` (whose live metadata is `meta`) from the current database.
    pub(crate) fn delete(&mut self, key: &[u8], meta: &Meta) -> Result<()> {
        self.delete_in(self.db, key, meta)
    }

    /// [`Ctx::delete`] in database `db`.
    pub(crate) fn delete_in(&mut self, db: u8, key: &[u8], meta: &Meta) -> Result<()> {
        let mk = keys::meta_key(db, key);
        self.uncache(&mk);
        self.txn.delete(cf::REDIS_METADATA, mk.clone());
        self.st.cache.put(mk, None);
        if meta.expire_at != 0 {
            self.txn.delete(cf::REDIS_EXPIRY, keys::expiry_key(meta.expire_at, db, key));
        }
        self.reclaim(db, key, meta);
        let counts = &mut self.st.dbs[usize::from(db)];
        counts.keys = counts.keys.saturating_sub(1);
        if meta.expire_at != 0 {
            counts.expires = counts.expires.saturating_sub(1);
        }
        self.touch(db, key);
        Ok(())
    }

    /// Takes a key the engine is writing out of the connections' read
    /// cache. A connection's own read deletes an expired key only in its
    /// throwaway transaction: nothing to invalidate.
    fn uncache(&mut self, meta_key: &[u8]) {
        if self.via == Via::Engine {
            self.shared.read_cache.invalidate(meta_key, &mut self.st.read_cache_writes);
        }
    }

    /// Queues the elements of a collection's incarnation for background
    /// deletion, so deleting a big collection costs one write now.
    fn reclaim(&mut self, db: u8, key: &[u8], meta: &Meta) {
        if let Some(c) = meta.coll() {
            let prefix = keys::element_prefix(db, key, c.version);
            self.txn.put(cf::REDIS_GARBAGE, c.version.to_be_bytes().to_vec(), prefix);
        }
    }

    /// A fresh collection version, never used before in this store.
    pub(crate) fn new_version(&mut self) -> u64 {
        let v = self.st.next_version;
        self.st.next_version += 1;
        self.txn.put(cf::REDIS_METADATA, keys::NEXT_VERSION_KEY.to_vec(), self.st.next_version.to_be_bytes().to_vec());
        v
    }

    /// Marks `key` modified: fails the EXEC of clients that WATCH it, and
    /// lets clients blocked on it try again.
    pub(crate) fn touch(&mut self, db: u8, key: &[u8]) {
        self.st.touch(db, key);
    }

    /// Element prefix of `meta`'s collection for `key` in the current database.
    pub(crate) fn prefix(&self, key: &[u8], meta: &Meta) -> Vec<u8> {
        keys::element_prefix(self.db, key, meta.coll().map_or(0, |c| c.version))
    }

    /// One element of a collection.
    pub(crate) fn elem_get(&self, prefix: &[u8], sub: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.txn.get(cf::REDIS_SUBKEYS, &keys::element_key(prefix, sub))?)
    }

    /// Writes one element.
    pub(crate) fn elem_put(&mut self, prefix: &[u8], sub: &[u8], value: impl Into<Vec<u8>>) {
        self.txn.put(cf::REDIS_SUBKEYS, keys::element_key(prefix, sub), value);
    }

    /// Deletes one element.
    pub(crate) fn elem_del(&mut self, prefix: &[u8], sub: &[u8]) {
        self.txn.delete(cf::REDIS_SUBKEYS, keys::element_key(prefix, sub));
    }

    /// Visits a collection's elements (sub-key without the prefix, value) in
    /// order, starting at `from` (a sub-key, inclusive) when given.
    pub(crate) fn elem_scan(
        &self,
        family: &'static str,
        prefix: &[u8],
        from: Option<&[u8]>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        let mut range = KeyRange::prefix(prefix);
        if let Some(f) = from {
            let k = keys::element_key(prefix, f);
            match direction {
                Direction::Forward => range.start = std::ops::Bound::Included(k),
                Direction::Reverse => range.end = std::ops::Bound::Included(k),
            }
        }
        let n = prefix.len();
        self.txn.scan(family, &range, direction, &mut |k, v| visit(&k[n..], v))?;
        Ok(())
    }

    /// All elements, collected.
    pub(crate) fn elements(&self, family: &'static str, prefix: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        let mut out = Vec::new();
        self.elem_scan(family, prefix, None, Direction::Forward, &mut |k, v| {
            out.push((Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)));
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }
}
