//! Checking the scrambled passwords of mysql_native_password and
//! caching_sha2_password.

use mysql_common::scramble::{scramble_native, scramble_sha256};

/// mysql_native_password.
pub(crate) const NATIVE: &str = "mysql_native_password";
/// caching_sha2_password, MySQL 8's default.
pub(crate) const CACHING_SHA2: &str = "caching_sha2_password";

/// Whether `response` proves `password` under `plugin` for the handshake's
/// `salt`. An empty password matches only an empty response, as in MySQL.
pub(crate) fn verify(plugin: &str, password: &str, salt: &[u8], response: &[u8]) -> bool {
    if password.is_empty() {
        return response.is_empty();
    }
    let expected: Option<Vec<u8>> = match plugin {
        CACHING_SHA2 => scramble_sha256(salt, password.as_bytes()).map(|s| s.to_vec()),
        NATIVE => scramble_native(salt, password.as_bytes()).map(|s| s.to_vec()),
        _ => None,
    };
    let Some(expected) = expected else { return false };
    // Constant time, so the time taken tells nothing about the password.
    expected.len() == response.len() && expected.iter().zip(response).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrambles_prove_the_password_and_nothing_else() {
        let salt = b"0123456789abcdefghij";
        let good = scramble_native(salt, b"secret").expect("scramble");
        assert!(verify(NATIVE, "secret", salt, &good));
        assert!(!verify(NATIVE, "other", salt, &good));
        assert!(verify(NATIVE, "", salt, b""));
        assert!(!verify(NATIVE, "secret", salt, b""));
        let sha = scramble_sha256(salt, b"secret").expect("scramble");
        assert!(verify(CACHING_SHA2, "secret", salt, &sha));
        assert!(!verify("dialog", "secret", salt, &sha));
    }
}
