//! Persistence of actor (addressable) leases and cluster nodes, behind
//! providers chosen by configuration.
//!
//! - [`PersistenceProvider`], [`AddressableDirectoryProvider`] and
//!   [`ClusterNodeProvider`]: the traits every provider implements.
//! - [`RecordStore`]: the small backend trait the local providers are
//!   built on; [`StoreProvider`] turns one into a full provider, so that
//!   expiry, bulk operations and read-modify-write behave the same on
//!   every backend.
//! - Providers: memory ([`MemoryStore`], with optional disk backup),
//!   RocksDB ([`RocksStore`], with RocksDB's optimistic transactions) and
//!   [`CompositeProvider`] (primary, backup, failover).
//! - [`PersistenceProviderConfig`] and [`PersistenceProviderRegistry`]:
//!   configuration (file, builder, environment) and look-up by name.

mod backend;
mod backup;
mod composite;
pub mod config;
mod error;
mod memory;
pub mod metrics;
mod model;
mod periodic;
mod provider;
mod record_cache;
mod registry;
mod rocks;
mod store_provider;

pub use backend::{RecordStore, StoreTx};
pub use composite::CompositeProvider;
pub use config::{
    BackupCompression, CompositeConfig, DiskBackupConfig, MemoryConfig, PersistenceProviderConfig, ProviderConfig,
    RocksDbConfig,
};
pub use error::{PersistenceError, Result};
pub use memory::MemoryStore;
pub use metrics::{OpStats, ProviderMetrics};
pub use model::{
    AddressableLease, AddressableReference, NodeEndpoint, NodeId, NodeInfo, NodeStatus, Record, RecordKey, Table,
    WriteOp,
};
pub use provider::{
    AddressableDirectoryProvider, ClusterNodeProvider, PersistenceProvider, Provider, ProviderHealth, ProviderKind,
    TransactionId,
};
pub use registry::PersistenceProviderRegistry;
pub use rocks::{CF_LEASES, CF_NODES, RocksStore};
pub use store_provider::StoreProvider;

/// A memory provider.
pub type MemoryProvider = StoreProvider<MemoryStore>;
/// A RocksDB provider.
pub type RocksDbProvider = StoreProvider<RocksStore>;
