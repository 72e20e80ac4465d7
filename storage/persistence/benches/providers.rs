//! Provider latency: `cargo bench -p orbit-persistence --bench providers`.
//!
//! Write (`store_lease`), read (`get_lease`) and delete (`remove_lease`) of
//! one lease, through the async provider API, on every provider built, in
//! one process so that the ratios between them hold. Criterion reports each
//! operation's mean and median; the p50 and p99 of the individual
//! operations are printed after each group. Figures go in the README.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use orbit_persistence::{
    AddressableLease, AddressableReference, CompositeConfig, CompositeProvider, MemoryConfig, MemoryStore, NodeId,
    Provider, ProviderConfig, RocksDbConfig, RocksStore, StoreProvider,
};
use tokio::runtime::Runtime;

// The server's allocator, so that the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Leases in each working set.
const KEYS: usize = 10_000;

fn lease(i: usize) -> AddressableLease {
    let now = Utc::now();
    AddressableLease {
        reference: AddressableReference::new("actor", format!("key-{i}")),
        node_id: NodeId::from("bench-node"),
        renewed_at: now,
        expires_at: now + chrono::Duration::hours(1),
    }
}

fn providers(dir: &std::path::Path) -> Vec<(&'static str, Arc<dyn Provider>)> {
    let memory = || -> Arc<dyn Provider> {
        Arc::new(StoreProvider::new(
            "memory",
            MemoryStore::new("memory", MemoryConfig { max_entries: 1_000_000, disk_backup: None }),
        ))
    };
    let rocks_with = |name: &str, config: RocksDbConfig| -> Arc<dyn Provider> {
        let store = RocksStore::new(name, dir.join(name), config).expect("rocksdb");
        Arc::new(StoreProvider::new(name, store))
    };
    let rocks = |name: &str| rocks_with(name, RocksDbConfig::default());
    let mem_cfg = || Box::new(ProviderConfig::Memory(MemoryConfig::default()));
    let composite_cfg = CompositeConfig {
        sync_interval: 60,
        health_check_interval: 30,
        failover_threshold: 3,
        primary: mem_cfg(),
        backup: mem_cfg(),
    };
    let composite: Arc<dyn Provider> =
        Arc::new(CompositeProvider::new("composite", &composite_cfg, memory(), rocks("composite-backup")));
    // Without its read cache, every RocksDB read goes to a blocking thread.
    let uncached = rocks_with("rocksdb-uncached", RocksDbConfig { cache_entries: 0, ..Default::default() });
    vec![("memory", memory()), ("rocksdb", rocks("rocksdb")), ("rocksdb-uncached", uncached), ("composite", composite)]
}

/// Percentile of sorted samples, in microseconds.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn report(name: &str, op: &str, mut samples: Vec<Duration>) {
    if samples.is_empty() {
        // Filtered out on the command line.
        return;
    }
    samples.sort_unstable();
    println!(
        "{name}/{op}: p50 {:.2} µs, p99 {:.2} µs ({} operations)",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.len()
    );
}

fn provider_latency(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, p) in providers(dir.path()) {
        rt.block_on(p.initialize()).expect("initialize");
        let leases: Vec<AddressableLease> = (0..KEYS).map(lease).collect();
        rt.block_on(p.store_leases_bulk(&leases)).expect("load");
        let mut g = c.benchmark_group(format!("provider/{name}"));
        let mut next = 0usize;
        let mut pick = || {
            next = (next + 7919) % KEYS;
            next
        };

        let mut samples = Vec::new();
        g.bench_function("write", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let l = &leases[pick()];
                        let t = Instant::now();
                        p.store_lease(l).await.expect("store");
                        let d = t.elapsed();
                        samples.push(d);
                        total += d;
                    }
                    total
                })
            })
        });
        report(name, "write", std::mem::take(&mut samples));

        g.bench_function("read", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = &leases[pick()].reference;
                        let t = Instant::now();
                        black_box(p.get_lease(r).await.expect("get"));
                        let d = t.elapsed();
                        samples.push(d);
                        total += d;
                    }
                    total
                })
            })
        });
        report(name, "read", std::mem::take(&mut samples));

        g.bench_function("delete", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // Each delete removes a lease that exists: put it
                        // back first, outside the timing.
                        let l = &leases[pick()];
                        p.store_lease(l).await.expect("store");
                        let t = Instant::now();
                        black_box(p.remove_lease(&l.reference).await.expect("remove"));
                        let d = t.elapsed();
                        samples.push(d);
                        total += d;
                    }
                    total
                })
            })
        });
        report(name, "delete", std::mem::take(&mut samples));
        g.finish();
        rt.block_on(p.shutdown()).expect("shutdown");
    }
}

criterion_group!(benches, provider_latency);
criterion_main!(benches);
