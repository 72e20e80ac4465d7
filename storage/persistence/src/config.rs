//! Provider configuration: the `[defaults]` and `[providers.NAME]` sections
//! of the server's config file (TOML or JSON), the programmatic builder,
//! and the `ORBIT_PERSISTENCE_BACKEND` / `ORBIT_<PROVIDER>_*` environment
//! variables. All three produce one [`PersistenceProviderConfig`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{PersistenceError, Result};
use crate::provider::ProviderKind;

/// Compression of the memory provider's disk backup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupCompression {
    /// Plain JSON.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// LZ4 frames.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// `disk_backup = { path, sync_interval, compression }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskBackupConfig {
    /// The backup file.
    pub path: PathBuf,
    /// Seconds between backups (written only when something changed), and
    /// always on shutdown.
    #[serde(default = "default_backup_interval")]
    pub sync_interval: u64,
    /// How the file is compressed; any of them is read back regardless.
    #[serde(default)]
    pub compression: BackupCompression,
}

fn default_backup_interval() -> u64 {
    300
}

/// `type = "Memory"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Most records (leases plus nodes) held; a write past it fails.
    pub max_entries: usize,
    /// Optional backup to disk.
    pub disk_backup: Option<DiskBackupConfig>,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig { max_entries: 100_000, disk_backup: None }
    }
}

/// `type = "RocksDB"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RocksDbConfig {
    /// The database directory; by default `<data-dir>/persistence/<name>`.
    pub data_dir: Option<PathBuf>,
    /// LZ4-compress table files.
    pub compression: bool,
    /// Block cache size, MiB.
    pub block_cache_mb: usize,
    /// Memtable size, MiB.
    pub write_buffer_mb: usize,
    /// Flush and compaction threads.
    pub max_background_jobs: u32,
    /// fsync the WAL on every write. Off, a write survives a crash of the
    /// process but not of the machine; the WAL is synced on shutdown.
    pub sync_writes: bool,
    /// Records (present or known absent) kept in the provider's read cache,
    /// which serves hot reads without a trip to a blocking thread; 0 turns
    /// it off.
    pub cache_entries: usize,
}

impl Default for RocksDbConfig {
    fn default() -> Self {
        RocksDbConfig {
            data_dir: None,
            compression: true,
            block_cache_mb: 64,
            write_buffer_mb: 16,
            max_background_jobs: 2,
            sync_writes: false,
            cache_entries: 65_536,
        }
    }
}

/// `type = "Composite"`: a primary, a backup, and failover between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompositeConfig {
    /// Seconds between copies of the primary's changes to the backup.
    #[serde(default = "default_sync_interval")]
    pub sync_interval: u64,
    /// Seconds between health checks of the primary.
    #[serde(default = "default_health_interval")]
    pub health_check_interval: u64,
    /// Consecutive failed health checks of the primary that move reads and
    /// writes to the backup.
    #[serde(default = "default_failover_threshold")]
    pub failover_threshold: u32,
    /// `[providers.NAME.primary]`
    pub primary: Box<ProviderConfig>,
    /// `[providers.NAME.backup]`
    pub backup: Box<ProviderConfig>,
}

fn default_sync_interval() -> u64 {
    60
}
fn default_health_interval() -> u64 {
    30
}
fn default_failover_threshold() -> u32 {
    3
}

/// Declares the configuration structs of the providers the specification
/// names but this build does not have: their keys parse (so that a config
/// written for a fuller build is understood), and starting one fails with
/// "provider X is not available in this build".
macro_rules! unbuilt_configs {
    ($($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
        }
    )*};
}

unbuilt_configs! {
    /// `type = "CowBTree"` (not in this build).
    CowBTreeConfig {
        /// Data directory.
        data_dir: Option<PathBuf>,
        /// Keys per node.
        max_keys_per_node: Option<u64>,
        /// WAL buffer, bytes.
        wal_buffer_size: Option<u64>,
        /// Take snapshots.
        enable_snapshots: Option<bool>,
        /// Writes between snapshots.
        snapshot_interval: Option<u64>,
    }
    /// `type = "LsmTree"` (not in this build).
    LsmTreeConfig {
        /// Data directory.
        data_dir: Option<PathBuf>,
        /// Memtable size, MiB.
        memtable_size_mb: Option<u64>,
        /// Levels.
        max_levels: Option<u64>,
        /// Size ratio between levels.
        level_size_multiplier: Option<u64>,
        /// Files that trigger a compaction.
        compaction_threshold: Option<u64>,
        /// Bloom filters on.
        enable_bloom_filters: Option<bool>,
        /// Bloom filter bits per key.
        bloom_filter_bits_per_key: Option<u64>,
        /// Compression on.
        enable_compression: Option<bool>,
        /// Block cache, MiB.
        block_cache_mb: Option<u64>,
    }
    /// `type = "S3"` (not in this build).
    S3Config {
        /// Service endpoint.
        endpoint: Option<String>,
        /// Region.
        region: Option<String>,
        /// Bucket.
        bucket: Option<String>,
        /// Access key.
        access_key_id: Option<String>,
        /// Secret key.
        secret_access_key: Option<String>,
        /// Key prefix.
        prefix: Option<String>,
        /// TLS on.
        enable_ssl: Option<bool>,
        /// Connect timeout, seconds.
        connection_timeout: Option<u64>,
        /// Retries.
        retry_count: Option<u32>,
    }
    /// `type = "Azure"` (not in this build).
    AzureConfig {
        /// Storage account.
        account_name: Option<String>,
        /// Account key.
        account_key: Option<String>,
        /// Container.
        container_name: Option<String>,
        /// Key prefix.
        prefix: Option<String>,
        /// Connect timeout, seconds.
        connection_timeout: Option<u64>,
        /// Retries.
        retry_count: Option<u32>,
    }
    /// `type = "GoogleCloud"` (not in this build).
    GoogleCloudConfig {
        /// Project.
        project_id: Option<String>,
        /// Bucket.
        bucket_name: Option<String>,
        /// Service account key file.
        credentials_path: Option<PathBuf>,
        /// Key prefix.
        prefix: Option<String>,
        /// Connect timeout, seconds.
        connection_timeout: Option<u64>,
        /// Retries.
        retry_count: Option<u32>,
    }
    /// `type = "Etcd"` (not in this build).
    EtcdConfig {
        /// Cluster endpoints.
        endpoints: Vec<String>,
        /// Key prefix.
        prefix: Option<String>,
        /// Lease TTL, seconds.
        lease_ttl: Option<u64>,
        /// User.
        username: Option<String>,
        /// Password.
        password: Option<String>,
        /// CA certificate.
        ca_cert: Option<PathBuf>,
        /// Client certificate.
        client_cert: Option<PathBuf>,
        /// Client key.
        client_key: Option<PathBuf>,
    }
    /// `type = "Redis"` (not in this build).
    RedisConfig {
        /// Server URL.
        url: Option<String>,
        /// Cluster mode.
        cluster_mode: Option<bool>,
        /// Database number.
        database: Option<u32>,
        /// Password.
        password: Option<String>,
        /// Key prefix.
        prefix: Option<String>,
        /// Connections.
        pool_size: Option<u32>,
        /// Retries.
        retry_count: Option<u32>,
    }
    /// `type = "Kubernetes"` (not in this build).
    KubernetesConfig {
        /// Namespace.
        namespace: Option<String>,
        /// ConfigMap.
        config_map_name: Option<String>,
        /// Secret.
        secret_name: Option<String>,
        /// Use the in-cluster service account.
        in_cluster: Option<bool>,
    }
    /// `type = "Flash"` (not in this build).
    FlashConfig {
        /// Data directory.
        data_dir: Option<PathBuf>,
        /// Multipathing on.
        enable_multipathing: Option<bool>,
        /// I/O queue depth.
        io_depth: Option<u32>,
        /// Block size, bytes.
        block_size: Option<u64>,
        /// Cache size, bytes.
        cache_size: Option<u64>,
        /// Compression.
        compression: Option<BackupCompression>,
        /// Device paths.
        paths: Vec<PathBuf>,
    }
}

/// `type = "MinIO"` (not in this build): MinIO speaks the S3 API, so its
/// keys are S3's.
pub type MinIOConfig = S3Config;

/// One provider's configuration; `type` picks the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ProviderConfig {
    /// In-memory.
    Memory(MemoryConfig),
    /// Copy-on-write B+tree.
    CowBTree(CowBTreeConfig),
    /// LSM tree.
    LsmTree(LsmTreeConfig),
    /// RocksDB.
    RocksDB(RocksDbConfig),
    /// S3.
    S3(S3Config),
    /// Azure Blob Storage.
    Azure(AzureConfig),
    /// Google Cloud Storage.
    GoogleCloud(GoogleCloudConfig),
    /// etcd.
    Etcd(EtcdConfig),
    /// Redis.
    Redis(RedisConfig),
    /// Kubernetes.
    Kubernetes(KubernetesConfig),
    /// MinIO.
    MinIO(MinIOConfig),
    /// Flash.
    Flash(FlashConfig),
    /// Primary with backup.
    Composite(CompositeConfig),
}

impl ProviderConfig {
    /// The provider type configured.
    pub fn kind(&self) -> ProviderKind {
        match self {
            ProviderConfig::Memory(_) => ProviderKind::Memory,
            ProviderConfig::CowBTree(_) => ProviderKind::CowBTree,
            ProviderConfig::LsmTree(_) => ProviderKind::LsmTree,
            ProviderConfig::RocksDB(_) => ProviderKind::RocksDB,
            ProviderConfig::S3(_) => ProviderKind::S3,
            ProviderConfig::Azure(_) => ProviderKind::Azure,
            ProviderConfig::GoogleCloud(_) => ProviderKind::GoogleCloud,
            ProviderConfig::Etcd(_) => ProviderKind::Etcd,
            ProviderConfig::Redis(_) => ProviderKind::Redis,
            ProviderConfig::Kubernetes(_) => ProviderKind::Kubernetes,
            ProviderConfig::MinIO(_) => ProviderKind::MinIO,
            ProviderConfig::Flash(_) => ProviderKind::Flash,
            ProviderConfig::Composite(_) => ProviderKind::Composite,
        }
    }

    /// The default configuration of a kind; composite has none (it needs a
    /// primary and a backup).
    pub fn default_of(kind: ProviderKind) -> Option<ProviderConfig> {
        Some(match kind {
            ProviderKind::Memory => ProviderConfig::Memory(MemoryConfig::default()),
            ProviderKind::CowBTree => ProviderConfig::CowBTree(CowBTreeConfig::default()),
            ProviderKind::LsmTree => ProviderConfig::LsmTree(LsmTreeConfig::default()),
            ProviderKind::RocksDB => ProviderConfig::RocksDB(RocksDbConfig::default()),
            ProviderKind::S3 => ProviderConfig::S3(S3Config::default()),
            ProviderKind::Azure => ProviderConfig::Azure(AzureConfig::default()),
            ProviderKind::GoogleCloud => ProviderConfig::GoogleCloud(GoogleCloudConfig::default()),
            ProviderKind::Etcd => ProviderConfig::Etcd(EtcdConfig::default()),
            ProviderKind::Redis => ProviderConfig::Redis(RedisConfig::default()),
            ProviderKind::Kubernetes => ProviderConfig::Kubernetes(KubernetesConfig::default()),
            ProviderKind::MinIO => ProviderConfig::MinIO(MinIOConfig::default()),
            ProviderKind::Flash => ProviderConfig::Flash(FlashConfig::default()),
            ProviderKind::Composite => return None,
        })
    }
}

/// `[defaults]`: which provider serves what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultsConfig {
    /// The default provider; may be left out when there is one provider.
    pub default: Option<String>,
    /// The provider of addressable leases; the default when left out.
    pub addressable: Option<String>,
    /// The provider of cluster nodes; the default when left out.
    pub cluster: Option<String>,
}

/// Every provider, by name, and the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceProviderConfig {
    /// `[defaults]`
    pub defaults: DefaultsConfig,
    /// `[providers.NAME]`
    pub providers: BTreeMap<String, ProviderConfig>,
}

/// The provider names a configuration resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDefaults {
    /// The default provider.
    pub default: String,
    /// The addressable provider.
    pub addressable: String,
    /// The cluster provider.
    pub cluster: String,
}

impl PersistenceProviderConfig {
    /// A builder.
    pub fn builder() -> PersistenceProviderConfigBuilder {
        PersistenceProviderConfigBuilder::default()
    }

    /// Whether no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Checks that the defaults name configured providers, and resolves
    /// them: the default is `[defaults] default`, or the only provider;
    /// addressable and cluster fall back to the default.
    pub fn resolve(&self) -> Result<ResolvedDefaults> {
        let known = |name: &String| -> Result<String> {
            if self.providers.contains_key(name) {
                Ok(name.clone())
            } else {
                Err(PersistenceError::UnknownProvider(name.clone()))
            }
        };
        let default = match &self.defaults.default {
            Some(name) => known(name)?,
            None => match (&self.defaults.addressable, &self.defaults.cluster, self.providers.len()) {
                (_, _, 1) => self.providers.keys().next().cloned().unwrap_or_default(),
                (Some(a), _, _) => known(a)?,
                (None, Some(c), _) => known(c)?,
                (None, None, 0) => {
                    return Err(PersistenceError::Config("no persistence providers are configured".into()));
                }
                (None, None, _) => {
                    return Err(PersistenceError::Config(
                        "several providers are configured: name one in [defaults] default, addressable or cluster"
                            .into(),
                    ));
                }
            },
        };
        let addressable = self.defaults.addressable.as_ref().map_or_else(|| Ok(default.clone()), known)?;
        let cluster = self.defaults.cluster.as_ref().map_or_else(|| Ok(default.clone()), known)?;
        Ok(ResolvedDefaults { default, addressable, cluster })
    }

    /// Applies `ORBIT_PERSISTENCE_BACKEND` (or, below it in precedence,
    /// `backend_setting`, the config file's `[server] persistence_backend`):
    /// the named backend becomes the default for everything. A provider of
    /// that name in the file is used, with any `ORBIT_<BACKEND>_<KEY>`
    /// variables overriding its keys; otherwise one is made from the
    /// variables and the type's defaults.
    pub fn apply_backend_selection(&mut self, vars: &[(String, String)], backend_setting: Option<&str>) -> Result<()> {
        let from_env = vars.iter().find(|(k, _)| k == "ORBIT_PERSISTENCE_BACKEND").map(|(_, v)| v.as_str());
        let Some(backend) = from_env.or(backend_setting) else { return Ok(()) };
        let kind = ProviderKind::from_backend_name(backend).ok_or_else(|| {
            let names: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.backend_name()).collect();
            PersistenceError::Config(format!(
                "unknown persistence backend {backend:?}; expected one of {}",
                names.join(", ")
            ))
        })?;
        let name = kind.backend_name().to_string();
        let base = match self.providers.get(&name) {
            Some(existing) => existing.clone(),
            None => ProviderConfig::default_of(kind).ok_or_else(|| {
                PersistenceError::Config(format!(
                    "backend {name} needs a [providers.{name}] section with its primary and backup"
                ))
            })?,
        };
        let config = env_overrides(base, kind, vars)?;
        self.providers.insert(name.clone(), config);
        self.defaults =
            DefaultsConfig { default: Some(name.clone()), addressable: Some(name.clone()), cluster: Some(name) };
        Ok(())
    }
}

/// Sets the keys of `base` that `ORBIT_<BACKEND>_<KEY>` variables give, each
/// parsed as the key's type (numbers, booleans, comma-separated lists; JSON
/// for nested keys such as `ORBIT_MEMORY_DISK_BACKUP`).
fn env_overrides(base: ProviderConfig, kind: ProviderKind, vars: &[(String, String)]) -> Result<ProviderConfig> {
    let prefix = format!("ORBIT_{}_", kind.backend_name().to_ascii_uppercase());
    let mut value = serde_json::to_value(&base).map_err(|e| PersistenceError::Config(e.to_string()))?;
    // The type's every key, with its default's JSON type.
    let template = ProviderConfig::default_of(kind).map(|c| serde_json::to_value(c).unwrap_or_default());
    let Some(object) = value.as_object_mut() else { return Ok(base) };
    for (var, raw) in vars {
        let Some(key) = var.strip_prefix(&prefix) else { continue };
        let key = key.to_ascii_lowercase();
        let shape = template.as_ref().and_then(|t| t.get(&key)).cloned().or_else(|| object.get(&key).cloned());
        let Some(shape) = shape else { continue };
        let bad = |detail: String| PersistenceError::Config(format!("{var}={raw:?}: {detail}"));
        let parsed = match shape {
            serde_json::Value::Bool(_) => {
                serde_json::Value::Bool(raw.trim().parse().map_err(|_| bad("expected true or false".into()))?)
            }
            serde_json::Value::Number(_) => serde_json::from_str(raw.trim())
                .ok()
                .filter(serde_json::Value::is_number)
                .ok_or_else(|| bad("expected a number".into()))?,
            serde_json::Value::Array(_) => serde_json::Value::Array(
                raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.into()).collect(),
            ),
            // Optional and nested keys: JSON when it parses as an object or
            // a scalar of another type, else the text.
            _ => match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v,
                _ => serde_json::Value::String(raw.clone()),
            },
        };
        object.insert(key, parsed);
    }
    serde_json::from_value(value).map_err(|e| PersistenceError::Config(format!("{prefix}*: {e}")))
}

/// Builds a [`PersistenceProviderConfig`] in code:
/// `PersistenceProviderConfig::builder().with_memory("memory", MemoryConfig::default(), true).build()`.
#[derive(Debug, Default)]
pub struct PersistenceProviderConfigBuilder {
    config: PersistenceProviderConfig,
}

macro_rules! with_kind {
    ($($(#[$doc:meta])* $method:ident => $variant:ident($cfg:ty);)*) => {$(
        $(#[$doc])*
        pub fn $method(self, name: impl Into<String>, config: $cfg, is_default: bool) -> Self {
            self.with_provider(name, ProviderConfig::$variant(config), is_default)
        }
    )*};
}

impl PersistenceProviderConfigBuilder {
    /// Adds a provider; `is_default` makes it the default.
    pub fn with_provider(mut self, name: impl Into<String>, config: ProviderConfig, is_default: bool) -> Self {
        let name = name.into();
        if is_default {
            self.config.defaults.default = Some(name.clone());
        }
        self.config.providers.insert(name, config);
        self
    }

    with_kind! {
        /// Adds a memory provider.
        with_memory => Memory(MemoryConfig);
        /// Adds a RocksDB provider.
        with_rocksdb => RocksDB(RocksDbConfig);
        /// Adds a composite provider.
        with_composite => Composite(CompositeConfig);
        /// Adds a COW B+tree provider.
        with_cow_btree => CowBTree(CowBTreeConfig);
        /// Adds an LSM-tree provider.
        with_lsm_tree => LsmTree(LsmTreeConfig);
        /// Adds an S3 provider.
        with_s3 => S3(S3Config);
        /// Adds an Azure provider.
        with_azure => Azure(AzureConfig);
        /// Adds a Google Cloud Storage provider.
        with_gcp => GoogleCloud(GoogleCloudConfig);
        /// Adds an etcd provider.
        with_etcd => Etcd(EtcdConfig);
        /// Adds a Redis provider.
        with_redis => Redis(RedisConfig);
        /// Adds a Kubernetes provider.
        with_kubernetes => Kubernetes(KubernetesConfig);
        /// Adds a MinIO provider.
        with_minio => MinIO(MinIOConfig);
        /// Adds a flash provider.
        with_flash => Flash(FlashConfig);
    }

    /// Names the provider of addressable leases.
    pub fn addressable_default(mut self, name: impl Into<String>) -> Self {
        self.config.defaults.addressable = Some(name.into());
        self
    }

    /// Names the provider of cluster nodes.
    pub fn cluster_default(mut self, name: impl Into<String>) -> Self {
        self.config.defaults.cluster = Some(name.into());
        self
    }

    /// The configuration, once its defaults resolve.
    pub fn build(self) -> Result<PersistenceProviderConfig> {
        self.config.resolve()?;
        Ok(self.config)
    }
}
