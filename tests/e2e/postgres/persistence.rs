//! Committed rows and schemas survive SIGKILL; uncommitted writes do not.

use nix::sys::signal::Signal;

use super::{connect, simple, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_data_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE DATABASE other;
         CREATE TABLE kept (id INT PRIMARY KEY, v TEXT, at TIMESTAMPTZ DEFAULT now());
         INSERT INTO kept (id, v) VALUES (1, 'one'), (2, 'two');
         CREATE TABLE serials (id SERIAL PRIMARY KEY, v TEXT);
         INSERT INTO serials (v) VALUES ('a'), ('b'), ('c');
         CREATE TABLE dropped (x INT);
         DROP TABLE dropped;",
    )
    .await
    .expect("setup");
    c.execute("UPDATE kept SET v = $1 WHERE id = 2", &[&"TWO"]).await.expect("update");
    // An open transaction at the moment of the crash.
    let other = connect(&server).await;
    other.batch_execute("BEGIN; INSERT INTO kept (id, v) VALUES (3, 'uncommitted')").await.expect("open tx");
    let (status, _) = server.stop_with(Signal::SIGKILL);
    assert!(!status.success());

    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    assert_eq!(
        simple(&c, "SELECT id, v, at IS NOT NULL FROM kept ORDER BY id").await,
        vec![vec!["1".to_string(), "one".into(), "t".into()], vec!["2".into(), "TWO".into(), "t".into()]]
    );
    assert_eq!(super::sqlstate(c.simple_query("SELECT * FROM dropped").await), "42P01");
    super::connect_to(&super::conn_str(&server, "postgres", "other")).await.expect("the database survived");
    // The sequence resumes past every value it may have handed out.
    let id: i32 = c.query_one("INSERT INTO serials (v) VALUES ('d') RETURNING id", &[]).await.expect("serial").get(0);
    assert!(id > 3, "a SERIAL never repeats a value after a crash: got {id}");
    // The schema is intact: defaults and keys still apply.
    c.batch_execute("INSERT INTO kept (id, v) VALUES (3, 'three')").await.expect("insert after restart");
    assert_eq!(super::sqlstate(c.simple_query("INSERT INTO kept (id, v) VALUES (1, 'dup')").await), "23505");
    let (status, _) = server.stop_with(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0));
}
