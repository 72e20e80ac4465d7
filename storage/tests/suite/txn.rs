//! Transaction conformance: snapshot reads, own writes, conflicts.

use std::ops::ControlFlow;
use std::sync::Arc;

use orbit_storage::StorageError;
use orbit_storage::SyncPolicy;
use orbit_storage::durability::Durability;
use orbit_storage::kv::{Direction, KeyRange, WriteBatch};
use orbit_storage::txn::{KvTxn, TxnManager};

use super::{CF_A, Harness};

fn manager(h: &Harness) -> Arc<TxnManager> {
    let durability = Arc::new(Durability::start(h.engine.clone(), SyncPolicy::Commit, "test").expect("syncer"));
    TxnManager::new(h.engine.clone(), durability)
}

fn write(m: &TxnManager, k: &[u8], v: &[u8]) {
    let mut b = WriteBatch::new();
    b.put(CF_A, k.to_vec(), v.to_vec());
    let c = m.write(b).expect("write");
    m.durability().wait_blocking(c.ticket).expect("durable");
}

fn scan(t: &KvTxn, range: &KeyRange, dir: Direction) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    t.scan(CF_A, range, dir, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        ControlFlow::Continue(())
    })
    .expect("scan");
    out
}

fn kv(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

pub(crate) fn reads_see_own_writes_merged_in_order(h: Harness) {
    let m = manager(&h);
    for k in ["a", "c", "e", "g"] {
        write(&m, k.as_bytes(), b"disk");
    }
    let mut t = m.begin();
    t.put(CF_A, b"b".to_vec(), b"mine".to_vec());
    t.put(CF_A, b"c".to_vec(), b"mine".to_vec());
    t.delete(CF_A, b"e".to_vec());
    t.put(CF_A, b"h".to_vec(), b"mine".to_vec());
    assert_eq!(t.get(CF_A, b"c").expect("get"), Some(b"mine".to_vec()));
    assert_eq!(t.get(CF_A, b"e").expect("get"), None);
    let want = vec![kv("a", "disk"), kv("b", "mine"), kv("c", "mine"), kv("g", "disk"), kv("h", "mine")];
    assert_eq!(scan(&t, &KeyRange::all(), Direction::Forward), want);
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(scan(&t, &KeyRange::all(), Direction::Reverse), rev);
    assert_eq!(scan(&t, &KeyRange::half_open(b"b".to_vec(), b"g".to_vec()), Direction::Forward), want[1..3].to_vec());
    // A range delete hides disk rows and earlier own writes, but not later ones.
    t.delete_range(CF_A, b"a".to_vec(), b"d".to_vec());
    t.put(CF_A, b"b".to_vec(), b"again".to_vec());
    assert_eq!(
        scan(&t, &KeyRange::all(), Direction::Forward),
        vec![kv("b", "again"), kv("g", "disk"), kv("h", "mine")]
    );
    assert_eq!(t.get(CF_A, b"c").expect("get"), None);
    t.commit().expect("commit");
    let after = m.begin();
    assert_eq!(
        scan(&after, &KeyRange::all(), Direction::Forward),
        vec![kv("b", "again"), kv("g", "disk"), kv("h", "mine")]
    );
}

pub(crate) fn snapshot_isolation(h: Harness) {
    let m = manager(&h);
    write(&m, b"k", b"v1");
    let t = m.begin();
    write(&m, b"k", b"v2");
    write(&m, b"new", b"x");
    assert_eq!(t.get(CF_A, b"k").expect("get"), Some(b"v1".to_vec()));
    assert_eq!(t.get(CF_A, b"new").expect("get"), None);
    assert_eq!(scan(&t, &KeyRange::all(), Direction::Forward), vec![kv("k", "v1")]);
    assert_eq!(t.commit().expect("read-only commit"), None);
}

pub(crate) fn write_write_conflicts_are_detected(h: Harness) {
    let m = manager(&h);
    write(&m, b"k", b"0");
    let mut t1 = m.begin();
    let mut t2 = m.begin();
    t1.put(CF_A, b"k".to_vec(), b"1".to_vec());
    t2.put(CF_A, b"k".to_vec(), b"2".to_vec());
    t2.put(CF_A, b"other".to_vec(), b"2".to_vec());
    t1.commit().expect("first committer wins");
    assert_eq!(t2.commit(), Err(StorageError::WriteConflict));
    let t = m.begin();
    assert_eq!(t.get(CF_A, b"k").expect("get"), Some(b"1".to_vec()));
    assert_eq!(t.get(CF_A, b"other").expect("get"), None, "the loser wrote nothing");
    // Disjoint keys do not conflict.
    let mut a = m.begin();
    let mut b = m.begin();
    a.put(CF_A, b"x".to_vec(), b"a".to_vec());
    b.put(CF_A, b"y".to_vec(), b"b".to_vec());
    a.commit().expect("a");
    b.commit().expect("b");
}

pub(crate) fn watched_keys_and_ranges_conflict(h: Harness) {
    let m = manager(&h);
    let mut t = m.begin();
    t.watch(CF_A, b"w".to_vec());
    t.put(CF_A, b"unrelated".to_vec(), b"v".to_vec());
    write(&m, b"w", b"changed");
    assert_eq!(t.commit(), Err(StorageError::WriteConflict));

    let mut t = m.begin();
    t.delete_range(CF_A, b"m".to_vec(), b"p".to_vec());
    write(&m, b"n", b"inserted meanwhile");
    assert_eq!(t.commit(), Err(StorageError::WriteConflict));

    let mut t = m.begin();
    t.put(CF_A, b"n".to_vec(), b"mine".to_vec());
    let mut wipe = WriteBatch::new();
    wipe.delete_range(CF_A, b"a".to_vec(), b"z".to_vec());
    m.write(wipe).expect("wipe");
    assert_eq!(t.commit(), Err(StorageError::WriteConflict));
}

/// READ COMMITTED's per-statement refresh sees newer commits, but never
/// carries an earlier write past a commit that overwrote it meanwhile.
pub(crate) fn refresh_sees_new_commits_but_keeps_conflicts(h: Harness) {
    let m = manager(&h);
    write(&m, b"k", b"0");
    let mut t = m.begin();
    t.put(CF_A, b"mine".to_vec(), b"1".to_vec());
    write(&m, b"k", b"1");
    t.refresh().expect("nothing of ours was touched");
    assert_eq!(t.get(CF_A, b"k").expect("get"), Some(b"1".to_vec()), "the new commit is visible");
    assert_eq!(t.get(CF_A, b"mine").expect("get"), Some(b"1".to_vec()), "own writes are kept");
    write(&m, b"mine", b"theirs");
    assert_eq!(t.refresh(), Err(StorageError::WriteConflict));
    assert_eq!(t.commit(), Err(StorageError::WriteConflict), "still refused at commit");
    assert_eq!(m.begin().get(CF_A, b"mine").expect("get"), Some(b"theirs".to_vec()));

    let mut t = m.begin();
    t.delete_range(CF_A, b"r".to_vec(), b"s".to_vec());
    write(&m, b"ra", b"inserted meanwhile");
    assert_eq!(t.refresh(), Err(StorageError::WriteConflict), "ranges are checked too");

    let mut t = m.begin();
    t.watch(CF_A, b"w".to_vec());
    write(&m, b"w", b"changed");
    assert_eq!(t.refresh(), Err(StorageError::WriteConflict), "and watched keys");
}

pub(crate) fn rollback_and_drop_discard(h: Harness) {
    let m = manager(&h);
    let mut t = m.begin();
    t.put(CF_A, b"k".to_vec(), b"v".to_vec());
    t.rollback();
    {
        let mut t = m.begin();
        t.put(CF_A, b"k2".to_vec(), b"v".to_vec());
    }
    let t = m.begin();
    assert_eq!(t.get(CF_A, b"k").expect("get"), None);
    assert_eq!(t.get(CF_A, b"k2").expect("get"), None);
    drop(t);
    assert_eq!(m.open_transactions(), 0);
}

pub(crate) fn atomic_read_modify_write(h: Harness) {
    let m = manager(&h);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let (c, ()) = m
                        .apply_atomically(|r| {
                            let n = r
                                .get(CF_A, b"counter")?
                                .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])));
                            let mut b = WriteBatch::new();
                            b.put(CF_A, b"counter".to_vec(), (n + 1).to_be_bytes().to_vec());
                            Ok((b, ()))
                        })
                        .expect("rmw");
                    m.durability().wait_blocking(c.ticket).expect("durable");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let v = m.begin().get(CF_A, b"counter").expect("get").expect("set");
    assert_eq!(u64::from_be_bytes(v.try_into().expect("8 bytes")), 800);
}

pub(crate) fn no_lost_updates_under_contention(h: Harness) {
    let m = manager(&h);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut conflicts = 0;
                for _ in 0..50 {
                    loop {
                        let mut t = m.begin();
                        let n = t
                            .get(CF_A, b"n")
                            .expect("get")
                            .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])));
                        t.put(CF_A, b"n".to_vec(), (n + 1).to_be_bytes().to_vec());
                        match t.commit() {
                            Ok(_) => break,
                            Err(StorageError::WriteConflict) => conflicts += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let v = m.begin().get(CF_A, b"n").expect("get").expect("set");
    assert_eq!(u64::from_be_bytes(v.try_into().expect("8 bytes")), 300);
}

/// An operation run in memory keeps its writes when it finishes, and leaves
/// none behind when it runs out of budget (or would read a file), so that
/// running it again elsewhere is as if it ran once.
pub(crate) fn in_memory_runs_undo_themselves_when_refused(h: Harness) {
    let m = manager(&h);
    for k in ["a", "b", "c", "d"] {
        write(&m, k.as_bytes(), b"disk");
    }
    let mut t = m.begin();
    t.put(CF_A, b"a".to_vec(), b"mine".to_vec());
    let before = scan(&t, &KeyRange::all(), Direction::Forward);

    // Within budget: reads answer, writes stay.
    let got = t
        .in_memory(10, |t| {
            t.put(CF_A, b"e".to_vec(), b"new".to_vec());
            t.get(CF_A, b"b")
        })
        .expect("in budget");
    assert_eq!(got, Some(b"disk".to_vec()));
    assert_eq!(t.get(CF_A, b"e").expect("get"), Some(b"new".to_vec()));

    // Over budget midway: every write made inside is undone, including
    // overwrites of earlier writes, range deletes and watches.
    let with_e = scan(&t, &KeyRange::all(), Direction::Forward);
    let refused = t.in_memory(3, |t| {
        t.put(CF_A, b"a".to_vec(), b"overwritten".to_vec());
        t.delete(CF_A, b"e".to_vec());
        t.delete_range(CF_A, b"b".to_vec(), b"d".to_vec());
        t.watch(CF_A, b"z".to_vec());
        t.put(CF_A, b"f".to_vec(), b"new".to_vec());
        // Four stored entries to read against a budget of three.
        t.scan(CF_A, &KeyRange::all(), Direction::Forward, &mut |_, _| ControlFlow::Continue(()))
    });
    assert_eq!(refused, Err(StorageError::Uncached));
    assert_eq!(scan(&t, &KeyRange::all(), Direction::Forward), with_e);
    assert_ne!(with_e, before);
    // Nothing watched was left behind: a commit to `z` does not conflict.
    write(&m, b"z", b"other");
    t.commit().expect("commit");
    assert_eq!(m.begin().get(CF_A, b"e").expect("get"), Some(b"new".to_vec()));

    // Outside `in_memory` nothing is budgeted.
    let t = m.begin();
    assert_eq!(scan(&t, &KeyRange::all(), Direction::Forward).len(), 6);
    assert_eq!(t.require_blocking(), Ok(()));
}
