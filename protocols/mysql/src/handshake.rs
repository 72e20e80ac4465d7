//! The connection phase: greeting, authentication (with an auth switch
//! when the client picked another method), and the handshake's database.

use std::io;
use std::sync::Arc;

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakePacket, HandshakeResponse};
use mysql_common::proto::{MyDeserialize, MySerialize};
use orbit_sql::{Session, SqlEngine};

use crate::auth::{self, CACHING_SHA2, NATIVE};
use crate::config::MysqlConfig;
use crate::error::{self, ACCESS_DENIED, MALFORMED};
use crate::packet::Packets;
use crate::results::{self, Reply};

/// What this server offers; a connection uses what both sides offer.
pub(crate) fn server_capabilities() -> CapabilityFlags {
    CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_CONNECT_ATTRS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
        | CapabilityFlags::CLIENT_INTERACTIVE
        | CapabilityFlags::CLIENT_IGNORE_SPACE
}

/// utf8mb4_general_ci, the collation announced in the greeting.
const COLLATION: u8 = 45;

/// An authenticated connection: who, with what capabilities, in which
/// session.
pub(crate) struct Accepted {
    pub caps: CapabilityFlags,
    pub session: Session,
}

/// Runs the connection phase; `None` when the client went away or was
/// refused (the refusal has been sent).
pub(crate) async fn accept(
    p: &mut Packets,
    engine: &Arc<SqlEngine>,
    config: &MysqlConfig,
    connect_id: u32,
    peer: std::net::IpAddr,
) -> io::Result<Option<Accepted>> {
    let salt = new_salt();
    let mut part2 = salt[8..].to_vec();
    part2.push(0);
    let mut scramble_1 = [0u8; 8];
    scramble_1.copy_from_slice(&salt[..8]);
    let greeting = HandshakePacket::new(
        10,
        orbit_sql::MYSQL_VERSION.as_bytes(),
        connect_id,
        scramble_1,
        Some(part2),
        server_capabilities(),
        COLLATION,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(NATIVE.as_bytes()),
    );
    let mut b = Vec::new();
    greeting.serialize(&mut b);
    p.write(&b).await?;
    p.flush().await?;

    let Some(message) = p.read().await? else { return Ok(None) };
    let refuse = |m: &str| (MALFORMED, m.to_string());
    let reply = Reply { caps: server_capabilities(), status: StatusFlags::SERVER_STATUS_AUTOCOMMIT, warnings: 0 };
    let message = match message {
        Ok(m) => m,
        Err(_) => return fail(p, reply, refuse("handshake response too large")).await,
    };
    let response = match HandshakeResponse::deserialize((), &mut ParseBuf(&message)) {
        Ok(r) => r,
        Err(_) => return fail(p, reply, refuse("Bad handshake")).await,
    };
    let caps = response.capabilities() & server_capabilities();
    let reply = Reply { caps, status: StatusFlags::SERVER_STATUS_AUTOCOMMIT, warnings: 0 };
    if !response.capabilities().contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return fail(p, reply, refuse("the client must speak protocol 4.1")).await;
    }
    let user = String::from_utf8_lossy(response.user()).to_string();
    let database = response.db_name().map(|d| String::from_utf8_lossy(d).to_string());
    let (mut plugin, mut scramble) = match response.auth_plugin() {
        Some(AuthPlugin::MysqlNativePassword) => (NATIVE, response.scramble_buf().to_vec()),
        Some(AuthPlugin::CachingSha2Password) => (CACHING_SHA2, response.scramble_buf().to_vec()),
        _ => ("", Vec::new()),
    };
    if plugin.is_empty() {
        match ask_native(p, &salt).await? {
            Some(Ok(m)) => {
                plugin = NATIVE;
                scramble = m;
            }
            Some(Err(())) => return fail(p, reply, refuse("auth response too large")).await,
            None => return Ok(None),
        }
    }
    let proven = config.password_of(&user).is_some_and(|pw| auth::verify(plugin, pw, &salt, &scramble));
    if !proven {
        let using = if scramble.is_empty() { "NO" } else { "YES" };
        let msg = format!("Access denied for user '{user}'@'{peer}' (using password: {using})");
        return fail(p, reply, (ACCESS_DENIED, msg)).await;
    }
    if plugin == CACHING_SHA2 && !scramble.is_empty() {
        // caching_sha2_password's "fast authentication succeeded".
        p.write(&[0x01, 0x03]).await?;
    }
    let session = match Session::open_mysql(engine.clone(), database.as_deref(), &user).await {
        Ok(s) => s,
        Err(e) => {
            let msg = error::message(&e, "");
            return fail(p, reply, (error::my_error(e.code), msg)).await;
        }
    };
    results::ok(p, reply, 0, 0, 0).await?;
    p.flush().await?;
    Ok(Some(Accepted { caps, session }))
}

/// A fresh scramble. It is sent null-terminated: no zero bytes.
fn new_salt() -> [u8; 20] {
    rand::random::<[u8; 20]>().map(|b| b % 94 + 33)
}

/// Asks the client to answer `salt` with mysql_native_password (an
/// AuthSwitchRequest): its answer, `Err` for an oversized one, or `None`
/// when it went away.
async fn ask_native(p: &mut Packets, salt: &[u8; 20]) -> io::Result<Option<Result<Vec<u8>, ()>>> {
    let mut b = vec![0xFE];
    b.extend_from_slice(NATIVE.as_bytes());
    b.push(0);
    b.extend_from_slice(salt);
    b.push(0);
    p.write(&b).await?;
    p.flush().await?;
    Ok(p.read().await?.map(|m| m.map_err(|_| ())))
}

/// The user and database of a COM_CHANGE_USER body (after the command
/// byte): user, NUL; auth data with a length byte; database, NUL; then
/// the character set, plugin and attributes, which change nothing here.
fn change_user_fields(body: &[u8]) -> Option<(String, Option<String>)> {
    let nul = body.iter().position(|b| *b == 0)?;
    let user = String::from_utf8_lossy(&body[..nul]).to_string();
    let rest = &body[nul + 1..];
    let (&len, rest) = rest.split_first()?;
    let rest = rest.get(usize::from(len)..)?;
    let db = rest.split(|b| *b == 0).next().filter(|d| !d.is_empty());
    Some((user, db.map(|d| String::from_utf8_lossy(d).to_string())))
}

/// COM_CHANGE_USER: logs the connection in again as another user, in the
/// database named (or none). The client proves the password against a
/// fresh scramble (an AuthSwitchRequest, as MySQL 8 sends), not the
/// handshake's, which a recorded answer could otherwise replay. On
/// success the new session replaces the old, whose transaction rolls
/// back; a refusal has been sent when the result is `None`, and MySQL
/// then closes the connection.
pub(crate) async fn change_user(
    p: &mut Packets,
    engine: &Arc<SqlEngine>,
    config: &MysqlConfig,
    caps: CapabilityFlags,
    body: &[u8],
    peer: std::net::IpAddr,
) -> io::Result<Option<Session>> {
    let reply = Reply { caps, status: StatusFlags::SERVER_STATUS_AUTOCOMMIT, warnings: 0 };
    let Some((user, database)) = change_user_fields(body) else {
        return fail(p, reply, (MALFORMED, "Malformed communication packet".into())).await.map(|_| None);
    };
    let salt = new_salt();
    let scramble = match ask_native(p, &salt).await? {
        Some(Ok(m)) => m,
        Some(Err(())) => {
            return fail(p, reply, (MALFORMED, "auth response too large".into())).await.map(|_| None);
        }
        None => return Ok(None),
    };
    if !config.password_of(&user).is_some_and(|pw| auth::verify(NATIVE, pw, &salt, &scramble)) {
        let using = if scramble.is_empty() { "NO" } else { "YES" };
        let msg = format!("Access denied for user '{user}'@'{peer}' (using password: {using})");
        return fail(p, reply, (ACCESS_DENIED, msg)).await.map(|_| None);
    }
    match Session::open_mysql(engine.clone(), database.as_deref(), &user).await {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            let msg = error::message(&e, "");
            fail(p, reply, (error::my_error(e.code), msg)).await.map(|_| None)
        }
    }
}

async fn fail(p: &mut Packets, _reply: Reply, (e, msg): (error::MyError, String)) -> io::Result<Option<Accepted>> {
    results::err(p, e.0, e.1, &msg).await?;
    p.flush().await?;
    Ok(None)
}
