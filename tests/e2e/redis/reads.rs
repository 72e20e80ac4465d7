//! Point reads, which connections serve from their own snapshot instead of
//! the engine thread: they must still see every acknowledged write, keep a
//! pipeline's order, and show up in INFO.

use std::time::Duration;

use redis::Value;

use super::{connect, r, show, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_see_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;

    // In one pipeline, each read sees the writes queued before it.
    let mut p = redis::pipe();
    p.cmd("SET").arg("a").arg("1").cmd("GET").arg("a").cmd("SET").arg("a").arg("2").cmd("GET").arg("a");
    p.cmd("INCR").arg("a").cmd("GET").arg("a").cmd("STRLEN").arg("a").cmd("DEL").arg("a").cmd("EXISTS").arg("a");
    let replies: Vec<Value> = p.query_async(&mut c).await.expect("pipeline");
    let shown: Vec<String> = replies.iter().map(show).collect();
    assert_eq!(shown, ["OK", "\"1\"", "OK", "\"2\"", "3", "\"3\"", "1", "1", "0"]);

    // A reader on another connection never goes back in time, and sees the
    // last write once it has been acknowledged.
    const WRITES: i64 = 500;
    let mut writer = connect(&server, false).await;
    let mut reader = connect(&server, false).await;
    let writes = tokio::spawn(async move {
        for _ in 0..WRITES {
            assert!(r(&mut writer, "INCR ctr").await.parse::<i64>().is_ok());
        }
    });
    let mut last = 0;
    while !writes.is_finished() {
        let v: Option<i64> = redis::cmd("GET").arg("ctr").query_async(&mut reader).await.expect("get");
        let v = v.unwrap_or(0);
        assert!(v >= last, "read {v} after {last}");
        last = v;
    }
    writes.await.expect("writer");
    assert_eq!(r(&mut reader, "GET ctr").await, format!("\"{WRITES}\""));

    // Reads of other types, and type errors, on the same path.
    assert_eq!(r(&mut c, "HSET h f v").await, "1");
    assert_eq!(r(&mut c, "HGET h f").await, "\"v\"");
    assert_eq!(r(&mut c, "HLEN h").await, "1");
    assert_eq!(r(&mut c, "GET h").await, "WRONGTYPE: Operation against a key holding the wrong kind of value");
    assert_eq!(r(&mut c, "RPUSH l x y").await, "2");
    assert_eq!(r(&mut c, "LINDEX l -1").await, "\"y\"");
    assert_eq!(r(&mut c, "ZADD z 1.5 m").await, "1");
    assert_eq!(r(&mut c, "ZSCORE z m").await, "\"1.5\"");
    assert_eq!(r(&mut c, "SADD s m").await, "1");
    assert_eq!(r(&mut c, "SISMEMBER s m").await, "1");

    // A key past its expiry reads as gone before the engine deletes it.
    assert_eq!(r(&mut c, "SET short v PX 50").await, "OK");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(r(&mut c, "GET short").await, "nil");
    assert_eq!(r(&mut c, "TTL short").await, "-2");
    assert_eq!(r(&mut c, "EXISTS short").await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_reads_are_counted_in_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "SET k v").await, "OK");
    assert_eq!(r(&mut c, "CONFIG RESETSTAT").await, "OK");
    assert_eq!(r(&mut c, "GET k").await, "\"v\"");
    assert_eq!(r(&mut c, "GET k").await, "\"v\"");
    assert_eq!(r(&mut c, "GET missing").await, "nil");
    // The counts of a connection's reads reach INFO whichever connection asks.
    let mut other = connect(&server, false).await;
    let info: String = redis::cmd("INFO").arg("everything").query_async(&mut other).await.expect("info");
    assert!(info.contains("keyspace_hits:2\r\n"), "{info}");
    assert!(info.contains("keyspace_misses:1\r\n"), "{info}");
    assert!(info.contains("cmdstat_get:calls=3,"), "{info}");
}
