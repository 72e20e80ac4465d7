//! Point reads that a connection serves itself, off the engine thread.
//!
//! The engine is the only writer of the redis store and commits each batch
//! before it releases any reply, so the store's latest commit already holds
//! every write a client has been told about. A point read (see
//! [`crate::cmd::is_point_read`]) can therefore run on a snapshot taken by
//! the connection, in parallel with other connections and with the engine,
//! instead of queueing behind writes on the engine thread. The connection
//! only does this while it has no command of its own waiting on the engine,
//! so a client always reads its own writes.
//!
//! These reads run inline on the async worker rather than through
//! `spawn_blocking`, on purpose: each is a handful of RocksDB point lookups
//! (memtable or block cache, a block read per level at worst), and taking
//! the snapshot waits at most for one commit's WAL append, never an fsync
//! (the durability thread does those). A hop to the blocking pool per
//! pipeline would cost more than the reads themselves. Anything whose cost
//! grows with the data stays on the engine thread.

use std::time::Instant;

use orbit_storage::Store;
use orbit_storage::txn::KvTxn;

use crate::cmd::{Handler, Invocation};
use crate::engine::ctx::{Ctx, Via};
use crate::engine::now_ms;
use crate::engine::state::State;
use crate::error::RedisError;
use crate::reply::Reply;
use crate::shared::Shared;

/// A run of consecutive point reads sharing one snapshot.
pub(crate) struct LocalReads {
    txn: Option<KvTxn>,
    /// The read cache's epoch from just before `txn`'s snapshot was taken.
    epoch: u64,
    /// Stands in for the engine's state: its cache is off (another
    /// connection's writes would make it stale), and whatever a read changes
    /// in it, such as dropping a key found expired, is discarded with the
    /// snapshot. The engine deletes expired keys for real.
    scratch: State,
    /// When the run began, and the moment its reads judge expiry against.
    /// One clock reading per run rather than per read: on a deep pipeline
    /// the clock calls cost as much as the reads themselves.
    started: Instant,
    now_ms: i64,
    /// Reads in this run.
    calls: u64,
}

impl LocalReads {
    pub(crate) fn new(databases: u8) -> Self {
        LocalReads {
            txn: None,
            epoch: 0,
            scratch: State::new(usize::from(databases), 0, 0),
            started: Instant::now(),
            now_ms: 0,
            calls: 0,
        }
    }

    /// Moves the run to a snapshot as new as the read cache, and waits
    /// until everything it shows is durable, so no read hands out a write
    /// that a crash could still take back.
    async fn renew(&mut self, store: &Store, shared: &Shared) -> Result<(), RedisError> {
        // The epoch first: a commit between the two makes it stale, never
        // the other way round.
        let epoch = shared.read_cache.epoch();
        let t = store.txns().begin();
        store.durability().wait(t.visible_ticket()).await.map_err(|e| RedisError::storage(&e))?;
        if self.txn.is_none() {
            self.started = Instant::now();
            self.now_ms = now_ms();
            self.calls = 0;
        }
        self.txn = Some(t);
        self.epoch = epoch;
        Ok(())
    }

    /// Runs one point read: through the read cache when the cache has not
    /// moved since the run's snapshot (else on a newer snapshot), and once
    /// more on the snapshot alone if a commit landed while it ran, since its
    /// cache hits and snapshot reads might then disagree.
    pub(crate) async fn run(&mut self, store: &Store, shared: &Shared, handler: Handler, inv: &Invocation) -> Reply {
        if (self.txn.is_none() || self.epoch != shared.read_cache.epoch())
            && let Err(e) = self.renew(store, shared).await
        {
            return Reply::Error(e);
        }
        self.scratch.read_cache_hits = 0;
        self.scratch.read_cache_misses = 0;
        let mut result = self.call(store, shared, handler, inv, Via::Cached(self.epoch));
        if self.epoch != shared.read_cache.epoch() && self.mixed(inv) {
            if let Err(e) = self.renew(store, shared).await {
                return Reply::Error(e);
            }
            result = self.call(store, shared, handler, inv, Via::Snapshot);
        }
        // Timed per run, in `end`.
        self.scratch.stats.record_call(inv.spec.name, 0, result.is_err());
        self.calls += 1;
        result.unwrap_or_else(Reply::Error)
    }

    /// Whether the read just run may have seen two states, if a commit
    /// landed while it ran: it used the cache and read more than once (two
    /// cache hits can straddle a commit as well as a hit and a snapshot
    /// read). One lookup, or snapshot reads alone, see one state.
    fn mixed(&self, inv: &Invocation) -> bool {
        let (hits, misses) = (self.scratch.read_cache_hits, self.scratch.read_cache_misses);
        hits > 0 && (hits + misses > 1 || !crate::cmd::reads_metadata_only(inv.spec))
    }

    fn call(
        &mut self,
        store: &Store,
        shared: &Shared,
        handler: Handler,
        inv: &Invocation,
        via: Via,
    ) -> crate::error::Result<Reply> {
        let Some(txn) = self.txn.as_mut() else {
            return Err(RedisError::err("internal error: a point read without a snapshot"));
        };
        let mut ctx =
            Ctx { st: &mut self.scratch, shared, store, txn, db: inv.db, now_ms: self.now_ms, resp3: inv.resp3, via };
        handler(&mut ctx, &inv.args)
    }

    /// Ends the current run: drops its snapshot, so the next read sees
    /// newer writes, and hands the run's counts to the engine's INFO, its
    /// time shared among its reads.
    pub(crate) fn end(&mut self, shared: &Shared) {
        if self.txn.take().is_some() {
            let micros = self.started.elapsed().as_micros() as u64;
            self.scratch.stats.spread_micros(micros, self.calls);
            shared.read_stats.lock().absorb(&mut self.scratch.stats);
        }
    }
}
