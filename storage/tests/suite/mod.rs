//! The conformance suites: each function checks one behaviour against any
//! engine, and `conformance.rs` instantiates every one for every engine.

pub(crate) mod kv;
pub(crate) mod table;
pub(crate) mod txn;

use std::sync::Arc;

use orbit_storage::kv::{KvEngine, MemoryEngine, RocksEngine, RocksOptions, RocksResources};

/// Column families the suites use.
pub(crate) const CF_A: &str = "alpha";
pub(crate) const CF_B: &str = "beta";

/// An engine under test, with whatever must outlive it.
pub(crate) struct Harness {
    pub(crate) engine: Arc<dyn KvEngine>,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) fn memory() -> Harness {
    Harness { engine: Arc::new(MemoryEngine::new(&[CF_A, CF_B, "catalog", "rows", "indexes"])), _dir: None }
}

pub(crate) fn rocks() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RocksOptions::new(
        vec![CF_A, CF_B, "catalog", "rows", "indexes"],
        RocksResources::new(8 << 20, 8 << 20).expect("resources"),
    );
    let engine = RocksEngine::open(dir.path(), &options).expect("open rocksdb");
    Harness { engine: Arc::new(engine), _dir: Some(dir) }
}
