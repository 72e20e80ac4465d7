//! State shared by every connection and the engine: configuration, the
//! client registry (CLIENT LIST / KILL, INFO clients) and server counters.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::config::{RedisConfig, User};
use crate::engine::state::Stats;
use crate::pubsub::PubSub;

/// A connection's id, as CLIENT ID reports it.
pub(crate) type ClientId = u64;

/// What CLIENT LIST shows about a connection.
#[derive(Debug, Clone)]
pub(crate) struct ClientInfo {
    pub id: ClientId,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    pub connected: Instant,
    pub last_interaction: Instant,
    pub db: u8,
    pub resp: u8,
    pub subscriptions: usize,
    pub patterns: usize,
    pub in_multi: bool,
    pub blocked: bool,
    pub last_command: &'static str,
    pub user: String,
}

/// A registered connection.
#[derive(Debug)]
pub(crate) struct ClientEntry {
    pub info: Mutex<ClientInfo>,
    /// Cancelled by CLIENT KILL or shutdown.
    pub kill: CancellationToken,
}

/// Counters that are not the engine's.
#[derive(Debug, Default)]
pub(crate) struct ServerStats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
}

/// Everything connections share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: RedisConfig,
    /// Users AUTH accepts; CONFIG SET requirepass changes the default user's.
    pub users: RwLock<Vec<User>>,
    /// Largest bulk string accepted; CONFIG SET proto-max-bulk-len changes it.
    pub max_bulk_len: AtomicUsize,
    pub clients: DashMap<ClientId, Arc<ClientEntry>>,
    next_client_id: AtomicU64,
    pub pubsub: PubSub,
    pub stats: ServerStats,
    /// Counts of the reads connections served themselves, until the engine
    /// absorbs them into its own (for INFO).
    pub read_stats: Mutex<Stats>,
    pub started: Instant,
    /// A random id for INFO's run_id.
    pub run_id: String,
    /// The bound port, for INFO.
    pub port: AtomicU64,
    /// Cancelled when the server shuts down (SHUTDOWN or a signal).
    pub shutdown: CancellationToken,
    /// Key metadata connections read without a RocksDB lookup.
    pub read_cache: crate::engine::readcache::ReadCache,
}

impl Shared {
    pub(crate) fn new(config: RedisConfig) -> Self {
        Shared {
            users: RwLock::new(config.users.clone()),
            max_bulk_len: AtomicUsize::new(config.max_bulk_len),
            clients: DashMap::new(),
            next_client_id: AtomicU64::new(1),
            pubsub: PubSub::default(),
            stats: ServerStats::default(),
            read_stats: Mutex::new(Stats::default()),
            started: Instant::now(),
            run_id: (0..40).map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16usize)])).collect(),
            port: AtomicU64::new(0),
            shutdown: CancellationToken::new(),
            read_cache: crate::engine::readcache::ReadCache::new(config.cache_bytes / 2),
            config,
        }
    }

    /// Whether clients must authenticate.
    pub(crate) fn auth_required(&self) -> bool {
        !self.users.read().is_empty()
    }

    /// Whether `user` / `password` is a valid pair.
    pub(crate) fn check_password(&self, user: &str, password: &[u8]) -> bool {
        self.users.read().iter().any(|u| u.name == user && u.password.as_bytes() == password)
    }

    /// A new client id.
    pub(crate) fn next_id(&self) -> ClientId {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Number of clients blocked in BLPOP and friends.
    pub(crate) fn blocked_clients(&self) -> usize {
        self.clients.iter().filter(|c| c.info.lock().blocked).count()
    }
}
