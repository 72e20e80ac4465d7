//! Starts the real `orbit-server` binary on free ports and stops it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Every protocol port flag, so parallel tests never collide on a port.
pub(crate) const PORT_FLAGS: [&str; 7] =
    ["--postgres-port", "--mysql-port", "--cql-port", "--redis-port", "--bolt-port", "--http-port", "--admin-port"];

/// `--disable` flags for every protocol but `keep`, for a server with one
/// endpoint.
pub(crate) fn only(keep: &str) -> Vec<&'static str> {
    const ALL: [&str; 7] = ["postgresql", "mysql", "cql", "redis", "cypher", "aql", "graphrag"];
    ALL.iter().filter(|p| **p != keep).flat_map(|p| ["--disable", *p]).collect()
}

pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_orbit-server")
}

/// A running server.
pub(crate) struct Orbit {
    child: Child,
    pub(crate) admin: SocketAddr,
    /// Bound address of each endpoint, by name.
    pub(crate) endpoints: std::collections::HashMap<String, SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
}

/// A server that exited before it was ready.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) status: ExitStatus,
    pub(crate) stderr: String,
}

pub(crate) fn command(data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--data-dir").arg(data_dir);
    for flag in PORT_FLAGS {
        if !args.contains(&flag) {
            cmd.args([flag, "0"]);
        }
    }
    cmd.args(args);
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("ORBIT_") {
            cmd.env_remove(k);
        }
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

impl Orbit {
    /// Starts a server on `data_dir` with free ports and waits until ready.
    pub(crate) fn start(data_dir: &Path, args: &[&str]) -> Orbit {
        Self::try_start(command(data_dir, args)).unwrap_or_else(|f| panic!("server failed to start: {f:?}"))
    }

    /// Starts `cmd`; `Err` when it exits before reporting ready.
    pub(crate) fn try_start(mut cmd: Command) -> Result<Orbit, Failed> {
        let mut child = cmd.spawn().expect("spawn orbit-server");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut l) = sink.lock() {
                    l.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut endpoints = std::collections::HashMap::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if line.contains("listening")
                        && let (Some(name), Some(addr)) = (field(&line, "endpoint="), field(&line, "addr="))
                        && let Ok(addr) = addr.parse()
                    {
                        endpoints.insert(name.to_string(), addr);
                    }
                    if line.contains("orbit-server is ready") {
                        let admin = *endpoints.get("admin").expect("the admin address was logged before ready");
                        return Ok(Orbit { child, admin, endpoints, log });
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                let stderr = log.lock().map(|l| l.join("\n")).unwrap_or_default();
                return Err(Failed { status, stderr });
            }
            assert!(Instant::now() < deadline, "server not ready within 60 s");
        }
    }

    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The Redis endpoint's address.
    pub(crate) fn redis(&self) -> SocketAddr {
        *self.endpoints.get("redis").expect("the redis endpoint is listening")
    }

    /// A `redis://` URL for the Redis endpoint.
    pub(crate) fn redis_url(&self) -> String {
        format!("redis://{}/", self.redis())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin, path)
    }

    /// Sends `sig` and waits for the exit, returning its status and how long it took.
    pub(crate) fn stop_with(mut self, sig: Signal) -> (ExitStatus, Duration) {
        let start = Instant::now();
        kill(self.pid(), sig).expect("signal");
        let deadline = start + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, start.elapsed());
            }
            assert!(Instant::now() < deadline, "server did not exit within 30 s of {sig}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for Orbit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `name` (e.g. `addr=`) in a log line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = &line[line.find(name)? + name.len()..];
    Some(rest.split_whitespace().next()?.trim_matches('"'))
}

/// Runs the binary to completion (for commands that must fail or print).
pub(crate) fn run_to_end(mut cmd: Command) -> (ExitStatus, String) {
    cmd.stdout(Stdio::piped());
    let out = cmd.output().expect("run orbit-server");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status, text)
}
