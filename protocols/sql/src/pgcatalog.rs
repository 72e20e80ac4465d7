//! `pg_catalog` and `information_schema`: views of the real schema, built
//! when a statement reads them, so GUI tools, ORMs and psql see the
//! databases, schemas, tables, columns, indexes and sequences that exist.

use orbit_storage::table::TableSchema;
use orbit_storage::{DataType, Value};

use crate::Column;
use crate::pgdescribe::{index_def, indexes_of};

/// The catalog schemas.
pub(crate) const CATALOG_SCHEMAS: &[&str] = &["pg_catalog", "information_schema"];

/// What catalog rows are built from.
#[derive(Debug, Default)]
pub(crate) struct CatalogData {
    pub database: String,
    pub databases: Vec<String>,
    /// Schemas of the current database, `public` included.
    pub schemas: Vec<String>,
    /// Tables of the current database (stored names `db.schema.table`).
    pub tables: Vec<TableSchema>,
    /// Sequences of the current database (stored names).
    pub sequences: Vec<String>,
    /// The asking session's pid.
    pub pid: i64,
    /// Sequence definitions.
    pub sequence_defs: Vec<SequenceDef>,
}

/// A sequence's definition, as the catalogs show it.
#[derive(Debug, Clone)]
pub(crate) struct SequenceDef {
    pub name: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cycle: bool,
    /// The stored name of the table whose column owns it.
    pub owner: Option<String>,
}

/// The type a sequence was made for, as its bounds show it (the default
/// bound of a smallint or integer sequence is that type's limit).
pub(crate) fn sequence_type(s: &SequenceDef) -> DataType {
    let fits = |lo: i64, hi: i64| s.min >= lo && s.max <= hi && (s.max == hi || s.min == lo);
    if fits(i64::from(i16::MIN), i64::from(i16::MAX)) {
        DataType::SmallInt
    } else if fits(i64::from(i32::MIN), i64::from(i32::MAX)) {
        DataType::Integer
    } else {
        DataType::BigInt
    }
}

/// The oid of a table's row type (`pg_class.reltype`), next to its own.
pub(crate) fn row_type_oid(table_oid: i64) -> i64 {
    table_oid + 1
}

/// A stable oid for a named object: system objects have PostgreSQL's.
pub(crate) fn oid_of(name: &str) -> i64 {
    match name {
        "pg_catalog" => 11,
        "public" => 2200,
        "information_schema" => 13000,
        _ => {
            // FNV-1a, folded into the range above the system oids.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in name.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            16384 + (h % 1_000_000_000) as i64
        }
    }
}

/// The oid of the relation (table, index, sequence) stored as `stored`
/// (`db.schema.name`).
pub(crate) fn relation_oid(stored: &str) -> i64 {
    oid_of(stored)
}

/// The oid of a type named as `regtype` input accepts it.
pub(crate) fn type_oid_by_name(name: &str) -> Option<i64> {
    let n = name.trim().to_ascii_lowercase();
    let n = n.strip_prefix("pg_catalog.").unwrap_or(&n);
    let alias = match n {
        "integer" | "int" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "boolean" => "bool",
        "real" => "float4",
        "double precision" => "float8",
        "character varying" => "varchar",
        "character" => "bpchar",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        "decimal" => "numeric",
        other => other,
    };
    TYPES.iter().find(|(_, t, _)| *t == alias).map(|(o, _, _)| *o)
}

/// PostgreSQL's oid of a column type.
pub(crate) fn type_oid(t: &DataType) -> i64 {
    match t {
        DataType::Boolean => 16,
        DataType::SmallInt => 21,
        DataType::Integer => 23,
        DataType::BigInt => 20,
        DataType::Real => 700,
        DataType::Double => 701,
        DataType::Numeric { .. } => 1700,
        DataType::Text => 25,
        DataType::Varchar { .. } => 1043,
        DataType::Char { .. } => 1042,
        DataType::Bytes => 17,
        DataType::Date => 1082,
        DataType::Time => 1083,
        DataType::Timestamp => 1114,
        DataType::TimestampTz => 1184,
        DataType::Interval => 1186,
        DataType::Uuid => 2950,
        DataType::Json => 3802,
        DataType::InternalChar => 18,
    }
}

/// Built-in types: oid, name, length.
const TYPES: &[(i64, &str, i64)] = &[
    (16, "bool", 1),
    (17, "bytea", -1),
    (18, "char", 1),
    (19, "name", 64),
    (20, "int8", 8),
    (21, "int2", 2),
    (23, "int4", 4),
    (25, "text", -1),
    (26, "oid", 4),
    (114, "json", -1),
    (700, "float4", 4),
    (701, "float8", 8),
    (1042, "bpchar", -1),
    (1043, "varchar", -1),
    (1082, "date", 4),
    (1083, "time", 8),
    (1114, "timestamp", 8),
    (1184, "timestamptz", 8),
    (1186, "interval", 16),
    (1700, "numeric", -1),
    (2950, "uuid", 16),
    (3802, "jsonb", -1),
];

/// `format_type(oid, typmod)`.
pub(crate) fn format_type(oid: i64, typmod: i64) -> Option<String> {
    let name = match oid {
        16 => "boolean",
        17 => "bytea",
        18 => "\"char\"",
        19 => "name",
        20 => "bigint",
        21 => "smallint",
        23 => "integer",
        25 => "text",
        26 => "oid",
        114 => "json",
        700 => "real",
        701 => "double precision",
        1042 => return Some(if typmod > 4 { format!("character({})", typmod - 4) } else { "character".into() }),
        1043 => {
            return Some(if typmod > 4 {
                format!("character varying({})", typmod - 4)
            } else {
                "character varying".into()
            });
        }
        1082 => "date",
        1083 => "time without time zone",
        1114 => "timestamp without time zone",
        1184 => "timestamp with time zone",
        1186 => "interval",
        1700 => {
            return Some(if typmod > 4 {
                let m = typmod - 4;
                format!("numeric({},{})", m >> 16, m & 0xffff)
            } else {
                "numeric".into()
            });
        }
        2950 => "uuid",
        3802 => "jsonb",
        _ => return None,
    };
    Some(name.into())
}

fn typmod(t: &DataType) -> i64 {
    match t {
        DataType::Varchar { max: Some(n) } | DataType::Char { len: n } => i64::from(*n) + 4,
        DataType::Numeric { precision: Some(p), scale } => ((i64::from(*p) << 16) | i64::from(scale.unwrap_or(0))) + 4,
        _ => -1,
    }
}

/// `pg_attribute.attstorage`: how PostgreSQL would store the type
/// (`p`lain fixed width, `m`ain for numeric, `x` extended otherwise).
fn storage_of(t: &DataType) -> &'static str {
    match t {
        DataType::Numeric { .. } => "m",
        DataType::Text | DataType::Varchar { .. } | DataType::Char { .. } | DataType::Bytes | DataType::Json => "x",
        _ => "p",
    }
}

fn type_len(t: &DataType) -> i64 {
    TYPES.iter().find(|(o, _, _)| *o == type_oid(t)).map_or(-1, |(_, _, l)| *l)
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn col(name: &str, ty: DataType) -> Column {
    Column { name: name.into(), ty }
}

/// Splits a stored name into (schema, table).
pub(crate) fn split_stored(stored: &str) -> (&str, &str) {
    split(stored)
}

fn split(stored: &str) -> (&str, &str) {
    let mut parts = stored.splitn(3, '.');
    let _db = parts.next();
    (parts.next().unwrap_or("public"), parts.next().unwrap_or(stored))
}

use DataType::{Boolean as Bool, Integer as Int4, Real as Float4, SmallInt as Int2, Text};

/// The element type of catalog array column `schema.relation.column`:
/// PostgreSQL's `int2vector`, `oidvector` and `int2[]` columns, which
/// travel here as their text forms.
pub(crate) fn array_element(schema: &str, relation: &str, column: &str) -> Option<DataType> {
    match (schema, relation, column) {
        ("pg_catalog", "pg_index", "indkey" | "indoption") | ("pg_catalog", "pg_constraint", "conkey" | "confkey") => {
            Some(DataType::SmallInt)
        }
        ("pg_catalog", "pg_index", "indclass" | "indcollation") | ("pg_catalog", "pg_proc", "proargtypes") => {
            Some(DataType::Integer)
        }
        _ => None,
    }
}

/// The default btree operator class of a column type, by PostgreSQL's oid
/// and name: what `pg_index.indclass` lists and `pg_opclass` describes.
fn default_opclass(t: &DataType) -> (i64, &'static str) {
    match t {
        DataType::Boolean => (424, "bool_ops"),
        DataType::SmallInt => (1979, "int2_ops"),
        DataType::Integer => (1978, "int4_ops"),
        DataType::BigInt => (3124, "int8_ops"),
        DataType::Real => (1970, "float4_ops"),
        DataType::Double => (1971, "float8_ops"),
        DataType::Numeric { .. } => (3125, "numeric_ops"),
        DataType::Text | DataType::Varchar { .. } => (3126, "text_ops"),
        DataType::Char { .. } => (426, "bpchar_ops"),
        DataType::Bytes => (428, "bytea_ops"),
        DataType::Date => (3122, "date_ops"),
        DataType::Time => (1975, "time_ops"),
        DataType::Timestamp => (3128, "timestamp_ops"),
        DataType::TimestampTz => (3127, "timestamptz_ops"),
        DataType::Interval => (3129, "interval_ops"),
        DataType::Uuid => (2968, "uuid_ops"),
        DataType::Json => (4033, "jsonb_ops"),
        DataType::InternalChar => (429, "char_ops"),
    }
}

/// Every column type, for the rows of `pg_opclass`.
const OPCLASS_TYPES: [DataType; 18] = [
    DataType::Boolean,
    DataType::SmallInt,
    DataType::Integer,
    DataType::BigInt,
    DataType::Real,
    DataType::Double,
    DataType::Numeric { precision: None, scale: None },
    DataType::Text,
    DataType::Char { len: 1 },
    DataType::Bytes,
    DataType::Date,
    DataType::Time,
    DataType::Timestamp,
    DataType::TimestampTz,
    DataType::Interval,
    DataType::Uuid,
    DataType::Json,
    DataType::InternalChar,
];

/// `information_schema.columns`' columns, in PostgreSQL's order.
const INFORMATION_SCHEMA_COLUMNS: [&str; 44] = [
    "table_catalog",
    "table_schema",
    "table_name",
    "column_name",
    "ordinal_position",
    "column_default",
    "is_nullable",
    "data_type",
    "character_maximum_length",
    "character_octet_length",
    "numeric_precision",
    "numeric_precision_radix",
    "numeric_scale",
    "datetime_precision",
    "interval_type",
    "interval_precision",
    "character_set_catalog",
    "character_set_schema",
    "character_set_name",
    "collation_catalog",
    "collation_schema",
    "collation_name",
    "domain_catalog",
    "domain_schema",
    "domain_name",
    "udt_catalog",
    "udt_schema",
    "udt_name",
    "scope_catalog",
    "scope_schema",
    "scope_name",
    "maximum_cardinality",
    "dtd_identifier",
    "is_self_referencing",
    "is_identity",
    "identity_generation",
    "identity_start",
    "identity_increment",
    "identity_maximum",
    "identity_minimum",
    "identity_cycle",
    "is_generated",
    "generation_expression",
    "is_updatable",
];

/// The columns of catalog relation `schema.name`, if it is one.
pub(crate) fn columns(schema: &str, name: &str) -> Option<Vec<Column>> {
    let c = |cols: &[(&str, DataType)]| cols.iter().map(|(n, t)| col(n, t.clone())).collect::<Vec<_>>();
    Some(match (schema, name) {
        ("pg_catalog", "pg_namespace") => c(&[("oid", Int4), ("nspname", Text), ("nspowner", Int4), ("nspacl", Text)]),
        ("pg_catalog", "pg_class") => c(&[
            ("oid", Int4),
            ("relname", Text),
            ("relnamespace", Int4),
            ("reltype", Int4),
            ("relowner", Int4),
            ("relam", Int4),
            ("relpages", Int4),
            ("reltuples", Float4),
            ("relhasindex", Bool),
            ("relhassubclass", Bool),
            ("relpersistence", DataType::InternalChar),
            ("relkind", DataType::InternalChar),
            ("relnatts", Int2),
            ("relchecks", Int2),
            ("relhasrules", Bool),
            ("relhastriggers", Bool),
            ("relrowsecurity", Bool),
            ("relforcerowsecurity", Bool),
            ("relispartition", Bool),
            ("relreplident", DataType::InternalChar),
            ("reltoastrelid", Int4),
            ("reloftype", Int4),
            ("reloptions", Text),
            ("relacl", Text),
            ("relpartbound", Text),
            ("reltablespace", Int4),
        ]),
        ("pg_catalog", "pg_am") => c(&[("oid", Int4), ("amname", Text), ("amtype", DataType::InternalChar)]),
        ("pg_catalog", "pg_database") => c(&[
            ("oid", Int4),
            ("datname", Text),
            ("datdba", Int4),
            ("encoding", Int4),
            ("datlocprovider", DataType::InternalChar),
            ("datistemplate", Bool),
            ("datallowconn", Bool),
            ("datconnlimit", Int4),
            ("datcollate", Text),
            ("datctype", Text),
            ("daticulocale", Text),
            ("datacl", Text),
            ("dattablespace", Int4),
        ]),
        ("pg_catalog", "pg_roles") | ("pg_catalog", "pg_authid") => c(&[
            ("oid", Int4),
            ("rolname", Text),
            ("rolsuper", Bool),
            ("rolinherit", Bool),
            ("rolcreaterole", Bool),
            ("rolcreatedb", Bool),
            ("rolcanlogin", Bool),
            ("rolreplication", Bool),
            ("rolbypassrls", Bool),
            ("rolconnlimit", Int4),
            ("rolvaliduntil", DataType::TimestampTz),
            ("rolconfig", Text),
        ]),
        ("pg_catalog", "pg_user") => c(&[
            ("usename", Text),
            ("usesysid", Int4),
            ("usecreatedb", Bool),
            ("usesuper", Bool),
            ("userepl", Bool),
            ("usebypassrls", Bool),
            ("valuntil", DataType::TimestampTz),
            ("useconfig", Text),
        ]),
        ("pg_catalog", "pg_tables") => c(&[
            ("schemaname", Text),
            ("tablename", Text),
            ("tableowner", Text),
            ("tablespace", Text),
            ("hasindexes", Bool),
            ("hasrules", Bool),
            ("hastriggers", Bool),
            ("rowsecurity", Bool),
        ]),
        ("pg_catalog", "pg_indexes") => c(&[
            ("schemaname", Text),
            ("tablename", Text),
            ("indexname", Text),
            ("tablespace", Text),
            ("indexdef", Text),
        ]),
        ("pg_catalog", "pg_attribute") => c(&[
            ("attrelid", Int4),
            ("attname", Text),
            ("atttypid", Int4),
            ("attlen", Int2),
            ("attnum", Int2),
            ("atttypmod", Int4),
            ("attnotnull", Bool),
            ("atthasdef", Bool),
            ("attidentity", DataType::InternalChar),
            ("attgenerated", DataType::InternalChar),
            ("attisdropped", Bool),
            ("attcollation", Int4),
            ("attstorage", DataType::InternalChar),
            ("attcompression", DataType::InternalChar),
            ("attstattarget", Int4),
        ]),
        ("pg_catalog", "pg_type") => c(&[
            ("oid", Int4),
            ("typname", Text),
            ("typnamespace", Int4),
            ("typlen", Int2),
            ("typtype", DataType::InternalChar),
            ("typcollation", Int4),
            ("typcategory", DataType::InternalChar),
            ("typelem", Int4),
            ("typrelid", Int4),
            ("typbasetype", Int4),
            ("typtypmod", Int4),
            ("typnotnull", Bool),
            ("typinput", Text),
            ("typoutput", Text),
            ("typarray", Int4),
            ("typdelim", DataType::InternalChar),
            ("typisdefined", Bool),
            ("typowner", Int4),
        ]),
        ("pg_catalog", "pg_description") => {
            c(&[("objoid", Int4), ("classoid", Int4), ("objsubid", Int4), ("description", Text)])
        }
        ("pg_catalog", "pg_index") => c(&[
            ("indexrelid", Int4),
            ("indrelid", Int4),
            ("indnatts", Int2),
            ("indisunique", Bool),
            ("indisprimary", Bool),
            ("indisclustered", Bool),
            ("indisvalid", Bool),
            ("indkey", Text),
            ("indisreplident", Bool),
            ("indisexclusion", Bool),
            ("indimmediate", Bool),
            ("indnkeyatts", Int2),
            ("indoption", Text),
            ("indexprs", Text),
            ("indpred", Text),
            ("indclass", Text),
            ("indcollation", Text),
        ]),
        ("pg_catalog", "pg_opclass") => c(&[
            ("oid", Int4),
            ("opcmethod", Int4),
            ("opcname", Text),
            ("opcnamespace", Int4),
            ("opcowner", Int4),
            ("opcfamily", Int4),
            ("opcintype", Int4),
            ("opcdefault", Bool),
            ("opckeytype", Int4),
        ]),
        ("pg_catalog", "pg_language") => c(&[
            ("oid", Int4),
            ("lanname", Text),
            ("lanowner", Int4),
            ("lanispl", Bool),
            ("lanpltrusted", Bool),
            ("lanplcallfoid", Int4),
            ("laninline", Int4),
            ("lanvalidator", Int4),
            ("lanacl", Text),
        ]),
        ("pg_catalog", "pg_proc") => c(&[
            ("oid", Int4),
            ("proname", Text),
            ("pronamespace", Int4),
            ("prokind", DataType::InternalChar),
            ("prorettype", Int4),
            ("proargtypes", Text),
            ("prolang", Int4),
            ("prosrc", Text),
        ]),
        ("pg_catalog", "pg_auth_members") => {
            c(&[("roleid", Int4), ("member", Int4), ("grantor", Int4), ("admin_option", Bool)])
        }
        ("information_schema", "schemata") => {
            c(&[("catalog_name", Text), ("schema_name", Text), ("schema_owner", Text)])
        }
        ("information_schema", "tables") => {
            c(&[("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("table_type", Text)])
        }
        ("information_schema", "columns") => {
            let ints = [
                "ordinal_position",
                "character_maximum_length",
                "character_octet_length",
                "numeric_precision",
                "numeric_precision_radix",
                "numeric_scale",
                "datetime_precision",
                "interval_precision",
                "maximum_cardinality",
            ];
            INFORMATION_SCHEMA_COLUMNS.iter().map(|n| col(n, if ints.contains(n) { Int4 } else { Text })).collect()
        }
        ("information_schema", "sequences") => c(&[
            ("sequence_catalog", Text),
            ("sequence_schema", Text),
            ("sequence_name", Text),
            ("data_type", Text),
            ("numeric_precision", Int4),
            ("numeric_precision_radix", Int4),
            ("numeric_scale", Int4),
            ("start_value", Text),
            ("minimum_value", Text),
            ("maximum_value", Text),
            ("increment", Text),
            ("cycle_option", Text),
        ]),
        ("information_schema", other) => return crate::pgdescribe::information_schema_columns(other),
        ("pg_catalog", other) => return crate::pgdescribe::columns(other),
        _ => return None,
    })
}

/// The rows of catalog relation `schema.name`.
pub(crate) fn rows(schema: &str, name: &str, d: &CatalogData) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let owner = || text("postgres");
    match (schema, name) {
        ("pg_catalog", "pg_namespace") => {
            for n in CATALOG_SCHEMAS.iter().map(|s| (*s).to_string()).chain(d.schemas.iter().cloned()) {
                out.push(vec![Value::Int(oid_of(&n)), text(n), Value::Int(10), Value::Null]);
            }
        }
        ("pg_catalog", "pg_class") => {
            let class =
                |oid: i64, name: &str, ns: &str, kind: &str, am: i64, natts: usize, has_index: bool, checks: usize| {
                    vec![
                        Value::Int(oid),
                        text(name),
                        Value::Int(oid_of(ns)),
                        // A table's row type; indexes and sequences have none.
                        Value::Int(if kind == "r" { row_type_oid(oid) } else { 0 }),
                        Value::Int(10),
                        Value::Int(am),
                        Value::Int(0),
                        Value::Float(-1.0),
                        Value::Bool(has_index),
                        Value::Bool(false),
                        text("p"),
                        text(kind),
                        Value::Int(natts as i64),
                        Value::Int(checks as i64),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(false),
                        text("d"),
                        Value::Int(0),
                        Value::Int(0),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::Int(0),
                    ]
                };
            for t in &d.tables {
                let (ns, short) = split(&t.name);
                let idx = indexes_of(t);
                out.push(class(oid_of(&t.name), short, ns, "r", 2, t.columns.len(), !idx.is_empty(), t.checks.len()));
                for ix in idx {
                    let oid = crate::pgdescribe::index_oid(&t.name, &ix.name);
                    out.push(class(oid, &ix.name, ns, "i", 403, ix.columns.len(), false, 0));
                }
            }
            for s in &d.sequences {
                let (ns, short) = split(s);
                out.push(class(oid_of(s), short, ns, "S", 0, 3, false, 0));
            }
        }
        ("pg_catalog", "pg_am") => {
            out.push(vec![Value::Int(2), text("heap"), text("t")]);
            out.push(vec![Value::Int(403), text("btree"), text("i")]);
        }
        ("pg_catalog", "pg_database") => {
            for db in &d.databases {
                out.push(vec![
                    Value::Int(oid_of(&format!("database {db}"))),
                    text(db.clone()),
                    Value::Int(10),
                    Value::Int(6),
                    text("c"),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Int(-1),
                    text("C.UTF-8"),
                    text("C.UTF-8"),
                    Value::Null,
                    Value::Null,
                    Value::Int(1663),
                ]);
            }
        }
        ("pg_catalog", "pg_roles") | ("pg_catalog", "pg_authid") => out.push(vec![
            Value::Int(10),
            owner(),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Int(-1),
            Value::Null,
            Value::Null,
        ]),
        ("pg_catalog", "pg_user") => out.push(vec![
            owner(),
            Value::Int(10),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(true),
            Value::Null,
            Value::Null,
        ]),
        ("pg_catalog", "pg_tables") => {
            for t in &d.tables {
                let (ns, short) = split(&t.name);
                out.push(vec![
                    text(ns),
                    text(short),
                    owner(),
                    Value::Null,
                    Value::Bool(!indexes_of(t).is_empty()),
                    Value::Bool(false),
                    Value::Bool(false),
                    Value::Bool(false),
                ]);
            }
        }
        ("pg_catalog", "pg_indexes") => {
            for t in &d.tables {
                let (ns, short) = split(&t.name);
                for ix in indexes_of(t) {
                    out.push(vec![text(ns), text(short), text(ix.name.clone()), Value::Null, text(index_def(t, &ix))]);
                }
            }
        }
        ("pg_catalog", "pg_attribute") => {
            for t in &d.tables {
                for (i, c) in t.columns.iter().enumerate() {
                    out.push(vec![
                        Value::Int(oid_of(&t.name)),
                        text(c.name.clone()),
                        Value::Int(type_oid(&c.data_type)),
                        Value::Int(type_len(&c.data_type)),
                        Value::Int(i as i64 + 1),
                        Value::Int(typmod(&c.data_type)),
                        Value::Bool(!c.nullable),
                        Value::Bool(c.default.is_some()),
                        text(""),
                        text(""),
                        Value::Bool(false),
                        Value::Int(if crate::types::is_text(&c.data_type) { 100 } else { 0 }),
                        text(storage_of(&c.data_type)),
                        text(""),
                        Value::Int(-1),
                    ]);
                }
            }
        }
        ("pg_catalog", "pg_type") => {
            for (oid, n, len) in TYPES {
                // The string types sort by the default collation.
                let collation = if matches!(*oid, 19 | 25 | 1042 | 1043) { 100 } else { 0 };
                let category = match *oid {
                    16 => "B",
                    20 | 21 | 23 | 26 | 700 | 701 | 1700 => "N",
                    18 | 19 | 25 | 1042 | 1043 => "S",
                    1082 | 1083 | 1114 | 1184 => "D",
                    1186 => "T",
                    _ => "U",
                };
                out.push(vec![
                    Value::Int(*oid),
                    text(*n),
                    Value::Int(11),
                    Value::Int(*len),
                    text("b"),
                    Value::Int(collation),
                    text(category),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Int(-1),
                    Value::Bool(false),
                    text(format!("{n}in")),
                    text(format!("{n}out")),
                    Value::Int(0),
                    text(","),
                    Value::Bool(true),
                    Value::Int(10),
                ]);
            }
        }
        ("pg_catalog", "pg_description") | ("pg_catalog", "pg_proc") | ("pg_catalog", "pg_auth_members") => {}
        ("pg_catalog", "pg_opclass") => {
            for ty in &OPCLASS_TYPES {
                let (oid, name) = default_opclass(ty);
                out.push(vec![
                    Value::Int(oid),
                    Value::Int(403),
                    text(name),
                    Value::Int(oid_of("pg_catalog")),
                    Value::Int(10),
                    Value::Int(0),
                    Value::Int(type_oid(ty)),
                    Value::Bool(true),
                    Value::Int(0),
                ]);
            }
        }
        ("pg_catalog", "pg_language") => {
            // PostgreSQL's built-in languages; no procedural ones are installed.
            for (oid, name, pl, trusted) in
                [(12, "internal", false, false), (13, "c", false, false), (14, "sql", false, true)]
            {
                out.push(vec![
                    Value::Int(oid),
                    text(name),
                    Value::Int(10),
                    Value::Bool(pl),
                    Value::Bool(trusted),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Int(0),
                    Value::Null,
                ]);
            }
        }
        ("pg_catalog", "pg_index") => {
            crate::pgdescribe::register_indexes(d);
            for t in &d.tables {
                for ix in indexes_of(t) {
                    let key: Vec<String> =
                        ix.columns.iter().filter_map(|c| t.column_index(c).map(|i| (i + 1).to_string())).collect();
                    let types: Vec<&DataType> =
                        ix.columns.iter().filter_map(|c| t.column_index(c).map(|i| &t.columns[i].data_type)).collect();
                    let opclasses: Vec<String> = types.iter().map(|ty| default_opclass(ty).0.to_string()).collect();
                    // Text columns sort by the default collation (100).
                    let collations: Vec<&str> =
                        types.iter().map(|ty| if crate::types::is_text(ty) { "100" } else { "0" }).collect();
                    out.push(vec![
                        Value::Int(crate::pgdescribe::index_oid(&t.name, &ix.name)),
                        Value::Int(oid_of(&t.name)),
                        Value::Int(ix.columns.len() as i64),
                        Value::Bool(ix.unique),
                        Value::Bool(ix.primary),
                        Value::Bool(false),
                        Value::Bool(true),
                        text(key.join(" ")),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(true),
                        Value::Int(ix.columns.len() as i64),
                        text(vec!["0"; ix.columns.len()].join(" ")),
                        Value::Null,
                        Value::Null,
                        text(opclasses.join(" ")),
                        text(collations.join(" ")),
                    ]);
                }
            }
        }
        ("information_schema", "schemata") => {
            for n in CATALOG_SCHEMAS.iter().map(|s| (*s).to_string()).chain(d.schemas.iter().cloned()) {
                out.push(vec![text(d.database.clone()), text(n), owner()]);
            }
        }
        ("information_schema", "tables") => {
            for t in &d.tables {
                let (ns, short) = split(&t.name);
                out.push(vec![text(d.database.clone()), text(ns), text(short), text("BASE TABLE")]);
            }
        }
        ("information_schema", "columns") => {
            for t in &d.tables {
                let (ns, short) = split(&t.name);
                for (i, c) in t.columns.iter().enumerate() {
                    let ty = &c.data_type;
                    // (max length, precision, radix, scale, datetime precision)
                    let (len, precision, radix, scale, dt_precision) = match ty {
                        DataType::Varchar { max } => (max.map(i64::from), None, None, None, None),
                        DataType::Char { len } => (Some(i64::from(*len)), None, None, None, None),
                        DataType::SmallInt => (None, Some(16), Some(2), Some(0), None),
                        DataType::Integer => (None, Some(32), Some(2), Some(0), None),
                        DataType::BigInt => (None, Some(64), Some(2), Some(0), None),
                        DataType::Real => (None, Some(24), Some(2), None, None),
                        DataType::Double => (None, Some(53), Some(2), None, None),
                        DataType::Numeric { precision, scale } => {
                            (None, precision.map(i64::from), Some(10), scale.map(i64::from), None)
                        }
                        DataType::Date => (None, None, None, None, Some(0)),
                        DataType::Time | DataType::Timestamp | DataType::TimestampTz | DataType::Interval => {
                            (None, None, None, None, Some(6))
                        }
                        _ => (None, None, None, None, None),
                    };
                    // Bytes in the server encoding (UTF-8, up to 4 a character).
                    let octets = match ty {
                        DataType::Varchar { max: Some(n) } | DataType::Char { len: n } => Some(i64::from(*n) * 4),
                        DataType::Text | DataType::Varchar { max: None } => Some(1_073_741_824),
                        _ => None,
                    };
                    let opt = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
                    let mut row = vec![Value::Null; INFORMATION_SCHEMA_COLUMNS.len()];
                    let mut set = |name: &str, v: Value| {
                        if let Some(i) = INFORMATION_SCHEMA_COLUMNS.iter().position(|n| *n == name) {
                            row[i] = v;
                        }
                    };
                    set("table_catalog", text(d.database.clone()));
                    set("table_schema", text(ns));
                    set("table_name", text(short));
                    set("column_name", text(c.name.clone()));
                    set("ordinal_position", Value::Int(i as i64 + 1));
                    set(
                        "column_default",
                        c.default.as_deref().map_or(Value::Null, |d| text(crate::pgdescribe::default_text(d, ty))),
                    );
                    set("is_nullable", text(if c.nullable { "YES" } else { "NO" }));
                    set("data_type", text(crate::types::type_label(ty)));
                    set("character_maximum_length", opt(len));
                    set("character_octet_length", opt(octets));
                    set("numeric_precision", opt(precision));
                    set("numeric_precision_radix", opt(radix));
                    set("numeric_scale", opt(scale));
                    set("datetime_precision", opt(dt_precision));
                    set("udt_catalog", text(d.database.clone()));
                    set("udt_schema", text("pg_catalog"));
                    set("udt_name", text(TYPES.iter().find(|(o, _, _)| *o == type_oid(ty)).map_or("", |(_, n, _)| n)));
                    set("dtd_identifier", text((i + 1).to_string()));
                    set("is_self_referencing", text("NO"));
                    set("is_identity", text("NO"));
                    set("identity_cycle", text("NO"));
                    set("is_generated", text("NEVER"));
                    set("is_updatable", text("YES"));
                    out.push(row);
                }
            }
        }
        ("information_schema", "sequences") => {
            for s in &d.sequence_defs {
                let (ns, short) = split(&s.name);
                let ty = sequence_type(s);
                let bits = match ty {
                    DataType::SmallInt => 16,
                    DataType::Integer => 32,
                    _ => 64,
                };
                out.push(vec![
                    text(d.database.clone()),
                    text(ns),
                    text(short),
                    text(crate::types::type_label(&ty)),
                    Value::Int(bits),
                    Value::Int(2),
                    Value::Int(0),
                    text(s.start.to_string()),
                    text(s.min.to_string()),
                    text(s.max.to_string()),
                    text(s.increment.to_string()),
                    text(if s.cycle { "YES" } else { "NO" }),
                ]);
            }
        }
        ("pg_catalog", other) => return crate::pgdescribe::rows(other, d),
        ("information_schema", other) => return crate::pgdescribe::information_schema_rows(other, d),
        _ => {}
    }
    out
}

/// Reads what the catalog views show for `database` through storage.
pub(crate) async fn load(
    storage: &std::sync::Arc<dyn orbit_storage::TableStorage>,
    database: &str,
) -> crate::SqlResult<CatalogData> {
    use orbit_storage::table::SelectQuery;
    let prefix = format!("{database}.");
    let all = storage.list_tables().await?;
    let tables: Vec<TableSchema> = all.iter().filter(|t| t.name.starts_with(&prefix)).cloned().collect();
    let names = |table: &str| {
        let storage = storage.clone();
        let table = table.to_string();
        async move {
            if storage.get_table_schema(&table).await?.is_none() {
                return Ok::<Vec<String>, crate::SqlError>(Vec::new());
            }
            Ok(storage
                .select(None, &SelectQuery::all(table))
                .await?
                .into_iter()
                .filter_map(|r| match r.into_iter().next() {
                    Some(Value::Text(t)) => Some(t),
                    _ => None,
                })
                .collect())
        }
    };
    let mut schemas = vec!["public".to_string()];
    schemas.extend(
        names("orbit_catalog.schemas").await?.into_iter().filter_map(|n| n.strip_prefix(&prefix).map(str::to_string)),
    );
    let sequences: Vec<String> =
        names("orbit_catalog.sequences").await?.into_iter().filter(|n| n.starts_with(&prefix)).collect();
    let mut sequence_defs = Vec::new();
    if !sequences.is_empty() {
        let int = |v: &Value| if let Value::Int(i) = v { *i } else { 0 };
        for row in storage.select(None, &SelectQuery::all("orbit_catalog.sequences")).await? {
            if let [Value::Text(name), increment, min, max, start, cycle, _, owner, ..] = row.as_slice()
                && name.starts_with(&prefix)
            {
                sequence_defs.push(SequenceDef {
                    name: name.clone(),
                    start: int(start),
                    increment: int(increment),
                    min: int(min),
                    max: int(max),
                    cycle: matches!(cycle, Value::Bool(true)),
                    owner: match owner {
                        Value::Text(t) => Some(t.clone()),
                        _ => None,
                    },
                });
            }
        }
    }
    let mut databases = vec![crate::catalog::DEFAULT_DATABASE.to_string()];
    databases
        .extend(names("orbit_catalog.databases").await?.into_iter().filter(|n| n != crate::catalog::DEFAULT_DATABASE));
    databases.sort();
    Ok(CatalogData { database: database.to_string(), databases, schemas, tables, sequences, pid: 0, sequence_defs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_has_rows_of_its_width() {
        let mut t =
            TableSchema::new("db.public.t", vec![orbit_storage::table::ColumnDef::new("a", DataType::Integer)], &["a"]);
        t.indexes.push(orbit_storage::table::IndexDef {
            name: "t_a_idx".into(),
            columns: vec!["a".into()],
            unique: false,
            constraint: false,
        });
        let d = CatalogData {
            database: "db".into(),
            databases: vec!["db".into()],
            schemas: vec!["public".into()],
            tables: vec![t],
            sequences: vec!["db.public.s".into()],
            pid: 0,
            sequence_defs: vec![SequenceDef {
                name: "db.public.s".into(),
                start: 1,
                increment: 1,
                min: 1,
                max: i64::MAX,
                cycle: false,
                owner: None,
            }],
        };
        for (schema, name) in [
            ("pg_catalog", "pg_namespace"),
            ("pg_catalog", "pg_index"),
            ("pg_catalog", "pg_opclass"),
            ("pg_catalog", "pg_language"),
            ("pg_catalog", "pg_class"),
            ("pg_catalog", "pg_am"),
            ("pg_catalog", "pg_database"),
            ("pg_catalog", "pg_roles"),
            ("pg_catalog", "pg_user"),
            ("pg_catalog", "pg_tables"),
            ("pg_catalog", "pg_indexes"),
            ("pg_catalog", "pg_attribute"),
            ("pg_catalog", "pg_type"),
            ("information_schema", "schemata"),
            ("information_schema", "tables"),
            ("information_schema", "columns"),
            ("information_schema", "sequences"),
        ] {
            let width = columns(schema, name).map(|c| c.len()).unwrap_or_default();
            let rows = rows(schema, name, &d);
            assert!(!rows.is_empty(), "{schema}.{name}");
            assert!(rows.iter().all(|r| r.len() == width), "{schema}.{name}");
        }
        assert_eq!(format_type(1043, 24), Some("character varying(20)".into()));
        assert_eq!(format_type(1700, ((12 << 16) | 2) + 4), Some("numeric(12,2)".into()));
    }
}
