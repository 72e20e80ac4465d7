//! System variables (`@@name`) and user variables (`@name`).
//!
//! Connectors read a dozen system variables when they connect and set a
//! few; the values here are MySQL 8.0's defaults, except where this server
//! differs and says so (`lower_case_table_names`, `time_zone`).

use std::collections::BTreeMap;

use orbit_storage::{DataType, Value};

use crate::error::{ErrorCode, SqlError, SqlResult};

/// Every system variable a session has, with its default.
const DEFAULTS: &[(&str, &str)] = &[
    ("auto_increment_increment", "1"),
    ("auto_increment_offset", "1"),
    ("autocommit", "1"),
    ("character_set_client", "utf8mb4"),
    ("character_set_connection", "utf8mb4"),
    ("character_set_database", "utf8mb4"),
    ("character_set_filesystem", "binary"),
    ("character_set_results", "utf8mb4"),
    ("character_set_server", "utf8mb4"),
    ("character_set_system", "utf8mb3"),
    ("collation_connection", "utf8mb4_0900_ai_ci"),
    ("collation_database", "utf8mb4_0900_ai_ci"),
    ("collation_server", "utf8mb4_0900_ai_ci"),
    ("default_storage_engine", "InnoDB"),
    ("error_count", "0"),
    ("foreign_key_checks", "1"),
    ("have_ssl", "DISABLED"),
    ("init_connect", ""),
    ("interactive_timeout", "28800"),
    ("license", "Apache-2.0"),
    // Names fold to lower case here, as with lower_case_table_names = 1.
    ("lower_case_table_names", "1"),
    ("max_allowed_packet", "67108864"),
    ("max_connections", "151"),
    // MariaDB's statement time limit; 0 (none) is the only value honoured.
    ("max_statement_time", "0.000000"),
    ("net_buffer_length", "16384"),
    ("net_write_timeout", "60"),
    ("performance_schema", "0"),
    ("query_cache_size", "0"),
    ("query_cache_type", "OFF"),
    ("session_track_schema", "1"),
    // There is no Unix socket: connectors that ask get NULL and stay on TCP.
    ("socket", ""),
    ("sql_auto_is_null", "0"),
    (
        "sql_mode",
        "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
    ),
    ("sql_notes", "1"),
    ("sql_quote_show_create", "1"),
    ("sql_safe_updates", "0"),
    ("sql_select_limit", "18446744073709551615"),
    ("storage_engine", "InnoDB"),
    ("system_time_zone", "UTC"),
    // The server works in UTC; clients asking for another zone are refused.
    ("time_zone", "+00:00"),
    // PostgreSQL's default, not MySQL's: READ COMMITTED takes row locks
    // and never fails a commit; REPEATABLE READ here is snapshot
    // isolation, whose commits fail (1213) on write conflicts where
    // InnoDB's locking reads would wait instead.
    ("transaction_isolation", "READ-COMMITTED"),
    ("transaction_read_only", "0"),
    ("tx_isolation", "READ-COMMITTED"),
    ("tx_read_only", "0"),
    ("unique_checks", "1"),
    ("version", crate::mysql::MYSQL_VERSION),
    ("version_comment", "Orbit"),
    ("version_compile_machine", "x86_64"),
    ("version_compile_os", "Linux"),
    ("wait_timeout", "28800"),
    ("warning_count", "0"),
];

/// Variables that read as 1/0 and SHOW as ON/OFF.
const SWITCHES: &[&str] = &[
    "autocommit",
    "foreign_key_checks",
    "performance_schema",
    "session_track_schema",
    "sql_auto_is_null",
    "sql_notes",
    "sql_quote_show_create",
    "sql_safe_updates",
    "transaction_read_only",
    "tx_read_only",
    "unique_checks",
];

/// Variables that read as NULL.
const NULLS: &[&str] = &["socket"];

/// A session's variables: system variables by plain name, user variables
/// with their leading `@`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variables;

impl Variables {
    /// Every system variable at its default.
    pub(crate) fn defaults() -> BTreeMap<String, String> {
        DEFAULTS.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    /// Sets `name` (`@@session.x`, `x`, or `@u` for a user variable) in
    /// `vars` to `value` (`None`: SQL NULL), checking system variables
    /// exist and hold what this server can honour.
    pub(crate) fn set(vars: &mut BTreeMap<String, String>, name: &str, value: Option<String>) -> SqlResult<()> {
        let name = name.to_ascii_lowercase();
        if let Some(user) = name.strip_prefix('@').filter(|n| !n.starts_with('@')) {
            let key = format!("@{user}");
            match value {
                Some(v) => vars.insert(key, v),
                None => vars.remove(&key),
            };
            return Ok(());
        }
        let plain = system_name(&name);
        if !vars.contains_key(plain) {
            return Err(unknown(plain));
        }
        let value = value.unwrap_or_default();
        let value = if SWITCHES.contains(&plain) {
            match value.to_ascii_uppercase().as_str() {
                "1" | "ON" | "TRUE" => "1".to_string(),
                "0" | "OFF" | "FALSE" => "0".to_string(),
                _ => {
                    return Err(SqlError::new(
                        ErrorCode::InvalidParameter,
                        format!("Variable '{plain}' can't be set to the value of '{value}'"),
                    ));
                }
            }
        } else {
            value
        };
        match plain {
            "time_zone" if !matches!(value.to_ascii_uppercase().as_str(), "+00:00" | "UTC" | "SYSTEM" | "+0:00") => {
                return Err(SqlError::unsupported(format!("time zone {value}; this server works in UTC")));
            }
            "max_statement_time" if !value.parse::<f64>().is_ok_and(|v| v == 0.0) => {
                return Err(SqlError::unsupported(format!("max_statement_time {value}")));
            }
            "transaction_isolation" | "tx_isolation" => {
                let level = value.to_ascii_uppercase().replace(' ', "-");
                if !matches!(level.as_str(), "READ-UNCOMMITTED" | "READ-COMMITTED" | "REPEATABLE-READ" | "SERIALIZABLE")
                {
                    return Err(SqlError::new(
                        ErrorCode::InvalidParameter,
                        format!("Variable '{plain}' can't be set to the value of '{value}'"),
                    ));
                }
                vars.insert("transaction_isolation".into(), level.clone());
                vars.insert("tx_isolation".into(), level);
                return Ok(());
            }
            _ => {}
        }
        vars.insert(plain.to_string(), value);
        Ok(())
    }

    /// The value SHOW VARIABLES prints.
    pub(crate) fn shown(name: &str, value: &str) -> String {
        if SWITCHES.contains(&name) { if value == "1" { "ON".into() } else { "OFF".into() } } else { value.to_string() }
    }
}

/// `@@session.x`, `@@global.x`, `@@x`, `session.x` → `x`.
fn system_name(name: &str) -> &str {
    let n = name.trim_start_matches("@@");
    n.strip_prefix("session.").or_else(|| n.strip_prefix("global.")).or_else(|| n.strip_prefix("local.")).unwrap_or(n)
}

fn unknown(name: &str) -> SqlError {
    SqlError::new(ErrorCode::UndefinedObject, format!("Unknown system variable '{name}'"))
}

/// The value of `@@name` or `@name`, typed as MySQL types it: numbers for
/// numeric variables, text otherwise; an unset user variable is NULL.
pub(crate) fn variable_value(vars: &BTreeMap<String, String>, name: &str) -> SqlResult<(Value, DataType)> {
    let lower = name.to_ascii_lowercase();
    if !lower.starts_with("@@") {
        let v = vars.get(&lower).cloned();
        return Ok(match v {
            Some(v) => typed(v),
            None => (Value::Null, DataType::Text),
        });
    }
    let plain = system_name(&lower);
    let v = vars.get(plain).ok_or_else(|| unknown(plain))?;
    if NULLS.contains(&plain) {
        return Ok((Value::Null, DataType::Text));
    }
    Ok(typed(v.clone()))
}

fn typed(v: String) -> (Value, DataType) {
    match v.parse::<i64>() {
        Ok(i) if !v.starts_with('+') => (Value::Int(i), DataType::BigInt),
        _ => match v.parse::<rust_decimal::Decimal>() {
            Ok(d) if v.chars().all(|c| c.is_ascii_digit()) => {
                (Value::Decimal(d), DataType::Numeric { precision: None, scale: None })
            }
            _ => (Value::Text(v), DataType::Text),
        },
    }
}

/// Whether `stmt` reads `@@x` or `@x`. Plans read variables when they are
/// made, so a prepared statement that reads them is planned again at each
/// execution rather than reused, to see values set since.
pub(crate) fn reads_variables(stmt: &sqlparser::ast::Statement) -> bool {
    use sqlparser::ast::Expr;
    let variable = |parts: &[sqlparser::ast::Ident]| parts.first().is_some_and(|p| p.value.starts_with('@'));
    sqlparser::ast::visit_expressions(stmt, |e| match e {
        Expr::Identifier(i) if variable(std::slice::from_ref(i)) => std::ops::ControlFlow::Break(()),
        Expr::CompoundIdentifier(parts) if variable(parts) => std::ops::ControlFlow::Break(()),
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_variables_read_typed_and_set_checked() {
        let mut vars = Variables::defaults();
        assert_eq!(variable_value(&vars, "@@session.auto_increment_increment").expect("known").0, Value::Int(1));
        assert_eq!(variable_value(&vars, "@@version_comment").expect("known").0, Value::Text("Orbit".into()));
        assert!(variable_value(&vars, "@@nope").is_err());
        Variables::set(&mut vars, "autocommit", Some("OFF".into())).expect("settable");
        assert_eq!(variable_value(&vars, "@@autocommit").expect("known").0, Value::Int(0));
        assert_eq!(Variables::shown("autocommit", "0"), "OFF");
        assert!(Variables::set(&mut vars, "no_such_thing", Some("1".into())).is_err());
        Variables::set(&mut vars, "@@session.transaction_isolation", Some("read-committed".into())).expect("ok");
        assert_eq!(vars["tx_isolation"], "READ-COMMITTED");
    }

    #[test]
    fn user_variables_hold_values_until_reset() {
        let mut vars = Variables::defaults();
        assert_eq!(variable_value(&vars, "@x").expect("unset is null").0, Value::Null);
        Variables::set(&mut vars, "@x", Some("5".into())).expect("set");
        assert_eq!(variable_value(&vars, "@x").expect("set").0, Value::Int(5));
    }
}
