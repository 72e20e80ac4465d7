//! What a MySQL session does differently from a PostgreSQL one: where
//! names resolve (`USE`), variables, autocommit, and MySQL's transaction
//! rules (a failed statement is undone alone; BEGIN and DDL commit the
//! open transaction).

use std::collections::BTreeMap;
use std::sync::Arc;

use orbit_storage::{DataType, Value};
use sqlparser::ast::{self, Statement};

use super::{Outcome, Plan, Session, Tx};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::compile::SessionInfo;
use crate::mysql::{MYSQL_CATALOG, SYSTEM_DATABASES, Variables};
use crate::{Dialect, SqlEngine};

/// What MySQL reports in the OK or EOF packet that ends one statement of
/// a query string: the session as that statement left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementEnd {
    /// Notes and warnings the statement raised.
    pub warnings: u16,
    /// The first id the statement generated (`LAST_INSERT_ID()`), or 0.
    pub last_insert_id: u64,
    /// Whether a transaction was open after it.
    pub in_transaction: bool,
    /// Whether autocommit was on after it.
    pub autocommit: bool,
}

impl Session {
    /// The state after each statement that ran in the last query string,
    /// in order (MySQL sessions only): each statement's OK packet reports
    /// its own warnings and insert id, not the last statement's.
    pub fn statement_ends(&self) -> &[StatementEnd] {
        &self.statement_ends
    }

    /// How the session stands now, as the packet ending the statement
    /// just run reports it.
    pub fn statement_end(&self) -> StatementEnd {
        StatementEnd {
            warnings: u16::try_from(self.warnings.len()).unwrap_or(u16::MAX),
            last_insert_id: self.last_insert_id(),
            in_transaction: self.status() != super::TxStatus::Idle,
            autocommit: self.autocommit(),
        }
    }

    /// Records how the statement just run left the session.
    pub(super) fn end_statement(&mut self) {
        if self.info.dialect == crate::Dialect::MySql {
            let end = self.statement_end();
            self.statement_ends.push(end);
        }
    }

    /// A MySQL session for `user`, in `database` when given (the handshake's
    /// database); fails with "Unknown database" if it does not exist.
    pub async fn open_mysql(engine: Arc<SqlEngine>, database: Option<&str>, user: &str) -> SqlResult<Session> {
        let mut s = Session::open_as(engine, MYSQL_CATALOG, user, Dialect::MySql, Variables::defaults()).await?;
        if let Some(db) = database.filter(|d| !d.is_empty()) {
            s.use_database(db).await?;
        }
        Ok(s)
    }

    pub(crate) fn engine(&self) -> &SqlEngine {
        &self.engine
    }

    pub(crate) fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The database `USE` chose (MySQL); empty before any.
    pub fn current_schema(&self) -> &str {
        &self.info.schema
    }

    pub(crate) fn clear_schema(&mut self) {
        self.info.schema.clear();
    }

    /// `USE name` / COM_INIT_DB: unqualified names now resolve in `name`.
    pub async fn use_database(&mut self, name: &str) -> SqlResult<()> {
        let name = name.to_lowercase();
        let exists =
            SYSTEM_DATABASES.contains(&name.as_str()) || self.engine.schemas.list(MYSQL_CATALOG).await?.contains(&name);
        if !exists {
            return Err(SqlError::new(ErrorCode::UndefinedDatabase, format!("Unknown database '{name}'")));
        }
        self.info.schema = name;
        Ok(())
    }

    /// The notes and warnings the last statement left (MySQL's diagnostics
    /// area): counted in its OK packet, listed by SHOW WARNINGS.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Records a note (MySQL's mildest warning level) on the statement
    /// running; only MySQL sessions keep them.
    pub(crate) fn note(&mut self, code: u16, message: String) {
        self.diagnose("Note", code, message);
    }

    /// Records a warning on the statement running (MySQL sessions only).
    pub(crate) fn warn(&mut self, code: u16, message: String) {
        self.diagnose("Warning", code, message);
    }

    fn diagnose(&mut self, level: &'static str, code: u16, message: String) {
        if self.info.dialect != crate::Dialect::MySql {
            return;
        }
        self.warnings.push(Warning { level, code, message });
    }

    /// Starts a statement's diagnostics afresh.
    pub(super) fn clear_warnings(&mut self) {
        self.warnings.clear();
    }

    /// Brings `@@warning_count` in step with the statement just run. Once
    /// per statement, and the variables are rebuilt only when the count
    /// changed, which is rare (an INSERT IGNORE skipping many rows would
    /// otherwise rebuild them per row).
    pub(super) fn sync_warning_count(&mut self) {
        let count = self.warnings.len().to_string();
        if self.settings.get("warning_count") != Some(&count) {
            self.settings.insert("warning_count".into(), count);
            self.info.vars = Arc::new(self.settings.clone());
        }
    }

    pub(crate) fn variables(&self) -> &BTreeMap<String, String> {
        &self.settings
    }

    /// Sets a system or user variable, with the effects some have.
    pub(crate) fn set_variable(&mut self, name: &str, value: Option<String>) -> SqlResult<()> {
        Variables::set(&mut self.settings, name, value)?;
        self.info.vars = Arc::new(self.settings.clone());
        Ok(())
    }

    /// COM_RESET_CONNECTION: rolls back, and every variable returns to its
    /// default; the database stays.
    pub async fn reset(&mut self) -> SqlResult<()> {
        self.rollback().await?;
        self.warnings.clear();
        self.drop_sql_prepared();
        self.settings = Variables::defaults();
        self.info.vars = Arc::new(self.settings.clone());
        Ok(())
    }

    /// `ALTER TABLE t DISABLE|ENABLE KEYS`: checks the table, changes
    /// nothing (see [`crate::mysql::keys_toggle`]).
    pub(super) async fn keys_toggle(&mut self, table: &str) -> SqlResult<Outcome> {
        let name = crate::mysql::parse(&format!("SELECT 1 FROM {table}"))
            .ok()
            .and_then(|s| match s.into_iter().next() {
                Some(Statement::Query(q)) => match *q.body {
                    ast::SetExpr::Select(s) => s.from.into_iter().next().and_then(|f| match f.relation {
                        ast::TableFactor::Table { name, .. } => Some(name),
                        _ => None,
                    }),
                    _ => None,
                },
                _ => None,
            })
            .ok_or_else(|| SqlError::syntax(format!("You have an error in your SQL syntax near '{table}'")))?;
        let t = crate::catalog::table_name(&self.info, &name)?;
        if self.engine.storage.get_table_schema(&t.stored).await?.is_none() {
            return Err(SqlError::new(
                ErrorCode::UndefinedTable,
                format!("Table '{}.{}' doesn't exist", self.info.schema, t.short),
            ));
        }
        Ok(Outcome::Done { tag: "ALTER TABLE".into() })
    }

    /// LOCK TABLES: commits, gives up the session's table locks, and takes
    /// the new ones.
    async fn lock_tables(&mut self, tables: &[ast::LockTable]) -> SqlResult<Outcome> {
        self.commit_implicitly().await?;
        self.engine.table_locks.unlock_all(self.info.pid);
        let mut wants = Vec::with_capacity(tables.len());
        for t in tables {
            let name = crate::catalog::table_name(&self.info, &ast::ObjectName::from(vec![t.table.clone()]))?;
            if self.engine.storage.get_table_schema(&name.stored).await?.is_none() {
                return Err(SqlError::new(
                    ErrorCode::UndefinedTable,
                    format!("Table '{}.{}' doesn't exist", self.info.schema, name.short),
                ));
            }
            wants.push((name.stored, matches!(t.lock_type, ast::LockTableType::Write { .. })));
        }
        self.engine.table_locks.lock(self.info.pid, &wants).await;
        Ok(Outcome::Done { tag: "LOCK TABLES".into() })
    }

    /// The tables a data statement reads or writes (stored name, whether
    /// it writes), for the table-lock check.
    fn accessed_tables(&self, stmt: &Statement) -> Vec<(String, bool)> {
        let target = match stmt {
            Statement::Insert(i) => match &i.table {
                ast::TableObject::TableName(n) => Some(n.clone()),
                _ => None,
            },
            Statement::Update(u) => match &u.table.relation {
                ast::TableFactor::Table { name, .. } => Some(name.clone()),
                _ => None,
            },
            Statement::Delete(d) => match &d.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => {
                    f.first().and_then(|t| match &t.relation {
                        ast::TableFactor::Table { name, .. } => Some(name.clone()),
                        _ => None,
                    })
                }
            },
            _ => None,
        };
        let stored = |n: &ast::ObjectName| crate::catalog::table_name(&self.info, n).ok().map(|t| t.stored);
        let written = target.as_ref().and_then(stored);
        let mut out: Vec<(String, bool)> = Vec::new();
        let _ = ast::visit_relations(stmt, |n| {
            if let Some(s) = stored(n)
                && !out.iter().any(|(t, _)| *t == s)
            {
                let w = written.as_deref() == Some(s.as_str());
                out.push((s, w));
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        out
    }

    /// Whether statements outside a block commit on their own.
    pub fn autocommit(&self) -> bool {
        self.settings.get("autocommit").is_none_or(|v| v != "0")
    }

    /// The value of one expression, as `SELECT expr` gives it.
    pub(crate) async fn eval_scalar(&mut self, e: &ast::Expr) -> SqlResult<Value> {
        let sql = format!("SELECT {e}");
        let stmts = crate::mysql::parse(&sql)?;
        let [stmt] = stmts.as_slice() else { return Err(SqlError::syntax("expected one expression")) };
        let mut types = Vec::new();
        match self.run_core(stmt, &sql, &mut types, &[], None).await? {
            Outcome::Rows { rows, .. } => {
                Ok(rows.into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or(Value::Null))
            }
            _ => Ok(Value::Null),
        }
    }

    /// Commits the open block, as MySQL does before BEGIN and DDL.
    pub(crate) async fn commit_implicitly(&mut self) -> SqlResult<()> {
        if !matches!(self.tx, Tx::Idle) {
            self.commit().await?;
        }
        Ok(())
    }

    /// The value the last statement drew from an AUTO_INCREMENT column
    /// (the first, for several rows), or 0: the OK packet's insert id.
    pub fn last_insert_id(&self) -> u64 {
        self.seq.statement_insert_id().and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
    }

    /// Runs one statement with MySQL's rules.
    pub(super) async fn run_mysql(
        &mut self,
        stmt: &Statement,
        sql: &str,
        types: &mut Vec<Option<DataType>>,
        params: &[Value],
        cached: Option<Arc<Plan>>,
    ) -> SqlResult<Outcome> {
        // The check renders the statement: skip it when there is nothing to keep.
        if !self.warnings.is_empty() && !crate::mysql::reads_diagnostics(stmt) {
            self.clear_warnings();
        }
        match stmt {
            Statement::Execute { name: Some(name), parameters, using, immediate: false, into, .. }
                if parameters.is_empty() && into.is_empty() =>
            {
                return self.sql_execute(name, using).await;
            }
            Statement::Deallocate { name, .. } => return self.sql_deallocate(&name.value),
            // Other forms (PostgreSQL's `PREPARE s AS`, `EXECUTE s(1)`,
            // `EXECUTE IMMEDIATE`) are not MySQL: refuse them before the
            // rules below would commit the open transaction as for DDL.
            Statement::Execute { .. } | Statement::Prepare { .. } => {
                return Err(crate::mysql::syntax_error_near(sql, 1));
            }
            _ => {}
        }
        if let Some(r) = crate::mysql::statement(self, stmt).await {
            return r;
        }
        match stmt {
            Statement::LockTables { tables } => return self.lock_tables(tables).await,
            // Outside a transaction a savepoint ends with its statement.
            Statement::Savepoint { .. } if matches!(self.tx, Tx::Idle) => {
                return Ok(Outcome::Done { tag: "SAVEPOINT".into() });
            }
            Statement::UnlockTables => {
                self.engine.table_locks.unlock_all(self.info.pid);
                return Ok(Outcome::Done { tag: "UNLOCK TABLES".into() });
            }
            _ => {}
        }
        let data =
            matches!(stmt, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_));
        match stmt {
            Statement::StartTransaction { .. } => self.commit_implicitly().await?,
            Statement::Commit { .. } | Statement::Rollback { savepoint: None, .. } => {}
            Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. } | Statement::Rollback { .. } => {}
            Statement::Set(_) => {}
            _ if data => {
                if matches!(self.tx, Tx::Idle) && !self.autocommit() {
                    self.begin(&[]).await?;
                }
            }
            // Everything else is DDL, which commits first in MySQL.
            _ => self.commit_implicitly().await?,
        }
        if data && self.engine.table_locks.any_held() {
            let tables = self.accessed_tables(stmt);
            self.engine.table_locks.wait_for_access(self.info.pid, &tables).await;
        }
        let savepoint = match &self.tx {
            Tx::Active(t) if data => Some(self.engine.storage.savepoint(t).await?),
            _ => None,
        };
        let r = self.run_core(stmt, sql, types, params, cached).await;
        if let Err(e) = &r {
            let whole = matches!(e.code, ErrorCode::SerializationFailure | ErrorCode::DeadlockDetected);
            match (std::mem::replace(&mut self.tx, Tx::Idle), savepoint) {
                // A deadlock or conflict rolls the transaction back.
                (Tx::Failed(t) | Tx::Active(t), _) if whole => {
                    self.tx = Tx::Failed(t);
                    self.rollback().await?;
                }
                // Any other error undoes the statement alone.
                (Tx::Failed(t) | Tx::Active(t), Some(sp)) => {
                    self.engine.storage.rollback_to_savepoint(&t, &sp).await?;
                    self.tx = Tx::Active(t);
                }
                (Tx::Failed(t), None) => self.tx = Tx::Active(t),
                (other, _) => self.tx = other,
            }
        }
        r
    }
}

/// A MySQL note or warning, as SHOW WARNINGS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `Note`, `Warning` or `Error`.
    pub level: &'static str,
    /// MySQL's error code.
    pub code: u16,
    /// The message.
    pub message: String,
}
