//! [`IoLoops`]: the threads that serve client connections.
//!
//! Each loop is one OS thread running its own single-threaded tokio runtime,
//! with its own epoll instance and timers. A connection is handed to one
//! loop when it is accepted and stays there, so a client's request wakes
//! the very thread that will answer it, straight from `epoll_wait`.
//!
//! Why not the process's work-stealing runtime: there, one worker at a time
//! owns the epoll instance, and a request that arrives while that worker is
//! busy waits for it, or for a futex wake-up of a parked worker that then
//! steals the task. On a two-core machine with eight sysbench clients that
//! hand-off left the CPUs idle 4-7% of the time and cost 10-25% of
//! throughput on point selects (MySQL and PostgreSQL alike) against loops.
//!
//! The price is that a connection cannot move: work that holds a loop for
//! long delays every connection on it. So the SQL engine runs on the
//! loop's blocking pool every query whose work is not bounded by a few
//! thousand fetched rows (joins, subqueries, CTEs, `generate_series`,
//! INSERT ... SELECT over those, UPDATE and DELETE with subqueries or over
//! many rows), and storage every read that would touch
//! a file. What stays on the loop is in-memory work about the size of the
//! request. A loop can still wait briefly: for the storage commit lock
//! while another commit inserts into the memtable, or in a RocksDB write
//! stall.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

/// Each loop has its own blocking pool (a current-thread runtime's
/// `spawn_blocking` uses its own). Together they get tokio's default for
/// one runtime, 512 threads, split evenly...
const BLOCKING_THREADS: usize = 512;
/// ...but no loop gets fewer than this, so with many loops the total is
/// `64 × loops`: a loop's large queries cannot use another loop's idle
/// pool threads, and each needs room for several at once.
const MIN_BLOCKING_THREADS_PER_LOOP: usize = 64;

struct Loop {
    handle: Handle,
    /// Connections this loop serves now.
    open: Arc<AtomicUsize>,
}

/// A fixed set of connection-serving threads; see the module docs.
/// Dropping the last reference stops the threads once their connections
/// are gone (endpoints wait for those at shutdown).
pub struct IoLoops {
    loops: Box<[Loop]>,
    stop: CancellationToken,
}

impl std::fmt::Debug for IoLoops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoLoops").field("threads", &self.loops.len()).field("open", &self.open_connections()).finish()
    }
}

/// A connection's place on a loop: the runtime to run it on, and its count
/// in the loop's load, released on drop.
pub(crate) struct Seat {
    /// The loop's runtime.
    pub(crate) handle: Handle,
    open: Arc<AtomicUsize>,
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl IoLoops {
    /// The loop count used when none is configured: two per core. More
    /// loops than cores keeps a loop preempted by another process from
    /// stalling many connections; measured on two cores, four loops beat
    /// two on sysbench point selects by about 5% and left fewer idle CPU
    /// cycles.
    pub fn default_threads() -> usize {
        2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    /// Starts `threads` loops (at least one), named `orbit-io-N`.
    pub fn start(threads: usize) -> io::Result<Arc<IoLoops>> {
        let threads = threads.max(1);
        let stop = CancellationToken::new();
        // Stops the loops already started if a later one fails to start.
        let started = stop.clone().drop_guard();
        let blocking = (BLOCKING_THREADS / threads).max(MIN_BLOCKING_THREADS_PER_LOOP);
        let mut loops = Vec::with_capacity(threads);
        for i in 0..threads {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                // Linux keeps 15 bytes of a thread's name.
                .thread_name(format!("orbit-io{i}-pool"))
                .max_blocking_threads(blocking)
                .build()?;
            let handle = runtime.handle().clone();
            let stop = stop.clone();
            std::thread::Builder::new().name(format!("orbit-io-{i}")).spawn(move || {
                runtime.block_on(stop.cancelled());
                // Endpoints have drained their connections by now; a
                // blocking task still running is not waited for.
                runtime.shutdown_background();
            })?;
            loops.push(Loop { handle, open: Arc::new(AtomicUsize::new(0)) });
        }
        started.disarm();
        Ok(Arc::new(IoLoops { loops: loops.into_boxed_slice(), stop }))
    }

    /// How many loops there are.
    pub fn threads(&self) -> usize {
        self.loops.len()
    }

    /// Connections served now, over all loops.
    pub fn open_connections(&self) -> usize {
        self.loops.iter().map(|l| l.open.load(Ordering::Relaxed)).sum()
    }

    /// A seat on the loop with the fewest connections (the first such, so
    /// an idle server fills loops in order).
    pub(crate) fn seat(&self) -> Seat {
        let chosen = self.loops.iter().min_by_key(|l| l.open.load(Ordering::Relaxed)).unwrap_or(&self.loops[0]);
        chosen.open.fetch_add(1, Ordering::Relaxed);
        Seat { handle: chosen.handle.clone(), open: chosen.open.clone() }
    }
}

impl Drop for IoLoops {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_go_to_the_least_loaded_loop() {
        let loops = IoLoops::start(3).expect("start");
        assert_eq!(loops.threads(), 3);
        let a = loops.seat();
        let b = loops.seat();
        let c = loops.seat();
        assert_eq!(loops.open_connections(), 3);
        let per_loop: Vec<usize> = loops.loops.iter().map(|l| l.open.load(Ordering::Relaxed)).collect();
        assert_eq!(per_loop, vec![1, 1, 1]);
        drop(b);
        // The freed loop is the emptiest again.
        let d = loops.seat();
        assert!(Arc::ptr_eq(&d.open, &loops.loops[1].open));
        drop((a, c, d));
        assert_eq!(loops.open_connections(), 0);
    }

    #[test]
    fn zero_threads_still_means_one_loop() {
        assert_eq!(IoLoops::start(0).expect("start").threads(), 1);
    }

    #[test]
    fn tasks_run_on_the_loops_own_threads() {
        let loops = IoLoops::start(2).expect("start");
        let seat = loops.seat();
        let (tx, rx) = std::sync::mpsc::channel();
        seat.handle.spawn(async move {
            let _ = tx.send(std::thread::current().name().map(str::to_string));
        });
        let name = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("the loop ran the task");
        assert_eq!(name.as_deref(), Some("orbit-io-0"));
    }
}
