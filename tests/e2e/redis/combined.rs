//! Writes that connections run on the engine themselves (inline, and under
//! load combined into one storage write per scheduler turn) keep Redis'
//! guarantees: no lost update, each command atomic, blocked clients woken,
//! MULTI/EXEC blocks never interleaved.

use redis::Value;

use super::{connect, r, show, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inline_writes_keep_redis_semantics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    const CLIENTS: i64 = 16;
    const ROUNDS: i64 = 200;

    // A client blocked before the storm is woken by one of its pushes.
    let mut blocked = connect(&server, false).await;
    let waiter = tokio::spawn(async move { r(&mut blocked, "BLPOP wake 10").await });

    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let mut con = connect(&server, false).await;
        tasks.push(tokio::spawn(async move {
            for i in 0..ROUNDS {
                assert!(r(&mut con, "INCR counter").await.parse::<i64>().is_ok());
                assert_eq!(r(&mut con, &format!("MSET pair:a {c}-{i} pair:b {c}-{i}")).await, "OK");
                // Both halves of an MSET are always seen together.
                let v: Vec<Value> =
                    redis::cmd("MGET").arg("pair:a").arg("pair:b").query_async(&mut con).await.expect("mget");
                assert_eq!(show(&v[0]), show(&v[1]), "MSET seen half done");
                // A transfer in MULTI/EXEC among the inline INCRs.
                let mut p = redis::pipe();
                p.atomic().cmd("DECRBY").arg("from").arg(1).cmd("INCRBY").arg("to").arg(1);
                let _: Vec<i64> = p.query_async(&mut con).await.expect("exec");
                if c == 0 && i == ROUNDS / 2 {
                    assert_eq!(r(&mut con, "RPUSH wake x").await, "1");
                }
                // Pipelines of several commands run inline too.
                let mut p = redis::pipe();
                p.cmd("HINCRBY").arg("h").arg("f").arg(1).cmd("SADD").arg("s").arg(format!("{c}:{i}"));
                let _: (i64, i64) = p.query_async(&mut con).await.expect("pipeline");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    assert_eq!(waiter.await.expect("waiter"), "[\"wake\", \"x\"]");
    let mut c = connect(&server, false).await;
    let total = CLIENTS * ROUNDS;
    assert_eq!(r(&mut c, "GET counter").await, format!("\"{total}\""));
    assert_eq!(r(&mut c, "HGET h f").await, format!("\"{total}\""));
    assert_eq!(r(&mut c, "SCARD s").await, total.to_string());
    assert_eq!(r(&mut c, "GET from").await, format!("\"{}\"", -total));
    assert_eq!(r(&mut c, "GET to").await, format!("\"{total}\""));
}

/// Point reads through the shared read cache: a value a writer has been
/// told is written is what any other client reads next, and a collection
/// recreated under a reader never shows a field of the wrong incarnation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_follow_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut writer = connect(&server, false).await;
    let mut reader = connect(&server, false).await;
    for i in 0..300 {
        assert_eq!(r(&mut writer, &format!("SET k {i}")).await, "OK");
        // Read twice: the first read may fill the cache, the second hits it.
        for _ in 0..2 {
            assert_eq!(r(&mut reader, "GET k").await, format!("\"{i}\""));
        }
        assert_eq!(r(&mut writer, &format!("HSET h f{i} {i}")).await, "1");
        assert_eq!(r(&mut reader, &format!("HGET h f{i}")).await, format!("\"{i}\""));
        assert_eq!(r(&mut reader, "HLEN h").await, "1", "the old incarnation's fields are gone");
        assert_eq!(r(&mut writer, "DEL h").await, "1");
        assert_eq!(r(&mut reader, &format!("HGET h f{i}")).await, "nil");
    }

    // Concurrent: a reader's values never go back, and end at the last write.
    let mut reader2 = connect(&server, false).await;
    let writes = tokio::spawn(async move {
        for i in 0..2000 {
            let mut p = redis::pipe();
            p.cmd("DEL").arg("c").cmd("HSET").arg("c").arg("f").arg(i).cmd("SET").arg("n").arg(i);
            let _: (i64, i64, String) = p.query_async(&mut writer).await.expect("write");
        }
    });
    let mut last = -1i64;
    while !writes.is_finished() {
        let mut p = redis::pipe();
        p.cmd("GET").arg("n").cmd("HGET").arg("c").arg("f");
        let (n, f): (Option<i64>, Option<i64>) = p.query_async(&mut reader2).await.expect("read");
        let n = n.unwrap_or(-1);
        assert!(n >= last, "GET went back from {last} to {n}");
        if let Some(f) = f {
            assert!(f >= last, "HGET {f} is older than a GET before it ({last})");
        }
        last = n;
    }
    writes.await.expect("writer");
    assert_eq!(r(&mut reader2, "GET n").await, "\"1999\"");
    assert_eq!(r(&mut reader2, "HGET c f").await, "\"1999\"");
}
