//! The text protocol: DDL, DML and queries, OK packets, SHOW and the
//! variables connectors read.

use mysql_async::Row;
use mysql_async::prelude::Queryable;

use super::{connect, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_dml_and_queries_in_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE shop").await.expect("create database");
    c.query_drop("USE shop").await.expect("use");
    c.query_drop(
        "CREATE TABLE `items` (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, \
         price DECIMAL(10,2), UNIQUE KEY by_name (name), KEY (price)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    )
    .await
    .expect("create table");
    c.query_drop("INSERT INTO items (name, price) VALUES ('apple', 1.25), ('plum', 2.50), ('fig', NULL)")
        .await
        .expect("insert");
    assert_eq!(c.affected_rows(), 3);
    assert_eq!(c.last_insert_id(), Some(1), "the first id the statement drew");
    c.query_drop("INSERT INTO items (name) VALUES ('kiwi')").await.expect("insert");
    assert_eq!(c.last_insert_id(), Some(4));
    let id: Option<u64> = c.query_first("SELECT LAST_INSERT_ID()").await.expect("last_insert_id");
    assert_eq!(id, Some(4));

    let names: Vec<String> =
        c.query("SELECT name FROM items WHERE price > 1 ORDER BY name LIMIT 1, 5").await.expect("q");
    assert_eq!(names, vec!["plum".to_string()], "LIMIT offset, count");
    c.query_drop("UPDATE items SET price = price * 2 WHERE price IS NOT NULL").await.expect("update");
    assert_eq!(c.affected_rows(), 2);
    let total: Option<String> = c.query_first("SELECT CAST(SUM(price) AS CHAR) FROM shop.items").await.expect("sum");
    assert_eq!(total.as_deref(), Some("7.50"));

    // Another database holds its own tables; qualified names reach across.
    c.query_drop("CREATE DATABASE other").await.expect("create");
    c.query_drop("CREATE TABLE other.items (id INT PRIMARY KEY)").await.expect("create in other");
    let tables: Vec<String> = c.query("SHOW TABLES").await.expect("show tables");
    assert_eq!(tables, vec!["items".to_string()]);
    let dbs: Vec<String> = c.query("SHOW DATABASES").await.expect("show databases");
    assert_eq!(dbs, vec!["information_schema".to_string(), "other".into(), "shop".into()]);
    let db: Option<String> = c.query_first("SELECT DATABASE()").await.expect("database()");
    assert_eq!(db.as_deref(), Some("shop"));

    let cols: Vec<Row> = c.query("DESCRIBE items").await.expect("describe");
    let described: Vec<(String, String, String, String)> = cols
        .into_iter()
        .map(|r| {
            let field: String = r.get(0).expect("field");
            let ty: String = r.get(1).expect("type");
            let null: String = r.get(2).expect("null");
            let key: String = r.get(3).expect("key");
            (field, ty, null, key)
        })
        .collect();
    assert_eq!(
        described,
        vec![
            ("id".into(), "int unsigned".into(), "NO".into(), "PRI".into()),
            ("name".into(), "varchar(40)".into(), "NO".into(), "UNI".into()),
            ("price".into(), "decimal(10,2)".into(), "YES".into(), "MUL".into()),
        ]
    );
    let create: Option<(String, String)> = c.query_first("SHOW CREATE TABLE items").await.expect("show create");
    let (_, text) = create.expect("a row");
    assert!(text.contains("`id` int unsigned NOT NULL AUTO_INCREMENT"), "{text}");
    assert!(text.contains("UNIQUE KEY `by_name` (`name`)"), "{text}");

    c.query_drop("DROP DATABASE other").await.expect("drop database");
    let dbs: Vec<String> = c.query("SHOW DATABASES").await.expect("show databases");
    assert!(!dbs.contains(&"other".to_string()));
    c.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_handshake_queries_and_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    // What Connector/J and PyMySQL read on connect.
    let row: Row = c
        .query_first(
            "SELECT @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client, \
             @@character_set_connection, @@character_set_results, @@character_set_server, @@collation_server, \
             @@init_connect, @@interactive_timeout, @@license, @@lower_case_table_names, @@max_allowed_packet, \
             @@net_write_timeout, @@performance_schema, @@sql_mode, @@system_time_zone, @@time_zone, \
             @@transaction_isolation, @@wait_timeout, @@version_comment, @@autocommit",
        )
        .await
        .expect("variables")
        .expect("one row");
    assert_eq!(row.columns_ref()[0].name_str(), "auto_increment_increment");
    let inc: i64 = row.get(0).expect("int");
    assert_eq!(inc, 1);
    let iso: String = row.get(16).expect("isolation");
    assert_eq!(iso, "READ-COMMITTED");
    let version: Option<String> = c.query_first("SELECT VERSION()").await.expect("version");
    assert!(version.expect("a version").starts_with("8.0."));

    c.query_drop("SET NAMES utf8mb4").await.expect("set names");
    c.query_drop("SET autocommit = 1, @@session.sql_mode = 'STRICT_TRANS_TABLES'").await.expect("set");
    let mode: Option<String> = c.query_first("SELECT @@sql_mode").await.expect("sql_mode");
    assert_eq!(mode.as_deref(), Some("STRICT_TRANS_TABLES"));
    c.query_drop("SET @n = 41").await.expect("user variable");
    let n: Option<i64> = c.query_first("SELECT @n + 1").await.expect("read it");
    assert_eq!(n, Some(42));
    let vars: Vec<(String, String)> = c.query("SHOW VARIABLES LIKE 'autocommit'").await.expect("show variables");
    assert_eq!(vars, vec![("autocommit".to_string(), "ON".to_string())]);
    let warnings: Vec<Row> = c.query("SHOW WARNINGS").await.expect("show warnings");
    assert!(warnings.is_empty());
    // Multi-statement text: one result per statement.
    let mut r = c.query_iter("SELECT 1; SELECT 2, 3").await.expect("multi");
    let first: Vec<i64> = r.collect().await.expect("first");
    let second: Vec<(i64, i64)> = r.collect().await.expect("second");
    assert_eq!((first, second), (vec![1], vec![(2, 3)]));
    drop(r);
    c.ping().await.expect("ping");
    c.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_statements_and_operators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE d").await.expect("create");
    c.query_drop("USE d").await.expect("use");
    c.query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) UNIQUE, n INT DEFAULT 0)")
        .await
        .expect("create");
    // Explicit ids move AUTO_INCREMENT past them; NULL draws the next.
    c.query_drop("INSERT INTO t (id, name) VALUES (10, 'ten')").await.expect("explicit id");
    c.query_drop("INSERT INTO t (name) VALUES ('eleven')").await.expect("auto id");
    assert_eq!(c.last_insert_id(), Some(11));
    c.query_drop("INSERT INTO t VALUES (NULL, 'twelve', 0)").await.expect("NULL id");
    assert_eq!(c.last_insert_id(), Some(12));
    // ON DUPLICATE KEY UPDATE, with VALUES() and with a row alias.
    c.query_drop("INSERT INTO t (name, n) VALUES ('ten', 5) ON DUPLICATE KEY UPDATE n = n + VALUES(n)")
        .await
        .expect("upsert");
    c.query_drop("INSERT INTO t (name, n) VALUES ('ten', 1) AS new ON DUPLICATE KEY UPDATE n = t.n + new.n")
        .await
        .expect("upsert with alias");
    // INSERT IGNORE skips clashing rows; REPLACE replaces them.
    c.query_drop("INSERT IGNORE INTO t (id, name) VALUES (11, 'dup'), (20, 'twenty')").await.expect("ignore");
    c.query_drop("REPLACE INTO t VALUES (12, 'TWELVE', 7)").await.expect("replace");
    let rows: Vec<(i64, String, i64)> = c.query("SELECT id, name, n FROM t ORDER BY id").await.expect("rows");
    assert_eq!(
        rows,
        vec![(10, "ten".to_string(), 6), (11, "eleven".into(), 0), (12, "TWELVE".into(), 7), (20, "twenty".into(), 0)]
    );
    // Division is exact, DIV truncates, and a zero divisor gives NULL.
    let row: Row = c
        .query_first("SELECT 7/2, 7 DIV 2, 1/0, MOD(10, 3), IFNULL(NULL, 'x'), IF(1 > 2, 'y', 'n'), TRUE")
        .await
        .expect("operators")
        .expect("a row");
    assert_eq!(row.get::<String, _>(0).as_deref(), Some("3.5000"));
    assert_eq!(row.get::<i64, _>(1), Some(3));
    assert_eq!(row.as_ref(2), Some(&mysql_async::Value::NULL));
    assert_eq!(row.get::<i64, _>(3), Some(1));
    assert_eq!(row.get::<String, _>(4).as_deref(), Some("x"));
    assert_eq!(row.get::<String, _>(5).as_deref(), Some("n"));
    assert_eq!(row.get::<i64, _>(6), Some(1));
    assert_eq!(row.columns_ref()[0].name_str(), "7/2", "unaliased columns are named as written");
    // A bulk insert drawing many AUTO_INCREMENT values in one statement.
    let values: Vec<String> = (0..300).map(|i| format!("('n{i}')")).collect();
    c.query_drop(format!("INSERT INTO t (name) VALUES {}", values.join(","))).await.expect("bulk insert");
    assert_eq!(c.affected_rows(), 300);
    // BETWEEN on the key is a range scan.
    let plan: Vec<String> = c.query("EXPLAIN SELECT name FROM t WHERE id BETWEEN 10 AND 12").await.expect("explain");
    assert!(plan[0].starts_with("Range Scan"), "{plan:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_schema_and_table_locks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE inv").await.expect("create");
    c.query_drop(
        "CREATE TABLE inv.parts (id BIGINT PRIMARY KEY, sku VARCHAR(12) NOT NULL, qty INT, UNIQUE KEY sku (sku))",
    )
    .await
    .expect("create");
    let schemata: Vec<String> =
        c.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1").await.expect("schemata");
    assert_eq!(schemata, vec!["information_schema".to_string(), "inv".into()]);
    let tables: Vec<(String, String, String)> = c
        .query("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'inv'")
        .await
        .expect("tables");
    assert_eq!(tables, vec![("inv".to_string(), "parts".into(), "BASE TABLE".into())]);
    let cols: Vec<(String, String, String, String)> = c
        .query(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'inv' AND TABLE_NAME = 'parts' ORDER BY ORDINAL_POSITION",
        )
        .await
        .expect("columns");
    assert_eq!(
        cols,
        vec![
            ("id".to_string(), "bigint".into(), "NO".into(), "PRI".into()),
            ("sku".into(), "varchar(12)".into(), "NO".into(), "UNI".into()),
            ("qty".into(), "int".into(), "YES".into(), "".into()),
        ]
    );
    let constraints: Vec<(String, String)> = c
        .query("SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS ORDER BY 1")
        .await
        .expect("constraints");
    assert_eq!(constraints, vec![("PRIMARY".to_string(), "PRIMARY KEY".into()), ("sku".into(), "UNIQUE".into())]);
    let routines: Vec<String> =
        c.query("SELECT ROUTINE_NAME FROM information_schema.ROUTINES").await.expect("routines");
    assert!(routines.is_empty());

    // LOCK TABLES ... WRITE holds off other sessions until UNLOCK TABLES.
    c.query_drop("USE inv").await.expect("use");
    c.query_drop("LOCK TABLES parts WRITE").await.expect("lock");
    let mut other = connect(&server, Some("inv")).await;
    let blocked = tokio::spawn(async move {
        other.query_drop("INSERT INTO parts VALUES (1, 'a', 1)").await.expect("insert after unlock");
        other
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM parts").await.expect("the holder reads");
    assert_eq!(n, Some(0), "the other session's insert waits");
    c.query_drop("UNLOCK TABLES").await.expect("unlock");
    let _other = blocked.await.expect("join");
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM parts").await.expect("count");
    assert_eq!(n, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_statement_of_a_query_string_reports_its_own_ok_packet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, None).await;
    c.query_drop("CREATE DATABASE d").await.expect("create");
    c.query_drop("USE d").await.expect("use");
    c.query_drop("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(5) UNIQUE)").await.expect("create");
    let mut r = c
        .query_iter("INSERT INTO t (name) VALUES ('a'); INSERT IGNORE INTO t (name) VALUES ('a'), ('a'); UPDATE t SET name = 'b'")
        .await
        .expect("multi");
    // (affected rows, insert id, warnings) of each statement, in order.
    let mut seen = Vec::new();
    loop {
        seen.push((r.affected_rows(), r.last_insert_id(), r.warnings()));
        // No rows and no more results: this OK packet was the last.
        if r.is_empty() {
            break;
        }
        let _: Vec<Row> = r.collect().await.expect("result");
    }
    drop(r);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], (1, Some(1), 0), "the first insert: its own id, no warnings");
    assert_eq!((seen[1].0, seen[1].2), (0, 2), "INSERT IGNORE: nothing inserted, two duplicate warnings");
    assert_eq!((seen[2].0, seen[2].2), (1, 0), "the UPDATE: one row, no warnings of its own");
}
