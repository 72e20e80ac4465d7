//! Key-value engine traits.
//!
//! These are the only things the rest of Orbit knows about an engine. They
//! name no RocksDB type, so the in-memory engine and RocksDB pass one
//! conformance suite, and a future engine only has to implement them.
//!
//! Calls are blocking: callers on an async runtime run them on the blocking
//! pool (see [`crate::blocking`]).

mod batch;
mod memory;
mod metered;
mod range;
mod rocks;

use std::fmt::Debug;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

pub use batch::{WriteBatch, WriteOp};
pub use memory::MemoryEngine;
pub use metered::MeteredEngine;
pub use range::{Direction, KeyRange, prefix_successor};
pub use rocks::{Compression, RocksEngine, RocksOptions, RocksResources};

use crate::error::Result;

/// A visitor for [`KvRead::scan`]: return `ControlFlow::Break(())` to stop.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> ControlFlow<()> + 'a;

/// Point and ordered reads. Implemented by engines (latest state) and by
/// their snapshots (state frozen when the snapshot was taken).
pub trait KvRead: Send + Sync {
    /// The value stored under `key` in column family `cf`.
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Visits the entries of `cf` within `range`, in key order or reverse key
    /// order, until the visitor breaks or the range ends.
    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()>;
}

/// A consistent, read-only view of an engine at one moment.
pub trait KvSnapshot: KvRead + Debug {
    /// [`KvRead::get`] from memory only (memtables, block cache): fails with
    /// [`crate::StorageError::Uncached`] where the read would wait on disk.
    /// An async worker may call it; the caller retries a failure on the
    /// blocking pool. Engines that never wait on I/O just read.
    fn get_cached(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// [`KvRead::scan`] from memory only, as [`KvSnapshot::get_cached`]. It
    /// also fails with `Uncached` after skipping many deleted or overwritten
    /// entries, so that a scan over a graveyard does not hold a worker.
    /// Entries visited before a failure were real: the caller discards them.
    fn scan_cached(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()>;
}

/// How healthy an engine considers itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineHealth {
    /// A background error (failed flush or compaction) put the engine in read-only mode.
    pub background_error: Option<String>,
    /// Writes are currently stalled or slowed to let compaction catch up.
    pub write_stall: bool,
}

/// Sizes an engine reports about itself, all approximate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Approximate number of live keys across column families.
    pub approximate_keys: u64,
    /// Bytes of live data in table files.
    pub live_data_bytes: u64,
    /// Bytes held in memtables.
    pub memtable_bytes: u64,
}

/// A key-value engine with column families.
pub trait KvEngine: KvRead + Debug {
    /// Applies every operation of `batch` atomically, across column families.
    ///
    /// On return the write is visible to readers and survives the process
    /// being killed; it survives power loss only after [`KvEngine::sync_wal`].
    fn write(&self, batch: &WriteBatch) -> Result<()>;

    /// A consistent read view of the current state.
    fn snapshot(&self) -> Arc<dyn KvSnapshot>;

    /// Makes every write that has returned durable on stable storage.
    fn sync_wal(&self) -> Result<()>;

    /// Persists in-memory buffers (memtables) to table files, so that reopening
    /// needs no log replay.
    fn flush(&self) -> Result<()>;

    /// Compacts `range` of `cf`, reclaiming space from deleted and overwritten keys.
    fn compact(&self, cf: &str, range: &KeyRange) -> Result<()>;

    /// Writes a consistent copy of the whole store into `dest`, which must not
    /// exist yet. The copy opens as a store of its own.
    fn checkpoint(&self, dest: &Path) -> Result<()>;

    /// The column families this engine holds, `default` included.
    fn column_families(&self) -> Vec<String>;

    /// Whether writes survive a restart of the process.
    fn is_persistent(&self) -> bool;

    /// Engine-level health signals.
    fn health(&self) -> EngineHealth;

    /// Approximate sizes.
    fn stats(&self) -> EngineStats;
}
