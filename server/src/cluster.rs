//! This server's cluster membership: its node record in the cluster
//! provider, the leases of the addressables it serves (one per protocol
//! store) in the addressable provider, their renewal, and the periodic
//! removal of expired nodes and leases.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use orbit_persistence::{
    AddressableLease, AddressableReference, NodeEndpoint, NodeId, NodeInfo, NodeStatus, PersistenceError,
    PersistenceProviderRegistry,
};
use tokio_util::sync::CancellationToken;

/// The addressable type of a protocol store.
pub const STORE_ADDRESSABLE: &str = "orbit.store";

/// Why joining the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A provider failed.
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
    /// The node id file could not be read or written.
    #[error("node id file {path}: {source}")]
    NodeIdFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// This node's id: the configured one, or the one kept in
/// `<data_dir>/node-id` (generated on first start), so that a restarted
/// server is the same node and re-acquires its own leases.
pub fn node_id(configured: Option<&str>, data_dir: &Path) -> Result<NodeId, ClusterError> {
    if let Some(id) = configured {
        return Ok(NodeId(id.to_string()));
    }
    let path = data_dir.join("node-id");
    let err = |source| ClusterError::NodeIdFile { path: path.display().to_string(), source };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(NodeId(text.trim().to_string())),
        Ok(_) => Err(err(std::io::Error::other("the file is empty"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = format!("orbit-{}", uuid::Uuid::new_v4().simple());
            std::fs::write(&path, format!("{id}\n")).map_err(err)?;
            Ok(NodeId(id))
        }
        Err(e) => Err(err(e)),
    }
}

/// What this node announces.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its id.
    pub id: NodeId,
    /// Where peers reach it (the admin endpoint).
    pub address: String,
    /// Its endpoints, by protocol.
    pub endpoints: Vec<NodeEndpoint>,
    /// The protocol stores it serves; each is an addressable it leases.
    pub stores: Vec<String>,
    /// How long records last unless renewed.
    pub lease_ttl: Duration,
    /// Between clean-ups of expired records.
    pub cleanup_interval: Duration,
}

/// A joined node; [`Membership::leave`] removes it.
#[derive(Debug)]
pub struct Membership {
    spec: NodeSpec,
    registry: Arc<PersistenceProviderRegistry>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn ttl(spec: &NodeSpec) -> chrono::Duration {
    // The configuration bounds it to a day, far inside chrono's range.
    chrono::Duration::milliseconds(i64::try_from(spec.lease_ttl.as_millis()).unwrap_or(i64::MAX))
}

fn references(spec: &NodeSpec) -> Vec<AddressableReference> {
    spec.stores.iter().map(|s| AddressableReference::new(STORE_ADDRESSABLE, format!("{}/{s}", spec.id))).collect()
}

fn node_record(spec: &NodeSpec) -> NodeInfo {
    let mut capabilities: Vec<String> = spec.endpoints.iter().map(|e| e.protocol.clone()).collect();
    capabilities.push(format!("addressable:{STORE_ADDRESSABLE}"));
    NodeInfo {
        id: spec.id.clone(),
        address: spec.address.clone(),
        endpoints: spec.endpoints.clone(),
        capabilities,
        status: NodeStatus::Active,
        lease_expires_at: Utc::now() + ttl(spec),
    }
}

/// Takes (or renews) the leases of this node's stores, in one atomic write.
/// Each reference names this node (`<node-id>/<protocol>`), so no other
/// node ever holds one of them: there is nothing to check first.
async fn lease_stores(registry: &PersistenceProviderRegistry, spec: &NodeSpec) -> Result<(), PersistenceError> {
    let now = Utc::now();
    let leases: Vec<AddressableLease> = references(spec)
        .into_iter()
        .map(|reference| AddressableLease {
            reference,
            node_id: spec.id.clone(),
            renewed_at: now,
            expires_at: now + ttl(spec),
        })
        .collect();
    registry.addressable_provider().store_leases_bulk(&leases).await
}

/// One renewal round: the node's lease, then each addressable lease.
async fn renew(registry: &PersistenceProviderRegistry, spec: &NodeSpec) -> Result<(), ClusterError> {
    let cluster = registry.cluster_provider();
    if !cluster.renew_node_lease(&spec.id, Utc::now() + ttl(spec)).await? {
        // Removed meanwhile (expired and cleaned up while this node was
        // stalled): announce it again.
        tracing::warn!(node = %spec.id, "this node's record was gone; registering it again");
        cluster.store_node(&node_record(spec)).await?;
    }
    lease_stores(registry, spec).await?;
    Ok(())
}

async fn clean_up(registry: &PersistenceProviderRegistry) -> Result<(u64, u64), PersistenceError> {
    let nodes = registry.cluster_provider().cleanup_expired_nodes().await?;
    let leases = registry.addressable_provider().cleanup_expired_leases().await?;
    Ok((nodes, leases))
}

impl Membership {
    /// Registers the node, leases its stores, and starts renewing both and
    /// cleaning up expired records.
    pub async fn join(registry: Arc<PersistenceProviderRegistry>, spec: NodeSpec) -> Result<Membership, ClusterError> {
        registry.cluster_provider().store_node(&node_record(&spec)).await?;
        lease_stores(&registry, &spec).await?;
        tracing::info!(node = %spec.id, stores = spec.stores.len(), "joined the cluster");
        let stop = CancellationToken::new();
        let task = tokio::spawn(maintain(registry.clone(), spec.clone(), stop.clone()));
        Ok(Membership { spec, registry, stop, task })
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        &self.spec.id
    }

    /// Stops renewing, releases the leases and removes the node record.
    pub async fn leave(self) -> Result<(), PersistenceError> {
        self.stop.cancel();
        let _ = self.task.await;
        self.registry.addressable_provider().remove_leases_bulk(&references(&self.spec)).await?;
        self.registry.cluster_provider().remove_node(&self.spec.id).await?;
        tracing::info!(node = %self.spec.id, "left the cluster");
        Ok(())
    }
}

async fn maintain(registry: Arc<PersistenceProviderRegistry>, spec: NodeSpec, stop: CancellationToken) {
    // Both are at least a second: the configuration refuses less.
    let mut renew_timer = tokio::time::interval(spec.lease_ttl / 3);
    let mut cleanup_timer = tokio::time::interval(spec.cleanup_interval);
    for t in [&mut renew_timer, &mut cleanup_timer] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t.reset();
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = renew_timer.tick() => {
                if let Err(e) = renew(&registry, &spec).await {
                    tracing::error!(node = %spec.id, error = %e, "cannot renew this node's leases");
                }
            }
            _ = cleanup_timer.tick() => match clean_up(&registry).await {
                Ok((0, 0)) => {}
                Ok((nodes, leases)) => tracing::info!(nodes, leases, "removed expired cluster records"),
                Err(e) => tracing::warn!(error = %e, "cleaning up expired cluster records failed"),
            },
        }
    }
}
