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
