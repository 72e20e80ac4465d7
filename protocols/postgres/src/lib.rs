//! Orbit's PostgreSQL endpoint: PostgreSQL's wire protocol (pgwire) in
//! front of the shared SQL engine.
//!
//! pgwire's types stay in this crate: the engine sees SQL text, parameter
//! values and sessions; this crate turns them into messages.

mod config;
mod error;
mod handler;
mod socket;
mod startup;
mod values;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orbit_protocols::IoLoops;
use orbit_protocols::listener::{ConnectionHandler, Server, StartError, TcpServer};
use orbit_sql::SqlEngine;
use orbit_storage::TableStorage;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub use config::{AuthMethod, PgUser, PostgresConfig};
pub use startup::SERVER_VERSION;

/// pgwire's handlers for every connection of the endpoint.
struct Handlers {
    query: Arc<handler::QueryHandler>,
    startup: Arc<startup::Startup>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        self.query.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        self.query.clone()
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        self.query.clone()
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

struct Connection {
    handlers: Arc<Handlers>,
}

#[async_trait]
impl ConnectionHandler for Connection {
    async fn handle(&self, stream: TcpStream, peer: SocketAddr, shutdown: CancellationToken) {
        tokio::select! {
            r = socket::serve(stream, &*self.handlers) => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "postgresql connection ended with an error");
                }
            }
            // Statements run on the blocking pool and finish on their own;
            // an idle connection must not hold up shutdown.
            () = shutdown.cancelled() => {}
        }
    }
}

/// The PostgreSQL endpoint.
pub struct PostgresServer {
    handlers: Arc<Handlers>,
    loops: Option<Arc<IoLoops>>,
    tcp: Option<TcpServer<Connection>>,
}

impl std::fmt::Debug for PostgresServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresServer").field("addr", &self.local_addr()).finish()
    }
}

impl PostgresServer {
    /// An endpoint whose SQL engine works on `tables`.
    pub fn new(tables: Arc<dyn TableStorage>, config: PostgresConfig) -> Self {
        let engine = SqlEngine::new(tables);
        let manager = Arc::new(ConnectionManager::new());
        let handlers = Handlers {
            query: Arc::new(handler::QueryHandler::default()),
            startup: Arc::new(startup::Startup::new(engine, Arc::new(config), manager.clone())),
            cancel: Arc::new(DefaultCancelHandler::new(manager)),
        };
        PostgresServer { handlers: Arc::new(handlers), loops: None, tcp: None }
    }

    /// Serves connections on `loops` (see [`IoLoops`]) rather than on the
    /// runtime that starts the endpoint.
    pub fn with_io_loops(mut self, loops: Option<Arc<IoLoops>>) -> Self {
        self.loops = loops;
        self
    }
}

#[async_trait]
impl Server for PostgresServer {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    async fn start(&mut self, addr: SocketAddr) -> Result<SocketAddr, StartError> {
        if self.tcp.is_some() {
            return Err(StartError::AlreadyRunning("postgresql"));
        }
        let mut tcp = TcpServer::new("postgresql", Connection { handlers: self.handlers.clone() })
            .with_io_loops(self.loops.clone());
        let bound = tcp.start(addr).await?;
        self.tcp = Some(tcp);
        Ok(bound)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|t| t.local_addr())
    }

    async fn shutdown(&mut self, grace: Duration) {
        if let Some(mut tcp) = self.tcp.take() {
            tcp.shutdown(grace).await;
        }
    }
}
