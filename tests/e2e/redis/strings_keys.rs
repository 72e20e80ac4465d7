//! Strings, generic key commands, expiry and SCAN.

use std::time::Duration;

use super::{connect, r, rv, start};

/// A TTL reply as a number. TTL rounds to the nearest second, and on a
/// loaded machine more than half a second may pass between setting an
/// expiry and reading it, so tests accept one second less.
fn ttl(reply: String) -> i64 {
    reply.parse().expect("ttl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "SET k v").await, "OK");
    assert_eq!(r(&mut c, "GET k").await, "\"v\"");
    assert_eq!(r(&mut c, "GET missing").await, "nil");
    assert_eq!(r(&mut c, "SET k v2 NX").await, "nil");
    assert_eq!(r(&mut c, "SET k v2 XX GET").await, "\"v\"");
    assert_eq!(r(&mut c, "SET new v XX").await, "nil");
    assert_eq!(r(&mut c, "SET k v3 NX XX").await, "ERR: syntax error");
    assert_eq!(r(&mut c, "SET k v EX 0").await, "ERR: invalid expire time in 'set' command");
    assert_eq!(r(&mut c, "SET k v EX 100").await, "OK");
    assert!((99..=100).contains(&ttl(r(&mut c, "TTL k").await)));
    assert_eq!(r(&mut c, "SET k v4 KEEPTTL").await, "OK");
    assert!((98..=100).contains(&ttl(r(&mut c, "TTL k").await)));
    assert_eq!(r(&mut c, "SET k v5").await, "OK");
    assert_eq!(r(&mut c, "TTL k").await, "-1");
    assert_eq!(r(&mut c, "SET k v PX 100000").await, "OK");
    assert!(r(&mut c, "PTTL k").await.parse::<i64>().expect("pttl") > 99_000);
    assert_eq!(r(&mut c, "SET k v EXAT 4102444800").await, "OK");
    assert_eq!(r(&mut c, "EXPIRETIME k").await, "4102444800");
    assert_eq!(r(&mut c, "SET k v PXAT 4102444800000").await, "OK");
    assert_eq!(r(&mut c, "PEXPIRETIME k").await, "4102444800000");
    assert_eq!(r(&mut c, "SETNX k x").await, "0");
    assert_eq!(r(&mut c, "SETNX k2 x").await, "1");
    assert_eq!(r(&mut c, "SETEX se 10 v").await, "OK");
    assert!((9..=10).contains(&ttl(r(&mut c, "TTL se").await)));
    assert_eq!(r(&mut c, "PSETEX pse 10000 v").await, "OK");
    assert_eq!(r(&mut c, "SETEX se -1 v").await, "ERR: invalid expire time in 'setex' command");
    assert_eq!(r(&mut c, "GETSET k2 y").await, "\"x\"");
    assert_eq!(r(&mut c, "GETDEL k2").await, "\"y\"");
    assert_eq!(r(&mut c, "GETDEL k2").await, "nil");
    assert_eq!(r(&mut c, "SET g v").await, "OK");
    assert_eq!(r(&mut c, "GETEX g EX 50").await, "\"v\"");
    assert!((49..=50).contains(&ttl(r(&mut c, "TTL g").await)));
    assert_eq!(r(&mut c, "GETEX g PERSIST").await, "\"v\"");
    assert_eq!(r(&mut c, "TTL g").await, "-1");
    assert_eq!(r(&mut c, "MSET a 1 b 2 c 3").await, "OK");
    assert_eq!(r(&mut c, "MGET a b nope c").await, "[\"1\", \"2\", nil, \"3\"]");
    assert_eq!(r(&mut c, "MSETNX a 9 z 9").await, "0");
    assert_eq!(r(&mut c, "GET z").await, "nil");
    assert_eq!(r(&mut c, "MSETNX y 1 z 1").await, "1");
    assert_eq!(r(&mut c, "MSET a").await, "ERR: wrong number of arguments for 'mset' command");
    assert_eq!(r(&mut c, "INCR counter").await, "1");
    assert_eq!(r(&mut c, "INCRBY counter 10").await, "11");
    assert_eq!(r(&mut c, "DECR counter").await, "10");
    assert_eq!(r(&mut c, "DECRBY counter 3").await, "7");
    assert_eq!(r(&mut c, "INCR k").await, "ERR: value is not an integer or out of range");
    assert_eq!(r(&mut c, "SET big 9223372036854775807").await, "OK");
    assert_eq!(r(&mut c, "INCR big").await, "ERR: increment or decrement would overflow");
    assert_eq!(r(&mut c, "INCRBYFLOAT f 10.5").await, "\"10.5\"");
    assert_eq!(r(&mut c, "INCRBYFLOAT f 0.1").await, "\"10.6\"");
    assert_eq!(r(&mut c, "INCRBYFLOAT f -5.6").await, "\"5\"");
    assert_eq!(r(&mut c, "INCRBYFLOAT f abc").await, "ERR: value is not a valid float");
    assert_eq!(r(&mut c, "APPEND s Hello").await, "5");
    assert_eq!(r(&mut c, "APPEND s World").await, "10");
    assert_eq!(r(&mut c, "STRLEN s").await, "10");
    assert_eq!(r(&mut c, "STRLEN nope").await, "0");
    assert_eq!(r(&mut c, "GETRANGE s 0 4").await, "\"Hello\"");
    assert_eq!(r(&mut c, "GETRANGE s -5 -1").await, "\"World\"");
    assert_eq!(r(&mut c, "GETRANGE s 5 100").await, "\"World\"");
    assert_eq!(r(&mut c, "GETRANGE s 8 2").await, "\"\"");
    assert_eq!(r(&mut c, "SETRANGE s 5 Redis").await, "10");
    assert_eq!(r(&mut c, "GET s").await, "\"HelloRedis\"");
    assert_eq!(r(&mut c, "SETRANGE pad 3 x").await, "4");
    assert_eq!(rv(&mut c, &["GET", "pad"]).await, "\"\u{0}\u{0}\u{0}x\"");
    assert_eq!(r(&mut c, "SETRANGE s -1 x").await, "ERR: offset is out of range");
    // Binary-safe values.
    let mut raw = redis::cmd("SET");
    raw.arg("bin").arg(&[0u8, 255, 10, 13][..]);
    let _: () = raw.query_async(&mut c).await.expect("set binary");
    let back: Vec<u8> = redis::cmd("GET").arg("bin").query_async(&mut c).await.expect("get binary");
    assert_eq!(back, vec![0u8, 255, 10, 13]);
    // A string command on a hash is a type error.
    assert_eq!(r(&mut c, "HSET h f v").await, "1");
    assert_eq!(r(&mut c, "GET h").await, "WRONGTYPE: Operation against a key holding the wrong kind of value");
    assert_eq!(r(&mut c, "APPEND h x").await, "WRONGTYPE: Operation against a key holding the wrong kind of value");
    assert_eq!(r(&mut c, "SET h plain").await, "OK", "SET replaces any type");
    assert_eq!(r(&mut c, "TYPE h").await, "string");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "MSET a 1 b 2 c 3").await, "OK");
    assert_eq!(r(&mut c, "RPUSH list x y").await, "2");
    assert_eq!(r(&mut c, "EXISTS a b nope a").await, "3");
    assert_eq!(r(&mut c, "TOUCH a nope").await, "1");
    assert_eq!(r(&mut c, "TYPE list").await, "list");
    assert_eq!(r(&mut c, "TYPE nope").await, "none");
    assert_eq!(r(&mut c, "DEL a nope").await, "1");
    assert_eq!(r(&mut c, "UNLINK b").await, "1");
    assert_eq!(r(&mut c, "RENAME c d").await, "OK");
    assert_eq!(r(&mut c, "GET d").await, "\"3\"");
    assert_eq!(r(&mut c, "RENAME nope x").await, "ERR: no such key");
    assert_eq!(r(&mut c, "RENAME list list2").await, "OK");
    assert_eq!(r(&mut c, "LRANGE list2 0 -1").await, "[\"x\", \"y\"]");
    assert_eq!(r(&mut c, "SET e 5").await, "OK");
    assert_eq!(r(&mut c, "RENAMENX d e").await, "0");
    assert_eq!(r(&mut c, "RENAMENX d f").await, "1");
    assert_eq!(r(&mut c, "COPY f g").await, "1");
    assert_eq!(r(&mut c, "COPY f g").await, "0");
    assert_eq!(r(&mut c, "COPY e g REPLACE").await, "1");
    assert_eq!(r(&mut c, "GET g").await, "\"5\"");
    assert_eq!(r(&mut c, "COPY list2 list3 DB 1").await, "1");
    assert_eq!(r(&mut c, "MOVE g 1").await, "1");
    assert_eq!(r(&mut c, "MOVE g 1").await, "0");
    assert_eq!(r(&mut c, "MOVE e 99").await, "ERR: DB index is out of range");
    assert_eq!(r(&mut c, "SELECT 1").await, "OK");
    assert_eq!(r(&mut c, "GET g").await, "\"5\"");
    assert_eq!(r(&mut c, "LRANGE list3 0 -1").await, "[\"x\", \"y\"]");
    assert_eq!(r(&mut c, "DBSIZE").await, "2");
    assert_eq!(r(&mut c, "SELECT 0").await, "OK");
    let keys = r(&mut c, "KEYS *").await;
    assert_eq!(keys, "[\"e\", \"f\", \"list2\"]");
    assert_eq!(r(&mut c, "KEYS l*").await, "[\"list2\"]");
    assert!(["\"e\"", "\"f\"", "\"list2\""].contains(&r(&mut c, "RANDOMKEY").await.as_str()));
    assert_eq!(r(&mut c, "SET n 12345").await, "OK");
    assert_eq!(r(&mut c, "OBJECT ENCODING n").await, "\"int\"");
    assert_eq!(r(&mut c, "OBJECT ENCODING e").await, "\"int\"");
    assert_eq!(r(&mut c, "SET s hello").await, "OK");
    assert_eq!(r(&mut c, "OBJECT ENCODING s").await, "\"embstr\"");
    assert_eq!(r(&mut c, "OBJECT ENCODING list2").await, "\"listpack\"");
    assert_eq!(r(&mut c, "OBJECT ENCODING nope").await, "nil");

    // Expiry with every condition flag.
    assert_eq!(r(&mut c, "EXPIRE s 100").await, "1");
    assert_eq!(r(&mut c, "EXPIRE s 200 NX").await, "0");
    assert_eq!(r(&mut c, "EXPIRE s 200 XX").await, "1");
    assert_eq!(r(&mut c, "EXPIRE s 100 GT").await, "0");
    assert_eq!(r(&mut c, "EXPIRE s 300 GT").await, "1");
    assert_eq!(r(&mut c, "EXPIRE s 400 LT").await, "0");
    assert_eq!(r(&mut c, "EXPIRE s 50 LT").await, "1");
    assert!((49..=50).contains(&ttl(r(&mut c, "TTL s").await)));
    assert_eq!(r(&mut c, "EXPIRE n 10 XX").await, "0");
    assert_eq!(r(&mut c, "EXPIRE n 10 GT").await, "0", "no expiry counts as infinite");
    assert_eq!(r(&mut c, "EXPIRE n 10 LT").await, "1");
    assert_eq!(
        r(&mut c, "EXPIRE n 10 NX XX").await,
        "ERR: NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(r(&mut c, "EXPIRE n 10 GT LT").await, "ERR: GT and LT options at the same time are not compatible");
    assert_eq!(r(&mut c, "EXPIRE nope 10").await, "0");
    assert_eq!(r(&mut c, "PEXPIRE n 5000").await, "1");
    assert!(r(&mut c, "PTTL n").await.parse::<i64>().expect("pttl") <= 5000);
    assert_eq!(r(&mut c, "EXPIREAT n 4102444800").await, "1");
    assert_eq!(r(&mut c, "EXPIRETIME n").await, "4102444800");
    assert_eq!(r(&mut c, "PEXPIREAT n 4102444800123").await, "1");
    assert_eq!(r(&mut c, "PEXPIRETIME n").await, "4102444800123");
    assert_eq!(r(&mut c, "PERSIST n").await, "1");
    assert_eq!(r(&mut c, "PERSIST n").await, "0");
    assert_eq!(r(&mut c, "TTL n").await, "-1");
    assert_eq!(r(&mut c, "TTL nope").await, "-2");
    assert_eq!(r(&mut c, "PTTL nope").await, "-2");
    assert_eq!(r(&mut c, "EXPIRETIME n").await, "-1");
    // An expired key is gone at once, for every command.
    assert_eq!(r(&mut c, "SET short v PX 50").await, "OK");
    assert_eq!(r(&mut c, "HSET shorthash f v").await, "1");
    assert_eq!(r(&mut c, "PEXPIRE shorthash 50").await, "1");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(r(&mut c, "GET short").await, "nil");
    assert_eq!(r(&mut c, "EXISTS short shorthash").await, "0");
    assert_eq!(r(&mut c, "HGET shorthash f").await, "nil");
    assert_eq!(r(&mut c, "EXPIRE s -1").await, "1");
    assert_eq!(r(&mut c, "GET s").await, "nil", "a past expiry deletes");
    // Active expiry removes keys nobody reads: DBSIZE falls.
    assert_eq!(r(&mut c, "FLUSHDB").await, "OK");
    for i in 0..20 {
        assert_eq!(rv(&mut c, &["SET", &format!("t{i}"), "v"]).await, "OK");
    }
    assert_eq!(r(&mut c, "DBSIZE").await, "20");
    for i in 0..20 {
        assert_eq!(rv(&mut c, &["PEXPIRE", &format!("t{i}"), "30"]).await, "1");
    }
    let mut left = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = r(&mut c, "DBSIZE").await;
        if left == "0" {
            break;
        }
    }
    assert_eq!(left, "0", "expired keys are reclaimed in the background");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_is_stable_across_concurrent_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    let mut writer = connect(&server, false).await;
    for i in 0..500 {
        assert_eq!(rv(&mut c, &["SET", &format!("key:{i:03}"), "v"]).await, "OK");
    }
    assert_eq!(r(&mut c, "SADD aset x").await, "1");
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let reply: (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("MATCH")
            .arg("key:*")
            .arg("COUNT")
            .arg(37)
            .query_async(&mut c)
            .await
            .expect("scan");
        for k in reply.1 {
            assert!(seen.insert(k), "a key came back twice");
        }
        // Keys added and removed during the scan must not disturb it.
        let _: () =
            redis::cmd("SET").arg(format!("new:{rounds}")).arg("v").query_async(&mut writer).await.expect("set");
        let _: () =
            redis::cmd("DEL").arg(format!("new:{}", rounds.max(1) - 1)).query_async(&mut writer).await.expect("del");
        rounds += 1;
        cursor = reply.0;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500, "every key present throughout was returned exactly once");
    assert!(rounds > 5);
    let typed: (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("set")
        .arg("COUNT")
        .arg(10_000)
        .query_async(&mut c)
        .await
        .expect("scan");
    assert_eq!(typed.1, vec!["aset".to_string()]);
    assert_eq!(r(&mut c, "SCAN 123456789").await, "ERR: invalid cursor");
}
