//! Aggregate functions and their accumulators.

use std::collections::BTreeSet;

use orbit_storage::{DataType, Value};
use rust_decimal::Decimal;

use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::{Env, Scalar};
use crate::key::SortKey;

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFunc {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    StringAgg,
    BoolAnd,
    BoolOr,
}

impl AggFunc {
    pub(crate) fn lookup(name: &str) -> Option<AggFunc> {
        Some(match name {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "avg" => AggFunc::Avg,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "string_agg" => AggFunc::StringAgg,
            "bool_and" | "every" => AggFunc::BoolAnd,
            "bool_or" => AggFunc::BoolOr,
            _ => return None,
        })
    }
}

/// One aggregate call in a query.
#[derive(Debug, Clone)]
pub(crate) struct AggCall {
    pub func: AggFunc,
    /// The argument; `None` for `count(*)`.
    pub arg: Option<Scalar>,
    /// string_agg's delimiter.
    pub delimiter: Option<Scalar>,
    pub distinct: bool,
    /// The result type.
    pub ty: DataType,
}

impl AggCall {
    /// Checks the arguments and works out the result type.
    pub(crate) fn new(
        func: AggFunc,
        name: &str,
        mut args: Vec<(Scalar, DataType)>,
        distinct: bool,
        star: bool,
    ) -> SqlResult<AggCall> {
        let wrong = || {
            SqlError::new(ErrorCode::UndefinedFunction, format!("function {name} with these arguments does not exist"))
        };
        let want = match func {
            _ if star => 0,
            AggFunc::StringAgg => 2,
            _ => 1,
        };
        if args.len() != want || (star && func != AggFunc::Count) {
            return Err(wrong());
        }
        let delimiter = if func == AggFunc::StringAgg { args.pop().map(|(s, _)| s) } else { None };
        let arg = args.pop();
        let arg_ty = arg.as_ref().map(|(_, t)| t.clone());
        let ty = match (func, &arg_ty) {
            (AggFunc::Count, _) => DataType::BigInt,
            (AggFunc::Sum, Some(DataType::SmallInt | DataType::Integer)) => DataType::BigInt,
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::BigInt | DataType::Numeric { .. })) => {
                DataType::Numeric { precision: None, scale: None }
            }
            (AggFunc::Avg, Some(DataType::SmallInt | DataType::Integer)) => {
                DataType::Numeric { precision: None, scale: None }
            }
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::Real)) if func == AggFunc::Sum => DataType::Real,
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::Real | DataType::Double)) => DataType::Double,
            (AggFunc::Sum | AggFunc::Avg, Some(DataType::Interval)) => DataType::Interval,
            (AggFunc::Sum | AggFunc::Avg, _) => return Err(wrong()),
            (AggFunc::Min | AggFunc::Max, Some(t)) => t.clone(),
            (AggFunc::StringAgg, Some(t)) if crate::types::is_text(t) => DataType::Text,
            (AggFunc::BoolAnd | AggFunc::BoolOr, Some(DataType::Boolean)) => DataType::Boolean,
            _ => return Err(wrong()),
        };
        Ok(AggCall { func, arg: arg.map(|(s, _)| s), delimiter, distinct, ty })
    }

    pub(crate) fn start(&self) -> Acc {
        Acc { count: 0, value: Value::Null, text: None, seen: self.distinct.then(BTreeSet::new) }
    }
}

/// Running state of one aggregate in one group.
#[derive(Debug, Clone)]
pub(crate) struct Acc {
    count: i64,
    value: Value,
    text: Option<String>,
    seen: Option<BTreeSet<SortKey>>,
}

impl Acc {
    /// Adds one input row.
    pub(crate) fn add(&mut self, call: &AggCall, row: &[Value], env: &Env<'_>) -> SqlResult<()> {
        let Some(arg) = &call.arg else {
            self.count += 1;
            return Ok(());
        };
        let v = arg.eval(row, env)?;
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen
            && !seen.insert(SortKey(vec![v.clone()]))
        {
            return Ok(());
        }
        self.count += 1;
        match call.func {
            AggFunc::Count => {}
            AggFunc::Sum | AggFunc::Avg => {
                self.value = if self.value.is_null() {
                    widen(v)
                } else {
                    crate::expr::add(std::mem::replace(&mut self.value, Value::Null), widen(v))?
                };
            }
            AggFunc::Min | AggFunc::Max => {
                let replace = match self.value.sql_cmp(&v) {
                    None => self.value.is_null(),
                    Some(o) => (call.func == AggFunc::Min && o.is_gt()) || (call.func == AggFunc::Max && o.is_lt()),
                };
                if replace {
                    self.value = v;
                }
            }
            AggFunc::StringAgg => {
                let piece = crate::format::cast_text(&v);
                match &mut self.text {
                    None => self.text = Some(piece),
                    Some(t) => {
                        if let Some(d) = &call.delimiter {
                            let d = d.eval(row, env)?;
                            if !d.is_null() {
                                t.push_str(&crate::format::cast_text(&d));
                            }
                        }
                        t.push_str(&piece);
                    }
                }
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => {
                let b = matches!(v, Value::Bool(true));
                self.value = match (&self.value, call.func) {
                    (Value::Bool(prev), AggFunc::BoolAnd) => Value::Bool(*prev && b),
                    (Value::Bool(prev), _) => Value::Bool(*prev || b),
                    _ => Value::Bool(b),
                };
            }
        }
        Ok(())
    }

    /// The aggregate's result.
    pub(crate) fn finish(self, call: &AggCall) -> SqlResult<Value> {
        Ok(match call.func {
            AggFunc::Count => Value::Int(self.count),
            AggFunc::StringAgg => self.text.map_or(Value::Null, Value::Text),
            AggFunc::Avg if self.count > 0 => match self.value {
                Value::Decimal(d) => Value::Decimal(
                    crate::types::numeric_div(d, Decimal::from(self.count))
                        .ok_or_else(|| crate::error::SqlError::out_of_range("numeric"))?,
                ),
                Value::Float(f) => Value::Float(f / self.count as f64),
                other => other,
            },
            AggFunc::Sum => crate::types::cast(self.value, &call.ty)?,
            _ => self.value,
        })
    }
}

/// Sums run in a wide type: integers as numeric, so they cannot overflow.
fn widen(v: Value) -> Value {
    match v {
        Value::Int(i) => Value::Decimal(Decimal::from(i)),
        other => other,
    }
}
