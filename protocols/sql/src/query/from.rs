//! FROM: tables, joins, and the predicates pushed down into storage scans.

use std::collections::BTreeMap;

use orbit_storage::table::{CmpOp, Filter, TableSchema};
use orbit_storage::{DataType, Value};
use sqlparser::ast::{self, BinaryOperator, Expr, JoinConstraint, JoinOperator, TableFactor};

use crate::catalog::{self, TableName};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::{Compiler, Scope, ScopeColumn, ident_name};
use crate::expr::{BinOp, Env, Scalar};
use crate::key::SortKey;
use crate::query::{PlanCtx, QueryPlan};

/// How a table joins the rows before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    /// The first table, or a comma (cross join).
    Cross,
    Inner,
    Left,
    Right,
    Full,
}

/// Where a FROM item's rows come from.
#[derive(Debug, Clone)]
pub(crate) enum SourceKind {
    /// A stored table, fetched before the pipeline runs.
    Stored,
    /// A CTE in scope, by name.
    Cte(String),
    /// A subquery in FROM.
    Derived(Box<QueryPlan>),
    /// A `pg_catalog` or `information_schema` view (schema, name,
    /// database), built from the real schema when fetched.
    /// The last field is the asking session's pid (`pg_settings` shows
    /// its settings).
    Catalog(String, String, String, i64),
    /// A set-returning function: its rows come from its arguments, which
    /// may name columns of enclosing queries.
    Function(SetFunc, Vec<Scalar>, DataType),
}

/// The set-returning functions, in FROM and in a select list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetFunc {
    /// `unnest(array)`: one row per element.
    Unnest,
    /// `generate_series(start, stop [, step])` over integers.
    GenerateSeries,
    /// `generate_subscripts(array, dim [, reverse])`: the array's subscripts.
    GenerateSubscripts,
}

/// The elements of an array value and its lower bound: `{a,b}` counts from
/// 1, and the catalogs' `int2vector` and `oidvector` (`1 2`) from 0, as in
/// PostgreSQL.
fn array_items(v: &Value) -> SqlResult<(Vec<Option<String>>, i64)> {
    let text = crate::format::cast_text(v);
    if text.trim_start().starts_with('{') {
        return Ok((crate::format::parse_array(&text)?, 1));
    }
    let items: Vec<Option<String>> = text.split_whitespace().map(|t| Some(t.to_string())).collect();
    if items.iter().flatten().all(|t| t.parse::<i64>().is_ok()) {
        Ok((items, 0))
    } else {
        Err(SqlError::new(ErrorCode::InvalidTextRepresentation, format!("malformed array literal: \"{text}\"")))
    }
}

impl SetFunc {
    pub(crate) fn lookup(name: &str) -> Option<SetFunc> {
        match name.strip_prefix("pg_catalog.").unwrap_or(name) {
            "unnest" => Some(SetFunc::Unnest),
            "generate_series" => Some(SetFunc::GenerateSeries),
            "generate_subscripts" => Some(SetFunc::GenerateSubscripts),
            _ => None,
        }
    }

    /// The function's name, which also names its column.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SetFunc::Unnest => "unnest",
            SetFunc::GenerateSeries => "generate_series",
            SetFunc::GenerateSubscripts => "generate_subscripts",
        }
    }

    /// The type of what it returns; `elem` is `unnest`'s element type.
    pub(crate) fn value_type(self, elem: Option<DataType>) -> DataType {
        match self {
            SetFunc::Unnest => elem.unwrap_or(DataType::Text),
            SetFunc::GenerateSeries | SetFunc::GenerateSubscripts => DataType::Integer,
        }
    }

    /// The values for argument values `args`, of type `ty` (from
    /// [`SetFunc::value_type`]).
    pub(crate) fn values(self, args: &[Value], ty: &DataType) -> SqlResult<Vec<Value>> {
        let int = |i: usize, default: i64| match args.get(i) {
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::Null) => Ok(None),
            None => Ok(Some(default)),
            Some(other) => {
                Err(SqlError::mismatch(format!("{} takes integers here, not {}", self.name(), other.kind())))
            }
        };
        match self {
            SetFunc::Unnest => match args.first() {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(v) => array_items(v)?
                    .0
                    .into_iter()
                    .map(|e| match e {
                        None => Ok(Value::Null),
                        Some(t) => crate::types::parse_text(ty, &t),
                    })
                    .collect(),
            },
            SetFunc::GenerateSubscripts => {
                let (Some(array), Some(dim)) = (args.first().filter(|v| !v.is_null()), int(1, 1)?) else {
                    return Ok(Vec::new());
                };
                let reverse = matches!(args.get(2), Some(Value::Bool(true)));
                let (items, lower) = array_items(array)?;
                // Arrays here have one dimension; others have no subscripts.
                if dim != 1 || items.is_empty() {
                    return Ok(Vec::new());
                }
                let mut subs: Vec<Value> = (lower..lower + items.len() as i64).map(Value::Int).collect();
                if reverse {
                    subs.reverse();
                }
                Ok(subs)
            }
            SetFunc::GenerateSeries => {
                let (Some(start), Some(stop), Some(step)) = (int(0, 1)?, int(1, 1)?, int(2, 1)?) else {
                    return Ok(Vec::new());
                };
                if step == 0 {
                    return Err(SqlError::new(ErrorCode::InvalidParameter, "step size cannot equal zero"));
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i <= stop) || (step < 0 && i >= stop) {
                    out.push(Value::Int(i));
                    if out.len() > 100_000_000 {
                        return Err(SqlError::new(ErrorCode::InvalidParameter, "generate_series: too many rows"));
                    }
                    match i.checked_add(step) {
                        Some(n) => i = n,
                        None => break,
                    }
                }
                Ok(out)
            }
        }
    }
}

/// A set-returning function in FROM: `unnest(...)` or `generate_series(...)`,
/// qualified or not, with its name, arguments and alias.
fn set_function(factor: &TableFactor) -> Option<(SetFunc, Vec<&Expr>, Option<&ast::TableAlias>)> {
    match factor {
        TableFactor::Table { name, alias, args: Some(args), .. } => {
            let f = SetFunc::lookup(&name.to_string().to_ascii_lowercase())?;
            let exprs = args
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some((f, exprs, alias.as_ref()))
        }
        TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_ordinality: false, .. }
            if array_exprs.len() == 1 =>
        {
            Some((SetFunc::Unnest, array_exprs.iter().collect(), alias.as_ref()))
        }
        _ => None,
    }
}

/// A table in FROM.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// Unique in the statement; keys the fetched rows.
    pub id: usize,
    pub source: SourceKind,
    pub name: TableName,
    /// The columns (and for stored tables, the key).
    pub schema: TableSchema,
    pub kind: JoinKind,
    /// The ON condition, over the rows so far plus this table's columns.
    pub on: Option<Scalar>,
    /// Equality between a column before and a column of this table, for a
    /// hash join: (left position, right position within this table).
    pub hash_key: Option<(usize, usize)>,
    /// Where this table's columns start in the joined row.
    pub offset: usize,
    /// Comparisons with constants or parameters pushed into the scan.
    pub pushdown: Vec<PushDown>,
}

/// `column op value` handed to storage, which turns key columns into
/// point lookups and range scans.
#[derive(Debug, Clone)]
pub(crate) struct PushDown {
    pub column: String,
    pub op: CmpOp,
    pub value: Scalar,
}

/// Adds the tables of FROM to `scope`, compiling join conditions.
pub(crate) fn plan_from(
    from: &[ast::TableWithJoins],
    scope: &mut Scope,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<Vec<Source>> {
    let mut sources = Vec::new();
    for twj in from {
        add_table(&twj.relation, JoinKind::Cross, None, scope, &mut sources, ctx)?;
        for j in &twj.joins {
            let (kind, constraint) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, Some(c)),
                JoinOperator::FullOuter(c) => (JoinKind::Full, Some(c)),
                JoinOperator::CrossJoin(_) => (JoinKind::Cross, None),
                other => return Err(SqlError::unsupported(format!("the join {other:?}"))),
            };
            let on = match constraint {
                None | Some(JoinConstraint::None) => None,
                Some(JoinConstraint::On(e)) => Some(e.clone()),
                Some(JoinConstraint::Using(cols)) => Some(using_condition(cols, scope, &j.relation)?),
                Some(other) => return Err(SqlError::unsupported(format!("the join constraint {other:?}"))),
            };
            if kind != JoinKind::Cross && on.is_none() {
                return Err(SqlError::syntax("syntax error: JOIN needs ON or USING"));
            }
            add_table(&j.relation, kind, on.as_ref(), scope, &mut sources, ctx)?;
        }
    }
    Ok(sources)
}

/// `JOIN t USING (a, b)` as `left.a = t.a AND left.b = t.b`.
fn using_condition(cols: &[ast::ObjectName], scope: &Scope, right: &TableFactor) -> SqlResult<Expr> {
    let right_name = match right {
        TableFactor::Table { name, alias, .. } => alias
            .as_ref()
            .map(|a| ident_name(&a.name))
            .or_else(|| name.0.last().and_then(|p| p.as_ident()).map(ident_name))
            .unwrap_or_default(),
        TableFactor::Derived { alias: Some(a), .. } => ident_name(&a.name),
        _ => return Err(SqlError::unsupported("USING with this kind of FROM item")),
    };
    let mut cond: Option<Expr> = None;
    for c in cols {
        let col = c.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
        let left_table =
            scope.cols.iter().find(|sc| sc.name == col).and_then(|sc| sc.table.clone()).ok_or_else(|| {
                SqlError::new(
                    ErrorCode::UndefinedColumn,
                    format!("column \"{col}\" specified in USING clause does not exist in left table"),
                )
            })?;
        let eq = Expr::BinaryOp {
            left: Box::new(Expr::CompoundIdentifier(vec![ast::Ident::new(left_table), ast::Ident::new(col.clone())])),
            op: BinaryOperator::Eq,
            right: Box::new(Expr::CompoundIdentifier(vec![ast::Ident::new(right_name.clone()), ast::Ident::new(col)])),
        };
        cond = Some(match cond {
            None => eq,
            Some(c) => Expr::BinaryOp { left: Box::new(c), op: BinaryOperator::And, right: Box::new(eq) },
        });
    }
    cond.ok_or_else(|| SqlError::syntax("USING needs a column"))
}

/// A schema standing for a CTE's or subquery's columns (no key).
fn synthetic_schema(name: &str, columns: &[crate::Column]) -> TableSchema {
    TableSchema::new(
        name,
        columns.iter().map(|c| orbit_storage::table::ColumnDef::new(c.name.clone(), c.ty.clone())).collect(),
        &[],
    )
}

fn add_table(
    factor: &TableFactor,
    kind: JoinKind,
    on: Option<&Expr>,
    scope: &mut Scope,
    sources: &mut Vec<Source>,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<()> {
    let (source, name, schema, qualifier) = match factor {
        TableFactor::Table { name, alias, args: None, .. } => {
            let single = match name.0.as_slice() {
                [p] => p.as_ident().map(ident_name),
                _ => None,
            };
            let cte = single.as_ref().and_then(|n| ctx.ctes.iter().rev().find(|(c, _)| c == n)).cloned();
            let qualifier_of =
                |default: &str| alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or_else(|| default.to_string());
            // The catalog schemas, and pg_catalog names that no user table
            // shadows (pg_catalog is always on the search path).
            let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
            let mysql = ctx.session.dialect == crate::Dialect::MySql;
            let catalog_view = match parts.as_slice() {
                // MySQL's own information_schema, by its own columns.
                [s, n] if mysql && s == "information_schema" => {
                    Some((crate::mysql::INFORMATION_SCHEMA.to_string(), n.clone()))
                }
                [n] if mysql && ctx.session.schema == "information_schema" => {
                    Some((crate::mysql::INFORMATION_SCHEMA.to_string(), n.clone()))
                }
                _ if mysql => None,
                [s, n] if crate::pgcatalog::CATALOG_SCHEMAS.contains(&s.as_str()) => Some((s.clone(), n.clone())),
                [n] if cte.is_none()
                    && crate::pgcatalog::columns("pg_catalog", n).is_some()
                    && !ctx.schemas.contains_key(&format!("{}.public.{n}", ctx.session.database)) =>
                {
                    Some(("pg_catalog".to_string(), n.clone()))
                }
                _ => None,
            };
            if let Some((schema, view)) = catalog_view {
                let columns = if schema == crate::mysql::INFORMATION_SCHEMA {
                    crate::mysql::catalog_columns(&view).ok_or_else(|| {
                        SqlError::new(
                            ErrorCode::UndefinedTable,
                            format!("Table 'information_schema.{view}' doesn't exist"),
                        )
                    })?
                } else {
                    crate::pgcatalog::columns(&schema, &view).ok_or_else(|| {
                        SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{schema}.{view}\" does not exist"))
                    })?
                };
                let tn = TableName { stored: String::new(), short: view.clone() };
                let q = qualifier_of(&view);
                let kind = SourceKind::Catalog(schema, view.clone(), ctx.session.database.clone(), ctx.session.pid);
                (kind, tn, synthetic_schema(&view, &columns), q)
            } else {
                match cte {
                    Some((cte_name, columns)) => {
                        let columns = match alias {
                            Some(a) => rename_columns(columns, &a.columns)?,
                            None => columns,
                        };
                        let tn = TableName { stored: String::new(), short: cte_name.clone() };
                        let schema = synthetic_schema(&cte_name, &columns);
                        (SourceKind::Cte(cte_name.clone()), tn, schema, qualifier_of(&cte_name))
                    }
                    None => {
                        let tn = catalog::table_name(ctx.session, name)?;
                        let schema = ctx.schemas.get(&tn.stored).cloned().ok_or_else(|| tn.missing(ctx.session))?;
                        let q = qualifier_of(&tn.short);
                        (SourceKind::Stored, tn, schema, q)
                    }
                }
            }
        }
        TableFactor::Derived { lateral: false, subquery, alias, sample: None } => {
            let Some(alias) = alias else {
                return Err(SqlError::syntax("subquery in FROM must have an alias"));
            };
            let plan = crate::query::plan_query(subquery, ctx)?;
            let columns = rename_columns(plan.columns.clone(), &alias.columns)?;
            let q = ident_name(&alias.name);
            let tn = TableName { stored: String::new(), short: q.clone() };
            (SourceKind::Derived(Box::new(plan)), tn, synthetic_schema(&q, &columns), q)
        }
        TableFactor::NestedJoin { .. } => return Err(SqlError::unsupported("parenthesised joins")),
        f => {
            let Some((func, exprs, alias)) = set_function(f) else {
                return Err(SqlError::unsupported("this kind of FROM item"));
            };
            // Arguments see enclosing queries' columns, not this FROM's.
            let empty = Scope::default();
            let mut args = Vec::with_capacity(exprs.len());
            let elem = exprs.first().and_then(|e| Compiler::new(&empty, ctx).array_element(e));
            for e in exprs {
                let (s, _) = Compiler::new(&empty, ctx).expr(e)?;
                args.push(s);
            }
            let ty = func.value_type(elem);
            let q = alias.map_or_else(|| func.name().to_string(), |a| ident_name(&a.name));
            // A single-column function's column takes the table alias.
            let col_name = match alias.and_then(|a| a.columns.first()) {
                Some(c) => ident_name(&c.name),
                None => q.clone(),
            };
            let columns = vec![crate::Column { name: col_name, ty: ty.clone() }];
            let tn = TableName { stored: String::new(), short: q.clone() };
            (SourceKind::Function(func, args, ty), tn, synthetic_schema(&q, &columns), q)
        }
    };
    if sources.iter().any(|s: &Source| scope.cols.get(s.offset).and_then(|c| c.table.as_ref()) == Some(&qualifier)) {
        return Err(SqlError::new(
            ErrorCode::DuplicateTable,
            format!("table name \"{qualifier}\" specified more than once"),
        ));
    }
    let offset = scope.cols.len();
    for c in &schema.columns {
        let elem = match &source {
            SourceKind::Catalog(s, v, ..) => crate::pgcatalog::array_element(s, v, &c.name),
            _ => None,
        };
        scope.cols.push(ScopeColumn {
            table: Some(qualifier.clone()),
            name: c.name.clone(),
            ty: c.data_type.clone(),
            elem,
            qualified_only: false,
        });
    }
    let (on, hash_key) = match on {
        Some(e) => {
            let s = Compiler::new(scope, ctx).condition(e, "JOIN/ON")?;
            let key = equi_key(&s, offset, offset + schema.columns.len());
            (Some(s), key)
        }
        None => (None, None),
    };
    let id = ctx.next_id();
    sources.push(Source { id, source, name, schema, kind, on, hash_key, offset, pushdown: Vec::new() });
    Ok(())
}

fn rename_columns(
    mut columns: Vec<crate::Column>,
    aliases: &[ast::TableAliasColumnDef],
) -> SqlResult<Vec<crate::Column>> {
    if aliases.len() > columns.len() {
        return Err(SqlError::new(ErrorCode::InvalidParameter, "more column aliases than columns"));
    }
    for (c, a) in columns.iter_mut().zip(aliases) {
        c.name = ident_name(&a.name);
    }
    Ok(columns)
}

/// The first `left = right` conjunct joining a column before `split` with
/// one of this table's columns (positions `split..end`).
fn equi_key(s: &Scalar, split: usize, end: usize) -> Option<(usize, usize)> {
    match s {
        Scalar::Binary(BinOp::Eq, a, b, _) => match (&**a, &**b) {
            (Scalar::Column(x), Scalar::Column(y)) if *x < split && (split..end).contains(y) => Some((*x, y - split)),
            (Scalar::Column(y), Scalar::Column(x)) if *x < split && (split..end).contains(y) => Some((*x, y - split)),
            _ => None,
        },
        Scalar::Binary(BinOp::And, a, b, _) => equi_key(a, split, end).or_else(|| equi_key(b, split, end)),
        _ => None,
    }
}

/// Splits WHERE into conjuncts and hands each `column op constant` on a
/// table that may be filtered early to that table's scan.
pub(crate) fn push_down(filter: &Scalar, sources: &mut [Source], scope: &Scope) {
    let outer = sources.iter().any(|s| matches!(s.kind, JoinKind::Right | JoinKind::Full));
    let mut conjuncts = Vec::new();
    flatten_and(filter, &mut conjuncts);
    // `c BETWEEN lo AND hi` bounds the scan as `c >= lo AND c <= hi` would.
    let mut comparisons: Vec<(BinOp, &Scalar, &Scalar)> = Vec::new();
    for c in conjuncts {
        match c {
            Scalar::Binary(op, a, b, _) => comparisons.push((*op, a, b)),
            Scalar::Between(e, lo, hi, false) => {
                comparisons.push((BinOp::GtEq, e, lo));
                comparisons.push((BinOp::LtEq, e, hi));
            }
            _ => {}
        }
    }
    for (op, a, b) in comparisons {
        let (col, value, op) = match (a, b) {
            (Scalar::Column(i), v) if fixed(v) => (*i, v, op),
            (v, Scalar::Column(i)) if fixed(v) => (*i, v, flip(op)),
            _ => continue,
        };
        let op = match op {
            BinOp::Eq => CmpOp::Eq,
            BinOp::Lt => CmpOp::Lt,
            BinOp::LtEq => CmpOp::LtEq,
            BinOp::Gt => CmpOp::Gt,
            BinOp::GtEq => CmpOp::GtEq,
            _ => continue,
        };
        let Some(src) = sources.iter_mut().rev().find(|s| s.offset <= col) else { continue };
        // Rows of the inner side of an outer join must not be filtered
        // before the join: the join would pad them back with NULLs.
        if outer || src.kind == JoinKind::Left || !matches!(src.source, SourceKind::Stored) {
            continue;
        }
        let name = scope.cols[col].name.clone();
        src.pushdown.push(PushDown { column: name, op, value: value.clone() });
    }
}

/// Whether `s` has one value for the whole statement: a constant or a
/// parameter, possibly negated or cast (`-$1`, as a statement planned
/// from its shape has where the text said `-5`).
fn fixed(s: &Scalar) -> bool {
    match s {
        Scalar::Const(_) | Scalar::Param(_) => true,
        Scalar::Unary(crate::expr::UnOp::Neg, a) | Scalar::Cast(a, _) => fixed(a),
        _ => false,
    }
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        other => other,
    }
}

fn flatten_and<'a>(s: &'a Scalar, out: &mut Vec<&'a Scalar>) {
    match s {
        Scalar::Binary(BinOp::And, a, b, _) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        other => out.push(other),
    }
}

/// Whether `v` can be compared with `ty`'s stored values by storage (same
/// kind of value, so key encoding applies).
fn storable_as(v: &Value, ty: &DataType) -> bool {
    matches!(
        (v, ty),
        (Value::Int(_), DataType::SmallInt | DataType::Integer | DataType::BigInt)
            | (Value::Float(_), DataType::Real | DataType::Double)
            | (Value::Decimal(_), DataType::Numeric { .. })
            | (Value::Text(_), DataType::Text | DataType::Varchar { .. })
            | (Value::Bool(_), DataType::Boolean)
            | (Value::Bytes(_), DataType::Bytes)
            | (Value::Date(_), DataType::Date)
            | (Value::Time(_), DataType::Time)
            | (Value::Timestamp(_), DataType::Timestamp)
            | (Value::TimestampTz(_), DataType::TimestampTz)
            | (Value::Uuid(_), DataType::Uuid)
    )
}

/// The storage filter for a source's pushed-down comparisons.
pub(crate) fn scan_filter(src: &Source, env: &Env<'_>) -> SqlResult<Filter> {
    let mut parts = Vec::new();
    for p in &src.pushdown {
        let v = p.value.eval(&[], env)?;
        let Some(ty) = src.schema.columns.iter().find(|c| c.name == p.column).map(|c| &c.data_type) else { continue };
        if storable_as(&v, ty) {
            parts.push(Filter::cmp(p.column.clone(), p.op, v));
        } else if v.is_null() {
            // A comparison with NULL is never true.
            return Ok(Filter::Not(Box::new(Filter::All)));
        }
    }
    Ok(match parts.len() {
        0 => Filter::All,
        1 => parts.pop().unwrap_or_default(),
        _ => Filter::And(parts),
    })
}

/// What kind of access storage makes for a source, for EXPLAIN: the key
/// when it narrows the scan, else the index pinning the most leading
/// columns, else a full scan (storage makes the same choice).
pub(crate) fn access_path(src: &Source) -> String {
    let key = &src.schema.primary_key;
    let eq = |k: &String| src.pushdown.iter().any(|p| &p.column == k && p.op == CmpOp::Eq);
    let any = |k: &String| src.pushdown.iter().any(|p| &p.column == k);
    if !key.is_empty() && key.iter().all(eq) {
        return "Point Lookup".into();
    }
    if key.first().is_some_and(any) {
        return "Range Scan".into();
    }
    let pinned = |cols: &[String]| {
        let eqs = cols.iter().take_while(|c| eq(c)).count();
        eqs + usize::from(cols.get(eqs).is_some_and(any))
    };
    match src
        .schema
        .indexes
        .iter()
        .map(|ix| (pinned(&ix.columns), ix))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, ix)| (*n, ix.unique))
    {
        Some((_, ix)) => format!("Index Scan using {}", ix.name),
        None => "Seq Scan".into(),
    }
}

/// Reads the rows of FROM, joined; each row holds every source's columns.
pub(crate) fn rows(sources: &[Source], env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let mut acc: Vec<Vec<Value>> = vec![vec![]];
    for (i, src) in sources.iter().enumerate() {
        let right: Vec<Vec<Value>> = match &src.source {
            SourceKind::Stored => crate::query::run::fetched(env, src.id)?.as_ref().clone(),
            SourceKind::Cte(name) => crate::query::run::cte_rows(env, name)?.as_ref().clone(),
            SourceKind::Catalog(..) => crate::query::run::fetched(env, src.id)?.as_ref().clone(),
            SourceKind::Derived(plan) => crate::query::run::run_query(plan, env)?,
            SourceKind::Function(f, args, ty) => {
                let vals = args.iter().map(|a| a.eval(&[], env)).collect::<SqlResult<Vec<_>>>()?;
                f.values(&vals, ty)?.into_iter().map(|v| vec![v]).collect()
            }
        };
        acc = if i == 0 { right } else { join(acc, right, src, env)? };
    }
    Ok(acc)
}

fn join(left: Vec<Vec<Value>>, right: Vec<Vec<Value>>, src: &Source, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let width_left = src.offset;
    let width_right = src.schema.columns.len();
    let mut out = Vec::new();
    let mut right_matched = vec![false; right.len()];
    let combine = |l: &[Value], r: &[Value]| -> Vec<Value> { l.iter().chain(r).cloned().collect() };
    // Hash join on an equality key; otherwise every pair is tried.
    let index: Option<BTreeMap<SortKey, Vec<usize>>> = src.hash_key.map(|(_, rk)| {
        let mut m: BTreeMap<SortKey, Vec<usize>> = BTreeMap::new();
        for (i, r) in right.iter().enumerate() {
            if !r[rk].is_null() {
                m.entry(SortKey(vec![r[rk].clone()])).or_default().push(i);
            }
        }
        m
    });
    for l in &left {
        let mut matched = false;
        let candidates: Box<dyn Iterator<Item = usize>> = match (&index, src.hash_key) {
            (Some(m), Some((lk, _))) => {
                Box::new(m.get(&SortKey(vec![l[lk].clone()])).cloned().unwrap_or_default().into_iter())
            }
            _ => Box::new(0..right.len()),
        };
        for ri in candidates {
            crate::query::run::tick(env)?;
            let row = combine(l, &right[ri]);
            let ok = match &src.on {
                Some(on) => on.test(&row, env)?,
                None => true,
            };
            if ok {
                matched = true;
                right_matched[ri] = true;
                out.push(row);
            }
        }
        if !matched && matches!(src.kind, JoinKind::Left | JoinKind::Full) {
            out.push(l.iter().cloned().chain(std::iter::repeat_n(Value::Null, width_right)).collect());
        }
    }
    if matches!(src.kind, JoinKind::Right | JoinKind::Full) {
        for (ri, r) in right.iter().enumerate() {
            if !right_matched[ri] {
                out.push(std::iter::repeat_n(Value::Null, width_left).chain(r.iter().cloned()).collect());
            }
        }
    }
    Ok(out)
}
