//! TableStorage conformance, with and without the hot tier.

use orbit_storage::table::{CmpOp, ColumnDef, ColumnSource, Filter, ScanOrder, SelectQuery, TableSchema, Update};
use orbit_storage::{DataType, Protocol, StorageError, Store, StoreOptions, TableStorage, Value};

use super::Harness;

pub(crate) fn store(h: &Harness, hot_tier_rows: usize) -> Store {
    let options = StoreOptions { hot_tier_rows, ..StoreOptions::default() };
    Store::with_engine(Protocol::Postgresql, h.engine.clone(), None, &options).expect("store")
}

fn accounts() -> TableSchema {
    TableSchema::new(
        "accounts",
        vec![
            ColumnDef::new("id", DataType::BigInt).not_null(),
            ColumnDef::new("owner", DataType::Varchar { max: Some(20) }).not_null(),
            ColumnDef::new("balance", DataType::Numeric { precision: Some(12), scale: Some(2) }),
        ],
        &["id"],
    )
}

fn row(id: i64, owner: &str, balance: i64) -> Vec<Value> {
    vec![Value::Int(id), Value::Text(owner.into()), Value::Decimal(rust_decimal::Decimal::new(balance, 2))]
}

fn ids(rows: &[Vec<Value>]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r[0] {
            Value::Int(i) => i,
            ref other => panic!("id is {other:?}"),
        })
        .collect()
}

async fn seeded(h: &Harness, hot: usize) -> Store {
    let s = store(h, hot);
    let t = s.tables();
    t.create_table(&accounts()).await.expect("create");
    for (i, o) in [(3, "carol"), (1, "alice"), (2, "bob"), (5, "eve"), (4, "dave")] {
        t.insert(None, "accounts", row(i, o, i * 100)).await.expect("insert");
    }
    s
}

pub(crate) async fn schemas(h: Harness, hot: usize) {
    let s = store(&h, hot);
    let t = s.tables();
    assert_eq!(t.get_table_schema("accounts").await.expect("get"), None);
    t.create_table(&accounts()).await.expect("create");
    assert_eq!(t.get_table_schema("accounts").await.expect("get"), Some(accounts()));
    assert!(matches!(t.create_table(&accounts()).await, Err(StorageError::TableExists(_))));
    let bad = TableSchema::new("bad", vec![ColumnDef::new("a", DataType::Json)], &["a"]);
    assert!(matches!(t.create_table(&bad).await, Err(StorageError::InvalidValue(_))));
    let bad = TableSchema::new("bad", vec![ColumnDef::new("a", DataType::Text)], &["b"]);
    assert!(t.create_table(&bad).await.is_err());
    assert_eq!(t.list_tables().await.expect("list").len(), 1);
    assert!(t.drop_table("accounts").await.expect("drop"));
    assert!(!t.drop_table("accounts").await.expect("drop again"));
    assert!(matches!(t.insert(None, "accounts", row(1, "a", 1)).await, Err(StorageError::NoSuchTable(_))));
}

pub(crate) async fn rows_come_back_in_key_order_and_filters_apply(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    let all = t.select(None, &SelectQuery::all("accounts")).await.expect("select");
    assert_eq!(ids(&all), vec![1, 2, 3, 4, 5]);
    let q = SelectQuery { order: ScanOrder::PrimaryKeyDesc, limit: Some(2), ..SelectQuery::all("accounts") };
    assert_eq!(ids(&t.select(None, &q).await.expect("select")), vec![5, 4]);
    let range =
        Filter::And(vec![Filter::cmp("id", CmpOp::GtEq, Value::Int(2)), Filter::cmp("id", CmpOp::Lt, Value::Int(5))]);
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts").filter(range)).await.expect("select")), vec![2, 3, 4]);
    let by_owner =
        Filter::In { column: "owner".into(), values: vec![Value::Text("eve".into()), Value::Text("bob".into())] };
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts").filter(by_owner)).await.expect("select")), vec![2, 5]);
    let q = SelectQuery {
        columns: Some(vec!["owner".into()]),
        filter: Filter::eq("id", Value::Int(3)),
        ..SelectQuery::all("accounts")
    };
    assert_eq!(t.select(None, &q).await.expect("select"), vec![vec![Value::Text("carol".into())]]);
    assert_eq!(t.get(None, "accounts", &[Value::Int(4)]).await.expect("get"), Some(row(4, "dave", 400)));
    assert_eq!(t.get(None, "accounts", &[Value::Int(9)]).await.expect("get"), None);
    let unknown = SelectQuery::all("accounts").filter(Filter::eq("nope", Value::Int(1)));
    assert!(matches!(t.select(None, &unknown).await, Err(StorageError::NoSuchColumn { .. })));
}

pub(crate) async fn constraints_are_enforced(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    assert!(matches!(t.insert(None, "accounts", row(1, "again", 0)).await, Err(StorageError::DuplicateKey { .. })));
    let null_owner = vec![Value::Int(9), Value::Null, Value::Null];
    assert!(matches!(t.insert(None, "accounts", null_owner).await, Err(StorageError::NotNull { .. })));
    let wrong_type = vec![Value::Text("x".into()), Value::Text("x".into()), Value::Null];
    assert!(matches!(t.insert(None, "accounts", wrong_type).await, Err(StorageError::InvalidValue(_))));
    let too_long = row(9, "a name far longer than twenty characters", 0);
    assert!(matches!(t.insert(None, "accounts", too_long).await, Err(StorageError::InvalidValue(_))));
    assert!(t.insert(None, "accounts", vec![Value::Int(9)]).await.is_err());
    t.upsert(None, "accounts", row(1, "replaced", 1)).await.expect("upsert");
    assert_eq!(t.get(None, "accounts", &[Value::Int(1)]).await.expect("get"), Some(row(1, "replaced", 1)));
    assert_eq!(t.select(None, &SelectQuery::all("accounts")).await.expect("select").len(), 5);
}

pub(crate) async fn updates_and_deletes(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    let set = [Update::set("balance", Value::Decimal(rust_decimal::Decimal::ZERO))];
    let n = t.update(None, "accounts", &set, &Filter::cmp("id", CmpOp::Gt, Value::Int(3))).await.expect("update");
    assert_eq!(n, 2);
    assert_eq!(t.get(None, "accounts", &[Value::Int(5)]).await.expect("get"), Some(row(5, "eve", 0)));
    // Moving a key onto a taken one fails and changes nothing.
    let onto_taken = [Update::set("id", Value::Int(2))];
    let r = t.update(None, "accounts", &onto_taken, &Filter::eq("id", Value::Int(1))).await;
    assert!(matches!(r, Err(StorageError::DuplicateKey { .. })));
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts")).await.expect("select")), vec![1, 2, 3, 4, 5]);
    // Moving a key is a delete and an insert.
    let n = t
        .update(None, "accounts", &[Update::set("id", Value::Int(10))], &Filter::eq("id", Value::Int(1)))
        .await
        .expect("move");
    assert_eq!(n, 1);
    assert_eq!(t.get(None, "accounts", &[Value::Int(1)]).await.expect("get"), None);
    assert_eq!(t.get(None, "accounts", &[Value::Int(10)]).await.expect("get"), Some(row(10, "alice", 100)));
    // Two rows moved onto one key clash with each other.
    let both = Filter::In { column: "id".into(), values: vec![Value::Int(4), Value::Int(5)] };
    let r = t.update(None, "accounts", &[Update::set("id", Value::Int(50))], &both).await;
    assert!(matches!(r, Err(StorageError::DuplicateKey { .. })));
    let n = t.delete(None, "accounts", &Filter::cmp("id", CmpOp::LtEq, Value::Int(3))).await.expect("delete");
    assert_eq!(n, 2);
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts")).await.expect("select")), vec![4, 5, 10]);
    assert_eq!(t.delete(None, "accounts", &Filter::All).await.expect("delete all"), 3);
}

pub(crate) async fn tables_without_a_key_keep_insertion_order(h: Harness, hot: usize) {
    let s = store(&h, hot);
    let t = s.tables();
    let log = TableSchema::new("log", vec![ColumnDef::new("msg", DataType::Text)], &[]);
    t.create_table(&log).await.expect("create");
    for m in ["first", "second", "first"] {
        t.insert(None, "log", vec![Value::Text(m.into())]).await.expect("insert");
    }
    let rows = t.select(None, &SelectQuery::all("log")).await.expect("select");
    assert_eq!(
        rows,
        vec![vec![Value::Text("first".into())], vec![Value::Text("second".into())], vec![Value::Text("first".into())]]
    );
    assert_eq!(t.delete(None, "log", &Filter::eq("msg", Value::Text("first".into()))).await.expect("delete"), 2);
    assert!(t.get(None, "log", &[Value::Int(1)]).await.is_err(), "no key to look up by");
}

pub(crate) async fn transactions_isolate_and_conflict(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    let tx = t.begin_transaction().await.expect("begin");
    t.insert(Some(&tx), "accounts", row(6, "frank", 600)).await.expect("insert in tx");
    t.update(
        Some(&tx),
        "accounts",
        &[Update::set("owner", Value::Text("ALICE".into()))],
        &Filter::eq("id", Value::Int(1)),
    )
    .await
    .expect("update in tx");
    // The transaction sees its own writes; nobody else does yet.
    assert_eq!(ids(&t.select(Some(&tx), &SelectQuery::all("accounts")).await.expect("select")), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(t.get(None, "accounts", &[Value::Int(6)]).await.expect("get"), None);
    assert_eq!(t.get(None, "accounts", &[Value::Int(1)]).await.expect("get"), Some(row(1, "alice", 100)));
    t.commit_transaction(tx.clone()).await.expect("commit");
    assert!(!tx.is_open());
    assert!(matches!(t.insert(Some(&tx), "accounts", row(7, "x", 0)).await, Err(StorageError::TransactionClosed)));
    assert_eq!(t.get(None, "accounts", &[Value::Int(1)]).await.expect("get"), Some(row(1, "ALICE", 100)));

    // Rollback discards.
    let tx = t.begin_transaction().await.expect("begin");
    t.delete(Some(&tx), "accounts", &Filter::All).await.expect("delete in tx");
    t.rollback_transaction(tx).await.expect("rollback");
    assert_eq!(t.select(None, &SelectQuery::all("accounts")).await.expect("select").len(), 6);

    // Snapshot reads: a transaction keeps seeing what it saw, even through the hot tier.
    let reader = t.begin_transaction().await.expect("begin");
    assert_eq!(t.get(Some(&reader), "accounts", &[Value::Int(2)]).await.expect("get"), Some(row(2, "bob", 200)));
    t.update(None, "accounts", &[Update::set("owner", Value::Text("robert".into()))], &Filter::eq("id", Value::Int(2)))
        .await
        .expect("update");
    assert_eq!(t.get(Some(&reader), "accounts", &[Value::Int(2)]).await.expect("get"), Some(row(2, "bob", 200)));
    let fresh = t.begin_transaction().await.expect("begin");
    assert_eq!(t.get(Some(&fresh), "accounts", &[Value::Int(2)]).await.expect("get"), Some(row(2, "robert", 200)));

    // Two transactions updating one row: the second to commit fails and writes nothing.
    let a = t.begin_transaction().await.expect("begin");
    let b = t.begin_transaction().await.expect("begin");
    let set = |v: i64| [Update::set("balance", Value::Decimal(rust_decimal::Decimal::new(v, 2)))];
    t.update(Some(&a), "accounts", &set(1), &Filter::eq("id", Value::Int(3))).await.expect("a");
    t.update(Some(&b), "accounts", &set(2), &Filter::eq("id", Value::Int(3))).await.expect("b");
    t.insert(Some(&b), "accounts", row(8, "only-b", 0)).await.expect("b insert");
    t.commit_transaction(a).await.expect("a commits");
    assert_eq!(t.commit_transaction(b).await, Err(StorageError::WriteConflict));
    assert_eq!(t.get(None, "accounts", &[Value::Int(3)]).await.expect("get"), Some(row(3, "carol", 1)));
    assert_eq!(t.get(None, "accounts", &[Value::Int(8)]).await.expect("get"), None);

    // Two inserts of one key race: one wins, the other conflicts.
    let a = t.begin_transaction().await.expect("begin");
    let b = t.begin_transaction().await.expect("begin");
    t.insert(Some(&a), "accounts", row(9, "a", 0)).await.expect("a");
    t.insert(Some(&b), "accounts", row(9, "b", 0)).await.expect("b sees no row 9 in its snapshot");
    t.commit_transaction(a).await.expect("a");
    assert_eq!(t.commit_transaction(b).await, Err(StorageError::WriteConflict));

    // Dropping a table under a writer fails the writer.
    let w = t.begin_transaction().await.expect("begin");
    t.insert(Some(&w), "accounts", row(11, "w", 0)).await.expect("insert");
    t.drop_table("accounts").await.expect("drop");
    assert_eq!(t.commit_transaction(w).await, Err(StorageError::WriteConflict));
}

pub(crate) async fn concurrent_increments_lose_nothing(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables().clone();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    loop {
                        let tx = t.begin_transaction().await.expect("begin");
                        let r = t.get(Some(&tx), "accounts", &[Value::Int(1)]).await.expect("get").expect("row");
                        let Value::Decimal(b) = r[2] else { panic!("balance") };
                        let set = [Update::set("balance", Value::Decimal(b + rust_decimal::Decimal::ONE))];
                        t.update(Some(&tx), "accounts", &set, &Filter::eq("id", Value::Int(1))).await.expect("update");
                        match t.commit_transaction(tx).await {
                            Ok(()) => break,
                            Err(StorageError::WriteConflict) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let r = t.get(None, "accounts", &[Value::Int(1)]).await.expect("get").expect("row");
    assert_eq!(r[2], Value::Decimal(rust_decimal::Decimal::new(100, 2) + rust_decimal::Decimal::from(200)));
}

pub(crate) async fn metrics_count_operations(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    for _ in 0..3 {
        t.get(None, "accounts", &[Value::Int(1)]).await.expect("get");
    }
    t.checkpoint().await.expect("checkpoint");
    t.compact().await.expect("compact");
    let m = t.metrics().await.expect("metrics");
    assert!(m.ops.writes >= 6, "{m:?}");
    assert!(m.ops.write_latency.count() >= 6);
    assert!(m.ops.wal_syncs >= 1);
    if hot > 0 {
        assert!(m.ops.cache_hits >= 2, "repeat reads hit the hot tier: {m:?}");
        assert!(m.hot_tier_rows >= 1 && m.hot_tier_rows <= m.hot_tier_capacity);
    } else {
        assert_eq!(m.ops.cache_hits, 0);
        assert!(m.ops.reads >= 3);
    }
    assert_eq!(s.health().state, orbit_storage::HealthState::Healthy);
}

fn with_owner_index(unique: bool) -> TableSchema {
    let mut s = accounts();
    s.indexes.push(orbit_storage::table::IndexDef {
        name: "by_owner".into(),
        columns: vec!["owner".into()],
        unique,
        constraint: false,
    });
    s
}

pub(crate) async fn secondary_indexes_find_rows_and_stay_in_step(h: Harness, hot: usize) {
    let s = store(&h, hot);
    let t = s.tables();
    t.create_table(&with_owner_index(false)).await.expect("create");
    for (i, o) in [(1, "ann"), (2, "bob"), (3, "ann"), (4, "cy")] {
        t.insert(None, "accounts", row(i, o, i)).await.expect("insert");
    }
    let by = |o: &str| SelectQuery::all("accounts").filter(Filter::eq("owner", Value::Text(o.into())));
    assert_eq!(ids(&t.select(None, &by("ann")).await.expect("select")), vec![1, 3]);
    // Updates move entries; deletes remove them.
    t.update(None, "accounts", &[Update::set("owner", Value::Text("bob".into()))], &Filter::eq("id", Value::Int(1)))
        .await
        .expect("update");
    assert_eq!(ids(&t.select(None, &by("ann")).await.expect("select")), vec![3]);
    assert_eq!(ids(&t.select(None, &by("bob")).await.expect("select")), vec![1, 2]);
    t.delete(None, "accounts", &Filter::eq("id", Value::Int(2))).await.expect("delete");
    assert_eq!(ids(&t.select(None, &by("bob")).await.expect("select")), vec![1]);
    // Ranges on the indexed column.
    let range = Filter::cmp("owner", CmpOp::GtEq, Value::Text("b".into()));
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts").filter(range)).await.expect("select")), vec![1, 4]);
    // Upsert replaces the old entry.
    t.upsert(None, "accounts", row(4, "dee", 4)).await.expect("upsert");
    assert!(t.select(None, &by("cy")).await.expect("select").is_empty());
    assert_eq!(ids(&t.select(None, &by("dee")).await.expect("select")), vec![4]);
}

pub(crate) async fn unique_indexes_refuse_duplicates(h: Harness, hot: usize) {
    let s = store(&h, hot);
    let t = s.tables();
    t.create_table(&with_owner_index(true)).await.expect("create");
    t.insert(None, "accounts", row(1, "ann", 1)).await.expect("insert");
    let r = t.insert(None, "accounts", row(2, "ann", 2)).await;
    assert!(matches!(r, Err(StorageError::UniqueViolation { .. })), "{r:?}");
    t.insert(None, "accounts", row(2, "bob", 2)).await.expect("insert");
    // Two rows may trade values within one statement... but not collide.
    let r = t
        .update(None, "accounts", &[Update::set("owner", Value::Text("bob".into()))], &Filter::eq("id", Value::Int(1)))
        .await;
    assert!(matches!(r, Err(StorageError::UniqueViolation { .. })));
    // Rewriting its own value is no clash.
    t.upsert(None, "accounts", row(1, "ann", 7)).await.expect("same value");
    // The failed statements changed nothing.
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts")).await.expect("select")), vec![1, 2]);
}

pub(crate) async fn alter_table_rewrites_rows_keys_and_indexes(h: Harness, hot: usize) {
    use orbit_storage::table::IndexDef;
    let s = seeded(&h, hot).await;
    let t = s.tables();
    // Add a column with a value, drop `balance`, rename the table, add an index.
    let mut schema = TableSchema::new(
        "people",
        vec![
            ColumnDef::new("id", DataType::BigInt).not_null(),
            ColumnDef::new("owner", DataType::Varchar { max: Some(20) }).not_null(),
            ColumnDef::new("active", DataType::Boolean),
        ],
        &["id"],
    );
    schema.indexes.push(IndexDef {
        name: "people_owner_key".into(),
        columns: vec!["owner".into()],
        unique: true,
        constraint: true,
    });
    let sources = [ColumnSource::Column(0), ColumnSource::Column(1), ColumnSource::Value(Value::Bool(true))];
    t.alter_table("accounts", &schema, &sources).await.expect("alter");
    assert_eq!(t.get_table_schema("accounts").await.expect("get"), None);
    assert_eq!(t.get_table_schema("people").await.expect("get"), Some(schema.clone()));
    let row3 = t.get(None, "people", &[Value::Int(3)]).await.expect("get");
    assert_eq!(row3, Some(vec![Value::Int(3), Value::Text("carol".into()), Value::Bool(true)]));
    let carol = SelectQuery::all("people").filter(Filter::eq("owner", Value::Text("carol".into())));
    assert_eq!(ids(&t.select(None, &carol).await.expect("select")), vec![3]);
    // A new key that does not hold is refused, and nothing changes.
    let mut by_active = schema.clone();
    by_active.primary_key = vec!["active".into()];
    let sources3 = [ColumnSource::Column(0), ColumnSource::Column(1), ColumnSource::Column(2)];
    assert!(matches!(t.alter_table("people", &by_active, &sources3).await, Err(StorageError::DuplicateKey { .. })));
    assert_eq!(t.select(None, &SelectQuery::all("people")).await.expect("select").len(), 5);
    // A key on a table that had none rekeys its rows.
    let log = TableSchema::new("log", vec![ColumnDef::new("n", DataType::BigInt).not_null()], &[]);
    t.create_table(&log).await.expect("create");
    for n in [3, 1, 2] {
        t.insert(None, "log", vec![Value::Int(n)]).await.expect("insert");
    }
    let keyed = TableSchema::new("log", vec![ColumnDef::new("n", DataType::BigInt).not_null()], &["n"]);
    t.alter_table("log", &keyed, &[ColumnSource::Column(0)]).await.expect("add key");
    assert_eq!(ids(&t.select(None, &SelectQuery::all("log")).await.expect("select")), vec![1, 2, 3]);
    assert!(matches!(t.insert(None, "log", vec![Value::Int(2)]).await, Err(StorageError::DuplicateKey { .. })));
}

pub(crate) async fn savepoints_roll_back_part_of_a_transaction(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    let tx = t.begin_transaction().await.expect("begin");
    t.delete(Some(&tx), "accounts", &Filter::eq("id", Value::Int(1))).await.expect("delete");
    let sp = t.savepoint(&tx).await.expect("savepoint");
    t.delete(Some(&tx), "accounts", &Filter::eq("id", Value::Int(2))).await.expect("delete");
    t.insert(Some(&tx), "accounts", row(9, "nine", 9)).await.expect("insert");
    t.rollback_to_savepoint(&tx, &sp).await.expect("rollback to");
    assert_eq!(ids(&t.select(Some(&tx), &SelectQuery::all("accounts")).await.expect("select")), vec![2, 3, 4, 5]);
    t.commit_transaction(tx).await.expect("commit");
    assert_eq!(ids(&t.select(None, &SelectQuery::all("accounts")).await.expect("select")), vec![2, 3, 4, 5]);
}

pub(crate) async fn settled_transactions_read_every_acknowledged_write(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    // What was acknowledged is durable, so a settled snapshot holds it.
    let tx = t.begin_settled_transaction().await.expect("begin");
    assert_eq!(ids(&t.select(Some(&tx), &SelectQuery::all("accounts")).await.expect("select")), vec![1, 2, 3, 4, 5]);
    t.insert(None, "accounts", row(6, "frank", 600)).await.expect("insert");
    t.refresh_settled_snapshot(&tx, &[]).await.expect("refresh");
    assert_eq!(t.get(Some(&tx), "accounts", &[Value::Int(6)]).await.expect("get"), Some(row(6, "frank", 600)));

    // A locked row, named by its encoded key, reads as last committed.
    t.update(None, "accounts", &[Update::set("owner", Value::Text("ALICE".into()))], &Filter::eq("id", Value::Int(1)))
        .await
        .expect("update");
    let mut pk = Vec::new();
    orbit_storage::codec::key::encode(&Value::Int(1), Default::default(), &mut pk).expect("encode");
    t.refresh_settled_snapshot(&tx, &[("accounts".to_string(), pk.clone())]).await.expect("refresh");
    assert_eq!(t.get(Some(&tx), "accounts", &[Value::Int(1)]).await.expect("get"), Some(row(1, "ALICE", 100)));
    assert!(matches!(
        t.refresh_settled_snapshot(&tx, &[("missing".to_string(), pk)]).await,
        Err(StorageError::NoSuchTable(_))
    ));
    t.rollback_transaction(tx).await.expect("rollback");
}

/// Point reads (a full-key equality, as `SELECT ... WHERE id = $1`) outside
/// a transaction, which the hot tier may answer without a snapshot, follow
/// every kind of change, while a transaction keeps its snapshot.
pub(crate) async fn point_reads_follow_every_change(h: Harness, hot: usize) {
    let s = seeded(&h, hot).await;
    let t = s.tables();
    let point = |id: i64| SelectQuery::all("accounts").filter(Filter::eq("id", Value::Int(id)));
    let read = |q: SelectQuery| async move { t.select(None, &q).await.expect("point read") };
    assert_eq!(read(point(3)).await, vec![row(3, "carol", 300)]);
    assert_eq!(read(point(3)).await, vec![row(3, "carol", 300)], "read again, from the hot tier when there is one");
    let before = t.begin_transaction().await.expect("begin");
    let set = [Update::set("balance", Value::Decimal(rust_decimal::Decimal::new(7, 2)))];
    t.update(None, "accounts", &set, &Filter::eq("id", Value::Int(3))).await.expect("update");
    assert_eq!(read(point(3)).await, vec![row(3, "carol", 7)]);
    assert_eq!(t.select(Some(&before), &point(3)).await.expect("snapshot read"), vec![row(3, "carol", 300)]);
    t.rollback_transaction(before).await.expect("rollback");
    // Projection, a filter beyond the key, and LIMIT 0 apply to cached rows.
    let mut owner = point(3);
    owner.columns = Some(vec!["owner".into()]);
    assert_eq!(read(owner).await, vec![vec![Value::Text("carol".into())]]);
    let rich = point(3).filter(Filter::And(vec![
        Filter::eq("id", Value::Int(3)),
        Filter::cmp("balance", CmpOp::Gt, Value::Decimal(rust_decimal::Decimal::ONE)),
    ]));
    assert_eq!(read(rich).await, Vec::<Vec<Value>>::new());
    let mut none = point(3);
    none.limit = Some(0);
    assert_eq!(read(none).await, Vec::<Vec<Value>>::new());
    t.delete(None, "accounts", &Filter::eq("id", Value::Int(3))).await.expect("delete");
    assert_eq!(read(point(3)).await, Vec::<Vec<Value>>::new());
    t.insert(None, "accounts", row(3, "carl", 1)).await.expect("insert again");
    assert_eq!(read(point(3)).await, vec![row(3, "carl", 1)]);
    // A rewrite moves every row under a new table id in one commit.
    let mut wider = accounts();
    wider.columns.push(ColumnDef::new("note", DataType::Text));
    let sources =
        [ColumnSource::Column(0), ColumnSource::Column(1), ColumnSource::Column(2), ColumnSource::Value(Value::Null)];
    t.alter_table("accounts", &wider, &sources).await.expect("alter");
    let mut carl = row(3, "carl", 1);
    carl.push(Value::Null);
    assert_eq!(read(point(3)).await, vec![carl]);
    assert_eq!(read(point(4)).await.len(), 1);
    // A table dropped and made again under its name starts empty.
    assert!(t.drop_table("accounts").await.expect("drop"));
    t.create_table(&accounts()).await.expect("create again");
    assert_eq!(read(point(3)).await, Vec::<Vec<Value>>::new());
    t.insert(None, "accounts", row(3, "cy", 2)).await.expect("insert");
    assert_eq!(read(point(3)).await, vec![row(3, "cy", 2)]);
}

/// Statements are first tried on the calling task, reading memory only;
/// those that read too much, or rows that are only on disk, start again on
/// the blocking pool. Either way they see and change exactly what they
/// should, once.
pub(crate) async fn statements_too_big_for_memory_finish_on_the_pool(h: Harness, hot: usize) {
    let s = store(&h, hot);
    let t = s.tables();
    t.create_table(&accounts()).await.expect("create");
    let rows: Vec<_> = (0..3000).map(|i| row(i, "bulk", i)).collect();
    assert_eq!(t.insert_many(None, "accounts", rows).await.expect("bulk insert"), 3000);
    // Flushed to table files: a persistent engine now has these rows only
    // on disk, so even point reads must leave the calling task.
    t.checkpoint().await.expect("flush");
    let point = |id: i64| SelectQuery::all("accounts").filter(Filter::eq("id", Value::Int(id)));
    // Two new rows, then one whose key is taken and (on disk) cold: an
    // attempt in memory that wrote the new rows before it had to stop
    // must leave nothing behind, or the second run would trip over its own
    // row 5000 instead of the taken key 17.
    let tx = t.begin_transaction().await.expect("begin");
    let batch = vec![row(5000, "new", 1), row(5001, "new", 1), row(17, "taken", 1)];
    match t.insert_many(Some(&tx), "accounts", batch).await {
        Err(StorageError::DuplicateKey { key, .. }) => assert!(key.contains("17"), "{key}"),
        other => panic!("expected a duplicate of 17, got {other:?}"),
    }
    t.rollback_transaction(tx).await.expect("rollback");
    let tx = t.begin_transaction().await.expect("begin");
    assert_eq!(t.select(Some(&tx), &point(2999)).await.expect("cold point read"), vec![row(2999, "bulk", 2999)]);
    assert_eq!(t.select(None, &point(17)).await.expect("cold point read"), vec![row(17, "bulk", 17)]);
    assert_eq!(t.get(None, "accounts", &[Value::Int(42)]).await.expect("cold get"), Some(row(42, "bulk", 42)));
    let all = t.select(Some(&tx), &SelectQuery::all("accounts")).await.expect("big scan");
    assert_eq!(ids(&all), (0..3000).collect::<Vec<_>>());
    // A small write first, then a statement too big for memory: the small
    // write is kept once, the big one applied once.
    t.insert(Some(&tx), "accounts", row(5000, "late", 1)).await.expect("insert");
    let set = [Update::set("owner", Value::Text("moved".into()))];
    assert_eq!(t.update(Some(&tx), "accounts", &set, &Filter::All).await.expect("big update"), 3001);
    t.commit_transaction(tx).await.expect("commit");
    let all = t.select(None, &SelectQuery::all("accounts")).await.expect("scan");
    assert_eq!(all.len(), 3001);
    assert!(all.iter().all(|r| r[1] == Value::Text("moved".into())));
    let small = SelectQuery::all("accounts").filter(Filter::cmp("id", CmpOp::Lt, Value::Int(3)));
    assert_eq!(ids(&t.select(None, &small).await.expect("small range")), vec![0, 1, 2]);
    assert_eq!(t.delete(None, "accounts", &Filter::All).await.expect("big delete"), 3001);
    assert_eq!(t.select(None, &SelectQuery::all("accounts")).await.expect("scan"), Vec::<Vec<Value>>::new());
}

/// A primary-key range small enough to be read key by key (see
/// `enumerated_keys`) gives what a scan of the same rows gives: with gaps,
/// the transaction's own inserts, updates and deletes, an older snapshot,
/// both orders and limits, updates and deletes by range, and ranges the hot
/// tier holds too little of, which are scanned after a few lookups.
pub(crate) async fn small_key_ranges_read_what_scans_read(h: Harness, hot: usize) {
    let s = store(&h, hot);
    let t = s.tables();
    t.create_table(&accounts()).await.expect("create");
    for i in (0..60).filter(|i| i % 3 != 0) {
        t.insert(None, "accounts", row(i, "seed", i)).await.expect("insert");
    }
    let between = |lo: i64, hi: i64| {
        Filter::And(vec![
            Filter::cmp("id", CmpOp::GtEq, Value::Int(lo)),
            Filter::cmp("id", CmpOp::LtEq, Value::Int(hi)),
        ])
    };
    // The same predicate where no key range can be read off it: a scan.
    let scanned = |f: Filter| Filter::Or(vec![f]);
    let reader = t.begin_transaction().await.expect("begin");
    let _ = t.select(Some(&reader), &SelectQuery::all("accounts").filter(between(0, 5))).await.expect("warm");
    let tx = t.begin_transaction().await.expect("begin");
    t.insert(Some(&tx), "accounts", row(9, "mine", 1)).await.expect("insert in tx");
    t.delete(Some(&tx), "accounts", &Filter::eq("id", Value::Int(10))).await.expect("delete in tx");
    t.update(Some(&tx), "accounts", &[Update::set("owner", Value::Text("upd".into()))], &between(13, 16))
        .await
        .expect("update by range in tx");
    t.update(None, "accounts", &[Update::set("owner", Value::Text("later".into()))], &between(0, 30))
        .await
        .expect("update by range");
    t.delete(None, "accounts", &between(40, 44)).await.expect("delete by range");
    // The last three hold more absent keys than a run looks up before it
    // scans the rest instead.
    let ranges =
        [(0, 20), (8, 17), (-5, 3), (40, 50), (7, 7), (9, 9), (10, 10), (20, 10), (55, 70), (45, 150), (100, 227)];
    for who in [None, Some(&reader), Some(&tx)] {
        for (lo, hi) in ranges {
            for order in [ScanOrder::PrimaryKey, ScanOrder::PrimaryKeyDesc] {
                for limit in [None, Some(2)] {
                    let q = SelectQuery { order, limit, ..SelectQuery::all("accounts") };
                    let listed = t.select(who, &q.clone().filter(between(lo, hi))).await.expect("listed");
                    let scan = t.select(who, &q.filter(scanned(between(lo, hi)))).await.expect("scanned");
                    assert_eq!(listed, scan, "{lo}..={hi} {order:?} limit {limit:?} in tx {}", who.is_some());
                }
            }
        }
    }
    let mine = t.select(Some(&tx), &SelectQuery::all("accounts").filter(between(9, 16))).await.expect("mine");
    assert_eq!(ids(&mine), vec![9, 11, 13, 14, 16]);
    assert_eq!(mine[0], row(9, "mine", 1));
    assert!(mine[2..].iter().all(|r| r[1] == Value::Text("upd".into())));
    let old = t.select(Some(&reader), &SelectQuery::all("accounts").filter(between(40, 44))).await.expect("old");
    assert_eq!(ids(&old), vec![40, 41, 43, 44], "the reader's snapshot predates the delete");
    assert!(t.select(None, &SelectQuery::all("accounts").filter(between(40, 44))).await.expect("now").is_empty());
    if hot > 0 {
        // Rows the hot tier holds are looked up; a range it knows nothing
        // of is scanned after a few lookups.
        let scans = || async { t.metrics().await.expect("metrics").ops.scans };
        let before = scans().await;
        let held = t.select(None, &SelectQuery::all("accounts").filter(between(1, 2))).await.expect("held");
        assert_eq!((ids(&held), scans().await), (vec![1, 2], before));
        assert!(t.select(None, &SelectQuery::all("accounts").filter(between(300, 427))).await.expect("gap").is_empty());
        assert_eq!(scans().await, before + 1);
    }
}
