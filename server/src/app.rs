//! Startup, the running server, and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use orbit_mysql::{MysqlConfig, MysqlServer};
use orbit_persistence::{NodeEndpoint, PersistenceError, PersistenceProviderRegistry};
use orbit_postgres::{PostgresConfig, PostgresServer};
use orbit_protocols::{IoLoops, Server, StartError};
use orbit_redis::{RedisConfig, RedisServer, User};
use orbit_storage::{OpenError, Protocol, Store};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::admin::AdminServer;
use crate::cluster::{ClusterError, Membership, NodeSpec};
use crate::config::Config;
use crate::datadir::{DataDirError, DataDirLock};
use crate::stores::Stores;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The data directory is unusable or taken.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A store did not open.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// An endpoint did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The connection-serving threads could not be started.
    #[error("cannot start the connection threads: {0}")]
    IoThreads(std::io::Error),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// Stores did not close cleanly.
    #[error("some stores did not close cleanly; see the log")]
    Close,
    /// A blocking task failed.
    #[error("internal task failed: {0}")]
    Task(String),
    /// A persistence provider did not start.
    #[error("persistence: {0}")]
    Persistence(#[from] PersistenceError),
    /// The server could not join the cluster.
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
}

/// Runs the server until SIGINT or SIGTERM, then shuts it down cleanly.
pub async fn run(config: Config) -> Result<(), AppError> {
    let mut sigint = signal(SignalKind::interrupt()).map_err(AppError::Signals)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(AppError::Signals)?;

    let lock = DataDirLock::acquire(&config.server.data_dir)?;
    tracing::info!(data_dir = %lock.path().display(), version = env!("CARGO_PKG_VERSION"), "starting orbit-server");

    let threads = match config.server.io_threads {
        0 => IoLoops::default_threads(),
        n => n,
    };
    let loops = IoLoops::start(threads).map_err(AppError::IoThreads)?;
    tracing::info!(threads, "connection threads started");

    let cfg = config.clone();
    let stores =
        tokio::task::spawn_blocking(move || Stores::open(&cfg)).await.map_err(|e| AppError::Task(e.to_string()))??;
    let stores = Arc::new(stores);
    let registry = match PersistenceProviderRegistry::from_config(&config.persistence(), lock.path()).await {
        Ok(r) => Arc::new(r),
        Err(e) => {
            close_stores(&stores).await;
            return Err(e.into());
        }
    };

    // A client's SHUTDOWN (Redis) stops the server as a signal would.
    let shutdown_request = CancellationToken::new();
    let mut servers: Vec<Box<dyn Server>> = Vec::new();
    let started = start_endpoints(&config, &stores, &registry, &loops, &mut servers, &shutdown_request).await;
    let joined = match started {
        Ok(()) => join_cluster(&config, lock.path(), &stores, &registry, &servers).await,
        Err(e) => Err(e),
    };
    let membership = match joined {
        Ok(m) => m,
        Err(e) => {
            stop(&mut servers, &stores, &registry, config.shutdown_grace()).await;
            return Err(e);
        }
    };
    tracing::info!(node = %membership.node_id(), "orbit-server is ready");

    let which = tokio::select! {
        _ = sigint.recv() => "SIGINT",
        _ = sigterm.recv() => "SIGTERM",
        () = shutdown_request.cancelled() => "SHUTDOWN command",
    };
    tracing::info!(signal = which, "shutting down");
    // A second signal means "now": the stores' logs make that safe.
    tokio::spawn(async move {
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
        tracing::warn!("second signal: exiting without waiting for a clean shutdown");
        std::process::exit(1);
    });
    // Leave first, so that peers stop counting on this node while it drains.
    if let Err(e) = membership.leave().await {
        tracing::warn!(error = %e, "could not remove this node from the cluster; its records expire on their own");
    }
    let clean = stop(&mut servers, &stores, &registry, config.shutdown_grace()).await;
    drop(lock);
    if clean {
        tracing::info!("shutdown complete");
        Ok(())
    } else {
        Err(AppError::Close)
    }
}

/// The Redis endpoint's settings from the configuration.
fn redis_config(config: &Config) -> RedisConfig {
    let r = &config.protocols.redis;
    let mut users: Vec<User> =
        r.users.iter().map(|u| User { name: u.name.clone(), password: u.password.clone() }).collect();
    if let Some(p) = &r.password {
        users.push(User { name: "default".into(), password: p.clone() });
    }
    RedisConfig {
        users,
        max_bulk_len: r.max_bulk_len,
        max_multibulk_len: r.max_multibulk_len,
        ..RedisConfig::default()
    }
}

/// The endpoint serving `protocol`, when this build has one.
fn endpoint(
    protocol: Protocol,
    config: &Config,
    store: &Arc<Store>,
    loops: &Arc<IoLoops>,
    shutdown_request: &CancellationToken,
) -> Option<Box<dyn Server>> {
    let loops = Some(loops.clone());
    match protocol {
        Protocol::Redis => Some(Box::new(
            RedisServer::new(store.clone(), redis_config(config), shutdown_request.clone()).with_io_loops(loops),
        )),
        Protocol::Postgresql => {
            let pg = &config.protocols.postgresql;
            let settings = PostgresConfig { auth: pg.auth, users: pg.users.clone() };
            Some(Box::new(PostgresServer::new(Arc::new(store.tables().clone()), settings).with_io_loops(loops)))
        }
        Protocol::Mysql => {
            let settings = MysqlConfig { users: config.protocols.mysql.users.clone() };
            Some(Box::new(MysqlServer::new(Arc::new(store.tables().clone()), settings).with_io_loops(loops)))
        }
        Protocol::Cql | Protocol::Cypher | Protocol::Aql | Protocol::Graphrag => None,
    }
}

async fn start_endpoints(
    config: &Config,
    stores: &Arc<Stores>,
    registry: &Arc<PersistenceProviderRegistry>,
    loops: &Arc<IoLoops>,
    servers: &mut Vec<Box<dyn Server>>,
    shutdown_request: &CancellationToken,
) -> Result<(), AppError> {
    let bind = config.server.bind;
    let mut admin = AdminServer::new(stores.clone(), registry.clone());
    let addr = admin.start(SocketAddr::new(bind, config.admin.port)).await?;
    tracing::info!(endpoint = "admin", %addr, "listening (GET /health, GET /metrics)");
    servers.push(Box::new(admin));
    for (protocol, store) in stores.iter() {
        let Some(port) = config.port(protocol) else { continue };
        match endpoint(protocol, config, store, loops, shutdown_request) {
            Some(mut server) => {
                let addr = server.start(SocketAddr::new(bind, port)).await?;
                tracing::info!(endpoint = %protocol, %addr, "listening");
                servers.push(server);
            }
            // No listener for an endpoint not built yet: a port that accepts
            // connections and then fails every request would be worse.
            None => tracing::warn!(
                endpoint = %protocol,
                port,
                "this build has no {protocol} endpoint yet; its store is open but no listener was started"
            ),
        }
    }
    Ok(())
}

/// Registers this node, with the endpoints that started, and leases its
/// protocol stores.
async fn join_cluster(
    config: &Config,
    data_dir: &std::path::Path,
    stores: &Stores,
    registry: &Arc<PersistenceProviderRegistry>,
    servers: &[Box<dyn Server>],
) -> Result<Membership, AppError> {
    // A file read (and, the first time, written): off the async workers.
    let (configured, dir) = (config.cluster.node_id.clone(), data_dir.to_path_buf());
    let id = tokio::task::spawn_blocking(move || crate::cluster::node_id(configured.as_deref(), &dir))
        .await
        .map_err(|e| AppError::Task(e.to_string()))??;
    let endpoints: Vec<NodeEndpoint> = servers
        .iter()
        .filter_map(|s| s.local_addr().map(|a| NodeEndpoint { protocol: s.name().to_string(), address: a.to_string() }))
        .collect();
    let address = endpoints.iter().find(|e| e.protocol == "admin").map_or_else(String::new, |e| e.address.clone());
    let spec = NodeSpec {
        id,
        address,
        endpoints,
        stores: stores.iter().map(|(p, _)| p.to_string()).collect(),
        lease_ttl: Duration::from_secs(config.cluster.lease_ttl_secs),
        cleanup_interval: Duration::from_secs(config.cluster.cleanup_interval_secs),
    };
    Ok(Membership::join(registry.clone(), spec).await?)
}

/// Stops every endpoint (newest first), then the persistence providers,
/// then flushes and closes the stores.
async fn stop(
    servers: &mut Vec<Box<dyn Server>>,
    stores: &Arc<Stores>,
    registry: &PersistenceProviderRegistry,
    grace: Duration,
) -> bool {
    while let Some(mut s) = servers.pop() {
        s.shutdown(grace).await;
        tracing::info!(endpoint = s.name(), "stopped");
    }
    let providers_clean = registry.shutdown().await.is_ok();
    close_stores(stores).await && providers_clean
}

async fn close_stores(stores: &Arc<Stores>) -> bool {
    let stores = stores.clone();
    tokio::task::spawn_blocking(move || stores.close()).await.unwrap_or(false)
}
