//! Transaction blocks: visibility, rollback, failed blocks and conflicts.

use super::{connect, simple, sqlstate, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_conflicts_and_failed_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.batch_execute("CREATE TABLE acc (id INT PRIMARY KEY, bal INT); INSERT INTO acc VALUES (1, 100), (2, 0)")
        .await
        .expect("setup");

    // Writes in a block are invisible to others until COMMIT.
    a.batch_execute(
        "START TRANSACTION; UPDATE acc SET bal = bal - 30 WHERE id = 1; UPDATE acc SET bal = bal + 30 WHERE id = 2",
    )
    .await
    .expect("transfer");
    assert_eq!(simple(&b, "SELECT bal FROM acc ORDER BY id").await, vec![vec!["100".to_string()], vec!["0".into()]]);
    a.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(simple(&b, "SELECT bal FROM acc ORDER BY id").await, vec![vec!["70".to_string()], vec!["30".into()]]);

    // ROLLBACK discards.
    a.batch_execute("BEGIN; DELETE FROM acc; ROLLBACK").await.expect("rollback");
    assert_eq!(simple(&b, "SELECT count(*) FROM acc").await, vec![vec!["2".to_string()]]);

    // A failed statement aborts the block until ROLLBACK.
    a.batch_execute("BEGIN").await.expect("begin");
    assert_eq!(sqlstate(a.simple_query("SELECT nope FROM acc").await), "42703");
    assert_eq!(sqlstate(a.simple_query("SELECT 1").await), "25P02");
    assert_eq!(sqlstate(a.query("SELECT $1::int", &[&1i32]).await), "25P02");
    a.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(simple(&a, "SELECT 1").await, vec![vec!["1".to_string()]]);

    // Concurrent snapshot-isolation writers of one row: one commits, the
    // other gets 40001, and no update is lost.
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; UPDATE acc SET bal = bal + 1 WHERE id = 1")
        .await
        .expect("a");
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; UPDATE acc SET bal = bal + 2 WHERE id = 1")
        .await
        .expect("b");
    a.batch_execute("COMMIT").await.expect("a commits");
    assert_eq!(sqlstate(b.simple_query("COMMIT").await), "40001");
    assert_eq!(simple(&b, "SELECT bal FROM acc WHERE id = 1").await, vec![vec!["71".to_string()]]);

    // tokio-postgres' own transaction API.
    let mut a = a;
    let tx = a.transaction().await.expect("transaction");
    tx.execute("UPDATE acc SET bal = 0 WHERE id = $1", &[&2i32]).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(simple(&b, "SELECT bal FROM acc WHERE id = 2").await, vec![vec!["0".to_string()]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT); INSERT INTO counter VALUES (1, 0)")
        .await
        .expect("setup");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                // Outside a block each statement is retried on a conflict,
                // as it has not been acknowledged.
                client.execute("UPDATE counter SET n = n + 1 WHERE id = 1", &[]).await.expect("increment");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let n: i64 = c.query_one("SELECT n FROM counter", &[]).await.expect("read").get(0);
    assert_eq!(n, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_writers_wait_and_apply_on_top() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.batch_execute("CREATE TABLE acc (id INT PRIMARY KEY, bal INT); INSERT INTO acc VALUES (1, 100)")
        .await
        .expect("setup");
    assert_eq!(simple(&a, "SHOW default_transaction_isolation").await, vec![vec!["read committed".to_string()]]);
    a.batch_execute("BEGIN; UPDATE acc SET bal = bal + 1 WHERE id = 1").await.expect("a");
    // b's update waits for a's row lock, then applies to a's committed row.
    let waiter = tokio::spawn(async move {
        b.batch_execute("BEGIN; UPDATE acc SET bal = bal + 2 WHERE id = 1").await.expect("b waits, then updates");
        b.batch_execute("COMMIT").await.expect("b commits");
        b
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "b must wait for a's lock");
    a.batch_execute("COMMIT").await.expect("a commits");
    let b = waiter.await.expect("b");
    assert_eq!(simple(&b, "SELECT bal FROM acc").await, vec![vec!["103".to_string()]]);

    // Each statement sees what was committed before it.
    a.batch_execute("BEGIN").await.expect("begin");
    assert_eq!(simple(&a, "SELECT bal FROM acc").await, vec![vec!["103".to_string()]]);
    b.batch_execute("UPDATE acc SET bal = 0").await.expect("b");
    assert_eq!(simple(&a, "SELECT bal FROM acc").await, vec![vec!["0".to_string()]]);
    a.batch_execute("COMMIT").await.expect("commit");

    // Two blocks locking rows in opposite orders: one is a deadlock victim.
    a.batch_execute("INSERT INTO acc VALUES (2, 0)").await.expect("row 2");
    a.batch_execute("BEGIN; UPDATE acc SET bal = 1 WHERE id = 1").await.expect("a locks 1");
    b.batch_execute("BEGIN; UPDATE acc SET bal = 2 WHERE id = 2").await.expect("b locks 2");
    let a_next = tokio::spawn(async move {
        let r = a.batch_execute("UPDATE acc SET bal = 1 WHERE id = 2").await;
        (a, r)
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rb = b.batch_execute("UPDATE acc SET bal = 2 WHERE id = 1").await;
    assert_eq!(sqlstate(rb), "40P01", "closing the cycle is refused");
    b.batch_execute("ROLLBACK").await.expect("b rolls back");
    let (a, ra) = a_next.await.expect("a");
    ra.expect("a proceeds once b is gone");
    a.batch_execute("COMMIT").await.expect("a commits");
    assert_eq!(
        simple(&a, "SELECT id, bal FROM acc ORDER BY id").await,
        vec![vec!["1".to_string(), "1".into()], vec!["2".into(), "1".into()]]
    );
}

/// What row locks do not cover is still never overwritten: a READ
/// COMMITTED block whose earlier write a later commit touched fails with
/// 40001 rather than carry that write past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_never_overwrites_an_unseen_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.batch_execute("CREATE TABLE u (id INT PRIMARY KEY, v TEXT UNIQUE)").await.expect("setup");

    // Two rows racing for one unique value: the block that loses is refused.
    a.batch_execute("BEGIN; INSERT INTO u VALUES (1, 'x')").await.expect("a inserts");
    b.batch_execute("INSERT INTO u VALUES (2, 'x')").await.expect("b's row commits first");
    assert_eq!(sqlstate(a.simple_query("SELECT 1").await), "40001");
    a.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(simple(&b, "SELECT id FROM u WHERE v = 'x'").await, vec![vec!["2".to_string()]]);

    // An autocommit INSERT of a key a block has inserted waits for the
    // block, then finds the key taken.
    a.batch_execute("BEGIN; INSERT INTO u VALUES (3, 'y')").await.expect("a inserts 3");
    let waiter = tokio::spawn(async move {
        let r = b.simple_query("INSERT INTO u VALUES (3, 'z')").await;
        (b, r)
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the insert must wait for a's key");
    a.batch_execute("SELECT 1; COMMIT").await.expect("a commits");
    let (b, r) = waiter.await.expect("b");
    assert_eq!(sqlstate(r), "23505");
    assert_eq!(simple(&b, "SELECT v FROM u WHERE id = 3").await, vec![vec!["y".to_string()]]);

    // Keys equal to storage are one lock: 1.0 and 1.00.
    a.batch_execute("CREATE TABLE d (k NUMERIC PRIMARY KEY, n INT); INSERT INTO d VALUES (1.0, 0)")
        .await
        .expect("decimal table");
    a.batch_execute("BEGIN; UPDATE d SET n = n + 1 WHERE k = 1.0").await.expect("a locks 1.0");
    let waiter = tokio::spawn(async move {
        b.batch_execute("UPDATE d SET n = n + 10 WHERE k = 1.00").await.expect("b waits, then updates");
        b
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "1.00 is the row 1.0 locked");
    a.batch_execute("COMMIT").await.expect("a commits");
    let b = waiter.await.expect("b");
    assert_eq!(simple(&b, "SELECT n FROM d").await, vec![vec!["11".to_string()]]);

    // An UPDATE moving a row to a new key holds that key: an INSERT of it waits.
    a.batch_execute("BEGIN; UPDATE u SET id = 10 WHERE id = 3").await.expect("a moves 3 to 10");
    let waiter = tokio::spawn(async move {
        let r = b.simple_query("INSERT INTO u VALUES (10, 'w')").await;
        (b, r)
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the insert must wait for a's new key");
    a.batch_execute("COMMIT").await.expect("a commits");
    let (b, r) = waiter.await.expect("b");
    assert_eq!(sqlstate(r), "23505");
    assert_eq!(simple(&b, "SELECT v FROM u WHERE id = 10").await, vec![vec!["y".to_string()]]);

    // A concurrent ALTER TABLE under a block's writes fails the block, so
    // no acknowledged row is written under a dropped definition.
    a.batch_execute("BEGIN; INSERT INTO u VALUES (20, 'q')").await.expect("a inserts");
    b.batch_execute("ALTER TABLE u ADD COLUMN extra INT").await.expect("alter");
    let r = a.simple_query("SELECT 1").await;
    let r = match r {
        Ok(_) => a.simple_query("COMMIT").await,
        Err(e) => Err(e),
    };
    assert_eq!(sqlstate(r), "40001");
    a.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(simple(&a, "SELECT count(*) FROM u WHERE id = 20").await, vec![vec!["0".to_string()]]);

    // The isolation level is fixed once the block has run a statement.
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1").await.expect("begin");
    assert_eq!(sqlstate(a.simple_query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").await), "25001");
    a.batch_execute("ROLLBACK").await.expect("rollback");
    a.batch_execute("BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; COMMIT").await.expect("before any query");

    // A prepared statement refused before it runs (its cached plan's
    // result type changed) fails the block too.
    let stmt = a.prepare("SELECT * FROM d").await.expect("prepare");
    b.batch_execute("ALTER TABLE d ADD COLUMN note TEXT").await.expect("alter");
    a.batch_execute("BEGIN").await.expect("begin");
    assert_eq!(sqlstate(a.query(&stmt, &[]).await), "0A000");
    assert_eq!(sqlstate(a.simple_query("SELECT 1").await), "25P02");
    a.batch_execute("ROLLBACK").await.expect("rollback");
}

/// ON CONFLICT DO UPDATE on a table whose only key is a unique index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_conflict_update_without_a_primary_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = connect(&server).await;
    a.batch_execute(
        "CREATE TABLE kv (k TEXT UNIQUE, n INT); INSERT INTO kv VALUES ('a', 1);
         INSERT INTO kv VALUES ('a', 5) ON CONFLICT (k) DO UPDATE SET n = kv.n + excluded.n",
    )
    .await
    .expect("upsert");
    assert_eq!(simple(&a, "SELECT k, n FROM kv").await, vec![vec!["a".to_string(), "6".into()]]);
}
