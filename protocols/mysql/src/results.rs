//! Replies: OK, ERR and EOF packets, and result sets in the text and
//! binary protocols.

use std::io;

use mysql_common::constants::{CapabilityFlags, ColumnFlags, StatusFlags};
use orbit_sql::Column;
use orbit_storage::Value;

use crate::packet::Packets;
use crate::values;

/// What every reply of a connection needs to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reply {
    pub caps: CapabilityFlags,
    pub status: StatusFlags,
    /// The statement's notes and warnings, counted in OK and EOF packets.
    pub warnings: u16,
}

/// Appends a length-encoded integer.
pub(crate) fn lenenc_int(buf: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => buf.push(n as u8),
        251..=0xFFFF => {
            buf.push(0xFC);
            buf.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            buf.push(0xFD);
            buf.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            buf.push(0xFE);
            buf.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Appends a length-encoded string.
pub(crate) fn lenenc_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    lenenc_int(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// An OK packet (`header` 0x00, or 0xFE when it ends a result set).
pub(crate) async fn ok(p: &mut Packets, r: Reply, header: u8, affected: u64, insert_id: u64) -> io::Result<()> {
    let mut b = vec![header];
    lenenc_int(&mut b, affected);
    lenenc_int(&mut b, insert_id);
    b.extend_from_slice(&r.status.bits().to_le_bytes());
    b.extend_from_slice(&r.warnings.to_le_bytes());
    p.write(&b).await
}

/// An ERR packet with MySQL's code and SQLSTATE.
pub(crate) async fn err(p: &mut Packets, code: u16, state: &str, message: &str) -> io::Result<()> {
    let mut b = vec![0xFF];
    b.extend_from_slice(&code.to_le_bytes());
    b.push(b'#');
    b.extend_from_slice(state.as_bytes());
    b.extend_from_slice(message.as_bytes());
    p.write(&b).await
}

/// The end of a list of column definitions or rows: an EOF packet, or an
/// OK packet marked 0xFE for clients that asked for no EOF.
pub(crate) async fn terminator(p: &mut Packets, r: Reply) -> io::Result<()> {
    if r.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) { ok(p, r, 0xFE, 0, 0).await } else { eof(p, r).await }
}

/// An EOF packet (for lists that always end with one).
pub(crate) async fn eof(p: &mut Packets, r: Reply) -> io::Result<()> {
    let mut b = vec![0xFE];
    b.extend_from_slice(&r.warnings.to_le_bytes());
    b.extend_from_slice(&r.status.bits().to_le_bytes());
    p.write(&b).await
}

/// Column definitions, as a result set or a prepared statement sends them;
/// `not_null` marks columns known to hold no NULL.
pub(crate) async fn columns(
    p: &mut Packets,
    r: Reply,
    cols: &[Column],
    not_null: &[bool],
    table: &str,
) -> io::Result<()> {
    column_defs(p, cols, not_null, table).await?;
    if !r.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
        eof(p, r).await?;
    }
    Ok(())
}

/// Column definitions alone, with no terminator.
pub(crate) async fn column_defs(p: &mut Packets, cols: &[Column], not_null: &[bool], table: &str) -> io::Result<()> {
    for (i, c) in cols.iter().enumerate() {
        let mut flags = values::column_flags(&c.ty);
        if not_null.get(i).copied().unwrap_or(false) {
            flags |= ColumnFlags::NOT_NULL_FLAG;
        }
        // Protocol::ColumnDefinition41, written here: mysql_common's
        // serializer writes names without their lengths.
        let mut b = Vec::with_capacity(64);
        for s in [&b"def"[..], b"", table.as_bytes(), table.as_bytes(), c.name.as_bytes(), c.name.as_bytes()] {
            lenenc_bytes(&mut b, s);
        }
        b.push(0x0C);
        b.extend_from_slice(&values::charset(&c.ty).to_le_bytes());
        b.extend_from_slice(&values::column_length(&c.ty).to_le_bytes());
        b.push(values::column_type(&c.ty) as u8);
        b.extend_from_slice(&flags.bits().to_le_bytes());
        b.push(values::decimals(&c.ty));
        b.extend_from_slice(&[0, 0]);
        p.write(&b).await?;
    }
    Ok(())
}

/// A whole result set; `binary` for COM_STMT_EXECUTE.
pub(crate) async fn result_set(
    p: &mut Packets,
    r: Reply,
    cols: &[Column],
    rows: &[Vec<Value>],
    binary: bool,
) -> io::Result<()> {
    let mut b = Vec::new();
    lenenc_int(&mut b, cols.len() as u64);
    p.write(&b).await?;
    // A column with no NULL in the result is sent as NOT NULL, which is
    // also how the mysql client sizes its table borders.
    let not_null: Vec<bool> =
        (0..cols.len()).map(|i| rows.iter().all(|row| !matches!(row.get(i), Some(Value::Null)))).collect();
    columns(p, r, cols, &not_null, "").await?;
    for row in rows {
        b.clear();
        if binary {
            values::binary_row(&mut b, row, cols);
        } else {
            values::text_row(&mut b, row);
        }
        p.write(&b).await?;
    }
    terminator(p, r).await
}
