//! MySQL's error codes, and connections that keep working after each.

use mysql_async::prelude::Queryable;

use super::{code, connect, opts, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_mysql_codes_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    assert_eq!(code(c.query_drop("SELECT * FROM t").await), 1046, "no database selected");
    c.query_drop("CREATE DATABASE e").await.expect("create");
    assert_eq!(code(c.query_drop("CREATE DATABASE e").await), 1007);
    c.query_drop("USE e").await.expect("use");
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(3) NOT NULL)").await.expect("create");
    c.query_drop("INSERT INTO t VALUES (1, 'a')").await.expect("insert");
    let cases: &[(&str, u16)] = &[
        ("SELEC 1", 1064),
        ("SELECT * FROM nope", 1146),
        ("SELECT nope FROM t", 1054),
        ("INSERT INTO t VALUES (1, 'b')", 1062),
        ("INSERT INTO t VALUES (2, NULL)", 1048),
        ("INSERT INTO t VALUES (3, 'toolong')", 1406),
        ("USE nowhere", 1049),
        ("CREATE TABLE t (x INT)", 1050),
        ("SET @@no_such_variable = 1", 1193),
        ("SELECT @a := 1", 1235),
    ];
    for (sql, want) in cases {
        let got = code(c.query_drop(*sql).await);
        assert_eq!(got, *want, "{sql}");
        let one: Option<i64> = c.query_first("SELECT 1").await.expect("the connection still works");
        assert_eq!(one, Some(1));
    }
    let err = c.query_drop("SELECT * FROM nope").await.expect_err("fails");
    assert!(err.to_string().contains("Table 'e.nope' doesn't exist"), "{err}");
    // A qualified name is reported in its own database, whichever is in use.
    let mut other = connect(&server, None).await;
    for sql in ["SELECT * FROM e.nope", "INSERT INTO e.nope VALUES (1)", "UPDATE e.nope SET x = 1"] {
        let err = other.query_drop(sql).await.expect_err("fails");
        assert!(err.to_string().contains("Table 'e.nope' doesn't exist"), "{sql}: {err}");
    }
    let err = c.query_drop("INSERT INTO t VALUES (1, 'b')").await.expect_err("fails");
    assert!(err.to_string().contains("Duplicate entry '1' for key 't.PRIMARY'"), "{err}");

    // The handshake: unknown users and databases are refused.
    let r = mysql_async::Conn::new(opts(&server, "mallory", None)).await;
    assert_eq!(code(r), 1045);
    let r = mysql_async::Conn::new(opts(&server, "root", Some("nowhere"))).await;
    assert_eq!(code(r), 1049);
    let mut in_db = connect(&server, Some("e")).await;
    let n: Option<i64> = in_db.query_first("SELECT COUNT(*) FROM t").await.expect("handshake database");
    assert_eq!(n, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_outside_a_declared_type_are_refused_as_mysql_refuses_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE d").await.expect("create");
    c.query_drop("USE d").await.expect("use");
    c.query_drop(
        "CREATE TABLE p (id INT UNSIGNED PRIMARY KEY, age TINYINT, qty SMALLINT UNSIGNED, \
         big BIGINT UNSIGNED, price DECIMAL(8,2) UNSIGNED, size ENUM('small','medium','large'), tags SET('a','b','c'))",
    )
    .await
    .expect("create");
    c.query_drop("INSERT INTO p VALUES (4294967295, -128, 65535, 18446744073709551615, 0, 'MEDIUM', 'c,a')")
        .await
        .expect("the edges of each range fit");
    let row: Option<(u64, String, String)> = c.query_first("SELECT big, size, tags FROM p").await.expect("select");
    assert_eq!(row, Some((u64::MAX, "medium".to_string(), "a,c".to_string())), "members as declared, in order");
    let cases: &[(&str, u16)] = &[
        ("INSERT INTO p (id) VALUES (-1)", 1264),
        ("INSERT INTO p (id, age) VALUES (1, 128)", 1264),
        ("INSERT INTO p (id, qty) VALUES (1, 65536)", 1264),
        ("INSERT INTO p (id, big) VALUES (1, -1)", 1264),
        ("INSERT INTO p (id, price) VALUES (1, -0.01)", 1264),
        ("INSERT INTO p (id, size) VALUES (1, 'huge')", 1265),
        ("INSERT INTO p (id, tags) VALUES (1, 'a,z')", 1265),
        ("UPDATE p SET age = age - 1", 1264),
    ];
    for (sql, want) in cases {
        assert_eq!(code(c.query_drop(*sql).await), *want, "{sql}");
    }
    let err = c.query_drop("INSERT INTO p (id, age) VALUES (1, 5), (2, 300)").await.expect_err("fails");
    assert!(err.to_string().contains("Out of range value for column 'age' at row 2"), "{err}");
    let err = c.query_drop("INSERT INTO p (id, size) VALUES (1, 'huge')").await.expect_err("fails");
    assert!(err.to_string().contains("Data truncated for column 'size' at row 1"), "{err}");
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM p").await.expect("count");
    assert_eq!(n, Some(1), "a refused statement writes nothing");
    // Through the binary protocol too.
    let err = c.exec_drop("INSERT INTO p (id, age) VALUES (?, ?)", (7u32, 200i32)).await.expect_err("fails");
    assert!(err.to_string().contains("Out of range value for column 'age'"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_ddl_leaves_notes_for_show_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE w").await.expect("create");
    c.query_drop("USE w").await.expect("use");
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY)").await.expect("create");
    c.query_drop("CREATE DATABASE other").await.expect("create");
    let cases: &[(&str, u16, &str)] = &[
        ("DROP TABLE IF EXISTS nope", 1051, "Unknown table 'w.nope'"),
        ("DROP TABLE IF EXISTS other.nope", 1051, "Unknown table 'other.nope'"),
        ("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)", 1050, "Table 't' already exists"),
        ("CREATE DATABASE IF NOT EXISTS w", 1007, "Can't create database 'w'; database exists"),
        ("DROP DATABASE IF EXISTS gone", 1008, "Can't drop database 'gone'; database doesn't exist"),
    ];
    for (sql, code, message) in cases {
        c.query_drop(*sql).await.expect("runs");
        assert_eq!(c.get_warnings(), 1, "{sql}: the OK packet counts the note");
        let count: Option<i64> = c.query_first("SELECT @@warning_count").await.expect("count");
        assert_eq!(count, Some(1), "{sql}");
        let notes: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").await.expect("show warnings");
        assert_eq!(notes, vec![("Note".to_string(), *code, message.to_string())], "{sql}");
    }
    // Any other statement starts afresh.
    c.query_drop("SELECT 1").await.expect("select");
    assert_eq!(c.get_warnings(), 0);
    let notes: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").await.expect("show warnings");
    assert!(notes.is_empty());
    let count: Option<i64> = c.query_first("SHOW COUNT(*) WARNINGS").await.expect("count");
    assert_eq!(count, Some(0));
    // DROP TABLE IF EXISTS of two missing tables notes both.
    c.query_drop("DROP TABLE IF EXISTS a, b").await.expect("runs");
    assert_eq!(c.get_warnings(), 2);

    // INSERT IGNORE warns of each row it skips, by the key that was taken.
    c.query_drop("CREATE TABLE u (id INT PRIMARY KEY, email VARCHAR(20), UNIQUE KEY by_email (email))")
        .await
        .expect("create");
    c.query_drop("INSERT INTO u VALUES (1, 'a@x')").await.expect("insert");
    c.query_drop("INSERT IGNORE INTO u VALUES (1, 'b@x'), (2, 'a@x'), (3, 'c@x')").await.expect("insert ignore");
    assert_eq!(c.affected_rows(), 1);
    assert_eq!(c.get_warnings(), 2);
    let warnings: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").await.expect("show warnings");
    assert_eq!(
        warnings,
        vec![
            ("Warning".to_string(), 1062, "Duplicate entry '1' for key 'u.PRIMARY'".to_string()),
            ("Warning".to_string(), 1062, "Duplicate entry 'a@x' for key 'u.by_email'".to_string()),
        ]
    );
}
