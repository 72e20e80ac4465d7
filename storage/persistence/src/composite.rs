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
    /// Client writes hold it shared while they pick a side and write; a
    /// copy to the backup holds it exclusively for each key it writes, and
    /// failback for its whole copy, so neither can overwrite a newer
    /// client write or miss one.
    gate: tokio::sync::RwLock<()>,
    /// One copy to the backup at a time: two could write one key's values
    /// out of order.
    syncing: tokio::sync::Mutex<()>,
    /// Where the failed-over state is kept across restarts, so that a
    /// restart does not copy a stale primary over the backup that took
    /// every write since the failover.
    state_file: Option<std::path::PathBuf>,
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

    /// The current state of `key` on `from`.
    async fn read_key(from: &dyn Provider, key: &RecordKey) -> Result<Option<Record>> {
        Ok(match key {
            RecordKey::Lease(r) => from.get_lease(r).await?.map(Record::Lease),
            RecordKey::Node(id) => from.get_node(id).await?.map(Record::Node),
        })
    }

    /// Makes `key` on `to` what `value` says.
    async fn write_key(to: &dyn Provider, key: &RecordKey, value: Option<Record>) -> Result<()> {
        match (key, value) {
            (_, Some(Record::Lease(l))) => to.store_lease(&l).await,
            (_, Some(Record::Node(n))) => to.store_node(&n).await,
            (RecordKey::Lease(r), None) => to.remove_lease(r).await.map(|_| ()),
            (RecordKey::Node(id), None) => to.remove_node(id).await.map(|_| ()),
        }
    }

    /// Copies what the primary changed to the backup; keys that fail stay
    /// queued for the next round. Stops, leaving the rest queued, if the
    /// composite fails over meanwhile: the backup is then the authority.
    async fn sync_dirty(&self) -> Result<usize> {
        let _one_at_a_time = self.syncing.lock().await;
        if self.on_backup.load(Ordering::Acquire) {
            return Ok(0);
        }
        let keys: Vec<RecordKey> = self.dirty.lock().drain().collect();
        let mut failed = Vec::new();
        let mut first_error = None;
        let mut copied = 0;
        for (i, key) in keys.iter().enumerate() {
            let value = match Self::read_key(self.primary.as_ref(), key).await {
                Ok(v) => v,
                Err(e) => {
                    failed.push(key.clone());
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let _exclusive = self.gate.write().await;
            if self.on_backup.load(Ordering::Acquire) {
                failed.extend(keys[i..].iter().cloned());
                break;
            }
            match Self::write_key(self.backup.as_ref(), key, value).await {
                Ok(()) => copied += 1,
                Err(e) => {
                    failed.push(key.clone());
                    first_error.get_or_insert(e);
                }
            }
        }
        self.dirty.lock().extend(failed);
        if self.on_backup.load(Ordering::Acquire) {
            return Ok(copied);
        }
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
                    // An unhealthy primary can often still be read: copy
                    // what the backup lacks while it lets us, briefly.
                    if let Err(e) =
                        tokio::time::timeout(self.health_interval, self.sync_dirty()).await.unwrap_or_else(|_| {
                            Err(PersistenceError::Backend { provider: self.name.clone(), message: "timed out".into() })
                        })
                    {
                        tracing::warn!(provider = %self.name, error = %e, "last copy to the backup before failover failed");
                    }
                    self.fail_over(format!("primary failed {n} consecutive health checks: {reason}")).await;
                }
            }
            _ => self.failures.store(0, Ordering::Release),
        }
    }

    async fn fail_over(&self, reason: String) {
        if self.on_backup.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::error!(
            provider = %self.name,
            %reason,
            unsynced_keys = self.dirty.lock().len(),
            "failing over: reads and writes now go to the backup"
        );
        *self.failover_reason.lock() = Some(reason.clone());
        if let Some(path) = self.state_file.clone() {
            let written = tokio::task::spawn_blocking(move || {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, reason)
            })
            .await;
            if !matches!(written, Ok(Ok(()))) {
                tracing::error!(provider = %self.name, "cannot record the failover; a restart would copy the primary over the backup");
            }
        }
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
                gate: tokio::sync::RwLock::new(()),
                syncing: tokio::sync::Mutex::new(()),
                state_file: None,
            }),
            recorder: Recorder::default(),
            running: AtomicBool::new(false),
            next_tx: AtomicU64::new(1),
            txs: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Keeps the failed-over state in `path` (created on failover, removed
    /// on failback), so that a restart stays on the backup.
    pub fn with_state_file(mut self, path: std::path::PathBuf) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.state_file = Some(path);
        }
        self
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
        let _one_at_a_time = s.syncing.lock().await;
        let refuse = |message: String| PersistenceError::Backend { provider: s.name.clone(), message };
        // A primary that never started (or was restarted) may need opening.
        s.primary
            .initialize()
            .await
            .map_err(|e| refuse(format!("cannot fail back: the primary does not start: {e}")))?;
        if let ProviderHealth::Unhealthy(reason) = s.primary.health_check().await {
            return Err(refuse(format!("cannot fail back: the primary is unhealthy: {reason}")));
        }
        // No client write may land on the backup during the copy and be
        // left behind.
        let _exclusive = s.gate.write().await;
        Shared::full_copy(s.backup.as_ref(), s.primary.as_ref()).await?;
        if let Some(path) = s.state_file.clone() {
            match tokio::task::spawn_blocking(move || std::fs::remove_file(&path)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                _ => return Err(refuse("cannot clear the recorded failover".into())),
            }
        }
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
    ) -> Result<T> {
        let started = Instant::now();
        let r = match self.active() {
            Ok((_, p)) => f(p.clone()).await,
            Err(e) => Err(e),
        };
        self.recorder.observe(kind, started, r)
    }

    /// Runs a write on the active side, holding the gate so that a copy to
    /// the backup or a failback cannot interleave with it, and queues its
    /// keys for the backup both before (so a write whose caller gives up
    /// half-way is still copied) and after (so a copy that read the key
    /// meanwhile does not leave the new value behind).
    async fn write<T, F: Future<Output = Result<T>>>(
        &self,
        kind: OpKind,
        keys: Vec<RecordKey>,
        f: impl FnOnce(Arc<dyn Provider>) -> F,
    ) -> Result<T> {
        let started = Instant::now();
        let _shared = self.shared.gate.read().await;
        let r = match self.active() {
            Ok((side, p)) => {
                self.shared.mark(side, keys.iter().cloned());
                let r = f(p.clone()).await;
                self.shared.mark(side, keys);
                r
            }
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
        let recorded = match s.state_file.clone() {
            Some(path) => tokio::task::spawn_blocking(move || std::fs::read_to_string(path).ok()).await.ok().flatten(),
            None => None,
        };
        let primary = s.primary.initialize().await;
        match (recorded, primary) {
            // Failed over before the restart: the backup holds every write
            // since, so it stays in charge until an explicit failback.
            (Some(reason), _) => {
                s.on_backup.store(true, Ordering::Release);
                tracing::warn!(provider = %s.name, %reason, "still failed over from before the restart; fail back explicitly");
                *s.failover_reason.lock() = Some(format!("{reason} (before the last restart)"));
            }
            (None, Ok(())) => {
                // The backup may be behind (changes made after the last
                // copy before a stop): bring it level.
                if let Err(e) = Shared::full_copy(s.primary.as_ref(), s.backup.as_ref()).await {
                    tracing::warn!(provider = %s.name, error = %e, "initial copy to the backup failed; will copy changes as they come");
                }
            }
            (None, Err(e)) => s.fail_over(format!("primary did not start: {e}")).await,
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
        let _shared = self.shared.gate.read().await;
        let open = self.txs.lock().remove(&tx).ok_or(PersistenceError::UnknownTransaction(tx));
        let result = match open {
            Err(e) => Err(e),
            Ok(open) => {
                let p = self.shared.provider(open.side);
                if open.side != self.shared.side() {
                    let _ = p.rollback_transaction(open.inner).await;
                    Err(PersistenceError::Conflict("the provider failed over during the transaction".into()))
                } else {
                    self.shared.mark(open.side, open.written.iter().cloned());
                    let r = p.commit_transaction(open.inner).await;
                    self.shared.mark(open.side, open.written);
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

fn node_key(id: &NodeId) -> RecordKey {
    RecordKey::Node(id.clone())
}

#[async_trait]
impl AddressableDirectoryProvider for CompositeProvider {
    async fn store_lease(&self, lease: &AddressableLease) -> Result<()> {
        self.write(OpKind::Write, vec![lease_key(&lease.reference)], |p| async move { p.store_lease(lease).await })
            .await
    }

    async fn get_lease(&self, reference: &AddressableReference) -> Result<Option<AddressableLease>> {
        self.timed(OpKind::Read, |p| async move { p.get_lease(reference).await }).await
    }

    async fn update_lease(&self, lease: &AddressableLease) -> Result<bool> {
        self.write(OpKind::Write, vec![lease_key(&lease.reference)], |p| async move { p.update_lease(lease).await })
            .await
    }

    async fn remove_lease(&self, reference: &AddressableReference) -> Result<bool> {
        self.write(OpKind::Delete, vec![lease_key(reference)], |p| async move { p.remove_lease(reference).await }).await
    }

    async fn list_leases_for_node(&self, node: &NodeId) -> Result<Vec<AddressableLease>> {
        self.timed(OpKind::Read, |p| async move { p.list_leases_for_node(node).await }).await
    }

    async fn list_all_leases(&self) -> Result<Vec<AddressableLease>> {
        self.timed(OpKind::Read, |p| async move { p.list_all_leases().await }).await
    }

    async fn cleanup_expired_leases(&self) -> Result<u64> {
        self.timed(OpKind::Delete, |p| async move { p.cleanup_expired_leases().await }).await
    }

    async fn store_leases_bulk(&self, leases: &[AddressableLease]) -> Result<()> {
        let keys = leases.iter().map(|l| lease_key(&l.reference)).collect();
        self.write(OpKind::Write, keys, |p| async move { p.store_leases_bulk(leases).await }).await
    }

    async fn remove_leases_bulk(&self, references: &[AddressableReference]) -> Result<u64> {
        let keys = references.iter().map(lease_key).collect();
        self.write(OpKind::Delete, keys, |p| async move { p.remove_leases_bulk(references).await }).await
    }
}

#[async_trait]
impl ClusterNodeProvider for CompositeProvider {
    async fn store_node(&self, node: &NodeInfo) -> Result<()> {
        self.write(OpKind::Write, vec![node_key(&node.id)], |p| async move { p.store_node(node).await }).await
    }

    async fn get_node(&self, id: &NodeId) -> Result<Option<NodeInfo>> {
        self.timed(OpKind::Read, |p| async move { p.get_node(id).await }).await
    }

    async fn update_node(&self, node: &NodeInfo) -> Result<bool> {
        self.write(OpKind::Write, vec![node_key(&node.id)], |p| async move { p.update_node(node).await }).await
    }

    async fn remove_node(&self, id: &NodeId) -> Result<bool> {
        self.write(OpKind::Delete, vec![node_key(id)], |p| async move { p.remove_node(id).await }).await
    }

    async fn list_active_nodes(&self) -> Result<Vec<NodeInfo>> {
        self.timed(OpKind::Read, |p| async move { p.list_active_nodes().await }).await
    }

    async fn list_all_nodes(&self) -> Result<Vec<NodeInfo>> {
        self.timed(OpKind::Read, |p| async move { p.list_all_nodes().await }).await
    }

    async fn cleanup_expired_nodes(&self) -> Result<u64> {
        // The removed ids are not known here; the backup cleans its own
        // expired nodes when changes are copied.
        self.timed(OpKind::Delete, |p| async move { p.cleanup_expired_nodes().await }).await
    }

    async fn renew_node_lease(&self, id: &NodeId, until: DateTime<Utc>) -> Result<bool> {
        self.write(OpKind::Write, vec![node_key(id)], |p| async move { p.renew_node_lease(id, until).await }).await
    }
}
