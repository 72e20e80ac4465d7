//! `[cluster]`, `[defaults]` and `[providers.NAME]`: cluster membership and
//! the persistence providers of actor leases and cluster nodes.

use orbit_persistence::{PersistenceProviderConfig, ProviderConfig, RocksDbConfig};
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};

/// `[cluster]`: how this server takes part in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSection {
    /// This node's id; by default one generated on first start and kept in
    /// `<data_dir>/node-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Seconds the node's membership and its leases last unless renewed;
    /// they are renewed every third of it.
    pub lease_ttl_secs: u64,
    /// Seconds between removals of expired nodes and leases.
    pub cleanup_interval_secs: u64,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection { node_id: None, lease_ttl_secs: 30, cleanup_interval_secs: 60 }
    }
}

/// The provider the server uses when none is configured: RocksDB under
/// `<data_dir>/persistence/rocksdb`.
pub const DEFAULT_PROVIDER: &str = "rocksdb";

impl Config {
    /// The persistence configuration: `[defaults]` and `[providers]`, with
    /// `ORBIT_PERSISTENCE_BACKEND` (or `[server] persistence_backend`) and
    /// `ORBIT_<BACKEND>_*` applied; the built-in RocksDB provider when
    /// nothing is configured.
    pub(super) fn apply_persistence_env(&mut self, vars: &[(String, String)]) -> Result<(), ConfigError> {
        let mut p = self.persistence();
        p.apply_backend_selection(vars, self.server.persistence_backend.as_deref())
            .map_err(|e| ConfigError::Invalid { key: "server.persistence_backend".into(), detail: e.to_string() })?;
        if p.providers.is_empty() {
            p.providers.insert(DEFAULT_PROVIDER.into(), ProviderConfig::RocksDB(RocksDbConfig::default()));
        }
        p.resolve().map_err(|e| ConfigError::Invalid { key: "defaults".into(), detail: e.to_string() })?;
        self.defaults = p.defaults;
        self.providers = p.providers;
        Ok(())
    }

    /// The persistence providers to start.
    pub fn persistence(&self) -> PersistenceProviderConfig {
        PersistenceProviderConfig { defaults: self.defaults.clone(), providers: self.providers.clone() }
    }
}
