//! The persistent table catalog and its in-memory mirror.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::schema::TableDef;
use crate::error::{Result, StorageError};
use crate::kv::{Direction, KeyRange, KvRead, WriteBatch, WriteOp};
use crate::protocol::cf;
use crate::txn::CommitObserver;

/// Catalog keys of table definitions: this prefix and the table's name.
pub(crate) const TABLE_KEY_PREFIX: &[u8] = b"table/";
/// Catalog key of the next table id, so ids of dropped tables are never reused.
pub(crate) const NEXT_ID_KEY: &[u8] = b"meta/next_table_id";

pub(crate) fn table_key(name: &str) -> Vec<u8> {
    [TABLE_KEY_PREFIX, name.as_bytes()].concat()
}

/// Every table definition, loaded at open and kept in step with commits to
/// the catalog family: as a [`CommitObserver`] it changes under the commit
/// lock, so a transaction that starts after a DROP never finds the table.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    tables: RwLock<BTreeMap<String, Arc<TableDef>>>,
}

impl Catalog {
    /// Reads every definition from the catalog family of `store`.
    pub(crate) fn load(store: &dyn KvRead, cf: &str) -> Result<Self> {
        let mut tables = BTreeMap::new();
        let mut failure = None;
        store.scan(cf, &KeyRange::prefix(TABLE_KEY_PREFIX), Direction::Forward, &mut |k, v| {
            match serde_json::from_slice::<TableDef>(v) {
                Ok(def) => {
                    tables.insert(def.schema.name.clone(), Arc::new(def));
                    std::ops::ControlFlow::Continue(())
                }
                Err(e) => {
                    failure = Some(StorageError::Corruption(format!(
                        "catalog entry {} does not parse: {e}",
                        String::from_utf8_lossy(k)
                    )));
                    std::ops::ControlFlow::Break(())
                }
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(Catalog { tables: RwLock::new(tables) }),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<TableDef>> {
        self.tables.read().get(name).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<TableDef>> {
        self.tables.read().values().cloned().collect()
    }
}

impl CommitObserver for Catalog {
    fn committed(&self, _ts: u64, batch: &WriteBatch) {
        for op in batch.ops() {
            match op {
                WriteOp::Put { cf: cf::TABLE_CATALOG, key, value } if key.starts_with(TABLE_KEY_PREFIX) => {
                    match serde_json::from_slice::<TableDef>(value) {
                        Ok(def) => {
                            self.tables.write().insert(def.schema.name.clone(), Arc::new(def));
                        }
                        // Storage wrote these bytes itself a moment ago.
                        Err(e) => tracing::error!(error = %e, "committed table definition does not parse"),
                    }
                }
                WriteOp::Delete { cf: cf::TABLE_CATALOG, key } if key.starts_with(TABLE_KEY_PREFIX) => {
                    let name = String::from_utf8_lossy(&key[TABLE_KEY_PREFIX.len()..]);
                    self.tables.write().remove(name.as_ref());
                }
                _ => {}
            }
        }
    }
}

pub(crate) fn encode_def(def: &TableDef) -> Result<Vec<u8>> {
    serde_json::to_vec(def).map_err(|e| StorageError::InvalidValue(format!("cannot encode table definition: {e}")))
}

pub(crate) fn decode_next_id(bytes: Option<Vec<u8>>) -> Result<u32> {
    match bytes {
        None => Ok(1),
        Some(b) => {
            let arr: [u8; 4] =
                b.as_slice().try_into().map_err(|_| StorageError::Corruption("next table id is not 4 bytes".into()))?;
            Ok(u32::from_be_bytes(arr))
        }
    }
}
