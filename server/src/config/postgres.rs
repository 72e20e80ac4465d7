//! `[protocols.postgresql]`: the common protocol keys plus authentication.

use orbit_postgres::{AuthMethod, PgUser};
use serde::{Deserialize, Serialize};

use super::{ProtocolSection, SyncMode};

/// The PostgreSQL endpoint's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PostgresSectionFile", into = "PostgresSectionFile")]
pub struct PostgresSection {
    /// `enabled`, `port`, `sync`, `sync_interval_ms`.
    pub common: ProtocolSection,
    /// How configured users authenticate: `trust`, `password`, `md5` or
    /// `scram-sha-256`.
    pub auth: AuthMethod,
    /// Users and passwords; with none, anyone connects without a password,
    /// as after `initdb -A trust`.
    pub users: Vec<PgUser>,
}

impl Default for PostgresSection {
    fn default() -> Self {
        PostgresSectionFile::default().into()
    }
}

/// The section as written in files: flat, every key known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSectionFile {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<SyncMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_interval_ms: Option<u64>,
    auth: AuthMethod,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    users: Vec<PgUser>,
}

impl Default for PostgresSectionFile {
    fn default() -> Self {
        PostgresSectionFile {
            enabled: ProtocolSection::default().enabled,
            port: None,
            sync: None,
            sync_interval_ms: None,
            auth: AuthMethod::default(),
            users: Vec::new(),
        }
    }
}

impl From<PostgresSectionFile> for PostgresSection {
    fn from(f: PostgresSectionFile) -> Self {
        PostgresSection {
            common: ProtocolSection {
                enabled: f.enabled,
                port: f.port,
                sync: f.sync,
                sync_interval_ms: f.sync_interval_ms,
            },
            auth: f.auth,
            users: f.users,
        }
    }
}

impl From<PostgresSection> for PostgresSectionFile {
    fn from(s: PostgresSection) -> Self {
        PostgresSectionFile {
            enabled: s.common.enabled,
            port: s.common.port,
            sync: s.common.sync,
            sync_interval_ms: s.common.sync_interval_ms,
            auth: s.auth,
            users: s.users,
        }
    }
}
