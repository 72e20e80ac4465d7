//! The command line, exactly as `card.md` gives it.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// Orbit: one server for PostgreSQL, MySQL, CQL, Redis, Bolt/Cypher and
/// ArangoDB clients, each protocol in its own RocksDB store.
///
/// Settings come from, in falling precedence: these flags, ORBIT_*
/// environment variables, the --config file, built-in defaults.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "orbit-server", version, about, long_about, after_help = ENV_HELP)]
pub struct Cli {
    /// Configuration file, TOML or JSON (chosen by extension).
    /// Env: ORBIT_CONFIG.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for all stores; each protocol gets <DIR>/<protocol>/rocksdb.
    /// Default: ./data. Env: ORBIT_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Address every endpoint listens on. Default: 127.0.0.1. Env: ORBIT_BIND.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,

    /// PostgreSQL wire port (0 picks a free port). Default: 5432. Env: ORBIT_POSTGRES_PORT.
    #[arg(long, value_name = "N")]
    pub postgres_port: Option<u16>,

    /// MySQL wire port. Default: 3306. Env: ORBIT_MYSQL_PORT.
    #[arg(long, value_name = "N")]
    pub mysql_port: Option<u16>,

    /// CQL (Cassandra native protocol) port. Default: 9042. Env: ORBIT_CQL_PORT.
    #[arg(long, value_name = "N")]
    pub cql_port: Option<u16>,

    /// Redis RESP port. Default: 6379. Env: ORBIT_REDIS_PORT.
    #[arg(long, value_name = "N")]
    pub redis_port: Option<u16>,

    /// Bolt (Neo4j, Cypher) port. Default: 7687. Env: ORBIT_BOLT_PORT.
    #[arg(long, value_name = "N")]
    pub bolt_port: Option<u16>,

    /// ArangoDB HTTP API (AQL) port. Default: 8529. Env: ORBIT_HTTP_PORT.
    #[arg(long, value_name = "N")]
    pub http_port: Option<u16>,

    /// Admin HTTP port serving /health and /metrics. Default: 9090. Env: ORBIT_ADMIN_PORT.
    #[arg(long, value_name = "N")]
    pub admin_port: Option<u16>,

    /// Do not open this protocol's store or endpoint; repeatable. One of
    /// postgresql, mysql, cql, redis, cypher, aql, graphrag.
    /// Env: ORBIT_DISABLE (comma-separated).
    #[arg(long, value_name = "PROTOCOL")]
    pub disable: Vec<String>,

    /// Log level: error, warn, info, debug or trace. RUST_LOG, when set,
    /// refines it per module. Default: info. Env: ORBIT_LOG_LEVEL.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

const ENV_HELP: &str = "\
Environment variables beyond the flags above:
  ORBIT_SYNC              commit | interval | none: when writes are fsynced
  ORBIT_SYNC_INTERVAL_MS  fsync period for `interval`
  ORBIT_BLOCK_CACHE_MB    block cache shared by all stores
  ORBIT_WRITE_BUFFER_MB   memtable budget of each store
  ORBIT_HOT_TIER_ROWS     rows kept in each store's in-memory hot tier
  ORBIT_HOT_TIER_MB       memory each store's hot tier may use, in MiB
  ORBIT_IO_THREADS        threads serving client connections (0: two per core)

Every setting and its default is documented in config/orbit-server.example.toml.
SIGINT or SIGTERM shuts the server down cleanly and exits 0.";
