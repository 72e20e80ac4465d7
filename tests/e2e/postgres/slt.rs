//! The sqllogictest files in `tests/sqllogictest`, through the extended and
//! the simple protocol, each file in a fresh database.

use std::path::PathBuf;

use sqllogictest::{DefaultColumnType, Runner};
use sqllogictest_engines::postgres::{PostgresConfig, PostgresExtended, PostgresSimple};

use super::{addr, connect, start};

fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/sqllogictest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/sqllogictest")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    files
}

async fn run<D>(
    runner: &mut Runner<D, impl sqllogictest::MakeConnection<Conn = D>>,
    file: &PathBuf,
) -> Result<(), String>
where
    D: sqllogictest::AsyncDB<ColumnType = DefaultColumnType>,
{
    runner.add_label("postgres");
    runner.add_label("orbit");
    runner.run_file_async(file).await.map_err(|e| format!("{}: {}", file.display(), e.display(true)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files_pass_through_both_protocols() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let admin = connect(&server).await;
    let a = addr(&server);
    let mut failures = Vec::new();
    for file in files() {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("file").to_string();
        for protocol in ["extended", "simple"] {
            let db = format!("slt_{stem}_{protocol}");
            admin.batch_execute(&format!("CREATE DATABASE {db}")).await.expect("create database");
            let mut config = PostgresConfig::new();
            config.host(a.ip().to_string()).port(a.port()).user("postgres").dbname(&db);
            let r = if protocol == "extended" {
                let mut runner = Runner::new(move || {
                    let c = config.clone();
                    async move { PostgresExtended::connect(c).await }
                });
                run(&mut runner, &file).await
            } else {
                let mut runner = Runner::new(move || {
                    let c = config.clone();
                    async move { PostgresSimple::connect(c).await }
                });
                run(&mut runner, &file).await
            };
            if let Err(e) = r {
                failures.push(format!("[{protocol}] {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n\n"));
}
