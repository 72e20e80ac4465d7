//! Orbit's SQL engine, shared by the PostgreSQL and MySQL endpoints.
//!
//! Adapters hold one [`Session`] per connection and call three methods:
//! [`Session::run`] for a query string, and [`Session::prepare`] and
//! [`Session::execute`] for the extended protocols. The engine parses with
//! `sqlparser`, plans against table schemas, and reads and writes through
//! [`TableStorage`], so it never names a storage engine.

mod activity;
mod agg;
mod alter;
mod catalog;
mod copy;
mod copy_session;
mod ddl;
mod dml;
mod error;
mod expr;
pub mod format;
mod key;
mod literals;
mod locks;
mod mysql;
mod pgcatalog;
mod pgdescribe;
mod query;
mod sequence;
mod session;
pub mod types;

use std::sync::Arc;

use orbit_storage::{DataType, TableStorage};

pub use catalog::DEFAULT_DATABASE;
pub use copy::CopyFormat;
pub use error::{ErrorCode, SqlError, SqlResult};
pub use mysql::{MYSQL_CATALOG, MYSQL_VERSION};
pub use session::{Notice, Outcome, Prepared, Session, StatementEnd, TxStatus, Warning};

/// What `version()` returns: a PostgreSQL 15 version string, which drivers
/// parse, naming Orbit.
pub const VERSION_STRING: &str = concat!(
    "PostgreSQL 15.0 (Orbit ",
    env!("CARGO_PKG_VERSION"),
    ") on x86_64-pc-linux-gnu, compiled by rustc, 64-bit"
);

/// Whose SQL a session speaks: the grammar it parses, how names resolve,
/// and the statements beyond the shared core (`SHOW`, `USE`, `@@`
/// variables in MySQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL 15.
    Postgres,
    /// MySQL 8 / MariaDB 10.11: databases are schemas of one catalog.
    MySql,
}

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The name clients see.
    pub name: String,
    /// Its type.
    pub ty: DataType,
}

/// Seconds since the first engine of this process started (MySQL's
/// `Uptime`).
pub fn uptime_secs() -> u64 {
    started().elapsed().as_secs()
}

fn started() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// The engine over one store: what sessions share.
#[derive(Debug)]
pub struct SqlEngine {
    storage: Arc<dyn TableStorage>,
    databases: catalog::Databases,
    schemas: catalog::SchemaNames,
    sequences: Arc<sequence::Sequences>,
    locks: Arc<locks::RowLocks>,
    /// MySQL's LOCK TABLES locks.
    table_locks: mysql::TableLocks,
    /// Bumped by every schema change; prepared plans of an older version
    /// are planned again.
    schema_version: std::sync::atomic::AtomicU64,
}

impl SqlEngine {
    /// An engine on `storage`.
    pub fn new(storage: Arc<dyn TableStorage>) -> Arc<Self> {
        started();
        Arc::new(SqlEngine {
            databases: catalog::Databases::new(storage.clone()),
            schemas: catalog::SchemaNames::new(storage.clone()),
            sequences: Arc::new(sequence::Sequences::new(storage.clone())),
            locks: Arc::default(),
            table_locks: mysql::TableLocks::default(),
            schema_version: std::sync::atomic::AtomicU64::new(0),
            storage,
        })
    }

    /// Whether database `name` exists.
    pub async fn database_exists(&self, name: &str) -> SqlResult<bool> {
        self.databases.exists(name).await
    }

    fn schema_version(&self) -> u64 {
        self.schema_version.load(std::sync::atomic::Ordering::Acquire)
    }

    fn bump_schema_version(&self) {
        self.schema_version.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Every database, sorted by name.
    pub async fn list_databases(&self) -> SqlResult<Vec<String>> {
        self.databases.list().await
    }
}
