//! Key ranges and scan direction.

use std::ops::Bound;

/// Scan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Ascending key order.
    #[default]
    Forward,
    /// Descending key order.
    Reverse,
}

/// A range of raw keys; bounds may be inclusive, exclusive or open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub start: Bound<Vec<u8>>,
    /// Upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        KeyRange { start: Bound::Unbounded, end: Bound::Unbounded }
    }

    /// Keys starting with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        KeyRange {
            start: Bound::Included(prefix.to_vec()),
            end: match prefix_successor(prefix) {
                Some(end) => Bound::Excluded(end),
                None => Bound::Unbounded,
            },
        }
    }

    /// Keys in `[start, end)`.
    pub fn half_open(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        KeyRange { start: Bound::Included(start.into()), end: Bound::Excluded(end.into()) }
    }

    /// Whether `key` lies within the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        let above = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    /// The inclusive lower key and exclusive upper key that cover the range;
    /// `None` means open. Engines whose iterators take only `[lo, hi)` bounds
    /// use this and filter an excluded start themselves.
    pub fn as_half_open(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let lo = match &self.start {
            Bound::Included(s) | Bound::Excluded(s) => Some(s.clone()),
            Bound::Unbounded => None,
        };
        let hi = match &self.end {
            Bound::Included(e) => Some(immediate_successor(e)),
            Bound::Excluded(e) => Some(e.clone()),
            Bound::Unbounded => None,
        };
        (lo, hi)
    }

    /// Whether no key can lie in the range.
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s), Bound::Excluded(e)) | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
            (Bound::Excluded(s), Bound::Excluded(e)) => s >= e || immediate_successor(s) == *e,
            _ => false,
        }
    }
}

/// The smallest key greater than every key that starts with `prefix`, or
/// `None` when the prefix is empty or all `0xFF` (then no such key exists).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last != 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// The smallest key greater than `key`.
fn immediate_successor(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.extend_from_slice(key);
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_carries() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn contains_respects_each_bound_kind() {
        let r = KeyRange { start: Bound::Excluded(b"b".to_vec()), end: Bound::Included(b"d".to_vec()) };
        assert!(!r.contains(b"b"));
        assert!(r.contains(b"b\0"));
        assert!(r.contains(b"d"));
        assert!(!r.contains(b"d\0"));
        let p = KeyRange::prefix(b"ab");
        assert!(p.contains(b"ab") && p.contains(b"ab\xff\xff") && !p.contains(b"ac"));
    }

    #[test]
    fn emptiness() {
        assert!(KeyRange::half_open(b"b".to_vec(), b"b".to_vec()).is_empty());
        assert!(!KeyRange::half_open(b"a".to_vec(), b"b".to_vec()).is_empty());
        let r = KeyRange { start: Bound::Excluded(b"a".to_vec()), end: Bound::Excluded(b"a\0".to_vec()) };
        assert!(r.is_empty());
    }
}
