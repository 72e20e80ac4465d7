//! Server commands: INFO, CONFIG, COMMAND, DBSIZE, FLUSH*, SAVE, TIME, and
//! publishing.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use orbit_storage::{SyncPolicy, cf};

use super::args::is;
use super::{Exec, Spec, all, spec};
use crate::engine::ctx::Ctx;
use crate::engine::state::Stats;
use crate::error::{RedisError, Result};
use crate::glob;
use crate::reply::Reply;

/// The Redis version Orbit answers as; clients parse it to pick features.
pub(crate) const REDIS_VERSION: &str = "7.2.5";

pub(crate) const SPECS: &[Spec] = &[
    spec!(
        "info",
        -1,
        ["loading", "stale"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        Exec::Engine(info)
    ),
    spec!(
        "dbsize",
        1,
        ["readonly", "fast"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        Exec::Engine(dbsize)
    ),
    spec!(
        "flushdb",
        -1,
        ["write"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes all keys from the current database.",
        Exec::Engine(flushdb)
    ),
    spec!(
        "flushall",
        -1,
        ["write"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        Exec::Engine(flushall)
    ),
    spec!(
        "time",
        1,
        ["loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "2.6.0",
        "Returns the server time.",
        Exec::Engine(time)
    ),
    spec!(
        "lastsave",
        1,
        ["loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        Exec::Engine(lastsave)
    ),
    spec!(
        "save",
        1,
        ["admin", "noscript"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        Exec::Engine(save)
    ),
    spec!(
        "bgsave",
        -1,
        ["admin", "noscript"],
        (0, 0, 0),
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        Exec::Engine(bgsave)
    ),
    spec!(
        "config",
        -2,
        ["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        Exec::Engine(config)
    ),
    spec!(
        "command",
        -1,
        ["loading", "stale"],
        (0, 0, 0),
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        Exec::Engine(command)
    ),
    spec!(
        "publish",
        3,
        ["pubsub", "loading", "stale", "fast"],
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        Exec::Engine(publish)
    ),
    spec!(
        "pubsub",
        -2,
        ["pubsub", "loading", "stale"],
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        Exec::Engine(pubsub)
    ),
];

/// `DBSIZE`
fn dbsize(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(ctx.st.dbs[usize::from(ctx.db)].keys as i64))
}

fn flush_mode(a: &[Bytes]) -> Result<()> {
    match a {
        [] => Ok(()),
        [m] if is(m, "async") || is(m, "sync") => Ok(()),
        _ => Err(RedisError::syntax()),
    }
}

/// Deletes every key of `db`: three range deletes, whatever the size.
fn flush(ctx: &mut Ctx<'_>, db: u8) {
    let (start, end) = (vec![db], vec![db + 1]);
    for family in [cf::REDIS_METADATA, cf::REDIS_SUBKEYS, cf::REDIS_ZSET_SCORES] {
        ctx.txn.delete_range(family, start.clone(), end.clone());
    }
    // Expiry entries of the flushed keys find no key when due and are dropped then.
    ctx.st.dbs[usize::from(db)] = Default::default();
    ctx.st.cache.clear();
    ctx.shared.read_cache.invalidate_all(&mut ctx.st.read_cache_writes);
    ctx.st.touch_all(Some(db));
    ctx.st.stats.dirty += 1;
}

/// `FLUSHDB [ASYNC | SYNC]`
fn flushdb(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    flush_mode(a)?;
    let db = ctx.db;
    flush(ctx, db);
    Ok(Reply::OK)
}

/// `FLUSHALL [ASYNC | SYNC]`
fn flushall(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    flush_mode(a)?;
    for db in 0..ctx.shared.config.databases {
        flush(ctx, db);
    }
    Ok(Reply::OK)
}

/// `TIME`
fn time(_ctx: &mut Ctx<'_>, _a: &[Bytes]) -> Result<Reply> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(Reply::bulks([now.as_secs().to_string(), now.subsec_micros().to_string()]))
}

/// `LASTSAVE`
fn lastsave(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(ctx.st.stats.last_save_unix))
}

fn unix_now() -> i64 {
    crate::engine::now_ms() / 1000
}

/// `SAVE`: flushes the store's memtables to table files and syncs, so
/// everything written so far is in durable files.
fn save(ctx: &mut Ctx<'_>, _a: &[Bytes]) -> Result<Reply> {
    ctx.store.engine().flush()?;
    ctx.st.stats.last_save_unix = unix_now();
    ctx.st.stats.dirty = 0;
    Ok(Reply::OK)
}

/// `BGSAVE [SCHEDULE]`: the same as SAVE, on a background thread.
fn bgsave(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    if !(a.is_empty() || (a.len() == 1 && is(&a[0], "schedule"))) {
        return Err(RedisError::syntax());
    }
    let engine = ctx.store.engine().clone();
    std::thread::Builder::new()
        .name("orbit-redis-bgsave".into())
        .spawn(move || {
            if let Err(e) = engine.flush() {
                tracing::error!(error = %e, "BGSAVE failed");
            }
        })
        .map_err(|e| RedisError::err(format!("cannot start the background save: {e}")))?;
    ctx.st.stats.last_save_unix = unix_now();
    ctx.st.stats.dirty = 0;
    Ok(Reply::Status("Background saving started"))
}

/// Configuration parameters CONFIG GET reports, with their values.
fn parameters(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    let appendfsync = match ctx.store.durability().policy() {
        SyncPolicy::Commit => "always",
        SyncPolicy::Interval(_) => "everysec",
        SyncPolicy::None => "no",
    };
    let password =
        ctx.shared.users.read().iter().find(|u| u.name == "default").map(|u| u.password.clone()).unwrap_or_default();
    vec![
        ("databases", ctx.shared.config.databases.to_string()),
        ("port", ctx.shared.port.load(Ordering::Relaxed).to_string()),
        ("requirepass", password),
        ("proto-max-bulk-len", ctx.shared.max_bulk_len.load(Ordering::Relaxed).to_string()),
        ("appendonly", "yes".into()),
        ("appendfsync", appendfsync.into()),
        ("save", String::new()),
        ("maxmemory", "0".into()),
        ("maxmemory-policy", "noeviction".into()),
        ("timeout", "0".into()),
        ("tcp-keepalive", "300".into()),
        ("maxclients", "10000".into()),
        ("dir", ctx.store.path().map(|p| p.display().to_string()).unwrap_or_default()),
    ]
}

/// A validated CONFIG SET change.
enum Change {
    Password(Bytes),
    MaxBulkLen(usize),
}

/// `CONFIG GET parameter [parameter ...]` / `CONFIG SET parameter value
/// [parameter value ...]` / `CONFIG RESETSTAT` / `CONFIG HELP`
fn config(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let sub = &a[0];
    if is(sub, "get") && a.len() >= 2 {
        let params = parameters(ctx);
        let mut out = Vec::new();
        for (name, value) in &params {
            if a[1..].iter().any(|p| glob::matches(&p.to_ascii_lowercase(), name.as_bytes())) {
                out.push((Reply::bulk(*name), Reply::bulk(value.clone())));
            }
        }
        Ok(Reply::Map(out))
    } else if is(sub, "set") && a.len() >= 3 && a.len() % 2 == 1 {
        // Validate everything before changing anything.
        let mut changes = Vec::new();
        for pv in a[1..].chunks(2) {
            let name = String::from_utf8_lossy(&pv[0]).to_ascii_lowercase();
            match name.as_str() {
                "requirepass" => changes.push(Change::Password(pv[1].clone())),
                "proto-max-bulk-len" => {
                    let n = crate::num::parse_i64(&pv[1]).and_then(|n| usize::try_from(n).ok()).filter(|n| *n >= 1024);
                    let n = n.ok_or_else(|| {
                        RedisError::err("CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value")
                    })?;
                    changes.push(Change::MaxBulkLen(n));
                }
                other if parameters(ctx).iter().any(|(n, _)| *n == other) => {
                    return Err(RedisError::err(format!(
                        "CONFIG SET failed (possibly related to argument '{other}') - can't set immutable config"
                    )));
                }
                other => {
                    return Err(RedisError::err(format!(
                        "Unknown option or number of arguments for CONFIG SET - '{other}'"
                    )));
                }
            }
        }
        for change in changes {
            match change {
                Change::Password(value) => {
                    let mut users = ctx.shared.users.write();
                    users.retain(|u| u.name != "default");
                    if !value.is_empty() {
                        users.push(crate::config::User {
                            name: "default".into(),
                            password: String::from_utf8_lossy(&value).into_owned(),
                        });
                    }
                }
                Change::MaxBulkLen(n) => ctx.shared.max_bulk_len.store(n, Ordering::Relaxed),
            }
        }
        Ok(Reply::OK)
    } else if is(sub, "resetstat") && a.len() == 1 {
        *ctx.shared.read_stats.lock() = Stats::default();
        let s = &mut ctx.st.stats;
        s.keyspace_hits = 0;
        s.keyspace_misses = 0;
        s.expired_keys = 0;
        s.commands = 0;
        s.per_command.clear();
        Ok(Reply::OK)
    } else if is(sub, "rewrite") && a.len() == 1 {
        Err(RedisError::err(
            "The server is running without a config file: settings live in orbit-server's configuration",
        ))
    } else if is(sub, "help") {
        Ok(Reply::bulks([
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "HELP",
            "    Print this help.",
        ]))
    } else if ["get", "set", "resetstat", "rewrite"].iter().any(|w| is(sub, w)) {
        Err(RedisError::wrong_arity(&format!("config|{}", String::from_utf8_lossy(sub).to_ascii_lowercase())))
    } else {
        Err(RedisError::unknown_subcommand(sub, "config"))
    }
}

fn acl_categories(s: &Spec) -> Vec<Reply> {
    let mut cats = vec![Reply::Status(if s.is_write() { "@write" } else { "@read" })];
    cats.push(Reply::StatusOwned(format!("@{}", s.group.replace("sorted-set", "sortedset"))));
    if s.flags.contains(&"fast") {
        cats.push(Reply::Status("@fast"));
    } else {
        cats.push(Reply::Status("@slow"));
    }
    if s.flags.contains(&"blocking") {
        cats.push(Reply::Status("@blocking"));
    }
    cats
}

/// COMMAND INFO's entry for one command.
fn command_info(s: &Spec) -> Reply {
    Reply::Array(vec![
        Reply::bulk(s.name),
        Reply::Int(i64::from(s.arity)),
        Reply::Set(s.flags.iter().map(|f| Reply::Status(f)).collect()),
        Reply::Int(i64::from(s.first_key)),
        Reply::Int(i64::from(s.last_key)),
        Reply::Int(i64::from(s.step)),
        Reply::Set(acl_categories(s)),
        Reply::Set(Vec::new()),
        Reply::Array(key_specs(s)),
        Reply::Array(Vec::new()),
    ])
}

/// COMMAND INFO's key specifications, derived from the first/last/step key
/// positions (which is all this table records), as Redis 7 phrases them.
fn key_specs(s: &Spec) -> Vec<Reply> {
    if s.first_key <= 0 {
        return Vec::new();
    }
    let access = if s.flags.contains(&"write") { "RW" } else { "RO" };
    // Redis counts the last key from the first one, or from the end when negative.
    let last = if s.last_key < 0 { i64::from(s.last_key) } else { i64::from(s.last_key - s.first_key) };
    vec![Reply::Map(vec![
        (Reply::bulk("flags"), Reply::Set(vec![Reply::Status(access)])),
        (
            Reply::bulk("begin_search"),
            Reply::Map(vec![
                (Reply::bulk("type"), Reply::bulk("index")),
                (Reply::bulk("spec"), Reply::Map(vec![(Reply::bulk("index"), Reply::Int(i64::from(s.first_key)))])),
            ]),
        ),
        (
            Reply::bulk("find_keys"),
            Reply::Map(vec![
                (Reply::bulk("type"), Reply::bulk("range")),
                (
                    Reply::bulk("spec"),
                    Reply::Map(vec![
                        (Reply::bulk("lastkey"), Reply::Int(last)),
                        (Reply::bulk("keystep"), Reply::Int(i64::from(s.step))),
                        (Reply::bulk("limit"), Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

/// COMMAND DOCS's entry for one command.
fn command_docs(s: &Spec) -> Reply {
    Reply::Map(vec![
        (Reply::bulk("summary"), Reply::bulk(s.summary)),
        (Reply::bulk("since"), Reply::bulk(s.since)),
        (Reply::bulk("group"), Reply::bulk(s.group)),
    ])
}

fn sorted_specs() -> Vec<&'static Spec> {
    let mut v: Vec<&'static Spec> = all().collect();
    v.sort_by_key(|s| s.name);
    v
}

/// `COMMAND` / `COMMAND COUNT` / `COMMAND INFO [name ...]` /
/// `COMMAND DOCS [name ...]` / `COMMAND LIST [FILTERBY ...]` /
/// `COMMAND GETKEYS command [arg ...]`
fn command(_ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let Some(sub) = a.first() else {
        return Ok(Reply::Array(sorted_specs().into_iter().map(command_info).collect()));
    };
    let named = |names: &[Bytes]| -> Vec<Option<&'static Spec>> { names.iter().map(|n| super::lookup(n)).collect() };
    if is(sub, "count") {
        Ok(Reply::Int(all().count() as i64))
    } else if is(sub, "info") {
        if a.len() == 1 {
            return Ok(Reply::Array(sorted_specs().into_iter().map(command_info).collect()));
        }
        Ok(Reply::Array(named(&a[1..]).into_iter().map(|s| s.map_or(Reply::NilArray, command_info)).collect()))
    } else if is(sub, "docs") {
        let specs: Vec<&'static Spec> =
            if a.len() == 1 { sorted_specs() } else { named(&a[1..]).into_iter().flatten().collect() };
        Ok(Reply::Map(specs.into_iter().map(|s| (Reply::bulk(s.name), command_docs(s))).collect()))
    } else if is(sub, "list") {
        Ok(Reply::bulks(sorted_specs().into_iter().map(|s| s.name)))
    } else if is(sub, "getkeys") && a.len() >= 2 {
        let spec = super::lookup(&a[1]).ok_or_else(|| RedisError::err("Invalid command specified"))?;
        if !spec.arity_ok(a.len() - 1) {
            return Err(RedisError::err("Invalid number of arguments specified for command"));
        }
        let keys = spec.keys(&a[2..]);
        if keys.is_empty() {
            return Err(RedisError::err("The command has no key arguments"));
        }
        Ok(Reply::bulks(keys.into_iter().cloned()))
    } else if is(sub, "help") {
        Ok(Reply::bulks([
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ]))
    } else {
        Err(RedisError::unknown_subcommand(sub, "command"))
    }
}

/// `PUBLISH channel message`
fn publish(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Int(ctx.shared.pubsub.publish(&a[0], &a[1])))
}

/// `PUBSUB CHANNELS [pattern]` / `PUBSUB NUMSUB [channel ...]` / `PUBSUB NUMPAT`
fn pubsub(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let sub = &a[0];
    let ps = &ctx.shared.pubsub;
    if is(sub, "channels") && a.len() <= 2 {
        Ok(Reply::bulks(ps.channels(a.get(1).map(|p| p.as_ref()))))
    } else if is(sub, "numsub") {
        // A flat array even in RESP3, as Redis sends it.
        Ok(Reply::Array(a[1..].iter().flat_map(|c| [Reply::Bulk(c.clone()), Reply::Int(ps.numsub(c))]).collect()))
    } else if is(sub, "numpat") && a.len() == 1 {
        Ok(Reply::Int(ps.numpat()))
    } else if is(sub, "help") {
        Ok(Reply::bulks([
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
        ]))
    } else {
        Err(RedisError::unknown_subcommand(sub, "pubsub"))
    }
}

fn human_bytes(n: u64) -> String {
    let units = ["B", "K", "M", "G", "T"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n}B") } else { format!("{v:.2}{}", units[u]) }
}

/// Resident memory of the process, from /proc (0 where unavailable).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// `INFO [section [section ...]]`
fn info(ctx: &mut Ctx<'_>, a: &[Bytes]) -> Result<Reply> {
    let wanted: Vec<String> = a.iter().map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()).collect();
    let everything = wanted.is_empty() || wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let show =
        |section: &str| everything || default && section != "commandstats" || wanted.iter().any(|w| w == section);
    let shared = ctx.shared;
    ctx.st.stats.absorb(&mut shared.read_stats.lock());
    let uptime = shared.started.elapsed().as_secs();
    let mut out = String::new();
    // `redis_version` comes first: client libraries parse it.
    if show("server") {
        let _ = write!(
            out,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:orbit\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:orbit-server\r\norbit_version:{}\r\n\r\n",
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            shared.run_id,
            shared.port.load(Ordering::Relaxed),
            crate::engine::now_ms() * 1000,
            uptime / 86400,
            env!("CARGO_PKG_VERSION"),
        );
    }
    if show("clients") {
        let _ = write!(
            out,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:10000\r\nblocked_clients:{}\r\ntracking_clients:0\r\n\r\n",
            shared.clients.len(),
            shared.blocked_clients(),
        );
    }
    if show("memory") {
        let rss = resident_bytes();
        let _ = write!(
            out,
            "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nmem_allocator:libc\r\n\r\n",
            human_bytes(rss),
            human_bytes(rss),
        );
    }
    if show("persistence") {
        let st = &ctx.st.stats;
        let aof = !matches!(ctx.store.durability().policy(), SyncPolicy::None);
        let _ = write!(
            out,
            "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:{}\r\naof_rewrite_in_progress:0\r\naof_last_write_status:{}\r\n\r\n",
            st.dirty,
            st.last_save_unix,
            u8::from(aof),
            if ctx.store.durability().check_writable().is_ok() { "ok" } else { "err" },
        );
    }
    if show("stats") {
        let st = &ctx.st.stats;
        let ss = &shared.stats;
        let _ = write!(
            out,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\n\r\n",
            ss.connections_received.load(Ordering::Relaxed),
            st.commands,
            ss.net_input_bytes.load(Ordering::Relaxed),
            ss.net_output_bytes.load(Ordering::Relaxed),
            ss.rejected_connections.load(Ordering::Relaxed),
            st.expired_keys,
            st.keyspace_hits,
            st.keyspace_misses,
            shared.pubsub.channels(None).len(),
            shared.pubsub.numpat(),
        );
    }
    if show("replication") {
        out.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n\r\n");
    }
    if show("cpu") {
        out.push_str("# CPU\r\n\r\n");
    }
    if show("commandstats") {
        out.push_str("# Commandstats\r\n");
        let mut names: Vec<_> = ctx.st.stats.per_command.iter().collect();
        names.sort_by_key(|(n, _)| **n);
        for (name, (calls, usec, failed)) in names {
            let per = if *calls > 0 { *usec as f64 / *calls as f64 } else { 0.0 };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls=0,failed_calls={failed}\r\n"
            );
        }
        out.push_str("\r\n");
    }
    if show("keyspace") {
        out.push_str("# Keyspace\r\n");
        for (i, c) in ctx.st.dbs.iter().enumerate() {
            if c.keys > 0 {
                let _ = write!(out, "db{i}:keys={},expires={},avg_ttl=0\r\n", c.keys, c.expires);
            }
        }
        out.push_str("\r\n");
    }
    // Redis sends no trailing blank line after the last section.
    while out.ends_with("\r\n\r\n") {
        out.truncate(out.len() - 2);
    }
    Ok(Reply::Verbatim(out))
}
