//! INSERT, UPDATE and DELETE.

use std::collections::BTreeMap;
use std::sync::Arc;

use orbit_storage::table::{Filter, TableSchema, Update};
use orbit_storage::{DataType, StorageError, TableStorage, Transaction, Value};
use sqlparser::ast::{self, Expr, SelectItem, SetExpr};

use crate::Column;
use crate::catalog::{self, TableName};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::{Compiler, Scope, ScopeColumn, ident_name};
use crate::expr::{Env, Scalar};
use crate::key::SortKey;
use crate::query::{self, PlanCtx, SelectPlan, from};
use crate::types;

/// Where INSERT's rows come from.
#[derive(Debug, Clone)]
pub(crate) enum InsertSource {
    /// One compiled expression per target column per row.
    Values(Vec<Vec<Scalar>>),
    Query(Box<SelectPlan>),
}

/// ON CONFLICT.
#[derive(Debug, Clone)]
pub(crate) enum OnConflict {
    Error,
    Nothing,
    /// SET assignments over the existing row plus `excluded`, and a WHERE.
    Update {
        sets: Vec<(usize, Scalar)>,
        filter: Option<Scalar>,
    },
}

/// A planned INSERT.
#[derive(Debug, Clone)]
pub(crate) struct InsertPlan {
    pub table: TableName,
    pub schema: TableSchema,
    /// Table position of each source column.
    pub targets: Vec<usize>,
    pub source: InsertSource,
    /// Defaults of the columns not targeted, by table position.
    pub defaults: Vec<Option<Scalar>>,
    pub on_conflict: OnConflict,
    pub returning: Option<(Vec<Scalar>, Vec<Column>)>,
}

/// A planned UPDATE or DELETE: which rows, and for UPDATE the new values.
#[derive(Debug, Clone)]
pub(crate) struct ModifyPlan {
    pub table: TableName,
    pub schema: TableSchema,
    pub source: from::Source,
    pub filter: Option<Scalar>,
    /// UPDATE's assignments by table position; empty for DELETE.
    pub sets: Vec<(usize, Scalar)>,
    pub returning: Option<(Vec<Scalar>, Vec<Column>)>,
}

fn table_scope(qualifier: &str, schema: &TableSchema) -> Scope {
    Scope {
        cols: schema
            .columns
            .iter()
            .map(|c| ScopeColumn { table: Some(qualifier.to_string()), name: c.name.clone(), ty: c.data_type.clone() })
            .collect(),
    }
}

async fn load(ctx: &PlanCtx<'_>, name: &ast::ObjectName) -> SqlResult<(TableName, TableSchema)> {
    let tn = catalog::table_name(&ctx.session.database, name)?;
    let schema =
        ctx.storage.get_table_schema(&tn.stored).await?.ok_or_else(|| {
            SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{}\" does not exist", tn.short))
        })?;
    Ok((tn, schema))
}

fn returning(
    items: &Option<Vec<SelectItem>>,
    scope: &Scope,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<Option<(Vec<Scalar>, Vec<Column>)>> {
    let Some(items) = items else { return Ok(None) };
    let mut c = Compiler { scope, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
    let mut exprs = Vec::new();
    let mut cols = Vec::new();
    for item in items {
        match item {
            SelectItem::UnnamedExpr(e) => {
                let (s, t) = c.typed(e)?;
                exprs.push(s);
                cols.push(Column { name: query::column_name(e), ty: t });
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let (s, t) = c.typed(expr)?;
                exprs.push(s);
                cols.push(Column { name: ident_name(alias), ty: t });
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                for (i, sc) in scope.cols.iter().enumerate().take(scope.cols.len()) {
                    if sc.table.as_deref() == Some("excluded") {
                        continue;
                    }
                    exprs.push(Scalar::Column(i));
                    cols.push(Column { name: sc.name.clone(), ty: sc.ty.clone() });
                }
            }
            SelectItem::ExprWithAliases { .. } => return Err(SqlError::unsupported("multiple aliases")),
        }
    }
    Ok(Some((exprs, cols)))
}

/// Compiles a column's stored default.
pub(crate) fn default_of(col: &orbit_storage::table::ColumnDef, ctx: &mut PlanCtx<'_>) -> SqlResult<Option<Scalar>> {
    let Some(text) = &col.default else { return Ok(None) };
    let expr = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| {
            SqlError::new(ErrorCode::Internal, format!("stored default of \"{}\" does not parse: {e}", col.name))
        })?;
    let empty = Scope::default();
    let mut c = Compiler { scope: &empty, params: ctx.params, agg: None, session: ctx.session, sql: text };
    Ok(Some(c.expect(&expr, &col.data_type)?.0))
}

pub(crate) async fn plan_insert(ins: &ast::Insert, ctx: &mut PlanCtx<'_>) -> SqlResult<InsertPlan> {
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(SqlError::unsupported("INSERT into a table function"));
    };
    let (table, schema) = load(ctx, name).await?;
    let targets: Vec<usize> = if ins.columns.is_empty() {
        // Without a column list, values fill the leading columns and the
        // rest take their defaults.
        let given = match ins.source.as_deref().map(|q| &*q.body) {
            Some(SetExpr::Values(v)) => v.rows.first().map_or(0, |r| r.content.len()),
            _ => schema.columns.len(),
        };
        (0..given.min(schema.columns.len())).collect()
    } else {
        let mut t = Vec::new();
        for c in &ins.columns {
            let n = c.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
            let i = schema.column_index(&n).ok_or_else(|| {
                SqlError::new(
                    ErrorCode::UndefinedColumn,
                    format!("column \"{n}\" of relation \"{}\" does not exist", table.short),
                )
            })?;
            if t.contains(&i) {
                return Err(SqlError::new(
                    ErrorCode::DuplicateColumn,
                    format!("column \"{n}\" specified more than once"),
                ));
            }
            t.push(i);
        }
        t
    };
    let Some(src) = &ins.source else { return Err(SqlError::unsupported("INSERT without VALUES or SELECT")) };
    let source = match &*src.body {
        SetExpr::Values(values) if src.order_by.is_none() && src.limit_clause.is_none() => {
            let empty = Scope::default();
            let mut rows = Vec::with_capacity(values.rows.len());
            for row in &values.rows {
                if row.content.len() > targets.len() {
                    return Err(SqlError::syntax("INSERT has more expressions than target columns"));
                }
                if row.content.len() < targets.len() {
                    return Err(SqlError::syntax("INSERT has more target columns than expressions"));
                }
                let mut c =
                    Compiler { scope: &empty, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
                let mut out = Vec::with_capacity(row.content.len());
                for (e, &ti) in row.content.iter().zip(&targets) {
                    if let Expr::Identifier(i) = e
                        && i.quote_style.is_none()
                        && i.value.eq_ignore_ascii_case("default")
                    {
                        let col = &schema.columns[ti];
                        out.push(
                            default_of(
                                col,
                                &mut PlanCtx {
                                    storage: ctx.storage,
                                    session: ctx.session,
                                    params: c.params,
                                    sql: ctx.sql,
                                },
                            )?
                            .unwrap_or(Scalar::Const(Value::Null)),
                        );
                        continue;
                    }
                    out.push(c.expect(e, &schema.columns[ti].data_type)?.0);
                }
                rows.push(out);
            }
            InsertSource::Values(rows)
        }
        _ => {
            let plan = Box::pin(query::plan_query(src, ctx)).await?;
            if plan.columns.len() != targets.len() {
                return Err(SqlError::syntax(if plan.columns.len() > targets.len() {
                    "INSERT has more expressions than target columns"
                } else {
                    "INSERT has more target columns than expressions"
                }));
            }
            InsertSource::Query(Box::new(plan))
        }
    };
    let mut defaults = Vec::with_capacity(schema.columns.len());
    for (i, col) in schema.columns.iter().enumerate() {
        defaults.push(if targets.contains(&i) { None } else { default_of(col, ctx)? });
    }
    // ON CONFLICT sees the existing row and `excluded`, the proposed one.
    let mut scope = table_scope(&table.short, &schema);
    scope.cols.extend(table_scope("excluded", &schema).cols);
    let on_conflict = match &ins.on {
        None => OnConflict::Error,
        Some(ast::OnInsert::OnConflict(oc)) => {
            if let Some(ast::ConflictTarget::Columns { columns: cols, .. }) = &oc.conflict_target {
                let named: Vec<String> = cols.iter().map(ident_name).collect();
                if named != schema.primary_key {
                    return Err(SqlError::new(
                        ErrorCode::InvalidParameter,
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                    ));
                }
            }
            match &oc.action {
                ast::OnConflictAction::DoNothing => OnConflict::Nothing,
                ast::OnConflictAction::DoUpdate(du) => {
                    let sets = assignments(&du.assignments, &schema, &table, &scope, ctx)?;
                    let filter = match &du.selection {
                        Some(w) => {
                            let mut c = Compiler {
                                scope: &scope,
                                params: ctx.params,
                                agg: None,
                                session: ctx.session,
                                sql: ctx.sql,
                            };
                            Some(c.expect(w, &DataType::Boolean)?.0)
                        }
                        None => None,
                    };
                    OnConflict::Update { sets, filter }
                }
            }
        }
        Some(_) => return Err(SqlError::unsupported("ON DUPLICATE KEY UPDATE")),
    };
    let returning = returning(&ins.returning, &table_scope(&table.short, &schema), ctx)?;
    Ok(InsertPlan { table, schema, targets, source, defaults, on_conflict, returning })
}

fn assignments(
    list: &[ast::Assignment],
    schema: &TableSchema,
    table: &TableName,
    scope: &Scope,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<Vec<(usize, Scalar)>> {
    let mut c = Compiler { scope, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
    let mut sets = Vec::new();
    for a in list {
        let ast::AssignmentTarget::ColumnName(n) = &a.target else {
            return Err(SqlError::unsupported("assigning to a tuple"));
        };
        let name = n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
        let i = schema.column_index(&name).ok_or_else(|| {
            SqlError::new(
                ErrorCode::UndefinedColumn,
                format!("column \"{name}\" of relation \"{}\" does not exist", table.short),
            )
        })?;
        if sets.iter().any(|(j, _)| *j == i) {
            return Err(SqlError::syntax(format!("multiple assignments to same column \"{name}\"")));
        }
        sets.push((i, c.expect(&a.value, &schema.columns[i].data_type)?.0));
    }
    Ok(sets)
}

pub(crate) async fn plan_update(up: &ast::Update, ctx: &mut PlanCtx<'_>) -> SqlResult<ModifyPlan> {
    if up.from.is_some() || !up.table.joins.is_empty() {
        return Err(SqlError::unsupported("UPDATE with FROM or joins"));
    }
    plan_modify(&up.table.relation, &up.selection, &up.assignments, &up.returning, ctx).await
}

pub(crate) async fn plan_delete(del: &ast::Delete, ctx: &mut PlanCtx<'_>) -> SqlResult<ModifyPlan> {
    let tables = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    let [twj] = tables.as_slice() else { return Err(SqlError::unsupported("DELETE from several tables")) };
    if del.using.is_some() || !twj.joins.is_empty() {
        return Err(SqlError::unsupported("DELETE with USING or joins"));
    }
    plan_modify(&twj.relation, &del.selection, &[], &del.returning, ctx).await
}

async fn plan_modify(
    relation: &ast::TableFactor,
    selection: &Option<Expr>,
    sets: &[ast::Assignment],
    ret: &Option<Vec<SelectItem>>,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<ModifyPlan> {
    let mut scope = Scope::default();
    let twj = ast::TableWithJoins { relation: relation.clone(), joins: vec![] };
    let mut sources = from::plan_from(
        std::slice::from_ref(&twj),
        &ctx.session.database,
        ctx.storage,
        &mut scope,
        ctx.params,
        ctx.session,
        ctx.sql,
    )
    .await?;
    let filter = match selection {
        Some(w) => {
            let mut c = Compiler { scope: &scope, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
            let (s, t) = c.expect(w, &DataType::Boolean)?;
            if t != DataType::Boolean {
                return Err(SqlError::mismatch("argument of WHERE must be type boolean"));
            }
            from::push_down(&s, &mut sources, &scope);
            Some(s)
        }
        None => None,
    };
    let source = sources.pop().ok_or_else(|| SqlError::syntax("UPDATE or DELETE needs a table"))?;
    let table = source.name.clone();
    let schema = source.schema.clone();
    let sets = assignments(sets, &schema, &table, &scope, ctx)?;
    let returning = returning(ret, &scope, ctx)?;
    Ok(ModifyPlan { table, schema, source, filter, sets, returning })
}

/// Converts values for a row of `schema` and checks NOT NULL.
fn finish_row(schema: &TableSchema, table: &TableName, row: Vec<Value>) -> SqlResult<Vec<Value>> {
    let mut out = Vec::with_capacity(row.len());
    for (v, col) in row.into_iter().zip(&schema.columns) {
        let v = types::assign(v, &col.data_type)?;
        if v.is_null() && !col.nullable {
            return Err(SqlError::new(
                ErrorCode::NotNullViolation,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    col.name, table.short
                ),
            ));
        }
        out.push(v);
    }
    Ok(out)
}

fn key_filter(schema: &TableSchema, row: &[Value]) -> Filter {
    let parts: Vec<Filter> = schema
        .primary_key
        .iter()
        .filter_map(|k| schema.column_index(k).map(|i| Filter::eq(k.clone(), row[i].clone())))
        .collect();
    Filter::And(parts)
}

/// Matches exactly the rows equal to `row` in every column: how a table
/// without a primary key names a row. Identical rows are indistinguishable,
/// so they are changed together, which is what changing each would do.
fn whole_row_filter(schema: &TableSchema, row: &[Value]) -> Filter {
    Filter::And(
        schema
            .columns
            .iter()
            .zip(row)
            .map(
                |(c, v)| {
                    if v.is_null() { Filter::IsNull(c.name.clone()) } else { Filter::eq(c.name.clone(), v.clone()) }
                },
            )
            .collect(),
    )
}

/// Runs an INSERT; returns the count and RETURNING rows.
pub(crate) async fn insert(
    plan: &InsertPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    env: &Env<'_>,
) -> SqlResult<(u64, Vec<Vec<Value>>)> {
    let source_rows: Vec<Vec<Value>> = match &plan.source {
        InsertSource::Values(rows) => rows
            .iter()
            .map(|r| r.iter().map(|s| s.eval(&[], env)).collect::<SqlResult<Vec<_>>>())
            .collect::<SqlResult<_>>()?,
        InsertSource::Query(q) => query::execute(q, storage, tx, env).await?,
    };
    let mut count = 0;
    let mut returned = Vec::new();
    for src in source_rows {
        let mut row: Vec<Value> = plan
            .defaults
            .iter()
            .map(|d| d.as_ref().map_or(Ok(Value::Null), |s| s.eval(&[], env)))
            .collect::<SqlResult<_>>()?;
        for (v, &ti) in src.into_iter().zip(&plan.targets) {
            row[ti] = v;
        }
        let row = finish_row(&plan.schema, &plan.table, row)?;
        let written = match storage.insert(tx, &plan.table.stored, row.clone()).await {
            Ok(()) => Some(row),
            Err(StorageError::DuplicateKey { .. }) if !matches!(plan.on_conflict, OnConflict::Error) => {
                conflict(plan, storage, tx, env, row).await?
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(row) = written {
            count += 1;
            if let Some((exprs, _)) = &plan.returning {
                returned.push(exprs.iter().map(|e| e.eval(&row, env)).collect::<SqlResult<_>>()?);
            }
        }
    }
    Ok((count, returned))
}

/// Resolves a key conflict by ON CONFLICT; the row written, if any.
async fn conflict(
    plan: &InsertPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    env: &Env<'_>,
    proposed: Vec<Value>,
) -> SqlResult<Option<Vec<Value>>> {
    let OnConflict::Update { sets, filter } = &plan.on_conflict else { return Ok(None) };
    let key: Vec<Value> = plan
        .schema
        .primary_key
        .iter()
        .filter_map(|k| plan.schema.column_index(k).map(|i| proposed[i].clone()))
        .collect();
    let Some(existing) = storage.get(tx, &plan.table.stored, &key).await? else { return Ok(None) };
    let both: Vec<Value> = existing.iter().chain(&proposed).cloned().collect();
    if let Some(f) = filter
        && !f.test(&both, env)?
    {
        return Ok(None);
    }
    let mut row = existing.clone();
    for (i, s) in sets {
        row[*i] = s.eval(&both, env)?;
    }
    let row = finish_row(&plan.schema, &plan.table, row)?;
    write_changed(&plan.schema, &plan.table, storage, tx, &existing, &row).await?;
    Ok(Some(row))
}

/// Replaces `old` by `new`: in place when the key is the same, otherwise
/// as a delete and an insert (which fails if the new key is taken).
async fn write_changed(
    schema: &TableSchema,
    table: &TableName,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    old: &[Value],
    new: &[Value],
) -> SqlResult<()> {
    let key_same = schema
        .primary_key
        .iter()
        .filter_map(|k| schema.column_index(k))
        .all(|i| old[i].sql_cmp(&new[i]) == Some(std::cmp::Ordering::Equal));
    if key_same {
        storage.upsert(tx, &table.stored, new.to_vec()).await?;
    } else {
        storage.delete(tx, &table.stored, &key_filter(schema, old)).await?;
        storage.insert(tx, &table.stored, new.to_vec()).await?;
    }
    Ok(())
}

/// Runs an UPDATE or DELETE; returns the count and RETURNING rows.
pub(crate) async fn modify(
    plan: &ModifyPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    env: &Env<'_>,
    delete: bool,
) -> SqlResult<(u64, Vec<Vec<Value>>)> {
    let rows = from::rows(std::slice::from_ref(&plan.source), storage, tx, env).await?;
    let mut matching = Vec::new();
    for r in rows {
        if plan.filter.as_ref().map_or(Ok(true), |f| f.test(&r, env))? {
            matching.push(r);
        }
    }
    let keyed = !plan.schema.primary_key.is_empty();
    let mut count = 0u64;
    let mut returned = Vec::new();
    // Without a key, identical rows are written once, as a group.
    let mut groups: BTreeMap<SortKey, usize> = BTreeMap::new();
    let mut changes = Vec::with_capacity(matching.len());
    for old in matching {
        let new = if delete {
            old.clone()
        } else {
            let mut new = old.clone();
            for (i, s) in &plan.sets {
                new[*i] = s.eval(&old, env)?;
            }
            finish_row(&plan.schema, &plan.table, new)?
        };
        if let Some((exprs, _)) = &plan.returning {
            let basis = if delete { &old } else { &new };
            returned.push(exprs.iter().map(|e| e.eval(basis, env)).collect::<SqlResult<Vec<_>>>()?);
        }
        count += 1;
        if !keyed {
            let seen = groups.entry(SortKey(old.clone())).or_default();
            *seen += 1;
            if *seen > 1 {
                continue;
            }
        }
        changes.push((old, new));
    }
    for (old, new) in changes {
        match (delete, keyed) {
            (true, true) => {
                storage.delete(tx, &plan.table.stored, &key_filter(&plan.schema, &old)).await?;
            }
            (true, false) => {
                storage.delete(tx, &plan.table.stored, &whole_row_filter(&plan.schema, &old)).await?;
            }
            (false, true) => write_changed(&plan.schema, &plan.table, storage, tx, &old, &new).await?,
            (false, false) => {
                let updates: Vec<Update> =
                    plan.schema.columns.iter().zip(&new).map(|(c, v)| Update::set(c.name.clone(), v.clone())).collect();
                storage.update(tx, &plan.table.stored, &updates, &whole_row_filter(&plan.schema, &old)).await?;
            }
        }
    }
    Ok((count, returned))
}
