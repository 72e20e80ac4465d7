//! One client connection: framing, connection state (database, protocol,
//! authentication, MULTI, subscriptions) and handing data commands to the
//! engine.

mod commands;
pub(crate) mod encode;
mod local;
pub(crate) mod outbox;
pub(crate) mod parse;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use orbit_storage::Store;
use orbit_storage::durability::Ticket;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::cmd::{self, Exec, Invocation, Spec};
use crate::engine::{Engine, Inline, Msg, Outcome};
use crate::error::RedisError;
use crate::reply::Reply;
use crate::shared::{ClientEntry, ClientId, ClientInfo, Shared};
use local::LocalReads;
use outbox::Output;
use parse::{Limits, next_request};

/// Largest pipeline (bytes of arguments) a connection runs on the engine
/// itself rather than handing it to the engine thread: past this, copying
/// it into the write batch alone would hold an async worker too long.
const INLINE_MAX_BYTES: usize = 256 * 1024;

/// Pipelines this short wait one scheduler turn before running, so that
/// the clients served in that turn share one storage write. redis-benchmark's
/// `-P 16` pipelines share too: with 50 clients that cut the WAL appends
/// from one per 25 SETs to one per 70 (counted with `perf stat -e
/// syscalls:sys_enter_write`).
const SHARE_WRITES_BELOW: usize = 64;

/// Ids of blocking commands, unique in the process.
static NEXT_BLOCK_ID: AtomicU64 = AtomicU64::new(1);

/// A MULTI block being queued.
struct Multi {
    cmds: Vec<Invocation>,
    /// A command failed to queue: EXEC must abort.
    failed: bool,
    /// The database after the queued SELECTs.
    db: u8,
}

/// A connection's state.
pub(crate) struct Conn {
    shared: Arc<Shared>,
    engine: Engine,
    store: Arc<Store>,
    id: ClientId,
    entry: Arc<ClientEntry>,
    db: u8,
    resp3: bool,
    authenticated: bool,
    user: String,
    multi: Option<Multi>,
    channels: BTreeSet<Bytes>,
    patterns: BTreeSet<Bytes>,
    out: Output,
    /// Replies of the current read, written together.
    pending: BytesMut,
    /// Engine commands waiting to be sent together.
    batch: Vec<Invocation>,
    /// Point reads served here, off the engine.
    reads: LocalReads,
    closing: bool,
    /// The latest command's name, published to CLIENT LIST once per read
    /// rather than under a lock per command.
    last_command: &'static str,
}

/// Serves one connection until the client leaves, is killed, or the server stops.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    engine: Engine,
    store: Arc<Store>,
    stop: CancellationToken,
) {
    let laddr = stream.local_addr().unwrap_or(peer);
    let (reader, writer) = stream.into_split();
    let (out, writer_task) = Output::start(writer, shared.clone());

    let id = shared.next_id();
    let now = Instant::now();
    let entry = Arc::new(ClientEntry {
        info: parking_lot::Mutex::new(ClientInfo {
            id,
            addr: peer,
            laddr,
            name: String::new(),
            lib_name: String::new(),
            lib_ver: String::new(),
            connected: now,
            last_interaction: now,
            db: 0,
            resp: 2,
            subscriptions: 0,
            patterns: 0,
            in_multi: false,
            blocked: false,
            last_command: "NULL",
            user: "default".into(),
        }),
        kill: stop.child_token(),
    });
    shared.clients.insert(id, entry.clone());
    shared.stats.connections_received.fetch_add(1, Ordering::Relaxed);
    let authenticated = !shared.auth_required();
    let mut conn = Conn {
        shared: shared.clone(),
        engine,
        store,
        id,
        entry: entry.clone(),
        db: 0,
        resp3: false,
        authenticated,
        user: "default".into(),
        multi: None,
        channels: BTreeSet::new(),
        patterns: BTreeSet::new(),
        out,
        pending: BytesMut::new(),
        batch: Vec::new(),
        reads: LocalReads::new(shared.config.databases),
        closing: false,
        last_command: "NULL",
    };
    conn.run(reader).await;
    conn.cleanup();
    drop(conn);
    let _ = writer_task.await;
}

impl Conn {
    async fn run(&mut self, mut reader: OwnedReadHalf) {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let kill = self.entry.kill.clone();
        while !self.closing {
            let read = tokio::select! {
                () = kill.cancelled() => return,
                r = reader.read_buf(&mut buf) => r,
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    self.shared.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
            loop {
                let limits = Limits {
                    max_bulk: self.shared.max_bulk_len.load(Ordering::Relaxed),
                    max_elements: self.shared.config.max_multibulk_len,
                };
                match next_request(&mut buf, limits) {
                    Ok(Some(args)) if args.is_empty() => continue,
                    Ok(Some(args)) => {
                        self.dispatch(args, &mut reader, &mut buf).await;
                        if self.closing {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // Framing is lost: answer and close, as Redis does.
                        self.flush_batch().await;
                        self.push_reply(&Reply::Error(RedisError::new(e.0)));
                        self.closing = true;
                        break;
                    }
                }
            }
            self.reads.end(&self.shared);
            self.flush_batch().await;
            self.send_pending();
            let mut info = self.entry.info.lock();
            info.last_interaction = Instant::now();
            info.db = self.db;
            info.last_command = self.last_command;
        }
        self.send_pending();
    }

    fn cleanup(&mut self) {
        self.reads.end(&self.shared);
        let _ = self.engine.send(Msg::Gone { client: self.id });
        for c in std::mem::take(&mut self.channels) {
            self.shared.pubsub.unsubscribe(self.id, &c);
        }
        for p in std::mem::take(&mut self.patterns) {
            self.shared.pubsub.punsubscribe(self.id, &p);
        }
        self.shared.clients.remove(&self.id);
    }

    /// Encodes a reply into the pending output.
    pub(crate) fn push_reply(&mut self, reply: &Reply) {
        encode::encode(reply, self.resp3, &mut self.pending);
    }

    fn send_pending(&mut self) {
        self.out.send(&mut self.pending, &self.shared);
    }

    fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }

    async fn dispatch(&mut self, args: Vec<Bytes>, reader: &mut OwnedReadHalf, buf: &mut BytesMut) {
        let name = &args[0];
        let spec = cmd::lookup(name);
        if let Some(s) = spec {
            self.last_command = s.name;
            // Connection commands (CLIENT LIST among them) may read it.
            if matches!(s.exec, Exec::Conn) {
                self.entry.info.lock().last_command = s.name;
            }
        }
        let lower = spec.map(|s| s.name);
        // Authentication comes first, as in Redis.
        if !self.authenticated && !matches!(lower, Some("auth" | "hello" | "quit" | "reset")) {
            self.reply_after_batch(Reply::Error(RedisError::no_auth())).await;
            return;
        }
        let Some(spec) = spec else {
            let err = RedisError::unknown_command(name, &args[1..]);
            if let Some(m) = &mut self.multi {
                m.failed = true;
            }
            self.reply_after_batch(Reply::Error(err)).await;
            return;
        };
        if !spec.arity_ok(args.len()) {
            if let Some(m) = &mut self.multi {
                m.failed = true;
            }
            self.reply_after_batch(Reply::Error(RedisError::wrong_arity(spec.name))).await;
            return;
        }
        // RESP2 subscribers may only manage subscriptions.
        if self.subscribed()
            && !self.resp3
            && !matches!(
                spec.name,
                "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ping" | "quit" | "reset"
            )
        {
            let err = RedisError::err(format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            ));
            self.reply_after_batch(Reply::Error(err)).await;
            return;
        }
        let mut args = args;
        args.remove(0);
        let local_read = self.multi.is_none() && self.batch.is_empty() && cmd::is_point_read(spec);
        if !local_read {
            // Whatever runs next may write or wait: later reads need a
            // fresh snapshot.
            self.reads.end(&self.shared);
        }
        if self.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset") {
            self.queue(spec, args).await;
            return;
        }
        match spec.exec {
            Exec::Conn => {
                self.flush_batch().await;
                commands::run(self, spec, args).await;
            }
            // The connection answers these itself: no engine round trip.
            Exec::Engine(_) if spec.name == "ping" => {
                let r = match (args.as_slice(), self.subscribed() && !self.resp3) {
                    ([_, _, ..], _) => Reply::Error(RedisError::wrong_arity("ping")),
                    // A subscribed RESP2 client gets PING's answer as a message.
                    (_, true) => {
                        Reply::Array(vec![Reply::bulk("pong"), Reply::Bulk(args.first().cloned().unwrap_or_default())])
                    }
                    ([], false) => Reply::Status("PONG"),
                    ([m], false) => Reply::Bulk(m.clone()),
                };
                self.reply_after_batch(r).await;
            }
            Exec::Engine(_) if spec.name == "echo" => self.reply_after_batch(Reply::Bulk(args[0].clone())).await,
            Exec::Engine(_) if spec.name == "select" => {
                let r = commands::select(self, &args[0]);
                self.reply_after_batch(r).await;
            }
            Exec::Engine(handler) if local_read => {
                let inv = Invocation { spec, args, db: self.db, resp3: self.resp3 };
                let reply = self.reads.run(&self.store, &self.shared, handler, &inv).await;
                self.push_reply(&reply);
            }
            Exec::Engine(_) => {
                self.batch.push(Invocation { spec, args, db: self.db, resp3: self.resp3 });
            }
            Exec::Blocking(..) => {
                self.flush_batch().await;
                self.block(spec, args, reader, buf).await;
            }
        }
    }

    /// Queues a command inside MULTI.
    async fn queue(&mut self, spec: &'static Spec, args: Vec<Bytes>) {
        let Some(m) = &mut self.multi else { return };
        if matches!(spec.exec, Exec::Conn) {
            m.failed = true;
            self.reply_after_batch(Reply::Error(RedisError::err("Command not allowed inside a transaction"))).await;
            return;
        }
        if spec.name == "select"
            && let Some(db) = crate::num::parse_i64(&args[0])
                .and_then(|d| u8::try_from(d).ok())
                .filter(|d| *d < self.shared.config.databases)
        {
            m.db = db;
        }
        let db = m.db;
        m.cmds.push(Invocation { spec, args, db, resp3: self.resp3 });
        self.reply_after_batch(Reply::Status("QUEUED")).await;
    }

    /// Sends the queued engine commands and encodes their replies.
    async fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let cmds = std::mem::take(&mut self.batch);
        let n = cmds.len();
        let inline = cmds.iter().all(|c| c.spec.inline)
            && cmds.iter().flat_map(|c| &c.args).map(Bytes::len).sum::<usize>() <= INLINE_MAX_BYTES;
        let outcome = if inline {
            // A deep pipeline is a batch already; a short one waits a turn
            // to share its write with other clients'.
            let outcome = if cmds.len() <= SHARE_WRITES_BELOW {
                self.engine.run_inline_batched(self.id, cmds).await
            } else {
                match self.engine.run_inline(self.id, cmds) {
                    Inline::Done(o) => Some(o),
                    Inline::Queued(rx) => rx.await.ok(),
                }
            };
            match outcome {
                Some(o) => Some(self.durable(o).await),
                None => None,
            }
        } else {
            self.ask(|reply| Msg::Run { client: 0, cmds, exec: false, reply }).await
        };
        match outcome {
            Some(o) => {
                for r in &o.replies {
                    self.push_reply(r);
                }
            }
            None => {
                for _ in 0..n {
                    self.push_reply(&Reply::Error(RedisError::err("server is shutting down")));
                }
            }
        }
    }

    /// Answers `reply` in order: after the replies of commands before it.
    pub(crate) async fn reply_after_batch(&mut self, reply: Reply) {
        self.flush_batch().await;
        self.push_reply(&reply);
    }

    /// Sends a message to the engine and waits for its outcome, then for
    /// the durability its replies need. `None` if the engine is gone.
    pub(crate) async fn ask(&self, msg: impl FnOnce(oneshot::Sender<Outcome>) -> Msg) -> Option<Outcome> {
        let (tx, rx) = oneshot::channel();
        let mut message = msg(tx);
        if let Msg::Run { client, .. } = &mut message {
            *client = self.id;
        }
        if !self.engine.send(message) {
            return None;
        }
        let outcome = rx.await.ok()?;
        Some(self.durable(outcome).await)
    }

    /// Waits until the writes an outcome depends on are durable; if the
    /// store cannot promise that, every reply becomes the error.
    async fn durable(&self, mut outcome: Outcome) -> Outcome {
        if let Err(e) = self.wait(outcome.ticket).await {
            let err = Reply::Error(RedisError::storage(&e));
            outcome.replies.iter_mut().for_each(|r| *r = err.clone());
        }
        outcome
    }

    async fn wait(&self, ticket: Ticket) -> orbit_storage::Result<()> {
        self.store.durability().wait(ticket).await
    }

    /// Runs a blocking command: waits on the engine until it is served, it
    /// times out, or the client goes away.
    async fn block(&mut self, spec: &'static Spec, args: Vec<Bytes>, reader: &mut OwnedReadHalf, buf: &mut BytesMut) {
        let timeout = match crate::cmd::args::timeout(&args[args.len() - 1]) {
            Ok(t) => t,
            Err(e) => {
                self.push_reply(&Reply::Error(e));
                return;
            }
        };
        let id = NEXT_BLOCK_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = oneshot::channel();
        let inv = Invocation { spec, args, db: self.db, resp3: self.resp3 };
        if !self.engine.send(Msg::Block { id, client: self.id, cmd: inv, reply: tx }) {
            self.push_reply(&Reply::Error(RedisError::err("server is shutting down")));
            return;
        }
        // Whatever was answered before the block goes out now.
        self.send_pending();
        self.entry.info.lock().blocked = true;
        let deadline = (timeout > 0.0).then(|| tokio::time::Instant::now() + Duration::from_secs_f64(timeout.min(1e9)));
        let kill = self.entry.kill.clone();
        let mut cancelled = false;
        let outcome = loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                o = &mut rx => break o.ok(),
                () = sleep, if !cancelled => {
                    cancelled = true;
                    let _ = self.engine.send(Msg::CancelBlock { id });
                }
                () = kill.cancelled(), if !cancelled => {
                    cancelled = true;
                    self.closing = true;
                    let _ = self.engine.send(Msg::CancelBlock { id });
                }
                // Keep reading while blocked, to notice the client leaving.
                r = reader.read_buf(buf), if !cancelled => {
                    if matches!(r, Ok(0) | Err(_)) {
                        cancelled = true;
                        self.closing = true;
                        let _ = self.engine.send(Msg::CancelBlock { id });
                    }
                }
            }
        };
        self.entry.info.lock().blocked = false;
        match outcome {
            Some(o) => {
                let o = self.durable(o).await;
                for r in &o.replies {
                    self.push_reply(r);
                }
            }
            None => self.push_reply(&Reply::Error(RedisError::err("server is shutting down"))),
        }
    }
}
