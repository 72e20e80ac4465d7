//! Values as PostgreSQL prints them in its text format.

use std::fmt::Write;

use chrono::{NaiveDateTime, NaiveTime, Timelike};
use orbit_storage::{DataType, Interval, Value};

/// The text form of `v` in a column of type `ty`, exactly as PostgreSQL's
/// output functions write it (DateStyle ISO, TimeZone UTC,
/// extra_float_digits 1).
pub fn to_text(v: &Value, ty: &DataType) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
        Value::Float(f) if *ty == DataType::Real => float_text(f64::from(*f as f32), true),
        other => cast_text(other),
    })
}

/// The text a value becomes when cast to text (booleans read `true` and
/// `false` there).
pub fn cast_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f, false),
        Value::Decimal(d) => d.to_string(),
        Value::Text(s) => s.clone(),
        Value::Bytes(b) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for x in b {
                let _ = write!(s, "{x:02x}");
            }
            s
        }
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::Time(t) => time_text(*t),
        Value::Timestamp(t) => timestamp_text(*t),
        Value::TimestampTz(t) => format!("{}+00", timestamp_text(t.naive_utc())),
        Value::Interval(i) => interval_text(i),
        Value::Uuid(u) => u.hyphenated().to_string(),
        Value::Json(j) => jsonb_text(j),
    }
}

fn float_text(f: f64, single: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    // Rust prints the shortest text that reads back to the same value, as
    // PostgreSQL 12+ does; only the exponent style differs.
    let s = if single { (f as f32).to_string() } else { f.to_string() };
    let magnitude = f.abs();
    if magnitude != 0.0 && !(1e-4..1e15).contains(&magnitude) {
        let e = if single { format!("{:e}", f as f32) } else { format!("{f:e}") };
        // 1e21 -> 1e+21, 1.5e-7 -> 1.5e-07
        if let Some((m, exp)) = e.split_once('e') {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            return format!("{m}e{sign}{digits:0>2}");
        }
    }
    s
}

fn fraction(nanos: u32) -> String {
    let micros = nanos / 1000;
    if micros == 0 {
        return String::new();
    }
    let s = format!(".{micros:06}");
    s.trim_end_matches('0').to_string()
}

fn time_text(t: NaiveTime) -> String {
    format!("{}{}", t.format("%H:%M:%S"), fraction(t.nanosecond()))
}

fn timestamp_text(t: NaiveDateTime) -> String {
    format!("{}{}", t.format("%Y-%m-%d %H:%M:%S"), fraction(t.nanosecond()))
}

fn interval_text(i: &Interval) -> String {
    let mut parts = Vec::new();
    let (years, months) = (i.months / 12, i.months % 12);
    let plural = |n: i32, unit: &str| format!("{n} {unit}{}", if n.abs() == 1 { "" } else { "s" });
    if years != 0 {
        parts.push(plural(years, "year"));
    }
    if months != 0 {
        parts.push(format!("{months} mon{}", if months.abs() == 1 { "" } else { "s" }));
    }
    if i.days != 0 {
        parts.push(plural(i.days, "day"));
    }
    if i.micros != 0 || parts.is_empty() {
        let neg = i.micros < 0;
        let m = i.micros.unsigned_abs();
        let (h, rest) = (m / 3_600_000_000, m % 3_600_000_000);
        let (min, rest) = (rest / 60_000_000, rest % 60_000_000);
        let (sec, micros) = (rest / 1_000_000, rest % 1_000_000);
        let frac = if micros == 0 { String::new() } else { format!(".{micros:06}").trim_end_matches('0').to_string() };
        parts.push(format!("{}{h:02}:{min:02}:{sec:02}{frac}", if neg { "-" } else { "" }));
    }
    parts.join(" ")
}

/// jsonb's output: keys sorted, `", "` and `": "` separators.
pub fn jsonb_text(j: &serde_json::Value) -> String {
    let mut out = String::new();
    write_jsonb(j, &mut out);
    out
}

fn write_jsonb(j: &serde_json::Value, out: &mut String) {
    match j {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            // jsonb orders keys by length, then bytes.
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push_str(": ");
                if let Some(v) = map.get(k) {
                    write_jsonb(v, out);
                }
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// PostgreSQL's text form of a one-dimensional array of `items`
/// (`{a,"b c",NULL}`): how arrays travel here.
pub fn array_text<'v>(items: impl Iterator<Item = &'v Value>) -> String {
    let items: Vec<String> = items
        .map(|v| match v {
            Value::Null => "NULL".to_string(),
            v => {
                let t = cast_text(v);
                let plain =
                    !t.is_empty() && !t.contains([',', '{', '}', '"', '\\', ' ']) && !t.eq_ignore_ascii_case("NULL");
                if plain { t } else { format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")) }
            }
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

/// Parses PostgreSQL's text form of a one-dimensional array (`{a,"b c",NULL}`)
/// into its elements (`None` for NULL). Arrays travel as this text here.
pub fn parse_array(text: &str) -> crate::error::SqlResult<Vec<Option<String>>> {
    let bad = || {
        crate::error::SqlError::new(
            crate::error::ErrorCode::InvalidTextRepresentation,
            format!("malformed array literal: \"{text}\""),
        )
    };
    let inner = text.trim().strip_prefix('{').and_then(|t| t.strip_suffix('}')).ok_or_else(bad)?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut item = String::new();
        let mut quoted = false;
        if chars.next_if_eq(&'"').is_some() {
            quoted = true;
            loop {
                match chars.next().ok_or_else(bad)? {
                    '\\' => item.push(chars.next().ok_or_else(bad)?),
                    '"' => break,
                    c => item.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                item.push(c);
            }
            item = item.trim_end().to_string();
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        out.push(if !quoted && item.eq_ignore_ascii_case("NULL") { None } else { Some(item) });
        match chars.next() {
            None => return Ok(out),
            Some(',') => {}
            Some(_) => return Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_postgres() {
        assert_eq!(float_text(1.5, false), "1.5");
        assert_eq!(float_text(100.0, false), "100");
        assert_eq!(float_text(1e21, false), "1e+21");
        assert_eq!(float_text(f64::NEG_INFINITY, false), "-Infinity");
        assert_eq!(float_text(f64::from(0.1f32), true), "0.1");
    }

    #[test]
    fn intervals_print_like_postgres() {
        let i = Interval { months: 14, days: 3, micros: 4 * 3_600_000_000 + 5 * 60_000_000 + 6_000_000 };
        assert_eq!(interval_text(&i), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(interval_text(&Interval::default()), "00:00:00");
    }

    #[test]
    fn jsonb_sorts_keys_by_length() {
        let j: serde_json::Value = serde_json::from_str(r#"{"bb":1,"a":[1,2]}"#).unwrap_or_default();
        assert_eq!(jsonb_text(&j), r#"{"a": [1, 2], "bb": 1}"#);
    }

    #[test]
    fn array_text_parses() {
        assert_eq!(parse_array("{}").expect("empty"), Vec::<Option<String>>::new());
        assert_eq!(
            parse_array("{a, \"b c\",NULL,\"NULL\",\"q\\\"x\"}").expect("items"),
            vec![Some("a".into()), Some("b c".into()), None, Some("NULL".into()), Some("q\"x".into())]
        );
        assert!(parse_array("a,b").is_err());
    }
}
