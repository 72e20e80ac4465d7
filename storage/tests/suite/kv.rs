//! Engine conformance: point ops, ordered scans, batches, snapshots,
//! maintenance.

use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

use orbit_storage::StorageError;
use orbit_storage::kv::{Direction, KeyRange, KvEngine, KvRead, WriteBatch};

use super::{CF_A, CF_B, Harness};

fn put(e: &dyn KvEngine, cf: &'static str, k: &[u8], v: &[u8]) {
    let mut b = WriteBatch::new();
    b.put(cf, k.to_vec(), v.to_vec());
    e.write(&b).expect("write");
}

fn collect(r: &dyn KvRead, cf: &str, range: &KeyRange, dir: Direction) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    r.scan(cf, range, dir, &mut |k, _| {
        out.push(k.to_vec());
        ControlFlow::Continue(())
    })
    .expect("scan");
    out
}

pub(crate) fn point_ops(h: Harness) {
    let e = h.engine.as_ref();
    assert_eq!(e.get(CF_A, b"k").expect("get"), None);
    put(e, CF_A, b"k", b"v1");
    put(e, CF_A, b"k", b"v2");
    assert_eq!(e.get(CF_A, b"k").expect("get"), Some(b"v2".to_vec()));
    assert_eq!(e.get(CF_B, b"k").expect("get"), None, "families are separate");
    let mut b = WriteBatch::new();
    b.delete(CF_A, b"k".to_vec());
    e.write(&b).expect("delete");
    assert_eq!(e.get(CF_A, b"k").expect("get"), None);
    // Empty keys and values, and binary bytes, are ordinary data.
    put(e, CF_A, b"", b"");
    put(e, CF_A, &[0, 0xFF, 0], &[0xFF]);
    assert_eq!(e.get(CF_A, b"").expect("get"), Some(vec![]));
    assert_eq!(e.get(CF_A, &[0, 0xFF, 0]).expect("get"), Some(vec![0xFF]));
}

pub(crate) fn unknown_family_is_an_error(h: Harness) {
    let e = h.engine.as_ref();
    assert!(matches!(e.get("nope", b"k"), Err(StorageError::UnknownColumnFamily(_))));
    let mut b = WriteBatch::new();
    b.put(CF_A, b"k".to_vec(), b"v".to_vec());
    b.put("nope", b"k".to_vec(), b"v".to_vec());
    assert!(e.write(&b).is_err());
    assert_eq!(e.get(CF_A, b"k").expect("get"), None, "a failed batch writes nothing");
}

pub(crate) fn batches_are_atomic_across_families(h: Harness) {
    let e = h.engine.as_ref();
    put(e, CF_B, b"gone", b"x");
    let mut b = WriteBatch::new();
    b.put(CF_A, b"a".to_vec(), b"1".to_vec());
    b.put(CF_B, b"b".to_vec(), b"2".to_vec());
    b.delete(CF_B, b"gone".to_vec());
    b.put(CF_A, b"a".to_vec(), b"3".to_vec());
    let snap = e.snapshot();
    e.write(&b).expect("write");
    assert_eq!(e.get(CF_A, b"a").expect("get"), Some(b"3".to_vec()), "later ops in a batch win");
    assert_eq!(e.get(CF_B, b"b").expect("get"), Some(b"2".to_vec()));
    assert_eq!(e.get(CF_B, b"gone").expect("get"), None);
    assert_eq!(snap.get(CF_A, b"a").expect("get"), None);
    assert_eq!(snap.get(CF_B, b"gone").expect("get"), Some(b"x".to_vec()));
}

pub(crate) fn scans_respect_bounds_and_direction(h: Harness) {
    let e = h.engine.as_ref();
    for k in [b"a".as_slice(), b"b", b"ba", b"bb", b"c", b"d"] {
        put(e, CF_A, k, b"v");
    }
    put(e, CF_B, b"b", b"other family");
    let keys = |v: &[&[u8]]| v.iter().map(|k| k.to_vec()).collect::<Vec<_>>();
    assert_eq!(collect(e, CF_A, &KeyRange::all(), Direction::Forward), keys(&[b"a", b"b", b"ba", b"bb", b"c", b"d"]));
    assert_eq!(collect(e, CF_A, &KeyRange::all(), Direction::Reverse), keys(&[b"d", b"c", b"bb", b"ba", b"b", b"a"]));
    assert_eq!(collect(e, CF_A, &KeyRange::prefix(b"b"), Direction::Forward), keys(&[b"b", b"ba", b"bb"]));
    assert_eq!(collect(e, CF_A, &KeyRange::prefix(b"b"), Direction::Reverse), keys(&[b"bb", b"ba", b"b"]));
    let r = KeyRange { start: Bound::Excluded(b"b".to_vec()), end: Bound::Included(b"c".to_vec()) };
    assert_eq!(collect(e, CF_A, &r, Direction::Forward), keys(&[b"ba", b"bb", b"c"]));
    assert_eq!(collect(e, CF_A, &r, Direction::Reverse), keys(&[b"c", b"bb", b"ba"]));
    let r = KeyRange { start: Bound::Included(b"b".to_vec()), end: Bound::Excluded(b"c".to_vec()) };
    assert_eq!(collect(e, CF_A, &r, Direction::Reverse), keys(&[b"bb", b"ba", b"b"]));
    let r = KeyRange { start: Bound::Unbounded, end: Bound::Excluded(b"b".to_vec()) };
    assert_eq!(collect(e, CF_A, &r, Direction::Forward), keys(&[b"a"]));
    let empty = KeyRange { start: Bound::Included(b"c".to_vec()), end: Bound::Excluded(b"a".to_vec()) };
    assert!(collect(e, CF_A, &empty, Direction::Forward).is_empty());
    // The visitor stops the scan.
    let mut seen = 0;
    e.scan(CF_A, &KeyRange::all(), Direction::Reverse, &mut |_, _| {
        seen += 1;
        if seen == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .expect("scan");
    assert_eq!(seen, 2);
}

pub(crate) fn range_deletes(h: Harness) {
    let e = h.engine.as_ref();
    for i in 0u8..10 {
        put(e, CF_A, &[i], b"v");
    }
    let mut b = WriteBatch::new();
    b.delete_range(CF_A, vec![3], vec![7]);
    e.write(&b).expect("write");
    let left = collect(e, CF_A, &KeyRange::all(), Direction::Forward);
    assert_eq!(left, vec![vec![0], vec![1], vec![2], vec![7], vec![8], vec![9]]);
}

pub(crate) fn snapshots_are_frozen(h: Harness) {
    let e = h.engine.as_ref();
    put(e, CF_A, b"k1", b"old");
    let snap = e.snapshot();
    put(e, CF_A, b"k1", b"new");
    put(e, CF_A, b"k2", b"new");
    assert_eq!(snap.get(CF_A, b"k1").expect("get"), Some(b"old".to_vec()));
    assert_eq!(snap.get(CF_A, b"k2").expect("get"), None);
    assert_eq!(collect(snap.as_ref(), CF_A, &KeyRange::all(), Direction::Forward), vec![b"k1".to_vec()]);
    assert_eq!(e.get(CF_A, b"k1").expect("get"), Some(b"new".to_vec()));
    // A snapshot stays valid on another thread and after the engine handle it came from is gone.
    let engine = h.engine.clone();
    let snap2 = engine.snapshot();
    drop(engine);
    let got = std::thread::spawn(move || snap2.get(CF_A, b"k2").expect("get")).join().expect("thread");
    assert_eq!(got, Some(b"new".to_vec()));
}

pub(crate) fn maintenance_keeps_data(h: Harness) {
    let e = h.engine.as_ref();
    for i in 0u32..1000 {
        put(e, CF_A, &i.to_be_bytes(), &[7; 100]);
    }
    let mut b = WriteBatch::new();
    b.delete_range(CF_A, 0u32.to_be_bytes().to_vec(), 500u32.to_be_bytes().to_vec());
    e.write(&b).expect("write");
    e.flush().expect("flush");
    e.sync_wal().expect("sync");
    e.compact(CF_A, &KeyRange::all()).expect("compact");
    assert_eq!(collect(e, CF_A, &KeyRange::all(), Direction::Forward).len(), 500);
    assert_eq!(e.get(CF_A, &999u32.to_be_bytes()).expect("get"), Some(vec![7; 100]));
    let families = e.column_families();
    for f in ["default", CF_A, CF_B] {
        assert!(families.iter().any(|x| x == f), "{f} missing from {families:?}");
    }
    assert!(e.stats().approximate_keys > 0);
    assert_eq!(e.health().background_error, None);
}

pub(crate) fn checkpoints_copy_everything(h: Harness) {
    let e = h.engine.as_ref();
    put(e, CF_A, b"k", b"v");
    put(e, CF_B, b"k2", b"v2");
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("copy");
    match e.checkpoint(&dest) {
        Ok(()) => {
            assert!(e.is_persistent());
            let opts = orbit_storage::kv::RocksOptions::new(
                vec![CF_A, CF_B],
                orbit_storage::RocksResources::new(1 << 20, 1 << 20).expect("resources"),
            );
            let copy = orbit_storage::kv::RocksEngine::open(&dest, &opts).expect("checkpoint opens");
            assert_eq!(copy.get(CF_A, b"k").expect("get"), Some(b"v".to_vec()));
            assert_eq!(copy.get(CF_B, b"k2").expect("get"), Some(b"v2".to_vec()));
        }
        Err(StorageError::Unsupported(_)) => assert!(!e.is_persistent()),
        Err(other) => panic!("checkpoint failed: {other}"),
    }
}

pub(crate) fn concurrent_writers(h: Harness) {
    let threads: Vec<_> = (0u8..8)
        .map(|t| {
            let e: Arc<dyn KvEngine> = h.engine.clone();
            std::thread::spawn(move || {
                for i in 0u16..300 {
                    let mut b = WriteBatch::new();
                    let k = [&[t][..], &i.to_be_bytes()].concat();
                    b.put(CF_A, k.clone(), k.clone());
                    b.put(CF_B, k.clone(), k);
                    e.write(&b).expect("write");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let a = collect(h.engine.as_ref(), CF_A, &KeyRange::all(), Direction::Forward);
    let b = collect(h.engine.as_ref(), CF_B, &KeyRange::all(), Direction::Forward);
    assert_eq!(a.len(), 8 * 300);
    assert_eq!(a, b);
}

/// What a read confined to memory gives: the value, or `None` when the
/// engine refused (it would have read a file).
fn cached_or_refused<T>(r: orbit_storage::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(StorageError::Uncached) => None,
        Err(e) => panic!("a cached read failed: {e}"),
    }
}

fn collect_cached(
    s: &dyn orbit_storage::kv::KvSnapshot,
    cf: &str,
    range: &KeyRange,
    dir: Direction,
) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let flow = s.scan_cached(cf, range, dir, &mut |k, _| {
        out.push(k.to_vec());
        ControlFlow::Continue(())
    });
    cached_or_refused(flow).map(|()| out)
}

/// Reads confined to memory agree with ordinary reads wherever they answer;
/// a persistent engine refuses them for data only in its files, and answers
/// once an ordinary read has brought the data in.
pub(crate) fn cached_reads_answer_from_memory_or_refuse(h: Harness) {
    let e = h.engine.as_ref();
    for i in 0..50u8 {
        put(e, CF_A, &[b'k', i], &[i]);
    }
    let all = KeyRange::all();
    let s = e.snapshot();
    // Fresh writes sit in memory on every engine.
    assert_eq!(cached_or_refused(s.get_cached(CF_A, &[b'k', 7])), Some(Some(vec![7])));
    assert_eq!(cached_or_refused(s.get_cached(CF_A, b"missing")), Some(None));
    assert_eq!(
        collect_cached(s.as_ref(), CF_A, &all, Direction::Reverse),
        Some(collect(s.as_ref(), CF_A, &all, Direction::Reverse))
    );
    assert!(matches!(s.get_cached("nope", b"k"), Err(StorageError::UnknownColumnFamily(_))));

    e.flush().expect("flush");
    let s = e.snapshot();
    let cold_get = cached_or_refused(s.get_cached(CF_A, &[b'k', 9]));
    let cold_scan = collect_cached(s.as_ref(), CF_A, &all, Direction::Forward);
    if e.is_persistent() {
        assert_eq!(cold_get, None, "a flushed row is only in a table file until read");
        assert_eq!(cold_scan, None, "so is a flushed range");
    } else {
        assert_eq!(cold_get, Some(Some(vec![9])));
    }
    // An ordinary read brings the block into the cache.
    assert_eq!(s.get(CF_A, &[b'k', 9]).expect("get"), Some(vec![9]));
    assert_eq!(cached_or_refused(s.get_cached(CF_A, &[b'k', 9])), Some(Some(vec![9])));
    assert_eq!(
        collect_cached(s.as_ref(), CF_A, &all, Direction::Forward),
        Some(collect(s.as_ref(), CF_A, &all, Direction::Forward))
    );

    // A range of thousands of deleted rows: RocksDB gives up stepping over
    // them from memory rather than hold the caller; memory just scans.
    let graveyard = KeyRange::prefix(b"g");
    let mut b = WriteBatch::new();
    for i in 0..5000u32 {
        b.put(CF_B, [b"g".as_slice(), &i.to_be_bytes()].concat(), b"x".to_vec());
    }
    e.write(&b).expect("fill");
    let mut b = WriteBatch::new();
    for i in 0..5000u32 {
        b.delete(CF_B, [b"g".as_slice(), &i.to_be_bytes()].concat());
    }
    b.put(CF_B, b"gz".to_vec(), b"last".to_vec());
    e.write(&b).expect("empty");
    let s = e.snapshot();
    let found = collect_cached(s.as_ref(), CF_B, &graveyard, Direction::Forward);
    if e.is_persistent() {
        assert_eq!(found, None);
    } else {
        assert_eq!(found, Some(vec![b"gz".to_vec()]));
    }
    assert_eq!(collect(s.as_ref(), CF_B, &graveyard, Direction::Forward), vec![b"gz".to_vec()]);
}
