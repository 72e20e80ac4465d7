//! Sorted set commands.
//!
//! Members are stored twice: by member (giving the score, and lexical
//! order) and by score then member (giving score order), so both kinds of
//! range are range scans.

use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};

use bytes::Bytes;
use orbit_storage::cf;
use orbit_storage::kv::{Direction, KeyRange};

use super::args::{self, is};
use super::coll::{self, Handle, owned};
use super::hash::pick;
use super::keys::{cursor_arg, scan_opts, scan_reply};
use super::string::clamp_range;
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::engine::keys::{self, KeyType};
use crate::error::{RedisError, Result};
use crate::glob;
use crate::num;
use crate::reply::Reply;

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "zadd",
        -4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        Exec::Engine(zadd)
    ),
    spec!(
        "zincrby",
        4,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Increments the score of a member in a sorted set.",
        Exec::Engine(zincrby)
    ),
    spec!(
        "zrem",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
        Exec::Engine(zrem)
    ),
    spec!(
        "zscore",
        3,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns the score of a member in a sorted set.",
        Exec::Engine(zscore)
    ),
    spec!(
        "zmscore",
        -3,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Returns the score of one or more members in a sorted set.",
        Exec::Engine(zmscore)
    ),
    spec!(
        "zcard",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns the number of members in a sorted set.",
        Exec::Engine(zcard)
    ),
    spec!(
        "zcount",
        4,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Returns the count of members in a sorted set that have scores within a range.",
        Exec::Engine(zcount)
    ),
    spec!(
        "zlexcount",
        4,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Returns the number of members in a sorted set within a lexicographical range.",
        Exec::Engine(zlexcount)
    ),
    spec!(
        "zrange",
        -4,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns members in a sorted set within a range of indexes.",
        Exec::Engine(zrange)
    ),
    spec!(
        "zrangestore",
        -5,
        ["write", "denyoom"],
        (1, 2, 1),
        "sorted-set",
        "6.2.0",
        "Stores a range of members from sorted set in a key.",
        Exec::Engine(zrangestore)
    ),
    spec!(
        "zrangebyscore",
        -4,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "1.0.5",
        "Returns members in a sorted set within a range of scores.",
        Exec::Engine(zrangebyscore)
    ),
    spec!(
        "zrevrangebyscore",
        -4,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "2.2.0",
        "Returns members in a sorted set within a range of scores in reverse order.",
        Exec::Engine(zrevrangebyscore)
    ),
    spec!(
        "zrevrange",
        -4,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns members in a sorted set within a range of indexes in reverse order.",
        Exec::Engine(zrevrange)
    ),
    spec!(
        "zrangebylex",
        -4,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Returns members in a sorted set within a lexicographical range.",
        Exec::Engine(zrangebylex)
    ),
    spec!(
        "zrevrangebylex",
        -4,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Returns members in a sorted set within a lexicographical range in reverse order.",
        Exec::Engine(zrevrangebylex)
    ),
    spec!(
        "zrank",
        -3,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by ascending scores.",
        Exec::Engine(zrank)
    ),
    spec!(
        "zrevrank",
        -3,
        ["readonly", "fast"],
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by descending scores.",
        Exec::Engine(zrevrank)
    ),
    spec!(
        "zpopmin",
        -2,
        ["write", "fast"],
        (1, 1, 1),
        "sorted-set",
        "5.0.0",
        "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        Exec::Engine(zpopmin)
    ),
    spec!(
        "zpopmax",
        -2,
        ["write", "fast"],
        (1, 1, 1),
        "sorted-set",
        "5.0.0",
        "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        Exec::Engine(zpopmax)
    ),
    spec!(
        "bzpopmin",
        -3,
        ["write", "fast", "blocking"],
        (1, -2, 1),
        "sorted-set",
        "5.0.0",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        Exec::Blocking(bzpopmin, nil_array)
    ),
    spec!(
        "bzpopmax",
        -3,
        ["write", "fast", "blocking"],
        (1, -2, 1),
        "sorted-set",
        "5.0.0",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise. Deletes the sorted set if the last element was popped.",
        Exec::Blocking(bzpopmax, nil_array)
    ),
    spec!(
        "zremrangebyscore",
        4,
        ["write"],
        (1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
        Exec::Engine(zremrangebyscore)
    ),
    spec!(
        "zremrangebyrank",
        4,
        ["write"],
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
        Exec::Engine(zremrangebyrank)
    ),
    spec!(
        "zremrangebylex",
        4,
        ["write"],
        (1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
        Exec::Engine(zremrangebylex)
    ),
    spec!(
        "zunionstore",
        -4,
        ["write", "denyoom"],
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Stores the union of multiple sorted sets in a key.",
        Exec::Engine(zunionstore)
    ),
    spec!(
        "zinterstore",
        -4,
        ["write", "denyoom"],
        (1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Stores the intersect of multiple sorted sets in a key.",
        Exec::Engine(zinterstore)
    ),
    spec!(
        "zdiffstore",
        -4,
        ["write", "denyoom"],
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Stores the difference of multiple sorted sets in a key.",
        Exec::Engine(zdiffstore)
    ),
    spec!(
        "zunion",
        -3,
        ["readonly"],
        (0, 0, 0),
        "sorted-set",
        "6.2.0",
        "Returns the union of multiple sorted sets.",
        Exec::Engine(zunion)
    ),
    spec!(
        "zinter",
        -3,
        ["readonly"],
        (0, 0, 0),
        "sorted-set",
        "6.2.0",
        "Returns the intersect of multiple sorted sets.",
        Exec::Engine(zinter)
    ),
    spec!(
        "zdiff",
        -3,
        ["readonly"],
        (0, 0, 0),
        "sorted-set",
        "6.2.0",
        "Returns the difference between multiple sorted sets.",
        Exec::Engine(zdiff)
    ),
    spec!(
        "zrandmember",
        -2,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Returns one or more random members from a sorted set.",
        Exec::Engine(zrandmember)
    ),
    spec!(
        "zscan",
        -3,
        ["readonly"],
        (1, 1, 1),
        "sorted-set",
        "2.8.0",
        "Iterates over members and scores of a sorted set.",
        Exec::Engine(zscan)
    ),
];

/// `ZRANDMEMBER key [count [WITHSCORES]]`
fn zrandmember(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let count = a.get(1).map(|c| args::int(c)).transpose()?;
    let scores = match a.get(2) {
        Some(w) if is(w, "withscores") && a.len() == 3 => true,
        Some(_) => return Err(RedisError::syntax()),
        None => false,
    };
    let items = match coll::open(ctx, &a[0], KeyType::ZSet)? {
        Some(h) => by_rank(ctx, &h, 0, -1, false)?,
        None => Vec::new(),
    };
    let Some(count) = count else {
        return Ok(Reply::bulk_or_nil(pick(&items, 1)?.pop().map(|(m, _)| m)));
    };
    let chosen = pick(&items, count)?;
    Ok(if scores { with_scores(ctx, chosen) } else { Reply::bulks(chosen.into_iter().map(|(m, _)| m)) })
}

fn nil_array() -> Reply {
    Reply::NilArray
}

/// A score in a reply: a double in RESP3, its text in RESP2.
fn score_reply(ctx: &Ctx<'_>, s: f64) -> Reply {
    if ctx.resp3 { Reply::Double(s) } else { Reply::bulk(num::format_double(s)) }
}

/// Members with scores, flat in RESP2 and as pairs in RESP3.
fn with_scores(ctx: &Ctx<'_>, items: Vec<(Bytes, f64)>) -> Reply {
    if ctx.resp3 {
        Reply::Array(items.into_iter().map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect())
    } else {
        Reply::Array(items.into_iter().flat_map(|(m, s)| [Reply::Bulk(m), score_reply(ctx, s)]).collect())
    }
}

fn get_score(ctx: &Ctx<'_>, h: &Handle, member: &[u8]) -> Result<Option<f64>> {
    Ok(ctx.elem_get(&h.prefix, member)?.and_then(|v| v.try_into().ok()).map(f64::from_be_bytes))
}

fn score_key(prefix: &[u8], score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8 + member.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(&keys::score_bytes(score));
    k.extend_from_slice(member);
    k
}

/// Sets `member`'s score, returning its previous one.
fn put_member(ctx: &mut Ctx<'_>, h: &mut Handle, member: &[u8], score: f64) -> Result<Option<f64>> {
    let old = get_score(ctx, h, member)?;
    if let Some(o) = old {
        ctx.txn.delete(cf::REDIS_ZSET_SCORES, score_key(&h.prefix, o, member));
    } else {
        h.grow(1);
    }
    ctx.elem_put(&h.prefix, member, score.to_be_bytes().to_vec());
    ctx.txn.put(cf::REDIS_ZSET_SCORES, score_key(&h.prefix, score, member), Vec::new());
    Ok(old)
}

fn del_member(ctx: &mut Ctx<'_>, h: &mut Handle, member: &[u8]) -> Result<bool> {
    let Some(old) = get_score(ctx, h, member)? else { return Ok(false) };
    ctx.elem_del(&h.prefix, member);
    ctx.txn.delete(cf::REDIS_ZSET_SCORES, score_key(&h.prefix, old, member));
    h.grow(-1);
    Ok(true)
}

/// A score bound: `1.5`, `(1.5`, `-inf`, `+inf`.
#[derive(Debug, Clone, Copy)]
struct ScoreBound {
    value: f64,
    exclusive: bool,
}

fn score_bound(b: &[u8]) -> Result<ScoreBound> {
    let bad = || RedisError::err("min or max is not a float");
    let (exclusive, text) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    Ok(ScoreBound { value: num::parse_f64(text).ok_or_else(bad)?, exclusive })
}

fn above(s: f64, min: ScoreBound) -> bool {
    if min.exclusive { s > min.value } else { s >= min.value }
}

fn below(s: f64, max: ScoreBound) -> bool {
    if max.exclusive { s < max.value } else { s <= max.value }
}

/// A lexical bound: `[a`, `(a`, `-`, `+`.
#[derive(Debug, Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

fn lex_bound(b: &Bytes) -> Result<LexBound> {
    match b.first() {
        Some(b'-') if b.len() == 1 => Ok(LexBound::Min),
        Some(b'+') if b.len() == 1 => Ok(LexBound::Max),
        Some(b'[') => Ok(LexBound::Incl(b.slice(1..))),
        Some(b'(') => Ok(LexBound::Excl(b.slice(1..))),
        _ => Err(RedisError::err("min or max not valid string range item")),
    }
}

fn lex_above(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::Min => true,
        LexBound::Max => false,
        LexBound::Incl(x) => m >= x.as_ref(),
        LexBound::Excl(x) => m > x.as_ref(),
    }
}

fn lex_below(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Incl(x) => m <= x.as_ref(),
        LexBound::Excl(x) => m < x.as_ref(),
    }
}

/// Visits members in score order (reverse when `rev`) with their scores.
fn walk_by_score(
    ctx: &Ctx<'_>,
    h: &Handle,
    rev: bool,
    visit: &mut dyn FnMut(&[u8], f64) -> ControlFlow<()>,
) -> Result<()> {
    let n = h.prefix.len();
    let direction = if rev { Direction::Reverse } else { Direction::Forward };
    ctx.txn.scan(cf::REDIS_ZSET_SCORES, &KeyRange::prefix(&h.prefix), direction, &mut |k, _| {
        let Some(score_bytes) = k.get(n..n + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            return ControlFlow::Continue(());
        };
        visit(&k[n + 8..], keys::score_from_bytes(score_bytes))
    })?;
    Ok(())
}

/// Members within a score range, in order, after `offset`, at most `limit`.
fn by_score(
    ctx: &Ctx<'_>,
    h: &Handle,
    min: ScoreBound,
    max: ScoreBound,
    rev: bool,
    offset: usize,
    limit: Option<usize>,
) -> Result<Vec<(Bytes, f64)>> {
    let mut out = Vec::new();
    let mut skipped = 0;
    if limit == Some(0) {
        return Ok(out);
    }
    // Start the scan at the first possible score rather than at one end.
    let n = h.prefix.len();
    let mut range = KeyRange::prefix(&h.prefix);
    if rev {
        if max.value.is_finite() {
            let at_max = [&h.prefix[..], &keys::score_bytes(max.value)].concat();
            if let Some(end) = orbit_storage::kv::prefix_successor(&at_max) {
                range.end = Bound::Excluded(end);
            }
        }
    } else if min.value.is_finite() {
        range.start = Bound::Included([&h.prefix[..], &keys::score_bytes(min.value)].concat());
    }
    let direction = if rev { Direction::Reverse } else { Direction::Forward };
    ctx.txn.scan(cf::REDIS_ZSET_SCORES, &range, direction, &mut |k, _| {
        let Some(sb) = k.get(n..n + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            return ControlFlow::Continue(());
        };
        let s = keys::score_from_bytes(sb);
        let (inside_start, inside_end) =
            if rev { (below(s, max), above(s, min)) } else { (above(s, min), below(s, max)) };
        if !inside_end {
            return ControlFlow::Break(());
        }
        if !inside_start {
            return ControlFlow::Continue(());
        }
        if skipped < offset {
            skipped += 1;
            return ControlFlow::Continue(());
        }
        out.push((owned(&k[n + 8..]), s));
        if limit.is_some_and(|l| out.len() >= l) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    Ok(out)
}

/// Members within a lexical range (meaningful when all scores are equal).
fn by_lex(
    ctx: &Ctx<'_>,
    h: &Handle,
    min: &LexBound,
    max: &LexBound,
    rev: bool,
    offset: usize,
    limit: Option<usize>,
) -> Result<Vec<(Bytes, f64)>> {
    let mut out = Vec::new();
    let mut skipped = 0;
    if limit == Some(0) {
        return Ok(out);
    }
    let direction = if rev { Direction::Reverse } else { Direction::Forward };
    ctx.elem_scan(cf::REDIS_SUBKEYS, &h.prefix, None, direction, &mut |m, v| {
        let (inside_start, inside_end) =
            if rev { (lex_below(m, max), lex_above(m, min)) } else { (lex_above(m, min), lex_below(m, max)) };
        if !inside_end {
            return ControlFlow::Break(());
        }
        if !inside_start {
            return ControlFlow::Continue(());
        }
        if skipped < offset {
            skipped += 1;
            return ControlFlow::Continue(());
        }
        let s = <[u8; 8]>::try_from(v).map(f64::from_be_bytes).unwrap_or(0.0);
        out.push((owned(m), s));
        if limit.is_some_and(|l| out.len() >= l) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    Ok(out)
}

/// Members at positions `start..=stop` (Redis index rules) in score order.
fn by_rank(ctx: &Ctx<'_>, h: &Handle, start: i64, stop: i64, rev: bool) -> Result<Vec<(Bytes, f64)>> {
    let Some((s, e)) = clamp_range(start, stop, h.size() as i64) else { return Ok(Vec::new()) };
    let mut out = Vec::with_capacity(e - s + 1);
    let mut i = 0;
    walk_by_score(ctx, h, rev, &mut |m, score| {
        if i >= s {
            out.push((owned(m), score));
        }
        i += 1;
        if i > e { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    Ok(out)
}

/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
fn zadd(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, false);
    let mut i = 1;
    while i < a.len() {
        let o = &a[i];
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &a[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(RedisError::syntax());
    }
    if nx && xx {
        return Err(RedisError::err("XX and NX options at the same time are not compatible"));
    }
    if [gt, lt, nx].iter().filter(|f| **f).count() > 1 {
        return Err(RedisError::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if incr && pairs.len() > 2 {
        return Err(RedisError::err("INCR option supports a single increment-element pair"));
    }
    let scores = pairs.chunks(2).map(|p| args::float(&p[0])).collect::<Result<Vec<f64>>>()?;
    let existing = coll::open(ctx, &a[0], KeyType::ZSet)?;
    if existing.is_none() && xx {
        return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
    }
    let mut h = match existing {
        Some(h) => h,
        None => coll::open_or_create(ctx, &a[0], KeyType::ZSet)?,
    };
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for (pair, score) in pairs.chunks(2).zip(scores) {
        let member = &pair[1];
        let old = get_score(ctx, &h, member)?;
        if (nx && old.is_some()) || (xx && old.is_none()) {
            continue;
        }
        let new = match (incr, old) {
            (true, Some(o)) => o + score,
            _ => score,
        };
        if new.is_nan() {
            return Err(RedisError::err("resulting score is not a number (NaN)"));
        }
        if let Some(o) = old {
            if (gt && new <= o) || (lt && new >= o) {
                continue;
            }
            if o != new {
                put_member(ctx, &mut h, member, new)?;
                changed += 1;
            }
        } else {
            put_member(ctx, &mut h, member, new)?;
            added += 1;
        }
        incr_result = Some(new);
    }
    coll::save(ctx, &a[0], &h)?;
    Ok(if incr {
        incr_result.map_or(Reply::Nil, |s| score_reply(ctx, s))
    } else {
        Reply::Int(if ch { added + changed } else { added })
    })
}

/// `ZINCRBY key increment member`
fn zincrby(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let by = args::float(&a[1])?;
    let mut h = coll::open_or_create(ctx, &a[0], KeyType::ZSet)?;
    let new = get_score(ctx, &h, &a[2])?.unwrap_or(0.0) + by;
    if new.is_nan() {
        return Err(RedisError::err("resulting score is not a number (NaN)"));
    }
    put_member(ctx, &mut h, &a[2], new)?;
    coll::save(ctx, &a[0], &h)?;
    Ok(score_reply(ctx, new))
}

/// `ZREM key member [member ...]`
fn zrem(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Int(0)) };
    let mut n = 0;
    for m in &a[1..] {
        n += i64::from(del_member(ctx, &mut h, m)?);
    }
    if n > 0 {
        coll::save(ctx, &a[0], &h)?;
    }
    Ok(Reply::Int(n))
}

/// `ZSCORE key member`
fn zscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Nil) };
    Ok(get_score(ctx, &h, &a[1])?.map_or(Reply::Nil, |s| score_reply(ctx, s)))
}

/// `ZMSCORE key member [member ...]`
fn zmscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let h = coll::open(ctx, &a[0], KeyType::ZSet)?;
    let mut out = Vec::new();
    for m in &a[1..] {
        let s = match &h {
            Some(h) => get_score(ctx, h, m)?,
            None => None,
        };
        out.push(s.map_or(Reply::Nil, |s| score_reply(ctx, s)));
    }
    Ok(Reply::Array(out))
}

/// `ZCARD key`
fn zcard(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(coll::open(ctx, &a[0], KeyType::ZSet)?.map_or(0, |h| h.size() as i64)))
}

/// `ZCOUNT key min max`
fn zcount(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (min, max) = (score_bound(&a[1])?, score_bound(&a[2])?);
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(by_score(ctx, &h, min, max, false, 0, None)?.len() as i64))
}

/// `ZLEXCOUNT key min max`
fn zlexcount(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (min, max) = (lex_bound(&a[1])?, lex_bound(&a[2])?);
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(by_lex(ctx, &h, &min, &max, false, 0, None)?.len() as i64))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
struct RangeReq {
    by: By,
    rev: bool,
    limit: Option<(usize, Option<usize>)>,
    with_scores: bool,
}

/// Options after `key start stop` (or `dst src min max`): BYSCORE, BYLEX,
/// REV, LIMIT, WITHSCORES.
fn range_options(a: &[Bytes], from: usize, allow_by: bool, allow_scores: bool) -> Result<RangeReq> {
    let mut r = RangeReq { by: By::Rank, rev: false, limit: None, with_scores: false };
    let mut i = from;
    while i < a.len() {
        let o = &a[i];
        if allow_by && is(o, "byscore") {
            r.by = By::Score;
        } else if allow_by && is(o, "bylex") {
            r.by = By::Lex;
        } else if allow_by && is(o, "rev") {
            r.rev = true;
        } else if allow_scores && is(o, "withscores") {
            r.with_scores = true;
        } else if is(o, "limit") && i + 2 < a.len() {
            let offset = args::int(&a[i + 1])?;
            let count = args::int(&a[i + 2])?;
            let offset = usize::try_from(offset).ok();
            r.limit = Some((offset.unwrap_or(usize::MAX), usize::try_from(count).ok()));
            i += 2;
        } else {
            return Err(RedisError::syntax());
        }
        i += 1;
    }
    if r.limit.is_some() && r.by == By::Rank {
        return Err(RedisError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if r.with_scores && r.by == By::Lex {
        return Err(RedisError::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    Ok(r)
}

/// Runs a range request; `lo` and `hi` are the two range arguments as given.
fn run_range(ctx: &mut Ctx<'_>, key: &[u8], lo: &Bytes, hi: &Bytes, r: &RangeReq) -> Result<Vec<(Bytes, f64)>> {
    // Parse before looking the key up: bad ranges are errors even for missing keys.
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreBound, ScoreBound),
        Lex(LexBound, LexBound),
    }
    let parsed = match r.by {
        By::Rank => Parsed::Rank(args::int(lo)?, args::int(hi)?),
        // With REV the first argument is the upper end.
        By::Score if r.rev => Parsed::Score(score_bound(hi)?, score_bound(lo)?),
        By::Score => Parsed::Score(score_bound(lo)?, score_bound(hi)?),
        By::Lex if r.rev => Parsed::Lex(lex_bound(hi)?, lex_bound(lo)?),
        By::Lex => Parsed::Lex(lex_bound(lo)?, lex_bound(hi)?),
    };
    let Some(h) = coll::open(ctx, key, KeyType::ZSet)? else { return Ok(Vec::new()) };
    let (offset, limit) = match r.limit {
        Some((o, c)) => (o, c),
        None => (0, None),
    };
    match parsed {
        Parsed::Rank(s, e) => by_rank(ctx, &h, s, e, r.rev),
        Parsed::Score(min, max) => by_score(ctx, &h, min, max, r.rev, offset, limit),
        Parsed::Lex(min, max) => by_lex(ctx, &h, &min, &max, r.rev, offset, limit),
    }
}

fn range_reply(ctx: &Ctx<'_>, items: Vec<(Bytes, f64)>, scores: bool) -> Reply {
    if scores { with_scores(ctx, items) } else { Reply::bulks(items.into_iter().map(|(m, _)| m)) }
}

/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let r = range_options(a, 3, true, true)?;
    let items = run_range(ctx, &a[0], &a[1], &a[2], &r)?;
    Ok(range_reply(ctx, items, r.with_scores))
}

/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
fn zrangestore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let r = range_options(a, 4, true, false)?;
    let items = run_range(ctx, &a[1], &a[2], &a[3], &r)?;
    store(ctx, &a[0], items.into_iter().collect())
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let r = range_options_lenient(a)?;
    let items = run_range(ctx, &a[0], &a[1], &a[2], &r)?;
    Ok(range_reply(ctx, items, r.with_scores))
}

/// LIMIT without BY* is valid for the older *BYSCORE / *BYLEX commands.
fn range_options_lenient(a: &[Bytes]) -> Result<RangeReq> {
    let mut r = RangeReq { by: By::Score, rev: false, limit: None, with_scores: false };
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "withscores") {
            r.with_scores = true;
        } else if is(&a[i], "limit") && i + 2 < a.len() {
            let offset = usize::try_from(args::int(&a[i + 1])?).unwrap_or(usize::MAX);
            r.limit = Some((offset, usize::try_from(args::int(&a[i + 2])?).ok()));
            i += 2;
        } else {
            return Err(RedisError::syntax());
        }
        i += 1;
    }
    Ok(r)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut r = range_options_lenient(a)?;
    r.rev = true;
    let items = run_range(ctx, &a[0], &a[1], &a[2], &r)?;
    Ok(range_reply(ctx, items, r.with_scores))
}

/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut r = range_options(a, 3, false, true)?;
    r.rev = true;
    let items = run_range(ctx, &a[0], &a[1], &a[2], &r)?;
    Ok(range_reply(ctx, items, r.with_scores))
}

fn lex_cmd(ctx: &mut Ctx<'_>, a: &[Bytes], rev: bool) -> Result<Reply> {
    let mut r = range_options_lenient(a)?;
    if r.with_scores {
        return Err(RedisError::syntax());
    }
    r.by = By::Lex;
    r.rev = rev;
    let items = run_range(ctx, &a[0], &a[1], &a[2], &r)?;
    Ok(range_reply(ctx, items, false))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    lex_cmd(ctx, a, false)
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    lex_cmd(ctx, a, true)
}

fn rank_cmd(ctx: &mut Ctx<'_>, a: &[Bytes], rev: bool) -> Result<Reply> {
    let with_score = match a.get(2) {
        Some(w) if is(w, "withscore") && a.len() == 3 => true,
        Some(_) => return Err(RedisError::syntax()),
        None => false,
    };
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else {
        return Ok(if with_score { Reply::NilArray } else { Reply::Nil });
    };
    let Some(score) = get_score(ctx, &h, &a[1])? else {
        return Ok(if with_score { Reply::NilArray } else { Reply::Nil });
    };
    let mut rank = 0i64;
    walk_by_score(ctx, &h, rev, &mut |m, _| {
        if m == a[1].as_ref() {
            return ControlFlow::Break(());
        }
        rank += 1;
        ControlFlow::Continue(())
    })?;
    Ok(if with_score { Reply::Array(vec![Reply::Int(rank), score_reply(ctx, score)]) } else { Reply::Int(rank) })
}

/// `ZRANK key member [WITHSCORE]`
fn zrank(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    rank_cmd(ctx, a, false)
}

/// `ZREVRANK key member [WITHSCORE]`
fn zrevrank(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    rank_cmd(ctx, a, true)
}

/// Pops up to `n` members from the low (or high) end.
fn pop_n(ctx: &mut Ctx<'_>, key: &[u8], n: usize, max: bool) -> Result<Vec<(Bytes, f64)>> {
    let Some(mut h) = coll::open(ctx, key, KeyType::ZSet)? else { return Ok(Vec::new()) };
    let items = by_rank(ctx, &h, 0, n as i64 - 1, max)?;
    for (m, _) in &items {
        del_member(ctx, &mut h, m)?;
    }
    coll::save(ctx, key, &h)?;
    Ok(items)
}

fn zpop(ctx: &mut Ctx<'_>, a: &[Bytes], max: bool) -> Result<Reply> {
    if a.len() > 2 {
        return Err(RedisError::syntax());
    }
    let count = a.get(1).map(|c| args::count(c)).transpose()?;
    let items = pop_n(ctx, &a[0], usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX), max)?;
    Ok(match count {
        // Without a count RESP3 still answers one flat [member, score].
        None => Reply::Array(items.into_iter().flat_map(|(m, s)| [Reply::Bulk(m), score_reply(ctx, s)]).collect()),
        Some(_) => with_scores(ctx, items),
    })
}

/// `ZPOPMIN key [count]`
fn zpopmin(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    zpop(ctx, a, false)
}

/// `ZPOPMAX key [count]`
fn zpopmax(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    zpop(ctx, a, true)
}

fn bzpop(ctx: &mut Ctx<'_>, a: &[Bytes], max: bool) -> Result<Option<Reply>> {
    args::timeout(&a[a.len() - 1])?;
    for key in &a[..a.len() - 1] {
        if let Some((m, s)) = pop_n(ctx, key, 1, max)?.pop() {
            return Ok(Some(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(m), score_reply(ctx, s)])));
        }
    }
    Ok(None)
}

/// `BZPOPMIN key [key ...] timeout`
fn bzpopmin(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Option<Reply>> {
    bzpop(ctx, a, false)
}

/// `BZPOPMAX key [key ...] timeout`
fn bzpopmax(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Option<Reply>> {
    bzpop(ctx, a, true)
}

fn remove_all(ctx: &mut Ctx<'_>, key: &[u8], mut h: Handle, items: Vec<(Bytes, f64)>) -> Result<Reply> {
    for (m, _) in &items {
        del_member(ctx, &mut h, m)?;
    }
    if !items.is_empty() {
        coll::save(ctx, key, &h)?;
    }
    Ok(Reply::Int(items.len() as i64))
}

/// `ZREMRANGEBYSCORE key min max`
fn zremrangebyscore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (min, max) = (score_bound(&a[1])?, score_bound(&a[2])?);
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Int(0)) };
    let items = by_score(ctx, &h, min, max, false, 0, None)?;
    remove_all(ctx, &a[0], h, items)
}

/// `ZREMRANGEBYRANK key start stop`
fn zremrangebyrank(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (start, stop) = (args::int(&a[1])?, args::int(&a[2])?);
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Int(0)) };
    let items = by_rank(ctx, &h, start, stop, false)?;
    remove_all(ctx, &a[0], h, items)
}

/// `ZREMRANGEBYLEX key min max`
fn zremrangebylex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (min, max) = (lex_bound(&a[1])?, lex_bound(&a[2])?);
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(Reply::Int(0)) };
    let items = by_lex(ctx, &h, &min, &max, false, 0, None)?;
    remove_all(ctx, &a[0], h, items)
}

/// Replaces `dest` with a sorted set of `items`.
fn store(ctx: &mut Ctx<'_>, dest: &[u8], items: BTreeMap<Bytes, f64>) -> Result<Reply> {
    let n = items.len() as i64;
    if let Some(prev) = ctx.meta(dest)? {
        ctx.delete(dest, &prev)?;
    }
    let mut h = coll::open_or_create(ctx, dest, KeyType::ZSet)?;
    for (m, s) in items {
        put_member(ctx, &mut h, &m, s)?;
    }
    coll::save(ctx, dest, &h)?;
    Ok(Reply::Int(n))
}

/// The members and scores of a sorted set, or of a plain set (score 1).
fn load_any(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<BTreeMap<Bytes, f64>> {
    match ctx.meta(key)? {
        None => Ok(BTreeMap::new()),
        Some(m) if m.ty == KeyType::ZSet => {
            let prefix = ctx.prefix(key, &m);
            Ok(ctx
                .elements(cf::REDIS_SUBKEYS, &prefix)?
                .into_iter()
                .map(|(k, v)| (k, <[u8; 8]>::try_from(v.as_ref()).map(f64::from_be_bytes).unwrap_or(0.0)))
                .collect())
        }
        Some(m) if m.ty == KeyType::Set => {
            let prefix = ctx.prefix(key, &m);
            Ok(ctx.elements(cf::REDIS_SUBKEYS, &prefix)?.into_iter().map(|(k, _)| (k, 1.0)).collect())
        }
        Some(_) => Err(RedisError::wrong_type()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Parses `numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
/// [WITHSCORES]` starting at `a[0]`, and computes the result.
fn combine(ctx: &mut Ctx<'_>, a: &[Bytes], op: SetOp, allow_scores: bool) -> Result<(BTreeMap<Bytes, f64>, bool)> {
    let numkeys = args::int(&a[0])?;
    if numkeys <= 0 {
        let command = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        return Err(RedisError::err(format!("at least 1 input key is needed for '{command}' command")));
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if a.len() - 1 < numkeys {
        return Err(RedisError::syntax());
    }
    let keys = &a[1..=numkeys];
    let mut weights = vec![1.0; numkeys];
    let mut agg = Aggregate::Sum;
    let mut with_scores = false;
    let mut i = 1 + numkeys;
    while i < a.len() {
        if op != SetOp::Diff && is(&a[i], "weights") && a.len() - i > numkeys {
            for (w, arg) in weights.iter_mut().zip(&a[i + 1..=i + numkeys]) {
                *w = num::parse_f64(arg).ok_or_else(|| RedisError::err("weight value is not a float"))?;
            }
            i += numkeys + 1;
        } else if op != SetOp::Diff && is(&a[i], "aggregate") && i + 1 < a.len() {
            agg = if is(&a[i + 1], "sum") {
                Aggregate::Sum
            } else if is(&a[i + 1], "min") {
                Aggregate::Min
            } else if is(&a[i + 1], "max") {
                Aggregate::Max
            } else {
                return Err(RedisError::syntax());
            };
            i += 2;
        } else if allow_scores && is(&a[i], "withscores") {
            with_scores = true;
            i += 1;
        } else {
            return Err(RedisError::syntax());
        }
    }
    let mut inputs = Vec::with_capacity(numkeys);
    for k in keys {
        inputs.push(load_any(ctx, k)?);
    }
    let mut iter = inputs.into_iter().zip(weights);
    let Some((first, w0)) = iter.next() else { return Ok((BTreeMap::new(), with_scores)) };
    let weigh = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() { 0.0 } else { v }
    };
    let mut acc: BTreeMap<Bytes, f64> = first.into_iter().map(|(m, s)| (m, weigh(s, w0))).collect();
    let merge = |x: f64, y: f64| {
        let v = match agg {
            Aggregate::Sum => x + y,
            Aggregate::Min => x.min(y),
            Aggregate::Max => x.max(y),
        };
        if v.is_nan() { 0.0 } else { v }
    };
    for (set, w) in iter {
        match op {
            SetOp::Union => {
                for (m, s) in set {
                    let s = weigh(s, w);
                    acc.entry(m).and_modify(|x| *x = merge(*x, s)).or_insert(s);
                }
            }
            SetOp::Inter => {
                acc = acc.into_iter().filter_map(|(m, x)| set.get(&m).map(|s| (m, merge(x, weigh(*s, w))))).collect();
            }
            SetOp::Diff => acc.retain(|m, _| !set.contains_key(m)),
        }
    }
    Ok((acc, with_scores))
}

fn sorted(items: BTreeMap<Bytes, f64>) -> Vec<(Bytes, f64)> {
    let mut v: Vec<(Bytes, f64)> = items.into_iter().collect();
    v.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
    v
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]`
fn zunionstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (items, _) = combine(ctx, &a[1..], SetOp::Union, false)?;
    store(ctx, &a[0], items)
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]`
fn zinterstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (items, _) = combine(ctx, &a[1..], SetOp::Inter, false)?;
    store(ctx, &a[0], items)
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
fn zdiffstore(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (items, _) = combine(ctx, &a[1..], SetOp::Diff, false)?;
    store(ctx, &a[0], items)
}

fn combine_reply(ctx: &mut Ctx<'_>, a: &[Bytes], op: SetOp) -> Result<Reply> {
    let (items, with) = combine(ctx, a, op, true)?;
    Ok(range_reply(ctx, sorted(items), with))
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]`
fn zunion(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    combine_reply(ctx, a, SetOp::Union)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]`
fn zinter(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    combine_reply(ctx, a, SetOp::Inter)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    combine_reply(ctx, a, SetOp::Diff)
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
fn zscan(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let opts = scan_opts(a, 2, false, false)?;
    let after = cursor_arg(ctx, &a[1])?;
    let Some(h) = coll::open(ctx, &a[0], KeyType::ZSet)? else { return Ok(scan_reply(ctx, None, Vec::new())) };
    let (mut items, mut seen, mut last) = (Vec::new(), 0, None);
    ctx.elem_scan(cf::REDIS_SUBKEYS, &h.prefix, after.as_deref(), Direction::Forward, &mut |m, v| {
        if after.as_deref() == Some(m) {
            return ControlFlow::Continue(());
        }
        seen += 1;
        if opts.pattern.as_ref().is_none_or(|p| glob::matches(p, m)) {
            let s = <[u8; 8]>::try_from(v).map(f64::from_be_bytes).unwrap_or(0.0);
            items.push(Reply::Bulk(owned(m)));
            // Scores are text in ZSCAN even in RESP3, as in Redis.
            items.push(Reply::bulk(num::format_double(s)));
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
