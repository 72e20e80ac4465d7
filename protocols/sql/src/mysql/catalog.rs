//! MySQL's `information_schema`: views of the real schema, with MySQL 8's
//! columns, built from the same catalog data as `pg_catalog`.

use orbit_storage::table::TableSchema;
use orbit_storage::{DataType, Value};

use super::MYSQL_CATALOG;
use super::show::{auto_increment, column_type};
use crate::Column;
use crate::pgcatalog::CatalogData;

/// The schema name a MySQL `information_schema` view is planned under,
/// apart from PostgreSQL's `information_schema`.
pub(crate) const SCHEMA: &str = "mysql.information_schema";

const TEXT: DataType = DataType::Text;
const INT: DataType = DataType::BigInt;

/// The columns of view `name`, or `None` if there is no such view.
pub(crate) fn columns(name: &str) -> Option<Vec<Column>> {
    let names: &[(&str, DataType)] = match name {
        "schemata" => &[
            ("catalog_name", TEXT),
            ("schema_name", TEXT),
            ("default_character_set_name", TEXT),
            ("default_collation_name", TEXT),
            ("sql_path", TEXT),
            ("default_encryption", TEXT),
        ],
        "tables" => &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("table_type", TEXT),
            ("engine", TEXT),
            ("version", INT),
            ("row_format", TEXT),
            ("table_rows", INT),
            ("avg_row_length", INT),
            ("data_length", INT),
            ("max_data_length", INT),
            ("index_length", INT),
            ("data_free", INT),
            ("auto_increment", INT),
            ("create_time", DataType::Timestamp),
            ("update_time", DataType::Timestamp),
            ("check_time", DataType::Timestamp),
            ("table_collation", TEXT),
            ("checksum", INT),
            ("create_options", TEXT),
            ("table_comment", TEXT),
        ],
        "columns" => &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("column_name", TEXT),
            ("ordinal_position", INT),
            ("column_default", TEXT),
            ("is_nullable", TEXT),
            ("data_type", TEXT),
            ("character_maximum_length", INT),
            ("character_octet_length", INT),
            ("numeric_precision", INT),
            ("numeric_scale", INT),
            ("datetime_precision", INT),
            ("character_set_name", TEXT),
            ("collation_name", TEXT),
            ("column_type", TEXT),
            ("column_key", TEXT),
            ("extra", TEXT),
            ("privileges", TEXT),
            ("column_comment", TEXT),
            ("generation_expression", TEXT),
            ("srs_id", INT),
        ],
        "statistics" => &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("non_unique", INT),
            ("index_schema", TEXT),
            ("index_name", TEXT),
            ("seq_in_index", INT),
            ("column_name", TEXT),
            ("collation", TEXT),
            ("cardinality", INT),
            ("sub_part", INT),
            ("packed", TEXT),
            ("nullable", TEXT),
            ("index_type", TEXT),
            ("comment", TEXT),
            ("index_comment", TEXT),
            ("is_visible", TEXT),
            ("expression", TEXT),
        ],
        "key_column_usage" => &[
            ("constraint_catalog", TEXT),
            ("constraint_schema", TEXT),
            ("constraint_name", TEXT),
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("column_name", TEXT),
            ("ordinal_position", INT),
            ("position_in_unique_constraint", INT),
            ("referenced_table_schema", TEXT),
            ("referenced_table_name", TEXT),
            ("referenced_column_name", TEXT),
        ],
        "table_constraints" => &[
            ("constraint_catalog", TEXT),
            ("constraint_schema", TEXT),
            ("constraint_name", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("constraint_type", TEXT),
            ("enforced", TEXT),
        ],
        "routines" => &[
            ("specific_name", TEXT),
            ("routine_catalog", TEXT),
            ("routine_schema", TEXT),
            ("routine_name", TEXT),
            ("routine_type", TEXT),
            ("data_type", TEXT),
            ("routine_body", TEXT),
            ("routine_definition", TEXT),
            ("external_name", TEXT),
            ("external_language", TEXT),
            ("parameter_style", TEXT),
            ("is_deterministic", TEXT),
            ("sql_data_access", TEXT),
            ("sql_path", TEXT),
            ("security_type", TEXT),
            ("created", DataType::Timestamp),
            ("last_altered", DataType::Timestamp),
            ("sql_mode", TEXT),
            ("routine_comment", TEXT),
            ("definer", TEXT),
        ],
        "views" => &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("view_definition", TEXT),
            ("check_option", TEXT),
            ("is_updatable", TEXT),
            ("definer", TEXT),
            ("security_type", TEXT),
            ("character_set_client", TEXT),
            ("collation_connection", TEXT),
        ],
        "triggers" => &[
            ("trigger_catalog", TEXT),
            ("trigger_schema", TEXT),
            ("trigger_name", TEXT),
            ("event_manipulation", TEXT),
            ("event_object_catalog", TEXT),
            ("event_object_schema", TEXT),
            ("event_object_table", TEXT),
            ("action_order", INT),
            ("action_condition", TEXT),
            ("action_statement", TEXT),
            ("action_orientation", TEXT),
            ("action_timing", TEXT),
            ("created", DataType::Timestamp),
            ("sql_mode", TEXT),
            ("definer", TEXT),
        ],
        "partitions" => &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("partition_name", TEXT),
            ("subpartition_name", TEXT),
            ("partition_ordinal_position", INT),
            ("partition_method", TEXT),
            ("partition_expression", TEXT),
            ("partition_description", TEXT),
            ("table_rows", INT),
            ("tablespace_name", TEXT),
        ],
        "files" => &[
            ("file_id", INT),
            ("file_name", TEXT),
            ("file_type", TEXT),
            ("tablespace_name", TEXT),
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("logfile_group_name", TEXT),
            ("logfile_group_number", INT),
            ("engine", TEXT),
            ("fulltext_keys", TEXT),
            ("deleted_rows", INT),
            ("update_count", INT),
            ("free_extents", INT),
            ("total_extents", INT),
            ("extent_size", INT),
            ("initial_size", INT),
            ("maximum_size", INT),
            ("autoextend_size", INT),
            ("creation_time", DataType::Timestamp),
            ("last_update_time", DataType::Timestamp),
            ("last_access_time", DataType::Timestamp),
            ("recover_time", INT),
            ("transaction_counter", INT),
            ("version", INT),
            ("row_format", TEXT),
            ("table_rows", INT),
            ("avg_row_length", INT),
            ("data_length", INT),
            ("max_data_length", INT),
            ("index_length", INT),
            ("data_free", INT),
            ("create_time", DataType::Timestamp),
            ("update_time", DataType::Timestamp),
            ("check_time", DataType::Timestamp),
            ("checksum", INT),
            ("status", TEXT),
            ("extra", TEXT),
        ],
        "engines" => &[
            ("engine", TEXT),
            ("support", TEXT),
            ("comment", TEXT),
            ("transactions", TEXT),
            ("xa", TEXT),
            ("savepoints", TEXT),
        ],
        "character_sets" => {
            &[("character_set_name", TEXT), ("default_collate_name", TEXT), ("description", TEXT), ("maxlen", INT)]
        }
        _ => return None,
    };
    Some(names.iter().map(|(n, t)| Column { name: (*n).to_string(), ty: t.clone() }).collect())
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// `def.<database>.<table>` as (database, table).
fn split(stored: &str) -> (&str, &str) {
    let rest = stored.strip_prefix(MYSQL_CATALOG).and_then(|r| r.strip_prefix('.')).unwrap_or(stored);
    rest.split_once('.').unwrap_or(("", rest))
}

/// MySQL's DATA_TYPE: the type name without length or attributes.
fn data_type(column_type: &str) -> String {
    column_type.split(['(', ' ']).next().unwrap_or(column_type).to_string()
}

/// Every key of a table: name, unique, columns, and the constraint type.
fn keys(t: &TableSchema) -> Vec<(String, bool, Vec<String>, Option<&'static str>)> {
    let mut out = Vec::new();
    if !t.primary_key.is_empty() {
        out.push(("PRIMARY".to_string(), true, t.primary_key.clone(), Some("PRIMARY KEY")));
    }
    for ix in &t.indexes {
        out.push((ix.name.clone(), ix.unique, ix.columns.clone(), ix.unique.then_some("UNIQUE")));
    }
    out
}

/// The rows of view `name`.
pub(crate) fn rows(name: &str, d: &CatalogData) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let tables = d.tables.iter().filter(|t| !t.name.starts_with(&format!("{MYSQL_CATALOG}.public.")));
    match name {
        "schemata" => {
            let mut names: Vec<&str> = vec!["information_schema"];
            names.extend(d.schemas.iter().map(String::as_str).filter(|s| *s != "public"));
            for s in names {
                out.push(vec![
                    text("def"),
                    text(s),
                    text("utf8mb4"),
                    text("utf8mb4_0900_ai_ci"),
                    Value::Null,
                    text("NO"),
                ]);
            }
        }
        "tables" => {
            for t in tables {
                let (db, table) = split(&t.name);
                let mut row = vec![
                    text("def"),
                    text(db),
                    text(table),
                    text("BASE TABLE"),
                    text("InnoDB"),
                    Value::Int(10),
                    text("Dynamic"),
                ];
                row.extend(std::iter::repeat_n(Value::Int(0), 6));
                row.extend([Value::Null, Value::Null, Value::Null, Value::Null]);
                row.extend([text("utf8mb4_0900_ai_ci"), Value::Null, text(""), text("")]);
                out.push(row);
            }
        }
        "columns" => {
            for t in tables {
                let (db, table) = split(&t.name);
                let all_keys = keys(t);
                for (i, c) in t.columns.iter().enumerate() {
                    let ty = column_type(c);
                    let is_text = crate::types::is_text(&c.data_type);
                    let max_len = match &c.data_type {
                        DataType::Varchar { max: Some(n) } => Some(i64::from(*n)),
                        DataType::Char { len } => Some(i64::from(*len)),
                        DataType::Text => Some(65535),
                        _ => None,
                    };
                    let (precision, scale) = match &c.data_type {
                        DataType::SmallInt => (Some(5), Some(0)),
                        DataType::Integer => (Some(10), Some(0)),
                        DataType::BigInt => (Some(19), Some(0)),
                        DataType::Real => (Some(12), None),
                        DataType::Double => (Some(22), None),
                        DataType::Numeric { precision, scale } => {
                            (precision.map(i64::from).or(Some(10)), scale.map(i64::from).or(Some(0)))
                        }
                        _ => (None, None),
                    };
                    let key = match all_keys.iter().find(|k| k.2.first() == Some(&c.name)) {
                        Some((n, _, _, _)) if n == "PRIMARY" => "PRI",
                        Some((_, true, cols, _)) if cols.len() == 1 => "UNI",
                        Some(_) => "MUL",
                        None => "",
                    };
                    let default = if auto_increment(c) {
                        Value::Null
                    } else {
                        c.default
                            .as_deref()
                            .map(|d| d.trim_matches('\'').to_string())
                            .filter(|d| !d.eq_ignore_ascii_case("null"))
                            .map_or(Value::Null, Value::Text)
                    };
                    out.push(vec![
                        text("def"),
                        text(db),
                        text(table),
                        text(c.name.clone()),
                        Value::Int(i as i64 + 1),
                        default,
                        text(if c.nullable { "YES" } else { "NO" }),
                        text(data_type(&ty)),
                        max_len.map_or(Value::Null, Value::Int),
                        max_len.map_or(Value::Null, |n| Value::Int(n * 4)),
                        precision.map_or(Value::Null, Value::Int),
                        scale.map_or(Value::Null, Value::Int),
                        match c.data_type {
                            DataType::Timestamp | DataType::TimestampTz | DataType::Time => Value::Int(0),
                            _ => Value::Null,
                        },
                        if is_text { text("utf8mb4") } else { Value::Null },
                        if is_text { text("utf8mb4_0900_ai_ci") } else { Value::Null },
                        text(ty),
                        text(key),
                        text(if auto_increment(c) { "auto_increment" } else { "" }),
                        text("select,insert,update,references"),
                        text(""),
                        text(""),
                        Value::Null,
                    ]);
                }
            }
        }
        "statistics" => {
            for t in tables {
                let (db, table) = split(&t.name);
                for (name, unique, cols, _) in keys(t) {
                    for (i, col) in cols.iter().enumerate() {
                        let nullable = t.columns.iter().find(|c| &c.name == col).is_some_and(|c| c.nullable);
                        out.push(vec![
                            text("def"),
                            text(db),
                            text(table),
                            Value::Int(i64::from(!unique)),
                            text(db),
                            text(name.clone()),
                            Value::Int(i as i64 + 1),
                            text(col.clone()),
                            text("A"),
                            Value::Int(0),
                            Value::Null,
                            Value::Null,
                            text(if nullable { "YES" } else { "" }),
                            text("BTREE"),
                            text(""),
                            text(""),
                            text("YES"),
                            Value::Null,
                        ]);
                    }
                }
            }
        }
        "key_column_usage" => {
            for t in tables {
                let (db, table) = split(&t.name);
                for (name, _, cols, kind) in keys(t) {
                    if kind.is_none() {
                        continue;
                    }
                    for (i, col) in cols.iter().enumerate() {
                        out.push(vec![
                            text("def"),
                            text(db),
                            text(name.clone()),
                            text("def"),
                            text(db),
                            text(table),
                            text(col.clone()),
                            Value::Int(i as i64 + 1),
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                        ]);
                    }
                }
            }
        }
        "table_constraints" => {
            for t in tables {
                let (db, table) = split(&t.name);
                for (name, _, _, kind) in keys(t) {
                    if let Some(kind) = kind {
                        out.push(vec![
                            text("def"),
                            text(db),
                            text(name),
                            text(db),
                            text(table),
                            text(kind),
                            text("YES"),
                        ]);
                    }
                }
                for ck in &t.checks {
                    out.push(vec![
                        text("def"),
                        text(db),
                        text(ck.name.clone()),
                        text(db),
                        text(table),
                        text("CHECK"),
                        text("YES"),
                    ]);
                }
            }
        }
        "engines" => out.push(
            ["InnoDB", "DEFAULT", "Orbit's RocksDB store: transactions, row locks", "YES", "NO", "YES"]
                .into_iter()
                .map(text)
                .collect(),
        ),
        "character_sets" => {
            for (name, collation, description, maxlen) in [
                ("binary", "binary", "Binary pseudo charset", 1),
                ("utf8mb3", "utf8mb3_general_ci", "UTF-8 Unicode", 3),
                ("utf8mb4", "utf8mb4_0900_ai_ci", "UTF-8 Unicode", 4),
            ] {
                out.push(vec![text(name), text(collation), text(description), Value::Int(maxlen)]);
            }
        }
        // Routines, views, triggers, partitions and tablespace files: none
        // exist here.
        _ => {}
    }
    out
}
