//! Transactions with MySQL's rules: BEGIN/COMMIT/ROLLBACK, autocommit off,
//! a failed statement undone alone, and snapshot reads.

use mysql_async::prelude::Queryable;

use super::{code, connect, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_follow_mysql_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut a = connect(&server, None).await;
    a.query_drop("CREATE DATABASE bank").await.expect("create");
    a.query_drop("USE bank").await.expect("use");
    a.query_drop("CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL)").await.expect("create");
    a.query_drop("INSERT INTO acct VALUES (1, 100), (2, 100)").await.expect("insert");
    let mut b = connect(&server, Some("bank")).await;
    let sum = |rows: Vec<i64>| rows.iter().sum::<i64>();

    // ROLLBACK undoes; COMMIT makes visible to others.
    a.query_drop("BEGIN").await.expect("begin");
    a.query_drop("UPDATE acct SET bal = bal - 10 WHERE id = 1").await.expect("update");
    let seen: Vec<i64> = b.query("SELECT bal FROM acct ORDER BY id").await.expect("other session");
    assert_eq!(seen, vec![100, 100], "uncommitted writes are invisible");
    a.query_drop("ROLLBACK").await.expect("rollback");
    a.query_drop("START TRANSACTION").await.expect("start");
    a.query_drop("UPDATE acct SET bal = bal - 10 WHERE id = 1").await.expect("update");
    a.query_drop("UPDATE acct SET bal = bal + 10 WHERE id = 2").await.expect("update");
    // A failed statement is undone alone: the transaction goes on. So is
    // one that does not parse, and one that fails to prepare.
    assert_eq!(code(a.query_drop("INSERT INTO acct VALUES (1, 0)").await), 1062);
    assert_eq!(code(a.query_drop("UPDAT acct SET bal = 0").await), 1064);
    assert_eq!(code(a.prep("SELECT nope FROM acct").await), 1054);
    assert_eq!(code(a.query_drop("PREPARE p FROM 'SELEC 1'").await), 1064);
    // The updates above commit (a failed block would roll back instead).
    a.query_drop("COMMIT").await.expect("commit");
    let seen: Vec<i64> = b.query("SELECT bal FROM acct ORDER BY id").await.expect("other session");
    assert_eq!(seen, vec![90, 110]);

    // autocommit = 0: statements open a transaction that COMMIT ends.
    a.query_drop("SET autocommit = 0").await.expect("autocommit off");
    a.query_drop("UPDATE acct SET bal = 0 WHERE id = 1").await.expect("update");
    let seen: Vec<i64> = b.query("SELECT bal FROM acct ORDER BY id").await.expect("other");
    assert_eq!(sum(seen), 200, "not yet committed");
    a.query_drop("ROLLBACK").await.expect("rollback");
    a.query_drop("UPDATE acct SET bal = 50 WHERE id = 1").await.expect("update");
    a.query_drop("COMMIT").await.expect("commit");
    a.query_drop("SET autocommit = 1").await.expect("autocommit on");
    let seen: Vec<i64> = b.query("SELECT bal FROM acct ORDER BY id").await.expect("other");
    assert_eq!(seen, vec![50, 110]);

    // READ COMMITTED (the default): each statement sees the latest commits.
    b.query_drop("BEGIN").await.expect("begin");
    a.query_drop("UPDATE acct SET bal = 2 WHERE id = 2").await.expect("autocommit update");
    let seen: Vec<i64> = b.query("SELECT bal FROM acct WHERE id = 2").await.expect("read");
    assert_eq!(seen, vec![2]);
    b.query_drop("COMMIT").await.expect("commit");
    // REPEATABLE READ: a transaction reads one snapshot.
    b.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").await.expect("isolation");
    let level: Option<String> = b.query_first("SELECT @@transaction_isolation").await.expect("level");
    assert_eq!(level.as_deref(), Some("REPEATABLE-READ"));
    b.query_drop("BEGIN").await.expect("begin");
    let before: Vec<i64> = b.query("SELECT bal FROM acct WHERE id = 2").await.expect("read");
    a.query_drop("UPDATE acct SET bal = 1 WHERE id = 2").await.expect("autocommit update");
    let again: Vec<i64> = b.query("SELECT bal FROM acct WHERE id = 2").await.expect("read again");
    assert_eq!(before, again);
    // BEGIN inside a transaction commits it first, as in MySQL.
    b.query_drop("BEGIN").await.expect("implicit commit");
    let now: Vec<i64> = b.query("SELECT bal FROM acct WHERE id = 2").await.expect("fresh snapshot");
    assert_eq!(now, vec![1]);
    b.query_drop("COMMIT").await.expect("commit");
}
