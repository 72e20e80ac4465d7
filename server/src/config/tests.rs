use std::collections::BTreeSet;
use std::path::PathBuf;

use super::*;

fn example(ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config").join(format!("orbit-server.example.{ext}"))
}

fn keys(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
    if let serde_json::Value::Object(map) = v {
        for (k, v) in map {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            keys(&key, v, out);
            out.insert(key);
        }
    }
}

/// A configuration with every optional key set, so serialising it lists
/// every key there is.
fn every_key() -> Config {
    let mut c = Config::default();
    for p in Protocol::ALL {
        let s = c.protocols.get_mut(p);
        s.port = default_port(p);
        s.sync = Some(SyncMode::Commit);
        s.sync_interval_ms = Some(100);
    }
    let name = DEFAULT_PROVIDER.to_string();
    c.defaults =
        DefaultsConfig { default: Some(name.clone()), addressable: Some(name.clone()), cluster: Some(name.clone()) };
    let rocks = orbit_persistence::RocksDbConfig { data_dir: Some("persistence/rocksdb".into()), ..Default::default() };
    c.providers.insert(name, ProviderConfig::RocksDB(rocks));
    c
}

/// Keys the examples document in comments only, because setting them
/// changes behaviour (a password would lock the example server).
const COMMENTED_KEYS: &[&str] = &[
    "protocols.postgresql.users",
    "protocols.mysql.users",
    "protocols.redis.password",
    "protocols.redis.users",
    "server.persistence_backend",
    "cluster.node_id",
];

#[test]
fn examples_parse_agree_and_name_every_key() {
    let toml = Config::from_file(&example("toml")).expect("toml example parses");
    let json = Config::from_file(&example("json")).expect("json example parses");
    assert_eq!(toml, json);
    assert_eq!(toml, every_key(), "the examples show every key");
    let text = std::fs::read_to_string(example("json")).expect("read");
    let mut documented = BTreeSet::new();
    keys("", &serde_json::from_str(&text).expect("json"), &mut documented);
    let mut all = every_key();
    all.protocols.redis.password = Some("secret".into());
    all.protocols.redis.users = vec![RedisUser { name: "app".into(), password: "app-secret".into() }];
    all.protocols.postgresql.users = vec![orbit_postgres::PgUser { name: "app".into(), password: "app-secret".into() }];
    all.protocols.mysql.users = vec![orbit_mysql::MysqlUser { name: "app".into(), password: "app-secret".into() }];
    all.server.persistence_backend = Some("rocksdb".into());
    all.cluster.node_id = Some("orbit-1".into());
    let mut known = BTreeSet::new();
    keys("", &serde_json::to_value(all).expect("serialise"), &mut known);
    let toml_text = std::fs::read_to_string(example("toml")).expect("read");
    for key in COMMENTED_KEYS {
        assert!(known.remove(*key), "{key} is not a key");
        let leaf = key.rsplit('.').next().unwrap_or(key);
        assert!(toml_text.contains(&format!("# {leaf} = ")), "the TOML example does not document {key}");
    }
    assert_eq!(documented, known);
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn cli_with(config: PathBuf) -> Cli {
    Cli { config: Some(config), ..Cli::default() }
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("a.toml", "[storage]\nsink = \"commit\"\n", "sink"),
        ("b.toml", "[storage]\nsync = \"sometimes\"\n", "sync"),
        ("c.toml", "[admin]\nport = 70000\n", "port"),
        ("d.json", r#"{"server": {"bind": "not an ip"}}"#, "server.bind"),
        ("e.json", r#"{"protocols": {"redis": {"prot": 1}}}"#, "prot"),
        ("f.toml", "[mystery]\n", "mystery"),
        ("k.toml", "[server]\nio_threads = 100000\n", "server.io_threads"),
    ];
    for (name, text, key) in cases {
        let err = Config::load(&cli_with(write(&dir, name, text)), []).expect_err(name).to_string();
        assert!(err.contains(key), "{name}: {err}");
    }
    let err = Config::load(&cli_with(write(&dir, "g.yaml", "")), []).expect_err("yaml").to_string();
    assert!(err.contains(".toml or .json"), "{err}");
    let err = Config::load(&cli_with(dir.path().join("missing.toml")), []).expect_err("missing").to_string();
    assert!(err.contains("missing.toml"), "{err}");
    let err = Config::load(&cli_with(write(&dir, "h.toml", "[protocols.graphrag]\nport = 1\n")), [])
        .expect_err("graphrag port")
        .to_string();
    assert!(err.contains("protocols.graphrag.port"), "{err}");
    let err = Config::load(&cli_with(write(&dir, "i.toml", "[server]\nlog_level = \"loud\"\n")), [])
        .expect_err("level")
        .to_string();
    assert!(err.contains("server.log_level"), "{err}");
    let clash = "[admin]\nport = 7000\n[protocols.redis]\nport = 7000\n";
    let err = Config::load(&cli_with(write(&dir, "j.toml", clash)), []).expect_err("clash").to_string();
    assert!(err.contains("7000"), "{err}");
}

#[test]
fn command_line_beats_environment_beats_file_beats_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        "c.toml",
        "[server]\ndata_dir = \"from-file\"\nlog_level = \"warn\"\n[admin]\nport = 1111\n[protocols.redis]\nport = 2222\n[storage]\nsync = \"none\"\n",
    );
    let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();

    let c = Config::load(&cli_with(file.clone()), []).expect("file only");
    assert_eq!(
        (c.server.data_dir.to_str(), c.admin.port, c.port(Protocol::Redis)),
        (Some("from-file"), 1111, Some(2222))
    );
    assert_eq!(c.port(Protocol::Mysql), Some(3306), "defaults fill the rest");
    assert_eq!(c.store_options(Protocol::Redis).sync, SyncPolicy::None);

    let vars = env(&[
        ("ORBIT_DATA_DIR", "from-env"),
        ("ORBIT_REDIS_PORT", "3333"),
        ("ORBIT_SYNC", "interval"),
        ("ORBIT_SYNC_INTERVAL_MS", "7"),
        ("ORBIT_IO_THREADS", "3"),
    ]);
    let c = Config::load(&cli_with(file.clone()), vars.clone()).expect("env over file");
    assert_eq!(
        (c.server.data_dir.to_str(), c.admin.port, c.port(Protocol::Redis)),
        (Some("from-env"), 1111, Some(3333))
    );
    assert_eq!(c.store_options(Protocol::Redis).sync, SyncPolicy::Interval(Duration::from_millis(7)));
    assert_eq!(c.server.io_threads, 3);

    let cli = Cli { data_dir: Some("from-cli".into()), redis_port: Some(4444), ..cli_with(file) };
    let c = Config::load(&cli, vars).expect("cli over env");
    assert_eq!((c.server.data_dir.to_str(), c.port(Protocol::Redis)), (Some("from-cli"), Some(4444)));

    let c = Config::load(&Cli::default(), env(&[("ORBIT_CONFIG", dir.path().join("c.toml").to_str().expect("utf8"))]))
        .expect("ORBIT_CONFIG names the file");
    assert_eq!(c.admin.port, 1111);
}

#[test]
fn bad_environment_values_name_the_variable() {
    let err = Config::load(&Cli::default(), [("ORBIT_REDIS_PORT".to_string(), "abc".to_string())])
        .expect_err("bad port")
        .to_string();
    assert!(err.contains("ORBIT_REDIS_PORT"), "{err}");
    let err = Config::load(&Cli::default(), [("ORBIT_DISABLE".to_string(), "redis,oracle".to_string())])
        .expect_err("bad protocol")
        .to_string();
    assert!(err.contains("ORBIT_DISABLE") && err.contains("oracle"), "{err}");
}

#[test]
fn disabling_protocols_from_every_source() {
    let cli = Cli { disable: vec!["bolt".into()], ..Cli::default() };
    let c = Config::load(&cli, [("ORBIT_DISABLE".to_string(), "redis, mysql".to_string())]).expect("load");
    let enabled = c.enabled_protocols();
    for p in [Protocol::Cypher, Protocol::Redis, Protocol::Mysql] {
        assert!(!enabled.contains(&p));
    }
    assert!(enabled.contains(&Protocol::Postgresql));
    let cli = Cli { disable: vec!["nosql".into()], ..Cli::default() };
    assert!(Config::load(&cli, []).expect_err("unknown").to_string().contains("--disable"));
}

#[test]
fn per_protocol_sync_overrides_the_default() {
    let mut c = Config::default();
    c.protocols.redis.common.sync = Some(SyncMode::Interval);
    c.protocols.redis.common.sync_interval_ms = Some(250);
    assert_eq!(c.store_options(Protocol::Redis).sync, SyncPolicy::Interval(Duration::from_millis(250)));
    assert_eq!(c.store_options(Protocol::Mysql).sync, SyncPolicy::Commit);
}

#[tokio::test]
async fn the_composite_examples_parse_agree_and_start() {
    let toml = Config::from_file(&example_named("persistence-composite.example.toml")).expect("toml parses");
    let json = Config::from_file(&example_named("persistence-composite.example.json")).expect("json parses");
    assert_eq!(toml, json);
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = orbit_persistence::PersistenceProviderRegistry::from_config(&toml.persistence(), dir.path())
        .await
        .expect("the providers start");
    assert_eq!(registry.cluster_provider().kind(), orbit_persistence::ProviderKind::Composite);
    registry.shutdown().await.expect("shutdown");
    assert!(dir.path().join("persistence/ha-primary.json.zst").is_file(), "backup written under the data dir");
    assert!(dir.path().join("persistence/ha-backup").is_dir());
}

fn example_named(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config").join(name)
}

#[test]
fn persistence_backend_from_file_and_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "p.toml", "[server]\npersistence_backend = \"memory\"\n");
    let c = Config::load(&cli_with(path.clone()), Vec::new()).expect("loads");
    assert_eq!(c.persistence().resolve().expect("resolves").default, "memory");
    let vars = vec![
        ("ORBIT_PERSISTENCE_BACKEND".to_string(), "rocksdb".to_string()),
        ("ORBIT_ROCKSDB_BLOCK_CACHE_MB".to_string(), "8".to_string()),
    ];
    let c = Config::load(&cli_with(path.clone()), vars).expect("loads");
    assert_eq!(c.persistence().resolve().expect("resolves").cluster, "rocksdb");
    let Some(ProviderConfig::RocksDB(r)) = c.providers.get("rocksdb") else { panic!("{:?}", c.providers) };
    assert_eq!(r.block_cache_mb, 8);
    // Nothing configured: the built-in RocksDB provider.
    let c = Config::load(&cli_with(write(&dir, "e.toml", "")), Vec::new()).expect("loads");
    assert_eq!(c.persistence().resolve().expect("resolves").default, DEFAULT_PROVIDER);
    let bad = vec![("ORBIT_PERSISTENCE_BACKEND".to_string(), "mongo".to_string())];
    let err = Config::load(&cli_with(path), bad).expect_err("unknown backend");
    assert!(err.to_string().contains("unknown persistence backend \"mongo\""), "{err}");
    let err = Config::load(&cli_with(write(&dir, "d.toml", "[defaults]\ncluster = \"nope\"\n")), Vec::new())
        .expect_err("unknown default");
    assert!(err.to_string().contains("unknown persistence provider \"nope\""), "{err}");
}

#[test]
fn cluster_intervals_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, key) in [
        ("[cluster]\nlease_ttl_secs = 0\n", "cluster.lease_ttl_secs"),
        ("[cluster]\nlease_ttl_secs = 10000000000000\n", "cluster.lease_ttl_secs"),
        ("[cluster]\ncleanup_interval_secs = 86401\n", "cluster.cleanup_interval_secs"),
    ] {
        let err = Config::load(&cli_with(write(&dir, "c.toml", text)), Vec::new()).expect_err("out of bounds");
        assert!(err.to_string().contains(key), "{err}");
    }
}
