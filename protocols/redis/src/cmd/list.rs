//! List commands, blocking pops included.
//!
//! A list's elements sit at consecutive indexes `[head, tail)`; pushing at
//! either end extends the range, so pushes and pops are O(1) and LINDEX,
//! LSET and LRANGE address elements directly.

use std::ops::ControlFlow;

use bytes::Bytes;
use orbit_storage::cf;
use orbit_storage::kv::Direction;

use super::args::{self, is};
use super::coll::{self, Handle, owned};
use super::string::clamp_range;
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::engine::keys::{self, KeyType};
use crate::error::{RedisError, Result};
use crate::reply::Reply;

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "lpush",
        -3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        Exec::Engine(lpush)
    ),
    spec!(
        "rpush",
        -3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        Exec::Engine(rpush)
    ),
    spec!(
        "lpushx",
        -3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "2.2.0",
        "Prepends one or more elements to a list only when the list exists.",
        Exec::Engine(lpushx)
    ),
    spec!(
        "rpushx",
        -3,
        ["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "2.2.0",
        "Appends an element to a list only when the list exists.",
        Exec::Engine(rpushx)
    ),
    spec!(
        "lpop",
        -2,
        ["write", "fast"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        Exec::Engine(lpop)
    ),
    spec!(
        "rpop",
        -2,
        ["write", "fast"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
        Exec::Engine(rpop)
    ),
    spec!(
        "llen",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns the length of a list.",
        Exec::Engine(llen)
    ),
    spec!(
        "lrange",
        4,
        ["readonly"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns a range of elements from a list.",
        Exec::Engine(lrange)
    ),
    spec!(
        "lindex",
        3,
        ["readonly"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Returns an element from a list by its index.",
        Exec::Engine(lindex)
    ),
    spec!(
        "lset",
        4,
        ["write", "denyoom"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Sets the value of an element in a list by its index.",
        Exec::Engine(lset)
    ),
    spec!(
        "lrem",
        4,
        ["write"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Removes elements from a list. Deletes the list if the last element was removed.",
        Exec::Engine(lrem)
    ),
    spec!(
        "ltrim",
        4,
        ["write"],
        (1, 1, 1),
        "list",
        "1.0.0",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
        Exec::Engine(ltrim)
    ),
    spec!(
        "linsert",
        5,
        ["write", "denyoom"],
        (1, 1, 1),
        "list",
        "2.2.0",
        "Inserts an element before or after another element in a list.",
        Exec::Engine(linsert)
    ),
    spec!(
        "lpos",
        -3,
        ["readonly"],
        (1, 1, 1),
        "list",
        "6.0.6",
        "Returns the index of matching elements in a list.",
        Exec::Engine(lpos)
    ),
    spec!(
        "lmove",
        5,
        ["write", "denyoom"],
        (1, 2, 1),
        "list",
        "6.2.0",
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
        Exec::Engine(lmove)
    ),
    spec!(
        "rpoplpush",
        3,
        ["write", "denyoom"],
        (1, 2, 1),
        "list",
        "1.2.0",
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
        Exec::Engine(rpoplpush)
    ),
    spec!(
        "blpop",
        -3,
        ["write", "blocking"],
        (1, -2, 1),
        "list",
        "2.0.0",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        Exec::Blocking(blpop, nil_array)
    ),
    spec!(
        "brpop",
        -3,
        ["write", "blocking"],
        (1, -2, 1),
        "list",
        "2.0.0",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        Exec::Blocking(brpop, nil_array)
    ),
    spec!(
        "blmove",
        6,
        ["write", "denyoom", "blocking"],
        (1, 2, 1),
        "list",
        "6.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
        Exec::Blocking(blmove, nil)
    ),
    spec!(
        "brpoplpush",
        4,
        ["write", "denyoom", "blocking"],
        (1, 2, 1),
        "list",
        "2.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
        Exec::Blocking(brpoplpush, nil)
    ),
];

fn nil_array() -> Reply {
    Reply::NilArray
}

fn nil() -> Reply {
    Reply::Nil
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

fn end_arg(b: &[u8]) -> Result<End> {
    if is(b, "left") {
        Ok(End::Left)
    } else if is(b, "right") {
        Ok(End::Right)
    } else {
        Err(RedisError::syntax())
    }
}

fn index_key(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

fn bounds(h: &Handle) -> (u64, u64) {
    h.meta.coll().map_or((keys::LIST_MIDDLE, keys::LIST_MIDDLE), |c| (c.head, c.tail))
}

fn set_bounds(h: &mut Handle, head: u64, tail: u64) {
    if let Some(c) = h.meta.coll_mut() {
        c.head = head;
        c.tail = tail;
        c.size = tail - head;
    }
}

fn push(ctx: &mut Ctx<'_>, h: &mut Handle, end: End, value: &[u8]) {
    let (head, tail) = bounds(h);
    match end {
        End::Left => {
            ctx.elem_put(&h.prefix, &index_key(head - 1), value.to_vec());
            set_bounds(h, head - 1, tail);
        }
        End::Right => {
            ctx.elem_put(&h.prefix, &index_key(tail), value.to_vec());
            set_bounds(h, head, tail + 1);
        }
    }
}

fn pop(ctx: &mut Ctx<'_>, h: &mut Handle, end: End) -> Result<Option<Bytes>> {
    let (head, tail) = bounds(h);
    if head >= tail {
        return Ok(None);
    }
    let i = if end == End::Left { head } else { tail - 1 };
    let v = ctx.elem_get(&h.prefix, &index_key(i))?;
    ctx.elem_del(&h.prefix, &index_key(i));
    if end == End::Left {
        set_bounds(h, head + 1, tail);
    } else {
        set_bounds(h, head, tail - 1);
    }
    Ok(v.map(Bytes::from))
}

/// The list's elements from position `from` to `to` (inclusive, 0-based).
fn range(ctx: &Ctx<'_>, h: &Handle, from: usize, to: usize) -> Result<Vec<Bytes>> {
    let (head, _) = bounds(h);
    let mut out = Vec::with_capacity(to - from + 1);
    let want = to - from + 1;
    ctx.elem_scan(
        cf::REDIS_SUBKEYS,
        &h.prefix,
        Some(&index_key(head + from as u64)),
        Direction::Forward,
        &mut |_, v| {
            out.push(owned(v));
            if out.len() >= want { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        },
    )?;
    Ok(out)
}

fn all(ctx: &Ctx<'_>, h: &Handle) -> Result<Vec<Bytes>> {
    match h.size() {
        0 => Ok(Vec::new()),
        n => range(ctx, h, 0, (n - 1) as usize),
    }
}

/// Replaces all elements with `items`, keeping the list's head.
fn rewrite(ctx: &mut Ctx<'_>, h: &mut Handle, items: &[Bytes]) {
    let (head, tail) = bounds(h);
    if tail > head {
        let start = keys::element_key(&h.prefix, &index_key(head));
        let end = keys::element_key(&h.prefix, &index_key(tail));
        ctx.txn.delete_range(cf::REDIS_SUBKEYS, start, end);
    }
    for (i, v) in items.iter().enumerate() {
        ctx.elem_put(&h.prefix, &index_key(head + i as u64), v.to_vec());
    }
    set_bounds(h, head, head + items.len() as u64);
}

fn push_cmd(ctx: &mut Ctx<'_>, a: &[Bytes], end: End, only_existing: bool) -> Result<Reply> {
    let h = if only_existing {
        coll::open(ctx, &a[0], KeyType::List)?
    } else {
        Some(coll::open_or_create(ctx, &a[0], KeyType::List)?)
    };
    let Some(mut h) = h else { return Ok(Reply::Int(0)) };
    for v in &a[1..] {
        push(ctx, &mut h, end, v);
    }
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::Int(h.size() as i64))
}

/// `LPUSH key element [element ...]`
fn lpush(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    push_cmd(ctx, a, End::Left, false)
}

/// `RPUSH key element [element ...]`
fn rpush(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    push_cmd(ctx, a, End::Right, false)
}

/// `LPUSHX key element [element ...]`
fn lpushx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    push_cmd(ctx, a, End::Left, true)
}

/// `RPUSHX key element [element ...]`
fn rpushx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    push_cmd(ctx, a, End::Right, true)
}

fn pop_cmd(ctx: &mut Ctx<'_>, a: &[Bytes], end: End) -> Result<Reply> {
    if a.len() > 2 {
        return Err(RedisError::syntax());
    }
    let count = a.get(1).map(|c| args::count(c)).transpose()?;
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::List)? else {
        return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil });
    };
    let n = count.unwrap_or(1).min(h.size());
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        if let Some(v) = pop(ctx, &mut h, end)? {
            out.push(v);
        }
    }
    coll::save(ctx, &a[0], &h)?;
    Ok(match count {
        Some(_) => Reply::bulks(out),
        None => Reply::bulk_or_nil(out.pop()),
    })
}

/// `LPOP key [count]`
fn lpop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    pop_cmd(ctx, a, End::Left)
}

/// `RPOP key [count]`
fn rpop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    pop_cmd(ctx, a, End::Right)
}

/// `LLEN key`
fn llen(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(coll::open(ctx, &a[0], KeyType::List)?.map_or(0, |h| h.size() as i64)))
}

/// `LRANGE key start stop`
fn lrange(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (start, stop) = (args::int(&a[1])?, args::int(&a[2])?);
    let Some(h) = coll::open(ctx, &a[0], KeyType::List)? else { return Ok(Reply::Array(Vec::new())) };
    Ok(match clamp_range(start, stop, h.size() as i64) {
        Some((s, e)) => Reply::bulks(range(ctx, &h, s, e)?),
        None => Reply::Array(Vec::new()),
    })
}

/// A LINDEX/LSET index as a position, if within the list.
fn position(index: i64, len: u64) -> Option<u64> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as u64)
}

/// `LINDEX key index`
fn lindex(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let index = args::int(&a[1])?;
    let Some(h) = coll::open(ctx, &a[0], KeyType::List)? else { return Ok(Reply::Nil) };
    let Some(p) = position(index, h.size()) else { return Ok(Reply::Nil) };
    Ok(Reply::bulk_or_nil(ctx.elem_get(&h.prefix, &index_key(bounds(&h).0 + p))?))
}

/// `LSET key index element`
fn lset(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let index = args::int(&a[1])?;
    let Some(h) = coll::open(ctx, &a[0], KeyType::List)? else { return Err(RedisError::no_such_key()) };
    let p = position(index, h.size()).ok_or_else(RedisError::index_out_of_range)?;
    ctx.elem_put(&h.prefix, &index_key(bounds(&h).0 + p), a[2].to_vec());
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::OK)
}

/// `LREM key count element`
fn lrem(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let count = args::int(&a[1])?;
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::List)? else { return Ok(Reply::Int(0)) };
    let mut items = all(ctx, &h)?;
    let limit = if count == 0 { usize::MAX } else { usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) };
    let mut removed = 0;
    let mut keep = vec![true; items.len()];
    let order: Box<dyn Iterator<Item = usize>> =
        if count < 0 { Box::new((0..items.len()).rev()) } else { Box::new(0..items.len()) };
    for i in order {
        if removed == limit {
            break;
        }
        if items[i] == a[2] {
            keep[i] = false;
            removed += 1;
        }
    }
    if removed > 0 {
        let mut flags = keep.into_iter();
        items.retain(|_| flags.next().unwrap_or(true));
        rewrite(ctx, &mut h, &items);
        coll::save(ctx, &a[0], &h)?;
    }
    Ok(Reply::Int(removed as i64))
}

/// `LTRIM key start stop`
fn ltrim(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (start, stop) = (args::int(&a[1])?, args::int(&a[2])?);
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::List)? else { return Ok(Reply::OK) };
    let (head, tail) = bounds(&h);
    let (new_head, new_tail) = match clamp_range(start, stop, h.size() as i64) {
        Some((s, e)) => (head + s as u64, head + e as u64 + 1),
        None => (head, head),
    };
    // Trimmed ends go in two range deletes, whatever their length.
    let key = |i: u64| keys::element_key(&h.prefix, &index_key(i));
    if new_head > head {
        ctx.txn.delete_range(cf::REDIS_SUBKEYS, key(head), key(new_head));
    }
    if tail > new_tail {
        ctx.txn.delete_range(cf::REDIS_SUBKEYS, key(new_tail), key(tail));
    }
    set_bounds(&mut h, new_head, new_tail);
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::OK)
}

/// `LINSERT key <BEFORE | AFTER> pivot element`
fn linsert(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let before = if is(&a[1], "before") {
        true
    } else if is(&a[1], "after") {
        false
    } else {
        return Err(RedisError::syntax());
    };
    let Some(mut h) = coll::open(ctx, &a[0], KeyType::List)? else { return Ok(Reply::Int(0)) };
    let mut items = all(ctx, &h)?;
    let Some(at) = items.iter().position(|v| *v == a[2]) else { return Ok(Reply::Int(-1)) };
    items.insert(if before { at } else { at + 1 }, a[3].clone());
    rewrite(ctx, &mut h, &items);
    coll::save(ctx, &a[0], &h)?;
    Ok(Reply::Int(items.len() as i64))
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0i64);
    args::options(a, 2, |opt, rest| {
        let v = args::int(args::value(rest)?)?;
        if is(opt, "rank") {
            if v == 0 || v == i64::MIN {
                return Err(RedisError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
            rank = v;
        } else if is(opt, "count") {
            if v < 0 {
                return Err(RedisError::err("COUNT can't be negative"));
            }
            count = Some(v);
        } else if is(opt, "maxlen") {
            if v < 0 {
                return Err(RedisError::err("MAXLEN can't be negative"));
            }
            maxlen = v;
        } else {
            return Err(RedisError::syntax());
        }
        Ok(2)
    })?;
    let Some(h) = coll::open(ctx, &a[0], KeyType::List)? else {
        return Ok(if count.is_some() { Reply::Array(Vec::new()) } else { Reply::Nil });
    };
    let items = all(ctx, &h)?;
    let len = items.len();
    let order: Box<dyn Iterator<Item = usize>> = if rank < 0 { Box::new((0..len).rev()) } else { Box::new(0..len) };
    let mut skip = rank.unsigned_abs() - 1;
    let wanted = match count {
        Some(0) => usize::MAX,
        Some(c) => usize::try_from(c).unwrap_or(usize::MAX),
        None => 1,
    };
    let mut found = Vec::new();
    for (scanned, i) in order.enumerate() {
        if maxlen > 0 && scanned as i64 >= maxlen {
            break;
        }
        if items[i] == a[1] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(Reply::Int(i as i64));
            if found.len() >= wanted {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.pop().unwrap_or(Reply::Nil),
    })
}

/// Moves one element between lists; `None` when the source is empty.
fn move_one(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> Result<Option<Bytes>> {
    let Some(mut s) = coll::open(ctx, src, KeyType::List)? else { return Ok(None) };
    // The destination must be a list (or absent) before anything moves.
    coll::open(ctx, dst, KeyType::List)?;
    let Some(v) = pop(ctx, &mut s, from)? else { return Ok(None) };
    coll::save(ctx, src, &s)?;
    let mut d = coll::open_or_create(ctx, dst, KeyType::List)?;
    push(ctx, &mut d, to, &v);
    coll::save(ctx, dst, &d)?;
    Ok(Some(v))
}

/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
fn lmove(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let (from, to) = (end_arg(&a[2])?, end_arg(&a[3])?);
    Ok(Reply::bulk_or_nil(move_one(ctx, &a[0], &a[1], from, to)?))
}

/// `RPOPLPUSH source destination`
fn rpoplpush(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::bulk_or_nil(move_one(ctx, &a[0], &a[1], End::Right, End::Left)?))
}

fn bpop(ctx: &mut Ctx<'_>, a: &[Bytes], end: End) -> Result<Option<Reply>> {
    args::timeout(&a[a.len() - 1])?;
    for key in &a[..a.len() - 1] {
        if let Some(mut h) = coll::open(ctx, key, KeyType::List)?
            && let Some(v) = pop(ctx, &mut h, end)?
        {
            coll::save(ctx, key, &h)?;
            return Ok(Some(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(v)])));
        }
    }
    Ok(None)
}

/// `BLPOP key [key ...] timeout`
fn blpop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Option<Reply>> {
    bpop(ctx, a, End::Left)
}

/// `BRPOP key [key ...] timeout`
fn brpop(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Option<Reply>> {
    bpop(ctx, a, End::Right)
}

/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout`
fn blmove(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Option<Reply>> {
    let (from, to) = (end_arg(&a[2])?, end_arg(&a[3])?);
    args::timeout(&a[4])?;
    Ok(move_one(ctx, &a[0], &a[1], from, to)?.map(Reply::Bulk))
}

/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Option<Reply>> {
    args::timeout(&a[2])?;
    Ok(move_one(ctx, &a[0], &a[1], End::Right, End::Left)?.map(Reply::Bulk))
}
