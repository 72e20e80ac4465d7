//! The command phase: one client command at a time, each answered in full
//! and flushed once.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use orbit_sql::{Column, Outcome, Prepared, Session, SqlEngine, SqlError, SqlResult, StatementEnd};

use crate::config::MysqlConfig;

use crate::error::{
    self, EMPTY_QUERY, MALFORMED, MyError, PACKET_TOO_LARGE, UNKNOWN_COMMAND, UNKNOWN_STATEMENT, WRONG_ARGUMENTS,
};
use crate::packet::Packets;
use crate::results::{self, Reply};

use crate::values::{self, ParamTypes};

/// A prepared statement with what its executions carry between them.
struct Statement {
    prepared: Arc<Prepared>,
    types: ParamTypes,
    long: HashMap<u16, Vec<u8>>,
}

/// What a COM_CHANGE_USER needs to log a connection in again.
pub(crate) struct Login {
    pub engine: Arc<SqlEngine>,
    pub config: Arc<MysqlConfig>,
    pub peer: std::net::IpAddr,
}

/// An authenticated connection.
pub(crate) struct Conn {
    pub packets: Packets,
    pub caps: CapabilityFlags,
    pub session: Session,
    login: Login,
    statements: HashMap<u32, Statement>,
    next_id: u32,
}

/// Command bytes (MySQL's `enum_server_command`).
mod com {
    pub(super) const QUIT: u8 = 0x01;
    pub(super) const INIT_DB: u8 = 0x02;
    pub(super) const QUERY: u8 = 0x03;
    pub(super) const FIELD_LIST: u8 = 0x04;
    pub(super) const STATISTICS: u8 = 0x09;
    pub(super) const CHANGE_USER: u8 = 0x11;
    pub(super) const PING: u8 = 0x0E;
    pub(super) const STMT_PREPARE: u8 = 0x16;
    pub(super) const STMT_EXECUTE: u8 = 0x17;
    pub(super) const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub(super) const STMT_CLOSE: u8 = 0x19;
    pub(super) const STMT_RESET: u8 = 0x1A;
    pub(super) const SET_OPTION: u8 = 0x1B;
    pub(super) const RESET_CONNECTION: u8 = 0x1F;
}

impl Conn {
    pub(crate) fn new(packets: Packets, caps: CapabilityFlags, session: Session, login: Login) -> Self {
        Conn { packets, caps, session, login, statements: HashMap::new(), next_id: 1 }
    }

    fn reply(&self, more: bool) -> Reply {
        self.reply_for(self.session.statement_end(), more)
    }

    fn reply_for(&self, end: StatementEnd, more: bool) -> Reply {
        let mut status = StatusFlags::empty();
        if end.autocommit {
            status |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if end.in_transaction {
            status |= StatusFlags::SERVER_STATUS_IN_TRANS;
        }
        if more {
            status |= StatusFlags::SERVER_MORE_RESULTS_EXISTS;
        }
        Reply { caps: self.caps, status, warnings: end.warnings }
    }

    async fn ok(&mut self, affected: u64, insert_id: u64, more: bool) -> io::Result<()> {
        let r = self.reply(more);
        results::ok(&mut self.packets, r, 0x00, affected, insert_id).await
    }

    async fn error(&mut self, e: &SqlError) -> io::Result<()> {
        let MyError(code, state) = error::my_error(e.code);
        let msg = error::message(e, self.session.current_schema());
        results::err(&mut self.packets, code, state, &msg).await
    }

    /// Serves commands until the client quits or goes away.
    pub(crate) async fn serve(mut self) -> io::Result<()> {
        loop {
            self.packets.flush().await?;
            let message = match self.packets.read().await? {
                None => return Ok(()),
                Some(Err(_)) => {
                    let msg = "Got a packet bigger than 'max_allowed_packet' bytes";
                    results::err(&mut self.packets, PACKET_TOO_LARGE.0, PACKET_TOO_LARGE.1, msg).await?;
                    self.packets.flush().await?;
                    return Ok(());
                }
                Some(Ok(m)) => m,
            };
            let Some((&command, body)) = message.split_first() else {
                results::err(&mut self.packets, MALFORMED.0, MALFORMED.1, "Malformed communication packet").await?;
                continue;
            };
            match command {
                com::QUIT => return Ok(()),
                com::QUERY => self.query(&String::from_utf8_lossy(body)).await?,
                com::INIT_DB => match self.session.use_database(&String::from_utf8_lossy(body)).await {
                    Ok(()) => self.ok(0, 0, false).await?,
                    Err(e) => self.error(&e).await?,
                },
                com::PING => self.ok(0, 0, false).await?,
                com::FIELD_LIST => self.field_list(body).await?,
                com::STATISTICS => {
                    let text = format!("Uptime: {}  Threads: 1  Questions: 0", orbit_sql::uptime_secs());
                    self.packets.write(text.as_bytes()).await?;
                }
                com::STMT_PREPARE => self.prepare(&String::from_utf8_lossy(body)).await?,
                com::STMT_EXECUTE => self.execute(body).await?,
                com::STMT_SEND_LONG_DATA => {
                    // No reply, as in MySQL; a bad id shows at EXECUTE.
                    if body.len() >= 6 {
                        let id = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
                        let param = u16::from_le_bytes([body[4], body[5]]);
                        if let Some(s) = self.statements.get_mut(&id) {
                            s.long.entry(param).or_default().extend_from_slice(&body[6..]);
                        }
                    }
                }
                com::STMT_CLOSE => {
                    if let Some(id) = body.get(..4) {
                        self.statements.remove(&u32::from_le_bytes([id[0], id[1], id[2], id[3]]));
                    }
                }
                com::STMT_RESET => {
                    let id = body.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    match id.and_then(|id| self.statements.get_mut(&id)) {
                        Some(s) => {
                            s.long.clear();
                            self.ok(0, 0, false).await?;
                        }
                        None => self.unknown_statement(id.unwrap_or(0), "mysqld_stmt_reset").await?,
                    }
                }
                com::SET_OPTION => {
                    // Multi-statements on (0) or off (1): every string may
                    // hold several statements here, so both are accepted.
                    let r = self.reply(false);
                    results::eof(&mut self.packets, r).await?;
                }
                com::CHANGE_USER => {
                    let l = &self.login;
                    let changed =
                        crate::handshake::change_user(&mut self.packets, &l.engine, &l.config, self.caps, body, l.peer)
                            .await?;
                    let Some(session) = changed else { return Ok(()) };
                    // The old session's open transaction rolls back as it
                    // drops, and its prepared statements go with it.
                    self.statements.clear();
                    self.session = session;
                    self.ok(0, 0, false).await?;
                }
                com::RESET_CONNECTION => {
                    self.statements.clear();
                    match self.session.reset().await {
                        Ok(()) => self.ok(0, 0, false).await?,
                        Err(e) => self.error(&e).await?,
                    }
                }
                other => {
                    let msg = format!("Unknown command {other:#04x}");
                    results::err(&mut self.packets, UNKNOWN_COMMAND.0, UNKNOWN_COMMAND.1, &msg).await?;
                }
            }
        }
    }

    async fn unknown_statement(&mut self, id: u32, command: &str) -> io::Result<()> {
        let msg = format!("Unknown prepared statement handler ({id}) given to {command}");
        results::err(&mut self.packets, UNKNOWN_STATEMENT.0, UNKNOWN_STATEMENT.1, &msg).await
    }

    /// COM_QUERY: one reply per statement, up to the first error.
    async fn query(&mut self, sql: &str) -> io::Result<()> {
        let results = self.session.run(sql).await;
        if results.is_empty() {
            let MyError(code, state) = EMPTY_QUERY;
            return results::err(&mut self.packets, code, state, "Query was empty").await;
        }
        // Each statement's packet reports the session as that statement
        // left it: its own warnings, insert id and transaction state.
        let ends = self.session.statement_ends().to_vec();
        let last = results.len().saturating_sub(1);
        for (i, r) in results.into_iter().enumerate() {
            let end = ends.get(i).copied().unwrap_or_else(|| self.session.statement_end());
            self.outcome(r, end, i < last, false).await?;
        }
        Ok(())
    }

    /// Sends one statement's outcome, `end` being how it left the session;
    /// `more` when others follow.
    async fn outcome(&mut self, r: SqlResult<Outcome>, end: StatementEnd, more: bool, binary: bool) -> io::Result<()> {
        match r {
            Err(e) => self.error(&e).await,
            Ok(Outcome::Rows { columns, rows, .. }) => {
                let reply = self.reply_for(end, more);
                results::result_set(&mut self.packets, reply, &columns, &rows, binary).await
            }
            Ok(Outcome::Done { tag } | Outcome::Tx { tag, .. }) => {
                let reply = self.reply_for(end, more);
                results::ok(&mut self.packets, reply, 0x00, affected_rows(&tag), end.last_insert_id).await
            }
            Ok(Outcome::CopyIn { .. } | Outcome::CopyOut { .. }) => self.error(&SqlError::unsupported("COPY")).await,
        }
    }

    /// COM_FIELD_LIST (mysql's table-name completion): the table's column
    /// definitions.
    async fn field_list(&mut self, body: &[u8]) -> io::Result<()> {
        let table = String::from_utf8_lossy(body.split(|b| *b == 0).next().unwrap_or_default()).to_string();
        let sql = format!("SELECT * FROM `{}` LIMIT 0", table.replace('`', "``"));
        match self.session.prepare(&sql, &[]).await {
            Ok(p) => {
                results::column_defs(&mut self.packets, &p.columns, &[], &table).await?;
                let r = self.reply(false);
                results::terminator(&mut self.packets, r).await
            }
            Err(e) => self.error(&e).await,
        }
    }

    async fn prepare(&mut self, sql: &str) -> io::Result<()> {
        let p = match self.session.prepare(sql, &[]).await {
            Ok(p) => p,
            Err(e) => return self.error(&e).await,
        };
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        let mut b = vec![0x00];
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&(p.columns.len() as u16).to_le_bytes());
        b.extend_from_slice(&(p.param_types.len() as u16).to_le_bytes());
        b.push(0);
        b.extend_from_slice(&0u16.to_le_bytes());
        self.packets.write(&b).await?;
        let reply = self.reply(false);
        if !p.param_types.is_empty() {
            let params: Vec<Column> =
                p.param_types.iter().map(|t| Column { name: "?".into(), ty: t.clone() }).collect();
            results::columns(&mut self.packets, reply, &params, &[], "").await?;
        }
        if !p.columns.is_empty() {
            results::columns(&mut self.packets, reply, &p.columns, &[], "").await?;
        }
        self.statements.insert(id, Statement { prepared: Arc::new(p), types: Vec::new(), long: HashMap::new() });
        Ok(())
    }

    async fn execute(&mut self, body: &[u8]) -> io::Result<()> {
        let Some(head) = body.get(..9) else {
            return results::err(&mut self.packets, MALFORMED.0, MALFORMED.1, "Malformed communication packet").await;
        };
        let id = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let Some(s) = self.statements.get_mut(&id) else {
            return self.unknown_statement(id, "mysqld_stmt_execute").await;
        };
        let prepared = s.prepared.clone();
        let decoded = values::params(&body[9..], prepared.param_types.len(), &mut s.types, &s.long);
        s.long.clear();
        let args = match decoded {
            Ok(a) => a,
            Err(msg) => return results::err(&mut self.packets, WRONG_ARGUMENTS.0, WRONG_ARGUMENTS.1, &msg).await,
        };
        let r = self.session.execute(&prepared, &args).await;
        let end = self.session.statement_end();
        self.outcome(r, end, false, true).await
    }
}

/// Rows a statement changed, from its command tag.
fn affected_rows(tag: &str) -> u64 {
    let words: Vec<&str> = tag.split_whitespace().collect();
    let n = match words.as_slice() {
        ["INSERT", _, n] | ["UPDATE", n] | ["DELETE", n] | ["CREATE", "DATABASE", n] | ["DROP", "DATABASE", n] => n,
        _ => return 0,
    };
    n.parse().unwrap_or(0)
}
