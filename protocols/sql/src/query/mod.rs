//! Queries: planning against schemas fetched beforehand (so planning is
//! synchronous and subqueries plan like any query), then execution in two
//! steps: an asynchronous fetch of every stored table's rows
//! ([`fetch`]), and a synchronous pipeline over them ([`run`]).

pub(crate) mod empty;
pub(crate) mod fetch;
pub(crate) mod from;
pub(crate) mod run;

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use orbit_storage::DataType;
use orbit_storage::table::TableSchema;
use sqlparser::ast::{self, Expr, GroupByExpr, LimitClause, OrderByKind, SelectItem, SetExpr};

use crate::Column;
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::Scalar;
use crate::expr::compile::{AggState, Compiler, Scope, ScopeColumn, SessionInfo, ident_name};
use from::Source;

/// Table schemas a statement refers to, by stored name.
pub(crate) type Schemas = HashMap<String, TableSchema>;

/// A planned query: its CTEs, its body, and the columns it returns.
#[derive(Debug, Clone)]
pub(crate) struct QueryPlan {
    pub ctes: Vec<CtePlan>,
    pub body: Body,
    pub columns: Vec<Column>,
}

/// What a query computes.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Select(Box<SelectPlan>),
    SetOp(Box<SetOpPlan>),
    Values(Box<ValuesPlan>),
}

/// `WITH name AS (...)`; a recursive one repeats `step` on the rows the
/// last round added until a round adds none.
#[derive(Debug, Clone)]
pub(crate) struct CtePlan {
    pub name: String,
    pub seed: QueryPlan,
    /// The recursive term, and whether it is UNION ALL.
    pub step: Option<(QueryPlan, bool)>,
}

/// UNION, INTERSECT or EXCEPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOpKind {
    Union,
    Intersect,
    Except,
}

/// A set operation over two queries.
#[derive(Debug, Clone)]
pub(crate) struct SetOpPlan {
    pub op: SetOpKind,
    pub all: bool,
    pub left: QueryPlan,
    pub right: QueryPlan,
    pub finish: Finish,
}

/// `VALUES (...), (...)` as a query.
#[derive(Debug, Clone)]
pub(crate) struct ValuesPlan {
    pub rows: Vec<Vec<Scalar>>,
    pub finish: Finish,
}

/// ORDER BY (on output columns), LIMIT and OFFSET of a query whose body is
/// not a SELECT.
#[derive(Debug, Clone, Default)]
pub(crate) struct Finish {
    pub order: Vec<OrderKey>,
    pub limit: Option<Scalar>,
    pub offset: Option<Scalar>,
}

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
    /// Set-returning functions in the select list.
    pub srfs: Vec<SelectSrf>,
}

/// A set-returning function called in the select list: each input row
/// becomes as many rows as the longest such call returns, the shorter ones
/// padded with NULL (PostgreSQL 10's rule). Call `k`'s value is column
/// `from width + k` of the row the select list sees.
#[derive(Debug, Clone)]
pub(crate) struct SelectSrf {
    pub func: from::SetFunc,
    pub args: Vec<Scalar>,
    pub ty: DataType,
}

/// The name of the column that holds set-returning call `k`'s value;
/// no identifier a client writes can name it.
fn srf_slot(k: usize) -> String {
    format!("\u{1}srf{k}")
}

/// The select list with each set-returning call replaced by a reference to
/// its slot, and the calls, their arguments compiled against `scope`.
/// Calls inside subqueries belong to those subqueries and stay.
fn extract_srfs(
    items: &[SelectItem],
    scope: &Scope,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<(Vec<SelectItem>, Vec<SelectSrf>)> {
    struct Extract<'s, 'c, 'a> {
        scope: &'s Scope,
        ctx: &'c mut PlanCtx<'a>,
        srfs: Vec<SelectSrf>,
        /// Queries entered: calls below the top level are theirs.
        depth: usize,
        /// For each call being visited, how many calls were found before
        /// its arguments: more after them means one is nested in another.
        open: Vec<usize>,
    }
    impl ast::VisitorMut for Extract<'_, '_, '_> {
        type Break = SqlError;
        fn pre_visit_query(&mut self, _q: &mut ast::Query) -> ControlFlow<SqlError> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &mut ast::Query) -> ControlFlow<SqlError> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, x: &mut Expr) -> ControlFlow<SqlError> {
            if self.depth == 0 && select_srf(x).is_some() {
                self.open.push(self.srfs.len());
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, x: &mut Expr) -> ControlFlow<SqlError> {
            if self.depth > 0 {
                return ControlFlow::Continue(());
            }
            let Some((func, exprs)) = select_srf(x) else { return ControlFlow::Continue(()) };
            if self.open.pop() != Some(self.srfs.len()) {
                return ControlFlow::Break(SqlError::unsupported(
                    "a set-returning function in the arguments of another",
                ));
            }
            let mut c = Compiler::new(self.scope, self.ctx);
            let elem = exprs.first().and_then(|a| c.array_element(a));
            let args: SqlResult<Vec<Scalar>> = exprs.iter().map(|a| c.typed(a).map(|(s, _)| s)).collect();
            match args {
                Ok(args) => {
                    let k = self.srfs.len();
                    self.srfs.push(SelectSrf { func, args, ty: func.value_type(elem) });
                    *x = Expr::Identifier(ast::Ident::with_quote('"', srf_slot(k)));
                    ControlFlow::Continue(())
                }
                Err(e) => ControlFlow::Break(e),
            }
        }
    }
    let mut items = items.to_vec();
    let mut v = Extract { scope, ctx, srfs: Vec::new(), depth: 0, open: Vec::new() };
    for item in &mut items {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else { continue };
        if let ControlFlow::Break(err) = ast::VisitMut::visit(e, &mut v) {
            return Err(err);
        }
    }
    Ok((items, v.srfs))
}

/// `unnest(...)`, `generate_series(...)` or `generate_subscripts(...)` as
/// a call, with its arguments.
fn select_srf(e: &Expr) -> Option<(from::SetFunc, Vec<&Expr>)> {
    let Expr::Function(f) = e else { return None };
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let func = from::SetFunc::lookup(&f.name.to_string().to_ascii_lowercase())?;
    let ast::FunctionArguments::List(list) = &f.args else { return None };
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|args| (func, args))
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

/// Planning state for one statement.
#[derive(Debug)]
pub(crate) struct PlanCtx<'a> {
    pub schemas: &'a Schemas,
    pub session: &'a SessionInfo,
    /// Types of `$n` parameters, filled in as their contexts are seen.
    pub params: Vec<Option<DataType>>,
    /// The statement text, to turn parser locations into positions.
    pub sql: &'a str,
    /// CTEs in scope, innermost last, with their columns.
    pub ctes: Vec<(String, Vec<Column>)>,
    /// Scopes of the queries enclosing the subquery being planned.
    pub outer: Vec<Scope>,
    /// Per enclosing level: whether the subquery planned there reads it.
    pub correlated: Vec<bool>,
    /// Parameters that hold arrays (`x = ANY($1)`), with their element
    /// types: their values are arrays' text forms, typed text.
    pub array_params: BTreeMap<usize, DataType>,
    next_id: usize,
}

impl<'a> PlanCtx<'a> {
    pub(crate) fn new(
        schemas: &'a Schemas,
        session: &'a SessionInfo,
        params: Vec<Option<DataType>>,
        sql: &'a str,
    ) -> Self {
        PlanCtx {
            schemas,
            session,
            params,
            sql,
            ctes: Vec::new(),
            outer: Vec::new(),
            correlated: Vec::new(),
            array_params: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// A number unique within the statement (sources, subqueries).
    pub(crate) fn next_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }
}

/// Names the output columns by a CTE's or derived table's column aliases.
fn rename(mut columns: Vec<Column>, aliases: &[ast::TableAliasColumnDef], what: &str) -> SqlResult<Vec<Column>> {
    if aliases.len() > columns.len() {
        return Err(SqlError::new(
            ErrorCode::InvalidParameter,
            format!("{what} has {} columns available but {} columns specified", columns.len(), aliases.len()),
        ));
    }
    for (c, a) in columns.iter_mut().zip(aliases) {
        c.name = ident_name(&a.name);
    }
    Ok(columns)
}

/// Plans a query, with its CTEs, ORDER BY and LIMIT.
pub(crate) fn plan_query(q: &ast::Query, ctx: &mut PlanCtx<'_>) -> SqlResult<QueryPlan> {
    if q.fetch.is_some() || !q.locks.is_empty() {
        return Err(SqlError::unsupported("FETCH and FOR UPDATE/SHARE"));
    }
    let visible = ctx.ctes.len();
    let r = plan_query_in(q, ctx);
    ctx.ctes.truncate(visible);
    r
}

fn plan_query_in(q: &ast::Query, ctx: &mut PlanCtx<'_>) -> SqlResult<QueryPlan> {
    let mut ctes = Vec::new();
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            let recursive_union = match &*cte.query.body {
                SetExpr::SetOperation { op: ast::SetOperator::Union, left, right, set_quantifier }
                    if with.recursive && refers_to(right, &name) =>
                {
                    Some((left, right, matches!(set_quantifier, ast::SetQuantifier::All)))
                }
                _ => None,
            };
            let plan = match recursive_union {
                Some((left, right, all)) => {
                    let seed = plan_set_expr(left, ctx)?;
                    let columns = rename(seed.columns.clone(), &cte.alias.columns, &name)?;
                    ctx.ctes.push((name.clone(), columns.clone()));
                    let step = plan_set_expr(right, ctx)?;
                    if step.columns.len() != columns.len() {
                        return Err(SqlError::syntax("each UNION query must have the same number of columns"));
                    }
                    CtePlan { name, seed: QueryPlan { columns, ..seed }, step: Some((step, all)) }
                }
                None => {
                    let seed = plan_query(&cte.query, ctx)?;
                    let columns = rename(seed.columns.clone(), &cte.alias.columns, &name)?;
                    ctx.ctes.push((name.clone(), columns.clone()));
                    CtePlan { name, seed: QueryPlan { columns, ..seed }, step: None }
                }
            };
            ctes.push(plan);
        }
    }
    let mut plan = match &*q.body {
        SetExpr::Select(s) => {
            let p = plan_select(s, q, ctx)?;
            QueryPlan { ctes: Vec::new(), columns: p.columns.clone(), body: Body::Select(Box::new(p)) }
        }
        SetExpr::Query(inner) if q.order_by.is_none() && q.limit_clause.is_none() => plan_query(inner, ctx)?,
        other => {
            let mut p = plan_set_expr(other, ctx)?;
            let finish = plan_finish(q, &p.columns, ctx)?;
            match &mut p.body {
                Body::SetOp(s) if s.finish.order.is_empty() && s.finish.limit.is_none() => s.finish = finish,
                Body::Values(v) if v.finish.order.is_empty() && v.finish.limit.is_none() => v.finish = finish,
                _ if finish.order.is_empty() && finish.limit.is_none() && finish.offset.is_none() => {}
                _ => return Err(SqlError::unsupported("ORDER BY or LIMIT around a parenthesised query")),
            }
            p
        }
    };
    ctes.append(&mut plan.ctes);
    plan.ctes = ctes;
    Ok(plan)
}

/// Whether `e` reads the table or CTE called `name`.
fn refers_to(e: &SetExpr, name: &str) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_relations(e, |rel| {
        if rel.0.len() == 1 && rel.0[0].as_ident().map(ident_name).as_deref() == Some(name) {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// Plans one side of a set operation (or a whole body that is not a SELECT).
fn plan_set_expr(e: &SetExpr, ctx: &mut PlanCtx<'_>) -> SqlResult<QueryPlan> {
    match e {
        SetExpr::Select(s) => {
            let empty = ast::Query {
                with: None,
                body: Box::new(SetExpr::Values(ast::Values {
                    explicit_row: false,
                    value_keyword: false,
                    rows: vec![],
                })),
                order_by: None,
                limit_clause: None,
                fetch: None,
                locks: vec![],
                for_clause: None,
                settings: None,
                format_clause: None,
                pipe_operators: vec![],
            };
            let p = plan_select(s, &empty, ctx)?;
            Ok(QueryPlan { ctes: Vec::new(), columns: p.columns.clone(), body: Body::Select(Box::new(p)) })
        }
        SetExpr::Query(q) => plan_query(q, ctx),
        SetExpr::SetOperation { op, set_quantifier, left, right } => {
            let op = match op {
                ast::SetOperator::Union => SetOpKind::Union,
                ast::SetOperator::Intersect => SetOpKind::Intersect,
                ast::SetOperator::Except | ast::SetOperator::Minus => SetOpKind::Except,
            };
            let all = match set_quantifier {
                ast::SetQuantifier::All => true,
                ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
                other => return Err(SqlError::unsupported(format!("{op:?} {other}"))),
            };
            let left = plan_set_expr(left, ctx)?;
            let right = plan_set_expr(right, ctx)?;
            if left.columns.len() != right.columns.len() {
                let word = match op {
                    SetOpKind::Union => "UNION",
                    SetOpKind::Intersect => "INTERSECT",
                    SetOpKind::Except => "EXCEPT",
                };
                return Err(SqlError::syntax(format!("each {word} query must have the same number of columns")));
            }
            let mut columns = left.columns.clone();
            for (c, r) in columns.iter_mut().zip(&right.columns) {
                if c.ty != r.ty {
                    if crate::types::is_numeric(&c.ty) && crate::types::is_numeric(&r.ty) {
                        c.ty = crate::types::promote(&c.ty, &r.ty);
                    } else if crate::types::is_text(&c.ty) && crate::types::is_text(&r.ty) {
                        c.ty = DataType::Text;
                    } else {
                        return Err(SqlError::mismatch(format!(
                            "{:?} types {} and {} cannot be matched",
                            op,
                            crate::types::type_label(&c.ty),
                            crate::types::type_label(&r.ty)
                        )));
                    }
                }
            }
            Ok(QueryPlan {
                ctes: Vec::new(),
                columns,
                body: Body::SetOp(Box::new(SetOpPlan { op, all, left, right, finish: Finish::default() })),
            })
        }
        SetExpr::Values(values) => {
            let empty = Scope::default();
            let mut rows = Vec::with_capacity(values.rows.len());
            let mut types: Vec<Option<DataType>> = Vec::new();
            let mut raw = Vec::with_capacity(values.rows.len());
            for row in &values.rows {
                let mut c = Compiler::new(&empty, ctx);
                let mut out = Vec::with_capacity(row.content.len());
                for e in &row.content {
                    out.push(c.expr(e)?);
                }
                if !types.is_empty() && types.len() != out.len() {
                    return Err(SqlError::syntax("VALUES lists must all be the same length"));
                }
                if types.is_empty() {
                    types = vec![None; out.len()];
                }
                for (t, (_, ty)) in types.iter_mut().zip(&out) {
                    if t.is_none() {
                        *t = ty.clone();
                    }
                }
                raw.push(out);
            }
            let types: Vec<DataType> = types.into_iter().map(|t| t.unwrap_or(DataType::Text)).collect();
            for row in raw {
                let mut out = Vec::with_capacity(row.len());
                for ((s, ty), want) in row.into_iter().zip(&types) {
                    out.push(match (s, ty) {
                        (crate::expr::Scalar::Const(orbit_storage::Value::Text(t)), None) => {
                            crate::expr::Scalar::Const(crate::types::parse_text(want, &t)?)
                        }
                        (s, _) => s,
                    });
                }
                rows.push(out);
            }
            let columns =
                types.into_iter().enumerate().map(|(i, ty)| Column { name: format!("column{}", i + 1), ty }).collect();
            Ok(QueryPlan {
                ctes: Vec::new(),
                columns,
                body: Body::Values(Box::new(ValuesPlan { rows, finish: Finish::default() })),
            })
        }
        other => Err(SqlError::unsupported(format!("the query {other}"))),
    }
}

/// ORDER BY and LIMIT of a set operation or VALUES: output columns only.
fn plan_finish(q: &ast::Query, columns: &[Column], ctx: &mut PlanCtx<'_>) -> SqlResult<Finish> {
    let mut order = Vec::new();
    for o in order_exprs(q) {
        let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
        let nulls_first = o.options.nulls_first.unwrap_or(desc);
        let col = output_position(&o.expr, columns)?.ok_or_else(|| {
            SqlError::unsupported(
                "ORDER BY on an expression of a UNION, INTERSECT or EXCEPT result; name an output column",
            )
        })?;
        order.push(OrderKey { col, desc, nulls_first });
    }
    let (limit, offset) = limit_offset(q, ctx)?;
    Ok(Finish { order, limit, offset })
}

/// Plans a SELECT, with the ORDER BY and LIMIT of the query around it.
fn plan_select(select: &ast::Select, q: &ast::Query, ctx: &mut PlanCtx<'_>) -> SqlResult<SelectPlan> {
    let mut scope = Scope::default();
    let mut sources = from::plan_from(&select.from, &mut scope, ctx)?;

    let filter = match &select.selection {
        Some(w) => {
            let s = Compiler::new(&scope, ctx).condition(w, "WHERE")?;
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
            let mut c = Compiler::new(&scope, ctx);
            let (s, t) = c.typed(&g)?;
            agg_state.group_keys.push(g.to_string());
            agg_state.group_types.push(t);
            group.push(s);
        }
    }
    let agg_mode = has_aggs;
    let mut project = Vec::new();
    let mut columns = Vec::new();
    // Set-returning calls in the select list become slots: columns after
    // the FROM row's, filled per output row when the query runs.
    let from_width = scope.cols.len();
    let (projection, srfs) = extract_srfs(&select.projection, &scope, ctx)?;
    if !srfs.is_empty() && agg_mode {
        return Err(SqlError::unsupported("set-returning functions in a query with aggregates"));
    }
    for (k, s) in srfs.iter().enumerate() {
        scope.cols.push(ScopeColumn {
            table: None,
            name: srf_slot(k),
            ty: s.ty.clone(),
            elem: None,
            qualified_only: false,
        });
    }
    {
        let mut c = Compiler { scope: &scope, agg: if agg_mode { Some(&mut agg_state) } else { None }, ctx };
        for (item, written) in projection.iter().zip(&select.projection) {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let (s, t) = c.typed(e)?;
                    // Named as written, not after the slot it now reads.
                    let name = match (written, c.ctx.session.dialect) {
                        (SelectItem::UnnamedExpr(w), crate::Dialect::MySql) => crate::mysql::column_name(w, c.ctx.sql),
                        (SelectItem::UnnamedExpr(w), _) => column_name(w),
                        _ => column_name(e),
                    };
                    columns.push(Column { name, ty: t });
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
                    if from_width == 0 {
                        return Err(SqlError::syntax("SELECT * with no tables specified is not valid"));
                    }
                    let mut any = false;
                    for (i, sc) in scope.cols[..from_width].iter().enumerate() {
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
            let mut c = Compiler { scope: &scope, agg: Some(&mut agg_state), ctx };
            Some(c.condition(h, "HAVING")?)
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
                let mut c = Compiler { scope: &scope, agg: if agg_mode { Some(&mut agg_state) } else { None }, ctx };
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
    let (limit, offset) = limit_offset(q, ctx)?;
    let agg = has_aggs.then_some(AggPlan { group, calls: agg_state.calls, having });
    Ok(SelectPlan { sources, filter, agg, project, columns, distinct, order, limit, offset, srfs })
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

/// Whether `e` calls an aggregate at this query level (not inside a
/// subquery, whose aggregates are its own).
fn contains_aggregate(e: &Expr) -> bool {
    struct Finder {
        depth: usize,
        found: bool,
    }
    impl ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &ast::Query) -> std::ops::ControlFlow<()> {
            self.depth += 1;
            std::ops::ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &ast::Query) -> std::ops::ControlFlow<()> {
            self.depth -= 1;
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, x: &Expr) -> std::ops::ControlFlow<()> {
            if self.depth == 0
                && let Expr::Function(f) = x
                && let Some(n) = f.name.0.last().and_then(|p| p.as_ident())
                && crate::agg::AggFunc::lookup(&ident_name(n)).is_some()
            {
                self.found = true;
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut f = Finder { depth: 0, found: false };
    let _ = ast::Visit::visit(e, &mut f);
    f.found
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
        DataType::InternalChar => "char",
        DataType::Json => "jsonb",
    }
    .into()
}

fn limit_offset(q: &ast::Query, ctx: &mut PlanCtx<'_>) -> SqlResult<(Option<Scalar>, Option<Scalar>)> {
    let empty = Scope::default();
    let mut c = Compiler::new(&empty, ctx);
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
