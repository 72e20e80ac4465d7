//! How Redis keys and their data are laid out in the store.
//!
//! Following Kvrocks' design, every key has one metadata record (type,
//! expiry, and a value for strings or a version and size for collections),
//! and a collection's elements live under `<db><key length><key><version>`.
//! Deleting or overwriting a collection only removes its metadata record
//! (O(1)); the old version's elements are then reclaimed in the background,
//! and no read can see them because reads go through the current version.
//!
//! | family | key | value |
//! |---|---|---|
//! | `metadata` | `db` `key` | [`Meta`] |
//! | `subkeys` | element prefix, then field / member / list index | value, empty, element |
//! | `zset_scores` | element prefix, sortable score, member | empty |
//! | `expiry` | expiry (ms, big-endian) `db` `key` | empty |
//! | `garbage` | version | element prefix to reclaim |

use bytes::Bytes;

use crate::error::{RedisError, Result};

/// Metadata keys starting with this byte are Orbit's own, not a database's.
pub(crate) const INTERNAL: u8 = 0xFF;
/// Where the next collection version is kept.
pub(crate) const NEXT_VERSION_KEY: &[u8] = b"\xFFnext_version";

/// The type of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    String,
    Hash,
    List,
    Set,
    ZSet,
}

impl KeyType {
    fn tag(self) -> u8 {
        match self {
            KeyType::String => 1,
            KeyType::Hash => 2,
            KeyType::List => 3,
            KeyType::Set => 4,
            KeyType::ZSet => 5,
        }
    }

    fn from_tag(t: u8) -> Option<Self> {
        Some(match t {
            1 => KeyType::String,
            2 => KeyType::Hash,
            3 => KeyType::List,
            4 => KeyType::Set,
            5 => KeyType::ZSet,
            _ => return None,
        })
    }

    /// The name TYPE reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Hash => "hash",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
        }
    }

    /// Parses a TYPE name (SCAN's TYPE option).
    pub(crate) fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"string" => KeyType::String,
            b"hash" => KeyType::Hash,
            b"list" => KeyType::List,
            b"set" => KeyType::Set,
            b"zset" => KeyType::ZSet,
            _ => return None,
        })
    }
}

/// A collection's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Coll {
    /// Distinguishes this incarnation's elements from a deleted one's.
    pub version: u64,
    /// Number of elements.
    pub size: u64,
    /// Lists only: index of the first element.
    pub head: u64,
    /// Lists only: one past the index of the last element.
    pub tail: u64,
}

/// Where new lists start, so they can grow at both ends.
pub(crate) const LIST_MIDDLE: u64 = 1 << 63;

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Str(Bytes),
    Coll(Coll),
}

/// A key's metadata record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub ty: KeyType,
    /// Absolute expiry in Unix milliseconds; 0 means none.
    pub expire_at: i64,
    pub body: Body,
}

impl Meta {
    /// A string without expiry.
    pub(crate) fn string(value: Bytes) -> Self {
        Meta { ty: KeyType::String, expire_at: 0, body: Body::Str(value) }
    }

    /// An empty collection of type `ty` at `version`.
    pub(crate) fn collection(ty: KeyType, version: u64) -> Self {
        Meta { ty, expire_at: 0, body: Body::Coll(Coll { version, size: 0, head: LIST_MIDDLE, tail: LIST_MIDDLE }) }
    }

    /// The collection bookkeeping; strings have none.
    pub(crate) fn coll(&self) -> Option<&Coll> {
        match &self.body {
            Body::Coll(c) => Some(c),
            Body::Str(_) => None,
        }
    }

    pub(crate) fn coll_mut(&mut self) -> Option<&mut Coll> {
        match &mut self.body {
            Body::Coll(c) => Some(c),
            Body::Str(_) => None,
        }
    }

    /// Whether the key has expired at `now_ms`.
    pub(crate) fn expired(&self, now_ms: i64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.push(self.ty.tag());
        out.extend_from_slice(&self.expire_at.to_be_bytes());
        match &self.body {
            Body::Str(v) => out.extend_from_slice(v),
            Body::Coll(c) => {
                out.extend_from_slice(&c.version.to_be_bytes());
                out.extend_from_slice(&c.size.to_be_bytes());
                if self.ty == KeyType::List {
                    out.extend_from_slice(&c.head.to_be_bytes());
                    out.extend_from_slice(&c.tail.to_be_bytes());
                }
            }
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let corrupt = || RedisError::err("corrupt key metadata in the store");
        let (&tag, rest) = bytes.split_first().ok_or_else(corrupt)?;
        let ty = KeyType::from_tag(tag).ok_or_else(corrupt)?;
        let (exp, rest) = split_u64(rest).ok_or_else(corrupt)?;
        let body = match ty {
            KeyType::String => Body::Str(Bytes::copy_from_slice(rest)),
            _ => {
                let (version, rest) = split_u64(rest).ok_or_else(corrupt)?;
                let (size, rest) = split_u64(rest).ok_or_else(corrupt)?;
                let (head, tail) = if ty == KeyType::List {
                    let (h, rest) = split_u64(rest).ok_or_else(corrupt)?;
                    let (t, _) = split_u64(rest).ok_or_else(corrupt)?;
                    (h, t)
                } else {
                    (LIST_MIDDLE, LIST_MIDDLE)
                };
                Body::Coll(Coll { version, size, head, tail })
            }
        };
        Ok(Meta { ty, expire_at: exp as i64, body })
    }
}

fn split_u64(b: &[u8]) -> Option<(u64, &[u8])> {
    if b.len() < 8 {
        return None;
    }
    let (head, rest) = b.split_at(8);
    Some((u64::from_be_bytes(head.try_into().ok()?), rest))
}

/// The metadata key of `key` in database `db`.
pub(crate) fn meta_key(db: u8, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(db);
    out.extend_from_slice(key);
    out
}

/// The prefix of every element of one incarnation of a collection.
pub(crate) fn element_prefix(db: u8, key: &[u8], version: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 13);
    out.push(db);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&version.to_be_bytes());
    out
}

/// An element key: the prefix and a field, member or list index.
pub(crate) fn element_key(prefix: &[u8], sub: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + sub.len());
    out.extend_from_slice(prefix);
    out.extend_from_slice(sub);
    out
}

/// A score as bytes that sort like the score (`-0` equals `0`).
pub(crate) fn score_bytes(score: f64) -> [u8; 8] {
    let s = if score == 0.0 { 0.0 } else { score };
    let bits = s.to_bits();
    let key = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
    key.to_be_bytes()
}

/// The inverse of [`score_bytes`].
pub(crate) fn score_from_bytes(b: [u8; 8]) -> f64 {
    let key = u64::from_be_bytes(b);
    f64::from_bits(if key >> 63 == 1 { key ^ (1 << 63) } else { !key })
}

/// The expiry index key of `key`.
pub(crate) fn expiry_key(expire_at: i64, db: u8, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 9);
    out.extend_from_slice(&(expire_at.max(0) as u64).to_be_bytes());
    out.push(db);
    out.extend_from_slice(key);
    out
}

/// Splits an expiry index key into expiry, database and key.
pub(crate) fn parse_expiry_key(k: &[u8]) -> Option<(i64, u8, &[u8])> {
    let (at, rest) = split_u64(k)?;
    let (&db, key) = rest.split_first()?;
    Some((at as i64, db, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips() {
        let mut list = Meta::collection(KeyType::List, 7);
        list.expire_at = 1234;
        if let Some(c) = list.coll_mut() {
            c.size = 3;
            c.head -= 1;
        }
        for m in [Meta::string(Bytes::from_static(b"v\0x")), list, Meta::collection(KeyType::ZSet, 9)] {
            assert_eq!(Meta::decode(&m.encode()), Ok(m.clone()));
        }
        assert!(Meta::decode(&[9]).is_err());
        assert!(Meta::decode(&[2, 0, 0]).is_err());
    }

    #[test]
    fn scores_sort_as_bytes() {
        let scores = [f64::NEG_INFINITY, -1e300, -1.5, -0.0, 0.0, 1e-300, 2.0, f64::INFINITY];
        for w in scores.windows(2) {
            assert!(score_bytes(w[0]) <= score_bytes(w[1]), "{} {}", w[0], w[1]);
            assert_eq!(score_from_bytes(score_bytes(w[1])), w[1]);
        }
    }

    #[test]
    fn element_prefixes_of_different_keys_never_nest() {
        // "ab" and "a" + something must not share a prefix thanks to the length.
        let a = element_prefix(0, b"a", 1);
        let ab = element_prefix(0, b"ab", 1);
        assert!(!ab.starts_with(&a) && !a.starts_with(&ab));
    }
}
