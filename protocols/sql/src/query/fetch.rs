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
use super::{Body, QueryPlan};
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
            for sc in scalars {
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
