//! Commands the connection answers itself: they change connection state.

use bytes::Bytes;

use super::{Conn, Multi};
use crate::cmd::Spec;
use crate::cmd::args::is;
use crate::cmd::server::REDIS_VERSION;
use crate::engine::Msg;
use crate::error::RedisError;
use crate::pubsub::Subscriber;
use crate::reply::Reply;

/// One condition of CLIENT KILL's filter form.
type ClientFilter = Box<dyn Fn(&crate::shared::ClientInfo) -> bool>;

/// Runs a connection command.
pub(super) async fn run(conn: &mut Conn, spec: &'static Spec, a: Vec<Bytes>) {
    let reply = match spec.name {
        "hello" => hello(conn, &a),
        "auth" => auth(conn, &a),
        "quit" => {
            conn.closing = true;
            Reply::OK
        }
        "reset" => reset(conn),
        "client" => client(conn, &a),
        "multi" => multi(conn),
        "exec" => exec(conn).await,
        "discard" => discard(conn),
        "watch" => watch(conn, a).await,
        "unwatch" => {
            let _ = conn.engine.send(Msg::Unwatch { client: conn.id });
            Reply::OK
        }
        "subscribe" => return subscribe(conn, a, false),
        "psubscribe" => return subscribe(conn, a, true),
        "unsubscribe" => return unsubscribe(conn, a, false),
        "punsubscribe" => return unsubscribe(conn, a, true),
        "shutdown" => match shutdown(conn, &a) {
            Some(r) => r,
            // On success Redis closes without replying.
            None => return,
        },
        other => Reply::Error(RedisError::err(format!("'{other}' is not a connection command"))),
    };
    conn.push_reply(&reply);
}

/// `SELECT index`
pub(super) fn select(conn: &mut Conn, index: &[u8]) -> Reply {
    let Some(i) = crate::num::parse_i64(index) else { return Reply::Error(RedisError::not_integer()) };
    match u8::try_from(i).ok().filter(|d| *d < conn.shared.config.databases) {
        Some(db) => {
            conn.db = db;
            Reply::OK
        }
        None => Reply::Error(RedisError::err("DB index is out of range")),
    }
}

fn wrong_pass() -> RedisError {
    RedisError::new("WRONGPASS invalid username-password pair or user is disabled.")
}

/// Checks credentials; `Ok` logs the connection in.
fn login(conn: &mut Conn, user: &str, password: &[u8]) -> Result<(), RedisError> {
    if !conn.shared.auth_required() {
        // Like a fresh Redis: the default user has no password.
        return if user == "default" { Ok(()) } else { Err(wrong_pass()) };
    }
    if conn.shared.check_password(user, password) {
        conn.authenticated = true;
        conn.user = user.to_string();
        conn.entry.info.lock().user = user.to_string();
        Ok(())
    } else {
        Err(wrong_pass())
    }
}

/// `AUTH [username] password`
fn auth(conn: &mut Conn, a: &[Bytes]) -> Reply {
    let result = match a {
        [password] => {
            if !conn.shared.auth_required() {
                return Reply::Error(RedisError::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            login(conn, "default", password)
        }
        [user, password] => login(conn, &String::from_utf8_lossy(user), password),
        _ => return Reply::Error(RedisError::syntax()),
    };
    match result {
        Ok(()) => Reply::OK,
        Err(e) => Reply::Error(e),
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(conn: &mut Conn, a: &[Bytes]) -> Reply {
    let mut proto = if conn.resp3 { 3 } else { 2 };
    if let Some(p) = a.first() {
        match crate::num::parse_i64(p) {
            Some(v @ (2 | 3)) => proto = v,
            Some(_) => return Reply::Error(RedisError::new("NOPROTO unsupported protocol version")),
            None => return Reply::Error(RedisError::err("Protocol version is not an integer or out of range")),
        }
    }
    let mut i = 1;
    let mut setname = None;
    while i < a.len() {
        if is(&a[i], "auth") && i + 2 < a.len() {
            if let Err(e) = login(conn, &String::from_utf8_lossy(&a[i + 1]), &a[i + 2]) {
                return Reply::Error(e);
            }
            i += 3;
        } else if is(&a[i], "setname") && i + 1 < a.len() {
            setname = Some(a[i + 1].clone());
            i += 2;
        } else {
            return Reply::Error(RedisError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[i])
            )));
        }
    }
    if !conn.authenticated {
        return Reply::Error(RedisError::new(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = setname
        && let Err(e) = set_name(conn, &name)
    {
        return Reply::Error(e);
    }
    conn.resp3 = proto == 3;
    conn.entry.info.lock().resp = if conn.resp3 { 3 } else { 2 };
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Int(proto)),
        (Reply::bulk("id"), Reply::Int(conn.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ])
}

/// `RESET`
fn reset(conn: &mut Conn) -> Reply {
    conn.multi = None;
    let _ = conn.engine.send(Msg::Unwatch { client: conn.id });
    for c in std::mem::take(&mut conn.channels) {
        conn.shared.pubsub.unsubscribe(conn.id, &c);
    }
    for p in std::mem::take(&mut conn.patterns) {
        conn.shared.pubsub.punsubscribe(conn.id, &p);
    }
    conn.db = 0;
    conn.resp3 = false;
    conn.authenticated = !conn.shared.auth_required();
    conn.user = "default".into();
    let mut info = conn.entry.info.lock();
    info.name.clear();
    info.resp = 2;
    info.subscriptions = 0;
    info.patterns = 0;
    info.in_multi = false;
    Reply::Status("RESET")
}

fn set_name(conn: &mut Conn, name: &[u8]) -> Result<(), RedisError> {
    if name.iter().any(|&c| c <= b' ' || c > b'~') {
        return Err(RedisError::err("Client names cannot contain spaces, newlines or special characters."));
    }
    conn.entry.info.lock().name = String::from_utf8_lossy(name).into_owned();
    Ok(())
}

/// One CLIENT LIST line.
fn client_line(info: &crate::shared::ClientInfo) -> String {
    let flags = match (info.in_multi, info.blocked, info.subscriptions + info.patterns > 0) {
        (true, _, _) => "x",
        (_, true, _) => "b",
        (_, _, true) => "P",
        _ => "N",
    };
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={flags} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.laddr,
        info.name,
        info.connected.elapsed().as_secs(),
        info.last_interaction.elapsed().as_secs(),
        info.db,
        info.subscriptions,
        info.patterns,
        if info.in_multi { 0 } else { -1 },
        info.last_command,
        info.user,
        info.resp,
        info.lib_name,
        info.lib_ver,
    )
}

/// Kills clients matching `filter`; returns how many.
fn kill_where(conn: &Conn, filter: impl Fn(&crate::shared::ClientInfo) -> bool, skip_me: bool) -> i64 {
    let mut n = 0;
    for e in conn.shared.clients.iter() {
        let info = e.info.lock();
        if skip_me && info.id == conn.id {
            continue;
        }
        if filter(&info) {
            e.kill.cancel();
            n += 1;
        }
    }
    n
}

/// `CLIENT ID | SETNAME name | GETNAME | SETINFO <LIB-NAME | LIB-VER> value |
/// LIST [TYPE type] [ID id ...] | INFO | KILL ... | NO-EVICT <ON | OFF> |
/// NO-TOUCH <ON | OFF> | HELP`
fn client(conn: &mut Conn, a: &[Bytes]) -> Reply {
    let sub = &a[0];
    let arity = |n: usize| a.len() == n;
    if is(sub, "id") && arity(1) {
        Reply::Int(conn.id as i64)
    } else if is(sub, "setname") && arity(2) {
        match set_name(conn, &a[1]) {
            Ok(()) => Reply::OK,
            Err(e) => Reply::Error(e),
        }
    } else if is(sub, "getname") && arity(1) {
        let name = conn.entry.info.lock().name.clone();
        if name.is_empty() { Reply::Nil } else { Reply::bulk(name) }
    } else if is(sub, "setinfo") && arity(3) {
        let value = String::from_utf8_lossy(&a[2]).into_owned();
        if value.contains([' ', '\n']) {
            return Reply::Error(RedisError::err(format!(
                "{} cannot contain spaces, newlines or special characters.",
                String::from_utf8_lossy(&a[1]).to_ascii_lowercase()
            )));
        }
        let mut info = conn.entry.info.lock();
        if is(&a[1], "lib-name") {
            info.lib_name = value;
        } else if is(&a[1], "lib-ver") {
            info.lib_ver = value;
        } else {
            return Reply::Error(RedisError::err(format!("Unrecognized option '{}'", String::from_utf8_lossy(&a[1]))));
        }
        Reply::OK
    } else if is(sub, "list") {
        let mut ids: Option<Vec<u64>> = None;
        let mut i = 1;
        while i < a.len() {
            if is(&a[i], "id") {
                let parsed: Option<Vec<u64>> =
                    a[i + 1..].iter().map(|x| crate::num::parse_i64(x).and_then(|n| u64::try_from(n).ok())).collect();
                match parsed {
                    Some(v) if !v.is_empty() => ids = Some(v),
                    _ => return Reply::Error(RedisError::err("Invalid client ID")),
                }
                break;
            } else if is(&a[i], "type") && i + 1 < a.len() {
                i += 2;
            } else {
                return Reply::Error(RedisError::syntax());
            }
        }
        let mut lines: Vec<(u64, String)> = conn
            .shared
            .clients
            .iter()
            .map(|e| {
                let info = e.info.lock();
                (info.id, client_line(&info))
            })
            .filter(|(id, _)| ids.as_ref().is_none_or(|v| v.contains(id)))
            .collect();
        lines.sort_by_key(|(id, _)| *id);
        let text: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
        Reply::Verbatim(text)
    } else if is(sub, "info") && arity(1) {
        Reply::Verbatim(client_line(&conn.entry.info.lock()) + "\n")
    } else if is(sub, "kill") && a.len() >= 2 {
        if a.len() == 2 {
            // Old form: CLIENT KILL addr:port.
            let addr = String::from_utf8_lossy(&a[1]).into_owned();
            return match kill_where(conn, |i| i.addr.to_string() == addr, false) {
                0 => Reply::Error(RedisError::err("No such client")),
                _ => Reply::OK,
            };
        }
        let mut skip_me = true;
        let mut filters: Vec<ClientFilter> = Vec::new();
        for pair in a[1..].chunks(2) {
            let [k, v] = pair else { return Reply::Error(RedisError::syntax()) };
            let value = String::from_utf8_lossy(v).into_owned();
            if is(k, "id") {
                let Some(id) = crate::num::parse_i64(v) else {
                    return Reply::Error(RedisError::err("client-id should be greater than 0"));
                };
                filters.push(Box::new(move |i| i.id as i64 == id));
            } else if is(k, "addr") {
                filters.push(Box::new(move |i| i.addr.to_string() == value));
            } else if is(k, "laddr") {
                filters.push(Box::new(move |i| i.laddr.to_string() == value));
            } else if is(k, "user") {
                filters.push(Box::new(move |i| i.user == value));
            } else if is(k, "skipme") {
                skip_me = match value.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Reply::Error(RedisError::syntax()),
                };
            } else {
                return Reply::Error(RedisError::syntax());
            }
        }
        Reply::Int(kill_where(conn, |i| filters.iter().all(|f| f(i)), skip_me))
    } else if (is(sub, "no-evict") || is(sub, "no-touch")) && arity(2) {
        if is(&a[1], "on") || is(&a[1], "off") { Reply::OK } else { Reply::Error(RedisError::syntax()) }
    } else if is(sub, "getredir") && arity(1) {
        Reply::Int(-1)
    } else if is(sub, "help") {
        Reply::bulks([
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, USER, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "NO-EVICT (ON|OFF)",
            "    Protect the current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
            "HELP",
            "    Print this help.",
        ])
    } else if ["id", "setname", "getname", "setinfo", "info", "kill", "no-evict", "no-touch", "getredir"]
        .iter()
        .any(|w| is(sub, w))
    {
        Reply::Error(RedisError::wrong_arity(&format!("client|{}", String::from_utf8_lossy(sub).to_ascii_lowercase())))
    } else {
        Reply::Error(RedisError::unknown_subcommand(sub, "client"))
    }
}

/// `MULTI`
fn multi(conn: &mut Conn) -> Reply {
    if conn.multi.is_some() {
        return Reply::Error(RedisError::err("MULTI calls can not be nested"));
    }
    conn.multi = Some(Multi { cmds: Vec::new(), failed: false, db: conn.db });
    conn.entry.info.lock().in_multi = true;
    Reply::OK
}

/// `EXEC`
async fn exec(conn: &mut Conn) -> Reply {
    let Some(m) = conn.multi.take() else { return Reply::Error(RedisError::err("EXEC without MULTI")) };
    conn.entry.info.lock().in_multi = false;
    if m.failed {
        let _ = conn.engine.send(Msg::Unwatch { client: conn.id });
        return Reply::Error(RedisError::new("EXECABORT Transaction discarded because of previous errors."));
    }
    match conn.ask(|reply| Msg::Run { client: 0, cmds: m.cmds, exec: true, reply }).await {
        Some(mut o) => {
            let r = o.replies.pop().unwrap_or(Reply::NilArray);
            if r != Reply::NilArray {
                conn.db = m.db;
            }
            r
        }
        None => Reply::Error(RedisError::err("server is shutting down")),
    }
}

/// `DISCARD`
fn discard(conn: &mut Conn) -> Reply {
    if conn.multi.take().is_none() {
        return Reply::Error(RedisError::err("DISCARD without MULTI"));
    }
    conn.entry.info.lock().in_multi = false;
    let _ = conn.engine.send(Msg::Unwatch { client: conn.id });
    Reply::OK
}

/// `WATCH key [key ...]`
async fn watch(conn: &mut Conn, keys: Vec<Bytes>) -> Reply {
    if conn.multi.is_some() {
        return Reply::Error(RedisError::err("WATCH inside MULTI is not allowed"));
    }
    let (client, db) = (conn.id, conn.db);
    match conn.ask(|reply| Msg::Watch { client, db, keys, reply }).await {
        Some(_) => Reply::OK,
        None => Reply::Error(RedisError::err("server is shutting down")),
    }
}

fn confirmation(conn: &Conn, kind: &'static str, name: Option<Bytes>) -> Reply {
    let count = (conn.channels.len() + conn.patterns.len()) as i64;
    let parts = vec![Reply::bulk(kind), name.map_or(Reply::Nil, Reply::Bulk), Reply::Int(count)];
    if conn.resp3 { Reply::Push(parts) } else { Reply::Array(parts) }
}

fn update_counts(conn: &Conn) {
    let mut info = conn.entry.info.lock();
    info.subscriptions = conn.channels.len();
    info.patterns = conn.patterns.len();
}

/// `SUBSCRIBE channel [channel ...]` / `PSUBSCRIBE pattern [pattern ...]`
fn subscribe(conn: &mut Conn, names: Vec<Bytes>, pattern: bool) {
    let sub = Subscriber { out: conn.out.for_publishers(), resp3: conn.resp3 };
    for n in names {
        // Held for the subscription's life: its own copy, not a slice that
        // pins the whole read buffer it arrived in.
        let n = Bytes::copy_from_slice(&n);
        if pattern {
            conn.shared.pubsub.psubscribe(conn.id, n.clone(), sub.clone());
            conn.patterns.insert(n.clone());
        } else {
            conn.shared.pubsub.subscribe(conn.id, n.clone(), sub.clone());
            conn.channels.insert(n.clone());
        }
        let r = confirmation(conn, if pattern { "psubscribe" } else { "subscribe" }, Some(n));
        conn.push_reply(&r);
    }
    update_counts(conn);
    // Confirmations go out before any message published afterwards.
    conn.send_pending();
}

/// `UNSUBSCRIBE [channel [channel ...]]` / `PUNSUBSCRIBE [pattern [pattern ...]]`
fn unsubscribe(conn: &mut Conn, names: Vec<Bytes>, pattern: bool) {
    let kind = if pattern { "punsubscribe" } else { "unsubscribe" };
    let names: Vec<Bytes> = if names.is_empty() {
        if pattern { conn.patterns.iter().cloned().collect() } else { conn.channels.iter().cloned().collect() }
    } else {
        names
    };
    if names.is_empty() {
        let r = confirmation(conn, kind, None);
        conn.push_reply(&r);
    }
    for n in names {
        if pattern {
            conn.shared.pubsub.punsubscribe(conn.id, &n);
            conn.patterns.remove(&n);
        } else {
            conn.shared.pubsub.unsubscribe(conn.id, &n);
            conn.channels.remove(&n);
        }
        let r = confirmation(conn, kind, Some(n));
        conn.push_reply(&r);
    }
    update_counts(conn);
}

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`: stops the whole
/// orbit-server, cleanly, as a signal would.
fn shutdown(conn: &mut Conn, a: &[Bytes]) -> Option<Reply> {
    for o in a {
        if !["nosave", "save", "now", "force", "abort"].iter().any(|w| is(o, w)) {
            return Some(Reply::Error(RedisError::syntax()));
        }
    }
    if a.iter().any(|o| is(o, "abort")) {
        return Some(Reply::Error(RedisError::err("No shutdown in progress.")));
    }
    tracing::warn!(client = conn.id, "SHUTDOWN received on the redis endpoint; stopping the server");
    conn.shared.shutdown.cancel();
    conn.closing = true;
    None
}
