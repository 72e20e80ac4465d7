//! A total order on rows of values, for sorting, grouping and DISTINCT.

use std::cmp::Ordering;

use orbit_storage::Value;

/// Values compared the way ORDER BY and GROUP BY need: NULLs equal to each
/// other and after everything else, numbers by value across kinds, and a
/// fixed order between kinds that SQL would never compare.
#[derive(Debug, Clone)]
pub(crate) struct SortKey(pub Vec<Value>);

fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Int(_) | Value::Float(_) | Value::Decimal(_) => 1,
        Value::Text(_) => 2,
        Value::Bytes(_) => 3,
        Value::Date(_) => 4,
        Value::Time(_) => 5,
        Value::Timestamp(_) => 6,
        Value::TimestampTz(_) => 7,
        Value::Interval(_) => 8,
        Value::Uuid(_) => 9,
        Value::Json(_) => 10,
        Value::Null => 11,
    }
}

/// Compares two values totally (see [`SortKey`]).
pub(crate) fn total_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Json(x), Value::Json(y)) => crate::format::jsonb_text(x).cmp(&crate::format::jsonb_text(y)),
        _ => a.sql_cmp(b).unwrap_or_else(|| kind_rank(a).cmp(&kind_rank(b))),
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(&other.0) {
            let o = total_cmp(a, b);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}
