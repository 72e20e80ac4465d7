//! Work the engine does between requests: loading its counts at startup,
//! expiring keys whose time has come, and reclaiming deleted collections.

use std::ops::ControlFlow;

use orbit_storage::kv::{Direction, KeyRange, prefix_successor};
use orbit_storage::{Store, cf};

use super::ctx::Ctx;
use super::keys::{self, INTERNAL, Meta};
use super::now_ms;
use super::state::State;
use crate::error::Result;
use crate::shared::Shared;

/// Keys expired per background round, so a mass expiry never stalls clients.
const EXPIRE_PER_ROUND: usize = 256;
/// Deleted collections reclaimed per round.
const RECLAIM_PER_ROUND: usize = 32;

/// Counts every database's keys and reads the version counter.
pub(super) fn load_state(store: &Store, databases: u8, cache_bytes: usize) -> Result<State> {
    let engine = store.engine();
    let mut next_version = 1;
    if let Some(v) = engine.get(cf::REDIS_METADATA, keys::NEXT_VERSION_KEY)? {
        next_version = v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(1);
    }
    let mut state = State::new(usize::from(databases), next_version, cache_bytes);
    let mut failure = None;
    engine.scan(cf::REDIS_METADATA, &KeyRange::all(), Direction::Forward, &mut |k, v| {
        let Some(&db) = k.first() else { return ControlFlow::Continue(()) };
        if db == INTERNAL || usize::from(db) >= state.dbs.len() {
            return ControlFlow::Continue(());
        }
        match Meta::decode(v) {
            Ok(m) => {
                let c = &mut state.dbs[usize::from(db)];
                c.keys += 1;
                c.expires += u64::from(m.expire_at != 0);
                ControlFlow::Continue(())
            }
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(state),
    }
}

/// One round of active expiry and reclaiming, in a transaction of its own.
pub(super) fn reclaim(store: &Store, shared: &Shared, state: &mut State) -> Result<()> {
    let now = now_ms();
    let mut due = Vec::new();
    let until = (now.max(0) as u64 + 1).to_be_bytes().to_vec();
    store.engine().scan(
        cf::REDIS_EXPIRY,
        &KeyRange::half_open(Vec::new(), until),
        Direction::Forward,
        &mut |k, _| {
            due.push(k.to_vec());
            if due.len() >= EXPIRE_PER_ROUND { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        },
    )?;
    let mut garbage = Vec::new();
    store.engine().scan(cf::REDIS_GARBAGE, &KeyRange::all(), Direction::Forward, &mut |k, v| {
        garbage.push((k.to_vec(), v.to_vec()));
        if garbage.len() >= RECLAIM_PER_ROUND { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    if due.is_empty() && garbage.is_empty() {
        return Ok(());
    }
    let mut txn = store.txns().begin();
    for index_key in due {
        let Some((at, db, key)) = keys::parse_expiry_key(&index_key) else {
            txn.delete(cf::REDIS_EXPIRY, index_key);
            continue;
        };
        let mut ctx = Ctx {
            st: state,
            shared,
            store,
            txn: &mut txn,
            db,
            now_ms: now,
            resp3: false,
            via: super::ctx::Via::Engine,
        };
        // `meta` deletes the key when it finds it expired.
        match ctx.meta(key)? {
            Some(m) if m.expire_at == at => {}
            _ => ctx.txn.delete(cf::REDIS_EXPIRY, index_key),
        }
    }
    for (version_key, prefix) in garbage {
        let end = prefix_successor(&prefix).unwrap_or_else(|| vec![0xFF; prefix.len() + 1]);
        txn.delete_range(cf::REDIS_SUBKEYS, prefix.clone(), end.clone());
        txn.delete_range(cf::REDIS_ZSET_SCORES, prefix, end);
        txn.delete(cf::REDIS_GARBAGE, version_key);
    }
    let committed = txn.commit();
    shared.read_cache.writes_done(&mut state.read_cache_writes);
    committed?;
    Ok(())
}
