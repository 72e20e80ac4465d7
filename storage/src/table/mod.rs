//! Tables on a key-value engine: [`TableStorage`] and its implementation
//! [`TieredTableStorage`].

mod catalog;
mod hot_tier;
mod query;
mod schema;
mod tiered;

use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;

pub use query::{CmpOp, Filter, Row, ScanOrder, SelectQuery, Update};
pub use schema::{CheckDef, ColumnDef, IndexDef, TableSchema};
pub use tiered::TieredTableStorage;

use crate::error::Result;
use crate::metrics::StoreMetrics;
use crate::txn::KvTxn;

/// Where a column of an altered table takes its values from.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSource {
    /// The old table's column at this position.
    Column(usize),
    /// This value in every row.
    Value(crate::Value),
}

/// A transaction over tables: snapshot reads, writes visible to itself, and
/// a commit that fails with a write conflict rather than lose an update.
///
/// Get one from [`TableStorage::begin_transaction`] and pass it to each
/// operation; dropping it rolls back.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub(crate) inner: Arc<Mutex<Option<KvTxn>>>,
}

impl Transaction {
    pub(crate) fn new(txn: KvTxn) -> Self {
        Transaction { inner: Arc::new(Mutex::new(Some(txn))) }
    }

    /// Whether the transaction can still be used.
    pub fn is_open(&self) -> bool {
        self.inner.lock().is_some()
    }
}

/// Table storage: schemas, rows in primary-key order, and transactions.
///
/// Every data operation takes `tx`: `Some` runs it inside that transaction,
/// `None` runs it alone and commits it at once (retrying internally if a
/// concurrent commit got in the way, as the statement has not been
/// acknowledged yet).
#[async_trait]
pub trait TableStorage: Send + Sync + std::fmt::Debug {
    /// Creates a table. Fails with `TableExists` if the name is taken.
    async fn create_table(&self, schema: &TableSchema) -> Result<()>;

    /// Drops a table and its rows; `false` if there was none.
    async fn drop_table(&self, name: &str) -> Result<bool>;

    /// The schema of `name`, if such a table exists.
    async fn get_table_schema(&self, name: &str) -> Result<Option<TableSchema>>;

    /// Every table's schema, ordered by name.
    async fn list_tables(&self) -> Result<Vec<TableSchema>>;

    /// Replaces table `name`'s definition with `schema` (which may rename
    /// it, change columns and key, and add or drop indexes), rewriting
    /// every row at once: column `i` of the new schema takes
    /// `columns[i]`. Fails with `DuplicateKey` when the new key or a new
    /// unique index does not hold for the existing rows, and then changes
    /// nothing. Transactions that wrote the table meanwhile fail to commit.
    async fn alter_table(&self, name: &str, schema: &TableSchema, columns: &[ColumnSource]) -> Result<()>;

    /// Inserts a row (values in column order). Fails with `DuplicateKey`
    /// when a row with the same primary key exists.
    async fn insert(&self, tx: Option<&Transaction>, table: &str, row: Row) -> Result<()>;

    /// Inserts many rows at once (all or none), returning how many.
    async fn insert_many(&self, tx: Option<&Transaction>, table: &str, rows: Vec<Row>) -> Result<u64>;

    /// Inserts or replaces the row with the same primary key.
    async fn upsert(&self, tx: Option<&Transaction>, table: &str, row: Row) -> Result<()>;

    /// The row with primary key `key` (values in key-column order).
    async fn get(&self, tx: Option<&Transaction>, table: &str, key: &[crate::Value]) -> Result<Option<Row>>;

    /// Rows matching the query.
    async fn select(&self, tx: Option<&Transaction>, query: &SelectQuery) -> Result<Vec<Row>>;

    /// Applies `updates` to every row matching `filter`; returns how many.
    async fn update(&self, tx: Option<&Transaction>, table: &str, updates: &[Update], filter: &Filter) -> Result<u64>;

    /// Deletes every row matching `filter`; returns how many.
    async fn delete(&self, tx: Option<&Transaction>, table: &str, filter: &Filter) -> Result<u64>;

    /// Starts a transaction.
    async fn begin_transaction(&self) -> Result<Transaction>;

    /// Commits; on return the writes are visible and as durable as the sync
    /// policy promises. `WriteConflict` means nothing was written.
    async fn commit_transaction(&self, tx: Transaction) -> Result<()>;

    /// Discards the transaction's writes.
    async fn rollback_transaction(&self, tx: Transaction) -> Result<()>;

    /// Moves the transaction to a snapshot of the latest commit, keeping its
    /// writes (READ COMMITTED: called at each statement's start). Fails with
    /// `WriteConflict`, moving nothing, when a commit since the old snapshot
    /// wrote something this transaction wrote; see `KvTxn::refresh`.
    async fn refresh_snapshot(&self, tx: &Transaction) -> Result<()>;

    /// Starts a transaction on the newest state whose commits are all
    /// durable ([`crate::txn::SnapshotKind::Settled`]): its reads never wait
    /// for a sync that is still running.
    async fn begin_settled_transaction(&self) -> Result<Transaction>;

    /// [`TableStorage::refresh_snapshot`] to the newest durable state, or
    /// to the latest when that is older than the current snapshot or when
    /// a later commit wrote one of `must_see`: rows, by table (stored name)
    /// and encoded primary key, that the caller has just locked and must
    /// read as last committed.
    async fn refresh_settled_snapshot(&self, tx: &Transaction, must_see: &[(String, Vec<u8>)]) -> Result<()>;

    /// Marks the transaction's current state (SQL's SAVEPOINT).
    async fn savepoint(&self, tx: &Transaction) -> Result<crate::txn::Savepoint>;

    /// Discards the transaction's writes since `savepoint` (ROLLBACK TO).
    async fn rollback_to_savepoint(&self, tx: &Transaction, savepoint: &crate::txn::Savepoint) -> Result<()>;

    /// Moves everything acknowledged from the log into table files, so a
    /// restart replays nothing.
    async fn checkpoint(&self) -> Result<()>;

    /// Compacts the rows, reclaiming space of deleted and replaced rows.
    async fn compact(&self) -> Result<()>;

    /// Counters, latencies and sizes.
    async fn metrics(&self) -> Result<StoreMetrics>;
}
