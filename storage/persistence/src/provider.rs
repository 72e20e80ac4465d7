//! The provider traits: lifecycle, health, metrics and transactions
//! ([`PersistenceProvider`]), addressable leases
//! ([`AddressableDirectoryProvider`]) and cluster nodes
//! ([`ClusterNodeProvider`]).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::metrics::ProviderMetrics;
use crate::model::{AddressableLease, AddressableReference, NodeId, NodeInfo, WriteOp};

/// Names a transaction begun on one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TransactionId(pub u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx-{}", self.0)
    }
}

/// A provider's condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason")]
pub enum ProviderHealth {
    /// Working normally.
    Healthy,
    /// Working, with the reason it is not quite healthy (near its
    /// capacity, or running on its backup).
    Degraded(String),
    /// Not working, and why.
    Unhealthy(String),
}

impl ProviderHealth {
    /// Whether the provider can serve requests (healthy or degraded).
    pub fn is_serving(&self) -> bool {
        !matches!(self, ProviderHealth::Unhealthy(_))
    }
}

/// Every provider type the persistence specification names. The names are
/// the configuration's `type` values; [`ProviderKind::backend_name`] gives
/// the `ORBIT_PERSISTENCE_BACKEND` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderKind {
    /// In-memory maps, with optional disk backup.
    Memory,
    /// Copy-on-write B+tree.
    CowBTree,
    /// Log-structured merge tree.
    LsmTree,
    /// RocksDB.
    RocksDB,
    /// Amazon S3 and S3-compatible stores.
    S3,
    /// Azure Blob Storage.
    Azure,
    /// Google Cloud Storage.
    GoogleCloud,
    /// etcd.
    Etcd,
    /// Redis.
    Redis,
    /// Kubernetes ConfigMaps and Secrets.
    Kubernetes,
    /// MinIO.
    MinIO,
    /// Flash-optimised local storage.
    Flash,
    /// A primary with a backup and failover.
    Composite,
}

impl ProviderKind {
    /// Every kind, in the specification's order.
    pub const ALL: [ProviderKind; 13] = [
        ProviderKind::Memory,
        ProviderKind::CowBTree,
        ProviderKind::LsmTree,
        ProviderKind::RocksDB,
        ProviderKind::S3,
        ProviderKind::Azure,
        ProviderKind::GoogleCloud,
        ProviderKind::Etcd,
        ProviderKind::Redis,
        ProviderKind::Kubernetes,
        ProviderKind::MinIO,
        ProviderKind::Flash,
        ProviderKind::Composite,
    ];

    /// The lower-case name `ORBIT_PERSISTENCE_BACKEND` and
    /// `[server] persistence_backend` use, e.g. `lsm_tree`.
    pub fn backend_name(self) -> &'static str {
        match self {
            ProviderKind::Memory => "memory",
            ProviderKind::CowBTree => "cow_btree",
            ProviderKind::LsmTree => "lsm_tree",
            ProviderKind::RocksDB => "rocksdb",
            ProviderKind::S3 => "s3",
            ProviderKind::Azure => "azure",
            ProviderKind::GoogleCloud => "gcp",
            ProviderKind::Etcd => "etcd",
            ProviderKind::Redis => "redis",
            ProviderKind::Kubernetes => "kubernetes",
            ProviderKind::MinIO => "minio",
            ProviderKind::Flash => "flash",
            ProviderKind::Composite => "composite",
        }
    }

    /// The kind a backend name stands for.
    pub fn from_backend_name(name: &str) -> Option<ProviderKind> {
        let name = name.trim().to_ascii_lowercase();
        ProviderKind::ALL.into_iter().find(|k| k.backend_name() == name)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.backend_name())
    }
}

/// Lifecycle, health, metrics and transactions, common to every provider.
///
/// Transactions are optimistic: writes made with
/// [`transaction_write`](Self::transaction_write) are invisible to everyone
/// else until [`commit_transaction`](Self::commit_transaction), which fails
/// with [`PersistenceError::Conflict`](crate::PersistenceError::Conflict)
/// when another writer changed a key the transaction read or wrote after it
/// began. [`rollback_transaction`](Self::rollback_transaction) discards them.
#[async_trait]
pub trait PersistenceProvider: Send + Sync + fmt::Debug {
    /// The name the registry knows the provider by.
    fn name(&self) -> &str;
    /// The provider's type.
    fn kind(&self) -> ProviderKind;
    /// Opens what the provider needs and starts its background work.
    async fn initialize(&self) -> Result<()>;
    /// Stops background work and makes everything written durable (for
    /// durable providers). Later calls fail with `NotRunning`.
    async fn shutdown(&self) -> Result<()>;
    /// The provider's condition now.
    async fn health_check(&self) -> ProviderHealth;
    /// Operation counts and latencies since start.
    fn metrics(&self) -> ProviderMetrics;
    /// Starts a transaction.
    async fn begin_transaction(&self) -> Result<TransactionId>;
    /// Buffers a write in a transaction.
    async fn transaction_write(&self, tx: TransactionId, op: WriteOp) -> Result<()>;
    /// Reads a lease as the transaction sees it (its own writes included),
    /// and makes the commit conflict if someone else changes it meanwhile.
    async fn transaction_get_lease(
        &self,
        tx: TransactionId,
        reference: &AddressableReference,
    ) -> Result<Option<AddressableLease>>;
    /// Reads a node as the transaction sees it; see
    /// [`transaction_get_lease`](Self::transaction_get_lease).
    async fn transaction_get_node(&self, tx: TransactionId, id: &NodeId) -> Result<Option<NodeInfo>>;
    /// Applies the transaction's writes atomically, or fails with a conflict
    /// and applies none of them.
    async fn commit_transaction(&self, tx: TransactionId) -> Result<()>;
    /// Discards the transaction's writes.
    async fn rollback_transaction(&self, tx: TransactionId) -> Result<()>;
}

/// Leases of addressables (actors). A lease past its `expires_at` is gone:
/// no method returns it, and [`update_lease`](Self::update_lease) treats it
/// as absent; [`cleanup_expired_leases`](Self::cleanup_expired_leases)
/// reclaims its space.
#[async_trait]
pub trait AddressableDirectoryProvider: PersistenceProvider {
    /// Stores a lease, replacing any lease of the same addressable.
    async fn store_lease(&self, lease: &AddressableLease) -> Result<()>;
    /// The live lease of an addressable.
    async fn get_lease(&self, reference: &AddressableReference) -> Result<Option<AddressableLease>>;
    /// Replaces a live lease; `false` (and nothing written) when there is
    /// none.
    async fn update_lease(&self, lease: &AddressableLease) -> Result<bool>;
    /// Removes a lease; `false` when there was none.
    async fn remove_lease(&self, reference: &AddressableReference) -> Result<bool>;
    /// The live leases held by a node.
    async fn list_leases_for_node(&self, node: &NodeId) -> Result<Vec<AddressableLease>>;
    /// Every live lease.
    async fn list_all_leases(&self) -> Result<Vec<AddressableLease>>;
    /// Removes expired leases; returns how many.
    async fn cleanup_expired_leases(&self) -> Result<u64>;
    /// Stores many leases in one atomic write.
    async fn store_leases_bulk(&self, leases: &[AddressableLease]) -> Result<()>;
    /// Removes many leases in one atomic write; returns how many existed.
    async fn remove_leases_bulk(&self, references: &[AddressableReference]) -> Result<u64>;
}

/// Cluster nodes. Unlike leases, a node past its lease is still returned by
/// [`get_node`](Self::get_node) and [`list_all_nodes`](Self::list_all_nodes),
/// so that operators can see who dropped out; only
/// [`list_active_nodes`](Self::list_active_nodes) leaves it out.
#[async_trait]
pub trait ClusterNodeProvider: PersistenceProvider {
    /// Stores a node, replacing any node of the same id.
    async fn store_node(&self, node: &NodeInfo) -> Result<()>;
    /// A node by id.
    async fn get_node(&self, id: &NodeId) -> Result<Option<NodeInfo>>;
    /// Replaces a node; `false` (and nothing written) when there is none.
    async fn update_node(&self, node: &NodeInfo) -> Result<bool>;
    /// Removes a node; `false` when there was none.
    async fn remove_node(&self, id: &NodeId) -> Result<bool>;
    /// Nodes whose lease has not run out.
    async fn list_active_nodes(&self) -> Result<Vec<NodeInfo>>;
    /// Every node.
    async fn list_all_nodes(&self) -> Result<Vec<NodeInfo>>;
    /// Removes nodes whose lease has run out; returns how many.
    async fn cleanup_expired_nodes(&self) -> Result<u64>;
    /// Extends a node's lease to `until`; `false` when there is no such
    /// node.
    async fn renew_node_lease(&self, id: &NodeId, until: DateTime<Utc>) -> Result<bool>;
}

/// A provider of both leases and nodes: what the registry hands out.
pub trait Provider: AddressableDirectoryProvider + ClusterNodeProvider {}

impl<T: AddressableDirectoryProvider + ClusterNodeProvider> Provider for T {}
