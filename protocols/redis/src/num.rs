//! Numbers the way Redis parses and prints them.

/// Parses a signed 64-bit integer strictly, as Redis' `string2ll` does: an
/// optional minus sign and digits, no plus sign, spaces or leading zeros.
pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    if s == "-0" {
        return None;
    }
    s.parse().ok()
}

/// Parses a float as Redis does for scores and increments: `inf`, `+inf`,
/// `-inf` are accepted; NaN and trailing garbage are not.
pub(crate) fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => s.parse::<f64>().ok()?,
    };
    if v.is_nan() { None } else { Some(v) }
}

/// Formats a double as Redis 7.2 does in replies: integers without a point,
/// others in the shortest form that reads back exactly, exponents as `1e+21`.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = d.abs();
    if d == d.trunc() && abs < 1e17 {
        return format!("{}", d as i64);
    }
    if (1e-5..1e17).contains(&abs) {
        return format!("{d}");
    }
    // Scientific: Rust prints `1e21` and `1.5e-7`; Redis prints `1e+21`.
    let s = format!("{d:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_i64(b"42"), Some(42));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b"+1"[..], b" 1", b"01", b"1.0", b"", b"-", b"9223372036854775808", b"-0"] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_i64(b"0"), Some(0));
    }

    #[test]
    fn floats_accept_infinity_not_nan() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"1.5x"), None);
        assert_eq!(parse_f64(b" 1"), None);
    }

    #[test]
    fn doubles_print_like_redis() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(1e21), "1e+21");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(1.5e-7), "1.5e-7");
    }
}
