//! Configuration: defaults, then the `--config` file, then `ORBIT_*`
//! environment variables, then the command line.
//!
//! Every key is documented in `config/orbit-server.example.toml`; a test
//! checks that file (and its JSON twin) name every key there is.

mod section;

mod cluster;
mod env;
mod mysql;
mod postgres;
mod redis;

pub use cluster::{ClusterSection, DEFAULT_PROVIDER};
pub use mysql::MysqlSection;
pub use postgres::PostgresSection;
pub use redis::{RedisSection, RedisUser};

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use orbit_persistence::ProviderConfig;
use orbit_persistence::config::DefaultsConfig;
use orbit_storage::{Compression, Protocol, StoreOptions, SyncPolicy};
use serde::{Deserialize, Serialize};

use crate::cli::Cli;

/// Why the configuration is unusable. Each message names the key, variable
/// or flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file did not parse, or a key is unknown or has a bad value.
    #[error("invalid config file {path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// Parser message, naming the key.
        detail: String,
    },
    /// The file's extension is neither TOML nor JSON.
    #[error("config file {0} must end in .toml or .json")]
    Format(PathBuf),
    /// An environment variable has a bad value.
    #[error("invalid environment variable {var}={value:?}: {detail}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// Why it is wrong.
        detail: String,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid setting {key}: {detail}")]
    Invalid {
        /// The setting, as a dotted key.
        key: String,
        /// Why it is wrong.
        detail: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`
    pub server: ServerSection,
    /// `[admin]`
    pub admin: AdminSection,
    /// `[storage]`
    pub storage: StorageSection,
    /// `[protocols.*]`
    pub protocols: ProtocolsSection,
    /// `[cluster]`
    pub cluster: ClusterSection,
    /// `[defaults]`: which persistence provider keeps what.
    pub defaults: DefaultsConfig,
    /// `[providers.NAME]`: persistence providers of actor leases and
    /// cluster nodes.
    pub providers: BTreeMap<String, ProviderConfig>,
}

/// The most connection threads `server.io_threads` may ask for.
const MAX_IO_THREADS: usize = 1024;

/// `[server]`: process-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Root of every store.
    pub data_dir: PathBuf,
    /// Address every endpoint listens on.
    pub bind: IpAddr,
    /// Log level.
    pub log_level: String,
    /// How long shutdown lets open connections finish, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Threads serving client connections of the TCP endpoints; 0 picks
    /// two per core.
    pub io_threads: usize,
    /// The persistence backend (`memory`, `rocksdb`, ...) to use for
    /// everything, below `ORBIT_PERSISTENCE_BACKEND` in precedence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_backend: Option<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            data_dir: PathBuf::from("data"),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            log_level: "info".into(),
            shutdown_grace_ms: 5_000,
            io_threads: 0,
            persistence_backend: None,
        }
    }
}

/// `[admin]`: the HTTP endpoint with `/health` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSection {
    /// Port; 0 picks a free one.
    pub port: u16,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection { port: 9090 }
    }
}

/// When writes are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Before acknowledging, with group commit.
    Commit,
    /// Every `sync_interval_ms`.
    Interval,
    /// Left to the operating system.
    None,
}

impl std::str::FromStr for SyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "commit" => Ok(SyncMode::Commit),
            "interval" => Ok(SyncMode::Interval),
            "none" => Ok(SyncMode::None),
            _ => Err("expected commit, interval or none".into()),
        }
    }
}

/// `[storage]`: defaults for every store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    /// Sync policy.
    pub sync: SyncMode,
    /// Period of `interval` syncs, in milliseconds.
    pub sync_interval_ms: u64,
    /// Block cache shared by all stores, in MiB.
    pub block_cache_mb: usize,
    /// Memtable budget of each store, in MiB.
    pub write_buffer_mb: usize,
    /// Size of one memtable, in MiB.
    pub memtable_mb: usize,
    /// Flush and compaction threads per store.
    pub max_background_jobs: i32,
    /// Table-file compression.
    pub compression: Compression,
    /// Rows each store's hot tier keeps in memory (0 disables it).
    pub hot_tier_rows: usize,
    /// Memory each store's hot tier may use, in MiB (0 disables it).
    pub hot_tier_mb: usize,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            sync: SyncMode::Commit,
            sync_interval_ms: 100,
            block_cache_mb: 256,
            write_buffer_mb: 64,
            memtable_mb: 32,
            max_background_jobs: 2,
            compression: Compression::Lz4,
            hot_tier_rows: 1_000_000,
            hot_tier_mb: 256,
        }
    }
}

/// `[protocols.NAME]`: one protocol's endpoint and store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolSection {
    /// Whether the store is opened and the endpoint served.
    pub enabled: bool,
    /// Endpoint port; absent means the protocol's standard port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Overrides `storage.sync` for this store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncMode>,
    /// Overrides `storage.sync_interval_ms` for this store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_interval_ms: Option<u64>,
}

impl Default for ProtocolSection {
    fn default() -> Self {
        ProtocolSection { enabled: true, port: None, sync: None, sync_interval_ms: None }
    }
}

/// `[protocols]`: a section per protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolsSection {
    /// PostgreSQL, with its authentication keys.
    pub postgresql: PostgresSection,
    /// MySQL, with its users.
    pub mysql: MysqlSection,
    /// CQL.
    pub cql: ProtocolSection,
    /// Redis, with its own extra keys.
    pub redis: RedisSection,
    /// Bolt/Cypher.
    pub cypher: ProtocolSection,
    /// ArangoDB HTTP/AQL.
    pub aql: ProtocolSection,
    /// GraphRAG (no endpoint of its own).
    pub graphrag: ProtocolSection,
}

impl ProtocolsSection {
    /// The section of `p`.
    pub fn get(&self, p: Protocol) -> &ProtocolSection {
        match p {
            Protocol::Postgresql => &self.postgresql.common,
            Protocol::Mysql => &self.mysql.common,
            Protocol::Cql => &self.cql,
            Protocol::Redis => &self.redis.common,
            Protocol::Cypher => &self.cypher,
            Protocol::Aql => &self.aql,
            Protocol::Graphrag => &self.graphrag,
        }
    }

    /// The section of `p`, to change.
    pub fn get_mut(&mut self, p: Protocol) -> &mut ProtocolSection {
        match p {
            Protocol::Postgresql => &mut self.postgresql.common,
            Protocol::Mysql => &mut self.mysql.common,
            Protocol::Cql => &mut self.cql,
            Protocol::Redis => &mut self.redis.common,
            Protocol::Cypher => &mut self.cypher,
            Protocol::Aql => &mut self.aql,
            Protocol::Graphrag => &mut self.graphrag,
        }
    }
}

/// The standard port of each protocol with an endpoint.
pub fn default_port(p: Protocol) -> Option<u16> {
    match p {
        Protocol::Postgresql => Some(5432),
        Protocol::Mysql => Some(3306),
        Protocol::Cql => Some(9042),
        Protocol::Redis => Some(6379),
        Protocol::Cypher => Some(7687),
        Protocol::Aql => Some(8529),
        Protocol::Graphrag => None,
    }
}

/// Log levels `--log-level` accepts.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

impl Config {
    /// Builds the configuration from the file named by `cli` (or
    /// `ORBIT_CONFIG`), the environment `vars`, and `cli`.
    pub fn load(cli: &Cli, vars: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().filter(|(k, _)| k.starts_with("ORBIT_")).collect();
        let file = cli
            .config
            .clone()
            .or_else(|| vars.iter().find(|(k, _)| k == "ORBIT_CONFIG").map(|(_, v)| PathBuf::from(v)));
        let mut config = match &file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        env::apply(&mut config, &vars)?;
        config.apply_persistence_env(&vars)?;
        config.apply_cli(cli)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML or JSON file; unknown keys are errors.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let bad = |detail: String| ConfigError::File { path: path.to_path_buf(), detail };
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str(&text).map_err(|e| bad(e.to_string())),
            Some("json") => {
                let de = &mut serde_json::Deserializer::from_str(&text);
                serde_path_to_error::deserialize(de).map_err(|e| {
                    let path = e.path().to_string();
                    bad(format!("at `{path}`: {}", e.into_inner()))
                })
            }
            _ => Err(ConfigError::Format(path.to_path_buf())),
        }
    }

    fn apply_cli(&mut self, cli: &Cli) -> Result<(), ConfigError> {
        if let Some(d) = &cli.data_dir {
            self.server.data_dir = d.clone();
        }
        if let Some(b) = cli.bind {
            self.server.bind = b;
        }
        if let Some(l) = &cli.log_level {
            self.server.log_level = l.clone();
        }
        if let Some(p) = cli.admin_port {
            self.admin.port = p;
        }
        let ports = [
            (Protocol::Postgresql, cli.postgres_port),
            (Protocol::Mysql, cli.mysql_port),
            (Protocol::Cql, cli.cql_port),
            (Protocol::Redis, cli.redis_port),
            (Protocol::Cypher, cli.bolt_port),
            (Protocol::Aql, cli.http_port),
        ];
        for (p, port) in ports {
            if port.is_some() {
                self.protocols.get_mut(p).port = port;
            }
        }
        for name in &cli.disable {
            let p: Protocol = name.parse().map_err(|e: orbit_storage::UnknownProtocol| ConfigError::Invalid {
                key: "--disable".into(),
                detail: e.to_string(),
            })?;
            self.protocols.get_mut(p).enabled = false;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, detail: &str| Err(ConfigError::Invalid { key: key.into(), detail: detail.into() });
        if !LOG_LEVELS.contains(&self.server.log_level.as_str()) {
            return invalid("server.log_level", "expected error, warn, info, debug or trace");
        }
        if self.server.io_threads > MAX_IO_THREADS {
            return invalid("server.io_threads", "expected 0 (two per core) to 1024");
        }
        if self.server.data_dir.as_os_str().is_empty() {
            return invalid("server.data_dir", "must not be empty");
        }
        if self.storage.sync_interval_ms == 0 {
            return invalid("storage.sync_interval_ms", "must be at least 1");
        }
        if self.storage.block_cache_mb == 0 || self.storage.write_buffer_mb == 0 || self.storage.memtable_mb == 0 {
            return invalid("storage", "block_cache_mb, write_buffer_mb and memtable_mb must be at least 1");
        }
        if !(1..=64).contains(&self.storage.max_background_jobs) {
            return invalid("storage.max_background_jobs", "must be between 1 and 64");
        }
        // A day at most: longer gains nothing, and far larger values would
        // overflow the clock arithmetic of renewals.
        let day = 86_400;
        if !(1..=day).contains(&self.cluster.lease_ttl_secs) {
            return invalid("cluster.lease_ttl_secs", "must be between 1 and 86400 seconds");
        }
        if !(1..=day).contains(&self.cluster.cleanup_interval_secs) {
            return invalid("cluster.cleanup_interval_secs", "must be between 1 and 86400 seconds");
        }
        if self.protocols.graphrag.port.is_some() {
            return invalid(
                "protocols.graphrag.port",
                "GraphRAG has no endpoint of its own; it is reached through RESP, SQL, Cypher and AQL",
            );
        }
        let r = &self.protocols.redis;
        if r.max_bulk_len < 1024 {
            return invalid("protocols.redis.max_bulk_len", "must be at least 1024 bytes");
        }
        if r.max_multibulk_len == 0 {
            return invalid("protocols.redis.max_multibulk_len", "must be at least 1");
        }
        if r.users.iter().any(|u| u.name == "default") && r.password.is_some() {
            return invalid(
                "protocols.redis.users",
                "set the default user's password with `password` or in `users`, not both",
            );
        }
        let mut seen = BTreeSet::new();
        for (name, port) in self.listening_ports() {
            if port != 0 && !seen.insert(port) {
                return invalid(&format!("{name} port"), &format!("port {port} is given to two endpoints"));
            }
        }
        for p in Protocol::ALL {
            if self.protocols.get(p).sync_interval_ms == Some(0) {
                return invalid(&format!("protocols.{p}.sync_interval_ms"), "must be at least 1");
            }
        }
        Ok(())
    }

    /// Endpoint names and ports of the admin endpoint and every enabled
    /// protocol that has one.
    pub fn listening_ports(&self) -> Vec<(String, u16)> {
        let mut out = vec![("admin".to_string(), self.admin.port)];
        for p in self.enabled_protocols() {
            if let Some(port) = self.port(p) {
                out.push((p.to_string(), port));
            }
        }
        out
    }

    /// The protocols whose stores are opened.
    pub fn enabled_protocols(&self) -> Vec<Protocol> {
        Protocol::ALL.into_iter().filter(|p| self.protocols.get(*p).enabled).collect()
    }

    /// The port of `p`'s endpoint, if it has one.
    pub fn port(&self, p: Protocol) -> Option<u16> {
        self.protocols.get(p).port.or_else(|| default_port(p))
    }

    /// Store tuning for `p`, with its overrides applied.
    pub fn store_options(&self, p: Protocol) -> StoreOptions {
        let s = &self.storage;
        let section = self.protocols.get(p);
        let interval = Duration::from_millis(section.sync_interval_ms.unwrap_or(s.sync_interval_ms));
        StoreOptions {
            sync: match section.sync.unwrap_or(s.sync) {
                SyncMode::Commit => SyncPolicy::Commit,
                SyncMode::Interval => SyncPolicy::Interval(interval),
                SyncMode::None => SyncPolicy::None,
            },
            compression: s.compression,
            max_background_jobs: s.max_background_jobs,
            write_buffer_size: s.memtable_mb << 20,
            hot_tier_rows: s.hot_tier_rows,
            hot_tier_bytes: s.hot_tier_mb << 20,
        }
    }

    /// How long shutdown waits for connections.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.server.shutdown_grace_ms)
    }
}

#[cfg(test)]
mod tests;
