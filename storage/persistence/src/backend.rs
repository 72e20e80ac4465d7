//! The small backend trait providers are built on. A backend stores
//! [`Record`]s by key, writes batches atomically and runs optimistic
//! transactions; [`StoreProvider`](crate::StoreProvider) turns any backend
//! into a full [`Provider`](crate::Provider) (expiry, bulk operations,
//! read-modify-write, metrics), so every backend gets the same semantics
//! and passes the same conformance suite.

use std::fmt;
use std::time::Duration;

use crate::error::Result;
use crate::model::{Record, RecordKey, Table, WriteOp};
use crate::provider::{ProviderHealth, ProviderKind};

/// Where records live.
pub trait RecordStore: Send + Sync + fmt::Debug + 'static {
    /// Whether calls wait on I/O, so that they must run off the async
    /// workers.
    const BLOCKING: bool;
    /// The provider type this backend implements.
    fn kind(&self) -> ProviderKind;
    /// Opens the backend (restoring what it keeps on disk).
    fn open(&self) -> Result<()>;
    /// Makes everything durable and releases the backend.
    fn close(&self) -> Result<()>;
    /// The backend's condition.
    fn health(&self) -> ProviderHealth;
    /// One record.
    fn get(&self, key: &RecordKey) -> Result<Option<Record>>;
    /// Every record of a table.
    fn scan(&self, table: Table) -> Result<Vec<Record>>;
    /// Applies writes atomically.
    fn write(&self, ops: Vec<WriteOp>) -> Result<()>;
    /// Starts an optimistic transaction.
    fn begin(&self) -> Result<Box<dyn StoreTx>>;
    /// [`get`](Self::get) when it can answer without waiting on I/O (from
    /// memory or cache); `None` when it would have to wait. Lets a blocking
    /// backend serve hot reads on the caller's thread, skipping the
    /// hand-off to a blocking thread.
    fn get_nonblocking(&self, _key: &RecordKey) -> Option<Result<Option<Record>>> {
        None
    }
    /// [`write`](Self::write) when it can complete without waiting on I/O
    /// (no fsync, no write stall); `None`, with nothing written, when it
    /// would have to wait.
    fn write_nonblocking(&self, _ops: &[WriteOp]) -> Option<Result<()>> {
        None
    }
    /// How often [`tick`](Self::tick) wants to run, if at all.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }
    /// Periodic upkeep, such as writing a backup.
    fn tick(&self) -> Result<()> {
        Ok(())
    }
    /// Cache hits and misses, for backends with a cache.
    fn cache_stats(&self) -> Option<(u64, u64)> {
        None
    }
}

/// An open optimistic transaction of a [`RecordStore`].
pub trait StoreTx: Send {
    /// Reads a key as the transaction sees it, and tracks it so that the
    /// commit fails if another writer changes it.
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>>;
    /// Buffers a write; nobody else sees it before the commit.
    fn write(&mut self, op: WriteOp) -> Result<()>;
    /// Applies the buffered writes atomically, or fails with
    /// [`PersistenceError::Conflict`](crate::PersistenceError::Conflict).
    fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the buffered writes.
    fn rollback(self: Box<Self>) -> Result<()>;
}
