//! Orbit's storage core.
//!
//! Layers, bottom up:
//! - [`kv`]: small key-value engine traits, free of RocksDB types, with a
//!   RocksDB engine and an in-memory engine that pass one conformance suite.
//! - [`durability`]: the sync policy, with group commit.
//! - [`txn`]: optimistic snapshot-isolation transactions over any engine.
//! - [`table`]: [`TableStorage`] and [`TieredTableStorage`], tables with
//!   order-preserving primary keys and a bounded hot tier.
//! - [`Store`]: one protocol's store with all of the above wired together,
//!   at `<data-dir>/<protocol>/rocksdb`.

pub mod codec;
pub mod durability;
mod error;
mod health;
pub mod kv;
pub mod metrics;
mod protocol;
mod store;
pub mod table;
pub mod txn;
mod value;

pub use durability::SyncPolicy;
pub use error::{OpenError, Result, StorageError};
pub use health::{Health, HealthState};
pub use kv::{Compression, RocksResources};
pub use metrics::StoreMetrics;
pub use protocol::{Protocol, UnknownProtocol, cf};
pub use store::{Store, StoreOptions};
pub use table::{TableStorage, TieredTableStorage, Transaction};
pub use value::{DataType, Interval, Value};
