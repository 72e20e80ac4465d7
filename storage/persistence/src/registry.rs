//! [`PersistenceProviderRegistry`]: named providers, a default, and the
//! providers of addressable and cluster data.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::composite::CompositeProvider;
use crate::config::{PersistenceProviderConfig, ProviderConfig, ResolvedDefaults};
use crate::error::{PersistenceError, Result};
use crate::memory::MemoryStore;
use crate::provider::Provider;
use crate::rocks::RocksStore;
use crate::store_provider::StoreProvider;

/// Providers by name. Every name in `defaults` is a key of `providers`: both
/// constructors check it, so the look-ups of the defaults cannot fail.
#[derive(Debug)]
pub struct PersistenceProviderRegistry {
    providers: BTreeMap<String, Arc<dyn Provider>>,
    composites: BTreeMap<String, Arc<CompositeProvider>>,
    defaults: ResolvedDefaults,
}

/// A built provider, and the same provider as a composite when it is one
/// (the registry keeps those apart for failback).
type Built = (Arc<dyn Provider>, Option<Arc<CompositeProvider>>);

/// Builds (without initializing) the provider `name` configures. Relative
/// and missing data directories are placed under `data_dir`.
fn build(name: &str, config: &ProviderConfig, data_dir: &Path) -> Result<Built> {
    match config {
        ProviderConfig::Memory(c) => {
            let mut c = c.clone();
            if let Some(b) = c.disk_backup.as_mut().filter(|b| b.path.is_relative()) {
                b.path = data_dir.join(&b.path);
            }
            Ok((Arc::new(StoreProvider::new(name, MemoryStore::new(name, c))), None))
        }
        ProviderConfig::RocksDB(c) => {
            let path = match &c.data_dir {
                Some(p) if p.is_absolute() => p.clone(),
                Some(p) => data_dir.join(p),
                None => data_dir.join("persistence").join(name),
            };
            Ok((Arc::new(StoreProvider::new(name, RocksStore::new(name, path, c.clone())?)), None))
        }
        ProviderConfig::Composite(c) => {
            let (primary, _) = build(&format!("{name}.primary"), &c.primary, data_dir)?;
            let (backup, _) = build(&format!("{name}.backup"), &c.backup, data_dir)?;
            let state = data_dir.join("persistence").join(format!("{name}.failed-over"));
            let composite = Arc::new(CompositeProvider::new(name, c, primary, backup).with_state_file(state));
            Ok((composite.clone(), Some(composite)))
        }
        other => Err(PersistenceError::NotAvailable { name: name.to_string(), kind: format!("{:?}", other.kind()) }),
    }
}

impl PersistenceProviderRegistry {
    /// Builds every configured provider and initializes them. Fails, with
    /// nothing left running, when a provider type is not in this build, a
    /// default names no provider, or a provider does not start.
    pub async fn from_config(config: &PersistenceProviderConfig, data_dir: &Path) -> Result<Self> {
        let defaults = config.resolve()?;
        let mut providers = BTreeMap::new();
        let mut composites = BTreeMap::new();
        for (name, c) in &config.providers {
            let (provider, composite) = build(name, c, data_dir)?;
            providers.insert(name.clone(), provider);
            if let Some(c) = composite {
                composites.insert(name.clone(), c);
            }
        }
        let registry = PersistenceProviderRegistry { providers, composites, defaults };
        let mut started: Vec<&Arc<dyn Provider>> = Vec::new();
        for p in registry.providers.values() {
            if let Err(e) = p.initialize().await {
                for s in started {
                    let _ = s.shutdown().await;
                }
                return Err(e);
            }
            started.push(p);
        }
        Ok(registry)
    }

    /// A registry of providers built elsewhere (already initialized), with
    /// `default` serving everything unless `addressable` or `cluster` say
    /// otherwise.
    pub fn with_providers(
        providers: impl IntoIterator<Item = (String, Arc<dyn Provider>)>,
        default: &str,
        addressable: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<Self> {
        let providers: BTreeMap<String, Arc<dyn Provider>> = providers.into_iter().collect();
        let known = |n: &str| {
            if providers.contains_key(n) {
                Ok(n.to_string())
            } else {
                Err(PersistenceError::UnknownProvider(n.to_string()))
            }
        };
        let defaults = ResolvedDefaults {
            default: known(default)?,
            addressable: known(addressable.unwrap_or(default))?,
            cluster: known(cluster.unwrap_or(default))?,
        };
        Ok(PersistenceProviderRegistry { providers, composites: BTreeMap::new(), defaults })
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Provider>> {
        self.providers.get(name).cloned().ok_or_else(|| PersistenceError::UnknownProvider(name.to_string()))
    }

    /// The composite provider called `name` (for failback).
    pub fn composite(&self, name: &str) -> Result<Arc<CompositeProvider>> {
        self.composites.get(name).cloned().ok_or_else(|| PersistenceError::UnknownProvider(name.to_string()))
    }

    /// The default provider.
    pub fn default_provider(&self) -> Arc<dyn Provider> {
        self.providers[&self.defaults.default].clone()
    }

    /// The provider of addressable leases.
    pub fn addressable_provider(&self) -> Arc<dyn Provider> {
        self.providers[&self.defaults.addressable].clone()
    }

    /// The provider of cluster nodes.
    pub fn cluster_provider(&self) -> Arc<dyn Provider> {
        self.providers[&self.defaults.cluster].clone()
    }

    /// The names the defaults resolved to.
    pub fn defaults(&self) -> &ResolvedDefaults {
        &self.defaults
    }

    /// Every provider with its name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn Provider>)> {
        self.providers.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// Shuts every provider down; returns the first error after trying all.
    pub async fn shutdown(&self) -> Result<()> {
        let mut result = Ok(());
        for (name, p) in &self.providers {
            if let Err(e) = p.shutdown().await {
                tracing::error!(provider = %name, error = %e, "provider did not shut down cleanly");
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}
