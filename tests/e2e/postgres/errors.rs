//! Errors carry PostgreSQL's SQLSTATEs, and the connection carries on.

use super::{connect, sqlstate, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlstates_and_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE e (id INT PRIMARY KEY, v TEXT NOT NULL)").await.expect("create");
    c.batch_execute("INSERT INTO e VALUES (1, 'a')").await.expect("insert");

    let syntax = c.simple_query("SELECT id FROM e WHERE").await.expect_err("syntax error");
    let db = syntax.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "42601");
    assert_eq!(db.message(), "syntax error at end of input");
    let syntax = c.simple_query("SELECT id FROM e WHERE id = = 1").await.expect_err("syntax error");
    let db = syntax.as_db_error().expect("server error");
    assert_eq!(db.message(), "syntax error at or near \"=\"");
    assert!(matches!(db.position(), Some(tokio_postgres::error::ErrorPosition::Original(29))), "{:?}", db.position());

    assert_eq!(sqlstate(c.simple_query("SELECT * FROM missing").await), "42P01");
    assert_eq!(sqlstate(c.simple_query("SELECT nope FROM e").await), "42703");
    assert_eq!(sqlstate(c.execute("INSERT INTO e VALUES (1, 'b')", &[]).await), "23505");
    assert_eq!(sqlstate(c.execute("INSERT INTO e VALUES (2, NULL)", &[]).await), "23502");
    assert_eq!(sqlstate(c.simple_query("SELECT 'abc'::int").await), "22P02");
    assert_eq!(sqlstate(c.simple_query("SELECT 1/0").await), "22012");
    assert_eq!(sqlstate(c.simple_query("LISTEN channel").await), "0A000");
    assert_eq!(sqlstate(c.prepare("SELECT * FROM missing WHERE id = $1").await), "42P01");

    // The connection still works, in both protocols.
    let row = c.query_one("SELECT v FROM e WHERE id = $1", &[&1i32]).await.expect("after errors");
    assert_eq!(row.get::<_, String>(0), "a");
    // A query string is one implicit transaction: a failure undoes it all.
    assert_eq!(
        sqlstate(c.batch_execute("INSERT INTO e VALUES (5, 'x'); SELECT nope; INSERT INTO e VALUES (6, 'y')").await),
        "42703"
    );
    let n: i64 = c.query_one("SELECT count(*) FROM e", &[]).await.expect("count").get(0);
    assert_eq!(n, 1);
    c.batch_execute("INSERT INTO e VALUES (5, 'x'); INSERT INTO e VALUES (6, 'y')").await.expect("batch");
    let n: i64 = c.query_one("SELECT count(*) FROM e", &[]).await.expect("count").get(0);
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_a_running_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE big (id INT PRIMARY KEY)").await.expect("create");
    let values: Vec<String> = (0..300).map(|i| format!("({i})")).collect();
    c.batch_execute(&format!("INSERT INTO big VALUES {}", values.join(","))).await.expect("fill");
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await.expect("cancel");
    });
    // 27 million joined rows: far longer than the cancel takes to arrive.
    let r = c.simple_query("SELECT count(*) FROM big a, big b, big c").await;
    canceller.await.expect("canceller");
    assert_eq!(sqlstate(r), "57014");
    let n: i64 = c.query_one("SELECT count(*) FROM big", &[]).await.expect("after cancel").get(0);
    assert_eq!(n, 300);
}

#[test]
fn ssl_request_is_declined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = super::addr(&server);
    let out = std::process::Command::new("psql")
        .arg(format!("host={} port={} user=postgres sslmode=require connect_timeout=10", a.ip(), a.port()))
        .args(["-c", "SELECT 1"])
        .output()
        .expect("psql");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("server does not support SSL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
