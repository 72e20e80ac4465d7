//! [`Reply`] to RESP2 or RESP3 bytes, through the `redis-protocol` crate.
//!
//! The crate's frame types stay inside this module; the rest of the
//! endpoint speaks [`Reply`].

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::types::BytesFrame as Frame2;
use redis_protocol::resp3::types::{BytesFrame as Frame3, FrameMap, FrameSet, VerbatimStringFormat};

use crate::reply::Reply;

/// Appends `reply` to `out` in RESP3 when `resp3`, RESP2 otherwise.
pub(crate) fn encode(reply: &Reply, resp3: bool, out: &mut BytesMut) {
    // The replies of the hot commands (GET, SET, INCR), whose encoding is
    // the same line in RESP2 and RESP3 but for RESP3's null, are written
    // directly: going through a frame costs a reference-count round trip on
    // the value, which a hot key shares between all the cores reading it.
    match reply {
        Reply::Bulk(b) => {
            out.reserve(b.len() + 24);
            out.extend_from_slice(b"$");
            out.extend_from_slice(itoa::Buffer::new().format(b.len()).as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
            return;
        }
        Reply::Nil if !resp3 => return out.extend_from_slice(b"$-1\r\n"),
        Reply::Int(i) => {
            out.extend_from_slice(b":");
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes());
            out.extend_from_slice(b"\r\n");
            return;
        }
        Reply::Status(s) if !s.contains(['\r', '\n']) => {
            out.extend_from_slice(b"+");
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\r\n");
            return;
        }
        _ => {}
    }
    if !resp3 && contains_nil_array(reply) {
        encode_resp2_manually(reply, out);
    } else {
        encode_with_crate(reply, resp3, out);
    }
}

fn encode_with_crate(reply: &Reply, resp3: bool, out: &mut BytesMut) {
    // Frames built here are always well formed, so encoding cannot fail;
    // a failure would only mean a bug, reported to the client as an error.
    let written = if resp3 {
        redis_protocol::resp3::encode::complete::extend_encode(out, &to_resp3(reply), false).map(|_| ())
    } else {
        redis_protocol::resp2::encode::extend_encode(out, &to_resp2(reply), false).map(|_| ())
    };
    if let Err(e) = written {
        tracing::error!(error = %e, "cannot encode a reply");
        out.extend_from_slice(b"-ERR internal error encoding the reply\r\n");
    }
}

fn text(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn to_resp2(r: &Reply) -> Frame2 {
    match r {
        Reply::Status(s) => Frame2::SimpleString(Bytes::from_static(s.as_bytes())),
        Reply::StatusOwned(s) => Frame2::SimpleString(text(s)),
        Reply::Error(e) => Frame2::Error(e.text().to_string().into()),
        Reply::Int(i) => Frame2::Integer(*i),
        Reply::Bulk(b) => Frame2::BulkString(b.clone()),
        Reply::Nil => Frame2::Null,
        // RESP2's null array is `*-1`; the crate writes Null as `$-1`.
        Reply::NilArray => Frame2::Null,
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            Frame2::Array(items.iter().map(to_resp2).collect())
        }
        Reply::Map(pairs) => Frame2::Array(pairs.iter().flat_map(|(k, v)| [to_resp2(k), to_resp2(v)]).collect()),
        Reply::Double(d) => Frame2::BulkString(text(&Reply::double_text(*d))),
        Reply::Verbatim(s) => Frame2::BulkString(text(s)),
    }
}

fn to_resp3(r: &Reply) -> Frame3 {
    match r {
        Reply::Status(s) => Frame3::SimpleString { data: Bytes::from_static(s.as_bytes()), attributes: None },
        Reply::StatusOwned(s) => Frame3::SimpleString { data: text(s), attributes: None },
        Reply::Error(e) => Frame3::SimpleError { data: e.text().to_string().into(), attributes: None },
        Reply::Int(i) => Frame3::Number { data: *i, attributes: None },
        Reply::Bulk(b) => Frame3::BlobString { data: b.clone(), attributes: None },
        Reply::Nil | Reply::NilArray => Frame3::Null,
        Reply::Array(items) => Frame3::Array { data: items.iter().map(to_resp3).collect(), attributes: None },
        Reply::Push(items) => Frame3::Push { data: items.iter().map(to_resp3).collect(), attributes: None },
        Reply::Set(items) => {
            let mut data = FrameSet::default();
            data.extend(items.iter().map(to_resp3));
            Frame3::Set { data, attributes: None }
        }
        Reply::Map(pairs) => {
            let mut data = FrameMap::default();
            data.extend(pairs.iter().map(|(k, v)| (to_resp3(k), to_resp3(v))));
            Frame3::Map { data, attributes: None }
        }
        Reply::Double(d) => Frame3::Double { data: *d, attributes: None },
        Reply::Verbatim(s) => {
            Frame3::VerbatimString { data: text(s), format: VerbatimStringFormat::Text, attributes: None }
        }
    }
}

/// RESP2's null array, which the crate has no frame for.
const RESP2_NIL_ARRAY: &[u8] = b"*-1\r\n";

fn contains_nil_array(r: &Reply) -> bool {
    match r {
        Reply::NilArray => true,
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => items.iter().any(contains_nil_array),
        Reply::Map(pairs) => pairs.iter().any(|(k, v)| contains_nil_array(k) || contains_nil_array(v)),
        _ => false,
    }
}

/// The rare replies holding a null array (EXEC aborted, BLPOP timed out, a
/// nil inside EXEC's results) are written by hand around the crate.
fn encode_resp2_manually(r: &Reply, out: &mut BytesMut) {
    match r {
        Reply::NilArray => out.extend_from_slice(RESP2_NIL_ARRAY),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for i in items {
                encode_resp2_manually(i, out);
            }
        }
        Reply::Map(pairs) => {
            out.extend_from_slice(format!("*{}\r\n", pairs.len() * 2).as_bytes());
            for (k, v) in pairs {
                encode_resp2_manually(k, out);
                encode_resp2_manually(v, out);
            }
        }
        other => encode_with_crate(other, false, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RedisError;

    fn enc(r: &Reply, resp3: bool) -> String {
        let mut out = BytesMut::new();
        encode(r, resp3, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn resp2_and_resp3_forms() {
        assert_eq!(enc(&Reply::OK, false), "+OK\r\n");
        assert_eq!(enc(&Reply::Int(-3), false), ":-3\r\n");
        assert_eq!(enc(&Reply::bulk("hi"), false), "$2\r\nhi\r\n");
        assert_eq!(enc(&Reply::bulk("hi"), true), "$2\r\nhi\r\n");
        assert_eq!(enc(&Reply::bulk(""), false), "$0\r\n\r\n");
        assert_eq!(enc(&Reply::Int(i64::MIN), true), ":-9223372036854775808\r\n");
        assert_eq!(enc(&Reply::OK, true), "+OK\r\n");
        assert_eq!(enc(&Reply::Nil, false), "$-1\r\n");
        assert_eq!(enc(&Reply::Nil, true), "_\r\n");
        assert_eq!(enc(&Reply::NilArray, false), "*-1\r\n");
        assert_eq!(enc(&Reply::Array(vec![Reply::Int(1), Reply::NilArray]), false), "*2\r\n:1\r\n*-1\r\n");
        assert_eq!(enc(&Reply::Double(1.5), false), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Double(1.5), true), ",1.5\r\n");
        assert_eq!(enc(&Reply::Error(RedisError::syntax()), false), "-ERR syntax error\r\n");
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(enc(&map, false), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&map, true), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&Reply::Push(vec![Reply::bulk("m")]), true), ">1\r\n$1\r\nm\r\n");
    }
}
