//! A connection's output: replies written straight to the socket when
//! nothing is queued ahead of them, and a writer task for the rest.
//!
//! The writer task exists so that a client that sends a deep pipeline
//! before reading any reply never deadlocks against us: the connection
//! keeps reading while the task waits for the socket. But handing every
//! reply to a task costs a wake-up and often a context switch per round
//! trip; most replies fit in the socket buffer at once, so the connection
//! tries a non-blocking write first and queues only what the socket would
//! not take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc::{self, UnboundedSender};

use crate::shared::Shared;

/// Queues output for the writer task; pub/sub publishers hold clones.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: UnboundedSender<Bytes>,
    /// Messages queued and not yet fully written.
    queued: Arc<AtomicUsize>,
}

impl Outbox {
    /// Queues `bytes` after everything queued before; false if the
    /// connection is gone.
    pub(crate) fn send(&self, bytes: Bytes) -> bool {
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(bytes).is_err() {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Whether everything queued has been written.
    fn idle(&self) -> bool {
        self.queued.load(Ordering::SeqCst) == 0
    }
}

/// The connection's side: the socket and the queue.
#[derive(Debug)]
pub(crate) struct Output {
    socket: Arc<OwnedWriteHalf>,
    outbox: Outbox,
    /// Once a connection has subscribed, publishers on other connections
    /// may queue messages at any moment, so it never writes directly again:
    /// a direct write racing a queued one could interleave their bytes.
    shared_with_publishers: bool,
}

impl Output {
    /// Starts the writer task for `socket`; it ends once the connection and
    /// every publisher holding its outbox are gone.
    pub(crate) fn start(socket: OwnedWriteHalf, shared: Arc<Shared>) -> (Self, tokio::task::JoinHandle<()>) {
        let socket = Arc::new(socket);
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        let queued = Arc::new(AtomicUsize::new(0));
        let outbox = Outbox { tx, queued: queued.clone() };
        let writer = socket.clone();
        let task = tokio::spawn(async move {
            let mut buf = BytesMut::new();
            while let Some(first) = rx.recv().await {
                buf.extend_from_slice(&first);
                let mut taken = 1;
                while let Ok(more) = rx.try_recv() {
                    buf.extend_from_slice(&more);
                    taken += 1;
                    if buf.len() > 1 << 20 {
                        break;
                    }
                }
                shared.stats.net_output_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                if write_all(&writer, &buf).await.is_err() {
                    return;
                }
                buf.clear();
                queued.fetch_sub(taken, Ordering::SeqCst);
            }
        });
        (Output { socket, outbox, shared_with_publishers: false }, task)
    }

    /// The outbox, for a subscription's publishers.
    pub(crate) fn for_publishers(&mut self) -> Outbox {
        self.shared_with_publishers = true;
        self.outbox.clone()
    }

    /// Sends `pending` (leaving it empty), directly when nothing is queued.
    pub(crate) fn send(&self, pending: &mut BytesMut, shared: &Shared) {
        if pending.is_empty() {
            return;
        }
        if !self.shared_with_publishers && self.outbox.idle() {
            match self.socket.try_write(pending) {
                Ok(n) => {
                    shared.stats.net_output_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if n == pending.len() {
                        pending.clear();
                        return;
                    }
                    let _ = pending.split_to(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // The socket is broken; the reader sees the hang-up next.
                Err(_) => {
                    pending.clear();
                    return;
                }
            }
        }
        self.outbox.send(pending.split().freeze());
    }
}

async fn write_all(socket: &OwnedWriteHalf, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        socket.writable().await?;
        match socket.try_write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
