//! Names: databases and schemas as prefixes of storage table names.
//!
//! Storage tables are named `database.schema.table`, so each database is
//! its own namespace in one store, and the engine can list or drop a
//! database by prefix. Database names themselves live in a catalog table.

use std::sync::Arc;

use orbit_storage::table::{ColumnDef, Filter, SelectQuery, TableSchema};
use orbit_storage::{DataType, TableStorage, Value};
use sqlparser::ast::ObjectName;

use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::{SessionInfo, ident_name};

/// The table listing databases.
const DATABASES: &str = "orbit_catalog.databases";

/// The default database every store has, as after `initdb`.
pub const DEFAULT_DATABASE: &str = "postgres";

/// A table name resolved against the session's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    /// The name in storage.
    pub stored: String,
    /// The name as the user wrote it, unqualified, for messages and
    /// column qualifiers.
    pub short: String,
}

impl TableName {
    /// The schema (a MySQL database) the table is stored in: the middle
    /// part of `database.schema.table`.
    pub(crate) fn schema(&self) -> &str {
        self.stored.split('.').nth(1).unwrap_or_default()
    }

    /// "relation "x" does not exist", naming the schema (a MySQL database)
    /// when it is not the one unqualified names resolve in, as PostgreSQL
    /// names `other.t`; MySQL's "Table 'db.t' doesn't exist" is made from
    /// it.
    pub(crate) fn missing(&self, ns: &SessionInfo) -> SqlError {
        let schema = self.schema();
        let name = if schema.is_empty() || schema == ns.schema || self.short.contains('.') {
            self.short.clone()
        } else {
            format!("{schema}.{}", self.short)
        };
        SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{name}\" does not exist"))
    }
}

/// Resolves `name` (`t`, `schema.t` or `db.schema.t`) in the session's
/// database and schema.
pub(crate) fn table_name(ns: &SessionInfo, name: &ObjectName) -> SqlResult<TableName> {
    let database = ns.database.as_str();
    let parts: Vec<String> =
        name.0.iter().map(|p| p.as_ident().map(ident_name).unwrap_or_else(|| p.to_string())).collect();
    let (db, schema, table) = match parts.as_slice() {
        [_] if ns.schema.is_empty() => {
            return Err(SqlError::new(ErrorCode::NoDatabaseSelected, "No database selected"));
        }
        [t] => (database.to_string(), ns.schema.clone(), t.clone()),
        [s, t] => (database.to_string(), s.clone(), t.clone()),
        [d, s, t] => {
            if d != database {
                return Err(SqlError::unsupported(format!("cross-database references: \"{d}.{s}.{t}\"")));
            }
            (d.clone(), s.clone(), t.clone())
        }
        _ => return Err(SqlError::syntax(format!("improper qualified name (too many dotted names): {name}"))),
    };
    Ok(TableName { stored: format!("{db}.{schema}.{table}"), short: table })
}

/// The table listing schemas other than `public`, as `database.schema`.
const SCHEMAS: &str = "orbit_catalog.schemas";

/// Schemas of each database: `public` always exists; others are created.
#[derive(Debug, Clone)]
pub(crate) struct SchemaNames {
    storage: Arc<dyn TableStorage>,
}

impl SchemaNames {
    pub(crate) fn new(storage: Arc<dyn TableStorage>) -> Self {
        SchemaNames { storage }
    }

    /// Whether schema `schema` exists in `database`.
    pub(crate) async fn exists(&self, database: &str, schema: &str) -> SqlResult<bool> {
        if schema == "public" {
            return Ok(true);
        }
        if self.storage.get_table_schema(SCHEMAS).await?.is_none() {
            return Ok(false);
        }
        Ok(self.storage.get(None, SCHEMAS, &[Value::Text(format!("{database}.{schema}"))]).await?.is_some())
    }

    /// The created schemas of `database` (not `public`), sorted.
    pub(crate) async fn list(&self, database: &str) -> SqlResult<Vec<String>> {
        if self.storage.get_table_schema(SCHEMAS).await?.is_none() {
            return Ok(Vec::new());
        }
        let prefix = format!("{database}.");
        let mut names: Vec<String> = self
            .storage
            .select(None, &SelectQuery::all(SCHEMAS))
            .await?
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some(Value::Text(n)) => n.strip_prefix(&prefix).map(str::to_string),
                _ => None,
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Fails with 3F000 unless the schema of stored table name `stored` exists.
    pub(crate) async fn require_for(&self, stored: &str) -> SqlResult<()> {
        let mut parts = stored.splitn(3, '.');
        let (Some(db), Some(schema)) = (parts.next(), parts.next()) else { return Ok(()) };
        if self.exists(db, schema).await? {
            Ok(())
        } else {
            Err(SqlError::new(ErrorCode::UndefinedSchema, format!("schema \"{schema}\" does not exist")))
        }
    }

    /// Creates schema `schema` of `database`; `false` when it already
    /// existed and `if_not_exists` let that pass.
    pub(crate) async fn create(&self, database: &str, schema: &str, if_not_exists: bool) -> SqlResult<bool> {
        if self.exists(database, schema).await? {
            if if_not_exists {
                return Ok(false);
            }
            return Err(SqlError::new(ErrorCode::DuplicateSchema, format!("schema \"{schema}\" already exists")));
        }
        if self.storage.get_table_schema(SCHEMAS).await?.is_none() {
            let t = TableSchema::new(SCHEMAS, vec![ColumnDef::new("name", DataType::Text).not_null()], &["name"]);
            match self.storage.create_table(&t).await {
                Ok(()) | Err(orbit_storage::StorageError::TableExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.storage.insert(None, SCHEMAS, vec![Value::Text(format!("{database}.{schema}"))]).await?;
        Ok(true)
    }

    /// Forgets schema `schema` of `database` (its objects are the caller's).
    pub(crate) async fn remove(&self, database: &str, schema: &str) -> SqlResult<()> {
        if self.storage.get_table_schema(SCHEMAS).await?.is_some() {
            self.storage
                .delete(None, SCHEMAS, &Filter::eq("name", Value::Text(format!("{database}.{schema}"))))
                .await?;
        }
        Ok(())
    }
}

/// Database names, kept in a catalog table of the store.
#[derive(Debug, Clone)]
pub(crate) struct Databases {
    storage: Arc<dyn TableStorage>,
}

impl Databases {
    pub(crate) fn new(storage: Arc<dyn TableStorage>) -> Self {
        Databases { storage }
    }

    async fn ensure_table(&self) -> SqlResult<()> {
        if self.storage.get_table_schema(DATABASES).await?.is_none() {
            let schema =
                TableSchema::new(DATABASES, vec![ColumnDef::new("name", DataType::Text).not_null()], &["name"]);
            match self.storage.create_table(&schema).await {
                Ok(()) | Err(orbit_storage::StorageError::TableExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Whether `name` exists; the default database always does.
    pub(crate) async fn exists(&self, name: &str) -> SqlResult<bool> {
        if name == DEFAULT_DATABASE {
            return Ok(true);
        }
        if self.storage.get_table_schema(DATABASES).await?.is_none() {
            return Ok(false);
        }
        Ok(self.storage.get(None, DATABASES, &[Value::Text(name.into())]).await?.is_some())
    }

    /// Every database name, sorted.
    pub(crate) async fn list(&self) -> SqlResult<Vec<String>> {
        let mut names = vec![DEFAULT_DATABASE.to_string()];
        if self.storage.get_table_schema(DATABASES).await?.is_some() {
            for row in self.storage.select(None, &SelectQuery::all(DATABASES)).await? {
                if let Some(Value::Text(n)) = row.into_iter().next()
                    && n != DEFAULT_DATABASE
                {
                    names.push(n);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    pub(crate) async fn create(&self, name: &str, if_not_exists: bool) -> SqlResult<bool> {
        if self.exists(name).await? {
            return if if_not_exists {
                Ok(false)
            } else {
                Err(SqlError::new(ErrorCode::DuplicateTable, format!("database \"{name}\" already exists")))
            };
        }
        self.ensure_table().await?;
        self.storage.insert(None, DATABASES, vec![Value::Text(name.into())]).await?;
        Ok(true)
    }

    /// Drops a database and every table in it.
    pub(crate) async fn drop(&self, name: &str, if_exists: bool, current: &str) -> SqlResult<bool> {
        if name == current {
            return Err(SqlError::new(ErrorCode::InvalidParameter, "cannot drop the currently open database"));
        }
        if !self.exists(name).await? {
            return if if_exists {
                Ok(false)
            } else {
                Err(SqlError::new(ErrorCode::UndefinedDatabase, format!("database \"{name}\" does not exist")))
            };
        }
        let prefix = format!("{name}.");
        for t in self.storage.list_tables().await? {
            if t.name.starts_with(&prefix) {
                self.storage.drop_table(&t.name).await?;
            }
        }
        if name != DEFAULT_DATABASE {
            self.storage.delete(None, DATABASES, &Filter::eq("name", Value::Text(name.into()))).await?;
        }
        Ok(true)
    }
}
