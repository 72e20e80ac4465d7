//! The synchronous part of running a query: joins, filters, grouping,
//! projection, set operations and CTEs over rows fetched beforehand.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};

use orbit_storage::Value;

use super::{AggPlan, Body, Finish, OrderKey, QueryPlan, SelectPlan, SetOpKind, SetOpPlan, ValuesPlan, from};
use crate::agg::Acc;
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::{Env, Scalar};
use crate::key::{SortKey, total_cmp};

/// Rows, shared between the places that read them.
pub(crate) type Rows = Arc<Vec<Vec<Value>>>;

/// Everything a statement's pipeline reads besides its plan: the rows of
/// each stored source, CTE results in scope, cached results of
/// uncorrelated subqueries, and the cancel flag.
///
/// It is shared by reference with every expression evaluated, including
/// across the awaits of writing statements, so its caches are behind
/// (uncontended) mutexes rather than cells.
#[derive(Debug, Default)]
pub(crate) struct RunData {
    tables: HashMap<usize, Rows>,
    ctes: Mutex<Vec<(String, Rows)>>,
    subqueries: Mutex<HashMap<usize, Rows>>,
    cancel: Arc<AtomicBool>,
    ticks: AtomicUsize,
    /// The session's sequences, for nextval and friends.
    pub seq: Option<Arc<crate::sequence::SeqSession>>,
}

/// Locks a mutex, ignoring poisoning: a panic cannot leave these caches
/// half-written.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RunData {
    pub(crate) fn new(
        tables: HashMap<usize, Rows>,
        cancel: Arc<AtomicBool>,
        seq: Option<Arc<crate::sequence::SeqSession>>,
    ) -> Self {
        RunData { tables, cancel, seq, ..RunData::default() }
    }

    pub(crate) fn cached_subquery(&self, id: usize) -> Option<Rows> {
        lock(&self.subqueries).get(&id).cloned()
    }

    pub(crate) fn cache_subquery(&self, id: usize, rows: Rows) {
        lock(&self.subqueries).insert(id, rows);
    }
}

fn data<'a>(env: &Env<'a>) -> SqlResult<&'a RunData> {
    env.run.ok_or_else(|| SqlError::new(ErrorCode::Internal, "query run without its data"))
}

/// The fetched rows of stored source `id`.
pub(crate) fn fetched(env: &Env<'_>, id: usize) -> SqlResult<Rows> {
    data(env)?
        .tables
        .get(&id)
        .cloned()
        .ok_or_else(|| SqlError::new(ErrorCode::Internal, format!("rows of source {id} were not fetched")))
}

/// The rows of the innermost CTE called `name`.
pub(crate) fn cte_rows(env: &Env<'_>, name: &str) -> SqlResult<Rows> {
    lock(&data(env)?.ctes)
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, r)| r.clone())
        .ok_or_else(|| SqlError::new(ErrorCode::Internal, format!("CTE {name} has no rows yet")))
}

/// Sets a run's cancel flag when dropped: held by the future that awaits a
/// query on the blocking pool, so a closed connection or a cancel request
/// (which drop that future) stops the query at its next check.
pub(crate) struct CancelOnDrop(pub Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, AtomicOrdering::Relaxed);
    }
}

/// Counts a unit of work and, now and then, checks for a cancel request.
pub(crate) fn tick(env: &Env<'_>) -> SqlResult<()> {
    let Some(run) = env.run else { return Ok(()) };
    let n = run.ticks.fetch_add(1, AtomicOrdering::Relaxed).wrapping_add(1);
    if n.is_multiple_of(4096) && run.cancel.load(AtomicOrdering::Relaxed) {
        return Err(SqlError::new(ErrorCode::QueryCanceled, "canceling statement due to user request"));
    }
    Ok(())
}

/// Runs a planned query.
pub(crate) fn run_query(plan: &QueryPlan, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let run = data(env)?;
    let visible = lock(&run.ctes).len();
    let r = run_query_in(plan, env, run);
    lock(&run.ctes).truncate(visible);
    r
}

fn run_query_in(plan: &QueryPlan, env: &Env<'_>, run: &RunData) -> SqlResult<Vec<Vec<Value>>> {
    for cte in &plan.ctes {
        let rows = match &cte.step {
            None => run_query(&cte.seed, env)?,
            Some((step, all)) => recursive(&cte.name, &cte.seed, step, *all, env, run)?,
        };
        lock(&run.ctes).push((cte.name.clone(), Arc::new(rows)));
    }
    match &plan.body {
        Body::Select(s) => run_select(s, env),
        Body::SetOp(s) => run_set_op(s, env),
        Body::Values(v) => run_values(v, env),
    }
}

/// Rows of a recursive CTE: the seed, then rounds of `step` over the rows
/// the last round added, until a round adds nothing.
fn recursive(
    name: &str,
    seed: &QueryPlan,
    step: &QueryPlan,
    all: bool,
    env: &Env<'_>,
    run: &RunData,
) -> SqlResult<Vec<Vec<Value>>> {
    let mut seen = BTreeSet::new();
    let mut result: Vec<Vec<Value>> = run_query(seed, env)?;
    if !all {
        result.retain(|r| seen.insert(SortKey(r.clone())));
    }
    let mut working = result.clone();
    while !working.is_empty() {
        lock(&run.ctes).push((name.to_string(), Arc::new(std::mem::take(&mut working))));
        let added = run_query(step, env);
        lock(&run.ctes).pop();
        let mut added = added?;
        if !all {
            added.retain(|r| seen.insert(SortKey(r.clone())));
        }
        for _ in &added {
            tick(env)?;
        }
        result.extend(added.iter().cloned());
        working = added;
    }
    Ok(result)
}

fn run_select(plan: &SelectPlan, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    // A lone table's fetched rows are read in place: building the joined
    // input would copy every column of every row, projected or not.
    let shared = match plan.sources.as_slice() {
        [src] if matches!(src.source, from::SourceKind::Stored | from::SourceKind::Catalog(..)) => {
            Some(fetched(env, src.id)?)
        }
        _ => None,
    };
    let built = match (&shared, plan.sources.is_empty()) {
        (Some(_), _) => Vec::new(),
        (None, true) => vec![vec![]],
        (None, false) => from::rows(&plan.sources, env)?,
    };
    let input = shared.as_deref().unwrap_or(&built);
    let mut kept: Vec<&[Value]> = Vec::new();
    for r in input {
        tick(env)?;
        if let Some(f) = &plan.filter
            && !f.test(r, env)?
        {
            continue;
        }
        kept.push(r);
    }
    let aggregated;
    let rows = match &plan.agg {
        Some(agg) => {
            aggregated = aggregate(agg, &kept, env)?;
            aggregated.iter().map(Vec::as_slice).collect()
        }
        None => kept,
    };
    let mut out = Vec::with_capacity(rows.len());
    let project = |r: &[Value]| plan.project.iter().map(|p| p.eval(r, env)).collect::<SqlResult<Vec<_>>>();
    for &r in &rows {
        if plan.srfs.is_empty() {
            out.push(project(r)?);
            continue;
        }
        let mut lists = Vec::with_capacity(plan.srfs.len());
        for s in &plan.srfs {
            let args = s.args.iter().map(|a| a.eval(r, env)).collect::<SqlResult<Vec<_>>>()?;
            lists.push(s.func.values(&args, &s.ty)?);
        }
        let n = lists.iter().map(Vec::len).max().unwrap_or(0);
        for j in 0..n {
            tick(env)?;
            let mut row = r.to_vec();
            row.extend(lists.iter().map(|l| l.get(j).cloned().unwrap_or(Value::Null)));
            out.push(project(&row)?);
        }
    }
    if plan.distinct {
        let mut seen = BTreeSet::new();
        out.retain(|r| seen.insert(SortKey(r.clone())));
    }
    finish(out, &plan.order, &plan.limit, &plan.offset, plan.columns.len(), env)
}

fn run_values(plan: &ValuesPlan, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let rows = plan
        .rows
        .iter()
        .map(|r| r.iter().map(|s| s.eval(&[], env)).collect::<SqlResult<Vec<_>>>())
        .collect::<SqlResult<Vec<_>>>()?;
    let width = plan.rows.first().map_or(0, Vec::len);
    apply_finish(rows, &plan.finish, width, env)
}

fn run_set_op(plan: &SetOpPlan, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let left = run_query(&plan.left, env)?;
    let right = run_query(&plan.right, env)?;
    let width = plan.left.columns.len();
    let rows = match (plan.op, plan.all) {
        (SetOpKind::Union, true) => left.into_iter().chain(right).collect(),
        (SetOpKind::Union, false) => {
            let mut seen = BTreeSet::new();
            left.into_iter().chain(right).filter(|r| seen.insert(SortKey(r.clone()))).collect()
        }
        (op, all) => {
            // Multiset counts of the right side.
            let mut counts: BTreeMap<SortKey, usize> = BTreeMap::new();
            for r in right {
                *counts.entry(SortKey(r)).or_default() += 1;
            }
            let mut emitted = BTreeSet::new();
            let mut out = Vec::new();
            for r in left {
                let key = SortKey(r.clone());
                let in_right = counts.get(&key).copied().unwrap_or(0);
                let keep = match op {
                    SetOpKind::Intersect if all => {
                        if in_right > 0 {
                            counts.insert(key.clone(), in_right - 1);
                            true
                        } else {
                            false
                        }
                    }
                    SetOpKind::Intersect => in_right > 0 && emitted.insert(key.clone()),
                    _ if all => {
                        if in_right > 0 {
                            counts.insert(key.clone(), in_right - 1);
                            false
                        } else {
                            true
                        }
                    }
                    _ => in_right == 0 && emitted.insert(key.clone()),
                };
                if keep {
                    out.push(r);
                }
            }
            out
        }
    };
    apply_finish(rows, &plan.finish, width, env)
}

fn apply_finish(rows: Vec<Vec<Value>>, f: &Finish, width: usize, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    finish(rows, &f.order, &f.limit, &f.offset, width, env)
}

/// ORDER BY, OFFSET and LIMIT, then drops hidden sort columns.
fn finish(
    mut out: Vec<Vec<Value>>,
    order: &[OrderKey],
    limit: &Option<Scalar>,
    offset: &Option<Scalar>,
    visible: usize,
    env: &Env<'_>,
) -> SqlResult<Vec<Vec<Value>>> {
    if !order.is_empty() {
        out.sort_by(|a, b| {
            for k in order {
                let (x, y) = (&a[k.col], &b[k.col]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if k.nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if k.nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    _ => {
                        let o = total_cmp(x, y);
                        if k.desc { o.reverse() } else { o }
                    }
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let offset = count_arg(offset, env, "OFFSET")?.unwrap_or(0);
    let limit = count_arg(limit, env, "LIMIT")?;
    Ok(out
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|mut r| {
            r.truncate(visible);
            r
        })
        .collect())
}

fn count_arg(s: &Option<Scalar>, env: &Env<'_>, what: &str) -> SqlResult<Option<usize>> {
    let Some(s) = s else { return Ok(None) };
    match s.eval(&[], env)? {
        Value::Null => Ok(None),
        Value::Int(n) if n >= 0 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        Value::Int(_) => Err(SqlError::new(ErrorCode::InvalidParameter, format!("{what} must not be negative"))),
        other => Err(SqlError::mismatch(format!("argument of {what} must be type bigint, not {}", other.kind()))),
    }
}

/// Groups rows and computes aggregates; each result row holds the group
/// values and then the aggregates.
fn aggregate(agg: &AggPlan, rows: &[&[Value]], env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let mut groups: BTreeMap<SortKey, Vec<Acc>> = BTreeMap::new();
    for &r in rows {
        tick(env)?;
        let key = agg.group.iter().map(|g| g.eval(r, env)).collect::<SqlResult<Vec<_>>>()?;
        let accs = groups.entry(SortKey(key)).or_insert_with(|| agg.calls.iter().map(|c| c.start()).collect());
        for (acc, call) in accs.iter_mut().zip(&agg.calls) {
            acc.add(call, r, env)?;
        }
    }
    // Aggregates without GROUP BY give one row even over no rows.
    if groups.is_empty() && agg.group.is_empty() {
        groups.insert(SortKey(vec![]), agg.calls.iter().map(|c| c.start()).collect());
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, accs) in groups {
        let mut row = key.0;
        for (acc, call) in accs.into_iter().zip(&agg.calls) {
            row.push(acc.finish(call)?);
        }
        if let Some(h) = &agg.having
            && !h.test(&row, env)?
        {
            continue;
        }
        out.push(row);
    }
    Ok(out)
}
