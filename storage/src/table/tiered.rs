//! [`TieredTableStorage`]: tables over the transaction layer, with a hot tier.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::catalog::{self, Catalog};
use super::hot_tier::{HotTier, Lookup};
use super::query::{Access, Filter, Row, ScanOrder, SelectQuery, Update, plan_access, row_key, table_prefix};
use super::schema::{TableDef, TableSchema};
use super::{TableStorage, Transaction};
use crate::codec::key::{self, SortOrder};
use crate::codec::row;
use crate::durability::Ticket;
use crate::error::{Result, StorageError};
use crate::kv::{Direction, KeyRange, WriteBatch, prefix_successor};
use crate::metrics::{StoreMetrics, StoreStats};
use crate::protocol::cf;
use crate::txn::{KvTxn, TxnManager};
use crate::value::{DataType, Value};

/// How often a statement outside a transaction is re-run after losing a
/// write conflict before the conflict is reported.
const AUTOCOMMIT_ATTEMPTS: usize = 8;

/// Tables on a store, with a bounded in-memory hot tier of rows.
///
/// Writes go through to the engine (and wait for the sync policy) before
/// they are acknowledged; the hot tier only ever saves reads. Operations run
/// on the blocking thread pool, never on async workers.
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

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StorageError::Engine(format!("storage task failed: {e}")))?
}

impl TieredTableStorage {
    /// Opens the tables of the store behind `txns`, loading the catalog, with
    /// a hot tier of about `hot_tier_rows` rows (zero disables it).
    pub fn open(txns: Arc<TxnManager>, stats: Arc<StoreStats>, hot_tier_rows: usize) -> Result<Self> {
        let families = txns.engine().column_families();
        for needed in [cf::TABLE_CATALOG, cf::TABLE_ROWS] {
            if !families.iter().any(|f| f == needed) {
                return Err(StorageError::UnknownColumnFamily(needed.to_string()));
            }
        }
        let catalog = Arc::new(Catalog::load(txns.engine().as_ref(), cf::TABLE_CATALOG)?);
        txns.add_observer(catalog.clone());
        let hot = HotTier::new(cf::TABLE_ROWS, hot_tier_rows).map(Arc::new);
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
            engine: inner.txns.engine().stats(),
        }
    }

    /// Runs `op` in `tx`, or alone with commit and retries when `tx` is `None`.
    async fn run<T: Send + 'static>(
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

impl Inner {
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
        if let Some(own) = txn.own_write(cf::TABLE_ROWS, key) {
            return Ok(own);
        }
        let Some(hot) = &self.hot else {
            return txn.get(cf::TABLE_ROWS, key);
        };
        let ts = txn.start_ts();
        if let Lookup::Hit(bytes) = hot.get(key, ts) {
            self.stats.record_cache(true);
            return Ok(bytes);
        }
        self.stats.record_cache(false);
        let bytes = txn.snapshot().get(cf::TABLE_ROWS, key)?;
        hot.fill(key, bytes.clone(), ts);
        Ok(bytes)
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

    fn next_row_id(&self, def: &TableDef) -> Result<Vec<u8>> {
        let counter = {
            let mut ids = self.row_ids.lock();
            match ids.get(&def.id) {
                Some(c) => c.clone(),
                None => {
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
            self.next_row_id(&def)?
        } else {
            let key = Self::key_of(&def, &row)?;
            if !replace && self.read_row(txn, &key)?.is_some() {
                return Err(duplicate(&def, &row));
            }
            key
        };
        txn.put(cf::TABLE_ROWS, key, row::encode(&def.column_ids, &row));
        Ok(())
    }

    /// Matching rows with their keys, in `order`, at most `limit`.
    fn matching(
        &self,
        txn: &KvTxn,
        def: &TableDef,
        filter: &Filter,
        order: ScanOrder,
        limit: Option<usize>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        filter.check_columns(def)?;
        let mut out = Vec::new();
        if limit == Some(0) {
            return Ok(out);
        }
        let matches = |row: &Row| filter.eval(def, row) == Some(true);
        match plan_access(def, filter) {
            Access::Point(k) => {
                if let Some(bytes) = self.read_row(txn, &k)? {
                    let row = row::decode(&bytes, &def.column_ids)?;
                    if matches(&row) {
                        out.push((k, row));
                    }
                }
            }
            Access::Range(range) => {
                let direction = match order {
                    ScanOrder::PrimaryKey => Direction::Forward,
                    ScanOrder::PrimaryKeyDesc => Direction::Reverse,
                };
                let mut failure = None;
                txn.scan(cf::TABLE_ROWS, &range, direction, &mut |k, v| {
                    match row::decode(v, &def.column_ids) {
                        Ok(row) if matches(&row) => out.push((k.to_vec(), row)),
                        Ok(_) => {}
                        Err(e) => {
                            failure = Some(e);
                            return ControlFlow::Break(());
                        }
                    }
                    if limit.is_some_and(|l| out.len() >= l) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
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
        let projection = match &q.columns {
            None => None,
            Some(cols) => Some(
                cols.iter()
                    .map(|c| {
                        def.schema.column_index(c).ok_or_else(|| StorageError::NoSuchColumn {
                            table: def.schema.name.clone(),
                            column: c.clone(),
                        })
                    })
                    .collect::<Result<Vec<usize>>>()?,
            ),
        };
        let rows = self.matching(txn, &def, &q.filter, q.order, q.limit)?;
        Ok(rows
            .into_iter()
            .map(|(_, row)| match &projection {
                None => row,
                Some(p) => p.iter().map(|&i| row[i].clone()).collect(),
            })
            .collect())
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
        let rows = self.matching(txn, &def, filter, ScanOrder::PrimaryKey, None)?;
        // Validate everything before writing anything, so a failing
        // statement leaves the transaction as it was.
        let mut changed = Vec::with_capacity(rows.len());
        for (old_key, mut row) in rows {
            for (i, v) in &targets {
                row[*i] = v.clone();
            }
            let row = Self::check_row(&def, row)?;
            let new_key = if def.has_hidden_key() { old_key.clone() } else { Self::key_of(&def, &row)? };
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
        let rows = self.matching(txn, &def, filter, ScanOrder::PrimaryKey, None)?;
        let n = rows.len() as u64;
        for (k, _) in rows {
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
        batch.delete_range(cf::TABLE_ROWS, prefix, end);
        let committed = self.txns.write(batch)?;
        self.row_ids.lock().remove(&def.id);
        Ok(Some(committed.ticket))
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

    async fn insert(&self, tx: Option<&Transaction>, table: &str, row: Row) -> Result<()> {
        let table = table.to_string();
        self.run(tx, move |inner, txn| inner.insert_in(txn, &table, row.clone(), false)).await
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
        let query = query.clone();
        match tx {
            Some(_) => self.run(tx, move |inner, txn| inner.select_in(txn, &query)).await,
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
        let inner = self.inner.clone();
        run_blocking(move || Ok(Transaction::new(inner.txns.begin()))).await
    }

    async fn commit_transaction(&self, tx: Transaction) -> Result<()> {
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
        // The handle's lock may be held by a running statement: wait for it
        // on the blocking pool, not on an async worker.
        let handle = tx.inner.clone();
        run_blocking(move || {
            let txn = handle.lock().take().ok_or(StorageError::TransactionClosed)?;
            txn.rollback();
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
            engine.compact(cf::TABLE_CATALOG, &KeyRange::all())
        })
        .await
    }

    async fn metrics(&self) -> Result<StoreMetrics> {
        let this = self.clone();
        run_blocking(move || Ok(this.metrics_blocking())).await
    }
}
