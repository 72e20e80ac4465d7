//! Row locks for READ COMMITTED writers.
//!
//! A transaction locks each row before it updates, deletes or inserts it,
//! and holds the locks until it ends. A second writer of the row waits
//! instead of failing at commit; when it gets the lock it re-reads the row
//! as now committed and applies its change to that, as PostgreSQL does, so
//! concurrent increments neither fail nor get lost. A wait that would close
//! a cycle is a deadlock and fails with 40P01.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::error::{ErrorCode, SqlError, SqlResult};

/// A locked row: table (stored name) and the row's key bytes.
pub(crate) type LockKey = (String, Vec<u8>);

/// Transaction ids for lock ownership, unique in the process.
pub(crate) type TxnId = u64;

#[derive(Debug, Default)]
struct Table {
    owner: HashMap<LockKey, TxnId>,
    held: HashMap<TxnId, Vec<LockKey>>,
    waits_for: HashMap<TxnId, TxnId>,
}

/// The engine's row locks.
#[derive(Debug, Default)]
pub(crate) struct RowLocks {
    table: Mutex<Table>,
    /// Woken whenever locks are released; waiters then look again. One
    /// notifier for all keys cannot lose a wakeup to a key changing hands
    /// between a waiter's look and its wait.
    released: Notify,
    next_id: std::sync::atomic::AtomicU64,
}

fn lock(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Forgets a waiter that stops waiting (woken, cancelled or failed).
struct Waiting<'a> {
    locks: &'a RowLocks,
    txn: TxnId,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.locks.table).waits_for.remove(&self.txn);
    }
}

impl RowLocks {
    /// A new transaction id.
    pub(crate) fn new_txn(&self) -> TxnId {
        self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// Takes the lock on `key` for `txn`, waiting while another holds it.
    /// Returns whether the lock is new to `txn`: then the row may have
    /// changed since the caller's snapshot, and it must read it again.
    pub(crate) async fn acquire(&self, txn: TxnId, key: LockKey) -> SqlResult<bool> {
        loop {
            // Registered before looking, so a release in between is not
            // missed.
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut t = lock(&self.table);
                match t.owner.get(&key).copied() {
                    None => {
                        t.owner.insert(key.clone(), txn);
                        t.held.entry(txn).or_default().push(key);
                        return Ok(true);
                    }
                    Some(o) if o == txn => return Ok(false),
                    Some(owner) => {
                        // Would waiting close a cycle of waiters?
                        let mut cur = owner;
                        for _ in 0..1024 {
                            match t.waits_for.get(&cur) {
                                Some(&next) if next == txn => {
                                    return Err(SqlError::new(ErrorCode::DeadlockDetected, "deadlock detected"));
                                }
                                Some(&next) => cur = next,
                                None => break,
                            }
                        }
                        t.waits_for.insert(txn, owner);
                    }
                }
            }
            let _waiting = Waiting { locks: self, txn };
            notified.await;
        }
    }

    /// Releases every lock of `txn` and wakes their waiters.
    pub(crate) fn release_all(&self, txn: TxnId) {
        let mut t = lock(&self.table);
        let keys = t.held.remove(&txn).unwrap_or_default();
        t.waits_for.remove(&txn);
        let freed = !keys.is_empty();
        for k in keys {
            t.owner.remove(&k);
        }
        drop(t);
        if freed {
            self.released.notify_waiters();
        }
    }
}
