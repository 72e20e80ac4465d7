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
