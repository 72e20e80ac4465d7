//! `[protocols.redis]`: the common protocol keys plus Redis' own.

use serde::{Deserialize, Serialize};

use super::section::protocol_section;

/// A user the Redis endpoint accepts in AUTH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisUser {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

protocol_section! {
    /// The Redis endpoint's section.
    RedisSection, RedisSectionFile, "RedisSectionFile" {
        /// Password of the `default` user (`AUTH <password>`); none means no
        /// password is needed, as in a fresh Redis.
        [serde(skip_serializing_if = "Option::is_none")] password: Option<String> = None,
        /// Further users for `AUTH <user> <password>`.
        [serde(skip_serializing_if = "Vec::is_empty")] users: Vec<RedisUser> = Vec::new(),
        /// Largest bulk string a request may carry, in bytes.
        [] max_bulk_len: usize = 512 << 20,
        /// Most elements a request may have.
        [] max_multibulk_len: usize = 1 << 20,
    }
}
