//! The composite provider: a primary and a backup, each any provider.
//! Reads and writes go to the primary; what it changes is copied to the
//! backup every `sync_interval`. After `failover_threshold` consecutive
//! failed health checks of the primary, everything moves to the backup;
//! moving back is explicit ([`CompositeProvider::failback`]), since only an
//! operator knows whether the primary is fit again.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::config::CompositeConfig;
use crate::error::{PersistenceError, Result};
use crate::metrics::{OpKind, ProviderMetrics, Recorder};
use crate::model::{AddressableLease, AddressableReference, NodeId, NodeInfo, Record, RecordKey, WriteOp};
use crate::periodic::Periodic;
use crate::provider::{
    AddressableDirectoryProvider, ClusterNodeProvider, PersistenceProvider, Provider, ProviderHealth, ProviderKind,
    TransactionId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Primary,
    Backup,
}

#[derive(Debug)]
struct OpenTx {
    side: Side,
    inner: TransactionId,
    written: Vec<RecordKey>,
}

#[derive(Debug)]
struct Shared {
    name: String,
    sync_interval: Duration,
    health_interval: Duration,
    threshold: u32,
    primary: Arc<dyn Provider>,
    backup: Arc<dyn Provider>,
    on_backup: AtomicBool,
    failures: AtomicU32,
    failover_reason: Mutex<Option<String>>,
    /// Keys the primary changed since the last copy to the backup.
    dirty: Mutex<HashSet<RecordKey>>,
}

/// A primary provider with a backup and failover.
#[derive(Debug)]
pub struct CompositeProvider {
    shared: Arc<Shared>,
    recorder: Recorder,
    running: AtomicBool,
    next_tx: AtomicU64,
    txs: Mutex<HashMap<TransactionId, OpenTx>>,
    tasks: Mutex<Vec<Periodic>>,
}

impl Shared {
    fn side(&self) -> Side {
        if self.on_backup.load(Ordering::Acquire) { Side::Backup } else { Side::Primary }
    }

    fn provider(&self, side: Side) -> &Arc<dyn Provider> {
        match side {
            Side::Primary => &self.primary,
            Side::Backup => &self.backup,
        }
    }

    fn mark(&self, side: Side, keys: impl IntoIterator<Item = RecordKey>) {
        if side == Side::Primary {
            self.dirty.lock().extend(keys);
        }
    }

    /// Copies one key's current state from `from` to `to`.
    async fn copy_key(from: &dyn Provider, to: &dyn Provider, key: &RecordKey) -> Result<()> {
        match key {
            RecordKey::Lease(r) => match from.get_lease(r).await? {
                Some(l) => to.store_lease(&l).await,
                None => to.remove_lease(r).await.map(|_| ()),
            },
            RecordKey::Node(id) => match from.get_node(id).await? {
                Some(n) => to.store_node(&n).await,
                None => to.remove_node(id).await.map(|_| ()),
            },
        }
    }

    /// Copies what the primary changed to the backup; keys that fail stay
    /// queued for the next round.
    async fn sync_dirty(&self) -> Result<usize> {
        let keys: Vec<RecordKey> = self.dirty.lock().drain().collect();
        let mut failed = Vec::new();
        let mut first_error = None;
        for key in &keys {
            if let Err(e) = Self::copy_key(self.primary.as_ref(), self.backup.as_ref(), key).await {
                failed.push(key.clone());
                first_error.get_or_insert(e);
            }
        }
        let copied = keys.len() - failed.len();
        self.dirty.lock().extend(failed);
        // Expired entries the primary cleaned up never show up as changes.
        self.backup.cleanup_expired_leases().await?;
        self.backup.cleanup_expired_nodes().await?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(copied),
        }
    }

    /// Makes `to` hold exactly what `from` holds.
    async fn full_copy(from: &dyn Provider, to: &dyn Provider) -> Result<()> {
        let leases = from.list_all_leases().await?;
        let keep: HashSet<&AddressableReference> = leases.iter().map(|l| &l.reference).collect();
        let stale: Vec<AddressableReference> =
            to.list_all_leases().await?.into_iter().map(|l| l.reference).filter(|r| !keep.contains(r)).collect();
        to.store_leases_bulk(&leases).await?;
        to.remove_leases_bulk(&stale).await?;
        let nodes = from.list_all_nodes().await?;
        let ids: HashSet<&NodeId> = nodes.iter().map(|n| &n.id).collect();
        for n in to.list_all_nodes().await? {
            if !ids.contains(&n.id) {
                to.remove_node(&n.id).await?;
            }
        }
        for n in &nodes {
            to.store_node(n).await?;
        }
        Ok(())
    }

    async fn check_primary(&self) {
        if self.on_backup.load(Ordering::Acquire) {
            return;
        }
        match self.primary.health_check().await {
            ProviderHealth::Unhealthy(reason) => {
                let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
                tracing::warn!(provider = %self.name, failures = n, threshold = self.threshold, %reason, "primary failed its health check");
                if n >= self.threshold {
                    self.fail_over(format!("primary failed {n} consecutive health checks: {reason}"));
                }
            }
            _ => self.failures.store(0, Ordering::Release),
        }
    }

    fn fail_over(&self, reason: String) {
        if self.on_backup.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::error!(
            provider = %self.name,
            %reason,
            unsynced_keys = self.dirty.lock().len(),
            "failing over: reads and writes now go to the backup"
        );
        *self.failover_reason.lock() = Some(reason);
    }
}

impl CompositeProvider {
    /// A composite named `name` over `primary` and `backup`, with the
    /// intervals and threshold of `config` (its nested provider configs are
    /// the registry's to build).
    pub fn new(
        name: impl Into<String>,
        config: &CompositeConfig,
        primary: Arc<dyn Provider>,
        backup: Arc<dyn Provider>,
    ) -> Self {
        CompositeProvider {
            shared: Arc::new(Shared {
                name: name.into(),
                sync_interval: Duration::from_secs(config.sync_interval.max(1)),
                health_interval: Duration::from_secs(config.health_check_interval.max(1)),
                threshold: config.failover_threshold.max(1),
                primary,
                backup,
                on_backup: AtomicBool::new(false),
                failures: AtomicU32::new(0),
                failover_reason: Mutex::new(None),
                dirty: Mutex::new(HashSet::new()),
            }),
            recorder: Recorder::default(),
            running: AtomicBool::new(false),
            next_tx: AtomicU64::new(1),
            txs: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Whether reads and writes currently go to the backup.
    pub fn is_failed_over(&self) -> bool {
        self.shared.on_backup.load(Ordering::Acquire)
    }

    /// Copies the primary's pending changes to the backup now; returns how
    /// many keys were copied.
    pub async fn sync_now(&self) -> Result<usize> {
        if self.is_failed_over() {
            return Ok(0);
        }
        self.shared.sync_dirty().await
    }

    /// Runs one health check of the primary now, as the timer does.
    pub async fn check_primary_now(&self) {
        self.shared.check_primary().await;
    }

    /// Moves back to the primary: refuses while the primary is unhealthy,
    /// otherwise copies the backup's state to it (the backup took every
    /// write since the failover) and sends reads and writes there again.
    pub async fn failback(&self) -> Result<()> {
        let s = &self.shared;
        if !self.is_failed_over() {
            return Ok(());
        }
        if let ProviderHealth::Unhealthy(reason) = s.primary.health_check().await {
            return Err(PersistenceError::Backend {
                provider: s.name.clone(),
                message: format!("cannot fail back: the primary is unhealthy: {reason}"),
            });
        }
        Shared::full_copy(s.backup.as_ref(), s.primary.as_ref()).await?;
        s.dirty.lock().clear();
        s.failures.store(0, Ordering::Release);
        *s.failover_reason.lock() = None;
        s.on_backup.store(false, Ordering::Release);
        tracing::info!(provider = %s.name, "failed back: reads and writes go to the primary again");
        Ok(())
    }

    fn active(&self) -> Result<(Side, &Arc<dyn Provider>)> {
        if !self.running.load(Ordering::Acquire) {
            return Err(PersistenceError::NotRunning(self.shared.name.clone()));
        }
        let side = self.shared.side();
        Ok((side, self.shared.provider(side)))
    }

    async fn timed<T, F: Future<Output = Result<T>>>(
        &self,
        kind: OpKind,
        f: impl FnOnce(Arc<dyn Provider>) -> F,
    ) -> Result<(Side, T)> {
        let started = Instant::now();
        let r = match self.active() {
            Ok((side, p)) => f(p.clone()).await.map(|v| (side, v)),
            Err(e) => Err(e),
        };
        self.recorder.observe(kind, started, r)
    }

    fn spawn_tasks(&self) {
        let s = self.shared.clone();
        let sync = Periodic::spawn(s.sync_interval, move || {
            let s = s.clone();
            async move {
                if !s.on_backup.load(Ordering::Acquire)
                    && let Err(e) = s.sync_dirty().await
                {
                    tracing::warn!(provider = %s.name, error = %e, "copying changes to the backup failed; will retry");
                }
            }
        });
        let s = self.shared.clone();
        let health = Periodic::spawn(s.health_interval, move || {
            let s = s.clone();
            async move { s.check_primary().await }
        });
        *self.tasks.lock() = vec![sync, health];
    }
}

#[async_trait]
impl PersistenceProvider for CompositeProvider {
    fn name(&self) -> &str {
        &self.shared.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Composite
    }

    async fn initialize(&self) -> Result<()> {
        if self.running.load(Ordering::Acquire) {
            return Ok(());
        }
        let s = &self.shared;
        s.backup.initialize().await?;
        match s.primary.initialize().await {
            Ok(()) => {
                // The backup may be behind (changes made after the last
                // copy before a stop): bring it level.
                if let Err(e) = Shared::full_copy(s.primary.as_ref(), s.backup.as_ref()).await {
                    tracing::warn!(provider = %s.name, error = %e, "initial copy to the backup failed; will copy changes as they come");
                }
            }
            Err(e) => s.fail_over(format!("primary did not start: {e}")),
        }
        self.running.store(true, Ordering::Release);
        self.spawn_tasks();
        Ok(())
    }

    async fn shutdown(&self) -> Result<()> {
        if !self.running.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let tasks = std::mem::take(&mut *self.tasks.lock());
        for t in tasks {
            t.stop().await;
        }
        let s = &self.shared;
        let mut result = Ok(());
        if !s.on_backup.load(Ordering::Acquire)
            && let Err(e) = s.sync_dirty().await
        {
            tracing::warn!(provider = %s.name, error = %e, "last copy to the backup failed");
        }
        for p in [&s.primary, &s.backup] {
            if let Err(e) = p.shutdown().await {
                result = Err(e);
            }
        }
        result
    }

    async fn health_check(&self) -> ProviderHealth {
        let s = &self.shared;
        if !self.running.load(Ordering::Acquire) {
            return ProviderHealth::Unhealthy(format!("provider {} is not running", s.name));
        }
        if s.on_backup.load(Ordering::Acquire) {
            let reason = s.failover_reason.lock().clone().unwrap_or_default();
            return match s.backup.health_check().await {
                ProviderHealth::Unhealthy(b) => ProviderHealth::Unhealthy(format!(
                    "failed over to the backup ({reason}), and the backup is unhealthy: {b}"
                )),
                _ => ProviderHealth::Degraded(format!("failed over to the backup: {reason}")),
            };
        }
        match (s.primary.health_check().await, s.backup.health_check().await) {
            (ProviderHealth::Unhealthy(p), _) => ProviderHealth::Degraded(format!(
                "primary unhealthy ({} of {} failed checks before failover): {p}",
                s.failures.load(Ordering::Acquire),
                s.threshold
            )),
            (_, ProviderHealth::Unhealthy(b)) => ProviderHealth::Degraded(format!("backup unhealthy: {b}")),
            (ProviderHealth::Degraded(p), _) => ProviderHealth::Degraded(format!("primary: {p}")),
            _ => ProviderHealth::Healthy,
        }
    }

    fn metrics(&self) -> ProviderMetrics {
        self.recorder.snapshot()
    }

    async fn begin_transaction(&self) -> Result<TransactionId> {
        let (side, p) = self.active()?;
        let inner = p.begin_transaction().await?;
        let id = TransactionId(self.next_tx.fetch_add(1, Ordering::Relaxed));
        self.txs.lock().insert(id, OpenTx { side, inner, written: Vec::new() });
        Ok(id)
    }

    async fn transaction_write(&self, tx: TransactionId, op: WriteOp) -> Result<()> {
        let (side, inner) = {
            let mut txs = self.txs.lock();
            let open = txs.get_mut(&tx).ok_or(PersistenceError::UnknownTransaction(tx))?;
            open.written.push(op.key());
            (open.side, open.inner)
        };
        self.shared.provider(side).transaction_write(inner, op).await
    }

    async fn transaction_get_lease(
        &self,
        tx: TransactionId,
        reference: &AddressableReference,
    ) -> Result<Option<AddressableLease>> {
        let (side, inner) =
            self.txs.lock().get(&tx).map(|t| (t.side, t.inner)).ok_or(PersistenceError::UnknownTransaction(tx))?;
        self.shared.provider(side).transaction_get_lease(inner, reference).await
    }

    async fn transaction_get_node(&self, tx: TransactionId, id: &NodeId) -> Result<Option<NodeInfo>> {
        let (side, inner) =
            self.txs.lock().get(&tx).map(|t| (t.side, t.inner)).ok_or(PersistenceError::UnknownTransaction(tx))?;
        self.shared.provider(side).transaction_get_node(inner, id).await
    }

    async fn commit_transaction(&self, tx: TransactionId) -> Result<()> {
        let started = Instant::now();
        let open = self.txs.lock().remove(&tx).ok_or(PersistenceError::UnknownTransaction(tx));
        let result = match open {
            Err(e) => Err(e),
            Ok(open) => {
                let p = self.shared.provider(open.side);
                if open.side != self.shared.side() {
                    let _ = p.rollback_transaction(open.inner).await;
                    Err(PersistenceError::Conflict("the provider failed over during the transaction".into()))
                } else {
                    let r = p.commit_transaction(open.inner).await;
                    if r.is_ok() {
                        self.shared.mark(open.side, open.written);
                    }
                    r
                }
            }
        };
        self.recorder.observe(OpKind::Write, started, result)
    }

    async fn rollback_transaction(&self, tx: TransactionId) -> Result<()> {
        let open = self.txs.lock().remove(&tx).ok_or(PersistenceError::UnknownTransaction(tx))?;
        self.shared.provider(open.side).rollback_transaction(open.inner).await
    }
}

fn lease_key(r: &AddressableReference) -> RecordKey {
    RecordKey::Lease(r.clone())
}

#[async_trait]
impl AddressableDirectoryProvider for CompositeProvider {
    async fn store_lease(&self, lease: &AddressableLease) -> Result<()> {
        let (side, ()) = self.timed(OpKind::Write, |p| async move { p.store_lease(lease).await }).await?;
        self.shared.mark(side, [lease_key(&lease.reference)]);
        Ok(())
    }

    async fn get_lease(&self, reference: &AddressableReference) -> Result<Option<AddressableLease>> {
        Ok(self.timed(OpKind::Read, |p| async move { p.get_lease(reference).await }).await?.1)
    }

    async fn update_lease(&self, lease: &AddressableLease) -> Result<bool> {
        let (side, updated) = self.timed(OpKind::Write, |p| async move { p.update_lease(lease).await }).await?;
        if updated {
            self.shared.mark(side, [lease_key(&lease.reference)]);
        }
        Ok(updated)
    }

    async fn remove_lease(&self, reference: &AddressableReference) -> Result<bool> {
        let (side, removed) = self.timed(OpKind::Delete, |p| async move { p.remove_lease(reference).await }).await?;
        self.shared.mark(side, [lease_key(reference)]);
        Ok(removed)
    }

    async fn list_leases_for_node(&self, node: &NodeId) -> Result<Vec<AddressableLease>> {
        Ok(self.timed(OpKind::Read, |p| async move { p.list_leases_for_node(node).await }).await?.1)
    }

    async fn list_all_leases(&self) -> Result<Vec<AddressableLease>> {
        Ok(self.timed(OpKind::Read, |p| async move { p.list_all_leases().await }).await?.1)
    }

    async fn cleanup_expired_leases(&self) -> Result<u64> {
        Ok(self.timed(OpKind::Delete, |p| async move { p.cleanup_expired_leases().await }).await?.1)
    }

    async fn store_leases_bulk(&self, leases: &[AddressableLease]) -> Result<()> {
        let (side, ()) = self.timed(OpKind::Write, |p| async move { p.store_leases_bulk(leases).await }).await?;
        self.shared.mark(side, leases.iter().map(|l| lease_key(&l.reference)));
        Ok(())
    }

    async fn remove_leases_bulk(&self, references: &[AddressableReference]) -> Result<u64> {
        let (side, n) = self.timed(OpKind::Delete, |p| async move { p.remove_leases_bulk(references).await }).await?;
        self.shared.mark(side, references.iter().map(lease_key));
        Ok(n)
    }
}

#[async_trait]
impl ClusterNodeProvider for CompositeProvider {
    async fn store_node(&self, node: &NodeInfo) -> Result<()> {
        let (side, ()) = self.timed(OpKind::Write, |p| async move { p.store_node(node).await }).await?;
        self.shared.mark(side, [Record::Node(node.clone()).key()]);
        Ok(())
    }

    async fn get_node(&self, id: &NodeId) -> Result<Option<NodeInfo>> {
        Ok(self.timed(OpKind::Read, |p| async move { p.get_node(id).await }).await?.1)
    }

    async fn update_node(&self, node: &NodeInfo) -> Result<bool> {
        let (side, updated) = self.timed(OpKind::Write, |p| async move { p.update_node(node).await }).await?;
        if updated {
            self.shared.mark(side, [RecordKey::Node(node.id.clone())]);
        }
        Ok(updated)
    }

    async fn remove_node(&self, id: &NodeId) -> Result<bool> {
        let (side, removed) = self.timed(OpKind::Delete, |p| async move { p.remove_node(id).await }).await?;
        self.shared.mark(side, [RecordKey::Node(id.clone())]);
        Ok(removed)
    }

    async fn list_active_nodes(&self) -> Result<Vec<NodeInfo>> {
        Ok(self.timed(OpKind::Read, |p| async move { p.list_active_nodes().await }).await?.1)
    }

    async fn list_all_nodes(&self) -> Result<Vec<NodeInfo>> {
        Ok(self.timed(OpKind::Read, |p| async move { p.list_all_nodes().await }).await?.1)
    }

    async fn cleanup_expired_nodes(&self) -> Result<u64> {
        // The removed ids are not known here; the backup cleans its own
        // expired nodes when changes are copied.
        Ok(self.timed(OpKind::Delete, |p| async move { p.cleanup_expired_nodes().await }).await?.1)
    }

    async fn renew_node_lease(&self, id: &NodeId, until: DateTime<Utc>) -> Result<bool> {
        let (side, renewed) = self.timed(OpKind::Write, |p| async move { p.renew_node_lease(id, until).await }).await?;
        if renewed {
            self.shared.mark(side, [RecordKey::Node(id.clone())]);
        }
        Ok(renewed)
    }
}
