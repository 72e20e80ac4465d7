//! Raw packets: malformed or unknown commands get MySQL errors and the
//! connection keeps working; a statement id never prepared is 1243.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{addr, start};

/// A connection past the handshake, as root with no password.
fn handshake(server: &crate::support::Orbit) -> TcpStream {
    let mut s = TcpStream::connect(addr(server)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let _greeting = read_packet(&mut s);
    // Protocol 4.1, secure connection, plugin auth, deprecate EOF.
    let caps: u32 = 0x0000_0200 | 0x0000_8000 | 0x0008_0000 | 0x0100_0000;
    let mut body = Vec::new();
    body.extend_from_slice(&caps.to_le_bytes());
    body.extend_from_slice(&(1u32 << 24).to_le_bytes());
    body.push(45);
    body.extend_from_slice(&[0; 23]);
    body.extend_from_slice(b"root\0");
    body.push(0); // empty auth response
    body.extend_from_slice(b"mysql_native_password\0");
    write_packet(&mut s, 1, &body);
    let ok = read_packet(&mut s);
    assert_eq!(ok[0], 0x00, "handshake OK: {ok:?}");
    s
}

fn write_packet(s: &mut TcpStream, seq: u8, body: &[u8]) {
    let len = body.len() as u32;
    let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
    p.extend_from_slice(body);
    s.write_all(&p).expect("write");
}

fn read_packet(s: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 4];
    s.read_exact(&mut header).expect("header");
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut body = vec![0; len];
    s.read_exact(&mut body).expect("body");
    body
}

/// The error code of an ERR packet.
fn err_code(p: &[u8]) -> u16 {
    assert_eq!(p[0], 0xFF, "expected an ERR packet, got {p:?}");
    u16::from_le_bytes([p[1], p[2]])
}

fn ping_ok(s: &mut TcpStream) {
    write_packet(s, 0, &[0x0E]);
    assert_eq!(read_packet(s)[0], 0x00, "COM_PING answers OK");
}

#[test]
fn malformed_and_unknown_commands_get_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut s = handshake(&server);
    // An unknown command byte.
    write_packet(&mut s, 0, &[0xEE, 1, 2, 3]);
    assert_eq!(err_code(&read_packet(&mut s)), 1047);
    ping_ok(&mut s);
    // An empty packet.
    write_packet(&mut s, 0, &[]);
    assert_eq!(err_code(&read_packet(&mut s)), 1835);
    ping_ok(&mut s);
    // COM_STMT_EXECUTE of a statement never prepared, and a truncated one.
    write_packet(&mut s, 0, &[0x17, 9, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(err_code(&read_packet(&mut s)), 1243);
    write_packet(&mut s, 0, &[0x17, 1]);
    assert_eq!(err_code(&read_packet(&mut s)), 1835);
    ping_ok(&mut s);
    // A prepared statement executed with a garbled parameter block.
    let mut prepare = vec![0x16];
    prepare.extend_from_slice(b"SELECT ? + 1");
    write_packet(&mut s, 0, &prepare);
    let ok = read_packet(&mut s);
    assert_eq!(ok[0], 0x00, "prepare OK");
    let id = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    let params = u16::from_le_bytes([ok[7], ok[8]]);
    for _ in 0..params {
        read_packet(&mut s);
    }
    let mut cols = u16::from_le_bytes([ok[5], ok[6]]);
    while cols > 0 {
        read_packet(&mut s);
        cols -= 1;
    }
    let mut execute = vec![0x17];
    execute.extend_from_slice(&id.to_le_bytes());
    execute.extend_from_slice(&[0, 1, 0, 0, 0]);
    execute.extend_from_slice(&[0, 1, 0xF0, 0]); // no NULLs, new types, an unknown type
    write_packet(&mut s, 0, &execute);
    assert_eq!(err_code(&read_packet(&mut s)), 1210);
    let mut execute = vec![0x17];
    execute.extend_from_slice(&id.to_le_bytes());
    execute.extend_from_slice(&[0, 1, 0, 0, 0]);
    execute.extend_from_slice(&[0, 1, 0x08, 0, 1, 2]); // LONGLONG with two of its eight bytes
    write_packet(&mut s, 0, &execute);
    assert_eq!(err_code(&read_packet(&mut s)), 1210);
    ping_ok(&mut s);
    // A query that is not UTF-8 is still answered.
    write_packet(&mut s, 0, &[0x03, b'S', 0xFF, 0xFE]);
    assert_eq!(err_code(&read_packet(&mut s)), 1064);
    ping_ok(&mut s);
}

#[test]
fn a_garbled_handshake_is_refused_with_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut s = TcpStream::connect(addr(&server)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let greeting = read_packet(&mut s);
    assert_eq!(greeting[0], 10, "protocol version 10");
    write_packet(&mut s, 1, &[1, 2, 3]);
    assert_eq!(err_code(&read_packet(&mut s)), 1835);
    // The server is still there for the next client.
    let mut next = handshake(&server);
    ping_ok(&mut next);
}
