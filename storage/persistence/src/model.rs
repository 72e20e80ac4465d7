//! The records providers keep: addressable leases and cluster nodes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A cluster node's identity, stable across the node's restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NodeId {
    fn from(s: &str) -> Self {
        NodeId(s.to_string())
    }
}

/// Names an addressable (an actor): its type and its key within the type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AddressableReference {
    /// The addressable's type, e.g. `store`.
    pub addressable_type: String,
    /// Its key within the type, e.g. `redis`.
    pub key: String,
}

impl AddressableReference {
    /// The reference to `key` of `addressable_type`.
    pub fn new(addressable_type: impl Into<String>, key: impl Into<String>) -> Self {
        AddressableReference { addressable_type: addressable_type.into(), key: key.into() }
    }
}

impl fmt::Display for AddressableReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addressable_type, self.key)
    }
}

/// Which node serves an addressable, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressableLease {
    /// The addressable.
    pub reference: AddressableReference,
    /// The node serving it.
    pub node_id: NodeId,
    /// When the lease was first taken or last renewed.
    pub renewed_at: DateTime<Utc>,
    /// After this instant the lease is gone: providers stop returning it.
    pub expires_at: DateTime<Utc>,
}

impl AddressableLease {
    /// Whether the lease has run out at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// A node's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Serving.
    Active,
    /// Finishing its work before stopping.
    Draining,
    /// Stopped; kept until its lease runs out.
    Stopped,
}

/// One endpoint a node serves, e.g. `redis` at `10.0.0.5:6379`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEndpoint {
    /// The protocol, e.g. `postgresql`.
    pub protocol: String,
    /// Where it listens.
    pub address: String,
}

/// A cluster member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's identity.
    pub id: NodeId,
    /// The address peers reach it at.
    pub address: String,
    /// The endpoints it serves.
    pub endpoints: Vec<NodeEndpoint>,
    /// What it can do, e.g. the protocols and addressable types it hosts.
    pub capabilities: Vec<String>,
    /// Its lifecycle state.
    pub status: NodeStatus,
    /// Until when its membership holds unless renewed.
    pub lease_expires_at: DateTime<Utc>,
}

impl NodeInfo {
    /// Whether the node's lease has run out at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.lease_expires_at <= now
    }
}

/// The key of a stored record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKey {
    /// A lease, by its addressable.
    Lease(AddressableReference),
    /// A node, by its id.
    Node(NodeId),
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// An addressable lease.
    Lease(AddressableLease),
    /// A cluster node.
    Node(NodeInfo),
}

impl Record {
    /// The record's key.
    pub fn key(&self) -> RecordKey {
        match self {
            Record::Lease(l) => RecordKey::Lease(l.reference.clone()),
            Record::Node(n) => RecordKey::Node(n.id.clone()),
        }
    }
}

/// One write: a record stored (inserted or replaced) or a key removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Insert or replace.
    Put(Record),
    /// Remove; removing an absent key is not an error.
    Delete(RecordKey),
}

impl WriteOp {
    /// The key written.
    pub fn key(&self) -> RecordKey {
        match self {
            WriteOp::Put(r) => r.key(),
            WriteOp::Delete(k) => k.clone(),
        }
    }
}

/// The two record tables every provider keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Addressable leases.
    Leases,
    /// Cluster nodes.
    Nodes,
}
