//! DDL, DML and queries through both protocols.

use tokio_postgres::SimpleQueryMessage;

use super::{connect, simple, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_dml_and_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;

    // A multi-statement string, each statement with its own tag.
    let msgs = c
        .simple_query(
            "CREATE TABLE IF NOT EXISTS items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty INT DEFAULT 1);
             INSERT INTO items (id, name) VALUES (1, 'apple'), (2, 'pear'), (3, 'fig');
             UPDATE items SET qty = qty + 10 WHERE id >= 2;
             DELETE FROM items WHERE name = 'fig';
             SELECT id, name, qty FROM items ORDER BY id;",
        )
        .await
        .expect("batch");
    let tags: Vec<u64> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(tags, vec![0, 3, 2, 1, 2], "CREATE, INSERT 0 3, UPDATE 2, DELETE 1, SELECT 2");
    assert_eq!(
        simple(&c, "SELECT id, name, qty FROM items ORDER BY id").await,
        vec![vec!["1".to_string(), "apple".into(), "1".into()], vec!["2".into(), "pear".into(), "11".into()],]
    );
    // IF NOT EXISTS on an existing table is not an error.
    c.batch_execute("CREATE TABLE IF NOT EXISTS items (x INT)").await.expect("if not exists");

    // Extended protocol with parameters, RETURNING and ON CONFLICT.
    let n = c.execute("INSERT INTO items VALUES ($1, $2, $3)", &[&4i64, &"kiwi", &7i32]).await.expect("insert");
    assert_eq!(n, 1);
    let row = c
        .query_one(
            "INSERT INTO items VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET qty = items.qty + excluded.qty RETURNING qty",
            &[&4i64, &"kiwi"],
        )
        .await
        .expect("upsert");
    assert_eq!(row.get::<_, i32>(0), 8);
    let n = c.execute("INSERT INTO items VALUES (4, 'dup') ON CONFLICT DO NOTHING", &[]).await.expect("nothing");
    assert_eq!(n, 0);
    let rows = c.query("SELECT name FROM items WHERE qty > $1 ORDER BY name DESC", &[&5i32]).await.expect("query");
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, vec!["pear", "kiwi"]);

    // Aggregates, GROUP BY, HAVING, joins.
    c.batch_execute(
        "CREATE TABLE orders (id INT PRIMARY KEY, item BIGINT, amount NUMERIC(10,2));
         INSERT INTO orders VALUES (1, 1, 2.50), (2, 1, 3.25), (3, 2, 10), (4, 9, 1);",
    )
    .await
    .expect("orders");
    assert_eq!(
        simple(&c, "SELECT i.name, count(*), sum(o.amount) FROM items i JOIN orders o ON o.item = i.id GROUP BY i.name HAVING count(*) >= 1 ORDER BY i.name").await,
        vec![vec!["apple".to_string(), "2".into(), "5.75".into()], vec!["pear".into(), "1".into(), "10.00".into()]]
    );
    assert_eq!(
        simple(&c, "SELECT o.id, i.name FROM orders o LEFT JOIN items i ON i.id = o.item WHERE o.id > 2 ORDER BY o.id")
            .await,
        vec![vec!["3".to_string(), "pear".into()], vec!["4".into(), "NULL".into()]]
    );
    assert_eq!(
        simple(&c, "EXPLAIN SELECT * FROM items WHERE id = 2").await,
        vec![vec!["Point Lookup on items (id = 2)".to_string()]]
    );
    assert_eq!(
        simple(&c, "EXPLAIN SELECT * FROM items WHERE id > 2").await,
        vec![vec!["Range Scan on items (id > 2)".to_string()]]
    );
    assert_eq!(
        simple(&c, "SELECT CASE WHEN qty > 5 THEN 'many' ELSE 'few' END, coalesce(NULL, name), upper(name) || '!' FROM items WHERE id = 1").await,
        vec![vec!["few".to_string(), "apple".into(), "APPLE!".into()]]
    );
    // Empty query.
    let msgs = c.simple_query("").await.expect("empty");
    assert!(msgs.iter().all(|m| !matches!(m, SimpleQueryMessage::Row(_))));

    c.batch_execute("DROP TABLE orders; DROP TABLE IF EXISTS orders; TRUNCATE items").await.expect("drop");
    assert_eq!(simple(&c, "SELECT count(*) FROM items").await, vec![vec!["0".to_string()]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_are_namespaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE DATABASE shop; CREATE TABLE t (x INT)").await.expect("create");
    let shop = super::connect_to(&super::conn_str(&server, "postgres", "shop")).await.expect("connect to shop");
    // `t` lives in postgres only.
    assert_eq!(super::sqlstate(shop.simple_query("SELECT * FROM t").await), "42P01");
    shop.batch_execute("CREATE TABLE t (y TEXT); INSERT INTO t VALUES ('in shop')").await.expect("shop table");
    assert_eq!(simple(&c, "SELECT count(*) FROM t").await, vec![vec!["0".to_string()]]);
    let missing = super::connect_to(&super::conn_str(&server, "postgres", "nope")).await;
    assert_eq!(super::sqlstate(missing), "3D000");
    drop(shop);
    c.batch_execute("DROP DATABASE shop").await.expect("drop database");
    let gone = super::connect_to(&super::conn_str(&server, "postgres", "shop")).await;
    assert_eq!(super::sqlstate(gone), "3D000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_fetch_rows_in_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server).await;
    c.batch_execute("CREATE TABLE n (i INT PRIMARY KEY); INSERT INTO n VALUES (1), (2), (3), (4), (5)")
        .await
        .expect("setup");
    let tx = c.transaction().await.expect("begin");
    let stmt = tx.prepare("SELECT i FROM n WHERE i > $1 ORDER BY i").await.expect("prepare");
    let portal = tx.bind(&stmt, &[&1i32]).await.expect("bind");
    // Each Execute with a row limit returns that many and suspends.
    let first: Vec<i32> = tx.query_portal(&portal, 2).await.expect("first").iter().map(|r| r.get(0)).collect();
    let second: Vec<i32> = tx.query_portal(&portal, 2).await.expect("second").iter().map(|r| r.get(0)).collect();
    let rest: Vec<i32> = tx.query_portal(&portal, 2).await.expect("rest").iter().map(|r| r.get(0)).collect();
    assert_eq!((first, second, rest), (vec![2, 3], vec![4, 5], vec![]));
    tx.commit().await.expect("commit");
}

/// pg_stat_activity lists the live sessions, pg_backend_pid() names the
/// asking one, and pg_settings shows that session's own settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_settings_in_the_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = connect(&server).await;
    let b = connect(&server).await;
    b.batch_execute("SET application_name = 'reporter'; BEGIN; SELECT 1").await.expect("b");
    let rows = simple(
        &a,
        "SELECT application_name, state, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() ORDER BY pid",
    )
    .await;
    assert_eq!(
        rows,
        vec![vec![
            "reporter".to_string(),
            "idle in transaction".into(),
            "SET application_name = 'reporter'; BEGIN; SELECT 1".into()
        ]]
    );
    let me = simple(&a, "SELECT state, query FROM pg_stat_activity WHERE pid = pg_backend_pid()").await;
    assert_eq!(me[0][0], "active");
    assert_eq!(
        simple(&b, "SELECT setting FROM pg_settings WHERE name = 'application_name'").await,
        vec![vec!["reporter".to_string()]]
    );
    assert_eq!(
        simple(&a, "SELECT setting FROM pg_settings WHERE name = 'application_name'").await,
        vec![vec![String::new()]]
    );
    b.batch_execute("ROLLBACK").await.expect("rollback");
    drop(b);
    // b's session is gone once its connection closes.
    let mut left = 2;
    for _ in 0..50 {
        left = simple(&a, "SELECT count(*) FROM pg_stat_activity").await[0][0].parse().expect("count");
        if left == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(left, 1);
}

/// The catalog queries DBeaver 25 sends when it connects and opens a
/// database (one per line in `clients/dbeaver_connect.sql`) all run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbeaver_connect_queries_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE t (id SERIAL PRIMARY KEY, name TEXT UNIQUE, CHECK (id > 0))").await.expect("fixture");
    for q in include_str!("clients/dbeaver_connect.sql").lines().filter(|l| !l.trim().is_empty()) {
        c.simple_query(q).await.unwrap_or_else(|e| panic!("{q}\n{e}"));
    }
    // What DBeaver reads from them.
    assert_eq!(
        simple(&c, "SELECT current_schema(),session_user").await,
        vec![vec!["public".to_string(), "postgres".into()]]
    );
    assert_eq!(
        simple(&c, "SELECT setting FROM pg_catalog.pg_settings where name='standard_conforming_strings'").await,
        vec![vec!["on".to_string()]]
    );
    assert_eq!(
        simple(&c, "SELECT 'public' = ANY(current_schemas(true)), 'x' <> ALL ('{a,b}'::text[]), (ARRAY['a','b'])[2]")
            .await,
        vec![vec!["t".to_string(), "t".into(), "b".into()]]
    );
}
