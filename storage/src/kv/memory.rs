//! An in-memory engine: persistent ordered maps, so a snapshot is a cheap
//! structural copy rather than a deep one.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use imbl::OrdMap;
use parking_lot::RwLock;

use super::{
    Direction, EngineHealth, EngineStats, KeyRange, KvEngine, KvRead, KvSnapshot, Visitor, WriteBatch, WriteOp,
};
use crate::error::{Result, StorageError};
use crate::protocol::cf;

/// Keys and values are shared slices: a write while a snapshot is alive
/// copies tree nodes, and copying a node should bump reference counts, not
/// duplicate every key and value in it.
type Family = OrdMap<Arc<[u8]>, Arc<[u8]>>;
type Families = BTreeMap<String, Family>;

/// An engine that keeps everything in memory and loses it on exit.
#[derive(Debug)]
pub struct MemoryEngine {
    families: RwLock<Families>,
}

impl MemoryEngine {
    /// An empty engine with `default` and the given column families.
    pub fn new(column_families: &[&str]) -> Self {
        let mut families = Families::new();
        families.insert(cf::DEFAULT.to_string(), Family::new());
        for name in column_families {
            families.insert((*name).to_string(), Family::new());
        }
        MemoryEngine { families: RwLock::new(families) }
    }
}

fn family<'a>(families: &'a Families, name: &str) -> Result<&'a Family> {
    families.get(name).ok_or_else(|| StorageError::UnknownColumnFamily(name.to_string()))
}

fn scan_family(family: &Family, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) {
    if range.is_empty() {
        return;
    }
    let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (as_ref(&range.start), as_ref(&range.end));
    let iter = family.range::<_, [u8]>(bounds);
    let mut step = |(k, v): (&Arc<[u8]>, &Arc<[u8]>)| visit(k, v);
    let _ = match direction {
        Direction::Forward => iter.map(&mut step).find(|c| c.is_break()),
        Direction::Reverse => iter.rev().map(&mut step).find(|c| c.is_break()),
    };
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl KvRead for MemoryEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(family(&self.families.read(), cf)?.get(key).map(|v| v.to_vec()))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        // Scan a structural copy so that the visitor runs without the lock held
        // (it may be slow, or call back into the engine).
        let fam = family(&self.families.read(), cf)?.clone();
        scan_family(&fam, range, direction, visit);
        Ok(())
    }
}

impl KvEngine for MemoryEngine {
    fn write(&self, batch: &WriteBatch) -> Result<()> {
        let mut families = self.families.write();
        // Validate first so that a bad family leaves nothing half-applied.
        for op in batch.ops() {
            family(&families, op.cf())?;
        }
        for op in batch.ops() {
            let Some(fam) = families.get_mut(op.cf()) else { continue };
            match op {
                WriteOp::Put { key, value, .. } => {
                    fam.insert(Arc::from(key.as_slice()), Arc::from(value.as_slice()));
                }
                WriteOp::Delete { key, .. } => {
                    fam.remove(key.as_slice());
                }
                WriteOp::DeleteRange { start, end, .. } => {
                    let bounds = (Bound::Included(start.as_slice()), Bound::Excluded(end.as_slice()));
                    let doomed: Vec<Arc<[u8]>> = fam.range::<_, [u8]>(bounds).map(|(k, _)| k.clone()).collect();
                    for k in doomed {
                        fam.remove(&k);
                    }
                }
            }
        }
        Ok(())
    }

    fn snapshot(&self) -> Arc<dyn KvSnapshot> {
        Arc::new(MemorySnapshot { families: self.families.read().clone() })
    }

    fn sync_wal(&self) -> Result<()> {
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn compact(&self, cf: &str, _range: &KeyRange) -> Result<()> {
        family(&self.families.read(), cf).map(|_| ())
    }

    fn checkpoint(&self, _dest: &Path) -> Result<()> {
        Err(StorageError::Unsupported("the memory engine keeps nothing on disk to checkpoint".into()))
    }

    fn column_families(&self) -> Vec<String> {
        self.families.read().keys().cloned().collect()
    }

    fn is_persistent(&self) -> bool {
        false
    }

    fn health(&self) -> EngineHealth {
        EngineHealth::default()
    }

    fn stats(&self) -> EngineStats {
        let families = self.families.read();
        let (keys, bytes) = families.values().fold((0u64, 0u64), |(n, b), fam| {
            let size: usize = fam.iter().map(|(k, v)| k.len() + v.len()).sum();
            (n + fam.len() as u64, b + size as u64)
        });
        EngineStats { approximate_keys: keys, live_data_bytes: 0, memtable_bytes: bytes }
    }
}

/// A frozen copy of a [`MemoryEngine`]'s families.
#[derive(Debug)]
struct MemorySnapshot {
    families: Families,
}

impl KvRead for MemorySnapshot {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(family(&self.families, cf)?.get(key).map(|v| v.to_vec()))
    }

    fn scan(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        scan_family(family(&self.families, cf)?, range, direction, visit);
        Ok(())
    }
}

// Memory never waits on a disk.
impl KvSnapshot for MemorySnapshot {
    fn get_cached(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(cf, key)
    }

    fn scan_cached(&self, cf: &str, range: &KeyRange, direction: Direction, visit: &mut Visitor<'_>) -> Result<()> {
        self.scan(cf, range, direction, visit)
    }
}
