//! The handle connections hold on the engine: the engine thread's queue,
//! and inline runs on the engine's state.
//!
//! Whoever holds the engine's lock runs commands; the lock is what makes
//! each command, and each MULTI/EXEC block, atomic. The engine thread takes
//! it for what connections queue to it: blocking commands, transactions,
//! commands whose cost grows with the data. A pipeline of cheap commands
//! (`Spec::inline`) is run by its own connection instead, on its async
//! worker, which saves the two thread wake-ups a hand-off costs.
//!
//! A connection never waits for the lock, though: an async worker must not
//! sleep behind another thread. If the lock is taken, it leaves its
//! pipeline in the inline queue, and whoever holds the lock runs what is
//! queued there before letting go, all of it in one storage transaction,
//! so under load many clients' writes share one RocksDB write (flat
//! combining). After letting go, the holder looks at the queue once more:
//! a pipeline queued just as it finished is never stranded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Instant;

use orbit_storage::Store;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;

use super::{BACKGROUND_EVERY, MAX_MESSAGES_PER_COMMIT, Msg, Outcome, SPIN_BEFORE_SLEEP, Worker, background, now_ms};
use crate::cmd::Invocation;
use crate::error::RedisError;
use crate::reply::Reply;
use crate::shared::{ClientId, Shared};

/// Rounds of the inline queue one lock holder runs before it hands the
/// rest to the engine thread, so that a connection's own worker (or the
/// engine thread, which also has its own queue to read) is not kept
/// combining for others indefinitely.
const COMBINE_ROUNDS: usize = 4;

/// A handle on the engine.
#[derive(Clone)]
pub(crate) struct Engine {
    tx: Sender<Msg>,
    core: Arc<Mutex<Worker>>,
    /// Inline pipelines whose connection found the lock taken.
    queued: Arc<Mutex<Vec<Msg>>>,
    /// A `Drain` is on its way to the engine thread: one is enough.
    drain_sent: Arc<AtomicBool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

/// How an inline run went.
pub(crate) enum Inline {
    /// Run here; the outcome, not yet waited for durability.
    Done(Outcome),
    /// Queued for the lock's holder; the outcome follows (`Err`: the engine
    /// stopped first).
    Queued(oneshot::Receiver<Outcome>),
}

impl Engine {
    /// Starts the engine on `store`; the thread ends when every handle is dropped.
    pub(crate) fn start(
        store: Arc<Store>,
        shared: Arc<Shared>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), RedisError> {
        // The budget is shared with the connections' read cache.
        let mut state = background::load_state(&store, shared.config.databases, shared.config.cache_bytes / 2)?;
        state.stats.last_save_unix = now_ms() / 1000;
        let (tx, rx) = mpsc::channel();
        let core = Arc::new(Mutex::new(Worker {
            store,
            shared,
            state,
            waiters: Default::default(),
            batch_now_ms: 0,
            batch_calls: Vec::new(),
        }));
        let engine =
            Engine { tx, core, queued: Arc::new(Mutex::new(Vec::new())), drain_sent: Arc::new(AtomicBool::new(false)) };
        // The thread's own handle must not keep its queue open (it stops
        // when the last connection's handle is gone), and never sends.
        let thread_engine = Engine { tx: mpsc::channel().0, ..engine.clone() };
        let thread = std::thread::Builder::new()
            .name("orbit-redis-engine".into())
            .spawn(move || thread_engine.run_thread(&rx))
            .map_err(|e| RedisError::err(format!("cannot start the engine thread: {e}")))?;
        Ok((engine, thread))
    }

    /// Queues a message for the engine thread; false if it has stopped.
    pub(crate) fn send(&self, msg: Msg) -> bool {
        self.tx.send(msg).is_ok()
    }

    /// Queues `cmds` (all `inline` commands, not a MULTI/EXEC block), lets
    /// the other connections ready on this worker queue theirs, then runs
    /// the lot here if the engine's lock is free (or leaves it to its
    /// holder). Like Redis writing its AOF once per event-loop turn, this
    /// makes the clients served in one turn share one RocksDB write.
    pub(crate) async fn run_inline_batched(&self, client: ClientId, cmds: Vec<Invocation>) -> Option<Outcome> {
        let (reply, rx) = oneshot::channel();
        self.queued.lock().push(Msg::Run { client, cmds, exec: false, reply });
        tokio::task::yield_now().await;
        if let Some(core) = self.core.try_lock() {
            self.run_with(core, Vec::new());
        }
        rx.await.ok()
    }

    /// Runs `cmds` (all `inline` commands, not a MULTI/EXEC block) here if
    /// the engine's lock is free, or leaves them to its holder.
    pub(crate) fn run_inline(&self, client: ClientId, cmds: Vec<Invocation>) -> Inline {
        let (reply, mut rx) = oneshot::channel();
        let msg = Msg::Run { client, cmds, exec: false, reply };
        match self.core.try_lock() {
            Some(core) => {
                self.run_with(core, vec![msg]);
                // `process` answered before returning.
                match rx.try_recv() {
                    Ok(o) => Inline::Done(o),
                    Err(_) => Inline::Queued(rx),
                }
            }
            None => {
                self.queued.lock().push(msg);
                // The holder may have let go between the two looks.
                if let Some(core) = self.core.try_lock() {
                    self.run_with(core, Vec::new());
                }
                Inline::Queued(rx)
            }
        }
    }

    /// Runs `batch` and what is queued inline under the held lock, lets
    /// go, and keeps serving the queue while it fills and the lock is free.
    fn run_with<'a>(&'a self, mut core: MutexGuard<'a, Worker>, mut batch: Vec<Msg>) {
        for _ in 0..COMBINE_ROUNDS {
            self.take_queued(&mut batch);
            if !batch.is_empty() {
                core.process(std::mem::take(&mut batch));
            }
            drop(core);
            if self.queued.lock().is_empty() {
                return;
            }
            match self.core.try_lock() {
                Some(c) => core = c,
                // The new holder runs the queue.
                None => return,
            }
        }
        // Still more: the engine thread takes over. It drains the queue
        // whenever it runs.
        self.request_drain();
    }

    /// Wakes the engine thread to run the inline queue, unless a wake-up
    /// is already on its way.
    fn request_drain(&self) {
        if !self.drain_sent.swap(true, Ordering::AcqRel) {
            let _ = self.tx.send(Msg::Drain);
        }
    }

    fn take_queued(&self, batch: &mut Vec<Msg>) {
        let mut q = self.queued.lock();
        let room = MAX_MESSAGES_PER_COMMIT.saturating_sub(batch.len()).min(q.len());
        batch.extend(q.drain(..room));
    }

    /// The engine thread: takes what connections queue, runs it in batches
    /// with whatever waits in the inline queue, and reclaims deleted data in
    /// the background, until every handle is gone.
    fn run_thread(self, rx: &Receiver<Msg>) {
        let mut next_background = Instant::now() + BACKGROUND_EVERY;
        // Whether the inline queue was left non-empty: then the thread
        // must come back to it without waiting on its channel.
        let mut more = false;
        // Whether the last round had work: an idle engine sleeps at once.
        let mut busy = false;
        loop {
            let mut batch = Vec::new();
            // Under load the next request follows within microseconds:
            // yielding a few times first saves the costly sleep and wake-up.
            let spins = if more || !busy { 0 } else { SPIN_BEFORE_SLEEP };
            for _ in 0..spins {
                match rx.try_recv() {
                    Ok(m) => {
                        batch.push(m);
                        break;
                    }
                    Err(TryRecvError::Empty) => std::thread::yield_now(),
                    Err(TryRecvError::Disconnected) => return self.finish(),
                }
            }
            if batch.is_empty() && !more {
                let wait = next_background.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(m) => batch.push(m),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            while batch.len() < MAX_MESSAGES_PER_COMMIT {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            busy = !batch.is_empty() || more;
            // Queued inline pipelines ride along, whether or not anything
            // came on the channel.
            more = self.drain_all(batch);
            if Instant::now() >= next_background {
                let mut core = self.core.lock();
                let w = &mut *core;
                if let Err(e) = background::reclaim(&w.store, &w.shared, &mut w.state) {
                    tracing::warn!(error = %e, "redis background reclaim failed");
                }
                drop(core);
                more = self.drain_all(Vec::new());
                next_background = Instant::now() + BACKGROUND_EVERY;
            }
        }
        self.finish();
    }

    /// Runs `batch` and what the inline queue holds, waiting for the lock
    /// as only the engine thread may, for a few rounds; then goes back to
    /// the channel. Each round lets go of the lock and looks at the queue
    /// again, so a pipeline queued while the lock was held is never left
    /// behind. Returns whether the queue still holds something.
    fn drain_all(&self, mut batch: Vec<Msg>) -> bool {
        self.drain_sent.store(false, Ordering::Release);
        for _ in 0..COMBINE_ROUNDS {
            {
                let mut core = self.core.lock();
                self.take_queued(&mut batch);
                if !batch.is_empty() {
                    core.process(std::mem::take(&mut batch));
                }
            }
            if self.queued.lock().is_empty() {
                return false;
            }
        }
        true
    }

    /// The endpoint is gone: releases blocked clients and queued pipelines.
    fn finish(&self) {
        let mut core = self.core.lock();
        let ticket = core.store.durability().latest();
        for msg in std::mem::take(&mut *self.queued.lock()) {
            if let Msg::Run { reply, cmds, .. } = msg {
                let err = Reply::Error(RedisError::err("server is shutting down"));
                let _ = reply.send(Outcome { replies: vec![err; cmds.len()], ticket });
            }
        }
        core.finish();
    }
}
