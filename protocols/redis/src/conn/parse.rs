//! Requests off the wire: RESP arrays of bulk strings (decoded by the
//! `redis-protocol` crate, with a size check on what is still arriving), and
//! inline commands.

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::types::RangeFrame;

/// Longest inline command line, as in Redis.
const MAX_INLINE: usize = 64 * 1024;

/// A framing error: the connection cannot continue, as in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub String);

/// Size limits for requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_bulk: usize,
    pub max_elements: usize,
}

fn error(what: &str) -> ProtocolError {
    ProtocolError(format!("ERR Protocol error: {what}"))
}

/// Reads a `\r\n`-terminated line at `at`: its text and the offset after it.
fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let text = &rest[..nl];
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Some((text, at + nl + 1))
}

/// A decimal integer, as in a RESP length header (runs for every argument
/// of every request, so it avoids going through `str`).
fn number(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Some(if negative { -n } else { n })
}

/// Checks the RESP array at the start of `buf` against `limits` without
/// decoding it. `Ok(Some(n))`: a complete request of `n` bytes.
/// `Ok(None)`: more bytes needed (and none of the announced sizes exceeds a
/// limit, so buffering them is bounded).
fn check_array(buf: &[u8], limits: Limits) -> Result<Option<usize>, ProtocolError> {
    let Some((header, mut at)) = line(buf, 0) else {
        return if buf.len() > MAX_INLINE { Err(error("too big mbulk count string")) } else { Ok(None) };
    };
    let count = number(&header[1..]).ok_or_else(|| error("invalid multibulk length"))?;
    if count > limits.max_elements as i64 {
        return Err(error("invalid multibulk length"));
    }
    for _ in 0..count.max(0) {
        let Some((h, next)) = line(buf, at) else {
            return if buf.len() - at > MAX_INLINE { Err(error("too big bulk count string")) } else { Ok(None) };
        };
        match h.first() {
            Some(b'$') => {}
            Some(&c) => return Err(error(&format!("expected '$', got '{}'", char::from(c)))),
            None => return Err(error("expected '$', got ' '")),
        }
        let len = number(&h[1..]).filter(|n| (0..=limits.max_bulk as i64).contains(n));
        let len = len.ok_or_else(|| error("invalid bulk length"))? as usize;
        at = next + len + 2;
        if buf.len() < at {
            return Ok(None);
        }
    }
    Ok(Some(at))
}

/// Splits an inline command line as Redis' `sdssplitargs` does: spaces
/// separate arguments; "double quotes" take `\n`, `\xHH` style escapes;
/// 'single quotes' take only `\'`.
pub(crate) fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let unbalanced = || error("unbalanced quotes in request");
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut cur = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else { return Err(unbalanced()) };
                    let hex_escape = c == b'\\'
                        && line.get(i + 1) == Some(&b'x')
                        && line.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                        && line.get(i + 3).is_some_and(u8::is_ascii_hexdigit);
                    if hex_escape {
                        let hex =
                            std::str::from_utf8(&line[i + 2..i + 4]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                        cur.push(hex.unwrap_or(0));
                        i += 4;
                    } else if c == b'\\' && i + 1 < line.len() {
                        cur.push(match line[i + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                        i += 2;
                    } else if c == b'"' {
                        i += 1;
                        if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err(unbalanced());
                        }
                        break;
                    } else {
                        cur.push(c);
                        i += 1;
                    }
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else { return Err(unbalanced()) };
                    if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                        cur.push(b'\'');
                        i += 2;
                    } else if c == b'\'' {
                        i += 1;
                        if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err(unbalanced());
                        }
                        break;
                    } else {
                        cur.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    cur.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push(Bytes::from(cur));
    }
    Ok(args)
}

/// Takes the next complete request off the front of `buf`: `Ok(Some(args))`
/// (empty for a blank inline line), `Ok(None)` when incomplete.
///
/// [`check_array`] first walks the request's headers without recursion: it
/// bounds what may be buffered, words errors as Redis does, and refuses
/// anything but bulk strings inside the array, so the crate's decoder,
/// which recurses once per nested array, never sees a nested one (a
/// client could otherwise nest arrays deep enough to overflow the stack).
/// A complete request is then decoded by the crate's range decoder, and its
/// arguments are slices of one frozen buffer: no copy, and one reference
/// count for the whole request.
pub(crate) fn next_request(buf: &mut BytesMut, limits: Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(&first) = buf.first() else { return Ok(None) };
    if first != b'*' {
        let Some((text, end)) = line(buf, 0) else {
            return if buf.len() > MAX_INLINE { Err(error("too big inline request")) } else { Ok(None) };
        };
        let args = split_inline(text)?;
        let _ = buf.split_to(end);
        return Ok(Some(args));
    }
    let Some(checked) = check_array(buf, limits)? else { return Ok(None) };
    let (frame, len) = match redis_protocol::resp2::decode::decode_range(&buf[..checked]) {
        Ok(Some(decoded)) => decoded,
        Ok(None) | Err(_) => return Err(malformed(buf, limits)),
    };
    let items = match frame {
        RangeFrame::Array(items) => items,
        // `*-1` is an empty request Redis skips.
        RangeFrame::Null => {
            let _ = buf.split_to(len);
            return Ok(Some(Vec::new()));
        }
        _ => return Err(malformed(buf, limits)),
    };
    if items.len() > limits.max_elements {
        return Err(error("invalid multibulk length"));
    }
    let well_formed =
        items.iter().all(|i| matches!(i, RangeFrame::BulkString((start, end)) if end - start <= limits.max_bulk));
    if !well_formed {
        return Err(malformed(buf, limits));
    }
    let request = buf.split_to(len).freeze();
    let args = items
        .into_iter()
        .map(|i| match i {
            RangeFrame::BulkString((start, end)) => request.slice(start..end),
            // Checked above.
            _ => Bytes::new(),
        })
        .collect();
    Ok(Some(args))
}

/// The error for a request the decoder refused, in Redis' words where
/// [`check_array`] can tell what is wrong.
fn malformed(buf: &[u8], limits: Limits) -> ProtocolError {
    match check_array(buf, limits) {
        Err(e) => e,
        Ok(_) => error("invalid multibulk length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_bulk: 16, max_elements: 4 };

    fn req(s: &str) -> Result<Option<Vec<String>>, ProtocolError> {
        let mut buf = BytesMut::from(s);
        next_request(&mut buf, LIMITS)
            .map(|o| o.map(|v| v.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()))
    }

    #[test]
    fn arrays_inline_and_partial_input() {
        assert_eq!(req("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), Ok(Some(vec!["GET".into(), "k".into()])));
        assert_eq!(req("*2\r\n$3\r\nGET\r\n$1\r\n"), Ok(None));
        assert_eq!(req("*2\r\n$3\r\nGE"), Ok(None));
        assert_eq!(req("SET k \"a b\\x41\"\r\n"), Ok(Some(vec!["SET".into(), "k".into(), "a bA".into()])));
        assert_eq!(req("PING\n"), Ok(Some(vec!["PING".into()])));
        assert_eq!(req("\r\n"), Ok(Some(vec![])));
        assert_eq!(req("PING"), Ok(None));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0"), Some(0));
        assert_eq!(number(b"-1"), Some(-1));
        assert_eq!(number(b"123456789012345678"), Some(123_456_789_012_345_678));
        assert_eq!(number(b"1234567890123456789"), None, "longer than any limit");
        assert_eq!(number(b""), None);
        assert_eq!(number(b"-"), None);
        assert_eq!(number(b"1x"), None);
        assert_eq!(number(b"+1"), None);
    }

    #[test]
    fn limits_and_malformed_frames_are_protocol_errors() {
        assert!(req("*5\r\n").is_err(), "too many elements");
        assert!(req("*1\r\n$17\r\n").is_err(), "bulk too long");
        assert!(req("*1\r\n:1\r\n").is_err(), "not a bulk");
        assert!(req("*x\r\n").is_err());
        assert!(req("SET k \"open\r\n").is_err());
        // Nested arrays are refused before any recursive decoding.
        let deep = "*1\r\n".repeat(200_000);
        let mut buf = BytesMut::from(deep.as_bytes());
        assert!(next_request(&mut buf, Limits { max_bulk: 16, max_elements: 4 }).is_err());
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"[..]);
        assert!(next_request(&mut buf, LIMITS).expect("first").is_some());
        assert!(next_request(&mut buf, LIMITS).expect("second").is_some());
        assert!(buf.is_empty());
    }
}
