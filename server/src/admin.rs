//! The admin HTTP endpoint: `GET /health` and `GET /metrics`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orbit_protocols::listener::{Server, StartError, bind};
use orbit_storage::{Health, HealthState};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::metrics_export;
use crate::stores::Stores;

#[derive(Debug)]
struct AppState {
    stores: Arc<Stores>,
    started: Instant,
}

/// The admin endpoint.
#[derive(Debug)]
pub struct AdminServer {
    state: Arc<AppState>,
    running: Option<(SocketAddr, oneshot::Sender<()>, JoinHandle<()>)>,
}

impl AdminServer {
    /// An admin endpoint reporting on `stores`.
    pub fn new(stores: Arc<Stores>) -> Self {
        AdminServer { state: Arc::new(AppState { stores, started: Instant::now() }), running: None }
    }

    fn router(&self) -> Router {
        Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(self.state.clone())
    }
}

#[derive(Debug, Serialize)]
struct StoreHealth {
    #[serde(flatten)]
    health: Health,
    path: Option<String>,
}

#[derive(Debug, Serialize)]
struct HealthReport {
    status: HealthState,
    uptime_seconds: u64,
    version: &'static str,
    stores: BTreeMap<String, StoreHealth>,
}

/// 200 while every store can serve (Healthy or Degraded), 503 otherwise.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let s = state.clone();
    // Store health reads engine properties: keep it off the async workers.
    let report = tokio::task::spawn_blocking(move || {
        let stores: BTreeMap<String, StoreHealth> = s
            .stores
            .iter()
            .map(|(p, store)| {
                let health = store.health();
                let path = store.path().map(|p| p.display().to_string());
                (p.to_string(), StoreHealth { health, path })
            })
            .collect();
        let status = stores.values().map(|h| h.health.state).max().unwrap_or(HealthState::Healthy);
        HealthReport {
            status,
            uptime_seconds: s.started.elapsed().as_secs(),
            version: env!("CARGO_PKG_VERSION"),
            stores,
        }
    })
    .await;
    match report {
        Ok(r) => {
            let code =
                if r.status == HealthState::Unhealthy { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
            (code, axum::Json(r)).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("health check failed: {e}")).into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let stores = state.stores.clone();
    match tokio::task::spawn_blocking(move || metrics_export::render(&stores)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, metrics_export::CONTENT_TYPE)], text).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics failed: {e}")).into_response(),
    }
}

#[async_trait]
impl Server for AdminServer {
    fn name(&self) -> &'static str {
        "admin"
    }

    async fn start(&mut self, addr: SocketAddr) -> Result<SocketAddr, StartError> {
        if self.running.is_some() {
            return Err(StartError::AlreadyRunning("admin"));
        }
        let listener = bind("admin", addr).await?;
        let bound = listener.local_addr().map_err(|source| StartError::Bind { endpoint: "admin", addr, source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = self.router();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "admin endpoint failed");
            }
        });
        self.running = Some((bound, stop, task));
        Ok(bound)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.0)
    }

    async fn shutdown(&mut self, grace: Duration) {
        let Some((_, stop, mut task)) = self.running.take() else { return };
        let _ = stop.send(());
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!("admin requests still running after the grace period; aborting them");
            task.abort();
        }
    }
}
