//! String commands.

use bytes::{Bytes, BytesMut};

use super::args::{self, is};
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::engine::keys::{Body, KeyType, Meta};
use crate::error::{RedisError, Result};
use crate::num;
use crate::reply::Reply;

/// Largest string SETRANGE and APPEND may build (Redis' proto-max-bulk-len).
const MAX_STRING: usize = 512 << 20;

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "get",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        Exec::Engine(get)
    ),
    spec!(
        "set",
        -3,
        ["write", "denyoom"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        Exec::Engine(set)
    ),
    spec!(
        "setnx",
        3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Set the string value of a key only when the key doesn't exist.",
        Exec::Engine(setnx)
    ),
    spec!(
        "setex",
        4,
        ["write", "denyoom"],
        (1, 1, 1),
        "string",
        "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        Exec::Engine(setex)
    ),
    spec!(
        "psetex",
        4,
        ["write", "denyoom"],
        (1, 1, 1),
        "string",
        "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        Exec::Engine(psetex)
    ),
    spec!(
        "getset",
        3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.",
        Exec::Engine(getset)
    ),
    spec!(
        "getdel",
        2,
        ["write", "fast"],
        (1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key after deleting the key.",
        Exec::Engine(getdel)
    ),
    spec!(
        "getex",
        -2,
        ["write", "fast"],
        (1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key after setting its expiration time.",
        Exec::Engine(getex)
    ),
    spec!(
        "mget",
        -2,
        ["readonly", "fast"],
        (1, -1, 1),
        "string",
        "1.0.0",
        "Atomically returns the string values of one or more keys.",
        Exec::Engine(mget)
    ),
    spec!(
        "mset",
        -3,
        ["write", "denyoom"],
        (1, -1, 2),
        "string",
        "1.0.1",
        "Atomically creates or modifies the string values of one or more keys.",
        Exec::Engine(mset)
    ),
    spec!(
        "msetnx",
        -3,
        ["write", "denyoom"],
        (1, -1, 2),
        "string",
        "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        Exec::Engine(msetnx)
    ),
    spec!(
        "incr",
        2,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        Exec::Engine(incr)
    ),
    spec!(
        "decr",
        2,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        Exec::Engine(decr)
    ),
    spec!(
        "incrby",
        3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        Exec::Engine(incrby)
    ),
    spec!(
        "decrby",
        3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        Exec::Engine(decrby)
    ),
    spec!(
        "incrbyfloat",
        3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        Exec::Engine(incrbyfloat)
    ),
    spec!(
        "append",
        3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        Exec::Engine(append)
    ),
    spec!(
        "strlen",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "string",
        "2.2.0",
        "Returns the length of a string value.",
        Exec::Engine(strlen)
    ),
    spec!(
        "getrange",
        4,
        ["readonly"],
        (1, 1, 1),
        "string",
        "2.4.0",
        "Returns a substring of the string stored at a key.",
        Exec::Engine(getrange)
    ),
    spec!(
        "substr",
        4,
        ["readonly"],
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns a substring from a string value.",
        Exec::Engine(getrange)
    ),
    spec!(
        "setrange",
        4,
        ["write", "denyoom"],
        (1, 1, 1),
        "string",
        "2.2.0",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        Exec::Engine(setrange)
    ),
];

/// The string at `key`: its metadata and value, WRONGTYPE for other types.
pub(crate) fn get_string(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<(Meta, Bytes)>> {
    match ctx.typed(key, KeyType::String)? {
        Some(m) => {
            let v = match &m.body {
                Body::Str(v) => v.clone(),
                Body::Coll(_) => return Err(RedisError::wrong_type()),
            };
            Ok(Some((m, v)))
        }
        None => Ok(None),
    }
}

/// Stores a string, replacing whatever `key` held; `expire_at` 0 means none.
pub(crate) fn put_string(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: Bytes,
    expire_at: i64,
    prev: Option<&Meta>,
) -> Result<()> {
    let mut meta = Meta::string(value);
    meta.expire_at = expire_at;
    ctx.put_meta(key, &meta, prev)
}

/// `GET key`
fn get(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let found = get_string(ctx, &a[0])?;
    ctx.count_lookup(found.is_some());
    Ok(Reply::bulk_or_nil(found.map(|(_, v)| v)))
}

/// How a command sets expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpireArg {
    None,
    Keep,
    /// Absolute Unix milliseconds.
    At(i64),
}

/// Turns `EX`/`PX`/`EXAT`/`PXAT` and their value into absolute ms, with
/// Redis' `invalid expire time in 'set' command` for zero, negative or
/// overflowing values.
pub(crate) fn expire_value(unit: &[u8], value: &[u8], now_ms: i64, command: &str) -> Result<i64> {
    let invalid = || RedisError::err(format!("invalid expire time in '{command}' command"));
    let v = args::int(value)?;
    if v <= 0 {
        return Err(invalid());
    }
    let at = if is(unit, "ex") {
        v.checked_mul(1000).and_then(|ms| ms.checked_add(now_ms))
    } else if is(unit, "px") {
        v.checked_add(now_ms)
    } else if is(unit, "exat") {
        v.checked_mul(1000)
    } else {
        Some(v)
    };
    at.ok_or_else(invalid)
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
/// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
fn set(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut nx, mut xx, mut want_get) = (false, false, false);
    let mut expire = ExpireArg::None;
    let now = ctx.now_ms;
    args::options(a, 2, |opt, rest| {
        let expire_word = ["ex", "px", "exat", "pxat"].iter().any(|w| is(opt, w));
        if is(opt, "nx") && !xx {
            nx = true;
            Ok(1)
        } else if is(opt, "xx") && !nx {
            xx = true;
            Ok(1)
        } else if is(opt, "get") {
            want_get = true;
            Ok(1)
        } else if is(opt, "keepttl") && expire == ExpireArg::None {
            expire = ExpireArg::Keep;
            Ok(1)
        } else if expire_word && expire == ExpireArg::None {
            expire = ExpireArg::At(expire_value(opt, args::value(rest)?, now, "set")?);
            Ok(2)
        } else {
            Err(RedisError::syntax())
        }
    })?;
    let prev = ctx.meta(&a[0])?;
    let old = match (&prev, want_get) {
        (Some(m), true) => match &m.body {
            Body::Str(v) => Some(v.clone()),
            Body::Coll(_) => return Err(RedisError::wrong_type()),
        },
        _ => None,
    };
    let proceed = !(nx && prev.is_some() || xx && prev.is_none());
    if proceed {
        let expire_at = match expire {
            ExpireArg::None => 0,
            ExpireArg::Keep => prev.as_ref().map_or(0, |m| m.expire_at),
            ExpireArg::At(at) => at,
        };
        if expire_at != 0 && expire_at <= now {
            // Already expired: the key is simply gone afterwards.
            if let Some(p) = &prev {
                ctx.delete(&a[0], p)?;
            }
        } else {
            put_string(ctx, &a[0], a[1].clone(), expire_at, prev.as_ref())?;
        }
    }
    Ok(match (want_get, proceed) {
        (true, _) => Reply::bulk_or_nil(old),
        (false, true) => Reply::OK,
        (false, false) => Reply::Nil,
    })
}

/// `SETNX key value`
fn setnx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    if ctx.meta(&a[0])?.is_some() {
        return Ok(Reply::Int(0));
    }
    put_string(ctx, &a[0], a[1].clone(), 0, None)?;
    Ok(Reply::Int(1))
}

fn set_with_expire(ctx: &mut Ctx<'_>, a: &[Bytes], unit: &[u8], command: &str) -> Result<Reply> {
    let at = expire_value(unit, &a[1], ctx.now_ms, command)?;
    let prev = ctx.meta(&a[0])?;
    put_string(ctx, &a[0], a[2].clone(), at, prev.as_ref())?;
    Ok(Reply::OK)
}

/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    set_with_expire(ctx, a, b"ex", "setex")
}

/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    set_with_expire(ctx, a, b"px", "psetex")
}

/// `GETSET key value`
fn getset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let prev = ctx.meta(&a[0])?;
    let old = match &prev {
        Some(Meta { body: Body::Str(v), .. }) => Some(v.clone()),
        Some(_) => return Err(RedisError::wrong_type()),
        None => None,
    };
    put_string(ctx, &a[0], a[1].clone(), 0, prev.as_ref())?;
    Ok(Reply::bulk_or_nil(old))
}

/// `GETDEL key`
fn getdel(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some((meta, v)) = get_string(ctx, &a[0])? else { return Ok(Reply::Nil) };
    ctx.delete(&a[0], &meta)?;
    Ok(Reply::Bulk(v))
}

/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]`
fn getex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let now = ctx.now_ms;
    let mut change: Option<i64> = None;
    args::options(a, 1, |opt, rest| {
        if change.is_some() {
            return Err(RedisError::syntax());
        }
        if is(opt, "persist") {
            change = Some(0);
            Ok(1)
        } else if ["ex", "px", "exat", "pxat"].iter().any(|w| is(opt, w)) {
            change = Some(expire_value(opt, args::value(rest)?, now, "getex")?);
            Ok(2)
        } else {
            Err(RedisError::syntax())
        }
    })?;
    let Some((meta, v)) = get_string(ctx, &a[0])? else { return Ok(Reply::Nil) };
    if let Some(at) = change {
        if at != 0 && at <= now {
            ctx.delete(&a[0], &meta)?;
        } else if at != meta.expire_at {
            put_string(ctx, &a[0], v.clone(), at, Some(&meta))?;
        }
    }
    Ok(Reply::Bulk(v))
}

/// `MGET key [key ...]`
fn mget(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut out = Vec::with_capacity(a.len());
    for k in a {
        // MGET answers nil for keys of other types rather than failing.
        let v = match ctx.meta(k)? {
            Some(Meta { body: Body::Str(v), .. }) => Reply::Bulk(v),
            _ => Reply::Nil,
        };
        out.push(v);
    }
    Ok(Reply::Array(out))
}

fn pairs(a: &[Bytes], command: &str) -> Result<()> {
    if !a.len().is_multiple_of(2) {
        return Err(RedisError::wrong_arity(command));
    }
    Ok(())
}

/// `MSET key value [key value ...]`
fn mset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    pairs(a, "mset")?;
    for kv in a.chunks(2) {
        let prev = ctx.meta(&kv[0])?;
        put_string(ctx, &kv[0], kv[1].clone(), 0, prev.as_ref())?;
    }
    Ok(Reply::OK)
}

/// `MSETNX key value [key value ...]`
fn msetnx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    pairs(a, "msetnx")?;
    for kv in a.chunks(2) {
        if ctx.meta(&kv[0])?.is_some() {
            return Ok(Reply::Int(0));
        }
    }
    for kv in a.chunks(2) {
        let prev = ctx.meta(&kv[0])?;
        put_string(ctx, &kv[0], kv[1].clone(), 0, prev.as_ref())?;
    }
    Ok(Reply::Int(1))
}

fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> Result<Reply> {
    let found = get_string(ctx, key)?;
    let current = match &found {
        Some((_, v)) => num::parse_i64(v).ok_or_else(RedisError::not_integer)?,
        None => 0,
    };
    let next = current.checked_add(by).ok_or_else(RedisError::overflow)?;
    let expire_at = found.as_ref().map_or(0, |(m, _)| m.expire_at);
    put_string(ctx, key, Bytes::from(next.to_string()), expire_at, found.as_ref().map(|(m, _)| m))?;
    Ok(Reply::Int(next))
}

/// `INCR key`
fn incr(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    incr_by(ctx, &a[0], 1)
}

/// `DECR key`
fn decr(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    incr_by(ctx, &a[0], -1)
}

/// `INCRBY key increment`
fn incrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = args::int(&a[1])?;
    incr_by(ctx, &a[0], by)
}

/// `DECRBY key decrement`
fn decrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = args::int(&a[1])?;
    incr_by(ctx, &a[0], by.checked_neg().ok_or_else(RedisError::overflow)?)
}

/// `INCRBYFLOAT key increment`
fn incrbyfloat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = args::float(&a[1])?;
    let found = get_string(ctx, &a[0])?;
    let current = match &found {
        Some((_, v)) => num::parse_f64(v).ok_or_else(RedisError::not_float)?,
        None => 0.0,
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(RedisError::err("increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(num::format_double(next));
    let expire_at = found.as_ref().map_or(0, |(m, _)| m.expire_at);
    put_string(ctx, &a[0], text.clone(), expire_at, found.as_ref().map(|(m, _)| m))?;
    Ok(Reply::Bulk(text))
}

/// `APPEND key value`
fn append(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let found = get_string(ctx, &a[0])?;
    let mut v = BytesMut::from(found.as_ref().map_or(&b""[..], |(_, v)| v));
    if v.len() + a[1].len() > MAX_STRING {
        return Err(RedisError::err("string exceeds maximum allowed size (proto-max-bulk-len)"));
    }
    v.extend_from_slice(&a[1]);
    let len = v.len() as i64;
    let expire_at = found.as_ref().map_or(0, |(m, _)| m.expire_at);
    put_string(ctx, &a[0], v.freeze(), expire_at, found.as_ref().map(|(m, _)| m))?;
    Ok(Reply::Int(len))
}

/// `STRLEN key`
fn strlen(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(get_string(ctx, &a[0])?.map_or(0, |(_, v)| v.len() as i64)))
}

/// Redis' index normalisation for GETRANGE / LRANGE style ranges: negative
/// indexes count from the end, then the range is clamped. `None` if empty.
pub(crate) fn clamp_range(start: i64, end: i64, len: i64) -> Option<(usize, usize)> {
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (s, e) = (norm(start), norm(end).min(len - 1));
    if len == 0 || s > e || s >= len {
        return None;
    }
    Some((s as usize, e as usize))
}

/// `GETRANGE key start end`
fn getrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (start, end) = (args::int(&a[1])?, args::int(&a[2])?);
    let Some((_, v)) = get_string(ctx, &a[0])? else { return Ok(Reply::bulk("")) };
    // Both indexes negative and start after end: Redis returns empty.
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk(""));
    }
    Ok(match clamp_range(start, end, v.len() as i64) {
        Some((s, e)) => Reply::Bulk(v.slice(s..=e)),
        None => Reply::bulk(""),
    })
}

/// `SETRANGE key offset value`
fn setrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let offset = args::int(&a[1])?;
    let offset = usize::try_from(offset).map_err(|_| RedisError::err("offset is out of range"))?;
    let found = get_string(ctx, &a[0])?;
    let current = found.as_ref().map_or(Bytes::new(), |(_, v)| v.clone());
    if a[2].is_empty() {
        return Ok(Reply::Int(current.len() as i64));
    }
    let needed = offset.checked_add(a[2].len()).filter(|n| *n <= MAX_STRING);
    let needed = needed.ok_or_else(|| RedisError::err("string exceeds maximum allowed size (proto-max-bulk-len)"))?;
    let mut v = BytesMut::from(&current[..]);
    if v.len() < needed {
        v.resize(needed, 0);
    }
    v[offset..needed].copy_from_slice(&a[2]);
    let len = v.len() as i64;
    let expire_at = found.as_ref().map_or(0, |(m, _)| m.expire_at);
    put_string(ctx, &a[0], v.freeze(), expire_at, found.as_ref().map(|(m, _)| m))?;
    Ok(Reply::Int(len))
}

#[cfg(test)]
mod tests {
    use super::clamp_range;

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-3, -1, 5), Some((2, 4)));
        assert_eq!(clamp_range(2, 100, 5), Some((2, 4)));
        assert_eq!(clamp_range(4, 2, 5), None);
        assert_eq!(clamp_range(-100, 1, 5), Some((0, 1)));
        assert_eq!(clamp_range(0, 0, 0), None);
    }
}
