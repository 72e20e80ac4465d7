//! MySQL's SQL-level prepared statements: `PREPARE name FROM ...`,
//! `EXECUTE name [USING @a, ...]` and `{DEALLOCATE | DROP} PREPARE name`.
//! They live in the session, under names that are not case sensitive, and
//! share the binary protocol's [`Prepared`] statements: planned once, run
//! with parameters.

use std::sync::Arc;

use orbit_storage::Value;
use sqlparser::ast::{self, Statement};

use super::{Outcome, Session};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::mysql::prepared::Source;

/// MySQL's `max_prepared_stmt_count` default, applied per session: a
/// client that leaks names gets an error, not unbounded memory.
const MAX_STATEMENTS: usize = 16_382;

fn unknown(name: &str, command: &str) -> SqlError {
    SqlError::new(
        ErrorCode::UndefinedPreparedStatement,
        format!("Unknown prepared statement handler ({name}) given to {command}"),
    )
}

/// Statements that manage prepared statements cannot be prepared
/// themselves; an `EXECUTE` of one could otherwise run itself forever.
pub(super) fn refuse_nested(stmt: &Statement) -> SqlResult<()> {
    match stmt {
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. } => Err(SqlError::new(
            ErrorCode::NotPreparable,
            "This command is not supported in the prepared statement protocol yet",
        )),
        _ => Ok(()),
    }
}

impl Session {
    /// `PREPARE name FROM source`. A statement of that name is dropped
    /// first, even when the new text fails to prepare, as in MySQL.
    pub(super) async fn sql_prepare(&mut self, name: &str, source: &Source) -> SqlResult<Outcome> {
        let key = name.to_lowercase();
        self.sql_prepared.remove(&key);
        let text = match source {
            Source::Text(t) => t.clone(),
            // User variables keep their text; an unset one is NULL, which
            // MySQL reads as the statement text `NULL`.
            Source::Variable(v) => self.variables().get(v).cloned().unwrap_or_else(|| "NULL".into()),
        };
        if self.sql_prepared.len() >= MAX_STATEMENTS {
            return Err(SqlError::new(
                ErrorCode::ProgramLimitExceeded,
                format!("Can't create more than max_prepared_stmt_count statements (current value: {MAX_STATEMENTS})"),
            ));
        }
        let prepared = self.prepare(&text, &[]).await?;
        if prepared.stmt.is_none() {
            return Err(SqlError::new(ErrorCode::EmptyQuery, "Query was empty"));
        }
        self.sql_prepared.insert(key, Arc::new(prepared));
        Ok(Outcome::Done { tag: "PREPARE".into() })
    }

    /// `EXECUTE name [USING expr, ...]`: runs the statement with MySQL's
    /// rules for a statement of its kind (autocommit, statement rollback).
    pub(super) async fn sql_execute(
        &mut self,
        name: &ast::ObjectName,
        using: &[ast::ExprWithAlias],
    ) -> SqlResult<Outcome> {
        // The name as PREPARE stored it: unquoted.
        let name = name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.as_str()).collect::<Vec<_>>().join(".");
        let key = name.to_lowercase();
        let Some(mut prepared) = self.sql_prepared.get(&key).cloned() else {
            return Err(unknown(&name, "EXECUTE"));
        };
        // MySQL prepares again by itself after DDL; no client holds a
        // description of the old result to protect here.
        if prepared.plan.as_ref().is_some_and(|(_, v)| *v != self.engine().schema_version()) {
            prepared = Arc::new(self.prepare(&prepared.sql, &[]).await?);
            self.sql_prepared.insert(key, prepared.clone());
        }
        if using.len() != prepared.param_types.len() {
            return Err(SqlError::new(ErrorCode::DatatypeMismatch, "Incorrect arguments to EXECUTE"));
        }
        let mut params: Vec<Value> = Vec::with_capacity(using.len());
        for u in using {
            params.push(self.eval_scalar(&u.expr).await?);
        }
        // Boxed: the statement runs through `run_mysql`, which called this.
        Box::pin(self.execute(&prepared, &params)).await
    }

    /// `DEALLOCATE PREPARE name` and `DROP PREPARE name`.
    pub(super) fn sql_deallocate(&mut self, name: &str) -> SqlResult<Outcome> {
        match self.sql_prepared.remove(&name.to_lowercase()) {
            Some(_) => Ok(Outcome::Done { tag: "DEALLOCATE".into() }),
            None => Err(unknown(name, "DEALLOCATE PREPARE")),
        }
    }

    /// Forgets every SQL-level prepared statement (COM_RESET_CONNECTION).
    pub(super) fn drop_sql_prepared(&mut self) {
        self.sql_prepared.clear();
    }
}
