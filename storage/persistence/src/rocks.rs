//! The RocksDB provider's backend: one column family per table, and
//! RocksDB's own optimistic transactions.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, ErrorKind, IteratorMode,
    OptimisticTransactionDB, OptimisticTransactionOptions, Options, WriteBatchWithTransaction, WriteOptions,
};

use crate::backend::{RecordStore, StoreTx};
use crate::config::RocksDbConfig;
use crate::error::{PersistenceError, Result};
use crate::model::{AddressableLease, NodeInfo, Record, RecordKey, Table, WriteOp};
use crate::provider::{ProviderHealth, ProviderKind};
use crate::record_cache::RecordCache;

/// Largest batch written on the caller's thread.
const INLINE_WRITE_MAX_OPS: usize = 16;

/// Column family of addressable leases.
pub const CF_LEASES: &str = "leases";
/// Column family of cluster nodes.
pub const CF_NODES: &str = "nodes";

type Db = OptimisticTransactionDB;
/// `None` once committed: RocksDB's commit consumes the transaction, and
/// the cell can only lend it out.
type DbTxn<'a> = Option<rocksdb::Transaction<'a, Db>>;

self_cell::self_cell!(
    /// A RocksDB transaction that owns a reference to its database, so that
    /// it can live in the provider's table of open transactions.
    struct OwnedTxn {
        owner: Arc<Db>,
        #[not_covariant]
        dependent: DbTxn,
    }
);

/// The RocksDB provider's backend.
pub struct RocksStore {
    name: String,
    path: PathBuf,
    config: RocksDbConfig,
    options: Options,
    db: RwLock<Option<Arc<Db>>>,
    cache: Option<Arc<RecordCache>>,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore").field("name", &self.name).field("path", &self.path).finish_non_exhaustive()
    }
}

fn table_of(key: &RecordKey) -> &'static str {
    match key {
        RecordKey::Lease(_) => CF_LEASES,
        RecordKey::Node(_) => CF_NODES,
    }
}

/// Lease keys are the addressable type, length-prefixed so that no type
/// name can run into its key, then the key.
fn encode_key(key: &RecordKey) -> Vec<u8> {
    match key {
        RecordKey::Lease(r) => {
            let t = r.addressable_type.as_bytes();
            let mut k = Vec::with_capacity(4 + t.len() + r.key.len());
            k.extend_from_slice(&u32::try_from(t.len()).unwrap_or(u32::MAX).to_be_bytes());
            k.extend_from_slice(t);
            k.extend_from_slice(r.key.as_bytes());
            k
        }
        RecordKey::Node(id) => id.0.as_bytes().to_vec(),
    }
}

fn encode_value(record: &Record) -> Result<Vec<u8>> {
    let bytes = match record {
        Record::Lease(l) => serde_json::to_vec(l),
        Record::Node(n) => serde_json::to_vec(n),
    };
    bytes.map_err(|e| PersistenceError::Corrupt(e.to_string()))
}

fn decode(cf: &str, bytes: &[u8]) -> Result<Record> {
    let corrupt = |e: serde_json::Error| PersistenceError::Corrupt(format!("{cf}: {e}"));
    if cf == CF_LEASES {
        serde_json::from_slice::<AddressableLease>(bytes).map(Record::Lease).map_err(corrupt)
    } else {
        serde_json::from_slice::<NodeInfo>(bytes).map(Record::Node).map_err(corrupt)
    }
}

impl RocksStore {
    /// A store at `path` (created on open) with `config`.
    pub fn new(name: impl Into<String>, path: PathBuf, config: RocksDbConfig) -> Result<Self> {
        let name = name.into();
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_max_background_jobs(i32::try_from(config.max_background_jobs.max(1)).unwrap_or(i32::MAX));
        options.set_write_buffer_size(config.write_buffer_mb.max(1) << 20);
        options.set_compression_type(if config.compression { DBCompressionType::Lz4 } else { DBCompressionType::None });
        // Optimistic commits check conflicts in the memtables; keep enough
        // history that a flush does not turn every open transaction into a
        // retry.
        options.set_max_write_buffer_size_to_maintain(
            i64::try_from(config.write_buffer_mb.max(1) << 20).unwrap_or(i64::MAX),
        );
        // For the block cache's hit and miss counters, reported only when
        // the read cache is off; statistics cost every operation a little.
        if config.cache_entries == 0 {
            options.enable_statistics();
        }
        let cache = Cache::new_lru_cache(config.block_cache_mb.max(1) << 20).map_err(|e| {
            PersistenceError::Backend { provider: name.clone(), message: format!("cannot create the block cache: {e}") }
        })?;
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        table.set_bloom_filter(10.0, false);
        options.set_block_based_table_factory(&table);
        let cache = RecordCache::new(config.cache_entries).map(Arc::new);
        Ok(RocksStore { name, path, config, options, db: RwLock::new(None), cache })
    }

    /// Where the database lives.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn backend(&self, e: impl std::fmt::Display) -> PersistenceError {
        PersistenceError::Backend { provider: self.name.clone(), message: e.to_string() }
    }

    fn db(&self) -> Result<Arc<Db>> {
        self.db.read().clone().ok_or_else(|| PersistenceError::NotRunning(self.name.clone()))
    }

    fn write_options(&self) -> WriteOptions {
        let mut w = WriteOptions::default();
        w.set_sync(self.config.sync_writes);
        w
    }

    fn invalidate(&self, ops: &[WriteOp]) {
        if let Some(c) = &self.cache {
            let keys: Vec<RecordKey> = ops.iter().map(WriteOp::key).collect();
            c.invalidate(&keys);
        }
    }

    fn ticker(&self, name: &str) -> u64 {
        let Some(stats) = self.options.get_statistics() else { return 0 };
        stats
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().strip_prefix("COUNT :")?.trim().parse().ok())
            .unwrap_or(0)
    }
}

fn batch_of(db: &Db, ops: &[WriteOp]) -> Result<WriteBatchWithTransaction<true>> {
    let mut batch = WriteBatchWithTransaction::<true>::default();
    for op in ops {
        match op {
            WriteOp::Put(r) => {
                let key = r.key();
                batch.put_cf(cf(db, table_of(&key))?, encode_key(&key), encode_value(r)?);
            }
            WriteOp::Delete(k) => batch.delete_cf(cf(db, table_of(k))?, encode_key(k)),
        }
    }
    Ok(batch)
}

fn cf<'a>(db: &'a Db, name: &str) -> Result<&'a rocksdb::ColumnFamily> {
    db.cf_handle(name).ok_or_else(|| PersistenceError::Corrupt(format!("column family {name} is missing")))
}

impl RecordStore for RocksStore {
    const BLOCKING: bool = true;

    fn kind(&self) -> ProviderKind {
        ProviderKind::RocksDB
    }

    fn open(&self) -> Result<()> {
        let mut slot = self.db.write();
        if slot.is_some() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.path).map_err(|source| PersistenceError::Io {
            context: format!("cannot create {}", self.path.display()),
            source,
        })?;
        let cfs = [CF_LEASES, CF_NODES].map(|n| ColumnFamilyDescriptor::new(n, self.options.clone()));
        let db = Db::open_cf_descriptors(&self.options, &self.path, cfs)
            .map_err(|e| self.backend(format!("cannot open {}: {e}", self.path.display())))?;
        *slot = Some(Arc::new(db));
        Ok(())
    }

    fn close(&self) -> Result<()> {
        let Some(db) = self.db.write().take() else { return Ok(()) };
        if let Some(c) = &self.cache {
            c.clear();
        }
        // Make the WAL durable even when writes skip fsync; the database
        // itself closes when the last reference goes.
        db.flush_wal(true).map_err(|e| self.backend(format!("cannot sync the WAL: {e}")))?;
        Ok(())
    }

    fn health(&self) -> ProviderHealth {
        let Ok(db) = self.db() else { return ProviderHealth::Unhealthy(format!("{} is closed", self.name)) };
        let int = |p: &std::ffi::CStr| db.property_int_value(p).ok().flatten().unwrap_or(0);
        let errors = int(rocksdb::properties::BACKGROUND_ERRORS);
        if errors > 0 {
            return ProviderHealth::Unhealthy(format!("{errors} background errors; writes may be refused"));
        }
        if int(rocksdb::properties::IS_WRITE_STOPPED) > 0 {
            return ProviderHealth::Degraded("writes are stalled behind compaction".into());
        }
        ProviderHealth::Healthy
    }

    fn get(&self, key: &RecordKey) -> Result<Option<Record>> {
        let db = self.db()?;
        let name = table_of(key);
        let ticket = self.cache.as_ref().map(|c| c.ticket());
        let value = db.get_pinned_cf(cf(&db, name)?, encode_key(key)).map_err(|e| self.backend(e))?;
        let record = value.map(|v| decode(name, &v)).transpose()?;
        if let (Some(cache), Some(ticket)) = (&self.cache, ticket) {
            cache.fill(ticket, key.clone(), record.clone());
        }
        Ok(record)
    }

    fn scan(&self, table: Table) -> Result<Vec<Record>> {
        let db = self.db()?;
        let name = match table {
            Table::Leases => CF_LEASES,
            Table::Nodes => CF_NODES,
        };
        let mut out = Vec::new();
        for item in db.iterator_cf(cf(&db, name)?, IteratorMode::Start) {
            let (_, v) = item.map_err(|e| self.backend(e))?;
            out.push(decode(name, &v)?);
        }
        Ok(out)
    }

    fn write(&self, ops: Vec<WriteOp>) -> Result<()> {
        let db = self.db()?;
        let batch = batch_of(&db, &ops)?;
        db.write_opt(batch, &self.write_options()).map_err(|e| self.backend(e))?;
        self.invalidate(&ops);
        Ok(())
    }

    fn get_nonblocking(&self, key: &RecordKey) -> Option<Result<Option<Record>>> {
        self.cache.as_ref()?.get(key).map(Ok)
    }

    fn write_nonblocking(&self, ops: &[WriteOp]) -> Option<Result<()>> {
        // Encoding a bulk write (a composite's full copy, say) would hold
        // the async worker: only small batches are written here.
        if self.config.sync_writes || ops.len() > INLINE_WRITE_MAX_OPS {
            return None;
        }
        let db = match self.db() {
            Ok(db) => db,
            Err(e) => return Some(Err(e)),
        };
        let batch = match batch_of(&db, ops) {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let mut options = self.write_options();
        // Refuse rather than wait out a write stall; the caller then
        // writes from a blocking thread.
        options.set_no_slowdown(true);
        match db.write_opt(batch, &options) {
            Ok(()) => {
                self.invalidate(ops);
                Some(Ok(()))
            }
            Err(e) if e.kind() == ErrorKind::Incomplete => None,
            Err(e) => Some(Err(self.backend(e))),
        }
    }

    fn begin(&self) -> Result<Box<dyn StoreTx>> {
        let db = self.db()?;
        let write_options = self.write_options();
        let mut tx_options = OptimisticTransactionOptions::default();
        // Validate against the state when the transaction began, not when
        // each key was first touched: a key written by someone else after
        // the start conflicts even if this transaction touched it later.
        tx_options.set_snapshot(true);
        let txn = OwnedTxn::new(db, |db| Some(db.transaction_opt(&write_options, &tx_options)));
        Ok(Box::new(RocksTx { name: self.name.clone(), txn, cache: self.cache.clone(), written: Vec::new() }))
    }

    /// The read cache's figures; RocksDB's block cache's when it is off.
    fn cache_stats(&self) -> Option<(u64, u64)> {
        match &self.cache {
            Some(c) => Some(c.stats()),
            None => Some((self.ticker("rocksdb.block.cache.hit"), self.ticker("rocksdb.block.cache.miss"))),
        }
    }
}

struct RocksTx {
    name: String,
    txn: OwnedTxn,
    cache: Option<Arc<RecordCache>>,
    written: Vec<RecordKey>,
}

fn ended() -> PersistenceError {
    PersistenceError::Conflict("the transaction has already ended".into())
}

impl RocksTx {
    fn failed(&self, e: rocksdb::Error) -> PersistenceError {
        match e.kind() {
            ErrorKind::Busy | ErrorKind::TryAgain => PersistenceError::Conflict(e.to_string()),
            _ => PersistenceError::Backend { provider: self.name.clone(), message: e.to_string() },
        }
    }
}

impl StoreTx for RocksTx {
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>> {
        let name = table_of(key);
        let value = self.txn.with_dependent(|db, txn| -> Result<Option<Vec<u8>>> {
            let txn = txn.as_ref().ok_or_else(ended)?;
            txn.get_for_update_cf(cf(db, name)?, encode_key(key), true).map_err(|e| self.failed(e))
        })?;
        value.map(|v| decode(name, &v)).transpose()
    }

    fn write(&mut self, op: WriteOp) -> Result<()> {
        self.written.push(op.key());
        let name = self.name.clone();
        let fail = |e: rocksdb::Error| PersistenceError::Backend { provider: name.clone(), message: e.to_string() };
        self.txn.with_dependent(|db, txn| {
            let txn = txn.as_ref().ok_or_else(ended)?;
            match &op {
                WriteOp::Put(r) => {
                    let key = r.key();
                    txn.put_cf(cf(db, table_of(&key))?, encode_key(&key), encode_value(r)?).map_err(fail)
                }
                WriteOp::Delete(k) => txn.delete_cf(cf(db, table_of(k))?, encode_key(k)).map_err(fail),
            }
        })
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let result = self.txn.with_dependent_mut(|_, txn| txn.take().map(|t| t.commit()));
        match result {
            Some(Ok(())) => {
                if let Some(c) = &self.cache {
                    c.invalidate(&self.written);
                }
                Ok(())
            }
            Some(Err(e)) => Err(self.failed(e)),
            None => Err(ended()),
        }
    }

    fn rollback(self: Box<Self>) -> Result<()> {
        // Dropping an uncommitted RocksDB transaction discards its writes.
        self.txn.with_dependent(|_, txn| txn.as_ref().map_or(Ok(()), |t| t.rollback())).map_err(|e| self.failed(e))
    }
}
