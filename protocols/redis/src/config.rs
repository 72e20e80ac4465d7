//! Settings of the Redis endpoint.

/// A user that AUTH accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name (`default` is the one `AUTH <password>` logs in as).
    pub name: String,
    /// Password.
    pub password: String,
}

/// Settings of the Redis endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Number of databases SELECT can reach. Databases are numbered from 0,
    /// so even 255 of them never reach number 255, which the engine keeps
    /// for its own bookkeeping.
    pub databases: u8,
    /// Users and passwords. Empty means, as in a fresh Redis, that no
    /// password is needed.
    pub users: Vec<User>,
    /// Largest bulk string a request may carry (Redis' proto-max-bulk-len).
    pub max_bulk_len: usize,
    /// Most elements a request may have.
    pub max_multibulk_len: usize,
    /// Memory for the caches of key metadata and string values: half for
    /// the engine's write-through cache, half for connections' read cache.
    pub cache_bytes: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            databases: 16,
            users: Vec::new(),
            max_bulk_len: 512 << 20,
            max_multibulk_len: 1 << 20,
            cache_bytes: 64 << 20,
        }
    }
}
