//! Expressions: compiled from the parser's tree into [`Scalar`], with
//! column references resolved to positions and types worked out once, then
//! evaluated per row.

pub(crate) mod compile;
mod func;
mod like;
mod ops;

use chrono::{DateTime, Utc};
use orbit_storage::{DataType, Value};

use crate::error::SqlResult;
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
}

/// What evaluation needs besides the row.
#[derive(Debug)]
pub(crate) struct Env<'a> {
    pub params: &'a [Value],
    /// The statement's start: `now()` is stable within a statement.
    pub now: DateTime<Utc>,
}

impl Scalar {
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
