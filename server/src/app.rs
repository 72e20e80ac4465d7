//! Startup, the running server, and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use orbit_protocols::{Server, StartError};
use orbit_storage::OpenError;
use tokio::signal::unix::{SignalKind, signal};

use crate::admin::AdminServer;
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
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// Stores did not close cleanly.
    #[error("some stores did not close cleanly; see the log")]
    Close,
    /// A blocking task failed.
    #[error("internal task failed: {0}")]
    Task(String),
}

/// Runs the server until SIGINT or SIGTERM, then shuts it down cleanly.
pub async fn run(config: Config) -> Result<(), AppError> {
    let mut sigint = signal(SignalKind::interrupt()).map_err(AppError::Signals)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(AppError::Signals)?;

    let lock = DataDirLock::acquire(&config.server.data_dir)?;
    tracing::info!(data_dir = %lock.path().display(), version = env!("CARGO_PKG_VERSION"), "starting orbit-server");

    let cfg = config.clone();
    let stores =
        tokio::task::spawn_blocking(move || Stores::open(&cfg)).await.map_err(|e| AppError::Task(e.to_string()))??;
    let stores = Arc::new(stores);

    let mut servers: Vec<Box<dyn Server>> = Vec::new();
    let started = start_endpoints(&config, &stores, &mut servers).await;
    if let Err(e) = started {
        stop(&mut servers, &stores, config.shutdown_grace()).await;
        return Err(e);
    }
    tracing::info!("orbit-server is ready");

    let which = tokio::select! {
        _ = sigint.recv() => "SIGINT",
        _ = sigterm.recv() => "SIGTERM",
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
    let clean = stop(&mut servers, &stores, config.shutdown_grace()).await;
    drop(lock);
    if clean {
        tracing::info!("shutdown complete");
        Ok(())
    } else {
        Err(AppError::Close)
    }
}

async fn start_endpoints(
    config: &Config,
    stores: &Arc<Stores>,
    servers: &mut Vec<Box<dyn Server>>,
) -> Result<(), AppError> {
    let bind = config.server.bind;
    let mut admin = AdminServer::new(stores.clone());
    let addr = admin.start(SocketAddr::new(bind, config.admin.port)).await?;
    tracing::info!(endpoint = "admin", %addr, "listening (GET /health, GET /metrics)");
    servers.push(Box::new(admin));
    // Protocol endpoints join `servers` here as they are built. Until then
    // no listener is started for them: a port that accepts connections and
    // then fails every request would be worse than a closed one.
    for (protocol, _) in stores.iter() {
        if let Some(port) = config.port(protocol) {
            tracing::warn!(
                endpoint = %protocol,
                port,
                "this build has no {protocol} endpoint yet; its store is open but no listener was started"
            );
        }
    }
    Ok(())
}

/// Stops every endpoint (newest first), then flushes and closes the stores.
async fn stop(servers: &mut Vec<Box<dyn Server>>, stores: &Arc<Stores>, grace: Duration) -> bool {
    while let Some(mut s) = servers.pop() {
        s.shutdown(grace).await;
        tracing::info!(endpoint = s.name(), "stopped");
    }
    let stores = stores.clone();
    tokio::task::spawn_blocking(move || stores.close()).await.unwrap_or(false)
}
