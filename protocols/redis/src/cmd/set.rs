//! Set commands.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use bytes::Bytes;
use orbit_storage::cf;
use orbit_storage::kv::Direction;

use super::args::{self, is};
use super::coll::{self, Handle, owned};
use super::hash::pick;
use super::keys::{cursor_arg, scan_opts, scan_reply};
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::engine::keys::KeyType;
use crate::error::{RedisError, Result};
use crate::glob;
use crate::reply::Reply;

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "sadd",
        -3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Adds one or more members to a set. Creates the key if it doesn't exist.",
        Exec::Engine(sadd)
    ),
    spec!(
        "srem",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Removes one or more members from a set. Deletes the set if the last member was removed.",
        Exec::Engine(srem)
    ),
    spec!(
        "smembers",
        2,
        ["readonly"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns all members of a set.",
        Exec::Engine(smembers)
    ),
    spec!(
        "sismember",
        3,
        ["readonly", "fast"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Determines whether a member belongs to a set.",
        Exec::Engine(sismember)
    ),
    spec!(
        "smismember",
        -3,
        ["readonly", "fast"],
        (1, 1, 1),
        "set",
        "6.2.0",
        "Determines whether multiple members belong to a set.",
        Exec::Engine(smismember)
    ),
    spec!(
        "scard",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns the number of members in a set.",
        Exec::Engine(scard)
    ),
    spec!(
        "spop",
        -2,
        ["write", "fast"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        Exec::Engine(spop)
    ),
    spec!(
        "srandmember",
        -2,
        ["readonly"],
        (1, 1, 1),
        "set",
        "1.0.0",
        "Get one or multiple random members from a set",
        Exec::Engine(srandmember)
    ),
    spec!(
        "smove",
        4,
        ["write", "fast"],
        (1, 2, 1),
        "set",
        "1.0.0",
        "Moves a member from one set to another.",
        Exec::Engine(smove)
    ),
    spec!(
        "sinter",
        -2,
        ["readonly"],
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the intersect of multiple sets.",
        Exec::Engine(sinter)
    ),
    spec!(
        "sunion",
        -2,
        ["readonly"],
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the union of multiple sets.",
        Exec::Engine(sunion)
    ),
    spec!(
        "sdiff",
        -2,
        ["readonly"],
        (1, -1, 1),
        "set",
        "1.0.0",
        "Returns the difference of multiple sets.",
        Exec::Engine(sdiff)
    ),
    spec!(
        "sinterstore",
        -3,
        ["write", "denyoom"],
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the intersect of multiple sets in a key.",
        Exec::Engine(sinterstore)
    ),
    spec!(
        "sunionstore",
        -3,
        ["write", "denyoom"],
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the union of multiple sets in a key.",
        Exec::Engine(sunionstore)
    ),
    spec!(
        "sdiffstore",
        -3,
        ["write", "denyoom"],
        (1, -1, 1),
        "set",
        "1.0.0",
        "Stores the difference of multiple sets in a key.",
        Exec::Engine(sdiffstore)
    ),
    spec!(
        "sintercard",
        -3,
        ["readonly"],
        (0, 0, 0),
        "set",
        "7.0.0",
        "Returns the number of members of the intersect of multiple sets.",
        Exec::Engine(sintercard)
    ),
    spec!("sscan", -3, ["readonly"], (1, 1, 1), "set", "2.8.0", "Iterates over members of a set.", Exec::Engine(sscan)),
];

/// Members of the set at `key` (empty if missing).
fn members(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<BTreeSet<Bytes>> {
    match coll::open(ctx, key, KeyType::Set)? {
        Some(h) => Ok(ctx.elements(cf::REDIS_SUBKEYS, &h.prefix)?.into_iter().map(|(m, _)| m).collect()),
        None => Ok(BTreeSet::new()),
    }
}

fn add(ctx: &mut Ctx<'_>, h: &mut Handle, member: &[u8]) -> Result<bool> {
    if ctx.elem_get(&h.prefix, member)?.is_some() {
        return Ok(false);
    }
    ctx.elem_put(&h.prefix, member, Vec::new());
    h.grow(1);
    Ok(true)
}

fn remove(ctx: &mut Ctx<'_>, h: &mut Handle, member: &[u8]) -> Result<bool> {
    if ctx.elem_get(&h.prefix, member)?.is_none() {
        return Ok(false);
    }
    ctx.elem_del(&h.prefix, member);
    h.grow(-1);
    Ok(true)
}

/// `SADD key member [member ...]`
fn sadd(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut h = coll::open_or_create(ctx, &a[0], KeyType::Set)?;
    let mut n = 0;
    for m in &a[1..] {
        n += i64::from(add(ctx, &mut h, m)?);
    }
    if n > 0 {
        coll::save(ctx, &a[0], &h)?;
    }
    Ok(Reply::Int(n))
}

/// `SREM key member [member ...]`
fn srem(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::Set)? else { return Ok(Reply::Int(0)) };
    let mut n = 0;
    for m in &a[1..] {
        n += i64::from(remove(ctx, &mut h, m)?);
    }
    if n > 0 {
        coll::save(ctx, &a[0], &h)?;
    }
    Ok(Reply::Int(n))
}

fn set_reply(items: impl IntoIterator<Item = Bytes>) -> Reply {
    Reply::Set(items.into_iter().map(Reply::Bulk).collect())
}

/// `SMEMBERS key`
fn smembers(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(members(ctx, &a[0])?))
}

/// `SISMEMBER key member`
fn sismember(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(h) = coll::open(ctx, &a[0], KeyType::Set)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(i64::from(ctx.elem_get(&h.prefix, &a[1])?.is_some())))
}

/// `SMISMEMBER key member [member ...]`
fn smismember(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let h = coll::open(ctx, &a[0], KeyType::Set)?;
    let mut out = Vec::new();
    for m in &a[1..] {
        let present = match &h {
            Some(h) => ctx.elem_get(&h.prefix, m)?.is_some(),
            None => false,
        };
        out.push(Reply::Int(i64::from(present)));
    }
    Ok(Reply::Array(out))
}

/// `SCARD key`
fn scard(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(coll::open(ctx, &a[0], KeyType::Set)?.map_or(0, |h| h.size() as i64)))
}

/// `SPOP key [count]`
fn spop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    if a.len() > 2 {
        return Err(RedisError::syntax());
    }
    let count = a.get(1).map(|c| args::count(c)).transpose()?;
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::Set)? else {
        return Ok(if count.is_some() { Reply::Set(Vec::new()) } else { Reply::Nil });
    };
    let all: Vec<Bytes> = ctx.elements(cf::REDIS_SUBKEYS, &h.prefix)?.into_iter().map(|(m, _)| m).collect();
    let wanted = count.unwrap_or(1).min(all.len() as u64);
    let chosen = pick(&all, i64::try_from(wanted).unwrap_or(i64::MAX / 2))?;
    for m in &chosen {
        remove(ctx, &mut h, m)?;
    }
    coll::save(ctx, &a[0], &h)?;
    Ok(match count {
        Some(_) => set_reply(chosen),
        None => Reply::bulk_or_nil(chosen.into_iter().next()),
    })
}

/// `SRANDMEMBER key [count]`
fn srandmember(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    if a.len() > 2 {
        return Err(RedisError::syntax());
    }
    let count = a.get(1).map(|c| args::int(c)).transpose()?;
    let all: Vec<Bytes> = members(ctx, &a[0])?.into_iter().collect();
    Ok(match count {
        Some(c) => Reply::bulks(pick(&all, c)?),
        None => Reply::bulk_or_nil(pick(&all, 1)?.pop()),
    })
}

/// `SMOVE source destination member`
fn smove(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(mut src) = coll::open(ctx, &a[0], KeyType::Set)? else {
        // Redis checks the destination's type even when the source is missing.
        coll::open(ctx, &a[1], KeyType::Set)?;
        return Ok(Reply::Int(0));
    };
    coll::open(ctx, &a[1], KeyType::Set)?;
    if a[0] == a[1] {
        return Ok(Reply::Int(i64::from(ctx.elem_get(&src.prefix, &a[2])?.is_some())));
    }
    if !remove(ctx, &mut src, &a[2])? {
        return Ok(Reply::Int(0));
    }
    coll::save(ctx, &a[0], &src)?;
    let mut dst = coll::open_or_create(ctx, &a[1], KeyType::Set)?;
    add(ctx, &mut dst, &a[2])?;
    coll::save(ctx, &a[1], &dst)?;
    Ok(Reply::Int(1))
}

#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

fn combine(ctx: &mut Ctx<'_>, keys: &[Bytes], op: Op) -> Result<BTreeSet<Bytes>> {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(members(ctx, k)?);
    }
    let mut iter = sets.into_iter();
    let first = iter.next().unwrap_or_default();
    Ok(iter.fold(first, |acc, s| match op {
        Op::Inter => acc.intersection(&s).cloned().collect(),
        Op::Union => acc.union(&s).cloned().collect(),
        Op::Diff => acc.difference(&s).cloned().collect(),
    }))
}

/// `SINTER key [key ...]`
fn sinter(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(combine(ctx, a, Op::Inter)?))
}

/// `SUNION key [key ...]`
fn sunion(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(combine(ctx, a, Op::Union)?))
}

/// `SDIFF key [key ...]`
fn sdiff(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(set_reply(combine(ctx, a, Op::Diff)?))
}

/// Replaces `dest` with a set of `items` (deleting it when empty).
fn store(ctx: &mut Ctx<'_>, dest: &[u8], items: BTreeSet<Bytes>) -> Result<Reply> {
    let n = items.len() as i64;
    if let Some(prev) = ctx.meta(dest)? {
        ctx.delete(dest, &prev)?;
    }
    let mut h = coll::open_or_create(ctx, dest, KeyType::Set)?;
    for m in items {
        ctx.elem_put(&h.prefix, &m, Vec::new());
        h.grow(1);
    }
    coll::save(ctx, dest, &h)?;
    Ok(Reply::Int(n))
}

/// `SINTERSTORE destination key [key ...]`
fn sinterstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let items = combine(ctx, &a[1..], Op::Inter)?;
    store(ctx, &a[0], items)
}

/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let items = combine(ctx, &a[1..], Op::Union)?;
    store(ctx, &a[0], items)
}

/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let items = combine(ctx, &a[1..], Op::Diff)?;
    store(ctx, &a[0], items)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let numkeys = args::int(&a[0])?;
    if numkeys <= 0 {
        return Err(RedisError::err("numkeys should be greater than 0"));
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if a.len() - 1 < numkeys {
        return Err(RedisError::err("Number of keys can't be greater than number of args"));
    }
    let mut limit = 0;
    args::options(a, 1 + numkeys, |opt, rest| {
        if is(opt, "limit") {
            limit = args::int(args::value(rest)?)?;
            if limit < 0 {
                return Err(RedisError::err("LIMIT can't be negative"));
            }
            Ok(2)
        } else {
            Err(RedisError::syntax())
        }
    })?;
    let n = combine(ctx, &a[1..=numkeys], Op::Inter)?.len() as i64;
    Ok(Reply::Int(if limit > 0 { n.min(limit) } else { n }))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
fn sscan(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let opts = scan_opts(a, 2, false, false)?;
    let after = cursor_arg(ctx, &a[1])?;
    let Some(h) = coll::open(ctx, &a[0], KeyType::Set)? else { return Ok(scan_reply(ctx, None, Vec::new())) };
    let (mut items, mut seen, mut last) = (Vec::new(), 0, None);
    ctx.elem_scan(cf::REDIS_SUBKEYS, &h.prefix, after.as_deref(), Direction::Forward, &mut |m, _| {
        if after.as_deref() == Some(m) {
            return ControlFlow::Continue(());
        }
        seen += 1;
        if opts.pattern.as_ref().is_none_or(|p| glob::matches(p, m)) {
            items.push(Reply::Bulk(owned(m)));
        }
        if seen >= opts.count {
            last = Some(m.to_vec());
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(scan_reply(ctx, last, items))
}
