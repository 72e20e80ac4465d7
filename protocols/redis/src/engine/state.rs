//! What the engine thread keeps in memory between commands.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use super::cache::MetaCache;

use crate::shared::ClientId;

/// Per-database counts, for DBSIZE and INFO keyspace.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DbCounts {
    pub keys: u64,
    pub expires: u64,
}

/// Counters INFO reports.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub commands: u64,
    /// Writes since the last SAVE (INFO's rdb_changes_since_last_save).
    pub dirty: u64,
    pub last_save_unix: i64,
    /// Per command: calls, microseconds, failed calls.
    pub per_command: HashMap<&'static str, (u64, u64, u64), foldhash::fast::RandomState>,
}

impl Stats {
    /// Counts one call of `name` that took `micros` and failed or not.
    pub(crate) fn record_call(&mut self, name: &'static str, micros: u64, failed: bool) {
        self.commands += 1;
        let entry = self.per_command.entry(name).or_insert((0, 0, 0));
        entry.0 += 1;
        entry.1 += micros;
        entry.2 += u64::from(failed);
    }

    /// Adds `micros`, the time `calls` calls took together, to the calls
    /// recorded so far, in proportion to each command's count.
    pub(crate) fn spread_micros(&mut self, micros: u64, calls: u64) {
        if calls == 0 {
            return;
        }
        for (n, us, _) in self.per_command.values_mut() {
            *us += micros * *n / calls;
        }
    }

    /// Moves the call and lookup counts of `other` (reads that connections
    /// served themselves) into these, leaving `other` empty. Expiries seen
    /// by such reads are not counted: the engine counts them when it
    /// deletes the key.
    pub(crate) fn absorb(&mut self, other: &mut Stats) {
        self.keyspace_hits += std::mem::take(&mut other.keyspace_hits);
        self.keyspace_misses += std::mem::take(&mut other.keyspace_misses);
        self.commands += std::mem::take(&mut other.commands);
        other.expired_keys = 0;
        for (name, (calls, micros, failed)) in other.per_command.drain() {
            let entry = self.per_command.entry(name).or_insert((0, 0, 0));
            entry.0 += calls;
            entry.1 += micros;
            entry.2 += failed;
        }
    }
}

/// A key in a database.
pub(crate) type DbKey = (u8, Bytes);

/// Blocked-client bookkeeping: which keys each waiter waits on, in order.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// Waiter ids per key, oldest first.
    pub by_key: HashMap<DbKey, VecDeque<u64>>,
    /// Keys modified since the last time waiters were served.
    pub ready: Vec<DbKey>,
}

/// WATCH bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    /// Clients watching each key.
    pub by_key: HashMap<DbKey, HashSet<ClientId>>,
    /// Keys each client watches, with the expiry they had when watched.
    pub by_client: HashMap<ClientId, Vec<(DbKey, i64)>>,
    /// Clients whose watched keys changed.
    pub dirty: HashSet<ClientId>,
}

/// SCAN cursors handed out; old ones are forgotten first.
const MAX_CURSORS: usize = 65_536;

/// The engine's memory.
#[derive(Debug)]
pub(crate) struct State {
    pub dbs: Vec<DbCounts>,
    pub stats: Stats,
    pub next_version: u64,
    pub watches: Watches,
    pub waiters: Waiters,
    /// Key metadata, written through.
    pub cache: MetaCache,
    /// A connection's current point read: metadata found in the read
    /// cache, and read from its snapshot instead.
    pub read_cache_hits: u32,
    pub read_cache_misses: u32,
    /// Keys this batch removed from the connections' read cache.
    pub read_cache_writes: super::readcache::PendingWrites,
    /// SCAN-family cursors: id to the position (key or element) to resume after.
    pub cursors: HashMap<u64, Vec<u8>>,
    cursor_order: VecDeque<u64>,
    next_cursor: u64,
}

impl State {
    pub(crate) fn new(databases: usize, next_version: u64, cache_bytes: usize) -> Self {
        State {
            dbs: vec![DbCounts::default(); databases],
            stats: Stats::default(),
            next_version,
            watches: Watches::default(),
            waiters: Waiters::default(),
            cache: MetaCache::new(cache_bytes),
            read_cache_writes: Default::default(),
            read_cache_hits: 0,
            read_cache_misses: 0,
            cursors: HashMap::new(),
            cursor_order: VecDeque::new(),
            next_cursor: 1,
        }
    }

    /// Hands out a cursor that resumes after `position`.
    pub(crate) fn remember_cursor(&mut self, position: Vec<u8>) -> u64 {
        let id = self.next_cursor;
        self.next_cursor += 1;
        self.cursors.insert(id, position);
        self.cursor_order.push_back(id);
        while self.cursor_order.len() > MAX_CURSORS {
            if let Some(old) = self.cursor_order.pop_front() {
                self.cursors.remove(&old);
            }
        }
        id
    }

    /// Records that a key changed.
    pub(crate) fn touch(&mut self, db: u8, key: &[u8]) {
        if self.watches.by_key.is_empty() && self.waiters.by_key.is_empty() {
            return;
        }
        let k: DbKey = (db, Bytes::copy_from_slice(key));
        if let Some(clients) = self.watches.by_key.get(&k) {
            self.watches.dirty.extend(clients.iter().copied());
        }
        if self.waiters.by_key.contains_key(&k) {
            self.waiters.ready.push(k);
        }
    }

    /// Marks every client watching a key of `db` (or of any database) dirty,
    /// as FLUSHDB and FLUSHALL do.
    pub(crate) fn touch_all(&mut self, db: Option<u8>) {
        for ((d, _), clients) in &self.watches.by_key {
            if db.is_none_or(|x| x == *d) {
                self.watches.dirty.extend(clients.iter().copied());
            }
        }
    }

    /// Forgets a client's watches.
    pub(crate) fn unwatch(&mut self, client: ClientId) {
        if let Some(keys) = self.watches.by_client.remove(&client) {
            for (k, _) in keys {
                if let Some(set) = self.watches.by_key.get_mut(&k) {
                    set.remove(&client);
                    if set.is_empty() {
                        self.watches.by_key.remove(&k);
                    }
                }
            }
        }
        self.watches.dirty.remove(&client);
    }
}
