//! Authentication methods from the configuration.

use super::{addr, connect_to, sqlstate};
use crate::support::Orbit;

fn server_with(dir: &std::path::Path, method: &str) -> Orbit {
    let config = dir.join("orbit.toml");
    std::fs::write(
        &config,
        format!("[protocols.postgresql]\nauth = \"{method}\"\nusers = [{{ name = \"app\", password = \"s3cret\" }}]\n"),
    )
    .expect("config");
    let mut args = crate::support::only("postgresql");
    let path = config.to_string_lossy().to_string();
    args.extend_from_slice(&["--config", &path]);
    Orbit::start(dir, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_by_every_method() {
    for method in ["password", "md5", "scram-sha-256"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = server_with(dir.path(), method);
        let a = addr(&server);
        let base = format!("host={} port={} dbname=postgres connect_timeout=10", a.ip(), a.port());
        let c =
            connect_to(&format!("{base} user=app password=s3cret")).await.unwrap_or_else(|e| panic!("{method}: {e}"));
        let one: i32 = c.query_one("SELECT 1", &[]).await.expect("query").get(0);
        assert_eq!(one, 1);
        assert_eq!(sqlstate(connect_to(&format!("{base} user=app password=wrong")).await), "28P01", "{method}");
        assert_eq!(sqlstate(connect_to(&format!("{base} user=nobody password=s3cret")).await), "28P01", "{method}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_without_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = super::start(dir.path(), &[]);
    // Any user name gets in, as after `initdb -A trust`.
    let c = connect_to(&super::conn_str(&server, "whoever", "postgres")).await.expect("trust");
    let who: String = c.query_one("SELECT current_user", &[]).await.expect("query").get(0);
    assert_eq!(who, "whoever");
    let version: String = c.query_one("SHOW server_version", &[]).await.expect("show").get(0);
    assert!(version.starts_with("15."), "{version}");
}
