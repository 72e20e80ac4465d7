//! When acknowledged writes reach stable storage: the sync policy and group commit.
//!
//! Engines write without fsync. Under [`SyncPolicy::Commit`] a writer takes a
//! [`Ticket`] after its write returns and waits until a sync covers it. One
//! syncer thread per store runs fsyncs back to back: whoever wrote while an
//! fsync was running is covered by the next one, so N concurrent writers
//! share about one fsync instead of paying N.
//!
//! Why tickets are taken *after* the write: when the syncer reads the highest
//! ticket T before an fsync, every write holding a ticket up to T has already
//! reached the engine's log, so that fsync covers all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::error::{Result, StorageError};
use crate::kv::KvEngine;

/// When writes are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Before a write is acknowledged, with group commit. The default.
    #[default]
    Commit,
    /// Every interval, in the background; a crash of the machine can lose
    /// up to one interval of acknowledged writes (a crash of the process alone
    /// loses nothing).
    Interval(Duration),
    /// Never by Orbit; the operating system writes back when it likes.
    None,
}

/// A position in a store's write stream, handed out after a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

#[derive(Debug, Clone, Default)]
struct SyncState {
    synced: u64,
    failure: Option<String>,
    /// Set once the final sync of `close` is done; later tickets are never synced.
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    engine: Arc<dyn KvEngine>,
    policy: SyncPolicy,
    written: AtomicU64,
    state: watch::Sender<SyncState>,
    stop: AtomicBool,
}

impl Shared {
    /// Syncs everything written so far, unless that is already synced.
    fn sync_pending(&self) {
        let target = self.written.load(Ordering::SeqCst);
        let state = self.state.borrow().clone();
        if target <= state.synced || state.failure.is_some() {
            return;
        }
        match self.engine.sync_wal() {
            Ok(()) => self.state.send_modify(|s| s.synced = s.synced.max(target)),
            Err(e) => {
                // After a failed fsync the kernel may have dropped the dirty
                // pages, so retrying could report success for lost data
                // (PostgreSQL's "fsyncgate"). Stop accepting writes instead.
                tracing::error!(error = %e, "WAL fsync failed; the store is now read-only");
                self.state.send_modify(|s| s.failure = Some(e.to_string()));
            }
        }
    }

    fn failure(&self) -> Option<StorageError> {
        self.state.borrow().failure.clone().map(StorageError::ReadOnly)
    }
}

/// The group-commit syncer of one store.
#[derive(Debug)]
pub struct Durability {
    shared: Arc<Shared>,
    /// The syncer thread, for waking it without a lock on the write path.
    syncer: Option<Thread>,
    join: Mutex<Option<JoinHandle<()>>>,
}

impl Durability {
    /// Starts the syncer for `engine` under `policy`. `name` labels the thread.
    pub fn start(engine: Arc<dyn KvEngine>, policy: SyncPolicy, name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            engine,
            policy,
            written: AtomicU64::new(0),
            state: watch::Sender::new(SyncState::default()),
            stop: AtomicBool::new(false),
        });
        let join = match policy {
            SyncPolicy::None => None,
            SyncPolicy::Commit | SyncPolicy::Interval(_) => {
                let s = shared.clone();
                Some(std::thread::Builder::new().name(format!("orbit-sync-{name}")).spawn(move || {
                    // A panicking engine must not leave writers waiting forever.
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_syncer(&s)));
                    if run.is_err() {
                        s.state.send_modify(|st| st.failure = Some("the sync thread panicked".into()));
                    }
                })?)
            }
        };
        Ok(Durability { shared, syncer: join.as_ref().map(|h| h.thread().clone()), join: Mutex::new(join) })
    }

    /// The policy in force.
    pub fn policy(&self) -> SyncPolicy {
        self.shared.policy
    }

    /// Fails if the store has stopped accepting writes.
    pub fn check_writable(&self) -> Result<()> {
        if let Some(e) = self.shared.failure() {
            return Err(e);
        }
        if self.shared.stop.load(Ordering::SeqCst) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// Records that a write has returned from the engine. Never blocks:
    /// callers hold the commit lock. Call [`Durability::wake`] once that
    /// lock is released.
    pub fn note_write(&self) -> Ticket {
        // SeqCst pairs with `close`: either `close`'s final sync sees this
        // write, or the waiter sees `closed` and is told so.
        Ticket(self.shared.written.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Starts a sync of the writes noted so far, if the policy syncs at
    /// commit. Apart from [`Durability::note_write`] because waking the
    /// syncer is a system call, best kept out of the commit lock.
    pub fn wake(&self) {
        if let (SyncPolicy::Commit, Some(thread)) = (self.shared.policy, &self.syncer) {
            thread.unpark();
        }
    }

    /// Whether `ticket` is already as durable as the policy promises, so
    /// that waiting on it would return at once.
    pub fn is_settled(&self, ticket: Ticket) -> bool {
        self.shared.policy != SyncPolicy::Commit || self.shared.state.borrow().synced >= ticket.0
    }

    /// The ticket of the latest write noted so far.
    pub fn latest(&self) -> Ticket {
        Ticket(self.shared.written.load(Ordering::SeqCst))
    }

    /// Waits until the write behind `ticket` is as durable as the policy
    /// promises: synced under `Commit`, immediately otherwise.
    pub async fn wait(&self, ticket: Ticket) -> Result<()> {
        if self.shared.policy != SyncPolicy::Commit {
            return self.check_writable();
        }
        let mut rx = self.shared.state.subscribe();
        let state =
            rx.wait_for(|s| s.synced >= ticket.0 || s.failure.is_some()).await.map_err(|_| StorageError::Closed)?;
        match (&state.failure, state.synced >= ticket.0) {
            (_, true) => Ok(()),
            (Some(f), false) => Err(StorageError::ReadOnly(f.clone())),
            (None, false) => Err(StorageError::Closed),
        }
    }

    /// [`Durability::wait`] for callers outside an async runtime.
    pub fn wait_blocking(&self, ticket: Ticket) -> Result<()> {
        futures::executor::block_on(self.wait(ticket))
    }

    /// Number of writes noted and number covered by a completed sync.
    pub fn progress(&self) -> (u64, u64) {
        (self.shared.written.load(Ordering::SeqCst), self.shared.state.borrow().synced)
    }

    /// Stops the syncer after a final sync of everything written. Later
    /// writes are refused. Idempotent.
    pub fn close(&self) -> Result<()> {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.join.lock().take() {
            handle.thread().unpark();
            if handle.join().is_err() {
                tracing::error!("the sync thread panicked");
            }
        }
        self.shared.sync_pending();
        self.shared.state.send_modify(|s| s.closed = true);
        self.shared.failure().map_or(Ok(()), Err)
    }
}

impl Drop for Durability {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn run_syncer(shared: &Shared) {
    match shared.policy {
        SyncPolicy::Commit => {
            while !shared.stop.load(Ordering::SeqCst) {
                let (written, synced) = (shared.written.load(Ordering::SeqCst), shared.state.borrow().synced);
                if written > synced && shared.failure().is_none() {
                    shared.sync_pending();
                } else {
                    // A write that lands between the check and here leaves an
                    // unpark token, so this returns at once and nothing waits.
                    std::thread::park();
                }
            }
        }
        SyncPolicy::Interval(every) => {
            let mut next = Instant::now() + every;
            while !shared.stop.load(Ordering::SeqCst) {
                let now = Instant::now();
                if now < next {
                    std::thread::park_timeout(next - now);
                    continue;
                }
                shared.sync_pending();
                next = Instant::now() + every;
            }
        }
        SyncPolicy::None => {}
    }
    shared.sync_pending();
}
