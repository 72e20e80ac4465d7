//! The Redis endpoint as a [`Server`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use orbit_protocols::IoLoops;
use orbit_protocols::listener::{ConnectionHandler, Server, StartError, TcpServer};
use orbit_storage::Store;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::config::RedisConfig;
use crate::engine::Engine;
use crate::shared::Shared;

struct Handler {
    shared: Arc<Shared>,
    engine: Engine,
    store: Arc<Store>,
}

#[async_trait]
impl ConnectionHandler for Handler {
    async fn handle(&self, stream: TcpStream, peer: SocketAddr, shutdown: CancellationToken) {
        crate::conn::serve(stream, peer, self.shared.clone(), self.engine.clone(), self.store.clone(), shutdown).await;
    }
}

/// The Redis endpoint: RESP2/RESP3 on a TCP port, data in the redis store.
pub struct RedisServer {
    shared: Arc<Shared>,
    store: Arc<Store>,
    loops: Option<Arc<IoLoops>>,
    tcp: Option<TcpServer<Handler>>,
    engine: Option<(Engine, std::thread::JoinHandle<()>)>,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer").field("addr", &self.local_addr()).finish()
    }
}

impl RedisServer {
    /// An endpoint serving `store`. `shutdown_request` is cancelled when a
    /// client sends SHUTDOWN, asking the whole server to stop.
    pub fn new(store: Arc<Store>, config: RedisConfig, shutdown_request: CancellationToken) -> Self {
        let mut shared = Shared::new(config);
        shared.shutdown = shutdown_request;
        RedisServer { shared: Arc::new(shared), store, loops: None, tcp: None, engine: None }
    }

    /// Serves connections on `loops` (see [`IoLoops`]) rather than on the
    /// runtime that starts the endpoint.
    pub fn with_io_loops(mut self, loops: Option<Arc<IoLoops>>) -> Self {
        self.loops = loops;
        self
    }
}

#[async_trait]
impl Server for RedisServer {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn start(&mut self, addr: SocketAddr) -> Result<SocketAddr, StartError> {
        if self.tcp.is_some() {
            return Err(StartError::AlreadyRunning("redis"));
        }
        let (engine, thread) = Engine::start(self.store.clone(), self.shared.clone())
            .map_err(|e| StartError::Bind { endpoint: "redis", addr, source: std::io::Error::other(e.to_string()) })?;
        let handler = Handler { shared: self.shared.clone(), engine: engine.clone(), store: self.store.clone() };
        let mut tcp = TcpServer::new("redis", handler).with_io_loops(self.loops.clone());
        let bound = match tcp.start(addr).await {
            Ok(b) => b,
            Err(e) => {
                // Stop the engine before reporting, so the store closes idle.
                drop(tcp);
                drop(engine);
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                return Err(e);
            }
        };
        self.shared.port.store(u64::from(bound.port()), Ordering::Relaxed);
        self.tcp = Some(tcp);
        self.engine = Some((engine, thread));
        Ok(bound)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|t| t.local_addr())
    }

    async fn shutdown(&mut self, grace: Duration) {
        if let Some(mut tcp) = self.tcp.take() {
            tcp.shutdown(grace).await;
        }
        // With every connection gone, dropping the last handle stops the
        // engine after its current batch; wait for it so the store closes
        // with nothing in flight.
        if let Some((engine, thread)) = self.engine.take() {
            drop(engine);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}
