//! The asynchronous part of running a statement: reading, through
//! `TableStorage`, the rows of every stored table its plan names, with the
//! comparisons pushed down so that key lookups and ranges read only what
//! they need.

use std::collections::HashMap;
use std::sync::Arc;

use orbit_storage::table::SelectQuery;
use orbit_storage::{TableStorage, Transaction, Value};

use super::from::{Source, SourceKind, scan_filter};
use super::run::Rows;
use super::{Body, QueryPlan, SelectPlan};
use crate::error::SqlResult;
use crate::expr::{Env, Scalar, SubqueryKind};

/// Collects the stored sources of a plan, its CTEs, derived tables and
/// subqueries.
pub(crate) fn plan_sources<'p>(plan: &'p QueryPlan, out: &mut Vec<&'p Source>) {
    for cte in &plan.ctes {
        plan_sources(&cte.seed, out);
        if let Some((step, _)) = &cte.step {
            plan_sources(step, out);
        }
    }
    match &plan.body {
        Body::Select(s) => {
            for src in &s.sources {
                match &src.source {
                    SourceKind::Stored | SourceKind::Catalog(..) => out.push(src),
                    SourceKind::Derived(p) => plan_sources(p, out),
                    SourceKind::Cte(_) => {}
                    SourceKind::Function(_, args, _) => args.iter().for_each(|a| scalar_sources(a, out)),
                }
                if let Some(on) = &src.on {
                    scalar_sources(on, out);
                }
            }
            for sc in select_scalars(s) {
                scalar_sources(sc, out);
            }
        }
        Body::SetOp(s) => {
            plan_sources(&s.left, out);
            plan_sources(&s.right, out);
        }
        Body::Values(v) => v.rows.iter().flatten().for_each(|s| scalar_sources(s, out)),
    }
}

/// Single-table queries reading at most this many rows, and bounded by
/// them ([`bounded_by_input`]), run on the connection's task; everything
/// else moves to the blocking pool.
pub(crate) const INLINE_ROWS: usize = 10_000;

/// Every expression of a SELECT but its sources' join conditions.
fn select_scalars(s: &SelectPlan) -> Vec<&Scalar> {
    let mut scalars: Vec<&Scalar> = s.project.iter().collect();
    scalars.extend(s.filter.iter());
    scalars.extend(s.limit.iter());
    scalars.extend(s.offset.iter());
    if let Some(agg) = &s.agg {
        scalars.extend(agg.group.iter());
        scalars.extend(agg.having.iter());
        for c in &agg.calls {
            scalars.extend(c.arg.iter());
            scalars.extend(c.delimiter.iter());
        }
    }
    scalars
}

/// Whether a query's work is bounded by the rows it fetches (and the
/// length of its text): no CTE, derived table, table function,
/// set-returning function or subquery, only stored and catalog tables.
/// Only such queries may run on a connection's thread, which serves other
/// connections too; the others can make rows without reading any
/// (`generate_series`, recursive CTEs), or read one table per outer row.
pub(crate) fn bounded_by_input(plan: &QueryPlan) -> bool {
    if !plan.ctes.is_empty() {
        return false;
    }
    let no_subquery = |s: &Scalar| !has_subquery(s);
    match &plan.body {
        Body::Select(s) => {
            s.srfs.is_empty()
                && s.sources.iter().all(|src| {
                    matches!(src.source, SourceKind::Stored | SourceKind::Catalog(..))
                        && src.on.as_ref().is_none_or(no_subquery)
                })
                && select_scalars(s).into_iter().all(no_subquery)
        }
        Body::SetOp(s) => bounded_by_input(&s.left) && bounded_by_input(&s.right),
        Body::Values(v) => v.rows.iter().flatten().all(no_subquery),
    }
}

/// Whether an expression holds a subquery, whose work a row count does
/// not bound.
pub(crate) fn has_subquery(s: &Scalar) -> bool {
    let mut found = false;
    s.walk(&mut |x| found |= matches!(x, Scalar::Subquery(_)));
    found
}

/// Collects the stored sources of the subqueries inside an expression.
pub(crate) fn scalar_sources<'p>(s: &'p Scalar, out: &mut Vec<&'p Source>) {
    s.walk(&mut |x| {
        if let Scalar::Subquery(sq) = x {
            plan_sources(&sq.plan, out);
            if let SubqueryKind::In(e, _) = &sq.kind {
                scalar_sources(e, out);
            }
        }
    });
}

/// Reads each source's rows (inside `tx` when given, for a consistent
/// snapshot and the transaction's own writes).
pub(crate) async fn fetch(
    sources: &[&Source],
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    params: &[Value],
) -> SqlResult<HashMap<usize, Rows>> {
    let env = Env { params, ..Env::constant() };
    let mut out = HashMap::with_capacity(sources.len());
    let mut catalog: Option<crate::pgcatalog::CatalogData> = None;
    for src in sources {
        if let SourceKind::Catalog(schema, view, database, pid) = &src.source {
            if catalog.is_none() {
                let mut d = crate::pgcatalog::load(storage, database).await?;
                d.pid = *pid;
                catalog = Some(d);
            }
            let rows = match catalog.as_ref() {
                Some(d) if schema == crate::mysql::INFORMATION_SCHEMA => crate::mysql::catalog_rows(view, d),
                Some(d) => crate::pgcatalog::rows(schema, view, d),
                None => Vec::new(),
            };
            out.insert(src.id, Arc::new(rows));
            continue;
        }
        let query =
            SelectQuery { table: src.name.stored.clone(), filter: scan_filter(src, &env)?, ..SelectQuery::default() };
        let rows = storage.select(tx, &query).await?;
        out.insert(src.id, Arc::new(rows));
    }
    Ok(out)
}
