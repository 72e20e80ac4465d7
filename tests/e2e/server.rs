//! The binary's lifecycle: startup, stores on disk, admin HTTP, signals,
//! configuration errors and data-directory exclusivity.

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use orbit_storage::Protocol;
use orbit_storage::kv::RocksEngine;

use crate::support::{Orbit, binary, command, run_to_end};

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let resp = reqwest::get(url).await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    })
}

#[test]
fn serves_health_and_metrics_and_opens_every_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Orbit::start(dir.path(), &[]);

    let (status, body) = get(&server.url("/health"));
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(health["status"], "Healthy");
    for p in Protocol::ALL {
        assert_eq!(health["stores"][p.name()]["state"], "Healthy", "{body}");
    }

    let (status, metrics) = get(&server.url("/metrics"));
    assert_eq!(status, 200);
    for needle in [
        "orbit_store_reads_total{store=\"redis\"}",
        "orbit_store_writes_total{store=\"postgresql\"}",
        "orbit_store_deletes_total",
        "orbit_store_errors_total",
        "orbit_store_cache_hits_total",
        "orbit_store_cache_misses_total",
        "orbit_store_operation_duration_seconds_bucket{le=\"+Inf\",store=\"mysql\",op=\"write\"}",
        "orbit_store_health{store=\"graphrag\"} 0",
        "# EOF",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
    let (status, _) = get(&server.url("/nope"));
    assert_eq!(status, 404);

    for p in Protocol::ALL {
        let path = dir.path().join(p.name()).join("rocksdb");
        let families = RocksEngine::list_column_families(&path).expect("store on disk");
        for f in p.column_families() {
            assert!(families.iter().any(|x| x == f), "{p}: {f} missing from {families:?}");
        }
        let log = server.log();
        assert!(log.contains(&format!("store={p}")), "store {p} not logged:\n{log}");
    }
    assert!(server.log().contains("no cql endpoint yet"), "unbuilt endpoints are reported");
    assert!(server.endpoints.contains_key("mysql"), "the mysql endpoint listens");

    let (status, took) = server.stop_with(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");

    // The same directory starts again, and SIGINT is as clean.
    let again = Orbit::start(dir.path(), &[]);
    assert_eq!(get(&again.url("/health")).0, 200);
    let (status, _) = again.stop_with(Signal::SIGINT);
    assert_eq!(status.code(), Some(0), "SIGINT exits 0");
}

/// Debian's `ldb` (rocksdb-tools) reads the stores' column families. The
/// README's test command installs it; elsewhere the check is skipped, loudly.
#[test]
fn debian_ldb_lists_the_column_families() {
    if Command::new("ldb").arg("--version").output().is_err() {
        assert!(std::env::var_os("ORBIT_REQUIRE_TOOLS").is_none(), "ldb (rocksdb-tools) is required but missing");
        eprintln!("skipped: ldb from rocksdb-tools is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Orbit::start(dir.path(), &[]);
    let (status, _) = server.stop_with(Signal::SIGTERM);
    assert!(status.success());
    let db = dir.path().join("redis").join("rocksdb");
    let out =
        Command::new("ldb").arg(format!("--db={}", db.display())).arg("list_column_families").output().expect("ldb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ldb failed: {}", String::from_utf8_lossy(&out.stderr));
    for f in Protocol::Redis.column_families() {
        assert!(text.contains(f), "ldb output lacks {f}: {text}");
    }
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Orbit::start(dir.path(), &[]);
    let second = Orbit::try_start(command(dir.path(), &[])).err().expect("second must fail");
    assert!(!second.status.success());
    assert!(second.stderr.contains("data directory") && second.stderr.contains("in use"), "{}", second.stderr);
    // The first is unharmed.
    assert_eq!(get(&first.url("/health")).0, 200);
}

#[test]
fn a_taken_port_names_the_endpoint_and_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let failed = Orbit::try_start(command(dir.path(), &["--admin-port", &port])).err().expect("must fail");
    assert!(!failed.status.success());
    assert!(failed.stderr.contains("admin") && failed.stderr.contains(&port), "{}", failed.stderr);
    // The stores it had opened were closed: a normal start works at once.
    drop(Orbit::start(dir.path(), &[]));
}

#[test]
fn disabled_protocols_get_no_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(dir.path(), &["--disable", "redis", "--disable", "bolt"]);
    cmd.env("ORBIT_DISABLE", "cql");
    let server = Orbit::try_start(cmd).expect("start");
    let health: serde_json::Value = serde_json::from_str(&get(&server.url("/health")).1).expect("json");
    let stores = health["stores"].as_object().expect("stores");
    assert_eq!(stores.len(), 4, "{health}");
    for gone in ["redis", "cypher", "cql"] {
        assert!(!stores.contains_key(gone));
        assert!(!dir.path().join(gone).exists());
    }
}

#[test]
fn configuration_errors_stop_the_server_and_name_the_culprit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[storage]\nsync = \"commit\"\nblock_cache = 5\n").expect("write");
    let (status, out) = run_to_end(command(dir.path(), &["--config", cfg.to_str().expect("utf8")]));
    assert_eq!(status.code(), Some(2));
    assert!(out.contains("block_cache"), "{out}");

    let mut cmd = command(dir.path(), &[]);
    cmd.env("ORBIT_ADMIN_PORT", "ninety");
    let (status, out) = run_to_end(cmd);
    assert_eq!(status.code(), Some(2));
    assert!(out.contains("ORBIT_ADMIN_PORT"), "{out}");

    let (status, out) = run_to_end(command(dir.path(), &["--log-level", "chatty"]));
    assert_eq!(status.code(), Some(2));
    assert!(out.contains("log_level"), "{out}");

    let (status, out) = run_to_end(command(dir.path(), &["--redis-port", "99999"]));
    assert_eq!(status.code(), Some(2));
    assert!(out.contains("--redis-port"), "{out}");
}

#[test]
fn the_example_configs_start_the_server_and_flags_override_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("config");
    for file in ["orbit-server.example.toml", "orbit-server.example.json"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = root.join(file);
        let server = Orbit::start(dir.path(), &["--config", cfg.to_str().expect("utf8")]);
        assert_eq!(get(&server.url("/health")).0, 200, "{file}");
        assert!(dir.path().join("postgresql/rocksdb").exists(), "--data-dir beat the file's data_dir");
    }
}

#[test]
fn environment_variables_configure_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("from-env");
    let mut cmd = Command::new(binary());
    for flag in crate::support::PORT_FLAGS {
        cmd.args([flag, "0"]);
    }
    cmd.env("ORBIT_DATA_DIR", &data).env("ORBIT_SYNC", "interval").env_remove("RUST_LOG");
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let server = Orbit::try_start(cmd).expect("start");
    assert!(data.join("redis/rocksdb").exists());
    assert!(server.log().contains("Interval"), "the sync policy came from ORBIT_SYNC");
}

#[test]
fn help_explains_every_flag() {
    let (status, out) = run_to_end({
        let mut c = Command::new(binary());
        c.arg("--help");
        c
    });
    assert!(status.success());
    for flag in [
        "--config",
        "--data-dir",
        "--bind",
        "--postgres-port",
        "--mysql-port",
        "--cql-port",
        "--redis-port",
        "--bolt-port",
        "--http-port",
        "--admin-port",
        "--disable",
        "--log-level",
        "ORBIT_SYNC",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}:\n{out}");
    }
}

#[test]
fn compose_file_is_valid_and_publishes_every_endpoint() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("docker-compose.yml")).expect("docker-compose.yml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let service = &doc["services"]["orbit"];
    assert!(service["build"].is_mapping() || service["build"].is_string(), "built from the repo's Dockerfile");
    assert!(root.join("Dockerfile").exists());
    let ports: Vec<String> =
        service["ports"].as_sequence().expect("ports").iter().filter_map(|p| p.as_str().map(str::to_string)).collect();
    for port in ["5432", "3306", "9042", "6379", "7687", "8529", "9090"] {
        assert!(ports.iter().any(|p| p.ends_with(&format!(":{port}"))), "port {port} not published: {ports:?}");
    }
    let volumes = format!("{:?}", service["volumes"]);
    assert!(volumes.contains("/data"), "a data volume is mounted: {volumes}");
}
