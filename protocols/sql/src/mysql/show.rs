//! MySQL's own statements: `USE`, `SHOW ...`, `DESCRIBE`, `SET` of
//! variables and names, and `CREATE`/`DROP DATABASE` (schemas here).
//! Result layouts follow MariaDB 10.11 / MySQL 8.0 column for column.

use orbit_storage::table::TableSchema;
use orbit_storage::{DataType, Value};
use sqlparser::ast::{self, ObjectName, ShowStatementFilter, ShowStatementFilterPosition, Statement};

use super::vars::Variables;
use super::{MYSQL_CATALOG, SYSTEM_DATABASES};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::ident_name;
use crate::session::{Outcome, Session};
use crate::{Column, catalog};

/// Answers `stmt` if it is one of MySQL's own statements; `None` sends it
/// on to the shared engine.
pub(crate) async fn statement(s: &mut Session, stmt: &Statement) -> Option<SqlResult<Outcome>> {
    Some(match stmt {
        Statement::Use(u) => use_database(s, u).await,
        Statement::ShowDatabases { show_options, .. } => show_databases(s, filter(&show_options.filter_position)).await,
        Statement::ShowTables { full, show_options, .. } => {
            let db = show_options.show_in.as_ref().and_then(|i| i.parent_name.as_ref());
            show_tables(s, *full, db, filter(&show_options.filter_position)).await
        }
        Statement::ShowColumns { full, show_options, .. } => {
            let Some(table) = show_options.show_in.as_ref().and_then(|i| i.parent_name.as_ref()) else {
                return Some(Err(SqlError::syntax("SHOW COLUMNS needs FROM table")));
            };
            show_columns(s, table, *full, filter(&show_options.filter_position)).await
        }
        Statement::ExplainTable { table_name, .. } => show_columns(s, table_name, false, None).await,
        Statement::ShowCreate { obj_type: ast::ShowCreateObject::Table, obj_name } => {
            show_create_table(s, obj_name).await
        }
        Statement::ShowVariables { filter: f, .. } => Ok(show_variables(s, f.as_ref())),
        Statement::ShowStatus { filter: f, .. } => Ok(show_status(f.as_ref())),
        Statement::ShowProcessList { full } => Ok(show_processlist(*full)),
        Statement::ShowCharset(c) => Ok(show_charset(c.filter.as_ref())),
        Statement::ShowCollation { filter: f } => Ok(show_collation(f.as_ref())),
        Statement::ShowVariable { variable } => show_words(s, variable).await,
        Statement::Set(set) => return set_statement(s, set).await,
        Statement::CreateDatabase { db_name, if_not_exists, .. } => create_database(s, db_name, *if_not_exists).await,
        Statement::CreateSchema { schema_name: ast::SchemaName::Simple(n), if_not_exists, .. } => {
            create_database(s, n, *if_not_exists).await
        }
        Statement::Drop {
            object_type: ast::ObjectType::Database | ast::ObjectType::Schema, if_exists, names, ..
        } => drop_databases(s, names, *if_exists).await,
        _ => return None,
    })
}

fn text_rows(names: &[&str], rows: Vec<Vec<Option<String>>>) -> Outcome {
    Outcome::Rows {
        columns: names.iter().map(|n| Column { name: (*n).to_string(), ty: DataType::Text }).collect(),
        tag: format!("SELECT {}", rows.len()),
        rows: rows.into_iter().map(|r| r.into_iter().map(|v| v.map_or(Value::Null, Value::Text)).collect()).collect(),
    }
}

fn filter(p: &Option<ShowStatementFilterPosition>) -> Option<&ShowStatementFilter> {
    match p {
        Some(ShowStatementFilterPosition::Infix(f) | ShowStatementFilterPosition::Suffix(f)) => Some(f),
        None => None,
    }
}

/// Whether `name` passes a LIKE filter (case-insensitive, as MySQL's
/// default collation compares). WHERE filters are applied by the caller.
fn like_ok(f: Option<&ShowStatementFilter>, name: &str) -> SqlResult<bool> {
    match f {
        Some(ShowStatementFilter::Like(p) | ShowStatementFilter::ILike(p) | ShowStatementFilter::NoKeyword(p)) => {
            crate::expr::like::matches(name, p, true)
        }
        _ => Ok(true),
    }
}

/// `WHERE col = 'x'` on a SHOW result, for the one shape tools send.
fn where_ok(f: Option<&ShowStatementFilter>, columns: &[&str], row: &[Option<String>]) -> bool {
    let Some(ShowStatementFilter::Where(e)) = f else { return true };
    let ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, right } = e else { return true };
    let (ast::Expr::Identifier(col), ast::Expr::Value(v)) = (&**left, &**right) else { return true };
    let Some(want) = crate::expr::compile::string_literal(&v.value) else { return true };
    columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case(&col.value))
        .is_none_or(|i| row.get(i).cloned().flatten().is_some_and(|v| v.eq_ignore_ascii_case(&want)))
}

/// The single name of a database in a statement.
fn database_name(n: &ObjectName) -> String {
    n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_else(|| n.to_string())
}

fn unknown_database(name: &str) -> SqlError {
    SqlError::new(ErrorCode::UndefinedDatabase, format!("Unknown database '{name}'"))
}

async fn database_exists(s: &Session, name: &str) -> SqlResult<bool> {
    Ok(SYSTEM_DATABASES.contains(&name) || s.engine().schemas.list(MYSQL_CATALOG).await?.iter().any(|d| d == name))
}

async fn use_database(s: &mut Session, u: &ast::Use) -> SqlResult<Outcome> {
    let (ast::Use::Object(n) | ast::Use::Database(n) | ast::Use::Schema(n)) = u else {
        return Err(SqlError::syntax(format!("You have an error in your SQL syntax near '{u}'")));
    };
    let name = database_name(n);
    s.use_database(&name).await?;
    Ok(Outcome::Done { tag: "USE".into() })
}

async fn show_databases(s: &Session, f: Option<&ShowStatementFilter>) -> SqlResult<Outcome> {
    let mut names: Vec<String> = SYSTEM_DATABASES.iter().map(|d| (*d).to_string()).collect();
    names.extend(s.engine().schemas.list(MYSQL_CATALOG).await?);
    names.sort();
    let mut rows = Vec::new();
    for n in names {
        if like_ok(f, &n)? && where_ok(f, &["Database"], &[Some(n.clone())]) {
            rows.push(vec![Some(n)]);
        }
    }
    Ok(text_rows(&["Database"], rows))
}

/// The database a SHOW statement names, or the current one.
fn target_database(s: &Session, db: Option<&ObjectName>) -> SqlResult<String> {
    match db {
        Some(n) => Ok(database_name(n)),
        None if s.current_schema().is_empty() => {
            Err(SqlError::new(ErrorCode::NoDatabaseSelected, "No database selected"))
        }
        None => Ok(s.current_schema().to_string()),
    }
}

/// Tables of database `db`: (short name, schema).
async fn tables_of(s: &Session, db: &str) -> SqlResult<Vec<TableSchema>> {
    let prefix = format!("{MYSQL_CATALOG}.{db}.");
    let mut out: Vec<TableSchema> =
        s.engine().storage.list_tables().await?.into_iter().filter(|t| t.name.starts_with(&prefix)).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn short(t: &TableSchema) -> &str {
    t.name.rsplit('.').next().unwrap_or(&t.name)
}

async fn show_tables(
    s: &Session,
    full: bool,
    db: Option<&ObjectName>,
    f: Option<&ShowStatementFilter>,
) -> SqlResult<Outcome> {
    let db = target_database(s, db)?;
    if !database_exists(s, &db).await? {
        return Err(unknown_database(&db));
    }
    let mut first = format!("Tables_in_{db}");
    if let Some(ShowStatementFilter::Like(p)) = f {
        first.push_str(&format!(" ({p})"));
    }
    let names: Vec<&str> = if full { vec![&first, "Table_type"] } else { vec![&first] };
    let mut rows = Vec::new();
    for t in tables_of(s, &db).await? {
        let mut row = vec![Some(short(&t).to_string())];
        if full {
            row.push(Some("BASE TABLE".into()));
        }
        if like_ok(f, short(&t))? && where_ok(f, &names, &row) {
            rows.push(row);
        }
    }
    Ok(text_rows(&names, rows))
}

/// The schema of table `name` (`t` or `db.t`), or MySQL's 1146 error.
async fn table_schema(s: &Session, name: &ObjectName) -> SqlResult<TableSchema> {
    let tn = catalog::table_name(s.info(), name)?;
    let db = tn.stored.split('.').nth(1).unwrap_or_default().to_string();
    s.engine()
        .storage
        .get_table_schema(&tn.stored)
        .await?
        .ok_or_else(|| SqlError::new(ErrorCode::UndefinedTable, format!("Table '{db}.{}' doesn't exist", tn.short)))
}

/// MySQL's type name for a column.
pub(crate) fn column_type(c: &orbit_storage::table::ColumnDef) -> String {
    if let Some(d) = &c.declared {
        return d.clone();
    }
    match &c.data_type {
        DataType::Boolean => "tinyint(1)".into(),
        DataType::SmallInt => "smallint".into(),
        DataType::Integer => "int".into(),
        DataType::BigInt => "bigint".into(),
        DataType::Real => "float".into(),
        DataType::Double => "double".into(),
        DataType::Numeric { precision, scale } => {
            format!("decimal({},{})", precision.unwrap_or(10), scale.unwrap_or(0))
        }
        DataType::Text | DataType::Interval | DataType::InternalChar => "text".into(),
        DataType::Varchar { max } => format!("varchar({})", max.unwrap_or(255)),
        DataType::Char { len } => format!("char({len})"),
        DataType::Bytes => "blob".into(),
        DataType::Date => "date".into(),
        DataType::Time => "time".into(),
        DataType::Timestamp => "datetime".into(),
        DataType::TimestampTz => "timestamp".into(),
        DataType::Uuid => "char(36)".into(),
        DataType::Json => "json".into(),
    }
}

/// Whether the column draws its values from an AUTO_INCREMENT sequence.
pub(crate) fn auto_increment(c: &orbit_storage::table::ColumnDef) -> bool {
    c.default.as_deref().is_some_and(|d| d.starts_with("nextval("))
}

/// The default as MySQL prints it: the bare value, or NULL.
fn default_text(c: &orbit_storage::table::ColumnDef) -> Option<String> {
    let d = c.default.as_deref()?;
    if auto_increment(c) || d.eq_ignore_ascii_case("null") {
        return None;
    }
    Some(match d.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => d.to_string(),
    })
}

/// Whether a default is an expression (`CURRENT_TIMESTAMP`), not a value.
fn is_expression_default(d: &str) -> bool {
    let u = d.to_ascii_uppercase();
    u.starts_with("CURRENT_") || u.starts_with("NOW(") || u.starts_with("LOCALTIMESTAMP") || u.contains('(')
}

/// PRI, UNI or MUL, as `SHOW COLUMNS` marks key columns.
fn key_kind(t: &TableSchema, col: &str) -> &'static str {
    if t.primary_key.iter().any(|k| k == col) {
        "PRI"
    } else if t.indexes.iter().any(|i| i.unique && i.columns.len() == 1 && i.columns[0] == col) {
        "UNI"
    } else if t.indexes.iter().any(|i| i.columns.first().is_some_and(|c| c == col)) {
        "MUL"
    } else {
        ""
    }
}

async fn show_columns(
    s: &Session,
    table: &ObjectName,
    full: bool,
    f: Option<&ShowStatementFilter>,
) -> SqlResult<Outcome> {
    let t = table_schema(s, table).await?;
    let names: &[&str] = if full {
        &["Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"]
    } else {
        &["Field", "Type", "Null", "Key", "Default", "Extra"]
    };
    let mut rows = Vec::new();
    for c in &t.columns {
        let ty = column_type(c);
        let collation = crate::types::is_text(&c.data_type).then(|| "utf8mb4_0900_ai_ci".to_string());
        let null = Some(if c.nullable { "YES" } else { "NO" }.to_string());
        let key = Some(key_kind(&t, &c.name).to_string());
        let extra = Some(if auto_increment(c) { "auto_increment" } else { "" }.to_string());
        let row = if full {
            vec![
                Some(c.name.clone()),
                Some(ty),
                collation,
                null,
                key,
                default_text(c),
                extra,
                Some("select,insert,update,references".into()),
                Some(String::new()),
            ]
        } else {
            vec![Some(c.name.clone()), Some(ty), null, key, default_text(c), extra]
        };
        if like_ok(f, &c.name)? && where_ok(f, names, &row) {
            rows.push(row);
        }
    }
    Ok(text_rows(names, rows))
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `SHOW CREATE TABLE`'s statement, in MySQL 8's layout.
pub(crate) fn create_table_text(t: &TableSchema) -> String {
    let mut lines: Vec<String> = Vec::new();
    for c in &t.columns {
        let mut l = format!("  {} {}", quote(&c.name), column_type(c));
        if !c.nullable {
            l.push_str(" NOT NULL");
        }
        if auto_increment(c) {
            l.push_str(" AUTO_INCREMENT");
        } else {
            match (&c.default, c.nullable) {
                // MySQL quotes every literal default, numbers too.
                (Some(_), _) => match default_text(c) {
                    Some(d) if is_expression_default(&d) => l.push_str(&format!(" DEFAULT {d}")),
                    Some(d) => l.push_str(&format!(" DEFAULT '{}'", d.replace('\'', "''"))),
                    None => l.push_str(" DEFAULT NULL"),
                },
                (None, true) => l.push_str(" DEFAULT NULL"),
                (None, false) => {}
            }
        }
        lines.push(l);
    }
    if !t.primary_key.is_empty() {
        let cols: Vec<String> = t.primary_key.iter().map(|c| quote(c)).collect();
        lines.push(format!("  PRIMARY KEY ({})", cols.join(",")));
    }
    for ix in &t.indexes {
        let cols: Vec<String> = ix.columns.iter().map(|c| quote(c)).collect();
        let kind = if ix.unique { "UNIQUE KEY" } else { "KEY" };
        lines.push(format!("  {kind} {} ({})", quote(&ix.name), cols.join(",")));
    }
    for ck in &t.checks {
        lines.push(format!("  CONSTRAINT {} CHECK ({})", quote(&ck.name), ck.expr));
    }
    format!(
        "CREATE TABLE {} (\n{}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci",
        quote(short(t)),
        lines.join(",\n")
    )
}

async fn show_create_table(s: &Session, name: &ObjectName) -> SqlResult<Outcome> {
    let t = table_schema(s, name).await?;
    Ok(text_rows(&["Table", "Create Table"], vec![vec![Some(short(&t).to_string()), Some(create_table_text(&t))]]))
}

fn show_variables(s: &Session, f: Option<&ShowStatementFilter>) -> Outcome {
    let names = ["Variable_name", "Value"];
    let rows = s
        .variables()
        .iter()
        .filter(|(k, _)| !k.starts_with('@'))
        .map(|(k, v)| vec![Some(k.clone()), Some(Variables::shown(k, v))])
        .filter(|row| {
            let name = row[0].as_deref().unwrap_or_default();
            like_ok(f, name).unwrap_or(false) && where_ok(f, &names, row)
        })
        .collect();
    text_rows(&names, rows)
}

fn mysql_sessions() -> Vec<(i64, crate::activity::Activity)> {
    crate::activity::all().into_iter().filter(|(_, a)| a.database == MYSQL_CATALOG).collect()
}

fn show_status(f: Option<&ShowStatementFilter>) -> Outcome {
    let names = ["Variable_name", "Value"];
    let sessions = mysql_sessions();
    let running = sessions.iter().filter(|(_, a)| a.state == "active").count();
    let status = [
        ("Threads_connected", sessions.len().to_string()),
        ("Threads_running", running.to_string()),
        ("Uptime", crate::uptime_secs().to_string()),
    ];
    let rows = status
        .into_iter()
        .map(|(k, v)| vec![Some(k.to_string()), Some(v)])
        .filter(|row| like_ok(f, row[0].as_deref().unwrap_or_default()).unwrap_or(false) && where_ok(f, &names, row))
        .collect();
    text_rows(&names, rows)
}

fn show_processlist(full: bool) -> Outcome {
    let names = ["Id", "User", "Host", "db", "Command", "Time", "State", "Info"];
    let now = chrono::Utc::now();
    let rows = mysql_sessions()
        .into_iter()
        .map(|(pid, a)| {
            let active = a.state == "active";
            let since = a.query_start.unwrap_or(a.backend_start);
            let info: Option<String> =
                active.then(|| if full { a.query.clone() } else { a.query.chars().take(100).collect() });
            vec![
                Some(pid.to_string()),
                Some(a.user.clone()),
                Some("localhost".into()),
                None,
                Some(if active { "Query" } else { "Sleep" }.to_string()),
                Some((now - since).num_seconds().max(0).to_string()),
                Some(if active { "executing" } else { "" }.to_string()),
                info,
            ]
        })
        .collect();
    text_rows(&names, rows)
}

/// Character sets this server sends: everything is UTF-8.
const CHARSETS: &[(&str, &str, &str, &str)] = &[
    ("binary", "Binary pseudo charset", "binary", "1"),
    ("utf8mb3", "UTF-8 Unicode", "utf8mb3_general_ci", "3"),
    ("utf8mb4", "UTF-8 Unicode", "utf8mb4_0900_ai_ci", "4"),
];

fn show_charset(f: Option<&ShowStatementFilter>) -> Outcome {
    let rows = CHARSETS
        .iter()
        .filter(|c| like_ok(f, c.0).unwrap_or(false))
        .map(|c| vec![Some(c.0.into()), Some(c.1.into()), Some(c.2.into()), Some(c.3.into())])
        .collect();
    text_rows(&["Charset", "Description", "Default collation", "Maxlen"], rows)
}

fn show_collation(f: Option<&ShowStatementFilter>) -> Outcome {
    let all = [
        ("binary", "binary", "63", "Yes"),
        ("utf8mb3_general_ci", "utf8mb3", "33", "Yes"),
        ("utf8mb4_0900_ai_ci", "utf8mb4", "255", "Yes"),
        ("utf8mb4_bin", "utf8mb4", "46", ""),
        ("utf8mb4_general_ci", "utf8mb4", "45", ""),
    ];
    let rows = all
        .iter()
        .filter(|c| like_ok(f, c.0).unwrap_or(false))
        .map(|c| {
            vec![
                Some(c.0.into()),
                Some(c.1.into()),
                Some(c.2.into()),
                Some(c.3.into()),
                Some("Yes".into()),
                Some("1".into()),
                Some(if c.0 == "utf8mb4_0900_ai_ci" { "NO PAD" } else { "PAD SPACE" }.into()),
            ]
        })
        .collect();
    text_rows(&["Collation", "Charset", "Id", "Default", "Compiled", "Sortlen", "Pad_attribute"], rows)
}

/// SHOW statements sqlparser reads as a list of words: WARNINGS, ERRORS,
/// ENGINES, PLUGINS, INDEX/KEYS FROM t, TABLE STATUS.
async fn show_words(s: &Session, words: &[ast::Ident]) -> SqlResult<Outcome> {
    let upper: Vec<String> = words.iter().map(|w| w.value.to_ascii_uppercase()).collect();
    let up: Vec<&str> = upper.iter().map(String::as_str).collect();
    match up.as_slice() {
        ["WARNINGS", ..] => {
            let rows = s
                .warnings()
                .iter()
                .map(|w| vec![Value::Text(w.level.into()), Value::Int(w.code.into()), Value::Text(w.message.clone())])
                .collect();
            Ok(Outcome::Rows {
                columns: vec![
                    Column { name: "Level".into(), ty: DataType::Text },
                    Column { name: "Code".into(), ty: DataType::BigInt },
                    Column { name: "Message".into(), ty: DataType::Text },
                ],
                rows,
                tag: "SELECT".into(),
            })
        }
        // Errors are reported as they happen; none are kept.
        ["ERRORS", ..] => Ok(text_rows(&["Level", "Code", "Message"], Vec::new())),
        // No triggers exist here.
        ["TRIGGERS", ..] => Ok(text_rows(
            &[
                "Trigger",
                "Event",
                "Table",
                "Statement",
                "Timing",
                "Created",
                "sql_mode",
                "Definer",
                "character_set_client",
                "collation_connection",
                "Database Collation",
            ],
            Vec::new(),
        )),
        ["ENGINES"] | ["STORAGE", "ENGINES"] => Ok(text_rows(
            &["Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"],
            vec![
                ["InnoDB", "DEFAULT", "Orbit's RocksDB store: transactions, row locks", "YES", "NO", "YES"]
                    .iter()
                    .map(|v| Some((*v).to_string()))
                    .collect(),
            ],
        )),
        ["PLUGINS"] => Ok(text_rows(
            &["Name", "Status", "Type", "Library", "License"],
            ["mysql_native_password", "caching_sha2_password"]
                .iter()
                .map(|p| {
                    vec![
                        Some((*p).to_string()),
                        Some("ACTIVE".into()),
                        Some("AUTHENTICATION".into()),
                        None,
                        Some("GPL".into()),
                    ]
                })
                .chain(std::iter::once(vec![
                    Some("InnoDB".into()),
                    Some("ACTIVE".into()),
                    Some("STORAGE ENGINE".into()),
                    None,
                    Some("GPL".into()),
                ]))
                .collect(),
        )),
        ["INDEX" | "INDEXES" | "KEYS", "FROM" | "IN", ..] => {
            let mut name: Vec<ast::Ident> = words[2..]
                .iter()
                .take_while(|w| !w.value.eq_ignore_ascii_case("from") && !w.value.eq_ignore_ascii_case("in"))
                .cloned()
                .collect();
            if let Some(db) = words
                .iter()
                .skip(3)
                .skip_while(|w| !w.value.eq_ignore_ascii_case("from") && !w.value.eq_ignore_ascii_case("in"))
                .nth(1)
            {
                name.insert(0, db.clone());
            }
            show_index(s, &ObjectName::from(name)).await
        }
        ["TABLE", "STATUS", ..] => show_table_status(s, words).await,
        _ => Err(crate::mysql::syntax_error_near(
            &words.iter().map(|w| w.value.as_str()).collect::<Vec<_>>().join(" "),
            1,
        )),
    }
}

async fn show_index(s: &Session, table: &ObjectName) -> SqlResult<Outcome> {
    let t = table_schema(s, table).await?;
    let names = [
        "Table",
        "Non_unique",
        "Key_name",
        "Seq_in_index",
        "Column_name",
        "Collation",
        "Cardinality",
        "Sub_part",
        "Packed",
        "Null",
        "Index_type",
        "Comment",
        "Index_comment",
        "Visible",
        "Expression",
    ];
    let mut keys: Vec<(String, bool, Vec<String>)> = Vec::new();
    if !t.primary_key.is_empty() {
        keys.push(("PRIMARY".into(), true, t.primary_key.clone()));
    }
    keys.extend(t.indexes.iter().map(|i| (i.name.clone(), i.unique, i.columns.clone())));
    let mut rows = Vec::new();
    for (key, unique, cols) in keys {
        for (i, c) in cols.iter().enumerate() {
            let nullable = t.columns.iter().find(|d| &d.name == c).is_some_and(|d| d.nullable);
            rows.push(vec![
                Some(short(&t).to_string()),
                Some(if unique { "0" } else { "1" }.to_string()),
                Some(key.clone()),
                Some((i + 1).to_string()),
                Some(c.clone()),
                Some("A".into()),
                Some("0".into()),
                None,
                None,
                Some(if nullable { "YES" } else { "" }.to_string()),
                Some("BTREE".into()),
                Some(String::new()),
                Some(String::new()),
                Some("YES".into()),
                None,
            ]);
        }
    }
    Ok(text_rows(&names, rows))
}

async fn show_table_status(s: &Session, words: &[ast::Ident]) -> SqlResult<Outcome> {
    let mut db = None;
    let mut pattern = None;
    let mut i = 2;
    while i < words.len() {
        match words[i].value.to_ascii_uppercase().as_str() {
            "FROM" | "IN" if i + 1 < words.len() => {
                db = Some(ObjectName::from(vec![words[i + 1].clone()]));
                i += 2;
            }
            "LIKE" if i + 1 < words.len() => {
                pattern = Some(ShowStatementFilter::Like(words[i + 1].value.clone()));
                i += 2;
            }
            _ => i += 1,
        }
    }
    let db = target_database(s, db.as_ref())?;
    let names = [
        "Name",
        "Engine",
        "Version",
        "Row_format",
        "Rows",
        "Avg_row_length",
        "Data_length",
        "Max_data_length",
        "Index_length",
        "Data_free",
        "Auto_increment",
        "Create_time",
        "Update_time",
        "Check_time",
        "Collation",
        "Checksum",
        "Create_options",
        "Comment",
    ];
    let mut rows = Vec::new();
    for t in tables_of(s, &db).await? {
        if !like_ok(pattern.as_ref(), short(&t))? {
            continue;
        }
        let mut row: Vec<Option<String>> =
            vec![Some(short(&t).to_string()), Some("InnoDB".into()), Some("10".into()), Some("Dynamic".into())];
        row.extend(std::iter::repeat_n(Some("0".to_string()), 6));
        row.extend([None, None, None, None, Some("utf8mb4_0900_ai_ci".into()), None, Some(String::new())]);
        row.push(Some(String::new()));
        rows.push(row);
    }
    Ok(text_rows(&names, rows))
}

/// The text a SET value stands for: a bare word is its own text (`SET
/// NAMES utf8mb4`, `SET autocommit = ON`); other values are evaluated.
async fn set_value(s: &mut Session, e: &ast::Expr) -> SqlResult<Option<String>> {
    Ok(match e {
        ast::Expr::Identifier(i) if !i.value.starts_with('@') => Some(i.value.clone()),
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Null) => None,
        ast::Expr::Value(v) if crate::expr::compile::string_literal(&v.value).is_some() => {
            crate::expr::compile::string_literal(&v.value)
        }
        other => match s.eval_scalar(other).await? {
            Value::Null => None,
            v => Some(crate::format::cast_text(&v)),
        },
    })
}

async fn set_statement(s: &mut Session, set: &ast::Set) -> Option<SqlResult<Outcome>> {
    let assignments: Vec<(String, &ast::Expr)> = match set {
        ast::Set::SingleAssignment { variable, values, .. } => match values.as_slice() {
            [v] => vec![(variable.to_string(), v)],
            _ => return Some(Err(SqlError::syntax("SET takes one value per variable"))),
        },
        ast::Set::MultipleAssignments { assignments } => {
            assignments.iter().map(|a| (a.name.to_string(), &a.value)).collect()
        }
        ast::Set::SetNames { charset_name, .. } => {
            let cs = charset_name.to_string();
            if !matches!(
                cs.to_ascii_lowercase().trim_matches('\''),
                "utf8" | "utf8mb4" | "utf8mb3" | "binary" | "latin1" | "ascii"
            ) {
                return Some(Err(SqlError::new(ErrorCode::UndefinedObject, format!("Unknown character set: '{cs}'"))));
            }
            let mut out = Ok(());
            for v in ["character_set_client", "character_set_connection", "character_set_results"] {
                out = out.and_then(|()| s.set_variable(v, Some(cs.trim_matches('\'').to_string())));
            }
            return Some(out.map(|()| Outcome::Done { tag: "SET".into() }));
        }
        ast::Set::SetNamesDefault {} => return Some(Ok(Outcome::Done { tag: "SET".into() })),
        ast::Set::SetTransaction { modes, .. } => {
            for m in modes {
                if let ast::TransactionMode::IsolationLevel(level) = m {
                    let name = match level {
                        ast::TransactionIsolationLevel::ReadUncommitted => "READ-UNCOMMITTED",
                        ast::TransactionIsolationLevel::ReadCommitted => "READ-COMMITTED",
                        ast::TransactionIsolationLevel::RepeatableRead => "REPEATABLE-READ",
                        _ => "SERIALIZABLE",
                    };
                    if let Err(e) = s.set_variable("transaction_isolation", Some(name.to_string())) {
                        return Some(Err(e));
                    }
                }
            }
            return Some(Ok(Outcome::Done { tag: "SET".into() }));
        }
        _ => return None,
    };
    for (name, value) in assignments {
        let r = match set_value(s, value).await {
            Ok(v) => s.set_variable(&name, v),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            return Some(Err(e));
        }
    }
    Some(Ok(Outcome::Done { tag: "SET".into() }))
}

async fn create_database(s: &mut Session, name: &ObjectName, if_not_exists: bool) -> SqlResult<Outcome> {
    let name = database_name(name);
    if database_exists(s, &name).await? {
        if if_not_exists {
            s.note(1007, format!("Can't create database '{name}'; database exists"));
            return Ok(Outcome::Done { tag: "CREATE DATABASE 0".into() });
        }
        return Err(SqlError::new(
            ErrorCode::DuplicateSchema,
            format!("Can't create database '{name}'; database exists"),
        ));
    }
    s.commit_implicitly().await?;
    s.engine().schemas.create(MYSQL_CATALOG, &name, false).await?;
    Ok(Outcome::Done { tag: "CREATE DATABASE 1".into() })
}

async fn drop_databases(s: &mut Session, names: &[ObjectName], if_exists: bool) -> SqlResult<Outcome> {
    let mut dropped = 0;
    for n in names {
        let name = database_name(n);
        if SYSTEM_DATABASES.contains(&name.as_str()) {
            return Err(SqlError::new(
                ErrorCode::InvalidParameter,
                format!("Access denied for user to database '{name}'"),
            ));
        }
        if !database_exists(s, &name).await? {
            if if_exists {
                s.note(1008, format!("Can't drop database '{name}'; database doesn't exist"));
                continue;
            }
            return Err(SqlError::new(
                ErrorCode::UndefinedDatabase,
                format!("Can't drop database '{name}'; database doesn't exist"),
            ));
        }
        s.commit_implicitly().await?;
        let tables = tables_of(s, &name).await?;
        dropped += tables.len();
        for t in tables {
            s.engine().storage.drop_table(&t.name).await?;
            s.engine().sequences.drop_owned_by(&t.name).await?;
        }
        s.engine().schemas.remove(MYSQL_CATALOG, &name).await?;
        if s.current_schema() == name {
            s.clear_schema();
        }
    }
    Ok(Outcome::Done { tag: format!("DROP DATABASE {dropped}") })
}

/// Whether `stmt` reads the diagnostics area (SHOW WARNINGS, SHOW COUNT(*)
/// WARNINGS, `@@warning_count`), which must then keep the previous
/// statement's warnings rather than clear them, as in MySQL.
pub(crate) fn reads_diagnostics(stmt: &Statement) -> bool {
    match stmt {
        Statement::ShowVariable { variable } => {
            variable.iter().any(|w| w.value.eq_ignore_ascii_case("warnings") || w.value.eq_ignore_ascii_case("errors"))
        }
        Statement::Query(_) => stmt.to_string().to_ascii_lowercase().contains("warning_count"),
        _ => false,
    }
}
