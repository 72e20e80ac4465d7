//! The real psql: one-shot commands, an interactive session that survives
//! errors, `\timing` and `\x`.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{addr, start};

fn psql(server: &crate::support::Orbit) -> Command {
    let a = addr(server);
    let mut cmd = Command::new("psql");
    cmd.args(["-h", &a.ip().to_string(), "-p", &a.port().to_string(), "-U", "postgres", "-X", "--no-psqlrc"]);
    cmd.env("PGCONNECT_TIMEOUT", "10").env_remove("PGPASSWORD").env_remove("PGDATABASE");
    cmd
}

#[test]
fn psql_commands_and_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);

    let out = psql(&server)
        .args([
            "-c",
            "CREATE TABLE fruit (id INT PRIMARY KEY, name TEXT)",
            "-c",
            "INSERT INTO fruit VALUES (1, 'apple'), (2, 'plum')",
        ])
        .output()
        .expect("run psql (apt-get install postgresql-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "CREATE TABLE\nINSERT 0 2\n");

    let out = psql(&server).args(["-A", "-t", "-c", "SELECT name FROM fruit ORDER BY id"]).output().expect("psql");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "apple\nplum\n");

    // An interactive session: a syntax error in the middle, then more work.
    let mut child =
        psql(&server).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("psql");
    let script = "SELEC 1;\n\\timing on\nSELECT count(*) AS n FROM fruit;\n\\timing off\n\\x on\nSELECT id, name FROM fruit WHERE id = 2;\n\\q\n";
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("psql");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("syntax error at or near \"SELEC\""), "{stderr}");
    assert!(stdout.contains(" n \n---\n 2\n(1 row)"), "{stdout}");
    assert!(stdout.contains("Timing is on.") && stdout.contains("Time: "), "{stdout}");
    assert!(
        stdout.contains("Expanded display is on.") && stdout.contains("-[ RECORD 1 ]\nid   | 2\nname | plum"),
        "{stdout}"
    );
}

/// psql's own catalog queries for the listing meta-commands, against a
/// fixture schema, printing what PostgreSQL prints.
#[test]
fn psql_meta_commands_list_the_real_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let setup = psql(&server)
        .args([
            "-q",
            "-c",
            "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE, price NUMERIC(8,2) DEFAULT 0)",
            "-c",
            "CREATE INDEX items_price ON items (price)",
            "-c",
            "CREATE SCHEMA app",
            "-c",
            "CREATE TABLE app.events (at TIMESTAMPTZ)",
        ])
        .output()
        .expect("psql");
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let run = |meta: &str| {
        let out = psql(&server).args(["-c", meta]).output().expect("psql");
        assert!(out.status.success(), "{meta}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(
        run("\\dt"),
        "         List of relations\n Schema |  Name  | Type  |  Owner   \n--------+--------+-------+----------\n app    | events | table | postgres\n public | items  | table | postgres\n(2 rows)\n\n"
    );
    assert_eq!(
        run("\\dn"),
        "  List of schemas\n  Name  |  Owner   \n--------+----------\n app    | postgres\n public | postgres\n(2 rows)\n\n"
    );
    assert_eq!(
        run("\\ds"),
        "              List of relations\n Schema |     Name     |   Type   |  Owner   \n--------+--------------+----------+----------\n public | items_id_seq | sequence | postgres\n(1 row)\n\n"
    );
    assert_eq!(
        run("\\di"),
        "                 List of relations\n Schema |      Name      | Type  |  Owner   | Table \n--------+----------------+-------+----------+-------\n public | items_name_key | index | postgres | items\n public | items_pkey     | index | postgres | items\n public | items_price    | index | postgres | items\n(3 rows)\n\n"
    );
    assert!(run("\\l").contains(" postgres | postgres | UTF8     |"));
    assert!(run("\\du").contains(" postgres  | Superuser, Create role, Create DB, Replication, Bypass RLS | {}"));
    assert!(run("\\d").contains(" public | items_id_seq | sequence | postgres"));
    assert!(run("\\dt+").contains("permanent   | heap"));
    assert!(run("\\df").contains("(0 rows)"));
    assert!(run("\\conninfo").starts_with("You are connected to database \"postgres\" as user \"postgres\""));
}

/// `\d TABLE` and `\d+ TABLE` print what PostgreSQL 15 prints for the same
/// schema: columns, types, nullability, defaults (SERIAL's `nextval`, cast
/// literals, functions), storage, indexes told apart from UNIQUE
/// constraints, and CHECK constraints. The expected files were captured
/// from Debian's PostgreSQL 15 with this fixture.
#[test]
fn psql_describes_a_table_as_postgresql_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let setup = psql(&server).args(["-q", "-c", include_str!("describe/fixture.sql")]).output().expect("psql");
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let run = |meta: &str| {
        let out = psql(&server).args(["-c", meta]).output().expect("psql");
        assert!(out.status.success(), "{meta}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(run("\\d items"), include_str!("describe/items.txt"));
    assert_eq!(run("\\d+ items"), include_str!("describe/items_plus.txt"));
    assert_eq!(run("\\d plain"), include_str!("describe/plain.txt"));
    assert_eq!(run("\\d+ plain"), include_str!("describe/plain_plus.txt"));
    assert_eq!(run("\\d items_id_seq"), include_str!("describe/items_id_seq.txt"));
    // information_schema's constraint views, as PostgreSQL 15 answers them.
    let rows = |sql: &str| {
        let out = psql(&server).args(["-At", "-c", sql]).output().expect("psql");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(
        rows(
            "SELECT constraint_type, table_name, is_deferrable, initially_deferred, enforced \
             FROM information_schema.table_constraints WHERE constraint_type <> 'CHECK' ORDER BY 1, 2"
        ),
        "PRIMARY KEY|items|NO|NO|YES\nUNIQUE|items|NO|NO|YES\n"
    );
    assert_eq!(
        rows("SELECT count(*) FROM information_schema.table_constraints WHERE constraint_type = 'CHECK'"),
        "8\n",
        "four CHECKs and four NOT NULL columns"
    );
    assert_eq!(
        rows(
            "SELECT constraint_name, column_name, ordinal_position FROM information_schema.key_column_usage ORDER BY 1"
        ),
        "items_pkey|id|1\nitems_sku_key|sku|1\n"
    );
    assert_eq!(rows("SELECT count(*) FROM information_schema.referential_constraints"), "0\n");
}
