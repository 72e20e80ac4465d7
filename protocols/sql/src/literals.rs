//! A statement's shape: its text with the plain literals taken out.
//!
//! pgbench and many applications send the same statement over and over
//! through the simple protocol, with only numbers and strings changing.
//! Two texts with one shape differ only in those literals, so one plan,
//! made with a parameter for each literal, serves them all (see
//! `session/plan_cache.rs`).
//!
//! The scanner is deliberately narrow. It takes out only tokens whose
//! meaning it knows exactly as sqlparser's PostgreSQL tokenizer reads them:
//! `'...'` strings (quotes doubled inside, no backslash escapes) and
//! unsigned decimal numbers. Anything it is unsure of (comments, dollar
//! quotes, `$1`, prefixed strings such as `E'...'`, hex or
//! underscored numbers) gives no shape, and the statement takes the
//! ordinary path.

use std::ops::Range;

use orbit_storage::{DataType, Value};

use crate::error::SqlResult;

/// Statements longer than this are not worth a cache entry.
const MAX_TEXT: usize = 8 << 10;
/// Nor are statements with more literals than this.
const MAX_LITERALS: usize = 128;

/// The type a literal has where it stands, as the planner gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A whole number that fits `integer`.
    Int,
    /// A whole number that fits `bigint` only.
    BigInt,
    /// Any other number: `numeric`.
    Numeric,
    /// A quoted string: of unknown type until its context settles it.
    Text,
}

impl Class {
    fn tag(self) -> char {
        match self {
            Class::Int => 'i',
            Class::BigInt => 'l',
            Class::Numeric => 'n',
            Class::Text => 's',
        }
    }
}

/// One literal of a statement: where it is and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Literal {
    class: Class,
    span: Range<usize>,
}

/// A statement's text with its literals replaced by `$1`, `$2`, ..., and
/// the literals themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The template, then a NUL and one letter per literal for its type:
    /// texts that agree on this agree on their plan.
    key: String,
    template_len: usize,
    literals: Vec<Literal>,
}

impl Shape {
    /// What identifies the shape: template and literal types.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The statement with `$n` for its n-th literal.
    pub(crate) fn template(&self) -> &str {
        &self.key[..self.template_len]
    }

    /// How many literals were taken out.
    pub(crate) fn len(&self) -> usize {
        self.literals.len()
    }

    /// The parameter types to plan the template with: the literals' own
    /// types, and `None` for strings, which their context types.
    pub(crate) fn hints(&self) -> Vec<Option<DataType>> {
        self.literals
            .iter()
            .map(|l| match l.class {
                Class::Int => Some(DataType::Integer),
                Class::BigInt => Some(DataType::BigInt),
                Class::Numeric => Some(DataType::Numeric { precision: None, scale: None }),
                Class::Text => None,
            })
            .collect()
    }

    /// The literals of `sql` (the text this shape was taken from) as
    /// values of the parameter types the template was planned with.
    /// Strings are read as the planner reads a string literal of that type.
    pub(crate) fn values(&self, sql: &str, types: &[DataType]) -> SqlResult<Vec<Value>> {
        self.literals
            .iter()
            .zip(types)
            .map(|(l, ty)| {
                let text = &sql[l.span.clone()];
                match l.class {
                    Class::Int | Class::BigInt => Ok(Value::Int(text.parse().map_err(|_| number_error())?)),
                    Class::Numeric => parse_numeric(text).map(Value::Decimal).ok_or_else(number_error),
                    Class::Text => crate::types::parse_text(ty, &unquote(text)),
                }
            })
            .collect()
    }
}

fn number_error() -> crate::error::SqlError {
    crate::error::SqlError::out_of_range("numeric")
}

/// A number as the planner reads a numeric literal.
fn parse_numeric(text: &str) -> Option<rust_decimal::Decimal> {
    text.parse::<rust_decimal::Decimal>().or_else(|_| rust_decimal::Decimal::from_scientific(text)).ok()
}

/// The contents of a `'...'` string, with doubled quotes made single.
fn unquote(quoted: &str) -> String {
    quoted[1..quoted.len() - 1].replace("''", "'")
}

/// Bytes that continue an identifier or keyword (non-ASCII counts, as
/// sqlparser takes Unicode letters).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The shape of a PostgreSQL statement, or `None` when its text holds
/// anything the scanner does not read exactly as the parser would.
pub(crate) fn shape(sql: &str) -> Option<Shape> {
    let b = sql.as_bytes();
    if b.len() > MAX_TEXT {
        return None;
    }
    let mut template = String::with_capacity(b.len() + 16);
    let mut literals = Vec::new();
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        let c = b[i];
        let start = i;
        let class = match c {
            b'\'' => {
                // `E'..'`, `U&'..'`, `B'..'`, `X'..'` read differently.
                if i > 0 && (is_word(b[i - 1]) || b[i - 1] == b'&') {
                    return None;
                }
                i = quoted_end(b, i)?;
                Class::Text
            }
            b'0'..=b'9' => {
                if i > 0 && b[i - 1] == b'.' {
                    return None;
                }
                i = number_end(b, i)?;
                classify(&sql[start..i])?
            }
            b'"' => {
                i = quoted_end(b, i)?;
                continue;
            }
            _ if is_word(c) && c != b'$' => {
                while i < b.len() && is_word(b[i]) {
                    i += 1;
                }
                continue;
            }
            b'$' => return None,
            b'-' if b.get(i + 1) == Some(&b'-') => return None,
            b'/' if b.get(i + 1) == Some(&b'*') => return None,
            _ => {
                i += 1;
                continue;
            }
        };
        // A literal glued to a word (`'a'b`, `1e`) is not one token.
        if b.get(i).is_some_and(|&n| is_word(n) || n == b'\'' || n == b'.') {
            return None;
        }
        if literals.len() == MAX_LITERALS {
            return None;
        }
        template.push_str(&sql[copied..start]);
        literals.push(Literal { class, span: start..i });
        template.push('$');
        template.push_str(&literals.len().to_string());
        copied = i;
    }
    template.push_str(&sql[copied..]);
    let template_len = template.len();
    template.push('\0');
    template.extend(literals.iter().map(|l| l.class.tag()));
    Some(Shape { key: template, template_len, literals })
}

/// The end of the text quoted by `b[i]` (`'...'` or `"..."`), in which a
/// doubled quote stands for one.
fn quoted_end(b: &[u8], mut i: usize) -> Option<usize> {
    let quote = b[i];
    i += 1;
    loop {
        match *b.get(i)? {
            c if c == quote && b.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The end of the number starting at `i`: digits, an optional fraction,
/// an optional exponent.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    i = digits(b, i);
    if b.get(i) == Some(&b'.') {
        if !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        i = digits(b, i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        if !b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        i = digits(b, i + 1 + sign);
    }
    Some(i)
}

/// A number's type as the planner gives a numeric literal.
fn classify(text: &str) -> Option<Class> {
    Some(match text.parse::<i64>() {
        Ok(i) if i32::try_from(i).is_ok() => Class::Int,
        Ok(_) => Class::BigInt,
        Err(_) => {
            parse_numeric(text)?;
            Class::Numeric
        }
    })
}

#[cfg(test)]
mod tests {
    use sqlparser::ast::{self, Expr};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::*;

    /// The literal values sqlparser reads from `sql`, in text order.
    fn parsed_literals(sql: &str) -> Vec<ast::Value> {
        let stmts = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses");
        let mut out = Vec::new();
        let _ = ast::visit_expressions(&stmts, |e| {
            if let Expr::Value(v) = e {
                out.push(v.value.clone());
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        out
    }

    #[test]
    fn pgbench_statements_have_one_shape_whatever_their_literals() {
        let a = shape("UPDATE pgbench_accounts SET abalance = abalance + 4213 WHERE aid = 77;").expect("shape");
        let b = shape("UPDATE pgbench_accounts SET abalance = abalance + 17 WHERE aid = 999999;").expect("shape");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.template(), "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;");
        assert_eq!(a.hints(), vec![Some(DataType::Integer), Some(DataType::Integer)]);
        let sql = "INSERT INTO t (a, b) VALUES (5000000000, 'it''s')";
        let s = shape(sql).expect("shape");
        assert_eq!(s.template(), "INSERT INTO t (a, b) VALUES ($1, $2)");
        assert_eq!(
            s.values(sql, &[DataType::BigInt, DataType::Text]).expect("values"),
            vec![Value::Int(5_000_000_000), Value::Text("it's".into())]
        );
    }

    #[test]
    fn literal_types_are_part_of_the_key() {
        let small = shape("SELECT * FROM t WHERE a = 1").expect("shape");
        let big = shape("SELECT * FROM t WHERE a = 10000000000").expect("shape");
        let decimal = shape("SELECT * FROM t WHERE a = 1.5").expect("shape");
        let text = shape("SELECT * FROM t WHERE a = '1'").expect("shape");
        assert_eq!(small.template(), big.template());
        let keys = [small.key(), big.key(), decimal.key(), text.key()];
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(keys.iter().filter(|o| *o == k).count(), 1, "key {i} is unique");
        }
    }

    #[test]
    fn words_and_quoted_names_keep_their_digits() {
        let s = shape("SELECT t1.c2 FROM \"Tab 3\" t1 WHERE c2 = 4 AND x::int4 > 5e2").expect("shape");
        assert_eq!(s.template(), "SELECT t1.c2 FROM \"Tab 3\" t1 WHERE c2 = $1 AND x::int4 > $2");
        assert_eq!(s.hints()[1], Some(DataType::Numeric { precision: None, scale: None }));
    }

    #[test]
    fn unsure_texts_have_no_shape() {
        for sql in [
            "SELECT E'a\\'b'",
            "SELECT U&'d\\0061t'",
            "SELECT B'101'",
            "SELECT X'ff'",
            "SELECT $$x$$",
            "SELECT $1",
            "SELECT 1 -- note",
            "SELECT /* note */ 1",
            "SELECT .5",
            "SELECT 1.",
            "SELECT 1_000",
            "SELECT 0x1f",
            "SELECT 1e",
            "SELECT 'unterminated",
            "SELECT \"unterminated",
            "SELECT 99999999999999999999999999999999999999",
        ] {
            assert_eq!(shape(sql), None, "{sql}");
        }
    }

    #[test]
    fn literals_taken_out_are_the_ones_the_parser_reads() {
        for sql in [
            "SELECT a FROM t WHERE b = 'x''y' AND c IN (1, 2, 3) AND d BETWEEN 1.25 AND 2e3",
            "UPDATE t SET a = -5, b = 'back\\slash' WHERE k = 2147483648",
            "INSERT INTO \"q\"\"t\" VALUES (0, '', 'ünïcode', 007)",
            "SELECT a1 FROM t WHERE x>1 AND y<'2'",
        ] {
            let s = shape(sql).expect("shape");
            let types: Vec<DataType> = s.hints().into_iter().map(|h| h.unwrap_or(DataType::Text)).collect();
            let ours = s.values(sql, &types).expect("values");
            let theirs = parsed_literals(sql);
            assert_eq!(ours.len(), theirs.len(), "{sql}");
            for (v, p) in ours.iter().zip(&theirs) {
                let expected = match p {
                    ast::Value::Number(n, _) => match n.parse::<i64>() {
                        Ok(i) => Value::Int(i),
                        Err(_) => Value::Decimal(parse_numeric(n).expect("numeric")),
                    },
                    ast::Value::SingleQuotedString(t) => Value::Text(t.clone()),
                    other => panic!("unexpected literal {other:?} in {sql}"),
                };
                assert_eq!(v, &expected, "{sql}");
            }
            // The template parses, with a placeholder where each literal was.
            let template = parsed_literals(s.template());
            let placeholders: Vec<String> = (1..=s.len()).map(|n| format!("${n}")).collect();
            let got: Vec<String> = template
                .iter()
                .map(|v| match v {
                    ast::Value::Placeholder(p) => p.clone(),
                    other => other.to_string(),
                })
                .collect();
            assert_eq!(got, placeholders, "{sql}");
        }
    }
}
