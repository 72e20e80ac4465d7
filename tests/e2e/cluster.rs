//! Cluster membership and the persistence providers through the binary:
//! the node record and store leases, `/cluster/*`, `/health` and `/metrics`,
//! removal on clean shutdown, re-acquisition after restart and after
//! SIGKILL, backend selection, and unbuilt provider types.

use std::path::Path;

use nix::sys::signal::Signal;
use orbit_persistence::{
    AddressableDirectoryProvider, ClusterNodeProvider, PersistenceProvider, RocksDbConfig, RocksStore, StoreProvider,
};
use serde_json::Value;

use crate::support::{Orbit, command, run_to_end};

fn get_json(url: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let resp = reqwest::get(url).await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
}

fn post_json(url: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let resp = reqwest::Client::new().post(url).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

fn node_id(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("node-id")).expect("node-id file").trim().to_string()
}

/// The default provider's contents, read with the server stopped.
fn stored(data_dir: &Path) -> (usize, usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let store =
            RocksStore::new("check", data_dir.join("persistence/rocksdb"), RocksDbConfig::default()).expect("store");
        let p = StoreProvider::new("check", store);
        p.initialize().await.expect("open the provider's database");
        let counts = (p.list_all_nodes().await.expect("nodes").len(), p.list_all_leases().await.expect("leases").len());
        p.shutdown().await.expect("close");
        counts
    })
}

#[test]
fn the_server_joins_the_cluster_and_leases_its_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Orbit::start(dir.path(), &["--disable", "cql", "--disable", "cypher"]);
    let id = node_id(dir.path());

    let (status, nodes) = get_json(&server.url("/cluster/nodes"));
    assert_eq!(status, 200, "{nodes}");
    let nodes = nodes.as_array().expect("array");
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    let me = &nodes[0];
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["active"], true);
    assert_eq!(me["status"], "active");
    assert_eq!(me["address"], server.admin.to_string());
    let endpoints: Vec<&str> =
        me["endpoints"].as_array().expect("endpoints").iter().filter_map(|e| e["protocol"].as_str()).collect();
    for p in ["admin", "redis", "postgresql", "mysql"] {
        assert!(endpoints.contains(&p), "{endpoints:?}");
    }
    let redis =
        me["endpoints"].as_array().expect("endpoints").iter().find(|e| e["protocol"] == "redis").expect("redis");
    assert_eq!(redis["address"], server.redis().to_string());

    let (status, leases) = get_json(&server.url("/cluster/leases"));
    assert_eq!(status, 200, "{leases}");
    let mut keys: Vec<String> = leases
        .as_array()
        .expect("array")
        .iter()
        .inspect(|l| assert_eq!(l["node_id"], id.as_str(), "{l}"))
        .map(|l| {
            format!(
                "{}:{}",
                l["reference"]["addressable_type"].as_str().unwrap_or(""),
                l["reference"]["key"].as_str().unwrap_or("")
            )
        })
        .collect();
    keys.sort();
    let want: Vec<String> =
        ["aql", "graphrag", "mysql", "postgresql", "redis"].iter().map(|p| format!("orbit.store:{id}/{p}")).collect();
    assert_eq!(keys, want, "one lease per open store");

    let (status, providers) = get_json(&server.url("/cluster/providers"));
    assert_eq!(status, 200);
    let p = &providers[0];
    assert_eq!((p["name"].as_str(), p["kind"].as_str()), (Some("rocksdb"), Some("RocksDB")), "{providers}");
    assert_eq!(p["roles"], serde_json::json!(["default", "addressable", "cluster"]));
    assert_eq!(p["health"]["state"], "Healthy");
    // The node record, then the stores' leases in one bulk write.
    assert!(p["metrics"]["writes"]["count"].as_u64().unwrap_or(0) >= 2, "{p}");

    let (_, health) = get_json(&server.url("/health"));
    assert_eq!(health["providers"]["rocksdb"]["state"], "Healthy", "{health}");
    assert_eq!(health["providers"]["rocksdb"]["kind"], "RocksDB");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let metrics =
        rt.block_on(async { reqwest::get(server.url("/metrics")).await.expect("get").text().await.expect("text") });
    for needle in [
        "orbit_persistence_operations_total{provider=\"rocksdb\",op=\"write\"}",
        "orbit_persistence_operations_total{provider=\"rocksdb\",op=\"read\"}",
        "orbit_persistence_errors_total{provider=\"rocksdb\"} 0",
        "orbit_persistence_cache_hits_total{provider=\"rocksdb\"}",
        "orbit_persistence_latency_microseconds{provider=\"rocksdb\",op=\"write\",stat=\"p95\"}",
        "orbit_persistence_health{provider=\"rocksdb\"} 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle}");
    }
    // Failback is for composite providers only.
    assert_eq!(post_json(&server.url("/cluster/providers/rocksdb/failback")).0, 400);
    assert_eq!(post_json(&server.url("/cluster/providers/nope/failback")).0, 404);

    // A clean shutdown removes the node and releases its leases.
    let (status, _) = server.stop_with(Signal::SIGTERM);
    assert!(status.success());
    assert_eq!(stored(dir.path()), (0, 0));

    // The restarted server is the same node and leases its stores again.
    let server = Orbit::start(dir.path(), &[]);
    assert_eq!(node_id(dir.path()), id);
    let (_, leases) = get_json(&server.url("/cluster/leases"));
    assert_eq!(leases.as_array().map(Vec::len), Some(7));
    let (_, nodes) = get_json(&server.url("/cluster/nodes"));
    assert_eq!(nodes.as_array().map(Vec::len), Some(1));

    // After SIGKILL the records stay behind, and a restart takes them back:
    // they are this node's own.
    let _ = server.stop_with(Signal::SIGKILL);
    assert_eq!(stored(dir.path()), (1, 7));
    let server = Orbit::start(dir.path(), &[]);
    let (_, leases) = get_json(&server.url("/cluster/leases"));
    assert_eq!(leases.as_array().map(Vec::len), Some(7));
    assert!(leases.as_array().into_iter().flatten().all(|l| l["node_id"] == id.as_str()));
    drop(server);
}

#[test]
fn records_of_dead_nodes_expire_and_are_cleaned_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[cluster]\nnode_id = \"short-lived\"\nlease_ttl_secs = 1\ncleanup_interval_secs = 1\n")
        .expect("write");
    let config = config.to_str().expect("utf-8").to_string();
    let server = Orbit::start(dir.path(), &["--config", &config]);
    let _ = server.stop_with(Signal::SIGKILL);
    // A different node on the same provider outlives the dead one's records.
    std::fs::write(
        dir.path().join("c.toml"),
        "[cluster]\nnode_id = \"survivor\"\nlease_ttl_secs = 30\ncleanup_interval_secs = 1\n",
    )
    .expect("write");
    let server = Orbit::start(dir.path(), &["--config", &config]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, nodes) = get_json(&server.url("/cluster/nodes"));
        let ids: Vec<&str> = nodes.as_array().into_iter().flatten().filter_map(|n| n["id"].as_str()).collect();
        let (_, leases) = get_json(&server.url("/cluster/leases"));
        let dead_leases = leases.as_array().into_iter().flatten().filter(|l| l["node_id"] == "short-lived").count();
        if ids == ["survivor"] && dead_leases == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "dead node not cleaned up: {ids:?}, {dead_leases} leases");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn the_backend_is_chosen_by_environment_and_unbuilt_types_refuse_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(dir.path(), &[]);
    cmd.env("ORBIT_PERSISTENCE_BACKEND", "memory").env("ORBIT_MEMORY_MAX_ENTRIES", "50");
    let server = Orbit::try_start(cmd).expect("starts");
    let (_, providers) = get_json(&server.url("/cluster/providers"));
    assert_eq!(providers[0]["kind"], "Memory", "{providers}");
    assert_eq!(providers.as_array().map(Vec::len), Some(1));
    drop(server);

    let config = dir.path().join("s3.toml");
    std::fs::write(&config, "[providers.archive]\ntype = \"S3\"\nbucket = \"orbit\"\n").expect("write");
    let (status, out) = run_to_end(command(dir.path(), &["--config", config.to_str().expect("utf-8")]));
    assert!(!status.success());
    assert!(out.contains("provider archive (type S3) is not available in this build"), "{out}");

    let mut cmd = command(dir.path(), &[]);
    cmd.env("ORBIT_PERSISTENCE_BACKEND", "etcd");
    let (status, out) = run_to_end(cmd);
    assert!(!status.success());
    assert!(out.contains("provider etcd (type Etcd) is not available in this build"), "{out}");
}

#[test]
fn a_composite_provider_serves_the_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/persistence-composite.example.toml");
    let server = Orbit::start(dir.path(), &["--config", example.to_str().expect("utf-8")]);
    let (_, providers) = get_json(&server.url("/cluster/providers"));
    assert_eq!(providers[0]["kind"], "Composite", "{providers}");
    let (_, nodes) = get_json(&server.url("/cluster/nodes"));
    assert_eq!(nodes.as_array().map(Vec::len), Some(1));
    // Not failed over: failback is a no-op that says so.
    let (status, body) = post_json(&server.url("/cluster/providers/ha/failback"));
    assert_eq!((status, &body["failed_over"]), (200, &Value::Bool(false)), "{body}");
    let (status, _) = server.stop_with(Signal::SIGTERM);
    assert!(status.success());
    assert!(dir.path().join("persistence/ha-primary.json.zst").is_file());
}
