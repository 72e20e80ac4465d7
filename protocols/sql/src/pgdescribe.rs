//! The catalog relations and functions psql's `\d TABLE` reads besides
//! the basic ones in `pgcatalog`: column defaults (`pg_attrdef`),
//! constraints (`pg_constraint`), collations, and the relations of features
//! Orbit does not have (row security policies, extended statistics,
//! publications, inheritance), which exist and are empty.
//!
//! `pg_get_constraintdef`, `pg_get_indexdef` and `pg_get_expr` take an oid
//! (or a stored expression) and answer text. Definitions are registered by
//! oid whenever catalog rows are built, which every query that can name
//! such an oid does first.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use orbit_storage::table::TableSchema;
use orbit_storage::{DataType, Value};

use crate::Column;
use crate::pgcatalog::{CatalogData, format_type, oid_of, relation_oid, split_stored, type_oid};

/// Server-wide settings clients read, fixed here, beyond each session's own.
pub(crate) const FIXED_SETTINGS: [(&str, &str); 3] =
    [("max_connections", "100"), ("server_version_num", "150000"), ("block_size", "8192")];

/// Relations that are always empty here, with the columns psql and GUI
/// tools read from them.
const EMPTY: &[(&str, &[&str])] = &[
    ("pg_policy", &["oid", "polname", "polrelid", "polcmd", "polpermissive", "polroles", "polqual", "polwithcheck"]),
    (
        "pg_statistic_ext",
        &["oid", "stxrelid", "stxname", "stxnamespace", "stxowner", "stxstattarget", "stxkeys", "stxkind"],
    ),
    ("pg_publication", &["oid", "pubname", "pubowner", "puballtables", "pubinsert", "pubupdate", "pubdelete"]),
    ("pg_publication_namespace", &["oid", "pnpubid", "pnnspid"]),
    ("pg_publication_rel", &["oid", "prpubid", "prrelid", "prqual", "prattrs"]),
    ("pg_inherits", &["inhrelid", "inhparent", "inhseqno", "inhdetachpending"]),
    ("pg_trigger", &["oid", "tgrelid", "tgname", "tgfoid", "tgtype", "tgenabled", "tgisinternal", "tgconstraint"]),
    ("pg_rewrite", &["oid", "rulename", "ev_class", "ev_type", "ev_enabled", "is_instead"]),
    ("pg_foreign_table", &["ftrelid", "ftserver", "ftoptions"]),
    ("pg_partitioned_table", &["partrelid", "partstrat", "partnatts", "partdefid"]),
    ("pg_extension", &["oid", "extname", "extowner", "extnamespace", "extrelocatable", "extversion"]),
    ("pg_enum", &["oid", "enumtypid", "enumsortorder", "enumlabel"]),
    ("pg_views", &["schemaname", "viewname", "viewowner", "definition"]),
];

/// Whether `pg_catalog.name` is one of the always-empty relations.
pub(crate) fn is_empty_relation(name: &str) -> bool {
    EMPTY.iter().any(|(n, _)| *n == name)
}

/// The column type of an always-empty relation's column.
fn empty_column_type(name: &str) -> DataType {
    let ints = [
        "oid",
        "polrelid",
        "stxrelid",
        "stxnamespace",
        "stxowner",
        "stxstattarget",
        "pubowner",
        "pnpubid",
        "enumtypid",
    ];
    let more_ints = ["pnnspid", "prpubid", "prrelid", "inhrelid", "inhparent", "inhseqno", "tgrelid", "tgfoid"];
    let bools = ["polpermissive", "puballtables", "pubinsert", "pubupdate", "pubdelete", "inhdetachpending"];
    let more_bools = ["tgisinternal", "is_instead", "extrelocatable"];
    if ints.contains(&name) || more_ints.contains(&name) || ["tgtype", "ev_class", "partrelid"].contains(&name) {
        DataType::Integer
    } else if bools.contains(&name) || more_bools.contains(&name) {
        DataType::Boolean
    } else {
        DataType::Text
    }
}

/// The columns of the relations this module serves, if `name` is one.
pub(crate) fn columns(name: &str) -> Option<Vec<Column>> {
    use DataType::{Boolean as Bool, Integer as Int4, SmallInt as Int2, Text};
    let c = |cols: &[(&str, DataType)]| cols.iter().map(|(n, t)| Column { name: (*n).into(), ty: t.clone() }).collect();
    if let Some((_, cols)) = EMPTY.iter().find(|(n, _)| *n == name) {
        return Some(cols.iter().map(|n| Column { name: (*n).into(), ty: empty_column_type(n) }).collect());
    }
    Some(match name {
        "pg_attrdef" => c(&[("oid", Int4), ("adrelid", Int4), ("adnum", Int2), ("adbin", Text)]),
        "pg_constraint" => c(&[
            ("oid", Int4),
            ("conname", Text),
            ("connamespace", Int4),
            ("contype", DataType::InternalChar),
            ("condeferrable", Bool),
            ("condeferred", Bool),
            ("convalidated", Bool),
            ("conrelid", Int4),
            ("contypid", Int4),
            ("conindid", Int4),
            ("conparentid", Int4),
            ("confrelid", Int4),
            ("conislocal", Bool),
            ("conkey", Text),
            ("confkey", Text),
            ("confupdtype", DataType::InternalChar),
            ("confdeltype", DataType::InternalChar),
            ("confmatchtype", DataType::InternalChar),
        ]),
        "pg_collation" => {
            c(&[("oid", Int4), ("collname", Text), ("collnamespace", Int4), ("collprovider", DataType::InternalChar)])
        }
        "pg_sequence" => c(&[
            ("seqrelid", Int4),
            ("seqtypid", Int4),
            ("seqstart", DataType::BigInt),
            ("seqincrement", DataType::BigInt),
            ("seqmax", DataType::BigInt),
            ("seqmin", DataType::BigInt),
            ("seqcache", DataType::BigInt),
            ("seqcycle", Bool),
        ]),
        "pg_depend" => c(&[
            ("classid", Int4),
            ("objid", Int4),
            ("objsubid", Int4),
            ("refclassid", Int4),
            ("refobjid", Int4),
            ("refobjsubid", Int4),
            ("deptype", DataType::InternalChar),
        ]),
        "pg_stat_activity" => c(&[
            ("datid", Int4),
            ("datname", Text),
            ("pid", Int4),
            ("leader_pid", Int4),
            ("usesysid", Int4),
            ("usename", Text),
            ("application_name", Text),
            ("client_addr", Text),
            ("client_hostname", Text),
            ("client_port", Int4),
            ("backend_start", DataType::TimestampTz),
            ("xact_start", DataType::TimestampTz),
            ("query_start", DataType::TimestampTz),
            ("state_change", DataType::TimestampTz),
            ("wait_event_type", Text),
            ("wait_event", Text),
            ("state", Text),
            ("backend_xid", Text),
            ("backend_xmin", Text),
            ("query_id", DataType::BigInt),
            ("query", Text),
            ("backend_type", Text),
        ]),
        "pg_settings" => c(&[
            ("name", Text),
            ("setting", Text),
            ("unit", Text),
            ("category", Text),
            ("short_desc", Text),
            ("extra_desc", Text),
            ("context", Text),
            ("vartype", Text),
            ("source", Text),
            ("min_val", Text),
            ("max_val", Text),
            ("enumvals", Text),
            ("boot_val", Text),
            ("reset_val", Text),
            ("sourcefile", Text),
            ("sourceline", Int4),
            ("pending_restart", Bool),
        ]),
        _ => return None,
    })
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// Definitions by oid, for `pg_get_constraintdef` and `pg_get_indexdef`.
fn defs() -> &'static Mutex<HashMap<i64, String>> {
    static DEFS: OnceLock<Mutex<HashMap<i64, String>>> = OnceLock::new();
    DEFS.get_or_init(Default::default)
}

fn register(oid: i64, def: String) {
    defs().lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(oid, def);
}

/// Definitions whose plain form differs from the pretty one that
/// [`defs`] holds: CHECK constraints.
fn plain_defs() -> &'static Mutex<HashMap<i64, String>> {
    static DEFS: OnceLock<Mutex<HashMap<i64, String>>> = OnceLock::new();
    DEFS.get_or_init(Default::default)
}

/// The definition registered for `oid`: the pretty form psql asks for, or
/// the plain one (`pg_get_constraintdef(oid)` without `true`).
pub(crate) fn definition(oid: i64, pretty: bool) -> Option<String> {
    if !pretty && let Some(d) = plain_defs().lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&oid) {
        return Some(d.clone());
    }
    defs().lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&oid).cloned()
}

/// An index of a table: name, columns, unique, primary key, constraint.
pub(crate) struct IndexInfo {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    pub constraint: bool,
}

/// The indexes of `t`, its primary key's first.
pub(crate) fn indexes_of(t: &TableSchema) -> Vec<IndexInfo> {
    let (_, short) = split_stored(&t.name);
    let mut out = Vec::new();
    if !t.primary_key.is_empty() {
        out.push(IndexInfo {
            name: format!("{short}_pkey"),
            columns: t.primary_key.clone(),
            unique: true,
            primary: true,
            constraint: true,
        });
    }
    for ix in &t.indexes {
        out.push(IndexInfo {
            name: ix.name.clone(),
            columns: ix.columns.clone(),
            unique: ix.unique,
            primary: false,
            constraint: ix.constraint,
        });
    }
    out
}

/// The oid of index `index` of stored table `table`.
pub(crate) fn index_oid(table: &str, index: &str) -> i64 {
    let db_schema = table.rsplit_once('.').map_or(table, |(prefix, _)| prefix);
    relation_oid(&format!("{db_schema}.{index}"))
}

/// `CREATE [UNIQUE] INDEX name ON schema.table USING btree (cols)`, as
/// `pg_get_indexdef` and `pg_indexes.indexdef` show it.
pub(crate) fn index_def(t: &TableSchema, ix: &IndexInfo) -> String {
    let (ns, short) = split_stored(&t.name);
    format!(
        "CREATE {}INDEX {} ON {ns}.{short} USING btree ({})",
        if ix.unique { "UNIQUE " } else { "" },
        ix.name,
        ix.columns.join(", ")
    )
}

/// A column default as PostgreSQL shows it: a string literal carries a
/// cast to the column's type, and `nextval` names its sequence as a
/// regclass.
pub(crate) fn default_text(default: &str, ty: &DataType) -> String {
    let d = default.trim();
    let quoted = d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') && !d[1..d.len() - 1].contains("''");
    if quoted {
        let type_name = match ty {
            DataType::Varchar { .. } => "character varying".to_string(),
            DataType::Char { .. } => "bpchar".to_string(),
            other => format_type(type_oid(other), -1).unwrap_or_else(|| "text".into()),
        };
        return format!("{d}::{type_name}");
    }
    if let Some(rest) = d.strip_prefix("nextval('")
        && let Some(seq) = rest.strip_suffix("')")
        && !seq.contains('\'')
    {
        return format!("nextval('{seq}'::regclass)");
    }
    d.to_string()
}

/// The rows of the relations this module serves.
pub(crate) fn rows(name: &str, d: &CatalogData) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    match name {
        "pg_attrdef" => {
            for t in &d.tables {
                let rel = relation_oid(&t.name);
                for (i, c) in t.columns.iter().enumerate() {
                    if let Some(def) = &c.default {
                        out.push(vec![
                            Value::Int(oid_of(&format!("{} default {}", t.name, c.name))),
                            Value::Int(rel),
                            Value::Int(i as i64 + 1),
                            text(default_text(def, &c.data_type)),
                        ]);
                    }
                }
            }
        }
        "pg_constraint" => {
            for t in &d.tables {
                let (ns, _) = split_stored(&t.name);
                let rel = relation_oid(&t.name);
                let key = |cols: &[String]| {
                    let nums: Vec<String> =
                        cols.iter().filter_map(|c| t.column_index(c).map(|i| (i + 1).to_string())).collect();
                    format!("{{{}}}", nums.join(","))
                };
                let mut push = |name: &str, kind: &str, index: i64, conkey: String, def: String| {
                    let oid = oid_of(&format!("{} constraint {name}", t.name));
                    register(oid, def);
                    out.push(vec![
                        Value::Int(oid),
                        text(name),
                        Value::Int(oid_of(ns)),
                        text(kind),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(true),
                        Value::Int(rel),
                        Value::Int(0),
                        Value::Int(index),
                        Value::Int(0),
                        Value::Int(0),
                        Value::Bool(true),
                        text(conkey),
                        Value::Null,
                        // Foreign-key actions; a space for other constraints.
                        text(" "),
                        text(" "),
                        text(" "),
                    ]);
                };
                for ix in indexes_of(t).iter().filter(|ix| ix.constraint) {
                    let (kind, word) = if ix.primary { ("p", "PRIMARY KEY") } else { ("u", "UNIQUE") };
                    let def = format!("{word} ({})", ix.columns.join(", "));
                    push(&ix.name, kind, index_oid(&t.name, &ix.name), key(&ix.columns), def);
                }
                for ck in &t.checks {
                    let oid = oid_of(&format!("{} constraint {}", t.name, ck.name));
                    let mut plain_defs = plain_defs().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match check_plain(&ck.expr, t) {
                        Some(plain) => plain_defs.insert(oid, format!("CHECK ({plain})")),
                        // Shown as written, pretty or not.
                        None => plain_defs.remove(&oid),
                    };
                    drop(plain_defs);
                    push(&ck.name, "c", 0, "{}".into(), format!("CHECK ({})", check_display(&ck.expr, t)));
                }
            }
        }
        "pg_sequence" => {
            for s in &d.sequence_defs {
                out.push(vec![
                    Value::Int(relation_oid(&s.name)),
                    Value::Int(type_oid(&crate::pgcatalog::sequence_type(s))),
                    Value::Int(s.start),
                    Value::Int(s.increment),
                    Value::Int(s.max),
                    Value::Int(s.min),
                    Value::Int(1),
                    Value::Bool(s.cycle),
                ]);
            }
        }
        "pg_depend" => {
            // A SERIAL column's sequence depends on it ("owned by").
            let pg_class = relation_oid(&format!("{}.pg_catalog.pg_class", d.database));
            for s in &d.sequence_defs {
                let Some(t) = s.owner.as_ref().and_then(|o| d.tables.iter().find(|t| &t.name == o)) else { continue };
                let (_, short) = split_stored(&s.name);
                let uses = format!("nextval('{short}')");
                let Some(col) = t.columns.iter().position(|c| c.default.as_deref() == Some(uses.as_str())) else {
                    continue;
                };
                out.push(vec![
                    Value::Int(pg_class),
                    Value::Int(relation_oid(&s.name)),
                    Value::Int(0),
                    Value::Int(pg_class),
                    Value::Int(relation_oid(&t.name)),
                    Value::Int(col as i64 + 1),
                    text("a"),
                ]);
            }
        }
        "pg_stat_activity" => {
            for (pid, a) in crate::activity::all() {
                let ts = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or(Value::Null, Value::TimestampTz);
                let app = a.settings.iter().find(|(k, _)| k == "application_name").map_or("", |(_, v)| v.as_str());
                out.push(vec![
                    Value::Int(oid_of(&format!("database {}", a.database))),
                    text(a.database.clone()),
                    Value::Int(pid),
                    Value::Null,
                    Value::Int(10),
                    text(a.user.clone()),
                    text(app),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::TimestampTz(a.backend_start),
                    ts(a.xact_start),
                    ts(a.query_start),
                    ts(a.query_start.or(Some(a.backend_start))),
                    if a.state == "active" { Value::Null } else { text("Client") },
                    if a.state == "active" { Value::Null } else { text("ClientRead") },
                    text(a.state),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    text(a.query.clone()),
                    text("client backend"),
                ]);
            }
        }
        "pg_settings" => {
            let mut settings = crate::activity::settings(d.pid);
            // Server-wide values clients read, fixed here.
            for (k, v) in FIXED_SETTINGS {
                if !settings.iter().any(|(n, _)| n == k) {
                    settings.push((k.into(), v.into()));
                }
            }
            settings.sort();
            for (name, value) in settings {
                let numeric = value.parse::<i64>().is_ok();
                let boolean = matches!(value.as_str(), "on" | "off");
                let vartype = if boolean {
                    "bool"
                } else if numeric {
                    "integer"
                } else {
                    "string"
                };
                let fixed = matches!(
                    name.as_str(),
                    "server_version"
                        | "server_version_num"
                        | "server_encoding"
                        | "integer_datetimes"
                        | "block_size"
                        | "max_connections"
                );
                out.push(vec![
                    text(name.clone()),
                    text(value.clone()),
                    Value::Null,
                    text(if fixed { "Preset Options" } else { "Client Connection Defaults" }),
                    text(name.replace('_', " ")),
                    Value::Null,
                    text(if fixed { "internal" } else { "user" }),
                    text(vartype),
                    text(if fixed { "default" } else { "session" }),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    text(value.clone()),
                    text(value),
                    Value::Null,
                    Value::Null,
                    Value::Bool(false),
                ]);
            }
        }
        "pg_collation" => {
            out.push(vec![Value::Int(100), text("default"), Value::Int(11), text("d")]);
            out.push(vec![Value::Int(950), text("C"), Value::Int(11), text("c")]);
            out.push(vec![Value::Int(951), text("POSIX"), Value::Int(11), text("c")]);
        }
        _ => {}
    }
    out
}

/// Columns of the `information_schema` views of constraints, and of its
/// always-empty views (no views, no foreign keys here).
pub(crate) fn information_schema_columns(name: &str) -> Option<Vec<Column>> {
    let text_cols = |names: &[&str]| names.iter().map(|n| Column { name: (*n).into(), ty: DataType::Text }).collect();
    Some(match name {
        "table_constraints" => text_cols(&[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "constraint_type",
            "is_deferrable",
            "initially_deferred",
            "enforced",
            "nulls_distinct",
        ]),
        "key_column_usage" => {
            let mut cols: Vec<Column> = text_cols(&[
                "constraint_catalog",
                "constraint_schema",
                "constraint_name",
                "table_catalog",
                "table_schema",
                "table_name",
                "column_name",
            ]);
            cols.push(Column { name: "ordinal_position".into(), ty: DataType::Integer });
            cols.push(Column { name: "position_in_unique_constraint".into(), ty: DataType::Integer });
            cols
        }
        "referential_constraints" => text_cols(&[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "unique_constraint_catalog",
            "unique_constraint_schema",
            "unique_constraint_name",
            "match_option",
            "update_rule",
            "delete_rule",
        ]),
        "views" => text_cols(&[
            "table_catalog",
            "table_schema",
            "table_name",
            "view_definition",
            "check_option",
            "is_updatable",
            "is_insertable_into",
        ]),
        _ => return None,
    })
}

/// Rows of the views [`information_schema_columns`] describes.
pub(crate) fn information_schema_rows(name: &str, d: &CatalogData) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let db = || text(d.database.clone());
    for t in &d.tables {
        let (ns, short) = split_stored(&t.name);
        let constraints = indexes_of(t).into_iter().filter(|ix| ix.constraint).map(|ix| {
            let kind = if ix.primary { "PRIMARY KEY" } else { "UNIQUE" };
            (ix.name, kind, ix.columns)
        });
        let checks = t.checks.iter().map(|c| (c.name.clone(), "CHECK", Vec::new()));
        // PostgreSQL also lists each NOT NULL column as a CHECK constraint.
        let not_null = t.columns.iter().enumerate().filter(|(_, c)| !c.nullable).map(|(i, c)| {
            (format!("{}_{}_{}_not_null", oid_of(ns), relation_oid(&t.name), i + 1), "CHECK", vec![c.name.clone()])
        });
        for (cname, kind, cols) in constraints.chain(checks).chain(not_null) {
            match name {
                "table_constraints" => out.push(vec![
                    db(),
                    text(ns),
                    text(cname.clone()),
                    db(),
                    text(ns),
                    text(short),
                    text(kind),
                    text("NO"),
                    text("NO"),
                    text("YES"),
                    if kind == "UNIQUE" { text("YES") } else { Value::Null },
                ]),
                "key_column_usage" if kind != "CHECK" => {
                    for (i, c) in cols.iter().enumerate() {
                        out.push(vec![
                            db(),
                            text(ns),
                            text(cname.clone()),
                            db(),
                            text(ns),
                            text(short),
                            text(c.clone()),
                            Value::Int(i as i64 + 1),
                            Value::Null,
                        ]);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A CHECK expression as PostgreSQL displays it: a literal compared with a
/// column shows the cast PostgreSQL's parser put on it (`price >= 0` on a
/// numeric column is `price >= 0::numeric`; a varchar column compares as
/// text). Anything that does not parse is shown as written.
pub(crate) fn check_display(expr: &str, t: &TableSchema) -> String {
    check_with_casts(expr, t).map_or_else(|| expr.to_string(), |e| e.to_string())
}

/// A CHECK expression as `pg_get_constraintdef` shows it without `pretty`:
/// every operator in parentheses, and numbers before a cast too
/// (`(score >= (0)::numeric)`).
fn check_plain(expr: &str, t: &TableSchema) -> Option<String> {
    use sqlparser::ast::{Expr, UnaryOperator, Value as V};
    fn plain(e: Expr) -> Expr {
        let nest = |e: Expr| Expr::Nested(Box::new(e));
        match e {
            Expr::Nested(inner) => plain(*inner),
            Expr::BinaryOp { left, op, right } => {
                nest(Expr::BinaryOp { left: Box::new(plain(*left)), op, right: Box::new(plain(*right)) })
            }
            Expr::UnaryOp { op: UnaryOperator::Not, expr } => {
                nest(Expr::UnaryOp { op: UnaryOperator::Not, expr: Box::new(plain(*expr)) })
            }
            Expr::IsNull(inner) => nest(Expr::IsNull(Box::new(plain(*inner)))),
            Expr::IsNotNull(inner) => nest(Expr::IsNotNull(Box::new(plain(*inner)))),
            Expr::Cast { kind, expr, data_type, format } => {
                let expr = match *expr {
                    Expr::Value(v) if matches!(v.value, V::Number(..)) => nest(Expr::Value(v)),
                    other => plain(other),
                };
                Expr::Cast { kind, expr: Box::new(expr), data_type, format }
            }
            other => other,
        }
    }
    check_with_casts(expr, t).map(|e| plain(e).to_string())
}

/// A CHECK expression parsed, with PostgreSQL's implicit casts written
/// out; `None` when the text is not one expression.
fn check_with_casts(expr: &str, t: &TableSchema) -> Option<sqlparser::ast::Expr> {
    use sqlparser::ast::{BinaryOperator as B, Expr};
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let parsed = sqlparser::parser::Parser::new(&dialect).try_with_sql(expr).and_then(|mut p| {
        let e = p.parse_expr()?;
        p.expect_token(&sqlparser::tokenizer::Token::EOF)?;
        Ok(e)
    });
    let mut e = parsed.ok()?;
    let _ = sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if let Expr::BinaryOp { left, op: B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq, right } = x {
            cast_literal(left, right, t);
            cast_literal(right, left, t);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Some(e)
}

/// Adds PostgreSQL's implicit casts to `literal` compared with `column`.
fn cast_literal(column: &mut sqlparser::ast::Expr, literal: &mut sqlparser::ast::Expr, t: &TableSchema) {
    use sqlparser::ast::{Expr, Value as V};
    let Expr::Identifier(id) = &*column else { return };
    let Some(col) = t.columns.iter().find(|c| c.name == crate::expr::compile::ident_name(id)) else { return };
    let Expr::Value(v) = &*literal else { return };
    let cast = |e: Expr, ty: &str| Expr::Cast {
        kind: sqlparser::ast::CastKind::DoubleColon,
        expr: Box::new(e),
        data_type: sqlparser::ast::DataType::Custom(
            sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(ty)]),
            vec![],
        ),
        format: None,
    };
    let string = matches!(v.value, V::SingleQuotedString(_));
    let integer = matches!(&v.value, V::Number(n, _) if n.bytes().all(|b| b.is_ascii_digit()));
    let target = match &col.data_type {
        DataType::Numeric { .. } if integer => "numeric",
        DataType::Text if string => "text",
        DataType::Varchar { .. } if string => {
            // varchar compares through text's operators: both sides cast.
            *column = cast(column.clone(), "text");
            "text"
        }
        DataType::Char { .. } if string => "bpchar",
        DataType::Date if string => "date",
        DataType::Timestamp if string => "timestamp without time zone",
        DataType::TimestampTz if string => "timestamp with time zone",
        DataType::Uuid if string => "uuid",
        _ => return,
    };
    *literal = cast(literal.clone(), target);
}

/// Registers every index definition of `d` (what `pg_index` rows name).
pub(crate) fn register_indexes(d: &CatalogData) {
    for t in &d.tables {
        for ix in indexes_of(t) {
            register(index_oid(&t.name, &ix.name), index_def(t, &ix));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_show_as_postgresql_shows_them() {
        assert_eq!(default_text("'x'", &DataType::Text), "'x'::text");
        assert_eq!(default_text("'a'", &DataType::Varchar { max: Some(3) }), "'a'::character varying");
        assert_eq!(default_text("0", &DataType::Integer), "0");
        assert_eq!(default_text("now()", &DataType::TimestampTz), "now()");
        assert_eq!(default_text("nextval('t_id_seq')", &DataType::Integer), "nextval('t_id_seq'::regclass)");
    }

    #[test]
    fn checks_show_postgresql_casts() {
        use orbit_storage::table::ColumnDef;
        let t = TableSchema::new(
            "db.public.t",
            vec![
                ColumnDef::new("price", DataType::Numeric { precision: Some(8), scale: Some(2) }),
                ColumnDef::new("name", DataType::Text),
                ColumnDef::new("code", DataType::Varchar { max: Some(4) }),
                ColumnDef::new("qty", DataType::Integer),
            ],
            &[],
        );
        assert_eq!(check_display("price >= 0", &t), "price >= 0::numeric");
        assert_eq!(check_display("price >= 1.5", &t), "price >= 1.5");
        assert_eq!(check_display("name <> ''", &t), "name <> ''::text");
        assert_eq!(check_display("code <> 'x'", &t), "code::text <> 'x'::text");
        assert_eq!(check_display("qty > 0 AND qty < 10", &t), "qty > 0 AND qty < 10");
        assert_eq!(check_display("not valid sql (", &t), "not valid sql (");
    }
}
