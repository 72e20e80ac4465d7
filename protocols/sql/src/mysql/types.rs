//! MySQL's names for column types, as `SHOW COLUMNS` and
//! `information_schema.COLUMNS.COLUMN_TYPE` print them.

use orbit_storage::DataType;
use sqlparser::ast::{self, DataType as A};

use crate::error::SqlResult;

/// The storage type of a MySQL column type where MySQL's meaning differs
/// from PostgreSQL's: BOOLEAN is TINYINT(1), a 0/1 number, and FLOAT
/// without a precision is single precision.
pub(crate) fn column_storage_type(dt: &ast::DataType) -> SqlResult<DataType> {
    Ok(match dt {
        A::Bool | A::Boolean => DataType::SmallInt,
        A::Float(ast::ExactNumberInfo::None) => DataType::Real,
        other => crate::types::from_ast(other)?,
    })
}

/// The type `CAST(x AS t)` converts to: `CHAR` means a string of any
/// length (or at most n characters), not a padded CHAR column.
pub(crate) fn cast_type(dt: &ast::DataType) -> SqlResult<DataType> {
    Ok(match dt {
        A::Char(len) | A::Character(len) => match len {
            Some(ast::CharacterLength::IntegerLength { length, .. }) => {
                DataType::Varchar { max: u32::try_from(*length).ok() }
            }
            _ => DataType::Text,
        },
        A::Binary(_) => DataType::Bytes,
        other => column_storage_type(other)?,
    })
}

/// The type as MySQL 8 prints a column declared `dt`: lower case, integer
/// display widths dropped (but for `tinyint(1)`, the boolean idiom),
/// `BOOLEAN` as `tinyint(1)`, enum members without spaces.
pub(crate) fn declared_type(dt: &ast::DataType) -> String {
    let unsigned = |base: &str| format!("{base} unsigned");
    match dt {
        A::Bool | A::Boolean => "tinyint(1)".into(),
        A::TinyInt(Some(1)) => "tinyint(1)".into(),
        A::TinyInt(_) => "tinyint".into(),
        A::TinyIntUnsigned(_) | A::UTinyInt => unsigned("tinyint"),
        A::SmallInt(_) | A::Int2(_) => "smallint".into(),
        A::SmallIntUnsigned(_) | A::USmallInt => unsigned("smallint"),
        A::MediumInt(_) => "mediumint".into(),
        A::MediumIntUnsigned(_) => unsigned("mediumint"),
        A::Int(_) | A::Integer(_) | A::Int4(_) => "int".into(),
        A::IntUnsigned(_) | A::IntegerUnsigned(_) | A::Int4Unsigned(_) => unsigned("int"),
        A::BigInt(_) | A::Int8(_) => "bigint".into(),
        A::BigIntUnsigned(_) | A::UBigInt | A::Int8Unsigned(_) => unsigned("bigint"),
        A::Numeric(info) | A::Decimal(info) | A::Dec(info) => decimal(info),
        A::DecimalUnsigned(info) | A::DecUnsigned(info) => unsigned(&decimal(info)),
        A::Real | A::Double(_) | A::DoublePrecision | A::Float8 => "double".into(),
        A::Float(ast::ExactNumberInfo::Precision(p)) if *p > 24 => "double".into(),
        A::Float(_) | A::Float4 => "float".into(),
        A::Datetime(p) => with_fsp("datetime", *p),
        A::Timestamp(p, _) => with_fsp("timestamp", *p),
        A::Time(p, _) => with_fsp("time", *p),
        A::Char(None) | A::Character(None) => "char(1)".into(),
        A::Enum(members, _) => {
            let names: Vec<String> = members
                .iter()
                .map(|m| match m {
                    ast::EnumMember::Name(n) | ast::EnumMember::NamedValue(n, _) => {
                        format!("'{}'", n.replace('\'', "''"))
                    }
                })
                .collect();
            format!("enum({})", names.join(","))
        }
        A::Set(members) => {
            let names: Vec<String> = members.iter().map(|n| format!("'{}'", n.replace('\'', "''"))).collect();
            format!("set({})", names.join(","))
        }
        A::JSON | A::JSONB => "json".into(),
        A::Text | A::String(None) => "text".into(),
        other => other.to_string().to_lowercase(),
    }
}

fn decimal(info: &ast::ExactNumberInfo) -> String {
    match info {
        ast::ExactNumberInfo::None => "decimal(10,0)".into(),
        ast::ExactNumberInfo::Precision(p) => format!("decimal({p},0)"),
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => format!("decimal({p},{s})"),
    }
}

fn with_fsp(base: &str, p: Option<u64>) -> String {
    match p {
        Some(p) if p > 0 => format!("{base}({p})"),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(sql_type: &str) -> String {
        let sql = format!("CREATE TABLE t (c {sql_type})");
        let stmts = super::super::parse(&sql).expect("parses");
        let ast::Statement::CreateTable(ct) = &stmts[0] else { panic!("not a CREATE TABLE") };
        declared_type(&ct.columns[0].data_type)
    }

    #[test]
    fn types_print_as_mysql_prints_them() {
        assert_eq!(declared("INT(11)"), "int");
        assert_eq!(declared("INT UNSIGNED"), "int unsigned");
        assert_eq!(declared("BOOLEAN"), "tinyint(1)");
        assert_eq!(declared("VARCHAR(20)"), "varchar(20)");
        assert_eq!(declared("DECIMAL(10,2)"), "decimal(10,2)");
        assert_eq!(declared("DATETIME(3)"), "datetime(3)");
        assert_eq!(declared("ENUM('a','b')"), "enum('a','b')");
        assert_eq!(declared("LONGBLOB"), "longblob");
    }
}
