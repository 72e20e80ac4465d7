//! Behaviour particular to one provider: the memory provider's limit and
//! disk backup, the composite's copy, failover and failback.

// A failed call is the test failing; its error is in the panic message.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::lease;
use orbit_persistence::{
    AddressableDirectoryProvider, BackupCompression, ClusterNodeProvider, CompositeConfig, CompositeProvider,
    DiskBackupConfig, MemoryConfig, MemoryStore, PersistenceError, PersistenceProvider, Provider, ProviderConfig,
    ProviderHealth, Record, StoreProvider, WriteOp,
};

fn memory(max_entries: usize, backup: Option<DiskBackupConfig>) -> Arc<StoreProvider<MemoryStore>> {
    Arc::new(StoreProvider::new("mem", MemoryStore::new("mem", MemoryConfig { max_entries, disk_backup: backup })))
}

#[tokio::test]
async fn memory_enforces_max_entries_and_degrades_near_it() {
    let p = memory(10, None);
    p.initialize().await.unwrap();
    let leases: Vec<_> = (0..8).map(|i| lease("a", &i.to_string(), "n", 60_000)).collect();
    p.store_leases_bulk(&leases).await.unwrap();
    assert_eq!(p.health_check().await, ProviderHealth::Healthy);
    p.store_lease(&lease("a", "8", "n", 60_000)).await.unwrap();
    assert!(matches!(p.health_check().await, ProviderHealth::Degraded(r) if r.contains("max_entries")));
    // Replacing an existing key needs no room.
    p.store_lease(&lease("a", "8", "n2", 60_000)).await.unwrap();
    p.store_lease(&lease("a", "9", "n", 60_000)).await.unwrap();
    let err = p.store_lease(&lease("a", "10", "n", 60_000)).await.unwrap_err();
    assert!(matches!(err, PersistenceError::CapacityExceeded { max_entries: 10, .. }), "{err}");
    // A bulk write that does not fit is refused whole.
    let more = [lease("a", "x", "n", 60_000), lease("a", "y", "n", 60_000)];
    assert!(p.store_leases_bulk(&more).await.is_err());
    assert_eq!(p.list_all_leases().await.unwrap().len(), 10);
    // So is a transaction.
    let tx = p.begin_transaction().await.unwrap();
    p.transaction_write(tx, WriteOp::Put(Record::Lease(lease("a", "t", "n", 60_000)))).await.unwrap();
    assert!(matches!(p.commit_transaction(tx).await, Err(PersistenceError::CapacityExceeded { .. })));
    // Deleting frees room.
    assert!(p.remove_lease(&leases[0].reference).await.unwrap());
    p.store_lease(&lease("a", "10", "n", 60_000)).await.unwrap();
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn memory_backup_round_trips_in_every_compression() {
    for compression in
        [BackupCompression::None, BackupCompression::Gzip, BackupCompression::Lz4, BackupCompression::Zstd]
    {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DiskBackupConfig { path: dir.path().join("sub/backup"), sync_interval: 300, compression };
        let p = memory(1000, Some(cfg.clone()));
        p.initialize().await.unwrap();
        let leases: Vec<_> = (0..100).map(|i| lease("a", &i.to_string(), "n", 60_000)).collect();
        p.store_leases_bulk(&leases).await.unwrap();
        p.store_node(&common::node("n", 60_000)).await.unwrap();
        p.shutdown().await.unwrap();
        assert!(!dir.path().join("sub/backup.tmp").exists(), "the temporary file is renamed away");

        // Read back by a provider configured with another compression: the
        // file's own format decides.
        let other = DiskBackupConfig { compression: BackupCompression::Gzip, ..cfg };
        let p = memory(1000, Some(other));
        p.initialize().await.unwrap();
        assert_eq!(p.list_all_leases().await.unwrap().len(), 100, "{compression:?}");
        assert_eq!(p.list_all_nodes().await.unwrap().len(), 1);
        p.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn memory_backup_is_written_periodically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.lz4");
    let p = memory(
        1000,
        Some(DiskBackupConfig { path: path.clone(), sync_interval: 1, compression: BackupCompression::Lz4 }),
    );
    p.initialize().await.unwrap();
    p.store_lease(&lease("a", "periodic", "n", 60_000)).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "no backup within 10 s of a change");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Without a shutdown (as after a crash), the backup restores.
    let again = memory(1000, Some(DiskBackupConfig { path, sync_interval: 300, compression: BackupCompression::None }));
    again.initialize().await.unwrap();
    assert_eq!(again.list_all_leases().await.unwrap().len(), 1);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_corrupt_backup_is_reported_not_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.json");
    for garbage in
        [&b"{\"format\": \"orbit-memory-backup\", \"version\": 1, \"records\": [tru"[..], &[0x1f, 0x8b, 0, 1, 2][..]]
    {
        std::fs::write(&path, garbage).unwrap();
        let p = memory(
            1000,
            Some(DiskBackupConfig { path: path.clone(), sync_interval: 300, compression: BackupCompression::None }),
        );
        let err = p.initialize().await.unwrap_err();
        assert!(matches!(err, PersistenceError::CorruptBackup { .. }), "{err}");
        assert!(err.to_string().contains("backup.json is corrupt"), "{err}");
        // The file is left for the operator.
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }
}

fn composite_of(primary: Arc<dyn Provider>, backup: Arc<dyn Provider>) -> CompositeProvider {
    let mem = || Box::new(ProviderConfig::Memory(MemoryConfig::default()));
    // Long intervals: the test drives syncs and health checks itself.
    let config = CompositeConfig {
        sync_interval: 3600,
        health_check_interval: 3600,
        failover_threshold: 2,
        primary: mem(),
        backup: mem(),
    };
    CompositeProvider::new("composite", &config, primary, backup)
}

#[tokio::test]
async fn composite_copies_to_the_backup_fails_over_and_fails_back() {
    let primary = memory(1000, None);
    let backup = memory(1000, None);
    let c = composite_of(primary.clone(), backup.clone());
    c.initialize().await.unwrap();
    let a = lease("a", "1", "n", 60_000);
    c.store_lease(&a).await.unwrap();
    assert_eq!(backup.get_lease(&a.reference).await.unwrap(), None, "copied on the interval, not at once");
    assert_eq!(c.sync_now().await.unwrap(), 1);
    assert_eq!(backup.get_lease(&a.reference).await.unwrap(), Some(a.clone()));
    c.remove_lease(&a.reference).await.unwrap();
    c.sync_now().await.unwrap();
    assert_eq!(backup.get_lease(&a.reference).await.unwrap(), None, "removals are copied too");
    c.store_lease(&a).await.unwrap();
    c.sync_now().await.unwrap();

    // The primary dies: one failed check is not enough, two are.
    primary.shutdown().await.unwrap();
    c.check_primary_now().await;
    assert!(!c.is_failed_over());
    assert!(matches!(c.health_check().await, ProviderHealth::Degraded(r) if r.contains("primary unhealthy")));
    c.check_primary_now().await;
    assert!(c.is_failed_over());
    let health = c.health_check().await;
    assert!(matches!(&health, ProviderHealth::Degraded(r) if r.contains("failed over to the backup")), "{health:?}");
    // Reads and writes carry on, on the backup.
    assert_eq!(c.get_lease(&a.reference).await.unwrap(), Some(a.clone()));
    let b = lease("a", "2", "n", 60_000);
    c.store_lease(&b).await.unwrap();
    assert_eq!(backup.get_lease(&b.reference).await.unwrap(), Some(b.clone()));
    // The primary comes back; failback copies what happened meanwhile.
    primary.initialize().await.unwrap();
    c.check_primary_now().await;
    assert!(c.is_failed_over(), "no automatic failback");
    c.failback().await.unwrap();
    assert!(!c.is_failed_over());
    assert_eq!(primary.get_lease(&b.reference).await.unwrap(), Some(b.clone()));
    assert_eq!(c.health_check().await, ProviderHealth::Healthy);
    c.shutdown().await.unwrap();
}

#[tokio::test]
async fn composite_starts_on_the_backup_when_the_primary_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt");
    std::fs::write(&path, b"not a backup").unwrap();
    let primary =
        memory(1000, Some(DiskBackupConfig { path, sync_interval: 300, compression: BackupCompression::None }));
    let backup = memory(1000, None);
    let c = composite_of(primary, backup.clone());
    c.initialize().await.unwrap();
    assert!(c.is_failed_over());
    let a = lease("a", "1", "n", 60_000);
    c.store_lease(&a).await.unwrap();
    assert_eq!(backup.get_lease(&a.reference).await.unwrap(), Some(a));
    assert!(matches!(c.health_check().await, ProviderHealth::Degraded(r) if r.contains("primary did not start")));
    // Failing back refuses while the primary cannot start.
    let err = c.failback().await.unwrap_err();
    assert!(err.to_string().contains("the primary does not start"), "{err}");
    assert!(c.is_failed_over());
    c.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_transaction_open_across_a_failover_does_not_commit() {
    let primary = memory(1000, None);
    let c = composite_of(primary.clone(), memory(1000, None));
    c.initialize().await.unwrap();
    let tx = c.begin_transaction().await.unwrap();
    c.transaction_write(tx, WriteOp::Put(Record::Lease(lease("a", "t", "n", 60_000)))).await.unwrap();
    primary.shutdown().await.unwrap();
    c.check_primary_now().await;
    c.check_primary_now().await;
    assert!(c.is_failed_over());
    assert!(c.commit_transaction(tx).await.unwrap_err().is_conflict());
    c.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_restart_while_failed_over_stays_on_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state/ha.failed-over");
    let backup_file = dir.path().join("backup.json");
    let backed = || {
        memory(
            1000,
            Some(DiskBackupConfig {
                path: backup_file.clone(),
                sync_interval: 300,
                compression: BackupCompression::None,
            }),
        )
    };
    let primary = memory(1000, None);
    let backup = backed();
    let c = composite_of(primary.clone(), backup.clone()).with_state_file(state.clone());
    c.initialize().await.unwrap();
    c.store_lease(&lease("a", "before", "n", 60_000)).await.unwrap();
    c.sync_now().await.unwrap();
    primary.shutdown().await.unwrap();
    c.check_primary_now().await;
    c.check_primary_now().await;
    assert!(c.is_failed_over());
    assert!(state.is_file(), "the failover is recorded");
    let after = lease("a", "after", "n", 60_000);
    c.store_lease(&after).await.unwrap();
    c.shutdown().await.unwrap();

    // Restarted with a healthy (but stale) primary: the backup keeps every
    // write it took, and stays in charge.
    let primary = memory(1000, None);
    let c = composite_of(primary.clone(), backed()).with_state_file(state.clone());
    c.initialize().await.unwrap();
    assert!(c.is_failed_over());
    assert_eq!(c.get_lease(&after.reference).await.unwrap(), Some(after.clone()));
    assert!(matches!(c.health_check().await, ProviderHealth::Degraded(r) if r.contains("before the last restart")));
    c.failback().await.unwrap();
    assert!(!state.exists(), "failback clears the record");
    assert_eq!(primary.get_lease(&after.reference).await.unwrap(), Some(after));
    c.shutdown().await.unwrap();
}

#[tokio::test]
async fn failback_starts_a_primary_that_never_started() {
    let primary = memory(1000, None);
    let c = composite_of(primary.clone(), memory(1000, None));
    c.initialize().await.unwrap();
    primary.shutdown().await.unwrap();
    c.check_primary_now().await;
    c.check_primary_now().await;
    let l = lease("a", "x", "n", 60_000);
    c.store_lease(&l).await.unwrap();
    // The primary is down; failback opens it again and copies.
    c.failback().await.unwrap();
    assert_eq!(primary.get_lease(&l.reference).await.unwrap(), Some(l));
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_acknowledged_before_shutdown_is_in_the_final_backup() {
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        DiskBackupConfig { path: dir.path().join("b.json"), sync_interval: 300, compression: BackupCompression::None };
    let p = memory(1_000_000, Some(cfg.clone()));
    p.initialize().await.unwrap();
    let mut writers = Vec::new();
    for w in 0..4 {
        let p = p.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                let l = lease("a", &format!("{w}-{i}"), "n", 60_000);
                match p.store_lease(&l).await {
                    Ok(()) => acked.push(l.reference),
                    Err(PersistenceError::NotRunning(_)) => return acked,
                    Err(e) => panic!("{e}"),
                }
                if i % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            acked
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    p.shutdown().await.unwrap();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(!acked.is_empty());
    let again = memory(1_000_000, Some(cfg));
    again.initialize().await.unwrap();
    assert_eq!(again.list_all_leases().await.unwrap().len(), acked.len(), "acknowledged writes all restored");
}
