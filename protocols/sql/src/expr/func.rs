//! Scalar functions.

use chrono::{Datelike, Timelike};
use orbit_storage::{DataType, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Env, Scalar};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::format::cast_text;

/// A built-in scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Coalesce,
    NullIf,
    Greatest,
    Least,
    Lower,
    Upper,
    Length,
    OctetLength,
    Substr,
    Trim,
    LTrim,
    RTrim,
    Replace,
    Concat,
    ConcatWs,
    Left,
    Right,
    StrPos,
    Repeat,
    Reverse,
    LPad,
    RPad,
    SplitPart,
    Initcap,
    Md5,
    Abs,
    Round,
    Ceil,
    Floor,
    Trunc,
    Mod,
    Power,
    Sqrt,
    Exp,
    Ln,
    Sign,
    Now,
    CurrentDate,
    DatePart,
    DateTrunc,
    Version,
    CurrentDatabase,
    CurrentSchema,
    CurrentUser,
    GenRandomUuid,
    JsonTypeof,
    NextVal,
    CurrVal,
    /// MySQL's LAST_INSERT_ID().
    LastInsertId,
    SetVal,
    PgGetUserById,
    PgTableIsVisible,
    FormatType,
    PgEncodingToChar,
    ObjDescription,
    /// `pg_get_constraintdef(oid [, pretty])`, `pg_get_indexdef(oid [, column, pretty])`.
    PgGetDef,
    /// `pg_get_expr(expr, relation [, pretty])`: stored expressions are text already.
    PgGetExpr,
    /// Catalog functions of features not built here (publications,
    /// extended statistics): always NULL or false.
    PgNothing,
    PgFalse,
    /// Statistics counters not kept here: 0.
    PgZero,
    /// `ARRAY[a, b, ...]`.
    ArrayBuild,
    /// `array[i]` (1-based).
    ArrayElem,
    /// `array_upper(a, 1)`, `array_length(a, 1)`, `cardinality(a)`: the
    /// element count (NULL for an empty array, except cardinality's 0).
    ArrayUpper,
    ArrayLength,
    Cardinality,
    /// `array_lower(a, 1)`: 1, or NULL for an empty array.
    ArrayLower,
    /// `current_schemas(include_implicit)`.
    CurrentSchemas,
    HasPrivilege,
    PgSizePretty,
    QuoteIdent,
    PgRelationSize,
    ArrayToString,
}

impl Func {
    /// The function called `name` (lower case), if there is one.
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        Some(match name {
            "coalesce" => Func::Coalesce,
            "nullif" => Func::NullIf,
            "greatest" => Func::Greatest,
            "least" => Func::Least,
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "length" | "char_length" | "character_length" => Func::Length,
            "octet_length" => Func::OctetLength,
            "substr" | "substring" => Func::Substr,
            "btrim" | "trim" => Func::Trim,
            "ltrim" => Func::LTrim,
            "rtrim" => Func::RTrim,
            "replace" => Func::Replace,
            "concat" => Func::Concat,
            "concat_ws" => Func::ConcatWs,
            "left" => Func::Left,
            "right" => Func::Right,
            "strpos" | "position" => Func::StrPos,
            "repeat" => Func::Repeat,
            "reverse" => Func::Reverse,
            "lpad" => Func::LPad,
            "rpad" => Func::RPad,
            "split_part" => Func::SplitPart,
            "initcap" => Func::Initcap,
            "md5" => Func::Md5,
            "abs" => Func::Abs,
            "round" => Func::Round,
            "ceil" | "ceiling" => Func::Ceil,
            "floor" => Func::Floor,
            "trunc" => Func::Trunc,
            "mod" => Func::Mod,
            "power" | "pow" => Func::Power,
            "sqrt" => Func::Sqrt,
            "exp" => Func::Exp,
            "ln" => Func::Ln,
            "sign" => Func::Sign,
            "now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp" | "localtimestamp" => {
                Func::Now
            }
            "current_date" => Func::CurrentDate,
            "date_part" | "extract" => Func::DatePart,
            "date_trunc" => Func::DateTrunc,
            "version" => Func::Version,
            "current_database" | "current_catalog" => Func::CurrentDatabase,
            "current_schema" => Func::CurrentSchema,
            "current_user" | "session_user" | "user" => Func::CurrentUser,
            "gen_random_uuid" => Func::GenRandomUuid,
            "json_typeof" | "jsonb_typeof" => Func::JsonTypeof,
            "nextval" => Func::NextVal,
            "currval" => Func::CurrVal,
            "last_insert_id" => Func::LastInsertId,
            "setval" => Func::SetVal,
            "pg_get_userbyid" => Func::PgGetUserById,
            "pg_table_is_visible" | "pg_type_is_visible" => Func::PgTableIsVisible,
            "format_type" => Func::FormatType,
            "pg_encoding_to_char" => Func::PgEncodingToChar,
            "obj_description" | "col_description" | "shobj_description" => Func::ObjDescription,
            "has_table_privilege" | "has_schema_privilege" | "has_database_privilege" | "has_sequence_privilege" => {
                Func::HasPrivilege
            }
            "pg_size_pretty" => Func::PgSizePretty,
            "quote_ident" => Func::QuoteIdent,
            "pg_relation_size"
            | "pg_total_relation_size"
            | "pg_table_size"
            | "pg_indexes_size"
            | "pg_database_size" => Func::PgRelationSize,
            "array_to_string" => Func::ArrayToString,
            "pg_function_is_visible" => Func::PgTableIsVisible,
            "pg_get_function_result" | "pg_get_function_arguments" | "pg_get_functiondef" => Func::ObjDescription,
            "pg_get_constraintdef" | "pg_get_indexdef" => Func::PgGetDef,
            "pg_get_expr" => Func::PgGetExpr,
            "pg_get_statisticsobjdef_columns"
            | "pg_get_triggerdef"
            | "pg_get_ruledef"
            | "pg_get_viewdef"
            | "pg_get_partkeydef" => Func::PgNothing,
            "pg_stat_get_numscans" | "pg_stat_get_tuples_returned" | "pg_stat_get_tuples_fetched" => Func::PgZero,
            "pg_relation_is_publishable" => Func::PgFalse,
            "array_upper" => Func::ArrayUpper,
            "array_length" => Func::ArrayLength,
            "array_lower" => Func::ArrayLower,
            "cardinality" => Func::Cardinality,
            "current_schemas" => Func::CurrentSchemas,
            _ => return None,
        })
    }

    /// Allowed argument counts.
    pub(crate) fn arity(self) -> (usize, usize) {
        use Func::*;
        match self {
            Coalesce | Greatest | Least | Concat => (1, usize::MAX),
            ConcatWs => (2, usize::MAX),
            NullIf | Left | Right | StrPos | Repeat | Mod | Power | DatePart | DateTrunc => (2, 2),
            Substr | SetVal | HasPrivilege | ArrayToString => (2, 3),
            FormatType => (2, 2),
            ObjDescription | PgRelationSize => (1, 2),
            PgGetDef | PgNothing => (1, 3),
            PgGetExpr => (2, 3),
            PgFalse | PgZero | Cardinality | CurrentSchemas => (1, 1),
            ArrayBuild => (0, usize::MAX),
            ArrayElem | ArrayUpper | ArrayLength | ArrayLower => (2, 2),
            Trim | LTrim | RTrim => (1, 2),
            Replace | SplitPart => (3, 3),
            LPad | RPad => (2, 3),
            Round | Trunc => (1, 2),
            Now | CurrentDate | Version | CurrentDatabase | CurrentSchema | CurrentUser | GenRandomUuid
            | LastInsertId => (0, 0),
            _ => (1, 1),
        }
    }

    /// The result type for arguments of `args` types (`None`: unknown).
    pub(crate) fn result_type(self, args: &[Option<DataType>]) -> DataType {
        use Func::*;
        let first = args.iter().flatten().next().cloned();
        match self {
            Coalesce | NullIf | Greatest | Least => first.unwrap_or(DataType::Text),
            Abs | Ceil | Floor | Mod => match first {
                Some(t) if crate::types::is_numeric(&t) => t,
                _ => DataType::Double,
            },
            Round | Trunc => match first {
                Some(DataType::Real | DataType::Double) if args.len() == 1 => DataType::Double,
                _ => DataType::Numeric { precision: None, scale: None },
            },
            Sign => first.unwrap_or(DataType::Double),
            Power | Sqrt | Exp | Ln | DatePart => DataType::Double,
            Length | OctetLength | StrPos => DataType::Integer,
            Now => DataType::TimestampTz,
            CurrentDate => DataType::Date,
            DateTrunc => match args.get(1).cloned().flatten() {
                Some(DataType::Timestamp) => DataType::Timestamp,
                _ => DataType::TimestampTz,
            },
            GenRandomUuid => DataType::Uuid,
            NextVal | CurrVal | SetVal | PgRelationSize | LastInsertId => DataType::BigInt,
            PgTableIsVisible | HasPrivilege | PgFalse => DataType::Boolean,
            ArrayUpper | ArrayLength | ArrayLower | Cardinality => DataType::Integer,
            PgZero => DataType::BigInt,
            _ => DataType::Text,
        }
    }
}

fn text_arg(v: &Value) -> String {
    cast_text(v)
}

fn int_arg(v: &Value) -> SqlResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Decimal(d) => d.round().to_i64().ok_or_else(|| SqlError::out_of_range("integer")),
        Value::Float(f) => Ok(f.round() as i64),
        other => Err(SqlError::mismatch(format!("expected an integer, got {}", other.kind()))),
    }
}

/// Calls `f`. Most functions return NULL on a NULL argument; COALESCE,
/// CONCAT and their kind look at each argument themselves.
pub(super) fn call(f: Func, args: &[Scalar], row: &[Value], env: &Env<'_>) -> SqlResult<Value> {
    use Func::*;
    // Lazy: COALESCE stops at the first non-NULL.
    if f == Coalesce {
        for a in args {
            let v = a.eval(row, env)?;
            if !v.is_null() {
                return Ok(v);
            }
        }
        return Ok(Value::Null);
    }
    let vals = args.iter().map(|a| a.eval(row, env)).collect::<SqlResult<Vec<_>>>()?;
    let strict = !matches!(
        f,
        Greatest | Least | Concat | ConcatWs | NullIf | ObjDescription | PgNothing | PgFalse | FormatType | ArrayBuild
    );
    if strict && vals.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let s = |i: usize| vals.get(i).map(text_arg).unwrap_or_default();
    let n = |i: usize| vals.get(i).map_or(Ok(0), int_arg);
    Ok(match f {
        Coalesce => Value::Null,
        NullIf => match (&vals[0], &vals[1]) {
            (a, b) if a.sql_cmp(b) == Some(std::cmp::Ordering::Equal) => Value::Null,
            (a, _) => a.clone(),
        },
        Greatest | Least => {
            let mut best: Option<Value> = None;
            for v in vals.into_iter().filter(|v| !v.is_null()) {
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let ord = v.sql_cmp(&b).ok_or_else(|| {
                            SqlError::mismatch(format!(
                                "{} types {} and {} cannot be matched",
                                if f == Greatest { "GREATEST" } else { "LEAST" },
                                v.kind(),
                                b.kind()
                            ))
                        })?;
                        let take = if f == Greatest { ord.is_gt() } else { ord.is_lt() };
                        if take { v } else { b }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        Lower => Value::Text(s(0).to_lowercase()),
        Upper => Value::Text(s(0).to_uppercase()),
        Length => Value::Int(match &vals[0] {
            Value::Bytes(b) => b.len() as i64,
            v => text_arg(v).chars().count() as i64,
        }),
        OctetLength => Value::Int(match &vals[0] {
            Value::Bytes(b) => b.len() as i64,
            v => text_arg(v).len() as i64,
        }),
        Substr => {
            let text: Vec<char> = s(0).chars().collect();
            // SQL positions start at 1 and may start before the string.
            let start = n(1)?;
            let end = if vals.len() > 2 {
                let len = n(2)?;
                if len < 0 {
                    return Err(SqlError::new(ErrorCode::InvalidParameter, "negative substring length not allowed"));
                }
                start.saturating_add(len)
            } else {
                i64::MAX
            };
            let from = (start.max(1) - 1) as usize;
            let to = (end.max(1) - 1).min(text.len() as i64) as usize;
            Value::Text(if from < to { text[from..to].iter().collect() } else { String::new() })
        }
        Trim | LTrim | RTrim => {
            let chars: Vec<char> = if vals.len() > 1 { s(1).chars().collect() } else { vec![' '] };
            let text = s(0);
            Value::Text(match f {
                Trim => text.trim_matches(chars.as_slice()).to_string(),
                LTrim => text.trim_start_matches(chars.as_slice()).to_string(),
                _ => text.trim_end_matches(chars.as_slice()).to_string(),
            })
        }
        Replace => Value::Text(if s(1).is_empty() { s(0) } else { s(0).replace(&s(1), &s(2)) }),
        Concat => Value::Text(vals.iter().filter(|v| !v.is_null()).map(text_arg).collect()),
        ConcatWs => {
            if vals[0].is_null() {
                return Ok(Value::Null);
            }
            let parts: Vec<String> = vals[1..].iter().filter(|v| !v.is_null()).map(text_arg).collect();
            Value::Text(parts.join(&s(0)))
        }
        Left | Right => {
            let text: Vec<char> = s(0).chars().collect();
            let k = n(1)?;
            let len = text.len() as i64;
            let take = if k >= 0 { k.min(len) } else { (len + k).max(0) } as usize;
            Value::Text(if f == Left {
                text[..take].iter().collect()
            } else {
                text[text.len() - take..].iter().collect()
            })
        }
        StrPos => {
            let (hay, needle) = (s(0), s(1));
            Value::Int(hay.find(&needle).map_or(0, |b| hay[..b].chars().count() as i64 + 1))
        }
        Repeat => {
            let k = n(1)?.max(0) as usize;
            let unit = s(0);
            if unit.len().saturating_mul(k) > 256 << 20 {
                return Err(SqlError::new(ErrorCode::InvalidParameter, "requested length too large"));
            }
            Value::Text(unit.repeat(k))
        }
        Reverse => Value::Text(s(0).chars().rev().collect()),
        LPad | RPad => {
            let text: Vec<char> = s(0).chars().collect();
            let width = n(1)?.max(0) as usize;
            if width > 256 << 20 {
                return Err(SqlError::new(ErrorCode::InvalidParameter, "requested length too large"));
            }
            let fill: Vec<char> = if vals.len() > 2 { s(2).chars().collect() } else { vec![' '] };
            if text.len() >= width || fill.is_empty() {
                return Ok(Value::Text(text[..width.min(text.len())].iter().collect()));
            }
            let pad: String = fill.iter().cycle().take(width - text.len()).collect();
            let body: String = text.iter().collect();
            Value::Text(if f == LPad { pad + &body } else { body + &pad })
        }
        SplitPart => {
            let k = n(2)?;
            if k == 0 {
                return Err(SqlError::new(ErrorCode::InvalidParameter, "field position must not be zero"));
            }
            let text = s(0);
            let parts: Vec<&str> =
                if s(1).is_empty() { vec![text.as_str()] } else { text.split(s(1).as_str()).collect() };
            let idx = if k > 0 { k - 1 } else { parts.len() as i64 + k };
            Value::Text(
                usize::try_from(idx).ok().and_then(|i| parts.get(i)).map(|p| (*p).to_string()).unwrap_or_default(),
            )
        }
        Initcap => {
            let mut out = String::new();
            let mut start = true;
            for c in s(0).chars() {
                if c.is_alphanumeric() {
                    if start {
                        out.extend(c.to_uppercase())
                    } else {
                        out.extend(c.to_lowercase())
                    }
                    start = false;
                } else {
                    out.push(c);
                    start = true;
                }
            }
            Value::Text(out)
        }
        Md5 => Value::Text(format!("{:x}", md5::compute(s(0).as_bytes()))),
        Abs => match &vals[0] {
            Value::Int(i) => Value::Int(i.checked_abs().ok_or_else(|| SqlError::out_of_range("bigint"))?),
            Value::Float(x) => Value::Float(x.abs()),
            Value::Decimal(d) => Value::Decimal(d.abs()),
            v => return Err(no_function("abs", v)),
        },
        Round | Trunc => {
            let places = if vals.len() > 1 { n(1)? } else { 0 };
            match &vals[0] {
                Value::Float(x) if vals.len() == 1 => Value::Float(if f == Round { x.round() } else { x.trunc() }),
                v @ (Value::Int(_) | Value::Decimal(_) | Value::Float(_)) => {
                    let d = match v {
                        Value::Int(i) => Decimal::from(*i),
                        Value::Decimal(d) => *d,
                        Value::Float(x) => Decimal::from_f64_retain(*x).unwrap_or_default(),
                        _ => Decimal::ZERO,
                    };
                    let strategy = if f == Round {
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero
                    } else {
                        rust_decimal::RoundingStrategy::ToZero
                    };
                    if places >= 0 {
                        Value::Decimal(d.round_dp_with_strategy(places.min(28) as u32, strategy))
                    } else {
                        let scale = Decimal::from(10i64.pow(places.unsigned_abs().min(18) as u32));
                        Value::Decimal((d / scale).round_dp_with_strategy(0, strategy) * scale)
                    }
                }
                v => return Err(no_function(if f == Round { "round" } else { "trunc" }, v)),
            }
        }
        Ceil | Floor => match &vals[0] {
            Value::Int(i) => Value::Int(*i),
            Value::Float(x) => Value::Float(if f == Ceil { x.ceil() } else { x.floor() }),
            Value::Decimal(d) => Value::Decimal(if f == Ceil { d.ceil() } else { d.floor() }),
            v => return Err(no_function("ceil", v)),
        },
        Mod => super::ops::binary(super::BinOp::Mod, vals[0].clone(), vals[1].clone(), &DataType::BigInt)?,
        Power => Value::Float(super::ops::to_f64(&vals[0]).powf(super::ops::to_f64(&vals[1]))),
        Sqrt => {
            let x = super::ops::to_f64(&vals[0]);
            if x < 0.0 {
                return Err(SqlError::new(ErrorCode::InvalidParameter, "cannot take square root of a negative number"));
            }
            Value::Float(x.sqrt())
        }
        Exp => Value::Float(super::ops::to_f64(&vals[0]).exp()),
        Ln => {
            let x = super::ops::to_f64(&vals[0]);
            if x <= 0.0 {
                return Err(SqlError::new(
                    ErrorCode::InvalidParameter,
                    "cannot take logarithm of zero or a negative number",
                ));
            }
            Value::Float(x.ln())
        }
        Sign => match &vals[0] {
            Value::Int(i) => Value::Int(i.signum()),
            Value::Float(x) => Value::Float(if *x == 0.0 { 0.0 } else { x.signum() }),
            Value::Decimal(d) => Value::Decimal(if d.is_zero() {
                Decimal::ZERO
            } else if d.is_sign_negative() {
                Decimal::NEGATIVE_ONE
            } else {
                Decimal::ONE
            }),
            v => return Err(no_function("sign", v)),
        },
        Now => Value::TimestampTz(env.now),
        CurrentDate => Value::Date(env.now.date_naive()),
        DatePart => date_part(&s(0), &vals[1])?,
        DateTrunc => date_trunc(&s(0), &vals[1])?,
        Version => Value::Text(crate::VERSION_STRING.to_string()),
        CurrentDatabase | CurrentSchema | CurrentUser => {
            // Bound to the session when compiled; reaching here means the
            // compiler kept the call, which it never does.
            return Err(SqlError::new(ErrorCode::Internal, "session function evaluated without a session"));
        }
        GenRandomUuid => Value::Uuid(uuid::Uuid::new_v4()),
        PgGetUserById => Value::Text("postgres".into()),
        // Everything lives in schemas on the search path or is qualified.
        PgTableIsVisible | HasPrivilege => Value::Bool(true),
        // A NULL type modifier means none, as in PostgreSQL.
        FormatType if vals[0].is_null() => Value::Null,
        FormatType => {
            let typmod = if vals[1].is_null() { -1 } else { n(1)? };
            crate::pgcatalog::format_type(n(0)?, typmod).map_or(Value::Null, Value::Text)
        }
        PgEncodingToChar => Value::Text(if n(0)? == 6 { "UTF8" } else { "SQL_ASCII" }.into()),
        // No comments are stored.
        ObjDescription | PgNothing => Value::Null,
        PgFalse => Value::Bool(false),
        PgZero => Value::Int(0),
        // A column past the first asks for one column's text, which only
        // expression indexes differ in; whole definitions are registered.
        PgGetDef => match vals.get(1) {
            Some(Value::Int(c)) if *c > 0 => Value::Null,
            // pg_get_constraintdef(oid, pretty); pg_get_indexdef's forms
            // are the same pretty or not.
            Some(Value::Bool(false)) | None => {
                crate::pgdescribe::definition(n(0)?, false).map_or(Value::Null, Value::Text)
            }
            _ => crate::pgdescribe::definition(n(0)?, true).map_or(Value::Null, Value::Text),
        },
        PgGetExpr => Value::Text(s(0)),
        ArrayBuild => Value::Text(crate::format::array_text(vals.iter())),
        // The search path is always `public`, after pg_catalog.
        CurrentSchemas => {
            Value::Text(if matches!(vals[0], Value::Bool(true)) { "{pg_catalog,public}" } else { "{public}" }.into())
        }
        ArrayElem => {
            let items = crate::format::parse_array(&s(0))?;
            let i = n(1)?;
            match usize::try_from(i - 1).ok().and_then(|i| items.into_iter().nth(i)) {
                Some(Some(t)) => Value::Text(t),
                _ => Value::Null,
            }
        }
        ArrayUpper | ArrayLength | ArrayLower | Cardinality => {
            let count = crate::format::parse_array(&s(0))?.len() as i64;
            match f {
                Cardinality => Value::Int(count),
                _ if count == 0 || n(1)? != 1 => Value::Null,
                ArrayLower => Value::Int(1),
                _ => Value::Int(count),
            }
        }
        PgSizePretty => {
            let b = n(0)?;
            Value::Text(match b.abs() {
                x if x < 10 * 1024 => format!("{b} bytes"),
                x if x < 10 * 1024 * 1024 => format!("{} kB", (b + 512) / 1024),
                x if x < 10 * 1024 * 1024 * 1024 => format!("{} MB", (b + (512 << 10)) >> 20),
                _ => format!("{} GB", (b + (512 << 20)) >> 30),
            })
        }
        QuoteIdent => {
            let id = s(0);
            let plain = id.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            Value::Text(if plain { id } else { format!("\"{}\"", id.replace('"', "\"\"")) })
        }
        // Sizes are not tracked per table.
        PgRelationSize => Value::Int(0),
        // Without arrays, the value is already a string (or NULL).
        ArrayToString => {
            let sep = s(1);
            let null = vals.get(2).map(text_arg);
            let items: Vec<String> =
                crate::format::parse_array(&s(0))?.into_iter().filter_map(|e| e.or_else(|| null.clone())).collect();
            Value::Text(items.join(&sep))
        }
        LastInsertId => {
            let seq = env.run.and_then(|r| r.seq.as_ref());
            Value::Int(seq.and_then(|s| s.last_insert_id()).unwrap_or(0))
        }
        NextVal | CurrVal | SetVal => {
            let seq = env
                .run
                .and_then(|r| r.seq.as_ref())
                .ok_or_else(|| SqlError::new(ErrorCode::Internal, "sequences are not available here"))?;
            let name = s(0);
            Value::Int(match f {
                NextVal => seq.nextval(&name)?,
                CurrVal => seq.currval(&name)?,
                _ => {
                    let called = vals.get(2).is_none_or(|v| matches!(v, Value::Bool(true)));
                    seq.setval(&name, n(1)?, called)
                }
            })
        }
        JsonTypeof => match &vals[0] {
            Value::Json(j) => Value::Text(
                match j {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "boolean",
                    serde_json::Value::Number(_) => "number",
                    serde_json::Value::String(_) => "string",
                    serde_json::Value::Array(_) => "array",
                    serde_json::Value::Object(_) => "object",
                }
                .into(),
            ),
            v => return Err(no_function("json_typeof", v)),
        },
    })
}

fn no_function(name: &str, v: &Value) -> SqlError {
    SqlError::new(ErrorCode::UndefinedFunction, format!("function {name}({}) does not exist", v.kind()))
}

fn timestamp_of(v: &Value) -> Option<chrono::NaiveDateTime> {
    match v {
        Value::Timestamp(t) => Some(*t),
        Value::TimestampTz(t) => Some(t.naive_utc()),
        Value::Date(d) => Some(d.and_time(chrono::NaiveTime::MIN)),
        _ => None,
    }
}

fn date_part(field: &str, v: &Value) -> SqlResult<Value> {
    let field = field.to_ascii_lowercase();
    if let Value::Interval(i) = v {
        let x = match field.as_str() {
            "year" | "years" => f64::from(i.months / 12),
            "month" | "months" => f64::from(i.months % 12),
            "day" | "days" => f64::from(i.days),
            "hour" | "hours" => (i.micros / 3_600_000_000) as f64,
            "minute" | "minutes" => ((i.micros / 60_000_000) % 60) as f64,
            "second" | "seconds" => (i.micros % 60_000_000) as f64 / 1e6,
            "epoch" => i.comparable_micros() as f64 / 1e6,
            _ => return Err(unit_unknown(&field, "interval")),
        };
        return Ok(Value::Float(x));
    }
    let t = match v {
        Value::Time(t) => chrono::NaiveDate::default().and_time(*t),
        other => timestamp_of(other).ok_or_else(|| no_function("date_part", v))?,
    };
    let x = match field.as_str() {
        "year" | "years" => f64::from(t.year()),
        "month" | "months" => f64::from(t.month()),
        "day" | "days" => f64::from(t.day()),
        "hour" | "hours" => f64::from(t.hour()),
        "minute" | "minutes" => f64::from(t.minute()),
        "second" | "seconds" => f64::from(t.second()) + f64::from(t.nanosecond() / 1000) / 1e6,
        "milliseconds" => f64::from(t.second()) * 1e3 + f64::from(t.nanosecond() / 1000) / 1e3,
        "microseconds" => f64::from(t.second()) * 1e6 + f64::from(t.nanosecond() / 1000),
        "dow" => f64::from(t.weekday().num_days_from_sunday()),
        "isodow" => f64::from(t.weekday().number_from_monday()),
        "doy" => f64::from(t.ordinal()),
        "week" => f64::from(t.iso_week().week()),
        "quarter" => f64::from((t.month() - 1) / 3 + 1),
        "decade" => f64::from(t.year() / 10),
        "century" => f64::from((t.year() + 99) / 100),
        "epoch" => t.and_utc().timestamp_micros() as f64 / 1e6,
        _ => return Err(unit_unknown(&field, "timestamp")),
    };
    Ok(Value::Float(x))
}

fn unit_unknown(field: &str, ty: &str) -> SqlError {
    SqlError::new(ErrorCode::InvalidParameter, format!("unit \"{field}\" not recognized for type {ty}"))
}

fn date_trunc(field: &str, v: &Value) -> SqlResult<Value> {
    let t = timestamp_of(v).ok_or_else(|| no_function("date_trunc", v))?;
    let d = t.date();
    let field = field.to_ascii_lowercase();
    let truncated = match field.as_str() {
        "year" => d.with_month(1).and_then(|d| d.with_day(1)).map(|d| d.and_time(chrono::NaiveTime::MIN)),
        "quarter" => d
            .with_day(1)
            .and_then(|d| d.with_month((d.month() - 1) / 3 * 3 + 1))
            .map(|d| d.and_time(chrono::NaiveTime::MIN)),
        "month" => d.with_day(1).map(|d| d.and_time(chrono::NaiveTime::MIN)),
        "week" => Some(
            (d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday())))
                .and_time(chrono::NaiveTime::MIN),
        ),
        "day" => Some(d.and_time(chrono::NaiveTime::MIN)),
        "hour" => t.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0)),
        "minute" => t.with_second(0).and_then(|t| t.with_nanosecond(0)),
        "second" => t.with_nanosecond(0),
        _ => return Err(unit_unknown(&field, "timestamp")),
    }
    .ok_or_else(|| SqlError::out_of_range("timestamp"))?;
    Ok(match v {
        Value::TimestampTz(_) => Value::TimestampTz(truncated.and_utc()),
        _ => Value::Timestamp(truncated),
    })
}
