//! The sqllogictest files in `tests/sqllogictest`, through the MySQL
//! endpoint's text protocol, each file in a fresh database. Records that
//! only one dialect runs say so with `onlyif` / `skipif mysql`.

use std::path::PathBuf;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use sqllogictest::{DBOutput, DefaultColumnType, Runner};

use super::{connect, opts, start};

/// One connection, its results printed as the PostgreSQL runner prints
/// them: NULL, `(empty)` for empty strings.
struct MySqlDb(Option<Conn>);

/// A MySQL error. Its SQLSTATE, for `statement error (23505)` records, is
/// the PostgreSQL one of the same failure (MySQL's own are coarser: 23000
/// for every constraint), so one record checks both endpoints.
#[derive(Debug)]
struct MyErr(mysql_async::Error);

impl MyErr {
    fn postgres_sqlstate(&self) -> Option<String> {
        let mysql_async::Error::Server(e) = &self.0 else { return None };
        Some(
            match e.code {
                1146 => "42P01",
                1062 => "23505",
                1054 => "42703",
                3819 => "23514",
                1050 => "42P07",
                1068 => "42P16",
                1451 => "2BP01",
                1048 => "23502",
                1007 => "42P06",
                1055 => "42803",
                1193 => "42704",
                1060 => "42701",
                1064 => "42601",
                1049 => "3F000",
                1305 => "3B001",
                1366 => "22P02",
                1365 => "22012",
                1467 => "2200H",
                1264 => "22003",
                1406 => "22001",
                1242 => "21000",
                _ => "-----",
            }
            .to_string(),
        )
    }
}

impl std::fmt::Display for MyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for MyErr {}

impl From<mysql_async::Error> for MyErr {
    fn from(e: mysql_async::Error) -> Self {
        MyErr(e)
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for MySqlDb {
    type Error = MyErr;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, MyErr> {
        let conn = self.0.as_mut().expect("an open connection");
        let mut result = conn.query_iter(sql).await?;
        let columns = result.columns().map(|c| c.len()).unwrap_or(0);
        let rows: Vec<mysql_async::Row> = result.collect().await?;
        drop(result);
        if columns == 0 {
            return Ok(DBOutput::StatementComplete(conn.affected_rows()));
        }
        let rows = rows
            .into_iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| match &row[i] {
                        Value::NULL => "NULL".to_string(),
                        Value::Bytes(b) if b.is_empty() => "(empty)".to_string(),
                        Value::Bytes(b) => String::from_utf8_lossy(b).to_string(),
                        other => format!("{other:?}"),
                    })
                    .collect()
            })
            .collect();
        Ok(DBOutput::Rows { types: vec![DefaultColumnType::Any; columns], rows })
    }

    fn error_sql_state(err: &MyErr) -> Option<String> {
        err.postgres_sqlstate()
    }

    async fn shutdown(&mut self) {
        if let Some(conn) = self.0.take() {
            let _ = conn.disconnect().await;
        }
    }

    fn engine_name(&self) -> &str {
        "mysql"
    }
}

fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/sqllogictest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/sqllogictest")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        // Files about PostgreSQL alone say so on their first line.
        .filter(|p| !std::fs::read_to_string(p).is_ok_and(|t| t.starts_with("# dialect: postgres")))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files_pass_through_mysql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut admin = connect(&server, None).await;
    let mut failures = Vec::new();
    for file in files() {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("file").to_string();
        let db = format!("slt_{stem}");
        admin.query_drop(format!("CREATE DATABASE {db}")).await.expect("create database");
        let o = opts(&server, "root", Some(&db));
        let mut runner = Runner::new(move || {
            let o = o.clone();
            async move { Ok::<_, MyErr>(MySqlDb(Some(Conn::new(o).await?))) }
        });
        runner.add_label("mysql");
        runner.add_label("orbit");
        if let Err(e) = runner.run_file_async(&file).await {
            failures.push(format!("{}: {}", file.display(), e.display(true)));
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n\n"));
}
