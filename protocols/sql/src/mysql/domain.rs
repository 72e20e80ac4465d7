//! What a MySQL column type allows beyond the storage type that holds it:
//! the ranges of TINYINT to BIGINT, signed and UNSIGNED (stored in wider
//! integers), non-negative UNSIGNED DECIMAL, FLOAT and DOUBLE, and the
//! members of ENUM and SET (stored as text). Checked on every row written,
//! as MySQL's strict mode does, from the type the column was declared with.

use orbit_storage::Value;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::{ErrorCode, SqlError, SqlResult};

/// The constraint a declared type adds.
#[derive(Debug, Clone, PartialEq)]
enum Domain {
    /// An integer within these bounds.
    Range(i128, i128),
    /// A number at least zero.
    NonNegative,
    /// One of these members.
    Enum(Vec<String>),
    /// A comma-separated set of these members.
    Set(Vec<String>),
}

fn integer_range(base: &str, unsigned: bool) -> Option<(i128, i128)> {
    let bits = match base {
        "tinyint" => 8,
        "smallint" => 16,
        "mediumint" => 24,
        "int" | "integer" => 32,
        "bigint" => 64,
        _ => return None,
    };
    Some(if unsigned { (0, (1i128 << bits) - 1) } else { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) })
}

/// The members of `enum('a','b')` or `set('a','b')` as `declared_type`
/// writes them (quoted, `''` for a quote, comma-separated).
fn members(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut m = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    m.push('\'');
                } else {
                    break;
                }
            } else {
                m.push(c);
            }
        }
        out.push(m);
    }
    out
}

fn domain(declared: &str) -> Option<Domain> {
    if let Some(list) = declared.strip_prefix("enum(") {
        return Some(Domain::Enum(members(list)));
    }
    if let Some(list) = declared.strip_prefix("set(") {
        return Some(Domain::Set(members(list)));
    }
    let unsigned = declared.ends_with(" unsigned");
    let base = declared.split(['(', ' ']).next().unwrap_or_default();
    if let Some((lo, hi)) = integer_range(base, unsigned) {
        return Some(Domain::Range(lo, hi));
    }
    unsigned.then_some(Domain::NonNegative)
}

fn out_of_range(column: &str, row: usize) -> SqlError {
    SqlError::new(ErrorCode::NumericOutOfRange, format!("Out of range value for column '{column}' at row {row}"))
}

fn truncated(column: &str, row: usize) -> SqlError {
    SqlError::new(ErrorCode::DataTruncated, format!("Data truncated for column '{column}' at row {row}"))
}

/// The member `v` names: by name, ignoring case as MySQL's default
/// collation does, else by 1-based index.
fn member<'m>(members: &'m [String], v: &str) -> Option<&'m str> {
    if let Some(m) = members.iter().find(|m| m.eq_ignore_ascii_case(v)) {
        return Some(m);
    }
    let i: usize = v.trim().parse().ok()?;
    members.get(i.checked_sub(1)?).map(String::as_str)
}

/// The domains of a table's columns, worked out once per statement rather
/// than from the declared type text on every row.
#[derive(Debug, Default)]
pub(crate) struct Domains(Vec<Option<Domain>>);

impl Domains {
    /// The domain of each column of `schema` (none for columns without a
    /// declared MySQL type).
    pub(crate) fn of(schema: &orbit_storage::table::TableSchema) -> Self {
        Domains(schema.columns.iter().map(|c| c.declared.as_deref().and_then(domain)).collect())
    }

    /// Checks value `v` of column `index` (named `column`) in row `row`.
    pub(crate) fn check(&self, index: usize, column: &str, row: usize, v: Value) -> SqlResult<Value> {
        match self.0.get(index) {
            Some(Some(d)) => check_in(d, column, row, v),
            _ => Ok(v),
        }
    }
}

/// [`Domains::check`] for a column declared as `declared`.
#[cfg(test)]
fn check(declared: &str, column: &str, row: usize, v: Value) -> SqlResult<Value> {
    match domain(declared) {
        Some(d) => check_in(&d, column, row, v),
        None => Ok(v),
    }
}

/// Checks `v`, about to be written to `column` of `domain` (row `row` of
/// the statement, from 1), and returns it as stored: an ENUM or SET value
/// spelled as its members are declared.
fn check_in(domain: &Domain, column: &str, row: usize, v: Value) -> SqlResult<Value> {
    let number = |v: &Value| -> Option<Decimal> {
        match v {
            Value::Int(i) => Some(Decimal::from(*i)),
            Value::Decimal(d) => Some(*d),
            Value::Float(f) => Decimal::try_from(*f).ok(),
            _ => None,
        }
    };
    match (domain, &v) {
        (_, Value::Null) => Ok(v),
        (Domain::Range(lo, hi), _) => match number(&v).and_then(|d| d.to_i128()) {
            Some(n) if n < *lo || n > *hi => Err(out_of_range(column, row)),
            _ => Ok(v),
        },
        (Domain::NonNegative, Value::Float(f)) if *f < 0.0 => Err(out_of_range(column, row)),
        (Domain::NonNegative, _) => match number(&v) {
            Some(d) if d.is_sign_negative() && !d.is_zero() => Err(out_of_range(column, row)),
            _ => Ok(v),
        },
        (Domain::Enum(ms), Value::Text(s)) => match member(ms, s) {
            Some(m) => Ok(Value::Text(m.to_string())),
            None => Err(truncated(column, row)),
        },
        (Domain::Set(ms), Value::Text(s)) => {
            if s.is_empty() {
                return Ok(v);
            }
            // Stored in declaration order, each member once, as MySQL does.
            let mut chosen = vec![false; ms.len()];
            for part in s.split(',') {
                let m = member(ms, part).ok_or_else(|| truncated(column, row))?;
                if let Some(i) = ms.iter().position(|x| x == m) {
                    chosen[i] = true;
                }
            }
            let picked: Vec<&str> = ms.iter().zip(&chosen).filter(|(_, c)| **c).map(|(m, _)| m.as_str()).collect();
            Ok(Value::Text(picked.join(",")))
        }
        (Domain::Enum(_) | Domain::Set(_), _) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(declared: &str, v: Value) -> Value {
        check(declared, "c", 1, v).expect("in its domain")
    }

    fn code(declared: &str, v: Value) -> ErrorCode {
        check(declared, "c", 2, v).expect_err("outside its domain").code
    }

    #[test]
    fn integer_types_keep_to_their_ranges() {
        assert_eq!(ok("tinyint", Value::Int(-128)), Value::Int(-128));
        assert_eq!(ok("tinyint(1)", Value::Int(127)), Value::Int(127));
        assert_eq!(code("tinyint", Value::Int(128)), ErrorCode::NumericOutOfRange);
        assert_eq!(code("tinyint unsigned", Value::Int(-1)), ErrorCode::NumericOutOfRange);
        assert_eq!(ok("tinyint unsigned", Value::Int(255)), Value::Int(255));
        assert_eq!(code("smallint unsigned", Value::Int(65_536)), ErrorCode::NumericOutOfRange);
        assert_eq!(code("mediumint", Value::Int(8_388_608)), ErrorCode::NumericOutOfRange);
        assert_eq!(ok("int unsigned", Value::Int(4_294_967_295)), Value::Int(4_294_967_295));
        assert_eq!(code("int unsigned", Value::Int(4_294_967_296)), ErrorCode::NumericOutOfRange);
        let max = Decimal::from(u64::MAX);
        assert_eq!(ok("bigint unsigned", Value::Decimal(max)), Value::Decimal(max));
        assert_eq!(code("bigint unsigned", Value::Decimal(max + Decimal::ONE)), ErrorCode::NumericOutOfRange);
        assert_eq!(code("bigint unsigned", Value::Int(-1)), ErrorCode::NumericOutOfRange);
        assert_eq!(ok("int", Value::Null), Value::Null);
        let e = check("tinyint", "age", 3, Value::Int(300)).expect_err("range");
        assert_eq!(e.message, "Out of range value for column 'age' at row 3");
    }

    #[test]
    fn unsigned_decimals_and_floats_are_not_negative() {
        assert_eq!(code("decimal(10,2) unsigned", Value::Decimal(Decimal::new(-1, 2))), ErrorCode::NumericOutOfRange);
        assert_eq!(ok("decimal(10,2) unsigned", Value::Decimal(Decimal::ZERO)), Value::Decimal(Decimal::ZERO));
        assert_eq!(code("double unsigned", Value::Float(-0.5)), ErrorCode::NumericOutOfRange);
        assert_eq!(ok("decimal(10,2)", Value::Decimal(Decimal::new(-1, 2))), Value::Decimal(Decimal::new(-1, 2)));
    }

    #[test]
    fn enum_and_set_values_are_members() {
        let e = "enum('small','medium','it''s')";
        assert_eq!(ok(e, Value::Text("MEDIUM".into())), Value::Text("medium".into()));
        assert_eq!(ok(e, Value::Text("it's".into())), Value::Text("it's".into()));
        assert_eq!(ok(e, Value::Text("1".into())), Value::Text("small".into()));
        assert_eq!(code(e, Value::Text("large".into())), ErrorCode::DataTruncated);
        assert_eq!(code(e, Value::Text("4".into())), ErrorCode::DataTruncated);
        let e = check(e, "size", 2, Value::Text("huge".into())).expect_err("not a member");
        assert_eq!(e.message, "Data truncated for column 'size' at row 2");
        let s = "set('a','b','c')";
        assert_eq!(ok(s, Value::Text("c,A,c".into())), Value::Text("a,c".into()));
        assert_eq!(ok(s, Value::Text(String::new())), Value::Text(String::new()));
        assert_eq!(code(s, Value::Text("a,d".into())), ErrorCode::DataTruncated);
    }

    #[test]
    fn other_types_are_left_alone() {
        assert_eq!(ok("varchar(20)", Value::Text("x".into())), Value::Text("x".into()));
        assert_eq!(ok("double", Value::Float(-1.0)), Value::Float(-1.0));
        assert_eq!(domain("datetime(3)"), None);
    }
}
