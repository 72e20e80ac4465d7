//! The sqlx driver: its connect-time queries, prepared statements with
//! typed binds, transactions and error codes.

use rust_decimal::Decimal;
use sqlx::{Connection, Row};

use super::{addr, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_round_trips_and_transactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = addr(&server);
    let url = format!("postgres://postgres@{}:{}/postgres", a.ip(), a.port());
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");

    sqlx::query("CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC(10,2), placed TIMESTAMPTZ, tags JSONB, ref UUID)")
        .execute(&mut c)
        .await
        .expect("create");
    let placed =
        chrono::DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123456Z").expect("time").with_timezone(&chrono::Utc);
    let reference = uuid::Uuid::new_v4();
    let tags = serde_json::json!({"rush": true});
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (customer, total, placed, tags, ref) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind("ann")
    .bind(Decimal::new(1999, 2))
    .bind(placed)
    .bind(&tags)
    .bind(reference)
    .fetch_one(&mut c)
    .await
    .expect("insert");
    assert_eq!(id, 1);

    let row = sqlx::query("SELECT customer, total, placed, tags, ref FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&mut c)
        .await
        .expect("select");
    assert_eq!(row.get::<String, _>("customer"), "ann");
    assert_eq!(row.get::<Decimal, _>("total"), Decimal::new(1999, 2));
    assert_eq!(row.get::<chrono::DateTime<chrono::Utc>, _>("placed"), placed);
    assert_eq!(row.get::<serde_json::Value, _>("tags"), tags);
    assert_eq!(row.get::<uuid::Uuid, _>("ref"), reference);

    // A rolled-back transaction leaves nothing; a committed one stays.
    let mut tx = c.begin().await.expect("begin");
    sqlx::query("INSERT INTO orders (customer) VALUES ('bob')").execute(&mut *tx).await.expect("insert");
    tx.rollback().await.expect("rollback");
    let mut tx = c.begin().await.expect("begin");
    sqlx::query("INSERT INTO orders (customer) VALUES ('cy')").execute(&mut *tx).await.expect("insert");
    tx.commit().await.expect("commit");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT customer FROM orders ORDER BY id").fetch_all(&mut c).await.expect("names");
    assert_eq!(names, vec!["ann", "cy"]);

    // Errors carry SQLSTATEs, and the connection carries on.
    let err = sqlx::query("INSERT INTO orders (id, customer) VALUES (1, 'dup')")
        .execute(&mut c)
        .await
        .expect_err("duplicate");
    assert_eq!(err.as_database_error().and_then(|e| e.code()).as_deref(), Some("23505"));
    let err = sqlx::query("SELECT nope FROM orders").execute(&mut c).await.expect_err("unknown column");
    assert_eq!(err.as_database_error().and_then(|e| e.code()).as_deref(), Some("42703"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(&mut c).await.expect("count");
    assert_eq!(n, 2);
    c.close().await.expect("close");
}
