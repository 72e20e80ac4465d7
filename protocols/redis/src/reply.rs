//! Replies, independent of the wire encoding.
//!
//! Commands build a [`Reply`]; the connection encodes it as RESP2 or RESP3
//! depending on what the client negotiated with HELLO.

use bytes::Bytes;

use crate::error::RedisError;

/// A reply to a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// `+OK`-style status.
    Status(&'static str),
    /// A status built at run time (`+PONG` with a message is a bulk, not this).
    StatusOwned(String),
    /// An error.
    Error(RedisError),
    /// An integer.
    Int(i64),
    /// A bulk string.
    Bulk(Bytes),
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    /// An array.
    Array(Vec<Reply>),
    /// A map (a flat array of pairs in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// A set (an array in RESP2).
    Set(Vec<Reply>),
    /// A double (a bulk string in RESP2).
    Double(f64),
    /// Verbatim text such as INFO's (a bulk string in RESP2).
    Verbatim(String),
    /// An out-of-band push message (an array in RESP2).
    Push(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub(crate) const OK: Reply = Reply::Status("OK");

    /// A bulk string from anything byte-like.
    pub(crate) fn bulk(b: impl Into<Bytes>) -> Self {
        Reply::Bulk(b.into())
    }

    /// A bulk string, or nil.
    pub(crate) fn bulk_or_nil(b: Option<impl Into<Bytes>>) -> Self {
        b.map_or(Reply::Nil, |b| Reply::Bulk(b.into()))
    }

    /// An array of bulk strings.
    pub(crate) fn bulks<I, B>(items: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::Bulk(b.into())).collect())
    }

    /// A double formatted the way Redis formats it in RESP2 (`"1.5"`, `"3"`, `"inf"`).
    pub(crate) fn double_text(d: f64) -> String {
        crate::num::format_double(d)
    }
}

impl From<RedisError> for Reply {
    fn from(e: RedisError) -> Self {
        Reply::Error(e)
    }
}
