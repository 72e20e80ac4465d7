//! The PostgreSQL endpoint, driven by tokio-postgres (extended protocol,
//! binary results), its simple-query API, and the real psql.

mod auth;
mod copy;
mod errors;
mod persistence;
mod prisma;
mod psql;
mod queries;
mod slt;
mod sqlx;
mod transactions;
mod types;
mod wire;

use tokio_postgres::{Client, NoTls};

use crate::support::Orbit;

/// A server with only the PostgreSQL endpoint, plus `extra` flags.
pub(crate) fn start(dir: &std::path::Path, extra: &[&str]) -> Orbit {
    let mut args = crate::support::only("postgresql");
    args.extend_from_slice(extra);
    Orbit::start(dir, &args)
}

/// The endpoint's address.
pub(crate) fn addr(server: &Orbit) -> std::net::SocketAddr {
    *server.endpoints.get("postgresql").expect("the postgresql endpoint is listening")
}

/// A libpq-style connection string for `user` on `db`.
pub(crate) fn conn_str(server: &Orbit, user: &str, db: &str) -> String {
    let a = addr(server);
    format!("host={} port={} user={user} dbname={db} connect_timeout=10", a.ip(), a.port())
}

/// Connects as `postgres` to the `postgres` database.
pub(crate) async fn connect(server: &Orbit) -> Client {
    connect_to(&conn_str(server, "postgres", "postgres")).await.expect("connect")
}

/// Connects with a connection string, driving the connection in the background.
pub(crate) async fn connect_to(config: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(config, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The SQLSTATE of a failed call.
pub(crate) fn sqlstate<T: std::fmt::Debug>(r: Result<T, tokio_postgres::Error>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}")),
    }
}

/// Runs `sql` through the simple protocol and returns its rows as text
/// (NULL as `NULL`), and the command tags' row counts.
pub(crate) async fn simple(c: &Client, sql: &str) -> Vec<Vec<String>> {
    let msgs = c.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect())
            }
            _ => None,
        })
        .collect()
}
