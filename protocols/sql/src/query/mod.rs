//! SELECT: planning (names, types, aggregates, pushed-down predicates) and
//! execution.

pub(crate) mod from;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use orbit_storage::{DataType, TableStorage, Transaction, Value};
use sqlparser::ast::{self, Expr, GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr};

use crate::Column;
use crate::agg::Acc;
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::{AggState, Compiler, Scope, SessionInfo, ident_name};
use crate::expr::{Env, Scalar};
use crate::key::{SortKey, total_cmp};
use from::Source;

/// A planned SELECT.
#[derive(Debug, Clone)]
pub(crate) struct SelectPlan {
    pub sources: Vec<Source>,
    pub filter: Option<Scalar>,
    pub agg: Option<AggPlan>,
    /// Output expressions; those past `columns.len()` are hidden sort keys.
    pub project: Vec<Scalar>,
    pub columns: Vec<Column>,
    pub distinct: bool,
    pub order: Vec<OrderKey>,
    pub limit: Option<Scalar>,
    pub offset: Option<Scalar>,
}

/// Grouping and aggregation.
#[derive(Debug, Clone)]
pub(crate) struct AggPlan {
    pub group: Vec<Scalar>,
    pub calls: Vec<crate::agg::AggCall>,
    pub having: Option<Scalar>,
}

/// One ORDER BY key: a position in the projected row.
#[derive(Debug, Clone)]
pub(crate) struct OrderKey {
    pub col: usize,
    pub desc: bool,
    pub nulls_first: bool,
}

/// Everything planning needs besides the statement.
#[derive(Debug)]
pub(crate) struct PlanCtx<'a> {
    pub storage: &'a Arc<dyn TableStorage>,
    pub session: &'a SessionInfo,
    pub params: &'a mut Vec<Option<DataType>>,
    pub sql: &'a str,
}

/// Plans a query.
pub(crate) async fn plan_query(q: &ast::Query, ctx: &mut PlanCtx<'_>) -> SqlResult<SelectPlan> {
    if q.with.is_some() {
        return Err(SqlError::unsupported("WITH"));
    }
    if q.fetch.is_some() || !q.locks.is_empty() {
        return Err(SqlError::unsupported("FETCH and FOR UPDATE/SHARE"));
    }
    let select = match &*q.body {
        SetExpr::Select(s) => s,
        SetExpr::Query(inner) if q.order_by.is_none() && q.limit_clause.is_none() => {
            return Box::pin(plan_query(inner, ctx)).await;
        }
        SetExpr::SetOperation { .. } => return Err(SqlError::unsupported("UNION, INTERSECT and EXCEPT")),
        SetExpr::Values(_) => return Err(SqlError::unsupported("VALUES as a query")),
        other => return Err(SqlError::unsupported(format!("the query {other}"))),
    };
    let mut scope = Scope::default();
    let mut sources =
        from::plan_from(&select.from, &ctx.session.database, ctx.storage, &mut scope, ctx.params, ctx.session, ctx.sql)
            .await?;

    let filter = match &select.selection {
        Some(w) => {
            let mut c = Compiler { scope: &scope, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
            let (s, t) = c.expect(w, &DataType::Boolean)?;
            if t != DataType::Boolean {
                return Err(SqlError::mismatch(format!(
                    "argument of WHERE must be type boolean, not type {}",
                    crate::types::type_label(&t)
                )));
            }
            from::push_down(&s, &mut sources, &scope);
            Some(s)
        }
        None => None,
    };

    let group_exprs: Vec<Expr> = match &select.group_by {
        GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => exprs.clone(),
        GroupByExpr::Expressions(..) | GroupByExpr::All(_) => return Err(SqlError::unsupported("GROUP BY modifiers")),
    };
    let has_aggs = !group_exprs.is_empty()
        || select.having.is_some()
        || select.projection.iter().any(|p| match p {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => contains_aggregate(e),
            _ => false,
        })
        || order_exprs(q).iter().any(|o| contains_aggregate(&o.expr));

    // Output column names, so GROUP BY and ORDER BY can refer to them.
    let mut agg_state = AggState::default();
    let mut group = Vec::new();
    if has_aggs {
        for g in &group_exprs {
            let g = resolve_output_ref(g, &select.projection)?;
            let mut c = Compiler { scope: &scope, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
            let (s, t) = c.typed(&g)?;
            agg_state.group_keys.push(g.to_string());
            agg_state.group_types.push(t);
            group.push(s);
        }
    }
    let agg_mode = has_aggs;
    let mut project = Vec::new();
    let mut columns = Vec::new();
    {
        let mut c = Compiler {
            scope: &scope,
            params: ctx.params,
            agg: if agg_mode { Some(&mut agg_state) } else { None },
            session: ctx.session,
            sql: ctx.sql,
        };
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let (s, t) = c.typed(e)?;
                    columns.push(Column { name: column_name(e), ty: t });
                    project.push(s);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let (s, t) = c.typed(expr)?;
                    columns.push(Column { name: ident_name(alias), ty: t });
                    project.push(s);
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    if agg_mode {
                        return Err(SqlError::new(
                            ErrorCode::Grouping,
                            "SELECT * is not allowed with GROUP BY or aggregates",
                        ));
                    }
                    let only = match item {
                        SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _) => {
                            Some(n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default())
                        }
                        SelectItem::QualifiedWildcard(..) => return Err(SqlError::unsupported("this wildcard")),
                        _ => None,
                    };
                    if scope.cols.is_empty() {
                        return Err(SqlError::syntax("SELECT * with no tables specified is not valid"));
                    }
                    let mut any = false;
                    for (i, sc) in scope.cols.iter().enumerate() {
                        if only.as_ref().is_none_or(|t| sc.table.as_ref() == Some(t)) {
                            any = true;
                            project.push(Scalar::Column(i));
                            columns.push(Column { name: sc.name.clone(), ty: sc.ty.clone() });
                        }
                    }
                    if !any {
                        return Err(SqlError::new(
                            ErrorCode::UndefinedTable,
                            format!("missing FROM-clause entry for table \"{}\"", only.unwrap_or_default()),
                        ));
                    }
                }
                SelectItem::ExprWithAliases { .. } => return Err(SqlError::unsupported("multiple aliases")),
            }
        }
    }
    let having = match &select.having {
        Some(h) => {
            let mut c = Compiler {
                scope: &scope,
                params: ctx.params,
                agg: Some(&mut agg_state),
                session: ctx.session,
                sql: ctx.sql,
            };
            let (s, t) = c.expect(h, &DataType::Boolean)?;
            if t != DataType::Boolean {
                return Err(SqlError::mismatch("argument of HAVING must be type boolean"));
            }
            Some(s)
        }
        None => None,
    };

    let mut order = Vec::new();
    for o in order_exprs(q) {
        let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
        let nulls_first = o.options.nulls_first.unwrap_or(desc);
        let col = match output_position(&o.expr, &columns)? {
            Some(i) => i,
            None => {
                let mut c = Compiler {
                    scope: &scope,
                    params: ctx.params,
                    agg: if agg_mode { Some(&mut agg_state) } else { None },
                    session: ctx.session,
                    sql: ctx.sql,
                };
                let (s, _) = c.typed(&o.expr)?;
                project.push(s);
                project.len() - 1
            }
        };
        order.push(OrderKey { col, desc, nulls_first });
    }
    let distinct = match &select.distinct {
        None | Some(ast::Distinct::All) => false,
        Some(ast::Distinct::Distinct) => true,
        Some(ast::Distinct::On(_)) => return Err(SqlError::unsupported("DISTINCT ON")),
    };
    if distinct && project.len() > columns.len() {
        return Err(SqlError::new(
            ErrorCode::InvalidParameter,
            "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
        ));
    }
    let (limit, offset) = limit_offset(q, &scope, ctx)?;
    let agg = has_aggs.then_some(AggPlan { group, calls: agg_state.calls, having });
    Ok(SelectPlan { sources, filter, agg, project, columns, distinct, order, limit, offset })
}

fn order_exprs(q: &ast::Query) -> Vec<ast::OrderByExpr> {
    match &q.order_by {
        Some(ast::OrderBy { kind: OrderByKind::Expressions(e), .. }) => e.clone(),
        _ => Vec::new(),
    }
}

/// `ORDER BY 2` or `ORDER BY alias`: the output column meant.
fn output_position(e: &Expr, columns: &[Column]) -> SqlResult<Option<usize>> {
    match e {
        Expr::Value(v) => {
            if let ast::Value::Number(n, _) = &v.value {
                let k: usize = n.parse().unwrap_or(0);
                if k == 0 || k > columns.len() {
                    return Err(SqlError::new(
                        ErrorCode::InvalidParameter,
                        format!("ORDER BY position {n} is not in select list"),
                    ));
                }
                return Ok(Some(k - 1));
            }
            Ok(None)
        }
        Expr::Identifier(i) => {
            let name = ident_name(i);
            let hits: Vec<usize> = columns.iter().enumerate().filter(|(_, c)| c.name == name).map(|(i, _)| i).collect();
            Ok(if hits.len() == 1 { Some(hits[0]) } else { None })
        }
        _ => Ok(None),
    }
}

/// `GROUP BY 1` or `GROUP BY alias` refer to the output expression.
fn resolve_output_ref(g: &Expr, projection: &[SelectItem]) -> SqlResult<Expr> {
    let exprs: Vec<(&Expr, Option<String>)> = projection
        .iter()
        .filter_map(|p| match p {
            SelectItem::UnnamedExpr(e) => Some((e, None)),
            SelectItem::ExprWithAlias { expr, alias } => Some((expr, Some(ident_name(alias)))),
            _ => None,
        })
        .collect();
    match g {
        Expr::Value(v) => {
            if let ast::Value::Number(n, _) = &v.value {
                let k: usize = n.parse().unwrap_or(0);
                return exprs.get(k.wrapping_sub(1)).map(|(e, _)| (*e).clone()).ok_or_else(|| {
                    SqlError::new(ErrorCode::InvalidParameter, format!("GROUP BY position {n} is not in select list"))
                });
            }
            Ok(g.clone())
        }
        Expr::Identifier(i) => {
            let name = ident_name(i);
            Ok(exprs.iter().find(|(_, a)| a.as_deref() == Some(&name)).map_or_else(|| g.clone(), |(e, _)| (*e).clone()))
        }
        _ => Ok(g.clone()),
    }
}

fn contains_aggregate(e: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if let Expr::Function(f) = x
            && let Some(n) = f.name.0.last().and_then(|p| p.as_ident())
            && crate::agg::AggFunc::lookup(&ident_name(n)).is_some()
        {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// The column name PostgreSQL gives an output expression.
pub(crate) fn column_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => ident_name(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
        Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default(),
        Expr::Cast { expr, data_type, .. } => match &**expr {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Function(_) => column_name(expr),
            _ => crate::types::from_ast(data_type).map(|t| pg_type_name(&t)).unwrap_or_else(|_| "?column?".into()),
        },
        Expr::Nested(inner) => column_name(inner),
        Expr::Case { .. } => "case".into(),
        Expr::Extract { .. } => "extract".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Trim { .. } => "btrim".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::Exists { .. } => "exists".into(),
        _ => "?column?".into(),
    }
}

/// The name PostgreSQL gives a cast's output column.
fn pg_type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "bool",
        DataType::SmallInt => "int2",
        DataType::Integer => "int4",
        DataType::BigInt => "int8",
        DataType::Real => "float4",
        DataType::Double => "float8",
        DataType::Numeric { .. } => "numeric",
        DataType::Text => "text",
        DataType::Varchar { .. } => "varchar",
        DataType::Char { .. } => "bpchar",
        DataType::Bytes => "bytea",
        DataType::Date => "date",
        DataType::Time => "time",
        DataType::Timestamp => "timestamp",
        DataType::TimestampTz => "timestamptz",
        DataType::Interval => "interval",
        DataType::Uuid => "uuid",
        DataType::Json => "jsonb",
    }
    .into()
}

fn limit_offset(q: &ast::Query, scope: &Scope, ctx: &mut PlanCtx<'_>) -> SqlResult<(Option<Scalar>, Option<Scalar>)> {
    let empty = Scope::default();
    let _ = scope;
    let mut c = Compiler { scope: &empty, params: ctx.params, agg: None, session: ctx.session, sql: ctx.sql };
    let mut one = |e: &Expr| -> SqlResult<Scalar> { Ok(c.expect(e, &DataType::BigInt)?.0) };
    Ok(match &q.limit_clause {
        None => (None, None),
        Some(LimitClause::LimitOffset { limit, offset, limit_by }) => {
            if !limit_by.is_empty() {
                return Err(SqlError::unsupported("LIMIT BY"));
            }
            let l = match limit {
                Some(e) => Some(one(e)?),
                None => None,
            };
            let o = match offset {
                Some(o) => Some(one(&o.value)?),
                None => None,
            };
            (l, o)
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(one(limit)?), Some(one(offset)?)),
    })
}

fn count_arg(s: &Option<Scalar>, env: &Env<'_>, what: &str) -> SqlResult<Option<usize>> {
    let Some(s) = s else { return Ok(None) };
    match s.eval(&[], env)? {
        Value::Null => Ok(None),
        Value::Int(n) if n >= 0 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        Value::Int(_) => Err(SqlError::new(ErrorCode::InvalidParameter, format!("{what} must not be negative"))),
        other => Err(SqlError::mismatch(format!("argument of {what} must be type bigint, not {}", other.kind()))),
    }
}

/// Runs a planned SELECT.
pub(crate) async fn execute(
    plan: &SelectPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    env: &Env<'_>,
) -> SqlResult<Vec<Vec<Value>>> {
    let input =
        if plan.sources.is_empty() { vec![vec![]] } else { from::rows(&plan.sources, storage, tx, env).await? };
    let mut rows = Vec::new();
    for r in input {
        if let Some(f) = &plan.filter
            && !f.test(&r, env)?
        {
            continue;
        }
        rows.push(r);
    }
    let rows = match &plan.agg {
        Some(agg) => aggregate(agg, rows, env)?,
        None => rows,
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut o = Vec::with_capacity(plan.project.len());
        for p in &plan.project {
            o.push(p.eval(r, env)?);
        }
        out.push(o);
    }
    if plan.distinct {
        let mut seen = BTreeSet::new();
        out.retain(|r| seen.insert(SortKey(r.clone())));
    }
    if !plan.order.is_empty() {
        out.sort_by(|a, b| {
            for k in &plan.order {
                let (x, y) = (&a[k.col], &b[k.col]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if k.nulls_first {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if k.nulls_first {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    _ => {
                        let o = total_cmp(x, y);
                        if k.desc { o.reverse() } else { o }
                    }
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let offset = count_arg(&plan.offset, env, "OFFSET")?.unwrap_or(0);
    let limit = count_arg(&plan.limit, env, "LIMIT")?;
    let visible = plan.columns.len();
    Ok(out
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|mut r| {
            r.truncate(visible);
            r
        })
        .collect())
}

/// Groups rows and computes aggregates; each result row holds the group
/// values and then the aggregates.
fn aggregate(agg: &AggPlan, rows: Vec<Vec<Value>>, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let mut groups: BTreeMap<SortKey, Vec<Acc>> = BTreeMap::new();
    for r in &rows {
        let key = agg.group.iter().map(|g| g.eval(r, env)).collect::<SqlResult<Vec<_>>>()?;
        let accs = groups.entry(SortKey(key)).or_insert_with(|| agg.calls.iter().map(|c| c.start()).collect());
        for (acc, call) in accs.iter_mut().zip(&agg.calls) {
            acc.add(call, r, env)?;
        }
    }
    // Aggregates without GROUP BY give one row even over no rows.
    if groups.is_empty() && agg.group.is_empty() {
        groups.insert(SortKey(vec![]), agg.calls.iter().map(|c| c.start()).collect());
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, accs) in groups {
        let mut row = key.0;
        for (acc, call) in accs.into_iter().zip(&agg.calls) {
            row.push(acc.finish(call)?);
        }
        if let Some(h) = &agg.having
            && !h.test(&row, env)?
        {
            continue;
        }
        out.push(row);
    }
    Ok(out)
}
