//! The MySQL endpoint, driven by mysql_async (text and binary protocols)
//! and the real `mysql` client.

mod auth;
mod cli;
mod errors;
mod persistence;
mod prepared;
mod queries;
mod slt;
mod sqlx;
mod transactions;
mod wire;

use mysql_async::{Conn, OptsBuilder};

use crate::support::Orbit;

/// A server with only the MySQL endpoint, plus `extra` flags.
pub(crate) fn start(dir: &std::path::Path, extra: &[&str]) -> Orbit {
    let mut args = crate::support::only("mysql");
    args.extend_from_slice(extra);
    Orbit::start(dir, &args)
}

/// The endpoint's address.
pub(crate) fn addr(server: &Orbit) -> std::net::SocketAddr {
    *server.endpoints.get("mysql").expect("the mysql endpoint is listening")
}

/// Connection options for `user` in database `db`.
pub(crate) fn opts(server: &Orbit, user: &str, db: Option<&str>) -> OptsBuilder {
    let a = addr(server);
    OptsBuilder::default().ip_or_hostname(a.ip().to_string()).tcp_port(a.port()).user(Some(user)).db_name(db)
}

/// Connects as root, in database `db` when given.
pub(crate) async fn connect(server: &Orbit, db: Option<&str>) -> Conn {
    Conn::new(opts(server, "root", db)).await.expect("connect")
}

/// The MySQL error code of a failed call.
pub(crate) fn code<T: std::fmt::Debug>(r: Result<T, mysql_async::Error>) -> u16 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(mysql_async::Error::Server(e)) => e.code,
        Err(e) => panic!("expected a server error, got {e}"),
    }
}
