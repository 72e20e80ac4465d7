//! One conformance suite, instantiated for every provider by
//! `conformance!`: every trait method, expiry, bulk operations,
//! transactions (commit, rollback, conflict), concurrent writers, and
//! restart for the durable providers.

// A failed call is the test failing; its error is in the panic message.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use common::{lease, node};
use orbit_persistence::{
    AddressableReference, BackupCompression, CompositeConfig, CompositeProvider, DiskBackupConfig, MemoryConfig,
    MemoryStore, NodeId, PersistenceError, Provider, ProviderConfig, ProviderHealth, Record, RecordKey, RocksDbConfig,
    RocksStore, StoreProvider, TransactionId, WriteOp,
};

/// Makes a provider (not initialized) keeping its files under a directory.
type Factory = fn(&Path) -> Arc<dyn Provider>;

fn memory(_: &Path) -> Arc<dyn Provider> {
    Arc::new(StoreProvider::new("memory", MemoryStore::new("memory", MemoryConfig::default())))
}

fn memory_backed(dir: &Path) -> Arc<dyn Provider> {
    let backup =
        DiskBackupConfig { path: dir.join("backup.json.zst"), sync_interval: 1, compression: BackupCompression::Zstd };
    let config = MemoryConfig { max_entries: 100_000, disk_backup: Some(backup) };
    Arc::new(StoreProvider::new("memory", MemoryStore::new("memory", config)))
}

fn rocksdb(dir: &Path) -> Arc<dyn Provider> {
    let store = RocksStore::new("rocksdb", dir.join("rocksdb"), RocksDbConfig::default()).expect("rocksdb store");
    Arc::new(StoreProvider::new("rocksdb", store))
}

fn rocksdb_uncached(dir: &Path) -> Arc<dyn Provider> {
    let config = RocksDbConfig { cache_entries: 0, ..Default::default() };
    Arc::new(StoreProvider::new(
        "rocksdb",
        RocksStore::new("rocksdb", dir.join("rocksdb"), config).expect("rocksdb store"),
    ))
}

fn composite_config() -> CompositeConfig {
    let mem = || Box::new(ProviderConfig::Memory(MemoryConfig::default()));
    CompositeConfig { sync_interval: 1, health_check_interval: 1, failover_threshold: 2, primary: mem(), backup: mem() }
}

fn composite_memory(dir: &Path) -> Arc<dyn Provider> {
    Arc::new(CompositeProvider::new("composite", &composite_config(), memory(dir), memory(dir)))
}

fn composite_rocksdb(dir: &Path) -> Arc<dyn Provider> {
    Arc::new(CompositeProvider::new("composite", &composite_config(), rocksdb(dir), memory_backed(dir)))
}

async fn open(factory: Factory, dir: &Path) -> Arc<dyn Provider> {
    let p = factory(dir);
    p.initialize().await.expect("initialize");
    p
}

fn r(ty: &str, key: &str) -> AddressableReference {
    AddressableReference::new(ty, key)
}

pub async fn lease_crud(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let l = lease("actor", "a", "n1", 60_000);
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), None);
    assert!(!p.update_lease(&l).await.unwrap(), "update of an absent lease");
    assert!(!p.remove_lease(&l.reference).await.unwrap(), "remove of an absent lease");
    p.store_lease(&l).await.unwrap();
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), Some(l.clone()));
    let mut moved = l.clone();
    moved.node_id = NodeId::from("n2");
    assert!(p.update_lease(&moved).await.unwrap());
    assert_eq!(p.get_lease(&l.reference).await.unwrap().unwrap().node_id, NodeId::from("n2"));
    // Type and key are both part of the identity.
    assert_eq!(p.get_lease(&r("actor", "b")).await.unwrap(), None);
    assert_eq!(p.get_lease(&r("other", "a")).await.unwrap(), None);
    assert!(p.remove_lease(&l.reference).await.unwrap());
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), None);
    p.shutdown().await.unwrap();
}

pub async fn lease_expiry(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let short = lease("actor", "short", "n1", 50);
    let long = lease("actor", "long", "n1", 60_000);
    p.store_leases_bulk(&[short.clone(), long.clone()]).await.unwrap();
    assert_eq!(p.list_all_leases().await.unwrap().len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert_eq!(p.get_lease(&short.reference).await.unwrap(), None, "an expired lease is invisible");
    assert!(!p.update_lease(&short).await.unwrap(), "an expired lease cannot be updated");
    assert_eq!(p.list_all_leases().await.unwrap(), vec![long.clone()]);
    assert_eq!(p.list_leases_for_node(&NodeId::from("n1")).await.unwrap(), vec![long.clone()]);
    assert_eq!(p.cleanup_expired_leases().await.unwrap(), 1);
    assert_eq!(p.cleanup_expired_leases().await.unwrap(), 0);
    assert_eq!(p.get_lease(&long.reference).await.unwrap(), Some(long));
    p.shutdown().await.unwrap();
}

pub async fn leases_by_node_and_bulk(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let leases: Vec<_> =
        (0..30).map(|i| lease("actor", &format!("k{i}"), if i % 3 == 0 { "n1" } else { "n2" }, 60_000)).collect();
    p.store_leases_bulk(&leases).await.unwrap();
    assert_eq!(p.list_all_leases().await.unwrap().len(), 30);
    assert_eq!(p.list_leases_for_node(&NodeId::from("n1")).await.unwrap().len(), 10);
    assert_eq!(p.list_leases_for_node(&NodeId::from("n2")).await.unwrap().len(), 20);
    assert!(p.list_leases_for_node(&NodeId::from("n3")).await.unwrap().is_empty());
    let mut refs: Vec<_> = leases[..10].iter().map(|l| l.reference.clone()).collect();
    refs.push(r("actor", "never-stored"));
    assert_eq!(p.remove_leases_bulk(&refs).await.unwrap(), 10);
    assert_eq!(p.list_all_leases().await.unwrap().len(), 20);
    p.store_leases_bulk(&[]).await.unwrap();
    assert_eq!(p.remove_leases_bulk(&[]).await.unwrap(), 0);
    p.shutdown().await.unwrap();
}

pub async fn node_crud_and_expiry(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let a = node("a", 60_000);
    let b = node("b", 50);
    assert!(!p.update_node(&a).await.unwrap());
    assert!(!p.renew_node_lease(&a.id, Utc::now()).await.unwrap());
    assert!(!p.remove_node(&a.id).await.unwrap());
    p.store_node(&a).await.unwrap();
    p.store_node(&b).await.unwrap();
    assert_eq!(p.get_node(&a.id).await.unwrap(), Some(a.clone()));
    let mut a2 = a.clone();
    a2.capabilities.push("postgresql".into());
    assert!(p.update_node(&a2).await.unwrap());
    assert_eq!(p.get_node(&a.id).await.unwrap(), Some(a2.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    // An expired node is still listed among all nodes, not among the active.
    assert_eq!(p.list_active_nodes().await.unwrap(), vec![a2.clone()]);
    assert_eq!(p.list_all_nodes().await.unwrap().len(), 2);
    assert!(p.get_node(&b.id).await.unwrap().is_some());
    // Renewal brings a node back.
    let until = Utc::now() + chrono::Duration::seconds(60);
    assert!(p.renew_node_lease(&b.id, until).await.unwrap());
    assert_eq!(p.get_node(&b.id).await.unwrap().unwrap().lease_expires_at, until);
    assert_eq!(p.list_active_nodes().await.unwrap().len(), 2);
    assert!(p.renew_node_lease(&b.id, Utc::now() - chrono::Duration::seconds(1)).await.unwrap());
    assert_eq!(p.cleanup_expired_nodes().await.unwrap(), 1);
    assert_eq!(p.get_node(&b.id).await.unwrap(), None);
    assert!(p.remove_node(&a.id).await.unwrap());
    assert!(p.list_all_nodes().await.unwrap().is_empty());
    p.shutdown().await.unwrap();
}

pub async fn transaction_commit_and_rollback(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let l = lease("actor", "tx", "n1", 60_000);
    let n = node("tx-node", 60_000);
    let tx = p.begin_transaction().await.unwrap();
    p.transaction_write(tx, WriteOp::Put(Record::Lease(l.clone()))).await.unwrap();
    p.transaction_write(tx, WriteOp::Put(Record::Node(n.clone()))).await.unwrap();
    // The transaction reads its own writes; nobody else sees them.
    assert_eq!(p.transaction_get_lease(tx, &l.reference).await.unwrap(), Some(l.clone()));
    assert_eq!(p.transaction_get_node(tx, &n.id).await.unwrap(), Some(n.clone()));
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), None);
    assert_eq!(p.get_node(&n.id).await.unwrap(), None);
    p.commit_transaction(tx).await.unwrap();
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), Some(l.clone()));
    assert_eq!(p.get_node(&n.id).await.unwrap(), Some(n.clone()));
    // Ended transactions are gone.
    assert!(matches!(p.commit_transaction(tx).await, Err(PersistenceError::UnknownTransaction(_))));
    assert!(matches!(
        p.transaction_write(tx, WriteOp::Delete(RecordKey::Node(n.id.clone()))).await,
        Err(PersistenceError::UnknownTransaction(_))
    ));
    assert!(matches!(
        p.rollback_transaction(TransactionId(9_999_999)).await,
        Err(PersistenceError::UnknownTransaction(_))
    ));

    let tx = p.begin_transaction().await.unwrap();
    p.transaction_write(tx, WriteOp::Delete(RecordKey::Lease(l.reference.clone()))).await.unwrap();
    p.transaction_write(tx, WriteOp::Put(Record::Lease(lease("actor", "tx2", "n1", 60_000)))).await.unwrap();
    assert_eq!(p.transaction_get_lease(tx, &l.reference).await.unwrap(), None);
    p.rollback_transaction(tx).await.unwrap();
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), Some(l), "rollback keeps the old state");
    assert_eq!(p.get_lease(&r("actor", "tx2")).await.unwrap(), None, "rollback discards the writes");
    p.shutdown().await.unwrap();
}

pub async fn transaction_conflicts(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let l = lease("actor", "c", "n1", 60_000);
    p.store_lease(&l).await.unwrap();

    // Read, then someone else writes the key, then commit: conflict.
    let tx = p.begin_transaction().await.unwrap();
    assert!(p.transaction_get_lease(tx, &l.reference).await.unwrap().is_some());
    let mut other = l.clone();
    other.node_id = NodeId::from("n2");
    p.store_lease(&other).await.unwrap();
    let mut mine = l.clone();
    mine.node_id = NodeId::from("n3");
    p.transaction_write(tx, WriteOp::Put(Record::Lease(mine))).await.unwrap();
    let err = p.commit_transaction(tx).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(p.get_lease(&l.reference).await.unwrap().unwrap().node_id, NodeId::from("n2"), "nothing applied");

    // Write-write: both transactions write the key; the first to commit wins.
    let t1 = p.begin_transaction().await.unwrap();
    let t2 = p.begin_transaction().await.unwrap();
    let n = node("contended", 60_000);
    p.transaction_write(t1, WriteOp::Put(Record::Node(n.clone()))).await.unwrap();
    p.transaction_write(t2, WriteOp::Delete(RecordKey::Node(n.id.clone()))).await.unwrap();
    p.transaction_write(t2, WriteOp::Put(Record::Lease(lease("actor", "t2-only", "n1", 60_000)))).await.unwrap();
    p.commit_transaction(t1).await.unwrap();
    assert!(p.commit_transaction(t2).await.unwrap_err().is_conflict());
    assert_eq!(p.get_node(&n.id).await.unwrap(), Some(n));
    assert_eq!(p.get_lease(&r("actor", "t2-only")).await.unwrap(), None, "a failed commit applies nothing");

    // Disjoint keys do not conflict.
    let t1 = p.begin_transaction().await.unwrap();
    let t2 = p.begin_transaction().await.unwrap();
    p.transaction_write(t1, WriteOp::Put(Record::Lease(lease("actor", "x", "n1", 60_000)))).await.unwrap();
    p.transaction_write(t2, WriteOp::Put(Record::Lease(lease("actor", "y", "n1", 60_000)))).await.unwrap();
    p.commit_transaction(t2).await.unwrap();
    p.commit_transaction(t1).await.unwrap();
    p.shutdown().await.unwrap();
}

pub async fn concurrent_writers(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    let shared = lease("actor", "shared", "n0", 60_000);
    p.store_lease(&shared).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let p = p.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                p.store_lease(&lease("actor", &format!("w{w}-{i}"), &format!("n{w}"), 60_000)).await.unwrap();
                let mut mine = shared.clone();
                mine.node_id = NodeId(format!("n{w}"));
                // Read-modify-write of one key from every writer: retried
                // internally, never lost.
                assert!(p.update_lease(&mine).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(p.list_all_leases().await.unwrap().len(), 8 * 50 + 1);
    // Each writer's own 50, and the shared lease with whoever wrote it last.
    let mut total = 0;
    for w in 0..8 {
        let n = p.list_leases_for_node(&NodeId(format!("n{w}"))).await.unwrap().len();
        assert!(n == 50 || n == 51, "writer {w}: {n}");
        total += n;
    }
    assert_eq!(total, 8 * 50 + 1);
    p.shutdown().await.unwrap();
}

pub async fn health_and_metrics(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let p = open(f, dir.path()).await;
    assert_eq!(p.health_check().await, ProviderHealth::Healthy);
    let l = lease("actor", "m", "n1", 60_000);
    p.store_lease(&l).await.unwrap();
    p.get_lease(&l.reference).await.unwrap();
    p.get_lease(&l.reference).await.unwrap();
    p.remove_lease(&l.reference).await.unwrap();
    let m = p.metrics();
    assert!(m.writes.count >= 1 && m.reads.count >= 2 && m.deletes.count >= 1, "{m:?}");
    assert!(m.reads.p95_latency_us > 0.0 && m.reads.avg_latency_us > 0.0, "{m:?}");
    p.shutdown().await.unwrap();
    assert!(matches!(p.health_check().await, ProviderHealth::Unhealthy(_)));
    assert!(matches!(p.get_lease(&l.reference).await, Err(PersistenceError::NotRunning(_))));
    assert!(p.metrics().errors >= 1);
}

pub async fn survives_restart(f: Factory) {
    let dir = tempfile::tempdir().unwrap();
    let l = lease("actor", "durable", "n1", 60_000);
    let n = node("durable-node", 60_000);
    {
        let p = open(f, dir.path()).await;
        p.store_lease(&l).await.unwrap();
        p.store_node(&n).await.unwrap();
        let tx = p.begin_transaction().await.unwrap();
        p.transaction_write(tx, WriteOp::Put(Record::Lease(lease("actor", "tx", "n1", 60_000)))).await.unwrap();
        p.commit_transaction(tx).await.unwrap();
        p.shutdown().await.unwrap();
    }
    let p = open(f, dir.path()).await;
    assert_eq!(p.get_lease(&l.reference).await.unwrap(), Some(l));
    assert_eq!(p.get_node(&n.id).await.unwrap(), Some(n));
    assert!(p.get_lease(&r("actor", "tx")).await.unwrap().is_some());
    p.shutdown().await.unwrap();
}

macro_rules! conformance {
    ($name:ident, $factory:expr, durable: $durable:tt) => {
        mod $name {
            use super::*;
            conformance!(@tests $factory, lease_crud, lease_expiry, leases_by_node_and_bulk, node_crud_and_expiry,
                transaction_commit_and_rollback, transaction_conflicts, concurrent_writers, health_and_metrics);
            conformance!(@durable $durable, $factory);
        }
    };
    (@tests $factory:expr, $($test:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            super::$test($factory).await;
        }
    )*};
    (@durable true, $factory:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn survives_restart() {
            super::survives_restart($factory).await;
        }
    };
    (@durable false, $factory:expr) => {};
}

conformance!(memory_provider, memory, durable: false);
conformance!(memory_provider_with_backup, memory_backed, durable: true);
conformance!(rocksdb_provider, rocksdb, durable: true);
conformance!(rocksdb_provider_without_read_cache, rocksdb_uncached, durable: true);
conformance!(composite_of_memory, composite_memory, durable: false);
conformance!(composite_rocksdb_over_memory_backup, composite_rocksdb, durable: true);
