//! COPY as a session runs it: starting, taking data, finishing.

use std::sync::Arc;

use orbit_storage::table::TableSchema;
use orbit_storage::{TableStorage, Transaction, Value};

use crate::Column;
use crate::catalog::{self, TableName};
use crate::copy::{self, CopyFormat, CopySource, CopyStmt, RecordReader};
use crate::error::{ErrorCode, SqlError, SqlResult};
use crate::expr::Scalar;
use crate::expr::compile::SessionInfo;
use crate::query::run::RunData;
use crate::sequence::SeqSession;

/// Rows are written in chunks of this many as data arrives.
const CHUNK: usize = 10_000;

/// A COPY FROM STDIN waiting for its data.
#[derive(Debug)]
pub(crate) struct CopyIn {
    table: TableName,
    schema: TableSchema,
    /// Table position of each field of a record.
    targets: Vec<usize>,
    /// Defaults for the columns not copied.
    defaults: Vec<Option<Scalar>>,
    reader: RecordReader,
    rows: Vec<Vec<Value>>,
    /// The transaction the rows go into: the session's, or one of its own.
    tx: Transaction,
    own_tx: bool,
    count: u64,
    /// The first error: the COPY fails with it at the end.
    error: Option<SqlError>,
}

/// What starting a COPY gives the protocol layer.
#[derive(Debug)]
pub(crate) enum CopyStart {
    /// Send CopyInResponse for this many columns, then feed data.
    In(Box<CopyIn>, usize, CopyFormat),
    /// Run this query and write its rows out.
    Out { query: String, stmt: CopyStmt },
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Plans a COPY: the table and columns of COPY FROM, or the query of COPY TO.
pub(crate) async fn start(
    sql: &str,
    ns: &SessionInfo,
    storage: &Arc<dyn TableStorage>,
    tx: Option<&Transaction>,
    defaults: impl Fn(&TableSchema, &[usize]) -> SqlResult<Vec<Option<Scalar>>>,
) -> SqlResult<CopyStart> {
    let stmt = copy::parse(sql)?;
    let (name, columns) = match &stmt.source {
        CopySource::Query(q) if !stmt.from => return Ok(CopyStart::Out { query: q.clone(), stmt }),
        CopySource::Query(_) => return Err(SqlError::syntax("COPY FROM cannot read into a query")),
        CopySource::Table { name, columns } => (name.clone(), columns.clone()),
    };
    if !stmt.from {
        let cols = if columns.is_empty() {
            "*".to_string()
        } else {
            columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
        };
        let table = name.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join(".");
        return Ok(CopyStart::Out { query: format!("SELECT {cols} FROM {table}"), stmt });
    }
    let object = sqlparser::ast::ObjectName::from(
        name.iter().map(|p| sqlparser::ast::Ident::with_quote('"', p.clone())).collect::<Vec<_>>(),
    );
    let tn = catalog::table_name(ns, &object)?;
    let schema = storage
        .get_table_schema(&tn.stored)
        .await?
        .ok_or_else(|| SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{}\" does not exist", tn.short)))?;
    let targets: Vec<usize> = if columns.is_empty() {
        (0..schema.columns.len()).collect()
    } else {
        columns
            .iter()
            .map(|c| {
                schema.column_index(c).ok_or_else(|| {
                    SqlError::new(
                        ErrorCode::UndefinedColumn,
                        format!("column \"{c}\" of relation \"{}\" does not exist", tn.short),
                    )
                })
            })
            .collect::<SqlResult<_>>()?
    };
    let defaults = defaults(&schema, &targets)?;
    let (tx, own_tx) = match tx {
        Some(t) => (t.clone(), false),
        None => (storage.begin_transaction().await?, true),
    };
    let n = targets.len();
    let format = stmt.options.format;
    let reader = RecordReader::new(stmt.options);
    Ok(CopyStart::In(
        Box::new(CopyIn {
            table: tn,
            schema,
            targets,
            defaults,
            reader,
            rows: Vec::new(),
            tx,
            own_tx,
            count: 0,
            error: None,
        }),
        n,
        format,
    ))
}

impl CopyIn {
    /// Takes a chunk of data; rows are written as whole chunks fill up.
    pub(crate) async fn data(&mut self, data: &[u8], storage: &Arc<dyn TableStorage>, seq: &Arc<SeqSession>) {
        if self.error.is_some() {
            return;
        }
        match self.reader.push(data) {
            Ok(records) => self.take(records, seq).await,
            Err(e) => self.error = Some(self.at_line(e)),
        }
        if self.error.is_none() && self.rows.len() >= CHUNK {
            self.flush(storage).await;
        }
    }

    fn at_line(&self, e: SqlError) -> SqlError {
        self.at(e, self.reader.line)
    }

    fn at(&self, e: SqlError, line: u64) -> SqlError {
        let context = format!("COPY {}, line {line}", self.table.short);
        SqlError { message: format!("{}\nCONTEXT: {context}", e.message), ..e }
    }

    async fn take(&mut self, records: Vec<copy::Record>, seq: &Arc<SeqSession>) {
        for (line, rec) in records {
            match self.row(rec, seq).await {
                Ok(row) => self.rows.push(row),
                Err(e) => {
                    self.error = Some(self.at(e, line));
                    return;
                }
            }
        }
    }

    /// A full table row from a record: fields read as their column types,
    /// defaults for the rest.
    async fn row(&self, rec: Vec<Option<String>>, seq: &Arc<SeqSession>) -> SqlResult<Vec<Value>> {
        if rec.len() != self.targets.len() {
            return Err(SqlError::new(
                ErrorCode::BadCopyFormat,
                if rec.len() < self.targets.len() {
                    "missing data for a column"
                } else {
                    "extra data after last expected column"
                },
            ));
        }
        let mut row = vec![Value::Null; self.schema.columns.len()];
        for (i, d) in self.defaults.iter().enumerate() {
            if let Some(d) = d {
                row[i] = eval_default(d, seq).await?;
            }
        }
        for (field, &ti) in rec.into_iter().zip(&self.targets) {
            let col = &self.schema.columns[ti];
            row[ti] = match field {
                None => Value::Null,
                Some(text) => crate::types::parse_text(&col.data_type, &text)?,
            };
        }
        for (v, col) in row.iter().zip(&self.schema.columns) {
            if v.is_null() && !col.nullable {
                return Err(SqlError::new(
                    ErrorCode::NotNullViolation,
                    format!(
                        "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                        col.name, self.table.short
                    ),
                ));
            }
        }
        Ok(row)
    }

    async fn flush(&mut self, storage: &Arc<dyn TableStorage>) {
        let rows = std::mem::take(&mut self.rows);
        let n = rows.len() as u64;
        match storage.insert_many(Some(&self.tx), &self.table.stored, rows).await {
            Ok(_) => self.count += n,
            Err(e) => self.error = Some(e.into()),
        }
    }

    /// Ends the data: writes what is left and commits (when the COPY has
    /// its own transaction); the count, or the first error with nothing
    /// committed.
    pub(crate) async fn finish(mut self, storage: &Arc<dyn TableStorage>, seq: &Arc<SeqSession>) -> SqlResult<u64> {
        if self.error.is_none() {
            match self.reader.finish() {
                Ok(records) => self.take(records, seq).await,
                Err(e) => self.error = Some(self.at_line(e)),
            }
        }
        if self.error.is_none() {
            self.flush(storage).await;
        }
        match self.error.take() {
            Some(e) => {
                if self.own_tx {
                    storage.rollback_transaction(self.tx).await?;
                }
                Err(e)
            }
            None => {
                if self.own_tx {
                    storage.commit_transaction(self.tx).await?;
                }
                Ok(self.count)
            }
        }
    }

    /// Abandons the COPY (CopyFail from the client).
    pub(crate) async fn abort(self, storage: &Arc<dyn TableStorage>) {
        if self.own_tx {
            let _ = storage.rollback_transaction(self.tx).await;
        }
    }
}

/// Evaluates a default, reserving sequence values as needed.
async fn eval_default(d: &Scalar, seq: &Arc<SeqSession>) -> SqlResult<Value> {
    loop {
        let r = {
            let run = RunData::new(Default::default(), Arc::default(), Some(seq.clone()));
            let env = crate::expr::Env { params: &[], now: chrono::Utc::now(), outer: Vec::new(), run: Some(&run) };
            d.eval(&[], &env)
        };
        match r {
            Err(e) if e.code == ErrorCode::SequenceRefill => seq.sequences.refill(&e.message).await?,
            other => return other,
        }
    }
}

/// COPY TO's output lines for `rows` with `columns`.
pub(crate) fn out_lines(stmt: &CopyStmt, columns: &[Column], rows: &[Vec<Value>]) -> Vec<String> {
    let types: Vec<orbit_storage::DataType> = columns.iter().map(|c| c.ty.clone()).collect();
    let mut lines = Vec::with_capacity(rows.len() + 1);
    for (i, r) in rows.iter().enumerate() {
        let mut line = copy::format_row(r, &types, &stmt.options);
        // The header goes out with the first row, so that the row count
        // pgwire reports counts rows only.
        if i == 0 && stmt.options.header {
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            line = copy::header(&names, &stmt.options) + &line;
        }
        lines.push(line);
    }
    lines
}
