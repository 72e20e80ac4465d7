//! [`StoreProvider`]: a full provider over any [`RecordStore`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::backend::{RecordStore, StoreTx};
use crate::error::{PersistenceError, Result};
use crate::metrics::{OpKind, ProviderMetrics, Recorder};
use crate::model::{AddressableLease, AddressableReference, NodeId, NodeInfo, Record, RecordKey, Table, WriteOp};
use crate::periodic::Periodic;
use crate::provider::{
    AddressableDirectoryProvider, ClusterNodeProvider, PersistenceProvider, ProviderHealth, ProviderKind, TransactionId,
};

/// Read-modify-write retries before a conflict is reported. Conflicts come
/// from concurrent writers of the same key; with the back-off below, these
/// settle any realistic contention on one lease.
const MAX_RETRIES: usize = 64;

/// Waits a little after conflict number `attempt`, longer each time, so
/// that writers retrying in lockstep stop colliding: two threads retrying
/// at once on one key could otherwise starve one of them (seen with 8
/// writers of one lease on 2 cores). Spins first, then yields the thread,
/// and only under heavy contention sleeps, up to about half a millisecond.
/// A backend that runs on the caller's thread (`S::BLOCKING` false: an
/// async worker) never sleeps, and keeps yielding instead.
fn back_off<S: RecordStore>(attempt: usize) {
    match attempt {
        0..=3 => (0..(1 << attempt)).for_each(|_| std::hint::spin_loop()),
        _ if attempt < 16 || !S::BLOCKING => std::thread::yield_now(),
        _ => std::thread::sleep(std::time::Duration::from_micros(8 << (attempt - 16).min(6))),
    }
}

/// Keys deleted per transaction by the expiry clean-ups.
const CLEANUP_BATCH: usize = 512;

type SharedTx = Arc<Mutex<Option<Box<dyn StoreTx>>>>;

/// A provider over a [`RecordStore`] backend.
pub struct StoreProvider<S: RecordStore> {
    name: String,
    store: Arc<S>,
    recorder: Recorder,
    running: AtomicBool,
    /// Operations under way; shutdown waits for them before it closes the
    /// backend, so that nothing acknowledged misses the final backup.
    in_flight: AtomicUsize,
    next_tx: AtomicU64,
    txs: Mutex<HashMap<TransactionId, SharedTx>>,
    background: Mutex<Option<Periodic>>,
}

impl<S: RecordStore> std::fmt::Debug for StoreProvider<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreProvider").field("name", &self.name).field("store", &self.store).finish_non_exhaustive()
    }
}

fn live_lease(record: Option<Record>, now: DateTime<Utc>) -> Option<AddressableLease> {
    match record {
        Some(Record::Lease(l)) if !l.is_expired(now) => Some(l),
        _ => None,
    }
}

fn node(record: Option<Record>) -> Option<NodeInfo> {
    match record {
        Some(Record::Node(n)) => Some(n),
        _ => None,
    }
}

fn task_failed(e: tokio::task::JoinError) -> PersistenceError {
    PersistenceError::Backend { provider: "persistence".into(), message: format!("background task failed: {e}") }
}

/// Runs `body` in a transaction and commits what it wrote, retrying the
/// whole of it on conflicts (with back-off). `body` returns `None` to make
/// no change: the transaction is rolled back and `None` returned.
fn in_tx<S: RecordStore, T>(
    store: &S,
    mut body: impl FnMut(&mut dyn StoreTx) -> Result<Option<T>>,
) -> Result<Option<T>> {
    let mut last = None;
    for attempt in 0..MAX_RETRIES {
        let mut tx = store.begin()?;
        let Some(out) = body(tx.as_mut())? else {
            tx.rollback()?;
            return Ok(None);
        };
        match tx.commit() {
            Ok(()) => return Ok(Some(out)),
            Err(e) if e.is_conflict() => {
                last = Some(e);
                back_off::<S>(attempt);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| PersistenceError::Conflict("the records kept changing".into())))
}

/// Runs one read-modify-write of `key` in a transaction, retrying on
/// conflicts. `decide` sees the current record and returns the write to
/// make, or `None` to make none. Returns the record as it was before when
/// a write was made, `None` otherwise.
fn modify<S: RecordStore>(
    store: &S,
    key: &RecordKey,
    decide: &dyn Fn(Option<Record>) -> Option<WriteOp>,
) -> Result<Option<Option<Record>>> {
    in_tx(store, |tx| {
        let current = tx.get(key)?;
        match decide(current.clone()) {
            Some(op) => tx.write(op).map(|()| Some(current)),
            None => Ok(None),
        }
    })
}

/// Deletes, in transactions, those of `keys` that `doomed` still condemns
/// when re-read; returns how many went.
fn delete_if<S: RecordStore>(store: &S, keys: &[RecordKey], doomed: &dyn Fn(&Record) -> bool) -> Result<u64> {
    let mut removed = 0;
    for chunk in keys.chunks(CLEANUP_BATCH) {
        removed += in_tx(store, |tx| {
            let mut n = 0;
            for key in chunk {
                if tx.get(key)?.is_some_and(|r| doomed(&r)) {
                    tx.write(WriteOp::Delete(key.clone()))?;
                    n += 1;
                }
            }
            Ok(Some(n))
        })?
        .unwrap_or(0);
    }
    Ok(removed)
}

/// Whether a record's lease (a lease's, or a node's membership) has run
/// out at `now`.
fn expired(r: &Record, now: DateTime<Utc>) -> bool {
    match r {
        Record::Lease(l) => l.is_expired(now),
        Record::Node(n) => n.is_expired(now),
    }
}

/// Removes the expired records of `table`, each re-checked in the
/// transaction that removes it (a renewal meanwhile saves it).
fn remove_expired<S: RecordStore>(store: &S, table: Table) -> Result<u64> {
    let now = Utc::now();
    let keys: Vec<RecordKey> = store.scan(table)?.into_iter().filter(|r| expired(r, now)).map(|r| r.key()).collect();
    delete_if(store, &keys, &|r| expired(r, Utc::now()))
}

impl<S: RecordStore> StoreProvider<S> {
    /// A provider named `name` over `store`; call
    /// [`initialize`](PersistenceProvider::initialize) before use.
    pub fn new(name: impl Into<String>, store: S) -> Self {
        StoreProvider {
            name: name.into(),
            store: Arc::new(store),
            recorder: Recorder::default(),
            running: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            next_tx: AtomicU64::new(1),
            txs: Mutex::new(HashMap::new()),
            background: Mutex::new(None),
        }
    }

    /// The backend.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Counts an operation in, or refuses it once shutdown has begun.
    /// Sequentially consistent with shutdown's flag and count: either the
    /// operation sees the flag down, or shutdown sees it counted.
    fn enter(&self) -> Result<InFlight<'_>> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let op = InFlight(&self.in_flight);
        if self.running.load(Ordering::SeqCst) { Ok(op) } else { Err(PersistenceError::NotRunning(self.name.clone())) }
    }

    /// Runs `f` on the backend, off the async workers when it blocks.
    async fn call<T: Send + 'static>(&self, f: impl FnOnce(&S) -> Result<T> + Send + 'static) -> Result<T> {
        let _op = self.enter()?;
        if S::BLOCKING {
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || f(&store)).await.map_err(task_failed)?
        } else {
            f(&self.store)
        }
    }

    /// Reads one key: on the caller's thread when the backend can answer
    /// without I/O, else through [`call`](Self::call). Timed as a read.
    async fn read_key<T: Send + 'static>(&self, key: RecordKey, map: fn(Option<Record>) -> T) -> Result<T> {
        let started = Instant::now();
        let op = self.enter();
        let r = match op.as_ref().map(|_| self.store.get_nonblocking(&key)) {
            Ok(Some(r)) => r.map(map),
            Ok(None) => self.call(move |s| s.get(&key).map(map)).await,
            Err(_) => Err(PersistenceError::NotRunning(self.name.clone())),
        };
        drop(op);
        self.recorder.observe(OpKind::Read, started, r)
    }

    /// Writes a batch: on the caller's thread when the backend can do it
    /// without waiting, else through [`call`](Self::call). Timed as a write.
    async fn write_ops(&self, ops: Vec<WriteOp>) -> Result<()> {
        let started = Instant::now();
        let op = self.enter();
        let r = match op.as_ref().map(|_| self.store.write_nonblocking(&ops)) {
            Ok(Some(r)) => r,
            Ok(None) => self.call(move |s| s.write(ops)).await,
            Err(_) => Err(PersistenceError::NotRunning(self.name.clone())),
        };
        drop(op);
        self.recorder.observe(OpKind::Write, started, r)
    }

    /// [`call`](Self::call), timed and counted as `kind`.
    async fn timed<T: Send + 'static>(
        &self,
        kind: OpKind,
        f: impl FnOnce(&S) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let started = Instant::now();
        let r = self.call(f).await;
        self.recorder.observe(kind, started, r)
    }

    fn tx(&self, id: TransactionId) -> Result<SharedTx> {
        self.txs.lock().get(&id).cloned().ok_or(PersistenceError::UnknownTransaction(id))
    }

    /// Runs `f` on an open transaction, off the async workers when the
    /// backend blocks.
    async fn with_tx<T: Send + 'static>(
        &self,
        id: TransactionId,
        f: impl FnOnce(&mut dyn StoreTx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let shared = self.tx(id)?;
        self.call(move |_| {
            let mut guard = shared.lock();
            let tx = guard.as_mut().ok_or(PersistenceError::UnknownTransaction(id))?;
            f(tx.as_mut())
        })
        .await
    }

    /// Ends an open transaction with `f` (commit or roll back).
    async fn end_tx(
        &self,
        id: TransactionId,
        f: impl FnOnce(Box<dyn StoreTx>) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let shared = self.txs.lock().remove(&id).ok_or(PersistenceError::UnknownTransaction(id))?;
        self.call(move |_| {
            let tx = shared.lock().take().ok_or(PersistenceError::UnknownTransaction(id))?;
            f(tx)
        })
        .await
    }

    fn start_ticks(&self) {
        let Some(every) = self.store.tick_interval() else { return };
        let store = self.store.clone();
        let name = self.name.clone();
        let ticks = Periodic::spawn(every, move || {
            let (store, name) = (store.clone(), name.clone());
            async move {
                match tokio::task::spawn_blocking(move || store.tick()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(provider = %name, error = %e, "periodic upkeep failed"),
                    Err(e) => tracing::error!(provider = %name, error = %e, "periodic upkeep panicked"),
                }
            }
        });
        *self.background.lock() = Some(ticks);
    }
}

#[async_trait]
impl<S: RecordStore> PersistenceProvider for StoreProvider<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        self.store.kind()
    }

    async fn initialize(&self) -> Result<()> {
        if self.running.load(Ordering::Acquire) {
            return Ok(());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.open()).await.map_err(task_failed)??;
        self.running.store(true, Ordering::SeqCst);
        self.start_ticks();
        tracing::info!(provider = %self.name, kind = %self.kind(), "persistence provider ready");
        Ok(())
    }

    async fn shutdown(&self) -> Result<()> {
        if !self.running.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let background = self.background.lock().take();
        if let Some(ticks) = background {
            ticks.stop().await;
        }
        let open: Vec<SharedTx> = self.txs.lock().drain().map(|(_, t)| t).collect();
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            for tx in open {
                if let Some(tx) = tx.lock().take() {
                    let _ = tx.rollback();
                }
            }
            store.close()
        })
        .await
        .map_err(task_failed)?
    }

    async fn health_check(&self) -> ProviderHealth {
        if !self.running.load(Ordering::Acquire) {
            return ProviderHealth::Unhealthy(format!("provider {} is not running", self.name));
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.health())
            .await
            .unwrap_or_else(|e| ProviderHealth::Unhealthy(format!("health check failed: {e}")))
    }

    fn metrics(&self) -> ProviderMetrics {
        let mut m = self.recorder.snapshot();
        if let Some((hits, misses)) = self.store.cache_stats() {
            m.cache_hits = Some(hits);
            m.cache_misses = Some(misses);
        }
        m
    }

    async fn begin_transaction(&self) -> Result<TransactionId> {
        // Counted until the transaction is registered, so that shutdown
        // rolls it back rather than missing it.
        let _op = self.enter()?;
        let tx = self.call(|s| s.begin()).await?;
        let id = TransactionId(self.next_tx.fetch_add(1, Ordering::Relaxed));
        self.txs.lock().insert(id, Arc::new(Mutex::new(Some(tx))));
        Ok(id)
    }

    async fn transaction_write(&self, tx: TransactionId, op: WriteOp) -> Result<()> {
        self.with_tx(tx, move |t| t.write(op)).await
    }

    async fn transaction_get_lease(
        &self,
        tx: TransactionId,
        reference: &AddressableReference,
    ) -> Result<Option<AddressableLease>> {
        let key = RecordKey::Lease(reference.clone());
        let started = Instant::now();
        let r = self.with_tx(tx, move |t| t.get(&key)).await.map(|r| live_lease(r, Utc::now()));
        self.recorder.observe(OpKind::Read, started, r)
    }

    async fn transaction_get_node(&self, tx: TransactionId, id: &NodeId) -> Result<Option<NodeInfo>> {
        let key = RecordKey::Node(id.clone());
        let started = Instant::now();
        let r = self.with_tx(tx, move |t| t.get(&key)).await.map(node);
        self.recorder.observe(OpKind::Read, started, r)
    }

    async fn commit_transaction(&self, tx: TransactionId) -> Result<()> {
        let started = Instant::now();
        let r = self.end_tx(tx, |t| t.commit()).await;
        self.recorder.observe(OpKind::Write, started, r)
    }

    async fn rollback_transaction(&self, tx: TransactionId) -> Result<()> {
        self.end_tx(tx, |t| t.rollback()).await
    }
}

#[async_trait]
impl<S: RecordStore> AddressableDirectoryProvider for StoreProvider<S> {
    async fn store_lease(&self, lease: &AddressableLease) -> Result<()> {
        self.write_ops(vec![WriteOp::Put(Record::Lease(lease.clone()))]).await
    }

    async fn get_lease(&self, reference: &AddressableReference) -> Result<Option<AddressableLease>> {
        self.read_key(RecordKey::Lease(reference.clone()), |r| live_lease(r, Utc::now())).await
    }

    async fn update_lease(&self, lease: &AddressableLease) -> Result<bool> {
        let lease = lease.clone();
        self.timed(OpKind::Write, move |s| {
            let key = RecordKey::Lease(lease.reference.clone());
            let written = modify(s, &key, &|cur| {
                live_lease(cur, Utc::now()).map(|_| WriteOp::Put(Record::Lease(lease.clone())))
            })?;
            Ok(written.is_some())
        })
        .await
    }

    async fn remove_lease(&self, reference: &AddressableReference) -> Result<bool> {
        let key = RecordKey::Lease(reference.clone());
        self.timed(OpKind::Delete, move |s| {
            // An expired lease is removed too, but reported as absent.
            let before = modify(s, &key, &|cur| cur.map(|_| WriteOp::Delete(key.clone())))?;
            Ok(live_lease(before.flatten(), Utc::now()).is_some())
        })
        .await
    }

    async fn list_leases_for_node(&self, node_id: &NodeId) -> Result<Vec<AddressableLease>> {
        let node_id = node_id.clone();
        self.timed(OpKind::Read, move |s| {
            let now = Utc::now();
            Ok(s.scan(Table::Leases)?
                .into_iter()
                .filter_map(|r| live_lease(Some(r), now))
                .filter(|l| l.node_id == node_id)
                .collect())
        })
        .await
    }

    async fn list_all_leases(&self) -> Result<Vec<AddressableLease>> {
        self.timed(OpKind::Read, |s| {
            let now = Utc::now();
            Ok(s.scan(Table::Leases)?.into_iter().filter_map(|r| live_lease(Some(r), now)).collect())
        })
        .await
    }

    async fn cleanup_expired_leases(&self) -> Result<u64> {
        self.timed(OpKind::Delete, |s| remove_expired(s, Table::Leases)).await
    }

    async fn store_leases_bulk(&self, leases: &[AddressableLease]) -> Result<()> {
        self.write_ops(leases.iter().map(|l| WriteOp::Put(Record::Lease(l.clone()))).collect()).await
    }

    async fn remove_leases_bulk(&self, references: &[AddressableReference]) -> Result<u64> {
        let keys: Vec<RecordKey> = references.iter().map(|r| RecordKey::Lease(r.clone())).collect();
        self.timed(OpKind::Delete, move |s| {
            let removed = in_tx(s, |tx| {
                let now = Utc::now();
                let mut live = 0;
                for key in &keys {
                    if live_lease(tx.get(key)?, now).is_some() {
                        live += 1;
                    }
                    tx.write(WriteOp::Delete(key.clone()))?;
                }
                Ok(Some(live))
            })?;
            Ok(removed.unwrap_or(0))
        })
        .await
    }
}

#[async_trait]
impl<S: RecordStore> ClusterNodeProvider for StoreProvider<S> {
    async fn store_node(&self, info: &NodeInfo) -> Result<()> {
        self.write_ops(vec![WriteOp::Put(Record::Node(info.clone()))]).await
    }

    async fn get_node(&self, id: &NodeId) -> Result<Option<NodeInfo>> {
        self.read_key(RecordKey::Node(id.clone()), node).await
    }

    async fn update_node(&self, info: &NodeInfo) -> Result<bool> {
        let info = info.clone();
        self.timed(OpKind::Write, move |s| {
            let key = RecordKey::Node(info.id.clone());
            Ok(modify(s, &key, &|cur| node(cur).map(|_| WriteOp::Put(Record::Node(info.clone()))))?.is_some())
        })
        .await
    }

    async fn remove_node(&self, id: &NodeId) -> Result<bool> {
        let key = RecordKey::Node(id.clone());
        self.timed(OpKind::Delete, move |s| {
            Ok(modify(s, &key, &|cur| cur.map(|_| WriteOp::Delete(key.clone())))?.is_some())
        })
        .await
    }

    async fn list_active_nodes(&self) -> Result<Vec<NodeInfo>> {
        self.timed(OpKind::Read, |s| {
            let now = Utc::now();
            Ok(s.scan(Table::Nodes)?.into_iter().filter_map(|r| node(Some(r))).filter(|n| !n.is_expired(now)).collect())
        })
        .await
    }

    async fn list_all_nodes(&self) -> Result<Vec<NodeInfo>> {
        self.timed(OpKind::Read, |s| Ok(s.scan(Table::Nodes)?.into_iter().filter_map(|r| node(Some(r))).collect()))
            .await
    }

    async fn cleanup_expired_nodes(&self) -> Result<u64> {
        self.timed(OpKind::Delete, |s| remove_expired(s, Table::Nodes)).await
    }

    async fn renew_node_lease(&self, id: &NodeId, until: DateTime<Utc>) -> Result<bool> {
        let key = RecordKey::Node(id.clone());
        self.timed(OpKind::Write, move |s| {
            let written = modify(s, &key, &|cur| {
                node(cur).map(|mut n| {
                    n.lease_expires_at = until;
                    WriteOp::Put(Record::Node(n))
                })
            })?;
            Ok(written.is_some())
        })
        .await
    }
}

/// One operation in flight, counted until dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
