//! Column types and values.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A column's declared type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DataType {
    /// `boolean`.
    Boolean,
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInt,
    /// 32-bit float.
    Real,
    /// 64-bit float.
    Double,
    /// Exact decimal with optional precision and scale.
    Numeric {
        /// Total significant digits allowed.
        precision: Option<u32>,
        /// Digits after the point.
        scale: Option<u32>,
    },
    /// Unbounded text.
    Text,
    /// Text of at most `max` characters.
    Varchar {
        /// Limit in characters, if any.
        max: Option<u32>,
    },
    /// Blank-padded text of `len` characters.
    Char {
        /// Length in characters.
        len: u32,
    },
    /// Raw bytes.
    Bytes,
    /// Calendar date.
    Date,
    /// Time of day, microsecond precision.
    Time,
    /// Date and time without zone, microsecond precision.
    Timestamp,
    /// An instant, stored as UTC, microsecond precision.
    TimestampTz,
    /// A span of months, days and microseconds.
    Interval,
    /// A UUID.
    Uuid,
    /// JSON document.
    Json,
    /// PostgreSQL's one-byte `"char"`, the type of the system catalogs'
    /// code columns (`relkind`, `contype`); its values are text.
    InternalChar,
}

impl DataType {
    /// Whether `v` is a value of this type (`Null` is checked by nullability,
    /// not here). Integer widths and string lengths are enforced.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        let range = |lo: i64, hi: i64, name: &str, i: i64| {
            if (lo..=hi).contains(&i) { Ok(()) } else { Err(format!("{name} out of range: {i}")) }
        };
        let len_ok = |max: u32, s: &str, name: &str| {
            if s.chars().count() <= max as usize {
                Ok(())
            } else {
                Err(format!("value too long for type {name}({max})"))
            }
        };
        let leap = match v {
            Value::Time(t) => t.nanosecond() >= 1_000_000_000,
            Value::Timestamp(t) => t.nanosecond() >= 1_000_000_000,
            Value::TimestampTz(t) => t.nanosecond() >= 1_000_000_000,
            _ => false,
        };
        if leap {
            return Err("leap seconds are not supported".into());
        }
        match (self, v) {
            (_, Value::Null) => Ok(()),
            (DataType::Boolean, Value::Bool(_)) => Ok(()),
            (DataType::SmallInt, Value::Int(i)) => range(i16::MIN.into(), i16::MAX.into(), "smallint", *i),
            (DataType::Integer, Value::Int(i)) => range(i32::MIN.into(), i32::MAX.into(), "integer", *i),
            (DataType::BigInt, Value::Int(_)) => Ok(()),
            (DataType::Real | DataType::Double, Value::Float(_)) => Ok(()),
            (DataType::Numeric { .. }, Value::Decimal(_)) => Ok(()),
            (DataType::Text, Value::Text(_)) => Ok(()),
            (DataType::Varchar { max: None }, Value::Text(_)) => Ok(()),
            (DataType::Varchar { max: Some(m) }, Value::Text(s)) => len_ok(*m, s, "character varying"),
            (DataType::Char { len }, Value::Text(s)) => len_ok(*len, s, "character"),
            (DataType::InternalChar, Value::Text(s)) if s.chars().count() <= 1 => Ok(()),
            (DataType::InternalChar, Value::Text(_)) => Err("value too long for type \"char\"".into()),
            (DataType::Bytes, Value::Bytes(_)) => Ok(()),
            (DataType::Date, Value::Date(_)) => Ok(()),
            (DataType::Time, Value::Time(_)) => Ok(()),
            (DataType::Timestamp, Value::Timestamp(_)) => Ok(()),
            (DataType::TimestampTz, Value::TimestampTz(_)) => Ok(()),
            (DataType::Interval, Value::Interval(_)) => Ok(()),
            (DataType::Uuid, Value::Uuid(_)) => Ok(()),
            (DataType::Json, Value::Json(_)) => Ok(()),
            (t, v) => Err(format!("a {} value does not fit a column of type {t}", v.kind())),
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => f.write_str("boolean"),
            DataType::SmallInt => f.write_str("smallint"),
            DataType::Integer => f.write_str("integer"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::Real => f.write_str("real"),
            DataType::Double => f.write_str("double precision"),
            DataType::Numeric { precision: Some(p), scale: Some(s) } => write!(f, "numeric({p},{s})"),
            DataType::Numeric { precision: Some(p), scale: None } => write!(f, "numeric({p})"),
            DataType::Numeric { .. } => f.write_str("numeric"),
            DataType::Text => f.write_str("text"),
            DataType::Varchar { max: Some(m) } => write!(f, "character varying({m})"),
            DataType::Varchar { max: None } => f.write_str("character varying"),
            DataType::Char { len } => write!(f, "character({len})"),
            DataType::Bytes => f.write_str("bytea"),
            DataType::Date => f.write_str("date"),
            DataType::Time => f.write_str("time"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::TimestampTz => f.write_str("timestamptz"),
            DataType::Interval => f.write_str("interval"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Json => f.write_str("json"),
            DataType::InternalChar => f.write_str("\"char\""),
        }
    }
}

/// A span of time as PostgreSQL keeps it: months and days stay separate
/// because their length in microseconds depends on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// The span in microseconds counting a month as 30 days, PostgreSQL's
    /// rule for comparing intervals.
    pub fn comparable_micros(&self) -> i128 {
        const DAY: i128 = 86_400_000_000;
        (i128::from(self.months) * 30 + i128::from(self.days)) * DAY + i128::from(self.micros)
    }
}

/// One column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Boolean.
    Bool(bool),
    /// Any integer width.
    Int(i64),
    /// Any float width (a `real` is stored exactly as its `f64` widening).
    Float(f64),
    /// Exact decimal.
    Decimal(Decimal),
    /// Text of any string type.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// Date.
    Date(NaiveDate),
    /// Time of day.
    Time(NaiveTime),
    /// Timestamp without zone.
    Timestamp(NaiveDateTime),
    /// Instant in UTC.
    TimestampTz(DateTime<Utc>),
    /// Interval.
    Interval(Interval),
    /// UUID.
    Uuid(Uuid),
    /// JSON document.
    Json(serde_json::Value),
}

impl Value {
    /// The value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Decimal(_) => "numeric",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytea",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamptz",
            Value::Interval(_) => "interval",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
        }
    }

    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// SQL comparison: `None` when either side is NULL or the kinds cannot
    /// be compared. Numbers of different kinds compare by value. Floats
    /// order NaN above everything, as PostgreSQL does.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Float(a), Float(b)) => Some(float_cmp(*a, *b)),
            (Int(a), Float(b)) => Some(float_cmp(*a as f64, *b)),
            (Float(a), Int(b)) => Some(float_cmp(*a, *b as f64)),
            (Decimal(a), Decimal(b)) => Some(a.cmp(b)),
            (Decimal(a), Int(b)) => Some(a.cmp(&rust_decimal::Decimal::from(*b))),
            (Int(a), Decimal(b)) => Some(rust_decimal::Decimal::from(*a).cmp(b)),
            (Text(a), Text(b)) => Some(a.cmp(b)),
            (Bytes(a), Bytes(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (Time(a), Time(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b)) => Some(a.cmp(b)),
            (TimestampTz(a), TimestampTz(b)) => Some(a.cmp(b)),
            (Interval(a), Interval(b)) => Some(a.comparable_micros().cmp(&b.comparable_micros())),
            (Uuid(a), Uuid(b)) => Some(a.cmp(b)),
            (Json(a), Json(b)) => (a == b).then_some(Ordering::Equal),
            _ => None,
        }
    }
}

/// Microseconds since midnight.
pub(crate) fn time_micros(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000)
}

/// Total order on floats with `-0.0 == 0.0` and NaN greatest.
pub(crate) fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Text(s) => write!(f, "{s}"),
            Value::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            Value::Date(d) => write!(f, "{d}"),
            Value::Time(t) => write!(f, "{t}"),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::TimestampTz(t) => write!(f, "{t}"),
            Value::Interval(i) => write!(f, "{} mons {} days {} us", i.months, i.days, i.micros),
            Value::Uuid(u) => write!(f, "{u}"),
            Value::Json(j) => write!(f, "{j}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_enforces_widths_and_lengths() {
        assert!(DataType::SmallInt.check(&Value::Int(40_000)).is_err());
        assert!(DataType::Integer.check(&Value::Int(40_000)).is_ok());
        assert!(DataType::Varchar { max: Some(3) }.check(&Value::Text("abcd".into())).is_err());
        assert!(DataType::Varchar { max: Some(3) }.check(&Value::Text("äöü".into())).is_ok());
        assert!(DataType::Text.check(&Value::Int(1)).is_err());
        assert!(DataType::Text.check(&Value::Null).is_ok());
        let leap = NaiveTime::from_hms_milli_opt(23, 59, 59, 1500).expect("leap second");
        assert!(DataType::Time.check(&Value::Time(leap)).is_err());
    }

    #[test]
    fn sql_cmp_is_three_valued_and_cross_numeric() {
        assert_eq!(Value::Int(1).sql_cmp(&Value::Null), None);
        assert_eq!(Value::Int(2).sql_cmp(&Value::Float(1.5)), Some(Ordering::Greater));
        assert_eq!(Value::Float(f64::NAN).sql_cmp(&Value::Float(1e308)), Some(Ordering::Greater));
        assert_eq!(Value::Text("a".into()).sql_cmp(&Value::Int(1)), None);
    }
}
