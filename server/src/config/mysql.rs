//! `[protocols.mysql]`: the common protocol keys plus users.

use orbit_mysql::MysqlUser;
use serde::{Deserialize, Serialize};

use super::{ProtocolSection, SyncMode};

/// The MySQL endpoint's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "MysqlSectionFile", into = "MysqlSectionFile")]
pub struct MysqlSection {
    /// `enabled`, `port`, `sync`, `sync_interval_ms`.
    pub common: ProtocolSection,
    /// Users and passwords, checked with mysql_native_password or
    /// caching_sha2_password; with none, `root` gets in with an empty
    /// password, as in a fresh MariaDB.
    pub users: Vec<MysqlUser>,
}

impl Default for MysqlSection {
    fn default() -> Self {
        MysqlSectionFile::default().into()
    }
}

/// The section as written in files: flat, every key known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MysqlSectionFile {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<SyncMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_interval_ms: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    users: Vec<MysqlUser>,
}

impl Default for MysqlSectionFile {
    fn default() -> Self {
        MysqlSectionFile {
            enabled: ProtocolSection::default().enabled,
            port: None,
            sync: None,
            sync_interval_ms: None,
            users: Vec::new(),
        }
    }
}

impl From<MysqlSectionFile> for MysqlSection {
    fn from(f: MysqlSectionFile) -> Self {
        MysqlSection {
            common: ProtocolSection {
                enabled: f.enabled,
                port: f.port,
                sync: f.sync,
                sync_interval_ms: f.sync_interval_ms,
            },
            users: f.users,
        }
    }
}

impl From<MysqlSection> for MysqlSectionFile {
    fn from(s: MysqlSection) -> Self {
        MysqlSectionFile {
            enabled: s.common.enabled,
            port: s.common.port,
            sync: s.common.sync,
            sync_interval_ms: s.common.sync_interval_ms,
            users: s.users,
        }
    }
}
