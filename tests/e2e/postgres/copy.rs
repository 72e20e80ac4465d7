//! COPY FROM STDIN and TO STDOUT through tokio-postgres and psql's \copy,
//! and pgbench's initialisation, which loads its tables with COPY.

use std::process::Command;

use bytes::Bytes;
use futures::{SinkExt, TryStreamExt};

use super::{addr, connect, simple, sqlstate, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_and_out_in_text_and_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE p (id INT PRIMARY KEY, name TEXT, note TEXT, added DATE DEFAULT '2024-01-01')")
        .await
        .expect("create");

    // Text format: tabs, backslash escapes, \N for NULL; unlisted columns take defaults.
    let sink = c.copy_in("COPY p (id, name, note) FROM STDIN").await.expect("copy in");
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"1\tann\ttab\\there\n2\tbob\t\\N\n")).await.expect("send");
    sink.send(Bytes::from_static(b"3\tc\\\\y\tline\\nbreak\n")).await.expect("send");
    assert_eq!(sink.finish().await.expect("finish"), 3);

    // CSV with a header, quoting, and an empty unquoted field as NULL.
    let sink = c.copy_in("COPY p (id, name, note) FROM STDIN WITH (FORMAT csv, HEADER true)").await.expect("copy in");
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"id,name,note\n4,\"dee, d\",\n5,\"multi\nline\",\"\"\n")).await.expect("send");
    assert_eq!(sink.finish().await.expect("finish"), 2);

    assert_eq!(
        simple(&c, "SELECT id, name, note, added FROM p ORDER BY id").await,
        vec![
            vec!["1", "ann", "tab\there", "2024-01-01"],
            vec!["2", "bob", "NULL", "2024-01-01"],
            vec!["3", "c\\y", "line\nbreak", "2024-01-01"],
            vec!["4", "dee, d", "NULL", "2024-01-01"],
            vec!["5", "multi\nline", "", "2024-01-01"],
        ]
        .into_iter()
        .map(|r| r.into_iter().map(String::from).collect::<Vec<_>>())
        .collect::<Vec<_>>()
    );

    // A bad row fails the COPY with its line number, and commits nothing.
    let sink = c.copy_in("COPY p (id, name) FROM STDIN").await.expect("copy in");
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"10\tok\n11\tok\nnot-a-number\tbad\n12\tok\n")).await.expect("send");
    let err = sink.finish().await.expect_err("bad row");
    let db = err.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "22P02");
    assert!(db.where_().is_some_and(|w| w.contains("line 3")), "{:?}", db.where_());
    assert_eq!(simple(&c, "SELECT count(*) FROM p WHERE id >= 10").await, vec![vec!["0".to_string()]]);
    assert_eq!(sqlstate(c.simple_query("COPY p FROM '/etc/passwd'").await), "0A000");

    // COPY TO STDOUT, from a table and from a query.
    let out: Vec<Bytes> =
        c.copy_out("COPY p (id, note) TO STDOUT").await.expect("copy out").try_collect().await.expect("rows");
    let text: String = out.iter().map(|b| String::from_utf8_lossy(b).to_string()).collect();
    assert_eq!(text, "1\ttab\\there\n2\t\\N\n3\tline\\nbreak\n4\t\\N\n5\t\n");
    let out: Vec<Bytes> = c
        .copy_out("COPY (SELECT id, name FROM p WHERE id IN (4, 5) ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)")
        .await
        .expect("copy out")
        .try_collect()
        .await
        .expect("rows");
    let text: String = out.iter().map(|b| String::from_utf8_lossy(b).to_string()).collect();
    assert_eq!(text, "id,name\n4,\"dee, d\"\n5,\"multi\nline\"\n");
}

fn psql(server: &crate::support::Orbit, args: &[&str]) -> std::process::Output {
    let a = addr(server);
    Command::new("psql")
        .args(["-h", &a.ip().to_string(), "-p", &a.port().to_string(), "-U", "postgres", "-X", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .output()
        .expect("psql")
}

#[test]
fn psql_copy_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "1,one\n2,\"t,wo\"\n").expect("write");
    let out_file = dir.path().join("out.csv");
    let out = psql(
        &server,
        &[
            "-c",
            "CREATE TABLE w (n INT PRIMARY KEY, word TEXT)",
            "-c",
            &format!("\\copy w FROM '{}' WITH (FORMAT csv)", csv.display()),
            "-c",
            &format!("\\copy (SELECT * FROM w ORDER BY n) TO '{}' WITH (FORMAT csv)", out_file.display()),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("COPY 2"));
    assert_eq!(std::fs::read_to_string(&out_file).expect("read"), "1,one\n2,\"t,wo\"\n");
}

#[test]
fn pgbench_initialises_and_runs_without_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let a = addr(&server);
    let base =
        ["-h".to_string(), a.ip().to_string(), "-p".into(), a.port().to_string(), "-U".into(), "postgres".into()];
    let init = Command::new("pgbench").args(&base).args(["-i", "-s", "1", "postgres"]).output().expect("pgbench -i");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let run = Command::new("pgbench")
        .args(&base)
        .args(["-S", "-c", "2", "-j", "2", "-t", "200", "postgres"])
        .output()
        .expect("pgbench -S");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("number of failed transactions: 0 "), "{stdout}");
    assert!(stdout.contains("number of transactions actually processed: 400/400"), "{stdout}");
    // TPC-B-like, four clients on one branch row: writers wait for row locks
    // instead of failing, and the balances still add up. Then select-only,
    // and a custom script with `\set` variables (a transfer between two
    // accounts, locked in key order, so the sums still hold), in every
    // protocol mode.
    let script = dir.path().join("custom.sql");
    std::fs::write(
        &script,
        "\\set a random(1, 100000)\n\\set b random(1, 100000)\n\\set delta random(-5000, 5000)\n\
         \\set first least(:a, :b)\n\\set second greatest(:a, :b)\nBEGIN;\n\
         UPDATE pgbench_accounts SET abalance = abalance - :delta WHERE aid = :first;\n\
         UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :second;\n\
         SELECT abalance FROM pgbench_accounts WHERE aid = :first;\nEND;\n",
    )
    .expect("write script");
    let script = script.display().to_string();
    for mode in ["simple", "prepared", "extended"] {
        for (workload, extra) in [("TPC-B-like", vec![]), ("-S", vec!["-S"]), ("custom", vec!["-f", script.as_str()])] {
            let run = Command::new("pgbench")
                .args(&base)
                .args(["-n", "-M", mode, "-c", "4", "-j", "2", "-t", "50"])
                .args(&extra)
                .arg("postgres")
                .output()
                .expect("pgbench");
            let stdout = String::from_utf8_lossy(&run.stdout);
            let context = format!("{workload} -M {mode}: {stdout}\n{}", String::from_utf8_lossy(&run.stderr));
            assert!(run.status.success(), "{context}");
            assert!(stdout.contains("number of failed transactions: 0 "), "{context}");
            assert!(stdout.contains("number of transactions actually processed: 200/200"), "{context}");
        }
    }
    let check = Command::new("psql")
        .args(&base)
        .args([
            "-At",
            "-c",
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(bbalance) FROM pgbench_branches) \
             AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(tbalance) FROM pgbench_tellers) \
             AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(delta) FROM pgbench_history)",
            "postgres",
        ])
        .output()
        .expect("psql");
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "t", "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn skipped_ddl_raises_postgresql_notices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let out = psql(
        &server,
        &[
            "-c",
            "CREATE TABLE t (id INT PRIMARY KEY)",
            "-c",
            "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)",
            "-c",
            "DROP TABLE IF EXISTS nope, t",
            "-c",
            "CREATE SCHEMA IF NOT EXISTS public",
            "-c",
            "DROP SCHEMA IF EXISTS gone",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // As psql prints PostgreSQL's own.
    assert!(stderr.contains("NOTICE:  relation \"t\" already exists, skipping"), "{stderr}");
    assert!(stderr.contains("NOTICE:  table \"nope\" does not exist, skipping"), "{stderr}");
    assert!(stderr.contains("NOTICE:  schema \"public\" already exists, skipping"), "{stderr}");
    assert!(stderr.contains("NOTICE:  schema \"gone\" does not exist, skipping"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tags: Vec<&str> = stdout.lines().collect();
    assert_eq!(tags, ["CREATE TABLE", "CREATE TABLE", "DROP TABLE", "CREATE SCHEMA", "DROP SCHEMA"], "{stdout}");
}
