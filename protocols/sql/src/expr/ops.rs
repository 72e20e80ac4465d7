//! Operators on values.

use std::cmp::Ordering;

use chrono::{Duration, Months};
use orbit_storage::{DataType, Interval, Value};
use rust_decimal::Decimal;

use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::types::{self, type_label};

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// `->`: a JSON field or element, as JSON.
    JsonGet,
    /// `->>`: a JSON field or element, as text.
    JsonGetText,
    /// `@>`: JSON containment.
    JsonContains,
    /// `~`, `~*`, `!~`, `!~*`: POSIX regular expression match (case
    /// insensitive, negated).
    Regex {
        case_insensitive: bool,
        negated: bool,
    },
    /// `&`, `|`, `#`, `<<`, `>>` on integers.
    Bit(BitOp),
}

/// Bitwise integer operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitOp {
    And,
    Or,
    Xor,
    ShiftLeft,
    ShiftRight,
}

impl BinOp {
    pub(crate) fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq)
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Concat => "||",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::JsonGet => "->",
            BinOp::JsonGetText => "->>",
            BinOp::JsonContains => "@>",
            BinOp::Regex { case_insensitive: false, negated: false } => "~",
            BinOp::Regex { case_insensitive: true, negated: false } => "~*",
            BinOp::Regex { case_insensitive: false, negated: true } => "!~",
            BinOp::Regex { case_insensitive: true, negated: true } => "!~*",
            BinOp::Bit(BitOp::And) => "&",
            BinOp::Bit(BitOp::Or) => "|",
            BinOp::Bit(BitOp::Xor) => "#",
            BinOp::Bit(BitOp::ShiftLeft) => "<<",
            BinOp::Bit(BitOp::ShiftRight) => ">>",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Not,
}

pub(crate) fn unary(op: UnOp, v: Value) -> SqlResult<Value> {
    Ok(match (op, v) {
        (_, Value::Null) => Value::Null,
        (UnOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnOp::Neg, Value::Int(i)) => Value::Int(i.checked_neg().ok_or_else(|| SqlError::out_of_range("bigint"))?),
        (UnOp::Neg, Value::Float(f)) => Value::Float(-f),
        (UnOp::Neg, Value::Decimal(d)) => Value::Decimal(-d),
        (UnOp::Neg, Value::Interval(i)) => {
            Value::Interval(Interval { months: -i.months, days: -i.days, micros: -i.micros })
        }
        (op, v) => {
            return Err(SqlError::new(
                ErrorCode::UndefinedFunction,
                format!("operator does not exist: {}{}", if op == UnOp::Neg { "-" } else { "NOT " }, v.kind()),
            ));
        }
    })
}

/// The truth of a comparison; `None` when either side is NULL.
pub(crate) fn compare(op: BinOp, a: &Value, b: &Value) -> Option<bool> {
    let ord = a.sql_cmp(b)?;
    Some(match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::NotEq => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::LtEq => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    })
}

fn no_operator(op: BinOp, a: &Value, b: &Value) -> SqlError {
    SqlError::new(
        ErrorCode::UndefinedFunction,
        format!("operator does not exist: {} {} {}", a.kind(), op.symbol(), b.kind()),
    )
}

/// Applies a binary operator other than AND and OR; `ty` is the result
/// type worked out at compile time, whose range the result must fit.
pub(crate) fn binary(op: BinOp, a: Value, b: Value, ty: &DataType) -> SqlResult<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if op.is_comparison() {
        return match compare(op, &a, &b) {
            Some(t) => Ok(Value::Bool(t)),
            None => Err(no_operator(op, &a, &b)),
        };
    }
    match op {
        BinOp::Concat => Ok(match (a, b) {
            (Value::Bytes(mut x), Value::Bytes(y)) => {
                x.extend(y);
                Value::Bytes(x)
            }
            (Value::Json(serde_json::Value::Array(mut x)), Value::Json(y)) => {
                match y {
                    serde_json::Value::Array(y) => x.extend(y),
                    other => x.push(other),
                }
                Value::Json(serde_json::Value::Array(x))
            }
            (Value::Json(serde_json::Value::Object(mut x)), Value::Json(serde_json::Value::Object(y))) => {
                x.extend(y);
                Value::Json(serde_json::Value::Object(x))
            }
            (x, y) => Value::Text(crate::format::cast_text(&x) + &crate::format::cast_text(&y)),
        }),
        BinOp::JsonGet | BinOp::JsonGetText => Ok(json_get(op, a, b)),
        BinOp::Regex { case_insensitive, negated } => {
            let (text, pattern) = (crate::format::cast_text(&a), crate::format::cast_text(&b));
            let re = regex::RegexBuilder::new(&pattern).case_insensitive(case_insensitive).build().map_err(|e| {
                SqlError::new(ErrorCode::InvalidRegularExpression, format!("invalid regular expression: {e}"))
            })?;
            Ok(Value::Bool(re.is_match(&text) != negated))
        }
        BinOp::JsonContains => match (&a, &b) {
            (Value::Json(x), Value::Json(y)) => Ok(Value::Bool(json_contains(x, y))),
            _ => Err(no_operator(op, &a, &b)),
        },
        BinOp::Bit(bit) => match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(Value::Int(bitwise(bit, *x, *y, ty))),
            _ => Err(no_operator(op, &a, &b)),
        },
        _ => arithmetic(op, a, b, ty),
    }
}

/// A bitwise operation at the width of `ty`, as PostgreSQL's C code does
/// it: smallint and integer shift as 32-bit ints (the count taken modulo
/// 32, as x86 does) and the result is cut to the type (`1::int2 << 15` is
/// -32768, `1::int2 << 16` is 0); bigint shifts as 64 bits.
fn bitwise(op: BitOp, x: i64, y: i64, ty: &DataType) -> i64 {
    let (width, shift_bits): (u32, i64) = match ty {
        DataType::SmallInt => (16, 32),
        DataType::Integer => (32, 32),
        _ => (64, 64),
    };
    let shift = y.rem_euclid(shift_bits) as u32;
    let r = match op {
        BitOp::And => x & y,
        BitOp::Or => x | y,
        BitOp::Xor => x ^ y,
        BitOp::ShiftLeft => x.wrapping_shl(shift),
        BitOp::ShiftRight => x >> shift,
    };
    // Cut to the type's width, sign-extended.
    let unused = 64 - width;
    (r << unused) >> unused
}

fn json_get(op: BinOp, a: Value, b: Value) -> Value {
    let Value::Json(doc) = a else { return Value::Null };
    let found = match b {
        Value::Text(k) => doc.get(&k).cloned(),
        Value::Int(i) => match &doc {
            serde_json::Value::Array(items) => {
                let idx = if i < 0 { items.len() as i64 + i } else { i };
                usize::try_from(idx).ok().and_then(|i| items.get(i)).cloned()
            }
            _ => None,
        },
        _ => None,
    };
    match (found, op) {
        (None, _) => Value::Null,
        (Some(serde_json::Value::Null), BinOp::JsonGetText) => Value::Null,
        (Some(serde_json::Value::String(s)), BinOp::JsonGetText) => Value::Text(s),
        (Some(v), BinOp::JsonGetText) => Value::Text(crate::format::jsonb_text(&v)),
        (Some(v), _) => Value::Json(v),
    }
}

/// jsonb's `@>`: every part of `b` is in `a`.
fn json_contains(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Object(x), J::Object(y)) => y.iter().all(|(k, v)| x.get(k).is_some_and(|xv| json_contains(xv, v))),
        (J::Array(x), J::Array(y)) => y.iter().all(|v| x.iter().any(|xv| json_contains(xv, v))),
        (J::Array(x), scalar) if !scalar.is_object() && !scalar.is_array() => x.contains(scalar),
        (x, y) => x == y,
    }
}

fn division_by_zero() -> SqlError {
    SqlError::new(ErrorCode::DivisionByZero, "division by zero")
}

fn arithmetic(op: BinOp, a: Value, b: Value, ty: &DataType) -> SqlResult<Value> {
    let int_range = |i: i64| -> SqlResult<Value> {
        let ok = match ty {
            DataType::SmallInt => i16::try_from(i).is_ok(),
            DataType::Integer => i32::try_from(i).is_ok(),
            _ => true,
        };
        if ok { Ok(Value::Int(i)) } else { Err(SqlError::out_of_range(type_label(ty))) }
    };
    let overflow = || SqlError::out_of_range(type_label(ty));
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => match op {
            BinOp::Add => int_range(x.checked_add(y).ok_or_else(overflow)?)?,
            BinOp::Sub => int_range(x.checked_sub(y).ok_or_else(overflow)?)?,
            BinOp::Mul => int_range(x.checked_mul(y).ok_or_else(overflow)?)?,
            BinOp::Div if y == 0 => return Err(division_by_zero()),
            BinOp::Div => int_range(x.checked_div(y).ok_or_else(overflow)?)?,
            BinOp::Mod if y == 0 => return Err(division_by_zero()),
            BinOp::Mod => Value::Int(x.checked_rem(y).unwrap_or(0)),
            _ => Value::Float((x as f64).powf(y as f64)),
        },
        (x @ (Value::Int(_) | Value::Decimal(_)), y @ (Value::Int(_) | Value::Decimal(_))) => {
            let (x, y) = (to_decimal(&x), to_decimal(&y));
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div if y.is_zero() => return Err(division_by_zero()),
                BinOp::Div => crate::types::numeric_div(x, y),
                BinOp::Mod if y.is_zero() => return Err(division_by_zero()),
                BinOp::Mod => x.checked_rem(y),
                _ => {
                    let (fx, fy) = (f64::try_from(x).unwrap_or(f64::NAN), f64::try_from(y).unwrap_or(f64::NAN));
                    Decimal::from_f64_retain(fx.powf(fy)).map(|d| d.round_dp(16).normalize())
                }
            };
            Value::Decimal(r.ok_or_else(|| SqlError::out_of_range("numeric"))?)
        }
        (
            x @ (Value::Int(_) | Value::Decimal(_) | Value::Float(_)),
            y @ (Value::Int(_) | Value::Decimal(_) | Value::Float(_)),
        ) => {
            let (x, y) = (to_f64(&x), to_f64(&y));
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div if y == 0.0 => return Err(division_by_zero()),
                BinOp::Div => x / y,
                BinOp::Mod if y == 0.0 => return Err(division_by_zero()),
                BinOp::Mod => x % y,
                _ => x.powf(y),
            };
            if r.is_infinite() && x.is_finite() && y.is_finite() {
                return Err(SqlError::new(ErrorCode::NumericOutOfRange, "value out of range: overflow"));
            }
            Value::Float(r)
        }
        (a, b) => return temporal(op, a, b),
    })
}

/// Decimal of an integer or decimal.
fn to_decimal(v: &Value) -> Decimal {
    match v {
        Value::Int(i) => Decimal::from(*i),
        Value::Decimal(d) => *d,
        _ => Decimal::ZERO,
    }
}

pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Decimal(d) => f64::try_from(*d).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn add_interval(t: chrono::NaiveDateTime, i: &Interval, sign: i32) -> SqlResult<chrono::NaiveDateTime> {
    let months = i.months * sign;
    let t = if months >= 0 {
        t.checked_add_months(Months::new(months as u32))
    } else {
        t.checked_sub_months(Months::new(months.unsigned_abs()))
    };
    t.and_then(|t| t.checked_add_signed(Duration::days(i64::from(i.days * sign))))
        .and_then(|t| t.checked_add_signed(Duration::microseconds(i.micros * i64::from(sign))))
        .ok_or_else(|| SqlError::out_of_range("timestamp"))
}

fn temporal(op: BinOp, a: Value, b: Value) -> SqlResult<Value> {
    let sign = match op {
        BinOp::Add => 1,
        BinOp::Sub => -1,
        _ => return Err(no_operator(op, &a, &b)),
    };
    Ok(match (a, b) {
        (Value::Timestamp(t), Value::Interval(i)) => Value::Timestamp(add_interval(t, &i, sign)?),
        (Value::Interval(i), Value::Timestamp(t)) if sign == 1 => Value::Timestamp(add_interval(t, &i, 1)?),
        (Value::TimestampTz(t), Value::Interval(i)) => {
            Value::TimestampTz(add_interval(t.naive_utc(), &i, sign)?.and_utc())
        }
        (Value::Date(d), Value::Interval(i)) => {
            Value::Timestamp(add_interval(d.and_time(chrono::NaiveTime::MIN), &i, sign)?)
        }
        (Value::Date(d), Value::Int(n)) => Value::Date(
            d.checked_add_signed(Duration::days(n * i64::from(sign))).ok_or_else(|| SqlError::out_of_range("date"))?,
        ),
        (Value::Date(x), Value::Date(y)) if sign == -1 => Value::Int((x - y).num_days()),
        (Value::Timestamp(x), Value::Timestamp(y)) if sign == -1 => {
            Value::Interval(split_micros((x - y).num_microseconds()))
        }
        (Value::TimestampTz(x), Value::TimestampTz(y)) if sign == -1 => {
            Value::Interval(split_micros((x - y).num_microseconds()))
        }
        (Value::Interval(x), Value::Interval(y)) => Value::Interval(Interval {
            months: x.months + sign * y.months,
            days: x.days + sign * y.days,
            micros: x.micros + i64::from(sign) * y.micros,
        }),
        (Value::Time(t), Value::Interval(i)) => {
            let (t, _) = t.overflowing_add_signed(Duration::microseconds(i.micros * i64::from(sign)));
            Value::Time(t)
        }
        (a, b) => return Err(no_operator(op, &a, &b)),
    })
}

/// A difference of timestamps as PostgreSQL shows it: days and time.
fn split_micros(micros: Option<i64>) -> Interval {
    let m = micros.unwrap_or(0);
    let day = 86_400_000_000;
    Interval { months: 0, days: (m / day) as i32, micros: m % day }
}

/// The result type of `a op b`, or an error when no such operator exists.
pub(crate) fn result_type(op: BinOp, a: &DataType, b: &DataType) -> SqlResult<DataType> {
    use DataType as T;
    let err = || {
        SqlError::new(
            ErrorCode::UndefinedFunction,
            format!("operator does not exist: {} {} {}", type_label(a), op.symbol(), type_label(b)),
        )
    };
    if op.is_comparison() {
        let comparable = (types::is_numeric(a) && types::is_numeric(b))
            || (types::is_text(a) && types::is_text(b))
            || std::mem::discriminant(a) == std::mem::discriminant(b)
            || matches!((a, b), (T::Date | T::Timestamp | T::TimestampTz, T::Date | T::Timestamp | T::TimestampTz));
        return if comparable { Ok(T::Boolean) } else { Err(err()) };
    }
    match op {
        BinOp::And | BinOp::Or => match (a, b) {
            (T::Boolean, T::Boolean) => Ok(T::Boolean),
            _ => Err(SqlError::mismatch(format!(
                "argument of {} must be type boolean, not type {}",
                op.symbol(),
                type_label(if *a == T::Boolean { b } else { a })
            ))),
        },
        BinOp::Concat => match (a, b) {
            (T::Bytes, T::Bytes) => Ok(T::Bytes),
            (T::Json, T::Json) => Ok(T::Json),
            _ => Ok(T::Text),
        },
        BinOp::JsonGet => Ok(T::Json),
        BinOp::JsonGetText => Ok(T::Text),
        BinOp::JsonContains | BinOp::Regex { .. } => Ok(T::Boolean),
        BinOp::Bit(bit) => {
            let int = |t: &T| matches!(t, T::SmallInt | T::Integer | T::BigInt);
            match (int(a), int(b)) {
                (true, true) if matches!(bit, BitOp::ShiftLeft | BitOp::ShiftRight) => Ok(a.clone()),
                (true, true) => Ok(types::promote(a, b)),
                _ => Err(err()),
            }
        }
        _ if types::is_numeric(a) && types::is_numeric(b) => {
            Ok(if op == BinOp::Pow { T::Double } else { types::promote(a, b) })
        }
        BinOp::Add | BinOp::Sub => match (a, b) {
            (T::Timestamp | T::Date, T::Interval) | (T::Interval, T::Timestamp) => Ok(T::Timestamp),
            (T::TimestampTz, T::Interval) => Ok(T::TimestampTz),
            (T::Date, T::Integer | T::SmallInt | T::BigInt) => Ok(T::Date),
            (T::Date, T::Date) if op == BinOp::Sub => Ok(T::Integer),
            (T::Timestamp, T::Timestamp) | (T::TimestampTz, T::TimestampTz) if op == BinOp::Sub => Ok(T::Interval),
            (T::Interval, T::Interval) => Ok(T::Interval),
            (T::Time, T::Interval) => Ok(T::Time),
            _ => Err(err()),
        },
        _ => Err(err()),
    }
}
