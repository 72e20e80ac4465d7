//! A connection's session: its database, settings and transaction, and
//! the statements it runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use orbit_storage::{DataType, Transaction, Value};
use sqlparser::ast::{self, ObjectType, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::error::{ErrorCode, SqlError, SqlResult};
use std::sync::atomic::AtomicBool;

use crate::expr::Env;
use crate::expr::compile::SessionInfo;
use crate::query::run::{RunData, run_query};
use crate::query::{PlanCtx, QueryPlan, Schemas, fetch};
use crate::sequence::SeqSession;
use crate::{Column, Dialect, SqlEngine, catalog, ddl, dml, query};

#[path = "mysql_prepared.rs"]
mod mysql_prepared;
#[path = "mysql_session.rs"]
mod mysql_session;
#[path = "plan_cache.rs"]
mod plan_cache;

pub use mysql_session::{StatementEnd, Warning};

/// Transaction state as the wire protocols report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Not in a transaction block.
    Idle,
    /// In a transaction block.
    InBlock,
    /// In a failed transaction block: everything but ROLLBACK is refused.
    Failed,
}

/// What a statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Rows, with the command tag (`SELECT 3`, `INSERT 0 1` with RETURNING).
    Rows { columns: Vec<Column>, rows: Vec<Vec<Value>>, tag: String },
    /// A command with its tag (`INSERT 0 1`, `CREATE TABLE`).
    Done { tag: String },
    /// A transaction-control command, with the transaction state after it.
    Tx { tag: String, status: TxStatus },
    /// COPY FROM STDIN started: the client sends data for this many
    /// columns, then [`Session::copy_done`] or [`Session::copy_fail`].
    CopyIn { columns: usize, format: crate::CopyFormat },
    /// COPY TO STDOUT: the lines to send, then `COPY n`.
    CopyOut { columns: usize, lines: Vec<String> },
}

/// A parsed statement with its parameter and result types.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `None` for an empty query or a COPY.
    stmt: Option<Statement>,
    /// A COPY statement, run by its text.
    copy: bool,
    sql: String,
    /// Types of `$1..$n`.
    pub param_types: Vec<DataType>,
    /// For each parameter that holds an array (as its text form, typed
    /// text), its element type: clients see an array type.
    pub param_elems: Vec<Option<DataType>>,
    /// Result columns; empty for statements without rows.
    pub columns: Vec<Column>,
    /// The plan made when prepared, reused while no DDL has run since
    /// (`version`): executing skips parsing and planning.
    plan: Option<(Arc<Plan>, u64)>,
}

enum Tx {
    Idle,
    Active(Transaction),
    Failed(Transaction),
}

/// A statement planned against the current schema.
#[derive(Debug)]
enum Plan {
    Select(Arc<QueryPlan>),
    Insert(dml::InsertPlan),
    Update(dml::ModifyPlan),
    Delete(dml::ModifyPlan),
    Explain(Vec<String>),
    /// Runs without a plan (DDL, transactions, settings).
    Utility,
}

/// Settings a client may SET and SHOW, with PostgreSQL's defaults.
const SETTINGS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("lc_messages", "C"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", "15.0"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
];

/// One client's session.
pub struct Session {
    engine: Arc<SqlEngine>,
    info: SessionInfo,
    tx: Tx,
    settings: BTreeMap<String, String>,
    seq: Arc<SeqSession>,
    /// Savepoints of the open block, oldest first.
    savepoints: Vec<(String, orbit_storage::txn::Savepoint)>,
    /// A COPY FROM STDIN taking data.
    copy_in: Option<Box<crate::copy_session::CopyIn>>,
    /// The open block's lock owner id.
    block_txn: crate::locks::TxnId,
    /// Whether the open block is READ COMMITTED (else snapshot isolation).
    block_rc: bool,
    /// Whether the open block has run a query or a write: its isolation
    /// level can no longer change.
    block_used: bool,
    /// MySQL: the notes and warnings of the last statement, for the OK
    /// packet's count and SHOW WARNINGS.
    warnings: Vec<Warning>,
    /// PostgreSQL: NOTICEs waiting to be sent.
    notices: Vec<Notice>,
    /// Plans of statements sent as text, by shape.
    plan_cache: plan_cache::PlanCache,
    /// MySQL: how each statement of the last query string left the session.
    statement_ends: Vec<StatementEnd>,
    /// MySQL: statements from SQL-level PREPARE, by lowercased name.
    sql_prepared: std::collections::HashMap<String, Arc<Prepared>>,
}

/// A PostgreSQL NOTICE: a statement's remark that is not an error, such
/// as a skipped `IF [NOT] EXISTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// SQLSTATE.
    pub sqlstate: &'static str,
    /// The message.
    pub message: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        // A connection that goes away mid-block gives up its row locks; its
        // storage transaction rolls back as it drops.
        self.engine.locks.release_all(self.block_txn);
        self.engine.table_locks.unlock_all(self.info.pid);
        crate::activity::unregister(self.info.pid);
    }
}

/// Releases a statement transaction's locks however it ends.
struct StatementLocks<'a>(&'a crate::locks::RowLocks, crate::locks::TxnId);

impl Drop for StatementLocks<'_> {
    fn drop(&mut self) {
        self.0.release_all(self.1);
    }
}

/// Whether an isolation level name means snapshot isolation here.
fn snapshot_isolation(level: &str) -> bool {
    let l = level.to_ascii_lowercase();
    l.contains("repeatable") || l.contains("serializable")
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("database", &self.info.database).field("status", &self.status()).finish()
    }
}

/// How long a statement outside a transaction block keeps retrying when
/// concurrent commits get in its way. It has not been acknowledged, so
/// running it again is what the client would see from a serial order;
/// PostgreSQL would have waited on the row lock instead.
const AUTOCOMMIT_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// A pause before retry `attempt`: exponential with jitter, so that writers
/// contending for one row spread out instead of colliding again.
fn backoff(attempt: u32) -> std::time::Duration {
    let cap_us = 50u64 << attempt.min(10);
    let jitter = u64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos(),
    );
    std::time::Duration::from_micros(jitter % cap_us.max(1))
}

fn parse_error(e: ParserError, sql: &str) -> SqlError {
    let msg = e.to_string();
    let msg = msg.strip_prefix("sql parser error: ").unwrap_or(&msg).to_string();
    // "Expected: ..., found: X at Line: 1, Column: 8"
    let position = msg.rsplit_once(" at Line: ").and_then(|(_, rest)| {
        let (line, col) = rest.split_once(", Column: ")?;
        let (line, col): (usize, usize) = (line.trim().parse().ok()?, col.trim().parse().ok()?);
        let before: usize = sql.split('\n').take(line - 1).map(|l| l.chars().count() + 1).sum();
        Some(before + col)
    });
    let near = msg
        .split_once("found: ")
        .map(|(_, f)| f.rsplit_once(" at Line:").map_or(f, |(t, _)| t).to_string())
        .unwrap_or_default();
    let text = if near.is_empty() || near == "EOF" {
        "syntax error at end of input".to_string()
    } else {
        format!("syntax error at or near \"{near}\"")
    };
    SqlError::new(ErrorCode::Syntax, text).at(position)
}

fn parse_pg(sql: &str) -> SqlResult<Vec<Statement>> {
    Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| parse_error(e, sql))
}

fn in_failed() -> SqlError {
    SqlError::new(
        ErrorCode::InFailedTransaction,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

impl Session {
    /// A session on `database` for `user`; fails if the database does not exist.
    pub async fn open(engine: Arc<SqlEngine>, database: &str, user: &str) -> SqlResult<Session> {
        if !engine.databases.exists(database).await? {
            return Err(SqlError::new(ErrorCode::UndefinedDatabase, format!("database \"{database}\" does not exist")));
        }
        let settings: BTreeMap<String, String> =
            SETTINGS.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        Session::open_as(engine, database, user, Dialect::Postgres, settings).await
    }

    async fn open_as(
        engine: Arc<SqlEngine>,
        database: &str,
        user: &str,
        dialect: Dialect,
        settings: BTreeMap<String, String>,
    ) -> SqlResult<Session> {
        let seq = Arc::new(SeqSession::new(engine.sequences.clone(), database.to_string()));
        let pid = crate::activity::register(crate::activity::Activity {
            database: database.to_string(),
            user: user.to_string(),
            backend_start: chrono::Utc::now(),
            xact_start: None,
            query_start: None,
            state: "idle",
            query: String::new(),
            settings: settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
        Ok(Session {
            engine,
            info: SessionInfo {
                database: database.to_string(),
                dialect,
                schema: if dialect == Dialect::Postgres { "public".into() } else { String::new() },
                vars: Arc::new(if dialect == Dialect::MySql { settings.clone() } else { BTreeMap::new() }),
                user: user.to_string(),
                pid,
            },
            tx: Tx::Idle,
            settings,
            seq,
            savepoints: Vec::new(),
            copy_in: None,
            block_txn: 0,
            block_rc: true,
            block_used: false,
            warnings: Vec::new(),
            notices: Vec::new(),
            plan_cache: plan_cache::PlanCache::default(),
            statement_ends: Vec::new(),
            sql_prepared: std::collections::HashMap::new(),
        })
    }

    /// The session's database.
    pub fn database(&self) -> &str {
        &self.info.database
    }

    /// The transaction state.
    pub fn status(&self) -> TxStatus {
        match self.tx {
            Tx::Idle => TxStatus::Idle,
            Tx::Active(_) => TxStatus::InBlock,
            Tx::Failed(_) => TxStatus::Failed,
        }
    }

    /// The value of a setting, as SHOW prints it.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// Runs every statement of a query string (the simple protocol), up to
    /// and including the first that fails.
    pub async fn run(&mut self, sql: &str) -> Vec<SqlResult<Outcome>> {
        self.statement_ends.clear();
        self.show_activity(Some(sql));
        let out = self.run_inner(sql).await;
        self.show_activity(None);
        out
    }

    /// Publishes what the session is doing to `pg_stat_activity`: running
    /// `query`, or (`None`) waiting in its current transaction state.
    fn show_activity(&self, query: Option<&str>) {
        let now = chrono::Utc::now();
        let in_tx = !matches!(self.tx, Tx::Idle);
        let state = match (&query, &self.tx) {
            (Some(_), _) => "active",
            (None, Tx::Idle) => "idle",
            (None, Tx::Active(_)) => "idle in transaction",
            (None, Tx::Failed(_)) => "idle in transaction (aborted)",
        };
        crate::activity::update(self.info.pid, |a| {
            a.state = state;
            if let Some(q) = query {
                a.query = q.to_string();
                a.query_start = Some(now);
            }
            a.xact_start = match (in_tx, a.xact_start) {
                (false, _) => None,
                (true, Some(t)) => Some(t),
                (true, None) => Some(now),
            };
        });
    }

    fn parse(&self, sql: &str) -> SqlResult<Vec<Statement>> {
        match self.info.dialect {
            Dialect::Postgres => parse_pg(sql),
            Dialect::MySql => crate::mysql::parse(sql),
        }
    }

    async fn run_inner(&mut self, sql: &str) -> Vec<SqlResult<Outcome>> {
        let pg = self.info.dialect == Dialect::Postgres;
        if let Some(tag) = maintenance(sql).filter(|_| pg) {
            return vec![self.maintenance(tag).await];
        }
        if pg && crate::copy::is_copy(sql) {
            let r = self.copy(sql).await;
            if r.is_err() {
                self.fail();
            }
            return vec![r];
        }
        if !pg && let Some(table) = crate::mysql::keys_toggle(sql) {
            let r = self.keys_toggle(&table).await;
            self.end_statement();
            return vec![r];
        }
        if !pg && let Some(command) = crate::mysql::prepared::command(sql) {
            self.clear_warnings();
            let r = match command {
                crate::mysql::prepared::Command::Prepare { name, source } => self.sql_prepare(&name, &source).await,
                crate::mysql::prepared::Command::Drop { name } => self.sql_deallocate(&name),
            };
            self.sync_warning_count();
            self.end_statement();
            return vec![r];
        }
        if pg && let Some(r) = self.run_by_shape(sql).await {
            return vec![r];
        }
        let stmts = match self.parse(sql) {
            Ok(s) => s,
            Err(e) => {
                self.fail();
                return vec![Err(e)];
            }
        };
        // Several statements in one query string run as one transaction,
        // as in PostgreSQL, unless they manage transactions themselves. DDL
        // is not transactional here, so strings with DDL run statement by
        // statement.
        let implicit = pg
            && stmts.len() > 1
            && matches!(self.tx, Tx::Idle)
            && stmts.iter().all(|s| {
                matches!(s, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_))
            });
        if implicit {
            match self.engine.storage.begin_transaction().await {
                Ok(t) => {
                    self.tx = Tx::Active(t);
                    self.block_txn = self.engine.locks.new_txn();
                    self.block_rc = true;
                    self.block_used = false;
                }
                Err(e) => return vec![Err(e.into())],
            }
        }
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            let mut params = Vec::new();
            let r = self.run_statement(&stmt, sql, &mut params, &[]).await;
            self.end_statement();
            let failed = r.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        if implicit {
            let _release = StatementLocks(&self.engine.locks, self.block_txn);
            let ended = match std::mem::replace(&mut self.tx, Tx::Idle) {
                Tx::Active(t) => self.engine.storage.commit_transaction(t).await,
                Tx::Failed(t) => self.engine.storage.rollback_transaction(t).await,
                Tx::Idle => Ok(()),
            };
            if let Err(e) = ended {
                out.push(Err(e.into()));
            }
        }
        out
    }

    /// VACUUM, ANALYZE and CHECKPOINT: storage keeps no dead rows for
    /// VACUUM to reclaim nor statistics for ANALYZE, so they only check the
    /// transaction state; CHECKPOINT flushes the store's log into table
    /// files.
    async fn maintenance(&mut self, tag: &'static str) -> SqlResult<Outcome> {
        match (&self.tx, tag) {
            (Tx::Failed(_), _) => return Err(in_failed()),
            (Tx::Active(_), "VACUUM") => {
                return Err(SqlError::new(
                    ErrorCode::ActiveTransaction,
                    "VACUUM cannot run inside a transaction block",
                ));
            }
            (_, "CHECKPOINT") => self.engine.storage.checkpoint().await?,
            _ => {}
        }
        Ok(Outcome::Done { tag: tag.to_string() })
    }

    /// Starts a COPY statement.
    async fn copy(&mut self, sql: &str) -> SqlResult<Outcome> {
        let tx = match &self.tx {
            Tx::Failed(_) => return Err(in_failed()),
            Tx::Active(t) => Some(t.clone()),
            Tx::Idle => None,
        };
        let schemas = Schemas::new();
        let info = self.info.clone();
        let defaults = |schema: &orbit_storage::table::TableSchema, targets: &[usize]| {
            let mut ctx = PlanCtx::new(&schemas, &info, Vec::new(), sql);
            schema
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| if targets.contains(&i) { Ok(None) } else { dml::default_of(c, &mut ctx) })
                .collect()
        };
        let storage = self.engine.storage.clone();
        match crate::copy_session::start(sql, &self.info, &storage, tx.as_ref(), defaults).await? {
            crate::copy_session::CopyStart::In(state, columns, format) => {
                self.copy_in = Some(state);
                Ok(Outcome::CopyIn { columns, format })
            }
            crate::copy_session::CopyStart::Out { query, stmt } => {
                let parsed = parse_pg(&query)?;
                let [q] = parsed.as_slice() else { return Err(SqlError::syntax("COPY needs exactly one query")) };
                let mut types = Vec::new();
                match self.dispatch(q, &query, &mut types, &[], None).await? {
                    Outcome::Rows { columns, rows, .. } => Ok(Outcome::CopyOut {
                        columns: columns.len(),
                        lines: crate::copy_session::out_lines(&stmt, &columns, &rows),
                    }),
                    _ => Err(SqlError::syntax("COPY query must be a SELECT")),
                }
            }
        }
    }

    /// Data for the running COPY FROM STDIN. Errors are kept and reported
    /// by [`Session::copy_done`], as PostgreSQL reports them at the end.
    pub async fn copy_data(&mut self, data: &[u8]) {
        let storage = self.engine.storage.clone();
        if let Some(c) = &mut self.copy_in {
            c.data(data, &storage, &self.seq).await;
        }
    }

    /// Ends the running COPY FROM STDIN; its tag (`COPY n`).
    pub async fn copy_done(&mut self) -> SqlResult<Outcome> {
        let Some(c) = self.copy_in.take() else {
            return Err(SqlError::new(ErrorCode::Internal, "no COPY in progress"));
        };
        let storage = self.engine.storage.clone();
        match c.finish(&storage, &self.seq).await {
            Ok(n) => Ok(Outcome::Done { tag: format!("COPY {n}") }),
            Err(e) => {
                self.fail();
                Err(e)
            }
        }
    }

    /// Abandons the running COPY FROM STDIN (the client sent CopyFail).
    pub async fn copy_fail(&mut self, message: &str) -> SqlError {
        if let Some(c) = self.copy_in.take() {
            c.abort(&self.engine.storage).await;
        }
        self.fail();
        SqlError::new(ErrorCode::QueryCanceled, format!("COPY from stdin failed: {message}"))
    }

    /// Parses and plans one statement, inferring its parameter types;
    /// `hints` are the types the client declared (`None`: infer).
    pub async fn prepare(&mut self, sql: &str, hints: &[Option<DataType>]) -> SqlResult<Prepared> {
        // A statement that fails to prepare aborts the block, as it would
        // fail to run.
        let r = self.prepare_inner(sql, hints).await;
        if r.is_err() {
            self.fail();
        }
        r
    }

    async fn prepare_inner(&mut self, sql: &str, hints: &[Option<DataType>]) -> SqlResult<Prepared> {
        let pg = self.info.dialect == Dialect::Postgres;
        if pg && (crate::copy::is_copy(sql) || maintenance(sql).is_some()) {
            crate::copy::is_copy(sql).then(|| crate::copy::parse(sql)).transpose()?;
            return Ok(Prepared {
                stmt: None,
                copy: true,
                sql: sql.to_string(),
                param_types: vec![],
                param_elems: vec![],
                columns: vec![],
                plan: None,
            });
        }
        let mut stmts = self.parse(sql)?;
        if stmts.len() > 1 {
            return Err(SqlError::syntax("cannot insert multiple commands into a prepared statement"));
        }
        let Some(stmt) = stmts.pop() else {
            return Ok(Prepared {
                stmt: None,
                copy: false,
                sql: String::new(),
                param_types: vec![],
                param_elems: vec![],
                columns: vec![],
                plan: None,
            });
        };
        if matches!(self.tx, Tx::Failed(_)) && !matches!(stmt, Statement::Commit { .. } | Statement::Rollback { .. }) {
            return Err(in_failed());
        }
        if self.info.dialect == Dialect::MySql {
            mysql_prepared::refuse_nested(&stmt)?;
        }
        let mut params: Vec<Option<DataType>> = hints.to_vec();
        let version = self.engine.schema_version();
        let mut arrays = BTreeMap::new();
        let plan = self.plan_with_arrays(&stmt, sql, &mut params, &mut arrays).await?;
        let columns = plan_columns(&plan, &stmt);
        // Only data statements planned with every parameter typed, and
        // reading no MySQL variable, are reused as planned.
        let reusable = matches!(plan, Plan::Select(_) | Plan::Insert(_) | Plan::Update(_) | Plan::Delete(_))
            && params.iter().all(Option::is_some)
            && !(self.info.dialect == Dialect::MySql && crate::mysql::reads_variables(&stmt));
        Ok(Prepared {
            stmt: Some(stmt),
            copy: false,
            sql: sql.to_string(),
            param_elems: (0..params.len()).map(|i| arrays.get(&i).cloned()).collect(),
            param_types: params.into_iter().map(|t| t.unwrap_or(DataType::Text)).collect(),
            columns,
            plan: reusable.then(|| (Arc::new(plan), version)),
        })
    }

    /// Runs a prepared statement with parameter values.
    pub async fn execute(&mut self, p: &Prepared, params: &[Value]) -> SqlResult<Outcome> {
        self.show_activity(Some(&p.sql));
        let r = self.execute_inner(p, params).await;
        self.show_activity(None);
        // A bad parameter or a refused re-plan fails the block like any
        // other error (run_statement_with already did so for its own).
        if r.is_err() && !p.copy {
            self.fail();
        }
        r
    }

    async fn execute_inner(&mut self, p: &Prepared, params: &[Value]) -> SqlResult<Outcome> {
        if p.copy {
            let mut r = self.run(&p.sql).await;
            return r.pop().unwrap_or_else(|| Ok(Outcome::Done { tag: String::new() }));
        }
        let Some(stmt) = &p.stmt else {
            return Ok(Outcome::Done { tag: String::new() });
        };
        let mut types: Vec<Option<DataType>> = p.param_types.iter().cloned().map(Some).collect();
        let params: Vec<Value> = params
            .iter()
            .zip(&p.param_types)
            .map(|(v, t)| crate::types::assign(v.clone(), t))
            .collect::<SqlResult<_>>()?;
        let cached = match &p.plan {
            Some((plan, v)) if *v == self.engine.schema_version() => Some(plan.clone()),
            Some(_) => {
                // The schema changed since PREPARE: plan again, and refuse
                // if the rows would no longer match what was described.
                let plan = self.plan(stmt, &p.sql, &mut types).await?;
                if plan_columns(&plan, stmt) != p.columns {
                    return Err(SqlError::unsupported(
                        "a cached plan that changed result type; prepare the statement again",
                    ));
                }
                Some(Arc::new(plan))
            }
            None => None,
        };
        self.run_statement_with(stmt, &p.sql, &mut types, &params, cached).await
    }

    /// Marks the open block failed after an error (PostgreSQL's rule). A
    /// MySQL block never fails as a whole on a statement's error:
    /// `run_mysql` undoes the statement alone, and a statement that does
    /// not parse or prepare has done nothing to undo.
    fn fail(&mut self) {
        if self.info.dialect == Dialect::MySql {
            return;
        }
        if let Tx::Active(t) = std::mem::replace(&mut self.tx, Tx::Idle) {
            self.tx = Tx::Failed(t);
        }
    }

    async fn run_statement(
        &mut self,
        stmt: &Statement,
        sql: &str,
        types: &mut Vec<Option<DataType>>,
        params: &[Value],
    ) -> SqlResult<Outcome> {
        self.run_statement_with(stmt, sql, types, params, None).await
    }

    async fn run_statement_with(
        &mut self,
        stmt: &Statement,
        sql: &str,
        types: &mut Vec<Option<DataType>>,
        params: &[Value],
        cached: Option<Arc<Plan>>,
    ) -> SqlResult<Outcome> {
        match self.info.dialect {
            Dialect::Postgres => self.run_core(stmt, sql, types, params, cached).await,
            Dialect::MySql => {
                let r = self.run_mysql(stmt, sql, types, params, cached).await;
                self.sync_warning_count();
                r
            }
        }
    }

    /// Runs a statement with PostgreSQL's transaction rules: an error
    /// fails the open block.
    async fn run_core(
        &mut self,
        stmt: &Statement,
        sql: &str,
        types: &mut Vec<Option<DataType>>,
        params: &[Value],
        cached: Option<Arc<Plan>>,
    ) -> SqlResult<Outcome> {
        let control = matches!(stmt, Statement::Commit { .. } | Statement::Rollback { .. });
        if matches!(self.tx, Tx::Failed(_)) && !control {
            return Err(in_failed());
        }
        let data =
            matches!(stmt, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_));
        if data && matches!(self.tx, Tx::Active(_)) {
            self.block_used = true;
        }
        // READ COMMITTED: each statement sees what was committed before it.
        if let Tx::Active(t) = &self.tx
            && self.block_rc
            && matches!(stmt, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_))
            && let Err(e) = self.engine.storage.refresh_settled_snapshot(t, &[]).await
        {
            self.fail();
            return Err(e.into());
        }
        let r = loop {
            match self.dispatch(stmt, sql, types, params, cached.clone()).await {
                // A sequence ran out of ready values before anything was
                // written: reserve more and run the statement again.
                Err(e) if e.code == ErrorCode::SequenceRefill => {
                    self.seq.discard(true);
                    if let Err(e) = self.engine.sequences.refill(&e.message).await {
                        break Err(e);
                    }
                }
                Ok(o) => break self.seq.flush().await.map(|()| o),
                Err(e) => {
                    self.seq.discard(false);
                    break Err(e);
                }
            }
        };
        if r.is_err() && !control {
            self.fail();
        }
        r
    }

    /// The schemas of every table the statement names.
    async fn schemas_for(&self, stmt: &Statement) -> SqlResult<Schemas> {
        let mut names = Vec::new();
        let _ = ast::visit_relations(stmt, |n| {
            names.push(n.clone());
            std::ops::ControlFlow::<()>::Continue(())
        });
        let mut out = Schemas::new();
        for n in names {
            // Names that are not tables here (CTEs, bad schemas) are the
            // planner's to report.
            let Ok(t) = catalog::table_name(&self.info, &n) else { continue };
            if out.contains_key(&t.stored) {
                continue;
            }
            if let Some(schema) = self.engine.storage.get_table_schema(&t.stored).await? {
                out.insert(t.stored, schema);
            }
        }
        Ok(out)
    }

    async fn plan(&self, stmt: &Statement, sql: &str, params: &mut Vec<Option<DataType>>) -> SqlResult<Plan> {
        self.plan_with_arrays(stmt, sql, params, &mut BTreeMap::new()).await
    }

    /// [`Session::plan`], also telling which parameters hold arrays.
    async fn plan_with_arrays(
        &self,
        stmt: &Statement,
        sql: &str,
        params: &mut Vec<Option<DataType>>,
        arrays: &mut BTreeMap<usize, DataType>,
    ) -> SqlResult<Plan> {
        let schemas = self.schemas_for(stmt).await?;
        let mut ctx = PlanCtx::new(&schemas, &self.info, std::mem::take(params), sql);
        let r = plan_statement(stmt, &mut ctx);
        *params = ctx.params;
        *arrays = ctx.array_params;
        r
    }

    /// Runs a planned query: fetches its tables, then runs the pipeline,
    /// on the blocking pool when the input is large.
    async fn select(&self, plan: &Arc<QueryPlan>, args: dml::Args<'_>) -> SqlResult<Vec<Vec<Value>>> {
        let mut sources = Vec::new();
        fetch::plan_sources(plan, &mut sources);
        let storage = &self.engine.storage;
        let tables = match &self.tx {
            Tx::Active(t) => fetch::fetch(&sources, storage, Some(t), args.params).await?,
            _ if sources.len() > 1 => {
                // One snapshot for every table of a join.
                let t = storage.begin_transaction().await?;
                let r = fetch::fetch(&sources, storage, Some(&t), args.params).await;
                storage.rollback_transaction(t).await?;
                r?
            }
            _ => fetch::fetch(&sources, storage, None, args.params).await?,
        };
        let fetched: usize = tables.values().map(|r| r.len()).sum();
        // Small single-table queries run here; joins and subqueries, whose
        // work can grow far beyond their input, go to the blocking pool.
        if fetched <= fetch::INLINE_ROWS && sources.len() <= 1 && fetch::bounded_by_input(plan) {
            let run = RunData::new(tables, Arc::new(AtomicBool::new(false)), Some(args.seq.clone()));
            let env = Env { params: args.params, now: args.now, outer: Vec::new(), run: Some(&run) };
            return run_query(plan, &env);
        }
        let plan = plan.clone();
        args.on_blocking_pool(tables, move |env| run_query(&plan, env)).await
    }

    async fn dispatch(
        &mut self,
        stmt: &Statement,
        sql: &str,
        types: &mut Vec<Option<DataType>>,
        params: &[Value],
        cached: Option<Arc<Plan>>,
    ) -> SqlResult<Outcome> {
        match stmt {
            Statement::StartTransaction { statements, exception: None, modes, .. } if statements.is_empty() => {
                return self.begin(modes).await;
            }
            Statement::Set(ast::Set::SetTransaction { modes, session: false, .. }) => {
                let sets_level = modes.iter().any(|m| matches!(m, ast::TransactionMode::IsolationLevel(_)));
                if sets_level && self.block_used {
                    // Writes made so far were made under the old level's
                    // rules (locks or none); PostgreSQL refuses too.
                    return Err(SqlError::new(
                        ErrorCode::InvalidTransactionState,
                        "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                    ));
                }
                self.apply_modes(modes);
                return Ok(Outcome::Done { tag: "SET".into() });
            }
            Statement::Commit { chain: false, .. } => return self.commit().await,
            Statement::Rollback { chain: false, savepoint: None } => return self.rollback().await,
            Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Rollback { savepoint: Some(_), .. } => {
                return self.savepoint(stmt).await;
            }
            _ => {}
        }
        let plan = match cached {
            Some(p) => p,
            None => Arc::new(self.plan(stmt, sql, types).await?),
        };
        if params.len() < types.len() {
            return Err(SqlError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "bind message supplies {} parameters, but prepared statement requires {}",
                    params.len(),
                    types.len()
                ),
            ));
        }
        let args = dml::Args { params, now: chrono::Utc::now(), seq: &self.seq, locking: None };
        match &*plan {
            Plan::Explain(lines) => Ok(Outcome::Rows {
                columns: vec![Column { name: "QUERY PLAN".into(), ty: DataType::Text }],
                tag: format!("EXPLAIN {}", lines.len()),
                rows: lines.iter().map(|l| vec![Value::Text(l.clone())]).collect(),
            }),
            Plan::Select(p) => {
                let rows = self.select(p, args).await?;
                Ok(Outcome::Rows { tag: format!("SELECT {}", rows.len()), columns: p.columns.clone(), rows })
            }
            Plan::Insert(p) => {
                let single = matches!(&p.source, dml::InsertSource::Values(v) if v.len() == 1)
                    && matches!(p.on_conflict, dml::OnConflict::Error);
                let inserted = if single && matches!(self.tx, Tx::Idle) {
                    // One row needs no statement transaction: storage
                    // commits it alone. It still takes its key's lock, so
                    // it waits for a block that inserted the same key.
                    let locks = &self.engine.locks;
                    let txn = locks.new_txn();
                    let _locks = StatementLocks(locks, txn);
                    let args = dml::Args { locking: Some(dml::Locking { locks, txn }), ..args };
                    dml::insert(p, &self.engine.storage, None, args).await?
                } else {
                    let locks = &self.engine.locks;
                    self.in_statement_tx(|storage, tx, txn| {
                        let args = dml::Args { locking: txn.map(|txn| dml::Locking { locks, txn }), ..args };
                        async move { dml::insert(p, &storage, tx.as_ref(), args).await }
                    })
                    .await?
                };
                let dml::Inserted { count, returned, duplicates } = inserted;
                for d in duplicates {
                    self.warn(1062, format!("Duplicate entry '{}' for key '{}'", d.values, d.key));
                }
                Ok(with_rows(format!("INSERT 0 {count}"), p.returning.as_ref().map(|(_, c)| c.clone()), returned))
            }
            Plan::Update(p) | Plan::Delete(p) => {
                let delete = matches!(stmt, Statement::Delete(_));
                let locks = &self.engine.locks;
                let (n, rows) = self
                    .in_statement_tx(|storage, tx, txn| {
                        let args = dml::Args { locking: txn.map(|txn| dml::Locking { locks, txn }), ..args };
                        async move { dml::modify(p, &storage, tx.as_ref(), args, delete).await }
                    })
                    .await?;
                let verb = if delete { "DELETE" } else { "UPDATE" };
                Ok(with_rows(format!("{verb} {n}"), p.returning.as_ref().map(|(_, c)| c.clone()), rows))
            }
            Plan::Utility => {
                // Any schema change makes prepared plans stale: before it
                // starts, and again once done, whether it succeeded or
                // failed part way (`DROP TABLE a, missing` drops `a`).
                let ddl = !matches!(stmt, Statement::Set(_) | Statement::ShowVariable { .. });
                if ddl {
                    self.engine.bump_schema_version();
                }
                let r = self.utility(stmt).await;
                if ddl {
                    self.engine.bump_schema_version();
                }
                r
            }
        }
    }

    /// Runs a writing statement: inside the open transaction, or in one of
    /// its own that is committed (and retried on a conflict) at the end.
    async fn in_statement_tx<T, F, Fut>(&self, f: F) -> SqlResult<T>
    where
        F: Fn(Arc<dyn orbit_storage::TableStorage>, Option<Transaction>, Option<crate::locks::TxnId>) -> Fut,
        Fut: std::future::Future<Output = SqlResult<T>>,
    {
        let storage = self.engine.storage.clone();
        if let Tx::Active(t) = &self.tx {
            let txn = self.block_rc.then_some(self.block_txn);
            return f(storage, Some(t.clone()), txn).await;
        }
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let t = storage.begin_transaction().await?;
            let r = {
                // The statement's own locks, held until it commits, and
                // released before any backoff below.
                let txn = self.engine.locks.new_txn();
                let _locks = StatementLocks(&self.engine.locks, txn);
                match f(storage.clone(), Some(t.clone()), Some(txn)).await {
                    Ok(v) => storage.commit_transaction(t).await.map(|()| v).map_err(SqlError::from),
                    Err(e) => {
                        storage.rollback_transaction(t).await?;
                        Err(e)
                    }
                }
            };
            match r {
                Err(e) if e.code == ErrorCode::SerializationFailure && started.elapsed() < AUTOCOMMIT_RETRY_FOR => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    fn tx_outcome(&self, tag: &str) -> SqlResult<Outcome> {
        Ok(Outcome::Tx { tag: tag.to_string(), status: self.status() })
    }

    async fn begin(&mut self, modes: &[ast::TransactionMode]) -> SqlResult<Outcome> {
        if let Tx::Idle = self.tx {
            // No statement has read yet: the newest durable state serves,
            // and reading it never waits for a sync in progress.
            self.tx = Tx::Active(self.engine.storage.begin_settled_transaction().await?);
            self.savepoints.clear();
            self.block_txn = self.engine.locks.new_txn();
            let key = match self.info.dialect {
                Dialect::Postgres => "default_transaction_isolation",
                Dialect::MySql => "transaction_isolation",
            };
            let default = self.setting(key).unwrap_or("read committed").to_string();
            self.block_rc = !snapshot_isolation(&default);
            self.block_used = false;
            self.apply_modes(modes);
        } else {
            // PostgreSQL warns and carries on.
            tracing::debug!("BEGIN inside a transaction block");
        }
        self.tx_outcome("BEGIN")
    }

    fn apply_modes(&mut self, modes: &[ast::TransactionMode]) {
        for m in modes {
            if let ast::TransactionMode::IsolationLevel(level) = m {
                self.block_rc = matches!(
                    level,
                    ast::TransactionIsolationLevel::ReadCommitted | ast::TransactionIsolationLevel::ReadUncommitted
                );
            }
        }
    }

    async fn commit(&mut self) -> SqlResult<Outcome> {
        self.savepoints.clear();
        let _release = StatementLocks(&self.engine.locks, self.block_txn);
        match std::mem::replace(&mut self.tx, Tx::Idle) {
            Tx::Idle => self.tx_outcome("COMMIT"),
            Tx::Failed(t) => {
                self.engine.storage.rollback_transaction(t).await?;
                self.tx_outcome("ROLLBACK")
            }
            Tx::Active(t) => match self.engine.storage.commit_transaction(t).await {
                Ok(()) => self.tx_outcome("COMMIT"),
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn rollback(&mut self) -> SqlResult<Outcome> {
        self.savepoints.clear();
        let _release = StatementLocks(&self.engine.locks, self.block_txn);
        if let Tx::Active(t) | Tx::Failed(t) = std::mem::replace(&mut self.tx, Tx::Idle) {
            self.engine.storage.rollback_transaction(t).await?;
        }
        self.tx_outcome("ROLLBACK")
    }

    /// SAVEPOINT, RELEASE and ROLLBACK TO.
    async fn savepoint(&mut self, stmt: &Statement) -> SqlResult<Outcome> {
        let t = match &self.tx {
            Tx::Active(t) | Tx::Failed(t) => t.clone(),
            Tx::Idle => {
                let what =
                    if matches!(stmt, Statement::Savepoint { .. }) { "SAVEPOINT" } else { "ROLLBACK TO SAVEPOINT" };
                return Err(SqlError::new(
                    ErrorCode::NoActiveTransaction,
                    format!("{what} can only be used in transaction blocks"),
                ));
            }
        };
        let find = |sps: &[(String, orbit_storage::txn::Savepoint)], name: &str| {
            sps.iter().rposition(|(n, _)| n == name).ok_or_else(|| {
                SqlError::new(ErrorCode::InvalidSavepoint, format!("savepoint \"{name}\" does not exist"))
            })
        };
        match stmt {
            Statement::Savepoint { name } => {
                let sp = self.engine.storage.savepoint(&t).await?;
                self.savepoints.push((ast_name(name), sp));
                self.tx_outcome("SAVEPOINT")
            }
            Statement::ReleaseSavepoint { name } => {
                let i = find(&self.savepoints, &ast_name(name))?;
                self.savepoints.truncate(i);
                self.tx_outcome("RELEASE")
            }
            Statement::Rollback { savepoint: Some(name), .. } => {
                let i = find(&self.savepoints, &ast_name(name))?;
                self.engine.storage.rollback_to_savepoint(&t, &self.savepoints[i].1).await?;
                self.savepoints.truncate(i + 1);
                // The block works again from here.
                if let Tx::Failed(t) = std::mem::replace(&mut self.tx, Tx::Idle) {
                    self.tx = Tx::Active(t);
                } else if let Tx::Idle = self.tx {
                    self.tx = Tx::Active(t);
                }
                self.tx_outcome("ROLLBACK")
            }
            _ => Err(SqlError::new(ErrorCode::Internal, "not a savepoint statement")),
        }
    }

    /// NOTICEs the statements run so far raised, to send before their
    /// results.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// A NOTICE for PostgreSQL sessions (statements MySQL never reaches).
    fn pg_notice(&mut self, sqlstate: &'static str, message: String) {
        if self.info.dialect == Dialect::Postgres {
            self.notices.push(Notice { sqlstate, message });
        }
    }

    /// A statement skipped part of its work (`IF [NOT] EXISTS`):
    /// PostgreSQL says so in a NOTICE, MySQL in a note.
    fn skipped(&mut self, pg: (&'static str, String), mysql: (u16, String)) {
        match self.info.dialect {
            Dialect::Postgres => self.pg_notice(pg.0, pg.1),
            Dialect::MySql => self.note(mysql.0, mysql.1),
        }
    }

    async fn utility(&mut self, stmt: &Statement) -> SqlResult<Outcome> {
        let storage = self.engine.storage.clone();
        let done = |tag: &str| Ok(Outcome::Done { tag: tag.to_string() });
        let no_ddl_in_block = |what: &str| {
            SqlError::unsupported(format!("{what} inside a transaction block (DDL is not transactional here)"))
        };
        let in_block = matches!(self.tx, Tx::Active(_));
        match stmt {
            Statement::CreateTable(ct) => {
                if in_block {
                    return Err(no_ddl_in_block("CREATE TABLE"));
                }
                let tn = catalog::table_name(&self.info, &ct.name)?;
                self.engine.schemas.require_for(&tn.stored).await?;
                if !ddl::create_table(ct, &self.info, &storage, &self.engine.sequences).await? {
                    let pg = ("42P07", format!("relation \"{}\" already exists, skipping", tn.short));
                    self.skipped(pg, (1050, format!("Table '{}' already exists", tn.short)));
                }
                done("CREATE TABLE")
            }
            Statement::Drop { object_type: ObjectType::Table, if_exists, names, .. } => {
                if in_block {
                    return Err(no_ddl_in_block("DROP TABLE"));
                }
                let skipped = ddl::drop_tables(names, *if_exists, &self.info, &storage, &self.engine.sequences).await?;
                for t in skipped {
                    let pg = ("00000", format!("table \"{}\" does not exist, skipping", t.short));
                    self.skipped(pg, (1051, format!("Unknown table '{}.{}'", t.schema(), t.short)));
                }
                done("DROP TABLE")
            }
            Statement::CreateSchema { schema_name, if_not_exists, .. } => {
                if in_block {
                    return Err(no_ddl_in_block("CREATE SCHEMA"));
                }
                let ast::SchemaName::Simple(n) = schema_name else {
                    return Err(SqlError::unsupported("CREATE SCHEMA AUTHORIZATION"));
                };
                let name = ddl::object_name(n);
                if !self.engine.schemas.create(&self.info.database, &name, *if_not_exists).await? {
                    self.pg_notice("42P06", format!("schema \"{name}\" already exists, skipping"));
                }
                done("CREATE SCHEMA")
            }
            Statement::Drop { object_type: ObjectType::Schema, if_exists, names, cascade, .. } => {
                if in_block {
                    return Err(no_ddl_in_block("DROP SCHEMA"));
                }
                for n in names {
                    let schema = ddl::object_name(n);
                    if schema == "public" {
                        return Err(SqlError::unsupported("dropping schema public"));
                    }
                    if !self.engine.schemas.exists(&self.info.database, &schema).await? {
                        if *if_exists {
                            self.pg_notice("00000", format!("schema \"{schema}\" does not exist, skipping"));
                            continue;
                        }
                        return Err(SqlError::new(
                            ErrorCode::UndefinedSchema,
                            format!("schema \"{schema}\" does not exist"),
                        ));
                    }
                    let prefix = format!("{}.{schema}.", self.info.database);
                    let tables: Vec<String> = storage
                        .list_tables()
                        .await?
                        .into_iter()
                        .map(|t| t.name)
                        .filter(|n| n.starts_with(&prefix))
                        .collect();
                    if !tables.is_empty() && !*cascade {
                        return Err(SqlError::new(
                            ErrorCode::DependentObjects,
                            format!("cannot drop schema {schema} because other objects depend on it"),
                        ));
                    }
                    for t in tables {
                        storage.drop_table(&t).await?;
                        self.engine.sequences.drop_owned_by(&t).await?;
                    }
                    self.engine.schemas.remove(&self.info.database, &schema).await?;
                }
                done("DROP SCHEMA")
            }
            Statement::AlterTable(at) => {
                if in_block {
                    return Err(no_ddl_in_block("ALTER TABLE"));
                }
                crate::alter::alter_table(at, &self.info, &storage).await?;
                done("ALTER TABLE")
            }
            Statement::CreateIndex(ci) => {
                if in_block {
                    return Err(no_ddl_in_block("CREATE INDEX"));
                }
                crate::alter::create_index(ci, &self.info, &storage).await?;
                done("CREATE INDEX")
            }
            Statement::Drop { object_type: ObjectType::Index, if_exists, names, .. } => {
                if in_block {
                    return Err(no_ddl_in_block("DROP INDEX"));
                }
                crate::alter::drop_indexes(names, *if_exists, &self.info, &storage).await?;
                done("DROP INDEX")
            }
            Statement::CreateSequence { temporary: false, if_not_exists, name, sequence_options } => {
                if in_block {
                    return Err(no_ddl_in_block("CREATE SEQUENCE"));
                }
                let tn = catalog::table_name(&self.info, name)?;
                self.engine.schemas.require_for(&tn.stored).await?;
                let seqs = &self.engine.sequences;
                ddl::create_sequence(name, sequence_options, *if_not_exists, &self.info, &storage, seqs).await?;
                done("CREATE SEQUENCE")
            }
            Statement::Drop { object_type: ObjectType::Sequence, if_exists, names, .. } => {
                if in_block {
                    return Err(no_ddl_in_block("DROP SEQUENCE"));
                }
                ddl::drop_sequences(names, *if_exists, &self.info, &self.engine.sequences).await?;
                done("DROP SEQUENCE")
            }
            Statement::Drop { object_type: ObjectType::Database, if_exists, names, .. } => {
                if in_block {
                    return Err(SqlError::new(
                        ErrorCode::InvalidTransactionState,
                        "DROP DATABASE cannot run inside a transaction block",
                    ));
                }
                for n in names {
                    self.engine.databases.drop(&ddl::object_name(n), *if_exists, &self.info.database).await?;
                }
                done("DROP DATABASE")
            }
            Statement::CreateDatabase { db_name, if_not_exists, .. } => {
                if in_block {
                    return Err(SqlError::new(
                        ErrorCode::InvalidTransactionState,
                        "CREATE DATABASE cannot run inside a transaction block",
                    ));
                }
                ddl::create_database(&self.engine.databases, db_name, *if_not_exists).await?;
                done("CREATE DATABASE")
            }
            Statement::Truncate(t) => {
                let tx = match &self.tx {
                    Tx::Active(t) => Some(t.clone()),
                    _ => None,
                };
                ddl::truncate(&t.table_names, &self.info, &storage, tx.as_ref()).await?;
                done("TRUNCATE TABLE")
            }
            Statement::Set(ast::Set::SingleAssignment { variable, values, .. }) => {
                let name = variable.to_string().to_ascii_lowercase();
                let value = values.iter().map(setting_text).collect::<Vec<_>>().join(", ");
                self.set(&name, value)?;
                done("SET")
            }
            Statement::Set(ast::Set::SetTimeZone { value, .. }) => {
                self.set("timezone", setting_text(value))?;
                done("SET")
            }
            Statement::Set(ast::Set::SetNames { .. }) => done("SET"),
            Statement::ShowVariable { variable } => {
                let name = variable.iter().map(|i| i.value.to_ascii_lowercase()).collect::<Vec<_>>().join(" ");
                let value = self.setting(&name).map(str::to_string).ok_or_else(|| {
                    SqlError::new(
                        ErrorCode::UndefinedObject,
                        format!("unrecognized configuration parameter \"{name}\""),
                    )
                })?;
                Ok(Outcome::Rows {
                    columns: vec![Column { name: name.clone(), ty: DataType::Text }],
                    rows: vec![vec![Value::Text(value)]],
                    tag: "SHOW".into(),
                })
            }
            other => Err(SqlError::unsupported(format!("the statement \"{}\"", first_words(&other.to_string())))),
        }
    }

    fn set(&mut self, name: &str, value: String) -> SqlResult<()> {
        let name = if name == "time zone" { "timezone" } else { name };
        if !self.settings.contains_key(name) {
            return Err(SqlError::new(
                ErrorCode::UndefinedObject,
                format!("unrecognized configuration parameter \"{name}\""),
            ));
        }
        match name {
            // Values are always sent in UTF8 and UTC here; other choices
            // would change the bytes clients get, so they are refused.
            "client_encoding" if !matches!(value.to_ascii_uppercase().as_str(), "UTF8" | "UTF-8" | "UNICODE") => {
                Err(SqlError::unsupported(format!("client_encoding {value}")))
            }
            "timezone"
                if !matches!(
                    value.to_ascii_uppercase().as_str(),
                    "UTC" | "GMT" | "ETC/UTC" | "Z" | "0" | "+00" | "00:00"
                ) =>
            {
                Err(SqlError::unsupported(format!("time zone {value}; this server works in UTC")))
            }
            _ => {
                self.settings.insert(name.to_string(), value);
                let settings: Vec<(String, String)> =
                    self.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                crate::activity::update(self.info.pid, |a| a.settings = settings);
                Ok(())
            }
        }
    }
}

/// The tag of a maintenance statement sqlparser does not take.
fn maintenance(sql: &str) -> Option<&'static str> {
    let first = sql.split_whitespace().next()?.trim_end_matches(';').to_ascii_uppercase();
    match first.as_str() {
        "VACUUM" => Some("VACUUM"),
        "ANALYZE" | "ANALYSE" => Some("ANALYZE"),
        "CHECKPOINT" => Some("CHECKPOINT"),
        _ => None,
    }
}

fn ast_name(i: &ast::Ident) -> String {
    crate::expr::compile::ident_name(i)
}

fn setting_text(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Value(v) => crate::expr::compile::string_literal(&v.value).unwrap_or_else(|| v.to_string()),
        ast::Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn with_rows(tag: String, columns: Option<Vec<Column>>, rows: Vec<Vec<Value>>) -> Outcome {
    match columns {
        Some(columns) => Outcome::Rows { columns, rows, tag },
        None => Outcome::Done { tag },
    }
}

fn plan_columns(plan: &Plan, stmt: &Statement) -> Vec<Column> {
    match plan {
        Plan::Select(p) => p.columns.clone(),
        Plan::Insert(p) => p.returning.as_ref().map(|(_, c)| c.clone()).unwrap_or_default(),
        Plan::Update(p) | Plan::Delete(p) => p.returning.as_ref().map(|(_, c)| c.clone()).unwrap_or_default(),
        Plan::Explain(_) => vec![Column { name: "QUERY PLAN".into(), ty: DataType::Text }],
        Plan::Utility => match stmt {
            Statement::ShowVariable { variable } => vec![Column {
                name: variable.iter().map(|i| i.value.to_ascii_lowercase()).collect::<Vec<_>>().join(" "),
                ty: DataType::Text,
            }],
            _ => vec![],
        },
    }
}

/// Plans a statement against the schemas already fetched.
fn plan_statement(stmt: &Statement, ctx: &mut PlanCtx<'_>) -> SqlResult<Plan> {
    Ok(match stmt {
        Statement::Query(q) => match query::empty::empty_stand_in(q) {
            Some(stand_in) => Plan::Select(Arc::new(query::plan_query(&stand_in, ctx)?)),
            None => Plan::Select(Arc::new(query::plan_query(q, ctx)?)),
        },
        Statement::Insert(i) => Plan::Insert(dml::plan_insert(i, ctx)?),
        Statement::Update(u) => Plan::Update(dml::plan_update(u, ctx)?),
        Statement::Delete(d) => Plan::Delete(dml::plan_delete(d, ctx)?),
        Statement::Explain { statement, analyze: false, .. } => {
            Plan::Explain(explain(&plan_statement(statement, ctx)?))
        }
        _ => Plan::Utility,
    })
}

/// EXPLAIN's lines: the access path of each table, and how they join.
fn explain(plan: &Plan) -> Vec<String> {
    use crate::query::from::{JoinKind, access_path};
    let describe = |src: &crate::query::from::Source| {
        let cond: Vec<String> = src
            .pushdown
            .iter()
            .map(|p| format!("{} {} {}", p.column, cmp_symbol(p.op), scalar_text(&p.value)))
            .collect();
        let mut line = format!("{} on {}", access_path(src), src.name.short);
        if !cond.is_empty() {
            line.push_str(&format!(" ({})", cond.join(" AND ")));
        }
        line
    };
    let sources: Vec<&crate::query::from::Source> = match plan {
        Plan::Select(p) => match &p.body {
            crate::query::Body::Select(s) => s.sources.iter().collect(),
            _ => return vec!["Set Operation".into()],
        },
        Plan::Update(p) | Plan::Delete(p) => vec![&p.source],
        Plan::Insert(_) => return vec!["Insert".into()],
        _ => return vec!["Utility".into()],
    };
    let mut lines = Vec::new();
    let mut iter = sources.iter();
    if let Some(first) = iter.next() {
        lines.push(describe(first));
    }
    for s in iter {
        let how = match (s.kind, s.hash_key.is_some()) {
            (JoinKind::Cross, _) => "Nested Loop".to_string(),
            (k, true) => format!("Hash Join ({k:?})"),
            (k, false) => format!("Nested Loop ({k:?})"),
        };
        lines.insert(0, how);
        lines.push(format!("  ->  {}", describe(s)));
    }
    if let Plan::Update(_) = plan {
        lines.insert(0, "Update".into());
    } else if let Plan::Delete(_) = plan {
        lines.insert(0, "Delete".into());
    }
    lines
}

fn cmp_symbol(op: orbit_storage::table::CmpOp) -> &'static str {
    use orbit_storage::table::CmpOp;
    match op {
        CmpOp::Eq => "=",
        CmpOp::NotEq => "<>",
        CmpOp::Lt => "<",
        CmpOp::LtEq => "<=",
        CmpOp::Gt => ">",
        CmpOp::GtEq => ">=",
    }
}

fn scalar_text(s: &crate::expr::Scalar) -> String {
    match s {
        crate::expr::Scalar::Param(i) => format!("${}", i + 1),
        crate::expr::Scalar::Const(v) => crate::format::cast_text(v),
        _ => "?".into(),
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
