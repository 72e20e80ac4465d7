//! Generic key commands: existence, deletion, renaming, expiry, iteration.

use std::ops::ControlFlow;

use bytes::Bytes;
use orbit_storage::cf;
use orbit_storage::kv::{Direction, KeyRange};

use super::args::{self, is};
use super::{Exec, Spec, spec};
use crate::engine::ctx::Ctx;
use crate::engine::keys::{self, Body, KeyType, Meta};
use crate::error::{RedisError, Result};
use crate::glob;
use crate::reply::Reply;

pub(crate) const SPECS: &[Spec] = &[
    spec!("del", -2, ["write"], (1, -1, 1), "generic", "1.0.0", "Deletes one or more keys.", Exec::Engine(del)),
    spec!(
        "unlink",
        -2,
        ["write", "fast"],
        (1, -1, 1),
        "generic",
        "4.0.0",
        "Asynchronously deletes one or more keys.",
        Exec::Engine(del)
    ),
    spec!(
        "exists",
        -2,
        ["readonly", "fast"],
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        Exec::Engine(exists)
    ),
    spec!(
        "type",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Determines the type of value stored at a key.",
        Exec::Engine(type_)
    ),
    spec!(
        "rename",
        3,
        ["write"],
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Renames a key and overwrites the destination.",
        Exec::Engine(rename)
    ),
    spec!(
        "renamenx",
        3,
        ["write", "fast"],
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Renames a key only when the target key name doesn't exist.",
        Exec::Engine(renamenx)
    ),
    spec!(
        "copy",
        -3,
        ["write", "denyoom"],
        (1, 2, 1),
        "generic",
        "6.2.0",
        "Copies the value of a key to a new key.",
        Exec::Engine(copy)
    ),
    spec!(
        "move",
        3,
        ["write", "fast"],
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Moves a key to another database.",
        Exec::Engine(move_)
    ),
    spec!(
        "keys",
        2,
        ["readonly"],
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern.",
        Exec::Engine(keys_)
    ),
    spec!(
        "scan",
        -2,
        ["readonly"],
        (0, 0, 0),
        "generic",
        "2.8.0",
        "Iterates over the key names in the database.",
        Exec::Engine(scan)
    ),
    spec!(
        "randomkey",
        1,
        ["readonly"],
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Returns a random key name from the database.",
        Exec::Engine(randomkey)
    ),
    spec!(
        "touch",
        -2,
        ["readonly", "fast"],
        (1, -1, 1),
        "generic",
        "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        Exec::Engine(exists)
    ),
    spec!(
        "object",
        -2,
        ["readonly"],
        (2, 2, 1),
        "generic",
        "2.2.3",
        "A container for object introspection commands.",
        Exec::Engine(object)
    ),
    spec!(
        "expire",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        Exec::Engine(expire)
    ),
    spec!(
        "pexpire",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        Exec::Engine(pexpire)
    ),
    spec!(
        "expireat",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "generic",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        Exec::Engine(expireat)
    ),
    spec!(
        "pexpireat",
        -3,
        ["write", "fast"],
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        Exec::Engine(pexpireat)
    ),
    spec!(
        "ttl",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Returns the expiration time in seconds of a key.",
        Exec::Engine(ttl)
    ),
    spec!(
        "pttl",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        Exec::Engine(pttl)
    ),
    spec!(
        "expiretime",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        Exec::Engine(expiretime)
    ),
    spec!(
        "pexpiretime",
        2,
        ["readonly", "fast"],
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        Exec::Engine(pexpiretime)
    ),
    spec!(
        "persist",
        2,
        ["write", "fast"],
        (1, 1, 1),
        "generic",
        "2.2.0",
        "Removes the expiration time of a key.",
        Exec::Engine(persist)
    ),
];

/// `DEL key [key ...]` and `UNLINK key [key ...]`
fn del(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut n = 0;
    for k in a {
        if let Some(m) = ctx.meta(k)? {
            ctx.delete(k, &m)?;
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `EXISTS key [key ...]` and `TOUCH key [key ...]`
fn exists(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut n = 0;
    for k in a {
        n += i64::from(ctx.meta(k)?.is_some());
    }
    Ok(Reply::Int(n))
}

/// `TYPE key`
fn type_(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Status(ctx.meta(&a[0])?.map_or("none", |m| m.ty.name())))
}

/// Copies `meta`'s value (of `src` in `src_db`) to `dst` in `dst_db`,
/// replacing `dst_prev`; collections get a fresh version and their elements
/// are copied under it.
pub(crate) fn copy_value(
    ctx: &mut Ctx<'_>,
    (src_db, src): (u8, &[u8]),
    meta: &Meta,
    (dst_db, dst): (u8, &[u8]),
    dst_prev: Option<&Meta>,
) -> Result<()> {
    let mut new = meta.clone();
    if let Body::Coll(c) = &meta.body {
        let version = ctx.new_version();
        let from = keys::element_prefix(src_db, src, c.version);
        let to = keys::element_prefix(dst_db, dst, version);
        let families: &[&'static str] =
            if meta.ty == KeyType::ZSet { &[cf::REDIS_SUBKEYS, cf::REDIS_ZSET_SCORES] } else { &[cf::REDIS_SUBKEYS] };
        for family in families {
            let mut items = Vec::new();
            ctx.txn.scan(family, &KeyRange::prefix(&from), Direction::Forward, &mut |k, v| {
                items.push((keys::element_key(&to, &k[from.len()..]), v.to_vec()));
                ControlFlow::Continue(())
            })?;
            for (k, v) in items {
                ctx.txn.put(family, k, v);
            }
        }
        if let Some(nc) = new.coll_mut() {
            nc.version = version;
        }
    }
    ctx.put_meta_in(dst_db, dst, &new, dst_prev)
}

fn rename_impl(ctx: &mut Ctx<'_>, a: &[Bytes], only_if_absent: bool) -> Result<Option<bool>> {
    let Some(meta) = ctx.meta(&a[0])? else { return Err(RedisError::no_such_key()) };
    if a[0] == a[1] {
        return Ok(Some(!only_if_absent));
    }
    let dst_prev = ctx.meta(&a[1])?;
    if only_if_absent && dst_prev.is_some() {
        return Ok(Some(false));
    }
    let db = ctx.db;
    copy_value(ctx, (db, &a[0]), &meta, (db, &a[1]), dst_prev.as_ref())?;
    ctx.delete(&a[0], &meta)?;
    Ok(Some(true))
}

/// `RENAME key newkey`
fn rename(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    rename_impl(ctx, a, false)?;
    Ok(Reply::OK)
}

/// `RENAMENX key newkey`
fn renamenx(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(i64::from(rename_impl(ctx, a, true)? == Some(true))))
}

/// A database index argument.
pub(crate) fn db_index(ctx: &Ctx<'_>, b: &[u8]) -> Result<u8> {
    let i = args::int(b)?;
    u8::try_from(i)
        .ok()
        .filter(|d| *d < ctx.shared.config.databases)
        .ok_or_else(|| RedisError::err("DB index is out of range"))
}

/// `COPY source destination [DB destination-db] [REPLACE]`
fn copy(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut dst_db = ctx.db;
    let mut replace = false;
    let mut db_arg = None;
    args::options(a, 2, |opt, rest| {
        if is(opt, "replace") {
            replace = true;
            Ok(1)
        } else if is(opt, "db") {
            db_arg = Some(args::value(rest)?.clone());
            Ok(2)
        } else {
            Err(RedisError::syntax())
        }
    })?;
    if let Some(d) = db_arg {
        dst_db = db_index(ctx, &d)?;
    }
    let src_db = ctx.db;
    if src_db == dst_db && a[0] == a[1] {
        return Err(RedisError::err("source and destination objects are the same"));
    }
    let Some(meta) = ctx.meta(&a[0])? else { return Ok(Reply::Int(0)) };
    let dst_prev = ctx.meta_in(dst_db, &a[1])?;
    if dst_prev.is_some() && !replace {
        return Ok(Reply::Int(0));
    }
    copy_value(ctx, (src_db, &a[0]), &meta, (dst_db, &a[1]), dst_prev.as_ref())?;
    Ok(Reply::Int(1))
}

/// `MOVE key db`
fn move_(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let dst_db = db_index(ctx, &a[1])?;
    if dst_db == ctx.db {
        return Err(RedisError::err("source and destination objects are the same"));
    }
    let Some(meta) = ctx.meta(&a[0])? else { return Ok(Reply::Int(0)) };
    if ctx.meta_in(dst_db, &a[0])?.is_some() {
        return Ok(Reply::Int(0));
    }
    let src_db = ctx.db;
    copy_value(ctx, (src_db, &a[0]), &meta, (dst_db, &a[0]), None)?;
    ctx.delete(&a[0], &meta)?;
    Ok(Reply::Int(1))
}

/// Visits live keys of the current database from `after` (exclusive),
/// in key order, with their metadata; stops when `visit` breaks.
pub(crate) fn walk_keys(
    ctx: &mut Ctx<'_>,
    after: Option<&[u8]>,
    visit: &mut dyn FnMut(&[u8], &Meta) -> ControlFlow<()>,
) -> Result<()> {
    let db = ctx.db;
    let mut range = KeyRange::prefix(&[db]);
    if let Some(a) = after {
        range.start = std::ops::Bound::Excluded(keys::meta_key(db, a));
    }
    let now = ctx.now_ms;
    let mut failure = None;
    ctx.txn.scan(cf::REDIS_METADATA, &range, Direction::Forward, &mut |k, v| match Meta::decode(v) {
        Ok(m) if m.expired(now) => ControlFlow::Continue(()),
        Ok(m) => visit(&k[1..], &m),
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    })?;
    failure.map_or(Ok(()), Err)
}

/// `KEYS pattern`
fn keys_(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let mut out = Vec::new();
    let all = a[0].as_ref() == b"*";
    walk_keys(ctx, None, &mut |k, _| {
        if all || glob::matches(&a[0], k) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(k)));
        }
        ControlFlow::Continue(())
    })?;
    Ok(Reply::Array(out))
}

/// Options shared by SCAN, HSCAN, SSCAN and ZSCAN.
pub(crate) struct ScanOpts {
    pub pattern: Option<Bytes>,
    pub count: usize,
    /// `TYPE` filter: `Some(None)` for a type name that matches nothing.
    pub ty: Option<Option<KeyType>>,
    pub novalues: bool,
}

/// Parses `[MATCH pattern] [COUNT count]` (and `TYPE` / `NOVALUES` where allowed).
pub(crate) fn scan_opts(a: &[Bytes], start: usize, allow_type: bool, allow_novalues: bool) -> Result<ScanOpts> {
    let mut o = ScanOpts { pattern: None, count: 10, ty: None, novalues: false };
    args::options(a, start, |opt, rest| {
        if is(opt, "match") {
            o.pattern = Some(args::value(rest)?.clone());
            Ok(2)
        } else if is(opt, "count") {
            let n = args::int(args::value(rest)?)?;
            if n < 1 {
                return Err(RedisError::syntax());
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
            Ok(2)
        } else if allow_type && is(opt, "type") {
            // An unknown type matches nothing, as in Redis.
            o.ty = Some(KeyType::from_name(args::value(rest)?));
            Ok(2)
        } else if allow_novalues && is(opt, "novalues") {
            o.novalues = true;
            Ok(1)
        } else {
            Err(RedisError::syntax())
        }
    })?;
    Ok(o)
}

/// The cursor argument: 0 starts; anything else must be one we handed out.
pub(crate) fn cursor_arg(ctx: &Ctx<'_>, b: &[u8]) -> Result<Option<Vec<u8>>> {
    let invalid = || RedisError::err("invalid cursor");
    let n: u64 = std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).ok_or_else(invalid)?;
    if n == 0 {
        return Ok(None);
    }
    ctx.st.cursors.get(&n).cloned().map(Some).ok_or_else(invalid)
}

/// SCAN's reply: the next cursor (0 when done) and the batch.
pub(crate) fn scan_reply(ctx: &mut Ctx<'_>, last: Option<Vec<u8>>, items: Vec<Reply>) -> Reply {
    let next = match last {
        None => 0,
        Some(position) => ctx.st.remember_cursor(position),
    };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(items)])
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Cursors name a position in key order, so every key present for the
/// whole iteration is returned exactly once, however keys change meanwhile.
fn scan(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let opts = scan_opts(a, 1, true, false)?;
    let after = cursor_arg(ctx, &a[0])?;
    let mut items = Vec::new();
    let mut seen = 0;
    let mut last = None;
    walk_keys(ctx, after.as_deref(), &mut |k, m| {
        seen += 1;
        let type_ok = opts.ty.is_none_or(|t| t == Some(m.ty));
        if type_ok && opts.pattern.as_ref().is_none_or(|p| glob::matches(p, k)) {
            items.push(Reply::Bulk(Bytes::copy_from_slice(k)));
        }
        if seen >= opts.count {
            last = Some(k.to_vec());
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(scan_reply(ctx, last, items))
}

/// `RANDOMKEY`
fn randomkey(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> Result<Reply> {
    if ctx.st.dbs[usize::from(ctx.db)].keys == 0 {
        return Ok(Reply::Nil);
    }
    // Start at a random point of the key space and take the next live key,
    // wrapping around once.
    let start: [u8; 8] = rand::random();
    for after in [Some(&start[..]), None] {
        let mut found = None;
        walk_keys(ctx, after, &mut |k, _| {
            found = Some(Bytes::copy_from_slice(k));
            ControlFlow::Break(())
        })?;
        if let Some(k) = found {
            return Ok(Reply::Bulk(k));
        }
    }
    Ok(Reply::Nil)
}

/// The encoding Redis 7 would report for a value of this shape.
fn encoding(ctx: &mut Ctx<'_>, key: &[u8], m: &Meta) -> Result<&'static str> {
    Ok(match (&m.body, m.ty) {
        (Body::Str(v), _) => {
            if v.len() <= 20 && crate::num::parse_i64(v).is_some() {
                "int"
            } else if v.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        (Body::Coll(c), KeyType::Hash | KeyType::ZSet) => {
            if c.size <= 128 {
                "listpack"
            } else if m.ty == KeyType::Hash {
                "hashtable"
            } else {
                "skiplist"
            }
        }
        (Body::Coll(c), KeyType::List) => {
            if c.size <= 128 {
                "listpack"
            } else {
                "quicklist"
            }
        }
        (Body::Coll(c), KeyType::Set) => {
            let prefix = ctx.prefix(key, m);
            let mut all_ints = c.size <= 512;
            if all_ints {
                ctx.elem_scan(cf::REDIS_SUBKEYS, &prefix, None, Direction::Forward, &mut |member, _| {
                    all_ints = crate::num::parse_i64(member).is_some();
                    if all_ints { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
                })?;
            }
            if all_ints {
                "intset"
            } else if c.size <= 128 {
                "listpack"
            } else {
                "hashtable"
            }
        }
        (Body::Coll(_), KeyType::String) => "raw",
    })
}

/// `OBJECT ENCODING key` / `OBJECT REFCOUNT key` / `OBJECT FREQ key` /
/// `OBJECT IDLETIME key` / `OBJECT HELP`
fn object(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let sub = &a[0];
    if is(sub, "help") {
        return Ok(Reply::bulks([
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Print this help.",
        ]));
    }
    let known = ["encoding", "refcount", "freq", "idletime"].iter().any(|w| is(sub, w));
    if !known || a.len() != 2 {
        return Err(RedisError::unknown_subcommand(sub, "object"));
    }
    let Some(m) = ctx.meta(&a[1])? else { return Ok(Reply::Nil) };
    if is(sub, "encoding") {
        Ok(Reply::bulk(encoding(ctx, &a[1], &m)?))
    } else if is(sub, "refcount") {
        Ok(Reply::Int(1))
    } else if is(sub, "freq") {
        Err(RedisError::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ))
    } else {
        Err(RedisError::err("An LRU maxmemory policy is not selected, idle time not tracked."))
    }
}

/// How EXPIRE's condition flags restrict setting a new expiry.
#[derive(Default)]
struct Cond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn expire_generic(ctx: &mut Ctx<'_>, a: &[Bytes], unit_ms: i64, absolute: bool, command: &str) -> Result<Reply> {
    let mut c = Cond::default();
    args::options(a, 2, |opt, _| {
        if is(opt, "nx") {
            c.nx = true;
        } else if is(opt, "xx") {
            c.xx = true;
        } else if is(opt, "gt") {
            c.gt = true;
        } else if is(opt, "lt") {
            c.lt = true;
        } else {
            return Err(RedisError::err(format!("Unsupported option {}", String::from_utf8_lossy(opt))));
        }
        Ok(1)
    })?;
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(RedisError::err("NX and XX, GT or LT options at the same time are not compatible"));
    }
    if c.gt && c.lt {
        return Err(RedisError::err("GT and LT options at the same time are not compatible"));
    }
    let v = args::int(&a[1])?;
    let invalid = || RedisError::err(format!("invalid expire time in '{command}' command"));
    let at = v.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute { at } else { at.checked_add(ctx.now_ms).ok_or_else(invalid)? };
    let Some(meta) = ctx.meta(&a[0])? else { return Ok(Reply::Int(0)) };
    let current = meta.expire_at;
    let allowed = if c.nx {
        current == 0
    } else if c.xx {
        current != 0 && (!c.gt || at > current) && (!c.lt || at < current)
    } else if c.gt {
        current != 0 && at > current
    } else if c.lt {
        current == 0 || at < current
    } else {
        true
    };
    if !allowed {
        return Ok(Reply::Int(0));
    }
    if at <= ctx.now_ms {
        ctx.delete(&a[0], &meta)?;
    } else {
        let mut next = meta.clone();
        next.expire_at = at;
        ctx.put_meta(&a[0], &next, Some(&meta))?;
    }
    Ok(Reply::Int(1))
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    expire_generic(ctx, a, 1000, false, "expire")
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    expire_generic(ctx, a, 1, false, "pexpire")
}

/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    expire_generic(ctx, a, 1000, true, "expireat")
}

/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    expire_generic(ctx, a, 1, true, "pexpireat")
}

/// -2 for a missing key, -1 for no expiry, else `f(expire_at_ms)`.
fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], f: impl Fn(i64, i64) -> i64) -> Result<Reply> {
    Ok(Reply::Int(match ctx.meta(key)? {
        None => -2,
        Some(m) if m.expire_at == 0 => -1,
        Some(m) => f(m.expire_at, ctx.now_ms),
    }))
}

/// `TTL key`
fn ttl(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    ttl_generic(ctx, &a[0], |at, now| ((at - now).max(0) + 500) / 1000)
}

/// `PTTL key`
fn pttl(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    ttl_generic(ctx, &a[0], |at, now| (at - now).max(0))
}

/// `EXPIRETIME key`
fn expiretime(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    ttl_generic(ctx, &a[0], |at, _| at / 1000)
}

/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    ttl_generic(ctx, &a[0], |at, _| at)
}

/// `PERSIST key`
fn persist(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(meta) = ctx.meta(&a[0])? else { return Ok(Reply::Int(0)) };
    if meta.expire_at == 0 {
        return Ok(Reply::Int(0));
    }
    let mut next = meta.clone();
    next.expire_at = 0;
    ctx.put_meta(&a[0], &next, Some(&meta))?;
    Ok(Reply::Int(1))
}
