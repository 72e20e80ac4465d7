//! The [`Server`] trait every endpoint implements, and [`TcpServer`], the
//! accept loop and connection bookkeeping that TCP protocols share.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::io_loops::IoLoops;

/// Why an endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another process (or endpoint) has the port.
    #[error("{endpoint} endpoint: address {addr} is already in use")]
    AddrInUse {
        /// The endpoint's name.
        endpoint: &'static str,
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Binding failed for another reason.
    #[error("{endpoint} endpoint: cannot listen on {addr}: {source}")]
    Bind {
        /// The endpoint's name.
        endpoint: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// The endpoint was started twice.
    #[error("{0} endpoint is already running")]
    AlreadyRunning(&'static str),
}

/// Binds `addr` for `endpoint`, turning failures into errors that say which
/// endpoint and port.
pub async fn bind(endpoint: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => StartError::AddrInUse { endpoint, addr },
        _ => StartError::Bind { endpoint, addr, source },
    })
}

/// A network endpoint of the server.
#[async_trait]
pub trait Server: Send + Sync {
    /// The endpoint's name in logs and errors (`redis`, `admin`, ...).
    fn name(&self) -> &'static str;

    /// Binds `addr` (port 0 picks a free port) and starts serving in the
    /// background; returns the address actually bound.
    async fn start(&mut self, addr: SocketAddr) -> Result<SocketAddr, StartError>;

    /// The bound address while running.
    fn local_addr(&self) -> Option<SocketAddr>;

    /// Stops accepting, lets open connections finish for up to `grace`, then
    /// aborts the rest. Idempotent.
    async fn shutdown(&mut self, grace: Duration);
}

/// Serves one connection of a TCP protocol.
#[async_trait]
pub trait ConnectionHandler: Send + Sync + 'static {
    /// Runs the protocol on `stream` until the client leaves or `shutdown`
    /// is cancelled; on cancellation it should finish the request in hand
    /// and close.
    async fn handle(&self, stream: TcpStream, peer: SocketAddr, shutdown: CancellationToken);
}

struct Running {
    addr: SocketAddr,
    /// Asks handlers to finish up.
    cancel: CancellationToken,
    /// Drops handlers that did not finish within the grace period.
    abort: CancellationToken,
    connections: TaskTracker,
    accept: JoinHandle<()>,
}

/// A TCP endpoint: accepts connections and runs a [`ConnectionHandler`] for
/// each on its own task, tracking them for shutdown.
pub struct TcpServer<H> {
    name: &'static str,
    handler: Arc<H>,
    /// Where connections run; without loops, on the runtime that started
    /// the endpoint.
    loops: Option<Arc<IoLoops>>,
    running: Option<Running>,
}

impl<H> std::fmt::Debug for TcpServer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpServer")
            .field("name", &self.name)
            .field("addr", &self.running.as_ref().map(|r| r.addr))
            .finish()
    }
}

impl<H: ConnectionHandler> TcpServer<H> {
    /// An endpoint named `name` serving connections with `handler`.
    pub fn new(name: &'static str, handler: H) -> Self {
        TcpServer { name, handler: Arc::new(handler), loops: None, running: None }
    }

    /// Serves each connection on one of `loops` rather than on the runtime
    /// that starts the endpoint.
    pub fn with_io_loops(mut self, loops: Option<Arc<IoLoops>>) -> Self {
        self.loops = loops;
        self
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.running.as_ref().map_or(0, |r| r.connections.len())
    }
}

/// Runs `handler` on `stream` until it returns or `abort` fires; dropping
/// the handler closes the socket.
async fn serve<H: ConnectionHandler>(
    handler: Arc<H>,
    stream: TcpStream,
    peer: SocketAddr,
    cancel: CancellationToken,
    abort: CancellationToken,
) {
    tokio::select! {
        () = abort.cancelled() => {}
        () = handler.handle(stream, peer, cancel) => {}
    }
}

/// Moves an accepted connection onto the least busy loop. The socket is
/// registered with the loop's own epoll instance (`from_std` inside the
/// loop), so its readiness wakes that thread directly.
fn spawn_on_loop<H: ConnectionHandler>(
    name: &'static str,
    loops: &IoLoops,
    connections: &TaskTracker,
    accepted: (TcpStream, SocketAddr),
    cancel: CancellationToken,
    abort: CancellationToken,
    handler: Arc<H>,
) {
    let (stream, peer) = accepted;
    let std_stream = match stream.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(endpoint = name, %peer, error = %e, "cannot hand the connection to an I/O loop");
            return;
        }
    };
    let seat = loops.seat();
    let handle = seat.handle.clone();
    connections.spawn_on(
        async move {
            let _seat = seat;
            match TcpStream::from_std(std_stream) {
                Ok(stream) => serve(handler, stream, peer, cancel, abort).await,
                Err(e) => tracing::warn!(endpoint = name, %peer, error = %e, "cannot register the connection"),
            }
        },
        &handle,
    );
}

async fn accept_loop<H: ConnectionHandler>(
    name: &'static str,
    listener: TcpListener,
    handler: Arc<H>,
    loops: Option<Arc<IoLoops>>,
    cancel: CancellationToken,
    abort: CancellationToken,
    connections: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Small request/response exchanges should not wait for Nagle.
                let _ = stream.set_nodelay(true);
                let (handler, cancel, abort) = (handler.clone(), cancel.clone(), abort.clone());
                match &loops {
                    Some(loops) => {
                        spawn_on_loop(name, loops, &connections, (stream, peer), cancel, abort, handler);
                    }
                    None => {
                        connections.spawn(serve(handler, stream, peer, cancel, abort));
                    }
                }
            }
            Err(e) => {
                // Running out of file descriptors must not spin the loop.
                tracing::warn!(endpoint = name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[async_trait]
impl<H: ConnectionHandler> Server for TcpServer<H> {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn start(&mut self, addr: SocketAddr) -> Result<SocketAddr, StartError> {
        if self.running.is_some() {
            return Err(StartError::AlreadyRunning(self.name));
        }
        let listener = bind(self.name, addr).await?;
        let bound = listener.local_addr().map_err(|source| StartError::Bind { endpoint: self.name, addr, source })?;
        let cancel = CancellationToken::new();
        let abort = CancellationToken::new();
        let connections = TaskTracker::new();
        let accept = tokio::spawn(accept_loop(
            self.name,
            listener,
            self.handler.clone(),
            self.loops.clone(),
            cancel.clone(),
            abort.clone(),
            connections.clone(),
        ));
        self.running = Some(Running { addr: bound, cancel, abort, connections, accept });
        Ok(bound)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.addr)
    }

    async fn shutdown(&mut self, grace: Duration) {
        let Some(r) = self.running.take() else { return };
        r.cancel.cancel();
        let _ = r.accept.await;
        r.connections.close();
        if tokio::time::timeout(grace, r.connections.wait()).await.is_err() {
            tracing::warn!(
                endpoint = self.name,
                open = r.connections.len(),
                "connections still open after the grace period; closing them"
            );
            r.abort.cancel();
            r.connections.wait().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Echoes lines until the client leaves; on shutdown, stops after the
    /// current line.
    struct Echo;

    #[async_trait]
    impl ConnectionHandler for Echo {
        async fn handle(&self, mut stream: TcpStream, _peer: SocketAddr, shutdown: CancellationToken) {
            let mut buf = [0u8; 64];
            loop {
                let n = tokio::select! {
                    () = shutdown.cancelled() => return,
                    n = stream.read(&mut buf) => n,
                };
                match n {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Never returns by itself, to test the grace period.
    struct Stubborn;

    #[async_trait]
    impl ConnectionHandler for Stubborn {
        async fn handle(&self, _stream: TcpStream, _peer: SocketAddr, _shutdown: CancellationToken) {
            std::future::pending::<()>().await;
        }
    }

    fn any_port() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[tokio::test]
    async fn serves_on_a_free_port_and_stops() {
        let mut s = TcpServer::new("echo", Echo);
        let addr = s.start(any_port()).await.expect("start");
        assert_ne!(addr.port(), 0);
        assert_eq!(s.local_addr(), Some(addr));
        let mut c = pinged(addr).await;
        s.shutdown(Duration::from_secs(5)).await;
        assert_eq!(s.local_addr(), None);
        // The handler saw the cancellation and closed the connection.
        assert_eq!(c.read(&mut [0u8; 4]).await.expect("eof"), 0);
        assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
    }

    /// A connection to `addr` that has had "ping" echoed.
    async fn pinged(addr: SocketAddr) -> TcpStream {
        let mut c = TcpStream::connect(addr).await.expect("connect");
        c.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"ping");
        c
    }

    /// A looped connection's socket belongs to its loop's epoll instance,
    /// not to the runtime that accepted it: it keeps working after that
    /// runtime is gone.
    #[test]
    fn a_looped_connection_outlives_the_runtime_that_accepted_it() {
        use std::io::{Read, Write};
        let loops = IoLoops::start(1).expect("loops");
        let accepting = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        // Never shut down: the runtime's end stops its accept loop.
        let (_server, addr) = accepting.block_on(async {
            let mut s = TcpServer::new("echo", Echo).with_io_loops(Some(loops.clone()));
            let addr = s.start(any_port()).await.expect("start");
            (s, addr)
        });
        let mut c = std::net::TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while loops.open_connections() == 0 {
            assert!(std::time::Instant::now() < deadline, "the loop never got the connection");
            // The accept loop runs only while its runtime is driven.
            accepting.block_on(async { tokio::time::sleep(Duration::from_millis(5)).await });
        }
        drop(accepting);
        c.write_all(b"ping").expect("write");
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).expect("the loop still serves the connection");
        assert_eq!(&buf, b"ping");
    }

    /// Writes the name of the thread it runs on, then closes.
    struct WhereAmI;

    #[async_trait]
    impl ConnectionHandler for WhereAmI {
        async fn handle(&self, mut stream: TcpStream, _peer: SocketAddr, _shutdown: CancellationToken) {
            let name = std::thread::current().name().unwrap_or("").to_string();
            let _ = stream.write_all(name.as_bytes()).await;
        }
    }

    #[tokio::test]
    async fn connections_run_on_io_loops_and_stop_with_the_endpoint() {
        let loops = IoLoops::start(2).expect("loops");
        let mut s = TcpServer::new("where", WhereAmI).with_io_loops(Some(loops.clone()));
        let addr = s.start(any_port()).await.expect("start");
        for _ in 0..2 {
            let mut c = TcpStream::connect(addr).await.expect("connect");
            let mut name = String::new();
            c.read_to_string(&mut name).await.expect("read");
            assert!(name.starts_with("orbit-io-"), "ran on {name:?}");
        }
        let mut e = TcpServer::new("echo", Echo).with_io_loops(Some(loops.clone()));
        let addr = e.start(any_port()).await.expect("start");
        let mut c = pinged(addr).await;
        // The first two connections give their seats back after their
        // sockets close, so a moment after the client saw end of file.
        s.shutdown(Duration::from_secs(5)).await;
        assert_eq!(loops.open_connections(), 1);
        e.shutdown(Duration::from_secs(5)).await;
        assert_eq!(c.read(&mut [0u8; 4]).await.expect("eof"), 0, "shutdown closed the looped connection");
        assert_eq!(loops.open_connections(), 0, "the loop's seat was given back");
    }

    #[tokio::test]
    async fn a_taken_port_names_the_endpoint() {
        let mut first = TcpServer::new("echo", Echo);
        let addr = first.start(any_port()).await.expect("start");
        let mut second = TcpServer::new("redis", Echo);
        let err = second.start(addr).await.expect_err("port taken");
        assert!(matches!(err, StartError::AddrInUse { endpoint: "redis", .. }));
        assert!(err.to_string().contains(&addr.port().to_string()));
        assert!(matches!(first.start(any_port()).await, Err(StartError::AlreadyRunning("echo"))));
        first.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn shutdown_gives_up_on_stuck_connections_after_the_grace_period() {
        let mut s = TcpServer::new("stubborn", Stubborn);
        let addr = s.start(any_port()).await.expect("start");
        let mut c = TcpStream::connect(addr).await.expect("connect");
        while s.open_connections() == 0 {
            tokio::task::yield_now().await;
        }
        s.shutdown(Duration::from_millis(200)).await;
        let mut buf = [0u8; 1];
        assert_eq!(c.read(&mut buf).await.expect("eof"), 0, "the stuck connection was closed");
    }
}
