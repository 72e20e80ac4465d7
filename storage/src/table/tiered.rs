//! [`TieredTableStorage`]: tables over the transaction layer, with a hot tier.

use std::collections::{BTreeMap, HashSet};
use std::ops::{Bound, ControlFlow};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::catalog::{self, Catalog};
use super::hot_tier::{HotTier, Lookup};
use super::query::{
    Access, Filter, KeyRun, Row, ScanOrder, SelectQuery, Update, enumerated_keys, index_prefix, key_access,
    plan_access, row_key, table_prefix,
};
use super::schema::{TableDef, TableSchema};
use super::{ColumnSource, TableStorage, Transaction};
use crate::codec::key::{self, SortOrder};
use crate::codec::row;
use crate::durability::Ticket;
use crate::error::{Result, StorageError};
use crate::kv::{Direction, KeyRange, WriteBatch, prefix_successor};
use crate::metrics::{StoreMetrics, StoreStats};
use crate::protocol::cf;
use crate::txn::{KvTxn, SnapshotKind, TxnManager};
use crate::value::{DataType, Value};

/// How often a statement outside a transaction is re-run after losing a
/// write conflict before the conflict is reported.
const AUTOCOMMIT_ATTEMPTS: usize = 8;

/// Tables on a store, with a bounded in-memory hot tier of rows.
///
/// Writes go through to the engine (and wait for the sync policy) before
/// they are acknowledged; the hot tier only ever saves reads. Statements
/// whose reads stay in memory run on the calling task; the rest, and
/// anything that may read a file, run on the blocking thread pool.
#[derive(Debug, Clone)]
pub struct TieredTableStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    txns: Arc<TxnManager>,
    stats: Arc<StoreStats>,
    catalog: Arc<Catalog>,
    hot: Option<Arc<HotTier>>,
    /// Serialises DDL; data operations never take it.
    ddl: Mutex<()>,
    /// Next hidden row id per table id, read from disk on first use.
    row_ids: Mutex<BTreeMap<u32, Arc<AtomicU64>>>,
}

/// Commits with at most this many buffered writes run on the calling task.
const INLINE_COMMIT_WRITES: usize = 64;

/// Entries a statement run on the calling task may read (from memory, see
/// [`KvTxn::in_memory`]) before it moves to the blocking pool: a few hundred
/// microseconds at most, the cost of a large Redis command. Two thread
/// switches to and from the pool cost more than a hundred-row range read.
const INLINE_READ_BUDGET: usize = 1024;

/// Row batches up to this size are tried on the calling task first.
const INLINE_BATCH_ROWS: usize = 16;

/// Engine lookups a small key range may make (rows the hot tier lacks)
/// before the rest of it is scanned instead: one lookup costs several
/// times a scan step, so a range the tier does not hold, or whose keys are
/// mostly absent, is better scanned.
const ENGINE_LOOKUPS_PER_RUN: usize = 8;

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StorageError::Engine(format!("storage task failed: {e}")))?
}

impl TieredTableStorage {
    /// Opens the tables of the store behind `txns`, loading the catalog, with
    /// a hot tier of about `hot_tier_rows` rows and `hot_tier_bytes` bytes
    /// (zero for either disables it).
    pub fn open(
        txns: Arc<TxnManager>,
        stats: Arc<StoreStats>,
        hot_tier_rows: usize,
        hot_tier_bytes: usize,
    ) -> Result<Self> {
        let families = txns.engine().column_families();
        for needed in [cf::TABLE_CATALOG, cf::TABLE_ROWS] {
            if !families.iter().any(|f| f == needed) {
                return Err(StorageError::UnknownColumnFamily(needed.to_string()));
            }
        }
        let catalog = Arc::new(Catalog::load(txns.engine().as_ref(), cf::TABLE_CATALOG)?);
        txns.add_observer(catalog.clone());
        let hot = HotTier::new(cf::TABLE_ROWS, hot_tier_rows, hot_tier_bytes).map(Arc::new);
        if let Some(h) = &hot {
            txns.add_observer(h.clone());
        }
        Ok(TieredTableStorage {
            inner: Arc::new(Inner {
                txns,
                stats,
                catalog,
                hot,
                ddl: Mutex::new(()),
                row_ids: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// Counters, latencies, hot-tier size and engine sizes. Reads engine
    /// properties: call it off the async workers.
    pub fn metrics_blocking(&self) -> StoreMetrics {
        let inner = &self.inner;
        StoreMetrics {
            ops: inner.stats.snapshot(),
            hot_tier_rows: inner.hot.as_ref().map_or(0, |h| h.len() as u64),
            hot_tier_capacity: inner.hot.as_ref().map_or(0, |h| h.capacity() as u64),
            hot_tier_bytes: inner.hot.as_ref().map_or(0, |h| h.bytes() as u64),
            engine: inner.txns.engine().stats(),
        }
    }

    /// Runs `op` inside `tx` on the calling task when everything it reads is
    /// in memory (see [`KvTxn::in_memory`]), sparing the blocking pool's two
    /// thread switches; `None` when it is not, or when a statement on the
    /// pool holds the transaction.
    fn try_inline<T>(
        &self,
        tx: &Transaction,
        op: impl FnOnce(&Inner, &mut KvTxn) -> Result<T>,
    ) -> Option<Result<(T, Ticket)>> {
        let mut guard = tx.inner.try_lock()?;
        let Some(txn) = guard.as_mut() else { return Some(Err(StorageError::TransactionClosed)) };
        match txn.in_memory(INLINE_READ_BUDGET, |txn| op(&self.inner, txn)) {
            Err(StorageError::Uncached) => None,
            out => Some(out.map(|v| (v, txn.visible_ticket()))),
        }
    }

    /// Runs `op` in `tx`, or alone with commit and retries when `tx` is `None`:
    /// on the calling task when it reads only memory, else on the pool.
    async fn run<T: Send + 'static>(
        &self,
        tx: Option<&Transaction>,
        op: impl Fn(&Inner, &mut KvTxn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let attempt = match tx {
            Some(t) => self.try_inline(t, &op).map_or(Attempt::Refused, Attempt::Done),
            None => self.inner.autocommit_in_memory(&op),
        };
        let (out, ticket) = match attempt {
            Attempt::Done(done) => done?,
            Attempt::Commit(out, txn) => {
                let visible = txn.visible_ticket();
                match run_blocking(move || txn.commit()).await {
                    Ok(c) => (out, c.map_or(visible, |c| c.ticket)),
                    // The pool's own loop retries conflicts.
                    Err(StorageError::WriteConflict) => return self.run_on_pool(tx, op).await,
                    Err(e) => return Err(e),
                }
            }
            Attempt::Refused => return self.run_on_pool(tx, op).await,
        };
        self.wait_durable(ticket).await?;
        Ok(out)
    }

    /// [`TieredTableStorage::run`] on the blocking pool, for work too big to
    /// try on the calling task.
    async fn run_on_pool<T: Send + 'static>(
        &self,
        tx: Option<&Transaction>,
        op: impl Fn(&Inner, &mut KvTxn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        let (out, ticket) = match tx {
            Some(t) => {
                let handle = t.inner.clone();
                run_blocking(move || {
                    let mut guard = handle.lock();
                    let txn = guard.as_mut().ok_or(StorageError::TransactionClosed)?;
                    Ok((op(&inner, txn)?, txn.visible_ticket()))
                })
                .await?
            }
            None => run_blocking(move || inner.autocommit(op)).await?,
        };
        self.wait_durable(ticket).await?;
        Ok(out)
    }

    /// Waits until everything up to `ticket` is as durable as the sync
    /// policy promises. Readers wait too: what they saw must not be undone
    /// by a crash after they answered.
    async fn wait_durable(&self, ticket: Ticket) -> Result<()> {
        self.inner.txns.durability().wait(ticket).await
    }
}

/// What a statement tried on the calling task came to.
enum Attempt<T> {
    /// Finished, or failed for good, with the ticket to wait on.
    Done(Result<(T, Ticket)>),
    /// Ran in a transaction of its own whose commit is too big for the
    /// calling task.
    Commit(T, KvTxn),
    /// Needs the disk: run it again on the blocking pool.
    Refused,
}

impl Inner {
    /// Runs read-only `op` on a fresh snapshot on the calling task, reading
    /// only memory, with the ticket to wait on; `None` when it needs the
    /// disk.
    fn read_in_memory<T>(&self, op: impl FnOnce(&Inner, &KvTxn) -> Result<T>) -> Option<Result<(T, Ticket)>> {
        let mut txn = self.txns.begin();
        match txn.in_memory(INLINE_READ_BUDGET, |txn| op(self, txn)) {
            Err(StorageError::Uncached) => None,
            out => Some(out.map(|v| (v, txn.visible_ticket()))),
        }
    }

    /// [`Inner::autocommit`] on the calling task, reading only memory.
    fn autocommit_in_memory<T>(&self, op: &impl Fn(&Inner, &mut KvTxn) -> Result<T>) -> Attempt<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut txn = self.txns.begin();
            let out = match txn.in_memory(INLINE_READ_BUDGET, |txn| op(self, txn)) {
                Err(StorageError::Uncached) => return Attempt::Refused,
                Err(e) => return Attempt::Done(Err(e)),
                Ok(out) => out,
            };
            if txn.write_count() > INLINE_COMMIT_WRITES {
                return Attempt::Commit(out, txn);
            }
            let visible = txn.visible_ticket();
            match txn.commit() {
                Ok(c) => return Attempt::Done(Ok((out, c.map_or(visible, |c| c.ticket)))),
                Err(StorageError::WriteConflict) if attempt < AUTOCOMMIT_ATTEMPTS => continue,
                Err(e) => return Attempt::Done(Err(e)),
            }
        }
    }

    /// Runs `op` in a transaction of its own and commits it, retrying on
    /// conflict; returns the ticket to wait on before answering.
    fn autocommit<T>(&self, op: impl Fn(&Inner, &mut KvTxn) -> Result<T>) -> Result<(T, Ticket)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut txn = self.txns.begin();
            let out = op(self, &mut txn)?;
            let visible = txn.visible_ticket();
            match txn.commit() {
                Ok(c) => return Ok((out, c.map_or(visible, |c| c.ticket))),
                Err(StorageError::WriteConflict) if attempt < AUTOCOMMIT_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn table(&self, name: &str) -> Result<Arc<TableDef>> {
        self.catalog.get(name).ok_or_else(|| StorageError::NoSuchTable(name.to_string()))
    }

    /// The table's definition for a transaction that writes it: watching the
    /// catalog entry makes the commit fail if the table is dropped or
    /// redefined meanwhile.
    fn table_for_write(&self, txn: &mut KvTxn, name: &str) -> Result<Arc<TableDef>> {
        let def = self.table(name)?;
        txn.watch(cf::TABLE_CATALOG, catalog::table_key(name));
        Ok(def)
    }

    /// A row's bytes as `txn` sees them, through the hot tier.
    fn read_row(&self, txn: &KvTxn, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with_row(txn, key, |bytes| Ok(bytes.map(<[u8]>::to_vec)))
    }

    /// A row as `txn` sees it, decoded (`None`: no row).
    fn decoded_row(&self, txn: &KvTxn, def: &TableDef, key: &[u8]) -> Result<Option<Row>> {
        self.with_row(txn, key, |bytes| bytes.map(|b| row::decode(b, &def.column_ids)).transpose())
    }

    /// What `read` makes of a row's bytes as `txn` sees them (`None`: no
    /// row), through the hot tier. On a hit `read` runs under a hot-tier
    /// lock and the bytes are not copied.
    fn with_row<R>(&self, txn: &KvTxn, key: &[u8], mut read: impl FnMut(Option<&[u8]>) -> Result<R>) -> Result<R> {
        match self.with_row_in_memory(txn, key, &mut read) {
            Some(r) => r,
            None => self.with_row_from_engine(txn, key, read),
        }
    }

    /// [`Inner::with_row`] past its in-memory step: the snapshot's bytes,
    /// offered to the hot tier.
    fn with_row_from_engine<R>(
        &self,
        txn: &KvTxn,
        key: &[u8],
        mut read: impl FnMut(Option<&[u8]>) -> Result<R>,
    ) -> Result<R> {
        let Some(hot) = &self.hot else {
            return read(txn.get_committed(cf::TABLE_ROWS, key)?.as_deref());
        };
        self.stats.record_cache(false);
        let ts = txn.start_ts();
        let bytes = txn.get_committed(cf::TABLE_ROWS, key)?;
        let r = read(bytes.as_deref());
        hot.fill(key, bytes, ts);
        r
    }

    /// [`Inner::with_row`] when the transaction's own writes or the hot
    /// tier decide the row; `None` when only the engine can.
    fn with_row_in_memory<R>(
        &self,
        txn: &KvTxn,
        key: &[u8],
        mut read: impl FnMut(Option<&[u8]>) -> Result<R>,
    ) -> Option<Result<R>> {
        if let Some(own) = txn.own_write(cf::TABLE_ROWS, key) {
            return Some(read(own.as_deref()));
        }
        let r = self.hot.as_ref()?.read(key, txn.start_ts(), read)?;
        self.stats.record_cache(true);
        Some(r)
    }

    /// Hands the rows of `keys` (see [`enumerated_keys`]) to `emit` one by
    /// one, in `order`, until it breaks. The hot tier must hold nearly all
    /// of them for this to beat a scan: past [`ENGINE_LOOKUPS_PER_RUN`]
    /// misses it stops and returns the key it stopped at, from which the
    /// caller scans the rest.
    fn read_key_run(
        &self,
        txn: &KvTxn,
        def: &TableDef,
        keys: &KeyRun,
        order: ScanOrder,
        emit: &mut impl FnMut(&[u8], Row) -> ControlFlow<()>,
    ) -> Result<Option<Vec<u8>>> {
        let decode = |bytes: Option<&[u8]>| bytes.map(|b| row::decode(b, &def.column_ids)).transpose();
        let mut misses = 0;
        let mut stopped_at = None;
        keys.try_for_each(order, |k| {
            let row = match self.with_row_in_memory(txn, k, decode) {
                Some(row) => row?,
                None if misses < ENGINE_LOOKUPS_PER_RUN => {
                    misses += 1;
                    self.with_row_from_engine(txn, k, decode)?
                }
                None => {
                    stopped_at = Some(k.to_vec());
                    return Ok(ControlFlow::Break(()));
                }
            };
            Ok(row.map_or(ControlFlow::Continue(()), |row| emit(k, row)))
        })?;
        Ok(stopped_at)
    }

    /// A row's latest committed bytes if the hot tier holds them (`None`
    /// bytes: it knows the row is absent), with the ticket to wait on before
    /// showing them. An entry the tier holds is current, since commits
    /// replace or remove entries under the commit lock. `None` on a miss, or
    /// while a commit is being applied (its entries may already show, its
    /// ticket not yet): the caller then takes the snapshot path, which waits
    /// for that commit on the lock rather than spinning.
    fn cached_latest(&self, key: &[u8]) -> Option<(Option<Vec<u8>>, Ticket)> {
        let Lookup::Hit(bytes) = self.hot.as_ref()?.get(key, u64::MAX) else { return None };
        // Taken after the lookup, the ticket covers the commit that wrote
        // the entry.
        let ticket = self.txns.try_visible_ticket()?;
        self.stats.record_cache(true);
        Some((bytes, ticket))
    }

    /// A row's latest committed bytes, outside any transaction.
    fn read_row_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(hot) = &self.hot else {
            return self.txns.engine().get(cf::TABLE_ROWS, key);
        };
        if let Lookup::Hit(bytes) = hot.get(key, self.txns.last_committed()) {
            self.stats.record_cache(true);
            return Ok(bytes);
        }
        self.stats.record_cache(false);
        let (bytes, clean) = self.txns.read_latest(|e| e.get(cf::TABLE_ROWS, key))?;
        if let Some(ts) = clean {
            hot.fill(key, bytes.clone(), ts);
        }
        Ok(bytes)
    }

    /// Checks a full row against the schema and normalises its values.
    fn check_row(def: &TableDef, mut row: Row) -> Result<Row> {
        let schema = &def.schema;
        if row.len() != schema.columns.len() {
            return Err(StorageError::InvalidValue(format!(
                "table \"{}\" has {} columns but {} values were supplied",
                schema.name,
                schema.columns.len(),
                row.len()
            )));
        }
        for (v, col) in row.iter_mut().zip(&schema.columns) {
            if v.is_null() && !col.nullable {
                return Err(StorageError::NotNull { table: schema.name.clone(), column: col.name.clone() });
            }
            col.data_type.check(v).map_err(|m| StorageError::InvalidValue(format!("column \"{}\": {m}", col.name)))?;
            *v = key::truncate_to_micros(std::mem::replace(v, Value::Null));
        }
        Ok(row)
    }

    fn key_of(def: &TableDef, row: &[Value]) -> Result<Vec<u8>> {
        let values: Vec<Value> = def.key_positions.iter().map(|&i| row[i].clone()).collect();
        row_key(def, &values)
    }

    fn next_row_id(&self, txn: &KvTxn, def: &TableDef) -> Result<Vec<u8>> {
        let counter = {
            let mut ids = self.row_ids.lock();
            match ids.get(&def.id) {
                Some(c) => c.clone(),
                None => {
                    txn.require_blocking()?;
                    let c = Arc::new(AtomicU64::new(self.last_row_id(def)? + 1));
                    ids.insert(def.id, c.clone());
                    c
                }
            }
        };
        let id = counter.fetch_add(1, Ordering::Relaxed);
        let id = i64::try_from(id).map_err(|_| StorageError::InvalidValue("row ids exhausted".into()))?;
        row_key(def, &[Value::Int(id)])
    }

    /// The highest hidden row id on disk (0 for none).
    fn last_row_id(&self, def: &TableDef) -> Result<u64> {
        let prefix = table_prefix(def.id);
        let mut last = None;
        self.txns.engine().scan(cf::TABLE_ROWS, &KeyRange::prefix(&prefix), Direction::Reverse, &mut |k, _| {
            last = Some(k[prefix.len()..].to_vec());
            ControlFlow::Break(())
        })?;
        match last {
            None => Ok(0),
            Some(k) => match key::decode(&DataType::BigInt, SortOrder::Asc, &mut k.as_slice())? {
                Value::Int(i) => Ok(u64::try_from(i).unwrap_or(0)),
                _ => Err(StorageError::Corruption("hidden row id is not an integer".into())),
            },
        }
    }

    fn insert_in(&self, txn: &mut KvTxn, table: &str, row: Row, replace: bool) -> Result<()> {
        let def = self.table_for_write(txn, table)?;
        let row = Self::check_row(&def, row)?;
        let key = if def.has_hidden_key() {
            self.next_row_id(txn, &def)?
        } else {
            let key = Self::key_of(&def, &row)?;
            match self.read_row(txn, &key)? {
                Some(_) if !replace => return Err(duplicate(&def, &row)),
                Some(old) => {
                    let old = row::decode(&old, &def.column_ids)?;
                    for (k, _) in index_entries(&def, &key, &old)? {
                        txn.delete(cf::TABLE_INDEXES, k);
                    }
                }
                None => {}
            }
            key
        };
        self.add_index_entries(txn, &def, &key, &row, &mut HashSet::new())?;
        txn.put(cf::TABLE_ROWS, key, row::encode(&def.column_ids, &row));
        Ok(())
    }

    /// Writes `row`'s index entries, refusing a clash on a unique index
    /// (with an entry in the store, or one in `taken` from this statement).
    fn add_index_entries(
        &self,
        txn: &mut KvTxn,
        def: &TableDef,
        row_key: &[u8],
        row: &[Value],
        taken: &mut HashSet<Vec<u8>>,
    ) -> Result<()> {
        for (k, unique) in index_entries(def, row_key, row)? {
            if let Some(ix) = unique {
                let clash = !taken.insert(k.clone())
                    || txn.get(cf::TABLE_INDEXES, &k)?.is_some_and(|owner| owner.as_slice() != row_key);
                if clash {
                    return Err(unique_violation(def, ix, row));
                }
            }
            txn.put(cf::TABLE_INDEXES, k, row_key.to_vec());
        }
        Ok(())
    }

    /// Rows through index `ix` over `access`, as (row key, row), sorted by
    /// row key.
    fn index_rows(&self, txn: &KvTxn, def: &TableDef, ix: usize, access: Access) -> Result<Vec<(Vec<u8>, Row)>> {
        let range = match access {
            Access::Point(k) if def.schema.indexes[ix].unique => {
                let mut keys = Vec::new();
                if let Some(row_key) = txn.get(cf::TABLE_INDEXES, &k)? {
                    keys.push(row_key);
                }
                return self.rows_by_key(txn, def, keys);
            }
            // A non-unique entry carries the row key after the values.
            Access::Point(k) => KeyRange::prefix(&k),
            Access::Range(r) => r,
        };
        let mut keys = Vec::new();
        txn.scan(cf::TABLE_INDEXES, &range, Direction::Forward, &mut |_, v| {
            keys.push(v.to_vec());
            ControlFlow::Continue(())
        })?;
        self.rows_by_key(txn, def, keys)
    }

    fn rows_by_key(&self, txn: &KvTxn, def: &TableDef, mut keys: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, Row)>> {
        keys.sort();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(row) = self.decoded_row(txn, def, &k)? {
                out.push((k, row));
            }
        }
        Ok(out)
    }

    /// The index that pins the most columns of `filter`, when the key does
    /// not narrow the scan.
    fn pick_index(def: &TableDef, filter: &Filter) -> Option<(usize, Access)> {
        let mut best: Option<(usize, Access, usize, bool)> = None;
        for (i, positions) in def.index_positions.iter().enumerate() {
            let (access, pinned) = key_access(def, index_prefix(def, i), positions, filter);
            if pinned == 0 {
                continue;
            }
            let unique = def.schema.indexes[i].unique;
            let better = match &best {
                None => true,
                Some((_, _, p, u)) => pinned > *p || (pinned == *p && unique && !u),
            };
            if better {
                best = Some((i, access, pinned, unique));
            }
        }
        best.map(|(i, a, _, _)| (i, a))
    }

    /// Matching rows with their keys, in `order`, at most `limit`. Without
    /// `with_keys`, rows a scan finds may come with empty keys: a reader
    /// has no use for them, and copying each is a memory allocation.
    fn matching(
        &self,
        txn: &KvTxn,
        def: &TableDef,
        filter: &Filter,
        order: ScanOrder,
        limit: Option<usize>,
        with_keys: bool,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        filter.check_columns(def)?;
        let mut out = Vec::new();
        if limit == Some(0) {
            return Ok(out);
        }
        let matches = |row: &Row| filter.eval(def, row) == Some(true);
        let access = plan_access(def, filter);
        let whole = Access::Range(KeyRange::prefix(&table_prefix(def.id)));
        if access == whole
            && let Some((ix, index_access)) = Self::pick_index(def, filter)
        {
            let mut rows: Vec<(Vec<u8>, Row)> =
                self.index_rows(txn, def, ix, index_access)?.into_iter().filter(|(_, r)| matches(r)).collect();
            if order == ScanOrder::PrimaryKeyDesc {
                rows.reverse();
            }
            if let Some(l) = limit {
                rows.truncate(l);
            }
            return Ok(rows);
        }
        match access {
            Access::Point(k) => {
                if let Some(row) = self.decoded_row(txn, def, &k)?
                    && matches(&row)
                {
                    out.push((k, row));
                }
            }
            Access::Range(mut range) => {
                let direction = match order {
                    ScanOrder::PrimaryKey => Direction::Forward,
                    ScanOrder::PrimaryKeyDesc => Direction::Reverse,
                };
                // Keeps a matching row; breaks once `limit` rows are kept.
                let mut emit = |k: &[u8], row: Row| {
                    if matches(&row) {
                        out.push((if with_keys { k.to_vec() } else { Vec::new() }, row));
                    }
                    if limit.is_some_and(|l| out.len() >= l) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                };
                if self.hot.is_some()
                    && let Some(keys) = enumerated_keys(def, filter)
                {
                    // The keys listed are exactly the range's keys, so the
                    // rest of the range starts at the key not yet read.
                    match (self.read_key_run(txn, def, &keys, order, &mut emit)?, direction) {
                        (None, _) => return Ok(out),
                        (Some(k), Direction::Forward) => range.start = Bound::Included(k),
                        (Some(k), Direction::Reverse) => range.end = Bound::Included(k),
                    }
                }
                let mut failure = None;
                txn.scan(cf::TABLE_ROWS, &range, direction, &mut |k, v| match row::decode(v, &def.column_ids) {
                    Ok(row) => emit(k, row),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                })?;
                if let Some(e) = failure {
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    fn select_in(&self, txn: &KvTxn, q: &SelectQuery) -> Result<Vec<Row>> {
        let def = self.table(&q.table)?;
        let projection = projection(&def, q)?;
        let rows = self.matching(txn, &def, &q.filter, q.order, q.limit, false)?;
        Ok(rows.into_iter().map(|(_, row)| project(row, projection.as_deref())).collect())
    }

    /// A point read of the latest committed state served by the hot tier
    /// alone, with no snapshot taken, and the ticket to wait on; `None` when
    /// [`Inner::cached_latest`] gives nothing or the query is not a point
    /// read.
    ///
    /// An entry the tier holds is the row's current state (commits replace
    /// or remove entries under the commit lock), so reading it is reading
    /// the latest commit, as a fresh snapshot would. Taking and releasing
    /// that snapshot costs more than the lookup.
    fn select_point_cached(&self, def: &TableDef, q: &SelectQuery) -> Result<Option<(Vec<Row>, Ticket)>> {
        if self.hot.is_none() {
            return Ok(None);
        }
        let Access::Point(key) = plan_access(def, &q.filter) else { return Ok(None) };
        // In `select_in`'s order, so that errors do not depend on the cache.
        let projection = projection(def, q)?;
        q.filter.check_columns(def)?;
        let Some((bytes, ticket)) = self.cached_latest(&key) else { return Ok(None) };
        let mut out = Vec::new();
        if let Some(bytes) = bytes
            && q.limit != Some(0)
        {
            let row = row::decode(&bytes, &def.column_ids)?;
            if q.filter.eval(def, &row) == Some(true) {
                out.push(project(row, projection.as_deref()));
            }
        }
        Ok(Some((out, ticket)))
    }

    fn update_in(&self, txn: &mut KvTxn, table: &str, updates: &[Update], filter: &Filter) -> Result<u64> {
        let def = self.table_for_write(txn, table)?;
        let targets = updates
            .iter()
            .map(|u| {
                def.schema.column_index(&u.column).map(|i| (i, u.value.clone())).ok_or_else(|| {
                    StorageError::NoSuchColumn { table: def.schema.name.clone(), column: u.column.clone() }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = self.matching(txn, &def, filter, ScanOrder::PrimaryKey, None, true)?;
        // Validate everything before writing anything, so a failing
        // statement leaves the transaction as it was.
        let mut changed = Vec::with_capacity(rows.len());
        let mut old_rows = Vec::with_capacity(rows.len());
        for (old_key, old) in rows {
            let mut row = old.clone();
            for (i, v) in &targets {
                row[*i] = v.clone();
            }
            let row = Self::check_row(&def, row)?;
            let new_key = if def.has_hidden_key() { old_key.clone() } else { Self::key_of(&def, &row)? };
            old_rows.push(old);
            changed.push((old_key, new_key, row));
        }
        // Keys are unique after the statement as a whole, as in
        // `UPDATE t SET id = id + 1`: moved rows vacate their old keys first.
        let vacated: HashSet<&[u8]> = changed.iter().map(|(o, _, _)| o.as_slice()).collect();
        let mut taken: HashSet<&[u8]> = HashSet::new();
        for (old, new, row) in &changed {
            let clash = !taken.insert(new.as_slice())
                || (old != new && !vacated.contains(new.as_slice()) && self.read_row(txn, new)?.is_some());
            if clash {
                return Err(duplicate(&def, row));
            }
        }
        // Old index entries go first, so rows may trade unique values.
        for ((old, _, _), old_row) in changed.iter().zip(&old_rows) {
            for (k, _) in index_entries(&def, old, old_row)? {
                txn.delete(cf::TABLE_INDEXES, k);
            }
        }
        let mut taken_entries = HashSet::new();
        for (_, new, row) in &changed {
            self.add_index_entries(txn, &def, new, row, &mut taken_entries)?;
        }
        for (old, new, _) in &changed {
            if old != new {
                txn.delete(cf::TABLE_ROWS, old.clone());
            }
        }
        for (_, new, row) in &changed {
            txn.put(cf::TABLE_ROWS, new.clone(), row::encode(&def.column_ids, row));
        }
        Ok(changed.len() as u64)
    }

    fn delete_in(&self, txn: &mut KvTxn, table: &str, filter: &Filter) -> Result<u64> {
        let def = self.table_for_write(txn, table)?;
        let rows = self.matching(txn, &def, filter, ScanOrder::PrimaryKey, None, true)?;
        let n = rows.len() as u64;
        for (k, row) in rows {
            for (entry, _) in index_entries(&def, &k, &row)? {
                txn.delete(cf::TABLE_INDEXES, entry);
            }
            txn.delete(cf::TABLE_ROWS, k);
        }
        Ok(n)
    }

    fn create_table(&self, schema: TableSchema) -> Result<Ticket> {
        schema.validate()?;
        let _ddl = self.ddl.lock();
        let key = catalog::table_key(&schema.name);
        let (committed, ()) = self.txns.apply_atomically(|latest| {
            if latest.get(cf::TABLE_CATALOG, &key)?.is_some() {
                return Err(StorageError::TableExists(schema.name.clone()));
            }
            let id = catalog::decode_next_id(latest.get(cf::TABLE_CATALOG, catalog::NEXT_ID_KEY)?)?;
            let next = id.checked_add(1).ok_or_else(|| StorageError::InvalidValue("table ids exhausted".into()))?;
            let def = TableDef::new(id, schema.clone())?;
            let mut batch = WriteBatch::new();
            batch.put(cf::TABLE_CATALOG, key.clone(), catalog::encode_def(&def)?);
            batch.put(cf::TABLE_CATALOG, catalog::NEXT_ID_KEY.to_vec(), next.to_be_bytes().to_vec());
            Ok((batch, ()))
        })?;
        Ok(committed.ticket)
    }

    fn drop_table(&self, name: &str) -> Result<Option<Ticket>> {
        let _ddl = self.ddl.lock();
        let Some(def) = self.catalog.get(name) else { return Ok(None) };
        let prefix = table_prefix(def.id);
        let end = prefix_successor(&prefix).unwrap_or_else(|| vec![0xFF; prefix.len() + 1]);
        let mut batch = WriteBatch::new();
        batch.delete(cf::TABLE_CATALOG, catalog::table_key(name));
        batch.delete_range(cf::TABLE_ROWS, prefix.clone(), end.clone());
        batch.delete_range(cf::TABLE_INDEXES, prefix, end);
        let committed = self.txns.write(batch)?;
        self.row_ids.lock().remove(&def.id);
        Ok(Some(committed.ticket))
    }
}

impl Inner {
    /// Rewrites table `name` under `schema` (see [`TableStorage::alter_table`]):
    /// a new table id, every row and index entry written anew in one batch,
    /// the old ones removed in the same batch.
    fn alter_table(&self, name: &str, schema: TableSchema, columns: Vec<ColumnSource>) -> Result<Ticket> {
        schema.validate()?;
        if columns.len() != schema.columns.len() {
            return Err(StorageError::InvalidValue(format!(
                "{} column sources given for {} columns",
                columns.len(),
                schema.columns.len()
            )));
        }
        let _ddl = self.ddl.lock();
        let old = self.table(name)?;
        if let Some(ColumnSource::Column(i)) =
            columns.iter().find(|c| matches!(c, ColumnSource::Column(i) if *i >= old.schema.columns.len()))
        {
            return Err(StorageError::InvalidValue(format!("no column {i} in table \"{name}\"")));
        }
        let old_key = catalog::table_key(name);
        let new_key = catalog::table_key(&schema.name);
        let (committed, ()) =
            self.txns.apply_atomically(|latest| {
                if new_key != old_key && latest.get(cf::TABLE_CATALOG, &new_key)?.is_some() {
                    return Err(StorageError::TableExists(schema.name.clone()));
                }
                let id = catalog::decode_next_id(latest.get(cf::TABLE_CATALOG, catalog::NEXT_ID_KEY)?)?;
                let next = id.checked_add(1).ok_or_else(|| StorageError::InvalidValue("table ids exhausted".into()))?;
                let def = TableDef::new(id, schema.clone())?;
                let mut batch = WriteBatch::new();
                let prefix = table_prefix(old.id);
                let mut failure = None;
                let mut rows = Vec::new();
                latest.scan(cf::TABLE_ROWS, &KeyRange::prefix(&prefix), Direction::Forward, &mut |_, v| {
                    match row::decode(v, &old.column_ids) {
                        Ok(r) => {
                            rows.push(r);
                            ControlFlow::Continue(())
                        }
                        Err(e) => {
                            failure = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                })?;
                if let Some(e) = failure {
                    return Err(e);
                }
                let mut keys = HashSet::new();
                let mut entries = HashSet::new();
                for (n, old_row) in rows.into_iter().enumerate() {
                    let row: Row = columns
                        .iter()
                        .map(|c| match c {
                            ColumnSource::Column(i) => old_row[*i].clone(),
                            ColumnSource::Value(v) => v.clone(),
                        })
                        .collect();
                    let row = Self::check_row(&def, row)?;
                    let key = if def.has_hidden_key() {
                        row_key(&def, &[Value::Int(n as i64 + 1)])?
                    } else {
                        Self::key_of(&def, &row)?
                    };
                    if !keys.insert(key.clone()) {
                        return Err(duplicate(&def, &row));
                    }
                    for (k, unique) in index_entries(&def, &key, &row)? {
                        if let Some(ix) = unique
                            && !entries.insert(k.clone())
                        {
                            return Err(unique_violation(&def, ix, &row));
                        }
                        batch.put(cf::TABLE_INDEXES, k, key.clone());
                    }
                    batch.put(cf::TABLE_ROWS, key, row::encode(&def.column_ids, &row));
                }
                let end = prefix_successor(&prefix).unwrap_or_else(|| vec![0xFF; prefix.len() + 1]);
                batch.delete_range(cf::TABLE_ROWS, prefix.clone(), end.clone());
                batch.delete_range(cf::TABLE_INDEXES, prefix, end);
                if new_key != old_key {
                    batch.delete(cf::TABLE_CATALOG, old_key.clone());
                }
                batch.put(cf::TABLE_CATALOG, new_key.clone(), catalog::encode_def(&def)?);
                batch.put(cf::TABLE_CATALOG, catalog::NEXT_ID_KEY.to_vec(), next.to_be_bytes().to_vec());
                Ok((batch, ()))
            })?;
        self.row_ids.lock().remove(&old.id);
        Ok(committed.ticket)
    }
}

/// Positions of the columns `q` asks for; `None` for all of them.
fn projection(def: &TableDef, q: &SelectQuery) -> Result<Option<Vec<usize>>> {
    let Some(cols) = &q.columns else { return Ok(None) };
    cols.iter()
        .map(|c| {
            def.schema
                .column_index(c)
                .ok_or_else(|| StorageError::NoSuchColumn { table: def.schema.name.clone(), column: c.clone() })
        })
        .collect::<Result<Vec<usize>>>()
        .map(Some)
}

/// `row` cut down to the columns at `positions` (all of them for `None`).
fn project(row: Row, positions: Option<&[usize]>) -> Row {
    match positions {
        None => row,
        Some(p) => p.iter().map(|&i| row[i].clone()).collect(),
    }
}

/// The index entries of a row: each entry's key, and for a unique index
/// whose values are all non-NULL, the index position (such an entry must
/// not exist for another row). Entries that may repeat carry the row key.
fn index_entries(def: &TableDef, row_key: &[u8], row: &[Value]) -> Result<Vec<(Vec<u8>, Option<usize>)>> {
    let mut out = Vec::with_capacity(def.index_positions.len());
    for (i, positions) in def.index_positions.iter().enumerate() {
        let mut k = index_prefix(def, i);
        let mut has_null = false;
        for &p in positions {
            has_null |= row[p].is_null();
            key::encode(&row[p], SortOrder::Asc, &mut k)?;
        }
        let unique = def.schema.indexes[i].unique && !has_null;
        if !unique {
            k.extend_from_slice(row_key);
        }
        out.push((k, unique.then_some(i)));
    }
    Ok(out)
}

fn unique_violation(def: &TableDef, ix: usize, row: &[Value]) -> StorageError {
    let index = &def.schema.indexes[ix];
    let values: Vec<String> = def.index_positions[ix].iter().map(|&i| row[i].to_string()).collect();
    StorageError::UniqueViolation {
        table: def.schema.name.clone(),
        index: index.name.clone(),
        key: format!("({})=({})", index.columns.join(", "), values.join(", ")),
    }
}

fn duplicate(def: &TableDef, row: &[Value]) -> StorageError {
    let names: Vec<&str> = def.key_positions.iter().map(|&i| def.schema.columns[i].name.as_str()).collect();
    let values: Vec<String> = def.key_positions.iter().map(|&i| row[i].to_string()).collect();
    StorageError::DuplicateKey {
        table: def.schema.name.clone(),
        key: format!("({})=({})", names.join(", "), values.join(", ")),
    }
}

#[async_trait]
impl TableStorage for TieredTableStorage {
    async fn create_table(&self, schema: &TableSchema) -> Result<()> {
        let inner = self.inner.clone();
        let schema = schema.clone();
        let ticket = run_blocking(move || inner.create_table(schema)).await?;
        self.wait_durable(ticket).await
    }

    async fn drop_table(&self, name: &str) -> Result<bool> {
        let inner = self.inner.clone();
        let name = name.to_string();
        match run_blocking(move || inner.drop_table(&name)).await? {
            Some(ticket) => self.wait_durable(ticket).await.map(|()| true),
            None => Ok(false),
        }
    }

    async fn get_table_schema(&self, name: &str) -> Result<Option<TableSchema>> {
        Ok(self.inner.catalog.get(name).map(|d| d.schema.clone()))
    }

    async fn list_tables(&self) -> Result<Vec<TableSchema>> {
        Ok(self.inner.catalog.all().iter().map(|d| d.schema.clone()).collect())
    }

    async fn alter_table(&self, name: &str, schema: &TableSchema, columns: &[ColumnSource]) -> Result<()> {
        let inner = self.inner.clone();
        let (name, schema, columns) = (name.to_string(), schema.clone(), columns.to_vec());
        let ticket = run_blocking(move || inner.alter_table(&name, schema, columns)).await?;
        self.wait_durable(ticket).await
    }

    async fn insert(&self, tx: Option<&Transaction>, table: &str, row: Row) -> Result<()> {
        let table = table.to_string();
        self.run(tx, move |inner, txn| inner.insert_in(txn, &table, row.clone(), false)).await
    }

    async fn insert_many(&self, tx: Option<&Transaction>, table: &str, rows: Vec<Row>) -> Result<u64> {
        let table = table.to_string();
        let small = rows.len() <= INLINE_BATCH_ROWS;
        let rows = Arc::new(rows);
        let op = move |inner: &Inner, txn: &mut KvTxn| {
            for r in rows.iter() {
                inner.insert_in(txn, &table, r.clone(), false)?;
            }
            Ok(rows.len() as u64)
        };
        if small { self.run(tx, op).await } else { self.run_on_pool(tx, op).await }
    }

    async fn upsert(&self, tx: Option<&Transaction>, table: &str, row: Row) -> Result<()> {
        let table = table.to_string();
        self.run(tx, move |inner, txn| inner.insert_in(txn, &table, row.clone(), true)).await
    }

    async fn get(&self, tx: Option<&Transaction>, table: &str, key: &[Value]) -> Result<Option<Row>> {
        let def = self.inner.table(table)?;
        if def.has_hidden_key() || key.len() != def.key_positions.len() {
            return Err(StorageError::InvalidValue(format!(
                "table \"{table}\" has a primary key of {} column(s); {} value(s) given",
                def.key_positions.len(),
                key.len()
            )));
        }
        let k = row_key(&def, key)?;
        let decode = move |bytes: Option<Vec<u8>>| bytes.map(|b| row::decode(&b, &def.column_ids)).transpose();
        match tx {
            Some(_) => self.run(tx, move |inner, txn| decode(inner.read_row(txn, &k)?)).await,
            None => {
                // A row the hot tier holds is its latest state: no need
                // for the blocking pool's two thread hand-offs.
                if let Some((bytes, ticket)) = self.inner.cached_latest(&k) {
                    let row = decode(bytes)?;
                    self.wait_durable(ticket).await?;
                    return Ok(row);
                }
                if let Some(done) = self.inner.read_in_memory(|inner, txn| inner.read_row(txn, &k)) {
                    let (bytes, ticket) = done?;
                    let row = decode(bytes)?;
                    self.wait_durable(ticket).await?;
                    return Ok(row);
                }
                let inner = self.inner.clone();
                let (row, ticket) = run_blocking(move || {
                    let row = decode(inner.read_row_latest(&k)?)?;
                    Ok((row, inner.txns.visible_ticket()))
                })
                .await?;
                self.wait_durable(ticket).await?;
                Ok(row)
            }
        }
    }

    async fn select(&self, tx: Option<&Transaction>, query: &SelectQuery) -> Result<Vec<Row>> {
        // Most reads find what they need in memory, and are cheaper here
        // than the two thread switches of the blocking pool, which dominate
        // a key lookup's cost (see the Redis endpoint's reads for the same
        // choice).
        let inline = match tx {
            None => {
                let def = self.inner.table(&query.table)?;
                if let Some((rows, ticket)) = self.inner.select_point_cached(&def, query)? {
                    self.wait_durable(ticket).await?;
                    return Ok(rows);
                }
                self.inner.read_in_memory(|inner, txn| inner.select_in(txn, query))
            }
            Some(t) => self.try_inline(t, |inner, txn| inner.select_in(txn, query)),
        };
        if let Some(done) = inline {
            let (rows, ticket) = done?;
            self.wait_durable(ticket).await?;
            return Ok(rows);
        }
        let query = query.clone();
        match tx {
            Some(_) => self.run_on_pool(tx, move |inner, txn| inner.select_in(txn, &query)).await,
            None => {
                // A read-only snapshot: nothing to commit, nothing to retry.
                let inner = self.inner.clone();
                let (rows, ticket) = run_blocking(move || {
                    let txn = inner.txns.begin();
                    Ok((inner.select_in(&txn, &query)?, txn.visible_ticket()))
                })
                .await?;
                self.wait_durable(ticket).await?;
                Ok(rows)
            }
        }
    }

    async fn update(&self, tx: Option<&Transaction>, table: &str, updates: &[Update], filter: &Filter) -> Result<u64> {
        let (table, updates, filter) = (table.to_string(), updates.to_vec(), filter.clone());
        self.run(tx, move |inner, txn| inner.update_in(txn, &table, &updates, &filter)).await
    }

    async fn delete(&self, tx: Option<&Transaction>, table: &str, filter: &Filter) -> Result<u64> {
        let (table, filter) = (table.to_string(), filter.clone());
        self.run(tx, move |inner, txn| inner.delete_in(txn, &table, &filter)).await
    }

    async fn begin_transaction(&self) -> Result<Transaction> {
        // A snapshot is cheap to take: no need for the blocking pool.
        Ok(Transaction::new(self.inner.txns.begin()))
    }

    async fn begin_settled_transaction(&self) -> Result<Transaction> {
        Ok(Transaction::new(self.inner.txns.begin_at(SnapshotKind::Settled)))
    }

    async fn refresh_settled_snapshot(&self, tx: &Transaction, must_see: &[(String, Vec<u8>)]) -> Result<()> {
        let mut keys = Vec::with_capacity(must_see.len());
        for (table, pk) in must_see {
            let mut key = table_prefix(self.inner.table(table)?.id);
            key.extend_from_slice(pk);
            keys.push((cf::TABLE_ROWS, key));
        }
        if let Some(r) = self.try_inline(tx, |_, txn| txn.refresh_to(SnapshotKind::Settled, &keys)) {
            return r.map(|((), _)| ());
        }
        let handle = tx.inner.clone();
        run_blocking(move || {
            handle.lock().as_mut().ok_or(StorageError::TransactionClosed)?.refresh_to(SnapshotKind::Settled, &keys)
        })
        .await
    }

    async fn commit_transaction(&self, tx: Transaction) -> Result<()> {
        // A small commit is one short log append (the fsync is the syncer's):
        // done here. Big ones go to the blocking pool.
        let small = tx.inner.try_lock().and_then(|mut g| match g.as_ref() {
            Some(t) if t.write_count() <= INLINE_COMMIT_WRITES => g.take(),
            _ => None,
        });
        if let Some(txn) = small {
            let visible = txn.visible_ticket();
            let ticket = txn.commit()?.map_or(visible, |c| c.ticket);
            return self.wait_durable(ticket).await;
        }
        let handle = tx.inner.clone();
        let ticket = run_blocking(move || {
            let txn = handle.lock().take().ok_or(StorageError::TransactionClosed)?;
            let visible = txn.visible_ticket();
            Ok(txn.commit()?.map_or(visible, |c| c.ticket))
        })
        .await?;
        self.wait_durable(ticket).await
    }

    async fn rollback_transaction(&self, tx: Transaction) -> Result<()> {
        if let Some(mut guard) = tx.inner.try_lock()
            && guard.as_ref().is_none_or(|t| t.write_count() <= INLINE_COMMIT_WRITES)
        {
            guard.take().ok_or(StorageError::TransactionClosed)?.rollback();
            return Ok(());
        }
        // A running statement holds the handle's lock, or there is much to
        // free: on the blocking pool, not on an async worker.
        let handle = tx.inner.clone();
        run_blocking(move || {
            let txn = handle.lock().take().ok_or(StorageError::TransactionClosed)?;
            txn.rollback();
            Ok(())
        })
        .await
    }

    async fn refresh_snapshot(&self, tx: &Transaction) -> Result<()> {
        if let Some(r) = self.try_inline(tx, |_, txn| txn.refresh()) {
            return r.map(|((), _)| ());
        }
        let handle = tx.inner.clone();
        run_blocking(move || handle.lock().as_mut().ok_or(StorageError::TransactionClosed)?.refresh()).await
    }

    async fn savepoint(&self, tx: &Transaction) -> Result<crate::txn::Savepoint> {
        // MySQL takes one before every statement in a transaction: a copy of
        // the buffered writes, cheaper than a trip to the pool while small.
        if let Some(guard) = tx.inner.try_lock()
            && let Some(txn) = guard.as_ref()
            && txn.write_count() <= INLINE_COMMIT_WRITES
        {
            return Ok(txn.savepoint());
        }
        let handle = tx.inner.clone();
        run_blocking(move || Ok(handle.lock().as_ref().ok_or(StorageError::TransactionClosed)?.savepoint())).await
    }

    async fn rollback_to_savepoint(&self, tx: &Transaction, savepoint: &crate::txn::Savepoint) -> Result<()> {
        if let Some(mut guard) = tx.inner.try_lock()
            && let Some(txn) = guard.as_mut()
            && txn.write_count() <= INLINE_COMMIT_WRITES
            && savepoint.write_count() <= INLINE_COMMIT_WRITES
        {
            txn.rollback_to(savepoint);
            return Ok(());
        }
        let (handle, sp) = (tx.inner.clone(), savepoint.clone());
        run_blocking(move || {
            handle.lock().as_mut().ok_or(StorageError::TransactionClosed)?.rollback_to(&sp);
            Ok(())
        })
        .await
    }

    async fn checkpoint(&self) -> Result<()> {
        let inner = self.inner.clone();
        run_blocking(move || inner.txns.engine().flush()).await
    }

    async fn compact(&self) -> Result<()> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let engine = inner.txns.engine();
            engine.compact(cf::TABLE_ROWS, &KeyRange::all())?;
            engine.compact(cf::TABLE_INDEXES, &KeyRange::all())?;
            engine.compact(cf::TABLE_CATALOG, &KeyRange::all())
        })
        .await
    }

    async fn metrics(&self) -> Result<StoreMetrics> {
        let this = self.clone();
        run_blocking(move || Ok(this.metrics_blocking())).await
    }
}
