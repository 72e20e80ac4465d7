//! Data written through the Redis endpoint survives SIGTERM and SIGKILL.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use nix::sys::signal::Signal;

use super::{connect, r, start};

async fn write_everything(c: &mut redis::aio::MultiplexedConnection) {
    assert_eq!(r(c, "SET str hello").await, "OK");
    assert_eq!(r(c, "SET ttl v PXAT 4102444800123").await, "OK");
    assert_eq!(r(c, "HSET hash f1 v1 f2 v2").await, "2");
    assert_eq!(r(c, "RPUSH list a b c").await, "3");
    assert_eq!(r(c, "LPUSH list z").await, "4");
    assert_eq!(r(c, "SADD set x y").await, "2");
    assert_eq!(r(c, "ZADD zset 1 one 2 two").await, "2");
    assert_eq!(r(c, "SELECT 3").await, "OK");
    assert_eq!(r(c, "SET in3 yes").await, "OK");
    assert_eq!(r(c, "SELECT 0").await, "OK");
    assert_eq!(r(c, "SET gone x").await, "OK");
    assert_eq!(r(c, "DEL gone").await, "1");
}

async fn check_everything(c: &mut redis::aio::MultiplexedConnection) {
    assert_eq!(r(c, "GET str").await, "\"hello\"");
    assert_eq!(r(c, "PEXPIRETIME ttl").await, "4102444800123", "the expiry survives as an absolute time");
    assert_eq!(r(c, "HGETALL hash").await, "[\"f1\", \"v1\", \"f2\", \"v2\"]");
    assert_eq!(r(c, "LRANGE list 0 -1").await, "[\"z\", \"a\", \"b\", \"c\"]");
    assert_eq!(r(c, "SMEMBERS set").await, "[\"x\", \"y\"]");
    assert_eq!(r(c, "ZRANGE zset 0 -1 WITHSCORES").await, "[\"one\", \"1\", \"two\", \"2\"]");
    assert_eq!(r(c, "GET gone").await, "nil");
    assert_eq!(r(c, "DBSIZE").await, "6");
    assert_eq!(r(c, "SELECT 3").await, "OK");
    assert_eq!(r(c, "GET in3").await, "\"yes\"");
    assert_eq!(r(c, "SELECT 0").await, "OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    write_everything(&mut c).await;
    drop(c);
    let (status, _) = server.stop_with(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0));

    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    check_everything(&mut c).await;
    assert_eq!(r(&mut c, "RPUSH list after-restart").await, "5");
    assert_eq!(r(&mut c, "SET short v EX 1000").await, "OK");
    drop(c);
    let (status, _) = server.stop_with(Signal::SIGKILL);
    assert!(!status.success());

    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "LINDEX list -1").await, "\"after-restart\"");
    let ttl: i64 = r(&mut c, "TTL short").await.parse().expect("ttl");
    assert!((990..=1000).contains(&ttl), "{ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let acked = Arc::new(AtomicI64::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut c = connect(&server, false).await;
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let res: redis::RedisResult<i64> =
                    redis::cmd("RPUSH").arg(format!("log{w}")).arg(i).query_async(&mut c).await;
                match res {
                    Ok(n) => {
                        assert_eq!(n, i + 1);
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => return i,
                }
            }
            unreachable!("the loop ends when the server dies")
        }));
    }
    while acked.load(Ordering::SeqCst) < 400 {
        assert!(!writers.iter().all(|w| w.is_finished()), "every writer failed before the server was killed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, _) = server.stop_with(Signal::SIGKILL);
    assert!(!status.success());
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.push(w.await.expect("writer"));
    }
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    for (w, n) in acknowledged.iter().enumerate() {
        let len: i64 = r(&mut c, &format!("LLEN log{w}")).await.parse().expect("len");
        assert!(len >= *n, "writer {w}: {n} pushes acknowledged, {len} survived");
        // Nothing is torn: the list holds 0..len in order.
        let items: Vec<i64> =
            redis::cmd("LRANGE").arg(format!("log{w}")).arg(0).arg(-1).query_async(&mut c).await.expect("lrange");
        assert_eq!(items, (0..len).collect::<Vec<_>>());
    }
}
