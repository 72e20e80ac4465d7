//! The real `mysql` client (Debian's mariadb-client): one-shot commands,
//! an interactive session that survives errors, and SHOW layouts.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{addr, start};

fn mysql(server: &crate::support::Orbit) -> Command {
    let a = addr(server);
    let mut cmd = Command::new("mysql");
    cmd.args(["--no-defaults", "-h", &a.ip().to_string(), "-P", &a.port().to_string(), "-u", "root"]);
    cmd.env_remove("MYSQL_PWD").env_remove("MYSQL_HOST");
    cmd
}

#[test]
fn mysql_client_commands_and_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let out = mysql(&server)
        .args(["-e", "CREATE DATABASE fruit; CREATE TABLE fruit.f (id INT PRIMARY KEY, name VARCHAR(10)); INSERT INTO fruit.f VALUES (1, 'apple'), (2, 'plum')"])
        .output()
        .expect("run mysql (apt-get install mariadb-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out =
        mysql(&server).args(["-N", "-B", "fruit", "-e", "SELECT name FROM f ORDER BY id"]).output().expect("mysql");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "apple\nplum\n");

    let out = mysql(&server).args(["-t", "fruit", "-e", "DESCRIBE f"]).output().expect("mysql");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "+-------+-------------+------+-----+---------+-------+\n\
         | Field | Type        | Null | Key | Default | Extra |\n\
         +-------+-------------+------+-----+---------+-------+\n\
         | id    | int         | NO   | PRI | NULL    |       |\n\
         | name  | varchar(10) | YES  |     | NULL    |       |\n\
         +-------+-------------+------+-----+---------+-------+\n"
    );

    // An interactive session: an error in the middle, then more work.
    let mut child = mysql(&server)
        .args(["fruit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mysql");
    let script = "SELEC 1;\nSELECT COUNT(*) AS n FROM f;\nUSE nowhere;\nSELECT name FROM f WHERE id = 2;\n";
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ERROR 1064 (42000)"), "{stderr}");
    // Batch mode stops at the first error unless forced; run the rest with --force.
    let mut child = mysql(&server)
        .args(["--force", "fruit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mysql");
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    let stdout_forced = String::from_utf8_lossy(&out.stdout);
    let stderr_forced = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout_forced, "n\n2\nname\nplum\n", "{stderr_forced}");
    assert!(stderr_forced.contains("ERROR 1049 (42000)"), "{stderr_forced}");
    let _ = stdout;
}
