//! Values on the wire: MySQL column types for engine types, rows in the
//! text and binary protocols, and the parameters of COM_STMT_EXECUTE.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::io::ParseBuf;
use mysql_common::proto::{MyDeserialize, MySerialize};
use mysql_common::value::{BinValue, Value as MyValue, ValueDeserializer};
use orbit_sql::{Column, format};
use orbit_storage::{DataType, Value};

use crate::results::lenenc_bytes;

/// utf8mb4_general_ci, the connection's character set.
const UTF8MB4: u16 = 45;
/// `binary`, for numbers and bytes.
const BINARY: u16 = 63;

/// The MySQL column type a result column of type `t` is sent as.
pub(crate) fn column_type(t: &DataType) -> ColumnType {
    match t {
        DataType::Boolean => ColumnType::MYSQL_TYPE_TINY,
        DataType::SmallInt => ColumnType::MYSQL_TYPE_SHORT,
        DataType::Integer => ColumnType::MYSQL_TYPE_LONG,
        DataType::BigInt => ColumnType::MYSQL_TYPE_LONGLONG,
        DataType::Real => ColumnType::MYSQL_TYPE_FLOAT,
        DataType::Double => ColumnType::MYSQL_TYPE_DOUBLE,
        DataType::Numeric { .. } => ColumnType::MYSQL_TYPE_NEWDECIMAL,
        DataType::Bytes => ColumnType::MYSQL_TYPE_BLOB,
        DataType::Date => ColumnType::MYSQL_TYPE_DATE,
        DataType::Time => ColumnType::MYSQL_TYPE_TIME,
        DataType::Timestamp => ColumnType::MYSQL_TYPE_DATETIME,
        DataType::TimestampTz => ColumnType::MYSQL_TYPE_TIMESTAMP,
        DataType::Json => ColumnType::MYSQL_TYPE_JSON,
        DataType::Text
        | DataType::Varchar { .. }
        | DataType::Char { .. }
        | DataType::Interval
        | DataType::Uuid
        | DataType::InternalChar => ColumnType::MYSQL_TYPE_VAR_STRING,
    }
}

pub(crate) fn column_flags(t: &DataType) -> ColumnFlags {
    match t {
        DataType::Bytes => ColumnFlags::BLOB_FLAG | ColumnFlags::BINARY_FLAG,
        t if orbit_sql::types::is_numeric(t) || matches!(t, DataType::Boolean) => ColumnFlags::NUM_FLAG,
        _ => ColumnFlags::empty(),
    }
}

pub(crate) fn charset(t: &DataType) -> u16 {
    if orbit_sql::types::is_numeric(t)
        || matches!(t, DataType::Boolean | DataType::Bytes | DataType::Date | DataType::Time | DataType::Timestamp)
        || matches!(t, DataType::TimestampTz)
    {
        BINARY
    } else {
        UTF8MB4
    }
}

/// The display length clients size columns by (bytes, four per character).
pub(crate) fn column_length(t: &DataType) -> u32 {
    match t {
        DataType::Boolean => 1,
        DataType::SmallInt => 6,
        DataType::Integer => 11,
        DataType::BigInt => 20,
        DataType::Real => 12,
        DataType::Double => 22,
        DataType::Numeric { precision, .. } => precision.unwrap_or(65) + 2,
        DataType::Varchar { max: Some(n) } => n.saturating_mul(4),
        DataType::Char { len } => len.saturating_mul(4),
        DataType::Date => 10,
        DataType::Time => 17,
        DataType::Timestamp | DataType::TimestampTz => 26,
        DataType::Uuid => 144,
        _ => 0xFFFF_FFFF,
    }
}

pub(crate) fn decimals(t: &DataType) -> u8 {
    match t {
        DataType::Numeric { scale, .. } => scale.map_or(30, |s| s.min(30) as u8),
        DataType::Real | DataType::Double => 31,
        DataType::Time | DataType::Timestamp | DataType::TimestampTz => 6,
        _ => 0,
    }
}

/// A value as the text protocol sends it.
fn text(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => {
            if *b {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            }
        }
        Value::Bytes(b) => b.clone(),
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Timestamp(t) => datetime_text(*t).into_bytes(),
        Value::TimestampTz(t) => datetime_text(t.naive_utc()).into_bytes(),
        Value::Time(t) => time_text(*t).into_bytes(),
        Value::Json(j) => format::jsonb_text(j).into_bytes(),
        other => format::cast_text(other).into_bytes(),
    })
}

/// `YYYY-MM-DD hh:mm:ss[.ffffff]`: MySQL prints no zone.
fn datetime_text(t: NaiveDateTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

fn time_text(t: NaiveTime) -> String {
    if t.nanosecond() == 0 { t.format("%H:%M:%S").to_string() } else { t.format("%H:%M:%S%.6f").to_string() }
}

/// A text-protocol row.
pub(crate) fn text_row(buf: &mut Vec<u8>, row: &[Value]) {
    for v in row {
        match text(v) {
            Some(b) => lenenc_bytes(buf, &b),
            None => buf.push(0xFB),
        }
    }
}

/// A value in the binary encoding of column type `t`: the encoding must
/// match the type the column definition announced.
fn binary(v: &Value, t: &DataType) -> MyValue {
    let as_int = |v: &Value| -> i64 {
        match v {
            Value::Int(i) => *i,
            Value::Bool(b) => i64::from(*b),
            Value::Float(f) => *f as i64,
            Value::Decimal(d) => i64::try_from(d.trunc()).unwrap_or(0),
            other => format::cast_text(other).trim().parse().unwrap_or(0),
        }
    };
    let as_float = |v: &Value| -> f64 {
        match v {
            Value::Float(f) => *f,
            Value::Int(i) => *i as f64,
            Value::Decimal(d) => f64::try_from(*d).unwrap_or(0.0),
            other => format::cast_text(other).trim().parse().unwrap_or(0.0),
        }
    };
    match column_type(t) {
        ColumnType::MYSQL_TYPE_TINY
        | ColumnType::MYSQL_TYPE_SHORT
        | ColumnType::MYSQL_TYPE_LONG
        | ColumnType::MYSQL_TYPE_LONGLONG => MyValue::Int(as_int(v)),
        ColumnType::MYSQL_TYPE_FLOAT => MyValue::Float(as_float(v) as f32),
        ColumnType::MYSQL_TYPE_DOUBLE => MyValue::Double(as_float(v)),
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_TIMESTAMP => {
            let dt = match v {
                Value::Date(d) => d.and_time(NaiveTime::MIN),
                Value::Timestamp(t) => *t,
                Value::TimestampTz(t) => t.naive_utc(),
                _ => NaiveDate::default().and_time(NaiveTime::MIN),
            };
            MyValue::Date(
                u16::try_from(dt.year()).unwrap_or(0),
                dt.month() as u8,
                dt.day() as u8,
                dt.hour() as u8,
                dt.minute() as u8,
                dt.second() as u8,
                dt.nanosecond() / 1000,
            )
        }
        ColumnType::MYSQL_TYPE_TIME => {
            let t = if let Value::Time(t) = v { *t } else { NaiveTime::MIN };
            MyValue::Time(false, 0, t.hour() as u8, t.minute() as u8, t.second() as u8, t.nanosecond() / 1000)
        }
        _ => MyValue::Bytes(text(v).unwrap_or_default()),
    }
}

/// A binary-protocol row: a header byte, the NULL bitmap (offset by two
/// bits), then each non-NULL value.
pub(crate) fn binary_row(buf: &mut Vec<u8>, row: &[Value], cols: &[Column]) {
    buf.push(0x00);
    let start = buf.len();
    buf.resize(start + (row.len() + 7 + 2) / 8, 0);
    for (i, v) in row.iter().enumerate() {
        if matches!(v, Value::Null) {
            let bit = i + 2;
            buf[start + bit / 8] |= 1 << (bit % 8);
        }
    }
    for (v, c) in row.iter().zip(cols) {
        if matches!(v, Value::Null) {
            continue;
        }
        // Integers take their column type's width; mysql_common would
        // write every one as eight bytes.
        match (binary(v, &c.ty), column_type(&c.ty)) {
            (MyValue::Int(i), ColumnType::MYSQL_TYPE_TINY) => buf.push(i as i8 as u8),
            (MyValue::Int(i), ColumnType::MYSQL_TYPE_SHORT) => buf.extend_from_slice(&(i as i16).to_le_bytes()),
            (MyValue::Int(i), ColumnType::MYSQL_TYPE_LONG) => buf.extend_from_slice(&(i as i32).to_le_bytes()),
            (MyValue::Int(i), _) => buf.extend_from_slice(&i.to_le_bytes()),
            (other, _) => other.serialize(buf),
        }
    }
}

/// A parameter's wire value as an engine value.
fn param(v: MyValue) -> Result<Value, String> {
    Ok(match v {
        MyValue::NULL => Value::Null,
        MyValue::Int(i) => Value::Int(i),
        MyValue::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Decimal(rust_decimal::Decimal::from(u)),
        },
        MyValue::Float(f) => Value::Float(f64::from(f)),
        MyValue::Double(f) => Value::Float(f),
        // Text parameters are read by the column or operator they meet.
        MyValue::Bytes(b) => match String::from_utf8(b) {
            Ok(s) => Value::Text(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
        MyValue::Date(y, mo, d, h, mi, s, us) => {
            let date = NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))
                .ok_or_else(|| format!("Incorrect datetime value: '{y:04}-{mo:02}-{d:02}'"))?;
            let time = NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us)
                .ok_or_else(|| "Incorrect datetime value".to_string())?;
            Value::Timestamp(date.and_time(time))
        }
        MyValue::Time(negative, days, h, mi, s, us) => {
            if negative || days > 0 {
                return Err("Incorrect time value: only times of day are supported".into());
            }
            Value::Time(
                NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us)
                    .ok_or_else(|| "Incorrect time value".to_string())?,
            )
        }
    })
}

/// Parameter types a statement was last executed with: a client sends
/// them only when they change.
pub(crate) type ParamTypes = Vec<(ColumnType, ColumnFlags)>;

/// Reads the parameters of a COM_STMT_EXECUTE body (after statement id,
/// flags and iteration count). `long` holds COM_STMT_SEND_LONG_DATA
/// values by parameter.
pub(crate) fn params(
    body: &[u8],
    count: usize,
    types: &mut ParamTypes,
    long: &std::collections::HashMap<u16, Vec<u8>>,
) -> Result<Vec<Value>, String> {
    let bad = || "Malformed communication packet".to_string();
    if count == 0 {
        return Ok(Vec::new());
    }
    let bitmap_len = count.div_ceil(8);
    let bitmap = body.get(..bitmap_len).ok_or_else(bad)?;
    let mut rest = body.get(bitmap_len..).ok_or_else(bad)?;
    let (&bound, after) = rest.split_first().ok_or_else(bad)?;
    rest = after;
    if bound == 1 {
        let raw = rest.get(..count * 2).ok_or_else(bad)?;
        *types = raw
            .chunks(2)
            .map(|t| {
                let ty = ColumnType::try_from(t[0]).map_err(|_| format!("Unknown parameter type {}", t[0]))?;
                let flags = if t[1] & 0x80 != 0 { ColumnFlags::UNSIGNED_FLAG } else { ColumnFlags::empty() };
                Ok((ty, flags))
            })
            .collect::<Result<_, String>>()?;
        rest = &rest[count * 2..];
    }
    if types.len() != count {
        return Err("Incorrect arguments to mysqld_stmt_execute".into());
    }
    let mut buf = ParseBuf(rest);
    let mut out = Vec::with_capacity(count);
    for (i, (ty, flags)) in types.iter().enumerate() {
        if bitmap[i / 8] & (1 << (i % 8)) != 0 {
            out.push(Value::Null);
            continue;
        }
        if let Some(data) = long.get(&(i as u16)) {
            out.push(param(MyValue::Bytes(data.clone()))?);
            continue;
        }
        let v = ValueDeserializer::<BinValue>::deserialize((*ty, *flags), &mut buf).map_err(|_| bad())?;
        out.push(param(v.0)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_decode_or_fail_cleanly() {
        let mut types = ParamTypes::new();
        // Two parameters: LONGLONG 7 and a NULL string.
        let mut body = vec![0b10, 1, 0x08, 0, 0xFD, 0];
        body.extend_from_slice(&7i64.to_le_bytes());
        let v = params(&body, 2, &mut types, &Default::default()).expect("decodes");
        assert_eq!(v, vec![Value::Int(7), Value::Null]);
        // The same types again, not resent.
        let mut again = vec![0b00, 0];
        again.extend_from_slice(&8i64.to_le_bytes());
        again.extend_from_slice(&[1, b'x']);
        assert_eq!(
            params(&again, 2, &mut types, &Default::default()).expect("ok"),
            vec![Value::Int(8), Value::Text("x".into())]
        );
        assert!(params(&[0, 1, 0x08], 2, &mut ParamTypes::new(), &Default::default()).is_err(), "truncated");
        assert!(params(&[0, 1, 0xEE, 0], 1, &mut ParamTypes::new(), &Default::default()).is_err(), "unknown type");
    }

    #[test]
    fn rows_encode_nulls_and_types() {
        let cols =
            vec![Column { name: "a".into(), ty: DataType::Integer }, Column { name: "b".into(), ty: DataType::Text }];
        let mut b = Vec::new();
        binary_row(&mut b, &[Value::Null, Value::Text("hi".into())], &cols);
        assert_eq!(b, vec![0x00, 0b100, 2, b'h', b'i']);
        b.clear();
        text_row(&mut b, &[Value::Null, Value::Bool(true)]);
        assert_eq!(b, vec![0xFB, 1, b'1']);
    }
}
