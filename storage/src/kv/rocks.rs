//! The RocksDB engine.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, DBRecoveryMode, ErrorKind, Options,
    ReadOptions, WriteOptions,
};

use super::{
    Direction, EngineHealth, EngineStats, KeyRange, KvEngine, KvRead, KvSnapshot, Visitor, WriteBatch, WriteOp,
};
use crate::error::{OpenError, Result, StorageError};
use crate::protocol::cf;

/// Block compression for table files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4 on every level, Zstandard on the bottom level where most data sits.
    #[default]
    Lz4,
    /// Zstandard on every level.
    Zstd,
}

/// Memory budgets of the RocksDB instances in a process.
///
/// One block cache is shared by every instance, so memory follows the load
/// whichever protocol it hits. Memtables get a total budget split evenly
/// between the instances (RocksDB 7.8's C API cannot share one write buffer
/// manager), each instance stalling writers for a flush when over its share.
#[derive(Clone)]
pub struct RocksResources {
    cache: Cache,
    cache_bytes: usize,
    write_buffer_bytes: usize,
}

impl std::fmt::Debug for RocksResources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksResources")
            .field("cache_bytes", &self.cache_bytes)
            .field("write_buffer_bytes", &self.write_buffer_bytes)
            .finish()
    }
}

impl RocksResources {
    /// A block cache of `cache_bytes`, and `write_buffer_bytes` of memtables
    /// for each instance.
    pub fn new(cache_bytes: usize, write_buffer_bytes: usize) -> Result<Self, OpenError> {
        let cache = Cache::new_lru_cache(cache_bytes.max(1 << 20)).map_err(|e| OpenError::Engine {
            path: PathBuf::new(),
            detail: format!("cannot create the block cache: {}", e.into_string()),
        })?;
        Ok(RocksResources { cache, cache_bytes, write_buffer_bytes: write_buffer_bytes.max(1 << 20) })
    }

    /// Bytes currently held in the shared block cache.
    pub fn cache_usage(&self) -> usize {
        self.cache.get_usage()
    }
}

/// Tuning for one RocksDB instance.
#[derive(Debug, Clone)]
pub struct RocksOptions {
    /// Column families the caller needs; they are created when missing.
    pub column_families: Vec<&'static str>,
    /// Shared memory budgets.
    pub resources: RocksResources,
    /// Table-file compression.
    pub compression: Compression,
    /// Flush and compaction threads for this instance.
    pub max_background_jobs: i32,
    /// Size of one memtable before it is flushed.
    pub write_buffer_size: usize,
    /// Keep writes' log records in RocksDB's buffer until [`KvEngine::sync_wal`]
    /// writes and syncs them, instead of writing them to the file on each
    /// write. Only for a store whose every write is followed by that sync
    /// before it is acknowledged (the `commit` sync policy): a crash of the
    /// process loses what the buffer holds. In exchange a commit makes no
    /// system call while it holds the store's commit lock.
    pub buffer_wal: bool,
}

impl RocksOptions {
    /// Options with the given families and resources and defaults otherwise.
    pub fn new(column_families: Vec<&'static str>, resources: RocksResources) -> Self {
        RocksOptions {
            column_families,
            resources,
            compression: Compression::default(),
            max_background_jobs: 2,
            write_buffer_size: 32 << 20,
            buffer_wal: false,
        }
    }

    fn db_options(&self) -> Options {
        let mut o = Options::default();
        o.create_if_missing(true);
        o.create_missing_column_families(true);
        o.set_max_background_jobs(self.max_background_jobs.max(1));
        o.set_bytes_per_sync(1 << 20);
        o.set_db_write_buffer_size(self.resources.write_buffer_bytes);
        // Replay the log up to the first torn record after a crash; anything
        // after it was never acknowledged as durable.
        o.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
        o.set_keep_log_file_num(4);
        o.set_max_log_file_size(16 << 20);
        o.set_manual_wal_flush(self.buffer_wal);
        o
    }

    fn cf_options(&self) -> Options {
        let mut o = Options::default();
        o.set_write_buffer_size(self.write_buffer_size.min(self.resources.write_buffer_bytes));
        o.set_level_compaction_dynamic_level_bytes(true);
        match self.compression {
            Compression::None => o.set_compression_type(DBCompressionType::None),
            Compression::Lz4 => {
                o.set_compression_type(DBCompressionType::Lz4);
                o.set_bottommost_compression_type(DBCompressionType::Zstd);
            }
            Compression::Zstd => o.set_compression_type(DBCompressionType::Zstd),
        }
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&self.resources.cache);
        table.set_bloom_filter(10.0, false);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        o.set_block_based_table_factory(&table);
        o
    }
}

/// A RocksDB instance.
pub struct RocksEngine {
    db: Arc<DB>,
    path: PathBuf,
    /// Families are fixed once open, so the list is taken then.
    families: Vec<String>,
    write_opts: WriteOptions,
}

impl std::fmt::Debug for RocksEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksEngine").field("path", &self.path).finish()
    }
}

impl RocksEngine {
    /// Opens (creating if needed) the instance at `path`.
    ///
    /// Every column family already on disk is opened alongside the requested
    /// ones: RocksDB refuses to open otherwise, and dropping data a newer or
    /// older version wrote is never this function's call. Directories are
    /// created, never removed.
    pub fn open(path: &Path, options: &RocksOptions) -> Result<Self, OpenError> {
        std::fs::create_dir_all(path).map_err(|source| OpenError::Io { path: path.to_path_buf(), source })?;
        let db_opts = options.db_options();
        let mut names: Vec<String> = match DB::list_cf(&db_opts, path) {
            Ok(existing) => existing,
            // A new directory has no families yet: that is the only expected failure.
            Err(_) if !path.join("CURRENT").exists() => Vec::new(),
            Err(e) => return Err(open_error(path, e)),
        };
        for wanted in std::iter::once(cf::DEFAULT).chain(options.column_families.iter().copied()) {
            if !names.iter().any(|n| n == wanted) {
                names.push(wanted.to_string());
            }
        }
        let descriptors = names.iter().map(|name| ColumnFamilyDescriptor::new(name.as_str(), options.cf_options()));
        let db = DB::open_cf_descriptors(&db_opts, path, descriptors).map_err(|e| open_error(path, e))?;
        let mut write_opts = WriteOptions::default();
        // Durability is Orbit's group-commit syncer's job (see `durability`),
        // so that many writers share one fsync.
        write_opts.set_sync(false);
        Ok(RocksEngine { db: Arc::new(db), path: path.to_path_buf(), families: names, write_opts })
    }

    /// The column families of the store at `path`, read from its manifest
    /// without opening it (so it works while another process has it open).
    pub fn list_column_families(path: &Path) -> Result<Vec<String>> {
        DB::list_cf(&Options::default(), path).map_err(StorageError::from)
    }

    /// The directory of this instance.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn handle(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db.cf_handle(name).ok_or_else(|| StorageError::UnknownColumnFamily(name.to_string()))
    }
}

fn open_error(path: &Path, e: rocksdb::Error) -> OpenError {
    let detail = e.clone().into_string();
    if e.kind() == ErrorKind::IOError && detail.to_ascii_lowercase().contains("lock") {
        OpenError::Locked { path: path.to_path_buf(), detail }
    } else if e.kind() == ErrorKind::Corruption {
        OpenError::Corrupt { path: path.to_path_buf(), detail }
    } else {
        OpenError::Engine { path: path.to_path_buf(), detail }
    }
}

/// Deleted or overwritten entries a scan confined to memory may step over
/// before it gives up (each costs a key comparison and no more).
const CACHED_SCAN_MAX_SKIPPED: u64 = 4096;

/// Whether a read may wait on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Any,
    /// Memtables and block cache only; RocksDB reports `Incomplete` instead.
    Memory,
}

/// Confines reads through `ro` to memtables and the block cache: RocksDB
/// answers `Incomplete` where it would read a file.
fn set_memory_tier(ro: &mut ReadOptions) {
    use serde::de::{Deserialize, IntoDeserializer, value::Error};
    // rocksdb 0.20.1 does not export its `ReadTier` enum, only deserializes
    // it. The crate is pinned, so the name holds; were it ever refused,
    // reads would keep the default tier (correct, but free to wait on disk)
    // and the conformance test `cached_reads_answer_from_memory_or_refuse`
    // would fail.
    if let Ok(tier) = Deserialize::deserialize(IntoDeserializer::<Error>::into_deserializer("BlockCache")) {
        ro.set_read_tier(tier);
    }
}

/// A failed read confined to memory: `Incomplete` means it needed the disk.
fn memory_read_error(e: rocksdb::Error) -> StorageError {
    if e.kind() == ErrorKind::Incomplete { StorageError::Uncached } else { e.into() }
}

/// Runs a bounded scan on `db`, reading through `snapshot` when given.
fn scan_db(
    db: &DB,
    snapshot: Option<&rocksdb::Snapshot<'_>>,
    tier: Tier,
    cf: &str,
    range: &KeyRange,
    direction: Direction,
    visit: &mut Visitor<'_>,
) -> Result<()> {
    let handle = db.cf_handle(cf).ok_or_else(|| StorageError::UnknownColumnFamily(cf.to_string()))?;
    if range.is_empty() {
        return Ok(());
    }
    let (lo, hi) = range.as_half_open();
    let mut ro = ReadOptions::default();
    if let Some(snap) = snapshot {
        ro.set_snapshot(snap);
    }
    if tier == Tier::Memory {
        set_memory_tier(&mut ro);
        ro.set_max_skippable_internal_keys(CACHED_SCAN_MAX_SKIPPED);
    }
    if let Some(lo) = &lo {
        ro.set_iterate_lower_bound(lo.clone());
    }
    if let Some(hi) = hi {
        ro.set_iterate_upper_bound(hi);
    }
    let skip_start = match &range.start {
        std::ops::Bound::Excluded(s) => Some(s.as_slice()),
        _ => None,
    };
    let mut it = db.raw_iterator_cf_opt(handle, ro);
    match direction {
        Direction::Forward => it.seek_to_first(),
        Direction::Reverse => it.seek_to_last(),
    }
    while it.valid() {
        let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
        if skip_start != Some(k) && visit(k, v) == ControlFlow::Break(()) {
            return Ok(());
        }
        match direction {
            Direction::Forward => it.next(),
            Direction::Reverse => it.prev(),
        }
    }
    match tier {
        Tier::Any => it.status().map_err(StorageError::from),
        Tier::Memory => it.status().map_err(memory_read_error),
    }
}

impl KvRead for RocksEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_pinned_cf(self.handle(cf)?, key)?.map(|v| v.to_vec()))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        scan_db(&self.db, None, Tier::Any, cf, range, direction, visit)
    }
}

impl KvEngine for RocksEngine {
    fn write(&self, batch: &WriteBatch) -> Result<()> {
        let mut wb = rocksdb::WriteBatch::default();
        for op in batch.ops() {
            let handle = self.handle(op.cf())?;
            match op {
                WriteOp::Put { key, value, .. } => wb.put_cf(handle, key, value),
                WriteOp::Delete { key, .. } => wb.delete_cf(handle, key),
                WriteOp::DeleteRange { start, end, .. } => wb.delete_range_cf(handle, start, end),
            }
        }
        self.db.write_opt(wb, &self.write_opts).map_err(StorageError::from)
    }

    fn snapshot(&self) -> Arc<dyn KvSnapshot> {
        let cell = SnapshotCell::new(self.db.clone(), |db| db.snapshot());
        // Built once per snapshot, not per read: creating and destroying
        // read options costs a C++ allocation, as much as a memtable hit.
        let mut read_opts = ReadOptions::default();
        let mut memory_opts = ReadOptions::default();
        set_memory_tier(&mut memory_opts);
        cell.with_dependent(|_, snap| {
            read_opts.set_snapshot(snap);
            memory_opts.set_snapshot(snap);
        });
        Arc::new(RocksSnapshot { cell, read_opts, memory_opts })
    }

    fn sync_wal(&self) -> Result<()> {
        self.db.flush_wal(true).map_err(StorageError::from)
    }

    fn flush(&self) -> Result<()> {
        for handle in self.families.iter().filter_map(|n| self.db.cf_handle(n)) {
            self.db.flush_cf(handle)?;
        }
        self.sync_wal()
    }

    fn compact(&self, cf: &str, range: &KeyRange) -> Result<()> {
        let (lo, hi) = range.as_half_open();
        self.db.compact_range_cf(self.handle(cf)?, lo, hi);
        Ok(())
    }

    fn checkpoint(&self, dest: &Path) -> Result<()> {
        // A buffered log's tail must be in the file for the copy to hold it.
        self.db.flush_wal(false)?;
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        cp.create_checkpoint(dest).map_err(StorageError::from)
    }

    fn column_families(&self) -> Vec<String> {
        self.families.clone()
    }

    fn is_persistent(&self) -> bool {
        true
    }

    fn health(&self) -> EngineHealth {
        let int = |name: &std::ffi::CStr| self.db.property_int_value(name).ok().flatten().unwrap_or(0);
        let background_errors = int(rocksdb::properties::BACKGROUND_ERRORS);
        EngineHealth {
            background_error: (background_errors > 0)
                .then(|| format!("{background_errors} background flush/compaction error(s)")),
            write_stall: int(rocksdb::properties::IS_WRITE_STOPPED) > 0
                || int(rocksdb::properties::ACTUAL_DELAYED_WRITE_RATE) > 0,
        }
    }

    fn stats(&self) -> EngineStats {
        let mut stats = EngineStats::default();
        for name in &self.families {
            let Some(handle) = self.db.cf_handle(name) else { continue };
            let int = |p: &std::ffi::CStr| self.db.property_int_value_cf(handle, p).ok().flatten().unwrap_or(0);
            stats.approximate_keys += int(rocksdb::properties::ESTIMATE_NUM_KEYS);
            stats.live_data_bytes += int(rocksdb::properties::ESTIMATE_LIVE_DATA_SIZE);
            stats.memtable_bytes += int(rocksdb::properties::CUR_SIZE_ALL_MEM_TABLES);
        }
        stats
    }
}

type DbSnapshot<'a> = rocksdb::Snapshot<'a>;

self_cell::self_cell!(
    /// A RocksDB snapshot that owns a reference to its database, so it can
    /// outlive the call that took it (transactions hold one across awaits).
    struct SnapshotCell {
        owner: Arc<DB>,
        #[covariant]
        dependent: DbSnapshot,
    }
);

struct RocksSnapshot {
    /// Read options pointing at `cell`'s snapshot, which lives (at a fixed
    /// address, in the cell's allocation) as long as they do: declared
    /// first, so they are dropped first.
    read_opts: ReadOptions,
    /// The same, confined to memtables and the block cache.
    memory_opts: ReadOptions,
    cell: SnapshotCell,
}

impl std::fmt::Debug for RocksSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RocksSnapshot")
    }
}

impl KvRead for RocksSnapshot {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let db = self.cell.borrow_owner();
        let handle = db.cf_handle(cf).ok_or_else(|| StorageError::UnknownColumnFamily(cf.to_string()))?;
        Ok(db.get_pinned_cf_opt(handle, key, &self.read_opts)?.map(|v| v.to_vec()))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        self.cell.with_dependent(|db, snap| scan_db(db, Some(snap), Tier::Any, cf, range, direction, visit))
    }
}

impl KvSnapshot for RocksSnapshot {
    fn get_cached(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let db = self.cell.borrow_owner();
        let handle = db.cf_handle(cf).ok_or_else(|| StorageError::UnknownColumnFamily(cf.to_string()))?;
        Ok(db.get_pinned_cf_opt(handle, key, &self.memory_opts).map_err(memory_read_error)?.map(|v| v.to_vec()))
    }

    fn scan_cached(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        self.cell.with_dependent(|db, snap| scan_db(db, Some(snap), Tier::Memory, cf, range, direction, visit))
    }
}
