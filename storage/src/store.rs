//! A protocol's store: engine, syncer, transactions and tables, wired once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::durability::{Durability, SyncPolicy};
use crate::error::{OpenError, Result};
use crate::health::{Health, HealthState};
use crate::kv::{Compression, KvEngine, MemoryEngine, MeteredEngine, RocksEngine, RocksOptions, RocksResources};
use crate::metrics::{StoreMetrics, StoreStats};
use crate::protocol::Protocol;
use crate::table::TieredTableStorage;
use crate::txn::TxnManager;

/// How a store is tuned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// When writes are fsynced.
    pub sync: SyncPolicy,
    /// Table-file compression.
    pub compression: Compression,
    /// Flush and compaction threads.
    pub max_background_jobs: i32,
    /// Size of one memtable.
    pub write_buffer_size: usize,
    /// Rows the hot tier of the store's tables holds (0 disables it).
    pub hot_tier_rows: usize,
    /// Bytes the hot tier may hold, rows and bookkeeping (0 disables it).
    pub hot_tier_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync: SyncPolicy::Commit,
            compression: Compression::Lz4,
            max_background_jobs: 2,
            write_buffer_size: 32 << 20,
            hot_tier_rows: 1_000_000,
            hot_tier_bytes: 256 << 20,
        }
    }
}

/// One protocol's store.
#[derive(Debug)]
pub struct Store {
    protocol: Protocol,
    path: Option<PathBuf>,
    engine: Arc<dyn KvEngine>,
    stats: Arc<StoreStats>,
    durability: Arc<Durability>,
    txns: Arc<TxnManager>,
    tables: TieredTableStorage,
    closed: AtomicBool,
}

impl Store {
    /// Opens (creating when missing) `protocol`'s RocksDB store under
    /// `data_dir`, with its column families.
    pub fn open(
        protocol: Protocol,
        data_dir: &Path,
        options: &StoreOptions,
        resources: &RocksResources,
    ) -> Result<Self, OpenError> {
        let path = protocol.store_path(data_dir);
        let rocks = RocksOptions {
            column_families: protocol.column_families(),
            resources: resources.clone(),
            compression: options.compression,
            max_background_jobs: options.max_background_jobs,
            write_buffer_size: options.write_buffer_size,
            // Every write's sync comes from the syncer (see `durability`).
            buffer_wal: options.sync == SyncPolicy::Commit,
        };
        let engine = RocksEngine::open(&path, &rocks)?;
        Self::with_engine(protocol, Arc::new(engine), Some(path), options)
    }

    /// A store for `protocol` kept in memory only.
    pub fn in_memory(protocol: Protocol, options: &StoreOptions) -> Result<Self, OpenError> {
        let engine = MemoryEngine::new(&protocol.column_families());
        Self::with_engine(protocol, Arc::new(engine), None, options)
    }

    /// Wires a store around an already open engine.
    pub fn with_engine(
        protocol: Protocol,
        engine: Arc<dyn KvEngine>,
        path: Option<PathBuf>,
        options: &StoreOptions,
    ) -> Result<Self, OpenError> {
        let stats = Arc::new(StoreStats::default());
        let engine: Arc<dyn KvEngine> = Arc::new(MeteredEngine::new(engine, stats.clone()));
        let durability =
            Durability::start(engine.clone(), options.sync, protocol.name()).map_err(|e| OpenError::Engine {
                path: path.clone().unwrap_or_default(),
                detail: format!("cannot start the sync thread: {e}"),
            })?;
        let durability = Arc::new(durability);
        let txns = TxnManager::new(engine.clone(), durability.clone());
        let tables =
            TieredTableStorage::open(txns.clone(), stats.clone(), options.hot_tier_rows, options.hot_tier_bytes)
                .map_err(|e| OpenError::Corrupt {
                    path: path.clone().unwrap_or_default(),
                    detail: format!("table catalog: {e}"),
                })?;
        Ok(Store { protocol, path, engine, stats, durability, txns, tables, closed: AtomicBool::new(false) })
    }

    /// The protocol that owns the store.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The store's directory; `None` for a memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The (metered) engine, for protocols that lay out their own keys.
    pub fn engine(&self) -> &Arc<dyn KvEngine> {
        &self.engine
    }

    /// Transactions over the engine.
    pub fn txns(&self) -> &Arc<TxnManager> {
        &self.txns
    }

    /// The store's syncer.
    pub fn durability(&self) -> &Arc<Durability> {
        &self.durability
    }

    /// The store's tables.
    pub fn tables(&self) -> &TieredTableStorage {
        &self.tables
    }

    /// Live counters.
    pub fn stats(&self) -> &Arc<StoreStats> {
        &self.stats
    }

    /// How the store is doing, with the reason when not healthy.
    pub fn health(&self) -> Health {
        if self.closed.load(Ordering::Acquire) {
            return Health::new(HealthState::Unhealthy, "closed");
        }
        if let Err(e) = self.durability.check_writable() {
            return Health::new(HealthState::Unhealthy, e.to_string());
        }
        let engine = self.engine.health();
        if let Some(e) = engine.background_error {
            return Health::new(HealthState::Unhealthy, e);
        }
        if engine.write_stall {
            return Health::new(HealthState::Degraded, "writes are stalled while compaction catches up");
        }
        Health::healthy()
    }

    /// Counters, latencies and sizes. Reads engine properties: call it off
    /// the async workers.
    pub fn metrics(&self) -> StoreMetrics {
        self.tables.metrics_blocking()
    }

    /// Syncs everything written and flushes memtables to table files, so the
    /// next open replays no log. Later writes fail with `Closed`; reads
    /// still work, and health reports the store closed.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let synced = self.durability.close();
        let flushed = self.engine.flush();
        synced.and(flushed)
    }
}
