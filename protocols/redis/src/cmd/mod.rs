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
}

impl Spec {
    /// Whether the command may modify data.
    pub(crate) fn is_write(&self) -> bool {
        self.flags.contains(&"write")
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
        }
    };
}
pub(crate) use spec;

/// Every command, by lower-case name.
pub(crate) fn table() -> &'static HashMap<&'static str, &'static Spec> {
    static TABLE: OnceLock<HashMap<&'static str, &'static Spec>> = OnceLock::new();
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
        groups.iter().flat_map(|g| g.iter()).map(|s| (s.name, s)).collect()
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
    std::str::from_utf8(lower).ok().and_then(|n| table().get(n).copied())
}

/// Whether a command is a point read: a few key or element lookups, with
/// no engine state involved beyond the keyspace. Connections serve these
/// themselves from a snapshot (see `conn::local`). Range reads and scans
/// are left out on purpose: their cost has no bound, and they must not tie
/// up an async worker.
pub(crate) fn is_point_read(spec: &Spec) -> bool {
    matches!(
        spec.name,
        "get"
            | "mget"
            | "strlen"
            | "getrange"
            | "substr"
            | "exists"
            | "type"
            | "ttl"
            | "pttl"
            | "expiretime"
            | "pexpiretime"
            | "hget"
            | "hmget"
            | "hexists"
            | "hlen"
            | "hstrlen"
            | "llen"
            | "lindex"
            | "scard"
            | "sismember"
            | "smismember"
            | "zcard"
            | "zscore"
            | "zmscore"
    )
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
            assert_eq!(*name, spec.name);
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(spec.arity != 0, "{name}");
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
    }

    #[test]
    fn key_positions() {
        let mset = lookup(b"mset").expect("mset");
        let args: Vec<Bytes> = ["a", "1", "b", "2"].iter().map(|s| Bytes::from(*s)).collect();
        let keys: Vec<&[u8]> = mset.keys(&args).into_iter().map(|b| b.as_ref()).collect();
        assert_eq!(keys, vec![b"a".as_ref(), b"b".as_ref()]);
    }
}
