//! CREATE and DROP of tables and databases, and TRUNCATE.

use std::sync::Arc;

use orbit_storage::table::{ColumnDef, Filter, TableSchema};
use orbit_storage::{StorageError, TableStorage};
use sqlparser::ast::{self, ColumnOption, TableConstraint};

use crate::catalog::{self, Databases};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::ident_name;
use crate::types;

/// Runs CREATE TABLE; `false` when IF NOT EXISTS found the table.
pub(crate) async fn create_table(
    ct: &ast::CreateTable,
    database: &str,
    storage: &Arc<dyn TableStorage>,
) -> SqlResult<bool> {
    if ct.query.is_some() {
        return Err(SqlError::unsupported("CREATE TABLE AS"));
    }
    let name = catalog::table_name(database, &ct.name)?;
    let mut columns = Vec::with_capacity(ct.columns.len());
    let mut primary_key: Vec<String> = Vec::new();
    for c in &ct.columns {
        let col_name = ident_name(&c.name);
        if columns.iter().any(|x: &ColumnDef| x.name == col_name) {
            return Err(SqlError::new(
                ErrorCode::DuplicateColumn,
                format!("column \"{col_name}\" specified more than once"),
            ));
        }
        let mut def = ColumnDef::new(col_name.clone(), types::from_ast(&c.data_type)?);
        for opt in &c.options {
            match &opt.option {
                ColumnOption::Null => def.nullable = true,
                ColumnOption::NotNull => def.nullable = false,
                ColumnOption::Default(e) => def.default = Some(e.to_string()),
                ColumnOption::PrimaryKey(_) => {
                    if !primary_key.is_empty() {
                        return Err(multiple_keys(&name.short));
                    }
                    primary_key.push(col_name.clone());
                    def.nullable = false;
                }
                other => return Err(SqlError::unsupported(format!("the column constraint {other}"))),
            }
        }
        columns.push(def);
    }
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                if !primary_key.is_empty() {
                    return Err(multiple_keys(&name.short));
                }
                for col in &pk.columns {
                    let ast::Expr::Identifier(ident) = &col.column.expr else {
                        return Err(SqlError::unsupported("an expression in a primary key"));
                    };
                    let n = ident_name(ident);
                    let def = columns.iter_mut().find(|c| c.name == n).ok_or_else(|| {
                        SqlError::new(ErrorCode::UndefinedColumn, format!("column \"{n}\" named in key does not exist"))
                    })?;
                    def.nullable = false;
                    primary_key.push(n);
                }
            }
            other => return Err(SqlError::unsupported(format!("the table constraint {other}"))),
        }
    }
    let schema = TableSchema { name: name.stored.clone(), columns, primary_key };
    match storage.create_table(&schema).await {
        Ok(()) => Ok(true),
        Err(StorageError::TableExists(_)) if ct.if_not_exists => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn multiple_keys(table: &str) -> SqlError {
    SqlError::new(
        ErrorCode::InvalidTableDefinition,
        format!("multiple primary keys for table \"{table}\" are not allowed"),
    )
}

/// DROP TABLE a, b [IF EXISTS].
pub(crate) async fn drop_tables(
    names: &[ast::ObjectName],
    if_exists: bool,
    database: &str,
    storage: &Arc<dyn TableStorage>,
) -> SqlResult<()> {
    // Check all first: DROP TABLE of several tables drops none if one is missing.
    let mut resolved = Vec::new();
    for n in names {
        let t = catalog::table_name(database, n)?;
        if storage.get_table_schema(&t.stored).await?.is_none() {
            if if_exists {
                continue;
            }
            return Err(SqlError::new(ErrorCode::UndefinedTable, format!("table \"{}\" does not exist", t.short)));
        }
        resolved.push(t);
    }
    for t in resolved {
        storage.drop_table(&t.stored).await?;
    }
    Ok(())
}

/// TRUNCATE a, b.
pub(crate) async fn truncate(
    names: &[ast::TruncateTableTarget],
    database: &str,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&orbit_storage::Transaction>,
) -> SqlResult<()> {
    for n in names {
        let t = catalog::table_name(database, &n.name)?;
        if storage.get_table_schema(&t.stored).await?.is_none() {
            return Err(SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{}\" does not exist", t.short)));
        }
        storage.delete(tx, &t.stored, &Filter::All).await?;
    }
    Ok(())
}

/// CREATE DATABASE.
pub(crate) async fn create_database(
    databases: &Databases,
    name: &ast::ObjectName,
    if_not_exists: bool,
) -> SqlResult<()> {
    databases.create(&object_name(name), if_not_exists).await.map(|_| ())
}

/// The single name of a database.
pub(crate) fn object_name(name: &ast::ObjectName) -> String {
    name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default()
}
