//! Helpers shared by the persistence tests.

#![allow(dead_code)]

use chrono::{Duration, Utc};
use orbit_persistence::{AddressableLease, AddressableReference, NodeEndpoint, NodeId, NodeInfo, NodeStatus};

pub(crate) fn lease(ty: &str, key: &str, node: &str, ttl_ms: i64) -> AddressableLease {
    let now = Utc::now();
    AddressableLease {
        reference: AddressableReference::new(ty, key),
        node_id: NodeId::from(node),
        renewed_at: now,
        expires_at: now + Duration::milliseconds(ttl_ms),
    }
}

pub(crate) fn node(id: &str, ttl_ms: i64) -> NodeInfo {
    NodeInfo {
        id: NodeId::from(id),
        address: format!("{id}.local:7000"),
        endpoints: vec![NodeEndpoint { protocol: "redis".into(), address: format!("{id}.local:6379") }],
        capabilities: vec!["redis".into()],
        status: NodeStatus::Active,
        lease_expires_at: Utc::now() + Duration::milliseconds(ttl_ms),
    }
}
