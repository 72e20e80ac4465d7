//! Restart, crash and group-commit behaviour of real stores.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use orbit_storage::kv::{
    Direction, EngineHealth, EngineStats, KeyRange, KvEngine, KvRead, KvSnapshot, MemoryEngine, RocksEngine,
    RocksOptions, Visitor, WriteBatch,
};
use orbit_storage::table::{ColumnDef, SelectQuery, TableSchema};
use orbit_storage::{
    DataType, Protocol, RocksResources, StorageError, Store, StoreOptions, SyncPolicy, TableStorage, Value, cf,
};

fn resources() -> RocksResources {
    RocksResources::new(8 << 20, 16 << 20).expect("resources")
}

fn open(dir: &Path, protocol: Protocol, sync: SyncPolicy) -> Store {
    let options = StoreOptions { sync, ..StoreOptions::default() };
    Store::open(protocol, dir, &options, &resources()).expect("open store")
}

fn list_families(path: &Path) -> Vec<String> {
    RocksEngine::list_column_families(path).expect("list column families")
}

#[test]
fn every_protocol_gets_its_own_store_with_its_families() {
    let dir = tempfile::tempdir().expect("tempdir");
    for p in Protocol::ALL {
        let store = open(dir.path(), p, SyncPolicy::Commit);
        let path = dir.path().join(p.name()).join("rocksdb");
        assert_eq!(store.path(), Some(path.as_path()));
        store.close().expect("close");
        drop(store);
        let on_disk = list_families(&path);
        for f in p.column_families().into_iter().chain(["default"]) {
            assert!(on_disk.iter().any(|x| x == f), "{p}: {f} not in {on_disk:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_rows_and_row_ids_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = TableSchema::new(
        "items",
        vec![ColumnDef::new("id", DataType::Integer).not_null(), ColumnDef::new("name", DataType::Text)],
        &["id"],
    );
    let log = TableSchema::new("log", vec![ColumnDef::new("line", DataType::Text)], &[]);
    {
        let store = open(dir.path(), Protocol::Postgresql, SyncPolicy::Commit);
        let t = store.tables();
        t.create_table(&schema).await.expect("create");
        t.create_table(&log).await.expect("create");
        for i in 0..100 {
            t.insert(None, "items", vec![Value::Int(i), Value::Text(format!("item {i}"))]).await.expect("insert");
        }
        t.insert(None, "log", vec![Value::Text("before".into())]).await.expect("insert");
        store.close().expect("close");
    }
    let store = open(dir.path(), Protocol::Postgresql, SyncPolicy::Commit);
    let t = store.tables();
    assert_eq!(t.get_table_schema("items").await.expect("schema"), Some(schema));
    assert_eq!(t.select(None, &SelectQuery::all("items")).await.expect("select").len(), 100);
    assert_eq!(
        t.get(None, "items", &[Value::Int(42)]).await.expect("get"),
        Some(vec![Value::Int(42), Value::Text("item 42".into())])
    );
    // Hidden row ids continue after the last one on disk, so order is kept.
    t.insert(None, "log", vec![Value::Text("after".into())]).await.expect("insert");
    let lines = t.select(None, &SelectQuery::all("log")).await.expect("select");
    assert_eq!(lines, vec![vec![Value::Text("before".into())], vec![Value::Text("after".into())]]);
}

#[test]
fn families_already_on_disk_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = Protocol::Redis.store_path(dir.path());
    {
        // A store written by some other version, with a family we don't know.
        let options = RocksOptions::new(vec!["legacy_family", cf::REDIS_METADATA], resources());
        let e = RocksEngine::open(&path, &options).expect("open");
        let mut b = WriteBatch::new();
        b.put("legacy_family", b"k".to_vec(), b"kept".to_vec());
        e.write(&b).expect("write");
        e.flush().expect("flush");
    }
    let store = open(dir.path(), Protocol::Redis, SyncPolicy::Commit);
    assert_eq!(store.engine().get("legacy_family", b"k").expect("get"), Some(b"kept".to_vec()));
    let families = store.engine().column_families();
    assert!(families.iter().any(|f| f == "legacy_family"));
    assert!(families.iter().any(|f| f == cf::REDIS_ZSET_SCORES), "missing families are created");
    drop(store);
    assert!(list_families(&path).contains(&"legacy_family".to_string()));
}

#[test]
fn a_second_open_of_one_store_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = open(dir.path(), Protocol::Mysql, SyncPolicy::Commit);
    let second = Store::open(Protocol::Mysql, dir.path(), &StoreOptions::default(), &resources());
    assert!(matches!(second, Err(orbit_storage::OpenError::Locked { .. })), "{second:?}");
}

/// An engine whose fsync is slow and counted, to make group commit observable.
#[derive(Debug)]
struct SlowSync {
    inner: MemoryEngine,
    syncs: AtomicU64,
    delay: Duration,
}

impl KvRead for SlowSync {
    fn get(&self, cf: &str, key: &[u8]) -> orbit_storage::Result<Option<Vec<u8>>> {
        self.inner.get(cf, key)
    }
    fn scan(&self, cf: &str, r: &KeyRange, d: Direction, v: &mut Visitor<'_>) -> orbit_storage::Result<()> {
        self.inner.scan(cf, r, d, v)
    }
}

impl KvEngine for SlowSync {
    fn write(&self, batch: &WriteBatch) -> orbit_storage::Result<()> {
        self.inner.write(batch)
    }
    fn snapshot(&self) -> Arc<dyn KvSnapshot> {
        self.inner.snapshot()
    }
    fn sync_wal(&self) -> orbit_storage::Result<()> {
        std::thread::sleep(self.delay);
        self.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn flush(&self) -> orbit_storage::Result<()> {
        Ok(())
    }
    fn compact(&self, cf: &str, r: &KeyRange) -> orbit_storage::Result<()> {
        self.inner.compact(cf, r)
    }
    fn checkpoint(&self, dest: &Path) -> orbit_storage::Result<()> {
        self.inner.checkpoint(dest)
    }
    fn column_families(&self) -> Vec<String> {
        self.inner.column_families()
    }
    fn is_persistent(&self) -> bool {
        false
    }
    fn health(&self) -> EngineHealth {
        EngineHealth::default()
    }
    fn stats(&self) -> EngineStats {
        EngineStats::default()
    }
}

fn slow_store(policy: SyncPolicy) -> (Store, Arc<SlowSync>) {
    let engine = Arc::new(SlowSync {
        inner: MemoryEngine::new(&Protocol::Redis.column_families()),
        syncs: AtomicU64::new(0),
        delay: Duration::from_millis(5),
    });
    let options = StoreOptions { sync: policy, ..StoreOptions::default() };
    let store = Store::with_engine(Protocol::Redis, engine.clone(), None, &options).expect("store");
    (store, engine)
}

fn put_and_wait(store: &Store, key: Vec<u8>) -> orbit_storage::Result<()> {
    let mut b = WriteBatch::new();
    b.put(cf::REDIS_METADATA, key, b"v".to_vec());
    let c = store.txns().write(b)?;
    store.durability().wait_blocking(c.ticket)
}

#[test]
fn concurrent_writers_share_fsyncs_and_each_waits_for_one() {
    let (store, engine) = slow_store(SyncPolicy::Commit);
    let store = Arc::new(store);
    let writers = 32u64;
    let per_writer = 20u64;
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    put_and_wait(&store, format!("{w}/{i}").into_bytes()).expect("write");
                    // Acknowledged means synced: the syncer has covered this write.
                    let (_, synced) = store.durability().progress();
                    assert!(synced >= 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let writes = writers * per_writer;
    let syncs = engine.syncs.load(Ordering::SeqCst);
    let (written, synced) = store.durability().progress();
    assert_eq!((written, synced), (writes, writes));
    assert!(syncs >= 1 && syncs * 4 < writes, "{syncs} fsyncs for {writes} writes: no group commit");
    assert_eq!(store.metrics().ops.wal_syncs, syncs);
}

#[test]
fn a_lone_writer_is_synced_before_acknowledgement() {
    let (store, engine) = slow_store(SyncPolicy::Commit);
    for i in 0..5u8 {
        put_and_wait(&store, vec![i]).expect("write");
        assert_eq!(engine.syncs.load(Ordering::SeqCst), u64::from(i) + 1);
    }
}

#[test]
fn interval_and_none_policies_acknowledge_without_waiting() {
    let (store, engine) = slow_store(SyncPolicy::Interval(Duration::from_millis(20)));
    let start = Instant::now();
    for i in 0..50u8 {
        put_and_wait(&store, vec![i]).expect("write");
    }
    assert_eq!(store.durability().progress().0, 50);
    // The background syncer catches up within a few intervals.
    while store.durability().progress().1 < 50 {
        assert!(start.elapsed() < Duration::from_secs(10), "interval syncer never caught up");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(engine.syncs.load(Ordering::SeqCst) >= 1);

    let (store, engine) = slow_store(SyncPolicy::None);
    for i in 0..50u8 {
        put_and_wait(&store, vec![i]).expect("write");
    }
    assert_eq!(engine.syncs.load(Ordering::SeqCst), 0);
    store.close().expect("close");
    assert_eq!(engine.syncs.load(Ordering::SeqCst), 1, "a clean close syncs once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_answer_with_writes_that_are_not_yet_durable() {
    let (store, engine) = slow_store(SyncPolicy::Commit);
    let store = Arc::new(store);
    let t = store.tables().clone();
    let schema = TableSchema::new("kv", vec![ColumnDef::new("k", DataType::BigInt).not_null()], &["k"]);
    t.create_table(&schema).await.expect("create");
    let syncs_before = engine.syncs.load(Ordering::SeqCst);
    let writer = {
        let t = t.clone();
        tokio::spawn(async move { t.insert(None, "kv", vec![Value::Int(1)]).await })
    };
    // Poll until the row shows; by then its fsync must have completed.
    loop {
        if t.get(None, "kv", &[Value::Int(1)]).await.expect("get").is_some() {
            let (written, synced) = store.durability().progress();
            assert_eq!(synced, written, "a reader saw a write before its fsync");
            assert!(engine.syncs.load(Ordering::SeqCst) > syncs_before);
            break;
        }
        tokio::task::yield_now().await;
    }
    writer.await.expect("task").expect("insert");
    assert_eq!(t.select(None, &SelectQuery::all("kv")).await.expect("select").len(), 1);
}

#[test]
fn a_closed_store_refuses_writes_instead_of_losing_them() {
    let (store, _) = slow_store(SyncPolicy::Commit);
    put_and_wait(&store, b"before".to_vec()).expect("write");
    store.close().expect("close");
    assert_eq!(put_and_wait(&store, b"after".to_vec()), Err(StorageError::Closed));
}

/// An engine whose fsync fails: the store must turn read-only, not pretend.
#[test]
fn a_failed_fsync_makes_the_store_read_only() {
    #[derive(Debug)]
    struct FailingSync(MemoryEngine);
    impl KvRead for FailingSync {
        fn get(&self, cf: &str, key: &[u8]) -> orbit_storage::Result<Option<Vec<u8>>> {
            self.0.get(cf, key)
        }
        fn scan(&self, cf: &str, r: &KeyRange, d: Direction, v: &mut Visitor<'_>) -> orbit_storage::Result<()> {
            self.0.scan(cf, r, d, v)
        }
    }
    impl KvEngine for FailingSync {
        fn write(&self, b: &WriteBatch) -> orbit_storage::Result<()> {
            self.0.write(b)
        }
        fn snapshot(&self) -> Arc<dyn KvSnapshot> {
            self.0.snapshot()
        }
        fn sync_wal(&self) -> orbit_storage::Result<()> {
            Err(StorageError::Engine("EIO".into()))
        }
        fn flush(&self) -> orbit_storage::Result<()> {
            Ok(())
        }
        fn compact(&self, cf: &str, r: &KeyRange) -> orbit_storage::Result<()> {
            self.0.compact(cf, r)
        }
        fn checkpoint(&self, d: &Path) -> orbit_storage::Result<()> {
            self.0.checkpoint(d)
        }
        fn column_families(&self) -> Vec<String> {
            self.0.column_families()
        }
        fn is_persistent(&self) -> bool {
            true
        }
        fn health(&self) -> EngineHealth {
            EngineHealth::default()
        }
        fn stats(&self) -> EngineStats {
            EngineStats::default()
        }
    }
    let engine = Arc::new(FailingSync(MemoryEngine::new(&Protocol::Redis.column_families())));
    let store = Store::with_engine(Protocol::Redis, engine, None, &StoreOptions::default()).expect("store");
    assert!(matches!(put_and_wait(&store, b"k".to_vec()), Err(StorageError::ReadOnly(_))));
    assert!(matches!(put_and_wait(&store, b"k2".to_vec()), Err(StorageError::ReadOnly(_))));
    assert_eq!(store.health().state, orbit_storage::HealthState::Unhealthy);
}

// ---- SIGKILL during writes -------------------------------------------------

const CHILD_DIR: &str = "ORBIT_CRASH_CHILD_DIR";
const CHILD_SYNC: &str = "ORBIT_CRASH_CHILD_SYNC";

/// Not a test on its own: the writer process the crash tests start and kill.
/// It prints `ack N` only after write N is acknowledged.
#[test]
#[ignore = "run by the crash tests as a child process"]
fn crash_writer_child() {
    use std::io::Write;
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let sync = match std::env::var(CHILD_SYNC).as_deref() {
        Ok("none") => SyncPolicy::None,
        _ => SyncPolicy::Commit,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = open(Path::new(&dir), Protocol::Postgresql, sync);
    let table = TableSchema::new(
        "acks",
        vec![ColumnDef::new("n", DataType::BigInt).not_null(), ColumnDef::new("pad", DataType::Text)],
        &["n"],
    );
    rt.block_on(store.tables().create_table(&table)).expect("create");
    let mut out = std::io::stdout().lock();
    for n in 0i64.. {
        // Alternate raw batches and table rows, so both paths are covered.
        if n % 2 == 0 {
            let mut b = WriteBatch::new();
            b.put(cf::SEQUENCES, n.to_be_bytes().to_vec(), vec![b'x'; 200]);
            let c = store.txns().write(b).expect("write");
            store.durability().wait_blocking(c.ticket).expect("durable");
        } else {
            let row = vec![Value::Int(n), Value::Text("p".repeat(200))];
            rt.block_on(store.tables().insert(None, "acks", row)).expect("insert");
        }
        writeln!(out, "ack {n}").expect("stdout");
        out.flush().expect("flush");
    }
}

fn kill_during_writes(sync: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_writer_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_SYNC, sync)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("stdout");
    let mut last_ack = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("ack ") {
            last_ack = Some(n.parse::<i64>().expect("number"));
            if last_ack >= Some(1500) || Instant::now() > deadline {
                break;
            }
        }
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL)
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the writer was killed, not finished");
    let last = last_ack.expect("the writer acknowledged writes before it was killed");
    assert!(last >= 100, "only {last} writes acknowledged");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = open(dir.path(), Protocol::Postgresql, SyncPolicy::Commit);
    for n in 0..=last {
        if n % 2 == 0 {
            let v = store.engine().get(cf::SEQUENCES, &n.to_be_bytes()).expect("get");
            assert!(v.is_some(), "acknowledged batch {n} of {last} lost");
        } else {
            let row = rt.block_on(store.tables().get(None, "acks", &[Value::Int(n)])).expect("get");
            assert!(row.is_some(), "acknowledged row {n} of {last} lost");
        }
    }
}

#[test]
fn sigkill_loses_no_acknowledged_write_with_commit_sync() {
    kill_during_writes("commit");
}

#[test]
fn sigkill_loses_no_acknowledged_write_without_fsync() {
    // A process crash leaves the OS page cache intact, so even `none` must
    // keep every acknowledged write.
    kill_during_writes("none");
}
