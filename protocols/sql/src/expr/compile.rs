//! From the parser's expressions to [`Scalar`]: names resolved, types
//! checked, literals of unknown type read as the type their context wants,
//! and parameter types inferred.

use orbit_storage::{DataType, Value};
use sqlparser::ast::{self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator};

use super::{BinOp, Func, Scalar, Subquery, SubqueryKind, UnOp, ops};
use crate::agg::{AggCall, AggFunc};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::query::PlanCtx;
use crate::types;

/// A type, or `None` for a literal or parameter whose type its context
/// decides (PostgreSQL's `unknown`).
pub(crate) type Ty = Option<DataType>;

/// One column visible to expressions.
#[derive(Debug, Clone)]
pub(crate) struct ScopeColumn {
    /// The table name or alias that qualifies it.
    pub table: Option<String>,
    pub name: String,
    pub ty: DataType,
    /// For an array column (arrays travel as text), its element type where
    /// known: the catalogs' `int2vector` and `oidvector` columns.
    pub elem: Option<DataType>,
    /// Reached only by a qualified name: MySQL's proposed row in ON
    /// DUPLICATE KEY UPDATE, where a bare name means the existing row.
    pub qualified_only: bool,
}

/// The columns of the rows an expression is evaluated on, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub cols: Vec<ScopeColumn>,
}

impl Scope {
    /// The position of `parts` (`col` or `table.col`).
    fn resolve(&self, parts: &[String]) -> Result<usize, SqlError> {
        let (table, name) = match parts {
            [name] => (None, name),
            [.., table, name] => (Some(table), name),
            [] => return Err(SqlError::syntax("empty column reference")),
        };
        let mut hits = self.cols.iter().enumerate().filter(|(_, c)| {
            &c.name == name
                && match table {
                    None => !c.qualified_only,
                    Some(t) => c.table.as_ref() == Some(t),
                }
        });
        let Some((i, _)) = hits.next() else {
            let shown = parts.join(".");
            if let Some(t) = table
                && !self.cols.iter().any(|c| c.table.as_ref() == Some(t))
            {
                return Err(SqlError::new(
                    ErrorCode::UndefinedTable,
                    format!("missing FROM-clause entry for table \"{t}\""),
                ));
            }
            return Err(SqlError::new(ErrorCode::UndefinedColumn, format!("column \"{shown}\" does not exist")));
        };
        if hits.next().is_some() {
            return Err(SqlError::new(
                ErrorCode::AmbiguousColumn,
                format!("column reference \"{}\" is ambiguous", parts.join(".")),
            ));
        }
        Ok(i)
    }
}

/// Session facts that some functions read.
#[derive(Debug, Clone)]
pub(crate) struct SessionInfo {
    pub database: String,
    /// Whose SQL the session speaks.
    pub dialect: crate::Dialect,
    /// The schema unqualified names resolve in: `public` in PostgreSQL;
    /// in MySQL, the database `USE` chose (empty before any).
    pub schema: String,
    /// MySQL's system and user variables, as `@@x` and `@x` read them.
    pub vars: std::sync::Arc<std::collections::BTreeMap<String, String>>,
    pub user: String,
    /// The session's process id (`pg_backend_pid()`, `pg_stat_activity`).
    pub pid: i64,
}

/// Aggregation being compiled: expressions see the grouped row, which holds
/// the GROUP BY values and then one value per aggregate call.
#[derive(Debug, Default)]
pub(crate) struct AggState {
    /// GROUP BY expressions as written, to recognise them in the output.
    pub group_keys: Vec<String>,
    pub group_types: Vec<DataType>,
    /// Aggregate calls found so far; their arguments see the input row.
    pub calls: Vec<AggCall>,
}

/// The comparison operators (`= <> < <= > >=`), as used both alone and
/// with ANY/ALL.
fn comparison(op: &BinaryOperator) -> Option<BinOp> {
    Some(match op {
        BinaryOperator::Eq => BinOp::Eq,
        BinaryOperator::NotEq => BinOp::NotEq,
        BinaryOperator::Lt => BinOp::Lt,
        BinaryOperator::LtEq => BinOp::LtEq,
        BinaryOperator::Gt => BinOp::Gt,
        BinaryOperator::GtEq => BinOp::GtEq,
        _ => return None,
    })
}

/// Folds an identifier as PostgreSQL does: unquoted names are lower case.
pub(crate) fn ident_name(i: &ast::Ident) -> String {
    // MySQL's backticks only delimit: names are folded as if unquoted, as
    // MySQL does with lower_case_table_names = 1.
    match i.quote_style {
        Some('`') | None => i.value.to_lowercase(),
        Some(_) => i.value.clone(),
    }
}

/// Compiles the expressions of one query level: `scope` is what its
/// columns resolve against; the planning context carries parameter types,
/// visible CTEs and the scopes of enclosing queries.
#[derive(Debug)]
pub(crate) struct Compiler<'c, 'a> {
    pub scope: &'c Scope,
    pub agg: Option<&'c mut AggState>,
    pub ctx: &'c mut PlanCtx<'a>,
}

impl<'c, 'a> Compiler<'c, 'a> {
    /// A compiler for plain (not aggregated) expressions over `scope`.
    pub(crate) fn new(scope: &'c Scope, ctx: &'c mut PlanCtx<'a>) -> Self {
        Compiler { scope, agg: None, ctx }
    }

    /// The oid that `name` cast to `kind` (regclass, regtype or
    /// regnamespace) stands for. Oids here are derived from names, so a
    /// relation's is its stored name's (see `pgcatalog::oid_of`).
    fn reg_oid(&self, kind: &str, name: &str) -> SqlResult<i64> {
        match kind {
            "regtype" => crate::pgcatalog::type_oid_by_name(name)
                .ok_or_else(|| SqlError::new(ErrorCode::UndefinedObject, format!("type \"{name}\" does not exist"))),
            "regnamespace" => Ok(crate::pgcatalog::oid_of(name.trim_matches('"'))),
            _ => {
                let parts: Vec<ast::Ident> = name
                    .split('.')
                    .map(|p| match p.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                        Some(quoted) => ast::Ident::with_quote('"', quoted),
                        None => ast::Ident::new(p),
                    })
                    .collect();
                let t = crate::catalog::table_name(self.ctx.session, &ast::ObjectName::from(parts))?;
                Ok(crate::pgcatalog::relation_oid(&t.stored))
            }
        }
    }

    /// The character position of a parser location (1-based).
    fn position(&self, loc: sqlparser::tokenizer::Location) -> Option<usize> {
        if loc.line == 0 {
            return None;
        }
        let mut pos = 0usize;
        for (i, line) in self.ctx.sql.split('\n').enumerate() {
            if i + 1 == loc.line as usize {
                return Some(pos + loc.column as usize);
            }
            pos += line.chars().count() + 1;
        }
        None
    }

    /// The element type of array expression `e`, where it shows: a cast to
    /// `T[]`, or a catalog column of a known array type. Arrays are text
    /// values, so this is all that types what `unnest` returns.
    pub(crate) fn array_element(&self, e: &Expr) -> Option<DataType> {
        match e {
            Expr::Nested(inner) => self.array_element(inner),
            Expr::Cast {
                data_type:
                    ast::DataType::Array(
                        ast::ArrayElemTypeDef::AngleBracket(t)
                        | ast::ArrayElemTypeDef::SquareBracket(t, _)
                        | ast::ArrayElemTypeDef::Parenthesis(t)
                        | ast::ArrayElemTypeDef::ParenthesisNotNull(t),
                    ),
                ..
            } => types::from_ast(t).ok(),
            Expr::Identifier(i) => {
                self.scope.resolve(&[ident_name(i)]).ok().and_then(|c| self.scope.cols[c].elem.clone())
            }
            Expr::CompoundIdentifier(parts) => {
                let names: Vec<String> = parts.iter().map(ident_name).collect();
                self.scope.resolve(&names).ok().and_then(|c| self.scope.cols[c].elem.clone())
            }
            _ => None,
        }
    }

    /// Compiles `e` and settles an unknown type as text.
    pub(crate) fn typed(&mut self, e: &Expr) -> SqlResult<(Scalar, DataType)> {
        let (s, t) = self.expr(e)?;
        match t {
            Some(t) => Ok((s, t)),
            None => Ok((self.settle(s, &DataType::Text)?, DataType::Text)),
        }
    }

    /// Compiles `e` as a value for a place of type `want`.
    pub(crate) fn expect(&mut self, e: &Expr, want: &DataType) -> SqlResult<(Scalar, DataType)> {
        let (s, t) = self.expr(e)?;
        match t {
            Some(t) => Ok((s, t)),
            None => Ok((self.settle(s, want)?, want.clone())),
        }
    }

    /// Gives an unknown-typed scalar the type `t`: literals are read now,
    /// parameters take the type.
    fn settle(&mut self, s: Scalar, t: &DataType) -> SqlResult<Scalar> {
        Ok(match s {
            Scalar::Const(Value::Text(text)) => Scalar::Const(types::parse_text(t, &text)?),
            Scalar::Param(i) => {
                if let Some(slot) = self.ctx.params.get_mut(i)
                    && slot.is_none()
                {
                    *slot = Some(t.clone());
                }
                Scalar::Param(i)
            }
            other => other,
        })
    }

    pub(crate) fn expr(&mut self, e: &Expr) -> SqlResult<(Scalar, Ty)> {
        if self.agg.is_some()
            && let Some(r) = self.grouped(e)?
        {
            return Ok(r);
        }
        match e {
            Expr::Identifier(i) => self.column(std::slice::from_ref(i)),
            Expr::CompoundIdentifier(parts) => self.column(parts),
            Expr::Value(v) => self.literal(&v.value),
            Expr::Nested(inner) => self.expr(inner),
            Expr::UnaryOp { op, expr } => {
                let (s, t) = self.expr(expr)?;
                match op {
                    UnaryOperator::Plus => Ok((s, t)),
                    UnaryOperator::Minus => {
                        let t = t.unwrap_or(DataType::Double);
                        let s = self.settle(s, &t)?;
                        if !types::is_numeric(&t) && t != DataType::Interval {
                            return Err(SqlError::new(
                                ErrorCode::UndefinedFunction,
                                format!("operator does not exist: - {}", types::type_label(&t)),
                            ));
                        }
                        Ok((fold(Scalar::Unary(UnOp::Neg, Box::new(s))), Some(t)))
                    }
                    UnaryOperator::Not => {
                        let s = self.boolean(s, t, "NOT")?;
                        Ok((Scalar::Unary(UnOp::Not, Box::new(s)), Some(DataType::Boolean)))
                    }
                    other => Err(SqlError::unsupported(format!("operator {other}"))),
                }
            }
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right),
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                let (s, _) = self.expr(x)?;
                Ok((Scalar::IsNull(Box::new(s), matches!(e, Expr::IsNotNull(_))), Some(DataType::Boolean)))
            }
            Expr::IsTrue(x) | Expr::IsNotTrue(x) | Expr::IsFalse(x) | Expr::IsNotFalse(x) => {
                let (s, t) = self.expr(x)?;
                let s = self.boolean(s, t, "IS")?;
                let want = matches!(e, Expr::IsTrue(_) | Expr::IsNotTrue(_));
                let negated = matches!(e, Expr::IsNotTrue(_) | Expr::IsNotFalse(_));
                Ok((Scalar::IsBool(Box::new(s), want, negated), Some(DataType::Boolean)))
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (l, r, _) = self.pair(a, b)?;
                let negated = matches!(e, Expr::IsNotDistinctFrom(..));
                Ok((Scalar::Distinct(Box::new(l), Box::new(r), negated), Some(DataType::Boolean)))
            }
            Expr::In { expr, target: ast::InTarget::Subquery(q), negated, .. } => {
                let (s, t) = self.expr(expr)?;
                let sub = self.subquery(q, 1)?;
                let col_ty = sub.plan.columns[0].ty.clone();
                let ty = t.clone().unwrap_or(col_ty.clone());
                ops::result_type(BinOp::Eq, &ty, &col_ty)?;
                let s = self.settle(s, &ty)?;
                Ok((
                    Scalar::Subquery(Box::new(Subquery { kind: SubqueryKind::In(s, *negated), ..sub })),
                    Some(DataType::Boolean),
                ))
            }
            Expr::In { expr, target, negated, .. } => {
                let ast::InTarget::List(list) = target else {
                    return Err(SqlError::unsupported("IN with this target"));
                };
                let (s, t) = self.expr(expr)?;
                let mut ty = t;
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    let (is, it) = self.expr(item)?;
                    if ty.is_none() {
                        ty = it.clone();
                    }
                    items.push((is, it));
                }
                let ty = ty.unwrap_or(DataType::Text);
                let s = self.settle(s, &ty)?;
                let mut out = Vec::with_capacity(items.len());
                for (is, it) in items {
                    if let Some(it) = &it {
                        ops::result_type(BinOp::Eq, &ty, it)?;
                    }
                    out.push(self.settle(is, &ty)?);
                }
                Ok((Scalar::InList(Box::new(s), out, *negated), Some(DataType::Boolean)))
            }
            Expr::Between { expr, negated, low, high } => {
                let (s, lo, t) = self.pair(expr, low)?;
                let (hi, ht) = self.expr(high)?;
                let hi = self.settle(hi, &t)?;
                if let Some(ht) = ht {
                    ops::result_type(BinOp::LtEq, &t, &ht)?;
                }
                Ok((Scalar::Between(Box::new(s), Box::new(lo), Box::new(hi), *negated), Some(DataType::Boolean)))
            }
            Expr::Like { negated, any: false, expr, pattern, escape_char: None }
            | Expr::ILike { negated, any: false, expr, pattern, escape_char: None } => {
                let (s, _) = self.expect(expr, &DataType::Text)?;
                let (p, _) = self.expect(pattern, &DataType::Text)?;
                Ok((
                    Scalar::Like {
                        expr: Box::new(s),
                        pattern: Box::new(p),
                        case_insensitive: matches!(e, Expr::ILike { .. }),
                        negated: *negated,
                    },
                    Some(DataType::Boolean),
                ))
            }
            Expr::Case { operand, conditions, else_result, .. } => {
                self.case(operand.as_deref(), conditions, else_result.as_deref())
            }
            Expr::Cast { expr, data_type, format: None, .. }
                if types::reg_type(data_type).is_some() && matches!(**expr, Expr::Value(_)) =>
            {
                let (s, _) = self.expr(expr)?;
                let kind = types::reg_type(data_type).unwrap_or("regclass");
                match s {
                    // Functions are named, not numbered, here (pg_type's
                    // typinput holds names): a regproc is its name.
                    Scalar::Const(Value::Text(name)) if kind == "regproc" => {
                        let name = name.strip_prefix("pg_catalog.").unwrap_or(&name).to_string();
                        Ok((Scalar::Const(Value::Text(name)), Some(DataType::Text)))
                    }
                    Scalar::Const(Value::Text(name)) => {
                        Ok((Scalar::Const(Value::Int(self.reg_oid(kind, &name)?)), Some(DataType::Integer)))
                    }
                    Scalar::Const(v @ (Value::Int(_) | Value::Null)) => Ok((Scalar::Const(v), Some(DataType::Integer))),
                    _ => Err(SqlError::new(
                        ErrorCode::InvalidTextRepresentation,
                        format!("invalid input syntax for type {kind}"),
                    )),
                }
            }
            // Collations other than the default order differently, which
            // is not built: refuse rather than sort by the wrong rules.
            Expr::Collate { expr, collation } => {
                let name = collation.to_string().to_ascii_lowercase().replace('"', "");
                match name.as_str() {
                    "default" | "pg_catalog.default" | "c" | "pg_catalog.c" | "posix" | "pg_catalog.posix" => {
                        self.expr(expr)
                    }
                    other => Err(SqlError::unsupported(format!("collation \"{other}\""))),
                }
            }
            Expr::Cast { expr, data_type, format: None, .. } => {
                let target = match self.ctx.session.dialect {
                    crate::Dialect::MySql => crate::mysql::cast_type(data_type)?,
                    crate::Dialect::Postgres => types::from_ast(data_type)?,
                };
                let (s, t) = self.expr(expr)?;
                let s = match (s, t) {
                    (Scalar::Const(Value::Text(text)), None) => Scalar::Const(types::parse_text(&target, &text)?),
                    (Scalar::Param(i), None) => self.settle(Scalar::Param(i), &target)?,
                    (s, _) => fold(Scalar::Cast(Box::new(s), target.clone())),
                };
                Ok((s, Some(target)))
            }
            Expr::TypedString(ts) => {
                let target = types::from_ast(&ts.data_type)?;
                let text =
                    string_literal(&ts.value.value).ok_or_else(|| SqlError::syntax("expected a string literal"))?;
                Ok((Scalar::Const(types::parse_text(&target, &text)?), Some(target)))
            }
            Expr::Function(f) => self.function(f),
            Expr::Extract { field, expr, .. } => {
                let (s, _) = self.typed(expr)?;
                let field = Scalar::Const(Value::Text(field.to_string().to_lowercase()));
                Ok((Scalar::Func(Func::DatePart, vec![field, s]), Some(DataType::Double)))
            }
            Expr::Substring { expr, substring_from, substring_for, .. } => {
                let (s, _) = self.expect(expr, &DataType::Text)?;
                let mut args = vec![s];
                let from = match substring_from {
                    Some(f) => self.expect(f, &DataType::Integer)?.0,
                    None => Scalar::Const(Value::Int(1)),
                };
                args.push(from);
                if let Some(f) = substring_for {
                    args.push(self.expect(f, &DataType::Integer)?.0);
                }
                Ok((Scalar::Func(Func::Substr, args), Some(DataType::Text)))
            }
            Expr::Trim { expr, trim_where, trim_what, trim_characters: None } => {
                let f = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::LTrim,
                    Some(ast::TrimWhereField::Trailing) => Func::RTrim,
                    _ => Func::Trim,
                };
                let mut args = vec![self.expect(expr, &DataType::Text)?.0];
                if let Some(w) = trim_what {
                    args.push(self.expect(w, &DataType::Text)?.0);
                }
                Ok((Scalar::Func(f, args), Some(DataType::Text)))
            }
            Expr::Position { expr, r#in } => {
                let needle = self.expect(expr, &DataType::Text)?.0;
                let hay = self.expect(r#in, &DataType::Text)?.0;
                Ok((Scalar::Func(Func::StrPos, vec![hay, needle]), Some(DataType::Integer)))
            }
            Expr::Ceil { expr, field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) }
            | Expr::Floor { expr, field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) } => {
                let (s, t) = self.expect(expr, &DataType::Double)?;
                let f = if matches!(e, Expr::Ceil { .. }) { Func::Ceil } else { Func::Floor };
                Ok((Scalar::Func(f, vec![s]), Some(t)))
            }
            Expr::Interval(iv) => {
                let (s, _) = self.expr(&iv.value)?;
                // MySQL writes the amount as a number: `INTERVAL 1 MONTH`.
                let text = match s {
                    Scalar::Const(Value::Text(text)) => text,
                    Scalar::Const(Value::Int(n)) if iv.leading_field.is_some() => n.to_string(),
                    _ => return Err(SqlError::unsupported("INTERVAL with a non-literal value")),
                };
                let text = match &iv.leading_field {
                    Some(f) => format!("{text} {f}"),
                    None => text,
                };
                Ok((Scalar::Const(types::parse_text(&DataType::Interval, &text)?), Some(DataType::Interval)))
            }
            Expr::Subquery(q) => {
                let sub = self.subquery(q, 1)?;
                let ty = sub.plan.columns[0].ty.clone();
                Ok((Scalar::Subquery(Box::new(sub)), Some(ty)))
            }
            Expr::AnyOp { left, compare_op, right, .. } => self.quantified(left, compare_op, right, false),
            Expr::AllOp { left, compare_op, right } => self.quantified(left, compare_op, right, true),
            // Arrays travel as PostgreSQL's text form of them (`{a,b}`).
            Expr::Array(a) => {
                let mut items = Vec::with_capacity(a.elem.len());
                for e in &a.elem {
                    items.push(self.expr(e)?.0);
                }
                Ok((Scalar::Func(Func::ArrayBuild, items), Some(DataType::Text)))
            }
            Expr::CompoundFieldAccess { root, access_chain } => match access_chain.as_slice() {
                [ast::AccessExpr::Subscript(ast::Subscript::Index { index })] => {
                    let (array, _) = self.expr(root)?;
                    let (index, _) = self.expect(index, &DataType::Integer)?;
                    Ok((Scalar::Func(Func::ArrayElem, vec![array, index]), Some(DataType::Text)))
                }
                _ => Err(SqlError::unsupported("array slices and field access")),
            },
            Expr::Exists { subquery, negated } => {
                let sub = self.subquery(subquery, usize::MAX)?;
                Ok((
                    Scalar::Subquery(Box::new(Subquery { kind: SubqueryKind::Exists(*negated), ..sub })),
                    Some(DataType::Boolean),
                ))
            }
            other => Err(SqlError::unsupported(format!("the expression {other}"))),
        }
    }

    /// `left op ANY (right)` or `ALL`: over an array, or (`= ANY`,
    /// `<> ALL`) over a subquery, which is `IN` / `NOT IN`.
    fn quantified(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr, all: bool) -> SqlResult<(Scalar, Ty)> {
        let Some(bin) = comparison(op) else {
            return Err(SqlError::unsupported(format!("operator {op} with ANY/ALL")));
        };
        let inner = match right {
            Expr::Nested(e) => &**e,
            e => e,
        };
        if let Expr::Subquery(q) = inner {
            return match (bin, all) {
                (BinOp::Eq, false) | (BinOp::NotEq, true) => self.expr(&Expr::In {
                    expr: Box::new(left.clone()),
                    target: ast::InTarget::Subquery(q.clone()),
                    negated: all,
                    global: false,
                }),
                _ => Err(SqlError::unsupported("ANY/ALL over a subquery with an operator other than = or <>")),
            };
        }
        let (l, lt) = self.expr(left)?;
        let (array, at) = self.expr(right)?;
        let elem = lt.unwrap_or(DataType::Text);
        // A bare parameter here is an array of the left side's type.
        let array = match (array, at) {
            (Scalar::Param(i), None) => {
                self.ctx.array_params.insert(i, elem.clone());
                self.settle(Scalar::Param(i), &DataType::Text)?
            }
            (array, _) => array,
        };
        let s = Scalar::Quantified { op: bin, left: Box::new(l), array: Box::new(array), all, elem };
        Ok((s, Some(DataType::Boolean)))
    }

    /// Plans a subquery with this level's scope visible to it; `columns` is
    /// how many output columns it must have (`usize::MAX`: any).
    fn subquery(&mut self, q: &ast::Query, columns: usize) -> SqlResult<Subquery> {
        if self.agg.is_some() {
            return Err(SqlError::unsupported("a subquery in an aggregated select list or HAVING"));
        }
        self.ctx.outer.push(self.scope.clone());
        self.ctx.correlated.push(false);
        let plan = crate::query::plan_query(q, self.ctx);
        let correlated = self.ctx.correlated.pop().unwrap_or(true);
        self.ctx.outer.pop();
        let plan = plan?;
        if columns != usize::MAX && plan.columns.len() != columns {
            return Err(SqlError::syntax("subquery must return only one column"));
        }
        let id = self.ctx.next_id();
        Ok(Subquery { id, plan: std::sync::Arc::new(plan), kind: SubqueryKind::Scalar, correlated })
    }

    fn column(&mut self, parts: &[ast::Ident]) -> SqlResult<(Scalar, Ty)> {
        // MySQL's `@@x`, `@@session.x` and `@x` variables.
        if self.ctx.session.dialect == crate::Dialect::MySql && parts.first().is_some_and(|p| p.value.starts_with('@'))
        {
            let name = parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
            let (v, t) = crate::mysql::variable_value(&self.ctx.session.vars, &name)?;
            return Ok((Scalar::Const(v), Some(t)));
        }
        let names: Vec<String> = parts.iter().map(ident_name).collect();
        // Keywords that parse as identifiers.
        if let [name] = names.as_slice()
            && parts[0].quote_style.is_none()
        {
            match name.as_str() {
                "current_timestamp" | "localtimestamp" => {
                    return Ok((Scalar::Func(Func::Now, vec![]), Some(DataType::TimestampTz)));
                }
                "current_date" => return Ok((Scalar::Func(Func::CurrentDate, vec![]), Some(DataType::Date))),
                "current_user" | "session_user" | "user" | "current_role" => {
                    return Ok((Scalar::Const(Value::Text(self.ctx.session.user.clone())), Some(DataType::Text)));
                }
                "current_catalog" => {
                    return Ok((Scalar::Const(Value::Text(self.ctx.session.database.clone())), Some(DataType::Text)));
                }
                "current_schema" => return Ok((Scalar::Const(Value::Text("public".into())), Some(DataType::Text))),
                _ => {}
            }
        }
        if self.agg.is_some() {
            // A bare column in an aggregated query must be grouped.
            let shown = names.join(".");
            return Err(SqlError::new(
                ErrorCode::Grouping,
                format!("column \"{shown}\" must appear in the GROUP BY clause or be used in an aggregate function"),
            )
            .at(self.position(parts[0].span.start)));
        }
        let local = self.scope.resolve(&names);
        if let Err(e) = &local
            && matches!(e.code, ErrorCode::UndefinedColumn | ErrorCode::UndefinedTable)
        {
            // A correlated reference to an enclosing query's column.
            for (j, outer) in self.ctx.outer.iter().enumerate().rev() {
                if let Ok(i) = outer.resolve(&names) {
                    let ty = outer.cols[i].ty.clone();
                    let depth = self.ctx.outer.len() - j;
                    for c in &mut self.ctx.correlated[j..] {
                        *c = true;
                    }
                    return Ok((Scalar::OuterColumn { depth, index: i }, Some(ty)));
                }
            }
        }
        let i = local.map_err(|e| e.at(self.position(parts[0].span.start)))?;
        Ok((Scalar::Column(i), Some(self.scope.cols[i].ty.clone())))
    }

    fn literal(&mut self, v: &ast::Value) -> SqlResult<(Scalar, Ty)> {
        use ast::Value as V;
        Ok(match v {
            V::Number(n, _) => match n.parse::<i64>() {
                Ok(i) if i32::try_from(i).is_ok() => (Scalar::Const(Value::Int(i)), Some(DataType::Integer)),
                Ok(i) => (Scalar::Const(Value::Int(i)), Some(DataType::BigInt)),
                Err(_) => {
                    let d = n
                        .parse::<rust_decimal::Decimal>()
                        .or_else(|_| rust_decimal::Decimal::from_scientific(n))
                        .map_err(|_| SqlError::out_of_range("numeric"))?;
                    (Scalar::Const(Value::Decimal(d)), Some(DataType::Numeric { precision: None, scale: None }))
                }
            },
            // MySQL's TRUE and FALSE are the integers 1 and 0.
            V::Boolean(b) if self.ctx.session.dialect == crate::Dialect::MySql => {
                (Scalar::Const(Value::Int(i64::from(*b))), Some(DataType::Integer))
            }
            V::Boolean(b) => (Scalar::Const(Value::Bool(*b)), Some(DataType::Boolean)),
            V::Null => (Scalar::Const(Value::Null), None),
            V::Placeholder(p) => {
                let n: usize = p
                    .strip_prefix('$')
                    .and_then(|d| d.parse().ok())
                    .filter(|n| (1..=65535).contains(n))
                    .ok_or_else(|| SqlError::syntax(format!("syntax error at or near \"{p}\"")))?;
                if self.ctx.params.len() < n {
                    self.ctx.params.resize(n, None);
                }
                (Scalar::Param(n - 1), self.ctx.params[n - 1].clone())
            }
            V::HexStringLiteral(h) => {
                let bytes = crate::types::parse_text(&DataType::Bytes, &format!("\\x{h}"))?;
                (Scalar::Const(bytes), Some(DataType::Bytes))
            }
            other => match string_literal(other) {
                Some(s) => (Scalar::Const(Value::Text(s)), None),
                None => return Err(SqlError::unsupported(format!("the literal {other}"))),
            },
        })
    }

    /// A WHERE, HAVING or ON condition: boolean, or in MySQL any number.
    pub(crate) fn condition(&mut self, e: &Expr, context: &str) -> SqlResult<Scalar> {
        let (s, t) = self.expr(e)?;
        self.boolean(s, t, context)
    }

    fn boolean(&mut self, s: Scalar, t: Ty, context: &str) -> SqlResult<Scalar> {
        match t {
            Some(DataType::Boolean) => Ok(s),
            // MySQL has no boolean type: a number is true when not zero.
            Some(ty) if self.ctx.session.dialect == crate::Dialect::MySql && types::is_numeric(&ty) => {
                Ok(Scalar::Binary(BinOp::NotEq, Box::new(s), Box::new(Scalar::Const(Value::Int(0))), DataType::Boolean))
            }
            None => self.settle(s, &DataType::Boolean),
            Some(other) => Err(SqlError::mismatch(format!(
                "argument of {context} must be type boolean, not type {}",
                types::type_label(&other)
            ))),
        }
    }

    /// Compiles two operands that must agree on a type.
    fn pair(&mut self, a: &Expr, b: &Expr) -> SqlResult<(Scalar, Scalar, DataType)> {
        let (l, lt) = self.expr(a)?;
        let (r, rt) = self.expr(b)?;
        let ty = lt.clone().or(rt.clone()).unwrap_or(DataType::Text);
        let l = self.settle(l, &ty)?;
        let r = self.settle(r, &ty)?;
        Ok((l, r, ty))
    }

    /// MySQL's functions that are spellings of the engine's own.
    fn mysql_function(&mut self, name: &str, args: &[Expr]) -> Option<SqlResult<(Scalar, Ty)>> {
        let call = |name: &str, args: &[Expr]| {
            Expr::Function(ast::Function {
                name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
                uses_odbc_syntax: false,
                parameters: FunctionArguments::None,
                args: FunctionArguments::List(ast::FunctionArgumentList {
                    duplicate_treatment: None,
                    args: args.iter().cloned().map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a))).collect(),
                    clauses: vec![],
                }),
                filter: None,
                null_treatment: None,
                over: None,
                within_group: vec![],
            })
        };
        let e = match (name, args) {
            ("ifnull", [a, b]) => call("coalesce", &[a.clone(), b.clone()]),
            ("if", [c, a, b]) => Expr::Case {
                case_token: ast::helpers::attached_token::AttachedToken::empty(),
                end_token: ast::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![ast::CaseWhen { condition: c.clone(), result: a.clone() }],
                else_result: Some(Box::new(b.clone())),
            },
            ("isnull", [a]) => Expr::IsNull(Box::new(a.clone())),
            ("curdate", []) => call("current_date", &[]),
            ("utc_timestamp" | "sysdate", []) => call("now", &[]),
            ("char_length", [a]) => call("character_length", std::slice::from_ref(a)),
            ("length", [a]) => call("octet_length", std::slice::from_ref(a)),
            _ => return None,
        };
        Some(self.expr(&e))
    }

    /// MySQL's `/`, `%` and `DIV`: `/` of integers is exact (a decimal),
    /// `DIV` truncates, and a zero divisor gives NULL, not an error.
    fn mysql_division(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) -> SqlResult<(Scalar, Ty)> {
        let (l, lt) = self.expr(left)?;
        let (r, rt) = self.expr(right)?;
        let decimal = DataType::Numeric { precision: None, scale: None };
        let lt = lt.or(rt.clone()).unwrap_or(decimal.clone());
        let rt = rt.unwrap_or(lt.clone());
        let float = |t: &DataType| matches!(t, DataType::Real | DataType::Double);
        let integer = |t: &DataType| matches!(t, DataType::SmallInt | DataType::Integer | DataType::BigInt);
        let (l, r) = (self.settle(l, &lt)?, self.settle(r, &rt)?);
        // A decimal literal's digits count as its scale (`7.0 / 2` is 3.50000).
        let dividend_scale = match &l {
            Scalar::Const(Value::Decimal(d)) => Some(d.scale()),
            _ => None,
        };
        let nonzero = |s: Scalar| Scalar::Func(Func::NullIf, vec![s, Scalar::Const(Value::Int(0))]);
        let as_type =
            |s: Scalar, t: &DataType, ty: &DataType| if t == ty { s } else { Scalar::Cast(Box::new(s), ty.clone()) };
        Ok(match op {
            BinaryOperator::Modulo => {
                let ty = ops::result_type(BinOp::Mod, &lt, &rt)?;
                (Scalar::Binary(BinOp::Mod, Box::new(l), Box::new(nonzero(r)), ty.clone()), Some(ty))
            }
            BinaryOperator::MyIntegerDivide if integer(&lt) && integer(&rt) => {
                let (l, r) = (as_type(l, &lt, &DataType::BigInt), as_type(r, &rt, &DataType::BigInt));
                (
                    Scalar::Binary(BinOp::Div, Box::new(l), Box::new(nonzero(r)), DataType::BigInt),
                    Some(DataType::BigInt),
                )
            }
            _ => {
                let ty = if float(&lt) || float(&rt) { DataType::Double } else { decimal };
                let (l, r) = (as_type(l, &lt, &ty), as_type(r, &rt, &ty));
                let mut quotient = Scalar::Binary(BinOp::Div, Box::new(l), Box::new(nonzero(r)), ty.clone());
                if ty != DataType::Double {
                    // MySQL's div_precision_increment: four more digits
                    // than the dividend has.
                    let scale = match (&lt, &dividend_scale) {
                        (DataType::Numeric { scale: Some(s), .. }, _) => i64::from(*s) + 4,
                        (_, Some(s)) => i64::from(*s) + 4,
                        _ => 4,
                    };
                    quotient = Scalar::Func(Func::Round, vec![quotient, Scalar::Const(Value::Int(scale))]);
                }
                if matches!(op, BinaryOperator::MyIntegerDivide) {
                    let whole = Scalar::Func(Func::Trunc, vec![quotient]);
                    (Scalar::Cast(Box::new(whole), DataType::BigInt), Some(DataType::BigInt))
                } else {
                    (quotient, Some(ty))
                }
            }
        })
    }

    fn binary(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) -> SqlResult<(Scalar, Ty)> {
        if self.ctx.session.dialect == crate::Dialect::MySql
            && matches!(op, BinaryOperator::Divide | BinaryOperator::Modulo | BinaryOperator::MyIntegerDivide)
        {
            return self.mysql_division(left, op, right);
        }
        let op = if let Some(cmp) = comparison(op) {
            cmp
        } else {
            match op {
                BinaryOperator::Plus => BinOp::Add,
                BinaryOperator::Minus => BinOp::Sub,
                BinaryOperator::Multiply => BinOp::Mul,
                BinaryOperator::Divide => BinOp::Div,
                BinaryOperator::Modulo => BinOp::Mod,
                BinaryOperator::PGExp => BinOp::Pow,
                BinaryOperator::StringConcat => BinOp::Concat,
                BinaryOperator::And => BinOp::And,
                BinaryOperator::Or => BinOp::Or,
                BinaryOperator::Arrow => BinOp::JsonGet,
                BinaryOperator::LongArrow => BinOp::JsonGetText,
                BinaryOperator::AtArrow => BinOp::JsonContains,
                BinaryOperator::BitwiseAnd => BinOp::Bit(ops::BitOp::And),
                BinaryOperator::BitwiseOr => BinOp::Bit(ops::BitOp::Or),
                BinaryOperator::PGBitwiseXor => BinOp::Bit(ops::BitOp::Xor),
                BinaryOperator::PGBitwiseShiftLeft => BinOp::Bit(ops::BitOp::ShiftLeft),
                BinaryOperator::PGBitwiseShiftRight => BinOp::Bit(ops::BitOp::ShiftRight),
                BinaryOperator::PGRegexMatch => BinOp::Regex { case_insensitive: false, negated: false },
                BinaryOperator::PGRegexIMatch => BinOp::Regex { case_insensitive: true, negated: false },
                BinaryOperator::PGRegexNotMatch => BinOp::Regex { case_insensitive: false, negated: true },
                BinaryOperator::PGRegexNotIMatch => BinOp::Regex { case_insensitive: true, negated: true },
                // `OPERATOR(pg_catalog.~)`, as psql writes it.
                BinaryOperator::PGCustomBinaryOperator(parts) => match parts.last().map(String::as_str) {
                    Some("~") => BinOp::Regex { case_insensitive: false, negated: false },
                    Some("~*") => BinOp::Regex { case_insensitive: true, negated: false },
                    Some("!~") => BinOp::Regex { case_insensitive: false, negated: true },
                    Some("!~*") => BinOp::Regex { case_insensitive: true, negated: true },
                    Some("=") => BinOp::Eq,
                    Some("<>") => BinOp::NotEq,
                    _ => return Err(SqlError::unsupported(format!("operator {op}"))),
                },
                other => return Err(SqlError::unsupported(format!("operator {other}"))),
            }
        };
        let (l, lt) = self.expr(left)?;
        let (r, rt) = self.expr(right)?;
        // An unknown side takes the other side's type; for JSON access the
        // key is text or an integer as written.
        let (lt, rt) = match op {
            BinOp::JsonGet | BinOp::JsonGetText => (lt.or(Some(DataType::Json)), rt.or(Some(DataType::Text))),
            BinOp::JsonContains => (lt.or(Some(DataType::Json)), rt.or(Some(DataType::Json))),
            BinOp::Concat | BinOp::Regex { .. } => (lt.or(Some(DataType::Text)), rt.or(Some(DataType::Text))),
            BinOp::And | BinOp::Or => (lt.or(Some(DataType::Boolean)), rt.or(Some(DataType::Boolean))),
            _ => {
                let lt2 = lt.clone().or(rt.clone()).unwrap_or(DataType::Text);
                let rt2 = rt.or(lt).unwrap_or(DataType::Text);
                (Some(lt2), Some(rt2))
            }
        };
        let (lt, rt) = (lt.unwrap_or(DataType::Text), rt.unwrap_or(DataType::Text));
        let l = self.settle(l, &lt)?;
        let r = self.settle(r, &rt)?;
        let ty = ops::result_type(op, &lt, &rt)?;
        Ok((fold(Scalar::Binary(op, Box::new(l), Box::new(r), ty.clone())), Some(ty)))
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[ast::CaseWhen],
        otherwise: Option<&Expr>,
    ) -> SqlResult<(Scalar, Ty)> {
        let operand = match operand {
            Some(o) => Some(self.typed(o)?),
            None => None,
        };
        let mut whens = Vec::with_capacity(conditions.len());
        let mut result_ty: Ty = None;
        let mut thens = Vec::with_capacity(conditions.len());
        for c in conditions {
            let when = match &operand {
                Some((_, t)) => self.expect(&c.condition, t)?.0,
                None => {
                    let (s, t) = self.expr(&c.condition)?;
                    self.boolean(s, t, "CASE/WHEN")?
                }
            };
            let (then, tt) = self.expr(&c.result)?;
            if result_ty.is_none() {
                result_ty = tt;
            }
            whens.push(when);
            thens.push(then);
        }
        let otherwise = match otherwise {
            Some(e) => {
                let (s, t) = self.expr(e)?;
                if result_ty.is_none() {
                    result_ty = t;
                }
                Some(s)
            }
            None => None,
        };
        let ty = result_ty.unwrap_or(DataType::Text);
        let mut pairs = Vec::with_capacity(whens.len());
        for (w, t) in whens.into_iter().zip(thens) {
            pairs.push((w, self.settle(t, &ty)?));
        }
        let otherwise = match otherwise {
            Some(s) => Some(Box::new(self.settle(s, &ty)?)),
            None => None,
        };
        Ok((Scalar::Case { operand: operand.map(|(s, _)| Box::new(s)), whens: pairs, otherwise }, Some(ty)))
    }

    fn function(&mut self, f: &ast::Function) -> SqlResult<(Scalar, Ty)> {
        let name = f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
        if AggFunc::lookup(&name).is_some() {
            return Err(SqlError::new(
                ErrorCode::Grouping,
                format!("aggregate functions are not allowed here: {name}"),
            ));
        }
        if name == "array"
            && let FunctionArguments::Subquery(q) = &f.args
        {
            let sub = self.subquery(q, 1)?;
            return Ok((
                Scalar::Subquery(Box::new(Subquery { kind: SubqueryKind::Array, ..sub })),
                Some(DataType::Text),
            ));
        }
        let args = plain_args(f)?;
        if self.ctx.session.dialect == crate::Dialect::MySql && args.is_empty() {
            let session = &self.ctx.session;
            match name.as_str() {
                "database" | "schema" => {
                    let v = if session.schema.is_empty() { Value::Null } else { Value::Text(session.schema.clone()) };
                    return Ok((Scalar::Const(v), Some(DataType::Text)));
                }
                "version" => {
                    return Ok((Scalar::Const(Value::Text(crate::MYSQL_VERSION.into())), Some(DataType::Text)));
                }
                "connection_id" => return Ok((Scalar::Const(Value::Int(session.pid)), Some(DataType::BigInt))),
                "user" | "current_user" | "session_user" | "system_user" => {
                    let v = format!("{}@localhost", session.user);
                    return Ok((Scalar::Const(Value::Text(v)), Some(DataType::Text)));
                }
                _ => {}
            }
        }
        match name.as_str() {
            "current_database" | "current_catalog" if args.is_empty() => {
                return Ok((Scalar::Const(Value::Text(self.ctx.session.database.clone())), Some(DataType::Text)));
            }
            "current_schema" if args.is_empty() => {
                return Ok((Scalar::Const(Value::Text("public".into())), Some(DataType::Text)));
            }
            "pg_backend_pid" if args.is_empty() => {
                return Ok((Scalar::Const(Value::Int(self.ctx.session.pid)), Some(DataType::Integer)));
            }
            "current_user" | "session_user" | "user" if args.is_empty() => {
                return Ok((Scalar::Const(Value::Text(self.ctx.session.user.clone())), Some(DataType::Text)));
            }
            // Read when the statement runs, from the session's settings as
            // pg_settings shows them (a prepared statement sees later SETs).
            "current_setting" if (1..=2).contains(&args.len()) => {
                // A name written out must exist, unless missing_ok is true.
                let missing_ok = matches!(
                    args.get(1),
                    Some(Expr::Value(v)) if matches!(v.value, ast::Value::Boolean(true))
                );
                if let Expr::Value(v) = &args[0]
                    && let ast::Value::SingleQuotedString(name) = &v.value
                    && !missing_ok
                {
                    let name = name.to_ascii_lowercase();
                    let known = crate::activity::settings(self.ctx.session.pid).iter().any(|(n, _)| *n == name)
                        || crate::pgdescribe::FIXED_SETTINGS.iter().any(|(n, _)| *n == name);
                    if !known {
                        return Err(SqlError::new(
                            ErrorCode::UndefinedObject,
                            format!("unrecognized configuration parameter \"{name}\""),
                        ));
                    }
                }
                let sql =
                    format!("(SELECT setting FROM pg_catalog.pg_settings WHERE name = lower(({})::text))", args[0]);
                let e = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                    .try_with_sql(&sql)
                    .and_then(|mut p| p.parse_expr())
                    .map_err(|e| SqlError::syntax(e.to_string()))?;
                return self.expr(&e);
            }
            _ => {}
        }
        if self.ctx.session.dialect == crate::Dialect::MySql
            && let Some(r) = self.mysql_function(&name, &args)
        {
            return r;
        }
        let func = Func::lookup(&name)
            .ok_or_else(|| SqlError::new(ErrorCode::UndefinedFunction, format!("function {name} does not exist")))?;
        let (lo, hi) = func.arity();
        if args.len() < lo || args.len() > hi {
            return Err(SqlError::new(
                ErrorCode::UndefinedFunction,
                format!("function {name} does not exist with {} argument(s)", args.len()),
            ));
        }
        let mut compiled = Vec::with_capacity(args.len());
        for a in &args {
            compiled.push(self.expr(a)?);
        }
        let types_in: Vec<Ty> = compiled.iter().map(|(_, t)| t.clone()).collect();
        let ty = func.result_type(&types_in);
        // Unknown arguments take the common type of the known ones for the
        // type-preserving functions, text otherwise.
        let settle_to = match func {
            Func::Coalesce | Func::NullIf | Func::Greatest | Func::Least => ty.clone(),
            Func::Round | Func::Trunc | Func::Abs | Func::Ceil | Func::Floor | Func::Mod | Func::Power | Func::Sqrt => {
                DataType::Numeric { precision: None, scale: None }
            }
            _ => DataType::Text,
        };
        let mut out = Vec::with_capacity(compiled.len());
        for (i, (s, t)) in compiled.into_iter().enumerate() {
            let want = match (func, i) {
                (Func::Left | Func::Right | Func::Repeat | Func::LPad | Func::RPad | Func::Round | Func::Trunc, 1) => {
                    DataType::Integer
                }
                (Func::Substr, 1 | 2) | (Func::SplitPart, 2) => DataType::Integer,
                _ => settle_to.clone(),
            };
            out.push(if t.is_none() { self.settle(s, &want)? } else { s });
        }
        Ok((Scalar::Func(func, out), Some(ty)))
    }

    /// In an aggregated query: the grouped-row column `e` stands for, if it
    /// is a GROUP BY expression or an aggregate call.
    fn grouped(&mut self, e: &Expr) -> SqlResult<Option<(Scalar, Ty)>> {
        let Some(agg) = self.agg.as_deref() else { return Ok(None) };
        let text = e.to_string();
        if let Some(i) = agg.group_keys.iter().position(|k| *k == text) {
            return Ok(Some((Scalar::Column(i), Some(agg.group_types[i].clone()))));
        }
        let Expr::Function(f) = e else { return Ok(None) };
        let name = f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
        let Some(func) = AggFunc::lookup(&name) else { return Ok(None) };
        let (distinct, args, star) = agg_args(f)?;
        // The arguments see the input row, not the grouped one.
        let state = self.agg.take();
        let compiled: SqlResult<Vec<(Scalar, DataType)>> = args.iter().map(|a| self.typed(a)).collect();
        self.agg = state;
        let compiled = compiled?;
        let call = AggCall::new(func, &name, compiled, distinct, star)?;
        let ty = call.ty.clone();
        let agg = self.agg.as_deref_mut().ok_or_else(|| SqlError::new(ErrorCode::Internal, "aggregate state lost"))?;
        let i = agg.group_keys.len() + agg.calls.len();
        agg.calls.push(call);
        Ok(Some((Scalar::Column(i), Some(ty))))
    }
}

/// Evaluates operators on constants once, at compile time.
fn fold(s: Scalar) -> Scalar {
    let constant = match &s {
        Scalar::Unary(_, a) | Scalar::Cast(a, _) => matches!(**a, Scalar::Const(_)),
        Scalar::Binary(_, a, b, _) => matches!((&**a, &**b), (Scalar::Const(_), Scalar::Const(_))),
        _ => false,
    };
    if !constant {
        return s;
    }
    let env = super::Env::constant();
    match s.eval(&[], &env) {
        Ok(v) => Scalar::Const(v),
        // Errors (overflow, division by zero) surface when evaluated, as in
        // PostgreSQL, which raises them at execution.
        Err(_) => s,
    }
}

/// The text of a string literal of any quoting.
pub(crate) fn string_literal(v: &ast::Value) -> Option<String> {
    use ast::Value as V;
    match v {
        V::SingleQuotedString(s)
        | V::EscapedStringLiteral(s)
        | V::UnicodeStringLiteral(s)
        | V::NationalStringLiteral(s)
        | V::DoubleQuotedString(s)
        | V::TripleSingleQuotedString(s) => Some(s.clone()),
        V::DollarQuotedString(d) => Some(d.value.clone()),
        _ => None,
    }
}

/// A plain function call's arguments.
fn plain_args(f: &ast::Function) -> SqlResult<Vec<Expr>> {
    if f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() {
        return Err(SqlError::unsupported(format!("{} with FILTER, OVER or WITHIN GROUP", f.name)));
    }
    match &f.args {
        FunctionArguments::None => Ok(vec![]),
        FunctionArguments::Subquery(_) => Err(SqlError::unsupported("a subquery as a function argument")),
        FunctionArguments::List(list) => {
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return Err(SqlError::new(
                    ErrorCode::UndefinedFunction,
                    format!("DISTINCT or ORDER BY specified, but {} is not an aggregate function", f.name),
                ));
            }
            list.args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                    other => Err(SqlError::unsupported(format!("the function argument {other}"))),
                })
                .collect()
        }
    }
}

/// An aggregate call's arguments: DISTINCT, the expressions, and whether
/// it was `(*)`.
fn agg_args(f: &ast::Function) -> SqlResult<(bool, Vec<Expr>, bool)> {
    if f.filter.is_some() || f.over.is_some() {
        return Err(SqlError::unsupported(format!("{} with FILTER or OVER", f.name)));
    }
    let FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::new(ErrorCode::UndefinedFunction, format!("function {}() does not exist", f.name)));
    };
    if !list.clauses.is_empty() {
        return Err(SqlError::unsupported(format!("{} with ORDER BY in its arguments", f.name)));
    }
    let distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
    let mut out = Vec::new();
    let mut star = false;
    for a in &list.args {
        match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => out.push(e.clone()),
            FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
            other => return Err(SqlError::unsupported(format!("the aggregate argument {other}"))),
        }
    }
    Ok((distinct, out, star))
}
