//! Health of a store.

use serde::Serialize;

/// Overall condition, worst first when compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum HealthState {
    /// Working normally.
    Healthy,
    /// Working, but slowed (for example writes stalled behind compaction).
    Degraded,
    /// Not able to do its job (for example read-only after a failed fsync).
    Unhealthy,
}

/// A state with the reason for anything short of healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The state.
    pub state: HealthState,
    /// Why, when not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Health {
    /// Healthy, no reason.
    pub fn healthy() -> Self {
        Health { state: HealthState::Healthy, reason: None }
    }

    /// A state with a reason.
    pub fn new(state: HealthState, reason: impl Into<String>) -> Self {
        Health { state, reason: Some(reason.into()) }
    }
}
