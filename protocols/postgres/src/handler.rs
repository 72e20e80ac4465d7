//! Queries: the simple and extended protocols, turned into engine calls.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, stream};
use orbit_sql::{Outcome, Prepared, Session, SqlError, TxStatus};
use orbit_storage::{DataType, Value};
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{CopyResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use tokio::sync::Mutex;

use crate::error::{error_info, to_pgwire};
use crate::values;

/// The connection's engine session, kept in pgwire's per-connection
/// extensions from startup on.
pub(crate) struct SessionSlot(pub Arc<Mutex<Session>>);

fn session<C: ClientInfo>(client: &C) -> PgWireResult<Arc<Mutex<Session>>> {
    client
        .session_extensions()
        .get::<SessionSlot>()
        .map(|s| s.0.clone())
        .ok_or_else(|| crate::error::fatal("08P01", "query before startup completed".into()))
}

/// Serves queries for every connection; the session comes from the client.
#[derive(Debug, Default)]
pub(crate) struct QueryHandler {
    parser: Arc<StatementParser>,
}

/// Parses and plans statements for the extended protocol.
#[derive(Debug, Default)]
pub(crate) struct StatementParser;

/// A tag without its trailing row count, which pgwire appends for rows.
fn tag_prefix(tag: &str) -> &str {
    match tag.rsplit_once(' ') {
        Some((head, n)) if n.chars().all(|c| c.is_ascii_digit()) => head,
        _ => tag,
    }
}

/// An outcome as a pgwire response, with rows in the formats asked for.
fn response(outcome: Outcome, format: &Format) -> Response {
    match outcome {
        Outcome::Rows { columns, rows, tag } => {
            let fields = Arc::new(values::fields(&columns, |i| format.format_for(i)));
            let encoded: Vec<PgWireResult<_>> =
                rows.iter().map(|r| Ok(values::encode_row(r, &columns, &fields))).collect();
            let mut q = QueryResponse::new(fields, stream::iter(encoded));
            q.set_command_tag(tag_prefix(&tag));
            Response::Query(q)
        }
        Outcome::Done { tag } if tag.is_empty() => Response::EmptyQuery,
        Outcome::Done { tag } => Response::Execution(Tag::new(&tag)),
        Outcome::CopyIn { columns, .. } => Response::CopyIn(CopyResponse::new(0, columns, stream::empty())),
        Outcome::CopyOut { columns, lines } => {
            let data: Vec<PgWireResult<CopyData>> =
                lines.into_iter().map(|l| Ok(CopyData::new(bytes::Bytes::from(l)))).collect();
            Response::CopyOut(CopyResponse::new(0, columns, stream::iter(data)))
        }
        // pgwire tracks the block state from these.
        Outcome::Tx { tag, status } => match status {
            TxStatus::InBlock => Response::TransactionStart(Tag::new(&tag)),
            TxStatus::Idle => Response::TransactionEnd(Tag::new(&tag)),
            TxStatus::Failed => Response::Execution(Tag::new(&tag)),
        },
    }
}

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session(client)?;
        let mut session = session.lock().await;
        let results = session.run(query).await;
        send_notices(client, session.take_notices()).await?;
        Ok(results
            .into_iter()
            .map(|r| match r {
                Ok(o) => response(o, &Format::UnifiedText),
                Err(e) => Response::Error(Box::new(error_info(&e))),
            })
            .collect())
    }
}

/// Sends NOTICEs ahead of the results they belong to.
async fn send_notices<C>(client: &mut C, notices: Vec<orbit_sql::Notice>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use futures::SinkExt;
    for n in notices {
        let info = pgwire::error::ErrorInfo::new("NOTICE".into(), n.sqlstate.into(), n.message);
        client.feed(PgWireBackendMessage::NoticeResponse(info.into())).await?;
    }
    Ok(())
}

#[async_trait]
impl CopyHandler for QueryHandler {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session(client)?;
        session.lock().await.copy_data(&copy_data.data).await;
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session(client)?;
        let outcome = session.lock().await.copy_done().await.map_err(|e| to_pgwire(&e))?;
        if let Outcome::Done { tag } = outcome {
            use futures::SinkExt;
            client.send(PgWireBackendMessage::CommandComplete(Tag::new(&tag).into())).await?;
        }
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match session(client) {
            Ok(s) => {
                let e = s.lock().await.copy_fail(&fail.message).await;
                to_pgwire(&e)
            }
            Err(e) => e,
        }
    }
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(&self, client: &C, sql: &str, types: &[Option<Type>]) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let hints: Vec<Option<DataType>> = types.iter().map(|t| t.as_ref().and_then(values::from_pg_type)).collect();
        let session = session(client)?;
        let mut session = session.lock().await;
        session.prepare(sql, &hints).await.map(Some).map_err(|e| to_pgwire(&e))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt
            .param_types
            .iter()
            .zip(&stmt.param_elems)
            .map(|(t, elem)| elem.as_ref().map_or_else(|| values::pg_type(t), values::pg_array_type))
            .collect())
    }

    fn get_result_schema(&self, stmt: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(values::fields(&stmt.columns, |i| format.map_or(FieldFormat::Text, |f| f.format_for(i))))
    }
}

/// Decodes a portal's parameters with the statement's types.
fn parameters(portal: &Portal<Prepared>) -> Result<Vec<Value>, SqlError> {
    let stmt = &portal.statement.statement;
    let types = &stmt.param_types;
    let mut out = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        let binary = portal.parameter_format.is_binary(i);
        let v = match (portal.parameters.get(i), stmt.param_elems.get(i)) {
            (Some(Some(raw)), Some(Some(elem))) if binary => values::decode_array_param(raw, elem)?,
            (Some(Some(raw)), _) => values::decode_param(raw, binary, ty)?,
            _ => Value::Null,
        };
        out.push(v);
    }
    Ok(out)
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        self.parser.clone()
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Prepared>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session(client)?;
        let mut session = session.lock().await;
        let params = parameters(portal).map_err(|e| to_pgwire(&e))?;
        let result = session.execute(&portal.statement.statement, &params).await;
        send_notices(client, session.take_notices()).await?;
        match result {
            Ok(o) => Ok(response(o, &portal.result_column_format)),
            Err(e) => Err(to_pgwire(&e)),
        }
    }
}
