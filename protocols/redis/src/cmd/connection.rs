//! Commands about the connection itself: handled by the connection, not the
//! engine (see `conn`), except where they can also run queued in MULTI.

use bytes::Bytes;

use super::keys::db_index;
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::error::{RedisError, Result};
use crate::reply::Reply;

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "ping",
        -1,
        ["fast", "stale"],
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        Exec::Engine(ping)
    ),
    spec!("echo", 2, ["fast"], (0, 0, 0), "connection", "1.0.0", "Returns the given string.", Exec::Engine(echo)),
    spec!(
        "select",
        2,
        ["loading", "stale", "fast"],
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Changes the selected database.",
        Exec::Engine(select)
    ),
    spec!(
        "hello",
        -1,
        ["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        Exec::Conn
    ),
    spec!(
        "auth",
        -2,
        ["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        Exec::Conn
    ),
    spec!(
        "quit",
        -1,
        ["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Closes the connection.",
        Exec::Conn
    ),
    spec!(
        "reset",
        1,
        ["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Resets the connection.",
        Exec::Conn
    ),
    spec!(
        "client",
        -2,
        ["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        Exec::Conn
    ),
    spec!(
        "multi",
        1,
        ["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        Exec::Conn
    ),
    spec!(
        "exec",
        1,
        ["noscript", "loading", "stale"],
        (0, 0, 0),
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        Exec::Conn
    ),
    spec!(
        "discard",
        1,
        ["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        Exec::Conn
    ),
    spec!(
        "watch",
        -2,
        ["noscript", "loading", "stale", "fast"],
        (1, -1, 1),
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        Exec::Conn
    ),
    spec!(
        "unwatch",
        1,
        ["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        Exec::Conn
    ),
    spec!(
        "subscribe",
        -2,
        ["pubsub", "noscript", "loading", "stale"],
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        Exec::Conn
    ),
    spec!(
        "unsubscribe",
        -1,
        ["pubsub", "noscript", "loading", "stale"],
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        Exec::Conn
    ),
    spec!(
        "psubscribe",
        -2,
        ["pubsub", "noscript", "loading", "stale"],
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        Exec::Conn
    ),
    spec!(
        "punsubscribe",
        -1,
        ["pubsub", "noscript", "loading", "stale"],
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        Exec::Conn
    ),
    spec!(
        "shutdown",
        -1,
        ["admin", "noscript", "loading", "stale", "no_multi"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        Exec::Conn
    ),
];

/// `PING [message]`
fn ping(_ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    match a {
        [] => Ok(Reply::Status("PONG")),
        [m] => Ok(Reply::Bulk(m.clone())),
        _ => Err(RedisError::wrong_arity("ping")),
    }
}

/// `ECHO message`
fn echo(_ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Bulk(a[0].clone()))
}

/// `SELECT index` queued in MULTI: the connection switches databases; here
/// it only answers.
fn select(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    db_index(ctx, &a[0])?;
    Ok(Reply::OK)
}
