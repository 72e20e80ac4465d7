//! Connection and server commands, and RESP3 reply shapes.

use super::{connect, connect_url, r, rv, start};
use crate::support::{Orbit, command};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_and_server_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "PING").await, "PONG");
    assert_eq!(r(&mut c, "PING hi").await, "\"hi\"");
    assert_eq!(r(&mut c, "ECHO hello").await, "\"hello\"");
    assert_eq!(r(&mut c, "SELECT 15").await, "OK");
    assert_eq!(r(&mut c, "SELECT 16").await, "ERR: DB index is out of range");
    assert_eq!(r(&mut c, "SELECT x").await, "ERR: value is not an integer or out of range");
    assert_eq!(r(&mut c, "SET in15 v").await, "OK");
    assert_eq!(r(&mut c, "DBSIZE").await, "1");
    assert_eq!(r(&mut c, "SELECT 0").await, "OK");
    assert_eq!(r(&mut c, "DBSIZE").await, "0");
    let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut c).await.expect("client id");
    assert!(id > 0);
    assert_eq!(r(&mut c, "CLIENT GETNAME").await, "nil");
    assert_eq!(r(&mut c, "CLIENT SETNAME worker-1").await, "OK");
    assert_eq!(r(&mut c, "CLIENT GETNAME").await, "\"worker-1\"");
    assert_eq!(
        rv(&mut c, &["CLIENT", "SETNAME", "has space"]).await,
        "ERR: Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(r(&mut c, "CLIENT SETINFO LIB-NAME orbit-test").await, "OK");
    assert_eq!(r(&mut c, "CLIENT SETINFO LIB-VER 1.0").await, "OK");
    assert_eq!(r(&mut c, "CLIENT NO-EVICT on").await, "OK");
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut c).await.expect("client list");
    assert!(
        list.contains("name=worker-1") && list.contains("lib-name=orbit-test") && list.contains(&format!("id={id} ")),
        "{list}"
    );
    let info: String = redis::cmd("CLIENT").arg("INFO").query_async(&mut c).await.expect("client info");
    assert!(info.starts_with(&format!("id={id} ")));
    assert_eq!(r(&mut c, "CLIENT BOGUS").await, "ERR: unknown subcommand 'BOGUS'. Try CLIENT HELP.");
    // CLIENT KILL closes the other connection.
    let mut victim = connect(&server, false).await;
    let victim_id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut victim).await.expect("id");
    assert_eq!(r(&mut c, &format!("CLIENT KILL ID {victim_id}")).await, "1");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(redis::cmd("PING").query_async::<String>(&mut victim).await.is_err(), "the killed connection is closed");

    let info: String = redis::cmd("INFO").query_async(&mut c).await.expect("info");
    assert!(info.starts_with("# Server\r\nredis_version:7."), "{info}");
    for section in
        ["# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# Keyspace", "db15:keys=1,expires=0"]
    {
        assert!(info.contains(section), "INFO lacks {section}");
    }
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut c).await.expect("info");
    assert!(stats.contains("cmdstat_set:calls="), "{stats}");
    assert!(!stats.contains("# Server"));
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query_async(&mut c).await.expect("count");
    assert!(count > 120, "{count} commands");
    assert_eq!(
        r(&mut c, "COMMAND INFO get").await,
        concat!(
            "[[\"get\", 2, [readonly, fast], 1, 1, 1, [@read, @string, @fast], [], ",
            "[[\"flags\", [RO], \"begin_search\", [\"type\", \"index\", \"spec\", [\"index\", 1]], ",
            "\"find_keys\", [\"type\", \"range\", \"spec\", [\"lastkey\", 0, \"keystep\", 1, \"limit\", 0]]]], []]]"
        )
    );
    let docs = r(&mut c, "COMMAND DOCS get").await;
    assert!(docs.contains("\"summary\"") && docs.contains("\"string\""), "{docs}");
    assert_eq!(r(&mut c, "COMMAND GETKEYS MSET a 1 b 2").await, "[\"a\", \"b\"]");
    assert_eq!(r(&mut c, "CONFIG GET appendonly").await, "[\"appendonly\", \"yes\"]");
    assert_eq!(r(&mut c, "CONFIG GET databases").await, "[\"databases\", \"16\"]");
    assert_eq!(r(&mut c, "CONFIG GET save").await, "[\"save\", \"\"]");
    assert_eq!(r(&mut c, "CONFIG SET proto-max-bulk-len 1048576").await, "OK");
    assert_eq!(r(&mut c, "CONFIG GET proto-max-bulk-len").await, "[\"proto-max-bulk-len\", \"1048576\"]");
    assert_eq!(
        r(&mut c, "CONFIG SET databases 4").await,
        "ERR: CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        r(&mut c, "CONFIG SET nosuch 1").await,
        "ERR: Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    let time: Vec<String> = redis::cmd("TIME").query_async(&mut c).await.expect("time");
    assert!(time[0].parse::<u64>().expect("secs") > 1_700_000_000);
    let before: i64 = redis::cmd("LASTSAVE").query_async(&mut c).await.expect("lastsave");
    assert_eq!(r(&mut c, "SAVE").await, "OK");
    assert_eq!(r(&mut c, "BGSAVE").await, "Background saving started");
    let after: i64 = redis::cmd("LASTSAVE").query_async(&mut c).await.expect("lastsave");
    assert!(after >= before);
    assert_eq!(r(&mut c, "FLUSHALL").await, "OK");
    assert_eq!(r(&mut c, "SELECT 15").await, "OK");
    assert_eq!(r(&mut c, "DBSIZE").await, "0");
    assert_eq!(r(&mut c, "RESET").await, "RESET");
    assert_eq!(r(&mut c, "CLIENT GETNAME").await, "nil");
    assert_eq!(r(&mut c, "SET after-reset v").await, "OK");
    assert_eq!(r(&mut c, "SELECT 0").await, "OK");
    assert_eq!(r(&mut c, "GET after-reset").await, "\"v\"", "RESET returns to database 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_reply_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, true).await;
    let hello = r(&mut c, "HELLO 3").await;
    assert!(hello.contains("\"proto\": 3") && hello.contains("\"server\": \"redis\""), "{hello}");
    assert_eq!(r(&mut c, "HSET h a 1 b 2").await, "2");
    assert_eq!(r(&mut c, "HGETALL h").await, "{\"a\": \"1\", \"b\": \"2\"}");
    assert_eq!(r(&mut c, "SADD s x y").await, "2");
    assert_eq!(r(&mut c, "SMEMBERS s").await, "~[\"x\", \"y\"]");
    assert_eq!(r(&mut c, "ZADD z 1.5 m 3 n").await, "2");
    assert_eq!(r(&mut c, "ZSCORE z m").await, "1.5");
    assert_eq!(r(&mut c, "ZRANGE z 0 -1 WITHSCORES").await, "[[\"m\", 1.5], [\"n\", 3]]");
    assert_eq!(r(&mut c, "ZPOPMIN z").await, "[\"m\", 1.5]");
    assert_eq!(r(&mut c, "GET nope").await, "nil");
    assert_eq!(r(&mut c, "CONFIG GET appendonly").await, "{\"appendonly\": \"yes\"}");
    let info = r(&mut c, "INFO server").await;
    assert!(info.starts_with("verbatim(# Server"), "{info}");
    assert_eq!(r(&mut c, "HRANDFIELD h 2 WITHVALUES").await.matches('[').count(), 3, "pairs are nested in RESP3");
    assert_eq!(r(&mut c, "HELLO 4").await, "NOPROTO: unsupported protocol version");
    // The reply to HELLO 2 is already in RESP2: a flat array.
    assert!(r(&mut c, "HELLO 2").await.contains("\"proto\", 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(dir.path(), &crate::support::only("redis"));
    cmd.env("ORBIT_REDIS_PASSWORD", "s3cret");
    let server = Orbit::try_start(cmd).expect("start");
    let mut c = connect_url(&server.redis_url()).await;
    assert_eq!(r(&mut c, "GET k").await, "NOAUTH: Authentication required.");
    assert_eq!(r(&mut c, "AUTH wrong").await, "WRONGPASS: invalid username-password pair or user is disabled.");
    assert_eq!(r(&mut c, "AUTH default wrong").await, "WRONGPASS: invalid username-password pair or user is disabled.");
    assert!(r(&mut c, "HELLO 3").await.starts_with("NOAUTH"));
    assert_eq!(r(&mut c, "AUTH s3cret").await, "OK");
    assert_eq!(r(&mut c, "SET k v").await, "OK");
    // A client library authenticating through its URL.
    let url = format!("redis://:s3cret@{}/?protocol=resp3", server.redis());
    let mut authed = connect_url(&url).await;
    assert_eq!(r(&mut authed, "GET k").await, "\"v\"");
    // HELLO with AUTH logs in and switches protocol at once.
    let mut fresh = connect_url(&server.redis_url()).await;
    assert!(r(&mut fresh, "HELLO 2 AUTH default s3cret SETNAME app").await.contains("\"proto\", 2"));
    assert_eq!(r(&mut fresh, "CLIENT GETNAME").await, "\"app\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_without_a_password_behaves_like_a_fresh_redis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(
        r(&mut c, "AUTH anything").await,
        "ERR: AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    assert_eq!(r(&mut c, "AUTH default anything").await, "OK");
}
