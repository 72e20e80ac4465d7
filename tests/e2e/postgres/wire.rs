//! The wire protocol at the message level, where client libraries hide it:
//! replies are buffered until the client waits for them, so these check that
//! whatever a client waits for does arrive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{addr, start};

/// A frontend message: type byte, length, body.
fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Reads backend messages until one of type `until`; returns the types seen.
fn read_until(s: &mut TcpStream, until: u8) -> Vec<u8> {
    let mut seen = Vec::new();
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).expect("a reply before the timeout");
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).expect("a whole message");
        seen.push(head[0]);
        if head[0] == until {
            return seen;
        }
    }
}

fn connect_raw(server: &crate::support::Orbit) -> TcpStream {
    let mut s = TcpStream::connect(addr(server)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for part in ["user", "postgres", "database", "postgres"] {
        body.extend(cstr(part));
    }
    body.push(0);
    let mut startup = (body.len() as u32 + 4).to_be_bytes().to_vec();
    startup.extend(body);
    s.write_all(&startup).expect("startup");
    read_until(&mut s, b'Z');
    s
}

#[test]
fn flush_without_sync_delivers_the_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut s = connect_raw(&server);

    // Parse, Bind, Execute and Flush, with no Sync: the client now waits.
    let mut parse = cstr("");
    parse.extend(cstr("SELECT 41 + 1"));
    parse.extend(0u16.to_be_bytes());
    let mut bind = cstr("");
    bind.extend(cstr(""));
    bind.extend([0u8; 6]); // no formats, no parameters, no result formats
    let mut execute = cstr("");
    execute.extend(0u32.to_be_bytes());
    let mut out = msg(b'P', &parse);
    out.extend(msg(b'B', &bind));
    out.extend(msg(b'E', &execute));
    out.extend(msg(b'H', &[]));
    s.write_all(&out).expect("send");
    assert_eq!(read_until(&mut s, b'C'), vec![b'1', b'2', b'D', b'C']);

    s.write_all(&msg(b'S', &[])).expect("sync");
    assert_eq!(read_until(&mut s, b'Z'), vec![b'Z']);
}

#[test]
fn pipelined_queries_and_big_results_all_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut s = connect_raw(&server);

    // Three queries in one write: three answers, in order.
    let mut out = Vec::new();
    for q in ["SELECT 1", "SELECT nope", "SELECT 3"] {
        out.extend(msg(b'Q', &cstr(q)));
    }
    s.write_all(&out).expect("send");
    assert_eq!(read_until(&mut s, b'Z'), vec![b'T', b'D', b'C', b'Z']);
    assert_eq!(read_until(&mut s, b'Z'), vec![b'E', b'Z']);
    assert_eq!(read_until(&mut s, b'Z'), vec![b'T', b'D', b'C', b'Z']);

    // A result far bigger than the reply buffer.
    s.write_all(&msg(b'Q', &cstr("SELECT g, repeat('x', 100) FROM generate_series(1, 20000) AS g"))).expect("send");
    let seen = read_until(&mut s, b'Z');
    assert_eq!(seen.iter().filter(|&&t| t == b'D').count(), 20_000);
    assert_eq!(seen.last(), Some(&b'Z'));
}

/// An answer goes out at the end of its cycle (ReadyForQuery), even when
/// the next pipelined statement then waits on a row lock: a client may
/// need the first answer to release that lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answer_goes_out_while_the_next_statement_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let holder = super::connect(&server).await;
    holder
        .batch_execute("CREATE TABLE w (id INT PRIMARY KEY, v INT); INSERT INTO w VALUES (1, 0)")
        .await
        .expect("setup");
    holder.batch_execute("BEGIN; UPDATE w SET v = 1 WHERE id = 1").await.expect("lock the row");

    let mut s = connect_raw(&server);
    let mut out = msg(b'Q', &cstr("SELECT 1"));
    out.extend(msg(b'Q', &cstr("UPDATE w SET v = v + 10 WHERE id = 1")));
    s.write_all(&out).expect("send");
    let first = tokio::task::spawn_blocking(move || {
        let seen = read_until(&mut s, b'Z');
        (s, seen)
    });
    let (mut s, seen) = first.await.expect("reader");
    assert_eq!(seen, vec![b'T', b'D', b'C', b'Z']);

    holder.batch_execute("COMMIT").await.expect("release the row");
    let rest = tokio::task::spawn_blocking(move || read_until(&mut s, b'Z')).await.expect("reader");
    assert_eq!(rest, vec![b'C', b'Z']);
    let v: i32 = holder.query_one("SELECT v FROM w WHERE id = 1", &[]).await.expect("read").get(0);
    assert_eq!(v, 11);
}
