//! SQL types: names in DDL, casts, and reading values from text.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use orbit_storage::{DataType, Interval, Value};
use rust_decimal::Decimal;
use sqlparser::ast::{self, CharacterLength, ExactNumberInfo, TimezoneInfo};

use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::format;

/// The storage type a DDL or CAST type name stands for.
pub fn from_ast(dt: &ast::DataType) -> SqlResult<DataType> {
    use ast::DataType as A;
    let char_len = |l: &Option<CharacterLength>| match l {
        Some(CharacterLength::IntegerLength { length, .. }) => u32::try_from(*length).ok(),
        _ => None,
    };
    Ok(match dt {
        A::Bool | A::Boolean => DataType::Boolean,
        A::SmallInt(_) | A::Int2(_) => DataType::SmallInt,
        A::Int(_) | A::Integer(_) | A::Int4(_) => DataType::Integer,
        A::BigInt(_) | A::Int8(_) => DataType::BigInt,
        A::Real | A::Float4 => DataType::Real,
        A::Double(_) | A::DoublePrecision | A::Float8 => DataType::Double,
        A::Float(info) => match info {
            ExactNumberInfo::Precision(p) if *p <= 24 => DataType::Real,
            _ => DataType::Double,
        },
        A::Numeric(info) | A::Decimal(info) | A::Dec(info) => {
            let (precision, scale) = match info {
                ExactNumberInfo::None => (None, None),
                ExactNumberInfo::Precision(p) => (Some(*p), Some(0)),
                ExactNumberInfo::PrecisionAndScale(p, s) => (Some(*p), Some(u64::try_from(*s).unwrap_or(0))),
            };
            if precision.is_some_and(|p| !(1..=28).contains(&p)) || scale.zip(precision).is_some_and(|(s, p)| s > p) {
                return Err(SqlError::new(
                    ErrorCode::InvalidParameter,
                    format!("NUMERIC precision must be between 1 and 28, and scale at most the precision: {dt}"),
                ));
            }
            DataType::Numeric { precision: precision.map(|p| p as u32), scale: scale.map(|s| s as u32) }
        }
        A::Text | A::String(None) => DataType::Text,
        A::Varchar(l) | A::CharacterVarying(l) | A::CharVarying(l) => DataType::Varchar { max: char_len(l) },
        A::Char(l) | A::Character(l) => DataType::Char { len: char_len(l).unwrap_or(1) },
        A::Bytea => DataType::Bytes,
        A::Date => DataType::Date,
        A::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => DataType::Time,
        A::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => DataType::Timestamp,
        A::Timestamp(_, _) => DataType::TimestampTz,
        A::Interval { .. } => DataType::Interval,
        A::Uuid => DataType::Uuid,
        A::JSON | A::JSONB => DataType::Json,
        A::Custom(name, _) => match custom_type_name(name).as_str() {
            "timestamptz" => DataType::TimestampTz,
            "text" | "name" => DataType::Text,
            "varchar" => DataType::Varchar { max: None },
            "bpchar" | "char" => DataType::Char { len: 1 },
            // The quoted name is PostgreSQL's one-byte type, not char(1).
            "\"char\"" => DataType::InternalChar,
            "numeric" | "decimal" => DataType::Numeric { precision: None, scale: None },
            "bytea" => DataType::Bytes,
            "date" => DataType::Date,
            "time" => DataType::Time,
            "timestamp" => DataType::Timestamp,
            "interval" => DataType::Interval,
            "uuid" => DataType::Uuid,
            "boolean" => DataType::Boolean,
            "integer" => DataType::Integer,
            "smallint" => DataType::SmallInt,
            "bigint" => DataType::BigInt,
            "real" => DataType::Real,
            // Object identifiers are integers here; casts to the reg* types
            // from names are resolved by the planner (see `reg_type`).
            "oid" | "regclass" | "regtype" | "regnamespace" | "regrole" => DataType::Integer,
            // Functions are known by name here.
            "regproc" | "regprocedure" => DataType::Text,
            "int" | "int4" => DataType::Integer,
            "int2" => DataType::SmallInt,
            "int8" => DataType::BigInt,
            "bool" => DataType::Boolean,
            "float4" => DataType::Real,
            "float8" => DataType::Double,
            "jsonb" | "json" => DataType::Json,
            other => return Err(SqlError::new(ErrorCode::UndefinedTable, format!("type \"{other}\" does not exist"))),
        },
        A::Regclass => DataType::Integer,
        // MySQL's types, by the storage type that holds every value.
        A::TinyInt(_) | A::TinyIntUnsigned(_) | A::UTinyInt => DataType::SmallInt,
        A::SmallIntUnsigned(_) | A::USmallInt | A::MediumInt(_) | A::MediumIntUnsigned(_) => DataType::Integer,
        A::IntUnsigned(_) | A::IntegerUnsigned(_) | A::Int4Unsigned(_) | A::Signed | A::SignedInteger => {
            DataType::BigInt
        }
        A::BigIntUnsigned(_) | A::UBigInt | A::Int8Unsigned(_) | A::Unsigned | A::UnsignedInteger => {
            DataType::Numeric { precision: Some(20), scale: Some(0) }
        }
        A::DecimalUnsigned(info) | A::DecUnsigned(info) => from_ast(&A::Decimal(*info))?,
        A::FloatUnsigned(info) => from_ast(&A::Float(*info))?,
        A::DoubleUnsigned(_) | A::DoublePrecisionUnsigned | A::RealUnsigned => DataType::Double,
        A::Datetime(_) => DataType::Timestamp,
        A::TinyText | A::MediumText | A::LongText => DataType::Text,
        A::Nvarchar(l) => DataType::Varchar { max: char_len(l) },
        A::Blob(_) | A::TinyBlob | A::MediumBlob | A::LongBlob | A::Binary(_) | A::Varbinary(_) => DataType::Bytes,
        A::Enum(..) | A::Set(_) => DataType::Text,
        A::Zerofill(inner) => from_ast(inner)?,
        // Arrays travel as their text form (`{a,b}`).
        A::Array(_) => DataType::Text,
        other => return Err(SqlError::unsupported(format!("type {other}"))),
    })
}

/// A custom type's name, lower-cased, without a `pg_catalog.` qualifier.
fn custom_type_name(name: &ast::ObjectName) -> String {
    let s = name.to_string().to_ascii_lowercase();
    s.strip_prefix("pg_catalog.").map(str::to_string).unwrap_or(s)
}

/// Which object-identifier type a cast names, if any: a name cast to one
/// of these becomes that object's oid.
pub(crate) fn reg_type(dt: &ast::DataType) -> Option<&'static str> {
    match dt {
        ast::DataType::Regclass => Some("regclass"),
        ast::DataType::Custom(name, _) => match custom_type_name(name).as_str() {
            "regclass" => Some("regclass"),
            "regtype" => Some("regtype"),
            "regnamespace" => Some("regnamespace"),
            "regproc" | "regprocedure" => Some("regproc"),
            _ => None,
        },
        _ => None,
    }
}

/// Whether values of `t` are numbers.
pub fn is_numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::SmallInt
            | DataType::Integer
            | DataType::BigInt
            | DataType::Real
            | DataType::Double
            | DataType::Numeric { .. }
    )
}

/// Whether values of `t` are strings.
pub fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Text | DataType::Varchar { .. } | DataType::Char { .. } | DataType::InternalChar)
}

/// Rank of a numeric type in PostgreSQL's implicit promotions.
fn numeric_rank(t: &DataType) -> u8 {
    match t {
        DataType::SmallInt => 1,
        DataType::Integer => 2,
        DataType::BigInt => 3,
        DataType::Numeric { .. } => 4,
        DataType::Real => 5,
        DataType::Double => 6,
        _ => 0,
    }
}

/// The type arithmetic on `a` and `b` yields.
pub fn promote(a: &DataType, b: &DataType) -> DataType {
    let plain = |t: &DataType| match t {
        DataType::Numeric { .. } => DataType::Numeric { precision: None, scale: None },
        other => other.clone(),
    };
    if numeric_rank(a) >= numeric_rank(b) { plain(a) } else { plain(b) }
}

/// Converts `v` to type `ty` as an explicit CAST does.
pub fn cast(v: Value, ty: &DataType) -> SqlResult<Value> {
    let out = match (v, ty) {
        (Value::Null, _) => return Ok(Value::Null),
        (Value::Text(s), t) if !is_text(t) => parse_text(t, &s)?,
        (v, DataType::Text | DataType::Varchar { max: None }) => Value::Text(format::cast_text(&v)),
        (v, DataType::Varchar { max: Some(n) }) => {
            Value::Text(format::cast_text(&v).chars().take(*n as usize).collect())
        }
        (v, DataType::InternalChar) => Value::Text(format::cast_text(&v).chars().take(1).collect()),
        (v, DataType::Char { len }) => {
            let s: String = format::cast_text(&v).chars().take(*len as usize).collect();
            Value::Text(format!("{s:<width$}", width = *len as usize))
        }
        (Value::Int(i), DataType::SmallInt | DataType::Integer | DataType::BigInt) => Value::Int(i),
        (Value::Int(i), DataType::Real | DataType::Double) => Value::Float(i as f64),
        (Value::Int(i), DataType::Numeric { .. }) => Value::Decimal(Decimal::from(i)),
        (Value::Float(f), DataType::SmallInt | DataType::Integer | DataType::BigInt) => {
            let r = f.round_ties_even();
            if !r.is_finite() || r < i64::MIN as f64 || r > i64::MAX as f64 {
                return Err(SqlError::out_of_range(type_label(ty)));
            }
            Value::Int(r as i64)
        }
        (Value::Float(f), DataType::Real) => Value::Float(f64::from(f as f32)),
        (Value::Float(f), DataType::Double) => Value::Float(f),
        (Value::Float(f), DataType::Numeric { .. }) => Value::Decimal(
            Decimal::from_f64_retain(f)
                .map(|d| d.round_dp(15).normalize())
                .ok_or_else(|| SqlError::new(ErrorCode::InvalidParameter, format!("cannot convert {f} to numeric")))?,
        ),
        (Value::Decimal(d), DataType::SmallInt | DataType::Integer | DataType::BigInt) => {
            let r = d.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            Value::Int(i64::try_from(r).map_err(|_| SqlError::out_of_range(type_label(ty)))?)
        }
        (Value::Decimal(d), DataType::Real | DataType::Double) => {
            Value::Float(f64::try_from(d).map_err(|_| SqlError::out_of_range(type_label(ty)))?)
        }
        (Value::Decimal(d), DataType::Numeric { .. }) => Value::Decimal(d),
        (Value::Bool(b), DataType::Integer | DataType::BigInt | DataType::SmallInt) => Value::Int(i64::from(b)),
        (Value::Int(i), DataType::Boolean) => Value::Bool(i != 0),
        (Value::Timestamp(t), DataType::Date) => Value::Date(t.date()),
        (Value::Timestamp(t), DataType::Time) => Value::Time(t.time()),
        (Value::Timestamp(t), DataType::TimestampTz) => Value::TimestampTz(t.and_utc()),
        (Value::TimestampTz(t), DataType::Timestamp) => Value::Timestamp(t.naive_utc()),
        (Value::TimestampTz(t), DataType::Date) => Value::Date(t.date_naive()),
        (Value::TimestampTz(t), DataType::Time) => Value::Time(t.time()),
        (Value::Date(d), DataType::Timestamp) => Value::Timestamp(d.and_time(NaiveTime::MIN)),
        (Value::Date(d), DataType::TimestampTz) => Value::TimestampTz(d.and_time(NaiveTime::MIN).and_utc()),
        (Value::Bytes(b), DataType::Bytes) => Value::Bytes(b),
        (v, t) if same_kind(&v, t) => v,
        (v, t) => {
            return Err(SqlError::new(
                ErrorCode::DatatypeMismatch,
                format!("cannot cast type {} to {}", v.kind(), type_label(t)),
            ));
        }
    };
    fit(out, ty)
}

/// Converts `v` for storing into a column of type `ty`: PostgreSQL's
/// assignment casts. Numbers convert among themselves, strings are read as
/// the column's type, and anything else must already be of that type.
pub fn assign(v: Value, ty: &DataType) -> SqlResult<Value> {
    let numeric_value = matches!(v, Value::Int(_) | Value::Float(_) | Value::Decimal(_));
    let time_value = matches!(v, Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_));
    match v {
        Value::Null => Ok(Value::Null),
        Value::Text(s) if is_text(ty) => fit(Value::Text(pad_char(s, ty)), ty),
        Value::Text(_) => cast(v, ty),
        _ if numeric_value && is_numeric(ty) => cast(v, ty),
        _ if is_text(ty) => cast(v, ty),
        _ if time_value && matches!(ty, DataType::Timestamp | DataType::TimestampTz | DataType::Date) => cast(v, ty),
        _ if same_kind(&v, ty) => fit(v, ty),
        _ => Err(SqlError::mismatch(format!(
            "column is of type {} but expression is of type {}",
            type_label(ty),
            v.kind()
        ))),
    }
}

fn pad_char(s: String, t: &DataType) -> String {
    match t {
        DataType::Char { len } => {
            // char(n) stores trailing blanks; longer input fails in `fit`
            // unless the excess is blanks, which PostgreSQL trims.
            let trimmed: String =
                if s.chars().count() > *len as usize { s.trim_end_matches(' ').to_string() } else { s };
            format!("{trimmed:<width$}", width = *len as usize)
        }
        DataType::Varchar { max: Some(n) }
            if s.chars().count() > *n as usize && s.trim_end_matches(' ').chars().count() <= *n as usize =>
        {
            s.chars().take(*n as usize).collect()
        }
        _ => s,
    }
}

/// Whether `v` is already a value of `t`'s kind.
fn same_kind(v: &Value, t: &DataType) -> bool {
    matches!(
        (v, t),
        (Value::Bool(_), DataType::Boolean)
            | (Value::Int(_), DataType::SmallInt | DataType::Integer | DataType::BigInt)
            | (Value::Float(_), DataType::Real | DataType::Double)
            | (Value::Decimal(_), DataType::Numeric { .. })
            | (Value::Text(_), DataType::Text | DataType::Varchar { .. } | DataType::Char { .. })
            | (Value::Bytes(_), DataType::Bytes)
            | (Value::Date(_), DataType::Date)
            | (Value::Time(_), DataType::Time)
            | (Value::Timestamp(_), DataType::Timestamp)
            | (Value::TimestampTz(_), DataType::TimestampTz)
            | (Value::Interval(_), DataType::Interval)
            | (Value::Uuid(_), DataType::Uuid)
            | (Value::Json(_), DataType::Json)
    )
}

/// Applies a type's limits: integer ranges, numeric precision and scale,
/// string lengths.
fn fit(v: Value, ty: &DataType) -> SqlResult<Value> {
    let v = match (v, ty) {
        (Value::Decimal(d), DataType::Numeric { precision, scale }) => {
            let d = match scale {
                Some(s) => {
                    // numeric(p,s) shows exactly s decimals: 10.5 -> 10.50.
                    let mut d = d.round_dp_with_strategy(*s, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
                    d.rescale(*s);
                    d
                }
                None => d,
            };
            if let (Some(p), Some(s)) = (precision, scale) {
                let int_digits = d.trunc().abs().to_string().trim_start_matches('0').len() as u32;
                if int_digits > p - s {
                    return Err(SqlError::new(
                        ErrorCode::NumericOutOfRange,
                        format!(
                            "numeric field overflow\nDETAIL: A field with precision {p}, scale {s} must round to an absolute value less than 10^{}.",
                            p - s
                        ),
                    ));
                }
            }
            Value::Decimal(d)
        }
        (v, _) => v,
    };
    ty.check(&v).map_err(|m| {
        if m.starts_with("value too long") {
            SqlError::new(ErrorCode::StringTooLong, m)
        } else if m.contains("out of range") {
            SqlError::out_of_range(type_label(ty))
        } else {
            SqlError::mismatch(m)
        }
    })?;
    Ok(v)
}

/// PostgreSQL's short name of a type, as error messages use it.
pub fn type_label(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "boolean",
        DataType::SmallInt => "smallint",
        DataType::Integer => "integer",
        DataType::BigInt => "bigint",
        DataType::Real => "real",
        DataType::Double => "double precision",
        DataType::Numeric { .. } => "numeric",
        DataType::Text => "text",
        DataType::Varchar { .. } => "character varying",
        DataType::Char { .. } => "character",
        DataType::Bytes => "bytea",
        DataType::Date => "date",
        DataType::Time => "time without time zone",
        DataType::Timestamp => "timestamp without time zone",
        DataType::TimestampTz => "timestamp with time zone",
        DataType::Interval => "interval",
        DataType::Uuid => "uuid",
        DataType::Json => "json",
        DataType::InternalChar => "\"char\"",
    }
}

/// Reads `s` as a value of `ty`, as PostgreSQL's input functions do.
pub fn parse_text(ty: &DataType, s: &str) -> SqlResult<Value> {
    let bad = || SqlError::invalid_text(type_label(ty), s);
    let t = s.trim();
    let v = match ty {
        DataType::Boolean => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "y" | "yes" | "on" | "1" => Value::Bool(true),
            "f" | "false" | "n" | "no" | "off" | "0" => Value::Bool(false),
            _ => return Err(bad()),
        },
        DataType::SmallInt | DataType::Integer | DataType::BigInt => {
            let i: i64 = t.parse().map_err(|_| {
                if !t.is_empty() && t.trim_start_matches(['-', '+']).chars().all(|c| c.is_ascii_digit()) {
                    SqlError::new(
                        ErrorCode::NumericOutOfRange,
                        format!("value \"{t}\" is out of range for type {}", type_label(ty)),
                    )
                } else {
                    bad()
                }
            })?;
            Value::Int(i)
        }
        DataType::Real | DataType::Double => Value::Float(parse_float(t).ok_or_else(bad)?),
        DataType::Numeric { .. } => {
            Value::Decimal(Decimal::from_str(t).or_else(|_| Decimal::from_scientific(t)).map_err(|_| bad())?)
        }
        DataType::Text | DataType::Varchar { .. } | DataType::Char { .. } => Value::Text(s.to_string()),
        // Like PostgreSQL's charin: the first character; none for ''.
        DataType::InternalChar => Value::Text(s.chars().next().map(String::from).unwrap_or_default()),
        DataType::Bytes => Value::Bytes(parse_bytea(s).ok_or_else(bad)?),
        DataType::Date => Value::Date(NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?),
        DataType::Time => Value::Time(parse_time(t).ok_or_else(bad)?),
        DataType::Timestamp => Value::Timestamp(parse_timestamp(t).ok_or_else(bad)?),
        DataType::TimestampTz => Value::TimestampTz(parse_timestamptz(t).ok_or_else(bad)?),
        DataType::Interval => Value::Interval(parse_interval(t).ok_or_else(bad)?),
        DataType::Uuid => Value::Uuid(uuid::Uuid::parse_str(t).map_err(|_| bad())?),
        DataType::Json => Value::Json(serde_json::from_str(t).map_err(|e| {
            SqlError::new(
                ErrorCode::InvalidTextRepresentation,
                format!("invalid input syntax for type json\nDETAIL: {e}"),
            )
        })?),
    };
    fit(v, ty)
}

fn parse_float(t: &str) -> Option<f64> {
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        other if other.contains("inf") || other.contains("nan") => None,
        other => other.parse().ok(),
    }
}

fn parse_bytea(s: &str) -> Option<Vec<u8>> {
    let Some(hex) = s.strip_prefix("\\x") else { return Some(s.as_bytes().to_vec()) };
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

fn parse_time(t: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(t, "%H:%M:%S%.f").or_else(|_| NaiveTime::parse_from_str(t, "%H:%M")).ok()
}

fn parse_timestamp(t: &str) -> Option<NaiveDateTime> {
    let t = t.replace('T', " ");
    NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok().map(|d| d.and_time(NaiveTime::MIN)))
}

fn parse_timestamptz(t: &str) -> Option<DateTime<Utc>> {
    let t = t.replace('T', " ");
    let t = t.trim();
    if let Some(rest) = t.strip_suffix('Z').or_else(|| t.strip_suffix(" UTC")) {
        return parse_timestamp(rest).map(|n| n.and_utc());
    }
    // A trailing +hh, +hh:mm or +hhmm offset.
    if let Some(pos) = t.rfind(['+', '-']).filter(|p| *p > 10) {
        let (ts, off) = t.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off[1..].chars().filter(char::is_ascii_digit).collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok()?, 0),
            4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
            _ => return None,
        };
        let offset = chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))?;
        let naive = parse_timestamp(ts.trim())?;
        return naive.and_local_timezone(offset).single().map(|d| d.with_timezone(&Utc));
    }
    parse_timestamp(t).map(|n| n.and_utc())
}

/// Reads PostgreSQL's interval input: `1 year 2 mons 3 days 04:05:06`,
/// unit words in singular or plural, and a trailing `ago`.
pub(crate) fn parse_interval(t: &str) -> Option<Interval> {
    let mut iv = Interval::default();
    let mut words = t.split_whitespace().peekable();
    let mut negate = false;
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("ago") {
            negate = true;
            continue;
        }
        if w.contains(':') {
            let neg = w.starts_with('-');
            let parts: Vec<&str> = w.trim_start_matches(['-', '+']).split(':').collect();
            let (h, m, s) = match parts.as_slice() {
                [h, m] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, 0.0),
                [h, m, s] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, s.parse::<f64>().ok()?),
                _ => return None,
            };
            let micros = (h * 3600 + m * 60) * 1_000_000 + (s * 1e6).round() as i64;
            iv.micros += if neg { -micros } else { micros };
            continue;
        }
        let n: f64 = w.parse().ok()?;
        let unit = words.next().unwrap_or("second").to_ascii_lowercase();
        let unit = unit.trim_end_matches(',');
        match unit {
            "year" | "years" | "yr" | "yrs" | "y" => iv.months += (n * 12.0) as i32,
            "month" | "months" | "mon" | "mons" => iv.months += n as i32,
            "week" | "weeks" | "w" => iv.days += (n * 7.0) as i32,
            "day" | "days" | "d" => iv.days += n as i32,
            "hour" | "hours" | "hr" | "hrs" | "h" => iv.micros += (n * 3.6e9) as i64,
            "minute" | "minutes" | "min" | "mins" | "m" => iv.micros += (n * 6e7) as i64,
            "second" | "seconds" | "sec" | "secs" | "s" => iv.micros += (n * 1e6).round() as i64,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => iv.micros += (n * 1e3) as i64,
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => iv.micros += n as i64,
            _ => return None,
        }
    }
    if negate {
        iv = Interval { months: -iv.months, days: -iv.days, micros: -iv.micros };
    }
    Some(iv)
}

/// The weight (position of the leading base-10000 digit) and that digit of
/// `d`, as PostgreSQL's numeric keeps them.
fn base10000_lead(d: &Decimal) -> (i64, u32) {
    if d.is_zero() {
        return (0, 0);
    }
    let text = d.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = int.trim_start_matches('0');
    if !int.is_empty() {
        let weight = (int.len() as i64 - 1) / 4;
        let lead_len = int.len() - 4 * weight as usize;
        return (weight, int[..lead_len].parse().unwrap_or(0));
    }
    let zeros = frac.len() - frac.trim_start_matches('0').len();
    let group = zeros / 4;
    let digits: String = frac.chars().skip(group * 4).take(4).collect();
    (-(group as i64) - 1, format!("{digits:0<4}").parse().unwrap_or(0))
}

/// `x / y` with the scale PostgreSQL gives a numeric quotient (at least 16
/// significant digits, and no fewer decimals than either operand), shown
/// with exactly that many decimals. `None` on division by zero or overflow.
pub(crate) fn numeric_div(x: Decimal, y: Decimal) -> Option<Decimal> {
    if y.is_zero() {
        return None;
    }
    let (w1, f1) = base10000_lead(&x);
    let (w2, f2) = base10000_lead(&y);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let scale = (16 - qweight * 4).max(i64::from(x.scale())).max(i64::from(y.scale())).clamp(0, 28) as u32;
    let mut q = x.checked_div(y)?.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    q.rescale(scale);
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn div(a: &str, b: &str) -> String {
        numeric_div(a.parse().unwrap_or_default(), b.parse().unwrap_or_default())
            .map(|d| d.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn numeric_division_scales_like_postgres() {
        assert_eq!(div("1.00", "1"), "1.00000000000000000000");
        assert_eq!(div("30.50", "2"), "15.2500000000000000");
        assert_eq!(div("7.0", "2"), "3.5000000000000000");
        assert_eq!(div("1", "3"), "0.33333333333333333333");
        assert_eq!(div("10", "4"), "2.5000000000000000");
    }
}
