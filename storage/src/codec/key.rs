//! Order-preserving ("memcomparable") encoding of key values.
//!
//! Comparing two encodings byte by byte gives the same answer as comparing
//! the values, so a primary-key range is a contiguous range of engine keys
//! and a range query is an engine range scan. Each column's encoding is
//! self-delimiting, so a composite key is the concatenation of its columns
//! and a prefix of columns is a byte prefix.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;

use super::varint::{corrupt, take, take_array};
use crate::error::{Result, StorageError};
use crate::value::{DataType, Interval, Value, time_micros};

/// Sort direction of one key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Ascending, NULLs last.
    #[default]
    Asc,
    /// Descending, NULLs first.
    Desc,
}

const PRESENT: u8 = 0x01;
const NULL: u8 = 0x02;

/// Appends the encoding of `v` to `out`.
pub fn encode(v: &Value, order: SortOrder, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    match v {
        Value::Null => out.push(NULL),
        v => {
            out.push(PRESENT);
            encode_present(v, out)?;
        }
    }
    if order == SortOrder::Desc {
        out[start..].iter_mut().for_each(|b| *b = !*b);
    }
    Ok(())
}

fn encode_present(v: &Value, out: &mut Vec<u8>) -> Result<()> {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Int(i) => put_i64(out, *i),
        Value::Float(f) => out.extend_from_slice(&float_key(*f).to_be_bytes()),
        Value::Decimal(d) => put_decimal(out, *d),
        Value::Text(s) => put_bytes(out, s.as_bytes()),
        Value::Bytes(b) => put_bytes(out, b),
        Value::Date(d) => put_i64(out, i64::from(d.num_days_from_ce())),
        Value::Time(t) => put_i64(out, time_micros(*t)),
        Value::Timestamp(t) => put_i64(out, t.and_utc().timestamp_micros()),
        Value::TimestampTz(t) => put_i64(out, t.timestamp_micros()),
        // Only the comparable span: intervals PostgreSQL calls equal ('1 mon'
        // and '30 days') are one key, as comparisons and uniqueness require.
        // The row keeps the exact value.
        Value::Interval(i) => out.extend_from_slice(&((i.comparable_micros() as u128) ^ (1u128 << 127)).to_be_bytes()),
        Value::Uuid(u) => out.extend_from_slice(u.as_bytes()),
        Value::Json(_) => {
            return Err(StorageError::InvalidValue("a json value cannot be part of a key".into()));
        }
    }
    Ok(())
}

fn put_i64(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(&((i as u64) ^ (1 << 63)).to_be_bytes());
}

fn get_i64(input: &mut &[u8]) -> Result<i64> {
    Ok((u64::from_be_bytes(take_array(input)?) ^ (1 << 63)) as i64)
}

/// Maps a float to an unsigned integer with the same order: `-0.0` and
/// `0.0` meet, every NaN becomes the largest value.
fn float_key(f: f64) -> u64 {
    if f.is_nan() {
        return u64::MAX;
    }
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) }
}

fn float_from_key(k: u64) -> f64 {
    if k == u64::MAX {
        return f64::NAN;
    }
    f64::from_bits(if k >> 63 == 1 { k ^ (1 << 63) } else { !k })
}

/// Bytes with `0x00` escaped as `0x00 0xFF` and a `0x00 0x01` terminator, so
/// a shorter string sorts before any longer one it prefixes.
fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    for &x in b {
        out.push(x);
        if x == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn get_bytes(input: &mut &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let (&x, rest) = input.split_first().ok_or_else(|| corrupt("unterminated key string"))?;
        *input = rest;
        if x != 0 {
            out.push(x);
            continue;
        }
        let (&next, rest) = input.split_first().ok_or_else(|| corrupt("unterminated key string"))?;
        *input = rest;
        match next {
            0xFF => out.push(0),
            0x01 => return Ok(out),
            _ => return Err(corrupt("bad escape in key string")),
        }
    }
}

const DEC_NEG: u8 = 0x01;
const DEC_ZERO: u8 = 0x02;
const DEC_POS: u8 = 0x03;

/// A decimal as sign, then exponent and digits of `0.d1d2... × 10^e` with
/// trailing zeros removed, so `1.50` and `1.5` encode (and compare) equal.
/// Negative numbers invert the magnitude bytes so larger magnitudes sort lower.
fn put_decimal(out: &mut Vec<u8>, d: Decimal) {
    let d = d.normalize();
    if d.is_zero() {
        out.push(DEC_ZERO);
        return;
    }
    let digits = d.mantissa().unsigned_abs().to_string();
    let exponent = digits.len() as i32 - d.scale() as i32;
    let mut mag = Vec::with_capacity(digits.len() + 2);
    mag.push((exponent + 128) as u8);
    mag.extend(digits.bytes().map(|c| c - b'0' + 1));
    mag.push(0);
    if d.is_sign_negative() {
        out.push(DEC_NEG);
        out.extend(mag.iter().map(|b| !b));
    } else {
        out.push(DEC_POS);
        out.extend(mag);
    }
}

fn get_decimal(input: &mut &[u8]) -> Result<Decimal> {
    let sign = take(input, 1)?[0];
    if sign == DEC_ZERO {
        return Ok(Decimal::ZERO);
    }
    let negative = match sign {
        DEC_NEG => true,
        DEC_POS => false,
        _ => return Err(corrupt("bad decimal sign in key")),
    };
    let flip = |b: u8| if negative { !b } else { b };
    let exponent = i32::from(flip(take(input, 1)?[0])) - 128;
    let mut digits = String::new();
    loop {
        let b = flip(take(input, 1)?[0]);
        if b == 0 {
            break;
        }
        if !(1..=10).contains(&b) || digits.len() > 40 {
            return Err(corrupt("bad decimal digit in key"));
        }
        digits.push(char::from(b'0' + b - 1));
    }
    let scale = digits.len() as i32 - exponent;
    let mantissa: i128 = digits.parse().map_err(|_| corrupt("bad decimal digits in key"))?;
    let (mantissa, scale) = if scale < 0 {
        let widened = 10i128.checked_pow(scale.unsigned_abs()).and_then(|p| mantissa.checked_mul(p));
        (widened.ok_or_else(|| corrupt("decimal in key out of range"))?, 0)
    } else {
        (mantissa, scale as u32)
    };
    let d = Decimal::try_from_i128_with_scale(if negative { -mantissa } else { mantissa }, scale)
        .map_err(|_| corrupt("decimal in key out of range"))?;
    Ok(d)
}

/// Decodes one value of type `ty` from the front of `input`.
pub fn decode(ty: &DataType, order: SortOrder, input: &mut &[u8]) -> Result<Value> {
    if order == SortOrder::Desc {
        // Undo the inversion on a copy; the encoding is self-delimiting, so
        // decoding the inverted remainder tells how much was consumed.
        let flipped: Vec<u8> = input.iter().map(|b| !b).collect();
        let mut cursor = flipped.as_slice();
        let v = decode(ty, SortOrder::Asc, &mut cursor)?;
        *input = &input[flipped.len() - cursor.len()..];
        return Ok(v);
    }
    match take(input, 1)?[0] {
        NULL => return Ok(Value::Null),
        PRESENT => {}
        _ => return Err(corrupt("bad key value marker")),
    }
    let bad = |what: &str| corrupt(&format!("{what} in key out of range"));
    Ok(match ty {
        DataType::Boolean => Value::Bool(take(input, 1)?[0] != 0),
        DataType::SmallInt | DataType::Integer | DataType::BigInt => Value::Int(get_i64(input)?),
        DataType::Real | DataType::Double => Value::Float(float_from_key(u64::from_be_bytes(take_array(input)?))),
        DataType::Numeric { .. } => Value::Decimal(get_decimal(input)?),
        DataType::Text | DataType::Varchar { .. } | DataType::Char { .. } | DataType::InternalChar => {
            Value::Text(String::from_utf8(get_bytes(input)?).map_err(|_| corrupt("key text is not UTF-8"))?)
        }
        DataType::Bytes => Value::Bytes(get_bytes(input)?),
        DataType::Date => {
            let days = i32::try_from(get_i64(input)?).map_err(|_| bad("date"))?;
            Value::Date(NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| bad("date"))?)
        }
        DataType::Time => {
            let us = get_i64(input)?;
            let secs = u32::try_from(us / 1_000_000).map_err(|_| bad("time"))?;
            let nanos = u32::try_from(us % 1_000_000).map_err(|_| bad("time"))? * 1000;
            Value::Time(NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).ok_or_else(|| bad("time"))?)
        }
        DataType::Timestamp => Value::Timestamp(
            DateTime::from_timestamp_micros(get_i64(input)?).ok_or_else(|| bad("timestamp"))?.naive_utc(),
        ),
        DataType::TimestampTz => {
            Value::TimestampTz(DateTime::from_timestamp_micros(get_i64(input)?).ok_or_else(|| bad("timestamp"))?)
        }
        DataType::Interval => {
            // Keys keep only the span; it decodes as days and microseconds.
            const DAY: i128 = 86_400_000_000;
            let total = (u128::from_be_bytes(take_array(input)?) ^ (1u128 << 127)) as i128;
            let days = i32::try_from(total.div_euclid(DAY)).map_err(|_| bad("interval"))?;
            let micros = i64::try_from(total.rem_euclid(DAY)).map_err(|_| bad("interval"))?;
            Value::Interval(Interval { months: 0, days, micros })
        }
        DataType::Uuid => Value::Uuid(uuid::Uuid::from_bytes(take_array(input)?)),
        DataType::Json => return Err(StorageError::InvalidValue("a json value cannot be part of a key".into())),
    })
}

/// Normalises a timestamp-like value to the microsecond precision keys and
/// rows keep, so what is stored is exactly what reads return.
pub fn truncate_to_micros(v: Value) -> Value {
    let trunc = |t: NaiveTime| t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t);
    match v {
        Value::Time(t) => Value::Time(trunc(t)),
        Value::Timestamp(t) => Value::Timestamp(t.date().and_time(trunc(t.time()))),
        Value::TimestampTz(t) => {
            DateTime::from_timestamp_micros(t.timestamp_micros()).map_or(Value::TimestampTz(t), Value::TimestampTz)
        }
        other => other,
    }
}

/// Helper for tests and callers: the naive datetime of a micro timestamp.
pub fn timestamp_from_micros(us: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(us).map(|t| t.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn enc(v: &Value, o: SortOrder) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, o, &mut out).expect("encodable");
        out
    }

    fn check_order(ty: DataType, a: Value, b: Value) {
        let want = a.sql_cmp(&b).expect("comparable");
        let got = enc(&a, SortOrder::Asc).cmp(&enc(&b, SortOrder::Asc));
        assert_eq!(got, want, "{a:?} vs {b:?}");
        let got_desc = enc(&a, SortOrder::Desc).cmp(&enc(&b, SortOrder::Desc));
        assert_eq!(got_desc, want.reverse(), "desc {a:?} vs {b:?}");
        for (v, o) in [(&a, SortOrder::Asc), (&b, SortOrder::Desc)] {
            let bytes = enc(v, o);
            let mut cursor = bytes.as_slice();
            let back = decode(&ty, o, &mut cursor).expect("decodes");
            assert!(cursor.is_empty());
            assert_eq!(back.sql_cmp(v), Some(Ordering::Equal), "{v:?} -> {back:?}");
        }
    }

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u32..=18).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        #[test]
        fn ints_keep_order(a: i64, b: i64) {
            check_order(DataType::BigInt, Value::Int(a), Value::Int(b));
        }

        #[test]
        fn floats_keep_order(a: f64, b: f64) {
            check_order(DataType::Double, Value::Float(a), Value::Float(b));
        }

        #[test]
        fn decimals_keep_order(a in decimal(), b in decimal()) {
            check_order(DataType::Numeric { precision: None, scale: None }, Value::Decimal(a), Value::Decimal(b));
        }

        #[test]
        fn text_keeps_order(a: String, b: String) {
            check_order(DataType::Text, Value::Text(a), Value::Text(b));
        }

        #[test]
        fn bytes_keep_order(a: Vec<u8>, b: Vec<u8>) {
            check_order(DataType::Bytes, Value::Bytes(a), Value::Bytes(b));
        }

        #[test]
        fn timestamps_keep_order(a in -62_000_000_000_000_000i64..200_000_000_000_000_000, b in -62_000_000_000_000_000i64..200_000_000_000_000_000) {
            let (Some(ta), Some(tb)) = (timestamp_from_micros(a), timestamp_from_micros(b)) else { return Ok(()) };
            check_order(DataType::Timestamp, Value::Timestamp(ta), Value::Timestamp(tb));
        }

        #[test]
        fn intervals_keep_order(m1 in -1000i32..1000, d1 in -1000i32..1000, u1: i32, m2 in -1000i32..1000, d2 in -1000i32..1000, u2: i32) {
            let a = Interval { months: m1, days: d1, micros: i64::from(u1) };
            let b = Interval { months: m2, days: d2, micros: i64::from(u2) };
            check_order(DataType::Interval, Value::Interval(a), Value::Interval(b));
        }

        #[test]
        fn composite_keys_order_lexicographically(a1: i64, a2: String, b1: i64, b2: String) {
            let key = |x: i64, y: &str| {
                let mut out = Vec::new();
                encode(&Value::Int(x), SortOrder::Asc, &mut out).expect("int");
                encode(&Value::Text(y.to_string()), SortOrder::Asc, &mut out).expect("text");
                out
            };
            prop_assert_eq!(key(a1, &a2).cmp(&key(b1, &b2)), (a1, &a2).cmp(&(b1, &b2)));
        }
    }

    #[test]
    fn nulls_sort_last_ascending_and_first_descending() {
        let one = Value::Int(1);
        assert!(enc(&Value::Null, SortOrder::Asc) > enc(&one, SortOrder::Asc));
        assert!(enc(&Value::Null, SortOrder::Desc) < enc(&one, SortOrder::Desc));
    }

    #[test]
    fn equal_decimals_encode_equal() {
        let a = Value::Decimal(Decimal::new(150, 2));
        let b = Value::Decimal(Decimal::new(15, 1));
        assert_eq!(enc(&a, SortOrder::Asc), enc(&b, SortOrder::Asc));
        let big = Value::Decimal(Decimal::MAX);
        let back = decode(
            &DataType::Numeric { precision: None, scale: None },
            SortOrder::Asc,
            &mut enc(&big, SortOrder::Asc).as_slice(),
        );
        assert_eq!(back, Ok(big));
    }

    #[test]
    fn intervals_equal_by_span_share_a_key() {
        let month = Value::Interval(Interval { months: 1, days: 0, micros: 0 });
        let thirty_days = Value::Interval(Interval { months: 0, days: 30, micros: 0 });
        assert_eq!(enc(&month, SortOrder::Asc), enc(&thirty_days, SortOrder::Asc));
    }

    #[test]
    fn corrupt_decimal_keys_are_errors() {
        let ty = DataType::Numeric { precision: None, scale: None };
        assert!(decode(&ty, SortOrder::Asc, &mut [PRESENT, DEC_POS, 200, 250, 0].as_slice()).is_err());
        assert!(decode(&ty, SortOrder::Asc, &mut [PRESENT, DEC_POS, 255, 2, 0].as_slice()).is_err());
    }

    #[test]
    fn json_is_refused_in_keys() {
        assert!(encode(&Value::Json(serde_json::json!({})), SortOrder::Asc, &mut Vec::new()).is_err());
    }
}
