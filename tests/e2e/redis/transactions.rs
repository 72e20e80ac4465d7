//! MULTI / EXEC / DISCARD / WATCH.

use redis::Value;

use super::{connect, r, show, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_exec_watch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    let mut other = connect(&server, false).await;

    // Queued replies, then one array of results.
    let (q1, q2, q3, q4): (String, String, String, String) =
        (r(&mut c, "MULTI").await, r(&mut c, "SET a 1").await, r(&mut c, "INCR a").await, r(&mut c, "GET a").await);
    assert_eq!((q1.as_str(), q2.as_str(), q3.as_str(), q4.as_str()), ("OK", "QUEUED", "QUEUED", "QUEUED"));
    assert_eq!(r(&mut c, "EXEC").await, "[OK, 2, \"2\"]");
    assert_eq!(r(&mut c, "EXEC").await, "ERR: EXEC without MULTI");
    assert_eq!(r(&mut c, "DISCARD").await, "ERR: DISCARD without MULTI");

    // (A runtime error inside EXEC is checked on the wire in raw.rs.)

    // A queuing error aborts the whole block.
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "SET never 1").await, "QUEUED");
    assert_eq!(r(&mut c, "NOSUCHCMD x").await, "ERR: unknown command 'NOSUCHCMD', with args beginning with: 'x' ");
    assert_eq!(r(&mut c, "GET").await, "ERR: wrong number of arguments for 'get' command");
    assert_eq!(r(&mut c, "MULTI").await, "ERR: MULTI calls can not be nested");
    assert_eq!(r(&mut c, "EXEC").await, "EXECABORT: Transaction discarded because of previous errors.");
    assert_eq!(r(&mut c, "GET never").await, "nil");

    // DISCARD drops the queue.
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "SET dropped 1").await, "QUEUED");
    assert_eq!(r(&mut c, "DISCARD").await, "OK");
    assert_eq!(r(&mut c, "GET dropped").await, "nil");

    // WATCH: a key changed by another client makes EXEC return nil.
    assert_eq!(r(&mut c, "SET w 1").await, "OK");
    assert_eq!(r(&mut c, "WATCH w").await, "OK");
    assert_eq!(r(&mut other, "SET w 2").await, "OK");
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "SET w 3").await, "QUEUED");
    let aborted: Value = redis::cmd("EXEC").query_async(&mut c).await.expect("exec");
    assert_eq!(show(&aborted), "nil");
    assert_eq!(r(&mut c, "GET w").await, "\"2\"");
    // Untouched watched keys let EXEC through; UNWATCH forgets them.
    assert_eq!(r(&mut c, "WATCH w").await, "OK");
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "WATCH w").await, "ERR: WATCH inside MULTI is not allowed");
    assert_eq!(r(&mut c, "SET w 4").await, "QUEUED");
    assert_eq!(r(&mut c, "EXEC").await, "[OK]");
    assert_eq!(r(&mut c, "WATCH w").await, "OK");
    assert_eq!(r(&mut other, "SET w 5").await, "OK");
    assert_eq!(r(&mut c, "UNWATCH").await, "OK");
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "GET w").await, "QUEUED");
    assert_eq!(r(&mut c, "EXEC").await, "[\"5\"]");
    // A watched key that expires counts as changed.
    assert_eq!(r(&mut c, "SET e v PX 50").await, "OK");
    assert_eq!(r(&mut c, "WATCH e").await, "OK");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "SET x 1").await, "QUEUED");
    assert_eq!(r(&mut c, "EXEC").await, "nil");
    // SELECT inside MULTI takes effect for the rest of the block and after.
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "SELECT 3").await, "QUEUED");
    assert_eq!(r(&mut c, "SET in3 yes").await, "QUEUED");
    assert_eq!(r(&mut c, "EXEC").await, "[OK, OK]");
    assert_eq!(r(&mut c, "GET in3").await, "\"yes\"");
    // Blocking commands inside MULTI answer at once.
    assert_eq!(r(&mut c, "MULTI").await, "OK");
    assert_eq!(r(&mut c, "BLPOP nothing 5").await, "QUEUED");
    assert_eq!(r(&mut c, "EXEC").await, "[nil]");
}
