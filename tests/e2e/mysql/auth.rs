//! Users and passwords from the configuration.

use mysql_async::prelude::Queryable;
use std::process::Command;

use super::{addr, code, opts};
use crate::support::Orbit;

fn server_with_users(dir: &std::path::Path) -> Orbit {
    let config = dir.join("orbit.toml");
    let users = "[protocols.mysql]\nusers = [{ name = \"app\", password = \"s3cret\" }, \
        { name = \"ops\", password = \"0ps\" }]\n";
    std::fs::write(&config, users).expect("config");
    let mut args = crate::support::only("mysql");
    let path = config.to_string_lossy().to_string();
    args.extend_from_slice(&["--config", &path]);
    Orbit::start(dir, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_users_need_their_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_with_users(dir.path());
    let mut c = mysql_async::Conn::new(opts(&server, "app", None).pass(Some("s3cret"))).await.expect("app connects");
    let user: Option<String> = c.query_first("SELECT CURRENT_USER()").await.expect("query");
    assert_eq!(user.as_deref(), Some("app@localhost"));
    let wrong = mysql_async::Conn::new(opts(&server, "app", None).pass(Some("wrong"))).await;
    assert_eq!(code(wrong), 1045);
    let none = mysql_async::Conn::new(opts(&server, "app", None)).await;
    assert_eq!(code(none), 1045);
    // With users configured, root without a password is no one special.
    let root = mysql_async::Conn::new(opts(&server, "root", None)).await;
    assert_eq!(code(root), 1045);

    let a = addr(&server);
    let mysql = |password: &str| {
        Command::new("mysql")
            .args(["--no-defaults", "-h", &a.ip().to_string(), "-P", &a.port().to_string(), "-u", "app"])
            .arg(format!("-p{password}"))
            .args(["-N", "-B", "-e", "SELECT 1"])
            .output()
            .expect("mysql")
    };
    let ok = mysql("s3cret");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "1\n", "{}", String::from_utf8_lossy(&ok.stderr));
    let denied = mysql("nope");
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("ERROR 1045 (28000): Access denied for user 'app'"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_user_logs_the_connection_in_again() {
    use mysql_async::ChangeUserOpts;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_with_users(dir.path());
    let mut c = mysql_async::Conn::new(opts(&server, "app", None).pass(Some("s3cret"))).await.expect("app connects");
    c.query_drop("CREATE DATABASE cu").await.expect("create");
    c.query_drop("CREATE TABLE cu.t (id INT PRIMARY KEY)").await.expect("create");
    c.query_drop("SET @x = 5").await.expect("set");
    c.query_drop("BEGIN").await.expect("begin");
    c.query_drop("INSERT INTO cu.t VALUES (1)").await.expect("insert");
    let as_ops = |pass: &str| {
        ChangeUserOpts::default()
            .with_user(Some("ops".into()))
            .with_pass(Some(pass.into()))
            .with_db_name(Some("cu".into()))
    };
    c.change_user(as_ops("0ps")).await.expect("change user");
    let who: Option<(String, String)> =
        c.query_first("SELECT CURRENT_USER(), DATABASE()").await.expect("the new session works");
    assert_eq!(who, Some(("ops@localhost".into(), "cu".into())));
    let x: Option<Option<i64>> = c.query_first("SELECT @x").await.expect("variables");
    assert_eq!(x, Some(None), "user variables belong to the old session");
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM t").await.expect("count");
    assert_eq!(n, Some(0), "the old session's open transaction rolled back");

    // The old session's row locks went with it: another writer of id 1
    // does not wait.
    let mut other = mysql_async::Conn::new(opts(&server, "app", None).pass(Some("s3cret"))).await.expect("app");
    other.query_drop("INSERT INTO cu.t VALUES (1)").await.expect("id 1 is free");

    // A wrong password is refused with 1045, and the connection closes.
    assert_eq!(code(c.change_user(as_ops("wrong")).await), 1045);
    assert!(c.query_drop("SELECT 1").await.is_err(), "a refused change of user closes the connection");
    let nowhere = ChangeUserOpts::default()
        .with_user(Some("app".into()))
        .with_pass(Some("s3cret".into()))
        .with_db_name(Some("nowhere".into()));
    assert_eq!(code(other.change_user(nowhere).await), 1049);
    let mut fresh = mysql_async::Conn::new(opts(&server, "ops", None).pass(Some("0ps"))).await.expect("ops connects");
    let one: Option<i64> = fresh.query_first("SELECT 1").await.expect("query");
    assert_eq!(one, Some(1));
}
