//! `ORBIT_*` environment variables.

use std::str::FromStr;

use orbit_storage::Protocol;

use super::{Config, ConfigError, SyncMode};

fn parse<T: FromStr>(var: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError::Env { var, value: value.to_string(), detail: e.to_string() })
}

/// Applies the variables that are set; unknown `ORBIT_*` names are left for
/// the components that read them (persistence providers, for one).
pub(super) fn apply(config: &mut Config, vars: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, value) in vars {
        match name.as_str() {
            "ORBIT_DATA_DIR" => config.server.data_dir = value.into(),
            "ORBIT_BIND" => config.server.bind = parse("ORBIT_BIND", value)?,
            "ORBIT_LOG_LEVEL" => config.server.log_level = value.clone(),
            "ORBIT_IO_THREADS" => config.server.io_threads = parse("ORBIT_IO_THREADS", value)?,
            "ORBIT_ADMIN_PORT" => config.admin.port = parse("ORBIT_ADMIN_PORT", value)?,
            "ORBIT_POSTGRES_PORT" => {
                config.protocols.postgresql.common.port = Some(parse("ORBIT_POSTGRES_PORT", value)?)
            }
            "ORBIT_MYSQL_PORT" => config.protocols.mysql.common.port = Some(parse("ORBIT_MYSQL_PORT", value)?),
            "ORBIT_CQL_PORT" => config.protocols.cql.port = Some(parse("ORBIT_CQL_PORT", value)?),
            "ORBIT_REDIS_PORT" => config.protocols.redis.common.port = Some(parse("ORBIT_REDIS_PORT", value)?),
            "ORBIT_REDIS_PASSWORD" => config.protocols.redis.password = Some(value.clone()),
            "ORBIT_BOLT_PORT" => config.protocols.cypher.port = Some(parse("ORBIT_BOLT_PORT", value)?),
            "ORBIT_HTTP_PORT" => config.protocols.aql.port = Some(parse("ORBIT_HTTP_PORT", value)?),
            "ORBIT_SYNC" => config.storage.sync = parse::<SyncMode>("ORBIT_SYNC", value)?,
            "ORBIT_SYNC_INTERVAL_MS" => config.storage.sync_interval_ms = parse("ORBIT_SYNC_INTERVAL_MS", value)?,
            "ORBIT_BLOCK_CACHE_MB" => config.storage.block_cache_mb = parse("ORBIT_BLOCK_CACHE_MB", value)?,
            "ORBIT_WRITE_BUFFER_MB" => config.storage.write_buffer_mb = parse("ORBIT_WRITE_BUFFER_MB", value)?,
            "ORBIT_HOT_TIER_ROWS" => config.storage.hot_tier_rows = parse("ORBIT_HOT_TIER_ROWS", value)?,
            "ORBIT_HOT_TIER_MB" => config.storage.hot_tier_mb = parse("ORBIT_HOT_TIER_MB", value)?,
            "ORBIT_DISABLE" => {
                for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let p: Protocol = parse("ORBIT_DISABLE", name)?;
                    config.protocols.get_mut(p).enabled = false;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
