//! Expressions: compiled from the parser's tree into [`Scalar`], with
//! column references resolved to positions and types worked out once, then
//! evaluated per row.

pub(crate) mod compile;
mod func;
pub(crate) mod like;
mod ops;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orbit_storage::{DataType, Value};

use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::query::QueryPlan;
use crate::query::run::{RunData, run_query};
pub(crate) use func::Func;
pub(crate) use ops::{BinOp, UnOp};

/// A compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum Scalar {
    Const(Value),
    /// A position in the input row.
    Column(usize),
    /// `$n`, zero-based.
    Param(usize),
    Unary(UnOp, Box<Scalar>),
    /// An operator and the type of its result (for range checks).
    Binary(BinOp, Box<Scalar>, Box<Scalar>, DataType),
    /// `IS [NOT] NULL`.
    IsNull(Box<Scalar>, bool),
    /// `IS [NOT] TRUE/FALSE`: the value tested and whether negated.
    IsBool(Box<Scalar>, bool, bool),
    /// `IS [NOT] DISTINCT FROM`.
    Distinct(Box<Scalar>, Box<Scalar>, bool),
    InList(Box<Scalar>, Vec<Scalar>, bool),
    /// `left op ANY (array)` (or `ALL` when `all`): arrays travel as their
    /// text form, whose elements are read as `elem`.
    Quantified {
        op: BinOp,
        left: Box<Scalar>,
        array: Box<Scalar>,
        all: bool,
        elem: DataType,
    },
    Between(Box<Scalar>, Box<Scalar>, Box<Scalar>, bool),
    Like {
        expr: Box<Scalar>,
        pattern: Box<Scalar>,
        case_insensitive: bool,
        negated: bool,
    },
    Case {
        operand: Option<Box<Scalar>>,
        whens: Vec<(Scalar, Scalar)>,
        otherwise: Option<Box<Scalar>>,
    },
    Cast(Box<Scalar>, DataType),
    Func(Func, Vec<Scalar>),
    /// A column of an enclosing query's current row (correlated subquery):
    /// `depth` 1 is the query just outside.
    OuterColumn {
        depth: usize,
        index: usize,
    },
    Subquery(Box<Subquery>),
}

/// A subquery inside an expression.
#[derive(Debug, Clone)]
pub(crate) struct Subquery {
    /// Unique in the statement; keys the cached result of an uncorrelated one.
    pub id: usize,
    pub plan: Arc<QueryPlan>,
    pub kind: SubqueryKind,
    /// Whether it reads the enclosing row, and so runs once per row.
    pub correlated: bool,
}

/// How a subquery's rows become a value.
#[derive(Debug, Clone)]
pub(crate) enum SubqueryKind {
    /// `(SELECT x ...)`: the single value, NULL without rows.
    Scalar,
    /// `[NOT] EXISTS (...)`.
    Exists(bool),
    /// `x [NOT] IN (SELECT ...)`.
    In(Scalar, bool),
    /// `ARRAY(SELECT ...)`: the values as an array literal's text (there is
    /// no array type yet).
    Array,
}

/// What evaluation needs besides the row.
#[derive(Debug)]
pub(crate) struct Env<'a> {
    pub params: &'a [Value],
    /// The statement's start: `now()` is stable within a statement.
    pub now: DateTime<Utc>,
    /// Rows of the enclosing queries of a correlated subquery, innermost last.
    pub outer: Vec<Vec<Value>>,
    /// The statement's fetched rows and caches; `None` when folding constants.
    pub run: Option<&'a RunData>,
}

impl Env<'static> {
    /// An environment for evaluating constants at compile time.
    pub(crate) fn constant() -> Self {
        Env { params: &[], now: Utc::now(), outer: Vec::new(), run: None }
    }
}

impl<'a> Env<'a> {
    /// The environment of a subquery run for `row` of this level.
    fn inner(&self, row: &[Value]) -> Env<'a> {
        let mut outer = self.outer.clone();
        outer.push(row.to_vec());
        Env { params: self.params, now: self.now, outer, run: self.run }
    }
}

/// Rows of a subquery: cached once per statement when uncorrelated.
fn subquery_rows(sq: &Subquery, row: &[Value], env: &Env<'_>) -> SqlResult<Arc<Vec<Vec<Value>>>> {
    let run = env.run.ok_or_else(|| SqlError::new(ErrorCode::Internal, "subquery evaluated without its data"))?;
    if sq.correlated {
        return Ok(Arc::new(run_query(&sq.plan, &env.inner(row))?));
    }
    if let Some(rows) = run.cached_subquery(sq.id) {
        return Ok(rows);
    }
    let rows = Arc::new(run_query(&sq.plan, &Env { outer: env.outer.clone(), ..*env })?);
    run.cache_subquery(sq.id, rows.clone());
    Ok(rows)
}

impl Scalar {
    /// Calls `f` on this expression and every expression inside it (not
    /// descending into subquery plans; `f` sees the subquery node).
    pub(crate) fn walk<'s>(&'s self, f: &mut dyn FnMut(&'s Scalar)) {
        f(self);
        match self {
            Scalar::Const(_)
            | Scalar::Column(_)
            | Scalar::Param(_)
            | Scalar::OuterColumn { .. }
            | Scalar::Subquery(_) => {}
            Scalar::Unary(_, a) | Scalar::IsNull(a, _) | Scalar::IsBool(a, _, _) | Scalar::Cast(a, _) => a.walk(f),
            Scalar::Binary(_, a, b, _) | Scalar::Distinct(a, b, _) => {
                a.walk(f);
                b.walk(f);
            }
            Scalar::InList(a, list, _) => {
                a.walk(f);
                list.iter().for_each(|x| x.walk(f));
            }
            Scalar::Quantified { left, array, .. } => {
                left.walk(f);
                array.walk(f);
            }
            Scalar::Between(a, b, c, _) => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
            Scalar::Like { expr, pattern, .. } => {
                expr.walk(f);
                pattern.walk(f);
            }
            Scalar::Case { operand, whens, otherwise } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (w, t) in whens {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(o) = otherwise {
                    o.walk(f);
                }
            }
            Scalar::Func(_, args) => args.iter().for_each(|x| x.walk(f)),
        }
    }

    /// The expression's value for `row`.
    pub(crate) fn eval(&self, row: &[Value], env: &Env<'_>) -> SqlResult<Value> {
        Ok(match self {
            Scalar::Const(v) => v.clone(),
            Scalar::Column(i) => row.get(*i).cloned().unwrap_or(Value::Null),
            Scalar::Param(i) => env.params.get(*i).cloned().unwrap_or(Value::Null),
            Scalar::Unary(op, e) => ops::unary(*op, e.eval(row, env)?)?,
            Scalar::Binary(op, l, r, ty) => match op {
                // AND and OR short-circuit, with three-valued logic.
                BinOp::And => match l.eval(row, env)? {
                    Value::Bool(false) => Value::Bool(false),
                    lv => match (lv, r.eval(row, env)?) {
                        (_, Value::Bool(false)) => Value::Bool(false),
                        (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                        _ => Value::Null,
                    },
                },
                BinOp::Or => match l.eval(row, env)? {
                    Value::Bool(true) => Value::Bool(true),
                    lv => match (lv, r.eval(row, env)?) {
                        (_, Value::Bool(true)) => Value::Bool(true),
                        (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                        _ => Value::Null,
                    },
                },
                _ => ops::binary(*op, l.eval(row, env)?, r.eval(row, env)?, ty)?,
            },
            Scalar::IsNull(e, negated) => Value::Bool(e.eval(row, env)?.is_null() != *negated),
            Scalar::IsBool(e, want, negated) => {
                let is = matches!(e.eval(row, env)?, Value::Bool(b) if b == *want);
                Value::Bool(is != *negated)
            }
            Scalar::Distinct(l, r, negated) => {
                let (a, b) = (l.eval(row, env)?, r.eval(row, env)?);
                let same = match (a.is_null(), b.is_null()) {
                    (true, true) => true,
                    (false, false) => a.sql_cmp(&b) == Some(std::cmp::Ordering::Equal),
                    _ => false,
                };
                Value::Bool(same == *negated)
            }
            Scalar::Quantified { op, left, array, all, elem } => {
                let v = left.eval(row, env)?;
                let a = array.eval(row, env)?;
                if a.is_null() {
                    return Ok(Value::Null);
                }
                let items = crate::format::parse_array(&crate::format::cast_text(&a))?;
                // ANY: true on a match, else NULL if anything was unknown;
                // ALL: false on a miss, else NULL if anything was unknown.
                let mut unknown = false;
                for item in items {
                    let outcome = match item {
                        None => None,
                        Some(t) => ops::compare(*op, &v, &crate::types::parse_text(elem, &t)?),
                    };
                    match outcome {
                        Some(hit) if hit != *all => return Ok(Value::Bool(hit)),
                        Some(_) => {}
                        None => unknown = true,
                    }
                }
                if unknown { Value::Null } else { Value::Bool(*all) }
            }
            Scalar::InList(e, list, negated) => {
                let v = e.eval(row, env)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut unknown = false;
                let mut found = false;
                for item in list {
                    match v.sql_cmp(&item.eval(row, env)?) {
                        Some(std::cmp::Ordering::Equal) => {
                            found = true;
                            break;
                        }
                        None => unknown = true,
                        Some(_) => {}
                    }
                }
                if found {
                    Value::Bool(!*negated)
                } else if unknown {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Scalar::Between(e, lo, hi, negated) => {
                let v = e.eval(row, env)?;
                let ge = ops::compare(BinOp::GtEq, &v, &lo.eval(row, env)?);
                let le = ops::compare(BinOp::LtEq, &v, &hi.eval(row, env)?);
                match (ge, le) {
                    (Some(a), Some(b)) => Value::Bool((a && b) != *negated),
                    (Some(false), None) | (None, Some(false)) => Value::Bool(*negated),
                    _ => Value::Null,
                }
            }
            Scalar::Like { expr, pattern, case_insensitive, negated } => {
                match (expr.eval(row, env)?, pattern.eval(row, env)?) {
                    (Value::Text(s), Value::Text(p)) => {
                        Value::Bool(like::matches(&s, &p, *case_insensitive)? != *negated)
                    }
                    _ => Value::Null,
                }
            }
            Scalar::Case { operand, whens, otherwise } => {
                let subject = match operand {
                    Some(o) => Some(o.eval(row, env)?),
                    None => None,
                };
                for (when, then) in whens {
                    let w = when.eval(row, env)?;
                    let hit = match &subject {
                        Some(s) => s.sql_cmp(&w) == Some(std::cmp::Ordering::Equal),
                        None => matches!(w, Value::Bool(true)),
                    };
                    if hit {
                        return then.eval(row, env);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row, env)?,
                    None => Value::Null,
                }
            }
            Scalar::Cast(e, ty) => crate::types::cast(e.eval(row, env)?, ty)?,
            Scalar::Func(f, args) => func::call(*f, args, row, env)?,
            Scalar::OuterColumn { depth, index } => env
                .outer
                .len()
                .checked_sub(*depth)
                .and_then(|i| env.outer.get(i))
                .and_then(|r| r.get(*index))
                .cloned()
                .unwrap_or(Value::Null),
            Scalar::Subquery(sq) => {
                let rows = subquery_rows(sq, row, env)?;
                match &sq.kind {
                    SubqueryKind::Scalar => {
                        if rows.len() > 1 {
                            return Err(SqlError::new(
                                ErrorCode::CardinalityViolation,
                                "more than one row returned by a subquery used as an expression",
                            ));
                        }
                        rows.first().and_then(|r| r.first()).cloned().unwrap_or(Value::Null)
                    }
                    SubqueryKind::Exists(negated) => Value::Bool(rows.is_empty() == *negated),
                    SubqueryKind::Array => {
                        Value::Text(crate::format::array_text(rows.iter().map(|r| r.first().unwrap_or(&Value::Null))))
                    }
                    SubqueryKind::In(e, negated) => {
                        let v = e.eval(row, env)?;
                        if v.is_null() {
                            return Ok(if rows.is_empty() { Value::Bool(*negated) } else { Value::Null });
                        }
                        let mut unknown = false;
                        for r in rows.iter() {
                            match r.first().and_then(|c| v.sql_cmp(c)) {
                                Some(std::cmp::Ordering::Equal) => return Ok(Value::Bool(!*negated)),
                                None => unknown = true,
                                Some(_) => {}
                            }
                        }
                        if unknown { Value::Null } else { Value::Bool(*negated) }
                    }
                }
            }
        })
    }

    /// Whether the expression is true for `row` (NULL counts as false).
    pub(crate) fn test(&self, row: &[Value], env: &Env<'_>) -> SqlResult<bool> {
        Ok(matches!(self.eval(row, env)?, Value::Bool(true)))
    }
}

/// `a + b`, for running sums.
pub(crate) fn add(a: Value, b: Value) -> SqlResult<Value> {
    ops::binary(BinOp::Add, a, b, &DataType::Numeric { precision: None, scale: None })
}
