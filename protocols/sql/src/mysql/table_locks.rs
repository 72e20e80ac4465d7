//! `LOCK TABLES` / `UNLOCK TABLES`: table locks held by a session until it
//! unlocks, locks again, or goes away.
//!
//! A READ lock lets other sessions read the table but makes their writes
//! wait; a WRITE lock makes every other session's access wait. Sessions
//! check before each statement, and only while some lock is held.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One table's holders.
#[derive(Debug, Default)]
struct Held {
    readers: Vec<i64>,
    writer: Option<i64>,
}

impl Held {
    /// Whether session `pid` may read (or, with `write`, write) the table.
    fn allows(&self, pid: i64, write: bool) -> bool {
        let others_write = self.writer.is_some_and(|w| w != pid);
        let others_read = self.readers.iter().any(|r| *r != pid);
        !(others_write || write && others_read)
    }
}

/// Every table lock of an engine.
#[derive(Debug, Default)]
pub(crate) struct TableLocks {
    tables: Mutex<HashMap<String, Held>>,
    changed: tokio::sync::Notify,
    /// Tables with any lock: statements skip the check while it is zero.
    held: AtomicUsize,
}

impl TableLocks {
    fn state(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until `pid` may access every table in `wants` (stored name,
    /// whether it writes), then runs `grant` on the state if given.
    async fn wait_until(&self, pid: i64, wants: &[(String, bool)], grant: bool) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state();
                let ok = wants.iter().all(|(t, w)| st.get(t).is_none_or(|h| h.allows(pid, *w)));
                if ok {
                    if grant {
                        for (t, write) in wants {
                            let h = st.entry(t.clone()).or_default();
                            if *write {
                                h.writer = Some(pid);
                            } else if !h.readers.contains(&pid) {
                                h.readers.push(pid);
                            }
                        }
                        self.held.store(st.len(), Ordering::Release);
                    }
                    return;
                }
            }
            notified.await;
        }
    }

    /// LOCK TABLES: takes every lock at once (so two sessions locking the
    /// same tables in different orders cannot deadlock).
    pub(crate) async fn lock(&self, pid: i64, wants: &[(String, bool)]) {
        self.wait_until(pid, wants, true).await;
    }

    /// Waits until session `pid` may run a statement that reads or writes
    /// these tables.
    pub(crate) async fn wait_for_access(&self, pid: i64, tables: &[(String, bool)]) {
        if self.any_held() {
            self.wait_until(pid, tables, false).await;
        }
    }

    /// Whether any session holds a table lock: when none does, statements
    /// need not even work out which tables they touch.
    pub(crate) fn any_held(&self) -> bool {
        self.held.load(Ordering::Acquire) != 0
    }

    /// UNLOCK TABLES, or the session's end.
    pub(crate) fn unlock_all(&self, pid: i64) {
        if self.held.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut st = self.state();
        for h in st.values_mut() {
            h.readers.retain(|r| *r != pid);
            if h.writer == Some(pid) {
                h.writer = None;
            }
        }
        st.retain(|_, h| h.writer.is_some() || !h.readers.is_empty());
        self.held.store(st.len(), Ordering::Release);
        drop(st);
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_locks_share_and_write_locks_exclude() {
        let locks = std::sync::Arc::new(TableLocks::default());
        let t = |w: bool| vec![("def.d.t".to_string(), w)];
        locks.lock(1, &t(false)).await;
        locks.wait_for_access(2, &t(false)).await;
        // A write by another session waits for the READ lock to go.
        let l2 = locks.clone();
        let writer = tokio::spawn(async move { l2.wait_for_access(2, &[("def.d.t".to_string(), true)]).await });
        tokio::task::yield_now().await;
        assert!(!writer.is_finished());
        locks.unlock_all(1);
        writer.await.expect("the write goes ahead");
        locks.lock(3, &t(true)).await;
        let l2 = locks.clone();
        let reader = tokio::spawn(async move { l2.wait_for_access(4, &[("def.d.t".to_string(), false)]).await });
        tokio::task::yield_now().await;
        assert!(!reader.is_finished(), "a WRITE lock holds off reads");
        locks.wait_for_access(3, &t(true)).await;
        locks.unlock_all(3);
        reader.await.expect("the read goes ahead");
    }
}
