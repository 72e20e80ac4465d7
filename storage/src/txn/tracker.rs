//! Remembers which keys recent commits wrote, for write-write conflict checks.

use std::collections::BTreeMap;

use crate::kv::{WriteBatch, WriteOp};

type TrackedKey = (&'static str, Vec<u8>);

/// Keys and ranges written by commits that some open transaction may not
/// have seen yet. Entries at or below the oldest open snapshot can never
/// conflict again and are pruned.
#[derive(Debug)]
pub(crate) struct ConflictTracker {
    /// Last commit timestamp per written key, ordered so a range delete can
    /// find the keys inside its range.
    keys: BTreeMap<TrackedKey, u64>,
    /// Range deletes: family, `[start, end)`, commit timestamp.
    ranges: Vec<(&'static str, Vec<u8>, Vec<u8>, u64)>,
    prune_at: usize,
}

const MIN_PRUNE_AT: usize = 4096;

impl Default for ConflictTracker {
    fn default() -> Self {
        ConflictTracker { keys: BTreeMap::new(), ranges: Vec::new(), prune_at: MIN_PRUNE_AT }
    }
}

impl ConflictTracker {
    /// Whether a commit after `since` wrote `key` (as a point or inside a range).
    pub(crate) fn key_changed_since(&self, cf: &'static str, key: &[u8], since: u64) -> bool {
        let point = self.keys.get(&(cf, key.to_vec())).is_some_and(|&ts| ts > since);
        point
            || self
                .ranges
                .iter()
                .any(|(c, s, e, ts)| *ts > since && *c == cf && key >= s.as_slice() && key < e.as_slice())
    }

    /// Whether a commit after `since` wrote anything in `[start, end)` of `cf`.
    pub(crate) fn range_changed_since(&self, cf: &'static str, start: &[u8], end: &[u8], since: u64) -> bool {
        if start >= end {
            return false;
        }
        let points = self.keys.range((cf, start.to_vec())..(cf, end.to_vec())).any(|(_, &ts)| ts > since);
        points
            || self
                .ranges
                .iter()
                .any(|(c, s, e, ts)| *ts > since && *c == cf && s.as_slice() < end && start < e.as_slice())
    }

    /// Whether any operation of `batch` overlaps a commit after `since`.
    pub(crate) fn batch_conflicts(&self, batch: &WriteBatch, since: u64) -> bool {
        batch.ops().iter().any(|op| match op {
            WriteOp::Put { cf, key, .. } | WriteOp::Delete { cf, key } => self.key_changed_since(cf, key, since),
            WriteOp::DeleteRange { cf, start, end } => self.range_changed_since(cf, start, end, since),
        })
    }

    /// Records the keys of a batch committed at `ts`.
    pub(crate) fn record(&mut self, batch: &WriteBatch, ts: u64) {
        for op in batch.ops() {
            match op {
                WriteOp::Put { cf, key, .. } | WriteOp::Delete { cf, key } => {
                    self.keys.insert((cf, key.clone()), ts);
                }
                WriteOp::DeleteRange { cf, start, end } => {
                    self.ranges.push((cf, start.clone(), end.clone(), ts));
                }
            }
        }
    }

    /// Drops entries no open transaction can conflict with, when enough have
    /// piled up to make it worth the pass. `horizon` is the oldest snapshot
    /// timestamp still open (or the latest commit when none is).
    pub(crate) fn maybe_prune(&mut self, horizon: u64) {
        if self.keys.len() + self.ranges.len() < self.prune_at {
            return;
        }
        self.keys.retain(|_, ts| *ts > horizon);
        self.ranges.retain(|r| r.3 > horizon);
        self.prune_at = (2 * (self.keys.len() + self.ranges.len())).max(MIN_PRUNE_AT);
    }

    /// Number of tracked keys and ranges.
    pub(crate) fn len(&self) -> usize {
        self.keys.len() + self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_points_and_ranges_after_since_only() {
        let mut t = ConflictTracker::default();
        let mut b = WriteBatch::new();
        b.put("rows", b"k1".to_vec(), b"v".to_vec());
        b.delete_range("rows", b"m".to_vec(), b"p".to_vec());
        t.record(&b, 5);
        assert!(t.key_changed_since("rows", b"k1", 4));
        assert!(!t.key_changed_since("rows", b"k1", 5));
        assert!(!t.key_changed_since("other", b"k1", 0));
        assert!(t.key_changed_since("rows", b"n", 4));
        assert!(!t.key_changed_since("rows", b"p", 4));
        assert!(t.range_changed_since("rows", b"a", b"l", 4));
        assert!(t.range_changed_since("rows", b"o", b"z", 4));
        assert!(!t.range_changed_since("rows", b"p", b"z", 4));
    }

    #[test]
    fn prune_keeps_what_open_snapshots_need() {
        let mut t = ConflictTracker::default();
        for i in 0..(MIN_PRUNE_AT as u64) {
            let mut b = WriteBatch::new();
            b.put("rows", i.to_be_bytes().to_vec(), vec![]);
            t.record(&b, i + 1);
        }
        t.maybe_prune(100);
        assert_eq!(t.len(), MIN_PRUNE_AT - 100);
        assert!(t.key_changed_since("rows", &200u64.to_be_bytes(), 150));
    }
}
