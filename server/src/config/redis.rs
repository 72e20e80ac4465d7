//! `[protocols.redis]`: the common protocol keys plus Redis' own.

use serde::{Deserialize, Serialize};

use super::{ProtocolSection, SyncMode};

/// A user the Redis endpoint accepts in AUTH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisUser {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// The Redis endpoint's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RedisSectionFile", into = "RedisSectionFile")]
pub struct RedisSection {
    /// `enabled`, `port`, `sync`, `sync_interval_ms`.
    pub common: ProtocolSection,
    /// Password of the `default` user (`AUTH <password>`); none means no
    /// password is needed, as in a fresh Redis.
    pub password: Option<String>,
    /// Further users for `AUTH <user> <password>`.
    pub users: Vec<RedisUser>,
    /// Largest bulk string a request may carry, in bytes.
    pub max_bulk_len: usize,
    /// Most elements a request may have.
    pub max_multibulk_len: usize,
}

impl Default for RedisSection {
    fn default() -> Self {
        RedisSectionFile::default().into()
    }
}

/// The section as written in files: flat, every key known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSectionFile {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<SyncMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_interval_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    users: Vec<RedisUser>,
    max_bulk_len: usize,
    max_multibulk_len: usize,
}

impl Default for RedisSectionFile {
    fn default() -> Self {
        let common = ProtocolSection::default();
        RedisSectionFile {
            enabled: common.enabled,
            port: None,
            sync: None,
            sync_interval_ms: None,
            password: None,
            users: Vec::new(),
            max_bulk_len: 512 << 20,
            max_multibulk_len: 1 << 20,
        }
    }
}

impl From<RedisSectionFile> for RedisSection {
    fn from(f: RedisSectionFile) -> Self {
        RedisSection {
            common: ProtocolSection {
                enabled: f.enabled,
                port: f.port,
                sync: f.sync,
                sync_interval_ms: f.sync_interval_ms,
            },
            password: f.password,
            users: f.users,
            max_bulk_len: f.max_bulk_len,
            max_multibulk_len: f.max_multibulk_len,
        }
    }
}

impl From<RedisSection> for RedisSectionFile {
    fn from(s: RedisSection) -> Self {
        RedisSectionFile {
            enabled: s.common.enabled,
            port: s.common.port,
            sync: s.common.sync,
            sync_interval_ms: s.common.sync_interval_ms,
            password: s.password,
            users: s.users,
            max_bulk_len: s.max_bulk_len,
            max_multibulk_len: s.max_multibulk_len,
        }
    }
}
