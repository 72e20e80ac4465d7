//! Running INSERT, UPDATE and DELETE: rows are fetched and the new rows
//! computed synchronously, then written through `TableStorage`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use orbit_storage::table::{Filter, TableSchema, Update};
use orbit_storage::{StorageError, TableStorage, Transaction, Value};

use super::plan::{ConflictOn, InsertPlan, InsertSource, ModifyPlan, OnConflict};
use crate::catalog::TableName;
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::{Env, Scalar};
use crate::key::SortKey;
use crate::mysql::Domains;
use crate::query::fetch::{INLINE_ROWS, bounded_by_input, fetch, has_subquery, plan_sources, scalar_sources};
use crate::query::from::Source;
use crate::query::run::{CancelOnDrop, Rows, RunData, run_query};
use crate::types;

/// What a statement needs besides storage: parameters and its start time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args<'a> {
    pub params: &'a [Value],
    pub now: chrono::DateTime<chrono::Utc>,
    pub seq: &'a Arc<crate::sequence::SeqSession>,
    /// Row locking, for READ COMMITTED writers.
    pub locking: Option<Locking<'a>>,
}

/// The locks a READ COMMITTED writer takes, and as whom.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locking<'a> {
    pub locks: &'a crate::locks::RowLocks,
    pub txn: crate::locks::TxnId,
}

/// The lock identity of a row: its key, or all its values without one, in
/// the storage key encoding, so values storage treats as one key (`1.0` and
/// `1.00`, times equal to the microsecond) are one lock.
fn lock_key(table: &TableName, schema: &TableSchema, row: &[Value]) -> crate::locks::LockKey {
    let values: Vec<&Value> = if schema.primary_key.is_empty() {
        row.iter().collect()
    } else {
        schema.primary_key.iter().filter_map(|k| schema.column_index(k).map(|i| &row[i])).collect()
    };
    let mut key = Vec::new();
    for v in values {
        let v = orbit_storage::codec::key::truncate_to_micros(v.clone());
        if orbit_storage::codec::key::encode(&v, Default::default(), &mut key).is_err() {
            // Only json has no key encoding, and only a keyless table locks
            // by it: its text stands in.
            key.extend_from_slice(format!("{v:?}").as_bytes());
        }
    }
    (table.stored.clone(), key)
}

impl<'a> Args<'a> {
    fn env<'r>(&self, run: &'r RunData) -> Env<'r>
    where
        'a: 'r,
    {
        Env { params: self.params, now: self.now, outer: Vec::new(), run: Some(run) }
    }

    /// Runs `work` over the fetched `tables` on the blocking pool, with
    /// copies of the statement's parameters: for work that a few fetched
    /// rows do not bound, which must not hold the connection's thread.
    /// Dropping the returned future (a cancel request, a closed
    /// connection) stops the work at its next check.
    pub(crate) async fn on_blocking_pool<T: Send + 'static>(
        &self,
        tables: HashMap<usize, Rows>,
        work: impl FnOnce(&Env<'_>) -> SqlResult<T> + Send + 'static,
    ) -> SqlResult<T> {
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        let (params, now, seq) = (self.params.to_vec(), self.now, self.seq.clone());
        tokio::task::spawn_blocking(move || {
            let run = RunData::new(tables, cancel, Some(seq));
            work(&Env { params: &params, now, outer: Vec::new(), run: Some(&run) })
        })
        .await
        .map_err(|e| SqlError::new(ErrorCode::Internal, format!("statement task failed: {e}")))?
    }
}

/// Converts values for row `row_no` (from 1) of a statement writing to
/// `schema`, and checks NOT NULL and, for MySQL columns, what the declared
/// type allows beyond its storage type (`domains`, of `schema`).
fn finish_row(
    schema: &TableSchema,
    domains: &Domains,
    table: &TableName,
    row_no: usize,
    row: Vec<Value>,
) -> SqlResult<Vec<Value>> {
    let mut out = Vec::with_capacity(row.len());
    for (i, (v, col)) in row.into_iter().zip(&schema.columns).enumerate() {
        let v = domains.check(i, &col.name, row_no, types::assign(v, &col.data_type)?)?;
        if v.is_null() && !col.nullable {
            return Err(SqlError::new(
                ErrorCode::NotNullViolation,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    col.name, table.short
                ),
            ));
        }
        out.push(v);
    }
    Ok(out)
}

fn key_filter(schema: &TableSchema, row: &[Value]) -> Filter {
    let parts: Vec<Filter> = schema
        .primary_key
        .iter()
        .filter_map(|k| schema.column_index(k).map(|i| Filter::eq(k.clone(), row[i].clone())))
        .collect();
    Filter::And(parts)
}

/// Matches exactly the rows equal to `row` in every column: how a table
/// without a primary key names a row. Identical rows are indistinguishable,
/// so they are changed together, which is what changing each would do.
fn whole_row_filter(schema: &TableSchema, row: &[Value]) -> Filter {
    Filter::And(
        schema
            .columns
            .iter()
            .zip(row)
            .map(
                |(c, v)| {
                    if v.is_null() { Filter::IsNull(c.name.clone()) } else { Filter::eq(c.name.clone(), v.clone()) }
                },
            )
            .collect(),
    )
}

/// Tests CHECK constraints on a finished row: a false result fails, NULL
/// passes (as in SQL).
fn check(checks: &[(String, Scalar)], table: &TableName, row: &[Value], env: &Env<'_>) -> SqlResult<()> {
    for (name, test) in checks {
        if matches!(test.eval(row, env)?, Value::Bool(false)) {
            return Err(SqlError::new(
                ErrorCode::CheckViolation,
                format!("new row for relation \"{}\" violates check constraint \"{name}\"", table.short),
            ));
        }
    }
    Ok(())
}

fn insert_sources(plan: &InsertPlan) -> Vec<&Source> {
    let mut out = Vec::new();
    match &plan.source {
        InsertSource::Values(rows) => rows.iter().flatten().for_each(|s| scalar_sources(s, &mut out)),
        InsertSource::Query(q) => plan_sources(q, &mut out),
    }
    plan.defaults.iter().flatten().for_each(|s| scalar_sources(s, &mut out));
    if let OnConflict::Update { sets, filter } = &plan.on_conflict {
        sets.iter().for_each(|(_, s)| scalar_sources(s, &mut out));
        filter.iter().for_each(|s| scalar_sources(s, &mut out));
    }
    if let Some((r, _)) = &plan.returning {
        r.iter().for_each(|s| scalar_sources(s, &mut out));
    }
    out
}

/// The rows INSERT writes, with defaults filled and types converted.
fn rows_to_insert(plan: &InsertPlan, env: &Env<'_>) -> SqlResult<Vec<Vec<Value>>> {
    let source_rows: Vec<Vec<Value>> = match &plan.source {
        InsertSource::Values(rows) => rows
            .iter()
            .map(|r| r.iter().map(|s| s.eval(&[], env)).collect::<SqlResult<Vec<_>>>())
            .collect::<SqlResult<_>>()?,
        InsertSource::Query(q) => run_query(q, env)?,
    };
    let domains = Domains::of(&plan.schema);
    let mut out = Vec::with_capacity(source_rows.len());
    for src in source_rows {
        let mut row: Vec<Value> = plan
            .defaults
            .iter()
            .map(|d| d.as_ref().map_or(Ok(Value::Null), |s| s.eval(&[], env)))
            .collect::<SqlResult<_>>()?;
        for (v, &ti) in src.into_iter().zip(&plan.targets) {
            row[ti] = v;
        }
        // MySQL: NULL or 0 given to an AUTO_INCREMENT column draws the
        // next value, as if the column were left out.
        if let Some((col, seq)) = &plan.raise_serial
            && matches!(row[*col], Value::Null | Value::Int(0))
        {
            let seqs = env
                .run
                .and_then(|r| r.seq.as_ref())
                .ok_or_else(|| SqlError::new(ErrorCode::Internal, "sequences are not available here"))?;
            row[*col] = Value::Int(seqs.nextval(seq)?);
        }
        let row = finish_row(&plan.schema, &domains, &plan.table, out.len() + 1, row)?;
        check(&plan.checks, &plan.table, &row, env)?;
        out.push(row);
    }
    Ok(out)
}

fn project(exprs: &[Scalar], row: &[Value], env: &Env<'_>) -> SqlResult<Vec<Value>> {
    exprs.iter().map(|e| e.eval(row, env)).collect()
}

/// A READ COMMITTED writer of a table with a unique secondary index reads
/// the latest state, as PostgreSQL's unique checks see commits still in
/// flight: a settled snapshot could miss a clashing value whose commit is
/// still syncing (a late 40001 instead of 23505 or ON CONFLICT's path), or
/// a clash that a syncing DELETE already removed.
async fn latest_for_unique_checks(
    schema: &orbit_storage::table::TableSchema,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    args: &Args<'_>,
) -> SqlResult<()> {
    if let (Some(_), Some(t)) = (args.locking, tx)
        && schema.indexes.iter().any(|i| i.unique)
    {
        storage.refresh_snapshot(t).await?;
    }
    Ok(())
}

/// A row an INSERT skipped because its key was taken (MySQL's INSERT
/// IGNORE), as MySQL's warning names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// `table.PRIMARY`, or `table.index`.
    pub key: String,
    /// The key's values, joined with `-`.
    pub values: String,
}

/// What an INSERT did.
#[derive(Debug, Default)]
pub(crate) struct Inserted {
    /// Rows written.
    pub count: u64,
    /// RETURNING rows.
    pub returned: Vec<Vec<Value>>,
    /// Rows skipped as duplicates (ON CONFLICT DO NOTHING, INSERT IGNORE).
    pub duplicates: Vec<Duplicate>,
}

fn duplicate(plan: &InsertPlan, key: &str, columns: &[String], row: &[Value]) -> Duplicate {
    let values: Vec<String> =
        columns.iter().filter_map(|c| plan.schema.column_index(c)).map(|i| crate::format::cast_text(&row[i])).collect();
    Duplicate { key: format!("{}.{key}", plan.table.short), values: values.join("-") }
}

/// Whether making an INSERT's rows is bounded by the rows it fetches: a
/// source query bounded by its input, or VALUES and defaults without
/// subqueries.
pub(crate) fn insert_rows_bounded(plan: &InsertPlan) -> bool {
    let source = match &plan.source {
        InsertSource::Query(q) => bounded_by_input(q),
        InsertSource::Values(rows) => !rows.iter().flatten().any(has_subquery),
    };
    source && !plan.defaults.iter().flatten().any(has_subquery)
}

/// Whether any expression of an UPDATE or DELETE holds a subquery, whose
/// work its row count does not bound.
pub(crate) fn has_subqueries(plan: &ModifyPlan) -> bool {
    let returning = plan.returning.iter().flat_map(|(r, _)| r.iter());
    plan.filter
        .iter()
        .chain(plan.sets.iter().map(|(_, s)| s))
        .chain(plan.checks.iter().map(|(_, s)| s))
        .chain(returning)
        .any(has_subquery)
}

/// Runs an INSERT.
pub(crate) async fn insert(
    plan: &InsertPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    args: Args<'_>,
) -> SqlResult<Inserted> {
    latest_for_unique_checks(&plan.schema, storage, tx, &args).await?;
    let tables = fetch(&insert_sources(plan), storage, tx, args.params).await?;
    let fetched: usize = tables.values().map(|r| r.len()).sum();
    // ON CONFLICT / ON DUPLICATE KEY expressions read these too (the maps
    // share their rows).
    let run = RunData::new(tables.clone(), Arc::new(AtomicBool::new(false)), Some(args.seq.clone()));
    // As for a SELECT: rows whose making is not bounded by a few fetched
    // rows are made on the blocking pool, not on the connection's thread.
    let rows = if fetched > INLINE_ROWS || !insert_rows_bounded(plan) {
        let plan = plan.clone();
        args.on_blocking_pool(tables, move |env| rows_to_insert(&plan, env)).await?
    } else {
        rows_to_insert(plan, &args.env(&run))?
    };
    if let Some((col, seq)) = &plan.raise_serial
        && let Some(max) = rows.iter().filter_map(|r| if let Value::Int(i) = r[*col] { Some(i) } else { None }).max()
    {
        args.seq.raise(seq, max);
    }
    // Lock the new keys first: another writer of one goes first, and the
    // key checks below then see what it committed.
    if let Some(l) = args.locking
        && !plan.schema.primary_key.is_empty()
    {
        let mut fresh = Vec::new();
        for row in &rows {
            let key = lock_key(&plan.table, &plan.schema, row);
            if l.locks.acquire(l.txn, key.clone()).await? {
                fresh.push(key);
            }
        }
        // Without a transaction, storage checks the key against the latest
        // commit anyway.
        if !fresh.is_empty()
            && let Some(t) = tx
        {
            storage.refresh_settled_snapshot(t, &fresh).await?;
        }
    }
    let mut count = 0;
    let mut written_rows = Vec::new();
    let mut duplicates = Vec::new();
    let skipping = matches!(plan.on_conflict, OnConflict::Nothing);
    for row in rows {
        let written = match storage.insert(tx, &plan.table.stored, row.clone()).await {
            Ok(()) => Some(row),
            Err(e) if matches!(plan.on_conflict, OnConflict::Error) => return Err(e.into()),
            Err(StorageError::DuplicateKey { .. }) if matches!(plan.conflict_on, ConflictOn::Any | ConflictOn::Key) => {
                let key: Vec<Value> = plan
                    .schema
                    .primary_key
                    .iter()
                    .filter_map(|k| plan.schema.column_index(k).map(|i| row[i].clone()))
                    .collect();
                if skipping {
                    duplicates.push(duplicate(plan, "PRIMARY", &plan.schema.primary_key, &row));
                }
                match storage.get(tx, &plan.table.stored, &key).await? {
                    Some(existing) => conflict(plan, storage, tx, args, &run, existing, row).await?,
                    None => None,
                }
            }
            Err(StorageError::UniqueViolation { index, .. })
                if plan.conflict_on == ConflictOn::Any || plan.conflict_on == ConflictOn::Index(index.clone()) =>
            {
                if skipping && let Some(ix) = plan.schema.indexes.iter().find(|ix| ix.name == index) {
                    duplicates.push(duplicate(plan, &index, &ix.columns, &row));
                }
                let existing = by_unique_index(plan, storage, tx, &index, &row).await?;
                match existing {
                    Some(existing) => conflict(plan, storage, tx, args, &run, existing, row).await?,
                    None => None,
                }
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(row) = written {
            count += 1;
            written_rows.push(row);
        }
        // Inside a transaction a row's insert only buffers and never waits:
        // a long INSERT must still let the connection thread's other
        // connections run now and then.
        tokio::task::consume_budget().await;
    }
    let returned = match &plan.returning {
        Some((exprs, _)) => {
            let env = args.env(&run);
            written_rows.iter().map(|r| project(exprs, r, &env)).collect::<SqlResult<_>>()?
        }
        None => Vec::new(),
    };
    Ok(Inserted { count, returned, duplicates })
}

/// The row holding `row`'s values of unique index `index`.
async fn by_unique_index(
    plan: &InsertPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    index: &str,
    row: &[Value],
) -> SqlResult<Option<Vec<Value>>> {
    let Some(ix) = plan.schema.indexes.iter().find(|ix| ix.name == index) else { return Ok(None) };
    let filter = Filter::And(
        ix.columns
            .iter()
            .filter_map(|c| plan.schema.column_index(c).map(|i| Filter::eq(c.clone(), row[i].clone())))
            .collect(),
    );
    let q = orbit_storage::table::SelectQuery {
        table: plan.table.stored.clone(),
        filter,
        limit: Some(1),
        ..Default::default()
    };
    Ok(storage.select(tx, &q).await?.into_iter().next())
}

/// Resolves a conflict with `existing` by ON CONFLICT; the row written, if any.
async fn conflict(
    plan: &InsertPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    args: Args<'_>,
    run: &RunData,
    existing: Vec<Value>,
    proposed: Vec<Value>,
) -> SqlResult<Option<Vec<Value>>> {
    let OnConflict::Update { sets, filter } = &plan.on_conflict else { return Ok(None) };
    let row = {
        let env = args.env(run);
        let both: Vec<Value> = existing.iter().chain(&proposed).cloned().collect();
        if let Some(f) = filter
            && !f.test(&both, &env)?
        {
            return Ok(None);
        }
        let mut row = existing.clone();
        for (i, s) in sets {
            row[*i] = s.eval(&both, &env)?;
        }
        // The conflicting row is updated on its own: MySQL counts it as 1.
        let row = finish_row(&plan.schema, &Domains::of(&plan.schema), &plan.table, 1, row)?;
        check(&plan.checks, &plan.table, &row, &env)?;
        row
    };
    write_changed(&plan.schema, &plan.table, storage, tx, &existing, &row).await?;
    Ok(Some(row))
}

/// Replaces `old` by `new`: in place when the key is the same, otherwise
/// as a delete and an insert (which fails if the new key is taken).
async fn write_changed(
    schema: &TableSchema,
    table: &TableName,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    old: &[Value],
    new: &[Value],
) -> SqlResult<()> {
    if schema.primary_key.is_empty() {
        // A keyless row is named by its values (see `whole_row_filter`).
        let updates: Vec<Update> =
            schema.columns.iter().zip(new).map(|(c, v)| Update::set(c.name.clone(), v.clone())).collect();
        storage.update(tx, &table.stored, &updates, &whole_row_filter(schema, old)).await?;
        return Ok(());
    }
    let key_same = schema
        .primary_key
        .iter()
        .filter_map(|k| schema.column_index(k))
        .all(|i| old[i].sql_cmp(&new[i]) == Some(std::cmp::Ordering::Equal));
    if key_same {
        storage.upsert(tx, &table.stored, new.to_vec()).await?;
    } else {
        storage.delete(tx, &table.stored, &key_filter(schema, old)).await?;
        storage.insert(tx, &table.stored, new.to_vec()).await?;
    }
    Ok(())
}

/// The rows an UPDATE or DELETE changes, as (old, new) pairs, the
/// RETURNING rows, and the count.
type Changes = (Vec<(Vec<Value>, Vec<Value>)>, Vec<Vec<Value>>, u64);

fn changes(plan: &ModifyPlan, env: &Env<'_>, delete: bool) -> SqlResult<Changes> {
    let rows = crate::query::from::rows(std::slice::from_ref(&plan.source), env)?;
    let keyed = !plan.schema.primary_key.is_empty();
    let mut count = 0u64;
    let mut returned = Vec::new();
    // Without a key, identical rows are written once, as a group.
    let mut groups: BTreeMap<SortKey, usize> = BTreeMap::new();
    let domains = Domains::of(&plan.schema);
    let mut out = Vec::new();
    for old in rows {
        crate::query::run::tick(env)?;
        if !plan.filter.as_ref().map_or(Ok(true), |f| f.test(&old, env))? {
            continue;
        }
        let new = if delete {
            old.clone()
        } else {
            let mut new = old.clone();
            for (i, s) in &plan.sets {
                new[*i] = s.eval(&old, env)?;
            }
            let new = finish_row(&plan.schema, &domains, &plan.table, out.len() + 1, new)?;
            check(&plan.checks, &plan.table, &new, env)?;
            new
        };
        if let Some((exprs, _)) = &plan.returning {
            returned.push(project(exprs, if delete { &old } else { &new }, env)?);
        }
        count += 1;
        if !keyed {
            let seen = groups.entry(SortKey(old.clone())).or_default();
            *seen += 1;
            if *seen > 1 {
                continue;
            }
        }
        out.push((old, new));
    }
    Ok((out, returned, count))
}

/// Runs an UPDATE or DELETE; returns the count and RETURNING rows.
pub(crate) async fn modify(
    plan: &ModifyPlan,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    args: Args<'_>,
    delete: bool,
) -> SqlResult<(u64, Vec<Vec<Value>>)> {
    if !delete {
        latest_for_unique_checks(&plan.schema, storage, tx, &args).await?;
    }
    let mut sources = vec![&plan.source];
    plan.filter.iter().for_each(|s| scalar_sources(s, &mut sources));
    plan.sets.iter().for_each(|(_, s)| scalar_sources(s, &mut sources));
    if let Some((r, _)) = &plan.returning {
        r.iter().for_each(|s| scalar_sources(s, &mut sources));
    }
    // As for a SELECT: many rows, or subqueries, are worked through on
    // the blocking pool rather than on the connection's thread.
    let unbounded = has_subqueries(plan);
    let (changes, returned, count) = loop {
        let tables = fetch(&sources, storage, tx, args.params).await?;
        let fetched: usize = tables.values().map(|r| r.len()).sum();
        let found = if unbounded || fetched > INLINE_ROWS {
            let plan = plan.clone();
            args.on_blocking_pool(tables, move |env| changes(&plan, env, delete)).await?
        } else {
            let run = RunData::new(tables, Arc::new(AtomicBool::new(false)), Some(args.seq.clone()));
            changes(plan, &args.env(&run), delete)?
        };
        // Lock the rows. A row newly locked may have been changed by a
        // commit after this snapshot: read again from a fresh snapshot and
        // recompute, until every row to write was locked before it was read.
        if let (Some(l), Some(t)) = (args.locking, tx) {
            let mut fresh = Vec::new();
            for (old, new) in &found.0 {
                let old_key = lock_key(&plan.table, &plan.schema, old);
                // An UPDATE that moves a row to a new key takes that key
                // too, as an INSERT of it would.
                let new_key = (!delete && !plan.schema.primary_key.is_empty())
                    .then(|| lock_key(&plan.table, &plan.schema, new))
                    .filter(|k| *k != old_key);
                if l.locks.acquire(l.txn, old_key.clone()).await? {
                    fresh.push(old_key);
                }
                if let Some(k) = new_key
                    && l.locks.acquire(l.txn, k.clone()).await?
                {
                    fresh.push(k);
                }
            }
            if !fresh.is_empty() {
                // The rows just locked must be read as last committed; the
                // rest of the statement may read the newest durable state.
                // A keyless table's lock keys are not row keys: read the
                // latest.
                if plan.schema.primary_key.is_empty() {
                    storage.refresh_snapshot(t).await?;
                } else {
                    storage.refresh_settled_snapshot(t, &fresh).await?;
                }
                continue;
            }
        }
        break found;
    };
    let keyed = !plan.schema.primary_key.is_empty();
    for (old, new) in changes {
        match (delete, keyed) {
            (true, true) => {
                storage.delete(tx, &plan.table.stored, &key_filter(&plan.schema, &old)).await?;
            }
            (true, false) => {
                storage.delete(tx, &plan.table.stored, &whole_row_filter(&plan.schema, &old)).await?;
            }
            (false, _) => write_changed(&plan.schema, &plan.table, storage, tx, &old, &new).await?,
        }
        // Inside a transaction these writes only buffer: let the
        // connection thread's other connections run now and then.
        tokio::task::consume_budget().await;
    }
    Ok((count, returned))
}
