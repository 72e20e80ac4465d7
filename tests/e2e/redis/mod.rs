//! The Redis endpoint, driven by the `redis` crate, a raw socket, and the
//! real redis-cli / redis-benchmark.

mod collections;
mod combined;
mod compat;
mod connection;
mod persistence;
mod pubsub;
mod raw;
mod reads;
mod strings_keys;
mod tools;
mod transactions;

use redis::Value;
use redis::aio::MultiplexedConnection;

use crate::support::Orbit;

/// A connection to the server's Redis endpoint, in RESP2 or RESP3.
pub(crate) async fn connect(server: &Orbit, resp3: bool) -> MultiplexedConnection {
    let url = if resp3 { format!("{}?protocol=resp3", server.redis_url()) } else { server.redis_url() };
    connect_url(&url).await
}

/// A connection to a `redis://` URL (which may carry credentials).
pub(crate) async fn connect_url(url: &str) -> MultiplexedConnection {
    let client = redis::Client::open(url).expect("client");
    // The crate's default 500 ms response timeout would turn a slow fsync on
    // a loaded test machine into a spurious error; tests want the reply.
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(Some(std::time::Duration::from_secs(10)));
    client.get_multiplexed_async_connection_with_config(&config).await.expect("connect")
}

/// Renders a reply compactly: `"bar"`, `3`, `nil`, `[a, b]`, `{k: v}`,
/// `~[..]` for sets, `1.5` for doubles, `ERR: message` for errors.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(i) => i.to_string(),
        Value::BulkString(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Array(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
        Value::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(show).collect();
            parts.sort();
            format!("~[{}]", parts.join(", "))
        }
        Value::Map(pairs) => {
            format!(
                "{{{}}}",
                pairs.iter().map(|(k, v)| format!("{}: {}", show(k), show(v))).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Double(d) => format!("{d}"),
        Value::Boolean(b) => b.to_string(),
        Value::VerbatimString { text, .. } => format!("verbatim({text})"),
        Value::Push { kind, data } => {
            format!("push {kind:?} [{}]", data.iter().map(show).collect::<Vec<_>>().join(", "))
        }
        Value::ServerError(e) => format!("{}: {}", e.code(), e.details().unwrap_or_default()),
        other => format!("{other:?}"),
    }
}

/// Runs a command given as space-separated words and renders the reply.
pub(crate) async fn r(con: &mut MultiplexedConnection, line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    rv(con, &words).await
}

/// Runs a command given as separate arguments and renders the reply.
pub(crate) async fn rv(con: &mut MultiplexedConnection, words: &[&str]) -> String {
    let mut c = redis::cmd(words[0]);
    for w in &words[1..] {
        c.arg(*w);
    }
    match c.query_async::<Value>(con).await {
        Ok(v) => show(&v),
        Err(e) => match e.code() {
            Some(code) => format!("{code}: {}", e.detail().unwrap_or_default()),
            None => format!("client error: {e}"),
        },
    }
}

/// Starts a server with only the Redis endpoint open.
pub(crate) fn start(dir: &std::path::Path, extra: &[&str]) -> Orbit {
    let mut args = crate::support::only("redis");
    args.extend_from_slice(extra);
    Orbit::start(dir, &args)
}
