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

#[test]
fn mysqldump_output_loads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let setup = "CREATE DATABASE shop; USE shop; \
        CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, price DECIMAL(10,2), \
        at DATETIME, note TEXT, KEY by_name (name)); \
        INSERT INTO items (name, price, at, note) VALUES ('it''s', 1.50, '2024-01-02 03:04:05', 'two\\nlines'), ('b', NULL, NULL, NULL);";
    let out = mysql(&server).args(["-e", setup]).output().expect("mysql");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = addr(&server);
    let dump = Command::new("mysqldump")
        .args(["--no-defaults", "-h", &a.ip().to_string(), "-P", &a.port().to_string(), "-u", "root", "shop"])
        .output()
        .expect("run mysqldump (apt-get install mariadb-client)");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("CREATE TABLE `items`"), "{text}");
    assert!(text.contains("LOCK TABLES `items` WRITE"), "{text}");

    let out = mysql(&server).args(["-e", "CREATE DATABASE copy"]).output().expect("mysql");
    assert!(out.status.success());
    let mut load = mysql(&server).arg("copy").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("mysql");
    load.stdin.take().expect("stdin").write_all(&dump.stdout).expect("write");
    let out = load.wait_with_output().expect("wait");
    assert!(out.status.success(), "loading the dump: {}", String::from_utf8_lossy(&out.stderr));
    let compare = "SELECT id, name, price, at, note FROM shop.items ORDER BY id";
    let original = mysql(&server).args(["-N", "-B", "-e", compare]).output().expect("mysql");
    let copied = mysql(&server).args(["-N", "-B", "-e", &compare.replace("shop.", "copy.")]).output().expect("mysql");
    assert_eq!(String::from_utf8_lossy(&copied.stdout), String::from_utf8_lossy(&original.stdout));
    // The copy's AUTO_INCREMENT continues after the loaded ids.
    let out = mysql(&server)
        .args(["-N", "-B", "copy", "-e", "INSERT INTO items (name) VALUES ('c'); SELECT LAST_INSERT_ID()"])
        .output()
        .expect("mysql");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3\n", "{}", String::from_utf8_lossy(&out.stderr));
}
