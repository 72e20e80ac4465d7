//! The sqlx MySQL driver: its connect-time settings, prepared statements
//! with typed binds, transactions and error codes.

use rust_decimal::Decimal;
use sqlx::{Connection, Row};

use super::{addr, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_round_trips_and_transactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = addr(&server);
    let mut setup = sqlx::MySqlConnection::connect(&format!("mysql://root@{}:{}", a.ip(), a.port()))
        .await
        .expect("connect without a database");
    sqlx::query("CREATE DATABASE shop").execute(&mut setup).await.expect("create database");
    let url = format!("mysql://root@{}:{}/shop", a.ip(), a.port());
    let mut c = sqlx::MySqlConnection::connect(&url).await.expect("connect");

    sqlx::query(
        "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(40) NOT NULL, \
         total DECIMAL(10,2), placed DATETIME(6), paid BOOLEAN NOT NULL DEFAULT FALSE, note TEXT)",
    )
    .execute(&mut c)
    .await
    .expect("create");
    let placed =
        chrono::NaiveDate::from_ymd_opt(2024, 5, 6).and_then(|d| d.and_hms_micro_opt(7, 8, 9, 123_456)).expect("time");
    let done = sqlx::query("INSERT INTO orders (customer, total, placed, note) VALUES (?, ?, ?, ?)")
        .bind("ann")
        .bind(Decimal::new(1999, 2))
        .bind(placed)
        .bind(None::<String>)
        .execute(&mut c)
        .await
        .expect("insert");
    assert_eq!((done.rows_affected(), done.last_insert_id()), (1, 1));

    let row = sqlx::query("SELECT customer, total, placed, paid, note FROM orders WHERE id = ?")
        .bind(1i64)
        .fetch_one(&mut c)
        .await
        .expect("select");
    assert_eq!(row.get::<String, _>("customer"), "ann");
    assert_eq!(row.get::<Decimal, _>("total"), Decimal::new(1999, 2));
    assert_eq!(row.get::<chrono::NaiveDateTime, _>("placed"), placed);
    assert!(!row.get::<bool, _>("paid"));
    assert_eq!(row.get::<Option<String>, _>("note"), None);

    // A rolled-back transaction leaves nothing; a committed one stays.
    let mut tx = c.begin().await.expect("begin");
    sqlx::query("INSERT INTO orders (customer) VALUES ('bob')").execute(&mut *tx).await.expect("insert");
    tx.rollback().await.expect("rollback");
    let mut tx = c.begin().await.expect("begin");
    sqlx::query("UPDATE orders SET paid = TRUE WHERE id = 1").execute(&mut *tx).await.expect("update");
    tx.commit().await.expect("commit");
    let (n, paid): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), SUM(paid) FROM orders").fetch_one(&mut c).await.expect("count");
    assert_eq!((n, paid), (1, 1));

    let err =
        sqlx::query("INSERT INTO orders (id, customer) VALUES (1, 'dup')").execute(&mut c).await.expect_err("dup");
    let db = err.as_database_error().expect("a database error");
    assert_eq!(db.code().as_deref(), Some("23000"));
    assert!(db.message().contains("Duplicate entry '1'"), "{}", db.message());
    c.close().await.expect("close");
}
