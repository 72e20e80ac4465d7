//! Committed rows and schemas survive SIGKILL; AUTO_INCREMENT never hands
//! out a value twice.

use mysql_async::prelude::Queryable;
use nix::sys::signal::Signal;

use super::{connect, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_data_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE keep").await.expect("create");
    c.query_drop("USE keep").await.expect("use");
    c.query_drop("CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)").await.expect("create");
    c.query_drop("INSERT INTO notes (body) VALUES ('one'), ('two')").await.expect("insert");
    let mut open = connect(&server, Some("keep")).await;
    open.query_drop("BEGIN").await.expect("begin");
    open.query_drop("INSERT INTO notes (body) VALUES ('uncommitted')").await.expect("insert in tx");
    let (status, _) = server.stop_with(Signal::SIGKILL);
    assert!(!status.success());

    let server = start(dir.path(), &[]);
    let mut c = connect(&server, Some("keep")).await;
    let bodies: Vec<String> = c.query("SELECT body FROM notes ORDER BY id").await.expect("select");
    assert_eq!(bodies, vec!["one".to_string(), "two".into()]);
    c.query_drop("INSERT INTO notes (body) VALUES ('three')").await.expect("insert after restart");
    assert!(c.last_insert_id().expect("an id") > 2, "AUTO_INCREMENT never repeats a value");
    let (status, _) = server.stop_with(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0));
}
