//! The real redis-cli and redis-benchmark against the endpoint. The README's
//! test command installs them; elsewhere these tests skip, saying so.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{connect, r, start};

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found {
        assert!(std::env::var_os("ORBIT_REQUIRE_TOOLS").is_none(), "{name} is required but missing");
        eprintln!("skipped: {name} is not installed");
    }
    found
}

fn cli(port: u16, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-p", &port.to_string()]).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("redis-cli");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_works() {
    if !tool("redis-cli") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let port = server.redis().port();
    assert_eq!(cli(port, &["SET", "k", "v"], None), (true, "OK\n".into()));
    assert_eq!(cli(port, &["GET", "k"], None), (true, "v\n".into()));
    // -e exits non-zero on an error reply.
    let (ok, out) = cli(port, &["-e", "INCR", "k"], None);
    assert!(!ok && out.contains("ERR value is not an integer or out of range"), "{out}");
    // Interactive-style input on stdin, errors included.
    let (ok, out) = cli(port, &[], Some("SET a 1\nBOGUS\nINCR a\nHGETALL nope\n"));
    assert!(ok, "{out}");
    assert!(out.contains("ERR unknown command 'BOGUS'") && out.contains("2"), "{out}");
    // --pipe mass insertion.
    let mut proto = String::new();
    for i in 0..1000 {
        proto.push_str(&format!("*3\r\n$3\r\nSET\r\n${}\r\nkey:{i}\r\n$1\r\nx\r\n", format!("key:{i}").len()));
    }
    let (ok, out) = cli(port, &["--pipe"], Some(&proto));
    assert!(ok && out.contains("errors: 0, replies: 1000"), "{out}");
    // --scan walks every key with the SCAN cursor.
    let (ok, out) = cli(port, &["--scan", "--pattern", "key:*"], None);
    assert!(ok);
    assert_eq!(out.lines().count(), 1000);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "DBSIZE").await, "1002");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_benchmark_runs_without_errors() {
    if !tool("redis-benchmark") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // `interval` keeps this quick; durability is tested elsewhere.
    let server = start(dir.path(), &[]);
    let port = server.redis().port().to_string();
    let tests = "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset";
    for pipeline in ["1", "16"] {
        let out = Command::new("redis-benchmark")
            .args(["-p", &port, "-q", "-n", "2000", "-c", "10", "-P", pipeline, "-t", tests])
            .output()
            .expect("redis-benchmark");
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}{stderr}");
        assert!(!text.contains("ERR") && !stderr.contains("ERR") && !text.contains("rror"), "{text}{stderr}");
        for name in [
            "SET",
            "GET",
            "INCR",
            "LPUSH",
            "RPUSH",
            "LPOP",
            "RPOP",
            "SADD",
            "HSET",
            "SPOP",
            "ZADD",
            "ZPOPMIN",
            "LRANGE_100",
            "MSET",
        ] {
            assert!(text.contains(name) && text.contains("requests per second"), "{name} missing in\n{text}");
        }
    }
}
