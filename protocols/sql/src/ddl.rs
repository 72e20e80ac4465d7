//! CREATE and DROP of tables and databases, and TRUNCATE.

use std::sync::Arc;

use orbit_storage::table::{CheckDef, ColumnDef, Filter, IndexDef, TableSchema};
use orbit_storage::{DataType, StorageError, TableStorage};
use sqlparser::ast::{self, ColumnOption, TableConstraint};

use crate::catalog::{self, Databases, TableName};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::{SessionInfo, ident_name};
use crate::sequence::{SeqDef, Sequences};
use crate::types;

/// The integer type a SERIAL-family type name stands for.
fn serial_type(dt: &ast::DataType) -> Option<DataType> {
    let ast::DataType::Custom(name, mods) = dt else { return None };
    if !mods.is_empty() {
        return None;
    }
    match name.to_string().to_ascii_lowercase().as_str() {
        "serial" | "serial4" => Some(DataType::Integer),
        "bigserial" | "serial8" => Some(DataType::BigInt),
        "smallserial" | "serial2" => Some(DataType::SmallInt),
        _ => None,
    }
}

/// A sequence's settings from CREATE SEQUENCE or identity options.
pub(crate) fn seq_def(options: &[ast::SequenceOptions], ty: &DataType) -> SqlResult<SeqDef> {
    let num = |e: &ast::Expr| -> SqlResult<i64> {
        let text = e.to_string();
        text.replace(' ', "").parse::<i64>().map_err(|_| SqlError::syntax(format!("expected an integer, got {text}")))
    };
    let increment = options
        .iter()
        .find_map(|o| if let ast::SequenceOptions::IncrementBy(e, _) = o { Some(num(e)) } else { None })
        .transpose()?
        .unwrap_or(1);
    let mut def = SeqDef::defaults(increment, ty);
    let mut start_given = false;
    for o in options {
        match o {
            ast::SequenceOptions::IncrementBy(..) | ast::SequenceOptions::DataType(_) => {}
            ast::SequenceOptions::MinValue(Some(e)) => def.min = num(e)?,
            ast::SequenceOptions::MaxValue(Some(e)) => def.max = num(e)?,
            ast::SequenceOptions::MinValue(None) | ast::SequenceOptions::MaxValue(None) => {}
            ast::SequenceOptions::StartWith(e, _) => {
                def.start = num(e)?;
                start_given = true;
            }
            ast::SequenceOptions::Cycle(no) => def.cycle = !no,
            ast::SequenceOptions::Cache(_) => {}
            other => return Err(SqlError::unsupported(format!("the sequence option {other}"))),
        }
    }
    if !start_given {
        def.start = if increment > 0 { def.min } else { def.max };
    }
    Ok(def)
}

/// Runs CREATE TABLE; `false` when IF NOT EXISTS found the table.
pub(crate) async fn create_table(
    ct: &ast::CreateTable,
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
    sequences: &Sequences,
) -> SqlResult<bool> {
    if ct.query.is_some() {
        return Err(SqlError::unsupported("CREATE TABLE AS"));
    }
    let name = catalog::table_name(ns, &ct.name)?;
    let mut columns = Vec::with_capacity(ct.columns.len());
    let mut primary_key: Vec<String> = Vec::new();
    let mut serials: Vec<(String, SeqDef)> = Vec::new();
    let mut indexes: Vec<IndexDef> = Vec::new();
    let mut checks: Vec<CheckDef> = Vec::new();
    for c in &ct.columns {
        let col_name = ident_name(&c.name);
        if columns.iter().any(|x: &ColumnDef| x.name == col_name) {
            return Err(SqlError::new(
                ErrorCode::DuplicateColumn,
                format!("column \"{col_name}\" specified more than once"),
            ));
        }
        let serial = serial_type(&c.data_type);
        let mysql = ns.dialect == crate::Dialect::MySql;
        let mut def = ColumnDef::new(
            col_name.clone(),
            match &serial {
                Some(t) => t.clone(),
                None if mysql => crate::mysql::column_storage_type(&c.data_type)?,
                None => types::from_ast(&c.data_type)?,
            },
        );
        if mysql {
            def.declared = Some(crate::mysql::declared_type(&c.data_type));
        }
        // SERIAL and identity columns draw from a sequence the table owns.
        let mut owned: Option<Vec<ast::SequenceOptions>> = serial.as_ref().map(|_| Vec::new());
        for opt in &c.options {
            match &opt.option {
                ColumnOption::Null => def.nullable = true,
                ColumnOption::NotNull => def.nullable = false,
                ColumnOption::Default(e) => def.default = Some(e.to_string()),
                ColumnOption::Generated { sequence_options, generation_expr: None, .. } => {
                    owned = Some(sequence_options.clone().unwrap_or_default());
                }
                ColumnOption::Identity(_) => owned = Some(Vec::new()),
                ColumnOption::DialectSpecific(words)
                    if mysql && words.iter().any(|w| w.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
                {
                    owned = Some(Vec::new());
                }
                // Every column is UTF-8 and compares as MySQL's default
                // collation does; comments are not kept.
                ColumnOption::CharacterSet(_) | ColumnOption::Collation(_) | ColumnOption::Comment(_) if mysql => {}
                ColumnOption::PrimaryKey(_) => {
                    if !primary_key.is_empty() {
                        return Err(multiple_keys(&name.short));
                    }
                    primary_key.push(col_name.clone());
                    def.nullable = false;
                }
                ColumnOption::Unique(u) => {
                    let ix_name = u.name.as_ref().map(ident_name).unwrap_or_else(|| {
                        if mysql { col_name.clone() } else { format!("{}_{col_name}_key", name.short) }
                    });
                    indexes.push(IndexDef {
                        name: ix_name,
                        columns: vec![col_name.clone()],
                        unique: true,
                        constraint: true,
                    });
                }
                ColumnOption::Check(c) => {
                    let ck_name = c.name.as_ref().map(ident_name).unwrap_or_else(|| {
                        check_name(
                            &name.short,
                            &c.expr,
                            |n| ct.columns.iter().any(|d| ident_name(&d.name) == n),
                            &checks,
                        )
                    });
                    checks.push(CheckDef { name: ck_name, expr: c.expr.to_string() });
                }
                other => return Err(SqlError::unsupported(format!("the column constraint {other}"))),
            }
        }
        if let Some(options) = owned {
            let seq_name = format!("{}_{}_seq", name.short, col_name);
            let mut sd = seq_def(&options, &def.data_type)?;
            sd.owner = Some(name.stored.clone());
            // The sequence lives in the table's schema.
            let schema = name.stored.split('.').nth(1).unwrap_or("public").to_string();
            serials.push((format!("{}.{schema}.{seq_name}", ns.database), sd));
            let qualified = if schema == "public" { seq_name } else { format!("{schema}.{seq_name}") };
            def.default = Some(format!("nextval('{qualified}')"));
            def.nullable = false;
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
            TableConstraint::Unique(u) => {
                let cols = index_columns(&u.columns)?;
                // MySQL names an unnamed unique key after its first column.
                // MySQL's `UNIQUE KEY name (...)` names the index.
                let ix_name =
                    u.name.as_ref().or(u.index_name.as_ref()).map(ident_name).unwrap_or_else(|| match ns.dialect {
                        crate::Dialect::MySql => cols[0].clone(),
                        crate::Dialect::Postgres => format!("{}_{}_key", name.short, cols.join("_")),
                    });
                indexes.push(IndexDef { name: ix_name, columns: cols, unique: true, constraint: true });
            }
            TableConstraint::Check(c) => {
                let ck_name = c.name.as_ref().map(ident_name).unwrap_or_else(|| {
                    check_name(&name.short, &c.expr, |n| columns.iter().any(|d| d.name == n), &checks)
                });
                checks.push(CheckDef { name: ck_name, expr: c.expr.to_string() });
            }
            TableConstraint::Index(ix) if ns.dialect == crate::Dialect::MySql => {
                let cols = index_columns(&ix.columns)?;
                let ix_name = ix.name.as_ref().map(ident_name).unwrap_or_else(|| cols[0].clone());
                indexes.push(IndexDef { name: ix_name, columns: cols, unique: false, constraint: false });
            }
            other => return Err(SqlError::unsupported(format!("the table constraint {other}"))),
        }
    }
    let schema = TableSchema { name: name.stored.clone(), columns, primary_key, indexes, checks };
    schema.validate().map_err(|e| SqlError::new(ErrorCode::InvalidTableDefinition, e.to_string()))?;
    if storage.get_table_schema(&schema.name).await?.is_some() {
        if ct.if_not_exists {
            return Ok(false);
        }
        return Err(StorageError::TableExists(schema.name).into());
    }
    for (seq, def) in &serials {
        sequences.create(seq, def.clone(), false).await?;
    }
    match storage.create_table(&schema).await {
        Ok(()) => Ok(true),
        Err(e) => {
            for (seq, _) in &serials {
                let _ = sequences.drop(seq).await;
            }
            match e {
                StorageError::TableExists(_) if ct.if_not_exists => Ok(false),
                e => Err(e.into()),
            }
        }
    }
}

/// Column names of an index or constraint column list.
/// PostgreSQL's name for an unnamed CHECK constraint of `table`:
/// `table_col_check` when the expression reads exactly one column, else
/// `table_check`, with a number appended while the name is taken.
pub(crate) fn check_name(
    table: &str,
    expr: &ast::Expr,
    is_column: impl Fn(&str) -> bool,
    taken: &[CheckDef],
) -> String {
    let mut cols: Vec<String> = Vec::new();
    let _ = ast::visit_expressions(expr, |e| {
        if let ast::Expr::Identifier(i) = e {
            let n = ident_name(i);
            if is_column(&n) && !cols.contains(&n) {
                cols.push(n);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let base = match cols.as_slice() {
        [c] => format!("{table}_{c}_check"),
        _ => format!("{table}_check"),
    };
    let mut name = base.clone();
    let mut n = 0;
    while taken.iter().any(|c| c.name == name) {
        n += 1;
        name = format!("{base}{n}");
    }
    name
}

pub(crate) fn index_columns(cols: &[ast::IndexColumn]) -> SqlResult<Vec<String>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(i) => Ok(ident_name(i)),
            _ => Err(SqlError::unsupported("an expression in an index")),
        })
        .collect()
}

pub(crate) fn multiple_keys(table: &str) -> SqlError {
    SqlError::new(
        ErrorCode::InvalidTableDefinition,
        format!("multiple primary keys for table \"{table}\" are not allowed"),
    )
}

/// DROP TABLE a, b [IF EXISTS], with the sequences they own; returns the
/// tables IF EXISTS skipped.
pub(crate) async fn drop_tables(
    names: &[ast::ObjectName],
    if_exists: bool,
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
    sequences: &Sequences,
) -> SqlResult<Vec<TableName>> {
    // Check all first: DROP TABLE of several tables drops none if one is missing.
    let mut resolved = Vec::new();
    let mut skipped = Vec::new();
    for n in names {
        let t = catalog::table_name(ns, n)?;
        if storage.get_table_schema(&t.stored).await?.is_none() {
            if if_exists {
                skipped.push(t);
                continue;
            }
            return Err(SqlError::new(ErrorCode::UndefinedTable, format!("table \"{}\" does not exist", t.short)));
        }
        resolved.push(t);
    }
    for t in resolved {
        storage.drop_table(&t.stored).await?;
        sequences.drop_owned_by(&t.stored).await?;
    }
    Ok(skipped)
}

/// CREATE SEQUENCE.
pub(crate) async fn create_sequence(
    name: &ast::ObjectName,
    options: &[ast::SequenceOptions],
    if_not_exists: bool,
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
    sequences: &Sequences,
) -> SqlResult<()> {
    let tn = catalog::table_name(ns, name)?;
    if storage.get_table_schema(&tn.stored).await?.is_some() {
        return Err(SqlError::new(ErrorCode::DuplicateTable, format!("relation \"{}\" already exists", tn.short)));
    }
    let ty = options
        .iter()
        .find_map(|o| if let ast::SequenceOptions::DataType(t) = o { Some(types::from_ast(t)) } else { None })
        .transpose()?
        .unwrap_or(DataType::BigInt);
    sequences.create(&tn.stored, seq_def(options, &ty)?, if_not_exists).await.map(|_| ())
}

/// DROP SEQUENCE [IF EXISTS] a, b.
pub(crate) async fn drop_sequences(
    names: &[ast::ObjectName],
    if_exists: bool,
    ns: &SessionInfo,
    sequences: &Sequences,
) -> SqlResult<()> {
    let mut resolved = Vec::new();
    for n in names {
        let t = catalog::table_name(ns, n)?;
        if !sequences.exists(&t.stored).await? {
            if if_exists {
                continue;
            }
            return Err(SqlError::new(ErrorCode::UndefinedTable, format!("sequence \"{}\" does not exist", t.short)));
        }
        resolved.push(t);
    }
    for t in resolved {
        sequences.drop(&t.stored).await?;
    }
    Ok(())
}

/// TRUNCATE a, b.
pub(crate) async fn truncate(
    names: &[ast::TruncateTableTarget],
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&orbit_storage::Transaction>,
) -> SqlResult<()> {
    for n in names {
        let t = catalog::table_name(ns, &n.name)?;
        if storage.get_table_schema(&t.stored).await?.is_none() {
            return Err(t.missing(ns));
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
