//! The SQL engine on an in-memory store: statements, results, errors and
//! transactions, without a wire protocol in between.

use std::sync::Arc;

use orbit_sql::{ErrorCode, Outcome, Session, SqlEngine, TxStatus};
use orbit_storage::{Protocol, Store, StoreOptions, TableStorage, Value};

fn engine() -> (Arc<Store>, Arc<SqlEngine>) {
    let store = Arc::new(Store::in_memory(Protocol::Postgresql, &StoreOptions::default()).expect("store"));
    let tables: Arc<dyn TableStorage> = Arc::new(store.tables().clone());
    (store, SqlEngine::new(tables))
}

async fn session(e: &Arc<SqlEngine>) -> Session {
    Session::open(e.clone(), "postgres", "postgres").await.expect("session")
}

/// Runs `sql` and returns the text of every row of the last result.
async fn rows(s: &mut Session, sql: &str) -> Vec<Vec<String>> {
    let out = s.run(sql).await;
    match out.into_iter().last() {
        Some(Ok(Outcome::Rows { rows, columns, .. })) => rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&columns)
                    .map(|(v, c)| orbit_sql::format::to_text(v, &c.ty).unwrap_or_else(|| "NULL".into()))
                    .collect()
            })
            .collect(),
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

async fn tag(s: &mut Session, sql: &str) -> String {
    match s.run(sql).await.into_iter().last() {
        Some(Ok(Outcome::Done { tag } | Outcome::Rows { tag, .. } | Outcome::Tx { tag, .. })) => tag,
        other => panic!("{sql}: expected success, got {other:?}"),
    }
}

async fn error(s: &mut Session, sql: &str) -> ErrorCode {
    match s.run(sql).await.into_iter().last() {
        Some(Err(e)) => e.code,
        other => panic!("{sql}: expected an error, got {other:?}"),
    }
}

fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|c| (*c).to_string()).collect()).collect()
}

#[tokio::test]
async fn tables_rows_and_queries() {
    let (_store, e) = engine();
    let mut s = session(&e).await;
    assert_eq!(
        tag(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL, score NUMERIC(6,2), born DATE)").await,
        "CREATE TABLE"
    );
    assert_eq!(
        tag(&mut s, "INSERT INTO t VALUES (1, 'ann', 10.5, '2000-01-02'), (2, 'bob', NULL, NULL), (3, 'cy', 7.125, '1999-12-31')").await,
        "INSERT 0 3"
    );
    assert_eq!(rows(&mut s, "SELECT id, name, score FROM t WHERE id = 3").await, grid(&[&["3", "cy", "7.13"]]));
    assert_eq!(
        rows(&mut s, "SELECT name, score * 2 AS d FROM t WHERE score IS NOT NULL ORDER BY d DESC").await,
        grid(&[&["ann", "21.00"], &["cy", "14.26"]])
    );
    assert_eq!(rows(&mut s, "SELECT count(*), sum(score), max(name) FROM t").await, grid(&[&["3", "17.63", "cy"]]));
    assert_eq!(rows(&mut s, "SELECT upper(name) FROM t WHERE name LIKE '_o%'").await, grid(&[&["BOB"]]));
    assert_eq!(rows(&mut s, "SELECT id FROM t ORDER BY score NULLS FIRST LIMIT 2").await, grid(&[&["2"], &["3"]]));
    assert_eq!(rows(&mut s, "SELECT born + 1 FROM t WHERE id = 1").await, grid(&[&["2000-01-03"]]));
    assert_eq!(tag(&mut s, "UPDATE t SET score = score + 1 WHERE id IN (1, 3) RETURNING id").await, "UPDATE 2");
    assert_eq!(rows(&mut s, "SELECT score FROM t WHERE id = 1").await, grid(&[&["11.50"]]));
    assert_eq!(tag(&mut s, "DELETE FROM t WHERE name = 'bob'").await, "DELETE 1");
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t").await, grid(&[&["2"]]));
    assert_eq!(rows(&mut s, "EXPLAIN SELECT * FROM t WHERE id = 1").await, grid(&[&["Point Lookup on t (id = 1)"]]));
}

#[tokio::test]
async fn errors_carry_their_codes() {
    let (_store, e) = engine();
    let mut s = session(&e).await;
    tag(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT NOT NULL)").await;
    assert_eq!(error(&mut s, "SELEC 1").await, ErrorCode::Syntax);
    assert_eq!(error(&mut s, "SELECT * FROM nope").await, ErrorCode::UndefinedTable);
    assert_eq!(error(&mut s, "SELECT nope FROM t").await, ErrorCode::UndefinedColumn);
    tag(&mut s, "INSERT INTO t VALUES (1, 'a')").await;
    assert_eq!(error(&mut s, "INSERT INTO t VALUES (1, 'b')").await, ErrorCode::UniqueViolation);
    assert_eq!(error(&mut s, "INSERT INTO t VALUES (2, NULL)").await, ErrorCode::NotNullViolation);
    assert_eq!(error(&mut s, "INSERT INTO t VALUES ('x', 'b')").await, ErrorCode::InvalidTextRepresentation);
    assert_eq!(error(&mut s, "SELECT 1/0").await, ErrorCode::DivisionByZero);
    assert_eq!(error(&mut s, "CREATE TABLE t (x INT)").await, ErrorCode::DuplicateTable);
    assert_eq!(error(&mut s, "SELECT v FROM t GROUP BY id").await, ErrorCode::Grouping);
}

#[tokio::test]
async fn transactions_commit_roll_back_and_fail() {
    let (_store, e) = engine();
    let mut a = session(&e).await;
    let mut b = session(&e).await;
    tag(&mut a, "CREATE TABLE acc (id INT PRIMARY KEY, bal INT)").await;
    tag(&mut a, "INSERT INTO acc VALUES (1, 100)").await;

    tag(&mut a, "BEGIN").await;
    tag(&mut a, "UPDATE acc SET bal = bal - 10 WHERE id = 1").await;
    assert_eq!(rows(&mut b, "SELECT bal FROM acc").await, grid(&[&["100"]]), "uncommitted writes are invisible");
    tag(&mut a, "ROLLBACK").await;
    assert_eq!(rows(&mut b, "SELECT bal FROM acc").await, grid(&[&["100"]]));

    // A failed statement poisons the block until ROLLBACK.
    tag(&mut a, "BEGIN").await;
    error(&mut a, "SELECT nope FROM acc").await;
    assert_eq!(a.status(), TxStatus::Failed);
    assert_eq!(error(&mut a, "SELECT 1").await, ErrorCode::InFailedTransaction);
    assert_eq!(tag(&mut a, "COMMIT").await, "ROLLBACK");
    assert_eq!(a.status(), TxStatus::Idle);

    // Two snapshot-isolation writers of one row: the second commit fails,
    // no update is lost.
    tag(&mut a, "BEGIN ISOLATION LEVEL REPEATABLE READ").await;
    tag(&mut b, "BEGIN ISOLATION LEVEL REPEATABLE READ").await;
    tag(&mut a, "UPDATE acc SET bal = bal + 1 WHERE id = 1").await;
    tag(&mut b, "UPDATE acc SET bal = bal + 2 WHERE id = 1").await;
    tag(&mut a, "COMMIT").await;
    assert_eq!(error(&mut b, "COMMIT").await, ErrorCode::SerializationFailure);
    assert_eq!(rows(&mut b, "SELECT bal FROM acc").await, grid(&[&["101"]]));
}

#[tokio::test]
async fn prepared_statements_infer_parameter_types() {
    let (_store, e) = engine();
    let mut s = session(&e).await;
    tag(&mut s, "CREATE TABLE p (id BIGINT PRIMARY KEY, at TIMESTAMP, j JSONB)").await;
    let ins = s.prepare("INSERT INTO p VALUES ($1, $2, $3)", &[]).await.expect("prepare");
    assert_eq!(
        ins.param_types,
        vec![orbit_storage::DataType::BigInt, orbit_storage::DataType::Timestamp, orbit_storage::DataType::Json]
    );
    let at =
        chrono::NaiveDate::from_ymd_opt(2024, 2, 29).and_then(|d| d.and_hms_micro_opt(1, 2, 3, 456)).expect("date");
    let j = serde_json::json!({"a": {"b": 1}, "c": "x"});
    s.execute(&ins, &[Value::Int(7), Value::Timestamp(at), Value::Json(j)]).await.expect("insert");
    let sel =
        s.prepare("SELECT at, j->'a', j->>'c', j @> '{\"c\":\"x\"}' FROM p WHERE id = $1", &[]).await.expect("prepare");
    assert_eq!(sel.param_types, vec![orbit_storage::DataType::BigInt]);
    assert_eq!(sel.columns.len(), 4);
    let Outcome::Rows { rows, .. } = s.execute(&sel, &[Value::Int(7)]).await.expect("select") else { panic!("rows") };
    assert_eq!(rows[0][0], Value::Timestamp(at));
    assert_eq!(rows[0][1], Value::Json(serde_json::json!({"b": 1})));
    assert_eq!(rows[0][2], Value::Text("x".into()));
    assert_eq!(rows[0][3], Value::Bool(true));
}

#[tokio::test]
async fn joins_and_grouping() {
    let (_store, e) = engine();
    let mut s = session(&e).await;
    s.run("CREATE TABLE a (id INT PRIMARY KEY, name TEXT); CREATE TABLE b (id INT PRIMARY KEY, a_id INT, amt INT);")
        .await;
    s.run("INSERT INTO a VALUES (1,'x'),(2,'y'),(3,'z'); INSERT INTO b VALUES (10,1,5),(11,1,7),(12,2,1),(13,9,4);")
        .await;
    assert_eq!(
        rows(&mut s, "SELECT a.name, sum(b.amt) FROM a JOIN b ON b.a_id = a.id GROUP BY a.name ORDER BY 1").await,
        grid(&[&["x", "12"], &["y", "1"]])
    );
    assert_eq!(
        rows(&mut s, "SELECT a.name, count(b.id) FROM a LEFT JOIN b ON b.a_id = a.id GROUP BY a.name HAVING count(b.id) < 2 ORDER BY a.name").await,
        grid(&[&["y", "1"], &["z", "0"]])
    );
    assert_eq!(rows(&mut s, "SELECT count(*) FROM a FULL JOIN b ON b.a_id = a.id").await, grid(&[&["5"]]));
    assert_eq!(rows(&mut s, "SELECT DISTINCT a_id FROM b WHERE a_id < 5 ORDER BY a_id").await, grid(&[&["1"], &["2"]]));
    assert_eq!(rows(&mut s, "SELECT string_agg(name, ',') FROM a").await, grid(&[&["x,y,z"]]));
    assert_eq!(error(&mut s, "SELECT string_agg(name, ',' ORDER BY name) FROM a").await, ErrorCode::NotSupported);
}

#[tokio::test]
async fn one_statement_may_draw_more_serial_values_than_one_block() {
    let (_store, e) = engine();
    let mut s = session(&e).await;
    tag(&mut s, "CREATE TABLE many (id SERIAL PRIMARY KEY, v INT)").await;
    let values: Vec<String> = (0..500).map(|i| format!("({i})")).collect();
    assert_eq!(tag(&mut s, &format!("INSERT INTO many (v) VALUES {}", values.join(","))).await, "INSERT 0 500");
    assert_eq!(rows(&mut s, "SELECT min(id), max(id), count(*) FROM many").await, grid(&[&["1", "500", "500"]]));
}

/// The text of the single value a prepared statement returns.
async fn prepared_value(s: &mut Session, p: &orbit_sql::Prepared) -> String {
    match s.execute(p, &[]).await {
        Ok(Outcome::Rows { rows, columns, .. }) => {
            orbit_sql::format::to_text(&rows[0][0], &columns[0].ty).unwrap_or_else(|| "NULL".into())
        }
        other => panic!("expected a row, got {other:?}"),
    }
}

#[tokio::test]
async fn mysql_prepared_statements_read_variables_when_executed() {
    let (_store, e) = engine();
    let mut s = Session::open_mysql(e.clone(), None, "root").await.expect("session");
    tag(&mut s, "CREATE DATABASE d").await;
    tag(&mut s, "USE d").await;
    tag(&mut s, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    let warnings = s.prepare("SELECT @@warning_count", &[]).await.expect("prepare");
    let user_var = s.prepare("SELECT @x", &[]).await.expect("prepare");
    assert_eq!(prepared_value(&mut s, &warnings).await, "0");
    assert_eq!(prepared_value(&mut s, &user_var).await, "NULL");
    tag(&mut s, "INSERT INTO t VALUES (1)").await;
    tag(&mut s, "INSERT IGNORE INTO t VALUES (1), (1)").await;
    assert_eq!(prepared_value(&mut s, &warnings).await, "2");
    tag(&mut s, "SET @x = 5").await;
    assert_eq!(prepared_value(&mut s, &user_var).await, "5");
    tag(&mut s, "SET @x = 7").await;
    assert_eq!(prepared_value(&mut s, &user_var).await, "7");
}
