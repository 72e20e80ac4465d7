//! Planning INSERT, UPDATE and DELETE.

use orbit_storage::table::TableSchema;
use orbit_storage::{DataType, Value};
use sqlparser::ast::{self, Expr, SelectItem, SetExpr};

use crate::Column;
use crate::catalog::{self, TableName};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::Scalar;
use crate::expr::compile::{Compiler, Scope, ScopeColumn, ident_name};
use crate::query::{self, PlanCtx, QueryPlan, from};

/// Where INSERT's rows come from.
#[derive(Debug, Clone)]
pub(crate) enum InsertSource {
    /// One compiled expression per target column per row.
    Values(Vec<Vec<Scalar>>),
    Query(Box<QueryPlan>),
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

/// Which uniqueness ON CONFLICT covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConflictOn {
    /// Any key or unique index (no conflict target).
    Any,
    /// The primary key.
    Key,
    /// The unique index of this name.
    Index(String),
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
    pub conflict_on: ConflictOn,
    pub returning: Option<(Vec<Scalar>, Vec<Column>)>,
    /// CHECK constraints: name and test over a row of the table.
    pub checks: Vec<(String, Scalar)>,
    /// MySQL: the AUTO_INCREMENT column given values here, and its
    /// sequence, which must move past the largest.
    pub raise_serial: Option<(usize, String)>,
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
    /// CHECK constraints, tested on updated rows.
    pub checks: Vec<(String, Scalar)>,
    pub returning: Option<(Vec<Scalar>, Vec<Column>)>,
}

fn table_scope(qualifier: &str, schema: &TableSchema) -> Scope {
    Scope {
        cols: schema
            .columns
            .iter()
            .map(|c| ScopeColumn {
                table: Some(qualifier.to_string()),
                name: c.name.clone(),
                ty: c.data_type.clone(),
                elem: None,
                qualified_only: false,
            })
            .collect(),
    }
}

fn load(ctx: &PlanCtx<'_>, name: &ast::ObjectName) -> SqlResult<(TableName, TableSchema)> {
    let tn = catalog::table_name(ctx.session, name)?;
    let schema = ctx.schemas.get(&tn.stored).cloned().ok_or_else(|| tn.missing(ctx.session))?;
    Ok((tn, schema))
}

fn returning(
    items: &Option<Vec<SelectItem>>,
    scope: &Scope,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<Option<(Vec<Scalar>, Vec<Column>)>> {
    let Some(items) = items else { return Ok(None) };
    let mut c = Compiler::new(scope, ctx);
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

/// Compiles the table's CHECK constraints over its rows.
pub(crate) fn compile_checks(
    table: &TableName,
    schema: &TableSchema,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<Vec<(String, Scalar)>> {
    let scope = table_scope(&table.short, schema);
    let mut out = Vec::with_capacity(schema.checks.len());
    for c in &schema.checks {
        let expr = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(&c.expr)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| {
                SqlError::new(ErrorCode::Internal, format!("stored check \"{}\" does not parse: {e}", c.name))
            })?;
        let mut inner = PlanCtx::new(ctx.schemas, ctx.session, std::mem::take(&mut ctx.params), &c.expr);
        let r = Compiler::new(&scope, &mut inner).expect(&expr, &DataType::Boolean);
        ctx.params = inner.params;
        out.push((c.name.clone(), r?.0));
    }
    Ok(out)
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
    // The default's text stands in for the statement in error positions.
    let mut inner = PlanCtx::new(ctx.schemas, ctx.session, std::mem::take(&mut ctx.params), text);
    let r = Compiler::new(&empty, &mut inner).expect(&expr, &col.data_type).map(|(s, _)| Some(s));
    ctx.params = inner.params;
    r
}

/// MySQL's `VALUES(c)` in ON DUPLICATE KEY UPDATE: the proposed row's
/// column, which the planner knows as `proposed.c`.
fn values_as_proposed(mut a: ast::Assignment, proposed: &str) -> ast::Assignment {
    struct Rewrite<'a>(&'a str);
    impl ast::VisitorMut for Rewrite<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Function(f) = e
                && f.name.0.len() == 1
                && f.name.0[0].as_ident().is_some_and(|i| i.value.eq_ignore_ascii_case("values"))
                && let ast::FunctionArguments::List(list) = &f.args
                && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Identifier(col)))] =
                    list.args.as_slice()
            {
                *e = Expr::CompoundIdentifier(vec![ast::Ident::with_quote('"', self.0), col.clone()]);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(&mut a.value, &mut Rewrite(proposed));
    a
}

pub(crate) fn plan_insert(ins: &ast::Insert, ctx: &mut PlanCtx<'_>) -> SqlResult<InsertPlan> {
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(SqlError::unsupported("INSERT into a table function"));
    };
    let (table, schema) = load(ctx, name)?;
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
                let mut out = Vec::with_capacity(row.content.len());
                for (e, &ti) in row.content.iter().zip(&targets) {
                    if let Expr::Identifier(i) = e
                        && i.quote_style.is_none()
                        && i.value.eq_ignore_ascii_case("default")
                    {
                        out.push(default_of(&schema.columns[ti], ctx)?.unwrap_or(Scalar::Const(Value::Null)));
                        continue;
                    }
                    out.push(Compiler::new(&empty, ctx).expect(e, &schema.columns[ti].data_type)?.0);
                }
                rows.push(out);
            }
            InsertSource::Values(rows)
        }
        _ => {
            let plan = query::plan_query(src, ctx)?;
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
    // ON CONFLICT sees the existing row and `excluded`, the proposed one
    // (in MySQL also by the row alias of `INSERT ... AS new`).
    let mut scope = table_scope(&table.short, &schema);
    let proposed = match &ins.insert_alias {
        Some(alias) => alias.row_alias.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default(),
        None => "excluded".to_string(),
    };
    scope.cols.extend(table_scope(&proposed, &schema).cols);
    if matches!(ins.on, Some(ast::OnInsert::DuplicateKeyUpdate(_))) {
        for c in &mut scope.cols[schema.columns.len()..] {
            c.qualified_only = true;
        }
    }
    let mut conflict_on = ConflictOn::Any;
    let on_conflict = match &ins.on {
        // MySQL's REPLACE: a row that clashes on any key is replaced whole.
        None if ins.replace_into => OnConflict::Update {
            sets: (0..schema.columns.len()).map(|i| (i, Scalar::Column(schema.columns.len() + i))).collect(),
            filter: None,
        },
        // MySQL's INSERT IGNORE: rows that clash on a key are skipped.
        None if ins.ignore => OnConflict::Nothing,
        None => OnConflict::Error,
        Some(ast::OnInsert::DuplicateKeyUpdate(sets)) => {
            let sets: Vec<ast::Assignment> = sets.iter().cloned().map(|a| values_as_proposed(a, &proposed)).collect();
            OnConflict::Update { sets: assignments(&sets, &schema, &table, &scope, ctx)?, filter: None }
        }
        Some(ast::OnInsert::OnConflict(oc)) => {
            match &oc.conflict_target {
                None => {}
                Some(ast::ConflictTarget::Columns { columns: cols, .. }) => {
                    let mut named: Vec<String> = cols.iter().map(ident_name).collect();
                    named.sort();
                    let same = |cols: &[String]| {
                        let mut c = cols.to_vec();
                        c.sort();
                        c == named
                    };
                    conflict_on = if !schema.primary_key.is_empty() && same(&schema.primary_key) {
                        ConflictOn::Key
                    } else if let Some(ix) = schema.indexes.iter().find(|ix| ix.unique && same(&ix.columns)) {
                        ConflictOn::Index(ix.name.clone())
                    } else {
                        return Err(SqlError::new(
                            ErrorCode::InvalidColumnReference,
                            "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                        ));
                    };
                }
                Some(ast::ConflictTarget::OnConstraint(name)) => {
                    let n = name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
                    conflict_on = if n == format!("{}_pkey", table.short) {
                        ConflictOn::Key
                    } else if schema.indexes.iter().any(|ix| ix.unique && ix.name == n) {
                        ConflictOn::Index(n)
                    } else {
                        return Err(SqlError::new(
                            ErrorCode::UndefinedObject,
                            format!("constraint \"{n}\" for table \"{}\" does not exist", table.short),
                        ));
                    };
                }
            }
            match &oc.action {
                ast::OnConflictAction::DoNothing => OnConflict::Nothing,
                ast::OnConflictAction::DoUpdate(du) => {
                    let sets = assignments(&du.assignments, &schema, &table, &scope, ctx)?;
                    let filter = match &du.selection {
                        Some(w) => Some(Compiler::new(&scope, ctx).expect(w, &DataType::Boolean)?.0),
                        None => None,
                    };
                    OnConflict::Update { sets, filter }
                }
            }
        }
        Some(other) => return Err(SqlError::unsupported(format!("INSERT ... {other}"))),
    };
    let returning = returning(&ins.returning, &table_scope(&table.short, &schema), ctx)?;
    let checks = compile_checks(&table, &schema, ctx)?;
    let raise_serial = if ctx.session.dialect == crate::Dialect::MySql {
        targets.iter().find_map(|&i| {
            let d = schema.columns[i].default.as_deref()?;
            let seq = d.strip_prefix("nextval('")?.strip_suffix("')")?;
            Some((i, seq.to_string()))
        })
    } else {
        None
    };
    Ok(InsertPlan {
        table,
        schema,
        targets,
        source,
        defaults,
        on_conflict,
        conflict_on,
        returning,
        checks,
        raise_serial,
    })
}

fn assignments(
    list: &[ast::Assignment],
    schema: &TableSchema,
    table: &TableName,
    scope: &Scope,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<Vec<(usize, Scalar)>> {
    let mut c = Compiler::new(scope, ctx);
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

pub(crate) fn plan_update(up: &ast::Update, ctx: &mut PlanCtx<'_>) -> SqlResult<ModifyPlan> {
    if up.from.is_some() || !up.table.joins.is_empty() {
        return Err(SqlError::unsupported("UPDATE with FROM or joins"));
    }
    plan_modify(&up.table.relation, &up.selection, &up.assignments, &up.returning, ctx)
}

pub(crate) fn plan_delete(del: &ast::Delete, ctx: &mut PlanCtx<'_>) -> SqlResult<ModifyPlan> {
    let tables = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    let [twj] = tables.as_slice() else { return Err(SqlError::unsupported("DELETE from several tables")) };
    if del.using.is_some() || !twj.joins.is_empty() {
        return Err(SqlError::unsupported("DELETE with USING or joins"));
    }
    plan_modify(&twj.relation, &del.selection, &[], &del.returning, ctx)
}

fn plan_modify(
    relation: &ast::TableFactor,
    selection: &Option<Expr>,
    sets: &[ast::Assignment],
    ret: &Option<Vec<SelectItem>>,
    ctx: &mut PlanCtx<'_>,
) -> SqlResult<ModifyPlan> {
    let mut scope = Scope::default();
    let twj = ast::TableWithJoins { relation: relation.clone(), joins: vec![] };
    let mut sources = from::plan_from(std::slice::from_ref(&twj), &mut scope, ctx)?;
    let filter = match selection {
        Some(w) => {
            let s = Compiler::new(&scope, ctx).condition(w, "WHERE")?;
            from::push_down(&s, &mut sources, &scope);
            Some(s)
        }
        None => None,
    };
    let source = sources.pop().ok_or_else(|| SqlError::syntax("UPDATE or DELETE needs a table"))?;
    if !matches!(source.source, from::SourceKind::Stored) {
        return Err(SqlError::new(
            ErrorCode::UndefinedTable,
            format!("relation \"{}\" is not a table", source.name.short),
        ));
    }
    let table = source.name.clone();
    let schema = source.schema.clone();
    let sets = assignments(sets, &schema, &table, &scope, ctx)?;
    let returning = returning(ret, &scope, ctx)?;
    let checks = if sets.is_empty() { Vec::new() } else { compile_checks(&table, &schema, ctx)? };
    Ok(ModifyPlan { table, schema, source, filter, sets, checks, returning })
}
