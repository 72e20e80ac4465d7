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
