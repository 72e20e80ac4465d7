//! Filters, selections and updates, and how a filter narrows a scan.

use std::cmp::Ordering;
use std::ops::{Bound, ControlFlow};

use super::schema::TableDef;
use crate::codec::key::{self, SortOrder};
use crate::error::{Result, StorageError};
use crate::kv::{KeyRange, prefix_successor};
use crate::value::{DataType, Value};

/// A row of values in column order.
pub type Row = Vec<Value>;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A predicate on rows, with SQL's three-valued logic: a comparison with
/// NULL is unknown, and only rows where the filter is true match.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Filter {
    /// Every row.
    #[default]
    All,
    /// `column op value`.
    Compare {
        /// Column name.
        column: String,
        /// Operator.
        op: CmpOp,
        /// Right-hand side.
        value: Value,
    },
    /// `column IN (values)`.
    In {
        /// Column name.
        column: String,
        /// Candidates.
        values: Vec<Value>,
    },
    /// `column IS NULL`.
    IsNull(String),
    /// `column IS NOT NULL`.
    IsNotNull(String),
    /// All of these.
    And(Vec<Filter>),
    /// Any of these.
    Or(Vec<Filter>),
    /// The negation.
    Not(Box<Filter>),
}

impl Filter {
    /// `column = value`.
    pub fn eq(column: impl Into<String>, value: Value) -> Self {
        Filter::Compare { column: column.into(), op: CmpOp::Eq, value }
    }

    /// `column op value`.
    pub fn cmp(column: impl Into<String>, op: CmpOp, value: Value) -> Self {
        Filter::Compare { column: column.into(), op, value }
    }

    /// Checks every column named exists in `def`.
    pub(crate) fn check_columns(&self, def: &TableDef) -> Result<()> {
        let known = |c: &String| {
            def.schema
                .column_index(c)
                .map(|_| ())
                .ok_or_else(|| StorageError::NoSuchColumn { table: def.schema.name.clone(), column: c.clone() })
        };
        match self {
            Filter::All => Ok(()),
            Filter::Compare { column, .. } | Filter::In { column, .. } => known(column),
            Filter::IsNull(c) | Filter::IsNotNull(c) => known(c),
            Filter::And(fs) | Filter::Or(fs) => fs.iter().try_for_each(|f| f.check_columns(def)),
            Filter::Not(f) => f.check_columns(def),
        }
    }

    /// The filter's truth for `row`: `None` is SQL's unknown.
    pub(crate) fn eval(&self, def: &TableDef, row: &[Value]) -> Option<bool> {
        let col = |c: &str| def.schema.column_index(c).and_then(|i| row.get(i)).unwrap_or(&Value::Null);
        match self {
            Filter::All => Some(true),
            Filter::Compare { column, op, value } => {
                let ord = col(column).sql_cmp(value)?;
                Some(match op {
                    CmpOp::Eq => ord == Ordering::Equal,
                    CmpOp::NotEq => ord != Ordering::Equal,
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::LtEq => ord != Ordering::Greater,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::GtEq => ord != Ordering::Less,
                })
            }
            Filter::In { column, values } => {
                let v = col(column);
                let mut unknown = v.is_null();
                for candidate in values {
                    match v.sql_cmp(candidate) {
                        Some(Ordering::Equal) => return Some(true),
                        None => unknown = true,
                        Some(_) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Filter::IsNull(c) => Some(col(c).is_null()),
            Filter::IsNotNull(c) => Some(!col(c).is_null()),
            Filter::And(fs) => {
                let mut unknown = false;
                for f in fs {
                    match f.eval(def, row) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            Filter::Or(fs) => {
                let mut unknown = false;
                for f in fs {
                    match f.eval(def, row) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Filter::Not(f) => f.eval(def, row).map(|b| !b),
        }
    }
}

/// Order of the rows a selection returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanOrder {
    /// Ascending primary key (insertion order for tables without one).
    #[default]
    PrimaryKey,
    /// Descending primary key.
    PrimaryKeyDesc,
}

/// A selection from one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectQuery {
    /// Table name.
    pub table: String,
    /// Which rows.
    pub filter: Filter,
    /// Which columns, in this order; `None` for all.
    pub columns: Option<Vec<String>>,
    /// Row order.
    pub order: ScanOrder,
    /// At most this many rows.
    pub limit: Option<usize>,
}

impl SelectQuery {
    /// Every row and column of `table`.
    pub fn all(table: impl Into<String>) -> Self {
        SelectQuery { table: table.into(), ..SelectQuery::default() }
    }

    /// The same query with `filter`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }
}

/// `SET column = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Column name.
    pub column: String,
    /// New value.
    pub value: Value,
}

impl Update {
    /// `SET column = value`.
    pub fn set(column: impl Into<String>, value: Value) -> Self {
        Update { column: column.into(), value }
    }
}

/// Where a selection has to look.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Access {
    /// One row, by its full key.
    Point(Vec<u8>),
    /// A contiguous key range.
    Range(KeyRange),
}

/// Prefix of all row keys of table `id`.
pub(crate) fn table_prefix(id: u32) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

/// The row key for primary-key values `key`, in key-column order.
pub(crate) fn row_key(def: &TableDef, key: &[Value]) -> Result<Vec<u8>> {
    let mut out = table_prefix(def.id);
    for v in key {
        key::encode(v, SortOrder::Asc, &mut out)?;
    }
    Ok(out)
}

/// Prefix of the entries of index `index` (a position in the schema's
/// indexes) of table `def`, in the index family.
pub(crate) fn index_prefix(def: &TableDef, index: usize) -> Vec<u8> {
    let mut out = table_prefix(def.id);
    out.extend_from_slice(&(index as u32).to_be_bytes());
    out
}

/// The narrowest key access that `filter` allows: equalities on a leading
/// run of key columns, then at most one range on the next key column. The
/// whole filter is still applied to each row, so this only has to cover.
pub(crate) fn plan_access(def: &TableDef, filter: &Filter) -> Access {
    key_access(def, table_prefix(def.id), &def.key_positions, filter).0
}

/// The access `filter` allows on keys made of `prefix` and the values of
/// the columns at `positions`, and how many of those columns it pins
/// (equalities, plus one for a range on the next).
pub(crate) fn key_access(def: &TableDef, prefix: Vec<u8>, positions: &[usize], filter: &Filter) -> (Access, usize) {
    let conjuncts = conjuncts(filter);
    let usable = |pos: usize, op: CmpOp| usable(def, &conjuncts, pos, op);
    let mut prefix = prefix;
    let mut matched = 0;
    for &pos in positions {
        let Some(v) = usable(pos, CmpOp::Eq).next() else { break };
        if key::encode(v, SortOrder::Asc, &mut prefix).is_err() {
            break;
        }
        matched += 1;
    }
    if matched == positions.len() && matched > 0 {
        return (Access::Point(prefix), matched);
    }
    let whole_prefix = KeyRange::prefix(&prefix);
    let Some(&next) = positions.get(matched) else {
        return (Access::Range(whole_prefix), matched);
    };
    let encoded = |v: &Value| {
        let mut k = prefix.clone();
        key::encode(v, SortOrder::Asc, &mut k).ok().map(|()| k)
    };
    let mut range = whole_prefix.clone();
    // The tightest of each kind of bound wins; comparing encodings is
    // comparing values.
    for (op, lower) in [(CmpOp::Gt, true), (CmpOp::GtEq, true), (CmpOp::Lt, false), (CmpOp::LtEq, false)] {
        for v in usable(next, op) {
            let Some(k) = encoded(v) else { continue };
            let bound = match op {
                // Keys with this column equal to v share the prefix k; skip past them all.
                CmpOp::Gt => prefix_successor(&k).map_or(Bound::Unbounded, Bound::Included),
                CmpOp::GtEq => Bound::Included(k),
                CmpOp::Lt => Bound::Excluded(k),
                _ => prefix_successor(&k).map_or(Bound::Unbounded, Bound::Excluded),
            };
            if lower {
                if tighter_lower(&bound, &range.start) {
                    range.start = bound;
                }
            } else if tighter_upper(&bound, &range.end) {
                range.end = bound;
            }
        }
    }
    let ranged = usize::from(range != whole_prefix);
    (Access::Range(range), matched + ranged)
}

/// The top-level conjuncts of `filter`.
fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    match filter {
        Filter::And(fs) => fs.iter().collect(),
        f => vec![f],
    }
}

/// The values that `conjuncts` compare column `pos` with by `op`, among
/// those that can bound a key.
fn usable<'a>(
    def: &'a TableDef,
    conjuncts: &'a [&'a Filter],
    pos: usize,
    op: CmpOp,
) -> impl Iterator<Item = &'a Value> {
    let col = &def.schema.columns[pos];
    conjuncts.iter().filter_map(move |f| match f {
        // A value finer than storage keeps (sub-microsecond times)
        // would encode rounded and shift a bound: leave it to the filter.
        Filter::Compare { column, op: o, value }
            if *column == col.name
                && *o == op
                && !value.is_null()
                && col.data_type.check(value).is_ok()
                && key::truncate_to_micros(value.clone()) == *value =>
        {
            Some(value)
        }
        _ => None,
    })
}

/// Most keys [`enumerated_keys`] lists: a sysbench-sized range (100 rows)
/// with room to spare, while a range of absent keys stays cheap.
const MAX_ENUMERATED_KEYS: i64 = 128;

/// Every row key that a primary-key range of `filter` can hold, when the
/// range pins all key columns but the last by equality and bounds an
/// integer last column on both sides to at most [`MAX_ENUMERATED_KEYS`]
/// values; `None` otherwise.
///
/// Looking such keys up one by one in the hot tier beats scanning them. A
/// scan in the engine passes every version of a row that its memtable
/// still holds, and a row that takes many updates (a hot row) can have
/// hundreds; the hot tier keeps only the latest version. The caller falls
/// back to scanning when the tier lacks the rows.
pub(crate) fn enumerated_keys(def: &TableDef, filter: &Filter) -> Option<KeyRun> {
    let (&last, leading) = def.key_positions.split_last()?;
    if !matches!(def.schema.columns[last].data_type, DataType::SmallInt | DataType::Integer | DataType::BigInt) {
        return None;
    }
    let conjuncts = conjuncts(filter);
    let mut prefix = table_prefix(def.id);
    for &pos in leading {
        let v = usable(def, &conjuncts, pos, CmpOp::Eq).next()?;
        key::encode(v, SortOrder::Asc, &mut prefix).ok()?;
    }
    let ints =
        |op| usable(def, &conjuncts, last, op).filter_map(|v| if let Value::Int(i) = v { Some(*i) } else { None });
    let above = ints(CmpOp::Gt).filter_map(|i| i.checked_add(1));
    let lo = ints(CmpOp::GtEq).chain(above).max()?;
    let below = ints(CmpOp::Lt).filter_map(|i| i.checked_sub(1));
    let hi = ints(CmpOp::LtEq).chain(below).min()?;
    if hi.checked_sub(lo).is_none_or(|span| span >= MAX_ENUMERATED_KEYS) {
        return None;
    }
    Some(KeyRun { prefix, lo, hi })
}

/// The row keys of [`enumerated_keys`]: a prefix, then each integer of
/// `lo..=hi` (none when `lo > hi`).
#[derive(Debug, PartialEq)]
pub(crate) struct KeyRun {
    prefix: Vec<u8>,
    lo: i64,
    hi: i64,
}

impl KeyRun {
    /// Calls `visit` with each key in `order` until it breaks, building
    /// every key in one buffer.
    pub(crate) fn try_for_each(
        &self,
        order: ScanOrder,
        mut visit: impl FnMut(&[u8]) -> Result<ControlFlow<()>>,
    ) -> Result<()> {
        let mut key = self.prefix.clone();
        // Whether `visit` stopped at key `i`.
        let mut stopped_at = |i: i64| -> Result<bool> {
            key.truncate(self.prefix.len());
            key::encode(&Value::Int(i), SortOrder::Asc, &mut key)?;
            Ok(visit(&key)?.is_break())
        };
        match order {
            ScanOrder::PrimaryKey => {
                for i in self.lo..=self.hi {
                    if stopped_at(i)? {
                        break;
                    }
                }
            }
            ScanOrder::PrimaryKeyDesc => {
                for i in (self.lo..=self.hi).rev() {
                    if stopped_at(i)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

fn bound_key(b: &Bound<Vec<u8>>) -> Option<&[u8]> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k),
        Bound::Unbounded => None,
    }
}

fn tighter_lower(new: &Bound<Vec<u8>>, old: &Bound<Vec<u8>>) -> bool {
    match (bound_key(new), bound_key(old)) {
        (Some(n), Some(o)) => n > o || (n == o && matches!(new, Bound::Excluded(_))),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn tighter_upper(new: &Bound<Vec<u8>>, old: &Bound<Vec<u8>>) -> bool {
    match (bound_key(new), bound_key(old)) {
        (Some(n), Some(o)) => n < o || (n == o && matches!(new, Bound::Excluded(_))),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::schema::{ColumnDef, TableSchema};
    use crate::value::DataType;

    fn def() -> TableDef {
        let schema = TableSchema::new(
            "t",
            vec![
                ColumnDef::new("a", DataType::BigInt).not_null(),
                ColumnDef::new("b", DataType::Text).not_null(),
                ColumnDef::new("c", DataType::Text),
            ],
            &["a", "b"],
        );
        TableDef::new(7, schema).expect("valid")
    }

    #[test]
    fn full_key_equality_is_a_point_read() {
        let f = Filter::And(vec![Filter::eq("b", Value::Text("x".into())), Filter::eq("a", Value::Int(1))]);
        let d = def();
        let key = row_key(&d, &[Value::Int(1), Value::Text("x".into())]).expect("key");
        assert_eq!(plan_access(&d, &f), Access::Point(key));
    }

    #[test]
    fn ranges_cover_exactly_the_matching_keys() {
        let d = def();
        let f = Filter::And(vec![
            Filter::cmp("a", CmpOp::Gt, Value::Int(2)),
            Filter::cmp("a", CmpOp::LtEq, Value::Int(5)),
            Filter::cmp("a", CmpOp::Gt, Value::Int(1)),
        ]);
        let Access::Range(r) = plan_access(&d, &f) else { panic!("expected a range") };
        for a in 0..8 {
            let k = row_key(&d, &[Value::Int(a), Value::Text("zz".into())]).expect("key");
            assert_eq!(r.contains(&k), (3..=5).contains(&a), "a={a}");
        }
    }

    fn int_keyed() -> TableDef {
        let schema = TableSchema::new(
            "e",
            vec![ColumnDef::new("g", DataType::Text).not_null(), ColumnDef::new("n", DataType::Integer).not_null()],
            &["g", "n"],
        );
        TableDef::new(9, schema).expect("valid")
    }

    fn listed(d: &TableDef, f: &Filter, order: ScanOrder) -> Option<Vec<Vec<u8>>> {
        let run = enumerated_keys(d, f)?;
        let mut keys = Vec::new();
        run.try_for_each(order, |k| {
            keys.push(k.to_vec());
            Ok(ControlFlow::Continue(()))
        })
        .expect("visit");
        Some(keys)
    }

    #[test]
    fn small_integer_ranges_list_their_keys() {
        let d = int_keyed();
        let group = Filter::eq("g", Value::Text("x".into()));
        let f = Filter::And(vec![
            Filter::cmp("n", CmpOp::Gt, Value::Int(2)),
            Filter::cmp("n", CmpOp::Lt, Value::Int(9)),
            Filter::cmp("n", CmpOp::LtEq, Value::Int(5)),
            group.clone(),
        ]);
        let key = |n| row_key(&d, &[Value::Text("x".into()), Value::Int(n)]).expect("key");
        assert_eq!(listed(&d, &f, ScanOrder::PrimaryKey), Some(vec![key(3), key(4), key(5)]));
        assert_eq!(listed(&d, &f, ScanOrder::PrimaryKeyDesc), Some(vec![key(5), key(4), key(3)]));
        let mut first = Vec::new();
        let run = enumerated_keys(&d, &f).expect("a run");
        run.try_for_each(ScanOrder::PrimaryKey, |k| {
            first.push(k.to_vec());
            Ok(ControlFlow::Break(()))
        })
        .expect("visit");
        assert_eq!(first, vec![key(3)], "a break stops the run");
        // Bounds that cross give no keys, not a scan.
        let crossed = Filter::And(vec![
            group.clone(),
            Filter::cmp("n", CmpOp::GtEq, Value::Int(7)),
            Filter::cmp("n", CmpOp::LtEq, Value::Int(6)),
        ]);
        assert_eq!(listed(&d, &crossed, ScanOrder::PrimaryKey), Some(vec![]));
    }

    #[test]
    fn wide_open_or_unpinned_ranges_are_scanned() {
        let d = int_keyed();
        let group = Filter::eq("g", Value::Text("x".into()));
        let range = |lo: i64, hi: i64| {
            vec![Filter::cmp("n", CmpOp::GtEq, Value::Int(lo)), Filter::cmp("n", CmpOp::LtEq, Value::Int(hi))]
        };
        let with_group = |mut fs: Vec<Filter>| {
            fs.push(group.clone());
            Filter::And(fs)
        };
        assert_eq!(listed(&d, &with_group(range(1, 128)), ScanOrder::PrimaryKey).map(|k| k.len()), Some(128));
        assert_eq!(enumerated_keys(&d, &with_group(range(1, 129))), None);
        assert_eq!(enumerated_keys(&d, &with_group(range(i64::MIN, i64::MAX))), None);
        // One side open, or the leading key column not pinned.
        let open = with_group(vec![Filter::cmp("n", CmpOp::GtEq, Value::Int(1))]);
        assert_eq!(enumerated_keys(&d, &open), None);
        assert_eq!(enumerated_keys(&d, &Filter::And(range(1, 3))), None);
        // A text last key column has no enumerable range.
        let f = Filter::And(vec![
            Filter::eq("a", Value::Int(1)),
            Filter::cmp("b", CmpOp::GtEq, Value::Text("a".into())),
            Filter::cmp("b", CmpOp::LtEq, Value::Text("b".into())),
        ]);
        assert_eq!(enumerated_keys(&def(), &f), None);
    }

    #[test]
    fn unusable_filters_scan_the_whole_table() {
        let d = def();
        let f = Filter::Or(vec![Filter::eq("a", Value::Int(1)), Filter::eq("a", Value::Int(2))]);
        assert_eq!(plan_access(&d, &f), Access::Range(KeyRange::prefix(&table_prefix(7))));
        // A value of the wrong type for the column cannot be encoded as its key.
        let f = Filter::eq("a", Value::Text("1".into()));
        assert_eq!(plan_access(&d, &f), Access::Range(KeyRange::prefix(&table_prefix(7))));
    }

    #[test]
    fn sub_microsecond_bounds_are_left_to_the_filter() {
        let schema = TableSchema::new("ts", vec![ColumnDef::new("t", DataType::Timestamp).not_null()], &["t"]);
        let d = TableDef::new(3, schema).expect("valid");
        let fine = crate::codec::key::timestamp_from_micros(1_000_000)
            .and_then(|t| t.checked_add_signed(chrono::TimeDelta::nanoseconds(500)))
            .expect("timestamp");
        let f = Filter::cmp("t", CmpOp::Lt, Value::Timestamp(fine));
        assert_eq!(plan_access(&d, &f), Access::Range(KeyRange::prefix(&table_prefix(3))));
    }

    #[test]
    fn three_valued_logic() {
        let d = def();
        let row = vec![Value::Int(1), Value::Text("x".into()), Value::Null];
        let unknown = Filter::eq("c", Value::Text("y".into()));
        let truth = Filter::eq("a", Value::Int(1));
        let falsity = Filter::eq("a", Value::Int(2));
        assert_eq!(unknown.eval(&d, &row), None);
        assert_eq!(Filter::Not(Box::new(unknown.clone())).eval(&d, &row), None);
        assert_eq!(Filter::And(vec![unknown.clone(), falsity.clone()]).eval(&d, &row), Some(false));
        assert_eq!(Filter::And(vec![unknown.clone(), truth.clone()]).eval(&d, &row), None);
        assert_eq!(Filter::Or(vec![unknown.clone(), truth]).eval(&d, &row), Some(true));
        assert_eq!(Filter::Or(vec![unknown, falsity]).eval(&d, &row), None);
        assert_eq!(Filter::IsNull("c".into()).eval(&d, &row), Some(true));
        let inlist = Filter::In { column: "a".into(), values: vec![Value::Int(3), Value::Null] };
        assert_eq!(inlist.eval(&d, &row), None);
    }
}
