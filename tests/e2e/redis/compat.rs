//! Differential test: every command in `compat.txt` goes to Debian's
//! redis-server and to orbit-server, in RESP2 and in RESP3, and the replies,
//! errors included, must be identical.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::Value;

use super::{connect, connect_url, show, start};

const SCRIPT: &str = include_str!("compat.txt");

/// A redis-server on a Unix socket in a temporary directory, without
/// persistence; killed on drop.
struct Reference {
    child: Child,
    socket: std::path::PathBuf,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian installs the server binary with redis-tools as `redis-check-rdb`,
/// which runs as the server when started under the name `redis-server`.
fn reference_command() -> Option<Command> {
    let on_path = Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
    if on_path {
        return Some(Command::new("redis-server"));
    }
    let check = Path::new("/usr/bin/redis-check-rdb");
    check.exists().then(|| {
        let mut cmd = Command::new(check);
        cmd.arg0("redis-server");
        cmd
    })
}

fn start_reference(dir: &Path) -> Option<Reference> {
    let Some(mut cmd) = reference_command() else {
        assert!(std::env::var_os("ORBIT_REQUIRE_TOOLS").is_none(), "redis-server is required but missing");
        eprintln!("skipped: redis-server is not installed");
        return None;
    };
    let socket = dir.join("redis.sock");
    cmd.args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
        .arg(&socket)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd.spawn().expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "redis-server did not open {}", socket.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Reference { child, socket })
}

/// Sorts the elements of every array in the reply, recursively.
fn sorted(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(sorted).collect();
            items.sort_by_key(show);
            Value::Array(items)
        }
        other => other,
    }
}

async fn run(c: &mut redis::aio::MultiplexedConnection, words: &[&str], unordered: bool) -> String {
    let mut cmd = redis::cmd(words[0]);
    for w in &words[1..] {
        cmd.arg(*w);
    }
    match cmd.query_async::<Value>(c).await {
        Ok(v) if unordered => show(&sorted(v)),
        Ok(v) => show(&v),
        Err(e) => match e.code() {
            Some(code) => format!("{code}: {}", e.detail().unwrap_or_default()),
            None => format!("client error: {e}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_match_redis_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(reference) = start_reference(dir.path()) else { return };
    let server = start(&dir.path().join("orbit"), &[]);
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for resp3 in [false, true] {
        let suffix = if resp3 { "?protocol=resp3" } else { "" };
        let mut theirs = connect_url(&format!("redis+unix://{}{suffix}", reference.socket.display())).await;
        let mut ours = connect(&server, resp3).await;
        for c in [&mut theirs, &mut ours] {
            assert_eq!(run(c, &["FLUSHALL"], false).await, "OK");
        }
        for (n, line) in SCRIPT.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (unordered, command) = match line.strip_prefix("unordered ") {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let words: Vec<&str> = command.split(' ').collect();
            let want = run(&mut theirs, &words, unordered).await;
            let got = run(&mut ours, &words, unordered).await;
            compared += 1;
            if want != got {
                let proto = if resp3 { "RESP3" } else { "RESP2" };
                mismatches.push(format!("compat.txt:{} {proto} {command}\n  redis: {want}\n  orbit: {got}", n + 1));
            }
        }
    }
    assert!(compared > 500, "{compared}");
    assert!(mismatches.is_empty(), "{} of {compared} replies differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
