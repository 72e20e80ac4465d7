//! The MySQL dialect on the shared engine.
//!
//! MySQL's databases are schemas of one catalog (`def`, as MySQL's own
//! `information_schema` names it), so `db.t` resolves as `schema.t` does
//! in PostgreSQL and `USE db` only changes the schema unqualified names
//! resolve in. Statements MySQL has and PostgreSQL lacks (`SHOW`, `USE`,
//! `DESCRIBE`, `SET NAMES`, system variables) are answered here; the rest
//! runs through the shared planner.

mod catalog;
mod domain;
mod parse;
pub(crate) mod prepared;
mod show;
mod table_locks;
mod types;
mod vars;

pub(crate) use catalog::{SCHEMA as INFORMATION_SCHEMA, columns as catalog_columns, rows as catalog_rows};
pub(crate) use domain::Domains;
pub(crate) use parse::{column_name, keys_toggle, parse, syntax_error_near};
pub(crate) use show::{reads_diagnostics, statement};
pub(crate) use table_locks::TableLocks;
pub(crate) use types::{cast_type, column_storage_type, declared_type};
pub(crate) use vars::{Variables, reads_variables, variable_value};

/// The storage database holding every MySQL database (as a schema).
pub const MYSQL_CATALOG: &str = "def";

/// The version the MySQL endpoint reports: MySQL 8.0's, naming Orbit, as
/// connectors parse the leading numbers to pick features.
pub const MYSQL_VERSION: &str = "8.0.36-Orbit";

/// Databases every MySQL server shows, which hold no user tables here.
pub(crate) const SYSTEM_DATABASES: &[&str] = &["information_schema"];
