//! Values on the wire: PostgreSQL's types, and both wire formats.
//!
//! Rows are encoded here rather than through pgwire's encoder so that every
//! type's text and binary forms come from one place and match the engine's
//! text output exactly.

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use orbit_sql::{Column, SqlError, format, types};
use orbit_storage::{DataType, Interval, Value};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;
use postgres_types::FromSql;
use rust_decimal::Decimal;

/// The PostgreSQL type of a column type.
pub(crate) fn pg_type(t: &DataType) -> Type {
    match t {
        DataType::Boolean => Type::BOOL,
        DataType::SmallInt => Type::INT2,
        DataType::Integer => Type::INT4,
        DataType::BigInt => Type::INT8,
        DataType::Real => Type::FLOAT4,
        DataType::Double => Type::FLOAT8,
        DataType::Numeric { .. } => Type::NUMERIC,
        DataType::Text => Type::TEXT,
        DataType::Varchar { .. } => Type::VARCHAR,
        DataType::Char { .. } => Type::BPCHAR,
        DataType::Bytes => Type::BYTEA,
        DataType::Date => Type::DATE,
        DataType::Time => Type::TIME,
        DataType::Timestamp => Type::TIMESTAMP,
        DataType::TimestampTz => Type::TIMESTAMPTZ,
        DataType::Interval => Type::INTERVAL,
        DataType::Uuid => Type::UUID,
        DataType::Json => Type::JSONB,
        DataType::InternalChar => Type::CHAR,
    }
}

/// The PostgreSQL array type whose elements are of type `elem`.
pub(crate) fn pg_array_type(elem: &DataType) -> Type {
    match pg_type(elem) {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT2 => Type::INT2_ARRAY,
        Type::INT4 => Type::INT4_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::VARCHAR => Type::VARCHAR_ARRAY,
        Type::BPCHAR => Type::BPCHAR_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::INTERVAL => Type::INTERVAL_ARRAY,
        Type::UUID => Type::UUID_ARRAY,
        Type::JSONB => Type::JSONB_ARRAY,
        _ => Type::TEXT_ARRAY,
    }
}

/// Decodes a one-dimensional array parameter sent in binary into the
/// array's text form (how arrays travel in the engine); each element is
/// decoded as `elem`.
pub(crate) fn decode_array_param(raw: &[u8], elem: &DataType) -> Result<Value, SqlError> {
    let bad = || {
        SqlError::new(
            orbit_sql::ErrorCode::InvalidParameter,
            "incorrect binary data format in bind parameter of array type",
        )
    };
    fn int(buf: &mut &[u8]) -> Option<i32> {
        let (head, rest) = buf.split_first_chunk::<4>()?;
        *buf = rest;
        Some(i32::from_be_bytes(*head))
    }
    let mut buf = raw;
    let dims = int(&mut buf).ok_or_else(bad)?;
    let _has_nulls = int(&mut buf).ok_or_else(bad)?;
    let elem_oid = int(&mut buf).ok_or_else(bad)?;
    // Elements are decoded as the type the client sent them as (an int8[]
    // for an int4 column, say), when it is one known here.
    let sent = u32::try_from(elem_oid).ok().and_then(Type::from_oid).and_then(|t| from_pg_type(&t));
    let elem = sent.as_ref().unwrap_or(elem);
    let len = match dims {
        0 => 0,
        1 => {
            let len = int(&mut buf).ok_or_else(bad)?;
            let _lower = int(&mut buf).ok_or_else(bad)?;
            usize::try_from(len).map_err(|_| bad())?
        }
        _ => return Err(SqlError::unsupported("multi-dimensional array parameters")),
    };
    let mut items = Vec::with_capacity(len.min(4096));
    for _ in 0..len {
        let n = int(&mut buf).ok_or_else(bad)?;
        if n < 0 {
            items.push(Value::Null);
            continue;
        }
        let n = usize::try_from(n).map_err(|_| bad())?;
        if buf.len() < n {
            return Err(bad());
        }
        let (bytes, rest) = buf.split_at(n);
        buf = rest;
        items.push(decode_param(bytes, true, elem)?);
    }
    if !buf.is_empty() {
        return Err(bad());
    }
    Ok(Value::Text(orbit_sql::format::array_text(items.iter())))
}

/// The column type a client's declared parameter type stands for; `None`
/// leaves it to inference.
pub(crate) fn from_pg_type(t: &Type) -> Option<DataType> {
    Some(match *t {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::SmallInt,
        Type::INT4 | Type::OID => DataType::Integer,
        Type::INT8 => DataType::BigInt,
        Type::FLOAT4 => DataType::Real,
        Type::FLOAT8 => DataType::Double,
        Type::NUMERIC => DataType::Numeric { precision: None, scale: None },
        Type::TEXT | Type::NAME => DataType::Text,
        Type::VARCHAR => DataType::Varchar { max: None },
        Type::BPCHAR => DataType::Text,
        Type::CHAR => DataType::InternalChar,
        Type::BYTEA => DataType::Bytes,
        Type::DATE => DataType::Date,
        Type::TIME => DataType::Time,
        Type::TIMESTAMP => DataType::Timestamp,
        Type::TIMESTAMPTZ => DataType::TimestampTz,
        Type::INTERVAL => DataType::Interval,
        Type::UUID => DataType::Uuid,
        Type::JSON | Type::JSONB => DataType::Json,
        _ => return None,
    })
}

/// `pg_attribute.atttypmod` of a type: declared lengths and precisions.
fn type_modifier(t: &DataType) -> i32 {
    match t {
        DataType::Varchar { max: Some(n) } | DataType::Char { len: n } => *n as i32 + 4,
        DataType::Numeric { precision: Some(p), scale } => ((*p as i32) << 16 | scale.unwrap_or(0) as i32) + 4,
        _ => -1,
    }
}

/// `pg_type.typlen`.
fn type_size(t: &DataType) -> i16 {
    match t {
        DataType::Boolean => 1,
        DataType::SmallInt => 2,
        DataType::Integer | DataType::Real | DataType::Date => 4,
        DataType::BigInt | DataType::Double | DataType::Time | DataType::Timestamp | DataType::TimestampTz => 8,
        DataType::Interval | DataType::Uuid => 16,
        _ => -1,
    }
}

/// A RowDescription field per column, in the formats asked for.
pub(crate) fn fields(columns: &[Column], format_for: impl Fn(usize) -> FieldFormat) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            FieldInfo::new(c.name.clone(), None, None, pg_type(&c.ty), format_for(i))
                .with_type_modifier(type_modifier(&c.ty))
                .with_type_size(type_size(&c.ty))
        })
        .collect()
}

/// Encodes one row in the fields' formats.
pub(crate) fn encode_row(row: &[Value], columns: &[Column], fields: &[FieldInfo]) -> DataRow {
    let mut data = BytesMut::with_capacity(row.len() * 8);
    for ((v, c), f) in row.iter().zip(columns).zip(fields) {
        if v.is_null() {
            data.put_i32(-1);
            continue;
        }
        let at = data.len();
        data.put_i32(0);
        match f.format() {
            FieldFormat::Binary => encode_binary(v, &c.ty, &mut data),
            FieldFormat::Text => data.put_slice(format::to_text(v, &c.ty).unwrap_or_default().as_bytes()),
        }
        let len = (data.len() - at - 4) as i32;
        data[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    DataRow::new(data, row.len() as i16)
}

const PG_EPOCH_DAYS: i64 = 10_957; // 1970-01-01 to 2000-01-01
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400_000_000;

fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default().and_time(NaiveTime::MIN)
}

fn encode_binary(v: &Value, ty: &DataType, out: &mut BytesMut) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.put_u8(u8::from(*b)),
        Value::Int(i) => match ty {
            DataType::SmallInt => out.put_i16(*i as i16),
            DataType::Integer => out.put_i32(*i as i32),
            _ => out.put_i64(*i),
        },
        Value::Float(f) => match ty {
            DataType::Real => out.put_f32(*f as f32),
            _ => out.put_f64(*f),
        },
        Value::Decimal(d) => encode_numeric(d, out),
        // `"char"` is exactly one byte, 0 for the empty value.
        Value::Text(s) if *ty == DataType::InternalChar => out.put_u8(s.as_bytes().first().copied().unwrap_or(0)),
        Value::Text(s) => out.put_slice(s.as_bytes()),
        Value::Bytes(b) => out.put_slice(b),
        Value::Date(d) => out.put_i32((d.signed_duration_since(pg_epoch().date()).num_days()) as i32),
        Value::Time(t) => out.put_i64((*t - NaiveTime::MIN).num_microseconds().unwrap_or(0)),
        Value::Timestamp(t) => out.put_i64(t.and_utc().timestamp_micros() - PG_EPOCH_MICROS),
        Value::TimestampTz(t) => out.put_i64(t.timestamp_micros() - PG_EPOCH_MICROS),
        Value::Interval(i) => {
            out.put_i64(i.micros);
            out.put_i32(i.days);
            out.put_i32(i.months);
        }
        Value::Uuid(u) => out.put_slice(u.as_bytes()),
        Value::Json(j) => {
            // jsonb's binary form: a version byte, then the text.
            out.put_u8(1);
            out.put_slice(format::jsonb_text(j).as_bytes());
        }
    }
}

/// numeric's binary form: base-10000 digits with weight, sign and scale.
fn encode_numeric(d: &Decimal, out: &mut BytesMut) {
    let scale = d.scale();
    let text = d.abs().to_string();
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let int_part = int_part.trim_start_matches('0');
    // Pad to whole groups of four on both sides of the point.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let digits_str = format!("{}{int_part}{frac_part}{}", "0".repeat(int_pad), "0".repeat(frac_pad));
    let mut digits: Vec<i16> = digits_str
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).ok().and_then(|s| s.parse().ok()).unwrap_or(0))
        .collect();
    let int_groups = (int_part.len() + int_pad) / 4;
    let mut weight = int_groups as i16 - 1;
    // Strip leading and trailing zero groups.
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    out.put_i16(digits.len() as i16);
    out.put_i16(weight);
    out.put_u16(if d.is_sign_negative() && !d.is_zero() { 0x4000 } else { 0 });
    out.put_u16(scale as u16);
    for g in digits {
        out.put_i16(g);
    }
}

fn decode_numeric(raw: &[u8]) -> Option<Decimal> {
    let rd = |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*raw.get(i)?, *raw.get(i + 1)?])) };
    let ndigits = rd(0)?;
    let weight = rd(2)?;
    let sign = rd(4)? as u16;
    let dscale = rd(6)? as u16;
    if sign == 0xC000 {
        return None; // NaN has no Decimal
    }
    let mut text = String::new();
    let mut frac = String::new();
    for k in 0..ndigits.max(0) as usize {
        let g = rd(8 + 2 * k)?;
        let pos = weight as i32 - k as i32;
        if pos >= 0 {
            text.push_str(&format!("{g:04}"));
        } else {
            frac.push_str(&format!("{g:04}"));
        }
    }
    // Integer groups missing after the last digit are zeros.
    let int_groups = (weight as i32 + 1).max(0) as usize;
    let have_int = text.len() / 4;
    for _ in have_int..int_groups {
        text.push_str("0000");
    }
    // Fraction groups before the first digit are zeros.
    if weight < -1 {
        frac = "0000".repeat((-1 - weight as i32) as usize) + &frac;
    }
    let mut frac: String = frac.chars().take(dscale as usize).collect();
    while frac.len() < dscale as usize {
        frac.push('0');
    }
    let int = if text.trim_start_matches('0').is_empty() {
        "0".to_string()
    } else {
        text.trim_start_matches('0').to_string()
    };
    let s = if frac.is_empty() { int } else { format!("{int}.{frac}") };
    let d: Decimal = s.parse().ok()?;
    Some(if sign == 0x4000 { -d } else { d })
}

/// Decodes a parameter sent in `binary` or text format as type `ty`.
pub(crate) fn decode_param(raw: &[u8], binary: bool, ty: &DataType) -> Result<Value, SqlError> {
    if !binary {
        let text = std::str::from_utf8(raw).map_err(|_| {
            SqlError::new(
                orbit_sql::ErrorCode::InvalidTextRepresentation,
                "invalid byte sequence for encoding \"UTF8\"",
            )
        })?;
        return types::parse_text(ty, text);
    }
    let bad = || {
        SqlError::new(
            orbit_sql::ErrorCode::InvalidParameter,
            format!("incorrect binary data format in bind parameter of type {}", types::type_label(ty)),
        )
    };
    let pg = pg_type(ty);
    let v = match ty {
        DataType::Boolean => Value::Bool(bool::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::SmallInt => Value::Int(i16::from_sql(&pg, raw).map_err(|_| bad())?.into()),
        DataType::Integer => Value::Int(i32::from_sql(&pg, raw).map_err(|_| bad())?.into()),
        DataType::BigInt => Value::Int(i64::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::Real => Value::Float(f32::from_sql(&pg, raw).map_err(|_| bad())?.into()),
        DataType::Double => Value::Float(f64::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::Numeric { .. } => Value::Decimal(decode_numeric(raw).ok_or_else(bad)?),
        DataType::Text | DataType::Varchar { .. } | DataType::Char { .. } => {
            Value::Text(String::from_utf8(raw.to_vec()).map_err(|_| bad())?)
        }
        DataType::InternalChar => match raw {
            [] | [0] => Value::Text(String::new()),
            [b] if b.is_ascii() => Value::Text(char::from(*b).to_string()),
            _ => return Err(bad()),
        },
        DataType::Bytes => Value::Bytes(raw.to_vec()),
        DataType::Date => Value::Date(NaiveDate::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::Time => Value::Time(NaiveTime::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::Timestamp => Value::Timestamp(NaiveDateTime::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::TimestampTz => Value::TimestampTz(DateTime::<Utc>::from_sql(&pg, raw).map_err(|_| bad())?),
        DataType::Interval => {
            if raw.len() != 16 {
                return Err(bad());
            }
            let micros = i64::from_be_bytes(raw[0..8].try_into().map_err(|_| bad())?);
            let days = i32::from_be_bytes(raw[8..12].try_into().map_err(|_| bad())?);
            let months = i32::from_be_bytes(raw[12..16].try_into().map_err(|_| bad())?);
            Value::Interval(Interval { months, days, micros })
        }
        DataType::Uuid => Value::Uuid(uuid::Uuid::from_slice(raw).map_err(|_| bad())?),
        DataType::Json => {
            // A client may send json (plain text) or jsonb (version 1 + text).
            let body = if raw.first() == Some(&1) && !raw.starts_with(b"1") { &raw[1..] } else { raw };
            Value::Json(serde_json::from_slice(body).map_err(|_| bad())?)
        }
    };
    types::assign(v, ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_round_trips() {
        for s in
            ["0", "1", "-1", "10000", "12345.678", "0.0001", "-0.00012", "99999999.99", "1.10", "123456789012345678.5"]
        {
            let d: Decimal = s.parse().unwrap_or_default();
            let mut buf = BytesMut::new();
            encode_numeric(&d, &mut buf);
            let back = decode_numeric(&buf);
            assert_eq!(back.map(|b| b.to_string()), Some(d.to_string()), "{s}");
        }
    }
}
