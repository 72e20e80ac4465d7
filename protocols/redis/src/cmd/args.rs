//! Parsing command arguments the way Redis does.

use bytes::Bytes;

use crate::error::{RedisError, Result};
use crate::num;

/// An integer argument, or `ERR value is not an integer or out of range`.
pub(crate) fn int(b: &[u8]) -> Result<i64> {
    num::parse_i64(b).ok_or_else(RedisError::not_integer)
}

/// A float argument, or `ERR value is not a valid float`.
pub(crate) fn float(b: &[u8]) -> Result<f64> {
    num::parse_f64(b).ok_or_else(RedisError::not_float)
}

/// A non-negative count, or `ERR value is out of range, must be positive`.
pub(crate) fn count(b: &[u8]) -> Result<u64> {
    let n = int(b)?;
    u64::try_from(n).map_err(|_| RedisError::err("value is out of range, must be positive"))
}

/// Whether `b` equals `word` ignoring ASCII case.
pub(crate) fn is(b: &[u8], word: &str) -> bool {
    b.eq_ignore_ascii_case(word.as_bytes())
}

/// A blocking command's timeout in seconds (a float since Redis 6).
pub(crate) fn timeout(b: &[u8]) -> Result<f64> {
    let t = num::parse_f64(b)
        .filter(|t| t.is_finite())
        .ok_or_else(|| RedisError::err("timeout is not a float or out of range"))?;
    if t < 0.0 {
        return Err(RedisError::err("timeout is negative"));
    }
    Ok(t)
}

/// Reads `COUNT n` style options: walks `args` from `start`, calling `on`
/// for each option word with the remaining arguments; `on` returns how many
/// it consumed (0 = unknown option, a syntax error).
pub(crate) fn options(
    args: &[Bytes],
    start: usize,
    mut on: impl FnMut(&[u8], &[Bytes]) -> Result<usize>,
) -> Result<()> {
    let mut i = start;
    while i < args.len() {
        let used = on(&args[i], &args[i + 1..])?;
        if used == 0 {
            return Err(RedisError::syntax());
        }
        i += used;
    }
    Ok(())
}

/// The argument after an option word, or a syntax error.
pub(crate) fn value(rest: &[Bytes]) -> Result<&Bytes> {
    rest.first().ok_or_else(RedisError::syntax)
}
