//! Redis errors, worded exactly as Redis words them.
//!
//! Clients match on these strings (`WRONGTYPE`, `NOAUTH`, `EXECABORT`), so
//! each one is built in one place and nowhere else.

use std::borrow::Cow;
use std::fmt;

/// An error reply. The text includes the code (`ERR`, `WRONGTYPE`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisError(Cow<'static, str>);

impl RedisError {
    /// An error with the full text given, code included.
    pub(crate) fn new(text: impl Into<Cow<'static, str>>) -> Self {
        RedisError(text.into())
    }

    /// `ERR <message>`.
    pub(crate) fn err(message: impl fmt::Display) -> Self {
        RedisError(Cow::Owned(format!("ERR {message}")))
    }

    /// The text sent to the client.
    pub(crate) fn text(&self) -> &str {
        &self.0
    }

    /// `ERR wrong number of arguments for 'get' command`.
    pub(crate) fn wrong_arity(command: &str) -> Self {
        RedisError(Cow::Owned(format!("ERR wrong number of arguments for '{}' command", command.to_ascii_lowercase())))
    }

    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    pub(crate) fn wrong_type() -> Self {
        RedisError(Cow::Borrowed("WRONGTYPE Operation against a key holding the wrong kind of value"))
    }

    /// `ERR value is not an integer or out of range`.
    pub(crate) fn not_integer() -> Self {
        RedisError(Cow::Borrowed("ERR value is not an integer or out of range"))
    }

    /// `ERR value is not a valid float`.
    pub(crate) fn not_float() -> Self {
        RedisError(Cow::Borrowed("ERR value is not a valid float"))
    }

    /// `ERR syntax error`.
    pub(crate) fn syntax() -> Self {
        RedisError(Cow::Borrowed("ERR syntax error"))
    }

    /// `ERR no such key`.
    pub(crate) fn no_such_key() -> Self {
        RedisError(Cow::Borrowed("ERR no such key"))
    }

    /// `ERR index out of range`.
    pub(crate) fn index_out_of_range() -> Self {
        RedisError(Cow::Borrowed("ERR index out of range"))
    }

    /// `ERR increment or decrement would overflow`.
    pub(crate) fn overflow() -> Self {
        RedisError(Cow::Borrowed("ERR increment or decrement would overflow"))
    }

    /// `NOAUTH Authentication required.`
    pub(crate) fn no_auth() -> Self {
        RedisError(Cow::Borrowed("NOAUTH Authentication required."))
    }

    /// `ERR unknown command 'FOO', with args beginning with: 'a' 'b' `, as Redis
    /// prints it (the name as sent, at most the first arguments, a trailing space).
    pub(crate) fn unknown_command(name: &[u8], args: &[bytes::Bytes]) -> Self {
        let mut text = format!("ERR unknown command '{}', with args beginning with: ", printable(name, 128));
        for a in args.iter().take(16) {
            text.push_str(&format!("'{}' ", printable(a, 128)));
        }
        RedisError(Cow::Owned(text))
    }

    /// `ERR unknown subcommand 'x'. Try CLIENT HELP.`
    pub(crate) fn unknown_subcommand(sub: &[u8], command: &str) -> Self {
        RedisError(Cow::Owned(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            printable(sub, 128),
            command.to_ascii_uppercase()
        )))
    }

    /// An error from the storage layer, as a generic error reply.
    pub(crate) fn storage(e: &orbit_storage::StorageError) -> Self {
        match e {
            orbit_storage::StorageError::ReadOnly(_) => RedisError(Cow::Borrowed(
                "MISCONF Errors writing to the store; write commands are disabled. See the server log.",
            )),
            other => RedisError(Cow::Owned(format!("ERR storage error: {other}"))),
        }
    }
}

impl From<orbit_storage::StorageError> for RedisError {
    fn from(e: orbit_storage::StorageError) -> Self {
        RedisError::storage(&e)
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedisError {}

/// Bytes as Redis echoes them in errors: lossy text, cut to `max` bytes, with
/// newlines replaced so the error stays one line.
fn printable(b: &[u8], max: usize) -> String {
    let cut = &b[..b.len().min(max)];
    String::from_utf8_lossy(cut).replace(['\r', '\n'], " ")
}

/// Short for results of command execution.
pub(crate) type Result<T, E = RedisError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_matches_redis() {
        assert_eq!(RedisError::wrong_arity("GET").text(), "ERR wrong number of arguments for 'get' command");
        let args = [bytes::Bytes::from_static(b"a"), bytes::Bytes::from_static(b"b")];
        assert_eq!(
            RedisError::unknown_command(b"FOO", &args).text(),
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            RedisError::unknown_command(b"FOO", &[]).text(),
            "ERR unknown command 'FOO', with args beginning with: "
        );
    }
}
