//! The binary protocol: COM_STMT_PREPARE / EXECUTE / CLOSE with parameters
//! and results of every type; and SQL-level PREPARE / EXECUTE / DEALLOCATE.

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use super::{code, connect, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_carry_every_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE t").await.expect("create database");
    c.query_drop("USE t").await.expect("use");
    c.query_drop(
        "CREATE TABLE every (id BIGINT PRIMARY KEY, small SMALLINT, tiny TINYINT, flag BOOLEAN, f FLOAT, d DOUBLE, \
         amount DECIMAL(12,3), name VARCHAR(20), body TEXT, raw BLOB, day DATE, at DATETIME(6), tm TIME, doc JSON)",
    )
    .await
    .expect("create");
    let insert =
        c.prep("INSERT INTO every VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").await.expect("prepare insert");
    assert_eq!(insert.num_params(), 14);
    c.exec_drop(
        &insert,
        vec![
            Value::Int(1),
            Value::Int(-7),
            Value::Int(3),
            Value::Int(1),
            Value::Float(1.5),
            Value::Double(2.25),
            Value::Bytes(b"12345.678".to_vec()),
            Value::Bytes(b"caf\xc3\xa9".to_vec()),
            Value::Bytes(b"long text".to_vec()),
            Value::Bytes(vec![0, 1, 2, 255]),
            Value::Date(2024, 2, 29, 0, 0, 0, 0),
            Value::Date(2024, 2, 29, 13, 14, 15, 123_456),
            Value::Time(false, 0, 8, 30, 0, 0),
            Value::Bytes(br#"{"a": [1, 2]}"#.to_vec()),
        ],
    )
    .await
    .expect("insert every type");
    let mut nulls = vec![Value::NULL; 14];
    nulls[0] = Value::Int(2);
    nulls[3] = Value::Int(0);
    nulls[7] = Value::from("x");
    c.exec_drop(&insert, nulls).await.expect("insert NULLs");
    assert_eq!(c.affected_rows(), 1);

    let select = c.prep("SELECT * FROM every WHERE id = ?").await.expect("prepare select");
    assert_eq!(select.columns().len(), 14);
    let row: Row = c.exec_first(&select, (1,)).await.expect("select").expect("a row");
    assert_eq!(row.get::<i64, _>(0), Some(1));
    assert_eq!(row.get::<i64, _>(1), Some(-7));
    assert_eq!(row.get::<i64, _>(2), Some(3));
    assert_eq!(row.get::<i64, _>(3), Some(1));
    assert_eq!(row.get::<f32, _>(4), Some(1.5));
    assert_eq!(row.get::<f64, _>(5), Some(2.25));
    assert_eq!(row.get::<String, _>(6).as_deref(), Some("12345.678"));
    assert_eq!(row.get::<String, _>(7).as_deref(), Some("café"));
    assert_eq!(row.get::<Vec<u8>, _>(9), Some(vec![0, 1, 2, 255]));
    assert_eq!(row.as_ref(10), Some(&Value::Date(2024, 2, 29, 0, 0, 0, 0)));
    assert_eq!(row.as_ref(11), Some(&Value::Date(2024, 2, 29, 13, 14, 15, 123_456)));
    assert_eq!(row.as_ref(12), Some(&Value::Time(false, 0, 8, 30, 0, 0)));
    let doc: String = row.get(13).expect("json");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&doc).expect("json"), serde_json::json!({"a": [1, 2]}));

    let nulls: Row = c.exec_first(&select, (2,)).await.expect("select").expect("a row");
    assert_eq!(nulls.as_ref(1), Some(&Value::NULL));
    assert_eq!(nulls.as_ref(11), Some(&Value::NULL));

    // Parameters in WHERE, IN and LIMIT; a statement runs again and again.
    let q =
        c.prep("SELECT id FROM every WHERE id IN (?, ?) AND name IS NOT NULL ORDER BY id LIMIT ?").await.expect("p");
    for _ in 0..3 {
        let ids: Vec<i64> = c.exec(&q, (1, 2, 10)).await.expect("exec");
        assert_eq!(ids, vec![1, 2]);
    }
    c.close(q).await.expect("close");
    // A failed execution leaves the statement usable.
    let mut dup = vec![Value::NULL; 14];
    dup[0] = Value::Int(1);
    assert_eq!(code(c.exec_drop(&insert, dup).await), 1062);
    let n: Option<i64> = c.exec_first("SELECT COUNT(*) FROM every WHERE small IS NULL", ()).await.expect("count");
    assert_eq!(n, Some(1));
    c.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_prepare_execute_and_deallocate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE p").await.expect("create");
    c.query_drop("USE p").await.expect("use");
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))").await.expect("create");

    // From a string, run with user variables and literals.
    c.query_drop("PREPARE ins FROM 'INSERT INTO t VALUES (?, ?)'").await.expect("prepare");
    c.query_drop("SET @id = 1, @name = 'one'").await.expect("set");
    c.query_drop("EXECUTE ins USING @id, @name").await.expect("execute");
    c.query_drop("SET @id = 2, @name = 'two'").await.expect("set");
    c.query_drop("EXECUTE ins USING @id, @name").await.expect("execute again");
    // From a variable; names are not case sensitive.
    c.query_drop("SET @q = 'SELECT name FROM t WHERE id = ?'").await.expect("set");
    c.query_drop("PREPARE Sel FROM @q").await.expect("prepare from a variable");
    let names: Vec<String> = c.query("EXECUTE sel USING @id").await.expect("execute");
    assert_eq!(names, vec!["two".to_string()]);
    let names: Vec<String> = c.query("EXECUTE SEL USING 1").await.expect("a literal argument");
    assert_eq!(names, vec!["one".to_string()]);
    // A statement without parameters; re-PREPARE replaces.
    c.query_drop("PREPARE sel FROM 'SELECT COUNT(*) FROM t'").await.expect("re-prepare");
    let n: Option<i64> = c.query_first("EXECUTE sel").await.expect("execute");
    assert_eq!(n, Some(2));

    // Errors, each leaving the connection usable.
    let cases: &[(&str, u16)] = &[
        ("EXECUTE nope", 1243),
        ("EXECUTE ins USING @id", 1210),
        ("EXECUTE ins USING @id, @name", 1062),
        ("DEALLOCATE PREPARE nope", 1243),
        ("PREPARE bad FROM 'SELEC 1'", 1064),
        ("PREPARE bad FROM ''", 1065),
        ("PREPARE bad FROM @unset", 1064),
        ("PREPARE bad FROM 'SELECT 1; SELECT 2'", 1064),
        ("PREPARE bad FROM 'EXECUTE sel'", 1295),
        ("EXECUTE sel(1)", 1064),
        ("PREPARE bad AS SELECT 1", 1064),
        ("PREPARE bad FROM 'SELECT * FROM missing'", 1146),
    ];
    for (sql, want) in cases {
        assert_eq!(code(c.query_drop(*sql).await), *want, "{sql}");
        let n: Option<i64> = c.query_first("EXECUTE sel").await.expect("the connection still works");
        assert_eq!(n, Some(2));
    }
    let err = c.query_drop("EXECUTE nope").await.expect_err("unknown");
    assert!(err.to_string().contains("Unknown prepared statement handler (nope) given to EXECUTE"), "{err}");

    // Inside a transaction, with MySQL's rules for the statement run.
    c.query_drop("BEGIN").await.expect("begin");
    c.query_drop("SET @id = 3, @name = 'three'").await.expect("set");
    c.query_drop("EXECUTE ins USING @id, @name").await.expect("execute in a transaction");
    c.query_drop("ROLLBACK").await.expect("rollback");
    let n: Option<i64> = c.query_first("EXECUTE sel").await.expect("execute");
    assert_eq!(n, Some(2), "the rollback undid the prepared insert");

    // An EXECUTE that fails inside a transaction undoes only itself.
    c.query_drop("BEGIN").await.expect("begin");
    c.query_drop("DELETE FROM t WHERE id = 2").await.expect("delete");
    c.query_drop("SET @id = 1").await.expect("set");
    assert_eq!(code(c.query_drop("EXECUTE ins USING @id, @name").await), 1062);
    c.query_drop("COMMIT").await.expect("commit");
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM t").await.expect("count");
    assert_eq!(n, Some(1), "the DELETE before the failed EXECUTE committed");
    // Quoted names; DDL since PREPARE prepares again, as MySQL does.
    c.query_drop("PREPARE `my stmt` FROM 'SELECT * FROM t WHERE id = ?'").await.expect("prepare a quoted name");
    c.query_drop("ALTER TABLE t ADD COLUMN extra INT").await.expect("alter");
    let row: Option<(i64, String, Option<i64>)> =
        c.query_first("EXECUTE `My Stmt` USING 1").await.expect("execute after DDL");
    assert_eq!(row, Some((1, "one".to_string(), None)));

    c.query_drop("DEALLOCATE PREPARE ins").await.expect("deallocate");
    c.query_drop("DROP PREPARE sel").await.expect("drop prepare");
    assert_eq!(code(c.query_drop("EXECUTE sel").await), 1243);
    // COM_RESET_CONNECTION forgets them.
    c.query_drop("PREPARE again FROM 'SELECT 1'").await.expect("prepare");
    c.reset().await.expect("reset");
    assert_eq!(code(c.query_drop("EXECUTE again").await), 1243);
    c.disconnect().await.expect("disconnect");
}
