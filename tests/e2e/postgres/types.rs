//! Every supported type through both wire formats: tokio-postgres sends
//! parameters and reads results in binary, the simple protocol in text.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;

use super::{connect, simple, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_in_binary_and_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE v (id INT PRIMARY KEY, b BOOLEAN, i2 SMALLINT, i8 BIGINT, f4 REAL, f8 DOUBLE PRECISION,
           n NUMERIC(12,3), t TEXT, vc VARCHAR(10), ch CHAR(4), by BYTEA, d DATE, tm TIME, ts TIMESTAMP,
           tz TIMESTAMPTZ, u UUID, j JSONB, iv INTERVAL)",
    )
    .await
    .expect("create");
    let n: Decimal = "-12345.678".parse().expect("decimal");
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
    let tm = NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).expect("time");
    let ts: NaiveDateTime = d.and_time(tm);
    let tz: DateTime<Utc> = ts.and_utc();
    let u = uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").expect("uuid");
    let j = serde_json::json!({"k": [1, 2, {"x": null}], "s": "é"});
    let by: Vec<u8> = vec![0, 1, 2, 255];
    c.execute(
        "INSERT INTO v VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, '1 year 2 mons 3 days 04:05:06')",
        &[&true, &-32768i16, &i64::MAX, &1.5f32, &-0.1f64, &n, &"tëxt", &"varchar", &"ab", &by, &d, &tm, &ts, &tz, &u, &j],
    )
    .await
    .expect("insert");
    let r = c
        .query_one("SELECT b, i2, i8, f4, f8, n, t, vc, ch, by, d, tm, ts, tz, u, j FROM v WHERE id = $1", &[&1i32])
        .await
        .expect("select");
    assert!(r.get::<_, bool>(0));
    assert_eq!(r.get::<_, i16>(1), -32768);
    assert_eq!(r.get::<_, i64>(2), i64::MAX);
    assert_eq!(r.get::<_, f32>(3), 1.5);
    assert_eq!(r.get::<_, f64>(4), -0.1);
    assert_eq!(r.get::<_, Decimal>(5), n);
    assert_eq!(r.get::<_, String>(6), "tëxt");
    assert_eq!(r.get::<_, String>(7), "varchar");
    assert_eq!(r.get::<_, String>(8), "ab  ", "char(n) pads with blanks");
    assert_eq!(r.get::<_, Vec<u8>>(9), by);
    assert_eq!(r.get::<_, NaiveDate>(10), d);
    assert_eq!(r.get::<_, NaiveTime>(11), tm);
    assert_eq!(r.get::<_, NaiveDateTime>(12), ts);
    assert_eq!(r.get::<_, DateTime<Utc>>(13), tz);
    assert_eq!(r.get::<_, uuid::Uuid>(14), u);
    assert_eq!(r.get::<_, serde_json::Value>(15), j);

    // The same values in text, as psql would show them.
    assert_eq!(
        simple(&c, "SELECT b, i2, i8, f4, f8, n, t, vc, ch, by, d, tm, ts, tz, u, j, iv FROM v").await,
        vec![
            vec![
                "t",
                "-32768",
                "9223372036854775807",
                "1.5",
                "-0.1",
                "-12345.678",
                "tëxt",
                "varchar",
                "ab  ",
                "\\x000102ff",
                "2024-02-29",
                "23:59:58.123456",
                "2024-02-29 23:59:58.123456",
                "2024-02-29 23:59:58.123456+00",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                r#"{"k": [1, 2, {"x": null}], "s": "é"}"#,
                "1 year 2 mons 3 days 04:05:06",
            ]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
        ]
    );

    // JSON operators, casts and NULLs.
    assert_eq!(
        simple(&c, "SELECT j->'k'->>2, j->>'s', j @> '{\"s\": \"é\"}', '42'::int + 1, CAST(n AS text), NULL::int IS NULL FROM v").await,
        vec![vec!["{\"x\": null}", "é", "t", "43", "-12345.678", "t"].into_iter().map(String::from).collect::<Vec<_>>()]
    );
    let r = c.query_one("SELECT $1::text IS NULL, $2::bigint", &[&None::<String>, &None::<i64>]).await.expect("nulls");
    assert!(r.get::<_, bool>(0));
    assert_eq!(r.get::<_, Option<i64>>(1), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_types_are_inferred_and_described() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE p (id BIGINT PRIMARY KEY, at TIMESTAMPTZ, price NUMERIC(8,2))")
        .await
        .expect("create");
    let stmt = c.prepare("SELECT id, price FROM p WHERE id = $1 AND at < $2").await.expect("prepare");
    let params: Vec<String> = stmt.params().iter().map(|t| t.name().to_string()).collect();
    assert_eq!(params, vec!["int8", "timestamptz"]);
    let cols: Vec<(String, String)> =
        stmt.columns().iter().map(|c| (c.name().to_string(), c.type_().name().to_string())).collect();
    assert_eq!(cols, vec![("id".to_string(), "int8".to_string()), ("price".into(), "numeric".into())]);
    // pgjdbc-style reuse: the same statement many times, results in binary.
    for i in 0..8i64 {
        c.execute("INSERT INTO p VALUES ($1, now(), $2)", &[&i, &Decimal::new(i * 101, 2)]).await.expect("insert");
    }
    let total: Decimal = c.query_one("SELECT sum(price) FROM p", &[]).await.expect("sum").get(0);
    assert_eq!(total, Decimal::new(2828, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_plans_follow_schema_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE s (id INT PRIMARY KEY, v TEXT); INSERT INTO s VALUES (1, 'a')").await.expect("setup");
    let by_id = c.prepare("SELECT v FROM s WHERE id = $1").await.expect("prepare");
    let star = c.prepare("SELECT * FROM s").await.expect("prepare");
    assert_eq!(c.query_one(&by_id, &[&1i32]).await.expect("run").get::<_, String>(0), "a");
    // A new index: the plan is made again, with the same result.
    c.batch_execute("CREATE INDEX s_v ON s (v); ALTER TABLE s ADD COLUMN w INT DEFAULT 5").await.expect("ddl");
    assert_eq!(c.query_one(&by_id, &[&1i32]).await.expect("run after DDL").get::<_, String>(0), "a");
    // `*` now means one more column than described: refused, as in PostgreSQL.
    assert_eq!(super::sqlstate(c.query(&star, &[]).await), "0A000");
}
