//! The command table and argument helpers.
//!
//! Each group module defines its commands as functions whose doc comment
//! gives the wire syntax, and lists them in a `SPECS` table with Redis'
//! arity, flags and key positions (what COMMAND reports).

pub(crate) mod args;
mod coll;
mod connection;
mod hash;
mod keys;
mod list;
pub(crate) mod server;
mod set;
mod string;
mod zset;

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::engine::ctx::Ctx;
use crate::error::Result;
use crate::reply::Reply;

/// A command run on the engine thread.
pub(crate) type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> Result<Reply>;
/// A blocking command's attempt: `None` means "nothing yet, keep waiting".
pub(crate) type BlockHandler = fn(&mut Ctx<'_>, &[Bytes]) -> Result<Option<Reply>>;

/// Where a command runs.
#[derive(Clone, Copy)]
pub(crate) enum Exec {
    /// On the engine, in order with every other data command.
    Engine(Handler),
    /// On the engine, waiting when there is nothing to return yet; the
    /// function gives the reply on timeout.
    Blocking(BlockHandler, fn() -> Reply),
    /// In the connection: it changes connection state.
    Conn,
}

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exec::Engine(_) => "Engine",
            Exec::Blocking(..) => "Blocking",
            Exec::Conn => "Conn",
        })
    }
}

/// A command's description, as COMMAND INFO and COMMAND DOCS report it.
#[derive(Debug)]
pub(crate) struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: the argument count including the name; negative means
    /// "at least".
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub exec: Exec,
    /// Whether the command may modify data (the `write` flag), worked out
    /// once when the table is built rather than per call.
    pub write: bool,
    /// Whether connections may serve it themselves (see [`is_point_read`]).
    pub point_read: bool,
    /// Whether a connection may run it on the engine's state itself, when
    /// the engine is idle (see [`INLINE`]).
    pub inline: bool,
}

impl Spec {
    /// Whether the command may modify data.
    pub(crate) fn is_write(&self) -> bool {
        self.write
    }

    /// Whether `argc` (name included) fits the arity.
    pub(crate) fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let a = i64::from(self.arity);
        if a >= 0 { argc == a } else { argc >= -a }
    }

    /// The key arguments of an invocation (positions count the name as 0).
    pub(crate) fn keys<'a>(&self, args: &'a [Bytes]) -> Vec<&'a Bytes> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let argc = args.len() as i32 + 1;
        let last = if self.last_key < 0 { argc + self.last_key } else { self.last_key };
        let mut out = Vec::new();
        let mut i = self.first_key;
        while i <= last && i < argc {
            out.push(&args[(i - 1) as usize]);
            i += self.step.max(1);
        }
        out
    }
}

/// A parsed command ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub spec: &'static Spec,
    /// Arguments after the name.
    pub args: Vec<Bytes>,
    /// The database it runs in.
    pub db: u8,
    /// Whether the client speaks RESP3 (some replies change shape).
    pub resp3: bool,
}

/// Defines one [`Spec`].
macro_rules! spec {
    ($name:literal, $arity:expr, [$($flag:literal),*], ($first:expr, $last:expr, $step:expr), $group:literal, $since:literal, $summary:literal, $exec:expr) => {
        $crate::cmd::Spec {
            name: $name,
            arity: $arity,
            flags: &[$($flag),*],
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            summary: $summary,
            since: $since,
            exec: $exec,
            write: $crate::cmd::has_flag(&[$($flag),*], "write"),
            point_read: $crate::cmd::is_point_read_name($name),
            inline: $crate::cmd::is_point_read_name($name) || $crate::cmd::has_flag($crate::cmd::INLINE, $name),
        }
    };
}
pub(crate) use spec;

/// Byte-wise equality usable in constants.
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `flags` holds `flag` (evaluated when the table is built).
pub(crate) const fn has_flag(flags: &[&str], flag: &str) -> bool {
    let mut i = 0;
    while i < flags.len() {
        if same(flags[i].as_bytes(), flag.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

/// Commands that are point reads: a few key or element lookups, with no
/// engine state involved beyond the keyspace. Connections serve these
/// themselves from a snapshot (see `conn::local`). Range reads and scans
/// are left out on purpose: their cost has no bound, and they must not tie
/// up an async worker.
const POINT_READS: &[&str] = &[
    "get",
    "mget",
    "strlen",
    "getrange",
    "substr",
    "exists",
    "type",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "hget",
    "hmget",
    "hexists",
    "hlen",
    "hstrlen",
    "llen",
    "lindex",
    "scard",
    "sismember",
    "smismember",
    "zcard",
    "zscore",
    "zmscore",
];

/// Writes whose cost is bounded by their arguments (a few metadata and
/// element writes each), which a connection may run itself, on its own
/// async worker, when the engine is idle: see `Engine::try_inline`.
/// Everything whose cost grows with the data (range deletes, set algebra,
/// RENAME and COPY of collections, FLUSHALL) stays on the engine thread.
pub(crate) const INLINE: &[&str] = &[
    "set",
    "setnx",
    "setex",
    "psetex",
    "getset",
    "getdel",
    "getex",
    "mset",
    "msetnx",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "append",
    "del",
    "unlink",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
    "hset",
    "hmset",
    "hsetnx",
    "hdel",
    "hincrby",
    "hincrbyfloat",
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "sadd",
    "srem",
    "spop",
    "smove",
    "zadd",
    "zincrby",
    "zrem",
    "zpopmin",
    "zpopmax",
];

/// Whether the command named `name` is in [`POINT_READS`].
pub(crate) const fn is_point_read_name(name: &str) -> bool {
    has_flag(POINT_READS, name)
}

/// The command table's map: lower-case name to spec, with a fast hasher
/// (names are not attacker-chosen keys of a growing map).
type Table = HashMap<&'static [u8], &'static Spec, foldhash::fast::FixedState>;

/// Every command, by lower-case name.
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let groups: [&'static [Spec]; 8] = [
            connection::SPECS,
            server::SPECS,
            keys::SPECS,
            string::SPECS,
            hash::SPECS,
            list::SPECS,
            set::SPECS,
            zset::SPECS,
        ];
        groups.iter().flat_map(|g| g.iter()).map(|s| (s.name.as_bytes(), s)).collect()
    })
}

/// Looks a command up by name, case-insensitively.
pub(crate) fn lookup(name: &[u8]) -> Option<&'static Spec> {
    if name.len() > 32 {
        return None;
    }
    let mut buf = [0u8; 32];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(&*lower).copied()
}

/// Every command, in no particular order.
pub(crate) fn all() -> impl Iterator<Item = &'static Spec> {
    table().values().copied()
}

/// The point reads that read key metadata only (a string's value is part
/// of it), never a collection's elements.
const METADATA_ONLY: &[&str] = &[
    "get",
    "mget",
    "strlen",
    "getrange",
    "substr",
    "exists",
    "type",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "hlen",
    "llen",
    "scard",
    "zcard",
];

/// Whether a point read reads key metadata only (see [`METADATA_ONLY`]).
pub(crate) fn reads_metadata_only(spec: &Spec) -> bool {
    METADATA_ONLY.contains(&spec.name)
}

/// Whether a command is a point read (see [`POINT_READS`]).
pub(crate) fn is_point_read(spec: &Spec) -> bool {
    spec.point_read
}

/// The keys a blocking command waits on.
pub(crate) fn blocking_keys(inv: &Invocation) -> Vec<Bytes> {
    match inv.spec.name {
        // BLMOVE / BRPOPLPUSH wait on the source only.
        "blmove" | "brpoplpush" => inv.args.first().cloned().into_iter().collect(),
        // The last argument is the timeout.
        _ => inv.args[..inv.args.len().saturating_sub(1)].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (name, spec) in table() {
            assert_eq!(*name, spec.name.as_bytes());
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(spec.arity != 0, "{}", spec.name);
        }
        assert!(lookup(b"GeT").is_some());
        assert!(lookup(b"nosuch").is_none());
    }

    #[test]
    fn point_reads_are_read_only_engine_commands() {
        let reads: Vec<_> = table().values().filter(|s| is_point_read(s)).collect();
        assert_eq!(reads.len(), 24, "every name in is_point_read is a real command");
        for s in reads {
            assert!(matches!(s.exec, Exec::Engine(_)), "{}", s.name);
            assert!(s.flags.contains(&"readonly") && !s.is_write(), "{}", s.name);
        }
        for s in all() {
            assert_eq!(s.is_write(), s.flags.contains(&"write"), "{}", s.name);
        }
        for name in METADATA_ONLY {
            assert!(POINT_READS.contains(name), "{name} is a point read");
        }
    }

    #[test]
    fn key_positions() {
        let mset = lookup(b"mset").expect("mset");
        let args: Vec<Bytes> = ["a", "1", "b", "2"].iter().map(|s| Bytes::from(*s)).collect();
        let keys: Vec<&[u8]> = mset.keys(&args).into_iter().map(|b| b.as_ref()).collect();
        assert_eq!(keys, vec![b"a".as_ref(), b"b".as_ref()]);
    }
}
