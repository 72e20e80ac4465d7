//! Sessions of this process, for `pg_stat_activity`, `pg_backend_pid()`
//! and `pg_settings` (which shows the asking session's own settings).
//!
//! One registry per process: a process serves one PostgreSQL endpoint.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};

/// What `pg_stat_activity` shows of one session.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    pub database: String,
    pub user: String,
    pub backend_start: DateTime<Utc>,
    pub xact_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    /// `active`, `idle`, `idle in transaction` or `idle in transaction (aborted)`.
    pub state: &'static str,
    pub query: String,
    /// The session's settings (name, value), as SHOW would print them.
    pub settings: Vec<(String, String)>,
}

fn registry() -> MutexGuard<'static, BTreeMap<i64, Activity>> {
    static SESSIONS: OnceLock<Mutex<BTreeMap<i64, Activity>>> = OnceLock::new();
    SESSIONS.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Registers a new session; returns its process id.
pub(crate) fn register(activity: Activity) -> i64 {
    // Like PostgreSQL's, ids look like process ids; they never repeat.
    static NEXT: AtomicI64 = AtomicI64::new(10_000);
    let pid = NEXT.fetch_add(1, Ordering::Relaxed);
    registry().insert(pid, activity);
    pid
}

/// Forgets a session that ended.
pub(crate) fn unregister(pid: i64) {
    registry().remove(&pid);
}

/// Changes what session `pid` shows.
pub(crate) fn update(pid: i64, f: impl FnOnce(&mut Activity)) {
    if let Some(a) = registry().get_mut(&pid) {
        f(a);
    }
}

/// Every session, by pid.
pub(crate) fn all() -> Vec<(i64, Activity)> {
    registry().iter().map(|(p, a)| (*p, a.clone())).collect()
}

/// The settings of session `pid`.
pub(crate) fn settings(pid: i64) -> Vec<(String, String)> {
    registry().get(&pid).map(|a| a.settings.clone()).unwrap_or_default()
}
