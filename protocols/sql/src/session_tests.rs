//! Which queries may run on the connection's thread.

use orbit_storage::{Protocol, Store, StoreOptions, TableStorage};

use super::*;

async fn session() -> (Arc<Store>, Session) {
    let store = Arc::new(Store::in_memory(Protocol::Postgresql, &StoreOptions::default()).expect("store"));
    let tables: Arc<dyn TableStorage> = Arc::new(store.tables().clone());
    let mut s = Session::open(SqlEngine::new(tables), "postgres", "postgres").await.expect("session");
    for sql in ["CREATE TABLE t (id INT PRIMARY KEY, v INT)", "CREATE TABLE u (id INT PRIMARY KEY)"] {
        s.run(sql).await.pop().expect("result").expect("setup");
    }
    (store, s)
}

async fn bounded(s: &Session, sql: &str) -> bool {
    let stmts = parse_pg(sql).expect("parses");
    let [stmt] = stmts.as_slice() else { panic!("one statement: {sql}") };
    match s.plan(stmt, sql, &mut Vec::new()).await.expect("plans") {
        Plan::Select(p) => fetch::bounded_by_input(&p),
        Plan::Insert(i) => dml::insert_rows_bounded(&i),
        Plan::Update(m) | Plan::Delete(m) => !dml::has_subqueries(&m),
        _ => panic!("not a query: {sql}"),
    }
}

#[tokio::test]
async fn only_queries_bounded_by_their_input_run_inline() {
    let (_store, s) = session().await;
    for sql in [
        "SELECT 1",
        "SELECT v FROM t WHERE id = 1",
        "SELECT count(*), max(v) FROM t GROUP BY v HAVING count(*) > 1",
        "SELECT id FROM t UNION SELECT id FROM u",
        "VALUES (1, 2), (3, 4)",
        "SELECT relname FROM pg_class",
        "INSERT INTO u SELECT id FROM t",
        "INSERT INTO t VALUES (1, 2), (3, 4)",
        "UPDATE t SET v = v + 1 WHERE id < 10",
        "DELETE FROM t WHERE v IS NULL",
    ] {
        assert!(bounded(&s, sql).await, "{sql} is bounded");
    }
    for sql in [
        "SELECT count(*) FROM generate_series(1, 100000000)",
        "SELECT generate_series(1, 100000000)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r LIMIT 1",
        "WITH c AS (SELECT id FROM t) SELECT id FROM c",
        "SELECT id FROM (SELECT id FROM t) d",
        "SELECT id FROM t WHERE id IN (SELECT id FROM u)",
        "SELECT (SELECT count(*) FROM u) FROM t",
        "SELECT id FROM t UNION SELECT n FROM generate_series(1, 3) n",
        "INSERT INTO u SELECT n FROM generate_series(1, 100000000) n",
        "INSERT INTO t VALUES (1, (SELECT count(*) FROM generate_series(1, 100000000)))",
        "UPDATE t SET v = (SELECT count(*) FROM generate_series(1, 100000000))",
        "DELETE FROM t WHERE id IN (SELECT id FROM u)",
        "UPDATE t SET v = 1 WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
    ] {
        assert!(!bounded(&s, sql).await, "{sql} is not bounded");
    }
}
