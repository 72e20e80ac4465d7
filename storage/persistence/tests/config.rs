//! Configuration: the file forms (TOML and JSON), the builder and the
//! environment all produce the same thing; every type the specification
//! names parses; unbuilt types and unknown names fail clearly.

// A failed call is the test failing; its error is in the panic message.
#![allow(clippy::unwrap_used)]

use orbit_persistence::config::{DefaultsConfig, S3Config};
use orbit_persistence::{
    BackupCompression, DiskBackupConfig, MemoryConfig, PersistenceError, PersistenceProviderConfig,
    PersistenceProviderRegistry, ProviderConfig, ProviderKind, RocksDbConfig,
};

const TOML: &str = r#"
[defaults]
addressable = "memory"
cluster = "rocks"

[providers.memory]
type = "Memory"
max_entries = 5000
disk_backup = { path = "/tmp/orbit-backup.json", sync_interval = 60, compression = "Gzip" }

[providers.rocks]
type = "RocksDB"
data_dir = "rocks"
compression = true
block_cache_mb = 32
write_buffer_mb = 8
max_background_jobs = 2

[providers.composite]
type = "Composite"
sync_interval = 60
health_check_interval = 30
failover_threshold = 3

[providers.composite.primary]
type = "Memory"
max_entries = 50000

[providers.composite.backup]
type = "RocksDB"
"#;

const JSON: &str = r#"{
  "defaults": { "addressable": "memory", "cluster": "rocks" },
  "providers": {
    "memory": { "type": "Memory", "max_entries": 5000,
                "disk_backup": { "path": "/tmp/orbit-backup.json", "sync_interval": 60, "compression": "Gzip" } },
    "rocks": { "type": "RocksDB", "data_dir": "rocks", "compression": true, "block_cache_mb": 32,
               "write_buffer_mb": 8, "max_background_jobs": 2 },
    "composite": { "type": "Composite", "sync_interval": 60, "health_check_interval": 30, "failover_threshold": 3,
                   "primary": { "type": "Memory", "max_entries": 50000 },
                   "backup": { "type": "RocksDB" } }
  }
}"#;

fn built() -> PersistenceProviderConfig {
    let memory = MemoryConfig {
        max_entries: 5000,
        disk_backup: Some(DiskBackupConfig {
            path: "/tmp/orbit-backup.json".into(),
            sync_interval: 60,
            compression: BackupCompression::Gzip,
        }),
    };
    let rocks =
        RocksDbConfig { data_dir: Some("rocks".into()), block_cache_mb: 32, write_buffer_mb: 8, ..Default::default() };
    let composite = orbit_persistence::CompositeConfig {
        sync_interval: 60,
        health_check_interval: 30,
        failover_threshold: 3,
        primary: Box::new(ProviderConfig::Memory(MemoryConfig { max_entries: 50000, disk_backup: None })),
        backup: Box::new(ProviderConfig::RocksDB(RocksDbConfig::default())),
    };
    PersistenceProviderConfig::builder()
        .with_memory("memory", memory, false)
        .with_rocksdb("rocks", rocks, false)
        .with_composite("composite", composite, false)
        .addressable_default("memory")
        .cluster_default("rocks")
        .build()
        .unwrap()
}

#[test]
fn toml_json_and_builder_agree() {
    let from_toml: PersistenceProviderConfig = toml::from_str(TOML).unwrap();
    let from_json: PersistenceProviderConfig = serde_json::from_str(JSON).unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(from_toml, built());
    let d = from_toml.resolve().unwrap();
    assert_eq!((d.default.as_str(), d.addressable.as_str(), d.cluster.as_str()), ("memory", "memory", "rocks"));
}

#[test]
fn every_specified_type_parses() {
    let sections = [
        ("Memory", "max_entries = 100000"),
        (
            "CowBTree",
            "data_dir = \"/var/lib/orbit\"\nmax_keys_per_node = 64\nwal_buffer_size = 1048576\nenable_snapshots = true\nsnapshot_interval = 1000",
        ),
        (
            "LsmTree",
            "data_dir = \"/var/lib/orbit\"\nmemtable_size_mb = 64\nmax_levels = 7\nlevel_size_multiplier = 10\ncompaction_threshold = 4\nenable_bloom_filters = true\nbloom_filter_bits_per_key = 10\nenable_compression = true",
        ),
        (
            "RocksDB",
            "data_dir = \"/var/lib/orbit\"\ncompression = true\nblock_cache_mb = 256\nwrite_buffer_mb = 64\nmax_background_jobs = 4",
        ),
        (
            "S3",
            "endpoint = \"https://s3.amazonaws.com\"\nregion = \"us-west-2\"\nbucket = \"orbit-data\"\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\nprefix = \"orbit\"\nenable_ssl = true\nconnection_timeout = 30\nretry_count = 3",
        ),
        (
            "Azure",
            "account_name = \"orbitdata\"\naccount_key = \"K\"\ncontainer_name = \"orbit\"\nprefix = \"orbit\"\nconnection_timeout = 30\nretry_count = 3",
        ),
        (
            "GoogleCloud",
            "project_id = \"p\"\nbucket_name = \"orbit-data\"\ncredentials_path = \"/path/sa.json\"\nprefix = \"orbit\"\nconnection_timeout = 30\nretry_count = 3",
        ),
        (
            "Etcd",
            "endpoints = [\"http://localhost:2379\"]\nprefix = \"orbit\"\nlease_ttl = 300\nusername = \"orbit\"\npassword = \"secret\"\nca_cert = \"/ca.crt\"\nclient_cert = \"/c.crt\"\nclient_key = \"/c.key\"",
        ),
        (
            "Redis",
            "url = \"redis://localhost:6379\"\ncluster_mode = false\ndatabase = 0\npassword = \"secret\"\nprefix = \"orbit\"\npool_size = 10\nretry_count = 3",
        ),
        (
            "Kubernetes",
            "namespace = \"orbit\"\nconfig_map_name = \"orbit-data\"\nsecret_name = \"orbit-secrets\"\nin_cluster = true",
        ),
        (
            "MinIO",
            "endpoint = \"http://localhost:9000\"\nbucket = \"orbit\"\naccess_key_id = \"minioadmin\"\nsecret_access_key = \"minioadmin\"",
        ),
        (
            "Flash",
            "data_dir = \"/nvme/orbit\"\nenable_multipathing = true\nio_depth = 32\nblock_size = 4096\ncache_size = 1073741824\ncompression = \"Lz4\"\npaths = [\"/nvme0/orbit\", \"/nvme1/orbit\"]",
        ),
        (
            "Composite",
            "sync_interval = 60\n[providers.p.primary]\ntype = \"Memory\"\n[providers.p.backup]\ntype = \"S3\"\nbucket = \"b\"",
        ),
    ];
    assert_eq!(sections.len(), ProviderKind::ALL.len());
    for ((ty, body), kind) in sections.iter().zip(ProviderKind::ALL) {
        let text = format!("[providers.p]\ntype = \"{ty}\"\n{body}\n");
        let c: PersistenceProviderConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert_eq!(c.providers["p"].kind(), kind);
    }
    // A misspelt key is an error, not ignored.
    let err =
        toml::from_str::<PersistenceProviderConfig>("[providers.p]\ntype = \"Memory\"\nmax_entrys = 1\n").unwrap_err();
    assert!(err.to_string().contains("max_entrys"), "{err}");
    let err = toml::from_str::<PersistenceProviderConfig>("[providers.p]\ntype = \"Mongo\"\n").unwrap_err();
    assert!(err.to_string().contains("Mongo"), "{err}");
}

#[tokio::test]
async fn unbuilt_types_fail_at_startup_and_unknown_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = PersistenceProviderConfig::builder().with_s3("archive", S3Config::default(), true).build().unwrap();
    let err = PersistenceProviderRegistry::from_config(&config, dir.path()).await.unwrap_err();
    assert!(matches!(err, PersistenceError::NotAvailable { .. }));
    assert_eq!(err.to_string(), "provider archive (type S3) is not available in this build");

    // Nested in a composite, too.
    let toml = "[providers.c]\ntype = \"Composite\"\n[providers.c.primary]\ntype = \"Memory\"\n[providers.c.backup]\ntype = \"Etcd\"\n";
    let config: PersistenceProviderConfig = toml::from_str(toml).unwrap();
    let err = PersistenceProviderRegistry::from_config(&config, dir.path()).await.unwrap_err();
    assert_eq!(err.to_string(), "provider c.backup (type Etcd) is not available in this build");

    let err = PersistenceProviderConfig::builder()
        .with_memory("m", MemoryConfig::default(), false)
        .cluster_default("nope")
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown persistence provider \"nope\"");
    let two = PersistenceProviderConfig::builder()
        .with_memory("a", MemoryConfig::default(), false)
        .with_memory("b", MemoryConfig::default(), false)
        .build();
    assert!(matches!(two, Err(PersistenceError::Config(_))), "ambiguous default");

    let config = PersistenceProviderConfig::builder()
        .with_memory("m", MemoryConfig::default(), true)
        .with_rocksdb("r", RocksDbConfig::default(), false)
        .cluster_default("r")
        .build()
        .unwrap();
    let registry = PersistenceProviderRegistry::from_config(&config, dir.path()).await.unwrap();
    assert_eq!(registry.addressable_provider().name(), "m");
    assert_eq!(registry.cluster_provider().name(), "r");
    assert_eq!(registry.get("r").unwrap().kind(), ProviderKind::RocksDB);
    assert_eq!(registry.get("missing").unwrap_err().to_string(), "unknown persistence provider \"missing\"");
    assert!(dir.path().join("persistence/r").is_dir(), "a RocksDB provider without data_dir lives under the data dir");
    registry.shutdown().await.unwrap();
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn the_environment_selects_and_configures_the_backend() {
    let mut c = PersistenceProviderConfig::default();
    c.apply_backend_selection(
        &vars(&[("ORBIT_PERSISTENCE_BACKEND", "memory"), ("ORBIT_MEMORY_MAX_ENTRIES", "77")]),
        None,
    )
    .unwrap();
    assert_eq!(c.providers["memory"], ProviderConfig::Memory(MemoryConfig { max_entries: 77, disk_backup: None }));
    assert_eq!(
        c.defaults,
        DefaultsConfig {
            default: Some("memory".into()),
            addressable: Some("memory".into()),
            cluster: Some("memory".into())
        }
    );

    // The variable beats the file's [server] persistence_backend, and its
    // keys override a file's section of the same name.
    let mut c: PersistenceProviderConfig = toml::from_str(TOML).unwrap();
    c.providers
        .insert("rocksdb".into(), ProviderConfig::RocksDB(RocksDbConfig { block_cache_mb: 5, ..Default::default() }));
    c.apply_backend_selection(
        &vars(&[
            ("ORBIT_PERSISTENCE_BACKEND", "rocksdb"),
            ("ORBIT_ROCKSDB_SYNC_WRITES", "true"),
            ("ORBIT_ROCKSDB_DATA_DIR", "/x"),
        ]),
        Some("memory"),
    )
    .unwrap();
    let ProviderConfig::RocksDB(r) = &c.providers["rocksdb"] else { panic!() };
    assert_eq!((r.block_cache_mb, r.sync_writes, r.data_dir.as_deref()), (5, true, Some(std::path::Path::new("/x"))));
    assert_eq!(c.resolve().unwrap().cluster, "rocksdb");

    // The file's setting alone.
    let mut c = PersistenceProviderConfig::default();
    c.apply_backend_selection(&[], Some("lsm_tree")).unwrap();
    assert_eq!(c.providers["lsm_tree"].kind(), ProviderKind::LsmTree);

    // Later providers read their variables the same way.
    let mut c = PersistenceProviderConfig::default();
    c.apply_backend_selection(
        &vars(&[
            ("ORBIT_PERSISTENCE_BACKEND", "S3"),
            ("ORBIT_S3_ENDPOINT", "http://minio:9000"),
            ("ORBIT_S3_RETRY_COUNT", "5"),
        ]),
        None,
    )
    .unwrap();
    let ProviderConfig::S3(s3) = &c.providers["s3"] else { panic!() };
    assert_eq!((s3.endpoint.as_deref(), s3.retry_count), (Some("http://minio:9000"), Some(5)));

    let err = PersistenceProviderConfig::default()
        .apply_backend_selection(&vars(&[("ORBIT_PERSISTENCE_BACKEND", "mongo")]), None)
        .unwrap_err();
    assert!(err.to_string().contains("unknown persistence backend \"mongo\""), "{err}");
    let err = PersistenceProviderConfig::default()
        .apply_backend_selection(
            &vars(&[("ORBIT_PERSISTENCE_BACKEND", "memory"), ("ORBIT_MEMORY_MAX_ENTRIES", "lots")]),
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("ORBIT_MEMORY_MAX_ENTRIES"), "{err}");
    assert!(
        PersistenceProviderConfig::default()
            .apply_backend_selection(&vars(&[("ORBIT_PERSISTENCE_BACKEND", "composite")]), None)
            .is_err()
    );
}
