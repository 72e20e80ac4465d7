//! Hash commands.

use std::ops::ControlFlow;

use bytes::Bytes;
use orbit_storage::cf;
use orbit_storage::kv::Direction;
use rand::seq::SliceRandom;

use super::args::{self, is};
use super::coll::{self, owned};
use super::keys::{cursor_arg, scan_opts, scan_reply};
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::engine::keys::KeyType;
use crate::error::{RedisError, Result};
use crate::glob;
use crate::num;
use crate::reply::Reply;

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "hset",
        -4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Creates or modifies the value of a field in a hash.",
        Exec::Engine(hset)
    ),
    spec!(
        "hmset",
        -4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets the values of multiple fields.",
        Exec::Engine(hmset)
    ),
    spec!(
        "hsetnx",
        4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist.",
        Exec::Engine(hsetnx)
    ),
    spec!(
        "hget",
        3,
        ["readonly", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the value of a field in a hash.",
        Exec::Engine(hget)
    ),
    spec!(
        "hmget",
        -3,
        ["readonly", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the values of all fields in a hash.",
        Exec::Engine(hmget)
    ),
    spec!(
        "hgetall",
        2,
        ["readonly"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all fields and values in a hash.",
        Exec::Engine(hgetall)
    ),
    spec!(
        "hdel",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        Exec::Engine(hdel)
    ),
    spec!(
        "hexists",
        3,
        ["readonly", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Determines whether a field exists in a hash.",
        Exec::Engine(hexists)
    ),
    spec!(
        "hlen",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the number of fields in a hash.",
        Exec::Engine(hlen)
    ),
    spec!("hkeys", 2, ["readonly"], (1, 1, 1), "hash", "2.0.0", "Returns all fields in a hash.", Exec::Engine(hkeys)),
    spec!("hvals", 2, ["readonly"], (1, 1, 1), "hash", "2.0.0", "Returns all values in a hash.", Exec::Engine(hvals)),
    spec!(
        "hincrby",
        4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "hash",
        "2.0.0",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        Exec::Engine(hincrby)
    ),
    spec!(
        "hincrbyfloat",
        4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "hash",
        "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        Exec::Engine(hincrbyfloat)
    ),
    spec!(
        "hstrlen",
        3,
        ["readonly", "fast"],
        (1, 1, 1),
        "hash",
        "3.2.0",
        "Returns the length of the value of a field.",
        Exec::Engine(hstrlen)
    ),
    spec!(
        "hrandfield",
        -2,
        ["readonly"],
        (1, 1, 1),
        "hash",
        "6.2.0",
        "Returns one or more random fields from a hash.",
        Exec::Engine(hrandfield)
    ),
    spec!(
        "hscan",
        -3,
        ["readonly"],
        (1, 1, 1),
        "hash",
        "2.8.0",
        "Iterates over fields and values of a hash.",
        Exec::Engine(hscan)
    ),
];

fn set_fields(ctx: &mut Ctx<'_>, a: &[Bytes], command: &str) -> Result<i64> {
    if a.len() % 2 != 1 {
        return Err(RedisError::wrong_arity(command));
    }
    let mut h = coll::open_or_create(ctx, &a[0], KeyType::Hash)?;
    let mut added = 0;
    for fv in a[1..].chunks(2) {
        if ctx.elem_get(&h.prefix, &fv[0])?.is_none() {
            added += 1;
            h.grow(1);
        }
        ctx.elem_put(&h.prefix, &fv[0], fv[1].to_vec());
    }
    coll::save(ctx, &a[0], &h)?;
    Ok(added)
}

/// `HSET key field value [field value ...]`
fn hset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(set_fields(ctx, a, "hset")?))
}

/// `HMSET key field value [field value ...]`
fn hmset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    set_fields(ctx, a, "hmset")?;
    Ok(Reply::OK)
}

/// `HSETNX key field value`
fn hsetnx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut h = coll::open_or_create(ctx, &a[0], KeyType::Hash)?;
    if ctx.elem_get(&h.prefix, &a[1])?.is_some() {
        return Ok(Reply::Int(0));
    }
    ctx.elem_put(&h.prefix, &a[1], a[2].to_vec());
    h.grow(1);
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::Int(1))
}

/// `HGET key field`
fn hget(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(h) = coll::open(ctx, &a[0], KeyType::Hash)? else {
        ctx.count_lookup(false);
        return Ok(Reply::Nil);
    };
    ctx.count_lookup(true);
    Ok(Reply::bulk_or_nil(ctx.elem_get(&h.prefix, &a[1])?))
}

/// `HMGET key field [field ...]`
fn hmget(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let h = coll::open(ctx, &a[0], KeyType::Hash)?;
    let mut out = Vec::with_capacity(a.len() - 1);
    for f in &a[1..] {
        out.push(match &h {
            Some(h) => Reply::bulk_or_nil(ctx.elem_get(&h.prefix, f)?),
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

fn all(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
    match coll::open(ctx, key, KeyType::Hash)? {
        Some(h) => ctx.elements(cf::REDIS_SUBKEYS, &h.prefix),
        None => Ok(Vec::new()),
    }
}

/// `HGETALL key`
fn hgetall(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Map(all(ctx, &a[0])?.into_iter().map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v))).collect()))
}

/// `HKEYS key`
fn hkeys(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::bulks(all(ctx, &a[0])?.into_iter().map(|(f, _)| f)))
}

/// `HVALS key`
fn hvals(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::bulks(all(ctx, &a[0])?.into_iter().map(|(_, v)| v)))
}

/// `HDEL key field [field ...]`
fn hdel(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::Hash)? else { return Ok(Reply::Int(0)) };
    let mut removed = 0;
    for f in &a[1..] {
        if ctx.elem_get(&h.prefix, f)?.is_some() {
            ctx.elem_del(&h.prefix, f);
            h.grow(-1);
            removed += 1;
        }
    }
    if removed > 0 {
        coll::save(ctx, &a[0], &h)?;
    }
    Ok(Reply::Int(removed))
}

/// `HEXISTS key field`
fn hexists(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(h) = coll::open(ctx, &a[0], KeyType::Hash)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(i64::from(ctx.elem_get(&h.prefix, &a[1])?.is_some())))
}

/// `HLEN key`
fn hlen(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(coll::open(ctx, &a[0], KeyType::Hash)?.map_or(0, |h| h.size() as i64)))
}

/// `HSTRLEN key field`
fn hstrlen(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(h) = coll::open(ctx, &a[0], KeyType::Hash)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(ctx.elem_get(&h.prefix, &a[1])?.map_or(0, |v| v.len() as i64)))
}

/// `HINCRBY key field increment`
fn hincrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = args::int(&a[2])?;
    let mut h = coll::open_or_create(ctx, &a[0], KeyType::Hash)?;
    let current = match ctx.elem_get(&h.prefix, &a[1])? {
        Some(v) => num::parse_i64(&v).ok_or_else(|| RedisError::err("hash value is not an integer"))?,
        None => {
            h.grow(1);
            0
        }
    };
    let next = current.checked_add(by).ok_or_else(RedisError::overflow)?;
    ctx.elem_put(&h.prefix, &a[1], next.to_string().into_bytes());
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::Int(next))
}

/// `HINCRBYFLOAT key field increment`
fn hincrbyfloat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = args::float(&a[2])?;
    let mut h = coll::open_or_create(ctx, &a[0], KeyType::Hash)?;
    let current = match ctx.elem_get(&h.prefix, &a[1])? {
        Some(v) => num::parse_f64(&v).ok_or_else(|| RedisError::err("hash value is not a float"))?,
        None => {
            h.grow(1);
            0.0
        }
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(RedisError::err("increment would produce NaN or Infinity"));
    }
    let text = num::format_double(next);
    ctx.elem_put(&h.prefix, &a[1], text.clone().into_bytes());
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::bulk(text))
}

/// Most elements a negative-count *RANDMEMBER / HRANDFIELD may return.
/// Redis builds any size asked for; a reply is held in memory whole here, so
/// a count like -2^62 would exhaust memory instead.
const MAX_REPEATED_PICKS: u64 = 1 << 24;

/// Picks elements at random as Redis' *RANDMEMBER / HRANDFIELD do: a
/// positive count gives distinct elements, a negative count allows repeats.
pub(crate) fn pick<T: Clone>(items: &[T], count: i64) -> Result<Vec<T>> {
    if count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(RedisError::err("value is out of range"));
    }
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut rng = rand::rng();
    if count >= 0 {
        let mut v = items.to_vec();
        v.shuffle(&mut rng);
        v.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        Ok(v)
    } else if count.unsigned_abs() > MAX_REPEATED_PICKS {
        Err(RedisError::err(format!(
            "value is out of range, a negative count may ask for at most {MAX_REPEATED_PICKS}"
        )))
    } else {
        let n = count.unsigned_abs() as usize;
        Ok((0..n).filter_map(|_| items.get(rand::random_range(0..items.len())).cloned()).collect())
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`
fn hrandfield(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let count = a.get(1).map(|c| args::int(c)).transpose()?;
    let with_values = match a.get(2) {
        Some(w) if is(w, "withvalues") && a.len() == 3 => true,
        Some(_) => return Err(RedisError::syntax()),
        None => false,
    };
    let items = all(ctx, &a[0])?;
    let Some(count) = count else {
        return Ok(Reply::bulk_or_nil(pick(&items, 1)?.pop().map(|(f, _)| f)));
    };
    let chosen = pick(&items, count)?;
    Ok(if !with_values {
        Reply::bulks(chosen.into_iter().map(|(f, _)| f))
    } else if ctx.resp3 {
        Reply::Array(chosen.into_iter().map(|(f, v)| Reply::Array(vec![Reply::Bulk(f), Reply::Bulk(v)])).collect())
    } else {
        Reply::Array(chosen.into_iter().flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)]).collect())
    })
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]`
fn hscan(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let opts = scan_opts(a, 2, false, true)?;
    let after = cursor_arg(ctx, &a[1])?;
    let Some(h) = coll::open(ctx, &a[0], KeyType::Hash)? else { return Ok(scan_reply(ctx, None, Vec::new())) };
    let (mut items, mut seen, mut last) = (Vec::new(), 0, None);
    ctx.elem_scan(cf::REDIS_SUBKEYS, &h.prefix, after.as_deref(), Direction::Forward, &mut |f, v| {
        if after.as_deref() == Some(f) {
            return ControlFlow::Continue(());
        }
        seen += 1;
        if opts.pattern.as_ref().is_none_or(|p| glob::matches(p, f)) {
            items.push(Reply::Bulk(owned(f)));
            if !opts.novalues {
                items.push(Reply::Bulk(owned(v)));
            }
        }
        if seen >= opts.count {
            last = Some(f.to_vec());
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(scan_reply(ctx, last, items))
}
