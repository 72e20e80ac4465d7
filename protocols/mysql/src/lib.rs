//! Orbit's MySQL endpoint: MySQL's client/server protocol in front of the
//! shared SQL engine, speaking its MySQL dialect.
//!
//! Packets are framed here, with bodies, value encodings and password
//! scrambles from `mysql_common` (the codec of the mysql_async driver).
//! The design card named opensrv-mysql; version 0.7 was tried and dropped:
//! it fixes the refusal code at 1698 where clients expect 1045, loses the
//! MORE_RESULTS flag between result sets under CLIENT_DEPRECATE_EOF (so a
//! multi-statement query shows only its first result), answers unknown
//! commands with OK, panics on some malformed COM_STMT_EXECUTE bodies,
//! lacks COM_STMT_RESET and COM_RESET_CONNECTION, and sets no status
//! flags (autocommit, in-transaction) on the packets that end result sets.

mod auth;
mod config;
mod conn;
mod error;
mod handshake;
mod packet;
mod results;
mod values;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use orbit_protocols::IoLoops;
use orbit_protocols::listener::{ConnectionHandler, Server, StartError, TcpServer};
use orbit_sql::SqlEngine;
use orbit_storage::TableStorage;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub use config::{MysqlConfig, MysqlUser};

/// The largest client message accepted, as `@@max_allowed_packet` says.
const MAX_ALLOWED_PACKET: usize = 64 * 1024 * 1024;

#[derive(Clone)]
struct Connection {
    engine: Arc<SqlEngine>,
    config: Arc<MysqlConfig>,
    next_id: Arc<AtomicU32>,
}

impl Connection {
    async fn serve(&self, stream: TcpStream, peer: SocketAddr) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        let mut packets = packet::Packets::new(reader, writer, MAX_ALLOWED_PACKET);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let Some(accepted) = handshake::accept(&mut packets, &self.engine, &self.config, id, peer.ip()).await? else {
            return Ok(());
        };
        let login = conn::Login { engine: self.engine.clone(), config: self.config.clone(), peer: peer.ip() };
        conn::Conn::new(packets, accepted.caps, accepted.session, login).serve().await
    }
}

#[async_trait]
impl ConnectionHandler for Connection {
    async fn handle(&self, stream: TcpStream, peer: SocketAddr, shutdown: CancellationToken) {
        tokio::select! {
            r = self.serve(stream, peer) => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "mysql connection ended with an error");
                }
            }
            // Statements finish on their own; an idle connection must not
            // hold up shutdown.
            () = shutdown.cancelled() => {}
        }
    }
}

/// The MySQL endpoint: the shared TCP listener serving MySQL connections.
pub struct MysqlServer {
    tcp: TcpServer<Connection>,
}

impl std::fmt::Debug for MysqlServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlServer").field("addr", &self.local_addr()).finish()
    }
}

impl MysqlServer {
    /// An endpoint whose SQL engine works on `tables`.
    pub fn new(tables: Arc<dyn TableStorage>, config: MysqlConfig) -> Self {
        let connection = Connection {
            engine: SqlEngine::new(tables),
            config: Arc::new(config),
            next_id: Arc::new(AtomicU32::new(1)),
        };
        MysqlServer { tcp: TcpServer::new("mysql", connection) }
    }

    /// Serves connections on `loops` (see [`IoLoops`]) rather than on the
    /// runtime that starts the endpoint.
    pub fn with_io_loops(mut self, loops: Option<Arc<IoLoops>>) -> Self {
        self.tcp = self.tcp.with_io_loops(loops);
        self
    }
}

#[async_trait]
impl Server for MysqlServer {
    fn name(&self) -> &'static str {
        self.tcp.name()
    }

    async fn start(&mut self, addr: SocketAddr) -> Result<SocketAddr, StartError> {
        self.tcp.start(addr).await
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp.local_addr()
    }

    async fn shutdown(&mut self, grace: Duration) {
        self.tcp.shutdown(grace).await
    }
}
