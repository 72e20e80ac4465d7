//! The wire itself: exact error lines, inline commands, pipelining, protocol
//! errors and request limits, over a plain socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::start;

struct Raw(TcpStream);

impl Raw {
    fn connect(addr: std::net::SocketAddr) -> Self {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Raw(s)
    }

    /// Sends bytes and reads exactly `want.len()` bytes back, comparing.
    fn exchange(&mut self, send: &[u8], want: &str) {
        self.0.write_all(send).expect("write");
        let mut got = vec![0u8; want.len()];
        self.0.read_exact(&mut got).expect("read reply");
        assert_eq!(String::from_utf8_lossy(&got), want, "reply to {:?}", String::from_utf8_lossy(send));
    }

    /// Whether the server closed the connection.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.0.read(&mut b), Ok(0))
    }
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[test]
fn errors_use_redis_wording_and_the_connection_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = Raw::connect(server.redis());
    c.exchange(&resp(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
    c.exchange(&resp(&["FOO", "a", "b"]), "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    c.exchange(&resp(&["SET", "k", "v"]), "+OK\r\n");
    c.exchange(&resp(&["LPUSH", "k", "x"]), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    c.exchange(&resp(&["INCR", "k"]), "-ERR value is not an integer or out of range\r\n");
    c.exchange(&resp(&["SET", "k", "v", "BOGUS"]), "-ERR syntax error\r\n");
    c.exchange(&resp(&["GET", "k"]), "$1\r\nv\r\n");
    // Inline commands, as telnet and redis-cli raw mode send them.
    c.exchange(b"PING\r\n", "+PONG\r\n");
    c.exchange(b"SET inline \"two words\"\r\n", "+OK\r\n");
    c.exchange(b"GET inline\n", "$9\r\ntwo words\r\n");
    c.exchange(b"\r\n", "");
    c.exchange(b"EXISTS inline missing\r\n", ":1\r\n");
    // A deep pipeline comes back complete and in order.
    let mut pipeline = Vec::new();
    let mut want = String::new();
    for i in 0..2000 {
        pipeline.extend(resp(&["INCR", "ctr"]));
        want.push_str(&format!(":{}\r\n", i + 1));
    }
    c.exchange(&pipeline, &want);
    // Nil and empty replies.
    c.exchange(&resp(&["GET", "nope"]), "$-1\r\n");
    c.exchange(&resp(&["LRANGE", "nope", "0", "-1"]), "*0\r\n");
    c.exchange(&resp(&["BLPOP", "nope", "0.01"]), "*-1\r\n");
    // A runtime error inside EXEC fails only that command. (Client crates
    // turn a nested error into an error for the whole reply, so look at
    // the wire.)
    c.exchange(&resp(&["MULTI"]), "+OK\r\n");
    c.exchange(&resp(&["SET", "s", "text"]), "+QUEUED\r\n");
    c.exchange(&resp(&["INCR", "s"]), "+QUEUED\r\n");
    c.exchange(&resp(&["SET", "t", "ok"]), "+QUEUED\r\n");
    c.exchange(&resp(&["EXEC"]), "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n");
    c.exchange(&resp(&["GET", "t"]), "$2\r\nok\r\n");
}

#[test]
fn malformed_frames_get_a_protocol_error_and_a_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = Raw::connect(server.redis());
    c.exchange(b"*1\r\n:5\r\n", "-ERR Protocol error: expected '$', got ':'\r\n");
    assert!(c.closed());
    let mut c = Raw::connect(server.redis());
    c.exchange(b"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    assert!(c.closed());
    let mut c = Raw::connect(server.redis());
    c.exchange(b"SET k \"unterminated\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(c.closed());
    // Other connections are unaffected.
    let mut ok = Raw::connect(server.redis());
    ok.exchange(b"PING\r\n", "+PONG\r\n");
}

#[test]
fn oversized_requests_are_refused_before_they_are_buffered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut admin = Raw::connect(server.redis());
    admin.exchange(&resp(&["CONFIG", "SET", "proto-max-bulk-len", "2048"]), "+OK\r\n");
    let mut c = Raw::connect(server.redis());
    // Announce a 1 GB bulk: refused at once, without waiting for the bytes.
    c.exchange(b"*2\r\n$3\r\nGET\r\n$1073741824\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    assert!(c.closed());
    let mut c = Raw::connect(server.redis());
    c.exchange(b"*2000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    assert!(c.closed());
    let mut c = Raw::connect(server.redis());
    let small = "x".repeat(2000);
    c.exchange(&resp(&["SET", "k", &small]), "+OK\r\n");
}

/// Arrays nested hundreds of thousands deep (after a large request grew the
/// read buffer) are refused from their headers: the server neither
/// recurses into them nor falls over.
#[test]
fn deeply_nested_arrays_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = Raw::connect(server.redis());
    let big = "v".repeat(1 << 20);
    c.exchange(&resp(&["SET", "big", &big]), "+OK\r\n");
    let deep = "*1\r\n".repeat(250_000);
    // The server answers and closes as soon as it sees the second header,
    // possibly while this is still being written: either way is fine.
    if c.0.write_all(deep.as_bytes()).is_ok() {
        let mut reply = String::new();
        let _ = c.0.read_to_string(&mut reply);
        assert!(reply.is_empty() || reply.starts_with("-ERR Protocol error: expected '$', got '*'"), "{reply}");
    }
    // The server is still up.
    let mut d = Raw::connect(server.redis());
    d.exchange(&resp(&["PING"]), "+PONG\r\n");
}
