//! Compact encoding of a row's values.
//!
//! A row is a format byte followed by `(column id, tag, payload)` for each
//! non-NULL column. Column ids rather than positions mean a column added
//! later reads as NULL in old rows and a dropped column's bytes are ignored,
//! so ALTER TABLE never rewrites the table.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime};
use rust_decimal::Decimal;

use super::varint::{corrupt, get_i64, get_u64, put_i64, put_u64, take, take_array};
use crate::error::Result;
use crate::value::{Interval, Value, time_micros};

const FORMAT_V1: u8 = 1;

mod tag {
    pub(super) const FALSE: u8 = 1;
    pub(super) const TRUE: u8 = 2;
    pub(super) const INT: u8 = 3;
    pub(super) const FLOAT: u8 = 4;
    pub(super) const DECIMAL: u8 = 5;
    pub(super) const TEXT: u8 = 6;
    pub(super) const BYTES: u8 = 7;
    pub(super) const DATE: u8 = 8;
    pub(super) const TIME: u8 = 9;
    pub(super) const TIMESTAMP: u8 = 10;
    pub(super) const TIMESTAMPTZ: u8 = 11;
    pub(super) const INTERVAL: u8 = 12;
    pub(super) const UUID: u8 = 13;
    pub(super) const JSON: u8 = 14;
}

/// Encodes `values`, where `values[i]` belongs to column id `ids[i]`.
pub fn encode(ids: &[u32], values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + values.len() * 8);
    out.push(FORMAT_V1);
    for (id, v) in ids.iter().zip(values) {
        if v.is_null() {
            continue;
        }
        put_u64(&mut out, u64::from(*id));
        put_value(&mut out, v);
    }
    out
}

fn put_len_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(false) => out.push(tag::FALSE),
        Value::Bool(true) => out.push(tag::TRUE),
        Value::Int(i) => {
            out.push(tag::INT);
            put_i64(out, *i);
        }
        Value::Float(f) => {
            out.push(tag::FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Decimal(d) => {
            out.push(tag::DECIMAL);
            out.extend_from_slice(&d.serialize());
        }
        Value::Text(s) => {
            out.push(tag::TEXT);
            put_len_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(tag::BYTES);
            put_len_bytes(out, b);
        }
        Value::Date(d) => {
            out.push(tag::DATE);
            put_i64(out, i64::from(d.num_days_from_ce()));
        }
        Value::Time(t) => {
            out.push(tag::TIME);
            put_i64(out, time_micros(*t));
        }
        Value::Timestamp(t) => {
            out.push(tag::TIMESTAMP);
            put_i64(out, t.and_utc().timestamp_micros());
        }
        Value::TimestampTz(t) => {
            out.push(tag::TIMESTAMPTZ);
            put_i64(out, t.timestamp_micros());
        }
        Value::Interval(i) => {
            out.push(tag::INTERVAL);
            put_i64(out, i64::from(i.months));
            put_i64(out, i64::from(i.days));
            put_i64(out, i.micros);
        }
        Value::Uuid(u) => {
            out.push(tag::UUID);
            out.extend_from_slice(u.as_bytes());
        }
        Value::Json(j) => {
            out.push(tag::JSON);
            put_len_bytes(out, j.to_string().as_bytes());
        }
    }
}

/// Decodes a row into values for the columns `ids`, in that order; columns
/// absent from the bytes are NULL.
pub fn decode(bytes: &[u8], ids: &[u32]) -> Result<Vec<Value>> {
    let mut out = vec![Value::Null; ids.len()];
    let mut input = bytes;
    if take(&mut input, 1)?[0] != FORMAT_V1 {
        return Err(corrupt("unknown row format"));
    }
    while !input.is_empty() {
        let id = u32::try_from(get_u64(&mut input)?).map_err(|_| corrupt("column id out of range"))?;
        let v = get_value(&mut input)?;
        if let Some(pos) = ids.iter().position(|&c| c == id) {
            out[pos] = v;
        }
    }
    Ok(out)
}

fn get_len_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8]> {
    let n = usize::try_from(get_u64(input)?).map_err(|_| corrupt("length out of range"))?;
    take(input, n)
}

fn get_value(input: &mut &[u8]) -> Result<Value> {
    let bad = |what: &str| corrupt(&format!("{what} in row out of range"));
    Ok(match take(input, 1)?[0] {
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::INT => Value::Int(get_i64(input)?),
        tag::FLOAT => Value::Float(f64::from_bits(u64::from_le_bytes(take_array(input)?))),
        tag::DECIMAL => Value::Decimal(Decimal::deserialize(take_array(input)?)),
        tag::TEXT => Value::Text(
            std::str::from_utf8(get_len_bytes(input)?).map_err(|_| corrupt("row text is not UTF-8"))?.to_owned(),
        ),
        tag::BYTES => Value::Bytes(get_len_bytes(input)?.to_vec()),
        tag::DATE => {
            let days = i32::try_from(get_i64(input)?).map_err(|_| bad("date"))?;
            Value::Date(NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| bad("date"))?)
        }
        tag::TIME => {
            let us = get_i64(input)?;
            let secs = u32::try_from(us / 1_000_000).map_err(|_| bad("time"))?;
            let nanos = u32::try_from(us % 1_000_000).map_err(|_| bad("time"))? * 1000;
            Value::Time(NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).ok_or_else(|| bad("time"))?)
        }
        tag::TIMESTAMP => Value::Timestamp(
            DateTime::from_timestamp_micros(get_i64(input)?).ok_or_else(|| bad("timestamp"))?.naive_utc(),
        ),
        tag::TIMESTAMPTZ => {
            Value::TimestampTz(DateTime::from_timestamp_micros(get_i64(input)?).ok_or_else(|| bad("timestamp"))?)
        }
        tag::INTERVAL => {
            let months = i32::try_from(get_i64(input)?).map_err(|_| bad("interval"))?;
            let days = i32::try_from(get_i64(input)?).map_err(|_| bad("interval"))?;
            Value::Interval(Interval { months, days, micros: get_i64(input)? })
        }
        tag::UUID => Value::Uuid(uuid::Uuid::from_bytes(take_array(input)?)),
        tag::JSON => {
            Value::Json(serde_json::from_slice(get_len_bytes(input)?).map_err(|_| corrupt("row json does not parse"))?)
        }
        _ => return Err(corrupt("unknown value tag in row")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn every_kind_round_trips() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        let values = vec![
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::Float(-0.0),
            Value::Decimal(Decimal::new(-123_456_789, 4)),
            Value::Text("naïve \0 text".into()),
            Value::Bytes(vec![0, 255, 1]),
            Value::Date(date),
            Value::Time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).expect("time")),
            Value::Timestamp(date.and_hms_micro_opt(1, 2, 3, 4).expect("ts")),
            Value::TimestampTz(Utc.timestamp_opt(1_700_000_000, 123_456_000).single().expect("tz")),
            Value::Interval(Interval { months: -1, days: 40, micros: 5 }),
            Value::Uuid(uuid::Uuid::from_u128(7)),
            Value::Json(serde_json::json!({"a": [1, null, "x"]})),
            Value::Null,
        ];
        let ids: Vec<u32> = (1..=values.len() as u32).collect();
        let bytes = encode(&ids, &values);
        assert_eq!(decode(&bytes, &ids), Ok(values));
    }

    #[test]
    fn missing_columns_read_null_and_unknown_are_skipped() {
        let bytes = encode(&[1, 2], &[Value::Int(1), Value::Text("x".into())]);
        assert_eq!(decode(&bytes, &[2, 3]), Ok(vec![Value::Text("x".into()), Value::Null]));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[], &[1]).is_err());
        assert!(decode(&[1, 1, 99], &[1]).is_err());
        assert!(decode(&[1, 1, tag::TEXT, 200], &[1]).is_err());
    }
}
