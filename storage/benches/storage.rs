//! Storage engine benchmarks: `cargo bench -p orbit-storage`.
//!
//! Point writes and reads through each layer (engine, transactions, tables
//! with and without the hot tier) on the memory and RocksDB engines, and
//! group commit under concurrent writers. Figures go in the README.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use orbit_storage::kv::{KvEngine, MemoryEngine, RocksEngine, RocksOptions, WriteBatch};
use orbit_storage::table::{CmpOp, ColumnDef, Filter, SelectQuery, TableSchema};
use orbit_storage::{DataType, Protocol, RocksResources, Store, StoreOptions, SyncPolicy, TableStorage, Value, cf};

fn rocks(dir: &std::path::Path) -> Arc<dyn KvEngine> {
    let resources = RocksResources::new(64 << 20, 64 << 20).expect("resources");
    Arc::new(
        RocksEngine::open(dir, &RocksOptions::new(Protocol::Postgresql.column_families(), resources)).expect("open"),
    )
}

fn engines(dir: &std::path::Path) -> Vec<(&'static str, Arc<dyn KvEngine>)> {
    vec![("memory", Arc::new(MemoryEngine::new(&Protocol::Postgresql.column_families()))), ("rocksdb", rocks(dir))]
}

/// Keys in each benchmark's working set: small enough that the figures show
/// the code path rather than the machine's cache misses.
const KEYS: u64 = 10_000;

fn engine_point_ops(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, e) in engines(dir.path()) {
        for i in 0..KEYS {
            let mut batch = WriteBatch::new();
            batch.put(cf::TABLE_ROWS, i.to_be_bytes().to_vec(), vec![7u8; 100]);
            e.write(&batch).expect("write");
        }
        let mut g = c.benchmark_group(format!("engine/{name}"));
        let mut i = 0u64;
        let mut next = || {
            i = (i + 7919) % KEYS;
            i.to_be_bytes().to_vec()
        };
        g.bench_function("put", |b| {
            b.iter(|| {
                let mut batch = WriteBatch::new();
                batch.put(cf::TABLE_ROWS, next(), vec![7u8; 100]);
                e.write(&batch).expect("write");
            })
        });
        g.bench_function("get", |b| b.iter(|| black_box(e.get(cf::TABLE_ROWS, &next()).expect("get"))));
        g.bench_function("delete", |b| {
            b.iter(|| {
                let mut batch = WriteBatch::new();
                batch.delete(cf::TABLE_ROWS, next());
                e.write(&batch).expect("delete");
            })
        });
        g.finish();
    }
}

fn table_ops(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = TableSchema::new(
        "t",
        vec![ColumnDef::new("id", DataType::BigInt).not_null(), ColumnDef::new("v", DataType::Text)],
        &["id"],
    );
    for (name, engine) in engines(dir.path()) {
        for hot in [0usize, 100_000] {
            let options = StoreOptions { sync: SyncPolicy::None, hot_tier_rows: hot, ..StoreOptions::default() };
            let store = Store::with_engine(Protocol::Postgresql, engine.clone(), None, &options).expect("store");
            let t = store.tables();
            let table = format!("t{hot}");
            rt.block_on(t.create_table(&TableSchema { name: table.clone(), ..schema.clone() })).expect("create");
            for i in 0..KEYS as i64 {
                rt.block_on(t.insert(None, &table, vec![Value::Int(i), Value::Text("x".repeat(100))])).expect("insert");
            }
            let mut g = c.benchmark_group(format!("table/{name}/hot_tier_{hot}"));
            let mut i = 0i64;
            g.bench_function("get", |b| {
                b.iter(|| {
                    i = (i + 7919) % KEYS as i64;
                    black_box(rt.block_on(t.get(None, &table, &[Value::Int(i)])).expect("get"));
                })
            });
            // A hundred-row primary-key range, as sysbench's range queries.
            g.bench_function("range_100", |b| {
                b.iter(|| {
                    i = (i + 7919) % (KEYS as i64 - 100);
                    let q = SelectQuery::all(table.as_str()).filter(Filter::And(vec![
                        Filter::cmp("id", CmpOp::GtEq, Value::Int(i)),
                        Filter::cmp("id", CmpOp::Lt, Value::Int(i + 100)),
                    ]));
                    black_box(rt.block_on(t.select(None, &q)).expect("range"));
                })
            });
            g.bench_function("upsert", |b| {
                b.iter(|| {
                    i = (i + 7919) % KEYS as i64;
                    let row = vec![Value::Int(i), Value::Text("y".repeat(100))];
                    rt.block_on(t.upsert(None, &table, row)).expect("upsert");
                })
            });
            g.finish();
        }
    }
}

/// Writers × writes per second with fsync on commit: group commit shows as
/// throughput that grows with writers while fsyncs per write fall.
fn group_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("group_commit/rocksdb");
    g.sample_size(10);
    for writers in [1usize, 8, 32] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions { sync: SyncPolicy::Commit, ..StoreOptions::default() };
        let store = Arc::new(Store::with_engine(Protocol::Redis, rocks(dir.path()), None, &options).expect("store"));
        g.bench_function(format!("{writers}_writers_x_50_commits"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for w in 0..writers {
                            let store = store.clone();
                            s.spawn(move || {
                                for i in 0..50u64 {
                                    let mut batch = WriteBatch::new();
                                    batch.put(cf::SEQUENCES, format!("{w}/{i}").into_bytes(), vec![1u8; 64]);
                                    let c = store.txns().write(batch).expect("write");
                                    store.durability().wait_blocking(c.ticket).expect("durable");
                                }
                            });
                        }
                    });
                    total += start.elapsed();
                }
                total
            })
        });
        let m = store.metrics().ops;
        eprintln!(
            "group_commit {writers} writers: {} writes, {} fsyncs ({:.1} writes per fsync)",
            m.writes,
            m.wal_syncs,
            m.writes as f64 / m.wal_syncs.max(1) as f64
        );
    }
    g.finish();
}

criterion_group!(benches, engine_point_ops, table_ops, group_commit);
criterion_main!(benches);
