//! The admin HTTP endpoint: `GET /health`, `GET /metrics`, and the cluster
//! views `GET /cluster/nodes`, `GET /cluster/leases`,
//! `GET /cluster/providers` and `POST /cluster/providers/{name}/failback`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use orbit_persistence::{
    AddressableLease, NodeInfo, PersistenceError, PersistenceProviderRegistry, ProviderHealth, ProviderKind,
    ProviderMetrics,
};
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
    registry: Arc<PersistenceProviderRegistry>,
    started: Instant,
}

/// The admin endpoint.
#[derive(Debug)]
pub struct AdminServer {
    state: Arc<AppState>,
    running: Option<(SocketAddr, oneshot::Sender<()>, JoinHandle<()>)>,
}

impl AdminServer {
    /// An admin endpoint reporting on `stores` and the persistence
    /// providers of `registry`.
    pub fn new(stores: Arc<Stores>, registry: Arc<PersistenceProviderRegistry>) -> Self {
        AdminServer { state: Arc::new(AppState { stores, registry, started: Instant::now() }), running: None }
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .route("/cluster/nodes", get(cluster_nodes))
            .route("/cluster/leases", get(cluster_leases))
            .route("/cluster/providers", get(cluster_providers))
            .route("/cluster/providers/{name}/failback", post(failback))
            .with_state(self.state.clone())
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
    providers: BTreeMap<String, ProviderReport>,
}

#[derive(Debug, Serialize)]
struct ProviderReport {
    kind: ProviderKind,
    #[serde(flatten)]
    health: ProviderHealth,
}

fn health_state(h: &ProviderHealth) -> HealthState {
    match h {
        ProviderHealth::Healthy => HealthState::Healthy,
        ProviderHealth::Degraded(_) => HealthState::Degraded,
        ProviderHealth::Unhealthy(_) => HealthState::Unhealthy,
    }
}

async fn provider_health(registry: &PersistenceProviderRegistry) -> BTreeMap<String, ProviderReport> {
    let mut out = BTreeMap::new();
    for (name, p) in registry.iter() {
        out.insert(name.to_string(), ProviderReport { kind: p.kind(), health: p.health_check().await });
    }
    out
}

/// 200 while every store can serve (Healthy or Degraded), 503 otherwise.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let providers = provider_health(&state.registry).await;
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
        let status = stores
            .values()
            .map(|h| h.health.state)
            .chain(providers.values().map(|p| health_state(&p.health)))
            .max()
            .unwrap_or(HealthState::Healthy);
        HealthReport {
            status,
            uptime_seconds: s.started.elapsed().as_secs(),
            version: env!("CARGO_PKG_VERSION"),
            stores,
            providers,
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
    let mut providers = Vec::new();
    for (name, p) in state.registry.iter() {
        let health = health_state(&p.health_check().await);
        providers.push(metrics_export::ProviderScrape { name: name.to_string(), metrics: p.metrics(), health });
    }
    match tokio::task::spawn_blocking(move || metrics_export::render(&stores, providers)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, metrics_export::CONTENT_TYPE)], text).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics failed: {e}")).into_response(),
    }
}

/// A provider failure as an HTTP error.
fn provider_error(e: &PersistenceError) -> Response {
    let code = match e {
        PersistenceError::UnknownProvider(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (code, axum::Json(serde_json::json!({ "error": e.to_string() }))).into_response()
}

#[derive(Debug, Serialize)]
struct NodeView {
    #[serde(flatten)]
    node: NodeInfo,
    /// Whether its lease is current.
    active: bool,
}

/// Every node the cluster provider knows, with whether it is active.
async fn cluster_nodes(State(state): State<Arc<AppState>>) -> Response {
    match state.registry.cluster_provider().list_all_nodes().await {
        Ok(nodes) => {
            let now = chrono::Utc::now();
            let view: Vec<NodeView> =
                nodes.into_iter().map(|node| NodeView { active: !node.is_expired(now), node }).collect();
            axum::Json(view).into_response()
        }
        Err(e) => provider_error(&e),
    }
}

/// Every live addressable lease.
async fn cluster_leases(State(state): State<Arc<AppState>>) -> Response {
    match state.registry.addressable_provider().list_all_leases().await {
        Ok(leases) => axum::Json::<Vec<AddressableLease>>(leases).into_response(),
        Err(e) => provider_error(&e),
    }
}

#[derive(Debug, Serialize)]
struct ProviderView {
    name: String,
    kind: ProviderKind,
    roles: Vec<&'static str>,
    health: ProviderHealth,
    metrics: ProviderMetrics,
}

/// Every provider: type, roles, health and metrics.
async fn cluster_providers(State(state): State<Arc<AppState>>) -> Response {
    let d = state.registry.defaults();
    let mut out = Vec::new();
    for (name, p) in state.registry.iter() {
        let roles = [("default", &d.default), ("addressable", &d.addressable), ("cluster", &d.cluster)]
            .into_iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(r, _)| r)
            .collect();
        out.push(ProviderView {
            name: name.to_string(),
            kind: p.kind(),
            roles,
            health: p.health_check().await,
            metrics: p.metrics(),
        });
    }
    axum::Json(out).into_response()
}

/// Moves a failed-over composite provider back to its primary.
async fn failback(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    if state.registry.get(&name).is_err() {
        return provider_error(&PersistenceError::UnknownProvider(name));
    }
    let Ok(composite) = state.registry.composite(&name) else {
        let body = serde_json::json!({ "error": format!("provider {name} is not a composite provider") });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    match composite.failback().await {
        Ok(()) => axum::Json(serde_json::json!({ "provider": name, "failed_over": composite.is_failed_over() }))
            .into_response(),
        Err(e) => provider_error(&e),
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
