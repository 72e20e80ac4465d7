//! The protocol stores of one server.

use std::collections::BTreeMap;
use std::sync::Arc;

use orbit_storage::{HealthState, OpenError, Protocol, RocksResources, Store};

use crate::config::Config;

/// Every enabled protocol's store, opened at startup and closed at shutdown.
#[derive(Debug)]
pub struct Stores {
    stores: BTreeMap<Protocol, Arc<Store>>,
    resources: RocksResources,
}

impl Stores {
    /// Opens the store of each enabled protocol, creating what is missing.
    /// Stores open in parallel: creating one is mostly waiting on fsyncs of
    /// its manifest. Blocking: call it on the blocking pool.
    pub fn open(config: &Config) -> Result<Self, OpenError> {
        let s = &config.storage;
        let resources = RocksResources::new(s.block_cache_mb << 20, s.write_buffer_mb << 20)?;
        let opened: Vec<(Protocol, Result<Store, OpenError>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = config
                .enabled_protocols()
                .into_iter()
                .map(|p| {
                    let resources = &resources;
                    (
                        p,
                        scope.spawn(move || {
                            Store::open(p, &config.server.data_dir, &config.store_options(p), resources)
                        }),
                    )
                })
                .collect();
            handles
                .into_iter()
                .map(|(p, h)| {
                    let r = h.join().unwrap_or_else(|_| {
                        Err(OpenError::Engine {
                            path: config.server.data_dir.clone(),
                            detail: format!("opening the {p} store panicked"),
                        })
                    });
                    (p, r)
                })
                .collect()
        });
        let mut stores = BTreeMap::new();
        for (p, store) in opened {
            let store = store?;
            tracing::info!(
                store = %p,
                path = %store.path().map(|p| p.display().to_string()).unwrap_or_default(),
                column_families = %store.engine().column_families().join(","),
                sync = ?config.store_options(p).sync,
                "store opened"
            );
            stores.insert(p, Arc::new(store));
        }
        Ok(Stores { stores, resources })
    }

    /// Every store, by protocol.
    pub fn iter(&self) -> impl Iterator<Item = (Protocol, &Arc<Store>)> {
        self.stores.iter().map(|(p, s)| (*p, s))
    }

    /// Bytes in the shared block cache (memtables included).
    pub fn cache_usage(&self) -> usize {
        self.resources.cache_usage()
    }

    /// The worst state of any store.
    pub fn overall(&self) -> HealthState {
        self.stores.values().map(|s| s.health().state).max().unwrap_or(HealthState::Healthy)
    }

    /// Syncs, flushes and closes every store, reporting each failure.
    /// Blocking: call it on the blocking pool.
    pub fn close(&self) -> bool {
        let mut ok = true;
        for (p, store) in &self.stores {
            match store.close() {
                Ok(()) => tracing::info!(store = %p, "store flushed and closed"),
                Err(e) => {
                    ok = false;
                    tracing::error!(store = %p, error = %e, "store did not close cleanly");
                }
            }
        }
        ok
    }
}
