//! The engine: the keyspace's in-memory state behind one lock, and a thread
//! that runs the data commands connections hand it.
//!
//! Redis runs commands one at a time, and clients rely on it: each command
//! is atomic, MULTI/EXEC blocks run without interleaving, a blocked client
//! is served before the next command runs. Holding the engine's lock while
//! running gives exactly that. Connections parse and encode on the async
//! runtime and hand the engine thread whole pipelines; it runs everything
//! that is waiting in one storage transaction and commits it as one write
//! batch, then answers each connection with the ticket its replies must be
//! durable up to.
//!
//! A pipeline of cheap commands (see `cmd::INLINE`) skips the thread when
//! the lock is free: the connection takes it and runs the pipeline itself,
//! through the same code. Handing a command to another thread and back
//! costs two wake-ups, which on a small machine is most of a SET's cost.

mod background;
mod cache;
pub(crate) mod ctx;
mod handle;
pub(crate) mod keys;
pub(crate) mod readcache;
pub(crate) mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use orbit_storage::Store;
use orbit_storage::durability::Ticket;
use orbit_storage::txn::KvTxn;
use tokio::sync::oneshot;

use crate::cmd::{Exec, Invocation};
use crate::error::RedisError;
use crate::reply::Reply;
use crate::shared::{ClientId, Shared};
use ctx::Ctx;
use state::{DbKey, State};

/// How many messages one transaction takes at most.
const MAX_MESSAGES_PER_COMMIT: usize = 1024;
/// Yields before the engine thread sleeps waiting for work.
const SPIN_BEFORE_SLEEP: usize = 64;
/// How often expired keys and deleted collections are reclaimed.
const BACKGROUND_EVERY: Duration = Duration::from_millis(100);

/// Replies to one message, and the write they must be durable up to before
/// the client sees them.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub replies: Vec<Reply>,
    pub ticket: Ticket,
}

pub(crate) use handle::{Engine, Inline};

/// A request to the engine.
#[derive(Debug)]
pub(crate) enum Msg {
    /// Run commands in order; with `exec`, as one MULTI/EXEC block that
    /// fails (null array) if a watched key changed.
    Run { client: ClientId, cmds: Vec<Invocation>, exec: bool, reply: oneshot::Sender<Outcome> },
    /// WATCH keys of database `db`.
    Watch { client: ClientId, db: u8, keys: Vec<Bytes>, reply: oneshot::Sender<Outcome> },
    /// Forget the client's watches.
    Unwatch { client: ClientId },
    /// A blocking command: answered at once if it can be, else when a key
    /// it waits on changes, or with its timeout reply on `CancelBlock`.
    Block { id: u64, client: ClientId, cmd: Invocation, reply: oneshot::Sender<Outcome> },
    /// The blocking command `id` timed out or its client left.
    CancelBlock { id: u64 },
    /// The client disconnected.
    Gone { client: ClientId },
    /// Nothing: wakes the engine thread to run what connections left in
    /// the inline queue.
    Drain,
}

struct Waiter {
    client: ClientId,
    cmd: Invocation,
    reply: oneshot::Sender<Outcome>,
    keys: Vec<DbKey>,
}

/// The engine's state: whoever holds its lock runs commands.
struct Worker {
    store: Arc<Store>,
    shared: Arc<Shared>,
    state: State,
    waiters: HashMap<u64, Waiter>,
    /// The batch being processed: the moment its commands judge expiry
    /// against, and the commands run so far (for commandstats, timed per
    /// batch: two clock readings per command cost a tenth of a pipelined
    /// SET).
    batch_now_ms: i64,
    batch_calls: Vec<(&'static str, bool)>,
}

/// Replies waiting for the transaction they were computed in to commit.
type Pending = Vec<(oneshot::Sender<Outcome>, Vec<Reply>)>;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Worker {
    /// The endpoint is gone: releases any blocked client.
    fn finish(&mut self) {
        for (_, w) in self.waiters.drain() {
            let _ = w.reply.send(Outcome {
                replies: vec![Reply::Error(RedisError::err("server is shutting down"))],
                ticket: self.store.durability().latest(),
            });
        }
    }

    fn process(&mut self, batch: Vec<Msg>) {
        let started = Instant::now();
        self.batch_now_ms = now_ms();
        let mut txn = self.store.txns().begin();
        let mut pending: Pending = Vec::new();
        for msg in batch {
            self.handle(&mut txn, msg, &mut pending);
            self.serve_waiters(&mut txn, &mut pending);
        }
        let durability = self.store.durability();
        let ticket = match txn.commit() {
            Ok(Some(c)) => c.ticket,
            Ok(None) => durability.latest(),
            Err(e) => {
                tracing::error!(error = %e, "redis commit failed; the commands are answered with an error");
                let err = Reply::Error(RedisError::storage(&e));
                for (_, replies) in &mut pending {
                    replies.iter_mut().for_each(|r| *r = err.clone());
                }
                // Counts and cached metadata may reflect writes that never landed.
                self.state.cache.clear();
                if let Ok(fresh) = background::load_state(&self.store, self.shared.config.databases, 0) {
                    self.state.dbs = fresh.dbs;
                }
                durability.latest()
            }
        };
        // Committed or not: the read cache may take fills again, before
        // anyone hears back.
        self.shared.read_cache.writes_done(&mut self.state.read_cache_writes);
        let calls = std::mem::take(&mut self.batch_calls);
        if !calls.is_empty() {
            let each = started.elapsed().as_micros() as u64 / calls.len() as u64;
            for &(name, failed) in &calls {
                self.state.stats.record_call(name, each, failed);
            }
            self.batch_calls = calls;
            self.batch_calls.clear();
        }
        for (tx, replies) in pending {
            let _ = tx.send(Outcome { replies, ticket });
        }
    }

    fn ctx<'a>(&'a mut self, txn: &'a mut KvTxn, inv: &Invocation) -> Ctx<'a> {
        Ctx {
            st: &mut self.state,
            shared: &self.shared,
            store: &self.store,
            txn,
            db: inv.db,
            now_ms: self.batch_now_ms,
            resp3: inv.resp3,
            via: ctx::Via::Engine,
        }
    }

    fn run_one(&mut self, txn: &mut KvTxn, inv: &Invocation) -> Reply {
        let mut ctx = self.ctx(txn, inv);
        let result = match inv.spec.exec {
            Exec::Engine(f) => f(&mut ctx, &inv.args),
            // Run as part of a batch (MULTI/EXEC) a blocking command does
            // not block: it answers at once.
            Exec::Blocking(f, timeout_reply) => f(&mut ctx, &inv.args).map(|r| r.unwrap_or_else(timeout_reply)),
            Exec::Conn => Err(RedisError::err(format!("'{}' cannot run here", inv.spec.name))),
        };
        self.batch_calls.push((inv.spec.name, result.is_err()));
        let stats = &mut self.state.stats;
        match result {
            Ok(r) => {
                if inv.spec.is_write() {
                    stats.dirty += 1;
                }
                r
            }
            Err(e) => Reply::Error(e),
        }
    }

    fn handle(&mut self, txn: &mut KvTxn, msg: Msg, pending: &mut Pending) {
        match msg {
            Msg::Run { cmds, exec: false, reply, .. } => {
                let replies = cmds.iter().map(|c| self.run_one(txn, c)).collect();
                pending.push((reply, replies));
            }
            Msg::Run { client, cmds, exec: true, reply } => {
                let aborted = self.watch_broken(client);
                self.state.unwatch(client);
                let out = if aborted {
                    Reply::NilArray
                } else {
                    Reply::Array(cmds.iter().map(|c| self.run_one(txn, c)).collect())
                };
                pending.push((reply, vec![out]));
            }
            Msg::Watch { client, db, keys, reply } => {
                for key in keys {
                    let expire_at = {
                        let mut ctx = Ctx {
                            st: &mut self.state,
                            shared: &self.shared,
                            store: &self.store,
                            txn,
                            db,
                            now_ms: now_ms(),
                            resp3: false,
                            via: ctx::Via::Engine,
                        };
                        ctx.meta(&key).ok().flatten().map_or(0, |m| m.expire_at)
                    };
                    // Held until EXEC: a copy, not a slice pinning a read buffer.
                    let k: DbKey = (db, Bytes::copy_from_slice(&key));
                    let w = &mut self.state.watches;
                    w.by_key.entry(k.clone()).or_default().insert(client);
                    w.by_client.entry(client).or_default().push((k, expire_at));
                }
                pending.push((reply, vec![Reply::OK]));
            }
            Msg::Unwatch { client } => self.state.unwatch(client),
            Msg::Block { id, client, cmd, reply } => {
                let Exec::Blocking(f, _) = cmd.spec.exec else {
                    pending.push((reply, vec![Reply::Error(RedisError::err("not a blocking command"))]));
                    return;
                };
                let attempt = {
                    let mut ctx = self.ctx(txn, &cmd);
                    f(&mut ctx, &cmd.args)
                };
                match attempt {
                    Ok(Some(r)) => pending.push((reply, vec![r])),
                    Err(e) => pending.push((reply, vec![Reply::Error(e)])),
                    Ok(None) => {
                        let keys: Vec<DbKey> =
                            crate::cmd::blocking_keys(&cmd).into_iter().map(|k| (cmd.db, k)).collect();
                        for k in &keys {
                            self.state.waiters.by_key.entry(k.clone()).or_default().push_back(id);
                        }
                        self.waiters.insert(id, Waiter { client, cmd, reply, keys });
                    }
                }
            }
            Msg::CancelBlock { id } => {
                if let Some(w) = self.remove_waiter(id) {
                    let Exec::Blocking(_, timeout_reply) = w.cmd.spec.exec else { return };
                    pending.push((w.reply, vec![timeout_reply()]));
                }
            }
            Msg::Drain => {}
            Msg::Gone { client } => {
                self.state.unwatch(client);
                let ids: Vec<u64> =
                    self.waiters.iter().filter(|(_, w)| w.client == client).map(|(id, _)| *id).collect();
                for id in ids {
                    self.remove_waiter(id);
                }
            }
        }
    }

    /// Whether EXEC must fail: a watched key changed, or expired since WATCH.
    fn watch_broken(&self, client: ClientId) -> bool {
        let w = &self.state.watches;
        if w.dirty.contains(&client) {
            return true;
        }
        let now = now_ms();
        w.by_client.get(&client).is_some_and(|keys| keys.iter().any(|(_, exp)| *exp != 0 && *exp <= now))
    }

    fn remove_waiter(&mut self, id: u64) -> Option<Waiter> {
        let w = self.waiters.remove(&id)?;
        for k in &w.keys {
            if let Some(q) = self.state.waiters.by_key.get_mut(k) {
                q.retain(|x| *x != id);
                if q.is_empty() {
                    self.state.waiters.by_key.remove(k);
                }
            }
        }
        Some(w)
    }

    /// Serves blocked clients whose keys changed, oldest first per key.
    fn serve_waiters(&mut self, txn: &mut KvTxn, pending: &mut Pending) {
        while let Some(key) = self.state.waiters.ready.pop() {
            let ids: Vec<u64> =
                self.state.waiters.by_key.get(&key).map(|q| q.iter().copied().collect()).unwrap_or_default();
            for id in ids {
                let Some(w) = self.waiters.get(&id) else { continue };
                // A client that hung up before its Gone message arrived must
                // not be served: the element it popped would be lost.
                if w.reply.is_closed() {
                    self.remove_waiter(id);
                    continue;
                }
                let Exec::Blocking(f, _) = w.cmd.spec.exec else { continue };
                let cmd = w.cmd.clone();
                let attempt = {
                    let mut ctx = self.ctx(txn, &cmd);
                    f(&mut ctx, &cmd.args)
                };
                let reply = match attempt {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(e) => Reply::Error(e),
                };
                if let Some(w) = self.remove_waiter(id) {
                    pending.push((w.reply, vec![reply]));
                }
            }
        }
    }
}
