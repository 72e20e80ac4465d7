//! What Prisma's schema engine sends to introspect a PostgreSQL database
//! (`prisma db pull`), and the version check it makes on connect.
//!
//! The query texts in `clients/prisma/` are Prisma's own, as its schema
//! describer sends them (prisma/prisma-engines, Apache-2.0:
//! `schema-engine/sql-schema-describer/src/postgres.rs` and
//! `postgres/*.sql`; the connect check from `flavour/postgres`). The
//! expected `.txt` files are PostgreSQL 15's answers for `fixture.sql`, in
//! a database without the `plpgsql` extension (Orbit has no procedural
//! languages, so it lists no extensions).

use std::process::Command;

use super::{addr, connect, start};

/// Every introspection query: its name, its text, and PostgreSQL 15's
/// answer through psql.
const QUERIES: [(&str, &str, &str); 12] = [
    ("namespaces", include_str!("clients/prisma/namespaces.sql"), include_str!("clients/prisma/namespaces.txt")),
    ("tables", include_str!("clients/prisma/tables.sql"), include_str!("clients/prisma/tables.txt")),
    ("constraints", include_str!("clients/prisma/constraints.sql"), include_str!("clients/prisma/constraints.txt")),
    ("views", include_str!("clients/prisma/views.sql"), include_str!("clients/prisma/views.txt")),
    ("enums", include_str!("clients/prisma/enums.sql"), include_str!("clients/prisma/enums.txt")),
    ("udts", include_str!("clients/prisma/udts.sql"), include_str!("clients/prisma/udts.txt")),
    ("columns", include_str!("clients/prisma/columns.sql"), include_str!("clients/prisma/columns.txt")),
    ("foreign_keys", include_str!("clients/prisma/foreign_keys.sql"), include_str!("clients/prisma/foreign_keys.txt")),
    ("indexes", include_str!("clients/prisma/indexes.sql"), include_str!("clients/prisma/indexes.txt")),
    ("procedures", include_str!("clients/prisma/procedures.sql"), include_str!("clients/prisma/procedures.txt")),
    ("extensions", include_str!("clients/prisma/extensions.sql"), include_str!("clients/prisma/extensions.txt")),
    ("sequences", include_str!("clients/prisma/sequences.sql"), include_str!("clients/prisma/sequences.txt")),
];

fn psql(server: &crate::support::Orbit, sql: &str) -> String {
    let a = addr(server);
    let out = Command::new("psql")
        .args(["-h", &a.ip().to_string(), "-p", &a.port().to_string(), "-U", "postgres", "-X", "-A", "-q"])
        .args(["-d", "postgres", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql (apt-get install postgresql-client)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Each query, with the schema list written in, prints through psql what
/// PostgreSQL 15 prints for the same schema.
#[test]
fn prisma_introspection_prints_what_postgresql_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let setup = psql(&server, include_str!("clients/prisma/fixture.sql"));
    assert!(!setup.contains("ERROR"), "{setup}");
    for (name, sql, expected) in QUERIES {
        let sql = sql.replace("$1", "ARRAY['public']::name[]");
        assert_eq!(psql(&server, &sql), expected, "query {name}");
    }
}

/// The queries as Prisma really sends them: prepared with no parameter
/// types (the server infers `$1`, an array of schema names), results in
/// binary, every column decoded by the type the server describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prisma_introspection_over_the_extended_protocol() {
    use tokio_postgres::types::{Kind, Type};

    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute(include_str!("clients/prisma/fixture.sql")).await.expect("fixture");

    // The version check on connect: `$1` is a schema name.
    let stmt = c.prepare_typed(include_str!("clients/prisma/connect.sql"), &[]).await.expect("prepare connect");
    assert_eq!(stmt.params(), &[Type::TEXT]);
    let row = c.query_one(&stmt, &[&"public"]).await.expect("connect check");
    assert!(row.get::<_, bool>(0));
    assert!(row.get::<_, String>(1).starts_with("PostgreSQL 15"));
    assert_eq!(row.get::<_, i32>(2), 150_000);

    let schemas = vec!["public".to_string()];
    for (name, sql, _) in QUERIES {
        let stmt = c.prepare_typed(sql, &[]).await.unwrap_or_else(|e| panic!("prepare {name}: {e}"));
        // Prisma binds the schema list only to an array parameter.
        for p in stmt.params() {
            assert!(matches!(p.kind(), Kind::Array(_)), "{name}: $1 is {p}, not an array");
        }
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            stmt.params().iter().map(|_| &schemas as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        let rows = c.query(&stmt, &params).await.unwrap_or_else(|e| panic!("run {name}: {e}"));
        for row in &rows {
            for (i, col) in row.columns().iter().enumerate() {
                let ok = match *col.type_() {
                    Type::BOOL => row.try_get::<_, Option<bool>>(i).is_ok(),
                    Type::INT2 => row.try_get::<_, Option<i16>>(i).is_ok(),
                    Type::INT4 => row.try_get::<_, Option<i32>>(i).is_ok(),
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).is_ok(),
                    Type::OID => row.try_get::<_, Option<u32>>(i).is_ok(),
                    Type::CHAR => row.try_get::<_, Option<i8>>(i).is_ok(),
                    Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).is_ok(),
                    Type::TEXT | Type::NAME | Type::VARCHAR | Type::BPCHAR => {
                        row.try_get::<_, Option<String>>(i).is_ok()
                    }
                    Type::TEXT_ARRAY | Type::NAME_ARRAY => row.try_get::<_, Option<Vec<String>>>(i).is_ok(),
                    ref other => panic!("{name}.{}: unexpected type {other}", col.name()),
                };
                assert!(ok, "{name}.{} does not decode as {}", col.name(), col.type_());
            }
        }
        // Where Prisma needs PostgreSQL's exact types and values.
        match name {
            "tables" => assert_eq!(rows.len(), 4, "{name}"),
            "columns" => {
                assert_eq!(rows.len(), 16, "{name}");
                for r in &rows {
                    let nullable: String = r.get("is_nullable");
                    let identity: String = r.get("is_identity");
                    assert!(["YES", "NO"].contains(&nullable.as_str()) && identity == "NO");
                }
            }
            "constraints" => {
                let types: Vec<i8> = rows.iter().map(|r| r.get("constraint_type")).collect();
                assert_eq!(types, vec![b'c' as i8; 4]);
                let defs: Vec<String> = rows.iter().map(|r| r.get("constraint_definition")).collect();
                assert_eq!(defs[3], "CHECK ((score >= (0)::numeric))");
            }
            "indexes" => {
                // Positions within each index count from 0, as int2vector's do.
                let first: Vec<(String, i32)> = rows
                    .iter()
                    .filter(|r| r.get::<_, i32>("column_index") == 0)
                    .map(|r| (r.get("index_name"), r.get("column_index")))
                    .collect();
                assert_eq!(first.len(), 6, "{first:?}");
            }
            "sequences" => {
                let names: Vec<String> = rows.iter().map(|r| r.get("sequence_name")).collect();
                assert_eq!(names, ["counter", "posts_id_seq", "users_id_seq"]);
                let counter = &rows[0];
                assert_eq!((counter.get::<_, i64>("start_value"), counter.get::<_, i64>("increment_by")), (5, 2));
            }
            _ => {}
        }
    }

    // `"char"` is one byte in binary, 0 when empty, as drivers expect.
    let row = c
        .query_one(
            "SELECT a.attidentity, c.relkind FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             WHERE c.relname = 'users' AND a.attname = 'id'",
            &[],
        )
        .await
        .expect("catalog codes");
    assert_eq!((row.get::<_, i8>(0), row.get::<_, i8>(1)), (0, b'r' as i8));
}
