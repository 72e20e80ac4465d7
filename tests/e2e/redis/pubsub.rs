//! SUBSCRIBE, PSUBSCRIBE, PUBLISH and PUBSUB, in RESP2 and RESP3.

use futures::StreamExt;

use super::{connect, r, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscribe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let client = redis::Client::open(server.redis_url()).expect("client");
    let mut sub = client.get_async_pubsub().await.expect("pubsub");
    sub.subscribe("news").await.expect("subscribe");
    sub.psubscribe("sport.*").await.expect("psubscribe");
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "PUBSUB CHANNELS").await, "[\"news\"]");
    assert_eq!(r(&mut c, "PUBSUB CHANNELS n*").await, "[\"news\"]");
    assert_eq!(r(&mut c, "PUBSUB NUMSUB news other").await, "[\"news\", 1, \"other\", 0]");
    assert_eq!(r(&mut c, "PUBSUB NUMPAT").await, "1");
    assert_eq!(r(&mut c, "PUBLISH news hello").await, "1");
    assert_eq!(r(&mut c, "PUBLISH sport.tennis ace").await, "1");
    assert_eq!(r(&mut c, "PUBLISH nobody x").await, "0");
    let mut stream = sub.on_message();
    let m1 = stream.next().await.expect("message");
    assert_eq!((m1.get_channel_name(), m1.get_payload::<String>().expect("payload")), ("news", "hello".into()));
    let m2 = stream.next().await.expect("message");
    assert_eq!(m2.get_channel_name(), "sport.tennis");
    assert_eq!(m2.get_pattern::<String>().expect("pattern"), "sport.*");
    drop(stream);
    sub.unsubscribe("news").await.expect("unsubscribe");
    assert_eq!(r(&mut c, "PUBLISH news again").await, "0");
}

/// Sends `send` and checks the reply bytes are exactly `want`.
async fn expect(s: &mut tokio::net::TcpStream, send: &str, want: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(send.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    while got.len() < want.len() {
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("reply in time")
            .expect("read");
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_connections_speak_the_pubsub_protocol() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut s = tokio::net::TcpStream::connect(server.redis()).await.expect("connect");
    expect(&mut s, "SUBSCRIBE ch\r\n", "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n").await;
    expect(&mut s, "GET k\r\n", "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n").await;
    expect(&mut s, "PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n").await;
    expect(&mut s, "UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n").await;
    expect(&mut s, "GET k\r\n", "$-1\r\n").await;
    // RESP3: confirmations and messages are push frames, and any command works.
    s.write_all(b"HELLO 3\r\n").await.expect("write");
    let mut hello = Vec::new();
    while !hello.ends_with(b"$7\r\nmodules\r\n*0\r\n") {
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed");
        hello.extend_from_slice(&buf[..n]);
    }
    assert!(hello.starts_with(b"%7\r\n"));
    expect(&mut s, "SUBSCRIBE ch\r\n", ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n").await;
    expect(&mut s, "GET k\r\n", "_\r\n").await;
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "PUBLISH ch hi").await, "1");
    let mut got = Vec::new();
    let want = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    while got.len() < want.len() {
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.expect("read");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), want);
}
