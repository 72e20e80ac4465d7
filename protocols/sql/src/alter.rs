//! ALTER TABLE, CREATE INDEX and DROP INDEX: each works out the new schema
//! and how its columns come from the old rows, then has storage rewrite the
//! table at once (`TableStorage::alter_table`), which also checks keys and
//! unique indexes against the existing rows.

use std::sync::Arc;

use orbit_storage::table::{CheckDef, ColumnDef, ColumnSource, IndexDef, SelectQuery, TableSchema};
use orbit_storage::{StorageError, TableStorage, Value};
use sqlparser::ast::{self, AlterColumnOperation, AlterTableOperation, ColumnOption, TableConstraint};

use crate::catalog::{self, TableName};
use crate::ddl::{index_columns, multiple_keys};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::Env;
use crate::expr::compile::{Compiler, Scope, SessionInfo, ident_name};
use crate::query::{PlanCtx, Schemas};
use crate::types;

fn no_column(table: &str, column: &str) -> SqlError {
    SqlError::new(ErrorCode::UndefinedColumn, format!("column \"{column}\" of relation \"{table}\" does not exist"))
}

/// Evaluates a constant expression (a default for existing rows).
fn constant(expr: &ast::Expr, ty: &orbit_storage::DataType, info: &SessionInfo) -> SqlResult<Value> {
    let schemas = Schemas::new();
    let text = expr.to_string();
    let mut ctx = PlanCtx::new(&schemas, info, Vec::new(), &text);
    let scope = Scope::default();
    let (s, _) = Compiler::new(&scope, &mut ctx).expect(expr, ty)?;
    let v = s.eval(&[], &Env::constant()).map_err(|e| {
        if e.code == ErrorCode::Internal {
            SqlError::unsupported("a default that is not a constant when adding a column to existing rows")
        } else {
            e
        }
    })?;
    types::assign(v, ty)
}

/// Renames column `from` to `to` inside a CHECK expression's text.
fn rename_in_check(expr: &str, from: &str, to: &str) -> SqlResult<String> {
    let mut e = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(expr)
        .and_then(|mut p| p.parse_expr())
        .map_err(|err| SqlError::new(ErrorCode::Internal, format!("stored check does not parse: {err}")))?;
    let _ = ast::visit_expressions_mut(&mut e, |x| {
        match x {
            ast::Expr::Identifier(i) if ident_name(i) == from => *i = ast::Ident::new(to),
            ast::Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last_mut()
                    && ident_name(last) == from
                {
                    *last = ast::Ident::new(to);
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Ok(e.to_string())
}

/// Whether a CHECK expression's text names column `col`.
fn check_mentions(expr: &str, col: &str) -> bool {
    rename_in_check(expr, col, "\u{1}").map(|t| t != expr && t.contains('\u{1}')).unwrap_or(true)
}

/// Every index and table name in database `db`, to keep index names unique.
async fn names_in_database(db: &str, storage: &Arc<dyn TableStorage>) -> SqlResult<Vec<(String, TableSchema)>> {
    let prefix = format!("{db}.");
    Ok(storage
        .list_tables()
        .await?
        .into_iter()
        .filter(|t| t.name.starts_with(&prefix))
        .map(|t| (t.name.clone(), t))
        .collect())
}

fn relation_exists(name: &str) -> SqlError {
    SqlError::new(ErrorCode::DuplicateTable, format!("relation \"{name}\" already exists"))
}

/// ALTER TABLE.
pub(crate) async fn alter_table(
    at: &ast::AlterTable,
    info: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
) -> SqlResult<()> {
    let tn = catalog::table_name(info, &at.name)?;
    let Some(old) = storage.get_table_schema(&tn.stored).await? else {
        if at.if_exists {
            return Ok(());
        }
        return Err(tn.missing(info));
    };
    let mut schema = old.clone();
    let mut target = tn.clone();
    let mut sources: Vec<ColumnSource> = (0..schema.columns.len()).map(ColumnSource::Column).collect();
    let mut new_checks: Vec<CheckDef> = Vec::new();
    let mut new_indexes: Vec<String> = Vec::new();
    for op in &at.operations {
        match op {
            AlterTableOperation::AddColumn { if_not_exists, column_def, .. } => {
                let name = ident_name(&column_def.name);
                if schema.column_index(&name).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(SqlError::new(
                        ErrorCode::DuplicateColumn,
                        format!("column \"{name}\" of relation \"{}\" already exists", target.short),
                    ));
                }
                let ty = match info.dialect {
                    crate::Dialect::MySql => crate::mysql::column_storage_type(&column_def.data_type)?,
                    crate::Dialect::Postgres => types::from_ast(&column_def.data_type)?,
                };
                let mut def = ColumnDef::new(name.clone(), ty.clone());
                if info.dialect == crate::Dialect::MySql {
                    def.declared = Some(crate::mysql::declared_type(&column_def.data_type));
                }
                let mut fill = Value::Null;
                for o in &column_def.options {
                    match &o.option {
                        ColumnOption::Null => def.nullable = true,
                        ColumnOption::NotNull => def.nullable = false,
                        ColumnOption::Default(e) => {
                            def.default = Some(e.to_string());
                            fill = constant(e, &ty, info)?;
                        }
                        ColumnOption::Unique(_) => {
                            let ix = format!("{}_{name}_key", target.short);
                            new_indexes.push(ix.clone());
                            schema.indexes.push(IndexDef {
                                name: ix,
                                columns: vec![name.clone()],
                                unique: true,
                                constraint: true,
                            });
                        }
                        ColumnOption::PrimaryKey(_) => {
                            if !schema.primary_key.is_empty() {
                                return Err(multiple_keys(&target.short));
                            }
                            schema.primary_key = vec![name.clone()];
                            def.nullable = false;
                        }
                        ColumnOption::Check(c) => {
                            let ck = CheckDef {
                                name: c
                                    .name
                                    .as_ref()
                                    .map(ident_name)
                                    .unwrap_or_else(|| format!("{}_{name}_check", target.short)),
                                expr: c.expr.to_string(),
                            };
                            new_checks.push(ck.clone());
                            schema.checks.push(ck);
                        }
                        other => {
                            return Err(SqlError::unsupported(format!("the column constraint {other} in ALTER TABLE")));
                        }
                    }
                }
                schema.columns.push(def);
                sources.push(ColumnSource::Value(fill));
            }
            AlterTableOperation::DropColumn { column_names, if_exists, .. } => {
                for c in column_names {
                    let name = ident_name(c);
                    let Some(i) = schema.column_index(&name) else {
                        if *if_exists {
                            continue;
                        }
                        return Err(no_column(&target.short, &name));
                    };
                    if schema.primary_key.contains(&name) {
                        return Err(SqlError::new(
                            ErrorCode::DependentObjects,
                            format!(
                                "cannot drop column {name} of table {} because constraint {}_pkey requires it",
                                target.short, target.short
                            ),
                        ));
                    }
                    if schema.columns.len() == 1 {
                        return Err(SqlError::unsupported("dropping a table's only column"));
                    }
                    schema.columns.remove(i);
                    sources.remove(i);
                    // Indexes and checks on the column go with it.
                    schema.indexes.retain(|ix| !ix.columns.contains(&name));
                    schema.checks.retain(|ck| !check_mentions(&ck.expr, &name));
                }
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                let (from, to) = (ident_name(old_column_name), ident_name(new_column_name));
                let i = schema.column_index(&from).ok_or_else(|| no_column(&target.short, &from))?;
                if schema.column_index(&to).is_some() {
                    return Err(SqlError::new(
                        ErrorCode::DuplicateColumn,
                        format!("column \"{to}\" of relation \"{}\" already exists", target.short),
                    ));
                }
                schema.columns[i].name = to.clone();
                for k in
                    schema.primary_key.iter_mut().chain(schema.indexes.iter_mut().flat_map(|ix| ix.columns.iter_mut()))
                {
                    if *k == from {
                        *k = to.clone();
                    }
                }
                for ck in &mut schema.checks {
                    ck.expr = rename_in_check(&ck.expr, &from, &to)?;
                }
            }
            AlterTableOperation::RenameTable { table_name } => {
                let (ast::RenameTableNameKind::To(n) | ast::RenameTableNameKind::As(n)) = table_name;
                let short = n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
                let renamed = catalog::table_name(info, &ast::ObjectName::from(vec![ast::Ident::new(short.clone())]))?;
                if storage.get_table_schema(&renamed.stored).await?.is_some() {
                    return Err(relation_exists(&short));
                }
                target = TableName { stored: renamed.stored, short };
            }
            AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
                TableConstraint::PrimaryKey(pk) => {
                    if !schema.primary_key.is_empty() {
                        return Err(multiple_keys(&target.short));
                    }
                    let cols = index_columns(&pk.columns)?;
                    for c in &cols {
                        let i = schema.column_index(c).ok_or_else(|| no_column(&target.short, c))?;
                        schema.columns[i].nullable = false;
                    }
                    schema.primary_key = cols;
                }
                TableConstraint::Unique(u) => {
                    let cols = index_columns(&u.columns)?;
                    for c in &cols {
                        schema.column_index(c).ok_or_else(|| no_column(&target.short, c))?;
                    }
                    let name = u
                        .name
                        .as_ref()
                        .map(ident_name)
                        .unwrap_or_else(|| format!("{}_{}_key", target.short, cols.join("_")));
                    new_indexes.push(name.clone());
                    schema.indexes.push(IndexDef { name, columns: cols, unique: true, constraint: true });
                }
                TableConstraint::Check(c) => {
                    let ck = CheckDef {
                        name: c.name.as_ref().map(ident_name).unwrap_or_else(|| {
                            crate::ddl::check_name(
                                &target.short,
                                &c.expr,
                                |n| schema.columns.iter().any(|d| d.name == n),
                                &schema.checks,
                            )
                        }),
                        expr: c.expr.to_string(),
                    };
                    new_checks.push(ck.clone());
                    schema.checks.push(ck);
                }
                other => return Err(SqlError::unsupported(format!("the constraint {other}"))),
            },
            AlterTableOperation::DropConstraint { name, if_exists, .. } => {
                let n = ident_name(name);
                if n == format!("{}_pkey", target.short) && !schema.primary_key.is_empty() {
                    schema.primary_key.clear();
                } else if let Some(i) = schema.indexes.iter().position(|ix| ix.unique && ix.name == n) {
                    schema.indexes.remove(i);
                } else if let Some(i) = schema.checks.iter().position(|c| c.name == n) {
                    schema.checks.remove(i);
                } else if !*if_exists {
                    return Err(SqlError::new(
                        ErrorCode::UndefinedObject,
                        format!("constraint \"{n}\" of relation \"{}\" does not exist", target.short),
                    ));
                }
            }
            AlterTableOperation::DropPrimaryKey { .. } => schema.primary_key.clear(),
            AlterTableOperation::AlterColumn { column_name, op } => {
                let name = ident_name(column_name);
                let i = schema.column_index(&name).ok_or_else(|| no_column(&target.short, &name))?;
                match op {
                    AlterColumnOperation::SetNotNull => schema.columns[i].nullable = false,
                    AlterColumnOperation::DropNotNull => {
                        if schema.primary_key.contains(&name) {
                            return Err(SqlError::new(
                                ErrorCode::InvalidTableDefinition,
                                format!("column \"{name}\" is in a primary key"),
                            ));
                        }
                        schema.columns[i].nullable = true;
                    }
                    AlterColumnOperation::SetDefault { value } => {
                        // Checked now, so that a bad default fails here.
                        let ty = schema.columns[i].data_type.clone();
                        let schemas = Schemas::new();
                        let text = value.to_string();
                        let mut ctx = PlanCtx::new(&schemas, info, Vec::new(), &text);
                        Compiler::new(&Scope::default(), &mut ctx).expect(value, &ty)?;
                        schema.columns[i].default = Some(text);
                    }
                    AlterColumnOperation::DropDefault => schema.columns[i].default = None,
                    other => return Err(SqlError::unsupported(format!("ALTER COLUMN {other}"))),
                }
            }
            other => return Err(SqlError::unsupported(format!("ALTER TABLE {other}"))),
        }
    }
    if !new_checks.is_empty() {
        validate_checks(&old, &sources, &schema, &new_checks, &tn, info, storage).await?;
    }
    schema.name = target.stored.clone();
    schema.validate().map_err(|e| SqlError::new(ErrorCode::InvalidTableDefinition, e.to_string()))?;
    storage.alter_table(&tn.stored, &schema, &sources).await.map_err(|e| build_error(e, &new_indexes))
}

/// A unique index that does not hold for existing rows, as PostgreSQL
/// reports it.
fn build_error(e: StorageError, new_indexes: &[String]) -> SqlError {
    match e {
        StorageError::UniqueViolation { index, key, .. } if new_indexes.contains(&index) => SqlError::new(
            ErrorCode::UniqueViolation,
            format!("could not create unique index \"{index}\"\nDETAIL: Key {key} is duplicated."),
        ),
        other => other.into(),
    }
}

/// Fails when an existing row breaks a CHECK being added.
async fn validate_checks(
    old: &TableSchema,
    sources: &[ColumnSource],
    schema: &TableSchema,
    checks: &[CheckDef],
    tn: &TableName,
    info: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
) -> SqlResult<()> {
    let probe = TableSchema { checks: checks.to_vec(), ..schema.clone() };
    let schemas = Schemas::new();
    let mut ctx = PlanCtx::new(&schemas, info, Vec::new(), "");
    let compiled = crate::dml::compile_checks(tn, &probe, &mut ctx)?;
    let rows = storage.select(None, &SelectQuery::all(old.name.clone())).await?;
    let env = Env::constant();
    for old_row in rows {
        let row: Vec<Value> = sources
            .iter()
            .map(|s| match s {
                ColumnSource::Column(i) => old_row[*i].clone(),
                ColumnSource::Value(v) => v.clone(),
            })
            .collect();
        for (name, test) in &compiled {
            if matches!(test.eval(&row, &env)?, Value::Bool(false)) {
                return Err(SqlError::new(
                    ErrorCode::CheckViolation,
                    format!("check constraint \"{name}\" of relation \"{}\" is violated by some row", tn.short),
                ));
            }
        }
    }
    Ok(())
}

/// CREATE [UNIQUE] INDEX.
pub(crate) async fn create_index(
    ci: &ast::CreateIndex,
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
) -> SqlResult<()> {
    if ci.predicate.is_some() || !ci.include.is_empty() {
        return Err(SqlError::unsupported("partial indexes and INCLUDE"));
    }
    let tn = catalog::table_name(ns, &ci.table_name)?;
    let mut schema = storage.get_table_schema(&tn.stored).await?.ok_or_else(|| tn.missing(ns))?;
    let cols = index_columns(&ci.columns)?;
    for c in &cols {
        schema
            .column_index(c)
            .ok_or_else(|| SqlError::new(ErrorCode::UndefinedColumn, format!("column \"{c}\" does not exist")))?;
    }
    let existing = names_in_database(&ns.database, storage).await?;
    let taken = |n: &str| {
        existing.iter().any(|(t, s)| t.rsplit('.').next() == Some(n) || s.indexes.iter().any(|ix| ix.name == n))
    };
    let name = match &ci.name {
        Some(n) => n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default(),
        None => {
            // PostgreSQL's choice: table_columns_idx, numbered when taken.
            let base = format!("{}_{}_idx", tn.short, cols.join("_"));
            let mut n = base.clone();
            let mut k = 1;
            while taken(&n) {
                n = format!("{base}{k}");
                k += 1;
            }
            n
        }
    };
    if taken(&name) {
        if ci.if_not_exists {
            return Ok(());
        }
        return Err(relation_exists(&name));
    }
    schema.indexes.push(IndexDef { name: name.clone(), columns: cols, unique: ci.unique, constraint: false });
    let sources: Vec<ColumnSource> = (0..schema.columns.len()).map(ColumnSource::Column).collect();
    storage.alter_table(&tn.stored, &schema, &sources).await.map_err(|e| build_error(e, &[name]))
}

/// DROP INDEX [IF EXISTS] a, b.
pub(crate) async fn drop_indexes(
    names: &[ast::ObjectName],
    if_exists: bool,
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
) -> SqlResult<()> {
    for n in names {
        let name = n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
        let tables = names_in_database(&ns.database, storage).await?;
        let Some((stored, mut schema)) = tables.into_iter().find(|(_, s)| s.indexes.iter().any(|ix| ix.name == name))
        else {
            if if_exists {
                continue;
            }
            return Err(SqlError::new(ErrorCode::UndefinedObject, format!("index \"{name}\" does not exist")));
        };
        schema.indexes.retain(|ix| ix.name != name);
        let sources: Vec<ColumnSource> = (0..schema.columns.len()).map(ColumnSource::Column).collect();
        storage.alter_table(&stored, &schema, &sources).await?;
    }
    Ok(())
}
